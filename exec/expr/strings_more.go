package expr

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddysql/eddy/catalog/types"
)

// More of Flink's string functions (TRANSLATE, ELT, STARTSWITH, ENDSWITH,
// the REGEXP_COUNT family, URL_ENCODE/URL_DECODE, JSON_QUOTE/JSON_UNQUOTE)
// and small numeric ones (BIN, E, COT and the hyperbolic functions).
func init() {
	str, i := types.StringType, types.IntType
	register(&funcDef{name: "TRANSLATE", resolve: resolveTranslate, compile: compileStrMore})
	register(&funcDef{name: "URL_ENCODE", resolve: fixedSig(str, true, str), compile: compileStrMore})
	register(&funcDef{name: "URL_DECODE", resolve: fixedSig(str, true, str), compile: compileStrMore})
	register(&funcDef{name: "JSON_QUOTE", resolve: fixedSig(str, false, str), compile: compileStrMore})
	register(&funcDef{name: "JSON_UNQUOTE", resolve: fixedSig(str, false, str), compile: compileStrMore})
	register(&funcDef{name: "REGEXP_SUBSTR", resolve: fixedSig(str, true, str, str), compile: compileStrMore})
	register(&funcDef{name: "BIN", resolve: fixedSig(str, false, types.BigIntType), compile: compileStrMore})
	register(&funcDef{name: "REGEXP_COUNT", resolve: fixedSig(i, true, str, str), compile: compileRegexpInt})
	register(&funcDef{name: "REGEXP_INSTR", resolve: fixedSig(i, true, str, str), compile: compileRegexpInt})
	register(&funcDef{name: "REGEXP_EXTRACT_ALL", mayFail: true, resolve: resolveRegexpExtractAll, compile: compileRegexpExtractAll})
	register(&funcDef{name: "STARTSWITH", resolve: resolveStartsWith, compile: compileStartsWith})
	register(&funcDef{name: "ENDSWITH", resolve: resolveStartsWith, compile: compileStartsWith})
	register(&funcDef{name: "ELT", resolve: resolveElt, compile: compileElt})
	register(&funcDef{name: "IS_ALPHA", resolve: resolveIsKind, compile: compileIsKind})
	register(&funcDef{name: "IS_DIGIT", resolve: resolveIsKind, compile: compileIsKind})
	register(&funcDef{name: "IS_DECIMAL", resolve: resolveIsKind, compile: compileIsKind})
	register(&funcDef{name: "E", resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 0, 0); err != nil {
			return nil, err
		}
		return NewLiteral(math.E, types.DoubleType.WithNullable(false)), nil
	}})
	d := types.DoubleType
	for name, f := range map[string]func(float64) float64{
		"COT": func(x float64) float64 { return 1 / math.Tan(x) }, "SINH": math.Sinh, "COSH": math.Cosh, "TANH": math.Tanh,
	} {
		register(&funcDef{name: name, resolve: fixedSig(d, false, d), compile: doubleFn1(f)})
	}
}

// compileStrMore implements the string-valued functions of this file, row
// by row into newStrEval's reused builder.
func compileStrMore(c *compiler, call *Call) (Evaluator, error) {
	var bind func(args []arrow.Array) rowFn
	switch call.Func {
	case "TRANSLATE":
		// Each character of from maps to the character of to at the same
		// position (the first occurrence in from wins), or is deleted when
		// to is shorter. As in Flink, only a NULL expr gives NULL: a NULL
		// from leaves expr as it is, a NULL to deletes.
		var from, to string
		var table map[rune]rune
		bind = func(args []arrow.Array) rowFn {
			s, f, t := strAt(args[0]), strAt(args[1]), strAt(args[2])
			return func(d []byte, i int) ([]byte, bool) {
				if !isValid(args[0], i) {
					return d, false
				}
				if !isValid(args[1], i) {
					return append(d, s(i)...), true
				}
				tv := ""
				if isValid(args[2], i) {
					tv = t(i)
				}
				if table == nil || f(i) != from || tv != to {
					from, to, table = f(i), tv, translateTable(f(i), tv)
				}
				for _, r := range s(i) {
					if m, ok := table[r]; ok {
						if m >= 0 {
							d = utf8.AppendRune(d, m)
						}
						continue
					}
					d = utf8.AppendRune(d, r)
				}
				return d, true
			}
		}
	case "URL_ENCODE":
		bind = func(args []arrow.Array) rowFn {
			s := strAt(args[0])
			return func(d []byte, i int) ([]byte, bool) { return appendFormEncoded(d, s(i)), true }
		}
	case "URL_DECODE":
		bind = func(args []arrow.Array) rowFn {
			s := strAt(args[0])
			return func(d []byte, i int) ([]byte, bool) { return appendFormDecoded(d, s(i)) }
		}
	case "JSON_QUOTE":
		bind = func(args []arrow.Array) rowFn {
			s := strAt(args[0])
			return func(d []byte, i int) ([]byte, bool) { return appendJSONQuoted(d, s(i)), true }
		}
	case "JSON_UNQUOTE":
		// A valid JSON string literal is unescaped; anything else passes
		// through unchanged.
		bind = func(args []arrow.Array) rowFn {
			s := strAt(args[0])
			return func(d []byte, i int) ([]byte, bool) {
				v := s(i)
				if len(v) >= 2 && v[0] == '"' {
					if end, ok := skipString(v, 0); ok && end == len(v) {
						return appendUnescaped(d, v), true
					}
				}
				return append(d, v...), true
			}
		}
	case "REGEXP_SUBSTR":
		cache := &regexCache{}
		bind = func(args []arrow.Array) rowFn {
			s, p := strAt(args[0]), strAt(args[1])
			return func(d []byte, i int) ([]byte, bool) {
				re := cache.get(p(i))
				if re == nil {
					return d, false
				}
				m := re.submatch(s(i))
				if m == nil {
					return d, false
				}
				return append(d, s(i)[m[0]:m[1]]...), true
			}
		}
	case "BIN":
		// Java's Long.toBinaryString: negative numbers in two's complement.
		bind = func(args []arrow.Array) rowFn {
			v := intAt(args[0])
			return func(d []byte, i int) ([]byte, bool) { return strconv.AppendUint(d, uint64(v(i)), 2), true }
		}
	}
	return newStrEval(c, call, bind, call.Func == "TRANSLATE")
}

// resolveTranslate: TRANSLATE(expr, from, to) over strings is NULL only
// when expr is.
func resolveTranslate(name string, args []Expr) (Expr, error) {
	e, err := fixedSig(types.StringType, false, types.StringType, types.StringType, types.StringType)(name, args)
	if err != nil {
		return nil, err
	}
	call := e.(*Call)
	call.T = call.T.WithNullable(args[0].Type().Nullable())
	return call, nil
}

// translateTable maps each rune of from to its replacement in to, or -1
// to delete it.
func translateTable(from, to string) map[rune]rune {
	table := map[rune]rune{}
	repl := []rune(to)
	k := 0
	for _, r := range from {
		if _, dup := table[r]; !dup {
			table[r] = -1
			if k < len(repl) {
				table[r] = repl[k]
			}
		}
		k++
	}
	return table
}

// appendFormEncoded is Java's URLEncoder.encode(s, UTF-8): letters, digits
// and ".-*_" stay, a space becomes '+', every other byte %XX.
func appendFormEncoded(d []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '*', c == '_':
			d = append(d, c)
		case c == ' ':
			d = append(d, '+')
		default:
			d = append(d, '%', hex[c>>4], hex[c&15])
		}
	}
	return d
}

// appendFormDecoded is Java's URLDecoder.decode(s, UTF-8); ok is false for
// a malformed escape, which Flink turns into NULL.
func appendFormDecoded(d []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			d = append(d, ' ')
		case '%':
			if i+2 >= len(s) {
				return d, false
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return d, false
			}
			d = append(d, byte(v))
			i += 2
		default:
			d = append(d, c)
		}
	}
	if !utf8.Valid(d) {
		// Java decodes invalid UTF-8 to U+FFFD.
		d = []byte(strings.ToValidUTF8(string(d), "\uFFFD"))
	}
	return d, true
}

// appendJSONQuoted is Flink's JSON_QUOTE: the string in double quotes
// with '"', '\\', '/', \b, \f, \n, \r and \t escaped and every UTF-16 code
// unit above 127 written as \uXXXX; other control characters stay as
// they are.
func appendJSONQuoted(d []byte, s string) []byte {
	d = append(d, '"')
	for _, r := range s {
		switch r {
		case '"', '\\', '/':
			d = append(d, '\\', byte(r))
		case '\b':
			d = append(d, '\\', 'b')
		case '\f':
			d = append(d, '\\', 'f')
		case '\n':
			d = append(d, '\\', 'n')
		case '\r':
			d = append(d, '\\', 'r')
		case '\t':
			d = append(d, '\\', 't')
		default:
			switch {
			case r <= 127:
				d = append(d, byte(r))
			case r <= 0xFFFF:
				d = appendUnicodeEscape(d, r)
			default:
				hi, lo := utf16.EncodeRune(r)
				d = appendUnicodeEscape(appendUnicodeEscape(d, hi), lo)
			}
		}
	}
	return append(d, '"')
}

// appendUnicodeEscape writes \uXXXX with lower-case hex digits, as Java's
// String.format("\\u%04x").
func appendUnicodeEscape(d []byte, r rune) []byte {
	const hex = "0123456789abcdef"
	return append(d, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
}

// compileRegexpInt: REGEXP_COUNT(s, regex) counts the matches,
// REGEXP_INSTR(s, regex) is the 1-based character position of the first
// (0 without one); an invalid pattern gives NULL.
func compileRegexpInt(c *compiler, call *Call) (Evaluator, error) {
	cache := &regexCache{}
	count := call.Func == "REGEXP_COUNT"
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL || args[1].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		s, p := strAt(args[0]), strAt(args[1])
		valid := outValidity(c.mem, n, args...)
		vb := valid.Bytes()
		buf, out := fixedOut[int32](c.mem, n)
		for i := 0; i < n; i++ {
			out[i] = 0
			if !bitutil.BitIsSet(vb, i) {
				continue
			}
			re := cache.get(p(i))
			if re == nil {
				bitutil.ClearBit(vb, i)
				continue
			}
			if count {
				out[i] = int32(len(re.re.FindAllStringIndex(s(i), -1)))
			} else if m := re.submatch(s(i)); m != nil {
				out[i] = int32(utf8.RuneCountInString(s(i)[:m[0]]) + 1)
			}
		}
		return makeArray(arrow.PrimitiveTypes.Int32, n, valid, buf, n-bitutil.CountSetBits(vb, 0, n)), nil
	})
}

// resolveRegexpExtractAll: REGEXP_EXTRACT_ALL(s, regex[, group]) is the
// ARRAY<STRING> of group (1 by default, 0 the whole match) of every match;
// NULL when an argument is.
func resolveRegexpExtractAll(name string, args []Expr) (Expr, error) {
	e, err := optionalSig(types.StringType, false, []types.DataType{types.StringType, types.StringType}, types.IntType)(name, args)
	if err != nil {
		return nil, err
	}
	call := e.(*Call)
	call.T = types.ArrayType(types.StringType).WithNullable(call.T.Nullable())
	return call, nil
}

// compileRegexpExtractAll builds the matches' string column and offsets
// directly; a group that took no part in a match gives a NULL element. An
// invalid pattern or a group the pattern does not have is an error, as in
// Flink (unlike REGEXP_COUNT's NULL).
func compileRegexpExtractAll(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var pattern string
	var re *matcher
	pieces := newStrOut(c.mem)
	var offs []int32
	var nulls []int
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		s, p := strAt(args[0]), strAt(args[1])
		group := func(int) int64 { return 1 }
		if len(args) == 3 {
			group = intAt(args[2])
		}
		pieces.start(n, n*8)
		offs, nulls = append(offs[:0], 0), nulls[:0]
		count := int32(0)
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				nulls = append(nulls, i)
				offs = append(offs, count)
				continue
			}
			if re == nil || p(i) != pattern {
				m, err := compileMatcher(p(i))
				if err != nil {
					return nil, fmt.Errorf("REGEXP_EXTRACT_ALL: %v", err)
				}
				re, pattern = m, p(i)
			}
			g := int(group(i))
			if g < 0 || g > re.numGroups() {
				return nil, fmt.Errorf("REGEXP_EXTRACT_ALL: extract group index %d is out of range [0, %d]", g, re.numGroups())
			}
			v := s(i)
			for _, m := range re.re.FindAllStringSubmatchIndex(v, -1) {
				if m[2*g] < 0 {
					pieces.null()
				} else {
					pieces.appendString(v[m[2*g]:m[2*g+1]])
				}
				count++
			}
			offs = append(offs, count)
		}
		child := pieces.finish()
		defer child.Release()
		return listFrom(c.mem, dt, n, offs, nulls, child), nil
	})
}

// resolveStartsWith: STARTSWITH(expr, prefix) and ENDSWITH(expr, suffix)
// over two strings or two byte strings; an empty prefix always matches.
func resolveStartsWith(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	bin := func(t types.DataType) bool { return t.Kind == types.Binary || t.Kind == types.Varbinary }
	a, b := args[0].Type(), args[1].Type()
	strs := (a.IsString() || a.Kind == types.Null) && (b.IsString() || b.Kind == types.Null)
	bins := (bin(a) || a.Kind == types.Null) && (bin(b) || b.Kind == types.Null)
	if !strs && !bins {
		return nil, typeError(name, args)
	}
	p := types.StringType
	if !strs {
		p = types.BytesType
	}
	out, err := castAll(args, p)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: out, T: strict(types.BooleanType, args)}, nil
}

func compileStartsWith(c *compiler, call *Call) (Evaluator, error) {
	prefix := call.Func == "STARTSWITH"
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		valid, nulls := validity(c.mem, n, args...)
		return boolOut(c.mem, n, valid, nulls, func(bits []byte) {
			clear(bits)
			if nulls == n {
				return
			}
			for i := 0; i < n; i++ {
				if !isValid(args[0], i) || !isValid(args[1], i) {
					continue
				}
				s, x := binaryAt(args[0], i), binaryAt(args[1], i)
				var ok bool
				if prefix {
					ok = len(s) >= len(x) && string(s[:len(x)]) == string(x)
				} else {
					ok = len(s) >= len(x) && string(s[len(s)-len(x):]) == string(x)
				}
				bitutil.SetBitTo(bits, i, ok)
			}
		}), nil
	})
}

// resolveElt: ELT(index, expr1, ...) is expr<index>, NULL when index is
// NULL or not between 1 and the number of expressions.
func resolveElt(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, -1); err != nil {
		return nil, err
	}
	if k := args[0].Type(); !k.IsInteger() && k.Kind != types.Null {
		return nil, typeError(name, args)
	}
	t, ok := commonType(args[1:])
	if !ok || !(t.IsString() || t.Kind == types.Binary || t.Kind == types.Varbinary || t.Kind == types.Null) {
		return nil, typeError(name, args)
	}
	if t.Kind == types.Null {
		t = types.StringType
	}
	idx, err := implicitCast(args[0], types.BigIntType)
	if err != nil {
		return nil, err
	}
	vals, err := castAll(args[1:], t)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: append([]Expr{idx}, vals...), T: t.WithNullable(true).WithTimeAttr(types.NoTimeAttr)}, nil
}

// compileElt picks each row's source with gather, as CASE does.
func compileElt(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var src, rows []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		src, rows = resize(src, n), resize(rows, n)
		idx := intAt(args[0])
		k := int64(len(args) - 1)
		for i := 0; i < n; i++ {
			src[i], rows[i] = -1, int32(i)
			if isValid(args[0], i) {
				if v := idx(i); v >= 1 && v <= k {
					src[i] = int32(v - 1)
				}
			}
		}
		return gather(c.mem, dt, n, src, rows, args[1:])
	})
}

// resolveIsKind: IS_ALPHA(x), IS_DIGIT(x) and IS_DECIMAL(x) take a value of
// any type and are never NULL: a NULL is none of them.
func resolveIsKind(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: args, T: types.BooleanType.WithNullable(false)}, nil
}

// compileIsKind follows Flink's SqlFunctionUtils: a non-empty string is
// alphabetic when every character is a letter, a digit string when every
// one is a digit, decimal when Java parses it as a number; an integer is a
// digit string and any number decimal; other types are neither.
func compileIsKind(c *compiler, call *Call) (Evaluator, error) {
	t := call.Args[0].Type()
	var test func(string) bool
	constant := false
	switch call.Func {
	case "IS_ALPHA":
		test = func(s string) bool {
			return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) < 0
		}
	case "IS_DIGIT":
		test = func(s string) bool {
			return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) }) < 0
		}
		constant = t.IsInteger()
	default:
		test = javaParsesNumber
		constant = t.IsNumeric()
	}
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0]
		return boolOut(c.mem, n, nil, 0, func(bits []byte) {
			clear(bits)
			for i := 0; i < n; i++ {
				if !isValid(a, i) {
					continue
				}
				switch {
				case constant:
					bitutil.SetBit(bits, i)
				case t.IsString():
					bitutil.SetBitTo(bits, i, test(string(binaryAt(a, i))))
				}
			}
		}), nil
	})
}

// javaParsesNumber reports whether Java's Double.parseDouble accepts s:
// surrounding whitespace, an optional d/f type suffix, NaN and Infinity
// (case-sensitive, unlike Go's names).
func javaParsesNumber(s string) bool {
	s = strings.TrimSpace(s)
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return false
	}
	switch body {
	case "NaN", "Infinity":
		return true
	case "":
		return false
	}
	if k := body[len(body)-1]; k == 'd' || k == 'D' || k == 'f' || k == 'F' {
		body = body[:len(body)-1]
	}
	// Go's other spellings (inf, nan, hexadecimal, underscores) are not
	// Java decimal numbers.
	if body == "" || strings.ContainsAny(body, "_xXnNiI") {
		return false
	}
	_, err := strconv.ParseFloat(body, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}
