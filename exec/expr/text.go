package expr

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddysql/eddy/catalog/types"
)

// More string functions: ASCII, CHR, INSTR, OVERLAY, REGEXP, STR_TO_MAP,
// PARSE_URL and UUID.
func init() {
	str, i := types.StringType, types.IntType
	register(&funcDef{name: "ASCII", resolve: fixedSig(i, false, str), compile: compileASCII})
	register(&funcDef{name: "INSTR", resolve: fixedSig(i, false, str, str), compile: compileInstr})
	register(&funcDef{name: "CHR", resolve: fixedSig(str, false, types.BigIntType), compile: compileText})
	register(&funcDef{name: "OVERLAY", resolve: optionalSig(str, false, []types.DataType{str, str, i}, i), compile: compileText})
	register(&funcDef{name: "PARSE_URL", resolve: optionalSig(str, true, []types.DataType{str, str}, str), compile: compileText})
	register(&funcDef{name: "REGEXP", resolve: fixedSig(types.BooleanType, false, str, str), compile: compileRegexp})
	register(&funcDef{name: "STR_TO_MAP", resolve: resolveStrToMap, compile: compileStrToMap})
	register(&funcDef{name: "UUID", nondeterministic: true, resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 0, 0); err != nil {
			return nil, err
		}
		return &Call{Func: name, T: types.CharType(36).WithNullable(false)}, nil
	}, compile: compileUUID})
}

// compileASCII: the code of the first character, 0 for an empty string.
func compileASCII(c *compiler, call *Call) (Evaluator, error) {
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		s := strAt(args[0])
		return map1idx(c.mem, arrow.PrimitiveTypes.Int32, args[0], func(i int) (int32, bool, error) {
			r, _ := utf8.DecodeRuneInString(s(i))
			if r == utf8.RuneError {
				return 0, true, nil
			}
			return r, true, nil
		})
	})
}

// compileInstr: INSTR(s, sub) is the 1-based position of sub in s, or 0.
func compileInstr(c *compiler, call *Call) (Evaluator, error) {
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		s, sub := strAt(args[0]), strAt(args[1])
		return map1idx(c.mem, arrow.PrimitiveTypes.Int32, args[0], func(i int) (int32, bool, error) {
			return locate(sub(i), s(i), 1), !anyNullAt(args, i), nil
		})
	})
}

// compileText implements CHR, OVERLAY and PARSE_URL.
func compileText(c *compiler, call *Call) (Evaluator, error) {
	fn := call.Func
	var bind func(args []arrow.Array) rowFn
	switch fn {
	case "CHR":
		// The character with code n & 0xFF; '' for a negative n (Flink).
		bind = func(args []arrow.Array) rowFn {
			v := intAt(args[0])
			return func(d []byte, i int) ([]byte, bool) {
				if v(i) < 0 {
					return d, true
				}
				return utf8.AppendRune(d, rune(v(i)&0xFF)), true
			}
		}
	case "OVERLAY":
		// OVERLAY(s PLACING r FROM pos [FOR len]) replaces len characters
		// (r's length by default) at pos.
		bind = func(args []arrow.Array) rowFn {
			s, r, pos := strAt(args[0]), strAt(args[1]), intAt(args[2])
			length := func(i int) int64 { return int64(utf8.RuneCountInString(r(i))) }
			if len(args) == 4 {
				length = intAt(args[3])
			}
			return func(d []byte, i int) ([]byte, bool) {
				start := max(pos(i), 1) - 1
				d = append(d, runeSlice(s(i), 0, start)...)
				d = append(d, r(i)...)
				return append(d, runeSlice(s(i), start+max(length(i), 0), int64(len(s(i))))...), true
			}
		}
	case "PARSE_URL":
		bind = func(args []arrow.Array) rowFn {
			s, part := strAt(args[0]), strAt(args[1])
			key := func(int) string { return "" }
			if len(args) == 3 {
				key = strAt(args[2])
			}
			return func(d []byte, i int) ([]byte, bool) {
				v, ok := parseURLPart(s(i), part(i), key(i), len(args) == 3)
				return append(d, v...), ok
			}
		}
	}
	return newStrEval(c, call, bind, false)
}

// parseURLPart extracts a part of a URL as java.net.URL reports it: HOST,
// PATH, QUERY (or one query parameter's value given key), REF, PROTOCOL,
// FILE, AUTHORITY or USERINFO. Missing parts and malformed URLs give
// ok=false (NULL).
func parseURLPart(u, part, key string, hasKey bool) (string, bool) {
	colon := strings.IndexByte(u, ':')
	if colon <= 0 || strings.IndexFunc(u[:colon], func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
	}) >= 0 {
		return "", false
	}
	scheme, rest := u[:colon], u[colon+1:]
	rest, ref, hasRef := strings.Cut(rest, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	var authority, path string
	if strings.HasPrefix(rest, "//") {
		authority, path = rest[2:], ""
		if k := strings.IndexByte(authority, '/'); k >= 0 {
			authority, path = authority[:k], authority[k:]
		}
	} else {
		path = rest
	}
	userinfo, hostport, hasUser := "", authority, false
	if k := strings.LastIndexByte(authority, '@'); k >= 0 {
		userinfo, hostport, hasUser = authority[:k], authority[k+1:], true
	}
	host := hostport
	if k := strings.LastIndexByte(hostport, ':'); k >= 0 && k > strings.LastIndexByte(hostport, ']') {
		host = hostport[:k]
	}
	if hasKey {
		if part != "QUERY" || !hasQuery {
			return "", false
		}
		for _, kv := range strings.Split(query, "&") {
			if k, v, _ := strings.Cut(kv, "="); k == key && strings.Contains(kv, "=") {
				return v, true
			}
		}
		return "", false
	}
	switch part {
	case "HOST":
		return host, true
	case "PATH":
		return path, true
	case "QUERY":
		return query, hasQuery
	case "REF":
		return ref, hasRef
	case "PROTOCOL":
		return scheme, true
	case "FILE":
		if hasQuery {
			return path + "?" + query, true
		}
		return path, true
	case "AUTHORITY":
		return authority, authority != ""
	case "USERINFO":
		return userinfo, hasUser
	}
	return "", false
}

// compileRegexp: REGEXP(s, p) is TRUE when a substring of s matches p.
// An empty or invalid pattern matches nothing (FALSE), as in Flink's
// SqlFunctionUtils.regExp, which logs the failure and returns false.
func compileRegexp(c *compiler, call *Call) (Evaluator, error) {
	var fixed *matcher
	lit, isLit := literalString(call.Args[1])
	if isLit && lit != "" {
		fixed, _ = compileMatcher(lit)
	}
	cache := &regexCache{}
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL || args[1].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		s, p := strAt(args[0]), strAt(args[1])
		valid := outValidity(c.mem, n, args...)
		vb := valid.Bytes()
		return boolOut(c.mem, n, valid, array.UnknownNullCount, func(bits []byte) {
			clear(bits)
			if isLit && fixed == nil {
				return
			}
			for i := 0; i < n; i++ {
				if !bitutil.BitIsSet(vb, i) {
					continue
				}
				re := fixed
				if re == nil {
					if pi := p(i); pi != "" {
						re = cache.get(pi)
					}
				}
				bitutil.SetBitTo(bits, i, re != nil && re.matches(s(i)))
			}
		}), nil
	})
}

// resolveStrToMap: STR_TO_MAP(s[, pairDelimiter, keyValueDelimiter]) with
// defaults ',' and '='.
func resolveStrToMap(name string, args []Expr) (Expr, error) {
	if len(args) == 2 {
		return nil, fmt.Errorf("function %s expects 1 or 3 arguments, got 2", name)
	}
	str := types.StringType
	sig := fixedSig(str, false, str)
	if len(args) == 3 {
		sig = fixedSig(str, false, str, str, str)
	}
	e, err := sig(name, args)
	if err != nil {
		return nil, err
	}
	call := e.(*Call)
	call.T = types.MapType(str.WithNullable(false), str).WithNullable(call.T.Nullable())
	return call, nil
}

// splitter splits by a delimiter that Flink treats as a regular
// expression, with a plain-string fast path.
type splitter struct {
	plain string
	re    *regexp.Regexp
}

func newSplitter(delim string) (*splitter, error) {
	if regexp.QuoteMeta(delim) == delim {
		return &splitter{plain: delim}, nil
	}
	re, err := regexp.Compile(delim)
	if err != nil {
		return nil, err
	}
	return &splitter{re: re}, nil
}

// split cuts s at most n pieces (all for n < 0), as Java's split(regex, n).
func (sp *splitter) split(s string, n int) []string {
	if sp.re != nil {
		return sp.re.Split(s, n)
	}
	if sp.plain == "" {
		return []string{s}
	}
	return strings.SplitN(s, sp.plain, n)
}

// compileStrToMap splits each string into pairs, then each pair at its
// first key-value delimiter; a pair without one maps to NULL, and a
// repeated key keeps its last value. An empty string gives an empty map.
func compileStrToMap(c *compiler, call *Call) (Evaluator, error) {
	delims := [2]*splitter{{plain: ","}, {plain: "="}}
	cached := [2]string{",", "="}
	for k := range delims {
		if len(call.Args) == 3 {
			if d, ok := literalString(call.Args[k+1]); ok {
				sp, err := newSplitter(d)
				if err != nil {
					return nil, fmt.Errorf("STR_TO_MAP: %v", err)
				}
				delims[k], cached[k] = sp, d
			}
		}
	}
	mt := call.T.Arrow()
	var keys, vals []string
	var hasVal []bool
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		bld, eb, kbld, vbld := types.MapBuilders(array.NewBuilder(c.mem, mt))
		defer bld.Release()
		kb, vb := kbld.(*array.StringBuilder), vbld.(*array.StringBuilder)
		bld.Reserve(n)
		s := strAt(args[0])
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				bld.AppendNull()
				continue
			}
			for k := range delims {
				if len(args) == 3 {
					if d := strAt(args[k+1])(i); d != cached[k] {
						sp, err := newSplitter(d)
						if err != nil {
							return nil, fmt.Errorf("STR_TO_MAP: %v", err)
						}
						delims[k], cached[k] = sp, d
					}
				}
			}
			keys, vals, hasVal = keys[:0], vals[:0], hasVal[:0]
			if text := s(i); text != "" {
				for _, pair := range delims[0].split(text, -1) {
					kv := delims[1].split(pair, 2)
					key, val, ok := pair, "", false
					if len(kv) == 2 {
						key, val, ok = kv[0], kv[1], true
					}
					j := 0
					for j < len(keys) && keys[j] != key {
						j++
					}
					if j == len(keys) {
						keys, vals, hasVal = append(keys, key), append(vals, ""), append(hasVal, false)
					}
					vals[j], hasVal[j] = val, ok
				}
			}
			bld.Append(true)
			for j, k := range keys {
				eb.Append(true)
				kb.Append(k)
				if hasVal[j] {
					vb.Append(vals[j])
				} else {
					vb.AppendNull()
				}
			}
		}
		return bld.NewArray(), nil
	})
}

// compileUUID generates random (version 4) UUIDs, one read of the random
// source per batch.
func compileUUID(c *compiler, call *Call) (Evaluator, error) {
	out := newStrOut(c.mem)
	var raw []byte
	return newCallEval(c, call, func(_ []arrow.Array, n int) (arrow.Array, error) {
		raw = resizeBytes(raw, 16*n)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("UUID: %v", err)
		}
		out.start(n, 36*n)
		for i := 0; i < n; i++ {
			u := raw[16*i : 16*i+16]
			u[6] = u[6]&0x0f | 0x40 // version 4
			u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
			d := out.scratch[:0]
			d = hex.AppendEncode(d, u[0:4])
			d = append(d, '-')
			d = hex.AppendEncode(d, u[4:6])
			d = append(d, '-')
			d = hex.AppendEncode(d, u[6:8])
			d = append(d, '-')
			d = hex.AppendEncode(d, u[8:10])
			d = append(d, '-')
			d = hex.AppendEncode(d, u[10:16])
			out.scratch = d
			out.append(d)
		}
		return out.finish(), nil
	})
}

func resizeBytes(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
