package format

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddysql/eddy/catalog/types"
)

// TimestampStyle is how TIMESTAMP, TIMESTAMP_LTZ and TIME values are spelled.
type TimestampStyle uint8

const (
	// SQL is "2020-01-01 00:00:00.123" (LTZ adds "Z"); the fraction has no
	// trailing zeros and is omitted when zero. Flink csv and json default.
	SQL TimestampStyle = iota
	// ISO8601 is SQL with a 'T' between date and time (json option).
	ISO8601
	// Java is LocalDateTime/LocalTime/Instant.toString, as Flink's print
	// sink shows rows: "2020-01-01T00:00", "2020-01-01T00:00:00.123Z".
	Java
)

// Style selects the spellings used by one format.
type Style struct {
	Timestamp TimestampStyle
	// JavaBytes prints BINARY/BYTES as Java's Arrays.toString of a byte[]
	// ("[1, -2]"); otherwise they are base64, as Jackson writes byte[].
	JavaBytes bool
	// PlainDecimal spells DECIMAL values without an exponent
	// (BigDecimal.toPlainString: Flink's *.encode.decimal-as-plain-number).
	PlainDecimal bool
}

// ValueFunc appends the text of the non-null value at row i of the array it
// was bound to.
type ValueFunc func(dst []byte, i int) []byte

// Bind returns the ValueFunc for arr, whose logical type is t. Binding is
// done once per column per batch; the returned function does no type
// dispatch. Nested types (ARRAY, MAP, ROW) are supported in the Java style
// only, which is all the print sink needs.
func Bind(arr arrow.Array, t types.DataType, s Style) (ValueFunc, error) {
	switch t.Kind {
	case types.Boolean:
		a := arr.(*array.Boolean)
		return func(dst []byte, i int) []byte { return strconv.AppendBool(dst, a.Value(i)) }, nil
	case types.TinyInt:
		a := arr.(*array.Int8)
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) }, nil
	case types.SmallInt:
		a := arr.(*array.Int16)
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) }, nil
	case types.Int:
		a := arr.(*array.Int32)
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) }, nil
	case types.BigInt:
		a := arr.(*array.Int64)
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, a.Value(i), 10) }, nil
	case types.Float:
		a := arr.(*array.Float32)
		return func(dst []byte, i int) []byte { return AppendJavaDouble(dst, float64(a.Value(i)), 32) }, nil
	case types.Double:
		a := arr.(*array.Float64)
		return func(dst []byte, i int) []byte { return AppendJavaDouble(dst, a.Value(i), 64) }, nil
	case types.Decimal:
		a := arr.(*array.Decimal128)
		scale := int32(t.Scale)
		if s.PlainDecimal {
			return func(dst []byte, i int) []byte { return appendDecimal(dst, a.Value(i), scale, true) }, nil
		}
		return func(dst []byte, i int) []byte { return AppendBigDecimal(dst, a.Value(i), scale) }, nil
	case types.Char, types.Varchar:
		a := arr.(*array.String)
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }, nil
	case types.Binary, types.Varbinary:
		a := arr.(*array.Binary)
		if s.JavaBytes {
			return func(dst []byte, i int) []byte { return AppendJavaBytes(dst, a.Value(i)) }, nil
		}
		return func(dst []byte, i int) []byte { return base64.StdEncoding.AppendEncode(dst, a.Value(i)) }, nil
	case types.Date:
		a := arr.(*array.Date32)
		return func(dst []byte, i int) []byte { return AppendDate(dst, int64(a.Value(i))) }, nil
	case types.Time:
		nanos, err := timeNanos(arr)
		if err != nil {
			return nil, err
		}
		java := s.Timestamp == Java
		return func(dst []byte, i int) []byte { return AppendTime(dst, nanos(i), java) }, nil
	case types.Timestamp, types.TimestampLTZ:
		a := arr.(*array.Timestamp)
		mult := unitNanos(arr.DataType().(*arrow.TimestampType).Unit)
		ltz := t.Kind == types.TimestampLTZ
		style := s.Timestamp
		return func(dst []byte, i int) []byte {
			sec, nano := splitNanos(int64(a.Value(i)), mult)
			return AppendTimestamp(dst, sec, nano, style, ltz)
		}, nil
	case types.Array, types.Multiset:
		if s.Timestamp != Java {
			break
		}
		a := arr.(*array.List)
		elem, err := Bind(a.ListValues(), *t.Elem, s)
		if err != nil {
			return nil, err
		}
		values := a.ListValues()
		return func(dst []byte, i int) []byte {
			start, end := a.ValueOffsets(i)
			dst = append(dst, '[')
			for j := start; j < end; j++ {
				if j > start {
					dst = append(dst, ", "...)
				}
				dst = appendNullable(dst, values, int(j), elem)
			}
			return append(dst, ']')
		}, nil
	case types.Map:
		if s.Timestamp != Java {
			break
		}
		a, keys, items := types.MapEntries(arr)
		key, err := Bind(keys, *t.Key, s)
		if err != nil {
			return nil, err
		}
		val, err := Bind(items, *t.Value, s)
		if err != nil {
			return nil, err
		}
		return func(dst []byte, i int) []byte {
			start, end := a.ValueOffsets(i)
			dst = append(dst, '{')
			for j := start; j < end; j++ {
				if j > start {
					dst = append(dst, ", "...)
				}
				dst = appendNullable(dst, keys, int(j), key)
				dst = append(dst, '=')
				dst = appendNullable(dst, items, int(j), val)
			}
			return append(dst, '}')
		}, nil
	case types.Row:
		if s.Timestamp != Java {
			break
		}
		a := arr.(*array.Struct)
		fields := make([]ValueFunc, len(t.Fields))
		for f := range t.Fields {
			fn, err := Bind(a.Field(f), t.Fields[f].Type, s)
			if err != nil {
				return nil, err
			}
			fields[f] = fn
		}
		return func(dst []byte, i int) []byte {
			dst = append(dst, "+I["...)
			for f, fn := range fields {
				if f > 0 {
					dst = append(dst, ", "...)
				}
				dst = appendNullable(dst, a.Field(f), i, fn)
			}
			return append(dst, ']')
		}, nil
	}
	return nil, fmt.Errorf("type %s is not supported by this format", t)
}

// AppendColumn is Bind's column-at-a-time form: it appends the text of
// every row of arr, whose logical type is t, to dst, and after each row the
// length of dst to ends; a NULL row's text is empty. The common scalar types
// are rendered by one typed loop per column, which saves the call per value
// a ValueFunc costs; the others go through Bind.
func AppendColumn(dst []byte, ends []int, arr arrow.Array, t types.DataType, s Style) ([]byte, []int, error) {
	n := arr.Len()
	nulls := arr.NullN() > 0
	switch t.Kind {
	case types.TinyInt:
		return appendInts(dst, ends, arr, arr.(*array.Int8).Int8Values(), nulls)
	case types.SmallInt:
		return appendInts(dst, ends, arr, arr.(*array.Int16).Int16Values(), nulls)
	case types.Int:
		return appendInts(dst, ends, arr, arr.(*array.Int32).Int32Values(), nulls)
	case types.BigInt:
		return appendInts(dst, ends, arr, arr.(*array.Int64).Int64Values(), nulls)
	case types.Char, types.Varchar:
		a := arr.(*array.String)
		for i := 0; i < n; i++ {
			if !nulls || a.IsValid(i) {
				dst = append(dst, a.Value(i)...)
			}
			ends = append(ends, len(dst))
		}
		return dst, ends, nil
	case types.Date:
		days := arr.(*array.Date32).Date32Values()
		for i, d := range days {
			if !nulls || arr.IsValid(i) {
				dst = AppendDate(dst, int64(d))
			}
			ends = append(ends, len(dst))
		}
		return dst, ends, nil
	case types.Timestamp, types.TimestampLTZ:
		a := arr.(*array.Timestamp)
		mult := unitNanos(arr.DataType().(*arrow.TimestampType).Unit)
		ltz := t.Kind == types.TimestampLTZ
		// The values of a batch mostly fall on one day: its date is
		// rendered once.
		var date []byte
		var dateOf int64
		for i, v := range a.TimestampValues() {
			if !nulls || a.IsValid(i) {
				sec, nano := splitNanos(int64(v), mult)
				days, sod := splitDays(sec)
				if date == nil || days != dateOf {
					date, dateOf = AppendDate(date[:0], days), days
				}
				dst = appendTimeOfDay(append(dst, date...), sod, nano, s.Timestamp, ltz)
			}
			ends = append(ends, len(dst))
		}
		return dst, ends, nil
	}
	fn, err := Bind(arr, t, s)
	if err != nil {
		return dst, ends, err
	}
	for i := 0; i < n; i++ {
		if !nulls || arr.IsValid(i) {
			dst = fn(dst, i)
		}
		ends = append(ends, len(dst))
	}
	return dst, ends, nil
}

func appendInts[T int8 | int16 | int32 | int64](dst []byte, ends []int, arr arrow.Array, vals []T, nulls bool) ([]byte, []int, error) {
	for i, v := range vals {
		if !nulls || arr.IsValid(i) {
			dst = strconv.AppendInt(dst, int64(v), 10)
		}
		ends = append(ends, len(dst))
	}
	return dst, ends, nil
}

func appendNullable(dst []byte, arr arrow.Array, i int, fn ValueFunc) []byte {
	if arr.IsNull(i) {
		return append(dst, "null"...)
	}
	return fn(dst, i)
}

func unitNanos(u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Second:
		return 1e9
	case arrow.Millisecond:
		return 1e6
	case arrow.Microsecond:
		return 1e3
	}
	return 1
}

// UnitNanos is the number of nanoseconds in one unit.
func UnitNanos(u arrow.TimeUnit) int64 { return unitNanos(u) }

// splitNanos splits a value in units of mult nanoseconds into epoch seconds
// and a non-negative nanosecond of second.
func splitNanos(v, mult int64) (sec, nano int64) {
	perSec := 1e9 / mult
	sec, rem := v/perSec, v%perSec
	if rem < 0 {
		sec--
		rem += perSec
	}
	return sec, rem * mult
}

func timeNanos(arr arrow.Array) (func(i int) int64, error) {
	switch a := arr.(type) {
	case *array.Time32:
		mult := unitNanos(a.DataType().(*arrow.Time32Type).Unit)
		return func(i int) int64 { return int64(a.Value(i)) * mult }, nil
	case *array.Time64:
		mult := unitNanos(a.DataType().(*arrow.Time64Type).Unit)
		return func(i int) int64 { return int64(a.Value(i)) * mult }, nil
	}
	return nil, fmt.Errorf("unexpected Arrow type %s for TIME", arr.DataType())
}

// AppendJavaDouble appends f as Java's Double.toString (bits 64) or
// Float.toString (bits 32) spells it: the shortest digits that round-trip,
// plain for 1e-3 <= |f| < 1e7 ("1.0", "0.001", "1234567.0"), otherwise
// computerized scientific ("1.0E7", "1.5E-4").
func AppendJavaDouble(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, bits) // -d.ddde±xx
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	mant, exp := e, 0
	for k := range e {
		if e[k] == 'e' {
			mant = e[:k]
			exp, _ = strconv.Atoi(string(e[k+1:]))
			break
		}
	}
	// digits without the point
	var dbuf [24]byte
	digits := append(dbuf[:0], mant[0])
	if len(mant) > 2 {
		digits = append(digits, mant[2:]...)
	}
	if exp >= -3 && exp < 7 {
		if exp < 0 {
			dst = append(dst, "0."...)
			for k := 0; k < -exp-1; k++ {
				dst = append(dst, '0')
			}
			return append(dst, digits...)
		}
		intLen := exp + 1
		for k := 0; k < intLen; k++ {
			if k < len(digits) {
				dst = append(dst, digits[k])
			} else {
				dst = append(dst, '0')
			}
		}
		dst = append(dst, '.')
		if intLen >= len(digits) {
			return append(dst, '0')
		}
		return append(dst, digits[intLen:]...)
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// AppendBigDecimal appends the decimal with the given scale as Java's
// BigDecimal.toString does: plain unless the adjusted exponent is below -6
// ("1E-8", "0E-8").
func AppendBigDecimal(dst []byte, n decimal128.Num, scale int32) []byte {
	return appendDecimal(dst, n, scale, false)
}

// appendDecimal is AppendBigDecimal, or BigDecimal.toPlainString when
// plain.
func appendDecimal(dst []byte, n decimal128.Num, scale int32, plain bool) []byte {
	if n.Sign() < 0 {
		dst = append(dst, '-')
		n = n.Negate()
	}
	var buf [48]byte
	var digits []byte
	if n.HighBits() == 0 && n.LowBits() <= math.MaxInt64 {
		digits = strconv.AppendUint(buf[:0], n.LowBits(), 10)
	} else {
		digits = n.BigInt().Append(buf[:0], 10)
	}
	if scale <= 0 {
		dst = append(dst, digits...)
		for k := int32(0); k < -scale; k++ {
			dst = append(dst, '0')
		}
		return dst
	}
	adjusted := int(-scale) + len(digits) - 1
	if adjusted < -6 && !plain {
		dst = append(dst, digits[0])
		if len(digits) > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'E')
		return strconv.AppendInt(dst, int64(adjusted), 10)
	}
	if len(digits) > int(scale) {
		p := len(digits) - int(scale)
		dst = append(dst, digits[:p]...)
		dst = append(dst, '.')
		return append(dst, digits[p:]...)
	}
	dst = append(dst, "0."...)
	for k := len(digits); k < int(scale); k++ {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// AppendJavaBytes appends b as Arrays.toString(byte[]): signed decimals.
func AppendJavaBytes(dst []byte, b []byte) []byte {
	dst = append(dst, '[')
	for k, c := range b {
		if k > 0 {
			dst = append(dst, ", "...)
		}
		dst = strconv.AppendInt(dst, int64(int8(c)), 10)
	}
	return append(dst, ']')
}

// AppendDate appends days since the epoch as yyyy-MM-dd (LocalDate style:
// years beyond 9999 get a '+').
func AppendDate(dst []byte, days int64) []byte {
	y, m, d := civilDate(days)
	switch {
	case y > 9999:
		dst = append(dst, '+')
		dst = strconv.AppendInt(dst, y, 10)
	case y < 0:
		dst = append(dst, '-')
		dst = appendPadded(dst, -y, 4)
	default:
		dst = appendPadded(dst, y, 4)
	}
	return append(dst, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// civilDate is the proleptic Gregorian year, month (1-12) and day of month
// of days since 1970-01-01 (the calendar of time.Time and Java's
// LocalDate), by Howard Hinnant's civil_from_days: a few integer
// operations per value, where a time.Time per value costs a conversion
// from absolute seconds.
func civilDate(days int64) (year int64, month, day int) {
	z := days + 719468 // days since 0000-03-01
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // day of era, [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // year of era, [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // day of the March-based year
	mp := (5*doy + 2) / 153                                // March = 0
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

// AppendTime appends a nanosecond of day as HH:mm:ss[.fraction] (trimmed
// fraction) or, java, as LocalTime.toString (seconds only when non-zero,
// fraction in groups of three).
func AppendTime(dst []byte, nanosOfDay int64, java bool) []byte {
	sec := nanosOfDay / 1e9
	nano := nanosOfDay % 1e9
	dst = appendPadded(dst, sec/3600, 2)
	dst = append(dst, ':')
	dst = appendPadded(dst, sec/60%60, 2)
	if java {
		if sec%60 == 0 && nano == 0 {
			return dst
		}
		dst = append(dst, ':')
		dst = appendPadded(dst, sec%60, 2)
		return appendJavaFraction(dst, nano)
	}
	dst = append(dst, ':')
	dst = appendPadded(dst, sec%60, 2)
	return appendTrimmedFraction(dst, nano)
}

// AppendTimestamp appends epoch seconds + nanos in the style; ltz values
// are instants shown in UTC with a trailing 'Z'.
func AppendTimestamp(dst []byte, sec, nano int64, style TimestampStyle, ltz bool) []byte {
	days, sod := splitDays(sec)
	return appendTimeOfDay(AppendDate(dst, days), sod, nano, style, ltz)
}

// splitDays splits epoch seconds into days since the epoch and a second
// of day in [0, 86400).
func splitDays(sec int64) (days, sod int64) {
	days, sod = sec/86400, sec%86400
	if sod < 0 {
		days--
		sod += 86400
	}
	return days, sod
}

// appendTimeOfDay appends what follows the date in AppendTimestamp.
func appendTimeOfDay(dst []byte, sod, nano int64, style TimestampStyle, ltz bool) []byte {
	if style == SQL {
		dst = append(dst, ' ')
	} else {
		dst = append(dst, 'T')
	}
	if style == Java && ltz {
		// Instant.toString always shows seconds.
		dst = AppendTime(dst, sod*1e9, false)
		dst = appendJavaFraction(dst, nano)
	} else {
		dst = AppendTime(dst, sod*1e9+nano, style == Java)
	}
	if ltz {
		dst = append(dst, 'Z')
	}
	return dst
}

func appendPadded(dst []byte, v int64, width int) []byte {
	// Two-digit fields (month, day, hour, minute, second) are most of what
	// dates and times print.
	if width == 2 && v >= 0 && v < 100 {
		return append(dst, byte('0'+v/10), byte('0'+v%10))
	}
	if width == 4 && v >= 1000 && v < 10000 {
		return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	}
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for k := len(s); k < width; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func appendTrimmedFraction(dst []byte, nano int64) []byte {
	if nano == 0 {
		return dst
	}
	// Millisecond and microsecond fractions, the common ones, take one
	// division to lose six or three zeros.
	width := 9
	switch {
	case nano%1e6 == 0:
		nano, width = nano/1e6, 3
	case nano%1e3 == 0:
		nano, width = nano/1e3, 6
	}
	for nano%10 == 0 {
		nano /= 10
		width--
	}
	dst = append(dst, '.')
	return appendPadded(dst, nano, width)
}

func appendJavaFraction(dst []byte, nano int64) []byte {
	switch {
	case nano == 0:
		return dst
	case nano%1e6 == 0:
		return appendPadded(append(dst, '.'), nano/1e6, 3)
	case nano%1e3 == 0:
		return appendPadded(append(dst, '.'), nano/1e3, 6)
	}
	return appendPadded(append(dst, '.'), nano, 9)
}
