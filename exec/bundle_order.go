package exec

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// bundleOrder orders the groups of a mini-batch bundle as Flink's bundle
// operators emit them. AbstractMapBundleOperator keeps a bundle in a
// java.util.HashMap keyed by the group key as a BinaryRowData, and
// finishBundle walks that map, so Flink emits a bundle's groups in the
// order of their buckets, groups sharing a bucket in insertion order. The
// order is visible downstream: when the global phase's count trigger cuts
// the local phase's output, which groups fall into its first bundle
// depends on it, and so does the changelog.
//
// The bucket of a key is BinaryRowData.hashCode (Murmur3 over the row's
// words, seed 42) spread as HashMap.hash does, modulo the table length:
// 16 at first, doubled whenever the map holds more than 3/4 of it, and
// kept by HashMap.clear, so it is the largest any bundle needed since the
// operator opened. Two things are not modelled, as they change only the
// order within one flush and are vanishingly rare: HashMap's tree bins
// (8 keys in one bucket of a table of at least 64) and the resize that 8
// keys in one bucket of a smaller table force.
type bundleOrder struct {
	capacity int
	row      []byte   // scratch: one key in BinaryRowData layout
	hashes   []uint32 // per group: its hashCode, then its bucket
	starts   []int32  // counting sort
}

// order returns the groups 0..n-1, in insertion order, in Flink's
// emission order, reusing perm. Group g's key is row rows[g] of keys (row
// g when rows is nil). It returns false when a key column has a type
// whose BinaryRowData layout is not modelled (nested types): the groups
// then keep insertion order.
func (o *bundleOrder) order(keys []arrow.Array, rows []int32, n int, perm []int32) ([]int32, bool) {
	perm = growLen(perm, n)[:n]
	if n == 0 || len(keys) == 0 {
		for i := range perm {
			perm[i] = int32(i)
		}
		return perm, true
	}
	for _, k := range keys {
		if !binaryRowEncodable(k.DataType()) {
			return perm, false
		}
	}
	o.hashes = growLen(o.hashes, n)[:n]
	nullBytes := (len(keys) + 63 + 8) / 64 * 8
	for g := range n {
		row := g
		if rows != nil {
			row = int(rows[g])
		}
		o.row = o.encodeRow(o.row[:0], keys, row, nullBytes)
		o.hashes[g] = murmurWords(o.row)
	}
	return o.byBucket(o.hashes, perm), true
}

// byBucket orders the keys with hashCodes hashes, in insertion order, as
// a java.util.HashMap that has held this bundleOrder's earlier bundles
// iterates them, reusing perm.
func (o *bundleOrder) byBucket(hashes []uint32, perm []int32) []int32 {
	n := len(hashes)
	perm = growLen(perm, n)[:n]
	if o.capacity == 0 {
		o.capacity = 16
	}
	for n > o.capacity/4*3 {
		o.capacity *= 2
	}
	mask := uint32(o.capacity - 1)
	for g, h := range hashes {
		hashes[g] = (h ^ h>>16) & mask
	}
	// A stable counting sort by bucket keeps insertion order within one.
	o.starts = growLen(o.starts, o.capacity+1)[:o.capacity+1]
	clear(o.starts)
	for _, b := range hashes {
		o.starts[b+1]++
	}
	for i := 1; i <= o.capacity; i++ {
		o.starts[i] += o.starts[i-1]
	}
	for g, b := range hashes {
		perm[o.starts[b]] = int32(g)
		o.starts[b]++
	}
	return perm
}

// binaryRowEncodable reports whether encodeRow knows the BinaryRowData
// layout of a key of type dt.
func binaryRowEncodable(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64,
		arrow.STRING, arrow.BINARY, arrow.DATE32, arrow.TIME32, arrow.TIME64, arrow.TIMESTAMP,
		arrow.DURATION, arrow.INTERVAL_MONTHS, arrow.DECIMAL128:
		return true
	}
	return false
}

// encodeRow appends row g of keys in the layout of Flink's BinaryRowData
// as BinaryRowWriter writes it (little-endian, as on the machines Flink
// runs on): a header word holding the row kind (INSERT, 0) and the null
// bits, one 8-byte slot per field, and the variable-length part, each
// value padded to whole words. Values of up to 7 bytes live in their
// slot; longer ones, non-compact DECIMALs (precision > 18) and TIMESTAMPs
// (precision > 3) in the variable part.
func (o *bundleOrder) encodeRow(dst []byte, keys []arrow.Array, g, nullBytes int) []byte {
	fixedEnd := nullBytes + 8*len(keys)
	dst = growLen(dst, fixedEnd)[:fixedEnd]
	clear(dst)
	for i, k := range keys {
		slot := nullBytes + 8*i
		if k.IsNull(g) {
			bit := i + 8
			dst[bit/8] |= 1 << (bit % 8)
			dst = appendNullVarPart(dst, k.DataType(), slot)
			continue
		}
		switch a := k.(type) {
		case *array.Boolean:
			if a.Value(g) {
				dst[slot] = 1
			}
		case *array.Int8:
			dst[slot] = byte(a.Value(g))
		case *array.Int16:
			binary.LittleEndian.PutUint16(dst[slot:], uint16(a.Value(g)))
		case *array.Int32:
			binary.LittleEndian.PutUint32(dst[slot:], uint32(a.Value(g)))
		case *array.Date32:
			binary.LittleEndian.PutUint32(dst[slot:], uint32(a.Value(g)))
		case *array.MonthInterval:
			binary.LittleEndian.PutUint32(dst[slot:], uint32(a.Value(g)))
		case *array.Time32:
			binary.LittleEndian.PutUint32(dst[slot:], uint32(toMillis(arrow.Timestamp(a.Value(g)), a.DataType().(*arrow.Time32Type).Unit)))
		case *array.Time64:
			binary.LittleEndian.PutUint32(dst[slot:], uint32(toMillis(arrow.Timestamp(a.Value(g)), a.DataType().(*arrow.Time64Type).Unit)))
		case *array.Int64:
			binary.LittleEndian.PutUint64(dst[slot:], uint64(a.Value(g)))
		case *array.Duration:
			binary.LittleEndian.PutUint64(dst[slot:], uint64(toMillis(arrow.Timestamp(a.Value(g)), a.DataType().(*arrow.DurationType).Unit)))
		case *array.Float32:
			binary.LittleEndian.PutUint32(dst[slot:], math.Float32bits(a.Value(g)))
		case *array.Float64:
			binary.LittleEndian.PutUint64(dst[slot:], math.Float64bits(a.Value(g)))
		case *array.String:
			dst = appendBytesField(dst, slot, a.Value(g))
		case *array.Binary:
			dst = appendBytesField(dst, slot, a.Value(g))
		case *array.Timestamp:
			unit := a.DataType().(*arrow.TimestampType).Unit
			v := int64(a.Value(g))
			if unit <= arrow.Millisecond {
				binary.LittleEndian.PutUint64(dst[slot:], uint64(toMillis(arrow.Timestamp(v), unit)))
				continue
			}
			perMilli := int64(1000)
			if unit == arrow.Nanosecond {
				perMilli = 1_000_000
			}
			millis, sub := floorDivMod(v, perMilli)
			nanos := sub * (1_000_000 / perMilli)
			at := len(dst)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(millis))
			binary.LittleEndian.PutUint64(dst[slot:], uint64(at)<<32|uint64(nanos))
		case *array.Decimal128:
			v := a.Value(g)
			if a.DataType().(*arrow.Decimal128Type).Precision <= 18 {
				binary.LittleEndian.PutUint64(dst[slot:], v.LowBits())
				continue
			}
			b := unscaledBytes(v)
			at := len(dst)
			dst = append(dst, make([]byte, 16)...)
			copy(dst[at:], b)
			binary.LittleEndian.PutUint64(dst[slot:], uint64(at)<<32|uint64(len(b)))
		}
	}
	return dst
}

// appendNullVarPart reserves the variable-length part that
// BinaryRowWriter keeps for a NULL non-compact DECIMAL or TIMESTAMP (its
// slot then points at it with size 0); other NULLs are a zero slot.
func appendNullVarPart(dst []byte, dt arrow.DataType, slot int) []byte {
	size := 0
	switch t := dt.(type) {
	case *arrow.Decimal128Type:
		if t.Precision > 18 {
			size = 16
		}
	case *arrow.TimestampType:
		if t.Unit > arrow.Millisecond {
			size = 8
		}
	}
	if size == 0 {
		return dst
	}
	at := len(dst)
	dst = append(dst, make([]byte, size)...)
	binary.LittleEndian.PutUint64(dst[slot:], uint64(at)<<32)
	return dst
}

// appendBytesField writes a STRING or BYTES value: up to 7 bytes in the
// slot with its length and a mark bit in the slot's last byte, longer
// ones in the variable part, padded with zeros to a whole word.
func appendBytesField[T string | []byte](dst []byte, slot int, v T) []byte {
	if len(v) <= 7 {
		copy(dst[slot:], v)
		dst[slot+7] = 0x80 | byte(len(v))
		return dst
	}
	at := len(dst)
	dst = append(dst, v...)
	for len(dst)%8 != 0 {
		dst = append(dst, 0)
	}
	binary.LittleEndian.PutUint64(dst[slot:], uint64(at)<<32|uint64(len(v)))
	return dst
}

// unscaledBytes is Java's BigInteger.toByteArray of v: big-endian two's
// complement in as few bytes as keep the sign.
func unscaledBytes(v decimal128.Num) []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(v.HighBits()))
	binary.BigEndian.PutUint64(b[8:], v.LowBits())
	i := 0
	for i < 15 && (b[i] == 0 && b[i+1]&0x80 == 0 || b[i] == 0xff && b[i+1]&0x80 != 0) {
		i++
	}
	return b[i:]
}

func floorDivMod(v, d int64) (int64, int64) {
	q, r := v/d, v%d
	if r < 0 {
		q, r = q-1, r+d
	}
	return q, r
}

// murmurWords is Flink's MurmurHashUtil.hashBytesByWords: Murmur3 (32
// bits, seed 42) over the little-endian 4-byte words of b.
func murmurWords(b []byte) uint32 { return murmur3Words(b, 42) }

// murmur3Words is Murmur3 (x86, 32 bits) of b, whose length is a
// multiple of 4, with seed.
func murmur3Words(b []byte, seed uint32) uint32 {
	h := seed
	for i := 0; i+4 <= len(b); i += 4 {
		k := binary.LittleEndian.Uint32(b[i:])
		k *= 0xcc9e2d51
		k = bits.RotateLeft32(k, 15)
		k *= 0x1b873593
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	h ^= uint32(len(b))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
