package agg

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
		t.Run(tc.dt.String(), func(t *testing.T) {
			testDistinctShared(t, tc.dt, tc.val, 24, 3, func() distinct {
				d, err := newDistinct(tc.dt, 3)
				require.NoError(t, err)
				return d
			})
		})
	}
}

// TestDistinctWidening runs TestDistinctShared's test over int8 counts
// (the production ones are int32), three values and few retractions, so
// that counts outgrow int8 and the state widens to int64 in the middle of
// a batch, and restores (readState) reach counts that only the widened
// state holds.
func TestDistinctWidening(t *testing.T) {
	var made []*widening[int64, intOps[int64], int8, [4]int8, [4]int64]
	testDistinctShared(t, arrow.PrimitiveTypes.Int64, func(v int64) any { return v }, 3, 10, func() distinct {
		w := newWidening[int64, intOps[int64], int8, [4]int8, [4]int64](3)
		made = append(made, w)
		return w
	})
	// The first state to widen did so in mask: it was restored, if at
	// all, from a narrow state, whose counts fit int8.
	j := slices.IndexFunc(made, func(w *widening[int64, intOps[int64], int8, [4]int8, [4]int64]) bool { return w.wide != nil })
	require.GreaterOrEqual(t, j, 0, "no state widened")

	// A restored count beyond int8 widens the state in readState, which
	// keeps the values read before it.
	var o intOps[int64]
	st := putInt(nil, 2)
	st = putInt(o.put(st, 7), 5)
	st = putInt(o.put(st, 9), 300)
	w := newWidening[int64, intOps[int64], int8, [4]int8, [4]int64](3)
	w.grow(1)
	rest, err := w.readState(st, 1, 0)
	require.NoError(t, err)
	require.Empty(t, rest)
	require.NotNil(t, w.wide)
	tb := &w.wide.groups[0]
	for x, want := range map[int64]int64{7: 5, 9: 300} {
		p, ok := tb.find(x, o.hash(x))
		require.True(t, ok)
		require.Equal(t, [4]int64{1: want}, tb.e[p].cnt)
	}
	require.Equal(t, 2, w.wide.live[1])

	// A global aggregate's merged count changes widen alike.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt64Builder(mem)
	b.Append(5)
	col := b.NewArray()
	b.Release()
	defer col.Release()
	w = newWidening[int64, intOps[int64], int8, [4]int8, [4]int64](3)
	w.grow(1)
	act, retract := []bool{false}, []bool{false}
	w.merge(0, col, []int32{0}, []int64{100}, act, retract)
	require.Equal(t, []bool{true}, act, "the value enters the set")
	require.Nil(t, w.wide)
	w.merge(0, col, []int32{0}, []int64{100}, act, retract)
	require.Equal(t, []bool{false}, act)
	require.NotNil(t, w.wide)
	w.merge(0, col, []int32{0}, []int64{-200}, act, retract)
	require.Equal(t, []bool{true}, act, "the value leaves the set")
	require.Equal(t, []bool{true}, retract)
	require.Zero(t, w.wide.groups[0].n)
}

// testDistinctShared runs a distinct state of 3 consumers made by newD over
// values [0, values) of val, retracting one row in retractOneIn.
func testDistinctShared(t *testing.T, dt arrow.DataType, val func(int64) any, values int64, retractOneIn int, newD func() distinct) {
	const k, groups = 3, 4
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	d := newD()
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
			vals[i] = val(rng.Int64N(values))
			retract[i] = rng.IntN(retractOneIn) == 0
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
			fresh := newD()
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
