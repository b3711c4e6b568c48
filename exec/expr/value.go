package expr

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/javafmt"
)

// NewLiteral builds a literal of type t. Value must already hold the
// physical representation documented on Literal; integer kinds also accept
// int (converted to int64) for convenience in tests and the binder.
func NewLiteral(value any, t types.DataType) *Literal {
	if v, ok := value.(int); ok {
		switch t.Kind {
		case types.Date, types.IntervalYearMonth:
			value = int32(v)
		default:
			value = int64(v)
		}
	}
	if value == nil {
		t = t.WithNullable(true)
	}
	return &Literal{Value: value, T: t}
}

// marshalValue encodes a non-NULL literal value. Decimals travel as their
// exact decimal string, non-finite floats as strings (JSON has no NaN), and
// everything else as the natural JSON form of its physical value.
func marshalValue(l *Literal) (json.RawMessage, error) {
	switch v := l.Value.(type) {
	case decimal128.Num:
		return json.Marshal(v.ToString(int32(l.T.Scale)))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return json.Marshal(strconv.FormatFloat(v, 'g', -1, 64))
		}
		return json.Marshal(v)
	case bool, int64, int32, string, []byte:
		return json.Marshal(v)
	}
	return nil, fmt.Errorf("expr: cannot marshal literal %T of type %s", l.Value, l.T)
}

// unmarshalValue is the inverse of marshalValue for a literal of type t.
func unmarshalValue(raw json.RawMessage, t types.DataType) (Expr, error) {
	fail := func(err error) (Expr, error) {
		return nil, fmt.Errorf("expr: bad %s literal %s: %v", t, raw, err)
	}
	var v any
	switch t.Kind {
	case types.Boolean:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return fail(err)
		}
		v = b
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt, types.Time, types.Timestamp,
		types.TimestampLTZ, types.IntervalDayTime:
		var i int64
		if err := json.Unmarshal(raw, &i); err != nil {
			return fail(err)
		}
		v = i
	case types.Date, types.IntervalYearMonth:
		var i int32
		if err := json.Unmarshal(raw, &i); err != nil {
			return fail(err)
		}
		v = i
	case types.Float, types.Double:
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return fail(err)
			}
			if f, err = strconv.ParseFloat(s, 64); err != nil {
				return fail(err)
			}
		}
		v = f
	case types.Decimal:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail(err)
		}
		n, err := decimal128.FromString(s, int32(t.Precision), int32(t.Scale))
		if err != nil {
			return fail(err)
		}
		v = n
	case types.Char, types.Varchar, types.Variant:
		// A VARIANT's value is its canonical JSON text.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fail(err)
		}
		v = s
	case types.Binary, types.Varbinary:
		var b []byte
		if err := json.Unmarshal(raw, &b); err != nil {
			return fail(err)
		}
		v = b
	default:
		return nil, fmt.Errorf("expr: cannot unmarshal a literal of type %s", t)
	}
	return &Literal{Value: v, T: t}, nil
}

// FormatLiteral prints a literal as Flink SQL would spell it.
func FormatLiteral(l *Literal) string {
	if l.Value == nil {
		return "NULL"
	}
	switch v := l.Value.(type) {
	case bool:
		if v {
			return "TRUE"
		}
		return "FALSE"
	case string:
		q := "'" + strings.ReplaceAll(v, "'", "''") + "'"
		if l.T.Kind == types.Variant {
			return "PARSE_JSON(" + q + ")"
		}
		return q
	case []byte:
		return "X'" + strings.ToUpper(hex.EncodeToString(v)) + "'"
	case decimal128.Num:
		return v.ToString(int32(l.T.Scale))
	case float64:
		if l.T.Kind == types.Float {
			return javafmt.Float(v, 32)
		}
		return javafmt.Float(v, 64)
	}
	switch l.T.Kind {
	case types.Date:
		return "DATE '" + formatDate(l.Value.(int32)) + "'"
	case types.Time:
		return "TIME '" + formatTime(l.Value.(int64), l.T.Precision) + "'"
	case types.Timestamp:
		return "TIMESTAMP '" + formatTimestamp(l.Value.(int64), l.T.Precision) + "'"
	case types.TimestampLTZ:
		return "TO_TIMESTAMP_LTZ('" + formatTimestamp(l.Value.(int64), l.T.Precision) + "')"
	case types.IntervalDayTime:
		return formatIntervalDayTime(l.Value.(int64))
	case types.IntervalYearMonth:
		m := l.Value.(int32)
		if m%12 == 0 {
			return fmt.Sprintf("INTERVAL '%d' YEAR", m/12)
		}
		return fmt.Sprintf("INTERVAL '%d' MONTH", m)
	}
	return fmt.Sprint(l.Value)
}

func formatIntervalDayTime(ms int64) string {
	switch {
	case ms%86400000 == 0:
		return fmt.Sprintf("INTERVAL '%d' DAY", ms/86400000)
	case ms%3600000 == 0:
		return fmt.Sprintf("INTERVAL '%d' HOUR", ms/3600000)
	case ms%60000 == 0:
		return fmt.Sprintf("INTERVAL '%d' MINUTE", ms/60000)
	case ms%1000 == 0:
		return fmt.Sprintf("INTERVAL '%d' SECOND", ms/1000)
	}
	return fmt.Sprintf("INTERVAL '%s' SECOND", decimal128.FromI64(ms).ToString(3))
}

const (
	msPerDay  = 86400000
	secPerDay = 86400
)

// unitsPerSecond is the number of ticks of an Arrow time unit in a second.
func unitsPerSecond(u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Second:
		return 1
	case arrow.Millisecond:
		return 1e3
	case arrow.Microsecond:
		return 1e6
	}
	return 1e9
}

// toTime converts a TIMESTAMP value in unit u to a UTC time.Time.
func toTime(v int64, u arrow.TimeUnit) time.Time {
	ups := unitsPerSecond(u)
	sec, frac := v/ups, v%ups
	if frac < 0 {
		sec--
		frac += ups
	}
	return time.Unix(sec, frac*(1e9/ups)).UTC()
}

// fromTime converts a time.Time to a TIMESTAMP value in unit u.
func fromTime(t time.Time, u arrow.TimeUnit) int64 {
	ups := unitsPerSecond(u)
	return t.Unix()*ups + int64(t.Nanosecond())/(1e9/ups)
}

func formatDate(days int32) string {
	return time.Unix(int64(days)*secPerDay, 0).UTC().Format("2006-01-02")
}

// fracDigits appends precision fractional-second digits of ns.
func fracDigits(b []byte, ns int, precision int) []byte {
	if precision <= 0 {
		return b
	}
	b = append(b, '.')
	s := fmt.Sprintf("%09d", ns)
	return append(b, s[:min(precision, 9)]...)
}

// formatTimestamp prints a TIMESTAMP(p) value as Flink's CAST(... AS
// STRING) does: 'yyyy-MM-dd HH:mm:ss' plus exactly p fractional digits.
func formatTimestamp(v int64, precision int) string {
	t := toTime(v, types.TimeUnitFor(precision))
	b := t.AppendFormat(make([]byte, 0, 32), "2006-01-02 15:04:05")
	return string(fracDigits(b, t.Nanosecond(), precision))
}

// formatTime prints a TIME(p) value held in its Arrow unit.
func formatTime(v int64, precision int) string {
	t := toTime(v, types.TimeUnitFor(precision))
	b := t.AppendFormat(make([]byte, 0, 20), "15:04:05")
	return string(fracDigits(b, t.Nanosecond(), precision))
}

// gcAlloc backs broadcast constants cached inside evaluators. Evaluators
// have no Release, so anything they keep across calls lives on the Go heap
// and is reclaimed by the garbage collector rather than a caller's
// (possibly leak-checked) allocator.
var gcAlloc = memory.NewGoAllocator()

// literalArray materializes l as an Arrow array of n equal values.
func literalArray(l *Literal, n int, mem memory.Allocator) (arrow.Array, error) {
	sc, err := literalScalar(l)
	if err != nil {
		return nil, err
	}
	return scalar.MakeArrayFromScalar(sc, n, mem)
}

// literalScalar converts l to an Arrow scalar of l.T.Arrow().
func literalScalar(l *Literal) (scalar.Scalar, error) {
	dt := l.T.Arrow()
	if l.Value == nil {
		return scalar.MakeNullScalar(dt), nil
	}
	switch l.T.Kind {
	case types.Boolean:
		return scalar.NewBooleanScalar(l.Value.(bool)), nil
	case types.TinyInt:
		return scalar.NewInt8Scalar(int8(l.Value.(int64))), nil
	case types.SmallInt:
		return scalar.NewInt16Scalar(int16(l.Value.(int64))), nil
	case types.Int:
		return scalar.NewInt32Scalar(int32(l.Value.(int64))), nil
	case types.BigInt:
		return scalar.NewInt64Scalar(l.Value.(int64)), nil
	case types.Float:
		return scalar.NewFloat32Scalar(float32(l.Value.(float64))), nil
	case types.Double:
		return scalar.NewFloat64Scalar(l.Value.(float64)), nil
	case types.Decimal:
		return scalar.NewDecimal128Scalar(l.Value.(decimal128.Num), dt), nil
	case types.Char, types.Varchar, types.Variant:
		return scalar.NewStringScalar(l.Value.(string)), nil
	case types.Binary, types.Varbinary:
		return scalar.NewBinaryScalar(memory.NewBufferBytes(l.Value.([]byte)), dt), nil
	case types.Date:
		return scalar.NewDate32Scalar(arrow.Date32(l.Value.(int32))), nil
	case types.Time:
		v := l.Value.(int64)
		if dt.ID() == arrow.TIME32 {
			return scalar.NewTime32Scalar(arrow.Time32(v), dt), nil
		}
		return scalar.NewTime64Scalar(arrow.Time64(v), dt), nil
	case types.Timestamp, types.TimestampLTZ:
		return scalar.NewTimestampScalar(arrow.Timestamp(l.Value.(int64)), dt), nil
	case types.IntervalDayTime:
		return scalar.NewDurationScalar(arrow.Duration(l.Value.(int64)), dt), nil
	case types.IntervalYearMonth:
		return scalar.NewMonthIntervalScalar(arrow.MonthInterval(l.Value.(int32))), nil
	}
	return nil, fmt.Errorf("expr: unsupported literal type %s", l.T)
}

// valueAt reads row i of arr as a Literal value of type t (the inverse of
// literalArray); Fold uses it on one-row results.
func valueAt(arr arrow.Array, i int, t types.DataType) (any, error) {
	if arr.IsNull(i) {
		return nil, nil
	}
	switch a := arr.(type) {
	case *array.Boolean:
		return a.Value(i), nil
	case *array.Int8:
		return int64(a.Value(i)), nil
	case *array.Int16:
		return int64(a.Value(i)), nil
	case *array.Int32:
		return int64(a.Value(i)), nil
	case *array.Int64:
		return a.Value(i), nil
	case *array.Float32:
		return float64(a.Value(i)), nil
	case *array.Float64:
		return a.Value(i), nil
	case *array.Decimal128:
		return a.Value(i), nil
	case *array.String:
		return strings.Clone(a.Value(i)), nil
	case *array.Binary:
		return append([]byte(nil), a.Value(i)...), nil
	case *array.Date32:
		return int32(a.Value(i)), nil
	case *array.Time32:
		return int64(a.Value(i)), nil
	case *array.Time64:
		return int64(a.Value(i)), nil
	case *array.Timestamp:
		return int64(a.Value(i)), nil
	case *array.Duration:
		return int64(a.Value(i)), nil
	case *array.MonthInterval:
		return int32(a.Value(i)), nil
	}
	return nil, fmt.Errorf("expr: cannot read a %s value of type %s", arr.DataType(), t)
}
