package expr

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/javafmt"
)

// TO_TIMESTAMP_LTZ(string[, format[, timezone]]), Flink 2.0's string
// forms of TO_TIMESTAMP_LTZ: the wall-clock time string parsed with the
// Java date format (by default 'yyyy-MM-dd HH:mm:ss.SSS') is read in the
// time zone (by default UTC) and gives that instant as a TIMESTAMP_LTZ(3).
// As in Flink, a NULL argument, a string the format does not parse or an
// unknown time zone gives NULL.

const defaultLTZFormat = "yyyy-MM-dd HH:mm:ss.SSS"

// resolveToTimestampLTZString types the string forms; resolveToTimestampLTZ
// sends calls whose first argument is a string here.
func resolveToTimestampLTZString(name string, args []Expr) (Expr, error) {
	str := types.StringType
	if err := arity(name, args, 1, 3); err != nil {
		return nil, err
	}
	params := make([]types.DataType, len(args))
	for i := range params {
		params[i] = str
	}
	e, err := fixedSig(types.TimestampLTZType(3), false, params...)(name, args)
	if err != nil {
		return nil, err
	}
	call := e.(*Call)
	call.T = call.T.WithNullable(true) // unparsable strings give NULL
	return call, nil
}

func compileToTimestampLTZString(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var zones zoneCache
	var lastPat, layout string
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		for _, a := range args {
			if a.DataType().ID() == arrow.NULL {
				return allNullArray(call.T, n, c.mem)
			}
		}
		s := strAt(args[0])
		pat := func(int) string { return defaultLTZFormat }
		if len(args) > 1 {
			pat = strAt(args[1])
		}
		zone := func(int) *time.Location { return time.UTC }
		if len(args) > 2 {
			tz := strAt(args[2])
			zone = func(i int) *time.Location { return zones.get(tz(i)) }
		}
		return map1idx(c.mem, dt, args[0], func(i int) (int64, bool, error) {
			if anyNullAt(args, i) {
				return 0, false, nil
			}
			if p := pat(i); p != lastPat || layout == "" {
				lastPat, layout = p, javafmt.GoLayout(p)
			}
			loc := zone(i)
			if loc == nil {
				return 0, false, nil
			}
			t, err := time.ParseInLocation(layout, strings.TrimSpace(s(i)), loc)
			if err != nil {
				return 0, false, nil
			}
			return fromTime(t, arrow.Millisecond), true, nil
		})
	})
}
