package kafka_test

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

const eosRows, eosFailAt = 1000, 500

// TestExactlyOnceFailover runs a Kafka-to-Kafka job writing exactly-once
// with checkpoints every 20 ms; a Go function fails once mid-stream, and
// the job restarts from its latest checkpoint. A read_committed consumer
// of the output topic sees every row exactly once: the restored sinks
// commit the transactions their checkpoint pre-committed and abort the
// ones the failed attempt left open, whose rows only a read_uncommitted
// consumer sees. The source commits its offsets to its group on
// checkpoints.
//
// The unbounded job (parallelism 2) commits on checkpoints only and is
// cancelled once every row is visible. The bounded one commits its last
// rows at the end of its input; it runs at parallelism 1 because a sink
// subtask that commits at its end before a checkpoint recorded it as
// finished would write its rows again if another subtask failed then
// (see the package documentation).
func TestExactlyOnceFailover(t *testing.T) {
	t.Run("unbounded", func(t *testing.T) { testExactlyOnceFailover(t, false) })
	t.Run("bounded", func(t *testing.T) { testExactlyOnceFailover(t, true) })
}

func testExactlyOnceFailover(t *testing.T, bounded bool) {
	addr := fakeCluster(t, 2, "eos_in", "eos_out")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	var want []string
	for i := range eosRows {
		recs = append(recs, &kgo.Record{Topic: "eos_in", Partition: int32(i % 2), Value: fmt.Appendf(nil, `{"id": %d}`, i)})
		want = append(want, fmt.Sprintf(`{"id":%d,"doubled":%d}`, i, 2*i))
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	sort.Strings(want)

	par, bound := "2", ""
	if bounded {
		par, bound = "1", "'scan.bounded.mode' = 'latest-offset',"
	}
	var failed atomic.Bool
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
		"parallelism.default":         par,
		"table.exec.batch-size":       "10",
		exec.CheckpointingIntervalKey: "20 ms",
		exec.RestartStrategyKey:       "fixed-delay",
		exec.FixedDelayDelayKey:       "10 ms",
	}})
	require.NoError(t, err)
	// eos_fail_once paces the rows so that checkpoints fall mid-stream,
	// and fails once, at the first tenth row from eosFailAt on seen after
	// the source committed offsets to its group: a checkpoint completed
	// then, so the restart restores one.
	require.NoError(t, env.CreateFunction("eos_fail_once", func(id int64) (int64, error) {
		if id%10 != 0 {
			return id, nil
		}
		time.Sleep(time.Millisecond)
		if id < eosFailAt || failed.Load() {
			return id, nil
		}
		if n, err := groupOffsets(cl, "eos-job"); err == nil && n > 0 && failed.CompareAndSwap(false, true) {
			return 0, fmt.Errorf("injected failure at row %d", id)
		}
		return id, nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var job *exec.Job
	for _, stmt := range []string{
		fmt.Sprintf(`CREATE TABLE src (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'eos_in',
		  'properties.bootstrap.servers' = '%s', 'properties.group.id' = 'eos-job',
		  'properties.isolation.level' = 'read_committed', 'scan.startup.mode' = 'earliest-offset',
		  %s 'format' = 'json')`, addr, bound),
		fmt.Sprintf(`CREATE TABLE snk (id BIGINT, doubled BIGINT) WITH ('connector' = 'kafka', 'topic' = 'eos_out',
		  'properties.bootstrap.servers' = '%s', 'format' = 'json', 'sink.partitioner' = 'round-robin',
		  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'eos-job')`, addr),
		`INSERT INTO snk SELECT eos_fail_once(id), id * 2 FROM src`,
	} {
		r, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
		if r.Job != nil {
			job = r.Job
		}
		r.Close()
	}
	require.NotNil(t, job)
	var committed []string
	if bounded {
		require.NoError(t, job.Wait(ctx))
		committed = consumeValues(t, addr, "eos_out", kgo.ReadCommitted())
	} else {
		// The rows after the latest checkpoint become visible with the
		// next one.
		for ctx.Err() == nil {
			if committed = consumeValues(t, addr, "eos_out", kgo.ReadCommitted()); len(committed) >= eosRows {
				break
			}
		}
		job.Cancel()
		require.ErrorIs(t, job.Wait(ctx), exec.ErrJobCanceled)
	}
	require.True(t, failed.Load(), "the function failed once")
	stats := job.CheckpointStats()
	require.EqualValues(t, 1, stats.Restarts)
	require.Positive(t, stats.Completed)

	require.Equal(t, want, committed, "read_committed sees every row once")
	uncommitted := consumeValues(t, addr, "eos_out", kgo.ReadUncommitted())
	require.GreaterOrEqual(t, len(uncommitted), eosRows)
	t.Logf("%d checkpoints, read_uncommitted sees %d records (%d of aborted transactions)",
		stats.Completed, len(uncommitted), len(uncommitted)-eosRows)

	// The source committed the offsets of its completed checkpoints to
	// its group, at most the end of each partition.
	total, err := groupOffsets(cl, "eos-job")
	require.NoError(t, err)
	require.Positive(t, total, "offsets committed on checkpoints")
	require.LessOrEqual(t, total, int64(eosRows))
}

// groupOffsets is the sum of the offsets of eos_in's partitions that a
// group committed (fetched with an OffsetFetch request, as kadm does). It
// runs in the job's function too, so it returns its errors.
func groupOffsets(cl *kgo.Client, group string) (int64, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = "eos_in", []int32{0, 1}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		return 0, err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return 0, err
	}
	var total int64
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return 0, err
			}
			if p.Offset > eosRows/2 {
				return 0, fmt.Errorf("offset %d of eos_in-%d past the partition's end", p.Offset, p.Partition)
			}
			total += max(p.Offset, 0)
		}
	}
	return total, nil
}

// consumeValues reads the values of every record of a topic visible at an
// isolation level, sorted; it stops once no record came for a while.
func consumeValues(t *testing.T, addr, topic string, level kgo.IsolationLevel) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	var out []string
	deadline := time.Now().Add(20 * time.Second)
	for idle := 0; idle < 4 && time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, string(r.Value))
			n++
		})
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	sort.Strings(out)
	return out
}
