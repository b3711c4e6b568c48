package exec

import (
	"bytes"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// buildDirect builds the array of type dt from the first n values of v
// straight into its buffers, for the types operators emit most (integers,
// times, doubles, strings): each buffer is allocated once at its final
// size and filled by one typed loop. Arrow's builders append value by
// value, checking capacity and regrowing (copying) their buffers as they
// go, which made output building the largest cost of the stateful Nexmark
// queries. It returns nil when dt or v's kind has no direct path; the
// caller then uses a builder.
func buildDirect(mem memory.Allocator, dt arrow.DataType, v *colView, n int) arrow.Array {
	switch v.kind {
	case vkInt:
		switch dt.ID() {
		case arrow.INT64, arrow.TIMESTAMP, arrow.DATE64, arrow.TIME64, arrow.DURATION:
			return buildFixed[int64](mem, dt, v.ints[:n], v.valid, n)
		case arrow.INT32, arrow.DATE32, arrow.TIME32, arrow.INTERVAL_MONTHS:
			return buildFixed[int32](mem, dt, v.ints[:n], v.valid, n)
		case arrow.INT16:
			return buildFixed[int16](mem, dt, v.ints[:n], v.valid, n)
		case arrow.INT8:
			return buildFixed[int8](mem, dt, v.ints[:n], v.valid, n)
		}
	case vkFloat:
		if dt.ID() == arrow.FLOAT64 {
			return buildFixed[float64](mem, dt, v.floats[:n], v.valid, n)
		}
	case vkStr:
		if id := dt.ID(); id == arrow.STRING || id == arrow.BINARY {
			return buildVarWidth(mem, dt, v.strs[:n], v.valid, n)
		}
	}
	return nil
}

// buildFixed builds a fixed-width array whose values are src converted to
// T (the conversion only narrows integers the plan typed as narrower).
// NULL slots hold zero.
func buildFixed[T int8 | int16 | int32 | int64 | float64, S int64 | float64](mem memory.Allocator, dt arrow.DataType,
	src []S, valid []bool, n int) arrow.Array {
	bitmap, nulls := validityBitmap(mem, valid, n)
	data := memory.NewResizableBuffer(mem)
	var zero T
	data.Resize(n * int(unsafe.Sizeof(zero)))
	dst := arrow.GetData[T](data.Bytes())[:n]
	for i, x := range src {
		dst[i] = T(x)
	}
	if nulls > 0 {
		for i, ok := range valid[:n] {
			if !ok {
				dst[i] = 0
			}
		}
	}
	return makeArray(dt, n, nulls, bitmap, data)
}

// buildVarWidth builds a STRING or BINARY array from strs: the offsets and
// the bytes of all values are each written into one buffer sized up front.
// Values too large for 32-bit offsets fall back to the builder, which
// reports the overflow.
func buildVarWidth(mem memory.Allocator, dt arrow.DataType, strs []string, valid []bool, n int) arrow.Array {
	total := 0
	if valid == nil {
		for _, s := range strs {
			total += len(s)
		}
	} else {
		for i, s := range strs {
			if valid[i] {
				total += len(s)
			}
		}
	}
	if total > math.MaxInt32 {
		return nil
	}
	bitmap, nulls := validityBitmap(mem, valid, n)
	offBuf, offs, dataBuf, bytes := varWidthBuffers(mem, n, total)
	pos := 0
	for i, s := range strs {
		// A NULL slot may hold a stale value: it gets no bytes.
		if nulls == 0 || valid[i] {
			pos += copy(bytes[pos:], s)
		}
		offs[i+1] = int32(pos)
	}
	return makeArray(dt, n, nulls, bitmap, offBuf, dataBuf)
}

// varWidthBuffers allocates the offsets of n STRING or BINARY values,
// the first set to 0, and the buffer of their total bytes.
func varWidthBuffers(mem memory.Allocator, n, total int) (offBuf *memory.Buffer, offs []int32, dataBuf *memory.Buffer, data []byte) {
	offBuf = memory.NewResizableBuffer(mem)
	offBuf.Resize((n + 1) * arrow.Int32SizeBytes)
	offs = arrow.GetData[int32](offBuf.Bytes())[:n+1]
	offs[0] = 0
	dataBuf = memory.NewResizableBuffer(mem)
	dataBuf.Resize(total)
	return offBuf, offs, dataBuf, dataBuf.Bytes()
}

// validityBitmap returns the validity bitmap of the first n flags of valid
// and the number of NULLs, or nil and 0 when there are none (a nil valid
// means no NULLs).
func validityBitmap(mem memory.Allocator, valid []bool, n int) (*memory.Buffer, int) {
	if valid == nil {
		return nil, 0
	}
	valid = valid[:n]
	// A bool is one byte holding 0 or 1, so counting the zero bytes counts
	// the NULLs, with bytes.Count's vectorized loop: it runs for every
	// column of every output batch, mostly to find none.
	nulls := bytes.Count(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(valid))), n), []byte{0})
	if nulls == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := buf.Bytes()
	clear(bits) // not every allocator zeroes
	for i, ok := range valid[:n] {
		if ok {
			bitutil.SetBit(bits, i)
		}
	}
	return buf, nulls
}

// makeArray wraps the buffers (after the validity bitmap, which may be
// nil) into an array, handing their references over to it.
func makeArray(dt arrow.DataType, n, nulls int, bitmap *memory.Buffer, bufs ...*memory.Buffer) arrow.Array {
	all := append([]*memory.Buffer{bitmap}, bufs...)
	data := array.NewData(dt, n, all, nil, nulls, 0)
	for _, b := range all {
		if b != nil {
			b.Release()
		}
	}
	defer data.Release()
	return array.MakeFromData(data)
}

// takeDirect gathers the rows of col (indexes into it) into a new array,
// for fixed-width primitive columns and STRING/BINARY ones: each buffer is
// allocated once at its final size and filled by one typed loop, where
// Arrow's Take kernels append value by value (the group aggregate takes
// its key columns for every changelog row it emits). It returns nil for
// other types, and for values too large for 32-bit offsets: the caller
// then uses Take.
func takeDirect(mem memory.Allocator, col arrow.Array, rows []int32) arrow.Array {
	d := col.Data()
	dt := col.DataType()
	n := len(rows)
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY:
		offs := arrow.Int32Traits.CastFromBytes(d.Buffers()[1].Bytes())[d.Offset():]
		var vals []byte
		if buf := d.Buffers()[2]; buf != nil {
			vals = buf.Bytes()
		}
		total := 0
		for _, r := range rows {
			total += int(offs[r+1] - offs[r])
		}
		if total > math.MaxInt32 {
			return nil
		}
		offBuf, out, dataBuf, dst := varWidthBuffers(mem, n, total)
		pos := int32(0)
		for j, r := range rows {
			pos += int32(copy(dst[pos:], vals[offs[r]:offs[r+1]]))
			out[j+1] = pos
		}
		bitmap, nulls := takeValidity(mem, col, rows)
		return makeArray(dt, n, nulls, bitmap, offBuf, dataBuf)
	}
	fw, ok := dt.(arrow.FixedWidthDataType)
	if !ok || dt.ID() == arrow.BOOL || dt.ID() == arrow.DICTIONARY || dt.ID() == arrow.EXTENSION || len(d.Buffers()) != 2 || d.Buffers()[1] == nil {
		return nil
	}
	src := d.Buffers()[1].Bytes()
	data := memory.NewResizableBuffer(mem)
	switch fw.BitWidth() {
	case 64:
		gatherFixed[int64](data, src, d.Offset(), rows)
	case 32:
		gatherFixed[int32](data, src, d.Offset(), rows)
	case 16:
		gatherFixed[int16](data, src, d.Offset(), rows)
	case 8:
		gatherFixed[int8](data, src, d.Offset(), rows)
	default:
		data.Release()
		return nil
	}
	bitmap, nulls := takeValidity(mem, col, rows)
	return makeArray(dt, n, nulls, bitmap, data)
}

// gatherFixed fills data with the values at rows of src, a buffer of T
// whose array starts at offset.
func gatherFixed[T int8 | int16 | int32 | int64](data *memory.Buffer, src []byte, offset int, rows []int32) {
	var zero T
	data.Resize(len(rows) * int(unsafe.Sizeof(zero)))
	vals := arrow.GetData[T](src)[offset:]
	dst := arrow.GetData[T](data.Bytes())[:len(rows)]
	for j, r := range rows {
		dst[j] = vals[r]
	}
}

// takeValidity returns the validity bitmap of the rows of col and their
// number of NULLs, or nil and 0 when col has no NULLs.
func takeValidity(mem memory.Allocator, col arrow.Array, rows []int32) (*memory.Buffer, int) {
	if col.NullN() == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(rows)))))
	bits := buf.Bytes()
	clear(bits) // not every allocator zeroes
	nulls := 0
	for j, r := range rows {
		if col.IsValid(int(r)) {
			bitutil.SetBit(bits, j)
		} else {
			nulls++
		}
	}
	if nulls == 0 {
		buf.Release()
		return nil, 0
	}
	return buf, nulls
}
