package expr

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// span is a run [start, end) of rows the filter keeps.
type span struct{ start, end int }

// keptSpans returns the runs of rows where p is TRUE (valid and set).
// Copying a run at a time makes a filter that keeps most rows (Nexmark
// q21 keeps 95%) a few memmoves per column rather than a copy per row.
func keptSpans(p *array.Boolean) []span {
	d := p.Data()
	off, n := d.Offset(), d.Len()
	bits := d.Buffers()[1].Bytes()
	if valid := p.NullBitmapBytes(); valid != nil && p.NullN() > 0 {
		and := make([]byte, bitutil.BytesForBits(int64(n)))
		bitutil.BitmapAnd(bits, valid, int64(off), int64(off), and, 0, int64(n))
		bits, off = and, 0
	}
	var spans []span
	// Whole bytes of a bitmap starting on a byte boundary are skipped or
	// taken at once.
	aligned := off%8 == 0
	byteAt := func(i int) byte { return bits[(off+i)/8] }
	for i := 0; i < n; {
		for i < n && !bitutil.BitIsSet(bits, off+i) {
			if aligned && i%8 == 0 && i+8 <= n && byteAt(i) == 0 {
				i += 8
				continue
			}
			i++
		}
		start := i
		for i < n && bitutil.BitIsSet(bits, off+i) {
			if aligned && i%8 == 0 && i+8 <= n && byteAt(i) == 0xFF {
				i += 8
				continue
			}
			i++
		}
		if i > start {
			spans = append(spans, span{start, i})
		}
	}
	return spans
}

// takeColumn copies the rows of spans (n in all) of a into a new array,
// for the layouts it can copy directly: fixed-width values of whole bytes,
// booleans, NULL, and STRING/BINARY. It reports false for the others
// (nested, dictionary, ...), which arrow's compute.Filter handles. Sizing
// every buffer exactly saves the growing and reallocating of the generic
// take kernel, which dominated filtering variable-length columns.
func takeColumn(a arrow.Array, spans []span, n int, mem memory.Allocator) (arrow.Array, bool) {
	d := a.Data()
	var buffers []*memory.Buffer
	switch a := a.(type) {
	case *array.Null:
		return array.NewNull(n), true
	case *array.String:
		buffers = takeVarBinary(a.ValueOffsets(), a.ValueBytes(), spans, n, mem)
	case *array.Binary:
		buffers = takeVarBinary(a.ValueOffsets(), a.ValueBytes(), spans, n, mem)
	case *array.Boolean:
		buf := newZeroedBuffer(mem, int(bitutil.BytesForBits(int64(n))))
		copySpansOfBitmap(buf.Bytes(), d.Buffers()[1].Bytes(), d.Offset(), spans)
		buffers = []*memory.Buffer{nil, buf}
	default:
		fw, ok := d.DataType().(arrow.FixedWidthDataType)
		switch d.DataType().ID() {
		case arrow.DICTIONARY, arrow.EXTENSION, arrow.NULL:
			ok = false
		}
		if !ok || fw.BitWidth()%8 != 0 || len(d.Buffers()) != 2 || len(d.Children()) > 0 {
			return nil, false
		}
		w := fw.BitWidth() / 8
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(n * w)
		src, out := d.Buffers()[1].Bytes()[d.Offset()*w:], buf.Bytes()
		switch w {
		case 4:
			takeFixed[uint32](out, src, spans)
		case 8:
			takeFixed[uint64](out, src, spans)
		case 16:
			takeFixed[[2]uint64](out, src, spans)
		default:
			pos := 0
			for _, sp := range spans {
				pos += copy(out[pos:], src[sp.start*w:sp.end*w])
			}
		}
		buffers = []*memory.Buffer{nil, buf}
	}
	nulls := 0
	if a.NullN() > 0 {
		valid := newZeroedBuffer(mem, int(bitutil.BytesForBits(int64(n))))
		copySpansOfBitmap(valid.Bytes(), a.NullBitmapBytes(), d.Offset(), spans)
		nulls = n - bitutil.CountSetBits(valid.Bytes(), 0, n)
		buffers[0] = valid
	}
	out := array.NewData(d.DataType(), n, buffers, nil, nulls, 0)
	for _, b := range buffers {
		if b != nil {
			b.Release()
		}
	}
	defer out.Release()
	return array.MakeFromData(out), true
}

// takeFixed copies the values of spans of src, values of T's size, to
// dst: a short span value by value, a long one with one memmove (a call
// costs about as much as copying a few values).
func takeFixed[T any](dst, src []byte, spans []span) {
	if len(dst) == 0 {
		return
	}
	var zero T
	size := int(unsafe.Sizeof(zero))
	out := unsafe.Slice((*T)(unsafe.Pointer(&dst[0])), len(dst)/size)
	in := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(src))), len(src)/size)
	i := 0
	for _, sp := range spans {
		if sp.end-sp.start >= 8 {
			i += copy(out[i:], in[sp.start:sp.end])
			continue
		}
		for r := sp.start; r < sp.end; r++ {
			out[i] = in[r]
			i++
		}
	}
}

// copySpansOfBitmap copies the bits of spans of src (from bit off) to dst,
// one after another; dst must be zeroed.
func copySpansOfBitmap(dst, src []byte, off int, spans []span) {
	pos := 0
	for _, sp := range spans {
		if sp.end-sp.start >= 8 {
			bitutil.CopyBitmap(src, off+sp.start, sp.end-sp.start, dst, pos)
			pos += sp.end - sp.start
			continue
		}
		for r := sp.start; r < sp.end; r++ {
			if bitutil.BitIsSet(src, off+r) {
				bitutil.SetBit(dst, pos)
			}
			pos++
		}
	}
}

// takeVarBinary returns the offsets and data buffers of the rows of spans
// of a STRING or BINARY column (offs relative to its first, data from it).
func takeVarBinary(offs []int32, data []byte, spans []span, n int, mem memory.Allocator) []*memory.Buffer {
	base := offs[0]
	total := 0
	for _, sp := range spans {
		total += int(offs[sp.end] - offs[sp.start])
	}
	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize((n + 1) * arrow.Int32SizeBytes)
	outOffs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	dataBuf := memory.NewResizableBuffer(mem)
	dataBuf.Resize(total)
	out := dataBuf.Bytes()
	i, pos := 0, int32(0)
	for _, sp := range spans {
		shift := pos - offs[sp.start]
		for r := sp.start; r < sp.end; r++ {
			outOffs[i] = offs[r] + shift
			i++
		}
		pos += int32(copy(out[pos:], data[offs[sp.start]-base:offs[sp.end]-base]))
	}
	outOffs[n] = pos
	return []*memory.Buffer{nil, offBuf, dataBuf}
}

func newZeroedBuffer(mem memory.Allocator, n int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(n)
	clear(b.Bytes())
	return b
}
