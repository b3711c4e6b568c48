package agg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Values of one physical class are handled by code generic over their Go
// type T: fixed-width Arrow columns are read as []T views of their data
// buffer (temporal types as the integers they are stored as), strings and
// binaries as []string views, booleans as []bool. What differs between
// classes (ordering, equality, copying into state, encoding) sits in an
// ops[T] implementation chosen once per column, so the per-row loops are
// typed and never box values.

// ops are the type-specific operations on values of T.
type ops[T comparable] interface {
	less(a, b T) bool
	// same reports whether a and b are the same result (NaN = NaN).
	same(a, b T) bool
	// own copies v so state can keep it after the batch is released.
	own(v T) T
	put(dst []byte, v T) []byte
	get(src []byte) (T, []byte, error)
	// hash mixes v for hash tables: values equal under == hash alike.
	hash(v T) uint64
}

// fibonacci spreads integer keys over a table's high bits (Fibonacci
// hashing: tables index by the top bits of the product).
const fibonacci = 0x9E3779B97F4A7C15

// strSeed seeds the hashes of strings; state never stores them.
var strSeed = maphash.MakeSeed()

type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~float32 | ~float64
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64
}

type intOps[T integer] struct{}

func (intOps[T]) less(a, b T) bool           { return a < b }
func (intOps[T]) same(a, b T) bool           { return a == b }
func (intOps[T]) own(v T) T                  { return v }
func (intOps[T]) put(dst []byte, v T) []byte { return binary.AppendVarint(dst, int64(v)) }
func (intOps[T]) hash(v T) uint64            { return uint64(int64(v)) * fibonacci }
func (intOps[T]) get(src []byte) (T, []byte, error) {
	v, n := binary.Varint(src)
	if n <= 0 {
		return 0, nil, errCorrupt
	}
	return T(v), src[n:], nil
}

type floatOps[T ~float32 | ~float64] struct{}

// less orders NaN above every number, as Flink's comparisons of doubles do.
func (floatOps[T]) less(a, b T) bool {
	if a != a {
		return false
	}
	return b != b || a < b
}
func (floatOps[T]) same(a, b T) bool { return a == b || (a != a && b != b) }
func (floatOps[T]) own(v T) T        { return v }

// hash gives -0 and +0, equal under ==, one hash.
func (floatOps[T]) hash(v T) uint64 {
	if v == 0 {
		return 0
	}
	return math.Float64bits(float64(v)) * fibonacci
}
func (floatOps[T]) put(dst []byte, v T) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(float64(v)))
}
func (floatOps[T]) get(src []byte) (T, []byte, error) {
	if len(src) < 8 {
		return 0, nil, errCorrupt
	}
	return T(math.Float64frombits(binary.LittleEndian.Uint64(src))), src[8:], nil
}

type decOps struct{}

func (decOps) less(a, b decimal128.Num) bool { return a.Less(b) }
func (decOps) same(a, b decimal128.Num) bool { return a == b }
func (decOps) own(v decimal128.Num) decimal128.Num {
	return v
}
func (decOps) hash(v decimal128.Num) uint64 {
	return (v.LowBits() ^ uint64(v.HighBits())*fibonacci) * fibonacci
}
func (decOps) put(dst []byte, v decimal128.Num) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, v.LowBits())
	return binary.LittleEndian.AppendUint64(dst, uint64(v.HighBits()))
}
func (decOps) get(src []byte) (decimal128.Num, []byte, error) {
	if len(src) < 16 {
		return decimal128.Num{}, nil, errCorrupt
	}
	lo := binary.LittleEndian.Uint64(src)
	hi := int64(binary.LittleEndian.Uint64(src[8:]))
	return decimal128.New(hi, lo), src[16:], nil
}

type boolOps struct{}

func (boolOps) less(a, b bool) bool { return !a && b }
func (boolOps) same(a, b bool) bool { return a == b }
func (boolOps) own(v bool) bool     { return v }
func (boolOps) hash(v bool) uint64 {
	if v {
		return fibonacci
	}
	return 0
}
func (boolOps) put(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}
func (boolOps) get(src []byte) (bool, []byte, error) {
	if len(src) < 1 {
		return false, nil, errCorrupt
	}
	return src[0] == 1, src[1:], nil
}

type strOps struct{}

func (strOps) less(a, b string) bool { return a < b }
func (strOps) same(a, b string) bool { return a == b }
func (strOps) own(v string) string   { return strings.Clone(v) }
func (strOps) hash(v string) uint64  { return maphash.String(strSeed, v) }
func (strOps) put(dst []byte, v string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}
func (strOps) get(src []byte) (string, []byte, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || uint64(len(src)-k) < n {
		return "", nil, errCorrupt
	}
	return string(src[k : k+int(n)]), src[k+int(n):], nil
}

var errCorrupt = errors.New("agg: corrupt state")

// physical is the class of Go type that carries values of an Arrow type.
type physical uint8

const (
	physInvalid physical = iota
	physInt8
	physInt16
	physInt32
	physInt64
	physFloat32
	physFloat64
	physDecimal
	physBool
	physString
)

func physicalOf(dt arrow.DataType) physical {
	switch dt.ID() {
	case arrow.INT8:
		return physInt8
	case arrow.INT16:
		return physInt16
	case arrow.INT32, arrow.DATE32, arrow.TIME32, arrow.INTERVAL_MONTHS:
		return physInt32
	case arrow.INT64, arrow.DATE64, arrow.TIME64, arrow.TIMESTAMP, arrow.DURATION:
		return physInt64
	case arrow.FLOAT32:
		return physFloat32
	case arrow.FLOAT64:
		return physFloat64
	case arrow.DECIMAL128:
		return physDecimal
	case arrow.BOOL:
		return physBool
	case arrow.STRING, arrow.BINARY:
		return physString
	}
	return physInvalid
}

// validity reads a column's null bitmap without an interface call per row.
type validity struct {
	bits []byte
	off  int
}

func validityOf(a arrow.Array) validity {
	if a.NullN() == 0 {
		return validity{}
	}
	return validity{bits: a.NullBitmapBytes(), off: a.Data().Offset()}
}

func (v validity) ok(i int) bool {
	return v.bits == nil || bitutil.BitIsSet(v.bits, v.off+i)
}

// andBits clears act[i] where bit off+i of bits is 0, eight rows at a
// time from the first byte boundary: a bool is one byte holding 0 or 1,
// so a byte of the bitmap spreads (byteBools) into the eight bools it
// ANDs, in one uint64 (a FILTER applies to every row of a batch, and its
// bits were unpacked one by one).
func andBits(act []bool, bits []byte, off int) {
	i := 0
	for ; i < len(act) && (off+i)%8 != 0; i++ {
		act[i] = act[i] && bitutil.BitIsSet(bits, off+i)
	}
	for ; i+8 <= len(act); i += 8 {
		p := (*[8]byte)(unsafe.Pointer(&act[i]))
		binary.LittleEndian.PutUint64(p[:], binary.LittleEndian.Uint64(p[:])&byteBools[bits[(off+i)/8]])
	}
	for ; i < len(act); i++ {
		act[i] = act[i] && bitutil.BitIsSet(bits, off+i)
	}
}

// byteBools[b] holds, little-endian, eight bytes set to the bits of b.
var byteBools = func() (t [256]uint64) {
	for b := range 256 {
		for k := range 8 {
			t[b] |= uint64(b>>k&1) << (8 * k)
		}
	}
	return t
}()

// viewer turns a column into a []T, reusing scratch where a view needs
// copying (strings, booleans). The slice is valid while the column is.
type viewer[T comparable] struct{ scratch []T }

func (w *viewer[T]) view(a arrow.Array) []T {
	n := a.Len()
	switch c := a.(type) {
	case *array.String:
		s := w.strings(n)
		for i := range n {
			s[i] = c.Value(i)
		}
		return any(s).([]T)
	case *array.Binary:
		s := w.strings(n)
		for i := range n {
			b := c.Value(i)
			s[i] = unsafe.String(unsafe.SliceData(b), len(b))
		}
		return any(s).([]T)
	case *array.Boolean:
		if cap(w.scratch) < n {
			w.scratch = make([]T, n)
		}
		s := any(w.scratch[:n]).([]bool)
		for i := range n {
			s[i] = c.Value(i)
		}
		return any(s).([]T)
	}
	return fixedView[T](a)
}

func (w *viewer[T]) strings(n int) []string {
	if cap(w.scratch) < n {
		w.scratch = make([]T, n)
	}
	return any(w.scratch[:n]).([]string)
}

// fixedView reinterprets a fixed-width column's data buffer as []T.
func fixedView[T any](a arrow.Array) []T {
	d := a.Data()
	buf := d.Buffers()[1]
	if buf == nil || a.Len() == 0 {
		return nil
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	b := buf.Bytes()
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/size)
	return all[d.Offset() : d.Offset()+a.Len()]
}

// buildColumn makes a string, binary or boolean Arrow column of type dt
// from values and their validity (fixed-width results are gathered
// straight into their buffers by results.build).
func buildColumn[T comparable](mem memory.Allocator, dt arrow.DataType, vals []T, valid []bool) arrow.Array {
	n := len(vals)
	switch dt.ID() {
	case arrow.STRING:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		s := any(vals).([]string)
		b.Reserve(n)
		for i, v := range s {
			if valid[i] {
				b.Append(v)
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray()
	case arrow.BINARY:
		b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
		defer b.Release()
		s := any(vals).([]string)
		b.Reserve(n)
		for i, v := range s {
			if valid[i] {
				b.Append([]byte(v))
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray()
	case arrow.BOOL:
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		s := any(vals).([]bool)
		b.Reserve(n)
		for i, v := range s {
			if valid[i] {
				b.UnsafeAppend(v)
			} else {
				b.UnsafeAppendBoolToBitmap(false)
			}
		}
		return b.NewArray()
	}
	panic(fmt.Sprintf("agg: buildColumn of %s", dt))
}

// results records, for every row of a batch, the result of its group's
// aggregate before and after the row was applied.
type results[T comparable] struct {
	before, after []T
	bOK, aOK      []bool
	// scratch of build
	vals []T
	ok   []bool
}

func (r *results[T]) reset(n int) {
	if cap(r.before) < n {
		r.before, r.after = make([]T, n), make([]T, n)
		r.bOK, r.aOK = make([]bool, n), make([]bool, n)
	}
	r.before, r.after = r.before[:n], r.after[:n]
	r.bOK, r.aOK = r.bOK[:n], r.aOK[:n]
}

func markChanged[T comparable, O ops[T]](r *results[T], changed []bool) {
	var o O
	for i := range changed {
		if r.bOK[i] != r.aOK[i] || (r.aOK[i] && !o.same(r.before[i], r.after[i])) {
			changed[i] = true
		}
	}
}

func (r *results[T]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	n := len(rows)
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.BOOL:
		if cap(r.vals) < n {
			r.vals, r.ok = make([]T, n), make([]bool, n)
		}
		vals, ok := r.vals[:n], r.ok[:n]
		for j, i := range rows {
			if before[j] {
				vals[j], ok[j] = r.before[i], r.bOK[i]
			} else {
				vals[j], ok[j] = r.after[i], r.aOK[i]
			}
		}
		col := buildColumn(mem, dt, vals, ok)
		clear(vals) // drop references to strings of dropped groups
		return col
	}
	// Fixed width: gather straight into the column's buffers.
	var zero T
	data := memory.NewResizableBuffer(mem)
	data.Resize(n * int(unsafe.Sizeof(zero)))
	vals := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(data.Bytes()))), n)
	nulls := 0
	for j, i := range rows {
		if before[j] {
			vals[j] = r.before[i]
			if !r.bOK[i] {
				nulls++
			}
		} else {
			vals[j] = r.after[i]
			if !r.aOK[i] {
				nulls++
			}
		}
	}
	var bm *memory.Buffer
	if nulls > 0 {
		bm = memory.NewResizableBuffer(mem)
		bm.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := bm.Bytes()
		clear(bits)
		for j, i := range rows {
			if (before[j] && r.bOK[i]) || (!before[j] && r.aOK[i]) {
				bitutil.SetBit(bits, j)
			}
		}
	}
	d := array.NewData(dt, n, []*memory.Buffer{bm, data}, nil, nulls, 0)
	data.Release()
	if bm != nil {
		bm.Release()
	}
	defer d.Release()
	return array.MakeFromData(d)
}

func growTo[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	if cap(s) >= n {
		return s[:n]
	}
	return append(s[:cap(s)], make([]T, n-cap(s))...)
}

func putInt(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }

func getInt(src []byte) (int64, []byte, error) {
	v, n := binary.Varint(src)
	if n <= 0 {
		return 0, nil, errCorrupt
	}
	return v, src[n:], nil
}

func putBool(dst []byte, v bool) []byte { return boolOps{}.put(dst, v) }
func getBool(src []byte) (bool, []byte, error) {
	return boolOps{}.get(src)
}

// getLen reads the length of a list as putInt wrote it, refusing a length
// the rest of src cannot hold (every entry takes a byte at least), so
// that a corrupt state fails rather than allocating without bound.
func getLen(src []byte) (int64, []byte, error) {
	n, src, err := getInt(src)
	if err != nil {
		return 0, nil, err
	}
	if n < 0 || n > int64(len(src)) {
		return 0, nil, fmt.Errorf("aggregate state: a list of %d values", n)
	}
	return n, src, nil
}

// putValues writes a list of values: its length, then each value.
func putValues[T comparable, O ops[T]](dst []byte, vs []T) []byte {
	var o O
	dst = putInt(dst, int64(len(vs)))
	for _, v := range vs {
		dst = o.put(dst, v)
	}
	return dst
}

// getValues reads what putValues wrote.
func getValues[T comparable, O ops[T]](src []byte) ([]T, []byte, error) {
	var o O
	n, src, err := getLen(src)
	if err != nil {
		return nil, nil, err
	}
	vs := make([]T, n)
	for j := range vs {
		if vs[j], src, err = o.get(src); err != nil {
			return nil, nil, err
		}
	}
	return vs, src, nil
}

// putMaybe writes a value that may be missing (NULL, or none yet):
// whether it is there, then the value when it is.
func putMaybe[T comparable, O ops[T]](dst []byte, v T, ok bool) []byte {
	var o O
	dst = putBool(dst, ok)
	if ok {
		dst = o.put(dst, v)
	}
	return dst
}

// getMaybe reads what putMaybe wrote; v is T's zero value when ok is
// false.
func getMaybe[T comparable, O ops[T]](src []byte) (v T, ok bool, rest []byte, err error) {
	var o O
	if ok, src, err = getBool(src); err != nil || !ok {
		return v, false, src, err
	}
	v, src, err = o.get(src)
	return v, err == nil, src, err
}

func unsupported(fn string, dt arrow.DataType) error {
	return fmt.Errorf("aggregate %s does not support values of type %s", fn, dt)
}
