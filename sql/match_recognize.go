package sql

import (
	"fmt"
	"strconv"
	"strings"
)

// MatchRecognizeRef is Flink's row pattern recognition over a FROM item:
//
//	input MATCH_RECOGNIZE (
//	  [PARTITION BY expr, ...]
//	  ORDER BY time [, expr [ASC|DESC]] ...
//	  [MEASURES expr AS name, ...]
//	  [ONE ROW PER MATCH | ALL ROWS PER MATCH]
//	  [AFTER MATCH SKIP PAST LAST ROW | TO NEXT ROW | TO FIRST v | TO LAST v | TO v]
//	  PATTERN (v quantifier ...)
//	  [WITHIN INTERVAL ...]
//	  DEFINE v AS cond, ...
//	) [AS] alias
//
// The parser checks the syntax only; the binder resolves the variables,
// navigation calls (FIRST, LAST, PREV, NEXT) and which parts Eddy runs.
type MatchRecognizeRef struct {
	Pos         Pos
	Input       TableExpr
	PartitionBy []Expr
	OrderBy     []OrderItem
	Measures    []SelectItem
	// AllRows is ALL ROWS PER MATCH (default ONE ROW PER MATCH).
	AllRows    bool
	AfterMatch AfterMatchSkip
	Pattern    []PatternTerm
	// Within is the WITHIN interval, nil when absent.
	Within *IntervalLit
	Define []PatternDefine
	Alias  string
}

// AfterMatchSkipKind says where matching resumes after a match.
type AfterMatchSkipKind int

// The AFTER MATCH SKIP strategies; SkipPastLastRow is the default.
const (
	SkipPastLastRow AfterMatchSkipKind = iota
	SkipToNextRow
	SkipToFirst
	SkipToLast
)

// AfterMatchSkip is the AFTER MATCH clause; Var names the variable of
// SKIP TO FIRST|LAST v (SKIP TO v is SKIP TO LAST v).
type AfterMatchSkip struct {
	Kind AfterMatchSkipKind
	Var  string
}

// PatternTerm is one pattern variable with its quantifier: Min..Max rows
// (Max -1: unbounded), greedy unless Reluctant (a trailing ?).
type PatternTerm struct {
	Pos       Pos
	Var       string
	Min, Max  int
	Reluctant bool
}

// PatternDefine is DEFINE v AS cond.
type PatternDefine struct {
	Pos  Pos
	Var  string
	Cond Expr
}

func (m *MatchRecognizeRef) Position() Pos { return m.Pos }
func (*MatchRecognizeRef) tableExprNode()  {}

// matchRecognizeFuncs are the calls of MATCH_RECOGNIZE's MEASURES and
// DEFINE that TiDB's grammar does not parse as calls (FIRST and LAST are
// its keywords); the rewrite parses them itself.
var matchRecognizeFuncs = map[string]bool{
	"FIRST": true, "LAST": true, "PREV": true, "NEXT": true,
	"CLASSIFIER": true, "MATCH_NUMBER": true, "MATCH_ROWTIME": true, "MATCH_PROCTIME": true,
}

// matchRecognizeBody carries a parsed MATCH_RECOGNIZE clause from the
// rewrite (which blanks it) to the converter (which wraps the table).
type matchRecognizeBody struct {
	hidden
	mr *MatchRecognizeRef
}

// matchRecognize parses MATCH_RECOGNIZE (...) at i, blanks it and records
// it under markMatchRecognize keyed by the MATCH_RECOGNIZE token. It
// returns the index of the closing parenthesis.
func (r *rewriter) matchRecognize(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	mr := &MatchRecognizeRef{Pos: p.toks[i].pos}
	clauses := r.mrClauses(i+2, end)
	havePattern := false
	for k, c := range clauses {
		hi := end
		if k+1 < len(clauses) {
			hi = clauses[k+1]
		}
		t := p.toks[c]
		switch {
		case t.is("PARTITION"):
			if mr.PartitionBy, err = p.parseExprList(c+2, hi); err != nil {
				return 0, err
			}
		case t.is("ORDER"):
			for _, rg := range r.splitTop(c+2, hi) {
				lo, h := rg[0], rg[1]
				item := OrderItem{Pos: p.toks[lo].pos}
				if last := p.toks[h-1]; last.is("ASC") || last.is("DESC") {
					item.Desc = last.is("DESC")
					h--
				}
				if h <= lo {
					return 0, r.errorf(lo, "expected an ORDER BY expression")
				}
				if item.Expr, err = p.parseExpr(lo, h); err != nil {
					return 0, err
				}
				mr.OrderBy = append(mr.OrderBy, item)
			}
		case t.is("MEASURES"):
			for _, rg := range r.splitTop(c+1, hi) {
				lo, h := rg[0], rg[1]
				if h-lo < 3 || !p.toks[h-2].is("AS") || !p.toks[h-1].isIdent() {
					return 0, r.errorf(lo, "expected expr AS name in MEASURES")
				}
				e, err := p.parseExpr(lo, h-2)
				if err != nil {
					return 0, err
				}
				mr.Measures = append(mr.Measures, SelectItem{Pos: p.toks[lo].pos, Expr: e, Alias: p.toks[h-1].val})
			}
		case t.is("ONE") || t.is("ALL"):
			words := []string{"ONE", "ROW", "PER", "MATCH"}
			if t.is("ALL") {
				words = []string{"ALL", "ROWS", "PER", "MATCH"}
				mr.AllRows = true
			}
			if err := r.expectSeq(c, hi, words...); err != nil {
				return 0, err
			}
		case t.is("AFTER"):
			if mr.AfterMatch, err = r.afterMatch(c, hi); err != nil {
				return 0, err
			}
		case t.is("PATTERN"):
			if mr.Pattern, err = r.pattern(c, hi); err != nil {
				return 0, err
			}
			havePattern = true
		case t.is("WITHIN"):
			if hi-c < 2 || !p.toks[c+1].is("INTERVAL") {
				return 0, r.errorf(c, "expected WITHIN INTERVAL ...")
			}
			e, err := p.parseExpr(c+1, hi)
			if err != nil {
				return 0, err
			}
			iv, ok := e.(*IntervalLit)
			if !ok {
				return 0, r.errorf(c+1, "expected an interval literal after WITHIN")
			}
			mr.Within = iv
		case t.is("SUBSET"):
			return 0, r.errorf(c, "SUBSET is not supported in MATCH_RECOGNIZE")
		case t.is("DEFINE"):
			for _, rg := range r.splitTop(c+1, hi) {
				lo, h := rg[0], rg[1]
				if h-lo < 3 || !p.toks[lo].isIdent() || !p.toks[lo+1].is("AS") {
					return 0, r.errorf(lo, "expected variable AS condition in DEFINE")
				}
				e, err := p.parseExpr(lo+2, h)
				if err != nil {
					return 0, err
				}
				mr.Define = append(mr.Define, PatternDefine{Pos: p.toks[lo].pos, Var: p.toks[lo].val, Cond: e})
			}
		default:
			return 0, r.errorf(c, "unexpected %s in MATCH_RECOGNIZE", describe(t))
		}
	}
	if !havePattern {
		return 0, r.errorf(i, "MATCH_RECOGNIZE needs a PATTERN")
	}
	p.places = append(p.places, &matchRecognizeBody{hidden: hidden{pos: mr.Pos}, mr: mr})
	p.markers[mr.Pos] = marker{kind: markMatchRecognize, n: len(p.places) - 1}
	r.place(p.toks[i].pos, p.toks[end].end, "")
	return end, nil
}

// mrClauses returns the token indexes in [lo, hi) that start a clause of
// MATCH_RECOGNIZE: its keywords outside parentheses.
func (r *rewriter) mrClauses(lo, hi int) []int {
	var out []int
	for d, j := 0, lo; j < hi; j++ {
		t, next := r.tok(j), r.tok(j+1)
		switch {
		case t.isOp("(") || t.isOp("[") || t.isOp("{"):
			d++
		case t.isOp(")") || t.isOp("]") || t.isOp("}"):
			d--
		case d > 0:
		case j == lo,
			(t.is("PARTITION") || t.is("ORDER")) && next.is("BY"),
			t.is("MEASURES"), t.is("DEFINE"), t.is("SUBSET"), t.is("WITHIN") && next.is("INTERVAL"),
			t.is("ONE") && next.is("ROW"), t.is("ALL") && next.is("ROWS"),
			t.is("AFTER") && next.is("MATCH"), t.is("PATTERN") && next.isOp("("):
			out = append(out, j)
		}
	}
	return out
}

// splitTop splits tokens [lo, hi) at commas outside brackets.
func (r *rewriter) splitTop(lo, hi int) [][2]int {
	var out [][2]int
	start := lo
	for d, j := 0, lo; j < hi; j++ {
		t := r.tok(j)
		switch {
		case t.isOp("(") || t.isOp("["):
			d++
		case t.isOp(")") || t.isOp("]"):
			d--
		case t.isOp(",") && d == 0:
			out = append(out, [2]int{start, j})
			start = j + 1
		}
	}
	return append(out, [2]int{start, hi})
}

// expectSeq checks that tokens [i, hi) are exactly words.
func (r *rewriter) expectSeq(i, hi int, words ...string) error {
	for k, w := range words {
		if i+k >= hi || !r.tok(i+k).is(w) {
			return r.errorf(min(i+k, hi), "expected %s", w)
		}
	}
	if i+len(words) != hi {
		return r.errorf(i+len(words), "unexpected %s", describe(r.tok(i+len(words))))
	}
	return nil
}

// afterMatch parses AFTER MATCH SKIP ... in tokens [i, hi).
func (r *rewriter) afterMatch(i, hi int) (AfterMatchSkip, error) {
	switch {
	case r.expectSeq(i, hi, "AFTER", "MATCH", "SKIP", "PAST", "LAST", "ROW") == nil:
		return AfterMatchSkip{Kind: SkipPastLastRow}, nil
	case r.expectSeq(i, hi, "AFTER", "MATCH", "SKIP", "TO", "NEXT", "ROW") == nil:
		return AfterMatchSkip{Kind: SkipToNextRow}, nil
	case hi-i == 6 && r.expectSeq(i, i+4, "AFTER", "MATCH", "SKIP", "TO") == nil &&
		(r.tok(i+4).is("FIRST") || r.tok(i+4).is("LAST")) && r.tok(i+5).isIdent():
		k := SkipToFirst
		if r.tok(i + 4).is("LAST") {
			k = SkipToLast
		}
		return AfterMatchSkip{Kind: k, Var: r.tok(i + 5).val}, nil
	case hi-i == 5 && r.expectSeq(i, i+4, "AFTER", "MATCH", "SKIP", "TO") == nil && r.tok(i+4).isIdent():
		return AfterMatchSkip{Kind: SkipToLast, Var: r.tok(i + 4).val}, nil
	}
	return AfterMatchSkip{}, r.errorf(i, "expected AFTER MATCH SKIP PAST LAST ROW, TO NEXT ROW, TO FIRST var or TO LAST var")
}

// pattern parses PATTERN (terms) in tokens [i, hi): a sequence of
// variables, each with an optional quantifier (*, +, ?, {n}, {n,},
// {,m}, {n,m}) and a trailing ? for a reluctant one. Alternation,
// grouping, PERMUTE, exclusion and anchors are not supported.
func (r *rewriter) pattern(i, hi int) ([]PatternTerm, error) {
	end, err := r.closeOf(i + 1)
	if err != nil {
		return nil, err
	}
	if end != hi-1 {
		return nil, r.errorf(end+1, "unexpected %s after PATTERN (...)", describe(r.tok(end+1)))
	}
	var terms []PatternTerm
	for j := i + 2; j < end; j++ {
		t := r.tok(j)
		isQ := func(t token) bool { return t.kind == tkParam && t.val == "?" }
		if !t.isIdent() || t.kind == tkWord && t.is("PERMUTE") {
			return nil, r.errorf(j, "%s", unsupportedPattern(t))
		}
		term := PatternTerm{Pos: t.pos, Var: t.val, Min: 1, Max: 1}
		n := r.tok(j + 1)
		quantified := true
		switch {
		case n.isOp("*"):
			term.Min, term.Max = 0, -1
			j++
		case n.isOp("+"):
			term.Min, term.Max = 1, -1
			j++
		case isQ(n):
			term.Min, term.Max = 0, 1
			j++
		case n.isOp("{"):
			k, err := r.braces(j+1, end, &term)
			if err != nil {
				return nil, err
			}
			j = k
		default:
			quantified = false
		}
		if quantified && j+1 < end && isQ(r.tok(j+1)) {
			term.Reluctant = true
			j++
		}
		terms = append(terms, term)
	}
	if len(terms) == 0 {
		return nil, r.errorf(i, "PATTERN needs at least one variable")
	}
	return terms, nil
}

// unsupportedPattern explains why token t cannot appear in a PATTERN,
// naming the construct, as Flink (which supports only sequences of
// quantified variables) does not either.
func unsupportedPattern(t token) string {
	construct := ""
	switch {
	case t.isOp("|"):
		construct = "alternation (|)"
	case t.is("PERMUTE"):
		construct = "PERMUTE"
	case t.isOp("("):
		construct = "pattern groups ( ... )"
	case t.isOp("{"):
		construct = "exclusion {- ... -}"
	case t.isOp("^") || t.isOp("$"):
		construct = "anchors (^, $)"
	}
	if construct != "" {
		return "MATCH_RECOGNIZE does not support " + construct + " in PATTERN: only a sequence of pattern variables with quantifiers"
	}
	return "only a sequence of pattern variables with quantifiers is supported in PATTERN, not " + describe(t)
}

// braces parses {n}, {n,}, {,m} or {n,m} at i into term and returns the
// index of the closing brace.
func (r *rewriter) braces(i, end int, term *PatternTerm) (int, error) {
	num := func(j int) (int, bool) {
		t := r.tok(j)
		if t.kind != tkNumber {
			return 0, false
		}
		v, err := strconv.Atoi(t.val)
		return v, err == nil
	}
	j := i + 1
	lo, hasLo := num(j)
	if hasLo {
		j++
	}
	term.Min, term.Max = lo, lo
	if r.tok(j).isOp(",") {
		j++
		term.Max = -1
		if hi, ok := num(j); ok {
			term.Max = hi
			j++
		}
	} else if !hasLo {
		return 0, r.errorf(j, "expected a number in {...}")
	}
	if j >= end || !r.tok(j).isOp("}") {
		return 0, r.errorf(j, "expected } to close the quantifier")
	}
	if term.Max >= 0 && term.Max < term.Min || term.Max == 0 {
		return 0, r.errorf(i, "invalid quantifier range")
	}
	return j, nil
}

// formatMatchRecognize writes t in canonical form.
func formatMatchRecognize(b *strings.Builder, t *MatchRecognizeRef) {
	formatTable(b, t.Input)
	b.WriteString(" MATCH_RECOGNIZE (")
	if len(t.PartitionBy) > 0 {
		b.WriteString("PARTITION BY ")
		for i, e := range t.PartitionBy {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, e)
		}
		b.WriteByte(' ')
	}
	b.WriteString("ORDER BY ")
	formatOrder(b, t.OrderBy)
	if len(t.Measures) > 0 {
		b.WriteString(" MEASURES ")
		for i, m := range t.Measures {
			if i > 0 {
				b.WriteString(", ")
			}
			formatExpr(b, m.Expr)
			b.WriteString(" AS " + quoteIdent(m.Alias))
		}
	}
	if t.AllRows {
		b.WriteString(" ALL ROWS PER MATCH")
	} else {
		b.WriteString(" ONE ROW PER MATCH")
	}
	switch t.AfterMatch.Kind {
	case SkipPastLastRow:
		b.WriteString(" AFTER MATCH SKIP PAST LAST ROW")
	case SkipToNextRow:
		b.WriteString(" AFTER MATCH SKIP TO NEXT ROW")
	case SkipToFirst:
		b.WriteString(" AFTER MATCH SKIP TO FIRST " + quoteIdent(t.AfterMatch.Var))
	case SkipToLast:
		b.WriteString(" AFTER MATCH SKIP TO LAST " + quoteIdent(t.AfterMatch.Var))
	}
	b.WriteString(" PATTERN (")
	for i, p := range t.Pattern {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteIdent(p.Var))
		switch {
		case p.Min == 1 && p.Max == 1:
		case p.Min == 0 && p.Max < 0:
			b.WriteByte('*')
		case p.Min == 1 && p.Max < 0:
			b.WriteByte('+')
		case p.Min == 0 && p.Max == 1:
			b.WriteByte('?')
		case p.Max < 0:
			fmt.Fprintf(b, "{%d,}", p.Min)
		case p.Min == p.Max:
			fmt.Fprintf(b, "{%d}", p.Min)
		default:
			fmt.Fprintf(b, "{%d,%d}", p.Min, p.Max)
		}
		if p.Reluctant {
			b.WriteByte('?')
		}
	}
	b.WriteByte(')')
	if t.Within != nil {
		b.WriteString(" WITHIN ")
		formatExpr(b, t.Within)
	}
	b.WriteString(" DEFINE ")
	for i, d := range t.Define {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(d.Var) + " AS ")
		formatExpr(b, d.Cond)
	}
	b.WriteByte(')')
	if t.Alias != "" {
		b.WriteString(" AS " + quoteIdent(t.Alias))
	}
}
