package datagen

import (
	"bytes"
	"context"
	"math/rand/v2"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// Random ARRAY, MULTISET, MAP and ROW columns, as Flink's
// RandomGeneratorVisitor generates them: an ARRAY holds 'length' elements;
// a MAP puts 'length' random keys with random values into a hash map, so
// a key drawn twice appears once, with the value drawn last; a MULTISET
// is such a map from 'length' random elements to counts from 0 to 10; a
// ROW holds a random value for each field. The column's 'null-rate'
// makes whole values NULL; the parts never are.
//
// Each nested generator draws its NULLs from its own stream and asks its
// parts for all their values of a batch at once, so every stream is drawn
// in row order whatever the batch size, and the Arrow arrays of the parts
// become the children of the nested array without a copy (a row's
// repeated MAP keys and MULTISET elements are taken out with one Take per
// batch).

// newRandomGen returns the random generator of f, with those of its parts
// for a nested type.
func newRandomGen(f fieldSpec, mem memory.Allocator, now time.Time) generator {
	var parts []generator
	for _, e := range f.elems {
		parts = append(parts, newRandomGen(e, mem, now))
	}
	src := rand.NewPCG(0, 0)
	n := nested{f: f, typ: f.t.Arrow(), mem: mem, src: src, rng: rand.New(src), parts: parts}
	switch f.t.Kind {
	case types.Array:
		return &arrayGen{n}
	case types.Multiset:
		// The count of each element is a part of its own: Flink draws it
		// with intGenerator(0, 10).
		counts := newRandom(fieldSpec{name: f.name + ".count", t: types.IntType, imin: 0, imax: 10}, mem, now)
		n.parts = append(n.parts, counts)
		return &multisetGen{n}
	case types.Map:
		return &mapGen{n}
	case types.Row:
		return &rowGen{n}
	}
	return newRandom(f, mem, now)
}

// nested is what the generators of nested types share: the column's spec
// and Arrow type, the stream its NULLs are drawn from, and its parts.
type nested struct {
	f     fieldSpec
	typ   arrow.DataType
	mem   memory.Allocator
	src   *rand.PCG
	rng   *rand.Rand
	parts []generator
	// scratch, reused between batches: the indexes a MAP or MULTISET
	// takes of its parts' values, and the sizes of its valid rows
	idx, vidx []int32
	sizes     []int
}

func (g *nested) streams() []*rand.PCG {
	s := []*rand.PCG{g.src}
	for _, p := range g.parts {
		s = append(s, p.streams()...)
	}
	return s
}

func (g *nested) release() {
	for _, p := range g.parts {
		p.release()
	}
}

// validity draws which of n rows are NULL: the validity bitmap (nil
// when none is) and the number of NULLs.
func (g *nested) validity(n int) (*memory.Buffer, int) {
	if g.f.nullRate == 0 {
		return nil, 0
	}
	var buf *memory.Buffer
	nulls := 0
	for i := range n {
		if g.rng.Float64() >= g.f.nullRate {
			continue
		}
		if buf == nil {
			buf = memory.NewResizableBuffer(g.mem)
			buf.Resize(int(bitutil.BytesForBits(int64(n))))
			bitutil.SetBitsTo(buf.Bytes(), 0, int64(n), true)
		}
		bitutil.ClearBit(buf.Bytes(), i)
		nulls++
	}
	return buf, nulls
}

// offsets returns the list offsets of n rows holding size(j) values for
// the j-th valid row and none for a NULL one.
func (g *nested) offsets(n int, valid *memory.Buffer, size func(j int) int) *memory.Buffer {
	buf := memory.NewResizableBuffer(g.mem)
	buf.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	off := arrow.Int32Traits.CastFromBytes(buf.Bytes())
	off[0] = 0
	j := 0
	for i := range n {
		off[i+1] = off[i]
		if valid == nil || bitutil.BitIsSet(valid.Bytes(), i) {
			off[i+1] += int32(size(j))
			j++
		}
	}
	return buf
}

// list assembles a list array of n rows from its validity, offsets and
// values, releasing them.
func (g *nested) list(n int, valid *memory.Buffer, nulls int, offsets *memory.Buffer, values arrow.Array) arrow.Array {
	data := array.NewData(g.typ, n, []*memory.Buffer{valid, offsets}, []arrow.ArrayData{values.Data()}, nulls, 0)
	out := array.MakeFromData(data)
	data.Release()
	if valid != nil {
		valid.Release()
	}
	offsets.Release()
	values.Release()
	return out
}

// partsColumns draws n values from each part; on failure it releases what
// it drew.
func (g *nested) partsColumns(n int) ([]arrow.Array, error) {
	out := make([]arrow.Array, 0, len(g.parts))
	for _, p := range g.parts {
		a, err := p.column(0, 0, n)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func releaseAll(as []arrow.Array) {
	for _, a := range as {
		if a != nil {
			a.Release()
		}
	}
}

// take returns the values of a at idx, consuming a.
func (g *nested) take(a arrow.Array, idx []int32) (arrow.Array, error) {
	defer a.Release()
	ix := array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, len(idx),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(idx))}, nil, 0, 0))
	defer ix.Release()
	return compute.TakeArray(compute.WithAllocator(context.Background(), g.mem), a, ix)
}

// arrayGen generates ARRAY values of 'length' elements.
type arrayGen struct{ nested }

func (g *arrayGen) column(_, _ int64, n int) (arrow.Array, error) {
	valid, nulls := g.validity(n)
	elems, err := g.parts[0].column(0, 0, (n-nulls)*g.f.length)
	if err != nil {
		if valid != nil {
			valid.Release()
		}
		return nil, err
	}
	offsets := g.offsets(n, valid, func(int) int { return g.f.length })
	return g.list(n, valid, nulls, offsets, elems), nil
}

// mapGen generates MAP values from 'length' random keys and values; a key
// drawn twice in a row appears once, with the value drawn last.
type mapGen struct{ nested }

func (g *mapGen) column(_, _ int64, n int) (arrow.Array, error) {
	valid, nulls := g.validity(n)
	l := g.f.length
	kv, err := g.partsColumns((n - nulls) * l)
	if err != nil {
		if valid != nil {
			valid.Release()
		}
		return nil, err
	}
	keys, values := kv[0], kv[1]
	// Keys keep their first place, values come from the last draw of
	// their key.
	g.idx, g.vidx, g.sizes = g.idx[:0], g.vidx[:0], g.sizes[:0]
	dups := false
	parts := newDistinctParts(keys)
	for j := range n - nulls {
		size := 0
		parts.each(j*l, l, func(first, last int) {
			g.idx = append(g.idx, int32(first))
			g.vidx = append(g.vidx, int32(last))
			size++
		})
		dups = dups || size < l
		g.sizes = append(g.sizes, size)
	}
	if dups {
		if keys, err = g.take(keys, g.idx); err == nil {
			values, err = g.take(values, g.vidx)
		}
		if err != nil {
			releaseAll([]arrow.Array{keys, values})
			if valid != nil {
				valid.Release()
			}
			return nil, err
		}
	}
	entryType := g.typ.(*arrow.ListType).Elem()
	ed := array.NewData(entryType, keys.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{keys.Data(), values.Data()}, 0, 0)
	entries := array.MakeFromData(ed)
	ed.Release()
	keys.Release()
	values.Release()
	offsets := g.offsets(n, valid, func(j int) int { return g.sizes[j] })
	return g.list(n, valid, nulls, offsets, entries), nil
}

// multisetGen generates MULTISET values: 'length' random elements, each
// distinct one repeated as often as the count drawn last for it says.
type multisetGen struct{ nested }

func (g *multisetGen) column(_, _ int64, n int) (arrow.Array, error) {
	valid, nulls := g.validity(n)
	l := g.f.length
	ec, err := g.partsColumns((n - nulls) * l)
	if err != nil {
		if valid != nil {
			valid.Release()
		}
		return nil, err
	}
	elems, counts := ec[0], ec[1].(*array.Int32).Int32Values()
	g.idx, g.sizes = g.idx[:0], g.sizes[:0]
	parts := newDistinctParts(elems)
	for j := range n - nulls {
		start := len(g.idx)
		parts.each(j*l, l, func(first, last int) {
			for range counts[last] {
				g.idx = append(g.idx, int32(first))
			}
		})
		g.sizes = append(g.sizes, len(g.idx)-start)
	}
	ec[1].Release()
	if elems, err = g.take(elems, g.idx); err != nil {
		if valid != nil {
			valid.Release()
		}
		return nil, err
	}
	offsets := g.offsets(n, valid, func(j int) int { return g.sizes[j] })
	return g.list(n, valid, nulls, offsets, elems), nil
}

// rowGen generates ROW values, a random value for each field. The fields
// of a NULL row are drawn too, so that every stream advances by the same
// number of values per row.
type rowGen struct{ nested }

func (g *rowGen) column(_, _ int64, n int) (arrow.Array, error) {
	valid, nulls := g.validity(n)
	fields, err := g.partsColumns(n)
	if err != nil {
		if valid != nil {
			valid.Release()
		}
		return nil, err
	}
	children := make([]arrow.ArrayData, len(fields))
	for i, f := range fields {
		children[i] = f.Data()
	}
	data := array.NewData(g.typ, n, []*memory.Buffer{valid}, children, nulls, 0)
	out := array.MakeFromData(data)
	data.Release()
	releaseAll(fields)
	if valid != nil {
		valid.Release()
	}
	return out, nil
}

// pairwiseMax is the longest row whose parts distinct compares pairwise:
// the parts of a row are few (three by default), and comparing each with
// those before it is cheaper than hashing them; longer rows look their
// parts up by key.
const pairwiseMax = 16

// distinctParts finds the distinct values among a row's parts.
type distinctParts struct {
	a  arrow.Array
	eq func(i, j int) bool
	// key is a non-NULL value's bytes; nil for nested values, which
	// compare by eq alone.
	key func(i int) string
	// reused between rows: the place in order of each key's first
	// occurrence, the first occurrences in order, and their last ones
	at           map[string]int
	order, lasts []int
}

func newDistinctParts(a arrow.Array) *distinctParts {
	return &distinctParts{a: a, eq: equalFunc(a), key: keyFunc(a), at: map[string]int{}}
}

// each calls emit(first, last) for every distinct value among the values
// base..base+n-1, in the order of their first occurrence, with the index
// of their last. NULLs are one value, as Java's HashMap keys are.
func (d *distinctParts) each(base, n int, emit func(first, last int)) {
	if n <= pairwiseMax || d.key == nil {
		d.pairwise(base, n, emit)
		return
	}
	clear(d.at)
	d.order, d.lasts = d.order[:0], d.lasts[:0]
	nullAt := -1
	for v := base; v < base+n; v++ {
		at, seen := nullAt, nullAt >= 0
		null := d.a.IsNull(v)
		if !null {
			at, seen = d.at[d.key(v)]
		}
		if seen {
			d.lasts[at] = v
			continue
		}
		if null {
			nullAt = len(d.order)
		} else {
			d.at[d.key(v)] = len(d.order)
		}
		d.order, d.lasts = append(d.order, v), append(d.lasts, v)
	}
	for i, first := range d.order {
		emit(first, d.lasts[i])
	}
}

// pairwise compares each value with those before it.
func (d *distinctParts) pairwise(base, n int, emit func(first, last int)) {
	for a := base; a < base+n; a++ {
		seen := false
		for b := base; b < a && !seen; b++ {
			seen = d.eq(b, a)
		}
		if seen {
			continue
		}
		last := a
		for c := a + 1; c < base+n; c++ {
			if d.eq(a, c) {
				last = c
			}
		}
		emit(a, last)
	}
}

// keyFunc returns the bytes of a's non-NULL values, equal exactly when
// equalFunc says the values are; nil for the nested types.
func keyFunc(a arrow.Array) func(i int) string {
	switch a := a.(type) {
	case *array.Boolean:
		return func(i int) string {
			if a.Value(i) {
				return "t"
			}
			return "f"
		}
	case *array.String:
		return a.Value
	case *array.Binary:
		return func(i int) string { return bytesKey(a.Value(i)) }
	}
	if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok && fw.BitWidth()%8 == 0 {
		w, off := fw.BitWidth()/8, a.Data().Offset()
		var b []byte
		if buf := a.Data().Buffers()[1]; buf != nil {
			b = buf.Bytes()
		}
		return func(i int) string { return bytesKey(b[(off+i)*w : (off+i+1)*w]) }
	}
	return nil
}

// bytesKey views b as a string without copying it: the keys live only
// while their row's parts are looked up, and the array outlives that.
func bytesKey(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// equalFunc compares two values of a, NULLs equal to each other as Java's
// HashMap keys are: typed for the scalar types, by value otherwise.
func equalFunc(a arrow.Array) func(i, j int) bool {
	nullEq := func(i, j int) (bool, bool) {
		ni, nj := a.IsNull(i), a.IsNull(j)
		return ni == nj, ni || nj
	}
	switch a := a.(type) {
	case *array.Boolean:
		return func(i, j int) bool {
			if eq, done := nullEq(i, j); done {
				return eq
			}
			return a.Value(i) == a.Value(j)
		}
	case *array.String:
		return func(i, j int) bool {
			if eq, done := nullEq(i, j); done {
				return eq
			}
			return a.Value(i) == a.Value(j)
		}
	case *array.Binary:
		return func(i, j int) bool {
			if eq, done := nullEq(i, j); done {
				return eq
			}
			return bytes.Equal(a.Value(i), a.Value(j))
		}
	}
	if fw, ok := a.DataType().(arrow.FixedWidthDataType); ok && fw.BitWidth()%8 == 0 {
		w, off := fw.BitWidth()/8, a.Data().Offset()
		var b []byte
		if buf := a.Data().Buffers()[1]; buf != nil { // nil when a is empty
			b = buf.Bytes()
		}
		return func(i, j int) bool {
			if eq, done := nullEq(i, j); done {
				return eq
			}
			return bytes.Equal(b[(off+i)*w:(off+i+1)*w], b[(off+j)*w:(off+j+1)*w])
		}
	}
	return func(i, j int) bool {
		return array.SliceEqual(a, int64(i), int64(i+1), a, int64(j), int64(j+1))
	}
}
