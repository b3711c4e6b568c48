package server

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
)

// PostgreSQL type OIDs (pg_type.oid) of the types Eddy's values travel as.
const (
	oidBool        = types.PGBool
	oidBytea       = types.PGBytea
	oidInt8        = types.PGInt8
	oidInt2        = types.PGInt2
	oidInt4        = types.PGInt4
	oidText        = types.PGText
	oidFloat4      = types.PGFloat4
	oidFloat8      = types.PGFloat8
	oidUnknown     = types.PGUnknown
	oidBpchar      = types.PGBpchar
	oidVarchar     = types.PGVarchar
	oidDate        = types.PGDate
	oidTime        = types.PGTime
	oidTimestamp   = types.PGTimestamp
	oidTimestamptz = types.PGTimestamptz
	oidInterval    = types.PGInterval
	oidNumeric     = types.PGNumeric
)

// pgType is how a column of an Eddy type is described to clients: its OID,
// pg_type.typlen and the type modifier.
func pgType(t types.DataType) (oid uint32, size int16, mod int32) { return types.PGTypeOf(t) }

// typeOfOID is the Eddy type a parameter declared with a PostgreSQL OID
// takes; ok is false for OIDs Eddy has no type for.
func typeOfOID(oid uint32) (types.DataType, bool) {
	switch oid {
	case oidBool:
		return types.BooleanType, true
	case oidInt2:
		return types.SmallIntType, true
	case oidInt4:
		return types.IntType, true
	case oidInt8:
		return types.BigIntType, true
	case oidFloat4:
		return types.FloatType, true
	case oidFloat8:
		return types.DoubleType, true
	case oidNumeric:
		return types.DecimalType(38, 10), true
	case oidText, oidVarchar, oidBpchar, oidUnknown:
		return types.StringType, true
	case oidBytea:
		return types.BytesType, true
	case oidDate:
		return types.DateType, true
	case oidTime:
		return types.TimeType(6), true
	case oidTimestamp:
		return types.TimestampType(6), true
	case oidTimestamptz:
		return types.TimestampLTZType(6), true
	}
	return types.DataType{}, false
}

// pgEpoch is PostgreSQL's epoch for binary dates and timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

const pgEpochDays = 10957 // days from 1970-01-01 to 2000-01-01

// encoder appends the wire form of row i of an Arrow column to dst.
type encoder func(dst []byte, i int) []byte

// newEncoder returns the encoder of a column of type t in the given format
// (0 text, 1 binary). It is chosen once per column and batch, so rows are
// encoded by typed loops over the concrete Arrow array.
func newEncoder(a arrow.Array, t types.DataType, format int16) encoder {
	bin := format == 1
	switch c := a.(type) {
	case *array.Boolean:
		if bin {
			return func(dst []byte, i int) []byte {
				if c.Value(i) {
					return append(dst, 1)
				}
				return append(dst, 0)
			}
		}
		return func(dst []byte, i int) []byte {
			if c.Value(i) {
				return append(dst, 't')
			}
			return append(dst, 'f')
		}
	case *array.Int8:
		if bin {
			return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint16(dst, uint16(int16(c.Value(i)))) }
		}
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(c.Value(i)), 10) }
	case *array.Int16:
		if bin {
			return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint16(dst, uint16(c.Value(i))) }
		}
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(c.Value(i)), 10) }
	case *array.Int32:
		if bin {
			return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint32(dst, uint32(c.Value(i))) }
		}
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(c.Value(i)), 10) }
	case *array.Int64:
		if bin {
			return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint64(dst, uint64(c.Value(i))) }
		}
		return func(dst []byte, i int) []byte { return strconv.AppendInt(dst, c.Value(i), 10) }
	case *array.Float32:
		if bin {
			return func(dst []byte, i int) []byte {
				return binary.BigEndian.AppendUint32(dst, math.Float32bits(c.Value(i)))
			}
		}
		return func(dst []byte, i int) []byte { return appendFloat(dst, float64(c.Value(i)), 32) }
	case *array.Float64:
		if bin {
			return func(dst []byte, i int) []byte {
				return binary.BigEndian.AppendUint64(dst, math.Float64bits(c.Value(i)))
			}
		}
		return func(dst []byte, i int) []byte { return appendFloat(dst, c.Value(i), 64) }
	case *array.String:
		return func(dst []byte, i int) []byte { return append(dst, c.Value(i)...) }
	case *array.Binary:
		if bin {
			return func(dst []byte, i int) []byte { return append(dst, c.Value(i)...) }
		}
		return func(dst []byte, i int) []byte {
			return hex.AppendEncode(append(dst, '\\', 'x'), c.Value(i))
		}
	case *array.Decimal128:
		scale := int32(c.DataType().(*arrow.Decimal128Type).Scale)
		if bin {
			return func(dst []byte, i int) []byte { return appendNumericBinary(dst, c.Value(i).ToString(scale)) }
		}
		return func(dst []byte, i int) []byte { return append(dst, c.Value(i).ToString(scale)...) }
	case *array.Date32:
		if bin {
			return func(dst []byte, i int) []byte {
				return binary.BigEndian.AppendUint32(dst, uint32(int32(c.Value(i))-pgEpochDays))
			}
		}
		return func(dst []byte, i int) []byte { return c.Value(i).ToTime().AppendFormat(dst, "2006-01-02") }
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		tz := t.Kind == types.TimestampLTZ
		if bin {
			return func(dst []byte, i int) []byte {
				us := c.Value(i).ToTime(unit).Sub(pgEpoch).Microseconds()
				return binary.BigEndian.AppendUint64(dst, uint64(us))
			}
		}
		return func(dst []byte, i int) []byte {
			dst = appendTime(dst, c.Value(i).ToTime(unit).UTC(), "2006-01-02 15:04:05")
			if tz {
				dst = append(dst, "+00"...)
			}
			return dst
		}
	case *array.Time32:
		unit := c.DataType().(*arrow.Time32Type).Unit
		if bin {
			return func(dst []byte, i int) []byte {
				return binary.BigEndian.AppendUint64(dst, uint64(c.Value(i).ToTime(unit).Sub(time.Unix(0, 0)).Microseconds()))
			}
		}
		return func(dst []byte, i int) []byte { return appendTime(dst, c.Value(i).ToTime(unit).UTC(), "15:04:05") }
	case *array.Time64:
		unit := c.DataType().(*arrow.Time64Type).Unit
		if bin {
			return func(dst []byte, i int) []byte {
				return binary.BigEndian.AppendUint64(dst, uint64(c.Value(i).ToTime(unit).Sub(time.Unix(0, 0)).Microseconds()))
			}
		}
		return func(dst []byte, i int) []byte { return appendTime(dst, c.Value(i).ToTime(unit).UTC(), "15:04:05") }
	case *array.Duration:
		if bin {
			return func(dst []byte, i int) []byte {
				dst = binary.BigEndian.AppendUint64(dst, uint64(int64(c.Value(i))*1000))
				return binary.BigEndian.AppendUint64(dst, 0) // days, months
			}
		}
		return func(dst []byte, i int) []byte { return appendInterval(dst, int64(c.Value(i))) }
	case *array.MonthInterval:
		if bin {
			return func(dst []byte, i int) []byte {
				dst = binary.BigEndian.AppendUint64(dst, 0)
				dst = binary.BigEndian.AppendUint32(dst, 0)
				return binary.BigEndian.AppendUint32(dst, uint32(c.Value(i)))
			}
		}
		return func(dst []byte, i int) []byte {
			m := int(c.Value(i))
			return fmt.Appendf(dst, "%d years %d mons", m/12, m%12)
		}
	}
	if l, ok := a.(*array.List); ok && !bin && t.Kind == types.Array && t.Elem != nil {
		return pgArrayEncoder(l, *t.Elem)
	}
	if t.Kind == types.Map || t.Kind == types.Row || t.Kind == types.Multiset {
		if f, err := expr.NestedFormatter(t, a); err == nil {
			return f
		}
	}
	// Nested types travel as text; binary is never requested for them
	// since they are described as text.
	return func(dst []byte, i int) []byte { return append(dst, table.FormatValue(a, i, t)...) }
}

// appendFloat formats like PostgreSQL's float8out/float4out with the
// default extra_float_digits = 1: the shortest exact representation, in
// exponent form below 1e-4 and from 1e15 (1e6 for float4) on.
func appendFloat(dst []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	case v == 0:
		if math.Signbit(v) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	limit := 15
	if bits == 32 {
		limit = 6
	}
	exp := int(math.Floor(math.Log10(math.Abs(v))))
	if exp < -4 || exp >= limit {
		return strconv.AppendFloat(dst, v, 'e', -1, bits)
	}
	return strconv.AppendFloat(dst, v, 'f', -1, bits)
}

// appendTime formats t with layout and the fraction PostgreSQL prints:
// microseconds with trailing zeros dropped.
func appendTime(dst []byte, t time.Time, layout string) []byte {
	dst = t.AppendFormat(dst, layout)
	if us := t.Nanosecond() / 1000; us != 0 {
		frac := strings.TrimRight(fmt.Sprintf("%06d", us), "0")
		dst = append(append(dst, '.'), frac...)
	}
	return dst
}

// appendInterval formats a day-time interval of ms milliseconds the way
// PostgreSQL's IntervalStyle postgres does: "1 day 02:03:04.5".
func appendInterval(dst []byte, ms int64) []byte {
	if ms < 0 {
		dst = append(dst, '-')
		ms = -ms
	}
	days := ms / 86_400_000
	ms %= 86_400_000
	if days == 1 {
		dst = append(dst, "1 day "...)
	} else if days > 1 {
		dst = fmt.Appendf(dst, "%d days ", days)
	}
	dst = fmt.Appendf(dst, "%02d:%02d:%02d", ms/3_600_000, ms/60_000%60, ms/1000%60)
	if f := ms % 1000; f != 0 {
		dst = append(append(dst, '.'), strings.TrimRight(fmt.Sprintf("%03d", f), "0")...)
	}
	return dst
}

// appendNumericBinary encodes a decimal string ("-12.340") as PostgreSQL's
// binary numeric: base-10000 digits with a weight, a sign and a scale.
func appendNumericBinary(dst []byte, s string) []byte {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	scale := len(frac)
	intPart = strings.TrimLeft(intPart, "0")
	// Pad the integer part on the left and the fraction on the right to
	// whole groups of four digits.
	if r := len(intPart) % 4; r != 0 {
		intPart = strings.Repeat("0", 4-r) + intPart
	}
	if r := len(frac) % 4; r != 0 {
		frac += strings.Repeat("0", 4-r)
	}
	all := intPart + frac
	digits := make([]uint16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		d, _ := strconv.Atoi(all[i : i+4])
		digits = append(digits, uint16(d))
	}
	weight := len(intPart)/4 - 1
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	sign := uint16(0)
	if neg && len(digits) > 0 {
		sign = 0x4000
	}
	if len(digits) == 0 {
		weight = 0
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(digits)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sign)
	dst = binary.BigEndian.AppendUint16(dst, uint16(scale))
	for _, d := range digits {
		dst = binary.BigEndian.AppendUint16(dst, d)
	}
	return dst
}

// decodeNumericBinary is the inverse of appendNumericBinary.
func decodeNumericBinary(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("numeric value too short")
	}
	n := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	scale := int(binary.BigEndian.Uint16(b[6:]))
	if len(b) != 8+2*n || sign == 0xC000 || n > 1000 || scale > 1000 {
		return "", fmt.Errorf("invalid or unsupported numeric value")
	}
	v := new(big.Int)
	for i := 0; i < n; i++ {
		v.Mul(v, big.NewInt(10000))
		v.Add(v, big.NewInt(int64(binary.BigEndian.Uint16(b[8+2*i:]))))
	}
	// v holds digits × 10000^(weight-n+1); rescale to 10^-scale.
	exp := 4*(weight-n+1) + scale
	if exp >= 0 {
		v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	} else {
		v.Quo(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-exp)), nil))
	}
	s := v.String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if sign == 0x4000 {
		s = "-" + s
	}
	return s, nil
}

// decodeParam turns the wire value of a parameter of type t (sent with
// OID oid, 0 when unspecified) in format (0 text, 1 binary) into a literal.
func decodeParam(raw []byte, format int16, oid uint32, t types.DataType) (*expr.Literal, error) {
	if raw == nil {
		return &expr.Literal{T: t.WithNullable(true)}, nil
	}
	if format == 1 {
		return decodeBinaryParam(raw, oid, t)
	}
	return textLiteral(string(raw), t)
}

func badParam(t types.DataType, s string) error {
	return errs.New(errs.InvalidCast, "invalid input syntax for type %s: \"%s\"", t, s)
}

// textLiteral parses the text form of a value of type t.
func textLiteral(s string, t types.DataType) (*expr.Literal, error) {
	t = t.WithNullable(false)
	lit := func(v any) (*expr.Literal, error) { return &expr.Literal{Value: v, T: t}, nil }
	switch t.Kind {
	case types.Boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "yes", "on", "1", "y":
			return lit(true)
		case "f", "false", "no", "off", "0", "n":
			return lit(false)
		}
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
		bits := map[types.Kind]int{types.TinyInt: 8, types.SmallInt: 16, types.Int: 32, types.BigInt: 64}[t.Kind]
		if v, err := strconv.ParseInt(strings.TrimSpace(s), 10, bits); err == nil {
			return lit(v)
		}
	case types.Float, types.Double:
		if v, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return lit(v)
		}
	case types.Decimal:
		s = strings.TrimSpace(s)
		_, frac, _ := strings.Cut(s, ".")
		scale := len(frac)
		if scale > types.MaxDecimalPrecision {
			// arrow's decimal128 cannot hold (and panics on) a scale above
			// its precision.
			return nil, errs.New(errs.NumericOutOfRange, "numeric value %q has more than %d fractional digits", s, types.MaxDecimalPrecision)
		}
		n, err := decimal128.FromString(s, int32(types.MaxDecimalPrecision), int32(scale))
		if err == nil {
			return &expr.Literal{Value: n, T: types.DecimalType(types.MaxDecimalPrecision, scale).WithNullable(false)}, nil
		}
	case types.Char, types.Varchar:
		return lit(s)
	case types.Binary, types.Varbinary:
		if h, ok := strings.CutPrefix(s, `\x`); ok {
			if b, err := hex.DecodeString(h); err == nil {
				return lit(b)
			}
		} else {
			return lit([]byte(s))
		}
	case types.Date:
		if d, err := time.Parse("2006-01-02", strings.TrimSpace(s)); err == nil {
			return lit(int32(d.Unix() / 86400))
		}
	case types.Time:
		if d, err := time.Parse("15:04:05.999999999", strings.TrimSpace(s)); err == nil {
			ns := d.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)).Nanoseconds()
			return lit(toUnit(ns, t.Precision))
		}
	case types.Timestamp, types.TimestampLTZ:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02"} {
			if d, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				return lit(toUnit(d.UnixNano(), t.Precision))
			}
		}
	default:
		return nil, errs.New(errs.NotSupported, "parameters of type %s are not supported", t)
	}
	return nil, badParam(t, s)
}

// toUnit converts nanoseconds into the Arrow unit of a time type of the
// given precision.
func toUnit(ns int64, precision int) int64 {
	switch types.TimeUnitFor(precision) {
	case arrow.Millisecond:
		return ns / 1e6
	case arrow.Microsecond:
		return ns / 1e3
	}
	return ns
}

// decodeBinaryParam decodes the binary form of a parameter sent as oid
// (or, for oid 0, as the binary form of t).
func decodeBinaryParam(b []byte, oid uint32, t types.DataType) (*expr.Literal, error) {
	if oid == 0 {
		oid, _, _ = pgType(t)
	}
	bad := func() error {
		return errs.New(errs.InvalidCast, "incorrect binary data format in parameter of type %s", t)
	}
	lit := func(v any, lt types.DataType) (*expr.Literal, error) {
		return &expr.Literal{Value: v, T: lt.WithNullable(false)}, nil
	}
	switch oid {
	case oidBool:
		if len(b) == 1 {
			return lit(b[0] != 0, types.BooleanType)
		}
	case oidInt2:
		if len(b) == 2 {
			return lit(int64(int16(binary.BigEndian.Uint16(b))), types.SmallIntType)
		}
	case oidInt4:
		if len(b) == 4 {
			return lit(int64(int32(binary.BigEndian.Uint32(b))), types.IntType)
		}
	case oidInt8:
		if len(b) == 8 {
			return lit(int64(binary.BigEndian.Uint64(b)), types.BigIntType)
		}
	case oidFloat4:
		if len(b) == 4 {
			return lit(float64(math.Float32frombits(binary.BigEndian.Uint32(b))), types.FloatType)
		}
	case oidFloat8:
		if len(b) == 8 {
			return lit(math.Float64frombits(binary.BigEndian.Uint64(b)), types.DoubleType)
		}
	case oidText, oidVarchar, oidBpchar, oidUnknown:
		return lit(string(b), types.StringType)
	case oidBytea:
		return lit(append([]byte(nil), b...), types.BytesType)
	case oidNumeric:
		s, err := decodeNumericBinary(b)
		if err != nil {
			return nil, bad()
		}
		return textLiteral(s, types.DecimalType(types.MaxDecimalPrecision, 0))
	case oidDate:
		if len(b) == 4 {
			return lit(int32(binary.BigEndian.Uint32(b))+pgEpochDays, types.DateType)
		}
	case oidTimestamp, oidTimestamptz:
		if len(b) == 8 {
			us := int64(binary.BigEndian.Uint64(b)) + pgEpoch.UnixMicro()
			tt := types.TimestampType(6)
			if oid == oidTimestamptz {
				tt = types.TimestampLTZType(6)
			}
			return lit(us, tt)
		}
	case oidTime:
		if len(b) == 8 {
			return lit(int64(binary.BigEndian.Uint64(b)), types.TimeType(6))
		}
	default:
		return nil, errs.New(errs.NotSupported, "binary parameters of type OID %d are not supported", oid)
	}
	return nil, bad()
}

// pgArrayEncoder writes an array in PostgreSQL's text form, which psql
// prints as it is ({a,b}; \du's "Member of" is {} for none): elements in
// braces separated by commas, NULL unquoted, and an element quoted (with
// " and \ escaped) when it is empty, is NULL as text, or holds a brace,
// comma, quote, backslash or white space, as array_out does.
func pgArrayEncoder(l *array.List, elem types.DataType) encoder {
	values := l.ListValues()
	enc := newEncoder(values, elem, 0)
	var scratch []byte
	return func(dst []byte, i int) []byte {
		lo, hi := l.ValueOffsets(i)
		dst = append(dst, '{')
		for j := int(lo); j < int(hi); j++ {
			if j > int(lo) {
				dst = append(dst, ',')
			}
			if values.IsNull(j) {
				dst = append(dst, "NULL"...)
				continue
			}
			scratch = enc(scratch[:0], j)
			if len(scratch) > 0 && !strings.EqualFold(string(scratch), "NULL") && !strings.ContainsAny(string(scratch), "{},\"\\ \t\n\r\v\f") {
				dst = append(dst, scratch...)
				continue
			}
			dst = append(dst, '"')
			for _, ch := range scratch {
				if ch == '"' || ch == '\\' {
					dst = append(dst, '\\')
				}
				dst = append(dst, ch)
			}
			dst = append(dst, '"')
		}
		return append(dst, '}')
	}
}
