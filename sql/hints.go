package sql

import (
	"strings"
)

// Hint is one Flink SQL hint, written in a /*+ ... */ comment: a query hint
// right after SELECT (STATE_TTL, LOOKUP, BROADCAST, ...) or a table hint
// right after a table name (OPTIONS). The lexer skips comments, so the
// converter picks hints up from the gap after the token they follow.
//
// Grammar (Flink's SqlHint):
//
//	hints:    hint [[,] hint]*
//	hint:     name [ '(' options ')' ]
//	options:  key '=' 'value' [, key '=' 'value']*   (key: identifier or string)
//	        | item [, item]*                          (item: identifier or string)
type Hint struct {
	Pos Pos
	// Name is upper-cased: OPTIONS, STATE_TTL.
	Name string
	// Options are the key-value options in order, keys as written.
	Options []HintOption
	// Items are the list options: BROADCAST(t1, t2).
	Items []string
}

// HintOption is one 'key' = 'value' option of a hint.
type HintOption struct {
	Key, Value string
}

func (h Hint) String() string {
	var sb strings.Builder
	sb.WriteString(h.Name)
	if len(h.Options) == 0 && len(h.Items) == 0 {
		return sb.String()
	}
	sb.WriteByte('(')
	for i, o := range h.Options {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quoteString(o.Key) + " = " + quoteString(o.Value))
	}
	for i, it := range h.Items {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(quoteIdent(it))
	}
	sb.WriteByte(')')
	return sb.String()
}

// formatHints prints hints as one /*+ ... */ comment, or "" for none.
func formatHints(hs []Hint) string {
	if len(hs) == 0 {
		return ""
	}
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.String()
	}
	return "/*+ " + strings.Join(parts, ", ") + " */"
}

// hintsAfter parses the hint comments between token i and the next token
// (or the end of the source).
func (p *parser) hintsAfter(i int) ([]Hint, error) {
	if i < 0 || i >= len(p.toks) {
		return nil, nil
	}
	from, to := int(p.toks[i].end), len(p.src)
	if i+1 < len(p.toks) {
		to = int(p.toks[i+1].pos)
	}
	var hints []Hint
	for j := from; j < to; {
		switch c := p.src[j]; {
		case c == '-' && j+1 < to && p.src[j+1] == '-':
			for j < to && p.src[j] != '\n' {
				j++
			}
		case c == '/' && j+1 < to && p.src[j+1] == '*':
			k := strings.Index(p.src[j+2:to], "*/")
			if k < 0 {
				return nil, newError(p.src, Pos(j), "unterminated comment")
			}
			end := j + 2 + k
			if j+2 < end && p.src[j+2] == '+' {
				hs, err := p.parseHints(j+3, end)
				if err != nil {
					return nil, err
				}
				hints = append(hints, hs...)
			}
			j = end + 2
		default:
			j++
		}
	}
	return hints, nil
}

// parseHints parses the body of one /*+ ... */ comment, src[from:to).
func (p *parser) parseHints(from, to int) ([]Hint, error) {
	toks, err := lex(p.src, from, to)
	if err != nil {
		return nil, err
	}
	if n := len(toks); n > 0 && toks[n-1].kind == tkEOF {
		toks = toks[:n-1]
	}
	end := token{kind: tkEOF, pos: Pos(to), end: Pos(to)}
	at := func(k int) token {
		if k < len(toks) {
			return toks[k]
		}
		return end
	}
	var hints []Hint
	k := 0
	for k < len(toks) {
		if len(hints) > 0 && at(k).isOp(",") {
			k++
		}
		name := at(k)
		if name.kind != tkWord {
			return nil, p.errorf(name, "expected a hint name")
		}
		h := Hint{Pos: name.pos, Name: strings.ToUpper(name.val)}
		k++
		if at(k).isOp("(") {
			k++
			for !at(k).isOp(")") {
				if len(h.Options)+len(h.Items) > 0 {
					if !at(k).isOp(",") {
						return nil, p.errorf(at(k), "hint %s: expected ',' or ')'", h.Name)
					}
					k++
				}
				key := at(k)
				if key.kind != tkWord && key.kind != tkQuoted && key.kind != tkString {
					return nil, p.errorf(key, "hint %s: expected an option", h.Name)
				}
				k++
				if !at(k).isOp("=") {
					if len(h.Options) > 0 {
						return nil, p.errorf(at(k), "hint %s: expected '='", h.Name)
					}
					h.Items = append(h.Items, key.val)
					continue
				}
				if len(h.Items) > 0 {
					return nil, p.errorf(at(k), "hint %s: key-value options cannot follow list options", h.Name)
				}
				k++
				val := at(k)
				if val.kind != tkString {
					return nil, p.errorf(val, "hint %s: the value of option '%s' must be a string literal", h.Name, key.val)
				}
				k++
				h.Options = append(h.Options, HintOption{Key: key.val, Value: val.val})
			}
			k++
		}
		hints = append(hints, h)
	}
	return hints, nil
}

// Position implements Node, so that errors about a hint point at it.
func (h Hint) Position() Pos { return h.Pos }
