package sql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenKind classifies lexer tokens.
type tokenKind int

const (
	tkEOF tokenKind = iota
	// tkWord is an unquoted identifier or keyword.
	tkWord
	// tkQuoted is a `backquoted` or "double-quoted" identifier.
	tkQuoted
	tkString
	tkNumber
	// tkParam is ? or $n.
	tkParam
	// tkOp is an operator or punctuation.
	tkOp
)

// token is one lexeme. Pos and End are byte offsets into the lexed source.
type token struct {
	kind     tokenKind
	pos, end Pos
	// val is the identifier (case kept) or the string's unescaped value,
	// or the raw text for other kinds.
	val string
	// upper is val upper-cased for words, for keyword matching.
	upper string
}

// is reports whether t is the unquoted keyword kw (upper case).
func (t token) is(kw string) bool { return t.kind == tkWord && t.upper == kw }

// isOp reports whether t is the operator op.
func (t token) isOp(op string) bool { return t.kind == tkOp && t.val == op }

// isIdent reports whether t can name an object or column.
func (t token) isIdent() bool { return t.kind == tkWord || t.kind == tkQuoted }

// lex tokenizes src from byte offset start to end, skipping comments.
// Offsets are absolute offsets into src, so errors point into the whole file.
func lex(src string, start, end int) ([]token, error) {
	var toks []token
	i := start
	for i < end {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < end && src[i+1] == '-':
			for i < end && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < end && src[i+1] == '*':
			j := strings.Index(src[i+2:end], "*/")
			if j < 0 {
				return nil, newError(src, Pos(i), "unterminated comment")
			}
			i += j + 4
		case c == '\'':
			val, j, ok := lexQuoted(src, i, end, '\'')
			if !ok {
				return nil, newError(src, Pos(i), "unterminated string literal")
			}
			toks = append(toks, token{kind: tkString, pos: Pos(i), end: Pos(j), val: val})
			i = j
		case c == '`' || c == '"':
			val, j, ok := lexQuoted(src, i, end, c)
			if !ok {
				return nil, newError(src, Pos(i), "unterminated quoted identifier")
			}
			if val == "" {
				return nil, newError(src, Pos(i), "empty quoted identifier")
			}
			toks = append(toks, token{kind: tkQuoted, pos: Pos(i), end: Pos(j), val: val})
			i = j
		case isDigit(c) || (c == '.' && i+1 < end && isDigit(src[i+1])):
			j := lexNumber(src, i, end)
			toks = append(toks, token{kind: tkNumber, pos: Pos(i), end: Pos(j), val: src[i:j]})
			i = j
		case c == '?':
			toks = append(toks, token{kind: tkParam, pos: Pos(i), end: Pos(i + 1), val: "?"})
			i++
		case c == '$' && i+1 < end && isDigit(src[i+1]):
			j := i + 1
			for j < end && isDigit(src[j]) {
				j++
			}
			toks = append(toks, token{kind: tkParam, pos: Pos(i), end: Pos(j), val: src[i:j]})
			i = j
		case isIdentStart(src, i):
			j := i
			for j < end && isIdentPart(src, j) {
				_, n := utf8.DecodeRuneInString(src[j:])
				j += n
			}
			w := src[i:j]
			toks = append(toks, token{kind: tkWord, pos: Pos(i), end: Pos(j), val: w, upper: strings.ToUpper(w)})
			i = j
		default:
			n := opLen(src[i:end])
			if n == 0 {
				r, size := utf8.DecodeRuneInString(src[i:])
				if r == utf8.RuneError && size <= 1 {
					return nil, newError(src, Pos(i), "invalid UTF-8 in input")
				}
				return nil, newError(src, Pos(i), "unexpected character %q", r)
			}
			toks = append(toks, token{kind: tkOp, pos: Pos(i), end: Pos(i + n), val: src[i : i+n]})
			i += n
		}
	}
	toks = append(toks, token{kind: tkEOF, pos: Pos(end), end: Pos(end)})
	return toks, nil
}

// lexQuoted scans a quoted string or identifier starting at src[i] == q,
// where a doubled quote stands for itself. It returns the unescaped value
// and the offset after the closing quote.
func lexQuoted(src string, i, end int, q byte) (string, int, bool) {
	var b strings.Builder
	j := i + 1
	for j < end {
		if src[j] == q {
			if j+1 < end && src[j+1] == q {
				b.WriteByte(q)
				j += 2
				continue
			}
			return b.String(), j + 1, true
		}
		b.WriteByte(src[j])
		j++
	}
	return "", j, false
}

func lexNumber(src string, i, end int) int {
	j := i
	for j < end && isDigit(src[j]) {
		j++
	}
	if j < end && src[j] == '.' {
		j++
		for j < end && isDigit(src[j]) {
			j++
		}
	}
	if j < end && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < end && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < end && isDigit(src[k]) {
			for k < end && isDigit(src[k]) {
				k++
			}
			j = k
		}
	}
	return j
}

// operators lists multi-character operators first so the longest wins. The
// MySQL-only ones are lexed so the dialect check can reject them by name.
var operators = []string{
	"<=>", "->>", "<>", "<=", ">=", "!=", "||", "&&", ":=", "<<", ">>", "->", "::",
	"(", ")", ",", ";", ".", "[", "]", "+", "-", "*", "/", "%", "=", "<", ">",
	"!", "&", "|", "^", "~", "@", "#", ":", "{", "}",
}

func opLen(s string) int {
	for _, op := range operators {
		if strings.HasPrefix(s, op) {
			return len(op)
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(src string, i int) bool {
	c := src[i]
	if c < utf8.RuneSelf {
		return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return unicode.IsLetter(r)
}

func isIdentPart(src string, i int) bool {
	c := src[i]
	if c < utf8.RuneSelf {
		return c == '_' || c == '$' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	r, _ := utf8.DecodeRuneInString(src[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
