package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestHashRows checks that equal keys hash equally whatever the layout of
// the batch (slices, other rows), that NULL has one hash, and that the hash
// is stable: it is part of the wire contract between TaskManagers.
func TestHashRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "longer than eight", "a", ""}, []bool{true, true, true, false})
	b.Field(1).(*array.Int32Builder).AppendValues([]int32{1, 2, 1, 0}, []bool{true, true, true, false})
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{0, 1.5, negZero(), 0}, []bool{true, true, true, false})
	rec := b.NewRecordBatch()
	defer rec.Release()

	h := make([]uint64, 4)
	require.NoError(t, hashRows(rec, []int{0, 1, 2}, h))
	require.Equal(t, h[0], h[2], "equal keys, -0 = 0")
	require.NotEqual(t, h[0], h[1])

	sl := rec.NewSlice(2, 4)
	defer sl.Release()
	hs := make([]uint64, 2)
	require.NoError(t, hashRows(sl, []int{0, 1, 2}, hs))
	require.Equal(t, h[2:], hs, "slices hash by value")

	// Golden values: changing them reroutes keys between TaskManagers of
	// different versions.
	require.Equal(t, uint64(0xb0539199d09de41a), h[3], "all-NULL row")
}

func negZero() float64 {
	z := 0.0
	return -z
}

func TestTargetOf(t *testing.T) {
	counts := make([]int, 4)
	h := make([]uint64, 1)
	for i := 0; i < 4000; i++ {
		h[0] = combine(hashSeed, uint64(i))
		counts[targetOf(h[0], 4)]++
	}
	for _, c := range counts {
		require.InDelta(t, 1000, c, 150)
	}
}
