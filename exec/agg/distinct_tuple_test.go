package agg

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestTupleKeys encodes random rows of columns of every encodable kind,
// sliced so that they start at an offset, and checks that a row's key is
// NULL exactly when one of its values is, and that two keys are equal
// exactly when the tuples are (-0 being 0 and NaN being NaN).
func TestTupleKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dec := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	dts := []arrow.DataType{arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.String, arrow.PrimitiveTypes.Float64,
		dec, arrow.FixedWidthTypes.Boolean, arrow.BinaryTypes.Binary, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Int8}
	rng := rand.New(rand.NewPCG(1, 2))
	const n, skip = 300, 5
	// tuple[i] is row i's values as text, "" when one is NULL.
	tuple := make([]string, n)
	cols := make([]arrow.Array, len(dts))
	for c, dt := range dts {
		b := array.NewBuilder(mem, dt)
		for i := range n + skip {
			if rng.IntN(12) == 0 {
				b.AppendNull()
				if i >= skip {
					tuple[i-skip] = "\x00null"
				}
				continue
			}
			x := rng.IntN(3)
			var text string
			switch bb := b.(type) {
			case *array.Int32Builder:
				bb.Append(int32(x))
			case *array.Int8Builder:
				bb.Append(int8(x))
			case *array.StringBuilder:
				// "" and strings that are prefixes of each other.
				bb.Append([]string{"", "a", "ab"}[x])
			case *array.BinaryBuilder:
				bb.Append([]byte{1, 0, 1}[:x])
			case *array.Float64Builder:
				v := []float64{math.Copysign(0, -1), math.NaN(), 1.5}[x]
				bb.Append(v)
				text = fmt.Sprint(math.Abs(v))
			case *array.Float32Builder:
				v := []float32{0, float32(math.NaN()), -2}[x]
				bb.Append(v)
				text = fmt.Sprint(v)
			case *array.Decimal128Builder:
				bb.Append(decimal128.FromI64(int64(x * 150)))
			case *array.BooleanBuilder:
				bb.Append(x == 1)
				text = fmt.Sprint(x == 1)
			}
			if text == "" {
				text = fmt.Sprint(x)
			}
			if i >= skip && tuple[i-skip] != "\x00null" {
				tuple[i-skip] += "|" + text
			}
		}
		all := b.NewArray()
		b.Release()
		cols[c] = array.NewSlice(all, skip, n+skip)
		all.Release()
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	tk, err := NewTupleKeys(dts)
	require.NoError(t, err)
	// Encode twice: the second reuses the scratch of the first.
	for range 2 {
		keys := tk.Encode(cols).(*array.Binary)
		require.Equal(t, n, keys.Len())
		byKey := map[string]string{}
		for i := range n {
			isNull := tuple[i] == "\x00null"
			require.Equal(t, isNull, keys.IsNull(i), "row %d: %q", i, tuple[i])
			if isNull {
				continue
			}
			k := string(keys.Value(i))
			if prev, ok := byKey[k]; ok {
				require.Equal(t, prev, tuple[i], "row %d: equal keys of different tuples", i)
			}
			byKey[k] = tuple[i]
		}
		// Equal tuples got equal keys: as many keys as tuples.
		distinct := map[string]bool{}
		for _, tu := range tuple {
			if tu != "\x00null" {
				distinct[tu] = true
			}
		}
		require.Len(t, byKey, len(distinct))
		keys.Release()
	}

	_, err = NewTupleKeys([]arrow.DataType{arrow.PrimitiveTypes.Int32, arrow.ListOf(arrow.PrimitiveTypes.Int32)})
	require.ErrorContains(t, err, "does not support values of type list")
}

// TestStateDistinctTuples drives COUNT(DISTINCT $0, $1) FILTER $2 with
// random inserts and retractions over a few groups, checks every row's
// result against a direct count of the tuples, and midway moves the
// state through AppendState/ReadState into a fresh State.
func TestStateDistinctTuples(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	input := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.BinaryTypes.String, arrow.FixedWidthTypes.Boolean}
	call := Call{Func: "COUNT", Args: []int{0, 1}, Distinct: true, Filter: 2, Type: types.BigIntType.WithNullable(false)}
	newState := func() *State {
		s, err := NewState(call, input, true)
		require.NoError(t, err)
		require.NoError(t, ShareDistinct([]*State{s}, nil))
		s.Grow(3)
		return s
	}
	st := newState()
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: input[0], Nullable: true},
		{Name: "b", Type: input[1], Nullable: true}, {Name: "f", Type: input[2], Nullable: true}}, nil)
	want := []map[string]int{{}, {}, {}}
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 200 {
		n := 1 + rng.IntN(20)
		rb := array.NewRecordBuilder(mem, schema)
		slots, retract := make([]int32, n), make([]bool, n)
		expect := make([]int64, n)
		for i := range n {
			slots[i] = int32(rng.IntN(3))
			a, b, f := rng.Int64N(3), []string{"x", "y"}[rng.IntN(2)], rng.IntN(4) > 0
			aNull, bNull := rng.IntN(10) == 0, rng.IntN(10) == 0
			if aNull {
				rb.Field(0).AppendNull()
			} else {
				rb.Field(0).(*array.Int64Builder).Append(a)
			}
			if bNull {
				rb.Field(1).AppendNull()
			} else {
				rb.Field(1).(*array.StringBuilder).Append(b)
			}
			rb.Field(2).(*array.BooleanBuilder).Append(f)
			m := want[slots[i]]
			key := fmt.Sprint(a, b)
			// A retraction is of a row the group has, as in a changelog.
			retract[i] = rng.IntN(3) == 0 && m[key] > 0 && f && !aNull && !bNull
			if f && !aNull && !bNull {
				if retract[i] {
					if m[key]--; m[key] == 0 {
						delete(m, key)
					}
				} else {
					m[key]++
				}
			}
			expect[i] = int64(len(m))
		}
		b := rb.NewRecordBatch()
		rb.Release()
		require.NoError(t, UpdateAll([]*State{st}, b, slots, retract))
		rows := make([]int32, n)
		for i := range rows {
			rows[i] = int32(i)
		}
		res := st.Build(mem, rows, make([]bool, n))
		require.Equal(t, expect, res.(*array.Int64).Int64Values(), "round %d", round)
		res.Release()
		b.Release()
		if round%40 == 20 {
			fresh := newState()
			for s := range int32(3) {
				rest, err := fresh.ReadState(st.AppendState(nil, s), s)
				require.NoError(t, err)
				require.Empty(t, rest)
			}
			st = fresh
		}
	}
}
