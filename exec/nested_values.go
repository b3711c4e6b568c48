package exec

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/internal/errs"
)

// Nested values (ROW, ARRAY, MAP, MULTISET: Arrow struct, list and
// fixed-size list arrays; a MAP is a list of key/value structs) are kept in operator state as their canonical
// binary encoding, held in a vkStr column: equal values have equal
// encodings, so the stores' string comparison, hashing, snapshot and gather
// paths serve them unchanged, and only decoding a batch (colView.load) and
// building an output array (buildArray) know the nesting. A value encodes
// as a validity byte followed, when valid, by
//
//   - struct: its fields in order;
//   - list, fixed-size list: the element count (uvarint) and the
//     elements (a map's elements are its key/value structs);
//   - leaf: as slotValues.encode writes its kind (integers as varints,
//     floats as their bits, decimals as two words, strings with their
//     length).
//
// The walk over a column's type is compiled once per batch (or output
// array) into typed closures, so encoding and decoding do not dispatch on
// the type per value; the columns of flat types never take this path.

// isNested reports whether values of dt are kept encoded.
func isNested(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRUCT, arrow.LIST, arrow.LARGE_LIST, arrow.FIXED_SIZE_LIST:
		return true
	}
	return false
}

// storeKindOf is kindOf for the values an operator keeps and re-emits but
// does not order: nested values are held encoded, as strings.
func storeKindOf(dt arrow.DataType) (vkind, error) {
	if isNested(dt) {
		if err := checkNested(dt); err != nil {
			return 0, err
		}
		return vkStr, nil
	}
	return kindOf(dt)
}

// checkNested rejects nested types with a leaf the codec cannot hold, so
// that the error comes when the operator is built, not from a batch.
func checkNested(dt arrow.DataType) error {
	switch t := dt.(type) {
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkNested(f.Type); err != nil {
				return err
			}
		}
		return nil
	case arrow.ListLikeType:
		return checkNested(t.Elem())
	}
	_, err := kindOf(dt)
	return err
}

// nestedEncoder appends the encoding of value i of the array it was
// compiled for.
type nestedEncoder func(w *wbuf, i int)

// nestedDecoder appends one encoded value to the builder it was compiled
// for; a corrupt encoding sets the rbuf's error.
type nestedDecoder func(r *rbuf)

// encodeNestedColumn sets v to the encodings of a's values, written into
// v's scratch buffer: the strings are valid until v's next load.
func (v *colView) encodeNestedColumn(a arrow.Array) error {
	enc, err := compileEncoder(a)
	if err != nil {
		return err
	}
	n := a.Len()
	w := wbuf{b: v.nested[:0]}
	ends := resize(v.nestedEnds, n)
	for i := range n {
		enc(&w, i)
		ends[i] = len(w.b)
	}
	v.nested, v.nestedEnds = w.b, ends
	v.strs = resize(v.strs, n)
	start := 0
	for i, end := range ends {
		v.strs[i] = unsafe.String(unsafe.SliceData(w.b[start:end]), end-start)
		start = end
	}
	return nil
}

// compileEncoder builds the encoder of a's values.
func compileEncoder(a arrow.Array) (nestedEncoder, error) {
	var enc nestedEncoder
	switch c := a.(type) {
	case *array.Struct:
		fields := make([]nestedEncoder, c.NumField())
		for f := range fields {
			var err error
			if fields[f], err = compileEncoder(c.Field(f)); err != nil {
				return nil, err
			}
		}
		enc = func(w *wbuf, i int) {
			for _, f := range fields {
				f(w, i)
			}
		}
	case array.ListLike:
		elem, err := compileEncoder(c.ListValues())
		if err != nil {
			return nil, err
		}
		enc = func(w *wbuf, i int) {
			start, end := c.ValueOffsets(i)
			w.uvarint(uint64(end - start))
			for j := start; j < end; j++ {
				elem(w, int(j))
			}
		}
	case *array.Int8:
		enc = encodeInts(c.Int8Values())
	case *array.Int16:
		enc = encodeInts(c.Int16Values())
	case *array.Int32:
		enc = encodeInts(c.Int32Values())
	case *array.Int64:
		enc = encodeInts(c.Int64Values())
	case *array.Uint8:
		enc = encodeInts(c.Uint8Values())
	case *array.Uint16:
		enc = encodeInts(c.Uint16Values())
	case *array.Uint32:
		enc = encodeInts(c.Uint32Values())
	case *array.Date32:
		enc = encodeInts(c.Date32Values())
	case *array.Date64:
		enc = encodeInts(c.Date64Values())
	case *array.Time32:
		enc = encodeInts(c.Time32Values())
	case *array.Time64:
		enc = encodeInts(c.Time64Values())
	case *array.Timestamp:
		enc = encodeInts(c.TimestampValues())
	case *array.Duration:
		enc = encodeInts(c.DurationValues())
	case *array.MonthInterval:
		enc = encodeInts(c.MonthIntervalValues())
	case *array.Boolean:
		enc = func(w *wbuf, i int) { w.bool(c.Value(i)) }
	case *array.Float32:
		vals := c.Float32Values()
		enc = func(w *wbuf, i int) { w.f64(float64(vals[i])) }
	case *array.Float64:
		vals := c.Float64Values()
		enc = func(w *wbuf, i int) { w.f64(vals[i]) }
	case *array.Decimal128:
		vals := c.Values()
		enc = func(w *wbuf, i int) { w.dec(vals[i]) }
	case *array.String:
		enc = func(w *wbuf, i int) { w.str(c.Value(i)) }
	case *array.Binary:
		enc = func(w *wbuf, i int) {
			b := c.Value(i)
			w.uvarint(uint64(len(b)))
			w.b = append(w.b, b...)
		}
	default:
		return nil, errs.New(errs.NotSupported, "nested values of type %s are not supported in operator state yet", a.DataType())
	}
	if a.NullN() == 0 {
		return func(w *wbuf, i int) {
			w.byte(1)
			enc(w, i)
		}, nil
	}
	return func(w *wbuf, i int) {
		if a.IsNull(i) {
			w.byte(0)
			return
		}
		w.byte(1)
		enc(w, i)
	}, nil
}

type storedInt interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

func encodeInts[T storedInt](vals []T) nestedEncoder {
	return func(w *wbuf, i int) { w.varint(int64(vals[i])) }
}

// appendEncoded decodes every value of v (as the encoders wrote them; a
// NULL entry of v is a NULL value) into b.
func appendEncoded(b array.Builder, v *colView, n int) error {
	dec, err := compileDecoder(b)
	if err != nil {
		return err
	}
	var r rbuf
	for i := range n {
		if !v.isValid(i) {
			b.AppendNull()
			continue
		}
		s := v.strs[i]
		r.b = unsafe.Slice(unsafe.StringData(s), len(s))
		dec(&r)
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// compileDecoder builds the decoder appending values to b.
func compileDecoder(b array.Builder) (nestedDecoder, error) {
	var dec nestedDecoder
	switch c := b.(type) {
	case *array.StructBuilder:
		fields := make([]nestedDecoder, c.NumField())
		for f := range fields {
			var err error
			if fields[f], err = compileDecoder(c.FieldBuilder(f)); err != nil {
				return nil, err
			}
		}
		dec = func(r *rbuf) {
			c.Append(true)
			for _, f := range fields {
				f(r)
			}
		}
	case array.ListLikeBuilder:
		elem, err := compileDecoder(c.ValueBuilder())
		if err != nil {
			return nil, err
		}
		dec = func(r *rbuf) {
			n := r.uvarint()
			c.Append(true)
			for ; n > 0 && r.err == nil; n-- {
				elem(r)
			}
		}
	case *array.Int8Builder:
		dec = decodeInts(c.Append)
	case *array.Int16Builder:
		dec = decodeInts(c.Append)
	case *array.Int32Builder:
		dec = decodeInts(c.Append)
	case *array.Int64Builder:
		dec = decodeInts(c.Append)
	case *array.Uint8Builder:
		dec = decodeInts(c.Append)
	case *array.Uint16Builder:
		dec = decodeInts(c.Append)
	case *array.Uint32Builder:
		dec = decodeInts(c.Append)
	case *array.Date32Builder:
		dec = decodeInts(c.Append)
	case *array.Date64Builder:
		dec = decodeInts(c.Append)
	case *array.Time32Builder:
		dec = decodeInts(c.Append)
	case *array.Time64Builder:
		dec = decodeInts(c.Append)
	case *array.TimestampBuilder:
		dec = decodeInts(c.Append)
	case *array.DurationBuilder:
		dec = decodeInts(c.Append)
	case *array.MonthIntervalBuilder:
		dec = decodeInts(c.Append)
	case *array.BooleanBuilder:
		dec = func(r *rbuf) { c.Append(r.bool()) }
	case *array.Float32Builder:
		dec = func(r *rbuf) { c.Append(float32(r.f64())) }
	case *array.Float64Builder:
		dec = func(r *rbuf) { c.Append(r.f64()) }
	case *array.Decimal128Builder:
		dec = func(r *rbuf) { c.Append(r.dec()) }
	case *array.StringBuilder:
		dec = func(r *rbuf) { c.Append(r.str()) }
	case *array.BinaryBuilder:
		dec = func(r *rbuf) { c.Append(r.bytes(r.uvarint())) }
	default:
		return nil, errs.New(errs.NotSupported, "nested values of type %s are not supported in operator state yet", b.Type())
	}
	return func(r *rbuf) {
		if r.byte() == 0 {
			b.AppendNull()
			return
		}
		dec(r)
	}, nil
}

func decodeInts[T storedInt](appendValue func(T)) nestedDecoder {
	return func(r *rbuf) { appendValue(T(r.varint())) }
}

// hashNested combines the hashes of the encodings of a's values into
// hashes, so that rows hash as the stores compare them.
func hashNested(a arrow.Array, hashes []uint64) error {
	enc, err := compileEncoder(a)
	if err != nil {
		return err
	}
	var w wbuf
	for i := range hashes {
		if a.IsNull(i) {
			hashes[i] = combine(hashes[i], nullHash)
			continue
		}
		w.b = w.b[:0]
		enc(&w, i)
		hashes[i] = combine(hashes[i], hashBytes(w.b))
	}
	return nil
}
