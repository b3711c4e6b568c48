package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/javafmt"
)

// wallClock is the one place expressions read the wall clock: PROCTIME()
// and the CURRENT_* functions. Tests replace it. The session time zone is
// UTC for now.
var wallClock = time.Now

// extractUnits maps EXTRACT units and the field functions to a getter.
// The units are Flink's (its ExtractCallGen): the sub-second ones count
// within the second (Calcite and PostgreSQL add the seconds), and DECADE,
// CENTURY, MILLENNIUM, ISOYEAR and ISODOW, which only EXTRACT has, are
// Calcite's DateTimeUtils.julianExtract.
var extractUnits = map[string]func(t time.Time) int64{
	"YEAR":        func(t time.Time) int64 { return int64(t.Year()) },
	"QUARTER":     func(t time.Time) int64 { return int64(t.Month()+2) / 3 },
	"MONTH":       func(t time.Time) int64 { return int64(t.Month()) },
	"WEEK":        func(t time.Time) int64 { _, w := t.ISOWeek(); return int64(w) },
	"DAY":         func(t time.Time) int64 { return int64(t.Day()) },
	"DAYOFMONTH":  func(t time.Time) int64 { return int64(t.Day()) },
	"DOY":         func(t time.Time) int64 { return int64(t.YearDay()) },
	"DAYOFYEAR":   func(t time.Time) int64 { return int64(t.YearDay()) },
	"DOW":         func(t time.Time) int64 { return int64(t.Weekday()) + 1 }, // Sunday = 1
	"DAYOFWEEK":   func(t time.Time) int64 { return int64(t.Weekday()) + 1 },
	"HOUR":        func(t time.Time) int64 { return int64(t.Hour()) },
	"MINUTE":      func(t time.Time) int64 { return int64(t.Minute()) },
	"SECOND":      func(t time.Time) int64 { return int64(t.Second()) },
	"MILLISECOND": func(t time.Time) int64 { return int64(t.Nanosecond() / 1e6) },
	"MICROSECOND": func(t time.Time) int64 { return int64(t.Nanosecond() / 1e3) },
	"NANOSECOND":  func(t time.Time) int64 { return int64(t.Nanosecond()) },
	"EPOCH":       func(t time.Time) int64 { return t.Unix() },
	"DECADE":      func(t time.Time) int64 { return int64(t.Year()) / 10 },
	"CENTURY":     func(t time.Time) int64 { return yearsPer(int64(t.Year()), 100) },
	"MILLENNIUM":  func(t time.Time) int64 { return yearsPer(int64(t.Year()), 1000) },
	"ISOYEAR":     func(t time.Time) int64 { y, _ := t.ISOWeek(); return int64(y) },
	"ISODOW":      func(t time.Time) int64 { return (int64(t.Weekday())+6)%7 + 1 }, // Monday = 1
}

// yearsPer numbers the period of n years a year falls in, from 1 for
// years 1..n (and -1 for the n years before year 1), as CENTURY and
// MILLENNIUM count.
func yearsPer(year, n int64) int64 {
	if year > 0 {
		return (year + n - 1) / n
	}
	return (year - n + 1) / n
}

func init() {
	for _, f := range []string{"YEAR", "QUARTER", "MONTH", "WEEK", "DAYOFMONTH", "DAYOFYEAR", "DAYOFWEEK", "HOUR", "MINUTE", "SECOND"} {
		register(&funcDef{name: f, resolve: resolveField, compile: compileField})
	}
	register(&funcDef{name: "EXTRACT", resolve: resolveField, compile: compileField})
	str, ts3 := types.StringType, types.TimestampType(3)
	register(&funcDef{name: "DATE_FORMAT", resolve: resolveDateFormat, compile: compileFormat})
	register(&funcDef{name: "FROM_UNIXTIME", resolve: optionalSig(str, false, []types.DataType{types.BigIntType}, str), compile: compileFormat})
	register(&funcDef{name: "TO_TIMESTAMP", resolve: optionalSig(ts3, true, []types.DataType{str}, str), compile: compileParse})
	register(&funcDef{name: "TO_DATE", resolve: optionalSig(types.DateType, true, []types.DataType{str}, str), compile: compileParse})
	register(&funcDef{name: "UNIX_TIMESTAMP", nondeterministicNoArgs: true, resolve: resolveUnixTimestamp, compile: compileParse})
	now := func(name string, t types.DataType) {
		register(&funcDef{name: name, nondeterministic: true, compile: compileNow,
			resolve: func(name string, args []Expr) (Expr, error) {
				if err := arity(name, args, 0, 0); err != nil {
					return nil, err
				}
				return &Call{Func: name, T: t.WithNullable(false)}, nil
			}})
	}
	now("CURRENT_TIMESTAMP", types.TimestampLTZType(3))
	now("NOW", types.TimestampLTZType(3))
	now("LOCALTIMESTAMP", types.TimestampType(3))
	now("CURRENT_DATE", types.DateType)
	now("CURRENT_TIME", types.TimeType(0))
	now("LOCALTIME", types.TimeType(0))
	now("PROCTIME", types.TimestampLTZType(3).WithTimeAttr(types.ProctimeAttr))
	now("CURRENT_ROW_TIMESTAMP", types.TimestampLTZType(3))
}

// resolveField types HOUR(ts), YEAR(d)... and EXTRACT(unit, x), whose unit
// is a string literal such as 'YEAR' or 'DOW'. All return BIGINT.
func resolveField(name string, args []Expr) (Expr, error) {
	unitArgs := 0
	if name == "EXTRACT" {
		unitArgs = 1
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		u, ok := literalString(args[0])
		if _, known := extractUnits[strings.ToUpper(u)]; !ok || !known {
			return nil, fmt.Errorf("EXTRACT needs a unit literal such as 'YEAR', got %s", args[0])
		}
	} else if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	x := args[unitArgs].Type()
	unit := name
	if name == "EXTRACT" {
		u, _ := literalString(args[0])
		unit = strings.ToUpper(u)
		if x.IsInterval() {
			if err := checkExtractInterval(unit, x); err != nil {
				return nil, err
			}
			return &Call{Func: name, Args: args, T: strict(types.BigIntType, args[1:])}, nil
		}
	}
	if !x.IsTemporal() && x.Kind != types.Null {
		return nil, typeError(name, args[unitArgs:])
	}
	// As in Flink's ExtractCallGen: a TIME has no date fields, and only
	// timestamps carry the digits below the millisecond.
	subMilli := unit == "MICROSECOND" || unit == "NANOSECOND"
	if x.Kind == types.Time && (dateUnits[unit] || subMilli) || x.Kind == types.Date && subMilli {
		return nil, fmt.Errorf("%s: unit %s can not be applied to %s", name, unit, x.WithNullable(true).WithTimeAttr(types.NoTimeAttr))
	}
	return &Call{Func: name, Args: args, T: strict(types.BigIntType, args[unitArgs:])}, nil
}

// dateUnits are the EXTRACT units (and field functions) of a date.
var dateUnits = map[string]bool{
	"YEAR": true, "QUARTER": true, "MONTH": true, "WEEK": true, "DAY": true, "DAYOFMONTH": true,
	"DOY": true, "DAYOFYEAR": true, "DOW": true, "DAYOFWEEK": true, "DECADE": true, "CENTURY": true,
	"MILLENNIUM": true, "ISOYEAR": true, "ISODOW": true,
}

// temporalTime returns a reader of row i of a DATE, TIME or TIMESTAMP
// array as a UTC time.Time.
func temporalTime(t types.DataType, a arrow.Array) func(int) time.Time {
	switch t.Kind {
	case types.Date:
		v := valuesOf[int32](a)
		return func(i int) time.Time { return time.Unix(int64(v[i])*secPerDay, 0).UTC() }
	case types.Time:
		get, unit := int64Getter(a), types.TimeUnitFor(t.Precision)
		return func(i int) time.Time { return toTime(get(i), unit) }
	}
	v, unit := valuesOf[int64](a), types.TimeUnitFor(t.Precision)
	return func(i int) time.Time { return toTime(v[i], unit) }
}

func compileField(c *compiler, call *Call) (Evaluator, error) {
	unit, x := call.Func, call.Args[0]
	if call.Func == "EXTRACT" {
		u, _ := literalString(call.Args[0])
		unit, x = strings.ToUpper(u), call.Args[1]
	}
	get := extractUnits[unit]
	xt := x.Type()
	ev, err := c.compile(x)
	if err != nil {
		return nil, err
	}
	if xt.IsInterval() {
		return &callEval{args: []Evaluator{ev}, k: extractInterval(c, unit, xt), vals: make([]arrow.Array, 1)}, nil
	}
	k := func(args []arrow.Array, n int) (arrow.Array, error) {
		if xt.Kind == types.Null {
			return allNullArray(types.BigIntType, n, c.mem)
		}
		at := temporalTime(xt, args[0])
		return map1idx(c.mem, arrow.PrimitiveTypes.Int64, args[0], func(i int) (int64, bool, error) {
			return get(at(i)), true, nil
		})
	}
	return &callEval{args: []Evaluator{ev}, k: k, vals: make([]arrow.Array, 1)}, nil
}

func resolveDateFormat(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	x := args[0]
	switch t := x.Type(); {
	case t.IsString():
		// Flink parses a string argument with the default format.
		var err error
		if x, err = NewCast(x, types.TimestampType(3), true); err != nil {
			return nil, err
		}
	case t.IsTimestamp(), t.Kind == types.Date, t.Kind == types.Null:
	default:
		return nil, typeError(name, args)
	}
	f, err := coerceParam(name, args, args[1], types.StringType)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: []Expr{x, f}, T: strict(types.StringType, []Expr{x, f})}, nil
}

// compileFormat implements DATE_FORMAT(ts, fmt) and FROM_UNIXTIME(secs[,
// fmt]) with Java SimpleDateFormat patterns, compiled once when literal.
func compileFormat(c *compiler, call *Call) (Evaluator, error) {
	def := "yyyy-MM-dd HH:mm:ss"
	var fixed []javafmt.Token
	if len(call.Args) == 2 {
		if p, ok := literalString(call.Args[1]); ok {
			fixed = javafmt.Parse(p)
		}
	} else {
		fixed = javafmt.Parse(def)
	}
	xt := call.Args[0].Type()
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if xt.Kind == types.Null {
			return allNullArray(types.StringType, n, c.mem)
		}
		var at func(int) (sec, nano int64)
		if call.Func == "FROM_UNIXTIME" {
			get := int64Getter(args[0])
			at = func(i int) (int64, int64) { return get(i), 0 }
		} else {
			at = epochAt(xt, args[0])
		}
		pat := func(int) string { return def }
		if len(args) == 2 {
			pat = strAt(args[1])
		}
		nulls := false
		for _, a := range args {
			nulls = nulls || a.NullN() > 0
		}
		var last string
		var toks []javafmt.Token
		split := javaSplitter{date: printsDate(fixed)}
		// A stream's consecutive rows mostly fall in one second, and most
		// patterns print nothing finer: scratch then still holds the text
		// of second lastSec under the current pattern (while reuse is set).
		perSecond, reuse, lastSec := !printsMillis(fixed), false, int64(0)
		scratch := out.scratch
		out.start(n, n*20)
		for i := 0; i < n; i++ {
			if nulls && anyNullAt(args, i) {
				out.null()
				continue
			}
			tk := fixed
			if tk == nil {
				if p := pat(i); p != last || toks == nil {
					last, toks = p, javafmt.Parse(p)
					split.date = printsDate(toks)
					perSecond, reuse = !printsMillis(toks), false
				}
				tk = toks
			}
			sec, nano := at(i)
			if !reuse || sec != lastSec {
				scratch = appendJavaFormat(scratch[:0], split.split(sec, nano), tk)
				reuse, lastSec = perSecond, sec
			}
			out.append(scratch)
		}
		out.scratch = scratch
		return out.finish(), nil
	})
}

// epochAt reads the values of a, of the DATE, TIME or TIMESTAMP type t, as
// seconds since the epoch and a nanosecond of second in [0, 1e9), as
// temporalTime's times are, without making a time.Time per value.
func epochAt(t types.DataType, a arrow.Array) func(int) (sec, nano int64) {
	if t.Kind == types.Date {
		v := valuesOf[int32](a)
		return func(i int) (int64, int64) { return int64(v[i]) * secPerDay, 0 }
	}
	ups := unitsPerSecond(types.TimeUnitFor(t.Precision))
	if a.DataType().(arrow.FixedWidthDataType).BitWidth() == 64 {
		// TIMESTAMP, TIMESTAMP_LTZ and TIME(p > 3) values, read directly.
		v := valuesOf[int64](a)
		return func(i int) (int64, int64) { return splitUnits(v[i], ups) }
	}
	get := int64Getter(a)
	return func(i int) (int64, int64) { return splitUnits(get(i), ups) }
}

// splitUnits splits v, in units of which ups make a second, into seconds
// and a nanosecond of second in [0, 1e9).
func splitUnits(v, ups int64) (sec, nano int64) {
	sec, rem := v/ups, v%ups
	if rem < 0 {
		sec--
		rem += ups
	}
	return sec, rem * (1e9 / ups)
}

// resolveUnixTimestamp: UNIX_TIMESTAMP() is the current time in epoch
// seconds; UNIX_TIMESTAMP(s[, fmt]) parses s, NULL only for NULL
// arguments.
func resolveUnixTimestamp(name string, args []Expr) (Expr, error) {
	if len(args) == 0 {
		return &Call{Func: name, T: types.BigIntType.WithNullable(false)}, nil
	}
	return optionalSig(types.BigIntType, false, []types.DataType{types.StringType}, types.StringType)(name, args)
}

// compileParse implements TO_TIMESTAMP, TO_DATE and UNIX_TIMESTAMP of a
// string with an optional Java pattern. Unparsable input gives NULL, as in
// Flink, except that UNIX_TIMESTAMP returns Long.MIN_VALUE for it, as
// Flink documents (SqlDateTimeUtils.unixTimestamp).
func compileParse(c *compiler, call *Call) (Evaluator, error) {
	fn := call.Func
	def := "yyyy-MM-dd HH:mm:ss"
	if fn == "TO_DATE" {
		def = "yyyy-MM-dd"
	}
	dt := call.T.Arrow()
	if len(call.Args) == 0 { // UNIX_TIMESTAMP(): the clock, read once per batch
		return newCallEval(c, call, func(_ []arrow.Array, n int) (arrow.Array, error) {
			return literalArray(&Literal{Value: wallClock().Unix(), T: call.T}, n, c.mem)
		})
	}
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		s := strAt(args[0])
		pat := func(int) string { return def }
		if len(args) == 2 {
			pat = strAt(args[1])
		}
		var lastPat, layout string
		parse := func(i int) (time.Time, bool) {
			if p := pat(i); p != lastPat || layout == "" {
				lastPat, layout = p, javafmt.GoLayout(p)
			}
			t, err := time.Parse(layout, strings.TrimSpace(s(i)))
			return t, err == nil
		}
		switch fn {
		case "TO_DATE":
			return map1idx(c.mem, dt, args[0], func(i int) (int32, bool, error) {
				t, ok := parse(i)
				return int32(floorDiv(t.Unix(), secPerDay)), ok && !anyNullAt(args, i), nil
			})
		case "UNIX_TIMESTAMP":
			return map1idx(c.mem, dt, args[0], func(i int) (int64, bool, error) {
				if anyNullAt(args, i) {
					return 0, false, nil
				}
				if t, ok := parse(i); ok {
					return t.Unix(), true, nil
				}
				return math.MinInt64, true, nil
			})
		}
		return map1idx(c.mem, dt, args[0], func(i int) (int64, bool, error) {
			t, ok := parse(i)
			return fromTime(t, arrow.Millisecond), ok && !anyNullAt(args, i), nil
		})
	})
}

// compileNow reads the wall clock once per batch.
func compileNow(c *compiler, call *Call) (Evaluator, error) {
	t := call.T
	return newCallEval(c, call, func(_ []arrow.Array, n int) (arrow.Array, error) {
		now := wallClock().UTC()
		var v any
		switch t.Kind {
		case types.Date:
			v = int32(floorDiv(now.Unix(), secPerDay))
		case types.Time:
			v = int64(now.Hour()*3600+now.Minute()*60+now.Second()) * 1000
		default:
			v = fromTime(now, arrow.Millisecond)
		}
		sc, err := literalScalar(&Literal{Value: v, T: t})
		if err != nil {
			return nil, err
		}
		return scalar.MakeArrayFromScalar(sc, n, c.mem)
	})
}

func appendPadded(d []byte, v int64, width int) []byte {
	// Fields of up to four digits are most of what patterns print, and
	// two-digit ones most of those.
	if width == 2 && v >= 0 && v < 100 {
		return append(d, byte('0'+v/10), byte('0'+v%10))
	}
	if v >= 0 && v < 10000 {
		n := 1
		for p := int64(10); p <= v; p *= 10 {
			n++
		}
		for k := n; k < width; k++ {
			d = append(d, '0')
		}
		var b [4]byte
		for k := n - 1; k >= 0; k-- {
			b[k] = byte('0' + v%10)
			v /= 10
		}
		return append(d, b[:n]...)
	}
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for k := len(s); k < width; k++ {
		d = append(d, '0')
	}
	return append(d, s...)
}

// javaTime is a time split into the fields a pattern prints, computed once
// per value (time.Time's Year, Month and Day each convert the whole date
// again). The session time zone is UTC.
type javaTime struct {
	sec, nano            int64 // since the epoch; nano in [0, 1e9)
	year, month, day     int
	hour, minute, second int
}

// time is j as a time.Time, for the rarer fields javaTime does not hold.
func (j *javaTime) asTime() time.Time { return time.Unix(j.sec, j.nano).UTC() }

// javaSplitter makes javaTimes, remembering the calendar date of the last
// day it converted: the values of a batch mostly fall on one day.
type javaSplitter struct {
	date             bool // whether the pattern prints a field of the date
	valid            bool
	days             int64
	year, month, day int
}

// printsDate reports whether toks print the year, month or day, which
// take the calendar date.
func printsDate(toks []javafmt.Token) bool {
	for _, tk := range toks {
		if tk.Letter == 'y' || tk.Letter == 'M' || tk.Letter == 'd' {
			return true
		}
	}
	return false
}

// printsMillis reports whether toks print the millisecond, the only field
// appendJavaFormat prints that is finer than the second.
func printsMillis(toks []javafmt.Token) bool {
	for _, tk := range toks {
		if tk.Letter == 'S' {
			return true
		}
	}
	return false
}

// split splits sec and nano, with the calendar date when s.date is set.
func (s *javaSplitter) split(sec, nano int64) javaTime {
	j := javaTime{sec: sec, nano: nano}
	days, sod := floorDiv(sec, secPerDay), floorMod(sec, secPerDay)
	j.hour, j.minute, j.second = int(sod/3600), int(sod/60%60), int(sod%60)
	if s.date {
		if !s.valid || days != s.days {
			y, m, d := time.Unix(days*secPerDay, 0).UTC().Date()
			s.valid, s.days, s.year, s.month, s.day = true, days, y, int(m), d
		}
		j.year, j.month, j.day = s.year, s.month, s.day
	}
	return j
}

// appendJavaFormat formats j with the common SimpleDateFormat letters.
func appendJavaFormat(d []byte, j javaTime, toks []javafmt.Token) []byte {
	for _, tk := range toks {
		switch tk.Letter {
		case 0:
			d = append(d, tk.Text...)
		case 'y':
			if tk.Count == 2 {
				d = appendPadded(d, int64(j.year%100), 2)
			} else {
				d = appendPadded(d, int64(j.year), tk.Count)
			}
		case 'M':
			switch {
			case tk.Count >= 4:
				d = append(d, time.Month(j.month).String()...)
			case tk.Count == 3:
				d = append(d, time.Month(j.month).String()[:3]...)
			default:
				d = appendPadded(d, int64(j.month), tk.Count)
			}
		case 'd':
			d = appendPadded(d, int64(j.day), tk.Count)
		case 'D':
			d = appendPadded(d, int64(j.asTime().YearDay()), tk.Count)
		case 'H':
			d = appendPadded(d, int64(j.hour), tk.Count)
		case 'h':
			h := j.hour % 12
			if h == 0 {
				h = 12
			}
			d = appendPadded(d, int64(h), tk.Count)
		case 'm':
			d = appendPadded(d, int64(j.minute), tk.Count)
		case 's':
			d = appendPadded(d, int64(j.second), tk.Count)
		case 'S':
			// SimpleDateFormat prints milliseconds as a number, padded.
			d = appendPadded(d, j.nano/1e6, tk.Count)
		case 'a':
			if j.hour < 12 {
				d = append(d, "AM"...)
			} else {
				d = append(d, "PM"...)
			}
		case 'E':
			if tk.Count >= 4 {
				d = append(d, j.asTime().Weekday().String()...)
			} else {
				d = append(d, j.asTime().Weekday().String()[:3]...)
			}
		default:
			d = append(d, strings.Repeat(string(tk.Letter), tk.Count)...)
		}
	}
	return d
}
