package cdcjson

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/json"
)

// metaKey is one metadata key of a format: the envelope field it reads and
// how.
type metaKey struct {
	key  string
	slot slot
	kind metaKind
	doc  string // "TYPE: description"
}

type metaKind uint8

const (
	metaString    metaKind = iota // a JSON string: STRING
	metaStrings                   // an array of strings: ARRAY<STRING>
	metaIntMap                    // an object of integers: MAP<STRING, INT>
	metaStringMap                 // an object of scalars: MAP<STRING, STRING>, non-strings as their JSON text
	metaJSON                      // any value as its JSON text: STRING
	metaMillis                    // epoch milliseconds: TIMESTAMP_LTZ
	metaSeconds                   // epoch seconds: TIMESTAMP_LTZ
	metaText                      // "yyyy-MM-dd HH:mm:ss.ffffff" (or with 'T'), UTC: TIMESTAMP_LTZ
)

// Metadata lists the format's metadata keys with a "TYPE: description"
// line each.
func (f *Format) Metadata() map[string]string {
	m := make(map[string]string, len(f.meta))
	for _, k := range f.meta {
		m[k.key] = k.doc
	}
	return m
}

func (f *Format) metaKey(key string) (metaKey, bool) {
	for _, k := range f.meta {
		if k.key == key {
			return k, true
		}
	}
	return metaKey{}, false
}

// CheckMetadata checks the declared type t of a column reading key.
func (f *Format) CheckMetadata(key string, t types.DataType) error {
	k, found := f.metaKey(key)
	if !found {
		return fmt.Errorf("format '%s' has no metadata key '%s'", f.Name, key)
	}
	var ok bool
	switch k.kind {
	case metaString, metaJSON:
		ok = t.IsString()
	case metaStringMap:
		ok = t.Kind == types.Map && t.Key != nil && t.Key.IsString() && t.Value != nil && t.Value.IsString()
	case metaStrings:
		ok = t.Kind == types.Array && t.Elem != nil && t.Elem.IsString()
	case metaIntMap:
		ok = t.Kind == types.Map && t.Key != nil && t.Key.IsString() && t.Value != nil && t.Value.Kind == types.Int
	default:
		ok = t.IsTimestamp()
	}
	if !ok {
		return fmt.Errorf("cannot have type %s; '%s' of format '%s' is %s", t, key, f.Name, strings.SplitN(k.doc, ":", 2)[0])
	}
	return nil
}

// MetadataBuilder is where a Decoder appends the values of one metadata
// column, whose type CheckMetadata accepted.
type MetadataBuilder struct {
	Key     string
	Builder array.Builder
}

// metaColumn stages one metadata value per event (Stage, checked before
// any row of the event is appended) and appends it to every row of the
// event.
type metaColumn struct {
	metaKey
	b    array.Builder
	unit int64 // nanoseconds per unit of a timestamp builder

	null  bool
	buf   []byte  // a string's bytes; the keys or elements of a map or array, concatenated
	ends  []int   // ends of the keys or elements in buf
	nulls []bool  // array elements that are NULL
	ints  []int64 // values of an INT map
	vals  []byte  // values of a STRING map, concatenated
	vends []int   // ends of the values in vals
	valid []bool  // map values that are not NULL
	nanos int64   // a timestamp
}

func newMetaColumn(f *Format, m MetadataBuilder) (*metaColumn, error) {
	k, ok := f.metaKey(m.Key)
	if !ok {
		return nil, fmt.Errorf("format '%s' has no metadata key '%s'", f.Name, m.Key)
	}
	c := &metaColumn{metaKey: k, b: m.Builder}
	if ts, ok := m.Builder.Type().(*arrow.TimestampType); ok {
		c.unit = format.UnitNanos(ts.Unit)
	}
	return c, nil
}

// stage reads the value of the event's field raw.
func (c *metaColumn) stage(sc *json.Scanner, raw []byte) error {
	c.null = json.IsNull(raw)
	if c.null {
		return nil
	}
	c.buf, c.ends, c.nulls, c.ints, c.valid = c.buf[:0], c.ends[:0], c.nulls[:0], c.ints[:0], c.valid[:0]
	c.vals, c.vends = c.vals[:0], c.vends[:0]
	switch c.kind {
	case metaJSON:
		c.buf = append(c.buf, raw...)
	case metaStringMap:
		return sc.Object(raw, func(name, v []byte) error {
			c.buf = append(c.buf, name...)
			c.ends = append(c.ends, len(c.buf))
			null := json.IsNull(v)
			if !null && v[0] == '"' {
				s, err := sc.String(v)
				if err != nil {
					return err
				}
				v = s
			}
			if !null {
				c.vals = append(c.vals, v...)
			}
			c.vends = append(c.vends, len(c.vals))
			c.valid = append(c.valid, !null)
			return nil
		})
	case metaString:
		v, err := sc.String(raw)
		if err != nil {
			return err
		}
		c.buf = append(c.buf, v...)
	case metaStrings:
		return sc.Array(raw, func(e []byte) error {
			null := json.IsNull(e)
			if !null {
				v, err := sc.String(e)
				if err != nil {
					return err
				}
				c.buf = append(c.buf, v...)
			}
			c.ends = append(c.ends, len(c.buf))
			c.nulls = append(c.nulls, null)
			return nil
		})
	case metaIntMap:
		return sc.Object(raw, func(name, v []byte) error {
			c.buf = append(c.buf, name...)
			c.ends = append(c.ends, len(c.buf))
			null := json.IsNull(v)
			var n int64
			if !null {
				var err error
				if n, err = strconv.ParseInt(string(v), 10, 32); err != nil {
					return fmt.Errorf("%s is not an INT", v)
				}
			}
			c.ints = append(c.ints, n)
			c.valid = append(c.valid, !null)
			return nil
		})
	case metaMillis, metaSeconds:
		n, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("%s is not an epoch timestamp", raw)
		}
		if c.kind == metaSeconds {
			c.nanos = n * 1e9
		} else {
			c.nanos = n * 1e6
		}
	case metaText:
		v, err := sc.String(raw)
		if err != nil {
			return err
		}
		sec, nano, err := format.ParseTimestamp(string(v))
		if err != nil {
			return fmt.Errorf("'%s' is not a timestamp", v)
		}
		c.nanos = sec*1e9 + nano
	}
	return nil
}

// commit appends the staged value.
func (c *metaColumn) commit() {
	if c.null {
		c.b.AppendNull()
		return
	}
	switch c.kind {
	case metaString, metaJSON:
		c.b.(*array.StringBuilder).BinaryBuilder.Append(c.buf)
	case metaStrings:
		list := c.b.(*array.ListBuilder)
		list.Append(true)
		vb := list.ValueBuilder().(*array.StringBuilder)
		start := 0
		for i, end := range c.ends {
			if c.nulls[i] {
				vb.AppendNull()
			} else {
				vb.BinaryBuilder.Append(c.buf[start:end])
			}
			start = end
		}
	case metaIntMap, metaStringMap:
		list, entries, keys, values := types.MapBuilders(c.b)
		list.Append(true)
		kb := keys.(*array.StringBuilder)
		start, vstart := 0, 0
		for i, end := range c.ends {
			entries.Append(true)
			kb.BinaryBuilder.Append(c.buf[start:end])
			start = end
			switch {
			case !c.valid[i]:
				values.AppendNull()
			case c.kind == metaIntMap:
				values.(*array.Int32Builder).Append(int32(c.ints[i]))
			default:
				values.(*array.StringBuilder).BinaryBuilder.Append(c.vals[vstart:c.vends[i]])
			}
			if c.kind == metaStringMap {
				vstart = c.vends[i]
			}
		}
	default:
		c.b.(*array.TimestampBuilder).Append(arrow.Timestamp(c.nanos / c.unit))
	}
}
