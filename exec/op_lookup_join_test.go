package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// TestLookupJoinSavepoint runs a lookup join through a stop-with-savepoint
// while its table input has not ended (a paused source): the barrier
// joins the waiting probe rows with the rows loaded so far, the savepoint
// keeps the table, and after the restore the source's new version of a
// row replaces the loaded one by primary key.
func TestLookupJoinSavepoint(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	str := types.StringType
	out := types.Schema{Columns: append(append([]types.Column(nil), snapProbe.Columns...),
		types.Column{Name: "bk", Type: str}, types.Column{Name: "bv", Type: types.BigIntType})}
	cond, err := expr.Resolve("=", []expr.Expr{&expr.ColumnRef{Index: 0, T: str}, &expr.ColumnRef{Index: 2, T: str}})
	require.NoError(t, err)
	spec := OperatorSpec{Kind: KindLookupJoin, Schema: out, Spec: mustJSON(t, LookupJoinSpec{
		Type: "inner", ProbeKeys: []int{0}, LookupKeys: []int{0}, Condition: marshal(t, cond),
		ProbeWidth: 2, PrimaryKey: []int{0},
	})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	var o rowsOutput
	feed := func(op Operator, input int, s types.Schema, keys []string, vals []int64) {
		b := snapBatch(mem, s, keys, vals, nil)
		defer b.Release()
		require.NoError(t, op.ProcessBatch(input, b, &o))
	}
	op := openOperator(t, spec, ctx)
	feed(op, 0, snapProbe, []string{"a", "b"}, []int64{1, 2})
	require.NoError(t, op.ProcessWatermark(0, 5, &o))
	feed(op, 1, snapBuild, []string{"a", "b"}, []int64{10, 20})
	require.Empty(t, o.log.String(), "probe rows wait for the table")
	// The state size: 2 waiting probe rows and 2 loaded table rows, each
	// STRING, BIGINT (16+8 bytes).
	const row = 24
	require.Equal(t, int64(2*row+2*row), op.(StateSizer).StateBytes())
	require.NoError(t, op.(PreSnapshotOperator).PrepareSnapshotPreBarrier(&o))
	// Answered, the probe rows are gone; the table is indexed (2 keys
	// with their row lists).
	require.Equal(t, int64(2*row+2*(8+24)+2*4), op.(StateSizer).StateBytes())
	feed(op, 0, snapProbe, []string{"a"}, []int64{3})

	op = reopen(t, op, spec, ctx)
	defer op.Close()
	// Restored, the waiting row and the table rows, not yet indexed.
	require.Equal(t, int64(row+2*row), op.(StateSizer).StateBytes())
	feed(op, 1, snapBuild, []string{"a"}, []int64{11})
	require.NoError(t, op.EndInput(1, &o))
	feed(op, 0, snapProbe, []string{"b"}, []int64{4})
	require.NoError(t, op.EndInput(0, &o))
	require.Equal(t, ""+
		"[a, 1, a, 10]\n"+
		"[b, 2, b, 20]\n"+
		"watermark 5\n"+
		"[a, 3, a, 11]\n"+
		"[b, 4, b, 20]\n", o.log.String())
}

// TestLookupJoinMaterialized changes a looked-up row across a restore: a
// materializing join retracts the version its probe row joined, not the
// table's current one.
func TestLookupJoinMaterialized(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	str := types.StringType
	out := types.Schema{Columns: append(append([]types.Column(nil), snapProbe.Columns...),
		types.Column{Name: "bk", Type: str}, types.Column{Name: "bv", Type: types.BigIntType})}
	cond, err := expr.Resolve("=", []expr.Expr{&expr.ColumnRef{Index: 0, T: str}, &expr.ColumnRef{Index: 2, T: str}})
	require.NoError(t, err)
	spec := OperatorSpec{Kind: KindLookupJoin, Schema: out, Changelog: true, Spec: mustJSON(t, LookupJoinSpec{
		Type: "left", ProbeKeys: []int{0}, LookupKeys: []int{0}, Condition: marshal(t, cond),
		ProbeWidth: 2, PrimaryKey: []int{0}, Materialize: true, ProbeUpsertKey: []int{1},
	})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	var o rowsOutput
	feed := func(op Operator, input int, s types.Schema, keys []string, vals []int64, kinds []int8) {
		b := snapBatch(mem, s, keys, vals, kinds)
		defer b.Release()
		require.NoError(t, op.ProcessBatch(input, b, &o))
	}
	op := openOperator(t, spec, ctx)
	feed(op, 1, snapBuild, []string{"a"}, []int64{10}, nil)
	feed(op, 0, snapProbe, []string{"a", "z"}, []int64{1, 2}, []int8{0, 0})
	require.NoError(t, op.(PreSnapshotOperator).PrepareSnapshotPreBarrier(&o))
	// The materialized state: the row a joined (pv, bk, bv: 8+16+8
	// bytes) and its key's entry (44); z joined nothing and is not kept.
	const matRow = 32 + 44
	require.Equal(t, int64(matRow), op.(*lookupJoin).mat.bytes())

	op = reopen(t, op, spec, ctx)
	defer op.Close()
	require.Equal(t, int64(matRow), op.(*lookupJoin).mat.bytes())
	feed(op, 1, snapBuild, []string{"a"}, []int64{11}, nil)
	require.NoError(t, op.EndInput(1, &o))
	feed(op, 0, snapProbe, []string{"a", "z", "a"}, []int64{1, 2, 3}, []int8{3, 3, 0})
	require.NoError(t, op.EndInput(0, &o))
	require.Equal(t, ""+
		"[a, 1, a, 10, 0]\n"+
		"[z, 2, null, null, 0]\n"+
		"[a, 1, a, 10, 3]\n"+
		"[z, 2, null, null, 3]\n"+
		"[a, 3, a, 11, 0]\n", o.log.String())
	require.Equal(t, int64(matRow), op.(*lookupJoin).mat.bytes())
	// Retracting the last joined row frees the materialized state.
	feed(op, 0, snapProbe, []string{"a"}, []int64{3}, []int8{3})
	require.Zero(t, op.(*lookupJoin).mat.bytes())
}
