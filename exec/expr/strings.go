package expr

import (
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

func init() {
	str, i := types.StringType, types.IntType
	sameStr := func(name string) *funcDef {
		return &funcDef{name: name, resolve: resolveSameString(1, 1), compile: compileStrMap}
	}
	register(sameStr("UPPER"))
	register(sameStr("LOWER"))
	register(sameStr("INITCAP"))
	register(sameStr("REVERSE"))
	// BTRIM(s[, chars]) is Flink 2.0's name for TRIM(BOTH chars FROM s).
	register(&funcDef{name: "TRIM", resolve: resolveSameString(1, 2), compile: compileStrMap}, "BTRIM")
	register(&funcDef{name: "LTRIM", resolve: resolveSameString(1, 2), compile: compileStrMap})
	register(&funcDef{name: "RTRIM", resolve: resolveSameString(1, 2), compile: compileStrMap})
	register(&funcDef{name: "SUBSTRING", resolve: resolveSubstring, compile: compileStrMap}, "SUBSTR")
	register(&funcDef{name: "LEFT", resolve: resolveSubstring, compile: compileStrMap})
	register(&funcDef{name: "RIGHT", resolve: resolveSubstring, compile: compileStrMap})
	register(&funcDef{name: "CONCAT", resolve: resolveConcat, compile: compileStrMap})
	register(&funcDef{name: "||", resolve: resolveConcat, compile: compileStrMap})
	register(&funcDef{name: "CONCAT_WS", resolve: resolveConcatWS, compile: compileStrMap})
	register(&funcDef{name: "REPLACE", resolve: fixedSig(str, false, str, str, str), compile: compileStrMap})
	register(&funcDef{name: "REGEXP_REPLACE", resolve: fixedSig(str, false, str, str, str), compile: compileStrMap})
	register(&funcDef{name: "REGEXP_EXTRACT", resolve: optionalSig(str, true, []types.DataType{str, str}, i), compile: compileStrMap})
	register(&funcDef{name: "SPLIT_INDEX", resolve: fixedSig(str, true, str, str, i), compile: compileStrMap})
	register(&funcDef{name: "LPAD", resolve: fixedSig(str, true, str, i, str), compile: compileStrMap})
	register(&funcDef{name: "RPAD", resolve: fixedSig(str, true, str, i, str), compile: compileStrMap})
	register(&funcDef{name: "REPEAT", resolve: fixedSig(str, false, str, i), compile: compileStrMap})
	register(&funcDef{name: "CHAR_LENGTH", resolve: fixedSig(i, false, str), compile: compileStrInt}, "CHARACTER_LENGTH")
	register(&funcDef{name: "POSITION", resolve: fixedSig(i, false, str, str), compile: compileStrInt})
	register(&funcDef{name: "LOCATE", resolve: optionalSig(i, false, []types.DataType{str, str}, i), compile: compileStrInt})
}

// resolveSameString types functions whose result has the first argument's
// type (UPPER(VARCHAR(n)) is VARCHAR(n)); extra arguments are strings.
func resolveSameString(lo, hi int) func(string, []Expr) (Expr, error) {
	return func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, lo, hi); err != nil {
			return nil, err
		}
		out := make([]Expr, len(args))
		for i, a := range args {
			c, err := coerceParam(name, args, a, types.StringType)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return &Call{Func: name, Args: out, T: strict(out[0].Type(), args)}, nil
	}
}

// optionalSig is fixedSig with one optional trailing parameter.
func optionalSig(ret types.DataType, alwaysNull bool, params []types.DataType, opt types.DataType) func(string, []Expr) (Expr, error) {
	short := fixedSig(ret, alwaysNull, params...)
	long := fixedSig(ret, alwaysNull, append(append([]types.DataType{}, params...), opt)...)
	return func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, len(params), len(params)+1); err != nil {
			return nil, err
		}
		if len(args) == len(params) {
			return short(name, args)
		}
		return long(name, args)
	}
}

// resolveSubstring: SUBSTRING(s, start[, len]), LEFT(s, n), RIGHT(s, n)
// return VARCHAR(n) for an argument of length n.
func resolveSubstring(name string, args []Expr) (Expr, error) {
	lo, hi := 2, 3
	if name == "LEFT" || name == "RIGHT" {
		hi = 2
	}
	if err := arity(name, args, lo, hi); err != nil {
		return nil, err
	}
	out := make([]Expr, len(args))
	for i, a := range args {
		p := types.IntType
		if i == 0 {
			p = types.StringType
		}
		c, err := coerceParam(name, args, a, p)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	t := types.VarcharType(out[0].Type().Length)
	if out[0].Type().Kind == types.Null {
		t = types.StringType
	}
	return &Call{Func: name, Args: out, T: strict(t, args)}, nil
}

// resolveConcat: CONCAT(s, ...) and s1 || s2 are NULL if any argument is,
// typed VARCHAR of the summed lengths, capped at STRING.
func resolveConcat(name string, args []Expr) (Expr, error) {
	lo, hi := 1, -1
	if name == "||" {
		lo, hi = 2, 2
	}
	if err := arity(name, args, lo, hi); err != nil {
		return nil, err
	}
	if name == "||" && args[0].Type().Kind == types.Array && args[1].Type().Kind == types.Array {
		return resolveArrayCat(args)
	}
	total := 0
	out := make([]Expr, len(args))
	for i, a := range args {
		c, err := coerceParam(name, args, a, types.StringType)
		if err != nil {
			return nil, err
		}
		out[i] = c
		total += c.Type().Length
	}
	return &Call{Func: name, Args: out, T: strict(types.VarcharType(min(total, types.MaxLength)), args)}, nil
}

// resolveConcatWS: CONCAT_WS(sep, s, ...) skips NULL strings and is NULL
// only when the separator is.
func resolveConcatWS(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, -1); err != nil {
		return nil, err
	}
	out := make([]Expr, len(args))
	for i, a := range args {
		c, err := coerceParam(name, args, a, types.StringType)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return &Call{Func: name, Args: out, T: types.StringType.WithNullable(args[0].Type().Nullable())}, nil
}

// rowFn appends the result for row i, or reports NULL with ok=false.
type rowFn func(dst []byte, i int) (out []byte, ok bool)

// accessors bound to one batch.
func strAt(a arrow.Array) func(int) string {
	if s, ok := a.(*array.String); ok {
		return s.Value
	}
	return func(int) string { return "" }
}

func intAt(a arrow.Array) func(int) int64 {
	if a.DataType().ID() == arrow.NULL {
		return func(int) int64 { return 0 }
	}
	return int64Getter(a)
}

// compileStrMap compiles the string-valued functions. Each case binds a
// rowFn to the batch's arguments; the loop handles NULL propagation
// (skipped for CONCAT_WS) and output building with a reused builder.
func compileStrMap(c *compiler, call *Call) (Evaluator, error) {
	fn := call.Func
	var re *matcher // a literal pattern is compiled once
	if strings.HasPrefix(fn, "REGEXP_") {
		if p, ok := literalString(call.Args[1]); ok {
			var err error
			if re, err = compileMatcher(p); err != nil {
				return nil, err
			}
		}
	}
	cache := &regexCache{}
	var bind func(args []arrow.Array) rowFn
	switch fn {
	case "UPPER", "LOWER", "INITCAP", "REVERSE":
		f := map[string]func([]byte, string) []byte{
			"UPPER": appendUpper, "LOWER": appendLower, "INITCAP": appendInitCap, "REVERSE": appendReverse}[fn]
		bind = func(args []arrow.Array) rowFn {
			s := strAt(args[0])
			return func(d []byte, i int) ([]byte, bool) { return f(d, s(i)), true }
		}
	case "TRIM", "LTRIM", "RTRIM":
		bind = func(args []arrow.Array) rowFn {
			s := strAt(args[0])
			chars := func(int) string { return " " }
			if len(args) > 1 {
				chars = strAt(args[1])
			}
			return func(d []byte, i int) ([]byte, bool) {
				v, cs := s(i), chars(i)
				if fn != "RTRIM" {
					v = strings.TrimLeft(v, cs)
				}
				if fn != "LTRIM" {
					v = strings.TrimRight(v, cs)
				}
				return append(d, v...), true
			}
		}
	case "SUBSTRING", "LEFT", "RIGHT":
		bind = func(args []arrow.Array) rowFn {
			s, n := strAt(args[0]), intAt(args[1])
			length := func(int) int64 { return -1 }
			if len(args) > 2 {
				length = intAt(args[2])
			}
			return func(d []byte, i int) ([]byte, bool) {
				v := s(i)
				switch fn {
				case "LEFT":
					return append(d, runeSlice(v, 0, n(i))...), true
				case "RIGHT":
					cnt := int64(utf8.RuneCountInString(v))
					return append(d, runeSlice(v, max(cnt-n(i), 0), cnt)...), true
				}
				return append(d, substring(v, n(i), length(i), len(args) > 2)...), true
			}
		}
	case "CONCAT", "||":
		bind = func(args []arrow.Array) rowFn {
			ss := make([]func(int) string, len(args))
			for k, a := range args {
				ss[k] = strAt(a)
			}
			return func(d []byte, i int) ([]byte, bool) {
				for _, s := range ss {
					d = append(d, s(i)...)
				}
				return d, true
			}
		}
	case "CONCAT_WS":
		bind = func(args []arrow.Array) rowFn {
			sep := strAt(args[0])
			return func(d []byte, i int) ([]byte, bool) {
				if args[0].IsNull(i) {
					return d, false
				}
				first := true
				for _, a := range args[1:] {
					if a.IsNull(i) {
						continue
					}
					if !first {
						d = append(d, sep(i)...)
					}
					first = false
					d = append(d, strAt(a)(i)...)
				}
				return d, true
			}
		}
	case "REPLACE":
		bind = func(args []arrow.Array) rowFn {
			s, from, to := strAt(args[0]), strAt(args[1]), strAt(args[2])
			return func(d []byte, i int) ([]byte, bool) {
				if from(i) == "" {
					return append(d, s(i)...), true
				}
				return appendReplace(d, s(i), from(i), to(i)), true
			}
		}
	case "REGEXP_REPLACE":
		bind = func(args []arrow.Array) rowFn {
			s, p, rep := strAt(args[0]), strAt(args[1]), strAt(args[2])
			return func(d []byte, i int) ([]byte, bool) {
				r := re
				if r == nil {
					if r = cache.get(p(i)); r == nil {
						return d, false // an invalid pattern yields NULL, as in Flink
					}
				}
				return r.appendReplaceAll(d, s(i), javaReplacement(rep(i))), true
			}
		}
	case "REGEXP_EXTRACT":
		bind = func(args []arrow.Array) rowFn {
			s, p := strAt(args[0]), strAt(args[1])
			group := func(int) int64 { return 0 }
			if len(args) > 2 {
				group = intAt(args[2])
			}
			return func(d []byte, i int) ([]byte, bool) {
				r := re
				if r == nil {
					if r = cache.get(p(i)); r == nil {
						return d, false
					}
				}
				g := group(i)
				if g < 0 || int(g) > r.numGroups() {
					return d, false
				}
				v := s(i)
				m := r.submatch(v)
				if m == nil || m[2*g] < 0 {
					return d, false
				}
				return append(d, v[m[2*g]:m[2*g+1]]...), true
			}
		}
	case "SPLIT_INDEX":
		bind = func(args []arrow.Array) rowFn {
			s, sep, idx := strAt(args[0]), strAt(args[1]), intAt(args[2])
			return func(d []byte, i int) ([]byte, bool) {
				k := idx(i)
				if k < 0 || sep(i) == "" {
					return d, false
				}
				part, ok := splitIndex(s(i), sep(i), k)
				if !ok {
					return d, false
				}
				return append(d, part...), true
			}
		}
	case "LPAD", "RPAD":
		bind = func(args []arrow.Array) rowFn {
			s, n, pad := strAt(args[0]), intAt(args[1]), strAt(args[2])
			return func(d []byte, i int) ([]byte, bool) {
				return padString(d, s(i), n(i), pad(i), fn == "LPAD")
			}
		}
	case "REPEAT":
		bind = func(args []arrow.Array) rowFn {
			s, n := strAt(args[0]), intAt(args[1])
			return func(d []byte, i int) ([]byte, bool) {
				for k := int64(0); k < n(i); k++ {
					d = append(d, s(i)...)
				}
				return d, true
			}
		}
	}
	return newStrEval(c, call, bind, fn == "CONCAT_WS")
}

// newStrEval evaluates a string-valued function row by row into a reused
// builder: bind prepares the row function for a batch's arguments; rows
// with a NULL argument are NULL unless skipNulls.
func newStrEval(c *compiler, call *Call, bind func(args []arrow.Array) rowFn, skipNulls bool) (Evaluator, error) {
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		f := bind(args)
		out.start(n, n*8)
		// Per-row NULL checks only when an argument has NULLs.
		checkNulls := false
		for _, a := range args {
			checkNulls = checkNulls || a.NullN() > 0
		}
		checkNulls = checkNulls && !skipNulls
		for i := 0; i < n; i++ {
			if checkNulls && anyNullAt(args, i) {
				out.null()
				continue
			}
			var ok bool
			out.scratch, ok = f(out.scratch[:0], i)
			if ok {
				out.append(out.scratch)
			} else {
				out.null()
			}
		}
		return out.finish(), nil
	})
}

func anyNullAt(args []arrow.Array, i int) bool {
	for _, a := range args {
		if a.IsNull(i) {
			return true
		}
	}
	return false
}

// compileStrInt compiles the INT-valued string functions.
func compileStrInt(c *compiler, call *Call) (Evaluator, error) {
	fn := call.Func
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		var f func(i int) int32
		switch fn {
		case "CHAR_LENGTH":
			if a, ok := args[0].(*array.String); ok {
				return charLengths(c.mem, a), nil
			}
			s := strAt(args[0])
			f = func(i int) int32 { return int32(utf8.RuneCountInString(s(i))) }
		default: // POSITION(needle IN s), LOCATE(needle, s[, start])
			needle, s := strAt(args[0]), strAt(args[1])
			start := func(int) int64 { return 1 }
			if len(args) > 2 {
				start = intAt(args[2])
			}
			f = func(i int) int32 { return locate(needle(i), s(i), start(i)) }
		}
		return map1idx(c.mem, arrow.PrimitiveTypes.Int32, args[0], func(i int) (int32, bool, error) {
			return f(i), !anyNullAt(args, i), nil
		})
	})
}

// charLengths is CHAR_LENGTH of a column. When the value buffer is all
// ASCII (checked at once, a word at a time) the lengths are the offsets'
// differences; otherwise each value's runes are counted. NULL slots get
// whatever their offsets give, masked by the copied validity.
func charLengths(mem memory.Allocator, a *array.String) arrow.Array {
	n := a.Len()
	valid, nulls := validity(mem, n, a)
	buf, out := fixedOut[int32](mem, n)
	offs, data := a.ValueOffsets(), a.ValueBytes()
	if isASCII(data) {
		for i := range out {
			out[i] = offs[i+1] - offs[i]
		}
	} else {
		base := offs[0]
		for i := range out {
			out[i] = int32(utf8.RuneCount(data[offs[i]-base : offs[i+1]-base]))
		}
	}
	return makeArray(arrow.PrimitiveTypes.Int32, n, valid, buf, nulls)
}

// isASCII reports whether b has no byte >= 0x80.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// locate returns the 1-based character position of needle in s at or
// after start, or 0.
func locate(needle, s string, start int64) int32 {
	if start < 1 {
		return 0
	}
	off := len(runeSlice(s, 0, start-1))
	if off > len(s) || (off == len(s) && start-1 > int64(utf8.RuneCountInString(s))) {
		return 0
	}
	k := strings.Index(s[off:], needle)
	if k < 0 {
		return 0
	}
	return int32(utf8.RuneCountInString(s[:off+k]) + 1)
}

// runeSlice returns characters [from, to) of s, clamped.
func runeSlice(s string, from, to int64) string {
	if to <= from || from < 0 && to <= 0 {
		return ""
	}
	from = max(from, 0)
	start, end, k := len(s), len(s), int64(0)
	for i := range s {
		if k == from {
			start = i
		}
		if k == to {
			end = i
			break
		}
		k++
	}
	if start > end {
		return ""
	}
	return s[start:end]
}

// substring follows Flink's SUBSTRING: 1-based start, a negative start
// counts from the end, out-of-range parts give ”. A negative length
// gives ” (Flink returns NULL there; Eddy keeps the result type's
// nullability honest instead).
func substring(s string, pos, length int64, hasLen bool) string {
	n := int64(utf8.RuneCountInString(s))
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = max(n+pos, 0)
	}
	if start >= n || (hasLen && length < 0) {
		return ""
	}
	end := n
	if hasLen && n-start > length {
		end = start + length
	}
	return runeSlice(s, start, end)
}

func padString(d []byte, s string, n int64, pad string, left bool) ([]byte, bool) {
	if n < 0 {
		return d, false
	}
	cnt := int64(utf8.RuneCountInString(s))
	if n <= cnt {
		return append(d, runeSlice(s, 0, n)...), true
	}
	if pad == "" {
		return d, false
	}
	padRunes := []rune(pad)
	fill := func(d []byte) []byte {
		for k := int64(0); k < n-cnt; k++ {
			d = utf8.AppendRune(d, padRunes[k%int64(len(padRunes))])
		}
		return d
	}
	if left {
		return append(fill(d), s...), true
	}
	return fill(append(d, s...)), true
}

func appendUpper(d []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(d[:len(d)-i], strings.ToUpper(s)...)
		}
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		d = append(d, c)
	}
	return d
}

func appendLower(d []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(d[:len(d)-i], strings.ToLower(s)...)
		}
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		d = append(d, c)
	}
	return d
}

// appendInitCap upper-cases the first letter of each word and lower-cases
// the rest; words are separated by non-alphanumeric characters.
func appendInitCap(d []byte, s string) []byte {
	prevAlnum := false
	for _, r := range s {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if alnum && !prevAlnum {
			r = unicode.ToUpper(r)
		} else {
			r = unicode.ToLower(r)
		}
		d = utf8.AppendRune(d, r)
		prevAlnum = alnum
	}
	return d
}

func appendReverse(d []byte, s string) []byte {
	for i := len(s); i > 0; {
		r, w := utf8.DecodeLastRuneInString(s[:i])
		d = utf8.AppendRune(d, r)
		i -= w
	}
	return d
}

// javaReplacement converts Java's $n group references to Go's ${n}.
func javaReplacement(rep string) string {
	if !strings.Contains(rep, "$") && !strings.Contains(rep, "\\") {
		return rep
	}
	var b strings.Builder
	for i := 0; i < len(rep); i++ {
		c := rep[i]
		switch {
		case c == '\\' && i+1 < len(rep):
			i++
			if rep[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(rep[i])
			}
		case c == '$' && i+1 < len(rep) && rep[i+1] >= '0' && rep[i+1] <= '9':
			j := i + 1
			for j < len(rep) && rep[j] >= '0' && rep[j] <= '9' {
				j++
			}
			b.WriteString("${" + rep[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// regexCache remembers the last non-literal pattern's compilation, which
// covers the common case of a pattern column holding few distinct values.
type regexCache struct {
	pattern string
	re      *matcher
	ok      bool
}

func (c *regexCache) get(p string) *matcher {
	if c.ok && c.pattern == p {
		return c.re
	}
	re, err := compileMatcher(p)
	if err != nil {
		re = nil
	}
	c.pattern, c.re, c.ok = p, re, true
	return re
}
