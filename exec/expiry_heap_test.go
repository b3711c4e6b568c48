package exec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestExpiryHeap pushes rows mostly in time order, some late, and pops
// the due ones in between, as the time-based joins do: the rows must come
// out in (at, seq) order, whether they went to the sorted run or the heap.
func TestExpiryHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h expiryHeap
	var queued []expiryItem // what the queue holds
	var seq, now int64
	for step := range 20000 {
		for range rng.IntN(4) {
			seq++
			at := now + rng.Int64N(50)
			if rng.IntN(10) == 0 {
				at -= rng.Int64N(100) // out of order
			}
			it := expiryItem{at: at, seq: seq, slot: int32(step)}
			h.push(it)
			queued = append(queued, it)
		}
		now += rng.Int64N(3)
		slices.SortFunc(queued, func(a, b expiryItem) int {
			if itemLess(&a, &b) {
				return -1
			}
			return 1
		})
		for len(queued) > 0 && queued[0].at <= now {
			if !h.due(now) {
				t.Fatalf("step %d: %v is due at %d, the queue says none is", step, queued[0], now)
			}
			if got := h.pop(); got != queued[0] {
				t.Fatalf("step %d: popped %v, want %v", step, got, queued[0])
			}
			queued = queued[1:]
		}
		if h.due(now) {
			t.Fatalf("step %d: the queue has a row due at %d, none is", step, now)
		}
		if h.len() != len(queued) {
			t.Fatalf("step %d: the queue holds %d rows, want %d", step, h.len(), len(queued))
		}
	}
}
