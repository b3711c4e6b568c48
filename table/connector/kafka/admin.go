package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

func (tp topicPartition) String() string { return fmt.Sprintf("%s-%d", tp.topic, tp.partition) }

// lastBrokerError is a kgo hook remembering the last failed connection,
// read or write, so a request that times out while kgo retries can say
// why (a refused TLS handshake, failed authentication, ...).
type lastBrokerError struct {
	mu  sync.Mutex
	err error
}

var (
	_ kgo.HookBrokerConnect = (*lastBrokerError)(nil)
	_ kgo.HookBrokerRead    = (*lastBrokerError)(nil)
	_ kgo.HookBrokerWrite   = (*lastBrokerError)(nil)
)

func (h *lastBrokerError) set(err error) {
	if err != nil && !errors.Is(err, kgo.ErrClientClosed) && !errors.Is(err, context.Canceled) {
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
	}
}

func (h *lastBrokerError) get() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *lastBrokerError) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	h.set(err)
}

func (h *lastBrokerError) OnBrokerRead(_ kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	h.set(err)
}

func (h *lastBrokerError) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, _ int, _, _ time.Duration, err error) {
	h.set(err)
}

// admin makes the metadata and offset requests of a reader on its client.
type admin struct {
	cfg  *config
	cl   *kgo.Client
	last *lastBrokerError // registered as a hook of cl
}

// newClient creates a client with the table's options plus extra ones, and
// its admin.
func newClient(cfg *config, extra ...kgo.Opt) (*admin, error) {
	last := &lastBrokerError{}
	opts := append(append([]kgo.Opt{}, cfg.client.opts...), extra...)
	opts = append(opts, kgo.WithHooks(last))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return &admin{cfg: cfg, cl: cl, last: last}, nil
}

// reachErr explains a failed request to the brokers.
func (a *admin) reachErr(what string, err error) error {
	c, last := a.cfg, a.last
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
		cause := ""
		if le := last.get(); le != nil {
			cause = fmt.Sprintf(" (last connection error: %v)", le)
		}
		return fmt.Errorf("kafka: %s: brokers %s did not answer within %s (properties.default.api.timeout.ms)%s: %w",
			what, strings.Join(c.client.brokers, ","), c.client.apiTimeout, cause, err)
	}
	return fmt.Errorf("kafka: %s (brokers %s): %w", what, strings.Join(c.client.brokers, ","), err)
}

// request issues req within ctx. kgo does not abandon a connection attempt
// (dial and handshake) when the request's context ends, so the request
// runs on its own goroutine and the caller stops waiting at the deadline;
// closing the client ends the attempt.
func request[R kmsg.Response](ctx context.Context, cl *kgo.Client, req kmsg.Request) (R, error) {
	type result struct {
		resp kmsg.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := cl.Request(ctx, req)
		done <- result{resp, err}
	}()
	var zero R
	select {
	case r := <-done:
		if r.err != nil {
			return zero, r.err
		}
		return r.resp.(R), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// listPartitions returns the partitions of the table's topics (or of the
// topics its pattern matches), sorted by topic and partition.
func (a *admin) listPartitions(ctx context.Context) ([]topicPartition, error) {
	c, cl := a.cfg, a.cl
	ctx, cancel := context.WithTimeout(ctx, c.client.apiTimeout)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	if c.pattern == nil {
		for _, t := range c.topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := request[*kmsg.MetadataResponse](ctx, cl, req)
	if err != nil {
		return nil, a.reachErr("listing partitions", err)
	}
	var tps []topicPartition
	for _, t := range resp.Topics {
		name := *t.Topic
		if c.pattern != nil && (!c.pattern.MatchString(name) || t.IsInternal) {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			if errors.Is(err, kerr.UnknownTopicOrPartition) {
				return nil, fmt.Errorf("kafka: topic '%s' does not exist", name)
			}
			return nil, fmt.Errorf("kafka: metadata of topic '%s': %w", name, err)
		}
		for _, p := range t.Partitions {
			tps = append(tps, topicPartition{name, p.Partition})
		}
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
	return tps, nil
}

// assignedSubtask is the subtask that reads tp, as Flink's
// KafkaTopicPartitionAssigner decides: partitions of a topic go round-robin
// over the subtasks, starting at a subtask derived from the topic's name,
// so that every subtask computes the same assignment without coordination
// and newly discovered partitions extend it.
func assignedSubtask(tp topicPartition, parallelism int) int {
	start := int((javaStringHash(tp.topic)*31)&0x7FFFFFFF) % parallelism
	return (start + int(tp.partition)) % parallelism
}

// javaStringHash is Java's String.hashCode (over UTF-16 code units).
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// Special ListOffsets timestamps.
const (
	latestTS   = -1
	earliestTS = -2
)

// listOffsets resolves a timestamp (or latestTS/earliestTS) to offsets per
// partition: the first offset whose record timestamp is at least ts, or the
// end offset when there is none.
func (a *admin) listOffsets(ctx context.Context, tps []topicPartition, ts int64) (map[topicPartition]int64, error) {
	c, cl := a.cfg, a.cl
	out := make(map[topicPartition]int64, len(tps))
	if len(tps) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.client.apiTimeout)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	if c.client.readCommitted {
		// The end of a partition at read_committed is its last stable
		// offset: a bounded read does not wait for open transactions.
		req.IsolationLevel = 1
	}
	byTopic := map[string]int{}
	for _, tp := range tps {
		i, ok := byTopic[tp.topic]
		if !ok {
			i = len(req.Topics)
			byTopic[tp.topic] = i
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = tp.topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = tp.partition
		rp.Timestamp = ts
		rp.CurrentLeaderEpoch = -1
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp, err := request[*kmsg.ListOffsetsResponse](ctx, cl, req)
	if err != nil {
		return nil, a.reachErr("listing offsets", err)
	}
	var needEnd []topicPartition
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			tp := topicPartition{t.Topic, p.Partition}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("kafka: listing offsets of %s: %w", tp, err)
			}
			if p.Offset < 0 { // no record at or after ts
				needEnd = append(needEnd, tp)
				continue
			}
			out[tp] = p.Offset
		}
	}
	if len(needEnd) > 0 && ts >= 0 {
		end, err := a.listOffsets(ctx, needEnd, latestTS)
		if err != nil {
			return nil, err
		}
		for tp, o := range end {
			out[tp] = o
		}
	}
	return out, nil
}

// committedOffsets returns the group's committed offsets of tps; partitions
// without one are absent.
func (a *admin) committedOffsets(ctx context.Context, tps []topicPartition) (map[topicPartition]int64, error) {
	c, cl := a.cfg, a.cl
	ctx, cancel := context.WithTimeout(ctx, c.client.apiTimeout)
	defer cancel()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = c.client.groupID
	byTopic := map[string]int{}
	for _, tp := range tps {
		i, ok := byTopic[tp.topic]
		if !ok {
			i = len(req.Topics)
			byTopic[tp.topic] = i
			rt := kmsg.NewOffsetFetchRequestTopic()
			rt.Topic = tp.topic
			req.Topics = append(req.Topics, rt)
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, tp.partition)
	}
	resp, err := request[*kmsg.OffsetFetchResponse](ctx, cl, req)
	if err != nil {
		return nil, a.reachErr("fetching committed offsets of group '"+c.client.groupID+"'", err)
	}
	out := map[topicPartition]int64{}
	err = kerr.ErrorForCode(resp.ErrorCode)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return out, nil // a group that never committed has no offsets
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: fetching committed offsets of group '%s': %w", c.client.groupID, err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return nil, fmt.Errorf("kafka: committed offset of %s-%d: %w", t.Topic, p.Partition, err)
			}
			if p.Offset >= 0 {
				out[topicPartition{t.Topic, p.Partition}] = p.Offset
			}
		}
	}
	return out, nil
}

// commitOffsets commits next offsets to the group as a consumer outside
// the group protocol (generation -1, no member id), as Kafka's
// KafkaConsumer does for assigned partitions, which is how Flink's source
// commits.
func (a *admin) commitOffsets(offsets map[string]map[int32]int64) error {
	c, cl := a.cfg, a.cl
	ctx, cancel := context.WithTimeout(context.Background(), c.client.apiTimeout)
	defer cancel()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = c.client.groupID
	req.Generation = -1
	topics := make([]string, 0, len(offsets))
	for t := range offsets {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = t
		for p, o := range offsets[t] {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, o, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := request[*kmsg.OffsetCommitResponse](ctx, cl, req)
	if err != nil {
		return a.reachErr("committing offsets of group '"+c.client.groupID+"'", err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("kafka: committing the offset of %s-%d to group '%s': %w", t.Topic, p.Partition, c.client.groupID, err)
			}
		}
	}
	return nil
}
