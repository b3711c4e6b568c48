package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table/connector/format"
)

// Nested values, as Flink's JSON format reads and writes them
// (JsonToRowDataConverters, RowDataToJsonConverters): a ROW is an object
// whose fields match the row's by name (missing ones NULL, or an error
// under json.fail-on-missing-field), an ARRAY an array, a MAP an object
// whose keys are the map's keys, and a MULTISET an object from each
// element to its count. MAP and MULTISET keys are strings, as in Flink. A
// STRING column given an object or array reads its JSON text.

// checkType reports whether the format carries t.
func checkType(t types.DataType) error {
	switch t.Kind {
	case types.Row:
		for _, f := range t.Fields {
			if err := checkType(f.Type); err != nil {
				return err
			}
		}
		return nil
	case types.Array:
		return checkType(*t.Elem)
	case types.Multiset:
		return checkKey(t, *t.Elem)
	case types.Map:
		if err := checkKey(t, *t.Key); err != nil {
			return err
		}
		return checkType(*t.Value)
	}
	return format.CheckType(t)
}

// checkKey reports a MAP or MULTISET key type other than a string.
func checkKey(t, key types.DataType) error {
	if !key.IsString() {
		return fmt.Errorf("JSON format doesn't support non-string as key type of map: %s", t)
	}
	return nil
}

func nested(t types.DataType) bool {
	return t.Kind == types.Row || t.Kind == types.Array || t.Kind == types.Map || t.Kind == types.Multiset
}

// column stages the JSON value of one column of a record and appends it
// to the column's builder on Commit, so that a record is appended only
// once all its fields were read (see format.Column).
type column struct {
	leaf *format.Column // scalar columns
	// nested columns: the converter, and the staged value, copied (nil
	// for NULL), checked when staged and appended on Commit.
	conv   *converter
	staged []byte
	null   bool
	scan   *Scanner
	text   []byte // an object or array read as a string, compacted
}

func newColumn(cfg Config, t types.DataType, b array.Builder, scan *Scanner) (*column, error) {
	if err := checkType(t); err != nil {
		return nil, err
	}
	if !nested(t) {
		leaf, err := format.NewColumn(t, b)
		return &column{leaf: leaf, scan: scan}, err
	}
	conv, err := newConverter(cfg, t, b)
	return &column{conv: conv, scan: scan}, err
}

func (c *column) Type() types.DataType {
	if c.leaf != nil {
		return c.leaf.Type()
	}
	return c.conv.t
}

// SetNull stages NULL.
func (c *column) SetNull() {
	if c.leaf != nil {
		c.leaf.SetNull()
		return
	}
	c.null = true
}

// StageText stages the contents of a JSON string, unescaped.
func (c *column) StageText(v []byte) error {
	if c.leaf != nil {
		return c.leaf.Parse(v)
	}
	return fmt.Errorf("expected a JSON %s for %s, got a string", c.conv.jsonKind(), c.conv.t)
}

// Stage stages raw, a whole JSON value.
func (c *column) Stage(raw []byte) error {
	if IsNull(raw) {
		c.SetNull()
		return nil
	}
	if c.leaf != nil {
		return stageLeaf(c.leaf, raw, c.scan, &c.text)
	}
	if err := c.conv.put(raw, c.scan, true); err != nil {
		return err
	}
	c.null, c.staged = false, append(c.staged[:0], raw...)
	return nil
}

// Commit appends the staged value.
func (c *column) Commit() {
	switch {
	case c.leaf != nil:
		c.leaf.Commit()
	case c.null:
		c.conv.b.AppendNull()
	default:
		// Staging checked the value: appending it cannot fail.
		_ = c.conv.put(c.staged, c.scan, false)
	}
}

// stageLeaf stages the scalar JSON value raw in leaf: a string's contents,
// a number or boolean as written, an object or array (for a string type)
// as its compact JSON text.
func stageLeaf(leaf *format.Column, raw []byte, scan *Scanner, text *[]byte) error {
	switch raw[0] {
	case '"':
		v, err := scan.String(raw)
		if err != nil {
			return err
		}
		return leaf.Parse(v)
	case '{', '[':
		if !leaf.Type().IsString() {
			return fmt.Errorf("cannot read a nested JSON value as %s", leaf.Type())
		}
		var b bytes.Buffer
		b.Grow(len(raw))
		if err := stdjson.Compact(&b, raw); err != nil {
			return fmt.Errorf("malformed JSON value: %w", err)
		}
		*text = append((*text)[:0], b.Bytes()...)
		return leaf.Parse(*text)
	}
	return leaf.Parse(raw)
}

// converter appends the JSON values of one nested type to its builder.
// put with check set only checks a value; without, it appends one that
// was checked.
type converter struct {
	t    types.DataType
	b    array.Builder
	leaf *format.Column
	text []byte
	// ARRAY, MULTISET and MAP: the list builder and its element (for a
	// MAP, the entry's key and value).
	list     *array.ListBuilder
	elem     *converter
	entries  *array.StructBuilder
	key, val *converter
	// ROW: its fields by name, and the raw value of each field of the
	// object being read.
	row           *array.StructBuilder
	fields        []*converter
	names         [][]byte
	raws          [][]byte
	failOnMissing bool
}

func newConverter(cfg Config, t types.DataType, b array.Builder) (*converter, error) {
	c := &converter{t: t, b: b}
	var err error
	switch t.Kind {
	case types.Row:
		c.row = b.(*array.StructBuilder)
		c.failOnMissing = cfg.FailOnMissingField
		c.raws = make([][]byte, len(t.Fields))
		for i, f := range t.Fields {
			fc, err := newConverter(cfg, f.Type, c.row.FieldBuilder(i))
			if err != nil {
				return nil, err
			}
			c.fields = append(c.fields, fc)
			c.names = append(c.names, []byte(f.Name))
		}
	case types.Array, types.Multiset:
		c.list = b.(*array.ListBuilder)
		c.elem, err = newConverter(cfg, *t.Elem, c.list.ValueBuilder())
	case types.Map:
		c.list = b.(*array.ListBuilder)
		c.entries = c.list.ValueBuilder().(*array.StructBuilder)
		if c.key, err = newConverter(cfg, *t.Key, c.entries.FieldBuilder(0)); err == nil {
			c.val, err = newConverter(cfg, *t.Value, c.entries.FieldBuilder(1))
		}
	default:
		c.leaf, err = format.NewColumn(t, b)
	}
	return c, err
}

// jsonKind names the JSON value a nested type reads from, and opening
// is its first character.
func (c *converter) jsonKind() string {
	if c.t.Kind == types.Array {
		return "array"
	}
	return "object"
}

func (c *converter) opening() byte {
	if c.t.Kind == types.Array {
		return '['
	}
	return '{'
}

func (c *converter) put(raw []byte, scan *Scanner, check bool) error {
	if IsNull(raw) {
		if !check {
			c.b.AppendNull()
		}
		return nil
	}
	if c.leaf != nil {
		if err := stageLeaf(c.leaf, raw, scan, &c.text); err != nil {
			return err
		}
		if !check {
			c.leaf.Commit()
		}
		return nil
	}
	if open := c.opening(); raw[0] != open {
		return fmt.Errorf("expected a JSON %s for %s, got %.32s", c.jsonKind(), c.t, raw)
	}
	switch c.t.Kind {
	case types.Row:
		return c.putRow(raw, scan, check)
	case types.Array:
		if !check {
			c.list.Append(true)
		}
		return scan.Array(raw, func(e []byte) error { return c.elem.put(e, scan, check) })
	case types.Map:
		if !check {
			c.list.Append(true)
		}
		return scan.Object(raw, func(name, v []byte) error {
			if !check {
				c.entries.Append(true)
			}
			if err := c.key.putText(name, check); err != nil {
				return err
			}
			return c.val.put(v, scan, check)
		})
	}
	// MULTISET: each element repeated as often as its count says.
	if !check {
		c.list.Append(true)
	}
	return scan.Object(raw, func(name, v []byte) error {
		n, err := strconv.ParseInt(string(v), 10, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("MULTISET element '%s': the count must be a non-negative integer, not %.32s", name, v)
		}
		for range n {
			if err := c.elem.putText(name, check); err != nil {
				return err
			}
			if check {
				break
			}
		}
		return nil
	})
}

// putRow reads the fields of the object raw by name.
func (c *converter) putRow(raw []byte, scan *Scanner, check bool) error {
	clear(c.raws)
	err := scan.Object(raw, func(name, v []byte) error {
		for k, n := range c.names {
			if bytes.Equal(n, name) {
				c.raws[k] = v
				break
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !check {
		c.row.Append(true)
	}
	// A field's converter may read nested rows, reusing their own raws:
	// this row's are taken one at a time.
	for k, f := range c.fields {
		v := c.raws[k]
		if v == nil {
			if check && c.failOnMissing {
				return fmt.Errorf("missing field '%s'", c.names[k])
			}
			v = []byte("null")
		}
		if err := f.put(v, scan, check); err != nil {
			return fmt.Errorf("field '%s': %w", c.names[k], err)
		}
	}
	return nil
}

// putText reads a MAP key or MULTISET element, the unescaped name of an
// object's field.
func (c *converter) putText(text []byte, check bool) error {
	if c.leaf == nil {
		return errors.New("JSON format doesn't support non-string as key type of map")
	}
	if err := c.leaf.Parse(text); err != nil {
		return err
	}
	if !check {
		c.leaf.Commit()
	}
	return nil
}

// appender appends the JSON text of the non-null value at row i.
type appender func(dst []byte, i int) []byte

// newAppender writes the values of arr, of type t, as JSON.
func newAppender(arr arrow.Array, t types.DataType, style format.Style, omitNull bool) (appender, error) {
	switch t.Kind {
	case types.Row:
		a := arr.(*array.Struct)
		names := make([][]byte, len(t.Fields))
		fns := make([]appender, len(t.Fields))
		for k, f := range t.Fields {
			names[k] = append(types.AppendJSONString(nil, f.Name), ':')
			fn, err := newAppender(a.Field(k), f.Type, style, omitNull)
			if err != nil {
				return nil, fmt.Errorf("field '%s': %w", f.Name, err)
			}
			fns[k] = fn
		}
		return func(dst []byte, i int) []byte {
			dst = append(dst, '{')
			first := true
			for k, fn := range fns {
				null := a.Field(k).IsNull(i)
				if null && omitNull {
					continue
				}
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, names[k]...)
				dst = appendOrNull(dst, null, fn, i)
			}
			return append(dst, '}')
		}, nil
	case types.Array:
		a := arr.(*array.List)
		values := a.ListValues()
		fn, err := newAppender(values, *t.Elem, style, omitNull)
		if err != nil {
			return nil, err
		}
		return func(dst []byte, i int) []byte {
			start, end := a.ValueOffsets(i)
			dst = append(dst, '[')
			for j := start; j < end; j++ {
				if j > start {
					dst = append(dst, ',')
				}
				dst = appendOrNull(dst, values.IsNull(int(j)), fn, int(j))
			}
			return append(dst, ']')
		}, nil
	case types.Map:
		a := arr.(*array.List)
		_, keys, vals := types.MapEntries(a)
		kf, err := format.Bind(keys, *t.Key, style)
		if err != nil {
			return nil, err
		}
		vf, err := newAppender(vals, *t.Value, style, omitNull)
		if err != nil {
			return nil, err
		}
		var key []byte
		return func(dst []byte, i int) []byte {
			start, end := a.ValueOffsets(i)
			dst = append(dst, '{')
			for j := int(start); j < int(end); j++ {
				if j > int(start) {
					dst = append(dst, ',')
				}
				key = kf(key[:0], j)
				dst = append(types.AppendJSONString(dst, key), ':')
				dst = appendOrNull(dst, vals.IsNull(j), vf, j)
			}
			return append(dst, '}')
		}, nil
	case types.Multiset:
		a := arr.(*array.List)
		values := a.ListValues()
		ef, err := format.Bind(values, *t.Elem, style)
		if err != nil {
			return nil, err
		}
		count := map[string]int{}
		var order []string
		var elem []byte
		return func(dst []byte, i int) []byte {
			start, end := a.ValueOffsets(i)
			clear(count)
			order = order[:0]
			for j := int(start); j < int(end); j++ {
				if values.IsNull(j) {
					continue
				}
				elem = ef(elem[:0], j)
				if count[string(elem)] == 0 {
					order = append(order, string(elem))
				}
				count[string(elem)]++
			}
			dst = append(dst, '{')
			for k, e := range order {
				if k > 0 {
					dst = append(dst, ',')
				}
				dst = append(types.AppendJSONString(dst, e), ':')
				dst = strconv.AppendInt(dst, int64(count[e]), 10)
			}
			return append(dst, '}')
		}, nil
	}
	fn, err := format.Bind(arr, t, style)
	if err != nil {
		return nil, err
	}
	quote := t.IsString() || t.IsBinary() || t.IsTemporal()
	var val []byte
	return func(dst []byte, i int) []byte {
		val = fn(val[:0], i)
		// Jackson writes non-finite numbers as strings.
		if quote || val[0] == 'N' || val[0] == 'I' || (len(val) > 1 && val[1] == 'I') {
			return types.AppendJSONString(dst, val)
		}
		return append(dst, val...)
	}, nil
}

func appendOrNull(dst []byte, null bool, fn appender, i int) []byte {
	if null {
		return append(dst, "null"...)
	}
	return fn(dst, i)
}
