// Package json is Flink's 'json' format for Eddy's file connectors:
// newline-delimited JSON objects, one per row, fields matched to columns by
// name. Values decode by column type (a JSON string holding a number is
// accepted for numeric columns, as in Flink); temporal values are strings in
// the SQL or ISO-8601 spelling chosen by json.timestamp-format.standard;
// bytes are base64 strings; NaN and infinities are strings, as Jackson
// writes them. ROW, ARRAY, MAP and MULTISET values are JSON objects and
// arrays (nested.go).
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
	PlainDecimal       = "json.encode.decimal-as-plain-number"
	IgnoreNullFields   = "json.encode.ignore-null-fields"
	MapNullKeyMode     = "json.map-null-key.mode"
	MapNullKeyLiteral  = "json.map-null-key.literal"
	JSONParser         = "decode.json-parser.enabled"
)

// Options are the json format's option declarations.
var Options = []connector.Option{
	{Key: FailOnMissingField, Type: connector.Bool, Default: "false",
		Doc: "Fail when a column has no field in a record; otherwise the column is NULL."},
	{Key: IgnoreParseErrors, Type: connector.Bool, Default: "false",
		Doc: "Skip (and count) malformed records instead of failing."},
	{Key: TimestampStandard, Type: connector.Enum, Enum: []string{"SQL", "ISO-8601"}, Default: "SQL",
		Doc: "Spelling of TIMESTAMP values: SQL '2020-12-30 12:13:14.123' or ISO-8601 '2020-12-30T12:13:14.123'."},
	{Key: PlainDecimal, Type: connector.Bool, Default: "false",
		Doc: "Write DECIMAL values without an exponent (0.000000027, not 2.7E-8)."},
	{Key: IgnoreNullFields, Type: connector.Bool, Default: "false",
		Doc: "Leave NULL fields out of the objects written, in nested rows too."},
	{Key: MapNullKeyMode, Type: connector.Enum, Enum: []string{"FAIL", "DROP", "LITERAL"}, Default: "FAIL",
		Doc: "What to do with a NULL MAP key when writing; accepted for Flink DDL: a MAP here cannot hold a NULL key."},
	{Key: MapNullKeyLiteral, Type: connector.String, Default: "null",
		Doc: "The key written for a NULL MAP key under the LITERAL mode; see json.map-null-key.mode."},
	{Key: JSONParser, Type: connector.Bool, Default: "true",
		Doc: "Flink's choice between two Java JSON decoders; accepted for Flink DDL: there is one decoder here."},
}

// Config is the parsed json options.
type Config struct {
	FailOnMissingField bool
	IgnoreParseErrors  bool
	Timestamp          format.TimestampStyle
	// PlainDecimal writes DECIMAL values without an exponent
	// (encode.decimal-as-plain-number); IgnoreNullFields leaves NULL
	// fields out of the objects written.
	PlainDecimal     bool
	IgnoreNullFields bool
}

// ParseConfig reads the json options.
func ParseConfig(o connector.Options) (Config, error) {
	c := Config{FailOnMissingField: o.Bool(FailOnMissingField), IgnoreParseErrors: o.Bool(IgnoreParseErrors),
		PlainDecimal: o.Bool(PlainDecimal), IgnoreNullFields: o.Bool(IgnoreNullFields)}
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
		if err := checkType(c.Type); err != nil {
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
	cols    []*column
	fields  map[string]stdjson.RawMessage
	scan    Scanner
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
		c, err := newColumn(cfg, fileSchema.Columns[f].Type, b.Field(out), &d.scan)
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
		if !ok {
			if d.cfg.FailOnMissingField {
				return fmt.Errorf("missing field '%s'", d.names[k])
			}
			c.SetNull()
			continue
		}
		if err := c.Stage(raw); err != nil {
			return fmt.Errorf("field '%s': %w", d.names[k], err)
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
	keys   [][]byte   // `"name":` per column
	fns    []appender // of the bound batch's columns
	cols   []arrow.Array
	buf    []byte
}

var _ format.RecordEncoder = (*Encoder)(nil)

// NewEncoder writes batches of schema s.
func NewEncoder(cfg Config, s types.Schema) *Encoder {
	e := &Encoder{cfg: cfg, schema: s, fns: make([]appender, s.Len())}
	for _, c := range s.Columns {
		e.keys = append(e.keys, append(types.AppendJSONString(nil, c.Name), ':'))
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
	style := format.Style{Timestamp: e.cfg.Timestamp, PlainDecimal: e.cfg.PlainDecimal}
	for c := range e.fns {
		fn, err := newAppender(e.cols[c], e.schema.Columns[c].Type, style, e.cfg.IgnoreNullFields)
		if err != nil {
			return fmt.Errorf("column '%s': %w", e.schema.Columns[c].Name, err)
		}
		e.fns[c] = fn
	}
	return nil
}

// AppendRow appends row i of the bound batch as one JSON object, without a
// line terminator; it never fails. Under json.encode.ignore-null-fields a
// NULL field is left out, in nested rows too, as Flink does.
func (e *Encoder) AppendRow(dst []byte, i int) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	for c, fn := range e.fns {
		null := e.cols[c].IsNull(i)
		if null && e.cfg.IgnoreNullFields {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, e.keys[c]...)
		dst = appendOrNull(dst, null, fn, i)
	}
	return append(dst, '}'), nil
}
