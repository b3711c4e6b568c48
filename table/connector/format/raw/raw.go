// Package raw is Flink's 'raw' format: a message payload is the value of
// the table's single column, unchanged: a STRING in UTF-8, BYTES as they
// are, and, as Flink's, BOOLEAN (one byte, 0 or 1), TINYINT, SMALLINT, INT,
// BIGINT, FLOAT and DOUBLE in their fixed size in raw.endianness (Kafka's
// LongSerializer writes a big-endian BIGINT). A NULL value is a message
// without a payload (a Kafka tombstone) and back.
package raw

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// Option keys: raw.charset, of which only UTF-8 is supported, and
// raw.endianness.
const (
	Charset    = "raw.charset"
	Endianness = "raw.endianness"
)

// Options are the raw format's option declarations.
var Options = []connector.Option{
	{Key: Charset, Type: connector.Enum, Enum: []string{"UTF-8"}, Default: "UTF-8",
		Doc: "Charset of STRING values; only UTF-8."},
	{Key: Endianness, Type: connector.Enum, Enum: []string{"big-endian", "little-endian"}, Default: "big-endian",
		Doc: "Byte order of numeric values."},
}

// Config is the parsed raw options.
type Config struct {
	Order byteOrder
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ParseConfig reads the raw options.
func ParseConfig(o connector.Options) Config {
	if o.Enum(Endianness) == "little-endian" {
		return Config{Order: binary.LittleEndian}
	}
	return Config{Order: binary.BigEndian}
}

// width is the payload size of a numeric type, 0 for STRING and BYTES.
func width(t types.DataType) (int, bool) {
	switch t.Kind {
	case types.Boolean, types.TinyInt:
		return 1, true
	case types.SmallInt:
		return 2, true
	case types.Int, types.Float:
		return 4, true
	case types.BigInt, types.Double:
		return 8, true
	}
	return 0, t.IsString() || t.IsBinary()
}

// CheckSchema accepts exactly one column of a type the format carries.
func CheckSchema(s types.Schema) error {
	if s.Len() != 1 {
		return fmt.Errorf("the raw format needs exactly one column, got %d", s.Len())
	}
	t := s.Columns[0].Type
	if _, ok := width(t); !ok {
		return fmt.Errorf("the raw format supports STRING, BYTES, BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT and DOUBLE columns, not %s", t)
	}
	return nil
}

// Decoder decodes payloads into the single column of a RecordBuilder.
type Decoder struct {
	t     types.DataType
	size  int
	order byteOrder
	b     array.Builder
	null  bool
	buf   []byte
}

var _ format.RecordDecoder = (*Decoder)(nil)

// NewDecoder decodes into b, whose one field is the schema's column.
func NewDecoder(cfg Config, s types.Schema, b *array.RecordBuilder) (*Decoder, error) {
	if err := CheckSchema(s); err != nil {
		return nil, err
	}
	t := s.Columns[0].Type
	size, _ := width(t)
	d := &Decoder{t: t, size: size, order: cfg.Order, b: b.Field(0)}
	if sb, ok := d.b.(*array.StringBuilder); ok {
		d.b = sb.BinaryBuilder
	}
	return d, nil
}

// Stage stages data; a nil payload is NULL.
func (d *Decoder) Stage(data []byte) error {
	d.null = data == nil
	if !d.null && d.size > 0 && len(data) != d.size {
		return fmt.Errorf("the raw format reads a %s from %d bytes, got %d", d.t, d.size, len(data))
	}
	d.buf = append(d.buf[:0], data...)
	return nil
}

// StageNull stages NULL.
func (d *Decoder) StageNull() { d.null = true }

// Commit appends the staged value.
func (d *Decoder) Commit() {
	if d.null {
		d.b.AppendNull()
		return
	}
	v := d.buf
	switch b := d.b.(type) {
	case *array.BinaryBuilder:
		b.Append(v)
	case *array.BooleanBuilder:
		b.Append(v[0] != 0)
	case *array.Int8Builder:
		b.Append(int8(v[0]))
	case *array.Int16Builder:
		b.Append(int16(d.order.Uint16(v)))
	case *array.Int32Builder:
		b.Append(int32(d.order.Uint32(v)))
	case *array.Int64Builder:
		b.Append(int64(d.order.Uint64(v)))
	case *array.Float32Builder:
		b.Append(math.Float32frombits(d.order.Uint32(v)))
	case *array.Float64Builder:
		b.Append(math.Float64frombits(d.order.Uint64(v)))
	}
}

// Encoder encodes the single column of a batch.
type Encoder struct {
	order byteOrder
	col   arrow.Array
	value func(dst []byte, i int) []byte
}

var _ format.RecordEncoder = (*Encoder)(nil)

// NewEncoder encodes with the options of cfg.
func NewEncoder(cfg Config) *Encoder { return &Encoder{order: cfg.Order} }

// IsNull reports whether row i of the bound batch is NULL.
func (e *Encoder) IsNull(i int) bool { return e.col.IsNull(i) }

// Bind binds the batch's one column.
func (e *Encoder) Bind(b arrow.RecordBatch) error {
	e.col = b.Column(0)
	o := e.order
	switch a := e.col.(type) {
	case *array.String:
		e.value = func(dst []byte, i int) []byte {
			return append(dst, unsafe.Slice(unsafe.StringData(a.Value(i)), a.ValueLen(i))...)
		}
	case *array.Binary:
		e.value = func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }
	case *array.Boolean:
		e.value = func(dst []byte, i int) []byte {
			if a.Value(i) {
				return append(dst, 1)
			}
			return append(dst, 0)
		}
	case *array.Int8:
		e.value = func(dst []byte, i int) []byte { return append(dst, byte(a.Value(i))) }
	case *array.Int16:
		e.value = func(dst []byte, i int) []byte { return o.AppendUint16(dst, uint16(a.Value(i))) }
	case *array.Int32:
		e.value = func(dst []byte, i int) []byte { return o.AppendUint32(dst, uint32(a.Value(i))) }
	case *array.Int64:
		e.value = func(dst []byte, i int) []byte { return o.AppendUint64(dst, uint64(a.Value(i))) }
	case *array.Float32:
		e.value = func(dst []byte, i int) []byte { return o.AppendUint32(dst, math.Float32bits(a.Value(i))) }
	case *array.Float64:
		e.value = func(dst []byte, i int) []byte { return o.AppendUint64(dst, math.Float64bits(a.Value(i))) }
	default:
		return fmt.Errorf("raw format: unsupported column type %s", b.Column(0).DataType())
	}
	return nil
}

// AppendRow appends the value. A NULL appends nothing; callers that write
// it as a message without a payload check IsNull first.
func (e *Encoder) AppendRow(dst []byte, i int) ([]byte, error) {
	if e.col.IsNull(i) {
		return dst, nil
	}
	return e.value(dst, i), nil
}
