// Package json is Flink's 'json' format for Eddy's file connectors:
// newline-delimited JSON objects, one per row, fields matched to columns by
// name. Values decode by column type (a JSON string holding a number is
// accepted for numeric columns, as in Flink); temporal values are strings in
// the SQL or ISO-8601 spelling chosen by json.timestamp-format.standard;
// bytes are base64 strings; NaN and infinities are strings, as Jackson
// writes them.
package json

import (
	"bufio"
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// Option keys.
const (
	FailOnMissingField = "json.fail-on-missing-field"
	IgnoreParseErrors  = "json.ignore-parse-errors"
	TimestampStandard  = "json.timestamp-format.standard"
)

// Options are the json format's option declarations.
var Options = []connector.Option{
	{Key: FailOnMissingField, Type: connector.Bool, Default: "false",
		Doc: "Fail when a column has no field in a record; otherwise the column is NULL."},
	{Key: IgnoreParseErrors, Type: connector.Bool, Default: "false",
		Doc: "Skip (and count) malformed records instead of failing."},
	{Key: TimestampStandard, Type: connector.Enum, Enum: []string{"SQL", "ISO-8601"}, Default: "SQL",
		Doc: "Spelling of TIMESTAMP values: SQL '2020-12-30 12:13:14.123' or ISO-8601 '2020-12-30T12:13:14.123'."},
}

// Config is the parsed json options.
type Config struct {
	FailOnMissingField bool
	IgnoreParseErrors  bool
	Timestamp          format.TimestampStyle
	// PlainDecimal writes DECIMAL values without an exponent (the
	// changelog formats' encode.decimal-as-plain-number).
	PlainDecimal bool
}

// ParseConfig reads the json options.
func ParseConfig(o connector.Options) (Config, error) {
	c := Config{FailOnMissingField: o.Bool(FailOnMissingField), IgnoreParseErrors: o.Bool(IgnoreParseErrors)}
	if o.Enum(TimestampStandard) == "ISO-8601" {
		c.Timestamp = format.ISO8601
	}
	if c.FailOnMissingField && c.IgnoreParseErrors {
		return c, fmt.Errorf("options '%s' and '%s' cannot both be true", FailOnMissingField, IgnoreParseErrors)
	}
	return c, nil
}

// CheckSchema reports the first column whose type the format cannot carry.
func CheckSchema(s types.Schema) error {
	for _, c := range s.Columns {
		if err := format.CheckType(c.Type); err != nil {
			return fmt.Errorf("column '%s': %w", c.Name, err)
		}
	}
	return nil
}

// Decoder reads the records of one file into a RecordBuilder.
type Decoder struct {
	cfg     Config
	r       *bufio.Reader
	name    string
	line    int
	names   []string
	cols    []*format.Column
	fields  map[string]stdjson.RawMessage
	str     string
	long    []byte
	skipped int64
}

// NewDecoder decodes r, whose records have (a superset of) the columns of
// fileSchema, into b, whose fields are the columns listed in proj (all when
// nil). name is used in error messages.
func NewDecoder(cfg Config, r io.Reader, name string, fileSchema types.Schema, proj []int, b *array.RecordBuilder) (*Decoder, error) {
	if proj == nil {
		proj = make([]int, fileSchema.Len())
		for i := range proj {
			proj[i] = i
		}
	}
	d := &Decoder{cfg: cfg, r: bufio.NewReaderSize(r, 64<<10), name: name, fields: map[string]stdjson.RawMessage{}}
	for out, f := range proj {
		c, err := format.NewColumn(fileSchema.Columns[f].Type, b.Field(out))
		if err != nil {
			return nil, fmt.Errorf("column '%s': %w", fileSchema.Columns[f].Name, err)
		}
		d.cols = append(d.cols, c)
		d.names = append(d.names, fileSchema.Columns[f].Name)
	}
	return d, nil
}

// Skipped is the number of malformed records skipped so far.
func (d *Decoder) Skipped() int64 { return d.skipped }

// Decode appends up to max records and returns how many; io.EOF (with 0)
// once the input is exhausted.
func (d *Decoder) Decode(max int) (int, error) {
	n := 0
	for n < max {
		line, err := d.readLine()
		if err != nil {
			return n, fmt.Errorf("%s:%d: %w", d.name, d.line, err)
		}
		if line == nil {
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if err := d.stage(line); err != nil {
			if d.cfg.IgnoreParseErrors {
				d.skipped++
				continue
			}
			return n, fmt.Errorf("%s:%d: %w", d.name, d.line, err)
		}
		for _, c := range d.cols {
			c.Commit()
		}
		n++
	}
	return n, nil
}

func (d *Decoder) stage(line []byte) error {
	clear(d.fields)
	if err := stdjson.Unmarshal(line, &d.fields); err != nil {
		return fmt.Errorf("malformed JSON object: %w", err)
	}
	for k, c := range d.cols {
		raw, ok := d.fields[d.names[k]]
		switch {
		case !ok:
			if d.cfg.FailOnMissingField {
				return fmt.Errorf("missing field '%s'", d.names[k])
			}
			c.SetNull()
		case bytes.Equal(raw, []byte("null")):
			c.SetNull()
		case raw[0] == '"':
			v := raw[1 : len(raw)-1]
			if bytes.IndexByte(v, '\\') >= 0 {
				if err := stdjson.Unmarshal(raw, &d.str); err != nil {
					return fmt.Errorf("field '%s': %w", d.names[k], err)
				}
				v = []byte(d.str)
			}
			if err := c.Parse(v); err != nil {
				return fmt.Errorf("field '%s': %w", d.names[k], err)
			}
		case raw[0] == '{' || raw[0] == '[':
			return fmt.Errorf("field '%s': cannot read a nested JSON value as %s", d.names[k], c.Type())
		default:
			if err := c.Parse(raw); err != nil {
				return fmt.Errorf("field '%s': %w", d.names[k], err)
			}
		}
	}
	return nil
}

func (d *Decoder) readLine() ([]byte, error) {
	line, err := format.ReadLine(d.r, &d.long)
	if line != nil {
		d.line++
	}
	return line, err
}

// Encoder writes batches as JSON lines.
type Encoder struct {
	cfg    Config
	schema types.Schema
	keys   [][]byte // `"name":` per column, with the separating comma
	quote  []bool   // values that are JSON strings
	fns    []format.ValueFunc
	cols   []arrow.Array // of the bound batch
	buf    []byte
	val    []byte
}

var _ format.RecordEncoder = (*Encoder)(nil)

// NewEncoder writes batches of schema s.
func NewEncoder(cfg Config, s types.Schema) *Encoder {
	e := &Encoder{cfg: cfg, schema: s, fns: make([]format.ValueFunc, s.Len())}
	for i, c := range s.Columns {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = types.AppendJSONString(k, c.Name)
		e.keys = append(e.keys, append(k, ':'))
		q := c.Type.IsString() || c.Type.IsBinary() || c.Type.IsTemporal()
		e.quote = append(e.quote, q)
	}
	return e
}

// Encode writes b's rows to w and returns the number of bytes written.
func (e *Encoder) Encode(w io.Writer, b arrow.RecordBatch) (int, error) {
	return format.EncodeLines(w, e, b, &e.buf)
}

// Bind prepares the encoder for the rows of b (see format.RecordEncoder).
func (e *Encoder) Bind(b arrow.RecordBatch) error {
	e.cols = b.Columns()
	for c := range e.fns {
		fn, err := format.Bind(e.cols[c], e.schema.Columns[c].Type, format.Style{Timestamp: e.cfg.Timestamp, PlainDecimal: e.cfg.PlainDecimal})
		if err != nil {
			return fmt.Errorf("column '%s': %w", e.schema.Columns[c].Name, err)
		}
		e.fns[c] = fn
	}
	return nil
}

// AppendRow appends row i of the bound batch as one JSON object, without a
// line terminator; it never fails.
func (e *Encoder) AppendRow(dst []byte, i int) ([]byte, error) {
	dst = append(dst, '{')
	for c, fn := range e.fns {
		dst = append(dst, e.keys[c]...)
		if e.cols[c].IsNull(i) {
			dst = append(dst, "null"...)
			continue
		}
		e.val = fn(e.val[:0], i)
		// Jackson writes non-finite numbers as strings.
		if e.quote[c] || e.val[0] == 'N' || e.val[0] == 'I' || (len(e.val) > 1 && e.val[1] == 'I') {
			dst = types.AppendJSONString(dst, e.val)
		} else {
			dst = append(dst, e.val...)
		}
	}
	return append(dst, '}'), nil
}
