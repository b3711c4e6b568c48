package expr

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/javafmt"
)

// strOut builds a STRING result. Rows go to Go slices reused across
// calls of the same evaluator, without a builder's per-row bookkeeping,
// and finish copies them once into buffers of the exact size.
type strOut struct {
	mem     memory.Allocator
	data    []byte
	offs    []int32 // the end of each row's value, after a leading 0
	nulls   []int   // the NULL rows
	scratch []byte
}

func newStrOut(mem memory.Allocator) *strOut { return &strOut{mem: mem} }

func (s *strOut) start(n, dataHint int) {
	s.data = slices.Grow(s.data[:0], dataHint)
	s.offs = append(slices.Grow(s.offs[:0], n+1), 0)
	s.nulls = s.nulls[:0]
}

func (s *strOut) append(v []byte) {
	s.data = append(s.data, v...)
	s.offs = append(s.offs, int32(len(s.data)))
}

func (s *strOut) appendString(v string) {
	s.data = append(s.data, v...)
	s.offs = append(s.offs, int32(len(s.data)))
}

func (s *strOut) null() {
	s.nulls = append(s.nulls, len(s.offs)-1)
	s.offs = append(s.offs, int32(len(s.data)))
}

func (s *strOut) finish() arrow.Array {
	n := len(s.offs) - 1
	offs := memory.NewResizableBuffer(s.mem)
	offs.Resize(len(s.offs) * arrow.Int32SizeBytes)
	copy(arrow.Int32Traits.CastFromBytes(offs.Bytes()), s.offs)
	data := memory.NewResizableBuffer(s.mem)
	data.Resize(len(s.data))
	copy(data.Bytes(), s.data)
	valid := validityOf(s.mem, n, s.nulls)
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{valid, offs, data}, nil, len(s.nulls), 0)
	for _, b := range []*memory.Buffer{valid, offs, data} {
		if b != nil {
			b.Release()
		}
	}
	defer d.Release()
	s.start(0, 0)
	return array.MakeFromData(d)
}

// validityOf returns the validity bitmap of n rows with the given NULL
// rows, or nil when there are none.
func validityOf(mem memory.Allocator, n int, nulls []int) *memory.Buffer {
	if len(nulls) == 0 {
		return nil
	}
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(int(bitutil.BytesForBits(int64(n))))
	vb := valid.Bytes()
	bitutil.SetBitsTo(vb, 0, int64(n), true)
	for _, i := range nulls {
		bitutil.ClearBit(vb, i)
	}
	return valid
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s []byte, n int) []byte {
	if n >= len(s) {
		return s
	}
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, w := utf8.DecodeRune(s[i:])
		i += w
	}
	return s[:i]
}

// toStringKernel formats any scalar type as Flink's CAST(x AS STRING)
// does, then cuts the text to the target length for a bounded
// VARCHAR(n)/CHAR(n) (CHAR padding is not materialized, see types.Arrow).
func toStringKernel(mem memory.Allocator, from, to types.DataType) (kernel, error) {
	limit := to.Length
	if from.IsString() && (limit >= from.Length || limit == types.MaxLength) {
		return identity, nil
	}
	out := newStrOut(mem)
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0]
		f, err := formatter(from, a)
		if err != nil {
			return nil, err
		}
		out.start(n, n*8)
		for i := 0; i < n; i++ {
			if a.IsNull(i) {
				out.null()
				continue
			}
			out.scratch = f(out.scratch[:0], i)
			if limit < types.MaxLength {
				out.scratch = truncateRunes(out.scratch, limit)
			}
			out.append(out.scratch)
		}
		return out.finish(), nil
	}, nil
}

// formatter returns a function appending the text of row i of a.
func formatter(t types.DataType, a arrow.Array) (func([]byte, int) []byte, error) {
	switch v := a.(type) {
	case *array.String:
		return func(d []byte, i int) []byte { return append(d, v.Value(i)...) }, nil
	case *array.Binary:
		return func(d []byte, i int) []byte { return append(d, v.Value(i)...) }, nil
	case *array.Boolean:
		return func(d []byte, i int) []byte {
			if v.Value(i) {
				return append(d, "TRUE"...)
			}
			return append(d, "FALSE"...)
		}, nil
	case *array.Float32:
		return func(d []byte, i int) []byte { return append(d, javafmt.Float(float64(v.Value(i)), 32)...) }, nil
	case *array.Float64:
		return func(d []byte, i int) []byte { return append(d, javafmt.Float(v.Value(i), 64)...) }, nil
	case *array.Decimal128:
		s := int32(t.Scale)
		return func(d []byte, i int) []byte { return append(d, v.Value(i).ToString(s)...) }, nil
	}
	switch t.Kind {
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
		get := int64Getter(a)
		return func(d []byte, i int) []byte { return strconv.AppendInt(d, get(i), 10) }, nil
	case types.Date:
		vals := valuesOf[int32](a)
		return func(d []byte, i int) []byte {
			return time.Unix(int64(vals[i])*secPerDay, 0).UTC().AppendFormat(d, "2006-01-02")
		}, nil
	case types.Time:
		get := int64Getter(a)
		return func(d []byte, i int) []byte { return append(d, formatTime(get(i), t.Precision)...) }, nil
	case types.Timestamp, types.TimestampLTZ:
		vals := valuesOf[int64](a)
		return func(d []byte, i int) []byte { return append(d, formatTimestamp(vals[i], t.Precision)...) }, nil
	case types.IntervalDayTime:
		vals := valuesOf[int64](a)
		return func(d []byte, i int) []byte { return append(d, formatDayTime(vals[i])...) }, nil
	case types.IntervalYearMonth:
		vals := valuesOf[int32](a)
		return func(d []byte, i int) []byte {
			m := int64(vals[i])
			sign := "+"
			if m < 0 {
				sign, m = "-", -m
			}
			return fmt.Appendf(d, "%s%d-%02d", sign, m/12, m%12)
		}, nil
	case types.Array, types.Multiset, types.Map, types.Row:
		return nestedFormatter(t, a)
	}
	return nil, fmt.Errorf("cannot cast %s to STRING", t.WithNullable(true))
}

// NestedFormatter returns a function appending the text of row i of a, an
// ARRAY, MULTISET, MAP or ROW column of type t, as CAST(... AS STRING)
// writes it: the form Flink's SQL client shows nested values in.
func NestedFormatter(t types.DataType, a arrow.Array) (func([]byte, int) []byte, error) {
	return nestedFormatter(t, a)
}

// nestedFormatter prints nested values as Flink's CAST(... AS STRING)
// does: ARRAY as [1, 2], MAP as {k1=v1, k2=v2}, ROW as (1, a), NULL
// elements as NULL; a MULTISET, which Flink does not cast, as its SQL
// client shows one (the Map of element to count), {a=2, b=1}. The
// children's formatters are built once per batch.
func nestedFormatter(t types.DataType, a arrow.Array) (func([]byte, int) []byte, error) {
	elem := func(t types.DataType, child arrow.Array) (func([]byte, int) []byte, error) {
		f, err := formatter(t, child)
		if err != nil {
			return nil, err
		}
		return func(d []byte, j int) []byte {
			if child.IsNull(j) {
				return append(d, "NULL"...)
			}
			return f(d, j)
		}, nil
	}
	switch v := a.(type) {
	case *array.List:
		switch t.Kind {
		case types.Multiset:
			return multisetFormatter(elem, t, v)
		case types.Array:
			return listFormatter(elem, t, v)
		}
		_, keys, values := types.MapEntries(v)
		kf, err := elem(*t.Key, keys)
		if err != nil {
			return nil, err
		}
		vf, err := elem(*t.Value, values)
		if err != nil {
			return nil, err
		}
		return func(d []byte, i int) []byte {
			start, end := v.ValueOffsets(i)
			d = append(d, '{')
			for j := int(start); j < int(end); j++ {
				if j > int(start) {
					d = append(d, ", "...)
				}
				d = append(kf(d, j), '=')
				d = vf(d, j)
			}
			return append(d, '}')
		}, nil
	case *array.Struct:
		fs := make([]func([]byte, int) []byte, v.NumField())
		for k := range fs {
			f, err := elem(t.Fields[k].Type, v.Field(k))
			if err != nil {
				return nil, err
			}
			fs[k] = f
		}
		return func(d []byte, i int) []byte {
			d = append(d, '(')
			for k, f := range fs {
				if k > 0 {
					d = append(d, ", "...)
				}
				d = f(d, i)
			}
			return append(d, ')')
		}, nil
	}
	return nil, fmt.Errorf("cannot cast %s to STRING", t.WithNullable(true))
}

// multisetFormatter prints a MULTISET as {element=count, ...}, elements
// in the order they first occur.
func multisetFormatter(elem func(types.DataType, arrow.Array) (func([]byte, int) []byte, error), t types.DataType, v *array.List) (func([]byte, int) []byte, error) {
	values := v.ListValues()
	ef, err := elem(*t.Elem, values)
	if err != nil {
		return nil, err
	}
	keyOf, err := keyWriter(values)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	var first []int // each distinct element's first index, in order
	var key []byte
	return func(d []byte, i int) []byte {
		start, end := v.ValueOffsets(i)
		clear(counts)
		first = first[:0]
		for j := int(start); j < int(end); j++ {
			key = key[:0]
			if values.IsValid(j) {
				key = keyOf(append(key, 1), j)
			}
			if counts[string(key)] == 0 {
				first = append(first, j)
			}
			counts[string(key)]++
		}
		d = append(d, '{')
		for n, j := range first {
			if n > 0 {
				d = append(d, ", "...)
			}
			key = key[:0]
			if values.IsValid(j) {
				key = keyOf(append(key, 1), j)
			}
			d = append(ef(d, j), '=')
			d = strconv.AppendInt(d, int64(counts[string(key)]), 10)
		}
		return append(d, '}')
	}, nil
}

// listFormatter prints an ARRAY or MULTISET as [e1, e2].
func listFormatter(elem func(types.DataType, arrow.Array) (func([]byte, int) []byte, error), t types.DataType, v *array.List) (func([]byte, int) []byte, error) {
	ef, err := elem(*t.Elem, v.ListValues())
	if err != nil {
		return nil, err
	}
	return func(d []byte, i int) []byte {
		start, end := v.ValueOffsets(i)
		d = append(d, '[')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				d = append(d, ", "...)
			}
			d = ef(d, j)
		}
		return append(d, ']')
	}, nil
}

// formatDayTime prints a DAY TO SECOND interval as Flink does: +d hh:mm:ss.fff.
func formatDayTime(ms int64) string {
	sign := "+"
	if ms < 0 {
		sign, ms = "-", -ms
	}
	return fmt.Sprintf("%s%d %02d:%02d:%02d.%03d", sign, ms/msPerDay, ms/3600000%24, ms/60000%60, ms/1000%60, ms%1000)
}

// fromStringKernel parses strings into the target type. Malformed input
// fails CAST with the offending text and yields NULL under TRY_CAST.
func fromStringKernel(mem memory.Allocator, from, to types.DataType, try bool) (kernel, error) {
	dt := to.Arrow()
	fail := func(s string) error {
		return fmt.Errorf("cannot cast '%s' to %s: invalid value", s, to.WithNullable(true))
	}
	parseInt := func(s string, bits int) (int64, int) {
		s = strings.TrimSpace(s)
		// Flink accepts and truncates a fractional part: '1.9' -> 1.
		if i := strings.IndexByte(s, '.'); i >= 0 {
			for _, c := range s[i+1:] {
				if c < '0' || c > '9' {
					return 0, parsedInvalid
				}
			}
			s = s[:i]
		}
		v, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return 0, parsedInvalid
		}
		return v, parsedOK
	}
	switch to.Kind {
	case types.Binary, types.Varbinary:
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			a := args[0].(*array.String)
			b := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
			defer b.Release()
			b.Reserve(n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					b.AppendNull()
				} else {
					b.AppendString(a.Value(i))
				}
			}
			return b.NewArray(), nil
		}, nil
	case types.Boolean:
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			a := args[0].(*array.String)
			b := array.NewBooleanBuilder(mem)
			defer b.Release()
			b.Reserve(n)
			for i := 0; i < n; i++ {
				if a.IsNull(i) {
					b.AppendNull()
					continue
				}
				switch strings.ToLower(strings.TrimSpace(a.Value(i))) {
				case "t", "true", "y", "yes", "1":
					b.Append(true)
				case "f", "false", "n", "no", "0":
					b.Append(false)
				default:
					if !try {
						return nil, fail(a.Value(i))
					}
					b.AppendNull()
				}
			}
			return b.NewArray(), nil
		}, nil
	case types.TinyInt:
		return parseLoop(mem, dt, try, fail, func(s string) (int8, int) { v, st := parseInt(s, 8); return int8(v), st }), nil
	case types.SmallInt:
		return parseLoop(mem, dt, try, fail, func(s string) (int16, int) { v, st := parseInt(s, 16); return int16(v), st }), nil
	case types.Int:
		return parseLoop(mem, dt, try, fail, func(s string) (int32, int) { v, st := parseInt(s, 32); return int32(v), st }), nil
	case types.BigInt:
		return parseLoop(mem, dt, try, fail, func(s string) (int64, int) { return parseInt(s, 64) }), nil
	case types.Float, types.Double:
		bits := 64
		if to.Kind == types.Float {
			bits = 32
		}
		parse := func(s string) (float64, int) {
			s = strings.TrimSpace(s)
			switch s {
			case "NaN":
				return math.NaN(), parsedOK
			case "Infinity", "+Infinity":
				return math.Inf(1), parsedOK
			case "-Infinity":
				return math.Inf(-1), parsedOK
			}
			f, err := strconv.ParseFloat(s, bits)
			if err != nil {
				return 0, parsedInvalid
			}
			return f, parsedOK
		}
		if bits == 32 {
			return parseLoop(mem, dt, try, fail, func(s string) (float32, int) { f, st := parse(s); return float32(f), st }), nil
		}
		return parseLoop(mem, dt, try, fail, parse), nil
	case types.Decimal:
		prec, scale := int32(to.Precision), int32(to.Scale)
		return parseLoop(mem, dt, try, fail, func(s string) (decimal128.Num, int) {
			v, ok, err := parseDecimal(s, prec, scale)
			switch {
			case err != nil:
				return v, parsedInvalid
			case !ok: // overflow is NULL, as for every DECIMAL result
				return v, parsedNull
			}
			return v, parsedOK
		}), nil
	case types.Date:
		return parseLoop(mem, dt, try, fail, func(s string) (int32, int) {
			t, ok := parseTimestamp(s)
			if !ok {
				return 0, parsedInvalid
			}
			return int32(floorDiv(t.Unix(), secPerDay)), parsedOK
		}), nil
	case types.Timestamp, types.TimestampLTZ:
		unit := types.TimeUnitFor(to.Precision)
		return parseLoop(mem, dt, try, fail, func(s string) (int64, int) {
			t, ok := parseTimestamp(s)
			if !ok {
				return 0, parsedInvalid
			}
			return fromTime(t, unit), parsedOK
		}), nil
	case types.Time:
		unit := types.TimeUnitFor(to.Precision)
		parse := func(s string) (int64, int) {
			t, err := time.Parse("15:04:05.999999999", strings.TrimSpace(s))
			if err != nil {
				if t, err = time.Parse("15:04", strings.TrimSpace(s)); err != nil {
					return 0, parsedInvalid
				}
			}
			ns := int64(t.Hour()*3600+t.Minute()*60+t.Second())*1e9 + int64(t.Nanosecond())
			return ns / (1e9 / unitsPerSecond(unit)), parsedOK
		}
		if dt.ID() == arrow.TIME32 {
			return parseLoop(mem, dt, try, fail, func(s string) (int32, int) { v, st := parse(s); return int32(v), st }), nil
		}
		return parseLoop(mem, dt, try, fail, parse), nil
	}
	return nil, fmt.Errorf("cannot cast %s to %s", from.WithNullable(true), to.WithNullable(true))
}

// parseLoop applies a string parser to every valid row.
func parseLoop[O arrow.FixedWidthType](mem memory.Allocator, dt arrow.DataType, try bool, fail func(string) error, parse func(string) (O, int)) kernel {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0].(*array.String)
		return map1idx(mem, dt, a, func(i int) (O, bool, error) {
			s := a.Value(i)
			v, st := parse(s)
			switch {
			case st == parsedOK:
				return v, true, nil
			case st == parsedInvalid && !try:
				return v, false, fail(s)
			}
			return v, false, nil
		})
	}
}

// timestampLayouts are the textual forms CAST accepts for TIMESTAMP/DATE.
var timestampLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
