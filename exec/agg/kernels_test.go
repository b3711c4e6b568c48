package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestAvgRunsOfOneSlot feeds AVG rows whose slots come in runs (as an
// OVER window's replayed frames do), with retractions and a NULL, and
// checks every row's result before and after it: the kernel reuses the
// previous row's result within a run.
func TestAvgRunsOfOneSlot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	call := Call{Func: "AVG", Args: []int{0}, Filter: -1, Type: types.BigIntType.WithNullable(true)}
	st, err := NewState(call, []arrow.DataType{arrow.PrimitiveTypes.Int64}, true)
	require.NoError(t, err)
	st.Grow(3)

	vals := []int64{10, 20, 0, 7, 5, 30, 10, 6, 9}
	valid := []bool{true, true, false, true, true, true, true, true, true}
	slots := []int32{0, 0, 0, 1, 1, 0, 0, 2, -1}
	retract := []bool{false, false, false, false, false, false, true, false, false}
	ib := array.NewInt64Builder(mem)
	ib.AppendValues(vals, valid)
	col := ib.NewArray()
	ib.Release()
	b := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil),
		[]arrow.Array{col}, int64(len(vals)))
	col.Release()
	defer b.Release()
	require.NoError(t, UpdateAll([]*State{st}, b, slots, retract))

	// Slot 0: 10 -> avg 10, 20 -> 15, NULL -> 15, 30 -> 20, -10 -> 25.
	// Slot 1: 7 -> 7, 5 -> 6. Slot 2: 6 -> 6. Row 8 has no slot.
	rows := []int32{0, 1, 2, 3, 4, 5, 6, 7}
	str := func(before bool) []string {
		flags := make([]bool, len(rows))
		for i := range flags {
			flags[i] = before
		}
		a := st.Build(mem, rows, flags)
		defer a.Release()
		out := make([]string, a.Len())
		for i := range out {
			out[i] = a.ValueStr(i)
		}
		return out
	}
	require.Equal(t, []string{"(null)", "10", "15", "(null)", "7", "15", "20", "(null)"}, str(true))
	require.Equal(t, []string{"10", "15", "15", "7", "6", "20", "25", "6"}, str(false))
}
