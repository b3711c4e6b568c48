package exec

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// TestLocalGlobalWindowAgg feeds random rows (some of them late) in
// batches of random sizes to three local window aggregates, passes their
// accumulator rows to a global window aggregate, sends the same
// watermarks through both phases, snapshots and restores every operator
// in the middle, and checks that the global emits the rows a one-phase
// window aggregate emits over the same input.
func TestLocalGlobalWindowAgg(t *testing.T) {
	windows := map[string]WindowSpec{
		"tumble":   {Kind: WindowTumble, Size: 1000},
		"hop":      {Kind: WindowHop, Size: 3000, Slide: 1000},
		"cumulate": {Kind: WindowCumulate, Size: 3000, Step: 1000},
	}
	for name, w := range windows {
		for _, keyed := range []bool{true, false} {
			for _, attached := range []bool{false, true} {
				if attached && w.Kind != WindowTumble {
					continue
				}
				t.Run(fmt.Sprintf("%s/keyed=%v/attached=%v", name, keyed, attached), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					testLocalGlobalWindowAgg(t, mem, w, keyed, attached)
				})
			}
		}
	}
}

func testLocalGlobalWindowAgg(t *testing.T, mem memory.Allocator, w WindowSpec, keyed, attached bool) {
	ts := types.TimestampType(3).WithTimeAttr(types.RowtimeAttr)
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType},
		{Name: "d", Type: types.DecimalType(10, 2)}, {Name: "f", Type: types.DoubleType},
		{Name: "b", Type: types.BooleanType}, {Name: "ts", Type: ts.WithNullable(false)},
	}}
	call := func(fn string, args []int, filter int) agg.Call {
		argTypes := make([]types.DataType, len(args))
		for i, a := range args {
			argTypes[i] = in.Columns[a].Type
		}
		rt, err := agg.ResultType(fn, argTypes)
		require.NoError(t, err)
		return agg.Call{Func: fn, Args: args, Filter: filter, Type: rt, Name: strings.ToLower(fn)}
	}
	calls := []agg.Call{
		call("COUNT", nil, -1), call("SUM", []int{1}, -1), call("AVG", []int{1}, -1),
		call("COUNT", []int{1}, 4), call("SUM", []int{2}, -1), call("MIN", []int{1}, -1),
		call("MAX", []int{3}, -1), call("MAX", []int{2}, 4), call("SUM", []int{3}, -1),
	}
	var keys []int
	out := types.Schema{}
	if keyed {
		keys = []int{0}
		out.Columns = append(out.Columns, in.Columns[0])
	}
	wt := types.TimestampType(3).WithNullable(false)
	out.Columns = append(out.Columns, types.Column{Name: "window_start", Type: wt},
		types.Column{Name: "window_end", Type: wt}, types.Column{Name: "window_time", Type: ts.WithNullable(false)})
	for _, c := range calls {
		out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
	}
	one := WindowAggregateSpec{Window: w, TimeCol: 5, Keys: keys, Calls: calls, Attached: attached}
	local := LocalWindowAggregateSpec{Window: w, TimeCol: 5, Keys: keys, Calls: calls, Attached: attached}
	global := GlobalWindowAggregateSpec{}
	global.Window, global.Attached = w, attached
	accOut := types.Schema{Columns: append([]types.Column(nil), out.Columns[:len(keys)]...)}
	for i := range keys {
		global.Keys = append(global.Keys, i)
	}
	for _, c := range calls {
		var argTypes []types.DataType
		for _, a := range c.Args {
			argTypes = append(argTypes, in.Columns[a].Type)
		}
		fields, ok := agg.Accumulators(c, argTypes, false)
		require.True(t, ok, "%s", c)
		gc := agg.Call{Func: c.Func, Filter: -1, Type: c.Type, Name: c.Name}
		for _, f := range fields {
			gc.Args = append(gc.Args, accOut.Len())
			accOut.Columns = append(accOut.Columns, types.Column{Name: f.Name, Type: f.Type})
		}
		local.ArgTypes = append(local.ArgTypes, argTypes)
		global.ArgTypes = append(global.ArgTypes, argTypes)
		global.Calls = append(global.Calls, gc)
	}
	global.TimeCol = accOut.Len()
	accOut.Columns = append(accOut.Columns, types.Column{Name: "$slice_end", Type: wt})

	open := func(kind string, schema types.Schema, spec any) Operator {
		ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &gaClock{}}
		factory := map[string]func(OperatorSpec, *OperatorContext) (Operator, error){
			KindLocalWindowAggregate: newLocalWindowAgg, KindGlobalWindowAggregate: newGlobalWindowAgg,
			KindWindowAggregate: newWindowAgg}[kind]
		op, err := factory(OperatorSpec{Kind: kind, Schema: schema, Spec: mustJSON(t, spec)}, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op
	}
	locals := make([]Operator, 3)
	openLocals := func() {
		for i := range locals {
			locals[i] = open(KindLocalWindowAggregate, accOut, local)
		}
	}
	openLocals()
	glob := open(KindGlobalWindowAggregate, out, global)
	onePhase := open(KindWindowAggregate, out, one)
	defer func() {
		for _, op := range append(locals, glob, onePhase) {
			require.NoError(t, op.Close())
		}
	}()
	twoRes, oneRes := &insertRows{}, &insertRows{}
	toGlobal := &forward{op: glob, out: twoRes}
	watermark := func(wm Watermark) {
		for _, l := range locals {
			require.NoError(t, l.ProcessWatermark(0, wm, toGlobal))
		}
		require.NoError(t, toGlobal.err)
		require.NoError(t, glob.ProcessWatermark(0, wm, twoRes))
		require.NoError(t, onePhase.ProcessWatermark(0, wm, oneRes))
	}

	rng := rand.New(rand.NewPCG(11, uint64(w.Size+w.Slide+w.Step)))
	arrowIn := in.Arrow()
	now := int64(0)
	for round := range 300 {
		n := rng.IntN(40) + 1
		bld := array.NewRecordBuilder(mem, arrowIn)
		for range n {
			// Skewed keys: half the rows go to key 0; a tenth of the rows
			// are up to 3 s late.
			k := int64(0)
			if rng.IntN(2) == 0 {
				k = rng.Int64N(30)
			}
			at := now + rng.Int64N(500)
			if rng.IntN(10) == 0 {
				at -= rng.Int64N(3000)
			}
			if attached {
				at = (at/w.Size + 1) * w.Size
			}
			v := rng.Int64N(1000) - 300
			bld.Field(0).(*array.Int64Builder).Append(k)
			bld.Field(1).(*array.Int64Builder).Append(v)
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(v * 7))
			bld.Field(3).(*array.Float64Builder).Append(float64(rng.IntN(50)))
			bld.Field(4).(*array.BooleanBuilder).Append(rng.IntN(2) == 0)
			bld.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(at))
		}
		b := bld.NewRecordBatch()
		bld.Release()
		require.NoError(t, locals[rng.IntN(len(locals))].ProcessBatch(0, b, toGlobal))
		require.NoError(t, onePhase.ProcessBatch(0, b, oneRes))
		b.Release()
		require.NoError(t, toGlobal.err)
		now += rng.Int64N(150)
		if rng.IntN(4) == 0 {
			watermark(Watermark(now - 700))
		}

		if round == 150 {
			// A checkpoint: the locals flush ahead of the barrier and
			// keep nothing; the global restores from its snapshot.
			for i, l := range locals {
				require.NoError(t, l.(PreSnapshotOperator).PrepareSnapshotPreBarrier(toGlobal))
				state, err := l.Snapshot()
				require.NoError(t, err)
				require.Nil(t, state)
				require.NoError(t, l.Close())
				locals[i] = nil
			}
			openLocals()
			state, err := glob.Snapshot()
			require.NoError(t, err)
			require.NoError(t, glob.Close())
			glob = open(KindGlobalWindowAggregate, out, global)
			require.NoError(t, glob.Restore(state))
			toGlobal.op = glob
		}
	}
	watermark(MaxWatermark)
	for _, l := range locals {
		require.NoError(t, l.EndInput(0, toGlobal))
	}
	require.NoError(t, glob.EndInput(0, twoRes))
	require.NoError(t, onePhase.EndInput(0, oneRes))
	require.NotEmpty(t, oneRes.rows)
	slices.Sort(oneRes.rows)
	slices.Sort(twoRes.rows)
	require.Equal(t, oneRes.rows, twoRes.rows)
}

// insertRows collects the rows of an insert-only output, printed.
type insertRows struct{ rows []string }

func (o *insertRows) Emit(b arrow.RecordBatch) error {
	for i := range int(b.NumRows()) {
		vals := make([]string, b.NumCols())
		for c := range vals {
			vals[c] = b.Column(c).ValueStr(i)
		}
		o.rows = append(o.rows, strings.Join(vals, ", "))
	}
	return nil
}

func (o *insertRows) EmitWatermark(Watermark) error { return nil }

// TestLocalWindowAggFlushesOnWatermark checks the local phase's buffer:
// it keeps its rows across a watermark that closes none of its slices and
// flushes them, ahead of the watermark, once one may close.
func TestLocalWindowAggFlushesOnWatermark(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rt := types.TimestampType(3).WithTimeAttr(types.RowtimeAttr).WithNullable(false)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "ts", Type: rt}}}
	count, err := agg.ResultType("COUNT", nil)
	require.NoError(t, err)
	spec := LocalWindowAggregateSpec{Window: WindowSpec{Kind: WindowTumble, Size: 1000}, TimeCol: 1, Keys: []int{0},
		Calls: []agg.Call{{Func: "COUNT", Filter: -1, Type: count}}, ArgTypes: [][]types.DataType{nil}}
	accOut := types.Schema{Columns: []types.Column{in.Columns[0], {Name: "count$0", Type: types.BigIntType.WithNullable(false)},
		{Name: "$slice_end", Type: types.TimestampType(3).WithNullable(false)}}}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &gaClock{}}
	op, err := newLocalWindowAgg(OperatorSpec{Kind: KindLocalWindowAggregate, Schema: accOut, Spec: mustJSON(t, spec)}, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))
	defer func() { require.NoError(t, op.Close()) }()

	bld := array.NewRecordBuilder(mem, in.Arrow())
	bld.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 1, 2, 1}, nil)
	bld.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{100, 200, 300, 1500}, nil)
	b := bld.NewRecordBatch()
	bld.Release()
	defer b.Release()
	res := &eventLog{}
	require.NoError(t, op.ProcessBatch(0, b, res))
	require.NoError(t, op.ProcessWatermark(0, 500, res))
	require.Equal(t, []string{"watermark 500"}, res.events)
	require.NoError(t, op.ProcessWatermark(0, 999, res))
	require.Equal(t, []string{"watermark 500",
		"1, 2, 1970-01-01T00:00:01", "2, 1, 1970-01-01T00:00:01", "1, 1, 1970-01-01T00:00:02",
		"watermark 999"}, res.events)
	state, err := op.Snapshot()
	require.NoError(t, err)
	require.Nil(t, state)
}

// eventLog prints the rows and watermarks an operator emits, in order.
type eventLog struct{ events []string }

func (o *eventLog) Emit(b arrow.RecordBatch) error {
	for i := range int(b.NumRows()) {
		vals := make([]string, b.NumCols())
		for c := range vals {
			vals[c] = b.Column(c).ValueStr(i)
		}
		o.events = append(o.events, strings.Join(vals, ", "))
	}
	return nil
}

func (o *eventLog) EmitWatermark(wm Watermark) error {
	o.events = append(o.events, fmt.Sprintf("watermark %d", wm))
	return nil
}

// TestWindowOperatorsTwoPhase replays the scripts of testdata/window (see
// TestWindowOperators) with every window aggregate that can be split run
// as a local window aggregate feeding a global one: batching, watermarks,
// late rows, snapshots and restores must give the one-phase output. The
// late-row count and the state statistics belong to one operator, so the
// metrics and state commands of split aggregates are checked by
// TestWindowOperators only. Under -rewrite it does not run, so that only
// the one-phase operators write the expectations.
func TestWindowOperatorsTwoPhase(t *testing.T) {
	if f := flag.Lookup("rewrite"); f != nil && f.Value.String() == "true" {
		t.Skip("the one-phase replays write the expectations")
	}
	replayScripts(t, []string{"window"}, func(t *testing.T, r scriptReplay) (func(*testing.T, *datadriven.TestData) string, func()) {
		h := &windowHarness{mem: r.mem, batch: r.batch, restoreEach: r.restoreEach, twoPhase: true}
		return func(t *testing.T, d *datadriven.TestData) string {
			if _, split := h.op.(*twoPhaseWindowOp); split && (d.Cmd == "metrics" || d.Cmd == "state") {
				return d.Expected
			}
			return h.run(t, d)
		}, h.close
	})
}

// twoPhaseWindowOp chains a local window aggregate to a global one, as a
// task chains the local phase before the exchange and the global phase
// after it, for the window harness. Snapshot flushes the local phase
// ahead of the barrier, into the global phase, whose state it returns.
type twoPhaseWindowOp struct {
	local, global Operator
	link          phaseLink
}

// phaseLink passes what the local phase emits to the global phase.
type phaseLink struct {
	global Operator
	out    Output
}

func (l *phaseLink) Emit(b arrow.RecordBatch) error { return l.global.ProcessBatch(0, b, l.out) }
func (l *phaseLink) EmitWatermark(wm Watermark) error {
	return l.global.ProcessWatermark(0, wm, l.out)
}

// newTwoPhaseWindowOp splits the window aggregate of spec over input
// columns in into opened local and global phases that emit to out, or
// returns nil when it cannot be split (SESSION or processing-time
// windows, calls that do not merge).
func newTwoPhaseWindowOp(t *testing.T, in types.Schema, spec OperatorSpec, ctx *OperatorContext, out Output) Operator {
	if spec.Kind != KindWindowAggregate {
		return nil
	}
	var one WindowAggregateSpec
	require.NoError(t, json.Unmarshal(spec.Spec, &one))
	if one.ProcTime || one.Window.Kind == WindowSession {
		return nil
	}
	// Over a changelog only COUNT, SUM and AVG split, as the optimizer's
	// twoPhaseWindowAggregate decides.
	retract := one.InputChangelog
	for _, c := range one.Calls {
		if retract && (c.Distinct || (c.Func != "COUNT" && c.Func != "SUM" && c.Func != "AVG")) {
			return nil
		}
	}
	nk := len(one.Keys)
	local := LocalWindowAggregateSpec{Window: one.Window, TimeCol: one.TimeCol, Keys: one.Keys, Calls: one.Calls, Attached: one.Attached,
		InputChangelog: retract}
	global := GlobalWindowAggregateSpec{RowCounts: retract}
	global.Window, global.Attached = one.Window, one.Attached
	accOut := types.Schema{Columns: append([]types.Column(nil), spec.Schema.Columns[:nk]...)}
	for i := range nk {
		global.Keys = append(global.Keys, i)
	}
	for _, c := range one.Calls {
		var argTypes []types.DataType
		for _, a := range c.Args {
			argTypes = append(argTypes, in.Columns[a].Type)
		}
		fields, ok := agg.Accumulators(c, argTypes, retract)
		if !ok {
			return nil
		}
		gc := agg.Call{Func: c.Func, Filter: -1, Type: c.Type, Name: c.Name}
		for _, f := range fields {
			gc.Args = append(gc.Args, accOut.Len())
			accOut.Columns = append(accOut.Columns, types.Column{Name: f.Name, Type: f.Type})
		}
		local.ArgTypes = append(local.ArgTypes, argTypes)
		global.ArgTypes = append(global.ArgTypes, argTypes)
		global.Calls = append(global.Calls, gc)
	}
	if retract {
		accOut.Columns = append(accOut.Columns, types.Column{Name: "count1", Type: types.BigIntType.WithNullable(false)})
	}
	global.TimeCol = accOut.Len()
	accOut.Columns = append(accOut.Columns, types.Column{Name: "$slice_end", Type: types.TimestampType(3).WithNullable(false)})
	l, err := newLocalWindowAgg(OperatorSpec{Kind: KindLocalWindowAggregate, Schema: accOut, Spec: mustJSON(t, local)}, ctx)
	require.NoError(t, err)
	g, err := newGlobalWindowAgg(OperatorSpec{Kind: KindGlobalWindowAggregate, Schema: spec.Schema, Spec: mustJSON(t, global)}, ctx)
	require.NoError(t, err)
	require.NoError(t, l.Open(ctx))
	require.NoError(t, g.Open(ctx))
	return &twoPhaseWindowOp{local: l, global: g, link: phaseLink{global: g, out: out}}
}

func (o *twoPhaseWindowOp) Open(*OperatorContext) error { return nil }

func (o *twoPhaseWindowOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	o.link.out = out
	return o.local.ProcessBatch(0, b, &o.link)
}

func (o *twoPhaseWindowOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	o.link.out = out
	return o.local.ProcessWatermark(0, wm, &o.link)
}

func (o *twoPhaseWindowOp) EndInput(_ int, out Output) error {
	o.link.out = out
	if err := o.local.EndInput(0, &o.link); err != nil {
		return err
	}
	return o.global.EndInput(0, out)
}

func (o *twoPhaseWindowOp) Snapshot() ([]byte, error) {
	if err := o.local.(PreSnapshotOperator).PrepareSnapshotPreBarrier(&o.link); err != nil {
		return nil, err
	}
	if state, err := o.local.Snapshot(); err != nil || state != nil {
		return nil, fmt.Errorf("the local phase snapshots %d bytes: %v", len(state), err)
	}
	return o.global.Snapshot()
}

func (o *twoPhaseWindowOp) Restore(state []byte) error { return o.global.Restore(state) }

func (o *twoPhaseWindowOp) Close() error {
	return errors.Join(o.local.Close(), o.global.Close())
}
