package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestReplicateRows checks the array lengths $REPLICATE_ROWS builds: n
// elements for a positive n, none for zero, negative or NULL counts.
func TestReplicateRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	e, err := Resolve(ReplicateRows, []Expr{&ColumnRef{Index: 0, Name: "n", T: types.BigIntType}})
	require.NoError(t, err)
	ev, err := Compile(e, mem)
	require.NoError(t, err)

	bld := array.NewInt64Builder(mem)
	bld.AppendValues([]int64{2, 0, -3, 0, 1}, []bool{true, true, true, false, true})
	col := bld.NewArray()
	bld.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	b := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
	col.Release()
	defer b.Release()

	out, err := ev.Eval(b)
	require.NoError(t, err)
	defer out.Release()
	list := out.(*array.List)
	var lens []int
	for i := 0; i < list.Len(); i++ {
		require.True(t, list.IsValid(i))
		lo, hi := list.ValueOffsets(i)
		lens = append(lens, int(hi-lo))
	}
	require.Equal(t, []int{2, 0, 0, 0, 1}, lens)

	_, err = Resolve(ReplicateRows, []Expr{&ColumnRef{Index: 0, Name: "n", T: types.IntType}})
	require.Error(t, err)
}
