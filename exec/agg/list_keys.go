package agg

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// listKeyCol stores ARRAY keys (a DISTINCT over array values, as the
// planner's decorrelation of ARRAY(query) makes): each array is encoded
// as one byte string, its elements in order, each a validity byte then
// its value (fixed-width bytes, or a length-prefixed string), so that two
// arrays are the same key exactly when their encodings are equal. The
// encodings of a batch's rows are built once per call and stored and
// compared as string keys.
type listKeyCol struct {
	inner keyColT[string, strOps]
	enc   []byte
	offs  []int32
}

// newListKeyCol accepts arrays of the element types encodeElem handles.
func newListKeyCol(dt arrow.DataType) (keyCol, error) {
	lt, ok := dt.(*arrow.ListType)
	if !ok {
		return nil, fmt.Errorf("cannot group by values of type %s", dt)
	}
	switch e := lt.Elem(); {
	case e.ID() == arrow.STRING, e.ID() == arrow.BINARY, e.ID() == arrow.BOOL:
	default:
		if fw, ok := e.(arrow.FixedWidthDataType); !ok || fw.BitWidth()%8 != 0 {
			return nil, fmt.Errorf("cannot group by values of type %s", dt)
		}
	}
	return &listKeyCol{}, nil
}

func (c *listKeyCol) grow(n int)    { c.inner.grow(n) }
func (c *listKeyCol) reset(s int32) { c.inner.reset(s) }

func (c *listKeyCol) set(col arrow.Array, rows, slots []int32) {
	enc := c.encode(col)
	defer enc.Release()
	c.inner.set(enc, rows, slots)
}

func (c *listKeyCol) match(col arrow.Array, rows, cand []int32, eq []bool) {
	enc := c.encode(col)
	defer enc.Release()
	c.inner.match(enc, rows, cand, eq)
}

func (c *listKeyCol) appendKey(dst []byte, s int32) []byte { return c.inner.appendKey(dst, s) }
func (c *listKeyCol) readKey(src []byte, s int32) ([]byte, error) {
	return c.inner.readKey(src, s)
}

// encode returns the encodings of col's rows as a STRING column, NULL
// where the array is NULL.
func (c *listKeyCol) encode(col arrow.Array) arrow.Array {
	l := col.(array.ListLike)
	vals := l.ListValues()
	n := col.Len()
	c.enc, c.offs = c.enc[:0], growTo(c.offs[:0], n+1)
	valid := make([]bool, n)
	for i := 0; i < n; i++ {
		c.offs[i] = int32(len(c.enc))
		if !l.IsValid(i) {
			continue
		}
		valid[i] = true
		lo, hi := l.ValueOffsets(i)
		for j := int(lo); j < int(hi); j++ {
			c.enc = encodeElem(c.enc, vals, j)
		}
	}
	c.offs[n] = int32(len(c.enc))
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if valid[i] {
			b.Append(string(c.enc[c.offs[i]:c.offs[i+1]]))
		} else {
			b.AppendNull()
		}
	}
	return b.NewArray()
}

// encodeElem appends element j of vals: a validity byte, then the value.
func encodeElem(dst []byte, vals arrow.Array, j int) []byte {
	if vals.IsNull(j) {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	switch v := vals.(type) {
	case *array.String:
		s := v.Value(j)
		return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
	case *array.Binary:
		s := v.Value(j)
		return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
	case *array.Boolean:
		if v.Value(j) {
			return append(dst, 1)
		}
		return append(dst, 0)
	}
	w := vals.DataType().(arrow.FixedWidthDataType).BitWidth() / 8
	d := vals.Data()
	off := (d.Offset() + j) * w
	return append(dst, d.Buffers()[1].Bytes()[off:off+w]...)
}
