package values

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/javafmt"
)

// BuildBatch builds one batch of rows over schema, with the trailing row
// kind column when changelog is set. Rows with more values than columns
// have the extra values ignored (as Flink does).
func BuildBatch(mem memory.Allocator, schema types.Schema, changelog bool, rows []Row) (arrow.RecordBatch, error) {
	as := schema.Arrow()
	if changelog {
		as = arrow.NewSchema(append(as.Fields(), arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8}), nil)
	}
	b := array.NewRecordBuilder(mem, as)
	defer b.Release()
	for _, r := range rows {
		if len(r.Values) < schema.Len() {
			return nil, fmt.Errorf("row has %d values, the table %d columns", len(r.Values), schema.Len())
		}
		for c, col := range schema.Columns {
			if err := AppendValue(b.Field(c), col.Type, r.Values[c]); err != nil {
				return nil, fmt.Errorf("column %s: %w", col.Name, err)
			}
		}
		if changelog {
			b.Field(schema.Len()).(*array.Int8Builder).Append(int8(r.Kind))
		}
	}
	return b.NewRecordBatch(), nil
}

// AppendValue appends a JSON value of the conformance data format to a
// builder of type t: numbers (json.Number), strings for character types and
// for DECIMAL ("1.10"), TIMESTAMP ("2020-04-15T08:00:05"), TIMESTAMP_LTZ
// ("1970-01-01T00:00:01Z"), DATE and TIME, {"$bytes_hex": ...} for binary
// types, arrays for ARRAY, {"$row": [...]} for ROW, {"$map": [[k, v]...]}
// for MAP and {"$variant_json": "<JSON text>"} for VARIANT.
func AppendValue(b array.Builder, t types.DataType, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	num := func() (json.Number, error) {
		switch n := v.(type) {
		case json.Number:
			return n, nil
		case float64:
			return json.Number(strconv.FormatFloat(n, 'g', -1, 64)), nil
		case string:
			return json.Number(n), nil
		}
		return "", fmt.Errorf("%v is not a number", v)
	}
	str := func() (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%v (%T) is not a string", v, v)
		}
		return s, nil
	}
	if t.Kind == types.Variant {
		// {"$variant_json": "<JSON text>"}, stored canonically.
		m, _ := v.(map[string]any)
		text, ok := m["$variant_json"].(string)
		if !ok {
			return fmt.Errorf("%v is not {\"$variant_json\": ...}", v)
		}
		canon, err := types.AppendCanonicalVariant(nil, []byte(text), true)
		if err != nil {
			return fmt.Errorf("variant %s: %w", text, err)
		}
		b.(*array.StringBuilder).BinaryBuilder.Append(canon)
		return nil
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%v is not a boolean", v)
		}
		bb.Append(x)
	case *array.Int8Builder, *array.Int16Builder, *array.Int32Builder, *array.Int64Builder:
		n, err := num()
		if err != nil {
			return err
		}
		i, err := n.Int64()
		if err != nil {
			return err
		}
		switch bb := b.(type) {
		case *array.Int8Builder:
			bb.Append(int8(i))
		case *array.Int16Builder:
			bb.Append(int16(i))
		case *array.Int32Builder:
			bb.Append(int32(i))
		case *array.Int64Builder:
			bb.Append(i)
		}
	case *array.Float32Builder, *array.Float64Builder:
		n, err := num()
		if err != nil {
			return err
		}
		f, err := n.Float64()
		if err != nil {
			return err
		}
		if fb, ok := b.(*array.Float32Builder); ok {
			fb.Append(float32(f))
		} else {
			b.(*array.Float64Builder).Append(f)
		}
	case *array.Decimal128Builder:
		var s string
		if n, ok := v.(json.Number); ok {
			s = n.String()
		} else {
			var err error
			if s, err = str(); err != nil {
				return err
			}
		}
		n, err := decimal128.FromString(s, int32(t.Precision), int32(t.Scale))
		if err != nil {
			return err
		}
		bb.Append(n)
	case *array.StringBuilder:
		s, err := str()
		if err != nil {
			return err
		}
		bb.Append(s)
	case *array.BinaryBuilder:
		m, ok := v.(map[string]any)
		h, ok2 := m["$bytes_hex"].(string)
		if !ok || !ok2 {
			return fmt.Errorf("%v is not {\"$bytes_hex\": ...}", v)
		}
		data, err := hex.DecodeString(h)
		if err != nil {
			return err
		}
		bb.Append(data)
	case *array.Date32Builder:
		s, err := str()
		if err != nil {
			return err
		}
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return err
		}
		bb.Append(arrow.Date32FromTime(d))
	case *array.Time32Builder, *array.Time64Builder:
		s, err := str()
		if err != nil {
			return err
		}
		d, err := time.Parse("15:04:05.999999999", s)
		if err != nil {
			if d, err = time.Parse("15:04", s); err != nil {
				return err
			}
		}
		nanos := int64(d.Hour())*int64(time.Hour) + int64(d.Minute())*int64(time.Minute) +
			int64(d.Second())*int64(time.Second) + int64(d.Nanosecond())
		if tb, ok := b.(*array.Time32Builder); ok {
			tb.Append(arrow.Time32(nanos / int64(time.Millisecond)))
		} else {
			unit := b.Type().(*arrow.Time64Type).Unit
			b.(*array.Time64Builder).Append(arrow.Time64(nanos / int64(unit.Multiplier())))
		}
	case *array.TimestampBuilder:
		s, err := str()
		if err != nil {
			return err
		}
		ts, err := time.Parse("2006-01-02T15:04:05.999999999Z07:00", s)
		if err != nil {
			if ts, err = time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
				if ts, err = time.Parse("2006-01-02T15:04", s); err != nil {
					return err
				}
			}
		}
		unit := b.Type().(*arrow.TimestampType).Unit
		x, err := arrow.TimestampFromTime(ts, unit)
		if err != nil {
			return err
		}
		bb.Append(x)
	case *array.ListBuilder:
		if t.Kind == types.Map {
			return appendMap(b, t, v)
		}
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%v is not an array", v)
		}
		bb.Append(true)
		for _, it := range items {
			if err := AppendValue(bb.ValueBuilder(), *t.Elem, it); err != nil {
				return err
			}
		}
	case *array.StructBuilder:
		m, _ := v.(map[string]any)
		fields, ok := m["$row"].([]any)
		if !ok || len(fields) != len(t.Fields) {
			return fmt.Errorf("%v is not {\"$row\": [...]} of %d fields", v, len(t.Fields))
		}
		bb.Append(true)
		for i, f := range t.Fields {
			if err := AppendValue(bb.FieldBuilder(i), f.Type, fields[i]); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("values: type %s is not supported", t)
	}
	return nil
}

// Format writes value i of column a, of type t, as Java's toString of
// Flink's external type does (Flink's Row.toString): null, decimals with
// their scale, doubles as Double.toString, LocalDateTime, Instant,
// LocalDate and LocalTime forms, byte arrays as signed bytes.
func Format(sb *strings.Builder, t types.DataType, a arrow.Array, i int) {
	if a.IsNull(i) {
		sb.WriteString("null")
		return
	}
	switch c := a.(type) {
	case *array.Boolean:
		sb.WriteString(strconv.FormatBool(c.Value(i)))
	case *array.Int8:
		sb.WriteString(strconv.FormatInt(int64(c.Value(i)), 10))
	case *array.Int16:
		sb.WriteString(strconv.FormatInt(int64(c.Value(i)), 10))
	case *array.Int32:
		sb.WriteString(strconv.FormatInt(int64(c.Value(i)), 10))
	case *array.Int64:
		sb.WriteString(strconv.FormatInt(c.Value(i), 10))
	case *array.Float32:
		sb.WriteString(javafmt.Float(float64(c.Value(i)), 32))
	case *array.Float64:
		sb.WriteString(javafmt.Float(c.Value(i), 64))
	case *array.Decimal128:
		sb.WriteString(c.Value(i).ToString(c.DataType().(*arrow.Decimal128Type).Scale))
	case *array.String:
		sb.WriteString(c.Value(i))
	case *array.Binary:
		sb.WriteByte('[')
		for k, x := range c.Value(i) {
			if k > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(strconv.Itoa(int(int8(x))))
		}
		sb.WriteByte(']')
	case *array.Date32:
		sb.WriteString(c.Value(i).ToTime().Format("2006-01-02"))
	case *array.Time32:
		writeClock(sb, time.Duration(c.Value(i))*time.Millisecond, false)
	case *array.Time64:
		unit := c.DataType().(*arrow.Time64Type).Unit
		writeClock(sb, time.Duration(int64(c.Value(i))*int64(unit.Multiplier())), false)
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		ts := c.Value(i).ToTime(unit).UTC()
		sb.WriteString(ts.Format("2006-01-02T"))
		day := ts.Sub(time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, time.UTC))
		writeClock(sb, day, t.Kind == types.TimestampLTZ)
		if t.Kind == types.TimestampLTZ {
			sb.WriteByte('Z')
		}
	case *array.List:
		if t.Kind == types.Map {
			formatMap(sb, t, c, i)
			return
		}
		start, end := c.ValueOffsets(i)
		sb.WriteByte('[')
		for k := start; k < end; k++ {
			if k > start {
				sb.WriteString(", ")
			}
			Format(sb, *t.Elem, c.ListValues(), int(k))
		}
		sb.WriteByte(']')
	case *array.Struct:
		sb.WriteString("+I[")
		for k, f := range t.Fields {
			if k > 0 {
				sb.WriteString(", ")
			}
			Format(sb, f.Type, c.Field(k), i)
		}
		sb.WriteByte(']')
	default:
		fmt.Fprintf(sb, "%v", a.ValueStr(i))
	}
}

// writeClock writes a time of day as LocalTime.toString (HH:mm, then :ss
// when seconds or a fraction are set, the fraction in 3, 6 or 9 digits);
// Instant.toString always has the seconds.
func writeClock(sb *strings.Builder, d time.Duration, seconds bool) {
	h := int64(d / time.Hour)
	m := int64(d/time.Minute) % 60
	s := int64(d/time.Second) % 60
	ns := int64(d % time.Second)
	fmt.Fprintf(sb, "%02d:%02d", h, m)
	if s == 0 && ns == 0 && !seconds {
		return
	}
	fmt.Fprintf(sb, ":%02d", s)
	switch {
	case ns == 0:
	case ns%1e6 == 0:
		fmt.Fprintf(sb, ".%03d", ns/1e6)
	case ns%1e3 == 0:
		fmt.Fprintf(sb, ".%06d", ns/1e3)
	default:
		fmt.Fprintf(sb, ".%09d", ns)
	}
}

// appendMap appends {"$map": [[k, v], ...]} to the builder of a MAP
// column. NULL keys and values are appended as given, whatever the MAP's
// declared nullability: as with Flink's values source, the source does not
// enforce NOT NULL, the sink's constraint enforcer does.
func appendMap(b array.Builder, t types.DataType, v any) error {
	m, _ := v.(map[string]any)
	entries, ok := m["$map"].([]any)
	if !ok {
		return fmt.Errorf("%v is not {\"$map\": [...]}", v)
	}
	list, eb, kb, vb := types.MapBuilders(b)
	list.Append(true)
	for _, e := range entries {
		kv, ok := e.([]any)
		if !ok || len(kv) != 2 {
			return fmt.Errorf("map entry %v is not [key, value]", e)
		}
		eb.Append(true)
		if err := AppendValue(kb, *t.Key, kv[0]); err != nil {
			return err
		}
		if err := AppendValue(vb, *t.Value, kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// formatMap writes MAP value i as Java's Map.toString, {k=v, k2=v2}.
func formatMap(sb *strings.Builder, t types.DataType, c *array.List, i int) {
	_, keys, values := types.MapEntries(c)
	start, end := c.ValueOffsets(i)
	var entries []string
	for k := start; k < end; k++ {
		var e strings.Builder
		Format(&e, *t.Key, keys, int(k))
		e.WriteByte('=')
		Format(&e, *t.Value, values, int(k))
		entries = append(entries, e.String())
	}
	// Java's HashMap order is not reproducible; sorted entries make
	// maps of several entries comparable.
	sort.Strings(entries)
	sb.WriteString("{" + strings.Join(entries, ", ") + "}")
}
