package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// TestPerPartitionWatermarks runs a TUMBLE window count over a topic of two
// partitions read by one subtask. The watermark is generated per partition
// and combined by the minimum, so partition 0 racing ahead does not fire
// windows while partition 1 lags; once partition 1 is idle for
// 'scan.watermark.idle-timeout' it is left out, and partition 0 alone
// fires the windows it passed. With one watermark over the whole stream
// the first windows would fire at once.
func TestPerPartitionWatermarks(t *testing.T) {
	w := newWindowTest(t, 2, 1, "'scan.watermark.idle-timeout' = '1 s'")
	// Partition 0 runs to 00:00:25, partition 1 lags at 00:00:02.
	w.produce(0, 1, 5, 12, 25)
	w.produce(1, 2)
	w.start()

	// Partition 1 holds the watermark at 00:00:01: for the first half of
	// the idle timeout (counted from when a partition's records are read)
	// nothing fires.
	require.Empty(t, w.next(500*time.Millisecond))

	// Once partition 1 is idle, partition 0 alone makes the watermark:
	// 00:00:25 passes the first two windows, when partition 1 went idle
	// while partition 0 was still active (its records read later), else
	// once partition 0 is active again.
	time.Sleep(1500 * time.Millisecond)
	w.produce(0, 26)
	require.Equal(t, []string{
		"2026-01-01 00:00:00.000|3|0|1",
		"2026-01-01 00:00:10.000|1|0|0",
	}, w.next(3*time.Second))

	// Both partitions bring 00:00:41 and later: the window of 00:00:20
	// fires, the one of 00:00:40 waits.
	w.produce(0, 42)
	w.produce(1, 41)
	require.Equal(t, []string{"2026-01-01 00:00:20.000|2|0|0"}, w.next(3*time.Second))

	// The job's metrics show the consumer lag per partition: all read.
	var src *exec.OperatorStats
	for _, m := range w.res.Job.Metrics() {
		if m.Kind == exec.KindSource {
			src = &m
		}
	}
	require.NotNil(t, src)
	require.Equal(t, map[string]int64{"clicks-0": 0, "clicks-1": 0}, src.SplitBacklog)
	require.Zero(t, src.PendingRecords)
}

// TestUnassignedSubtaskIsIdle reads a topic of one partition with three
// subtasks and no idle timeout: the two subtasks without a partition are
// idle from the start, as Flink's readers without splits, so they do not
// hold back the window.
func TestUnassignedSubtaskIsIdle(t *testing.T) {
	w := newWindowTest(t, 1, 3, "")
	w.produce(0, 1, 5, 12)
	w.start()
	require.Equal(t, []string{"2026-01-01 00:00:00.000|2|0|0"}, w.next(5*time.Second))
}

// windowTest runs a TUMBLE window count over the kafka table clicks and
// reads the windows as they fire.
type windowTest struct {
	t    *testing.T
	ctx  context.Context
	cl   *kgo.Client
	env  *table.Environment
	addr string
	opts string
	res  *table.TableResult
}

func newWindowTest(t *testing.T, partitions int32, parallelism int, opts string) *windowTest {
	addr := fakeCluster(t, partitions, "clicks")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{"parallelism.default": fmt.Sprint(parallelism)}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if opts != "" {
		opts = ", " + opts
	}
	return &windowTest{t: t, ctx: ctx, cl: cl, env: env, addr: addr, opts: opts}
}

// produce writes records of the given seconds past 2026-01-01 00:00:00
// into a partition.
func (w *windowTest) produce(part int32, secs ...int) {
	w.t.Helper()
	var recs []*kgo.Record
	for _, s := range secs {
		recs = append(recs, &kgo.Record{Topic: "clicks", Partition: part,
			Value: fmt.Appendf(nil, `{"p": %d, "ts": "2026-01-01 00:00:%02d"}`, part, s)})
	}
	require.NoError(w.t, w.cl.ProduceSync(context.Background(), recs...).FirstErr())
}

// start submits the window query: per window its start, count and the
// smallest and largest partition of its rows.
func (w *windowTest) start() {
	w.t.Helper()
	r, err := w.env.ExecuteSQL(w.ctx, fmt.Sprintf(`CREATE TABLE clicks (p INT, ts TIMESTAMP(3),
	  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
	) WITH ('connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '%s',
	  'scan.startup.mode' = 'earliest-offset', 'format' = 'json'%s)`, w.addr, w.opts))
	require.NoError(w.t, err)
	r.Close()
	w.res, err = w.env.ExecuteSQL(w.ctx, `SELECT CAST(window_start AS STRING), COUNT(*), MIN(p), MAX(p)
	  FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
	  GROUP BY window_start, window_end`)
	require.NoError(w.t, err)
	w.t.Cleanup(func() {
		// Cancel the job and let its tasks release their batches before
		// the allocator is checked.
		w.res.Close()
		_ = w.res.Job.Wait(context.Background())
	})
}

// next returns the windows that fired within d, in order.
func (w *windowTest) next(d time.Duration) []string {
	w.t.Helper()
	var got []string
	ctx, cancel := context.WithTimeout(w.ctx, d)
	defer cancel()
	for {
		b, err := w.res.Next(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return got
		}
		require.NoError(w.t, err)
		for i := range int(b.NumRows()) {
			var f []string
			for _, c := range b.Columns() {
				f = append(f, c.ValueStr(i))
			}
			got = append(got, strings.Join(f, "|"))
		}
		b.Release()
	}
}
