package javafmt

import "strings"

// Token is one element of a parsed Java date-time pattern: a run of one
// pattern letter (Letter, Count times), or literal text (Letter 0).
type Token struct {
	Letter byte
	Count  int
	Text   string
}

// Parse splits a SimpleDateFormat or DateTimeFormatter pattern into its
// tokens; quoted text is literal, ” a quote.
func Parse(p string) []Token {
	var toks []Token
	for i := 0; i < len(p); {
		ch := p[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				toks = append(toks, Token{Text: p[i+1:]})
				return toks
			}
			if j == 0 {
				toks = append(toks, Token{Text: "'"})
			} else {
				toks = append(toks, Token{Text: p[i+1 : i+1+j]})
			}
			i += j + 2
		case (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'):
			j := i
			for j < len(p) && p[j] == ch {
				j++
			}
			toks = append(toks, Token{Letter: ch, Count: j - i})
			i = j
		default:
			toks = append(toks, Token{Text: p[i : i+1]})
			i++
		}
	}
	return toks
}

// GoLayout translates a Java date-time pattern to a Go layout for parsing,
// as Flink's date-time functions and formatter options take them.
func GoLayout(p string) string {
	var b strings.Builder
	for _, tk := range Parse(p) {
		switch tk.Letter {
		case 0:
			b.WriteString(tk.Text)
		case 'y':
			if tk.Count == 2 {
				b.WriteString("06")
			} else {
				b.WriteString("2006")
			}
		case 'M':
			switch {
			case tk.Count >= 4:
				b.WriteString("January")
			case tk.Count == 3:
				b.WriteString("Jan")
			case tk.Count == 2:
				b.WriteString("01")
			default:
				b.WriteString("1")
			}
		case 'd':
			if tk.Count == 2 {
				b.WriteString("02")
			} else {
				b.WriteString("2")
			}
		case 'H':
			b.WriteString("15")
		case 'h':
			b.WriteString("03")
		case 'm':
			b.WriteString("04")
		case 's':
			b.WriteString("05")
		case 'S':
			b.WriteString(strings.Repeat("0", tk.Count))
		case 'a':
			b.WriteString("PM")
		case 'E':
			b.WriteString("Mon")
		default:
			b.WriteString(strings.Repeat(string(tk.Letter), tk.Count))
		}
	}
	return b.String()
}
