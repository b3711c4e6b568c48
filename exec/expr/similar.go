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

// s SIMILAR TO pattern [ESCAPE e]: whether the whole of s matches the SQL
// regular expression pattern, which Calcite (and so Flink) translates to
// a Java one: % is any string, _ any character, | * + ? {m,n} ( ) and
// bracket expressions are as in regular expressions, and every other
// character (. ^ $ \ included) is itself; after the escape character a
// special character is itself. NULL operands give NULL.
func init() {
	register(&funcDef{name: "SIMILAR TO", mayFail: true, resolve: resolveSimilar, compile: compileSimilar})
}

func resolveSimilar(name string, args []Expr) (Expr, error) {
	str := types.StringType
	if len(args) == 3 {
		return fixedSig(types.BooleanType, false, str, str, str)(name, args)
	}
	return fixedSig(types.BooleanType, false, str, str)(name, args)
}

var charClass = regexp.MustCompile(`\[:[A-Za-z]+:\]`)

// similarToRegexp translates a SIMILAR TO pattern into an anchored Go
// regular expression; escape is 0 without an ESCAPE clause.
func similarToRegexp(p string, escape rune) (string, error) {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case escape != 0 && r == escape:
			if i+1 == len(rs) {
				return "", fmt.Errorf("invalid SIMILAR TO pattern %q: it ends with the escape character", p)
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		case r == '%':
			b.WriteString(".*")
		case r == '_':
			b.WriteByte('.')
		case strings.ContainsRune("|*+?{}()", r):
			b.WriteRune(r)
		case r == '[':
			// A bracket expression runs to its closing ]; a ] right after
			// [ or [^ is a member. Backslashes inside are literal.
			j := i + 1
			if j < len(rs) && rs[j] == '^' {
				j++
			}
			if j < len(rs) && rs[j] == ']' {
				j++
			}
			for j < len(rs) && rs[j] != ']' {
				if rs[j] == '[' && j+1 < len(rs) && rs[j+1] == ':' {
					// A character class such as [:alpha:].
					end := strings.Index(string(rs[j:]), ":]")
					if end < 0 {
						break
					}
					j += len([]rune(string(rs[j:])[:end+2]))
					continue
				}
				j++
			}
			if j == len(rs) {
				return "", fmt.Errorf("invalid SIMILAR TO pattern %q: unclosed bracket expression", p)
			}
			bracket := strings.ReplaceAll(string(rs[i:j+1]), `\`, `\\`)
			// SQL spells the classes [:ALPHA:]; Go knows only [:alpha:].
			b.WriteString(charClass.ReplaceAllStringFunc(bracket, strings.ToLower))
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteByte(')')
	b.WriteByte('$')
	return b.String(), nil
}

// similarCache holds the translation of the last pattern and escape.
type similarCache struct {
	pattern, escape string
	re              *regexp.Regexp
}

func (c *similarCache) get(p, escape string) (*regexp.Regexp, error) {
	if c.re != nil && c.pattern == p && c.escape == escape {
		return c.re, nil
	}
	var e rune
	switch n := len([]rune(escape)); {
	case n == 1:
		e = []rune(escape)[0]
	case n > 1:
		return nil, fmt.Errorf("SIMILAR TO: the escape must be one character, got %q", escape)
	}
	expr, err := similarToRegexp(p, e)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid SIMILAR TO pattern %q: %v", p, err)
	}
	c.pattern, c.escape, c.re = p, escape, re
	return re, nil
}

func compileSimilar(c *compiler, call *Call) (Evaluator, error) {
	cache := &similarCache{}
	// A literal pattern is checked once, before any row.
	if p, ok := literalString(call.Args[1]); ok {
		esc := ""
		if len(call.Args) == 3 {
			esc, _ = literalString(call.Args[2])
		}
		if _, err := cache.get(p, esc); err != nil {
			return nil, err
		}
	}
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		for _, a := range args {
			if a.DataType().ID() == arrow.NULL {
				return allNullArray(call.T, n, c.mem)
			}
		}
		s, p := strAt(args[0]), strAt(args[1])
		esc := func(int) string { return "" }
		if len(args) == 3 {
			esc = strAt(args[2])
		}
		valid := outValidity(c.mem, n, args...)
		vb := valid.Bytes()
		var err error
		out := boolOut(c.mem, n, valid, array.UnknownNullCount, func(bits []byte) {
			clear(bits)
			for i := 0; i < n && err == nil; i++ {
				if !bitutil.BitIsSet(vb, i) {
					continue
				}
				var re *regexp.Regexp
				if re, err = cache.get(p(i), esc(i)); err == nil {
					bitutil.SetBitTo(bits, i, re.MatchString(s(i)))
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
