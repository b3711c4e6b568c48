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
	"github.com/eddysql/eddy/table/connector/kafka/kafkatest"
)

// eosSmall is the number of rows of partition 0 of the bounded case's
// input, whose subtask finishes long before the other's.
const eosRows, eosFailAt, eosSmall = 1000, 500, 200

// TestExactlyOnceFailover runs a Kafka-to-Kafka job writing exactly-once
// with checkpoints every 20 ms; a Go function fails once mid-stream, and
// the job restarts from its latest checkpoint. A read_committed consumer
// of the output topic sees every row exactly once: the restored sinks
// commit the transactions their checkpoint pre-committed and abort the
// ones the failed attempt left open, whose rows only a read_uncommitted
// consumer sees. The source commits its offsets to its group on
// checkpoints.
//
// The unbounded job commits on checkpoints only and is cancelled once
// every row is visible. In the bounded one, partition 0 holds only the
// first eosSmall rows: its subtask ends its input early and pre-commits
// its last transaction, and the other subtask fails after that, before a
// checkpoint recorded the first as finished (the function blocks the
// failing subtask's chain meanwhile, so no checkpoint completes). The
// restart runs the finished subtask again from the latest checkpoint; the
// transaction it pre-committed at its end is aborted, not committed, and
// the last transactions of both subtasks commit when the job finishes
// (FLIP-147).
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
	ends := []int64{eosRows / 2, eosRows / 2}
	partition := func(i int) int32 { return int32(i % 2) }
	if bounded {
		ends = []int64{eosSmall, eosRows - eosSmall}
		partition = func(i int) int32 {
			if i < eosSmall {
				return 0
			}
			return 1
		}
	}
	for i := range eosRows {
		recs = append(recs, &kgo.Record{Topic: "eos_in", Partition: partition(i), Value: fmt.Appendf(nil, `{"id": %d}`, i)})
		want = append(want, fmt.Sprintf(`{"id":%d,"doubled":%d}`, i, 2*i))
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	sort.Strings(want)

	bound := ""
	if bounded {
		bound = "'scan.bounded.mode' = 'latest-offset',"
	}
	var failed atomic.Bool
	// smallDone is when the last row of the bounded case's partition 0
	// passed the function (Unix nanoseconds, 0: not yet).
	var smallDone atomic.Int64
	// jobRef is the job once submitted; finishedBefore records whether
	// its latest checkpoint at the failure recorded a finished subtask.
	var jobRef atomic.Pointer[exec.Job]
	var finishedBefore atomic.Bool
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
		"parallelism.default":         "2",
		"table.exec.batch-size":       "10",
		exec.CheckpointingIntervalKey: "20 ms",
		exec.RestartStrategyKey:       "fixed-delay",
		exec.FixedDelayDelayKey:       "10 ms",
	}})
	require.NoError(t, err)
	// eos_fail_once paces the rows so that checkpoints fall mid-stream,
	// and fails once, at the first tenth row from eosFailAt on seen after
	// the source committed offsets to its group: a checkpoint completed
	// then, so the restart restores one. In the bounded case it first
	// waits for partition 0's subtask to end its input, blocking its own
	// subtask's chain so that no checkpoint completes meanwhile.
	require.NoError(t, env.CreateFunction("eos_fail_once", func(id int64) (int64, error) {
		if bounded && id == eosSmall-1 {
			smallDone.CompareAndSwap(0, time.Now().UnixNano())
		}
		if id%10 != 0 {
			return id, nil
		}
		if bounded && id < eosSmall {
			// Partition 0's subtask ends after the other one reached
			// eosFailAt and checkpoints completed.
			time.Sleep(10 * time.Millisecond)
		} else {
			time.Sleep(time.Millisecond)
		}
		if id < eosFailAt || failed.Load() {
			return id, nil
		}
		n, err := groupOffsets(cl, "eos-job", ends)
		if err != nil || n == 0 {
			return id, nil
		}
		if bounded {
			// The other subtask reads its end of input and finishes
			// within this wait, during which this subtask's chain takes
			// no checkpoint: none completes.
			for done := smallDone.Load(); done == 0 || time.Since(time.Unix(0, done)) < 100*time.Millisecond; done = smallDone.Load() {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if failed.CompareAndSwap(false, true) {
			if j := jobRef.Load(); j != nil {
				if cp := j.LatestCheckpoint(); cp != nil {
					for _, st := range cp.Subtasks {
						finishedBefore.Store(finishedBefore.Load() || st.Finished)
					}
				}
			}
			return 0, fmt.Errorf("injected failure at row %d", id)
		}
		return id, nil
	}))
	// Generous for -race beside other packages; the time until every row
	// is committed is logged (a transaction left open would hold
	// read_committed back until its 60 s timeout).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	start := time.Now()
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
			jobRef.Store(job)
		}
		r.Close()
	}
	require.NotNil(t, job)
	var committed []string
	if bounded {
		require.NoError(t, job.Wait(ctx))
		require.False(t, finishedBefore.Load(), "no checkpoint recorded the finished subtask before the failure")
		committed = kafkatest.ReadValues(t, addr, "eos_out", kgo.ReadCommitted())
	} else {
		// The rows after the latest checkpoint become visible with the
		// next one.
		for ctx.Err() == nil {
			if committed = kafkatest.ReadValues(t, addr, "eos_out", kgo.ReadCommitted()); len(committed) >= eosRows {
				break
			}
			select {
			case <-job.Done():
				require.NoError(t, job.Wait(ctx), "the job ended before every row was committed")
			default:
			}
		}
		if len(committed) < eosRows {
			uncommitted := kafkatest.ReadValues(t, addr, "eos_out", kgo.ReadUncommitted())
			t.Logf("after %v: %d rows committed, %d records written; checkpoints %+v; job %s",
				time.Since(start).Round(time.Millisecond), len(committed), len(uncommitted), job.CheckpointStats(), job.Status())
		}
		require.Len(t, committed, eosRows, "read_committed sees every row within the test's time")
		job.Cancel()
		require.ErrorIs(t, job.Wait(context.Background()), exec.ErrJobCanceled)
	}
	require.True(t, failed.Load(), "the function failed once")
	stats := job.CheckpointStats()
	require.EqualValues(t, 1, stats.Restarts)
	require.Positive(t, stats.Completed)

	require.Equal(t, want, committed, "read_committed sees every row once")
	uncommitted := kafkatest.ReadValues(t, addr, "eos_out", kgo.ReadUncommitted())
	require.GreaterOrEqual(t, len(uncommitted), eosRows)
	t.Logf("%d checkpoints, every row committed after %v, read_uncommitted sees %d records (%d of aborted transactions)",
		stats.Completed, time.Since(start).Round(time.Millisecond), len(uncommitted), len(uncommitted)-eosRows)

	// The source committed the offsets of its completed checkpoints to
	// its group, at most the end of each partition.
	total, err := groupOffsets(cl, "eos-job", ends)
	require.NoError(t, err)
	require.Positive(t, total, "offsets committed on checkpoints")
	require.LessOrEqual(t, total, int64(eosRows))
}

// groupOffsets is the sum of the offsets of eos_in's partitions that a
// group committed (fetched with an OffsetFetch request, as kadm does),
// each at most the partition's end in ends. It runs in the job's function
// too, so it returns its errors.
func groupOffsets(cl *kgo.Client, group string, ends []int64) (int64, error) {
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
			if p.Partition < 0 || int(p.Partition) >= len(ends) || p.Offset > ends[p.Partition] {
				return 0, fmt.Errorf("offset %d of eos_in-%d past the partition's end", p.Offset, p.Partition)
			}
			total += max(p.Offset, 0)
		}
	}
	return total, nil
}
