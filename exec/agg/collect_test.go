package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestCollect accumulates and retracts values of two groups through
// COLLECT, which skips NULLs and gives an empty multiset rather than NULL,
// snapshots the groups in the middle, and checks that the restored state
// continues exactly as the original.
func TestCollect(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := []arrow.DataType{arrow.BinaryTypes.String}
	// batch builds a column of values; "-" is NULL.
	batch := func(vals ...string) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "v", Type: in[0], Nullable: true}}, nil))
		defer b.Release()
		for _, v := range vals {
			if v == "-" {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.StringBuilder).Append(v)
			}
		}
		return b.NewRecordBatch()
	}
	run := func(st *State, b arrow.RecordBatch, slots []int32, retract []bool) string {
		st.Update(b, slots, retract)
		rows := make([]int32, len(slots))
		for i := range rows {
			rows[i] = int32(i)
		}
		col := st.Build(mem, rows, make([]bool, len(rows)))
		defer col.Release()
		return col.String()
	}
	rt, err := ResultType("COLLECT", []types.DataType{types.StringType})
	require.NoError(t, err)
	require.Equal(t, "MULTISET<STRING> NOT NULL", rt.String())
	call := Call{Func: "COLLECT", Args: []int{0}, Filter: -1, Type: rt}
	st, err := NewState(call, in, true)
	require.NoError(t, err)
	st.Grow(2)

	b1 := batch("a", "-", "b", "a")
	defer b1.Release()
	require.Equal(t, `[["a"] [] ["a" "b"] ["a"]]`, run(st, b1, []int32{0, 1, 0, 1}, make([]bool, 4)))

	restored, err := NewState(call, in, true)
	require.NoError(t, err)
	restored.Grow(2)
	for s := int32(0); s < 2; s++ {
		rest, err := restored.ReadState(st.AppendState(nil, s), s)
		require.NoError(t, err)
		require.Empty(t, rest)
	}
	// Group 0 loses its "a"; in group 1 a NULL retraction changes
	// nothing, losing its only value leaves an empty multiset (not NULL),
	// and a "c" arrives.
	b2 := batch("a", "-", "a", "c")
	defer b2.Release()
	retract := []bool{true, true, true, false}
	slots := []int32{0, 1, 1, 1}
	want := `[["b"] ["a"] [] ["c"]]`
	require.Equal(t, want, run(st, b2, slots, retract))
	require.Equal(t, want, run(restored, b2, slots, retract))

	_, err = ResultType("COLLECT", []types.DataType{types.ArrayType(types.IntType)})
	require.Error(t, err)
}
