package exec

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// ElementKind says what an Element carries.
type ElementKind uint8

const (
	// ElementBatch carries a record batch.
	ElementBatch ElementKind = iota
	// ElementWatermark carries a watermark.
	ElementWatermark
	// ElementEnd ends the channel: the producer subtask has finished. It
	// follows a MaxWatermark.
	ElementEnd
)

// ElementWatermarkStatus says whether the producer's stream is idle
// (Element.Idle), as Flink's WatermarkStatus: an idle channel sends no
// watermarks for a while and must not hold back its consumer's
// watermark. It is sent only when the status changes; a channel starts
// active. Rows may still arrive on an idle channel (timers firing).
const ElementWatermarkStatus ElementKind = ElementSavepoint + 1

// Element is what travels on a channel between two subtasks: batches,
// watermarks and end-of-input are in-band, so they stay ordered with the
// data. An ElementBatch owns one reference to Batch; whoever takes the
// element from the channel releases it.
type Element struct {
	Kind      ElementKind
	Batch     arrow.RecordBatch
	Watermark Watermark
	// Idle is the status of an ElementWatermarkStatus.
	Idle bool
	// Checkpoint is the id of an ElementCheckpointBarrier.
	Checkpoint int64
}

// ChannelID names the channel carrying edge Edge of job Job from producer
// subtask Producer to consumer subtask Consumer.
type ChannelID struct {
	Job      string
	Edge     int
	Producer int
	Consumer int
}

func (id ChannelID) String() string {
	return fmt.Sprintf("%s/edge%d/%d->%d", id.Job, id.Edge, id.Producer, id.Consumer)
}

// ShuffleService connects the subtasks of a job. Tasks find their channels
// only through it, by ChannelID, so an implementation may connect subtasks
// in one process (EmbeddedShuffle) or across the network.
//
// Either side of a channel may be opened first. Channels are bounded: a
// send blocks while the consumer lags, which is how backpressure reaches
// the sources.
type ShuffleService interface {
	Sender(id ChannelID) (ChannelSender, error)
	Receiver(id ChannelID) (ChannelReceiver, error)
	// ReleaseJob forgets every channel of job and releases the batches still
	// buffered in them. It is called once no task of the job runs.
	ReleaseJob(job string)
}

// ChannelSender is the producing side of a channel.
type ChannelSender interface {
	// Send enqueues e, blocking while the channel is full. It returns
	// ctx.Err() if ctx is cancelled first; the caller then still owns e.
	Send(ctx context.Context, e Element) error
}

// ChannelReceiver is the consuming side of a channel.
type ChannelReceiver interface {
	// C delivers the channel's elements in order. It is never closed: an
	// ElementEnd is the last element.
	C() <-chan Element
}

// EmbeddedShuffle is the in-process ShuffleService: a registry of bounded Go
// channels of ChannelCapacity elements.
type EmbeddedShuffle struct {
	mu    sync.Mutex
	chans map[ChannelID]*localChannel
}

// NewEmbeddedShuffle returns an empty in-process shuffle service.
func NewEmbeddedShuffle() *EmbeddedShuffle {
	return &EmbeddedShuffle{chans: map[ChannelID]*localChannel{}}
}

type localChannel struct{ ch chan Element }

func (c *localChannel) Send(ctx context.Context, e Element) error {
	select {
	case c.ch <- e:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *localChannel) C() <-chan Element { return c.ch }

func (s *EmbeddedShuffle) channel(id ChannelID) *localChannel {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chans[id]
	if !ok {
		c = &localChannel{ch: make(chan Element, ChannelCapacity)}
		s.chans[id] = c
	}
	return c
}

// Sender returns the producing side of channel id.
func (s *EmbeddedShuffle) Sender(id ChannelID) (ChannelSender, error) { return s.channel(id), nil }

// Receiver returns the consuming side of channel id.
func (s *EmbeddedShuffle) Receiver(id ChannelID) (ChannelReceiver, error) {
	return s.channel(id), nil
}

// ReleaseJob drops the job's channels, releasing undelivered batches (left
// behind when a job fails or is cancelled).
func (s *EmbeddedShuffle) ReleaseJob(job string) {
	s.mu.Lock()
	var drop []*localChannel
	for id, c := range s.chans {
		if id.Job == job {
			drop = append(drop, c)
			delete(s.chans, id)
		}
	}
	s.mu.Unlock()
	for _, c := range drop {
		drainElements(c.ch)
	}
}

// drainElements releases the batches buffered in ch without blocking.
func drainElements(ch chan Element) {
	for {
		select {
		case e := <-ch:
			if e.Kind == ElementBatch {
				e.Batch.Release()
			}
		default:
			return
		}
	}
}
