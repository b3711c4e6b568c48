package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
)

// TestLocalGlobalGroupAgg feeds random rows (inserts, and over a
// changelog also updates and deletes) in batches of random sizes to three
// local group aggregates with small, different mini-batches, passes their
// accumulator rows to a global group aggregate, snapshots and restores
// every operator in the middle, and checks that the global's final rows
// equal a one-phase group aggregate's over the same rows.
func TestLocalGlobalGroupAgg(t *testing.T) {
	for _, changelog := range []bool{false, true} {
		t.Run(fmt.Sprintf("changelog=%v", changelog), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			testLocalGlobalGroupAgg(t, mem, changelog)
		})
	}
}

func testLocalGlobalGroupAgg(t *testing.T, mem memory.Allocator, changelog bool) {
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType},
		{Name: "d", Type: types.DecimalType(10, 2)}, {Name: "f", Type: types.DoubleType},
		{Name: "b", Type: types.BooleanType}, {Name: "s", Type: types.StringType},
	}}
	inTypes := make([]types.DataType, in.Len())
	for i, c := range in.Columns {
		inTypes[i] = c.Type
	}
	call := func(fn string, args []int, filter int) agg.Call {
		argTypes := make([]types.DataType, len(args))
		for i, a := range args {
			argTypes[i] = inTypes[a]
		}
		rt, err := agg.ResultType(fn, argTypes)
		require.NoError(t, err)
		return agg.Call{Func: fn, Args: args, Filter: filter, Type: rt, Name: strings.ToLower(fn)}
	}
	calls := []agg.Call{
		call("COUNT", nil, -1), call("SUM", []int{1}, -1), call("AVG", []int{1}, -1),
		call("COUNT", []int{1}, 4), call("SUM", []int{2}, -1), call("AVG", []int{2}, -1),
		call("VAR_POP", []int{3}, -1), call("STDDEV_SAMP", []int{1}, -1),
	}
	calls = append(calls, call("MIN", []int{1}, -1), call("MAX", []int{3}, -1), call("MAX", []int{2}, 4))
	// DISTINCT calls ship distinct views: over few values (f, s), many
	// (v, d), with and without FILTER.
	distinct := func(fn string, arg, filter int) agg.Call {
		c := call(fn, []int{arg}, filter)
		c.Distinct = true
		return c
	}
	calls = append(calls, distinct("COUNT", 3, -1), distinct("SUM", 3, 4), distinct("COUNT", 5, -1),
		distinct("MAX", 5, 4), distinct("AVG", 1, -1), distinct("COUNT", 2, 4), distinct("MIN", 3, -1))
	// COUNT(DISTINCT ...) over several arguments ships the tuples'
	// encodings: of a DOUBLE and a STRING (few tuples), and of a BIGINT, a
	// DECIMAL and a BOOLEAN with FILTER.
	tuples := func(args []int, filter int) agg.Call {
		c := call("COUNT", nil, filter)
		c.Args, c.Distinct, c.Name = args, true, fmt.Sprintf("count_tuples%d", len(calls))
		return c
	}
	calls = append(calls, tuples([]int{3, 5}, -1), tuples([]int{1, 2, 4}, 4))
	keys := []int{0}
	out := types.Schema{Columns: []types.Column{in.Columns[0]}}
	for _, c := range calls {
		out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
	}

	// The local phase's output: keys, accumulators, row count.
	local := LocalGroupAggregateSpec{Keys: keys, Calls: calls, InputChangelog: changelog}
	global := GlobalGroupAggregateSpec{RowCount: -1}
	global.Keys = []int{0}
	accOut := types.Schema{Columns: []types.Column{in.Columns[0]}}
	for _, c := range calls {
		var argTypes []types.DataType
		for _, a := range c.Args {
			argTypes = append(argTypes, inTypes[a])
		}
		fields, ok := agg.GroupAccumulators(c, argTypes, changelog)
		require.True(t, ok, "%s", c)
		gc := agg.Call{Func: c.Func, Distinct: c.Distinct, Filter: -1, Type: c.Type, Name: c.Name}
		for _, f := range fields {
			gc.Args = append(gc.Args, accOut.Len())
			accOut.Columns = append(accOut.Columns, types.Column{Name: f.Name, Type: f.Type})
		}
		local.ArgTypes = append(local.ArgTypes, argTypes)
		global.ArgTypes = append(global.ArgTypes, argTypes)
		global.Calls = append(global.Calls, gc)
	}
	if changelog {
		global.RowCount = accOut.Len()
		accOut.Columns = append(accOut.Columns, types.Column{Name: "count1", Type: types.BigIntType.WithNullable(false)})
	}

	clock := &gaClock{}
	open := func(kind string, schema types.Schema, cl bool, spec any, miniBatch int) Operator {
		ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: clock}
		if miniBatch > 0 {
			ctx.Config = map[string]string{MiniBatchEnabledKey: "true",
				MiniBatchSizeKey: fmt.Sprint(miniBatch), MiniBatchLatencyKey: "1 s"}
		}
		factory := map[string]func(OperatorSpec, *OperatorContext) (Operator, error){
			KindLocalGroupAggregate: newLocalGroupAgg, KindGlobalGroupAggregate: newGlobalGroupAgg,
			KindGroupAggregate: newGroupAgg}[kind]
		op, err := factory(OperatorSpec{Kind: kind, Schema: schema, Changelog: cl, Spec: mustJSON(t, spec)}, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op
	}
	miniBatches := []int{1, 17, 60}
	locals := make([]Operator, len(miniBatches))
	openLocals := func() {
		for i, mb := range miniBatches {
			locals[i] = open(KindLocalGroupAggregate, accOut, false, local, mb)
		}
	}
	openLocals()
	// The global folds bundles of 40 accumulator rows, or each batch
	// without mini-batch.
	globalMiniBatch := 40
	if changelog {
		globalMiniBatch = 0
	}
	glob := open(KindGlobalGroupAggregate, out, true, global, globalMiniBatch)
	one := open(KindGroupAggregate, out, true, GroupAggregateSpec{Keys: keys, Calls: calls, InputChangelog: changelog}, 0)
	defer func() {
		for _, op := range append(locals, glob, one) {
			require.NoError(t, op.Close())
		}
	}()
	twoRes, oneRes := &finalRows{}, &finalRows{}
	toGlobal := &forward{op: glob, out: twoRes}

	// Live rows per local instance: a retraction goes through the local
	// that saw its row, as it follows its row through one upstream task.
	type row struct {
		k, v int64
		f    float64
		b    bool
	}
	live := make([][]row, len(locals))
	rng := rand.New(rand.NewPCG(7, uint64(len(calls))))
	arrowIn := BatchSchema(in, changelog)
	for round := range 200 {
		li := rng.IntN(len(locals))
		n := rng.IntN(40) + 1
		var rows []row
		var kinds []connector.RowKind
		for range n {
			ls := live[li]
			if changelog && len(ls) > 0 && rng.IntN(3) == 0 {
				j := rng.IntN(len(ls))
				old := ls[j]
				live[li] = append(ls[:j], ls[j+1:]...)
				if rng.IntN(2) == 0 {
					rows, kinds = append(rows, old), append(kinds, connector.Delete)
					continue
				}
				upd := row{old.k, rng.Int64N(1000) - 300, float64(rng.IntN(50)), rng.IntN(2) == 0}
				live[li] = append(live[li], upd)
				rows, kinds = append(rows, old, upd), append(kinds, connector.UpdateBefore, connector.UpdateAfter)
				continue
			}
			// Skewed keys: half the rows go to key 0.
			k := int64(0)
			if rng.IntN(2) == 0 {
				k = rng.Int64N(50)
			}
			r := row{k, rng.Int64N(1000) - 300, float64(rng.IntN(50)), rng.IntN(2) == 0}
			live[li] = append(live[li], r)
			rows, kinds = append(rows, r), append(kinds, connector.Insert)
		}
		bld := array.NewRecordBuilder(mem, arrowIn)
		for j, r := range rows {
			bld.Field(0).(*array.Int64Builder).Append(r.k)
			bld.Field(1).(*array.Int64Builder).Append(r.v)
			bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(r.v * 7))
			bld.Field(3).(*array.Float64Builder).Append(r.f)
			bld.Field(4).(*array.BooleanBuilder).Append(r.b)
			bld.Field(5).(*array.StringBuilder).Append(fmt.Sprint(r.v % 13))
			if changelog {
				bld.Field(6).(*array.Int8Builder).Append(int8(kinds[j]))
			}
		}
		b := bld.NewRecordBatch()
		bld.Release()
		require.NoError(t, locals[li].ProcessBatch(0, b, toGlobal))
		require.NoError(t, one.ProcessBatch(0, b, oneRes))
		b.Release()
		require.NoError(t, toGlobal.err)

		if round == 100 {
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
			require.NoError(t, glob.(PreSnapshotOperator).PrepareSnapshotPreBarrier(twoRes))
			state, err := glob.Snapshot()
			require.NoError(t, err)
			require.NoError(t, glob.Close())
			glob = open(KindGlobalGroupAggregate, out, true, global, globalMiniBatch)
			require.NoError(t, glob.Restore(state))
			toGlobal.op = glob
		}
	}
	for _, l := range locals {
		require.NoError(t, l.ProcessWatermark(0, MaxWatermark, toGlobal))
		require.NoError(t, l.EndInput(0, toGlobal))
	}
	require.NoError(t, glob.ProcessWatermark(0, MaxWatermark, twoRes))
	require.NoError(t, glob.EndInput(0, twoRes))
	require.NoError(t, one.EndInput(0, oneRes))
	require.NoError(t, twoRes.err)
	require.NoError(t, oneRes.err)
	require.NotEmpty(t, oneRes.rows)
	require.Equal(t, oneRes.rows, twoRes.rows)
}

// forward passes a local aggregate's output to the global aggregate.
type forward struct {
	op  Operator
	out Output
	err error
}

func (f *forward) Emit(b arrow.RecordBatch) error {
	if err := f.op.ProcessBatch(0, b, f.out); err != nil {
		f.err = err
		return err
	}
	return nil
}

func (f *forward) EmitWatermark(wm Watermark) error { return nil }

// finalRows materializes a changelog keyed by its first column, every
// row printed, checking that a retraction matches the current row.
type finalRows struct {
	rows map[string]string
	err  error
}

func (o *finalRows) Emit(b arrow.RecordBatch) error {
	if o.rows == nil {
		o.rows = map[string]string{}
	}
	nc := int(b.NumCols()) - 1
	kinds := b.Column(nc).(*array.Int8).Int8Values()
	for i := range int(b.NumRows()) {
		vals := make([]string, nc)
		for c := range nc {
			vals[c] = b.Column(c).ValueStr(i)
		}
		key, row := vals[0], strings.Join(vals, ", ")
		switch connector.RowKind(kinds[i]) {
		case connector.Insert, connector.UpdateAfter:
			o.rows[key] = row
		default:
			if o.rows[key] != row && o.err == nil {
				o.err = fmt.Errorf("retraction [%s], current [%s]", row, o.rows[key])
			}
			delete(o.rows, key)
		}
	}
	return nil
}

func (o *finalRows) EmitWatermark(Watermark) error { return nil }

// twoPhaseAggGraph is aggGraph's COUNT(*), SUM(id) GROUP BY k in local and
// global phases: the local aggregate chained to the source, the global
// after the hash exchange.
func twoPhaseAggGraph(t *testing.T, rows, mod, pause, par int) *JobGraph {
	g := aggGraph(t, rows, mod, pause, par)
	one := g.Vertices[1].Operators[0]
	var gs GroupAggregateSpec
	require.NoError(t, json.Unmarshal(one.Spec, &gs))
	argTypes := [][]types.DataType{nil, {seqSchema.Columns[0].Type}}
	long := types.BigIntType.WithNullable(false)
	accOut := types.Schema{Columns: []types.Column{seqSchema.Columns[1],
		{Name: "count$0", Type: long}, {Name: "sum$1", Type: long}, {Name: "count$2", Type: long}}}
	local := OperatorSpec{Kind: KindLocalGroupAggregate, Name: "LocalGroupAggregate", Schema: accOut,
		Spec: mustJSON(t, LocalGroupAggregateSpec{Keys: gs.Keys, Calls: gs.Calls, ArgTypes: argTypes})}
	global := GlobalGroupAggregateSpec{ArgTypes: argTypes, RowCount: -1}
	global.Keys = []int{0}
	global.Calls = []agg.Call{gs.Calls[0], gs.Calls[1]}
	global.Calls[0].Args, global.Calls[1].Args = []int{1}, []int{2, 3}
	g.Vertices[0].Operators = append(g.Vertices[0].Operators, local)
	g.Vertices[1].Operators[0] = OperatorSpec{Kind: KindGlobalGroupAggregate, Name: "GlobalGroupAggregate",
		Schema: one.Schema, Changelog: true, Spec: mustJSON(t, global)}
	g.Edges[0].Keys = []int{0}
	return g
}

// TestLocalGlobalGroupAggSavepoint stops a two-phase aggregate whose local
// bundles never fill (huge size and latency) with a savepoint: the local
// phases flush before the barrier and snapshot nothing, the global phase
// snapshots its keyed state, and the job restored from the savepoint ends
// with the results of an uninterrupted computation.
func TestLocalGlobalGroupAggSavepoint(t *testing.T) {
	const rows, mod = 2000, 7
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("parallelism=%d", par), func(t *testing.T) {
			before := runtime.NumGoroutine()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			graph := func() *JobGraph {
				g := twoPhaseAggGraph(t, rows, mod, 300, par)
				g.Config[MiniBatchEnabledKey] = "true"
				g.Config[MiniBatchSizeKey] = "1000000"
				g.Config[MiniBatchLatencyKey] = "1 h"
				return g
			}
			final := map[int64]aggResult{}
			c1 := NewEmbeddedCluster(1, 4, mem)
			j1, err := c1.Submit(ctx, graph())
			require.NoError(t, err)
			collected := make(chan struct{})
			go func() { defer close(collected); collectAgg(t, j1, final) }()
			time.Sleep(50 * time.Millisecond)
			sp, err := j1.StopWithSavepoint(ctx)
			require.NoError(t, err)
			<-collected
			require.NoError(t, j1.Wait(ctx))
			for _, st := range sp.Subtasks {
				if st.Vertex == 1 {
					require.Nil(t, st.Operators[2].State, "the local phase keeps no state")
				}
			}

			c2 := NewEmbeddedCluster(1, 4, mem)
			j2, err := c2.JobManager().SubmitWithOptions(ctx, graph(), SubmitOptions{Restore: sp})
			require.NoError(t, err)
			collectAgg(t, j2, final)
			require.NoError(t, j2.Wait(ctx))

			want := map[int64]aggResult{}
			for id := range int64(rows) {
				r := want[id%mod]
				want[id%mod] = aggResult{r.c + 1, r.s + id}
			}
			require.Equal(t, want, final)
			checkGoroutines(t, before)
		})
	}
}
