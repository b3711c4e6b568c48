// Package avro holds Flink's 'avro' and 'avro-confluent' formats: Avro
// binary records whose schema is derived from the table's columns the way
// Flink's AvroSchemaConverter derives it, and the Confluent wire format (a
// zero magic byte, a 4-byte big-endian schema id, then the Avro record) with
// the schema registered on write and looked up by id on read through
// github.com/twmb/franz-go/pkg/sr; and 'debezium-avro-confluent', Debezium
// change events in Avro in that wire format (debezium.go).
//
// Records are encoded and decoded with github.com/twmb/avro through
// map[string]any, one record at a time; a hand-written column-wise codec is
// the faster path to take if Avro throughput matters.
package avro

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/twmb/avro"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table/connector/format"
)

// RecordName is the full name Flink gives the derived record schema.
const RecordName = "org.apache.flink.avro.generated.record"

// SchemaFor derives the Avro schema of a record with s's columns: nullable
// columns are unions of null and the type, with a null default; TIMESTAMP
// is timestamp-millis (precision up to 3) or timestamp-micros and
// TIMESTAMP_LTZ the local-timestamp variants (Flink's legacy mapping, its
// default); DECIMAL is bytes with the decimal logical type.
func SchemaFor(s types.Schema) (string, error) {
	r, err := recordSchema(s, RecordName)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(r)
	return string(b), err
}

// field is a field of a record schema, marshalled as Avro's JSON.
type field struct {
	Name    string          `json:"name"`
	Type    any             `json:"type"`
	Default json.RawMessage `json:"default,omitempty"`
}

// record is a record schema, marshalled as Avro's JSON.
type record struct {
	Type   string  `json:"type"`
	Name   string  `json:"name"`
	Fields []field `json:"fields"`
}

// recordSchema is the record schema named name with s's columns.
func recordSchema(s types.Schema, name string) (record, error) {
	fields := make([]field, 0, s.Len())
	for _, c := range s.Columns {
		t, err := avroType(c.Type)
		if err != nil {
			return record{}, fmt.Errorf("column '%s': %w", c.Name, err)
		}
		f := field{Name: c.Name, Type: t}
		if c.Type.Nullable() {
			f = nullable(c.Name, t)
		}
		fields = append(fields, f)
	}
	return record{"record", name, fields}, nil
}

// nullable is a field of the union of null and t, defaulting to null, as
// Flink's AvroSchemaConverter writes a nullable type.
func nullable(name string, t any) field {
	return field{Name: name, Type: []any{"null", t}, Default: json.RawMessage("null")}
}

func avroType(t types.DataType) (any, error) {
	switch t.Kind {
	case types.Boolean:
		return "boolean", nil
	case types.TinyInt, types.SmallInt, types.Int:
		return "int", nil
	case types.BigInt:
		return "long", nil
	case types.Float:
		return "float", nil
	case types.Double:
		return "double", nil
	case types.Char, types.Varchar:
		return "string", nil
	case types.Binary, types.Varbinary:
		return "bytes", nil
	case types.Decimal:
		return map[string]any{"type": "bytes", "logicalType": "decimal", "precision": t.Precision, "scale": t.Scale}, nil
	case types.Date:
		return map[string]any{"type": "int", "logicalType": "date"}, nil
	case types.Time:
		return map[string]any{"type": "int", "logicalType": "time-millis"}, nil
	case types.Timestamp, types.TimestampLTZ:
		lt := "timestamp-millis"
		if t.Precision > 3 {
			lt = "timestamp-micros"
		}
		if t.Kind == types.TimestampLTZ {
			lt = "local-" + lt
		}
		return map[string]any{"type": "long", "logicalType": lt}, nil
	}
	return nil, fmt.Errorf("type %s is not supported by the avro format", t)
}

// CheckSchema reports the first column the format cannot carry.
func CheckSchema(s types.Schema) error {
	_, err := SchemaFor(s)
	return err
}

// Decoder decodes Avro records into the fields of a RecordBuilder, taking
// record fields by column name.
type Decoder struct {
	schema *avro.Schema
	names  []string
	ts     []types.DataType
	bs     []array.Builder
	m      map[string]any
	vals   []any
}

var _ format.RecordDecoder = (*Decoder)(nil)

// NewDecoder decodes records written with writer (nil for the schema
// derived from s) into b, whose fields are the columns of s listed in proj
// (all of them when proj is nil); fields not projected are decoded (Avro's
// binary encoding has to be walked) but neither converted nor appended.
func NewDecoder(s types.Schema, proj []int, writer *avro.Schema, b *array.RecordBuilder) (*Decoder, error) {
	if writer == nil {
		text, err := SchemaFor(s)
		if err != nil {
			return nil, err
		}
		if writer, err = avro.Parse(text); err != nil {
			return nil, err
		}
	}
	d := newRowDecoder(s, proj, b)
	d.schema = writer
	return d, nil
}

// newRowDecoder is a Decoder without a writer schema: it stages records
// decoded elsewhere (the row images of a Debezium envelope) with
// stageFields.
func newRowDecoder(s types.Schema, proj []int, b *array.RecordBuilder) *Decoder {
	if proj == nil {
		proj = make([]int, s.Len())
		for i := range proj {
			proj[i] = i
		}
	}
	d := &Decoder{m: map[string]any{}, vals: make([]any, len(proj))}
	for out, f := range proj {
		c := s.Columns[f]
		d.names = append(d.names, c.Name)
		d.ts = append(d.ts, c.Type)
		d.bs = append(d.bs, b.Field(out))
	}
	return d
}

// Stage decodes one record.
func (d *Decoder) Stage(data []byte) error {
	clear(d.m)
	rest, err := d.schema.Decode(data, &d.m)
	if err != nil {
		return fmt.Errorf("malformed Avro record: %w", err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("malformed Avro record: %d bytes after the record", len(rest))
	}
	return d.stageFields(d.m)
}

// stageFields stages the columns from a decoded record's fields, taken by
// name; a field the record lacks is NULL.
func (d *Decoder) stageFields(m map[string]any) error {
	for k, name := range d.names {
		v, err := convert(m[name], d.ts[k])
		if err != nil {
			return fmt.Errorf("field '%s': %w", name, err)
		}
		d.vals[k] = v
	}
	return nil
}

// StageNull stages NULL for every column.
func (d *Decoder) StageNull() { clear(d.vals) }

// convert checks v against t and normalizes it to what Commit appends:
// int64, float64, bool, string, []byte, decimal128.Num, or an int64 in the
// builder's unit for temporal types.
func convert(v any, t types.DataType) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func() (any, error) { return nil, fmt.Errorf("cannot read Avro value of type %T as %s", v, t) }
	switch t.Kind {
	case types.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
		switch n := v.(type) {
		case int32:
			return int64(n), nil
		case int64:
			return n, nil
		}
	case types.Float, types.Double:
		switch n := v.(type) {
		case float32:
			return float64(n), nil
		case float64:
			return n, nil
		}
	case types.Char, types.Varchar:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case types.Binary, types.Varbinary:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	case types.Decimal:
		if r, ok := v.(*big.Rat); ok {
			return format.ParseDecimal(r.FloatString(t.Scale), int32(t.Precision), int32(t.Scale))
		}
	case types.Date:
		if tm, ok := v.(time.Time); ok {
			return tm.Unix() / 86400, nil
		}
	case types.Time:
		switch x := v.(type) {
		case time.Duration:
			return int64(x), nil
		case time.Time:
			return int64(x.Sub(time.Unix(0, 0).UTC())), nil
		}
	case types.Timestamp, types.TimestampLTZ:
		if tm, ok := v.(time.Time); ok {
			return tm.UnixNano(), nil // scaled to the builder's unit in Commit
		}
	}
	return bad()
}

// Commit appends the staged values.
func (d *Decoder) Commit() {
	for k, v := range d.vals {
		b := d.bs[k]
		if v == nil {
			b.AppendNull()
			continue
		}
		switch b := b.(type) {
		case *array.BooleanBuilder:
			b.Append(v.(bool))
		case *array.Int8Builder:
			b.Append(int8(v.(int64)))
		case *array.Int16Builder:
			b.Append(int16(v.(int64)))
		case *array.Int32Builder:
			b.Append(int32(v.(int64)))
		case *array.Int64Builder:
			b.Append(v.(int64))
		case *array.Float32Builder:
			b.Append(float32(v.(float64)))
		case *array.Float64Builder:
			b.Append(v.(float64))
		case *array.StringBuilder:
			b.Append(v.(string))
		case *array.BinaryBuilder:
			b.Append(v.([]byte))
		case *array.Decimal128Builder:
			b.Append(v.(decimal128.Num))
		case *array.Date32Builder:
			b.Append(arrow.Date32(v.(int64)))
		case *array.Time32Builder:
			b.Append(arrow.Time32(v.(int64) / format.UnitNanos(b.Type().(*arrow.Time32Type).Unit)))
		case *array.Time64Builder:
			b.Append(arrow.Time64(v.(int64) / format.UnitNanos(b.Type().(*arrow.Time64Type).Unit)))
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(v.(int64) / format.UnitNanos(b.Type().(*arrow.TimestampType).Unit)))
		}
	}
}

// Encoder encodes rows as Avro records of the schema derived from the
// columns, after an optional prefix (the Confluent header).
type Encoder struct {
	schema *avro.Schema
	prefix []byte
	names  []string
	ts     []types.DataType
	cols   []arrow.Array
	m      map[string]any
}

var _ format.RecordEncoder = (*Encoder)(nil)

// NewEncoder encodes rows with s's columns; every payload starts with
// prefix.
func NewEncoder(s types.Schema, prefix []byte) (*Encoder, error) {
	text, err := SchemaFor(s)
	if err != nil {
		return nil, err
	}
	sch, err := avro.Parse(text)
	if err != nil {
		return nil, err
	}
	e := newRowEncoder(s)
	e.schema, e.prefix = sch, prefix
	return e, nil
}

// newRowEncoder is an Encoder without a schema: it converts rows to the
// records that another schema nests (a Debezium envelope's row images).
func newRowEncoder(s types.Schema) *Encoder {
	e := &Encoder{m: make(map[string]any, s.Len())}
	for _, c := range s.Columns {
		e.names = append(e.names, c.Name)
		e.ts = append(e.ts, c.Type)
	}
	return e
}

// Bind binds a batch.
func (e *Encoder) Bind(b arrow.RecordBatch) error {
	e.cols = b.Columns()
	return nil
}

// AppendRow appends row i as a record.
func (e *Encoder) AppendRow(dst []byte, i int) ([]byte, error) {
	dst = append(dst, e.prefix...)
	return e.schema.AppendEncode(dst, e.fields(i))
}

// fields is row i of the bound batch as a record's fields; the map is
// reused by the next call.
func (e *Encoder) fields(i int) map[string]any {
	for k, name := range e.names {
		e.m[name] = value(e.cols[k], e.ts[k], i)
	}
	return e.m
}

// value is row i of a as the Go value the avro encoder takes.
func value(a arrow.Array, t types.DataType, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return int32(a.Value(i))
	case *array.Int16:
		return int32(a.Value(i))
	case *array.Int32:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float32:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Binary:
		return a.Value(i)
	case *array.Decimal128:
		return new(big.Rat).SetFrac(a.Value(i).BigInt(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(t.Scale)), nil))
	case *array.Date32:
		return time.Unix(int64(a.Value(i))*86400, 0).UTC()
	case *array.Time32:
		return time.Duration(int64(a.Value(i)) * format.UnitNanos(a.DataType().(*arrow.Time32Type).Unit))
	case *array.Time64:
		return time.Duration(int64(a.Value(i)) * format.UnitNanos(a.DataType().(*arrow.Time64Type).Unit))
	case *array.Timestamp:
		return time.Unix(0, int64(a.Value(i))*format.UnitNanos(a.DataType().(*arrow.TimestampType).Unit)).UTC()
	}
	return errors.New("unsupported")
}
