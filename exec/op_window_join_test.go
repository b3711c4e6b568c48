package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// slowSeqFactory is "test-seq-slow": test-seq sleeping 'delay' before each
// batch, a source that runs behind the other input of a join.
type slowSeqFactory struct{ seqFactory }

func (slowSeqFactory) Identifier() string { return "test-seq-slow" }
func (f slowSeqFactory) Options() []connector.Option {
	return append(f.seqFactory.Options(), connector.Option{Key: "delay", Type: connector.Duration})
}

func (f slowSeqFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	r, err := f.seqFactory.CreateReader(spec, ctx)
	if err != nil {
		return nil, err
	}
	d, err := time.ParseDuration(spec.Table.Options["delay"])
	if err != nil {
		return nil, err
	}
	return &slowSeqReader{SourceReader: r, delay: d}, nil
}

type slowSeqReader struct {
	connector.SourceReader
	delay time.Duration
}

func (r *slowSeqReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	time.Sleep(r.delay)
	return r.SourceReader.Next(ctx)
}

// windowJoinProbe is "test-window-join-probe": a window join that records
// the most rows its left input ever held in state.
type windowJoinProbe struct {
	*windowJoin
	peak *atomic.Int64
}

var probePeaks = map[string]*atomic.Int64{}

func (p windowJoinProbe) ProcessBatch(in int, b arrow.RecordBatch, out Output) error {
	err := p.windowJoin.ProcessBatch(in, b, out)
	if n := int64(p.stateRows()[0]); n > p.peak.Load() {
		p.peak.Store(n)
	}
	return err
}

func init() {
	connector.Register(slowSeqFactory{})
	RegisterOperator("test-window-join-probe", func(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
		op, err := newWindowJoin(spec, ctx)
		if err != nil {
			return nil, err
		}
		return windowJoinProbe{windowJoin: op.(*windowJoin), peak: probePeaks[spec.Name]}, nil
	})
}

// TestWindowJoinHoldsLeadingInput joins a fast source with a slow one on
// (id, window): the task stops reading the input whose watermark is
// ahead, so the join's state stays around the rows of the windows the two
// watermarks are apart plus what the channels buffer, instead of the
// whole fast input, and every row still joins.
func TestWindowJoinHoldsLeadingInput(t *testing.T) {
	const rows = 20000
	name, store := newStore(t)
	tvfOut := windowTVFSchema(seqSchema)
	both := types.Schema{Columns: append(slicesClone(tvfOut.Columns), tvfOut.Columns...)}
	bigint := types.BigIntType.WithNullable(false)
	sinkSchema := types.Schema{Columns: []types.Column{{Name: "id", Type: bigint}, {Name: "k", Type: bigint}}}
	sink := sinkOp(t, name, nil)
	sink.Schema = sinkSchema
	probe := t.Name()
	probePeaks[probe] = &atomic.Int64{}
	input := func(src OperatorSpec) []OperatorSpec {
		return []OperatorSpec{src,
			{Kind: KindWatermarkAssigner, Name: "WM", Schema: seqSchema, Spec: mustJSON(t,
				WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(t, col(2))})},
			{Kind: KindWindowTableFunction, Name: "Window", Schema: tvfOut, Spec: mustJSON(t,
				WindowTableFunctionSpec{Window: WindowSpec{Kind: WindowTumble, Size: 100}, TimeCol: 2})}}
	}
	seqOpts := func() map[string]string {
		return map[string]string{"rows": fmt.Sprint(rows), "mod": "1000000000"}
	}
	slowOpts := seqOpts()
	slowOpts["delay"] = "1ms"
	slow := sourceOp(t, slowOpts)
	slowOpts["connector"] = "test-seq-slow"
	slow.Spec = mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "seq", Schema: seqSchema, Options: slowOpts}})
	g := &JobGraph{
		Name:   "window-join",
		Config: map[string]string{BatchSizeKey: "64"},
		Vertices: []Vertex{
			{ID: 1, Name: "Fast", Parallelism: 1, Operators: input(sourceOp(t, seqOpts()))},
			{ID: 2, Name: "Slow", Parallelism: 1, Operators: input(slow)},
			{ID: 3, Name: "Join", Parallelism: 1, Operators: []OperatorSpec{
				{Kind: "test-window-join-probe", Name: probe, Schema: both, Spec: mustJSON(t, WindowJoinSpec{
					Type: "inner", LeftKeys: []int{1, 3, 4}, RightKeys: []int{1, 3, 4}, LeftWindowEnd: 4, RightWindowEnd: 4})},
				{Kind: KindCalc, Name: "Calc", Schema: sinkSchema, Spec: mustJSON(t, CalcSpec{
					Projections: []json.RawMessage{marshal(t, col(0)), marshal(t, &expr.ColumnRef{Index: 7, Name: "k", T: bigint})}})},
				sink}},
		},
		Edges: []Edge{
			{Source: 1, Target: 3, TargetInput: 0, Partitioning: Hash, Keys: []int{1, 3, 4}},
			{Source: 2, Target: 3, TargetInput: 1, Partitioning: Hash, Keys: []int{1, 3, 4}},
		},
	}
	_, err := runJob(t, g, 3)
	require.NoError(t, err)
	require.Equal(t, seq(0, rows), store.all())
	peak := probePeaks[probe].Load()
	t.Logf("peak left rows in state: %d of %d", peak, rows)
	// A window is 100 rows; the channels hold a few 64-row batches.
	require.Less(t, peak, int64(2000))
}

// TestInputGateHold reads only the channels of the input not held, and
// all of them again once the hold is lifted.
func TestInputGateHold(t *testing.T) {
	ctx := context.Background()
	chanInput := []int{0, 1, 0}
	chans := make([]chan Element, len(chanInput))
	recv := make([]<-chan Element, len(chanInput))
	for c := range chans {
		chans[c] = make(chan Element, 2)
		chans[c] <- Element{Kind: ElementWatermark, Watermark: Watermark(c)}
		chans[c] <- Element{Kind: ElementWatermark, Watermark: Watermark(c)}
		recv[c] = chans[c]
	}
	g := newInputGate(ctx, recv, nil)
	g.hold(0, chanInput)
	for range 2 {
		c, _, err := g.next(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, c)
	}
	// Only the held input has elements left: a read would block.
	require.Len(t, chans[1], 0)
	g.hold(-1, chanInput)
	seen := map[int]int{}
	for range 4 {
		c, _, err := g.next(ctx)
		require.NoError(t, err)
		seen[c]++
	}
	require.Equal(t, map[int]int{0: 2, 2: 2}, seen)
}

type heldSelector int

func (s heldSelector) HeldInput() int { return int(s) }

// TestHeldInputGuards: the task holds what the operator asks unless the
// other input has ended, is idle, or a savepoint barrier arrived.
func TestHeldInputGuards(t *testing.T) {
	tr := newInputTracker([]int{0, 1, 1}, 2)
	require.Equal(t, 0, heldInput(heldSelector(0), tr, 0))
	require.Equal(t, -1, heldInput(heldSelector(-1), tr, 0))
	require.Equal(t, -1, heldInput(heldSelector(0), tr, 1), "savepoint barrier")
	tr.status(1, true)
	require.Equal(t, 0, heldInput(heldSelector(0), tr, 0), "one of two channels idle")
	tr.status(2, true)
	require.Equal(t, -1, heldInput(heldSelector(0), tr, 0), "other input idle")
	require.Equal(t, 1, heldInput(heldSelector(1), tr, 0))
	tr.status(1, false)
	tr.end(1)
	tr.end(2)
	require.Equal(t, -1, heldInput(heldSelector(0), tr, 0), "other input ended")
	require.Equal(t, -1, heldInput(heldSelector(0), newInputTracker([]int{0}, 1), 0), "one input")
}

// TestWindowJoinStateDrained runs 50 windows through a window join, the
// left input's watermark always ahead, with a snapshot/restore while a
// window is buffered: every window's state is dropped when it fires, the
// slot arena and key entries are reused (their size stays that of one
// window), and HeldInput names the input whose watermark is ahead, also
// after the restore.
func TestWindowJoinStateDrained(t *testing.T) {
	const keys, windows = 100, 50
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ts3 := types.TimestampType(3).WithNullable(false)
	side := []types.Column{{Name: "k", Type: types.BigIntType.WithNullable(false)},
		{Name: "ws", Type: ts3}, {Name: "we", Type: ts3}}
	in := types.Schema{Columns: side}
	spec := OperatorSpec{Kind: KindWindowJoin, Name: "WindowJoin",
		Schema: types.Schema{Columns: append(slicesClone(side), side...)},
		Spec: mustJSON(t, WindowJoinSpec{Type: "inner", LeftKeys: []int{0, 1, 2}, RightKeys: []int{0, 1, 2},
			LeftWindowEnd: 2, RightWindowEnd: 2})}
	start := func() *windowJoin {
		ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
		op, err := newWindowJoin(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op.(*windowJoin)
	}
	batch := func(w int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, in.Arrow())
		defer b.Release()
		for k := range int64(keys) {
			b.Field(0).(*array.Int64Builder).Append(k)
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(10 * w))
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(10*w + 10))
		}
		return b.NewRecordBatch()
	}
	j := start()
	var out countingOutput
	for w := range int64(windows) {
		for side := range 2 {
			b := batch(w)
			require.NoError(t, j.ProcessBatch(side, b, &out))
			b.Release()
		}
		require.NoError(t, j.ProcessWatermark(0, Watermark(10*w+9), &out))
		require.Equal(t, [2]int{keys, keys}, j.stateRows())
		require.Equal(t, 0, j.HeldInput(), "window %d", w)
		// The state size: per side, keys rows of 3 int columns, and keys
		// join keys (one per row: each row has its own key).
		buffered := j.StateBytes()
		require.GreaterOrEqual(t, buffered, int64(2*keys*(3*9+28+24)))
		if w == windows/2 {
			state, err := j.Snapshot()
			require.NoError(t, err)
			require.NoError(t, j.Close())
			j = start()
			require.NoError(t, j.Restore(state))
			require.Equal(t, 0, j.HeldInput())
			require.Equal(t, buffered, j.StateBytes())
		}
		require.NoError(t, j.ProcessWatermark(1, Watermark(10*w+9), &out))
		require.Equal(t, (w+1)*keys, out.rows)
		require.Equal(t, [2]int{0, 0}, j.stateRows())
		require.Zero(t, j.StateBytes())
		require.Equal(t, -1, j.HeldInput())
	}
	for _, s := range j.stores {
		require.LessOrEqual(t, int(s.slots), keys, "slots")
		require.LessOrEqual(t, len(s.entHash), keys, "key entries")
	}
	require.NoError(t, j.Close())
	mem.AssertSize(t, 0)
}
