package agg

import (
	"encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestXXH64 checks the hash against reference XXH64 values (computed with
// github.com/cespare/xxhash/v2, the seed-42 ones with its NewWithSeed),
// covering the 32-byte stripes, 8- and 4-byte lanes and single bytes,
// and that the int and long forms hash the 4 and 8 little-endian bytes.
func TestXXH64(t *testing.T) {
	for _, c := range []struct {
		s          string
		seed0, s42 uint64
	}{
		{"", 0xef46db3751d8e999, 0x98b1582b0977e704},
		{"a", 0xd24ec4f1a98c6e5b, 0x88e4fe59adf7b0cc},
		{"abc", 0x44bc2cf5ad770999, 0x13c1d910702770e6},
		{"0123456789abcdef0123456789abcdef!", 0x8afff4daac4e677e, 0xac06bf3332555b6f},
		{"hello world, this is a longer string of bytes 1234567", 0x3ae42e1918e96dba, 0xc6c4f0986434f43d},
	} {
		require.Equal(t, c.seed0, xxh64([]byte(c.s), 0), c.s)
		require.Equal(t, c.s42, xxh64([]byte(c.s), hllSeed), c.s)
	}
	rng := rand.New(rand.NewSource(1))
	for range 100 {
		x := rng.Uint64()
		require.Equal(t, xxh64(binary.LittleEndian.AppendUint64(nil, x), hllSeed), xxh64Long(x, hllSeed))
		require.Equal(t, xxh64(binary.LittleEndian.AppendUint32(nil, uint32(x)), hllSeed), xxh64Int(uint32(x), hllSeed))
	}
}

// TestHLLBiasTables checks the transcribed HLL++ data: sorted raw
// estimates, and each raw estimate minus its bias an integer cardinality
// about 409.6 above the previous one.
func TestHLLBiasTables(t *testing.T) {
	require.Len(t, hllBiases, len(hllRawEstimates))
	prev := 0.0
	for i, raw := range hllRawEstimates {
		if i > 0 {
			require.Greater(t, raw, hllRawEstimates[i-1], "raw estimate %d", i)
		}
		card := raw - hllBiases[i]
		require.InDelta(t, math.Round(card), card, 1e-6, "cardinality %d", i)
		if i > 0 {
			require.InDelta(t, 409.6, card-prev, 3, "cardinality step %d", i)
		}
		prev = card
	}
}

// acdState builds an APPROX_COUNT_DISTINCT state over one column of type dt.
func acdState(t *testing.T, dt arrow.DataType) *State {
	t.Helper()
	st, err := NewState(Call{Func: approxCountDistinct, Args: []int{0}, Filter: -1, Type: types.BigIntType.WithNullable(false)},
		[]arrow.DataType{dt}, false)
	require.NoError(t, err)
	return st
}

func int64Batch(mem memory.Allocator, vals []int64, valid []bool) arrow.RecordBatch {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, valid)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(vals)))
}

// feed applies vals in batches of batch rows to the slots slot(i) gives.
func feed(t *testing.T, mem memory.Allocator, st *State, vals []int64, batch int, slot func(i int) int32) {
	t.Helper()
	for from := 0; from < len(vals); from += batch {
		to := min(from+batch, len(vals))
		b := int64Batch(mem, vals[from:to], nil)
		slots := make([]int32, to-from)
		for i := range slots {
			slots[i] = slot(from + i)
		}
		st.Update(b, slots, make([]bool, len(slots)))
		b.Release()
		require.NoError(t, st.Err())
	}
}

// result reads slot's current estimate through a one-row Update.
func result(t *testing.T, mem memory.Allocator, st *State, slot int32) int64 {
	t.Helper()
	b := int64Batch(mem, []int64{0}, []bool{false})
	defer b.Release()
	st.Update(b, []int32{slot}, []bool{false})
	col := st.Build(mem, []int32{0}, []bool{false})
	defer col.Release()
	return col.(*array.Int64).Value(0)
}

// TestApproxCountDistinctAccuracy checks estimates within 3 standard
// deviations (1.04/sqrt(m)) of the true count from 100 to 1,000,000
// distinct values, with every value repeated, and the number of
// registers a group holds sparse.
func TestApproxCountDistinctAccuracy(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sigma := 1.04 / math.Sqrt(hllM)
	for _, n := range []int{100, 1_000, 10_000, 30_000, 60_000, 100_000, 1_000_000} {
		st := acdState(t, arrow.PrimitiveTypes.Int64)
		st.Grow(1)
		rng := rand.New(rand.NewSource(int64(n)))
		vals := make([]int64, 0, n+n/2)
		for i := range n {
			vals = append(vals, rng.Int63()>>8<<8|int64(i&0xff))
		}
		vals = append(vals, vals[:n/2]...) // duplicates do not count
		feed(t, mem, st, vals, 4096, func(int) int32 { return 0 })
		got := result(t, mem, st, 0)
		t.Logf("n=%d estimate=%d error=%.3f%%", n, got, 100*(float64(got)-float64(n))/float64(n))
		require.InDelta(t, float64(n), float64(got), 3*sigma*float64(n), "n=%d", n)
		k := st.k.(*approxCountDistinctK)
		require.Equal(t, k.sk[0].dense == nil, k.sk[0].nonZero <= hllSparseMax, "n=%d", n)
	}
}

// TestApproxCountDistinctFlinkCases runs the inputs of Flink's
// ApproxCountDistinctAggFunctionTest, whose exact small counts linear
// counting reproduces.
func TestApproxCountDistinctFlinkCases(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	count := func(col arrow.Array) int64 {
		defer col.Release()
		st, err := NewState(Call{Func: approxCountDistinct, Args: []int{0}, Filter: -1, Type: types.BigIntType.WithNullable(false)},
			[]arrow.DataType{col.DataType()}, false)
		require.NoError(t, err)
		st.Grow(1)
		schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: col.DataType(), Nullable: true}}, nil)
		b := array.NewRecordBatch(schema, []arrow.Array{col}, int64(col.Len()))
		defer b.Release()
		slots := make([]int32, col.Len())
		st.Update(b, slots, make([]bool, len(slots)))
		out := st.Build(mem, []int32{int32(len(slots) - 1)}, []bool{false})
		defer out.Release()
		return out.(*array.Int64).Value(0)
	}
	ints := func(vals []int32, valid []bool) arrow.Array {
		b := array.NewInt32Builder(mem)
		defer b.Release()
		b.AppendValues(vals, valid)
		return b.NewArray()
	}
	require.EqualValues(t, 1, count(ints([]int32{1, 1, 1}, nil)))
	require.EqualValues(t, 3, count(ints([]int32{1, 2, 3}, nil)))
	require.EqualValues(t, 0, count(ints([]int32{0, 0, 0}, []bool{false, false, false})))
	require.EqualValues(t, 1, count(ints([]int32{0, 10}, []bool{false, true})))
	floats := func(vals ...float64) arrow.Array {
		b := array.NewFloat32Builder(mem)
		defer b.Release()
		for _, v := range vals {
			b.Append(float32(v))
		}
		return b.NewArray()
	}
	require.EqualValues(t, 1, count(floats(0, math.Copysign(0, -1))))
	require.EqualValues(t, 3, count(floats(math.NaN(), 1.1, 2.2, math.NaN())))
	for _, prec := range []int32{12, 20} {
		dt := &arrow.Decimal128Type{Precision: prec, Scale: 6}
		b := array.NewDecimal128Builder(mem, dt)
		for _, s := range []string{"1", "1000.000001", "-1", "-999.998999", "0", "-999.999", "999.999", "1"} {
			v, err := decimal128.FromString(s, prec, 6)
			require.NoError(t, err)
			b.Append(v)
		}
		b.AppendNull()
		require.EqualValues(t, 7, count(b.NewArray()), "DECIMAL(%d, 6)", prec)
		b.Release()
	}
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"Hello", "World", "Hello", "", "Flink"}, nil)
	sb.AppendNull()
	require.EqualValues(t, 4, count(sb.NewArray()))
	sb.Release()
}

// TestApproxCountDistinctJavaBytes checks DECIMAL's wide form hashes
// BigInteger.toByteArray's bytes.
func TestApproxCountDistinctJavaBytes(t *testing.T) {
	var buf [16]byte
	for _, c := range []struct {
		v    decimal128.Num
		want []byte
	}{
		{decimal128.FromI64(0), []byte{0}},
		{decimal128.FromI64(127), []byte{0x7f}},
		{decimal128.FromI64(128), []byte{0, 0x80}},
		{decimal128.FromI64(-1), []byte{0xff}},
		{decimal128.FromI64(-128), []byte{0x80}},
		{decimal128.FromI64(-129), []byte{0xff, 0x7f}},
		{decimal128.New(1, 0), []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}},
	} {
		require.Equal(t, c.want, javaBigIntegerBytes(c.v, &buf), "%v", c.v)
	}
}

// TestApproxCountDistinctMerge checks that merging the drained sketches
// of two overlapping sets gives the sketch of their union, register for
// register, small (sparse) and large (dense), and that merging an empty
// accumulator changes nothing.
func TestApproxCountDistinctMerge(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	call := Call{Func: approxCountDistinct, Args: []int{0}, Filter: -1, Type: types.BigIntType.WithNullable(false)}
	fields, ok := Accumulators(call, []types.DataType{types.BigIntType}, false)
	require.True(t, ok)
	dts := []arrow.DataType{fields[0].Type.Arrow()}
	_, ok = Accumulators(call, []types.DataType{types.BigIntType}, true)
	require.False(t, ok, "a changelog input stays one-phase")
	for _, n := range []int{500, 50_000} {
		a, b := make([]int64, n), make([]int64, n)
		for i := range n {
			a[i], b[i] = int64(i), int64(i+n/2)
		}
		local := acdState(t, arrow.PrimitiveTypes.Int64)
		local.Grow(3)
		feed(t, mem, local, a, 1000, func(int) int32 { return 0 })
		feed(t, mem, local, b, 1000, func(int) int32 { return 1 })
		require.True(t, local.Mergeable())
		acc := make([]arrow.Array, 1)
		require.NoError(t, local.Drain(mem, dts, []int32{0, 1, 2}, acc))
		schema := arrow.NewSchema([]arrow.Field{{Name: "hll", Type: dts[0]}}, nil)
		rec := array.NewRecordBatch(schema, acc, 3)
		acc[0].Release()

		global, err := NewMergeState(call, []arrow.DataType{arrow.PrimitiveTypes.Int64}, false)
		require.NoError(t, err)
		global.Grow(1)
		global.Merge(rec, []int32{0, 0, 0})
		rec.Release()
		require.NoError(t, global.Err())

		union := acdState(t, arrow.PrimitiveTypes.Int64)
		union.Grow(1)
		feed(t, mem, union, append(append([]int64(nil), a...), b...), 777, func(int) int32 { return 0 })
		require.Equal(t, union.AppendState(nil, 0), global.AppendState(nil, 0), "n=%d", n)
		require.Equal(t, result(t, mem, union, 0), result(t, mem, global, 0))
		require.InDelta(t, float64(n+n/2), float64(result(t, mem, global, 0)), 0.03*float64(n))
		// Draining emptied the local groups.
		require.EqualValues(t, 0, result(t, mem, local, 0))
	}
}

// TestApproxCountDistinctNulls checks NULLs leave the sketch alone.
func TestApproxCountDistinctNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	vals := make([]int64, 3000)
	valid := make([]bool, len(vals))
	for i := range vals {
		vals[i], valid[i] = int64(i), i%3 != 0
	}
	withNulls, only := acdState(t, arrow.PrimitiveTypes.Int64), acdState(t, arrow.PrimitiveTypes.Int64)
	withNulls.Grow(1)
	only.Grow(1)
	b := int64Batch(mem, vals, valid)
	withNulls.Update(b, make([]int32, len(vals)), make([]bool, len(vals)))
	b.Release()
	var kept []int64
	for i, v := range vals {
		if valid[i] {
			kept = append(kept, v)
		}
	}
	feed(t, mem, only, kept, 100, func(int) int32 { return 0 })
	require.Equal(t, only.AppendState(nil, 0), withNulls.AppendState(nil, 0))
	require.InDelta(t, 2000, float64(result(t, mem, withNulls, 0)), 60)
}

// TestApproxCountDistinctSnapshot snapshots sparse and dense groups in the
// middle of the input, restores them into a fresh state and checks that
// both go on to the same results; corrupt state is an error.
func TestApproxCountDistinctSnapshot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(7))
	vals := make([]int64, 60_000)
	for i := range vals {
		vals[i] = rng.Int63n(40_000)
	}
	// Group 0 gets one value in 100 (sparse), group 1 the rest (dense).
	slot := func(i int) int32 {
		if i%100 == 0 {
			return 0
		}
		return 1
	}
	orig := acdState(t, arrow.PrimitiveTypes.Int64)
	orig.Grow(2)
	feed(t, mem, orig, vals[:30_000], 1000, slot)
	var snap [][]byte
	for s := range int32(2) {
		snap = append(snap, orig.AppendState(nil, s))
	}
	require.Less(t, len(snap[0]), 1000, "a small group stays sparse")
	require.Greater(t, len(snap[1]), 8*hllWords, "a large group is dense")
	restored := acdState(t, arrow.PrimitiveTypes.Int64)
	restored.Grow(2)
	for s, b := range snap {
		rest, err := restored.ReadState(b, int32(s))
		require.NoError(t, err)
		require.Empty(t, rest)
	}
	rest := func(i int) int32 { return slot(30_000 + i) }
	feed(t, mem, orig, vals[30_000:], 1000, rest)
	feed(t, mem, restored, vals[30_000:], 333, rest)
	for s := range int32(2) {
		require.Equal(t, orig.AppendState(nil, s), restored.AppendState(nil, s))
		require.Equal(t, result(t, mem, orig, s), result(t, mem, restored, s))
	}
	for _, bad := range [][]byte{nil, {2}, {0, 2, 5, 0}, {1, 0, 0}} {
		_, err := restored.ReadState(bad, 0)
		require.Error(t, err, "%v", bad)
	}
}

// TestApproxCountDistinctRefusals checks the types Flink refuses and
// retraction.
func TestApproxCountDistinctRefusals(t *testing.T) {
	for _, dt := range []types.DataType{types.BooleanType, types.BytesType, types.ArrayType(types.IntType)} {
		_, err := ResultType(approxCountDistinct, []types.DataType{dt})
		require.ErrorContains(t, err, "does not support type", dt.String())
	}
	got, err := ResultType(approxCountDistinct, []types.DataType{types.TimestampType(3)})
	require.NoError(t, err)
	require.Equal(t, types.BigIntType.WithNullable(false), got)
	_, err = NewState(Call{Func: approxCountDistinct, Args: []int{0}, Filter: -1, Type: got},
		[]arrow.DataType{arrow.PrimitiveTypes.Int64}, true)
	require.ErrorContains(t, err, "does not support retraction")
}

// TestApproxCountDistinctHashTypes checks each type hashes as Flink's
// function does: temporal values by their Flink representation.
func TestApproxCountDistinctHashTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	hash := func(a arrow.Array) uint64 {
		defer a.Release()
		hs := make([]uint64, a.Len())
		require.NoError(t, HashApproxCountDistinct(a, hs))
		return hs[0]
	}
	ts := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	ts.Append(1_700_000_000_123_456)
	require.Equal(t, xxh64Long(1_700_000_000_123_456_000, hllSeed), hash(ts.NewArray()))
	ts.Release()
	tm := array.NewTime64Builder(mem, &arrow.Time64Type{Unit: arrow.Microsecond})
	tm.Append(3_723_456_789)
	require.Equal(t, xxh64Long(3_723_456, hllSeed), hash(tm.NewArray()), "TIME hashes its milliseconds")
	tm.Release()
	d := array.NewDate32Builder(mem)
	d.Append(19000)
	require.Equal(t, xxh64Long(19000, hllSeed), hash(d.NewArray()))
	d.Release()
	i8 := array.NewInt8Builder(mem)
	i8.Append(-3)
	require.Equal(t, xxh64Int(uint32(0xfffffffd), hllSeed), hash(i8.NewArray()))
	i8.Release()
	bb := array.NewBooleanBuilder(mem)
	bb.Append(true)
	b := bb.NewArray()
	bb.Release()
	err := HashApproxCountDistinct(b, make([]uint64, 1))
	b.Release()
	require.Error(t, err)
}

// BenchmarkApproxCountDistinct measures a group aggregate's update over
// 1M BIGINT rows in 8 groups of mostly distinct values, batches of 4096.
func BenchmarkApproxCountDistinct(b *testing.B) {
	mem := memory.NewGoAllocator()
	const rows, batch, groups = 1 << 20, 4096, 8
	rng := rand.New(rand.NewSource(1))
	var batches []arrow.RecordBatch
	var slots [][]int32
	for from := 0; from < rows; from += batch {
		vals := make([]int64, batch)
		sl := make([]int32, batch)
		for i := range vals {
			vals[i], sl[i] = rng.Int63(), int32(rng.Intn(groups))
		}
		batches = append(batches, int64Batch(mem, vals, nil))
		slots = append(slots, sl)
	}
	retract := make([]bool, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		st, err := NewState(Call{Func: approxCountDistinct, Args: []int{0}, Filter: -1, Type: types.BigIntType.WithNullable(false)},
			[]arrow.DataType{arrow.PrimitiveTypes.Int64}, false)
		if err != nil {
			b.Fatal(err)
		}
		st.Grow(groups)
		for i, rec := range batches {
			st.Update(rec, slots[i], retract)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.StopTimer()
	for _, rec := range batches {
		rec.Release()
	}
}
