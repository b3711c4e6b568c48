package exec

import (
	"math/rand/v2"
	"testing"
)

// TestHashTableRandom sets, replaces and removes hashes at random, many of
// them sharing their low bits so that probe runs grow long and wrap
// around, and checks every lookup against a map.
func TestHashTableRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var tab hashTable
	want := map[uint64]int32{}
	hashOf := func() uint64 {
		h := uint64(rng.IntN(3000)) * 0x9e3779b97f4a7c15
		if h%2 == 0 {
			h &^= 0xff // shares its home bucket with others
		}
		return h
	}
	for step := range 100000 {
		h := hashOf()
		switch rng.IntN(3) {
		case 0:
			tab.remove(h)
			delete(want, h)
		default:
			tab.set(h, int32(step))
			want[h] = int32(step)
		}
		if step%97 == 0 {
			probe := []uint64{hashOf(), hashOf()}
			tab.touch(probe)
			for _, h := range probe {
				w, ok := want[h]
				if !ok {
					w = -1
				}
				if got := tab.find(h); got != w {
					t.Fatalf("step %d: hash %x finds %d, want %d", step, h, got, w)
				}
			}
		}
	}
	if tab.n != len(want) {
		t.Fatalf("table holds %d hashes, want %d", tab.n, len(want))
	}
	for h, w := range want {
		if got := tab.find(h); got != w {
			t.Fatalf("hash %x finds %d, want %d", h, got, w)
		}
	}
}
