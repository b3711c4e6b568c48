package jdbc

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/eddysql/eddy/catalog/types"
)

// Values travel in PostgreSQL's binary format both ways: a scan decodes
// each field straight into the typed Arrow builder of its column, and a
// sink encodes Arrow values into COPY's binary tuples, so no value is boxed
// into an interface on the way.

// PostgreSQL type OIDs the connector maps (pg_type.oid).
const (
	oidBool        = 16
	oidBytea       = 17
	oidName        = 19
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBpchar      = 1042
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidJSONB       = 3802
)

// arrayElem maps the OIDs of PostgreSQL's array types to their element
// types' OIDs.
var arrayElem = map[uint32]uint32{
	1000: oidBool, 1001: oidBytea, 1003: oidName, 1016: oidInt8, 1005: oidInt2, 1007: oidInt4,
	1009: oidText, 1021: oidFloat4, 1022: oidFloat8, 1014: oidBpchar, 1015: oidVarchar,
	1182: oidDate, 1183: oidTime, 1115: oidTimestamp, 1185: oidTimestamptz, 1231: oidNumeric,
}

var pgTypeNames = map[uint32]string{
	oidBool: "boolean", oidBytea: "bytea", oidName: "name", oidInt8: "bigint", oidInt2: "smallint",
	oidInt4: "integer", oidText: "text", oidFloat4: "real", oidFloat8: "double precision",
	oidBpchar: "character", oidVarchar: "character varying", oidDate: "date",
	oidTime: "time without time zone", oidTimestamp: "timestamp without time zone",
	oidTimestamptz: "timestamp with time zone", oidNumeric: "numeric", oidJSON: "json", oidJSONB: "jsonb",
}

// pgTypeName names a type OID for messages.
func pgTypeName(oid uint32) string {
	if e, ok := arrayElem[oid]; ok {
		return pgTypeName(e) + "[]"
	}
	if n, ok := pgTypeNames[oid]; ok {
		return n
	}
	return fmt.Sprintf("type oid %d", oid)
}

// describeType names a column's type as PostgreSQL prints it
// (format_type), for messages; pgTypeName when the server cannot say.
func describeType(ctx context.Context, conn *pgconn.PgConn, f pgconn.FieldDescription) string {
	rr := conn.ExecParams(ctx, "SELECT format_type($1, $2)",
		[][]byte{strconv.AppendUint(nil, uint64(f.DataTypeOID), 10), strconv.AppendInt(nil, int64(f.TypeModifier), 10)},
		[]uint32{26, 23}, nil, nil)
	res := rr.Read()
	if res.Err != nil || len(res.Rows) != 1 || res.Rows[0][0] == nil {
		return pgTypeName(f.DataTypeOID)
	}
	return string(res.Rows[0][0])
}

// pgEpoch is PostgreSQL's epoch, 2000-01-01, in Unix days and
// microseconds.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400 * 1000000
)

// mappable reports whether a declared type has a PostgreSQL counterpart.
func mappable(t types.DataType) bool {
	switch t.Kind {
	case types.SmallInt, types.Int, types.BigInt, types.Float, types.Double, types.Decimal, types.Boolean,
		types.Date, types.Time, types.Timestamp, types.TimestampLTZ, types.Char, types.Varchar,
		types.Binary, types.Varbinary:
		return true
	case types.Array:
		return t.Elem.Kind != types.Array && mappable(*t.Elem)
	}
	return false
}

// readable reports whether a column of PostgreSQL type oid reads as t:
// Flink's mapping, and PostgreSQL types that widen into it without loss.
// Any type reads as a string type, in its text form (see textual).
func readable(oid uint32, t types.DataType) bool {
	if t.IsString() {
		return true
	}
	if e, ok := arrayElem[oid]; ok {
		if t.Kind == types.Array && t.Elem.IsString() {
			// Elements arrive in binary format: only strings are strings.
			return !textual(e, *t.Elem)
		}
		return t.Kind == types.Array && readable(e, *t.Elem)
	}
	switch oid {
	case oidInt2:
		return t.Kind == types.SmallInt || t.Kind == types.Int || t.Kind == types.BigInt
	case oidInt4:
		return t.Kind == types.Int || t.Kind == types.BigInt
	case oidInt8:
		return t.Kind == types.BigInt
	case oidFloat4:
		return t.Kind == types.Float || t.Kind == types.Double
	case oidFloat8:
		return t.Kind == types.Double
	case oidNumeric:
		return t.Kind == types.Decimal
	case oidBool:
		return t.Kind == types.Boolean
	case oidDate:
		return t.Kind == types.Date
	case oidTime:
		return t.Kind == types.Time
	case oidTimestamp:
		return t.Kind == types.Timestamp
	case oidTimestamptz:
		return t.Kind == types.TimestampLTZ
	case oidBytea:
		return t.IsBinary()
	}
	return false
}

// writable reports whether values of t can be stored into a column of
// PostgreSQL type oid: Flink's mapping, and widenings PostgreSQL's binary
// input accepts as they are.
func writable(t types.DataType, oid uint32) bool {
	if e, ok := arrayElem[oid]; ok {
		return t.Kind == types.Array && writable(*t.Elem, e)
	}
	switch t.Kind {
	case types.SmallInt:
		return oid == oidInt2 || oid == oidInt4 || oid == oidInt8
	case types.Int:
		return oid == oidInt4 || oid == oidInt8
	case types.BigInt:
		return oid == oidInt8
	case types.Float:
		return oid == oidFloat4 || oid == oidFloat8
	case types.Double:
		return oid == oidFloat8
	case types.Char, types.Varchar:
		return oid == oidText || oid == oidVarchar || oid == oidBpchar || oid == oidJSON || oid == oidJSONB
	}
	// The other types have one counterpart each.
	return !t.IsString() && readable(oid, t)
}

// textual reports whether a column of PostgreSQL type oid read as t is
// received in text format: a string type read from a type other than
// PostgreSQL's string types (uuid, json, inet, an enum...) takes the
// type's text output, as Flink's driver reads it with getString. Every
// other column is received in binary format.
func textual(oid uint32, t types.DataType) bool {
	return t.IsString() && oid != oidText && oid != oidVarchar && oid != oidBpchar && oid != oidName
}

// decoder decodes one non-NULL field in binary format and appends it to
// the builder it was made for.
type decoder func(v []byte) error

// newDecoder makes the decoder of PostgreSQL type oid into b, a builder of
// t (readable(oid, t) holds).
func newDecoder(oid uint32, t types.DataType, b array.Builder) decoder {
	switch bb := b.(type) {
	case *array.Int16Builder:
		return func(v []byte) error {
			if len(v) != 2 {
				return errLength(oid, v)
			}
			bb.Append(int16(binary.BigEndian.Uint16(v)))
			return nil
		}
	case *array.Int32Builder:
		return func(v []byte) error {
			n, err := decodeInt(oid, v)
			bb.Append(int32(n))
			return err
		}
	case *array.Int64Builder:
		return func(v []byte) error {
			n, err := decodeInt(oid, v)
			bb.Append(n)
			return err
		}
	case *array.Float32Builder:
		return func(v []byte) error {
			if len(v) != 4 {
				return errLength(oid, v)
			}
			bb.Append(math.Float32frombits(binary.BigEndian.Uint32(v)))
			return nil
		}
	case *array.Float64Builder:
		return func(v []byte) error {
			switch len(v) {
			case 4:
				bb.Append(float64(math.Float32frombits(binary.BigEndian.Uint32(v))))
			case 8:
				bb.Append(math.Float64frombits(binary.BigEndian.Uint64(v)))
			default:
				return errLength(oid, v)
			}
			return nil
		}
	case *array.BooleanBuilder:
		return func(v []byte) error {
			if len(v) != 1 {
				return errLength(oid, v)
			}
			bb.Append(v[0] != 0)
			return nil
		}
	case *array.Decimal128Builder:
		p, s := int32(t.Precision), int32(t.Scale)
		return func(v []byte) error {
			n, err := decodeNumeric(v, p, s)
			bb.Append(n)
			return err
		}
	case *array.Date32Builder:
		return func(v []byte) error {
			if len(v) != 4 {
				return errLength(oid, v)
			}
			d := int32(binary.BigEndian.Uint32(v))
			if d == math.MaxInt32 || d == math.MinInt32 {
				return fmt.Errorf("the date %sinfinity has no DATE value", sign(d < 0))
			}
			bb.Append(arrow.Date32(d + pgEpochDays))
			return nil
		}
	case *array.Time32Builder:
		return func(v []byte) error {
			if len(v) != 8 {
				return errLength(oid, v)
			}
			bb.Append(arrow.Time32(int64(binary.BigEndian.Uint64(v)) / 1000))
			return nil
		}
	case *array.Time64Builder:
		mul := int64(1)
		if b.Type().(*arrow.Time64Type).Unit == arrow.Nanosecond {
			mul = 1000
		}
		return func(v []byte) error {
			if len(v) != 8 {
				return errLength(oid, v)
			}
			bb.Append(arrow.Time64(int64(binary.BigEndian.Uint64(v)) * mul))
			return nil
		}
	case *array.TimestampBuilder:
		unit := b.Type().(*arrow.TimestampType).Unit
		return func(v []byte) error {
			if len(v) != 8 {
				return errLength(oid, v)
			}
			us := int64(binary.BigEndian.Uint64(v))
			if us == math.MaxInt64 || us == math.MinInt64 {
				return fmt.Errorf("the timestamp %sinfinity has no %s value", sign(us < 0), t)
			}
			bb.Append(arrow.Timestamp(fromMicros(us+pgEpochMicros, unit)))
			return nil
		}
	case *array.StringBuilder:
		return func(v []byte) error {
			bb.BinaryBuilder.Append(v)
			return nil
		}
	case *array.BinaryBuilder:
		return func(v []byte) error {
			bb.Append(v)
			return nil
		}
	case *array.ListBuilder:
		elemOID := arrayElem[oid]
		eb := bb.ValueBuilder()
		elem := newDecoder(elemOID, *t.Elem, eb)
		return func(v []byte) error { return decodeArray(v, elemOID, bb, eb, elem) }
	}
	return func([]byte) error { return fmt.Errorf("internal error: no decoder of %s into %s", pgTypeName(oid), t) }
}

func sign(neg bool) string {
	if neg {
		return "-"
	}
	return ""
}

func errLength(oid uint32, v []byte) error {
	return fmt.Errorf("malformed %s value of %d bytes", pgTypeName(oid), len(v))
}

func decodeInt(oid uint32, v []byte) (int64, error) {
	switch len(v) {
	case 2:
		return int64(int16(binary.BigEndian.Uint16(v))), nil
	case 4:
		return int64(int32(binary.BigEndian.Uint32(v))), nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, errLength(oid, v)
}

// fromMicros converts microseconds to unit, rounding down as Flink
// truncates to a type's precision.
func fromMicros(us int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return floorDiv(us, 1000000)
	case arrow.Millisecond:
		return floorDiv(us, 1000)
	case arrow.Nanosecond:
		return us * 1000
	}
	return us
}

// toMicros converts a value of unit to microseconds, rounding down.
func toMicros(v int64, unit arrow.TimeUnit) int64 {
	switch unit {
	case arrow.Second:
		return v * 1000000
	case arrow.Millisecond:
		return v * 1000
	case arrow.Nanosecond:
		return floorDiv(v, 1000)
	}
	return v
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// decodeArray decodes a one-dimensional array: ndim, has-null flag,
// element OID, then per dimension its length and lower bound, then each
// element as a length (-1: NULL) and its bytes.
func decodeArray(v []byte, elemOID uint32, lb *array.ListBuilder, eb array.Builder, elem decoder) error {
	if len(v) < 12 {
		return errLength(elemOID, v)
	}
	ndim := int32(binary.BigEndian.Uint32(v))
	if got := binary.BigEndian.Uint32(v[8:]); got != elemOID {
		return fmt.Errorf("array of %s where %s was described", pgTypeName(got), pgTypeName(elemOID))
	}
	lb.Append(true)
	if ndim == 0 {
		return nil
	}
	if ndim != 1 {
		return fmt.Errorf("a %d-dimensional array has no Flink ARRAY value; only one-dimensional arrays are supported", ndim)
	}
	if len(v) < 20 {
		return errLength(elemOID, v)
	}
	n := int(int32(binary.BigEndian.Uint32(v[12:])))
	v = v[20:]
	for range n {
		if len(v) < 4 {
			return fmt.Errorf("truncated array")
		}
		l := int(int32(binary.BigEndian.Uint32(v)))
		v = v[4:]
		if l < 0 {
			eb.AppendNull()
			continue
		}
		if len(v) < l {
			return fmt.Errorf("truncated array")
		}
		if err := elem(v[:l]); err != nil {
			return err
		}
		v = v[l:]
	}
	return nil
}

// numericSign values of PostgreSQL's binary numeric.
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

var ten4 = decimal128.FromU64(10000)

// decodeNumeric decodes PostgreSQL's binary numeric (a count of base-10000
// digits, the weight of the first, a sign and the display scale, then the
// digits) into a DECIMAL(p, s), rounding half up to s digits as Flink's
// DecimalData.fromBigDecimal; a value with more than p digits is an error.
func decodeNumeric(v []byte, p, s int32) (decimal128.Num, error) {
	if len(v) < 8 {
		return decimal128.Num{}, errLength(oidNumeric, v)
	}
	ndigits := int(binary.BigEndian.Uint16(v))
	weight := int(int16(binary.BigEndian.Uint16(v[2:])))
	sgn := binary.BigEndian.Uint16(v[4:])
	if len(v) != 8+2*ndigits {
		return decimal128.Num{}, errLength(oidNumeric, v)
	}
	switch sgn {
	case numericNaN:
		return decimal128.Num{}, fmt.Errorf("NaN has no DECIMAL value")
	case numericPInf, numericNInf:
		return decimal128.Num{}, fmt.Errorf("infinity has no DECIMAL value")
	}
	// The value is the digits as one integer times 10^exp; the result is
	// that times 10^s, in 128-bit unsigned arithmetic. Digits beyond 128
	// bits (numerics far wider than DECIMAL(38)) take math/big.
	exp := 4 * (weight - ndigits + 1)
	var hi, lo uint64
	ok := true
	for i := range ndigits {
		if hi, lo, ok = mulAdd128(hi, lo, 10000, uint64(binary.BigEndian.Uint16(v[8+2*i:]))); !ok {
			break
		}
	}
	if !ok {
		return decodeNumericBig(v[8:], ndigits, exp, sgn, p, s)
	}
	switch shift := exp + int(s); {
	case shift > 0:
		for ; shift > 0 && ok; shift -= 19 {
			hi, lo, ok = mulAdd128(hi, lo, pow10[min(shift, 19)], 0)
		}
		if !ok {
			return decimal128.Num{}, errPrecision(p, s)
		}
	case shift < 0:
		hi, lo = roundDiv(hi, lo, -shift)
	}
	if hi>>63 != 0 {
		return decimal128.Num{}, errPrecision(p, s)
	}
	n := decimal128.New(int64(hi), lo)
	if !n.FitsInPrecision(p) {
		return decimal128.Num{}, errPrecision(p, s)
	}
	if sgn == numericNeg {
		n = n.Negate()
	}
	return n, nil
}

var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// mulAdd128 is hi:lo * m + a, and false when it overflows 128 bits.
func mulAdd128(hi, lo, m, a uint64) (uint64, uint64, bool) {
	h1, l := bits.Mul64(lo, m)
	h2, h := bits.Mul64(hi, m)
	h, c := bits.Add64(h, h1, 0)
	l, c2 := bits.Add64(l, a, 0)
	h, c3 := bits.Add64(h, 0, c2)
	return h, l, h2 == 0 && c == 0 && c3 == 0
}

// roundDiv divides hi:lo by 10^k, rounding half up.
func roundDiv(hi, lo uint64, k int) (uint64, uint64) {
	if k > 38 { // hi:lo < 2^128 < 10^39 / 2: rounds to 0
		return 0, 0
	}
	if k <= 19 {
		qhi, qlo, rem := divmod128(hi, lo, pow10[k])
		if rem >= pow10[k]-rem {
			qhi, qlo, _ = mulAdd128(qhi, qlo, 1, 1)
		}
		return qhi, qlo
	}
	// Two steps, 10^19 then 10^(k-19): half of 10^k is 5*10^(k-20) units
	// of the second step's remainder.
	hi, lo, _ = divmod128(hi, lo, pow10[19])
	qhi, qlo, rem := divmod128(hi, lo, pow10[k-19])
	if rem >= 5*pow10[k-20] {
		qhi, qlo, _ = mulAdd128(qhi, qlo, 1, 1)
	}
	return qhi, qlo
}

// decodeNumericBig decodes the digits of a numeric too wide for 128 bits.
func decodeNumericBig(digits []byte, ndigits, exp int, sgn uint16, p, s int32) (decimal128.Num, error) {
	bi := new(big.Int)
	b10k := big.NewInt(10000)
	for i := range ndigits {
		bi.Mul(bi, b10k).Add(bi, big.NewInt(int64(binary.BigEndian.Uint16(digits[2*i:]))))
	}
	shift := exp + int(s)
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(shift))), nil)
	if shift >= 0 {
		bi.Mul(bi, pow)
	} else {
		// Half up: add half the divisor before truncating.
		bi.Add(bi, new(big.Int).Rsh(pow, 1))
		bi.Quo(bi, pow)
	}
	if bi.BitLen() > 127 {
		return decimal128.Num{}, errPrecision(p, s)
	}
	n := decimal128.FromBigInt(bi)
	if !n.FitsInPrecision(p) {
		return decimal128.Num{}, errPrecision(p, s)
	}
	if sgn == numericNeg {
		n = n.Negate()
	}
	return n, nil
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

func errPrecision(p, s int32) error {
	return fmt.Errorf("numeric value does not fit DECIMAL(%d, %d)", p, s)
}

// appendNumeric appends the binary numeric of the DECIMAL value n with
// scale s: n's digits grouped in base 10000 from the decimal point.
func appendNumeric(dst []byte, n decimal128.Num, s int32) []byte {
	sgn := uint16(numericPos)
	if n.Sign() < 0 {
		sgn = numericNeg
		n = n.Negate()
	}
	hi, lo := uint64(n.HighBits()), n.LowBits()
	// Base-10000 digits, least significant first. The fraction's last
	// group holds s%4 digits padded on the right to four.
	var digits [12]uint16
	nd := 0
	fracGroups := (int(s) + 3) / 4
	if r := s % 4; r != 0 {
		m := uint64(math.Pow10(int(r)))
		var rem uint64
		hi, lo, rem = divmod128(hi, lo, m)
		digits[nd] = uint16(rem * uint64(math.Pow10(4-int(r))))
		nd++
	}
	for hi != 0 || lo != 0 || nd < fracGroups {
		var rem uint64
		hi, lo, rem = divmod128(hi, lo, 10000)
		digits[nd] = uint16(rem)
		nd++
	}
	// weight: the power of 10000 of the most significant group.
	weight := nd - 1 - fracGroups
	// Drop leading and trailing zero groups, as PostgreSQL stores them.
	for nd > 0 && digits[nd-1] == 0 {
		nd--
		weight--
	}
	first := 0
	for first < nd && digits[first] == 0 {
		first++
	}
	if first == nd {
		weight, sgn = 0, numericPos
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(nd-first))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sgn)
	dst = binary.BigEndian.AppendUint16(dst, uint16(s))
	for i := nd - 1; i >= first; i-- {
		dst = binary.BigEndian.AppendUint16(dst, digits[i])
	}
	return dst
}

// divmod128 divides the unsigned 128-bit hi:lo by d.
func divmod128(hi, lo, d uint64) (qhi, qlo, rem uint64) {
	qhi, r := hi/d, hi%d
	qlo, rem = bits.Div64(r, lo, d)
	return qhi, qlo, rem
}

// encoder appends the binary value of row i of the array it was bound to
// (a non-NULL row).
type encoder func(dst []byte, i int) []byte

// newEncoder binds the encoder of arrays of type t into PostgreSQL type oid
// (writable(t, oid) holds) to a.
func newEncoder(t types.DataType, oid uint32, a arrow.Array) (encoder, error) {
	switch a := a.(type) {
	case *array.Int16:
		switch oid {
		case oidInt4:
			return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint32(dst, uint32(int32(a.Value(i)))) }, nil
		case oidInt8:
			return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint64(dst, uint64(int64(a.Value(i)))) }, nil
		}
		return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint16(dst, uint16(a.Value(i))) }, nil
	case *array.Int32:
		if oid == oidInt8 {
			return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint64(dst, uint64(int64(a.Value(i)))) }, nil
		}
		return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint32(dst, uint32(a.Value(i))) }, nil
	case *array.Int64:
		return func(dst []byte, i int) []byte { return binary.BigEndian.AppendUint64(dst, uint64(a.Value(i))) }, nil
	case *array.Float32:
		if oid == oidFloat8 {
			return func(dst []byte, i int) []byte {
				return binary.BigEndian.AppendUint64(dst, math.Float64bits(float64(a.Value(i))))
			}, nil
		}
		return func(dst []byte, i int) []byte {
			return binary.BigEndian.AppendUint32(dst, math.Float32bits(a.Value(i)))
		}, nil
	case *array.Float64:
		return func(dst []byte, i int) []byte {
			return binary.BigEndian.AppendUint64(dst, math.Float64bits(a.Value(i)))
		}, nil
	case *array.Boolean:
		return func(dst []byte, i int) []byte {
			if a.Value(i) {
				return append(dst, 1)
			}
			return append(dst, 0)
		}, nil
	case *array.Decimal128:
		s := int32(t.Scale)
		return func(dst []byte, i int) []byte { return appendNumeric(dst, a.Value(i), s) }, nil
	case *array.Date32:
		return func(dst []byte, i int) []byte {
			return binary.BigEndian.AppendUint32(dst, uint32(int32(a.Value(i))-pgEpochDays))
		}, nil
	case *array.Time32:
		return func(dst []byte, i int) []byte {
			return binary.BigEndian.AppendUint64(dst, uint64(int64(a.Value(i))*1000))
		}, nil
	case *array.Time64:
		div := int64(1)
		if a.DataType().(*arrow.Time64Type).Unit == arrow.Nanosecond {
			div = 1000
		}
		return func(dst []byte, i int) []byte {
			return binary.BigEndian.AppendUint64(dst, uint64(int64(a.Value(i))/div))
		}, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(dst []byte, i int) []byte {
			return binary.BigEndian.AppendUint64(dst, uint64(toMicros(int64(a.Value(i)), unit)-pgEpochMicros))
		}, nil
	case *array.String:
		if oid == oidJSONB {
			// jsonb's binary format: version 1, then the JSON text.
			return func(dst []byte, i int) []byte { return append(append(dst, 1), a.Value(i)...) }, nil
		}
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }, nil
	case *array.Binary:
		return func(dst []byte, i int) []byte { return append(dst, a.Value(i)...) }, nil
	case *array.List:
		elemOID := arrayElem[oid]
		values := a.ListValues()
		elem, err := newEncoder(*t.Elem, elemOID, values)
		if err != nil {
			return nil, err
		}
		return func(dst []byte, i int) []byte { return appendArray(dst, a, values, i, elemOID, elem) }, nil
	}
	return nil, fmt.Errorf("jdbc: internal error: no encoder of %s values into %s", t, pgTypeName(oid))
}

// appendArray appends list i of a as a one-dimensional PostgreSQL array
// (an empty one has no dimension).
func appendArray(dst []byte, a *array.List, values arrow.Array, i int, elemOID uint32, elem encoder) []byte {
	start, end := a.ValueOffsets(i)
	n := int(end - start)
	ndim, hasNull := uint32(1), uint32(0)
	if n == 0 {
		ndim = 0
	}
	for j := int(start); j < int(end); j++ {
		if values.IsNull(j) {
			hasNull = 1
			break
		}
	}
	dst = binary.BigEndian.AppendUint32(dst, ndim)
	dst = binary.BigEndian.AppendUint32(dst, hasNull)
	dst = binary.BigEndian.AppendUint32(dst, elemOID)
	if n == 0 {
		return dst
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	dst = binary.BigEndian.AppendUint32(dst, 1)
	for j := int(start); j < int(end); j++ {
		if values.IsNull(j) {
			dst = binary.BigEndian.AppendUint32(dst, math.MaxUint32)
			continue
		}
		dst = appendField(dst, elem, j)
	}
	return dst
}

// appendField appends a non-NULL field: its length, then its value.
func appendField(dst []byte, enc encoder, i int) []byte {
	at := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = enc(dst, i)
	binary.BigEndian.PutUint32(dst[at:], uint32(len(dst)-at-4))
	return dst
}
