package format

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddysql/eddy/catalog/types"
)

// Column parses the text values of one column and appends them to the
// column's Arrow builder in two steps, Parse (or SetNull) then Commit, so a
// decoder can parse every field of a record and append only when all of them
// parsed: a malformed record that is skipped leaves no partial row behind.
type Column struct {
	t    types.DataType
	b    array.Builder
	mult int64 // nanoseconds per unit of TIME/TIMESTAMP builders

	null bool
	i64  int64
	f64  float64
	dec  decimal128.Num
	buf  []byte
}

// NewColumn binds a Column to builder b, which must be the builder of t's
// Arrow type.
func NewColumn(t types.DataType, b array.Builder) (*Column, error) {
	if err := CheckType(t); err != nil {
		return nil, err
	}
	c := &Column{t: t, b: b}
	switch t.Kind {
	case types.Time:
		switch dt := b.Type().(type) {
		case *arrow.Time32Type:
			c.mult = unitNanos(dt.Unit)
		case *arrow.Time64Type:
			c.mult = unitNanos(dt.Unit)
		}
	case types.Timestamp, types.TimestampLTZ:
		c.mult = unitNanos(b.Type().(*arrow.TimestampType).Unit)
	}
	return c, nil
}

// CheckType reports whether text formats can carry t: the scalar types.
func CheckType(t types.DataType) error {
	switch t.Kind {
	case types.Boolean, types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Float, types.Double,
		types.Decimal, types.Char, types.Varchar, types.Binary, types.Varbinary, types.Date, types.Time,
		types.Timestamp, types.TimestampLTZ:
		return nil
	}
	return fmt.Errorf("type %s is not supported by this format", t)
}

// Type is the column's logical type.
func (c *Column) Type() types.DataType { return c.t }

// SetNull stages a NULL.
func (c *Column) SetNull() { c.null = true }

// Parse stages the value spelled by s (s is not retained).
func (c *Column) Parse(s []byte) error {
	c.null = false
	var err error
	switch c.t.Kind {
	case types.Boolean:
		switch {
		case strings.EqualFold(trim(s), "true"):
			c.i64 = 1
		case strings.EqualFold(trim(s), "false"):
			c.i64 = 0
		default:
			err = errors.New("not a boolean")
		}
	case types.TinyInt:
		c.i64, err = strconv.ParseInt(trim(s), 10, 8)
	case types.SmallInt:
		c.i64, err = strconv.ParseInt(trim(s), 10, 16)
	case types.Int:
		c.i64, err = strconv.ParseInt(trim(s), 10, 32)
	case types.BigInt:
		c.i64, err = strconv.ParseInt(trim(s), 10, 64)
	case types.Float:
		c.f64, err = parseJavaFloat(trim(s), 32)
	case types.Double:
		c.f64, err = parseJavaFloat(trim(s), 64)
	case types.Decimal:
		c.dec, err = ParseDecimal(trim(s), int32(c.t.Precision), int32(c.t.Scale))
	case types.Char, types.Varchar:
		c.buf = append(c.buf[:0], s...)
	case types.Binary, types.Varbinary:
		c.buf, err = base64.StdEncoding.AppendDecode(c.buf[:0], s)
	case types.Date:
		c.i64, err = ParseDate(trim(s))
	case types.Time:
		c.i64, err = ParseTime(trim(s))
		c.i64 /= c.mult
	case types.Timestamp, types.TimestampLTZ:
		var sec, nano int64
		sec, nano, err = ParseTimestamp(trim(s))
		if err == nil {
			perSec := int64(1e9) / c.mult
			if sec > math.MaxInt64/perSec-1 || sec < math.MinInt64/perSec+1 {
				err = errors.New("out of range")
			}
			c.i64 = sec*perSec + nano/c.mult
		}
	}
	if err != nil {
		return fmt.Errorf("cannot parse '%s' as %s", s, c.t)
	}
	return nil
}

// Commit appends the staged value.
func (c *Column) Commit() {
	if c.null {
		c.b.AppendNull()
		return
	}
	switch b := c.b.(type) {
	case *array.BooleanBuilder:
		b.Append(c.i64 != 0)
	case *array.Int8Builder:
		b.Append(int8(c.i64))
	case *array.Int16Builder:
		b.Append(int16(c.i64))
	case *array.Int32Builder:
		b.Append(int32(c.i64))
	case *array.Int64Builder:
		b.Append(c.i64)
	case *array.Float32Builder:
		b.Append(float32(c.f64))
	case *array.Float64Builder:
		b.Append(c.f64)
	case *array.Decimal128Builder:
		b.Append(c.dec)
	case *array.StringBuilder:
		b.BinaryBuilder.Append(c.buf)
	case *array.BinaryBuilder:
		b.Append(c.buf)
	case *array.Date32Builder:
		b.Append(arrow.Date32(c.i64))
	case *array.Time32Builder:
		b.Append(arrow.Time32(c.i64))
	case *array.Time64Builder:
		b.Append(arrow.Time64(c.i64))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(c.i64))
	}
}

// trim views s, without surrounding spaces, as a string without copying:
// the parsers only read it during the call, and the messages of their
// errors, which could retain it, are replaced by Parse's own.
func trim(s []byte) string {
	s = bytes.TrimSpace(s)
	return unsafe.String(unsafe.SliceData(s), len(s))
}

// parseJavaFloat accepts Go's float syntax and Java's spellings of the
// special values.
func parseJavaFloat(s string, bits int) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, bits)
}

// ParseDecimal parses a plain or scientific decimal, rounding half up to
// scale, and checks it fits precision.
func ParseDecimal(s string, prec, scale int32) (decimal128.Num, error) {
	if n, ok := parseSmallDecimal(s, scale); ok {
		if !n.FitsInPrecision(prec) {
			return n, fmt.Errorf("%s does not fit DECIMAL(%d, %d)", s, prec, scale)
		}
		return n, nil
	}
	if s == "" {
		return decimal128.Num{}, errors.New("empty decimal")
	}
	return decimal128.FromString(s, prec, scale)
}

// parseSmallDecimal is the allocation-free path for "-123.45" with at most
// 18 digits in all and no exponent.
func parseSmallDecimal(s string, scale int32) (decimal128.Num, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if len(intPart)+int(scale) > 18 || intPart == "" && frac == "" || scale > 18 {
		return decimal128.Num{}, false
	}
	var v int64
	for k := 0; k < len(intPart); k++ {
		if intPart[k] < '0' || intPart[k] > '9' {
			return decimal128.Num{}, false
		}
		v = v*10 + int64(intPart[k]-'0')
	}
	roundUp := false
	for k := 0; k < len(frac); k++ {
		c := frac[k]
		if c < '0' || c > '9' {
			return decimal128.Num{}, false
		}
		if k < int(scale) {
			v = v*10 + int64(c-'0')
		} else if k == int(scale) {
			roundUp = c >= '5'
		}
	}
	for k := len(frac); k < int(scale); k++ {
		v *= 10
	}
	if roundUp {
		v++
	}
	if neg {
		v = -v
	}
	return decimal128.FromI64(v), true
}

// ParseDate parses yyyy-MM-dd into days since the epoch.
func ParseDate(s string) (int64, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, errors.New("bad date")
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:])
	if err1 != nil || err2 != nil || err3 != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, errors.New("bad date")
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return 0, errors.New("bad date")
	}
	return floorDiv(t.Unix(), 86400), nil
}

// ParseTime parses HH:mm[:ss[.fraction]] into a nanosecond of day.
func ParseTime(s string) (int64, error) {
	if len(s) < 5 || s[2] != ':' {
		return 0, errors.New("bad time")
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:5])
	if err1 != nil || err2 != nil || h > 23 || m > 59 || s[0] == '-' || s[3] == '-' {
		return 0, errors.New("bad time")
	}
	var sec, nano int64
	rest := s[5:]
	if rest != "" {
		if len(rest) < 3 || rest[0] != ':' {
			return 0, errors.New("bad time")
		}
		v, err := strconv.Atoi(rest[1:3])
		if err != nil || v > 59 || rest[1] == '-' {
			return 0, errors.New("bad time")
		}
		sec = int64(v)
		rest = rest[3:]
		if rest != "" {
			if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
				return 0, errors.New("bad time")
			}
			for k := 1; k < 10; k++ {
				nano *= 10
				if k < len(rest) {
					c := rest[k]
					if c < '0' || c > '9' {
						return 0, errors.New("bad time")
					}
					nano += int64(c - '0')
				}
			}
		}
	}
	return (int64(h)*3600+int64(m)*60+sec)*1e9 + nano, nil
}

// ParseTimestamp parses "yyyy-MM-dd HH:mm[:ss[.f]]" with ' ' or 'T' and an
// optional trailing 'Z' into epoch seconds and nanos.
func ParseTimestamp(s string) (sec, nano int64, err error) {
	if len(s) < 16 || (s[10] != ' ' && s[10] != 'T') {
		return 0, 0, errors.New("bad timestamp")
	}
	days, err := ParseDate(s[:10])
	if err != nil {
		return 0, 0, err
	}
	ts := strings.TrimSuffix(s[11:], "Z")
	nod, err := ParseTime(ts)
	if err != nil {
		return 0, 0, err
	}
	return days*86400 + nod/1e9, nod % 1e9, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ReadLine returns the next line of r with its terminator, nil at the end
// of the input. The slice is valid until the next call: a line longer
// than r's buffer is gathered in *long, which is reused.
func ReadLine(r *bufio.Reader, long *[]byte) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*long = append((*long)[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.ReadSlice('\n')
			*long = append(*long, line...)
		}
		line = *long
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(line) == 0 {
		return nil, nil
	}
	return line, nil
}
