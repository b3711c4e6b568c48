package agg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestFilterMask checks filterMask against a row-by-row reading of the
// FILTER column, over slices that start at every bit offset of a byte
// and end anywhere, with and without NULLs.
func TestFilterMask(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, withNulls := range []bool{false, true} {
		b := array.NewBooleanBuilder(mem)
		for range 100 {
			if withNulls && rng.IntN(4) == 0 {
				b.AppendNull()
			} else {
				b.Append(rng.IntN(2) == 0)
			}
		}
		col := b.NewBooleanArray()
		b.Release()
		for off := range 9 {
			for _, n := range []int{0, 1, 7, 8, 9, 30, 100 - off} {
				t.Run(fmt.Sprintf("nulls=%v/off=%d/n=%d", withNulls, off, n), func(t *testing.T) {
					s := array.NewSlice(col, int64(off), int64(off+n)).(*array.Boolean)
					defer s.Release()
					act, want := make([]bool, n), make([]bool, n)
					for i := range n {
						act[i] = rng.IntN(4) > 0
						want[i] = act[i] && s.IsValid(i) && s.Value(i)
					}
					filterMask(s, act)
					require.Equal(t, want, act)
				})
			}
		}
		col.Release()
	}
}
