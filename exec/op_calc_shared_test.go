package exec

import (
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// TestCalcSharedCalls checks a calc whose condition and projections share
// calls: id * 2 is computed once before filtering, k + 1 once after, the
// columns nothing reads after the filter are not filtered, and the rows,
// their kinds and the buffers (checked allocator) are as without sharing.
func TestCalcSharedCalls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	call := func(fn string, args ...expr.Expr) expr.Expr {
		e, err := expr.Resolve(fn, args)
		require.NoError(t, err)
		return e
	}
	lit := func(v int64) expr.Expr { return &expr.Literal{Value: v, T: types.BigIntType.WithNullable(false)} }
	double := call("*", col(0), lit(2))
	next := call("+", col(1), lit(1))
	projs := []expr.Expr{double, call("+", double, col(1)), next, call("*", next, next)}
	out := types.Schema{}
	raws := make([]json.RawMessage, len(projs))
	for i, p := range projs {
		raws[i] = marshal(t, p)
		out.Columns = append(out.Columns, types.Column{Name: string(rune('a' + i)), Type: p.Type()})
	}
	spec := OperatorSpec{Kind: KindCalc, Schema: out, Changelog: true, Spec: mustJSON(t, CalcSpec{
		Projections: raws,
		Condition:   marshal(t, call(">", double, lit(4))),
	})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newCalc(spec, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))
	defer op.Close()
	c := op.(*calc)
	require.Len(t, c.shared, 2)
	require.Equal(t, 1, c.preFilter)
	// Filtered: [id * 2, id, k, ts, kind]; after the filter only id * 2
	// and k are read (and the kind is kept), so id and ts are not filtered.
	require.Equal(t, []bool{true, false, true}, c.read)

	b := array.NewRecordBuilder(mem, BatchSchema(seqSchema, true))
	defer b.Release()
	var o gaOutput
	for _, ids := range [][]int64{{0, 1, 2, 3, 4, 5}, {0, 1}, {6}} {
		for _, i := range ids {
			b.Field(0).(*array.Int64Builder).Append(i)
			b.Field(1).(*array.Int64Builder).Append(10 * i)
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
			b.Field(3).(*array.Int8Builder).Append(int8(i % 4))
		}
		rec := b.NewRecordBatch()
		require.NoError(t, op.ProcessBatch(0, rec, &o))
		rec.Release()
	}
	require.Equal(t, "-D[6, 36, 31, 961]\n+I[8, 48, 41, 1681]\n-U[10, 60, 51, 2601]\n+U[12, 72, 61, 3721]\n", o.log.String())
}
