package exec

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/internal/errs"
)

// The window aggregate works on columns decoded into a few typed slices
// (int64, float64, decimal128, string), so that its grouping, key
// comparison and accumulator loops are written once per physical kind and
// not once per Arrow type, and never dispatch per row.

// vkind is the physical kind a column is processed as.
type vkind uint8

const (
	// vkInt holds integers, booleans (0/1), dates, times, timestamps and
	// durations as int64.
	vkInt vkind = iota
	vkFloat
	vkDec
	// vkStr holds strings and binary strings.
	vkStr
)

func kindOf(dt arrow.DataType) (vkind, error) {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32,
		arrow.BOOL, arrow.DATE32, arrow.DATE64, arrow.TIME32, arrow.TIME64, arrow.TIMESTAMP,
		arrow.DURATION, arrow.INTERVAL_MONTHS:
		return vkInt, nil
	case arrow.FLOAT32, arrow.FLOAT64:
		return vkFloat, nil
	case arrow.DECIMAL128:
		return vkDec, nil
	case arrow.STRING, arrow.BINARY:
		return vkStr, nil
	}
	return 0, errs.New(errs.NotSupported, "window aggregate does not support values of type %s", dt)
}

// colView is one column decoded into the slice of its kind. Strings are
// views into the batch's buffers, valid only while the batch is: whatever
// keeps them clones them. valid is nil when the column has no NULLs.
type colView struct {
	kind   vkind
	ints   []int64
	floats []float64
	decs   []decimal128.Num
	strs   []string
	valid  []bool
	// scale is the scale of decimal values.
	scale int32
	// scaled is scratch for decsAt.
	scaled []decimal128.Num
	// nested and nestedEnds hold the encodings of a nested column's values,
	// which strs points into (see nested_values.go).
	nested     []byte
	nestedEnds []int
	// stored is set by storedView, whose strings are read from the
	// store's arena (strAt) rather than from strs.
	stored *slotValues
}

// strAt returns the string of row i.
func (v *colView) strAt(i int) string {
	if v.stored != nil {
		return v.stored.str(int32(i))
	}
	return v.strs[i]
}

// decsAt returns the decimal values at the given scale (never smaller than
// the column's: accumulators work at their result's scale, which is at
// least the argument's).
func (v *colView) decsAt(scale int32) []decimal128.Num {
	if scale <= v.scale {
		return v.decs
	}
	v.scaled = resize(v.scaled, len(v.decs))
	for i, d := range v.decs {
		v.scaled[i] = d.IncreaseScaleBy(scale - v.scale)
	}
	return v.scaled
}

// repeat sets dst to v with every row repeated k times.
func (v *colView) repeat(k int, dst *colView) {
	dst.kind, dst.scale = v.kind, v.scale
	switch v.kind {
	case vkInt:
		dst.ints = repeatInto(dst.ints, v.ints, k)
	case vkFloat:
		dst.floats = repeatInto(dst.floats, v.floats, k)
	case vkDec:
		dst.decs = repeatInto(dst.decs, v.decs, k)
	case vkStr:
		dst.strs = repeatInto(dst.strs, v.strs, k)
	}
	dst.valid = nil
	if v.valid != nil {
		dst.valid = repeatInto(dst.valid[:0], v.valid, k)
	}
}

func repeatInto[T any](dst, src []T, k int) []T {
	dst = resize(dst, len(src)*k)
	for i, x := range src {
		for j := range k {
			dst[i*k+j] = x
		}
	}
	return dst
}

// sub is rows [from, to) of v.
func (v *colView) sub(from, to int) colView {
	s := colView{kind: v.kind, scale: v.scale}
	switch v.kind {
	case vkInt:
		s.ints = v.ints[from:to]
	case vkFloat:
		s.floats = v.floats[from:to]
	case vkDec:
		s.decs = v.decs[from:to]
	case vkStr:
		s.strs = v.strs[from:to]
	}
	if v.valid != nil {
		s.valid = v.valid[from:to]
	}
	return s
}

func (v *colView) isValid(i int) bool { return v.valid == nil || v.valid[i] }

func widen[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | arrow.Date32 | arrow.Date64 |
	arrow.Time32 | arrow.Time64 | arrow.Timestamp | arrow.Duration | arrow.MonthInterval](dst []int64, src []T) {
	for i, x := range src {
		dst[i] = int64(x)
	}
}

// load decodes a into v, reusing v's slices.
func (v *colView) load(a arrow.Array) error {
	n := a.Len()
	k, err := storeKindOf(a.DataType())
	if err != nil {
		return err
	}
	v.kind = k
	if isNested(a.DataType()) {
		if err := v.encodeNestedColumn(a); err != nil {
			return err
		}
		v.loadValid(a)
		return nil
	}
	switch k {
	case vkInt:
		v.ints = resize(v.ints, n)
	case vkFloat:
		v.floats = resize(v.floats, n)
	case vkStr:
		v.strs = resize(v.strs, n)
	}
	switch c := a.(type) {
	case *array.Int8:
		widen(v.ints, c.Int8Values())
	case *array.Int16:
		widen(v.ints, c.Int16Values())
	case *array.Int32:
		widen(v.ints, c.Int32Values())
	case *array.Int64:
		copy(v.ints, c.Int64Values())
	case *array.Uint8:
		widen(v.ints, c.Uint8Values())
	case *array.Uint16:
		widen(v.ints, c.Uint16Values())
	case *array.Uint32:
		widen(v.ints, c.Uint32Values())
	case *array.Date32:
		widen(v.ints, c.Date32Values())
	case *array.Date64:
		widen(v.ints, c.Date64Values())
	case *array.Time32:
		widen(v.ints, c.Time32Values())
	case *array.Time64:
		widen(v.ints, c.Time64Values())
	case *array.Timestamp:
		widen(v.ints, c.TimestampValues())
	case *array.Duration:
		widen(v.ints, c.DurationValues())
	case *array.MonthInterval:
		widen(v.ints, c.MonthIntervalValues())
	case *array.Boolean:
		for i := range n {
			v.ints[i] = 0
			if c.Value(i) {
				v.ints[i] = 1
			}
		}
	case *array.Float32:
		for i, x := range c.Float32Values() {
			v.floats[i] = float64(x)
		}
	case *array.Float64:
		copy(v.floats, c.Float64Values())
	case *array.Decimal128:
		v.decs = c.Values()
		v.scale = c.DataType().(*arrow.Decimal128Type).Scale
	case *array.String:
		for i := range n {
			v.strs[i] = c.Value(i)
		}
	case *array.Binary:
		for i := range n {
			b := c.Value(i)
			v.strs[i] = unsafe.String(unsafe.SliceData(b), len(b))
		}
	default:
		return errs.New(errs.NotSupported, "window aggregate does not support values of type %s", a.DataType())
	}
	v.loadValid(a)
	return nil
}

// loadValid sets v.valid from a's validity.
func (v *colView) loadValid(a arrow.Array) {
	n := a.Len()
	v.valid = v.valid[:0]
	if a.NullN() > 0 {
		v.valid = resize(v.valid, n)
		for i := range n {
			v.valid[i] = a.IsValid(i)
		}
	} else {
		v.valid = nil
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, 2*cap(s)))
	}
	return s[:n]
}

// reset empties v for n values of kind k, all NULL, to be filled by an
// accumulator's result.
func (v *colView) reset(k vkind, n int) {
	v.kind = k
	switch k {
	case vkInt:
		v.ints = resize(v.ints, n)
	case vkFloat:
		v.floats = resize(v.floats, n)
	case vkDec:
		v.decs = resize(v.decs, n)
	case vkStr:
		v.strs = resize(v.strs, n)
	}
	v.valid = resize(v.valid, n)
	clear(v.valid)
}

// buildArray builds an array of type dt from v (as produced by an
// accumulator's result or a gather of stored keys). Integer results of
// float computations (the STDDEV family over integers) truncate, as a
// Java cast does.
func buildArray(mem memory.Allocator, dt arrow.DataType, v *colView, n int) (arrow.Array, error) {
	if a := buildDirect(mem, dt, v, n); a != nil {
		return a, nil
	}
	bld := array.NewBuilder(mem, dt)
	defer bld.Release()
	bld.Reserve(n)
	ok := func(i int) bool { return v.valid == nil || v.valid[i] }
	asInt := func(i int) int64 {
		if v.kind == vkFloat {
			return int64(v.floats[i])
		}
		return v.ints[i]
	}
	switch b := bld.(type) {
	case *array.Int8Builder:
		appendTyped(b, n, ok, func(i int) int8 { return int8(asInt(i)) })
	case *array.Int16Builder:
		appendTyped(b, n, ok, func(i int) int16 { return int16(asInt(i)) })
	case *array.Int32Builder:
		appendTyped(b, n, ok, func(i int) int32 { return int32(asInt(i)) })
	case *array.Int64Builder:
		appendTyped(b, n, ok, asInt)
	case *array.Uint8Builder:
		appendTyped(b, n, ok, func(i int) uint8 { return uint8(asInt(i)) })
	case *array.Uint16Builder:
		appendTyped(b, n, ok, func(i int) uint16 { return uint16(asInt(i)) })
	case *array.Uint32Builder:
		appendTyped(b, n, ok, func(i int) uint32 { return uint32(asInt(i)) })
	case *array.BooleanBuilder:
		appendTyped(b, n, ok, func(i int) bool { return v.ints[i] != 0 })
	case *array.Date32Builder:
		appendTyped(b, n, ok, func(i int) arrow.Date32 { return arrow.Date32(v.ints[i]) })
	case *array.Date64Builder:
		appendTyped(b, n, ok, func(i int) arrow.Date64 { return arrow.Date64(v.ints[i]) })
	case *array.Time32Builder:
		appendTyped(b, n, ok, func(i int) arrow.Time32 { return arrow.Time32(v.ints[i]) })
	case *array.Time64Builder:
		appendTyped(b, n, ok, func(i int) arrow.Time64 { return arrow.Time64(v.ints[i]) })
	case *array.TimestampBuilder:
		appendTyped(b, n, ok, func(i int) arrow.Timestamp { return arrow.Timestamp(v.ints[i]) })
	case *array.DurationBuilder:
		appendTyped(b, n, ok, func(i int) arrow.Duration { return arrow.Duration(v.ints[i]) })
	case *array.MonthIntervalBuilder:
		appendTyped(b, n, ok, func(i int) arrow.MonthInterval { return arrow.MonthInterval(v.ints[i]) })
	case *array.Float32Builder:
		appendTyped(b, n, ok, func(i int) float32 { return float32(v.floats[i]) })
	case *array.Float64Builder:
		appendTyped(b, n, ok, func(i int) float64 { return v.floats[i] })
	case *array.Decimal128Builder:
		t := dt.(*arrow.Decimal128Type)
		if v.kind == vkFloat {
			for i := range n {
				if !ok(i) {
					b.AppendNull()
					continue
				}
				d, err := decimal128.FromFloat64(v.floats[i], t.Precision, t.Scale)
				if err != nil {
					return nil, errs.Wrap(errs.NumericOutOfRange, err, "aggregate result does not fit %s", dt)
				}
				b.Append(d)
			}
		} else {
			appendTyped(b, n, ok, func(i int) decimal128.Num { return v.decs[i] })
		}
	case *array.StringBuilder:
		appendTyped(b, n, ok, func(i int) string { return v.strs[i] })
	case *array.BinaryBuilder:
		appendTyped(b, n, ok, func(i int) []byte { return []byte(v.strs[i]) })
	case *array.StructBuilder, array.ListLikeBuilder:
		if err := appendEncoded(b, v, n); err != nil {
			return nil, err
		}
	default:
		return nil, errs.New(errs.NotSupported, "window aggregate cannot produce values of type %s", dt)
	}
	return bld.NewArray(), nil
}

type appender[T any] interface {
	Append(T)
	AppendNull()
}

func appendTyped[T any](b appender[T], n int, ok func(int) bool, val func(int) T) {
	for i := range n {
		if ok(i) {
			b.Append(val(i))
		} else {
			b.AppendNull()
		}
	}
}

// slotValues stores one value per slot for a key column: typed slices
// indexed by slot, valid[slot] false for NULL. Strings are refs into
// arena (read them with str); a slot not holding a string (free, NULL)
// holds the empty ref. None of the slices holds a pointer, so the garbage
// collector never scans a store's values, however large the state grows.
type slotValues struct {
	kind   vkind
	ints   []int64
	floats []float64
	decs   []decimal128.Num
	refs   []strRef
	valid  []bool
	arena  strArena
}

// str returns the string of slot sl (a view of the arena's bytes).
func (s *slotValues) str(sl int32) string { return s.arena.get(s.refs[sl]) }

func (s *slotValues) grow(n int) {
	s.valid = growTo(s.valid, n)
	switch s.kind {
	case vkInt:
		s.ints = growTo(s.ints, n)
	case vkFloat:
		s.floats = growTo(s.floats, n)
	case vkDec:
		s.decs = growTo(s.decs, n)
	case vkStr:
		s.refs = growTo(s.refs, n)
	}
}

func growTo[T any](s []T, n int) []T {
	if len(s) >= n {
		return s
	}
	if cap(s) >= n {
		return s[:n]
	}
	out := make([]T, n, max(n, 2*cap(s)))
	copy(out, s)
	return out
}

// slotCapacity is the number of slots a store whose per-slot slices hold
// have slots grows them to when it needs n: at least double, so that a
// store hands out slots with no per-slot growth check on each of its
// slices and grows them all at once, an amortized constant cost per slot.
func slotCapacity(have, n int) int { return max(n, 2*have, 64) }

// setRow copies row i of v into slot (copying strings out of the batch
// into the arena).
func (s *slotValues) setRow(slot int32, v *colView, i int) {
	if !v.isValid(i) {
		s.valid[slot] = false
		s.clearSlot(slot)
		return
	}
	s.valid[slot] = true
	switch s.kind {
	case vkInt:
		s.ints[slot] = v.ints[i]
	case vkFloat:
		s.floats[slot] = v.floats[i]
	case vkDec:
		s.decs[slot] = v.decs[i]
	case vkStr:
		s.setStr(slot, v.strs[i])
	}
}

// setRows is setRow for many rows: row rows[k] of v into slot slots[k],
// one typed loop per kind.
func (s *slotValues) setRows(slots []int32, v *colView, rows []int32) {
	if v.valid == nil {
		for _, sl := range slots {
			s.valid[sl] = true
		}
	} else {
		for k, sl := range slots {
			s.valid[sl] = v.valid[rows[k]]
		}
	}
	switch s.kind {
	case vkInt:
		for k, sl := range slots {
			s.ints[sl] = v.ints[rows[k]]
		}
	case vkFloat:
		for k, sl := range slots {
			s.floats[sl] = v.floats[rows[k]]
		}
	case vkDec:
		for k, sl := range slots {
			s.decs[sl] = v.decs[rows[k]]
		}
	case vkStr:
		// setStr per row, with the arena's compaction check once for all.
		for k, sl := range slots {
			s.arena.release(s.refs[sl])
			if s.valid[sl] {
				s.refs[sl] = s.arena.put(v.strs[rows[k]])
			} else {
				s.refs[sl] = strRef{}
			}
		}
		if s.arena.wasteful() {
			s.compact()
		}
	}
}

// setStr stores a copy of x in slot.
func (s *slotValues) setStr(slot int32, x string) {
	s.arena.release(s.refs[slot])
	s.refs[slot] = s.arena.put(x)
	if s.arena.wasteful() {
		s.compact()
	}
}

// compact copies the strings the slots hold into fresh chunks, leaving
// the old chunks, and the bytes of replaced and freed strings in them, to
// the garbage collector (once no batch built from them needs them).
func (s *slotValues) compact() {
	old := s.arena
	s.arena = strArena{}
	for i, r := range s.refs {
		if r.n > 0 {
			s.refs[i] = s.arena.put(old.get(r))
		}
	}
}

func (s *slotValues) copySlot(dst, src int32) {
	s.valid[dst] = s.valid[src]
	switch s.kind {
	case vkInt:
		s.ints[dst] = s.ints[src]
	case vkFloat:
		s.floats[dst] = s.floats[src]
	case vkDec:
		s.decs[dst] = s.decs[src]
	case vkStr:
		// The slots share the bytes; each counts them as live, so that
		// releasing both balances.
		s.arena.release(s.refs[dst])
		s.refs[dst] = s.refs[src]
		s.arena.live += int64(s.refs[src].n)
	}
}

func (s *slotValues) clearSlot(slot int32) {
	if s.kind == vkStr {
		s.arena.release(s.refs[slot])
		s.refs[slot] = strRef{}
	}
}

// equalSlots reports whether two slots hold the same key value (NULLs are
// equal, as GROUP BY treats them; floats compare as the hash does).
func (s *slotValues) equalSlots(a, b int32) bool {
	if s.valid[a] != s.valid[b] {
		return false
	}
	if !s.valid[a] {
		return true
	}
	switch s.kind {
	case vkInt:
		return s.ints[a] == s.ints[b]
	case vkFloat:
		return floatBits(s.floats[a]) == floatBits(s.floats[b])
	case vkDec:
		return s.decs[a] == s.decs[b]
	}
	return s.str(a) == s.str(b)
}

// equalRow reports whether slot holds row i's value of v.
func (s *slotValues) equalRow(slot int32, v *colView, i int) bool {
	if v.isValid(i) != s.valid[slot] {
		return false
	}
	if !s.valid[slot] {
		return true
	}
	switch s.kind {
	case vkInt:
		return s.ints[slot] == v.ints[i]
	case vkFloat:
		return floatBits(s.floats[slot]) == floatBits(v.floats[i])
	case vkDec:
		return s.decs[slot] == v.decs[i]
	}
	return s.str(slot) == v.strs[i]
}

// verify clears ok[i] for every row i whose slot slots[i] (>= 0) does not
// hold row i's value of v: one typed loop per kind.
func (s *slotValues) verify(v *colView, slots []int32, ok []bool) {
	rowValid := func(i int) bool { return v.valid == nil || v.valid[i] }
	for i, sl := range slots {
		if sl < 0 || !ok[i] {
			continue
		}
		rv := rowValid(i)
		if rv != s.valid[sl] {
			ok[i] = false
			continue
		}
		if !rv {
			continue
		}
		switch s.kind {
		case vkInt:
			ok[i] = s.ints[sl] == v.ints[i]
		case vkFloat:
			ok[i] = floatBits(s.floats[sl]) == floatBits(v.floats[i])
		case vkDec:
			ok[i] = s.decs[sl] == v.decs[i]
		case vkStr:
			ok[i] = s.str(sl) == v.strs[i]
		}
	}
}

// gather copies the values of slots into v.
func (s *slotValues) gather(slots []int32, v *colView) {
	v.reset(s.kind, len(slots))
	for i, sl := range slots {
		v.valid[i] = s.valid[sl]
		switch s.kind {
		case vkInt:
			v.ints[i] = s.ints[sl]
		case vkFloat:
			v.floats[i] = s.floats[sl]
		case vkDec:
			v.decs[i] = s.decs[sl]
		case vkStr:
			v.strs[i] = s.str(sl)
		}
	}
}

func (s *slotValues) encode(w *wbuf, slot int32) {
	if !s.valid[slot] {
		w.byte(0)
		return
	}
	w.byte(1)
	switch s.kind {
	case vkInt:
		w.varint(s.ints[slot])
	case vkFloat:
		w.f64(s.floats[slot])
	case vkDec:
		w.dec(s.decs[slot])
	case vkStr:
		w.str(s.str(slot))
	}
}

func (s *slotValues) decode(r *rbuf, slot int32) {
	s.valid[slot] = r.byte() == 1
	if !s.valid[slot] {
		s.clearSlot(slot)
		return
	}
	switch s.kind {
	case vkInt:
		s.ints[slot] = r.varint()
	case vkFloat:
		s.floats[slot] = r.f64()
	case vkDec:
		s.decs[slot] = r.dec()
	case vkStr:
		// setStr copies the bytes: they are not kept as a view into the
		// snapshot.
		b := r.bytes(r.uvarint())
		s.setStr(slot, unsafe.String(unsafe.SliceData(b), len(b)))
	}
}

// strArena holds the bytes of the strings a slotValues keeps: copied into
// large chunks rather than allocated one by one, and addressed by strRefs
// rather than by string headers, so that storing a row allocates nothing
// and the state holds no pointers (allocation, write barriers and
// garbage-collector scans of the stored strings made up much of the
// stateful operators' time). A chunk's bytes are never written once
// taken, so strings handed out (to output batches' views) stay valid
// whatever the arena does later. Bytes of replaced or freed strings stay
// in their chunk until the slotValues compacts: when the bytes copied
// since the last compaction exceed twice the live ones (plus some slack),
// it copies the live strings into fresh chunks, so memory stays within a
// constant factor of the state's strings at an amortized constant cost
// per copied byte.
type strArena struct {
	chunks [][]byte // bytes up to each chunk's len are taken
	// cur+1 is the shared chunk being filled (0: none yet), so that the
	// zero arena is empty.
	cur  int
	used int64 // bytes copied since the last compaction
	live int64 // bytes of the strings the slots hold
}

// strRef addresses a string of an arena: n bytes from off in chunk c. The
// zero ref is the empty string.
type strRef struct{ c, off, n uint32 }

const (
	arenaChunk = 64 << 10
	// Strings at least this long get a chunk of their own, so that a
	// shared chunk holds many strings and little of it is left unused.
	arenaLarge = arenaChunk / 8
	arenaSlack = 4 << 20
)

// put copies x into the arena. A ref's 32-bit length holds any value of
// the Arrow STRING and BINARY arrays values come from, whose offsets are
// 32-bit too.
func (a *strArena) put(x string) strRef {
	n := len(x)
	if n == 0 {
		return strRef{}
	}
	a.used += int64(n)
	a.live += int64(n)
	if n >= arenaLarge {
		a.chunks = append(a.chunks, []byte(x))
		return strRef{c: uint32(len(a.chunks) - 1), n: uint32(n)}
	}
	c := a.cur - 1
	if c < 0 || cap(a.chunks[c])-len(a.chunks[c]) < n {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
		c = len(a.chunks) - 1
		a.cur = c + 1
	}
	off := len(a.chunks[c])
	a.chunks[c] = append(a.chunks[c], x...)
	return strRef{c: uint32(c), off: uint32(off), n: uint32(n)}
}

// get returns the string r addresses, a view of the arena's bytes.
func (a *strArena) get(r strRef) string {
	if r.n == 0 {
		return ""
	}
	return unsafe.String(&a.chunks[r.c][r.off], r.n)
}

// release records that a slot no longer holds r.
func (a *strArena) release(r strRef) { a.live -= int64(r.n) }

// wasteful reports whether the chunks hold enough dead bytes to compact.
func (a *strArena) wasteful() bool { return a.used > 2*a.live+arenaSlack }

// wbuf and rbuf encode operator state. rbuf records the first error (a
// truncated or corrupt snapshot) and returns zero values after it, so
// decoders check r.err once at the end.
type wbuf struct{ b []byte }

func (w *wbuf) byte(c byte)      { w.b = append(w.b, c) }
func (w *wbuf) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *wbuf) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *wbuf) u64(v uint64)     { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *wbuf) f64(v float64)    { w.u64(math.Float64bits(v)) }
func (w *wbuf) dec(d decimal128.Num) {
	w.u64(d.LowBits())
	w.u64(uint64(d.HighBits()))
}
func (w *wbuf) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}
func (w *wbuf) bool(v bool) {
	if v {
		w.byte(1)
	} else {
		w.byte(0)
	}
}

type rbuf struct {
	b   []byte
	err error
}

func (r *rbuf) fail() {
	if r.err == nil {
		r.err = errs.Internalf("window state is truncated or corrupt")
	}
	r.b = nil
}

func (r *rbuf) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *rbuf) bool() bool { return r.byte() == 1 }

func (r *rbuf) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *rbuf) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *rbuf) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *rbuf) dec() decimal128.Num {
	lo := r.u64()
	hi := r.u64()
	return decimal128.New(int64(hi), lo)
}

func (r *rbuf) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail()
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *rbuf) str() string { return string(r.bytes(r.uvarint())) }

// hashTable maps 64-bit key hashes to the first slot of the chain of
// slots with that hash (linear probing, power-of-two capacity, backward
// shift deletion so no tombstones accumulate). A bucket holds its hash
// and head side by side, so a probe of a table much larger than the CPU
// caches costs one cache miss, not two.
type hashTable struct {
	buckets []hashBucket
	n       int
}

type hashBucket struct {
	hash uint64
	head int32 // slot+1; 0 marks an empty bucket
}

func (t *hashTable) find(h uint64) int32 {
	if t.n == 0 {
		return -1
	}
	mask := uint64(len(t.buckets) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		b := &t.buckets[i]
		if b.head == 0 {
			return -1
		}
		if b.hash == h {
			return b.head - 1
		}
	}
}

// touch reads the home bucket of every hash, so that the probes of a
// batch's rows that follow find them in the CPU caches: these loads do
// not depend on each other, and the CPU overlaps their cache misses,
// where the probes, each followed by key comparisons and state updates,
// would wait for one miss at a time. It returns a value derived from the
// loads only so that they are not optimized away.
func (t *hashTable) touch(hashes []uint64) uint64 {
	if t.n == 0 {
		return 0
	}
	mask := uint64(len(t.buckets) - 1)
	var x uint64
	for _, h := range hashes {
		x ^= t.buckets[h&mask].hash
	}
	return x
}

// set makes slot the head of hash h's chain, adding the hash if new.
func (t *hashTable) set(h uint64, slot int32) {
	if 2*(t.n+1) > len(t.buckets) {
		t.rehash(max(16, 2*len(t.buckets)))
	}
	mask := uint64(len(t.buckets) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		b := &t.buckets[i]
		if b.head == 0 {
			b.hash, b.head = h, slot+1
			t.n++
			return
		}
		if b.hash == h {
			b.head = slot + 1
			return
		}
	}
}

func (t *hashTable) rehash(size int) {
	old := t.buckets
	t.buckets, t.n = make([]hashBucket, size), 0
	for _, b := range old {
		if b.head != 0 {
			t.set(b.hash, b.head-1)
		}
	}
}

// clear empties t, keeping its capacity.
func (t *hashTable) clear() {
	clear(t.buckets)
	t.n = 0
}

// remove deletes hash h.
func (t *hashTable) remove(h uint64) {
	if t.n == 0 {
		return
	}
	mask := uint64(len(t.buckets) - 1)
	i := h & mask
	for ; ; i = (i + 1) & mask {
		if t.buckets[i].head == 0 {
			return
		}
		if t.buckets[i].hash == h {
			break
		}
	}
	t.buckets[i].head = 0
	t.n--
	// Shift later members of the probe run back over the hole.
	for j := (i + 1) & mask; t.buckets[j].head != 0; j = (j + 1) & mask {
		home := t.buckets[j].hash & mask
		if (j-home)&mask >= (j-i)&mask {
			t.buckets[i] = t.buckets[j]
			t.buckets[j].head = 0
			i = j
		}
	}
}
