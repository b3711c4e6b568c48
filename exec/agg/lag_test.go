package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestLagNested runs LAG(v, 1, d) over ARRAY<BIGINT> values (the lagAnyK
// kernel) in two groups, then checks that a snapshot of the windows
// restores into a fresh state that continues identically.
func TestLagNested(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	listT := types.ArrayType(types.BigIntType)
	call := Call{Func: "LAG", Args: []int{0, 1, 2}, Filter: -1, Type: listT.WithNullable(true)}
	in := []arrow.DataType{listT.Arrow(), arrow.PrimitiveTypes.Int32, listT.Arrow()}

	batch := func(vals [][]int64, def []int64) arrow.RecordBatch {
		fields := []arrow.Field{{Name: "v", Type: in[0], Nullable: true}, {Name: "o", Type: in[1]}, {Name: "d", Type: in[2], Nullable: true}}
		b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
		defer b.Release()
		for _, v := range vals {
			lb := b.Field(0).(*array.ListBuilder)
			if v == nil {
				lb.AppendNull()
			} else {
				lb.Append(true)
				lb.ValueBuilder().(*array.Int64Builder).AppendValues(v, nil)
			}
			b.Field(1).(*array.Int32Builder).Append(1)
			db := b.Field(2).(*array.ListBuilder)
			db.Append(true)
			db.ValueBuilder().(*array.Int64Builder).AppendValues(def, nil)
		}
		return b.NewRecordBatch()
	}
	run := func(st *State, b arrow.RecordBatch, slots []int32) string {
		st.Update(b, slots, make([]bool, len(slots)))
		rows := make([]int32, len(slots))
		for i := range rows {
			rows[i] = int32(i)
		}
		col := st.Build(mem, rows, make([]bool, len(rows)))
		defer col.Release()
		return col.String()
	}

	st, err := NewState(call, in, false)
	require.NoError(t, err)
	st.Grow(2)
	b1 := batch([][]int64{{1}, {2, 3}, nil, {4}}, []int64{0})
	defer b1.Release()
	require.Equal(t, `[[0] [0] [1] [2 3]]`, run(st, b1, []int32{0, 1, 0, 1}))

	state := [][]byte{st.AppendState(nil, 0), st.AppendState(nil, 1)}
	restored, err := NewState(call, in, false)
	require.NoError(t, err)
	restored.Grow(2)
	for s, buf := range state {
		rest, err := restored.ReadState(buf, int32(s))
		require.NoError(t, err)
		require.Empty(t, rest)
	}
	b2 := batch([][]int64{{5}, {6}}, []int64{0})
	defer b2.Release()
	want := run(st, b2, []int32{0, 1})
	require.Equal(t, `[(null) [4]]`, want)
	require.Equal(t, want, run(restored, b2, []int32{0, 1}))
}
