package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
)

// intervalField is how EXTRACT reads a unit from an interval's value
// (milliseconds for DAY TO SECOND, months for YEAR TO MONTH), as Flink's
// ExtractCallGen computes it: (v % factor) / multiplier, or v / multiplier
// when the unit is the largest (factor 0).
type intervalField struct{ factor, multiplier int64 }

var (
	dayTimeFields = map[string]intervalField{
		"DAY":         {0, 86_400_000},
		"HOUR":        {86_400_000, 3_600_000},
		"MINUTE":      {3_600_000, 60_000},
		"SECOND":      {60_000, 1000},
		"MILLISECOND": {1000, 1},
	}
	// QUARTER is ((v % 12) - 1) / 3 + 1, see extractInterval.
	yearMonthFields = map[string]intervalField{
		"YEAR":    {0, 12},
		"QUARTER": {12, 3},
		"MONTH":   {12, 1},
	}
)

// checkExtractInterval rejects the units an interval type does not have
// (a DAY TO SECOND interval has no months, a YEAR TO MONTH one no days).
func checkExtractInterval(unit string, t types.DataType) error {
	fields := dayTimeFields
	if t.Kind == types.IntervalYearMonth {
		fields = yearMonthFields
	}
	if _, ok := fields[unit]; !ok {
		return fmt.Errorf("EXTRACT: unit %s can not be applied to %s", unit, t.WithNullable(true))
	}
	return nil
}

// extractInterval returns the kernel of EXTRACT(unit FROM interval), a
// typed loop over the interval's integers.
func extractInterval(c *compiler, unit string, t types.DataType) func(args []arrow.Array, n int) (arrow.Array, error) {
	ym := t.Kind == types.IntervalYearMonth
	f := dayTimeFields[unit]
	if ym {
		f = yearMonthFields[unit]
	}
	field := func(v int64) int64 {
		switch {
		case ym && unit == "QUARTER":
			// Java's integer division truncates: month 0 is quarter 1.
			return (v%12-1)/3 + 1
		case f.factor == 0:
			return v / f.multiplier
		}
		return v % f.factor / f.multiplier
	}
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL {
			return allNullArray(types.BigIntType, n, c.mem)
		}
		buf, out := fixedOut[int64](c.mem, n)
		if ym {
			for i, v := range valuesOf[arrow.MonthInterval](args[0]) {
				out[i] = field(int64(v))
			}
		} else {
			for i, v := range valuesOf[arrow.Duration](args[0]) {
				out[i] = field(int64(v))
			}
		}
		return makeArray(arrow.PrimitiveTypes.Int64, n, outValidity(c.mem, n, args[0]), buf, args[0].NullN()), nil
	}
}
