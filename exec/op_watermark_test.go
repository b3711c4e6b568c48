package exec

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// recordingOutput prints what an operator emits.
type recordingOutput struct{ log strings.Builder }

func (o *recordingOutput) Emit(b arrow.RecordBatch) error {
	fmt.Fprintf(&o.log, "batch %d rows\n", b.NumRows())
	return nil
}

func (o *recordingOutput) EmitWatermark(wm Watermark) error {
	fmt.Fprintf(&o.log, "watermark %s\n", fmtWM(wm))
	return nil
}

// TestWatermarkAssigner feeds TIMESTAMP(6) rows (microseconds) with NULLs
// and checks the millisecond watermarks: the maximum of the expression,
// emitted after the batch, only when it advances, NULLs ignored.
func TestWatermarkAssigner(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts6 := types.TimestampType(6)
	schema := types.Schema{Columns: []types.Column{{Name: "ts", Type: ts6}}}
	spec := WatermarkAssignerSpec{RowtimeIndex: 0, Watermark: marshal(t, &expr.ColumnRef{Index: 0, Name: "ts", T: ts6})}
	octx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newWatermarkAssigner(OperatorSpec{Kind: KindWatermarkAssigner, Schema: schema, Spec: mustJSON(t, spec)}, octx)
	require.NoError(t, err)
	require.NoError(t, op.Open(octx))
	defer op.Close()

	out := &recordingOutput{}
	feed := func(vals []int64, valid []bool) {
		b := array.NewRecordBuilder(mem, schema.Arrow())
		defer b.Release()
		tb := b.Field(0).(*array.TimestampBuilder)
		for i, v := range vals {
			if valid != nil && !valid[i] {
				tb.AppendNull()
			} else {
				tb.Append(arrow.Timestamp(v))
			}
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		require.NoError(t, op.ProcessBatch(0, rec, out))
	}
	feed([]int64{5_999, 1_000, 9_999_999}, []bool{true, true, false}) // 5.999 ms
	feed([]int64{2_000}, nil)                                         // behind: no watermark
	feed([]int64{-1}, nil)                                            // -0.001 ms floors to -1: behind
	feed(nil, nil)
	feed([]int64{7_000_500}, nil)
	require.NoError(t, op.ProcessWatermark(0, 123456789, out)) // upstream watermarks are ignored
	require.NoError(t, op.ProcessWatermark(0, MaxWatermark, out))
	require.Equal(t, `batch 3 rows
watermark 5
batch 1 rows
batch 1 rows
batch 0 rows
batch 1 rows
watermark 7000
watermark MAX
`, out.log.String())

	state, err := op.Snapshot()
	require.NoError(t, err)
	require.Equal(t, "9223372036854775807", string(state))
}

// wmRecorder is the "test-wm" operator: it records the watermarks each
// subtask receives and forwards everything.
type wmRecorder struct {
	subtask int
	log     *wmLog
}

type wmLog struct {
	mu  sync.Mutex
	wms map[int][]Watermark
}

var wmLogs sync.Map // name -> *wmLog

func (r *wmRecorder) Open(*OperatorContext) error { return nil }
func (r *wmRecorder) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	return out.Emit(b)
}
func (r *wmRecorder) ProcessWatermark(_ int, wm Watermark, out Output) error {
	r.log.mu.Lock()
	r.log.wms[r.subtask] = append(r.log.wms[r.subtask], wm)
	r.log.mu.Unlock()
	return out.EmitWatermark(wm)
}
func (r *wmRecorder) EndInput(int, Output) error { return nil }
func (r *wmRecorder) Snapshot() ([]byte, error)  { return nil, nil }
func (r *wmRecorder) Restore([]byte) error       { return nil }
func (r *wmRecorder) Close() error               { return nil }

func init() {
	RegisterOperator("test-wm", func(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
		var name string
		if err := json.Unmarshal(spec.Spec, &name); err != nil {
			return nil, err
		}
		l, _ := wmLogs.Load(name)
		return &wmRecorder{subtask: ctx.Subtask, log: l.(*wmLog)}, nil
	})
}

// TestWatermarksThroughExchange assigns watermarks in two source subtasks
// and checks what the subtasks behind a hash exchange see: strictly
// increasing watermarks ending with MaxWatermark. The min-combining over
// channels itself is scripted in TestInputTracker.
func TestWatermarksThroughExchange(t *testing.T) {
	const rows = 4000
	name, store := newStore(t)
	log := &wmLog{wms: map[int][]Watermark{}}
	wmLogs.Store(name, log)
	ts := col(2)
	g := &JobGraph{
		Name:   "watermarks",
		Config: map[string]string{BatchSizeKey: "100"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": fmt.Sprint(rows)}),
				{Kind: KindWatermarkAssigner, Name: "WM", Schema: seqSchema, Spec: mustJSON(t,
					WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(t, ts)})}}},
			{ID: 2, Name: "Sink", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: "test-wm", Name: "Rec", Schema: seqSchema, Spec: mustJSON(t, name)},
				sinkOp(t, name, nil)}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
	}
	j, err := runJob(t, g, 2)
	require.NoError(t, err)
	require.Equal(t, seq(0, rows), store.all())
	require.Equal(t, MaxWatermark, opStats(j, 1, 1).Watermark)
	for sub := 0; sub < 2; sub++ {
		wms := log.wms[sub]
		require.NotEmpty(t, wms)
		require.Equal(t, MaxWatermark, wms[len(wms)-1])
		for i := 1; i < len(wms); i++ {
			require.Less(t, wms[i-1], wms[i])
		}
	}
}
