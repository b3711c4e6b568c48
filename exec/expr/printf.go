package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/javafmt"
)

// PRINTF(format, args...) formats as Flink does, with Java's
// java.util.Formatter (Locale.US) over the arguments' internal values: a
// DATE is its day number and a TIME its milliseconds (Flink passes them as
// Integers), a TIMESTAMP prints as Java's LocalDateTime.toString. The
// conversions are Java's s S d o x X f e E g G b B c C n %, with flags,
// width, precision and explicit argument indexes (n$); a conversion that
// does not fit its argument is an error, as Java's
// IllegalFormatConversionException fails Flink's call.
func init() {
	register(&funcDef{name: "PRINTF", mayFail: true, resolve: resolvePrintf, compile: compilePrintf})
}

func resolvePrintf(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, -1); err != nil {
		return nil, err
	}
	f, err := coerceParam(name, args, args[0], types.StringType)
	if err != nil {
		return nil, err
	}
	for _, a := range args[1:] {
		switch a.Type().Kind {
		case types.Array, types.Map, types.Multiset, types.Row, types.Variant, types.Binary, types.Varbinary:
			// Flink would print Java object identities for these.
			return nil, fmt.Errorf("PRINTF does not format values of type %s", a.Type())
		}
	}
	return &Call{Func: name, Args: append([]Expr{f}, args[1:]...), T: types.StringType.WithNullable(args[0].Type().Nullable())}, nil
}

// fmtSpec is one %-specifier of a format string, or literal text.
type fmtSpec struct {
	lit       string // literal text when conv == 0
	arg       int    // 0-based argument index, -1 for none
	flags     string
	width     int // -1 for none
	precision int // -1 for none
	conv      byte
}

// parseFormatterSpec splits a java.util.Formatter format string.
func parseFormatterSpec(f string) ([]fmtSpec, error) {
	var out []fmtSpec
	next := 0
	for len(f) > 0 {
		i := strings.IndexByte(f, '%')
		if i < 0 {
			out = append(out, fmtSpec{lit: f})
			break
		}
		if i > 0 {
			out = append(out, fmtSpec{lit: f[:i]})
		}
		f = f[i+1:]
		s := fmtSpec{arg: -1, width: -1, precision: -1}
		// [index$][flags][width][.precision]conversion
		j := 0
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j > 0 && j < len(f) && f[j] == '$' {
			n, _ := strconv.Atoi(f[:j])
			if n < 1 {
				return nil, fmt.Errorf("illegal format argument index in %%%s", f[:j+1])
			}
			s.arg = n - 1
			f = f[j+1:]
		}
		j = 0
		for j < len(f) && strings.IndexByte("-#+ 0,(", f[j]) >= 0 {
			j++
		}
		s.flags, f = f[:j], f[j:]
		j = 0
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j > 0 {
			s.width, _ = strconv.Atoi(f[:j])
			f = f[j:]
		}
		if len(f) > 0 && f[0] == '.' {
			j = 1
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			if j == 1 {
				return nil, fmt.Errorf("illegal format precision in %q", "%"+f)
			}
			s.precision, _ = strconv.Atoi(f[1:j])
			f = f[j:]
		}
		if len(f) == 0 {
			return nil, fmt.Errorf("format ends with an incomplete specifier")
		}
		s.conv, f = f[0], f[1:]
		switch s.conv {
		case 'n', '%':
			s.arg = -1
		case 's', 'S', 'd', 'o', 'x', 'X', 'f', 'e', 'E', 'g', 'G', 'b', 'B', 'c', 'C':
			if s.arg < 0 {
				s.arg = next
				next++
			}
		default:
			return nil, fmt.Errorf("unknown format conversion '%c'", s.conv)
		}
		out = append(out, s)
	}
	return out, nil
}

// printfArg reads one argument column the way Java's Formatter sees its
// value: an integer (with its bit width), a floating-point number, a
// boolean, or text for %s.
type printfArg struct {
	t    types.DataType
	a    arrow.Array
	ints func(int) int64
	flt  func(int) float64
	text func([]byte, int) []byte
}

func newPrintfArg(t types.DataType, a arrow.Array) (printfArg, error) {
	p := printfArg{t: t, a: a}
	switch {
	case t.IsInteger():
		p.ints = int64Getter(a)
		p.text = func(d []byte, i int) []byte { return strconv.AppendInt(d, p.ints(i), 10) }
	case t.Kind == types.Float || t.Kind == types.Double:
		if f32, ok := a.(*array.Float32); ok {
			p.flt = func(i int) float64 { return float64(f32.Value(i)) }
			p.text = func(d []byte, i int) []byte { return append(d, javafmt.Float(float64(f32.Value(i)), 32)...) }
		} else {
			f64 := a.(*array.Float64)
			p.flt = f64.Value
			p.text = func(d []byte, i int) []byte { return append(d, javafmt.Float(f64.Value(i), 64)...) }
		}
	case t.Kind == types.Boolean:
		b := a.(*array.Boolean)
		p.text = func(d []byte, i int) []byte { return strconv.AppendBool(d, b.Value(i)) }
	case t.Kind == types.Date, t.Kind == types.Time:
		// Flink's internal DATE and TIME values are Integers.
		p.ints = int64Getter(a)
		p.text = func(d []byte, i int) []byte { return strconv.AppendInt(d, p.ints(i), 10) }
	case t.IsTimestamp():
		ts := a.(*array.Timestamp)
		unit := ts.DataType().(*arrow.TimestampType).Unit
		p.text = func(d []byte, i int) []byte { return appendLocalDateTime(d, toTime(int64(ts.Value(i)), unit)) }
	case t.Kind == types.Null:
	default:
		f, err := formatter(t, a)
		if err != nil {
			return p, err
		}
		p.text = f
	}
	return p, nil
}

// appendLocalDateTime is Java's LocalDateTime.toString: seconds only when
// not both they and the fraction are zero, the fraction in groups of three
// digits.
func appendLocalDateTime(d []byte, t time.Time) []byte {
	d = t.AppendFormat(d, "2006-01-02T15:04")
	ns := t.Nanosecond()
	if t.Second() == 0 && ns == 0 {
		return d
	}
	d = t.AppendFormat(d, ":05")
	switch {
	case ns == 0:
	case ns%1e6 == 0:
		d = fmt.Appendf(d, ".%03d", ns/1e6)
	case ns%1e3 == 0:
		d = fmt.Appendf(d, ".%06d", ns/1e3)
	default:
		d = fmt.Appendf(d, ".%09d", ns)
	}
	return d
}

func compilePrintf(c *compiler, call *Call) (Evaluator, error) {
	var cached string
	var specs []fmtSpec
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		f := strAt(args[0])
		vals := make([]printfArg, len(args)-1)
		for k := range vals {
			var err error
			if vals[k], err = newPrintfArg(call.Args[k+1].Type(), args[k+1]); err != nil {
				return nil, fmt.Errorf("PRINTF: %v", err)
			}
		}
		out.start(n, n*16)
		for i := 0; i < n; i++ {
			if !isValid(args[0], i) {
				out.null()
				continue
			}
			if specs == nil || f(i) != cached {
				s, err := parseFormatterSpec(f(i))
				if err != nil {
					out.finish().Release()
					return nil, fmt.Errorf("PRINTF: %v", err)
				}
				specs, cached = s, f(i)
			}
			d := out.scratch[:0]
			for _, s := range specs {
				var err error
				if d, err = appendSpec(d, s, vals, i); err != nil {
					out.finish().Release()
					return nil, fmt.Errorf("PRINTF: %v", err)
				}
			}
			out.scratch = d
			out.append(d)
		}
		return out.finish(), nil
	})
}

// appendSpec formats one specifier of row i.
func appendSpec(d []byte, s fmtSpec, vals []printfArg, i int) ([]byte, error) {
	switch s.conv {
	case 0:
		return append(d, s.lit...), nil
	case 'n':
		return append(d, '\n'), nil
	case '%':
		return pad(d, "%", s), nil
	}
	if s.arg >= len(vals) {
		return d, fmt.Errorf("format specifier '%%%c' has no argument", s.conv)
	}
	v := vals[s.arg]
	null := v.t.Kind == types.Null || !isValid(v.a, i)
	mismatch := func() error {
		return fmt.Errorf("%%%c cannot format a value of type %s", s.conv, v.t.WithNullable(true))
	}
	var body string
	switch s.conv {
	case 's', 'S':
		if null {
			body = "null"
		} else {
			body = string(v.text(nil, i))
		}
		if s.precision >= 0 && utf8.RuneCountInString(body) > s.precision {
			body = string([]rune(body)[:s.precision])
		}
	case 'b', 'B':
		body = "true"
		if null {
			body = "false"
		} else if v.t.Kind == types.Boolean {
			body = strconv.FormatBool(v.a.(*array.Boolean).Value(i))
		}
	case 'c', 'C':
		switch {
		case null:
			body = "null"
		case v.t.Kind == types.TinyInt || v.t.Kind == types.SmallInt || v.t.Kind == types.Int:
			body = string(rune(v.ints(i)))
		default:
			return d, mismatch()
		}
	case 'd', 'o', 'x', 'X':
		if !v.t.IsInteger() {
			return d, mismatch()
		}
		if null {
			body = "null"
			break
		}
		return pad(d, formatJavaInt(v.ints(i), v.t, s), s), nil
	case 'f', 'e', 'E', 'g', 'G':
		if v.flt == nil {
			return d, mismatch()
		}
		if null {
			body = "null"
			break
		}
		return pad(d, formatJavaFloat(v.flt(i), s), s), nil
	}
	if s.conv == 'S' || s.conv == 'B' || s.conv == 'C' {
		body = strings.ToUpper(body)
	}
	return pad(d, body, s), nil
}

// pad right-aligns body to the width (left-aligns with '-').
func pad(d []byte, body string, s fmtSpec) []byte {
	n := s.width - utf8.RuneCountInString(body)
	if n <= 0 {
		return append(d, body...)
	}
	if strings.Contains(s.flags, "-") {
		return append(append(d, body...), strings.Repeat(" ", n)...)
	}
	return append(append(d, strings.Repeat(" ", n)...), body...)
}

// formatJavaInt is %d, %o, %x of an integer of type t: octal and hex of
// a negative number are its two's complement at t's width.
func formatJavaInt(v int64, t types.DataType, s fmtSpec) string {
	if s.conv != 'd' {
		bits := map[types.Kind]uint{types.TinyInt: 8, types.SmallInt: 16, types.Int: 32, types.BigInt: 64}[t.Kind]
		u := uint64(v)
		if bits < 64 {
			u &= 1<<bits - 1
		}
		base, prefix := 16, "0x"
		if s.conv == 'o' {
			base, prefix = 8, "0"
		}
		digits := strconv.FormatUint(u, base)
		if !strings.Contains(s.flags, "#") {
			prefix = ""
		}
		if strings.Contains(s.flags, "0") && s.width > len(prefix)+len(digits) {
			digits = strings.Repeat("0", s.width-len(prefix)-len(digits)) + digits
		}
		out := prefix + digits
		if s.conv == 'X' {
			out = strings.ToUpper(out)
		}
		return out
	}
	neg := v < 0
	mag := strconv.FormatUint(absInt(v), 10)
	return signAndPad(mag, neg, s)
}

func absInt(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}

// signAndPad applies the ',' grouping, sign flags ('+', ' ', '(') and
// zero padding to the digits of a magnitude.
func signAndPad(mag string, neg bool, s fmtSpec) string {
	if strings.Contains(s.flags, ",") {
		intPart, frac, hasFrac := strings.Cut(mag, ".")
		var b strings.Builder
		for k, r := range intPart {
			if k > 0 && (len(intPart)-k)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(r)
		}
		mag = b.String()
		if hasFrac {
			mag += "." + frac
		}
	}
	pre, post := "", ""
	switch {
	case neg && strings.Contains(s.flags, "("):
		pre, post = "(", ")"
	case neg:
		pre = "-"
	case strings.Contains(s.flags, "+"):
		pre = "+"
	case strings.Contains(s.flags, " "):
		pre = " "
	}
	if strings.Contains(s.flags, "0") {
		if n := s.width - len(pre) - len(mag) - len(post); n > 0 {
			mag = strings.Repeat("0", n) + mag
		}
	}
	return pre + mag + post
}

// formatJavaFloat is %f, %e and %g as Java formats a double: the shortest
// decimal digits of the value rounded half up (so 0.125 at two places is
// 0.13, unlike Go's rounding of the binary value).
func formatJavaFloat(v float64, s fmtSpec) string {
	neg := math.Signbit(v)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		body := "Infinity"
		if math.IsNaN(v) {
			body, neg = "NaN", false
		}
		return signAndPad(body, neg, fmtSpec{flags: strings.ReplaceAll(s.flags, "0", ""), width: s.width})
	}
	prec := s.precision
	if prec < 0 {
		prec = 6
	}
	// digits d1d2... and exp with |v| = 0.d1d2... * 10^exp.
	mant, expStr, _ := strings.Cut(strconv.FormatFloat(math.Abs(v), 'e', -1, 64), "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expStr)
	exp++
	var mag string
	switch s.conv {
	case 'f':
		mag = fixedDigits(digits, exp, prec)
	case 'e', 'E':
		mag = sciDigits(digits, exp, prec, s.conv == 'E')
	default: // 'g', 'G': decimal when 10^-4 <= the rounded value < 10^prec
		if prec == 0 {
			prec = 1
		}
		_, rexp := roundDigits(digits, exp, prec)
		if x := rexp - 1; digits == "0" || x >= -4 && x < prec {
			if digits == "0" {
				rexp = 1
			}
			mag = fixedDigits(digits, exp, prec-rexp)
		} else {
			mag = sciDigits(digits, exp, prec-1, s.conv == 'G')
		}
	}
	return signAndPad(mag, neg, s)
}

// fixedDigits writes 0.digits * 10^exp with p fraction digits.
func fixedDigits(digits string, exp, p int) string {
	r, rexp := roundDigits(digits, exp, exp+p)
	var intPart, frac string
	if rexp > 0 {
		r = padRight(r, rexp)
		intPart, frac = strings.TrimLeft(r[:rexp], "0"), r[rexp:]
	} else {
		frac = strings.Repeat("0", -rexp) + r
	}
	if intPart == "" {
		intPart = "0"
	}
	if p <= 0 {
		return intPart
	}
	return intPart + "." + padRight(frac, p)[:p]
}

// sciDigits writes 0.digits * 10^exp as d.ddd(p digits)e+XX.
func sciDigits(digits string, exp, p int, upper bool) string {
	r, rexp := roundDigits(digits, exp, p+1)
	r = padRight(r, p+1)
	x := rexp - 1
	if digits == "0" {
		x = 0
	}
	mag := r[:1]
	if p > 0 {
		mag += "." + r[1:p+1]
	}
	sign := "+"
	if x < 0 {
		sign, x = "-", -x
	}
	mag += fmt.Sprintf("e%s%02d", sign, x)
	if upper {
		mag = strings.ToUpper(mag)
	}
	return mag
}

// roundDigits keeps the first n digits of 0.digits * 10^exp, rounding half
// up, and returns them with the exponent of the result (a carry can add a
// digit; n <= 0 keeps none, the value rounding to 0 or to 10^exp).
func roundDigits(digits string, exp, n int) (string, int) {
	if n < 0 {
		return "", exp
	}
	if n >= len(digits) {
		return digits, exp
	}
	kept := []byte(digits[:n])
	if digits[n] >= '5' {
		k := n - 1
		for ; k >= 0; k-- {
			if kept[k] < '9' {
				kept[k]++
				break
			}
			kept[k] = '0'
		}
		if k < 0 {
			return "1" + string(kept), exp + 1
		}
	}
	return string(kept), exp
}

func padRight(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat("0", n-len(s))
}
