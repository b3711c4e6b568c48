package exec

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Row hashing for Hash exchanges. The hash must be stable across processes
// (producers of one edge may run on different TaskManagers and must agree
// on the owner of every key), so it is computed from the values' bytes with
// fixed constants, never with a per-process seed. It is vectorized: one
// typed loop per key column folds that column into the hashes of all rows.

const (
	hashSeed  uint64 = 0x9e3779b97f4a7c15
	nullHash  uint64 = 0x5bd1e9955bd1e995
	bytesMul  uint64 = 0xff51afd7ed558ccd
	bytesInit uint64 = 0xcbf29ce484222325
)

// fmix64 is murmur3's finalizer: it spreads every input bit over the output.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// combine folds the hash of one column value into a row's hash.
func combine(h, v uint64) uint64 {
	return fmix64(h ^ (v + hashSeed + (h << 6) + (h >> 2)))
}

func hashBytes(p []byte) uint64 {
	h := bytesInit ^ uint64(len(p))
	for len(p) >= 8 {
		h = bits.RotateLeft64(h^binary.LittleEndian.Uint64(p), 29) * bytesMul
		p = p[8:]
	}
	for _, c := range p {
		h = (h ^ uint64(c)) * bytesMul
	}
	return fmix64(h)
}

func hashString(s string) uint64 {
	return hashBytes(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// hashRows sets hashes[i] to the hash of row i's key columns; len(hashes)
// must be b.NumRows().
func hashRows(b arrow.RecordBatch, keys []int, hashes []uint64) error {
	for i := range hashes {
		hashes[i] = hashSeed
	}
	for _, k := range keys {
		if err := hashColumn(b.Column(k), hashes); err != nil {
			return fmt.Errorf("hash key column %d: %w", k, err)
		}
	}
	return nil
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

func hashInts[T integer](vals []T, a arrow.Array, hashes []uint64) {
	if a.NullN() == 0 {
		for i, v := range vals {
			hashes[i] = combine(hashes[i], uint64(v))
		}
		return
	}
	for i, v := range vals {
		if a.IsNull(i) {
			hashes[i] = combine(hashes[i], nullHash)
		} else {
			hashes[i] = combine(hashes[i], uint64(v))
		}
	}
}

// floatBits makes values that SQL considers equal hash equally: -0 = 0 and
// every NaN is the same NaN.
func floatBits(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7ff8000000000001
	}
	return math.Float64bits(f)
}

func hashColumn(col arrow.Array, hashes []uint64) error {
	switch a := col.(type) {
	case *array.Int8:
		hashInts(a.Int8Values(), a, hashes)
	case *array.Int16:
		hashInts(a.Int16Values(), a, hashes)
	case *array.Int32:
		hashInts(a.Int32Values(), a, hashes)
	case *array.Int64:
		hashInts(a.Int64Values(), a, hashes)
	case *array.Uint8:
		hashInts(a.Uint8Values(), a, hashes)
	case *array.Uint16:
		hashInts(a.Uint16Values(), a, hashes)
	case *array.Uint32:
		hashInts(a.Uint32Values(), a, hashes)
	case *array.Uint64:
		hashInts(a.Uint64Values(), a, hashes)
	case *array.Date32:
		hashInts(a.Date32Values(), a, hashes)
	case *array.Date64:
		hashInts(a.Date64Values(), a, hashes)
	case *array.Time32:
		hashInts(a.Time32Values(), a, hashes)
	case *array.Time64:
		hashInts(a.Time64Values(), a, hashes)
	case *array.Timestamp:
		hashInts(a.TimestampValues(), a, hashes)
	case *array.Duration:
		hashInts(a.DurationValues(), a, hashes)
	case *array.MonthInterval:
		hashInts(a.MonthIntervalValues(), a, hashes)
	case *array.Float32:
		for i, v := range a.Float32Values() {
			hashes[i] = combine(hashes[i], nullOr(a, i, floatBits(float64(v))))
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			hashes[i] = combine(hashes[i], nullOr(a, i, floatBits(v)))
		}
	case *array.Boolean:
		for i := range hashes {
			v := uint64(0)
			if a.Value(i) {
				v = 1
			}
			hashes[i] = combine(hashes[i], nullOr(a, i, v))
		}
	case *array.Decimal128:
		for i, v := range a.Values() {
			hashes[i] = combine(hashes[i], nullOr(a, i, fmix64(v.LowBits())^uint64(v.HighBits())))
		}
	case *array.String:
		for i := range hashes {
			if a.IsNull(i) {
				hashes[i] = combine(hashes[i], nullHash)
			} else {
				hashes[i] = combine(hashes[i], hashString(a.Value(i)))
			}
		}
	case *array.Binary:
		for i := range hashes {
			if a.IsNull(i) {
				hashes[i] = combine(hashes[i], nullHash)
			} else {
				hashes[i] = combine(hashes[i], hashBytes(a.Value(i)))
			}
		}
	case *array.Null:
		for i := range hashes {
			hashes[i] = combine(hashes[i], nullHash)
		}
	case *array.Struct, array.ListLike:
		return hashNested(col, hashes)
	default:
		return fmt.Errorf("cannot hash values of type %s", col.DataType())
	}
	return nil
}

func nullOr(a arrow.Array, i int, v uint64) uint64 {
	if a.IsNull(i) {
		return nullHash
	}
	return v
}

// targetOf maps a row hash onto one of n targets through its key group,
// as Flink does (keyGroup * parallelism / maxParallelism): every key group
// belongs to exactly one target, so keyed state snapshotted by key group
// can be handed to the subtasks of a different parallelism on restore.
func targetOf(h uint64, n int) int {
	return KeyGroupOf(h) * n / KeyGroups
}
