package exec

import (
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// countingOutput counts what it is given and checks watermarks ascend.
type countingOutput struct {
	rows, batches int64
	wm            Watermark
}

func (o *countingOutput) Emit(b arrow.RecordBatch) error {
	o.rows += b.NumRows()
	o.batches++
	return nil
}

func (o *countingOutput) EmitWatermark(wm Watermark) error {
	o.wm = wm
	return nil
}

// tumbleGen generates rows (k BIGINT, ts TIMESTAMP(3), v BIGINT) with
// k = i % keys, ts = i * stepMs and v = i, into reused buffers: the
// operator does not keep its input batches.
type tumbleGen struct {
	schema        *arrow.Schema
	keys, stepMs  int64
	next          int64
	ks, ts, vs    []int64
	batch         int
	rowsPerSecond float64
}

func newTumbleGen(keys, stepMs int64, batch int) *tumbleGen {
	s := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType.WithNullable(false)},
		{Name: "ts", Type: types.TimestampType(3).WithNullable(false).WithTimeAttr(types.RowtimeAttr)},
		{Name: "v", Type: types.BigIntType.WithNullable(false)},
	}}
	return &tumbleGen{schema: s.Arrow(), keys: keys, stepMs: stepMs, batch: batch,
		ks: make([]int64, batch), ts: make([]int64, batch), vs: make([]int64, batch)}
}

func int64Array(dt arrow.DataType, vals []int64) arrow.Array {
	return array.MakeFromData(array.NewData(dt, len(vals),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(vals))}, nil, 0, 0))
}

// nextBatch returns n rows and the largest timestamp in them.
func (g *tumbleGen) nextBatch(n int) (arrow.RecordBatch, int64) {
	for i := range n {
		r := g.next + int64(i)
		g.ks[i], g.ts[i], g.vs[i] = r%g.keys, r*g.stepMs, r
	}
	g.next += int64(n)
	cols := []arrow.Array{
		int64Array(arrow.PrimitiveTypes.Int64, g.ks[:n]),
		int64Array(g.schema.Field(1).Type, g.ts[:n]),
		int64Array(arrow.PrimitiveTypes.Int64, g.vs[:n]),
	}
	b := array.NewRecordBatch(g.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return b, g.ts[n-1]
}

func newTumbleAgg(t testing.TB, mem memory.Allocator, sizeMs int64) (*windowAgg, *OperatorContext) {
	bigint := types.BigIntType
	ts3 := types.TimestampType(3).WithNullable(false)
	calls := []agg.Call{
		{Func: "COUNT", Filter: -1, Type: bigint.WithNullable(false)},
		{Func: "SUM", Args: []int{2}, Filter: -1, Type: bigint},
		{Func: "MAX", Args: []int{2}, Filter: -1, Type: bigint},
	}
	out := types.Schema{Columns: []types.Column{
		{Name: "k", Type: bigint.WithNullable(false)},
		{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
		{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)},
		{Name: "cnt", Type: calls[0].Type}, {Name: "total", Type: bigint}, {Name: "top", Type: bigint},
	}}
	spec := OperatorSpec{Kind: KindWindowAggregate, Name: "WindowAggregate", Schema: out,
		Spec: mustJSON(t, WindowAggregateSpec{Window: WindowSpec{Kind: WindowTumble, Size: sizeMs},
			TimeCol: 1, Keys: []int{0}, Calls: calls})}
	octx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newWindowAgg(spec, octx)
	require.NoError(t, err)
	require.NoError(t, op.Open(octx))
	return op.(*windowAgg), octx
}

// windowBoundedRows is how many rows TestWindowStateBounded feeds.
var windowBoundedRows = int64(10_000_000)

// TestWindowStateBounded feeds 10 million rows (1 million with -short or
// -race),
// 1000 keys, 1000 rows per second of event time, through a 1-minute
// tumbling window with a watermark 5 s behind after every batch, and
// checks that state stays at the one or two windows the watermark has not
// passed: open windows, live slots and snapshot size are bounded and
// everything is freed at the end.
func TestWindowStateBounded(t *testing.T) {
	rows := windowBoundedRows
	if testing.Short() {
		rows = 1_000_000
	}
	const keys, stepMs, size = 1000, 1, 60_000
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	op, _ := newTumbleAgg(t, mem, size)
	defer op.Close()
	gen := newTumbleGen(keys, stepMs, DefaultBatchSize)
	out := &countingOutput{}
	maxState, batches := 0, 0
	start := time.Now()
	for gen.next < rows {
		b, maxTs := gen.nextBatch(int(min(int64(DefaultBatchSize), rows-gen.next)))
		require.NoError(t, op.ProcessBatch(0, b, out))
		b.Release()
		require.NoError(t, op.ProcessWatermark(0, Watermark(maxTs-5000), out))
		if batches++; batches%100 == 0 {
			state, err := op.Snapshot()
			require.NoError(t, err)
			maxState = max(maxState, len(state))
		}
	}
	require.NoError(t, op.ProcessWatermark(0, MaxWatermark, out))
	require.NoError(t, op.EndInput(0, out))
	elapsed := time.Since(start)
	st := op.stats()
	windows := (rows*stepMs + size - 1) / size
	t.Logf("%d rows in %v (%.1fM rows/s incl. snapshots): %d windows fired, %d rows out; peak %d open windows, %d live slots, arena %d slots; largest snapshot %d bytes",
		rows, elapsed, float64(rows)/elapsed.Seconds()/1e6, windows, out.rows, st.PeakWindows, st.PeakSlots, st.ArenaSlots, maxState)
	require.Equal(t, windows*keys, out.rows)
	require.LessOrEqual(t, st.PeakWindows, 2)
	require.LessOrEqual(t, st.PeakSlots, 2*keys)
	require.LessOrEqual(t, st.ArenaSlots, 2*keys)
	require.Less(t, maxState, 2*keys*64)
	require.Zero(t, st.OpenWindows)
	require.Zero(t, st.LiveSlots)
}

// BenchmarkWindowTumble measures a 1-minute tumbling window computing
// COUNT(*), SUM(v), MAX(v) grouped by 1000 keys over b.N rows in batches of
// DefaultBatchSize with a watermark after each batch, and reports rows/s.
func BenchmarkWindowTumble(b *testing.B) {
	op, _ := newTumbleAgg(b, memory.NewGoAllocator(), 60_000)
	defer op.Close()
	gen := newTumbleGen(1000, 1, DefaultBatchSize)
	out := &countingOutput{}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; {
		n := min(DefaultBatchSize, b.N-done)
		batch, maxTs := gen.nextBatch(n)
		if err := op.ProcessBatch(0, batch, out); err != nil {
			b.Fatal(err)
		}
		batch.Release()
		if err := op.ProcessWatermark(0, Watermark(maxTs-5000), out); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	if err := op.ProcessWatermark(0, MaxWatermark, out); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}
