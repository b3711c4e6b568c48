package exec

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// Murmur3 x86 32-bit reference vectors (SMHasher's), on inputs of whole
// words as Flink hashes them.
func TestMurmur3Words(t *testing.T) {
	for _, tc := range []struct {
		in   string
		seed uint32
		want uint32
	}{
		{"", 1, 0x514e28b7},
		{"\x00\x00\x00\x00", 0, 0x2362f9de},
		{"\x21\x43\x65\x87", 0, 0xf55b516b},
		{"\x21\x43\x65\x87", 0x5082edee, 0x2362f9de},
		{"aaaa", 0x9747b28c, 0x5a97808a},
		{"abcd", 0x9747b28c, 0xf0478627},
		{"test", 0x9747b28c, 0x704b81dc},
	} {
		require.Equal(t, tc.want, murmur3Words([]byte(tc.in), tc.seed), "%q seed %#x", tc.in, tc.seed)
	}
}

// TestBundleOrderByBucket checks the HashMap model against what
// java.util.HashMap (OpenJDK 17) iterates for keys with these hashCodes,
// put in index order: 10 keys (a table of 16), then after clear() 20 keys
// (it grows to 32), then after clear() 10 keys again (the table stays
// 32). Keys 2 and 5 share a bucket and keep their insertion order.
func TestBundleOrderByBucket(t *testing.T) {
	hashes := []uint32{470636529, 1139821166, 3803726085, 3589464842, 1398574760, 3803791620, 3409638966,
		1681453389, 3501168677, 808177707, 4251996718, 4222198115, 694250699, 3548116001, 2052791210,
		1429094936, 2838400687, 1608813534, 1636646472, 1557223610}
	var o bundleOrder
	for _, tc := range []struct {
		n    int
		want []int32
	}{
		{10, []int32{9, 4, 7, 3, 8, 0, 6, 2, 5, 1}},
		{20, []int32{9, 16, 18, 8, 11, 12, 19, 6, 14, 4, 7, 15, 3, 13, 17, 0, 2, 5, 1, 10}},
		{10, []int32{9, 8, 6, 4, 7, 3, 0, 2, 5, 1}},
	} {
		h := append([]uint32(nil), hashes[:tc.n]...)
		require.Equal(t, tc.want, o.byBucket(h, nil))
	}
}

// TestBundleOrderBigintKeys: Flink's GROUP_BY_DISTINCT_MINI_BATCH program
// shows its local aggregate emitting BIGINT keys 2, 3, 1 (first seen in
// that order) as 3, 2, 1.
func TestBundleOrderBigintKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{2, 3, 1}, nil)
	keys := b.NewArray()
	b.Release()
	defer keys.Release()
	var o bundleOrder
	perm, ok := o.order([]arrow.Array{keys}, nil, 3, nil)
	require.True(t, ok)
	require.Equal(t, []int32{1, 0, 2}, perm)
	// The same keys at other rows.
	perm, ok = o.order([]arrow.Array{keys}, []int32{2, 0}, 2, nil)
	require.True(t, ok)
	require.Equal(t, []int32{1, 0}, perm, "key 2 (bucket 4) before key 1 (bucket 7)")
}

// TestBundleOrderEncodeRow checks the BinaryRowData layouts that
// BinaryRowWriter and AbstractBinaryWriter write.
func TestBundleOrderEncodeRow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	word := func(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}

	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"abc", "Hello World"}, nil)
	sb.AppendNull()
	strs := sb.NewArray()
	sb.Release()
	defer strs.Release()
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{-2, 7, 9}, nil)
	ints := ib.NewArray()
	ib.Release()
	defer ints.Release()
	dt := &arrow.Decimal128Type{Precision: 20, Scale: 2}
	db := array.NewDecimal128Builder(mem, dt)
	db.AppendValues([]decimal128.Num{decimal128.FromI64(-1), decimal128.FromI64(128)}, nil)
	db.AppendNull()
	decs := db.NewArray()
	db.Release()
	defer decs.Release()
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond})
	tb.AppendValues([]arrow.Timestamp{1500, -1}, nil)
	tb.AppendNull()
	tss := tb.NewArray()
	tb.Release()
	defer tss.Release()

	keys := []arrow.Array{strs, ints, decs, tss}
	var o bundleOrder
	encode := func(row int) []byte { return o.encodeRow(nil, keys, row, 8) }
	// Four fields: an 8-byte header, four slots, the variable part from
	// byte 40 on.
	require.Equal(t, cat(
		word(0),
		[]byte{'a', 'b', 'c', 0, 0, 0, 0, 0x83},
		word(uint64(uint32(0xfffffffe))),
		word(40<<32|1),
		word(56<<32|500_000),
		[]byte{0xff}, make([]byte, 15),
		word(1),
	), encode(0))
	require.Equal(t, cat(
		word(0),
		word(40<<32|11),
		word(7),
		word(56<<32|2),
		word(72<<32|999_000),
		[]byte("Hello World"), make([]byte, 5),
		[]byte{0x00, 0x80}, make([]byte, 14),
		word(uint64(0xffffffffffffffff)),
	), encode(1))
	// NULLs: bits 8+i of the header; NULL non-compact DECIMAL and
	// TIMESTAMP keep their zeroed variable part.
	require.Equal(t, cat(
		[]byte{0, 1<<0 | 1<<2 | 1<<3, 0, 0, 0, 0, 0, 0},
		word(0),
		word(9),
		word(40<<32),
		word(56<<32),
		make([]byte, 16),
		make([]byte, 8),
	), encode(2))
}

// BenchmarkBundleOrder orders a flush of 5000 groups keyed by a BIGINT and
// a STRING, the cost a mini-batch bundle pays per group.
func BenchmarkBundleOrder(b *testing.B) {
	mem := memory.NewGoAllocator()
	const n = 5000
	ib := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	for i := range n {
		ib.Append(int64(i) * 7919)
		sb.Append(fmt.Sprintf("channel-%d", i%97))
	}
	keys := []arrow.Array{ib.NewArray(), sb.NewArray()}
	var o bundleOrder
	var perm []int32
	b.ResetTimer()
	for range b.N {
		perm, _ = o.order(keys, nil, n, perm)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/group")
}
