package exec

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
)

// "test-hold" is test-seq whose subtask 0 reads all 'rows' and the other
// subtasks none; every subtask then blocks until the test releases the
// table 'name' (an unbounded source that went quiet), and ends. With
// 'no-split' = 'true' the subtasks without rows report connector.IdleAware.
// With 'late' = n, the subtasks without rows read n rows (ts 0..n-1 ms)
// once released, before they end.
type holdFactory struct{ seqFactory }

func (holdFactory) Identifier() string { return "test-hold" }
func (holdFactory) Options() []connector.Option {
	return []connector.Option{
		{Key: "rows", Type: connector.Long, Default: "0"},
		{Key: "mod", Type: connector.Long, Default: "10"},
		{Key: "name", Type: connector.String},
		{Key: "no-split", Type: connector.Bool, Default: "false"},
		{Key: "late", Type: connector.Long, Default: "0"},
	}
}

var holdRelease sync.Map // name → chan struct{}

func (holdFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	r, err := seqFactory{}.CreateReader(spec, ctx)
	if err != nil {
		return nil, err
	}
	sr := r.(*seqReader)
	if ctx.Subtask == 0 {
		sr.next, sr.end = 0, sr.end*int64(ctx.Parallelism) // all the rows
	} else {
		sr.next, sr.end = 0, 0
	}
	rel, _ := holdRelease.Load(spec.Table.Options["name"])
	h := &holdReader{seqReader: sr, release: rel.(chan struct{}),
		noSplit: ctx.Subtask > 0 && spec.Table.Options["no-split"] == "true"}
	if ctx.Subtask > 0 {
		fmt.Sscan(spec.Table.Options["late"], &h.late)
	}
	return h, nil
}

type holdReader struct {
	*seqReader
	release chan struct{}
	noSplit bool
	late    int64
}

func (r *holdReader) Idle() bool { return r.noSplit }

func (r *holdReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := r.seqReader.Next(ctx)
	if err != io.EOF {
		return b, err
	}
	select {
	case <-r.release:
		if r.late > 0 {
			r.end, r.late = r.next+r.late, 0
			return r.seqReader.Next(ctx)
		}
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func init() { connector.Register(holdFactory{}) }

// TestSourceIdleness runs test-hold (parallelism 2, only subtask 0 has rows
// with ts 0..249 ms) → watermark assigner → one tumbling 100 ms window
// COUNT. While the sources hold, the windows [0,100) and [100,200) can fire
// only if the silent subtask 1 stops holding back the watermark: after the
// idle timeout (session or table option), or at once when it reports no
// split. Without either nothing fires before the end of the input.
func TestSourceIdleness(t *testing.T) {
	for _, tc := range []struct {
		name         string
		config       string // table.exec.source.idle-timeout
		tableTimeout int64  // WatermarkAssignerSpec.IdleTimeoutMillis
		noSplit      bool
		late         int // rows subtask 1 reads after the release
		earlyFirings bool
	}{
		{name: "no-timeout"},
		{name: "session-timeout", config: "50 ms", earlyFirings: true},
		{name: "table-timeout", tableTimeout: 50, earlyFirings: true},
		{name: "no-split", noSplit: true, earlyFirings: true},
		// Subtask 1 comes back with rows behind the window's watermark:
		// it does not move the watermark back, so its rows are late and
		// no window fires twice.
		{name: "reactivation", config: "50 ms", late: 30, earlyFirings: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "idle-" + tc.name
			release := make(chan struct{})
			holdRelease.Store(name, release)
			defer holdRelease.Delete(name)

			before := runtime.NumGoroutine()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			c := NewEmbeddedCluster(1, 4, mem)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			j, err := c.Submit(ctx, holdWindowGraph(t, name, tc.config, tc.tableTimeout, tc.noSplit, tc.late))
			require.NoError(t, err)
			res, err := j.Results("out")
			require.NoError(t, err)

			got := map[int64]int64{} // window_start → count
			read := func(ctx context.Context) error {
				b, err := res.Next(ctx)
				if err != nil {
					return err
				}
				defer b.Release()
				starts := b.Column(1).(*array.Timestamp)
				for i, n := range b.Column(4).(*array.Int64).Int64Values() {
					got[int64(starts.Value(i))] += n
				}
				return nil
			}
			if tc.earlyFirings {
				// Both complete windows fire while the sources still hold.
				for len(got) < 2 {
					require.NoError(t, read(ctx))
				}
				require.Equal(t, map[int64]int64{0: 100, 100: 100}, got)
			} else {
				wait, cancelWait := context.WithTimeout(ctx, 3*ProcessingTimeInterval)
				require.ErrorIs(t, read(wait), context.DeadlineExceeded)
				cancelWait()
				require.Empty(t, got)
			}
			close(release)
			for {
				err := read(ctx)
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
			}
			require.NoError(t, j.Wait(ctx))
			require.Equal(t, map[int64]int64{0: 100, 100: 100, 200: 50}, got)
			require.Equal(t, int64(tc.late), opStats(j, 2, 0).LateRecordsDropped)
			checkGoroutines(t, before)
		})
	}
}

func holdWindowGraph(t *testing.T, name, idleTimeout string, tableTimeout int64, noSplit bool, late int) *JobGraph {
	bigint := types.BigIntType.WithNullable(false)
	ts3 := types.TimestampType(3).WithNullable(false)
	aggOut := types.Schema{Columns: []types.Column{
		{Name: "k", Type: bigint},
		{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
		{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)},
		{Name: "cnt", Type: bigint},
	}}
	opts := map[string]string{"connector": "test-hold", "rows": "250", "mod": "1", "name": name,
		"no-split": fmt.Sprint(noSplit), "late": fmt.Sprint(late)}
	src := OperatorSpec{Kind: KindSource, Name: "Scan", Schema: seqSchema,
		Spec: mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: name, Schema: seqSchema, Options: opts}})}
	config := map[string]string{BatchSizeKey: "50"}
	if idleTimeout != "" {
		config[SourceIdleTimeoutKey] = idleTimeout
	}
	return &JobGraph{
		Name:   "idle",
		Config: config,
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{src,
				{Kind: KindWatermarkAssigner, Name: "WM", Schema: seqSchema, Spec: mustJSON(t,
					WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(t, col(2)), IdleTimeoutMillis: tableTimeout})}}},
			{ID: 2, Name: "Window", Parallelism: 1, Operators: []OperatorSpec{
				{Kind: KindWindowAggregate, Name: "WindowAggregate", Schema: aggOut, Spec: mustJSON(t, WindowAggregateSpec{
					Window: WindowSpec{Kind: WindowTumble, Size: 100}, TimeCol: 2, Keys: []int{1},
					Calls: []agg.Call{{Func: "COUNT", Filter: -1, Type: bigint}}})},
				{Kind: KindCollect, Name: "Collect", Schema: aggOut, Spec: mustJSON(t, CollectSpec{ID: "out"})}}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
	}
}

// statusOutput records what the watermark assigner emits, statuses too.
type statusOutput struct{ recordingOutput }

func (o *statusOutput) EmitWatermarkStatus(idle bool) error {
	fmt.Fprintf(&o.log, "%s\n", status(idle))
	return nil
}

// TestWatermarkAssignerIdleTimeout drives the assigner's idle timeout with a
// manual clock: idle once no row came for the timeout, active again (before
// the batch and its watermark) with the next row, and an idle upstream
// (a source without a split) makes it idle at once.
func TestWatermarkAssignerIdleTimeout(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	clock := &manualClock{now: 1000}
	spec := WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(t, col(2)), IdleTimeoutMillis: 50}
	octx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: clock}
	op, err := newWatermarkAssigner(OperatorSpec{Kind: KindWatermarkAssigner, Schema: seqSchema, Spec: mustJSON(t, spec)}, octx)
	require.NoError(t, err)
	require.NoError(t, op.Open(octx))
	defer op.Close()
	w := op.(*watermarkAssigner)
	out := &statusOutput{}
	r, err := seqFactory{}.CreateReader(connector.ScanSpec{Table: connector.TableInfo{
		Options: map[string]string{"rows": "30"}}}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 10})
	require.NoError(t, err)
	feed := func() {
		b, err := r.Next(context.Background())
		require.NoError(t, err)
		defer b.Release()
		require.NoError(t, op.ProcessBatch(0, b, out))
	}
	tick := func(ms int64) {
		clock.now += ms
		fmt.Fprintf(&out.log, "tick +%d\n", ms)
		require.NoError(t, w.OnProcessingTime(out))
	}
	tick(49)
	tick(1)
	feed()
	tick(30)
	feed()
	tick(30)
	tick(30)
	require.NoError(t, w.ProcessWatermarkStatus(0, false, out))
	feed()
	require.NoError(t, w.ProcessWatermarkStatus(0, true, out))
	require.Equal(t, `tick +49
tick +1
idle
active
batch 10 rows
watermark 9
tick +30
batch 10 rows
watermark 19
tick +30
tick +30
idle
active
batch 10 rows
watermark 29
idle
`, out.log.String())
}

// TestSourceIdlenessSavepoint stops a job whose source chain is woken on
// processing time (the reader runs in its own goroutine) with a savepoint
// while its readers block: the task stops, the reader goroutine is gone and
// nothing leaks.
func TestSourceIdlenessSavepoint(t *testing.T) {
	name := "idle-savepoint"
	holdRelease.Store(name, make(chan struct{}))
	defer holdRelease.Delete(name)
	before := runtime.NumGoroutine()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := NewEmbeddedCluster(1, 4, mem)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	j, err := c.Submit(ctx, holdWindowGraph(t, name, "50 ms", 0, false, 0))
	require.NoError(t, err)
	res, err := j.Results("out")
	require.NoError(t, err)
	b, err := res.Next(ctx) // the early firings: the source went idle
	require.NoError(t, err)
	b.Release()
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)
	require.NotNil(t, sp)
	require.NoError(t, j.Wait(ctx))
	res.Close()
	checkGoroutines(t, before)
}

// BenchmarkSourceIdleTimeout measures source → watermark assigner →
// discarding sink, with the assigner pulled directly (no idle timeout) and
// with the reader in its own goroutine (idle timeout set).
func BenchmarkSourceIdleTimeout(b *testing.B) {
	for _, timeout := range []int64{0, 1000} {
		b.Run(fmt.Sprintf("timeout=%d", timeout), func(b *testing.B) {
			g := &JobGraph{
				Name:   "bench-idle",
				Config: map[string]string{BatchSizeKey: "1024"},
				Vertices: []Vertex{{ID: 1, Name: "Pipeline", Parallelism: 1, Operators: []OperatorSpec{
					sourceOp(b, map[string]string{"rows": fmt.Sprint(b.N)}),
					{Kind: KindWatermarkAssigner, Name: "WM", Schema: seqSchema, Spec: mustJSON(b,
						WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(b, col(2)), IdleTimeoutMillis: timeout})},
					sinkOp(b, "bench", map[string]string{"discard": "true"})}}},
			}
			c := NewEmbeddedCluster(1, 1, nil)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			j, err := c.Submit(context.Background(), g)
			require.NoError(b, err)
			require.NoError(b, j.Wait(context.Background()))
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
		})
	}
}
