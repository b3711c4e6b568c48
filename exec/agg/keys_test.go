package agg

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestKeysMatchStrings checks Match over STRING and BIGINT key columns
// (STRING keys compare straight from the column, matchStrings) against
// stored keys with NULLs, from columns sliced at an offset.
func TestKeysMatchStrings(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	k, err := NewKeys([]arrow.DataType{arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64})
	require.NoError(t, err)
	k.Grow(3)

	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"skipped", "a", "b", ""}, nil)
	sb.AppendNull()
	full := sb.NewArray()
	sb.Release()
	defer full.Release()
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{0, 1, 2, 3, 4}, nil)
	ints := ib.NewArray()
	ib.Release()
	defer ints.Release()
	// Rows 0..3: ("a", 1), ("b", 2), ("", 3), (NULL, 4).
	strs := array.NewSlice(full, 1, 5)
	defer strs.Release()
	nums := array.NewSlice(ints, 1, 5)
	defer nums.Release()
	cols := []arrow.Array{strs, nums}

	// Slots 0..2 hold the keys of rows 0, 2 and 3.
	k.Set(cols, []int32{0, 2, 3}, []int32{0, 1, 2})
	rows := []int32{0, 1, 2, 3, 3, 2, 0}
	cand := []int32{0, 0, 1, 2, 1, 2, 2}
	eq := make([]bool, len(rows))
	k.Match(cols, rows, cand, eq)
	require.Equal(t, []bool{true, false, true, true, false, false, false}, eq)
}
