package expr

import (
	"fmt"
	"math"
	"strings"
	"time"
	_ "time/tzdata" // CONVERT_TZ must not depend on the host's zoneinfo

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
)

// Temporal arithmetic by unit: FLOOR/CEIL(t TO unit) (the parser's
// FLOOR|CEIL(t, 'UNIT')), TIMESTAMPADD, TIMESTAMPDIFF, CONVERT_TZ and
// TO_TIMESTAMP_LTZ. Units below a week are fixed lengths handled with
// integer arithmetic on the stored value; weeks start on Sunday and the
// calendar units (MONTH and up) go through the proleptic Gregorian
// calendar in UTC, the session time zone.
func init() {
	register(&funcDef{name: "TIMESTAMPADD", resolve: resolveTimestampAdd, compile: compileTimestampAdd})
	register(&funcDef{name: "TIMESTAMPDIFF", resolve: resolveTimestampDiff, compile: compileTimestampDiff})
	register(&funcDef{name: "CONVERT_TZ", resolve: fixedSig(types.StringType, true, types.StringType, types.StringType, types.StringType), compile: compileConvertTZ})
	register(&funcDef{name: "TO_TIMESTAMP_LTZ", mayFail: true, resolve: resolveToTimestampLTZ, compile: compileToTimestampLTZ})
}

// fixedUnits are the fixed-length units in microseconds.
var fixedUnits = map[string]int64{
	"MICROSECOND": 1, "MILLISECOND": 1e3, "SECOND": 1e6, "MINUTE": 60e6, "HOUR": 3600e6,
	"DAY": 86400e6, "WEEK": 7 * 86400e6,
}

// calendarMonths are the calendar units in months.
var calendarMonths = map[string]int{
	"MONTH": 1, "QUARTER": 3, "YEAR": 12, "DECADE": 120, "CENTURY": 1200, "MILLENNIUM": 12000,
}

// unitArg reads the unit literal of a call, accepting MySQL's SQL_TSI_
// spellings that TIMESTAMPADD allows.
func unitArg(e Expr) (string, bool) {
	u, ok := literalString(e)
	u = strings.TrimPrefix(strings.ToUpper(u), "SQL_TSI_")
	if u == "FRAC_SECOND" {
		u = "MICROSECOND"
	}
	_, fixed := fixedUnits[u]
	_, cal := calendarMonths[u]
	return u, ok && (fixed || cal)
}

// resolveFloorCeilTo types FLOOR|CEIL(t, 'UNIT'): the result has t's type.
func resolveFloorCeilTo(name string, args []Expr) (Expr, error) {
	u, ok := unitArg(args[1])
	if !ok {
		return nil, fmt.Errorf("%s expects a time unit such as 'HOUR', got %s", name, args[1])
	}
	t := args[0].Type()
	switch {
	case t.IsTimestamp(), t.Kind == types.Date:
	case t.Kind == types.Time && fixedUnits[u] > 0 && fixedUnits[u] <= fixedUnits["HOUR"]:
	default:
		return nil, typeError(name+" TO "+u, args[:1])
	}
	return &Call{Func: name, Args: args, T: strict(t, args[:1])}, nil
}

// tickScale relates microseconds to a type's stored ticks: ticks =
// micros * num / den.
func tickScale(t types.DataType) (num, den int64) {
	if t.Kind == types.Date {
		return 1, 86400e6
	}
	ups := unitsPerSecond(types.TimeUnitFor(t.Precision))
	if ups >= 1e6 {
		return ups / 1e6, 1
	}
	return 1, 1e6 / ups
}

// floorTo rounds v (ticks of type t) down to the unit, or up when ceil.
func floorTo(v int64, t types.DataType, unit string, ceil bool) int64 {
	num, den := tickScale(t)
	if us, ok := fixedUnits[unit]; ok {
		step := us * num / den // ticks per unit
		if step <= 1 {
			return v
		}
		origin := int64(0)
		if unit == "WEEK" {
			origin = -4 * 86400e6 * num / den // 1969-12-28, a Sunday
		}
		f := floorDiv(v-origin, step)*step + origin
		if ceil && f != v {
			f += step
		}
		return f
	}
	tm := ticksTime(v, t)
	y, m := tm.Year(), int(tm.Month())-1
	switch unit {
	case "MONTH":
	case "QUARTER":
		m = m / 3 * 3
	case "YEAR":
		m = 0
	case "DECADE":
		y, m = floorDivInt(y, 10)*10, 0
	case "CENTURY":
		y, m = floorDivInt(y+99, 100)*100-99, 0
	case "MILLENNIUM":
		y, m = floorDivInt(y+999, 1000)*1000-999, 0
	}
	f := time.Date(y, time.Month(m+1), 1, 0, 0, 0, 0, time.UTC)
	if ceil && !f.Equal(tm) {
		f = f.AddDate(0, calendarMonths[unit], 0)
	}
	return timeTicks(f, t)
}

// ticksTime converts a DATE, TIME or TIMESTAMP value to a UTC time.
func ticksTime(v int64, t types.DataType) time.Time {
	if t.Kind == types.Date {
		return time.Unix(v*secPerDay, 0).UTC()
	}
	return toTime(v, types.TimeUnitFor(t.Precision))
}

// timeTicks is the inverse of ticksTime.
func timeTicks(tm time.Time, t types.DataType) int64 {
	if t.Kind == types.Date {
		return floorDiv(tm.Unix(), secPerDay)
	}
	return fromTime(tm, types.TimeUnitFor(t.Precision))
}

// temporalTicks reads row i of a DATE, TIME or TIMESTAMP array as int64.
func temporalTicks(t types.DataType, a arrow.Array) func(int) int64 {
	if t.Kind == types.Date {
		v := valuesOf[int32](a)
		return func(i int) int64 { return int64(v[i]) }
	}
	return int64Getter(a)
}

func compileFloorCeilTo(c *compiler, call *Call) (Evaluator, error) {
	unit, _ := unitArg(call.Args[1])
	t, ceil := call.T, call.Func == "CEIL"
	dt := t.Arrow()
	return newCallEval(c, &Call{Func: call.Func, Args: call.Args[:1], T: t}, func(args []arrow.Array, n int) (arrow.Array, error) {
		get := temporalTicks(t, args[0])
		f := func(i int) int64 { return floorTo(get(i), t, unit, ceil) }
		switch t.Kind {
		case types.Date:
			return map1idx(c.mem, dt, args[0], func(i int) (int32, bool, error) { return int32(f(i)), true, nil })
		case types.Time:
			if dt.ID() == arrow.TIME32 {
				return map1idx(c.mem, dt, args[0], func(i int) (int32, bool, error) { return int32(f(i)), true, nil })
			}
		}
		return map1idx(c.mem, dt, args[0], func(i int) (int64, bool, error) { return f(i), true, nil })
	})
}

// resolveTimestampAdd: TIMESTAMPADD('UNIT', n, t) has t's type, except
// that adding a unit below a day to a DATE gives a TIMESTAMP, as in
// Calcite.
func resolveTimestampAdd(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 3, 3); err != nil {
		return nil, err
	}
	u, ok := unitArg(args[0])
	if !ok {
		return nil, fmt.Errorf("%s expects a time unit such as 'HOUR', got %s", name, args[0])
	}
	if !args[1].Type().IsInteger() && args[1].Type().Kind != types.Null {
		return nil, typeError(name, args[1:])
	}
	n, err := implicitCast(args[1], types.BigIntType)
	if err != nil {
		return nil, err
	}
	t := args[2].Type()
	switch {
	case t.IsTimestamp():
	case t.Kind == types.Date && fixedUnits[u] > 0 && fixedUnits[u] < fixedUnits["DAY"]:
		p := 0
		if u == "MILLISECOND" {
			p = 3
		} else if u == "MICROSECOND" {
			p = 6
		}
		t = types.TimestampType(p)
	case t.Kind == types.Date:
	default:
		return nil, typeError(name, args[1:])
	}
	return &Call{Func: name, Args: []Expr{args[0], n, args[2]}, T: strict(t, args[1:])}, nil
}

func compileTimestampAdd(c *compiler, call *Call) (Evaluator, error) {
	unit, _ := unitArg(call.Args[0])
	in, out := call.Args[2].Type(), call.T
	dt := out.Arrow()
	outNum, outDen := tickScale(out)
	return newCallEval(c, &Call{Func: call.Func, Args: call.Args[1:], T: out}, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL {
			return allNullArray(out, n, c.mem)
		}
		cnt, get := int64Getter(args[0]), temporalTicks(in, args[1])
		f := func(i int) (int64, bool, error) {
			v, k := get(i), cnt(i)
			if us, ok := fixedUnits[unit]; ok {
				if in.Kind != out.Kind || in.Precision != out.Precision {
					v = timeTicks(ticksTime(v, in), out) // DATE to TIMESTAMP
				}
				return v + k*(us*outNum/outDen), true, nil
			}
			tm := ticksTime(v, in)
			return timeTicks(addMonths(tm, int(k)*calendarMonths[unit]), out), true, nil
		}
		if out.Kind == types.Date {
			return map1idx(c.mem, dt, args[1], func(i int) (int32, bool, error) {
				v, ok, err := f(i)
				return int32(v), ok && isValid(args[0], i), err
			})
		}
		return map1idx(c.mem, dt, args[1], func(i int) (int64, bool, error) {
			v, ok, err := f(i)
			return v, ok && isValid(args[0], i), err
		})
	})
}

// resolveTimestampDiff: TIMESTAMPDIFF('UNIT', a, b) is the INT number of
// whole units from a to b (negative when b is earlier).
func resolveTimestampDiff(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 3, 3); err != nil {
		return nil, err
	}
	if _, ok := unitArg(args[0]); !ok {
		return nil, fmt.Errorf("%s expects a time unit such as 'HOUR', got %s", name, args[0])
	}
	for _, a := range args[1:] {
		if t := a.Type(); !t.IsTimestamp() && t.Kind != types.Date && t.Kind != types.Null {
			return nil, typeError(name, args[1:])
		}
	}
	return &Call{Func: name, Args: args, T: strict(types.IntType, args[1:])}, nil
}

func compileTimestampDiff(c *compiler, call *Call) (Evaluator, error) {
	unit, _ := unitArg(call.Args[0])
	ta, tb := call.Args[1].Type(), call.Args[2].Type()
	return newCallEval(c, &Call{Func: call.Func, Args: call.Args[1:], T: call.T}, func(args []arrow.Array, n int) (arrow.Array, error) {
		if ta.Kind == types.Null || tb.Kind == types.Null {
			return allNullArray(call.T, n, c.mem)
		}
		ga, gb := temporalTicks(ta, args[0]), temporalTicks(tb, args[1])
		return map1idx(c.mem, arrow.PrimitiveTypes.Int32, args[0], func(i int) (int32, bool, error) {
			if !isValid(args[1], i) {
				return 0, false, nil
			}
			a, b := ticksTime(ga(i), ta), ticksTime(gb(i), tb)
			if us, ok := fixedUnits[unit]; ok {
				d := fromTime(b, arrow.Microsecond) - fromTime(a, arrow.Microsecond)
				return int32(d / us), true, nil
			}
			return int32(monthsBetween(a, b) / calendarMonths[unit]), true, nil
		})
	})
}

// monthsBetween counts the whole months from a to b.
func monthsBetween(a, b time.Time) int {
	m := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	// Compare the position within the month (day, then time of day).
	pos := func(t time.Time) int64 {
		return int64(t.Day())*86400e9 + int64(t.Hour()*3600+t.Minute()*60+t.Second())*1e9 + int64(t.Nanosecond())
	}
	switch {
	case m > 0 && pos(b) < pos(a):
		m--
	case m < 0 && pos(b) > pos(a):
		m++
	}
	return m
}

// shortZoneIDs are Java's ZoneId.SHORT_IDS, which CONVERT_TZ accepts.
var shortZoneIDs = map[string]string{
	"ACT": "Australia/Darwin", "AET": "Australia/Sydney", "AGT": "America/Argentina/Buenos_Aires",
	"ART": "Africa/Cairo", "AST": "America/Anchorage", "BET": "America/Sao_Paulo", "BST": "Asia/Dhaka",
	"CAT": "Africa/Harare", "CNT": "America/St_Johns", "CST": "America/Chicago", "CTT": "Asia/Shanghai",
	"EAT": "Africa/Addis_Ababa", "ECT": "Europe/Paris", "IET": "America/Indiana/Indianapolis",
	"IST": "Asia/Kolkata", "JST": "Asia/Tokyo", "MIT": "Pacific/Apia", "NET": "Asia/Yerevan",
	"NST": "Pacific/Auckland", "PLT": "Asia/Karachi", "PNT": "America/Phoenix", "PRT": "America/Puerto_Rico",
	"PST": "America/Los_Angeles", "SST": "Pacific/Guadalcanal", "VST": "Asia/Ho_Chi_Minh",
	"EST": "-05:00", "MST": "-07:00", "HST": "-10:00",
}

// loadZone resolves a Java time-zone ID: a region (Europe/Berlin), a short
// ID (PST), UTC/GMT/Z, or an offset (+08:00, GMT-8, UTC+05:30).
func loadZone(id string) (*time.Location, bool) {
	if s, ok := shortZoneIDs[id]; ok {
		id = s
	}
	switch id {
	case "UTC", "GMT", "Z", "UT":
		return time.UTC, true
	}
	off := id
	for _, p := range []string{"GMT", "UTC", "UT"} {
		if strings.HasPrefix(off, p) && len(off) > len(p) && (off[len(p)] == '+' || off[len(p)] == '-') {
			off = off[len(p):]
			break
		}
	}
	if off != "" && (off[0] == '+' || off[0] == '-') {
		h, m, colon := off[1:], "0", strings.IndexByte(off, ':')
		if colon >= 0 {
			h, m = off[1:colon], off[colon+1:]
		} else if len(h) == 4 {
			h, m = h[:2], h[2:]
		}
		var hh, mm int
		if _, err := fmt.Sscanf(h+" "+m, "%d %d", &hh, &mm); err != nil || hh > 18 || mm > 59 {
			return nil, false
		}
		secs := hh*3600 + mm*60
		if off[0] == '-' {
			secs = -secs
		}
		return time.FixedZone(id, secs), true
	}
	loc, err := time.LoadLocation(id)
	return loc, err == nil
}

// zoneCache resolves zone IDs, remembering the last one.
type zoneCache struct {
	id  string
	loc *time.Location
}

func (z *zoneCache) get(id string) *time.Location {
	if z.loc == nil || z.id != id {
		loc, ok := loadZone(id)
		if !ok {
			return nil
		}
		z.id, z.loc = id, loc
	}
	return z.loc
}

// compileConvertTZ: CONVERT_TZ(s, from, to) reads 'yyyy-MM-dd HH:mm:ss'
// (fractions allowed) as a wall time in zone from and prints it in zone
// to; unparsable input or unknown zones give NULL.
func compileConvertTZ(c *compiler, call *Call) (Evaluator, error) {
	var from, to zoneCache
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		for _, a := range args {
			if a.DataType().ID() == arrow.NULL {
				return allNullArray(call.T, n, c.mem)
			}
		}
		s, f, t := strAt(args[0]), strAt(args[1]), strAt(args[2])
		out.start(n, n*19)
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			fl, tl := from.get(f(i)), to.get(t(i))
			wall, ok := parseTimestamp(s(i))
			if fl == nil || tl == nil || !ok {
				out.null()
				continue
			}
			y, mo, d := wall.Date()
			h, mi, sec := wall.Clock()
			inst := time.Date(y, mo, d, h, mi, sec, wall.Nanosecond(), fl)
			out.scratch = inst.In(tl).AppendFormat(out.scratch[:0], "2006-01-02 15:04:05")
			out.append(out.scratch)
		}
		return out.finish(), nil
	})
}

// resolveToTimestampLTZ: TO_TIMESTAMP_LTZ(epoch, precision) with a literal
// precision 0 (seconds) or 3 (milliseconds) gives TIMESTAMP_LTZ(3).
func resolveToTimestampLTZ(name string, args []Expr) (Expr, error) {
	if len(args) > 0 && args[0].Type().IsString() {
		return resolveToTimestampLTZString(name, args)
	}
	if err := arity(name, args, 1, 2); err != nil {
		return nil, err
	}
	p := int64(3)
	if len(args) == 2 {
		v, ok := literalInt(args[1])
		if !ok || (v != 0 && v != 3) {
			return nil, fmt.Errorf("%s expects precision 0 or 3, got %s", name, args[1])
		}
		p = v
	}
	t := args[0].Type()
	if !t.IsNumeric() && t.Kind != types.Null {
		return nil, typeError(name, args)
	}
	to := types.BigIntType
	if !t.IsInteger() {
		to = types.DoubleType
	}
	x, err := implicitCast(args[0], to)
	if err != nil {
		return nil, err
	}
	prec := NewLiteral(p, types.IntType.WithNullable(false))
	rt := strict(types.TimestampLTZType(3), args[:1])
	if to.Kind == types.Double {
		rt = rt.WithNullable(true) // NaN and out-of-range values give NULL
	}
	return &Call{Func: name, Args: []Expr{x, prec}, T: rt}, nil
}

func compileToTimestampLTZ(c *compiler, call *Call) (Evaluator, error) {
	if call.Args[0].Type().IsString() {
		return compileToTimestampLTZString(c, call)
	}
	p, _ := literalInt(call.Args[1])
	scale := int64(1)
	if p == 0 {
		scale = 1000
	}
	dt := call.T.Arrow()
	return newCallEval(c, &Call{Func: call.Func, Args: call.Args[:1], T: call.T}, func(args []arrow.Array, n int) (arrow.Array, error) {
		switch a := args[0]; a.DataType().ID() {
		case arrow.NULL:
			return allNullArray(call.T, n, c.mem)
		case arrow.FLOAT64:
			return map1(c.mem, dt, a, func(v float64) (int64, bool, error) {
				ms := v * float64(scale)
				if math.IsNaN(ms) || math.Abs(ms) >= 1<<62 {
					return 0, false, nil
				}
				return int64(ms), true, nil
			})
		}
		return map1(c.mem, dt, args[0], func(v int64) (int64, bool, error) {
			if v > math.MaxInt64/scale || v < math.MinInt64/scale {
				return 0, false, fmt.Errorf("TO_TIMESTAMP_LTZ: %d is out of range", v)
			}
			return v * scale, true, nil
		})
	})
}
