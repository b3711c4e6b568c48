// Package raw is Flink's 'raw' format: a message payload is the value of
// the table's single STRING or BYTES column, unchanged (strings in UTF-8); a
// NULL value is a message without a payload (a Kafka tombstone) and back.
package raw

import (
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// Charset is raw.charset; only UTF-8 is supported.
const Charset = "raw.charset"

// Options are the raw format's option declarations.
var Options = []connector.Option{
	{Key: Charset, Type: connector.Enum, Enum: []string{"UTF-8"}, Default: "UTF-8",
		Doc: "Charset of STRING values; only UTF-8."},
}

// CheckSchema accepts exactly one STRING or BYTES (CHAR/VARCHAR,
// BINARY/VARBINARY) column.
func CheckSchema(s types.Schema) error {
	if s.Len() != 1 {
		return fmt.Errorf("the raw format needs exactly one column, got %d", s.Len())
	}
	t := s.Columns[0].Type
	if !t.IsString() && !t.IsBinary() {
		return fmt.Errorf("the raw format supports STRING and BYTES columns, not %s", t)
	}
	return nil
}

// Decoder decodes payloads into the single column of a RecordBuilder.
type Decoder struct {
	b    *array.BinaryBuilder
	null bool
	buf  []byte
}

var _ format.RecordDecoder = (*Decoder)(nil)

// NewDecoder decodes into b, whose one field is the schema's column.
func NewDecoder(s types.Schema, b *array.RecordBuilder) (*Decoder, error) {
	if err := CheckSchema(s); err != nil {
		return nil, err
	}
	switch fb := b.Field(0).(type) {
	case *array.StringBuilder:
		return &Decoder{b: fb.BinaryBuilder}, nil
	case *array.BinaryBuilder:
		return &Decoder{b: fb}, nil
	}
	return nil, fmt.Errorf("raw format: unexpected builder %T", b.Field(0))
}

// Stage stages data; a nil payload is NULL.
func (d *Decoder) Stage(data []byte) error {
	d.null = data == nil
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
	d.b.Append(d.buf)
}

// Encoder encodes the single column of a batch.
type Encoder struct {
	col   arrow.Array
	value func(i int) []byte
}

var _ format.RecordEncoder = (*Encoder)(nil)

// IsNull reports whether row i of the bound batch is NULL.
func (e *Encoder) IsNull(i int) bool { return e.col.IsNull(i) }

// Bind binds the batch's one column.
func (e *Encoder) Bind(b arrow.RecordBatch) error {
	e.col = b.Column(0)
	switch a := e.col.(type) {
	case *array.String:
		e.value = func(i int) []byte { return unsafe.Slice(unsafe.StringData(a.Value(i)), a.ValueLen(i)) }
	case *array.Binary:
		e.value = a.Value
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
	return append(dst, e.value(i)...), nil
}
