package agg

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// DISTINCT over several arguments, COUNT(DISTINCT e1, e2, ...) as Flink
// documents COUNT: the number of distinct tuples among the rows where
// every argument is non-NULL. A call's tuple is one value to the distinct
// machinery: each batch's argument columns are encoded, a column at a
// time, into one VARBINARY key column (TupleKeys), NULL where an argument
// is NULL, and the distinct state, the local aggregate's distinct view and
// the window aggregate's distinct sets key that column as they key a
// single VARBINARY argument. Two tuples are equal exactly when their
// encodings are: each argument's value in its column's fixed width, or a
// string length-prefixed.
//
// Only COUNT takes several DISTINCT arguments, as in Flink (Calcite's
// COUNT is variadic; every other aggregate takes one argument).

// tupleKeyType is the Arrow type of the encoded tuples.
var tupleKeyType arrow.DataType = arrow.BinaryTypes.Binary

// tupleKeySQLType is the SQL type of the encoded tuples, the values a
// local aggregate's distinct view ships for a call over several arguments.
var tupleKeySQLType = types.BytesType

// DistinctResultType is ResultType for a DISTINCT call: over several
// arguments only COUNT is accepted, and only arguments TupleKeys encodes.
func DistinctResultType(name string, args []types.DataType) (types.DataType, error) {
	if len(args) <= 1 {
		return ResultType(name, args)
	}
	if !strings.EqualFold(name, "COUNT") {
		return types.DataType{}, fmt.Errorf("DISTINCT %s takes one argument", strings.ToUpper(name))
	}
	for _, a := range args {
		if !tupleArgOK(a.Arrow()) {
			return types.DataType{}, tupleArgError(a)
		}
	}
	return types.BigIntType.WithNullable(false), nil
}

// tupleArgOK reports whether TupleKeys encodes values of type dt.
func tupleArgOK(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.BOOL:
		return true
	}
	fw, ok := dt.(arrow.FixedWidthDataType)
	return ok && fw.BitWidth()%8 == 0 && fw.BitWidth() > 0
}

// tupleArgError refuses an argument of type t (a SQL or Arrow type).
func tupleArgError(t fmt.Stringer) error {
	return fmt.Errorf("COUNT(DISTINCT ...) over several arguments does not support values of type %s", t)
}

// distinctArgType is the type of the values a DISTINCT call over
// arguments of the types args keeps: its argument's, or the encoded
// tuple's.
func distinctArgType(args []arrow.DataType) arrow.DataType {
	if len(args) == 1 {
		return args[0]
	}
	return tupleKeyType
}

// TupleKeys encodes rows of several columns as one VARBINARY column, a
// batch at a time (see above). Its scratch is reused: the column Encode
// returns is valid until the next Encode. The column's buffers are that
// Go memory, not an allocator's, so releasing it is optional.
type TupleKeys struct {
	lens  []int32 // per row: the encoding's length, -1 when a value is NULL
	offs  []int32
	pos   []int32 // per row: the write position in data
	data  []byte
	valid []byte
}

// NewTupleKeys makes the encoder of tuples of the column types args,
// checking that every one is encodable.
func NewTupleKeys(args []arrow.DataType) (*TupleKeys, error) {
	for _, a := range args {
		if !tupleArgOK(a) {
			return nil, tupleArgError(a)
		}
	}
	return &TupleKeys{}, nil
}

// Encode returns the tuples of cols' rows, NULL where a value is NULL.
func (t *TupleKeys) Encode(cols []arrow.Array) arrow.Array {
	n := cols[0].Len()
	t.lens = growTo(t.lens[:0], n)[:n]
	clear(t.lens)
	// First the length of every row's encoding, then the values a column
	// at a time at each row's position.
	for _, c := range cols {
		v := validityOf(c)
		switch a := c.(type) {
		case *array.String:
			for i := range n {
				if t.lens[i] >= 0 && v.ok(i) {
					l := a.ValueLen(i)
					t.lens[i] += int32(uvarintLen(uint64(l)) + l)
				} else {
					t.lens[i] = -1
				}
			}
		case *array.Binary:
			for i := range n {
				if t.lens[i] >= 0 && v.ok(i) {
					l := a.ValueLen(i)
					t.lens[i] += int32(uvarintLen(uint64(l)) + l)
				} else {
					t.lens[i] = -1
				}
			}
		default:
			w := int32(fixedWidth(c.DataType()))
			for i := range n {
				if t.lens[i] >= 0 && v.ok(i) {
					t.lens[i] += w
				} else {
					t.lens[i] = -1
				}
			}
		}
	}
	t.offs = growTo(t.offs[:0], n+1)[:n+1]
	t.pos = growTo(t.pos[:0], n)[:n]
	nbits := int(bitutil.BytesForBits(int64(n)))
	t.valid = growTo(t.valid[:0], nbits)[:nbits]
	clear(t.valid)
	nulls, off := 0, int32(0)
	for i, l := range t.lens {
		t.offs[i], t.pos[i] = off, off
		if l < 0 {
			nulls++
			continue
		}
		bitutil.SetBit(t.valid, i)
		off += l
	}
	t.offs[n] = off
	t.data = growTo(t.data[:0], int(off))[:off]
	for _, c := range cols {
		t.put(c)
	}
	var validBuf *memory.Buffer
	if nulls > 0 {
		validBuf = memory.NewBufferBytes(t.valid)
	}
	d := array.NewData(tupleKeyType, n, []*memory.Buffer{validBuf,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(t.offs)), memory.NewBufferBytes(t.data)}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// put appends column c's value of every non-NULL row at its position.
func (t *TupleKeys) put(c arrow.Array) {
	switch a := c.(type) {
	case *array.String:
		for i, l := range t.lens {
			if l >= 0 {
				putBytes(t, i, a.Value(i))
			}
		}
		return
	case *array.Binary:
		for i, l := range t.lens {
			if l >= 0 {
				putBytes(t, i, a.Value(i))
			}
		}
		return
	case *array.Boolean:
		for i, l := range t.lens {
			if l >= 0 {
				var x byte
				if a.Value(i) {
					x = 1
				}
				t.data[t.pos[i]] = x
				t.pos[i]++
			}
		}
		return
	case *array.Float64:
		vals := a.Float64Values()
		for i, l := range t.lens {
			if l >= 0 {
				binary.LittleEndian.PutUint64(t.data[t.pos[i]:], floatKeyBits(vals[i]))
				t.pos[i] += 8
			}
		}
		return
	case *array.Float32:
		vals := a.Float32Values()
		for i, l := range t.lens {
			if l >= 0 {
				binary.LittleEndian.PutUint64(t.data[t.pos[i]:], floatKeyBits(float64(vals[i])))
				t.pos[i] += 8
			}
		}
		return
	}
	// Any other fixed-width value: its bytes as stored.
	w := fixedWidth(c.DataType())
	d := c.Data()
	buf := d.Buffers()[1].Bytes()[d.Offset()*w:]
	for i, l := range t.lens {
		if l >= 0 {
			copy(t.data[t.pos[i]:], buf[i*w:(i+1)*w])
			t.pos[i] += int32(w)
		}
	}
}

// putBytes writes b length-prefixed at row i's position.
func putBytes[B string | []byte](t *TupleKeys, i int, b B) {
	p := int(t.pos[i])
	p += binary.PutUvarint(t.data[p:], uint64(len(b)))
	p += copy(t.data[p:], b)
	t.pos[i] = int32(p)
}

// fixedWidth is the bytes one value of dt takes in the tuple: floats are
// widened to 8 (floatKeyBits), booleans take one byte.
func fixedWidth(dt arrow.DataType) int {
	switch dt.ID() {
	case arrow.BOOL:
		return 1
	case arrow.FLOAT32, arrow.FLOAT64:
		return 8
	}
	return dt.(arrow.FixedWidthDataType).BitWidth() / 8
}

// floatKeyBits makes equal floats equal keys, as the single-argument
// DISTINCT's hash does: -0 is +0; every NaN is one value, as Flink's
// Double.equals and PostgreSQL's DISTINCT have it.
func floatKeyBits(x float64) uint64 {
	switch {
	case x == 0:
		return 0
	case x != x:
		return 0x7FF8000000000000
	}
	return math.Float64bits(x)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
