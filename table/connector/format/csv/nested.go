package csv

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table/connector/format"
)

// ARRAY and ROW columns, as Flink's csv format has them (its
// CsvRowSchemaConverter maps both to Jackson's ARRAY column type): the
// elements of an ARRAY, or the fields of a ROW in order, are one CSV field
// whose values are separated by csv.array-element-delimiter. Only scalars
// may nest, one level deep; MAP and MULTISET columns are refused.
//
// A NULL element or field is written as the null literal (empty without
// csv.null-literal), and read back as NULL when it equals the null literal
// or, for every type, when it is empty and no null literal is set. An
// unquoted empty field is a NULL column, a quoted empty one the empty
// ARRAY, and a quoted null literal an ARRAY of one NULL. As in Flink, some
// values share their text: without a null literal an empty string element
// reads back as NULL and an ARRAY of one NULL as the empty ARRAY; an ARRAY
// of one empty string always reads back empty. With csv.escape-character an
// element's delimiters and escape characters are escaped, so any string
// survives a round trip; without one, writing an element that contains the
// delimiter is an error rather than text that reads back as more elements.

// checkType reports whether the csv format can carry t, with Flink's
// messages.
func checkType(name string, t types.DataType) error {
	switch t.Kind {
	case types.Array:
		return checkNested(name, *t.Elem)
	case types.Row:
		for _, f := range t.Fields {
			if err := checkNested(name, f.Type); err != nil {
				return err
			}
		}
		return nil
	}
	if format.CheckType(t) != nil {
		return fmt.Errorf("unsupported type '%s' for field '%s'", t, name)
	}
	return nil
}

func checkNested(name string, t types.DataType) error {
	if format.CheckType(t) != nil {
		return fmt.Errorf("only simple types are supported in the second level nesting of fields '%s' but was: %s", name, t)
	}
	return nil
}

// fieldDecoder parses one CSV field into a column in two steps, as
// format.Column does: Parse or SetNull stage a value, Commit appends it.
type fieldDecoder interface {
	SetNull()
	Parse(v []byte) error
	Commit()
}

// newFieldDecoder binds the decoder of a column of type t to its builder b.
func newFieldDecoder(cfg Config, t types.DataType, b array.Builder) (fieldDecoder, error) {
	switch t.Kind {
	case types.Array:
		return &arrayDecoder{cfg: cfg, elem: *t.Elem, b: b.(*array.ListBuilder)}, nil
	case types.Row:
		sb := b.(*array.StructBuilder)
		r := &rowDecoder{cfg: cfg, b: sb, fields: make([]*format.Column, len(t.Fields))}
		for f := range t.Fields {
			c, err := format.NewColumn(t.Fields[f].Type, sb.FieldBuilder(f))
			if err != nil {
				return nil, err
			}
			r.fields[f] = c
		}
		return r, nil
	}
	return format.NewColumn(t, b)
}

// arrayDecoder stages the elements of an ARRAY field, one format.Column per
// element, all bound to the list's value builder: Commit appends them in
// order.
type arrayDecoder struct {
	cfg   Config
	elem  types.DataType
	b     *array.ListBuilder
	null  bool
	elems []*format.Column // staged: the first n
	n     int
	split splitter
}

func (d *arrayDecoder) SetNull() { d.null = true }

func (d *arrayDecoder) Parse(v []byte) error {
	d.null = false
	d.n = 0
	if len(v) == 0 {
		// The empty ARRAY.
		return nil
	}
	for k, e := range d.split.split(v, &d.cfg) {
		if d.n == len(d.elems) {
			c, err := format.NewColumn(d.elem, d.b.ValueBuilder())
			if err != nil {
				return err
			}
			d.elems = append(d.elems, c)
		}
		if err := stageElement(d.elems[d.n], e, &d.cfg); err != nil {
			return fmt.Errorf("element %d: %w", k+1, err)
		}
		d.n++
	}
	return nil
}

func (d *arrayDecoder) Commit() {
	if d.null {
		d.b.AppendNull()
		return
	}
	d.b.Append(true)
	for _, c := range d.elems[:d.n] {
		c.Commit()
	}
}

// rowDecoder stages the fields of a ROW field.
type rowDecoder struct {
	cfg    Config
	b      *array.StructBuilder
	null   bool
	fields []*format.Column
	split  splitter
}

func (d *rowDecoder) SetNull() { d.null = true }

func (d *rowDecoder) Parse(v []byte) error {
	d.null = false
	vals := d.split.split(v, &d.cfg)
	if len(vals) != len(d.fields) {
		return fmt.Errorf("expected %d ROW fields, got %d", len(d.fields), len(vals))
	}
	for f, e := range vals {
		if err := stageElement(d.fields[f], e, &d.cfg); err != nil {
			return fmt.Errorf("ROW field %d: %w", f+1, err)
		}
	}
	return nil
}

func (d *rowDecoder) Commit() {
	if d.null {
		// AppendNull appends NULL to every field builder too.
		d.b.AppendNull()
		return
	}
	d.b.Append(true)
	for _, c := range d.fields {
		c.Commit()
	}
}

// stageElement stages one element or ROW field: NULL when it is the null
// literal, or empty without one.
func stageElement(c *format.Column, e []byte, cfg *Config) error {
	if cfg.NullLiteral != nil && bytes.Equal(e, cfg.NullLiteral) || cfg.NullLiteral == nil && len(e) == 0 {
		c.SetNull()
		return nil
	}
	return c.Parse(e)
}

// splitter cuts a nested field into its elements, reusing its slices.
type splitter struct {
	parts [][]byte
	buf   []byte // unescaped elements, with an escape character
}

// split returns the elements of v (at least one); they are valid until the
// next call.
func (s *splitter) split(v []byte, cfg *Config) [][]byte {
	s.parts = s.parts[:0]
	delim := cfg.ElementDelimiter
	if cfg.Escape == 0 || bytes.IndexByte(v, cfg.Escape) < 0 {
		for {
			i := bytes.Index(v, delim)
			if i < 0 {
				return append(s.parts, v)
			}
			s.parts = append(s.parts, v[:i])
			v = v[i+len(delim):]
		}
	}
	// The character after an escape character is literal: the elements are
	// unescaped into buf, whose growth must not move earlier elements, so
	// their bounds are recorded first and sliced at the end.
	s.buf = s.buf[:0]
	var ends []int
	for k := 0; k < len(v); {
		switch {
		case v[k] == cfg.Escape && k+1 < len(v):
			s.buf = append(s.buf, v[k+1])
			k += 2
		case bytes.HasPrefix(v[k:], delim):
			ends = append(ends, len(s.buf))
			k += len(delim)
		default:
			s.buf = append(s.buf, v[k])
			k++
		}
	}
	ends = append(ends, len(s.buf))
	start := 0
	for _, end := range ends {
		s.parts = append(s.parts, s.buf[start:end])
		start = end
	}
	return s.parts
}

// appendNested renders an ARRAY or ROW column column-at-a-time: the values
// of its elements (or of each of its fields) are rendered by one
// format.AppendColumn each, then joined per row. A NULL row's text is
// empty, as AppendColumn's.
func (e *Encoder) appendNested(dst []byte, ends []int, arr arrow.Array, t types.DataType) ([]byte, []int, error) {
	n := arr.Len()
	switch t.Kind {
	case types.Array:
		a := arr.(*array.List)
		values := a.ListValues()
		r, err := e.renderValues(0, values, *t.Elem)
		if err != nil {
			return dst, ends, err
		}
		for i := 0; i < n; i++ {
			if a.IsValid(i) {
				start, end := a.ValueOffsets(i)
				for j := int(start); j < int(end); j++ {
					if j > int(start) {
						dst = append(dst, e.cfg.ElementDelimiter...)
					}
					if dst, err = e.appendElement(dst, r, values, j); err != nil {
						return dst, ends, fmt.Errorf("element %d: %w", j-int(start)+1, err)
					}
				}
			}
			ends = append(ends, len(dst))
		}
		return dst, ends, nil
	case types.Row:
		a := arr.(*array.Struct)
		rs := make([]*renderedValues, len(t.Fields))
		for f := range t.Fields {
			r, err := e.renderValues(f, a.Field(f), t.Fields[f].Type)
			if err != nil {
				return dst, ends, err
			}
			rs[f] = r
		}
		for i := 0; i < n; i++ {
			if a.IsValid(i) {
				for f, r := range rs {
					if f > 0 {
						dst = append(dst, e.cfg.ElementDelimiter...)
					}
					var err error
					if dst, err = e.appendElement(dst, r, a.Field(f), i); err != nil {
						return dst, ends, fmt.Errorf("ROW field '%s': %w", t.Fields[f].Name, err)
					}
				}
			}
			ends = append(ends, len(dst))
		}
		return dst, ends, nil
	}
	return dst, ends, fmt.Errorf("type %s is not supported by this format", t)
}

// renderedValues is the text of the values of one child array.
type renderedValues struct {
	text []byte
	ends []int
}

// renderValues renders the values of child array k of a nested column
// into the encoder's reused scratch space.
func (e *Encoder) renderValues(k int, values arrow.Array, t types.DataType) (*renderedValues, error) {
	for len(e.nested) <= k {
		e.nested = append(e.nested, &renderedValues{})
	}
	r := e.nested[k]
	var err error
	r.text, r.ends, err = format.AppendColumn(r.text[:0], append(r.ends[:0], 0), values, t, e.style)
	return r, err
}

// appendElement appends value j of a rendered child: the null literal for
// NULL, else its text with the element delimiter and escape character
// escaped when there is an escape character.
func (e *Encoder) appendElement(dst []byte, r *renderedValues, values arrow.Array, j int) ([]byte, error) {
	if values.IsNull(j) {
		return append(dst, e.cfg.NullLiteral...), nil
	}
	v := r.text[r.ends[j]:r.ends[j+1]]
	delim, esc := e.cfg.ElementDelimiter, e.cfg.Escape
	if esc == 0 {
		if bytes.Contains(v, delim) {
			return dst, fmt.Errorf("value '%s' contains the array element delimiter '%s'; set '%s' to write it", v, delim, EscapeCharacter)
		}
		return append(dst, v...), nil
	}
	if bytes.IndexByte(v, esc) < 0 && !bytes.Contains(v, delim) {
		return append(dst, v...), nil
	}
	for k := 0; k < len(v); k++ {
		if v[k] == esc || bytes.HasPrefix(v[k:], delim) {
			dst = append(dst, esc)
		}
		dst = append(dst, v[k])
	}
	return dst, nil
}
