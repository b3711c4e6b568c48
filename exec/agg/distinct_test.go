package agg

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestDistinctShared drives one distinct state shared by three consumers
// over a few values per group (so the count tables collide, grow and
// remove entries) with random filters, inserts and retractions, against
// a direct count per consumer. Midway it resets a consumer of a group,
// and it moves the state through appendState/readState into a fresh
// distinct, which must continue identically.
func TestDistinctShared(t *testing.T) {
	for _, tc := range []struct {
		dt  arrow.DataType
		val func(int64) any
	}{
		{arrow.PrimitiveTypes.Int64, func(v int64) any { return v }},
		{arrow.BinaryTypes.String, func(v int64) any { return fmt.Sprintf("v%d", v) }},
		{arrow.PrimitiveTypes.Float64, func(v int64) any { return float64(v) / 4 }},
	} {
		t.Run(tc.dt.String(), func(t *testing.T) { testDistinctShared(t, tc.dt, tc.val) })
	}
}

func testDistinctShared(t *testing.T, dt arrow.DataType, val func(int64) any) {
	const k, groups = 3, 4
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d, err := newDistinct(dt, k)
	require.NoError(t, err)
	d.grow(groups)
	// want[c][s][v]: how often consumer c holds value v in group s.
	want := make([][]map[any]int64, k)
	for c := range want {
		want[c] = make([]map[any]int64, groups)
		for s := range want[c] {
			want[c][s] = map[any]int64{}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 300 {
		n := rng.IntN(40) + 1
		b := array.NewBuilder(mem, dt)
		slots, retract := make([]int32, n), make([]bool, n)
		acts := make([][]bool, k)
		for c := range acts {
			acts[c] = make([]bool, n)
		}
		vals := make([]any, n)
		for i := range n {
			slots[i] = int32(rng.IntN(groups))
			vals[i] = val(rng.Int64N(24))
			retract[i] = rng.IntN(3) == 0
			for c := range acts {
				acts[c][i] = rng.IntN(2) == 0
			}
			switch v := vals[i].(type) {
			case int64:
				b.(*array.Int64Builder).Append(v)
			case string:
				b.(*array.StringBuilder).Append(v)
			case float64:
				b.(*array.Float64Builder).Append(v)
			}
		}
		col := b.NewArray()
		b.Release()
		cols := []arrow.Array{col, col, col}
		expect := make([][]bool, k)
		for c := range k {
			expect[c] = make([]bool, n)
			for i := range n {
				if !acts[c][i] {
					continue
				}
				m := want[c][slots[i]]
				cnt := m[vals[i]]
				switch {
				case retract[i] && cnt > 0:
					m[vals[i]] = cnt - 1
					if cnt == 1 {
						delete(m, vals[i])
					}
					expect[c][i] = cnt == 1
				case !retract[i]:
					m[vals[i]] = cnt + 1
					expect[c][i] = cnt == 0
				}
			}
		}
		d.mask(cols, slots, retract, acts)
		col.Release()
		require.Equal(t, expect, acts, "round %d", round)

		if round == 150 {
			d.reset(1, 2)
			want[1][2] = map[any]int64{}
		}
		if round%50 == 25 {
			fresh, err := newDistinct(dt, k)
			require.NoError(t, err)
			fresh.grow(groups)
			for s := range int32(groups) {
				for c := range k {
					st := d.appendState(nil, c, s)
					rest, err := fresh.readState(st, c, s)
					require.NoError(t, err)
					require.Empty(t, rest)
				}
			}
			d = fresh
		}
	}
}
