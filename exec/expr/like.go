package expr

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddysql/eddy/catalog/types"
)

func init() {
	register(&funcDef{name: "LIKE", resolve: resolveLike, compile: compileLike})
	register(&funcDef{name: "NOT LIKE", resolve: resolveLike, compile: compileLike})
}

// resolveLike: s LIKE pattern [ESCAPE c], all strings, BOOLEAN result.
func resolveLike(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 3); err != nil {
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
	if len(args) == 3 {
		if e, ok := literalString(args[2]); ok && len([]rune(e)) != 1 {
			return nil, fmt.Errorf("invalid escape sequence '%s' for LIKE: must be one character", e)
		}
	}
	return &Call{Func: name, Args: out, T: strict(types.BooleanType, args)}, nil
}

// likeMatcher is a compiled LIKE pattern. Patterns that are a literal
// prefix, suffix, substring or exact string use strings functions; others
// compile to an anchored regexp.
type likeMatcher struct {
	kind byte // '=', 'p' prefix, 's' suffix, 'c' contains, 'r' regexp
	lit  string
	re   *regexp.Regexp
}

func (m *likeMatcher) match(s string) bool {
	switch m.kind {
	case '=':
		return s == m.lit
	case 'p':
		return strings.HasPrefix(s, m.lit)
	case 's':
		return strings.HasSuffix(s, m.lit)
	case 'c':
		return strings.Contains(s, m.lit)
	}
	return m.re.MatchString(s)
}

// compileLikePattern translates SQL LIKE (% any run, _ one character,
// escape as given; no escape character by default, as in Flink).
func compileLikePattern(p, escape string) (*likeMatcher, error) {
	var esc rune = -1
	if escape != "" {
		esc = []rune(escape)[0]
	}
	var lit strings.Builder // pattern with escapes resolved, if wildcard-free inside
	var re strings.Builder
	re.WriteString(`(?s)\A`)
	type seg struct {
		wild bool
		text string
	}
	var segs []seg
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == esc:
			if i+1 >= len(rs) || (rs[i+1] != '%' && rs[i+1] != '_' && rs[i+1] != esc) {
				return nil, fmt.Errorf("invalid escape sequence in LIKE pattern '%s'", p)
			}
			i++
			lit.WriteRune(rs[i])
			re.WriteString(regexp.QuoteMeta(string(rs[i])))
		case r == '%':
			segs = append(segs, seg{text: lit.String()}, seg{wild: true, text: "%"})
			lit.Reset()
			re.WriteString(`.*`)
		case r == '_':
			segs = append(segs, seg{text: lit.String()}, seg{wild: true, text: "_"})
			lit.Reset()
			re.WriteString(`.`)
		default:
			lit.WriteRune(r)
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	segs = append(segs, seg{text: lit.String()})
	re.WriteString(`\z`)
	// Drop empty literal segments to classify the shape.
	var shape []seg
	for _, s := range segs {
		if s.wild || s.text != "" {
			shape = append(shape, s)
		}
	}
	isPct := func(s seg) bool { return s.wild && s.text == "%" }
	switch {
	case len(shape) == 0:
		return &likeMatcher{kind: '='}, nil
	case len(shape) == 1 && !shape[0].wild:
		return &likeMatcher{kind: '=', lit: shape[0].text}, nil
	case len(shape) == 2 && !shape[0].wild && isPct(shape[1]):
		return &likeMatcher{kind: 'p', lit: shape[0].text}, nil
	case len(shape) == 2 && isPct(shape[0]) && !shape[1].wild:
		return &likeMatcher{kind: 's', lit: shape[1].text}, nil
	case len(shape) == 3 && isPct(shape[0]) && !shape[1].wild && isPct(shape[2]):
		return &likeMatcher{kind: 'c', lit: shape[1].text}, nil
	}
	allPct := true
	for _, s := range shape {
		allPct = allPct && isPct(s)
	}
	if allPct {
		return &likeMatcher{kind: 'c'}, nil
	}
	r, err := regexp.Compile(re.String())
	if err != nil {
		return nil, err
	}
	return &likeMatcher{kind: 'r', re: r}, nil
}

// compileLike compiles a literal pattern once; a pattern column is compiled
// per distinct consecutive value.
func compileLike(c *compiler, call *Call) (Evaluator, error) {
	negate := call.Func == "NOT LIKE"
	var fixed *likeMatcher
	pat, patLit := literalString(call.Args[1])
	esc, escLit := "", true
	if len(call.Args) == 3 {
		esc, escLit = literalString(call.Args[2])
	}
	if patLit && escLit {
		m, err := compileLikePattern(pat, esc)
		if err != nil {
			return nil, err
		}
		fixed = m
	}
	var lastPat, lastEsc string
	var last *likeMatcher
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		s, ok := args[0].(*array.String)
		if !ok { // a NULL-typed operand
			return allNullArray(types.BooleanType, n, c.mem)
		}
		valid, nulls := validity(c.mem, n, args...)
		pats := strAt(args[1])
		escs := func(int) string { return esc }
		if len(args) == 3 {
			escs = strAt(args[2])
		}
		var err error
		out := boolOut(c.mem, n, valid, nulls, func(bits []byte) {
			for i := 0; i < n; i++ {
				if nulls > 0 && !bitutil.BitIsSet(valid.Bytes(), i) {
					continue
				}
				m := fixed
				if m == nil {
					if last == nil || pats(i) != lastPat || escs(i) != lastEsc {
						lastPat, lastEsc = pats(i), escs(i)
						if last, err = compileLikePattern(lastPat, lastEsc); err != nil {
							return
						}
					}
					m = last
				}
				if m.match(s.Value(i)) != negate {
					bits[i/8] |= 1 << (i % 8)
				}
			}
		})
		if err != nil {
			out.Release()
			return nil, err
		}
		return out, nil
	})
}
