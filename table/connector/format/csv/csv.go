// Package csv is Flink's 'csv' format for Eddy's file connectors: option
// declarations with Flink's names, a decoder that parses records straight
// into Arrow builders, and an encoder that writes batches as CSV text.
//
// Records are lines; a quoted field may span lines. A doubled quote
// character inside a quoted field is a literal quote; with
// csv.escape-character, so is any character after the escape character. NULL is written as an
// empty unquoted field (or csv.null-literal when set); an empty string is
// written as two quote characters so that both survive a round trip. On
// reading, an empty unquoted field is NULL for every type, a quoted empty
// field is the empty string.
//
// ARRAY and ROW columns of scalars hold their elements or fields in one
// CSV field, separated by csv.array-element-delimiter (see nested.go).
package csv

import (
	"bufio"
	"bytes"
	"errors"
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
	FieldDelimiter        = "csv.field-delimiter"
	QuoteCharacter        = "csv.quote-character"
	DisableQuoteCharacter = "csv.disable-quote-character"
	AllowComments         = "csv.allow-comments"
	IgnoreParseErrors     = "csv.ignore-parse-errors"
	NullLiteral           = "csv.null-literal"
	EscapeCharacter       = "csv.escape-character"
	ArrayElementDelimiter = "csv.array-element-delimiter"
	ScientificDecimal     = "csv.write-bigdecimal-in-scientific-notation"
)

// Options are the csv format's option declarations, for connectors to
// include in theirs.
var Options = []connector.Option{
	{Key: FieldDelimiter, Type: connector.String, Default: ",",
		Doc: "Field delimiter character; a single character, '\\t' for tab."},
	{Key: QuoteCharacter, Type: connector.String, Default: `"`,
		Doc: "Quote character enclosing field values."},
	{Key: DisableQuoteCharacter, Type: connector.Bool, Default: "false",
		Doc: "Disable quoting: fields are never quoted and quote characters are literal."},
	{Key: AllowComments, Type: connector.Bool, Default: "false",
		Doc: "Ignore lines starting with '#'."},
	{Key: IgnoreParseErrors, Type: connector.Bool, Default: "false",
		Doc: "Skip (and count) malformed records instead of failing."},
	{Key: NullLiteral, Type: connector.String,
		Doc: "Text that stands for NULL (read and written); by default NULL is an empty field."},
	{Key: EscapeCharacter, Type: connector.String,
		Doc: "Escape character: the character after it is literal, in quoted and unquoted fields; written before quote and escape characters inside quoted fields. None by default."},
	{Key: ArrayElementDelimiter, Type: connector.String, Default: ";",
		Doc: "Separator of the elements of an ARRAY column and of the fields of a ROW column within their CSV field."},
	{Key: ScientificDecimal, Type: connector.Bool, Default: "true",
		Doc: "Write DECIMAL values as Java's BigDecimal.toString (2.7E-8); false writes them without an exponent (0.000000027)."},
}

// Config is the parsed csv options.
type Config struct {
	Delimiter         byte
	Quote             byte // 0 when quoting is disabled
	AllowComments     bool
	IgnoreParseErrors bool
	NullLiteral       []byte // nil when not set
	Escape            byte   // 0 when not set
	PlainDecimal      bool
	// ElementDelimiter separates ARRAY elements and ROW fields; nil means
	// Flink's default, ';'.
	ElementDelimiter []byte
}

// withDefaults fills in the defaults of a Config built without ParseConfig.
func (c Config) withDefaults() Config {
	if len(c.ElementDelimiter) == 0 {
		c.ElementDelimiter = []byte{';'}
	}
	return c
}

// ParseConfig reads and checks the csv options.
func ParseConfig(o connector.Options) (Config, error) {
	c := Config{
		AllowComments:     o.Bool(AllowComments),
		IgnoreParseErrors: o.Bool(IgnoreParseErrors),
	}
	var err error
	if c.Delimiter, err = oneChar(FieldDelimiter, o.String(FieldDelimiter)); err != nil {
		return c, err
	}
	if !o.Bool(DisableQuoteCharacter) {
		if c.Quote, err = oneChar(QuoteCharacter, o.String(QuoteCharacter)); err != nil {
			return c, err
		}
		if c.Quote == c.Delimiter {
			return c, fmt.Errorf("option '%s' and '%s' must differ", QuoteCharacter, FieldDelimiter)
		}
	} else if o.IsSet(QuoteCharacter) {
		return c, fmt.Errorf("option '%s' and '%s' cannot both be set", QuoteCharacter, DisableQuoteCharacter)
	}
	if v, ok := o.Lookup(NullLiteral); ok {
		c.NullLiteral = []byte(v)
	}
	if v, ok := o.Lookup(EscapeCharacter); ok {
		if c.Escape, err = oneChar(EscapeCharacter, v); err != nil {
			return c, err
		}
		if c.Escape == c.Delimiter || c.Escape == c.Quote {
			return c, fmt.Errorf("option '%s' must differ from the field delimiter and the quote character", EscapeCharacter)
		}
	}
	c.PlainDecimal = !o.Bool(ScientificDecimal)
	if c.ElementDelimiter = []byte(o.String(ArrayElementDelimiter)); len(c.ElementDelimiter) == 0 {
		return c, fmt.Errorf("option '%s' must not be empty", ArrayElementDelimiter)
	}
	return c, nil
}

func oneChar(key, v string) (byte, error) {
	switch {
	case v == `\t`:
		return '\t', nil
	case len(v) == 1 && v[0] != '\n' && v[0] != '\r':
		return v[0], nil
	}
	return 0, fmt.Errorf("option '%s' must be a single character, got '%s'", key, v)
}

// CheckSchema reports the first column whose type the format cannot carry:
// scalars, and ARRAY and ROW of scalars.
func CheckSchema(s types.Schema) error {
	for _, c := range s.Columns {
		if err := checkType(c.Name, c.Type); err != nil {
			return fmt.Errorf("column '%s': %w", c.Name, err)
		}
	}
	return nil
}

// Decoder reads the records of one file into a RecordBuilder.
type Decoder struct {
	cfg   Config
	r     *bufio.Reader
	name  string
	line  int // lines consumed so far
	long  []byte
	nCols int // fields per record in the file
	// cols[f] decodes field f, nil for fields not projected.
	cols  []fieldDecoder
	isStr []bool
	// isNested[f] is set for ARRAY and ROW fields.
	isNested []bool
	record   []byte
	fields   []field
	skipped  int64
	src      *bytes.Reader // the input of a record decoder
}

type field struct {
	start, end int
	quoted     bool
}

// NewDecoder decodes r, whose records have the columns of fileSchema, into
// the builder b, whose fields are fileSchema's columns listed in proj (all
// of them when proj is nil). name is used in error messages.
func NewDecoder(cfg Config, r io.Reader, name string, fileSchema types.Schema, proj []int, b *array.RecordBuilder) (*Decoder, error) {
	cfg = cfg.withDefaults()
	d := &Decoder{cfg: cfg, r: bufio.NewReaderSize(r, 64<<10), name: name, nCols: fileSchema.Len(),
		cols: make([]fieldDecoder, fileSchema.Len()), isStr: make([]bool, fileSchema.Len()),
		isNested: make([]bool, fileSchema.Len())}
	if proj == nil {
		proj = make([]int, fileSchema.Len())
		for i := range proj {
			proj[i] = i
		}
	}
	for out, f := range proj {
		t := fileSchema.Columns[f].Type
		if err := checkType(fileSchema.Columns[f].Name, t); err != nil {
			return nil, fmt.Errorf("column '%s': %w", fileSchema.Columns[f].Name, err)
		}
		c, err := newFieldDecoder(cfg, t, b.Field(out))
		if err != nil {
			return nil, fmt.Errorf("column '%s': %w", fileSchema.Columns[f].Name, err)
		}
		d.cols[f] = c
		d.isStr[f] = t.IsString() || t.IsBinary()
		d.isNested[f] = t.Kind == types.Array || t.Kind == types.Row
	}
	return d, nil
}

// NewRecordDecoder decodes single CSV records, such as Kafka message
// payloads, whose fields are the columns of s, into b, whose fields are the
// columns of s listed in proj (all of them when proj is nil): fields not
// projected are split off but not parsed. Use Stage and Commit
// (format.RecordDecoder).
func NewRecordDecoder(cfg Config, s types.Schema, proj []int, b *array.RecordBuilder) (*Decoder, error) {
	d, err := NewDecoder(cfg, &bytes.Reader{}, "", s, proj, b)
	if err != nil {
		return nil, err
	}
	d.src = &bytes.Reader{}
	return d, nil
}

var _ format.RecordDecoder = (*Decoder)(nil)

// Stage parses rec, one CSV record (a trailing line break is allowed), into
// staged values that Commit appends.
func (d *Decoder) Stage(rec []byte) error {
	d.src.Reset(rec)
	d.r.Reset(d.src)
	ok, err := d.readRecord()
	if err != nil {
		return err
	}
	if !ok {
		d.fields = append(d.fields[:0], field{})
	}
	if err := d.stage(); err != nil {
		return err
	}
	if rest, _ := d.readLine(); len(rest) > 0 {
		return errors.New("more than one record")
	}
	return nil
}

// StageNull stages NULL for every column.
func (d *Decoder) StageNull() {
	for _, c := range d.cols {
		if c != nil {
			c.SetNull()
		}
	}
}

// Commit appends the staged values.
func (d *Decoder) Commit() {
	for _, c := range d.cols {
		if c != nil {
			c.Commit()
		}
	}
}

// Skipped is the number of malformed records skipped so far.
func (d *Decoder) Skipped() int64 { return d.skipped }

// Decode appends up to max records and returns how many it appended; it
// returns io.EOF (with 0) once the input is exhausted. A malformed record
// is an error naming the file and line unless IgnoreParseErrors is set.
func (d *Decoder) Decode(max int) (int, error) {
	n := 0
	for n < max {
		startLine := d.line + 1
		ok, err := d.readRecord()
		var pe parseError
		if errors.As(err, &pe) && d.cfg.IgnoreParseErrors {
			d.skipped++
			continue
		}
		if err != nil {
			return n, fmt.Errorf("%s:%d: %w", d.name, startLine, err)
		}
		if !ok {
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		if d.skipRecord() {
			continue
		}
		if err := d.stage(); err != nil {
			if d.cfg.IgnoreParseErrors {
				d.skipped++
				continue
			}
			return n, fmt.Errorf("%s:%d: %w", d.name, startLine, err)
		}
		d.Commit()
		n++
	}
	return n, nil
}

// skipRecord drops comment lines and blank lines (a blank line is a record
// only when the file has a single column, where it spells one NULL).
func (d *Decoder) skipRecord() bool {
	if len(d.fields) == 1 && d.fields[0].start == d.fields[0].end && !d.fields[0].quoted {
		return d.nCols != 1
	}
	return d.cfg.AllowComments && len(d.record) > 0 && d.record[0] == '#' && !d.fields[0].quoted
}

func (d *Decoder) stage() error {
	if len(d.fields) != d.nCols {
		return fmt.Errorf("expected %d fields, got %d", d.nCols, len(d.fields))
	}
	for f, c := range d.cols {
		if c == nil {
			continue
		}
		fd := d.fields[f]
		v := d.record[fd.start:fd.end]
		switch {
		case d.cfg.NullLiteral != nil && bytes.Equal(v, d.cfg.NullLiteral) && !(fd.quoted && d.isNested[f]):
			// A quoted null literal in an ARRAY or ROW field is its one
			// NULL element (the encoder quotes it so).
			c.SetNull()
		case len(v) == 0 && !d.isStr[f] && !(fd.quoted && d.isNested[f]):
			// A quoted empty ARRAY field is the empty ARRAY.
			c.SetNull()
		case len(v) == 0 && !fd.quoted && d.cfg.NullLiteral == nil:
			// Without a null literal, an empty unquoted field is NULL for
			// strings too (the encoder quotes empty strings).
			c.SetNull()
		default:
			if err := c.Parse(v); err != nil {
				return fmt.Errorf("field %d: %w", f+1, err)
			}
		}
	}
	return nil
}

// parseError is a malformed record, as opposed to an I/O error.
type parseError string

func (e parseError) Error() string { return string(e) }

// readRecord reads one record into d.record/d.fields; false at end of input.
func (d *Decoder) readRecord() (bool, error) {
	d.record = d.record[:0]
	d.fields = d.fields[:0]
	line, err := d.readLine()
	if err != nil {
		return false, err
	}
	if line == nil {
		return false, nil
	}
	if d.cfg.Escape != 0 {
		return d.readEscaped(line)
	}
	q, delim := d.cfg.Quote, d.cfg.Delimiter
	pos := 0
	for {
		// start of a field at line[pos]
		if q != 0 && pos < len(line) && line[pos] == q {
			start := len(d.record)
			pos++
			for {
				i := bytes.IndexByte(line[pos:], q)
				if i < 0 {
					// the quoted field continues on the next line
					d.record = append(d.record, line[pos:]...)
					d.record = append(d.record, '\n')
					if line, err = d.readLine(); err != nil {
						return false, err
					}
					if line == nil {
						return false, parseError("unterminated quoted field")
					}
					pos = 0
					continue
				}
				d.record = append(d.record, line[pos:pos+i]...)
				pos += i + 1
				if pos < len(line) && line[pos] == q {
					d.record = append(d.record, q)
					pos++
					continue
				}
				break
			}
			d.fields = append(d.fields, field{start: start, end: len(d.record), quoted: true})
			if pos == len(line) {
				return true, nil
			}
			if line[pos] != delim {
				return false, parseError(fmt.Sprintf("unexpected character %q after quoted field", line[pos]))
			}
			pos++
			continue
		}
		i := bytes.IndexByte(line[pos:], delim)
		end := len(line)
		if i >= 0 {
			end = pos + i
		}
		start := len(d.record)
		d.record = append(d.record, line[pos:end]...)
		d.fields = append(d.fields, field{start: start, end: len(d.record)})
		if i < 0 {
			return true, nil
		}
		pos = end + 1
	}
}

// readEscaped is readRecord for a format with an escape character: the
// character after one is literal, in quoted and unquoted fields alike.
// It scans byte by byte, where readRecord searches for the delimiter.
func (d *Decoder) readEscaped(line []byte) (bool, error) {
	q, delim, esc := d.cfg.Quote, d.cfg.Delimiter, d.cfg.Escape
	pos := 0
fields:
	for {
		start := len(d.record)
		quoted := q != 0 && pos < len(line) && line[pos] == q
		if quoted {
			pos++
		}
		for {
			if pos >= len(line) {
				if !quoted {
					d.fields = append(d.fields, field{start: start, end: len(d.record)})
					return true, nil
				}
				// The quoted field continues on the next line.
				d.record = append(d.record, '\n')
				var err error
				if line, err = d.readLine(); err != nil {
					return false, err
				}
				if line == nil {
					return false, parseError("unterminated quoted field")
				}
				pos = 0
				continue
			}
			switch c := line[pos]; {
			case c == esc && pos+1 < len(line):
				d.record = append(d.record, line[pos+1])
				pos += 2
			case quoted && c == q && pos+1 < len(line) && line[pos+1] == q:
				d.record = append(d.record, q)
				pos += 2
			case quoted && c == q:
				d.fields = append(d.fields, field{start: start, end: len(d.record), quoted: true})
				pos++
				if pos == len(line) {
					return true, nil
				}
				if line[pos] != delim {
					return false, parseError(fmt.Sprintf("unexpected character %q after quoted field", line[pos]))
				}
				pos++
				continue fields
			case !quoted && c == delim:
				d.fields = append(d.fields, field{start: start, end: len(d.record)})
				pos++
				continue fields
			default:
				d.record = append(d.record, c)
				pos++
			}
		}
	}
}

// readLine returns the next line without its terminator, nil at EOF. The
// slice is valid until the next call.
func (d *Decoder) readLine() ([]byte, error) {
	line, err := format.ReadLine(d.r, &d.long)
	if line == nil || err != nil {
		return nil, err
	}
	d.line++
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'}), nil
}

// Encoder writes batches as CSV records.
//
// Bind renders the bound batch column by column, each with one typed loop
// (format.AppendColumn), and quotes a column's values in a second pass
// only when its text contains a character that needs it; AppendRow then
// only copies each field's bytes.
type Encoder struct {
	cfg     Config
	schema  types.Schema
	style   format.Style
	special []byte // the bytes that make a field need quoting
	cols    []encodedColumn
	nested  []*renderedValues // scratch of ARRAY and ROW columns
	buf     []byte
	raw     []byte
	rawEnds []int
}

// encodedColumn is the text of one column of the bound batch.
type encodedColumn struct {
	arr  arrow.Array // for its validity; nil when it has no NULLs
	text []byte
	ends []int // ends[i+1] is where row i's field ends in text; ends[0] is 0
}

var _ format.RecordEncoder = (*Encoder)(nil)

// NewEncoder writes batches of schema s.
func NewEncoder(cfg Config, s types.Schema) *Encoder {
	cfg = cfg.withDefaults()
	e := &Encoder{cfg: cfg, schema: s, cols: make([]encodedColumn, s.Len()),
		style: format.Style{Timestamp: format.SQL, PlainDecimal: cfg.PlainDecimal}}
	if cfg.Quote != 0 {
		e.special = []byte{cfg.Delimiter, cfg.Quote, '\n', '\r'}
		if cfg.Escape != 0 {
			e.special = append(e.special, cfg.Escape)
		}
	}
	return e
}

// Encode writes b's rows to w and returns the number of bytes written.
func (e *Encoder) Encode(w io.Writer, b arrow.RecordBatch) (int, error) {
	return format.EncodeLines(w, e, b, &e.buf)
}

// Bind renders the rows of b (see format.RecordEncoder).
func (e *Encoder) Bind(b arrow.RecordBatch) error {
	for c := range e.cols {
		arr := b.Column(c)
		col := &e.cols[c]
		var err error
		if t := e.schema.Columns[c].Type; t.Kind == types.Array || t.Kind == types.Row {
			e.raw, e.rawEnds, err = e.appendNested(e.raw[:0], append(e.rawEnds[:0], 0), arr, t)
		} else {
			e.raw, e.rawEnds, err = format.AppendColumn(e.raw[:0], append(e.rawEnds[:0], 0), arr, t, e.style)
		}
		if err != nil {
			return fmt.Errorf("column '%s': %w", e.schema.Columns[c].Name, err)
		}
		col.arr = nil
		if arr.NullN() > 0 {
			col.arr = arr
		}
		if e.plain(e.raw, e.rawEnds, col.arr) {
			// Nothing to quote: the rendered text is the column's.
			e.raw, col.text = col.text, e.raw
			e.rawEnds, col.ends = col.ends, e.rawEnds
			continue
		}
		col.text, col.ends = col.text[:0], append(col.ends[:0], 0)
		for i := 1; i < len(e.rawEnds); i++ {
			if col.arr == nil || col.arr.IsValid(i-1) {
				col.text = e.appendField(col.text, e.raw[e.rawEnds[i-1]:e.rawEnds[i]])
			}
			col.ends = append(col.ends, len(col.text))
		}
	}
	return nil
}

// plain reports whether no field of a rendered column needs quoting, with
// one scan of the column's text rather than one per field.
func (e *Encoder) plain(text []byte, ends []int, nulls arrow.Array) bool {
	if e.cfg.Quote == 0 {
		return true
	}
	// A search per special byte (bytes.IndexByte is vectorized) beats one
	// pass that tests every byte against all of them.
	for _, c := range e.special {
		if bytes.IndexByte(text, c) >= 0 {
			return false
		}
	}
	// An empty string, the null literal and (with comments allowed) a
	// leading '#' are quoted too.
	for i := 1; i < len(ends); i++ {
		if nulls != nil && nulls.IsNull(i-1) {
			continue
		}
		v := text[ends[i-1]:ends[i]]
		if len(v) == 0 || (e.cfg.NullLiteral != nil && bytes.Equal(v, e.cfg.NullLiteral)) ||
			(e.cfg.AllowComments && v[0] == '#') {
			return false
		}
	}
	return true
}

// AppendRow appends row i of the bound batch as one CSV record, without a
// line terminator; it never fails.
func (e *Encoder) AppendRow(dst []byte, i int) ([]byte, error) {
	for c := range e.cols {
		if c > 0 {
			dst = append(dst, e.cfg.Delimiter)
		}
		col := &e.cols[c]
		if col.arr != nil && col.arr.IsNull(i) {
			dst = append(dst, e.cfg.NullLiteral...)
			continue
		}
		dst = append(dst, col.text[col.ends[i]:col.ends[i+1]]...)
	}
	return dst, nil
}

// appendField quotes v only when it must be: it is empty (so it is not
// NULL), contains the delimiter, the quote, a line break, or equals the
// null literal.
func (e *Encoder) appendField(dst, v []byte) []byte {
	q := e.cfg.Quote
	if q == 0 {
		return append(dst, v...)
	}
	esc := e.cfg.Escape
	need := len(v) == 0 || (e.cfg.NullLiteral != nil && bytes.Equal(v, e.cfg.NullLiteral)) ||
		(v[0] == '#' && e.cfg.AllowComments)
	for _, c := range v {
		if need {
			break
		}
		need = c == e.cfg.Delimiter || c == q || c == '\n' || c == '\r' || (esc != 0 && c == esc)
	}
	if !need {
		return append(dst, v...)
	}
	// Inside quotes a quote character is escaped, or doubled without an
	// escape character; so is an escape character.
	dst = append(dst, q)
	for _, c := range v {
		switch {
		case esc != 0 && (c == q || c == esc):
			dst = append(dst, esc)
		case c == q:
			dst = append(dst, q)
		}
		dst = append(dst, c)
	}
	return append(dst, q)
}
