package sql

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	// The test driver supplies TiDB's literal value nodes without pulling in
	// TiDB's type system.
	_ "github.com/pingcap/tidb/pkg/parser/test_driver"
)

// markerKind tags source spans the rewrite changed in a way the converter
// must undo (see marker).
type markerKind int

const (
	// markParam: a ? or $n placeholder; n is its index.
	markParam markerKind = iota + 1
	// markFullJoin: FULL JOIN rewritten to LEFT JOIN, keyed by JOIN.
	markFullJoin
	// markDistinct: IS [NOT] DISTINCT FROM rewritten to <=>, keyed by the
	// right operand; n is 1 for IS DISTINCT FROM.
	markDistinct
	// markSymmetric: BETWEEN SYMMETRIC with SYMMETRIC blanked, keyed by the
	// low bound.
	markSymmetric
	// markNulls: NULLS FIRST|LAST blanked, keyed by the ORDER BY item; n is
	// 1 for FIRST.
	markNulls
	// markPlace: an expression placeholder; n indexes parser.places.
	markPlace
	// markTable: a table placeholder (quoted name "\x01<n>") for three-part
	// names and (VALUES ...) in FROM; n indexes parser.places.
	markTable
)

// marker records one rewrite, keyed in parser.markers by source position.
type marker struct {
	kind markerKind
	n    int
}

// tableRefExpr carries a table placeholder's payload through places; it
// never escapes into a returned tree.
type tableRefExpr struct {
	Expr
	name  ObjectName
	query *Query
}

var tidbParsers = sync.Pool{New: func() any {
	p := tidb.New()
	// || is concatenation, "x" is an identifier and backslashes are
	// literal, as in Flink SQL.
	p.SetSQLMode(mysql.ModePipesAsConcat | mysql.ModeANSIQuotes | mysql.ModeNoBackslashEscapes)
	return p
}}

// mysqlOnlyWords are MySQL keywords TiDB would accept in a query that Flink
// SQL does not have; rejecting them up front keeps TiDB from silently giving
// them MySQL meaning.
var mysqlOnlyWords = map[string]bool{
	"STRAIGHT_JOIN": true, "REGEXP": true, "RLIKE": true, "DIV": true, "XOR": true, "SOUNDS": true,
	"SQL_CALC_FOUND_ROWS": true, "SQL_NO_CACHE": true, "SQL_CACHE": true, "SQL_SMALL_RESULT": true,
	"SQL_BIG_RESULT": true, "SQL_BUFFER_RESULT": true, "HIGH_PRIORITY": true, "LOW_PRIORITY": true,
	"DUAL": true, "COLLATE": true, "OUTFILE": true, "DUMPFILE": true, "ILIKE": true, "NATURAL": true,
	"LOCK": true, "USE_INDEX": true, "MEMBER": true,
}

var mysqlOnlyOps = map[string]bool{
	"<=>": true, "->>": true, "->": true, "&&": true, ":=": true, "<<": true, ">>": true, "::": true,
	"!": true, "&": true, "|": true, "^": true, "~": true, "@": true, "#": true, ":": true, "{": true, "}": true,
}

// matchClose returns the index of the token closing the bracket at i, or -1.
func (p *parser) matchClose(i, hi int) int {
	depth := 0
	for j := i; j < hi; j++ {
		t := p.toks[j]
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// matchOpen returns the index of the token opening the bracket closed at i.
func (p *parser) matchOpen(i, lo int) int {
	depth := 0
	for j := i; j >= lo; j-- {
		t := p.toks[j]
		switch {
		case t.isOp(")") || t.isOp("]"):
			depth++
		case t.isOp("(") || t.isOp("["):
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// tokIndex returns the index of the token starting at pos, or -1.
func (p *parser) tokIndex(pos Pos) int {
	i := sort.Search(len(p.toks), func(i int) bool { return p.toks[i].pos >= pos })
	if i < len(p.toks) && p.toks[i].pos == pos {
		return i
	}
	return -1
}

// rewriter builds the text handed to TiDB for tokens [lo, hi): the original
// bytes with comments blanked and Flink-only constructs replaced by
// same-length text TiDB accepts, so TiDB's offsets stay source offsets.
type rewriter struct {
	p      *parser
	lo, hi int
	base   Pos
	buf    []byte
}

func (p *parser) rewrite(lo, hi int) (string, Pos, error) {
	base := p.toks[lo].pos
	end := p.toks[hi-1].end
	r := &rewriter{p: p, lo: lo, hi: hi, base: base, buf: []byte(strings.Repeat(" ", int(end-base)))}
	for _, t := range p.toks[lo:hi] {
		copy(r.buf[t.pos-base:], p.src[t.pos:t.end])
	}
	if err := r.run(); err != nil {
		return "", 0, err
	}
	return string(r.buf), base, nil
}

// place overwrites source span [from, to) with text padded by spaces.
func (r *rewriter) place(from, to Pos, text string) {
	seg := r.buf[from-r.base : to-r.base]
	for i := range seg {
		seg[i] = ' '
	}
	copy(seg, text)
}

// placeExpr replaces tokens [i, j] with a placeholder standing for e.
func (r *rewriter) placeExpr(i, j int, e Expr) {
	p := r.p
	from := p.toks[i].pos
	p.places = append(p.places, e)
	p.markers[from] = marker{kind: markPlace, n: len(p.places) - 1}
	r.place(from, p.toks[j].end, "x")
}

// placeTable replaces tokens [i, j] with a quoted placeholder table name.
func (r *rewriter) placeTable(i, j int, e *tableRefExpr) error {
	p := r.p
	from, to := p.toks[i].pos, p.toks[j].end
	p.places = append(p.places, e)
	p.markers[from] = marker{kind: markTable, n: len(p.places) - 1}
	name := "`\x01" + strconv.Itoa(len(p.places)-1) + "`"
	if int(to-from) < len(name) {
		return newError(p.src, from, "table reference too short to rewrite")
	}
	r.place(from, to, name)
	return nil
}

// tok returns token j, or an end token past the rewrite range, so
// lookahead never reads beyond the span being rewritten.
func (r *rewriter) tok(j int) token {
	if j >= r.hi {
		return token{kind: tkEOF, pos: r.p.toks[r.hi].pos, end: r.p.toks[r.hi].pos}
	}
	return r.p.toks[j]
}

func (r *rewriter) errorf(i int, format string, args ...any) error {
	return r.p.errorf(r.p.toks[i], format, args...)
}

func (r *rewriter) run() error {
	p := r.p
	// fromDepth[d] is true while the FROM clause of the query block at
	// paren depth d expects table references after a comma.
	fromAt := map[int]bool{}
	depth := 0
	for i := r.lo; i < r.hi; i++ {
		t := r.tok(i)
		prev := token{}
		if i > r.lo {
			prev = r.tok(i - 1)
		}
		next := r.tok(i + 1)
		adjacent := next.pos == t.end
		switch {
		case t.kind == tkOp && mysqlOnlyOps[t.val]:
			return r.errorf(i, "operator %s is MySQL syntax, not Flink SQL", t.val)
		case t.kind == tkWord && mysqlOnlyWords[t.upper]:
			return r.errorf(i, "%s is MySQL syntax, not Flink SQL", t.upper)
		case (t.is("USE") || t.is("FORCE") || t.is("IGNORE")) && (next.is("INDEX") || next.is("KEY")):
			return r.errorf(i, "index hints are MySQL syntax, not Flink SQL")
		case t.is("FOR") && (next.is("UPDATE") || next.is("SHARE")):
			return r.errorf(i, "locking clauses are MySQL syntax, not Flink SQL")
		case t.kind == tkNumber && adjacent && (next.kind == tkWord || next.kind == tkString || next.kind == tkQuoted):
			return r.errorf(i, "invalid number")
		case t.kind == tkWord && adjacent && next.kind == tkString && !t.is("X"):
			return r.errorf(i, "string prefix %s is not supported", t.val)
		case t.kind == tkParam:
			// A span can be scanned twice (an indexed base is re-parsed),
			// so a ? keeps the number it got first.
			n := 0
			if m, ok := p.markers[t.pos]; ok {
				n = m.n
			} else if t.val == "?" {
				p.nparams++
				n = p.nparams
			} else if v, err := strconv.Atoi(t.val[1:]); err == nil && v > 0 {
				n = v
			} else {
				return r.errorf(i, "invalid parameter %s", t.val)
			}
			p.markers[t.pos] = marker{kind: markParam, n: n}
			r.place(t.pos, t.end, "?")
		case t.isOp("(") || t.isOp("["):
			depth++
			if t.isOp("(") && next.is("VALUES") && (prev.is("FROM") || prev.is("JOIN") || prev.isOp(",") && fromAt[depth-1]) {
				j, err := r.valuesTable(i)
				if err != nil {
					return err
				}
				i = j
				depth--
			} else if t.isOp("[") {
				j, err := r.index(i)
				if err != nil {
					return err
				}
				i = j
				depth--
			}
		case t.isOp(")") || t.isOp("]"):
			delete(fromAt, depth)
			depth--
		case t.is("FROM") || t.is("JOIN"):
			fromAt[depth] = true
			if next.isIdent() && r.tok(i+2).isOp(".") && r.tok(i+4).isOp(".") {
				j, err := r.threePartTable(i + 1)
				if err != nil {
					return err
				}
				i = j
			}
		case t.isOp(",") && fromAt[depth] && next.isIdent() && r.tok(i+2).isOp(".") && r.tok(i+4).isOp("."):
			j, err := r.threePartTable(i + 1)
			if err != nil {
				return err
			}
			i = j
		case t.is("WHERE") || t.is("GROUP") || t.is("HAVING") || t.is("ORDER") || t.is("LIMIT") ||
			t.is("UNION") || t.is("EXCEPT") || t.is("INTERSECT") || t.is("WINDOW") || t.is("ON") || t.is("USING"):
			fromAt[depth] = false
			if t.is("LIMIT") && i+2 < r.hi && r.tok(i+2).isOp(",") {
				return r.errorf(i, "LIMIT offset, count is MySQL syntax; use LIMIT count OFFSET offset")
			}
		case t.is("INTERVAL"):
			j, err := r.interval(i)
			if err != nil {
				return err
			}
			i = j
		case (t.is("CAST") || t.is("TRY_CAST")) && next.isOp("("):
			j, err := r.cast(i)
			if err != nil {
				return err
			}
			i = j
		case t.is("EXTRACT") && next.isOp("("):
			j, err := r.extract(i)
			if err != nil {
				return err
			}
			i = j
		case (t.is("ARRAY") || t.is("MAP")) && next.isOp("["):
			j, err := r.collection(i)
			if err != nil {
				return err
			}
			i = j
		case t.is("FULL") && (next.is("JOIN") || next.is("OUTER") && r.tok(i+2).is("JOIN")):
			r.place(t.pos, t.end, "LEFT")
			if next.is("OUTER") {
				next = r.tok(i + 2)
			}
			p.markers[next.pos] = marker{kind: markFullJoin}
		case t.is("IS") && (next.is("DISTINCT") || next.is("NOT") && r.tok(i+2).is("DISTINCT")):
			j, n := i+1, 1
			if next.is("NOT") {
				j, n = i+2, 0
			}
			if !r.tok(j+1).is("FROM") || j+2 >= r.hi {
				return r.errorf(j, "expected FROM after DISTINCT")
			}
			r.place(t.pos, r.tok(j+1).end, "<=>")
			p.markers[r.tok(j+2).pos] = marker{kind: markDistinct, n: n}
			i = j + 1
		case t.is("SIMILAR") && next.is("TO"):
			r.place(t.pos, next.end, "REGEXP")
			i++
		case t.is("BETWEEN") && (next.is("SYMMETRIC") || next.is("ASYMMETRIC")):
			r.place(next.pos, next.end, "")
			if next.is("SYMMETRIC") && i+2 < r.hi {
				p.markers[r.tok(i+2).pos] = marker{kind: markSymmetric}
			}
			i++
		case t.is("NULLS") && (next.is("FIRST") || next.is("LAST")):
			if err := r.nulls(i); err != nil {
				return err
			}
			i++
		}
	}
	return nil
}

// interval replaces INTERVAL [-]'v' unit [(p)] [TO unit [(p)]] at i.
func (r *rewriter) interval(i int) (int, error) {
	j := i + 1
	lit := &IntervalLit{Pos: r.tok(i).pos}
	sign := ""
	if t := r.tok(j); t.isOp("-") || t.isOp("+") {
		sign = strings.TrimPrefix(t.val, "+")
		j++
	}
	switch t := r.tok(j); t.kind {
	case tkString, tkNumber:
		lit.Value = sign + t.val
	default:
		return 0, r.errorf(j, "expected a quoted interval value after INTERVAL")
	}
	j++
	unit := func(prec *int) error {
		u := r.tok(j)
		if u.kind != tkWord || !intervalUnits[u.upper] {
			return r.errorf(j, "expected an interval unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)")
		}
		j++
		if r.tok(j).isOp("(") {
			n := r.tok(j + 1)
			v, err := strconv.Atoi(n.val)
			if n.kind != tkNumber || err != nil || !r.tok(j+2).isOp(")") {
				return r.errorf(j+1, "expected an integer precision")
			}
			*prec = v
			j += 3
		}
		return nil
	}
	if err := unit(&lit.Precision); err != nil {
		return 0, err
	}
	lit.Unit = r.tok(j - 1).upper
	if r.tok(j - 1).isOp(")") {
		lit.Unit = r.tok(j - 4).upper
	}
	if r.tok(j).is("TO") {
		j++
		if err := unit(&lit.ToPrecision); err != nil {
			return 0, err
		}
		lit.ToUnit = r.tok(j - 1).upper
		if r.tok(j - 1).isOp(")") {
			lit.ToUnit = r.tok(j - 4).upper
		}
	}
	if j > r.hi {
		return 0, r.errorf(r.hi, "incomplete INTERVAL literal")
	}
	r.placeExpr(i, j-1, lit)
	if f := r.tok(j); f.is("PRECEDING") || f.is("FOLLOWING") {
		// TiDB frame bounds take only literals: stand in a number.
		r.place(lit.Pos, r.tok(j-1).end, "1")
	}
	return j - 1, nil
}

// closeOf finds the bracket closing the one at i within the rewrite range.
func (r *rewriter) closeOf(i int) (int, error) {
	j := r.p.matchClose(i, r.hi)
	if j < 0 {
		return 0, r.errorf(i, "unbalanced %s", r.p.toks[i].val)
	}
	return j, nil
}

// cast replaces CAST|TRY_CAST(expr AS type) at i; the type is parsed with
// Flink's type grammar, which TiDB's CAST does not know.
func (r *rewriter) cast(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	as := -1
	depth := 0
	for j := i + 2; j < end; j++ {
		t := p.toks[j]
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth == 0 && t.is("AS"):
			as = j
		}
		if as >= 0 {
			break
		}
	}
	if as < 0 || as == i+2 {
		return 0, r.errorf(i, "expected CAST(expression AS type)")
	}
	e, err := p.parseExpr(i+2, as)
	if err != nil {
		return 0, err
	}
	typ, err := p.subParser(as+1, end).parseTypeAll()
	if err != nil {
		return 0, err
	}
	r.placeExpr(i, end, &Cast{Pos: p.toks[i].pos, Expr: e, Type: typ, Try: p.toks[i].is("TRY_CAST")})
	return end, nil
}

// subParser returns a parser over tokens [lo, hi) sharing this parser's
// source and dialect state.
func (p *parser) subParser(lo, hi int) *parser {
	toks := append(p.toks[lo:hi:hi], token{kind: tkEOF, pos: p.toks[hi].pos, end: p.toks[hi].pos})
	return &parser{src: p.src, toks: toks, places: p.places, markers: p.markers}
}

// parseTypeAll parses a type that must span all tokens.
func (p *parser) parseTypeAll() (*TypeName, error) {
	typ, err := p.parseType()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.errorf(t, "unexpected %s after data type", describe(t))
	}
	return typ, nil
}

// extract replaces EXTRACT(unit FROM expr) at i: Flink's units (DOW, DOY,
// EPOCH, ...) go beyond MySQL's.
func (r *rewriter) extract(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	u := r.tok(i + 2)
	if u.kind != tkWord || !r.tok(i+3).is("FROM") || i+4 >= end {
		return 0, r.errorf(i+2, "expected EXTRACT(unit FROM expression)")
	}
	e, err := p.parseExpr(i+4, end)
	if err != nil {
		return 0, err
	}
	r.placeExpr(i, end, &Extract{Pos: p.toks[i].pos, Unit: u.upper, Expr: e})
	return end, nil
}

// collection replaces ARRAY[...] and MAP[...] at i.
func (r *rewriter) collection(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	var elems []Expr
	if end > i+2 {
		if elems, err = p.parseExprList(i+2, end); err != nil {
			return 0, err
		}
	}
	pos := p.toks[i].pos
	if p.toks[i].is("ARRAY") {
		if len(elems) == 0 {
			return 0, r.errorf(i, "ARRAY[] needs at least one element")
		}
		r.placeExpr(i, end, &ArrayCtor{Pos: pos, Elems: elems})
		return end, nil
	}
	if len(elems) == 0 || len(elems)%2 != 0 {
		return 0, r.errorf(i, "MAP[...] needs key, value pairs")
	}
	m := &MapCtor{Pos: pos}
	for k := 0; k < len(elems); k += 2 {
		m.Keys = append(m.Keys, elems[k])
		m.Values = append(m.Values, elems[k+1])
	}
	r.placeExpr(i, end, m)
	return end, nil
}

// index replaces base[idx] where '[' is at i; the base is the primary
// expression just before it (a column path, a call, a parenthesized
// expression or another element access).
func (r *rewriter) index(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i)
	if err != nil {
		return 0, err
	}
	start := r.baseStart(i - 1)
	if start < 0 || end == i+1 {
		return 0, r.errorf(i, "unexpected [")
	}
	base, err := p.parseExpr(start, i)
	if err != nil {
		return 0, err
	}
	idx, err := p.parseExpr(i+1, end)
	if err != nil {
		return 0, err
	}
	r.placeExpr(start, end, &Index{Pos: p.toks[start].pos, Expr: base, Index: idx})
	return end, nil
}

// baseStart returns the first token of the primary expression ending at
// token j, or -1.
func (r *rewriter) baseStart(j int) int {
	p := r.p
	if j < r.lo {
		return -1
	}
	t := p.toks[j]
	switch {
	case t.isOp(")"):
		m := p.matchOpen(j, r.lo)
		if m > r.lo && p.toks[m-1].isIdent() {
			return m - 1
		}
		return m
	case t.isOp("]"):
		m := p.matchOpen(j, r.lo)
		if m < 0 {
			return -1
		}
		if m > r.lo && (p.toks[m-1].is("ARRAY") || p.toks[m-1].is("MAP")) {
			return m - 1
		}
		return r.baseStart(m - 1)
	case t.isIdent():
		for j-2 >= r.lo && p.toks[j-1].isOp(".") && p.toks[j-2].isIdent() {
			j -= 2
		}
		return j
	}
	return -1
}

// threePartTable replaces a cat.db.tbl table name at i, which TiDB's
// two-part TableName cannot hold.
func (r *rewriter) threePartTable(i int) (int, error) {
	sub := r.p.subParser(i, r.hi)
	name, err := sub.parseObjectName()
	if err != nil {
		return 0, err
	}
	j := i + sub.i - 1
	return j, r.placeTable(i, j, &tableRefExpr{name: name})
}

// valuesTable replaces (VALUES ...) in FROM at i.
func (r *rewriter) valuesTable(i int) (int, error) {
	end, err := r.closeOf(i)
	if err != nil {
		return 0, err
	}
	q, err := r.p.parseValues(i+1, end)
	if err != nil {
		return 0, err
	}
	return end, r.placeTable(i, end, &tableRefExpr{query: q})
}

// nulls blanks NULLS FIRST|LAST at i, keyed by the start of its ORDER BY
// item (found by walking back to the enclosing BY, ',' or '(').
func (r *rewriter) nulls(i int) error {
	p := r.p
	depth := 0
	j := i - 1
	for ; j >= r.lo; j-- {
		t := p.toks[j]
		if t.isOp(")") || t.isOp("]") {
			depth++
		} else if t.isOp("(") || t.isOp("[") {
			if depth == 0 {
				break
			}
			depth--
		} else if depth == 0 && (t.isOp(",") || t.is("BY")) {
			break
		}
	}
	if j+1 >= i {
		return r.errorf(i, "unexpected NULLS")
	}
	n := 0
	if p.toks[i+1].is("FIRST") {
		n = 1
	}
	p.markers[p.toks[j+1].pos] = marker{kind: markNulls, n: n}
	r.place(p.toks[i].pos, p.toks[i+1].end, "")
	return nil
}

// ---------------------------------------------------------------------------
// entry points

// parseQueryRest parses the rest of the statement as a query.
func (p *parser) parseQueryRest() (*Query, error) {
	lo, hi := p.i, len(p.toks)-1
	if lo == hi {
		return nil, p.errorf(p.peek(), "expected a query")
	}
	p.i = hi
	return p.parseQuery(lo, hi)
}

// parseExprUntil parses an expression running to the next ',' or ')' at
// depth 0 (or COMMENT, for computed columns).
func (p *parser) parseExprUntil(stopAtComment bool) (Expr, error) {
	lo := p.i
	depth := 0
	hi := lo
	for ; p.toks[hi].kind != tkEOF; hi++ {
		t := p.toks[hi]
		if depth == 0 && (t.isOp(",") || t.isOp(")") || stopAtComment && t.is("COMMENT")) {
			break
		}
		if t.isOp("(") || t.isOp("[") {
			depth++
		} else if t.isOp(")") || t.isOp("]") {
			depth--
		}
	}
	if hi == lo {
		return nil, p.errorf(p.toks[lo], "expected an expression")
	}
	p.i = hi
	return p.parseExpr(lo, hi)
}

func (p *parser) ensureMarkers() {
	if p.markers == nil {
		p.markers = map[Pos]marker{}
	}
}

// parseQuery parses tokens [lo, hi) as a query.
func (p *parser) parseQuery(lo, hi int) (*Query, error) {
	p.ensureMarkers()
	if p.toks[lo].is("VALUES") {
		return p.parseValues(lo, hi)
	}
	text, base, err := p.rewrite(lo, hi)
	if err != nil {
		return nil, err
	}
	stmt, err := p.runTiDB(text, base)
	if err != nil {
		return nil, err
	}
	c := &conv{p: p, cursor: base, base: base}
	switch s := stmt.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		return c.query(s.(ast.ResultSetNode), base)
	}
	return nil, newError(p.src, base, "expected a query")
}

// parseExprList parses tokens [lo, hi) as comma-separated expressions by
// handing TiDB "SELECT <exprs>" positioned so offsets line up.
func (p *parser) parseExprList(lo, hi int) ([]Expr, error) {
	p.ensureMarkers()
	text, base, err := p.rewrite(lo, hi)
	if err != nil {
		return nil, err
	}
	const prefix = "SELECT "
	stmt, err := p.runTiDB(prefix+text, base-Pos(len(prefix)))
	if err != nil {
		return nil, err
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok || sel.From != nil || sel.Where != nil || sel.GroupBy != nil || sel.Having != nil ||
		sel.OrderBy != nil || sel.Limit != nil || sel.Distinct || sel.WindowSpecs != nil {
		return nil, newError(p.src, base, "expected an expression")
	}
	c := &conv{p: p, cursor: base, base: base - Pos(len(prefix))}
	var out []Expr
	for _, f := range sel.Fields.Fields {
		pos := c.base + Pos(f.Offset)
		if f.WildCard != nil {
			return nil, newError(p.src, pos, "unexpected *")
		}
		if f.AsName.O != "" {
			return nil, newError(p.src, pos, "unexpected alias in expression")
		}
		e, err := c.expr(f.Expr)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// parseExpr parses tokens [lo, hi) as one expression.
func (p *parser) parseExpr(lo, hi int) (Expr, error) {
	es, err := p.parseExprList(lo, hi)
	if err != nil {
		return nil, err
	}
	if len(es) != 1 {
		return nil, newError(p.src, es[1].Position(), "expected one expression")
	}
	return es[0], nil
}

// parseValues parses VALUES (row), ... in tokens [lo, hi).
func (p *parser) parseValues(lo, hi int) (*Query, error) {
	v := &Values{Pos: p.toks[lo].pos}
	i := lo + 1
	for {
		if i < hi && p.toks[i].is("ROW") {
			i++
		}
		if i >= hi || !p.toks[i].isOp("(") {
			return nil, p.errorf(p.toks[i], "expected a parenthesized row after VALUES")
		}
		end := p.matchClose(i, hi)
		if end < 0 {
			return nil, p.errorf(p.toks[i], "unbalanced (")
		}
		if end == i+1 {
			return nil, p.errorf(p.toks[end], "expected an expression")
		}
		row, err := p.parseExprList(i+1, end)
		if err != nil {
			return nil, err
		}
		if len(v.Rows) > 0 && len(row) != len(v.Rows[0]) {
			return nil, p.errorf(p.toks[i], "VALUES rows must have the same number of columns")
		}
		v.Rows = append(v.Rows, row)
		i = end + 1
		if i == hi {
			break
		}
		if !p.toks[i].isOp(",") {
			return nil, p.errorf(p.toks[i], "unexpected %s after VALUES row", describe(p.toks[i]))
		}
		i++
	}
	return &Query{Pos: v.Pos, Body: v}, nil
}

// tidbNear extracts the quoted source suffix from a TiDB syntax error
// ("line L column C near "<rest of input>" ...").
var tidbNear = regexp.MustCompile(`(?s)^line \d+ column \d+ near "(.*)`)

// runTiDB parses text (whose offset 0 is source position base) with TiDB
// and maps any error back to a source position.
func (p *parser) runTiDB(text string, base Pos) (stmt ast.StmtNode, err error) {
	tp := tidbParsers.Get().(*tidb.Parser)
	defer func() {
		if r := recover(); r != nil {
			// A panicking parser may be in a bad state: drop it.
			stmt, err = nil, newError(p.src, base, "internal parser error: %v", r)
			return
		}
		tidbParsers.Put(tp)
	}()
	stmts, _, err := tp.ParseSQL(text)
	if err != nil {
		return nil, p.tidbError(err, text, base)
	}
	if len(stmts) != 1 {
		return nil, newError(p.src, base, "expected one statement")
	}
	return stmts[0], nil
}

func (p *parser) tidbError(err error, text string, base Pos) error {
	off := len(text)
	if m := tidbNear.FindStringSubmatch(err.Error()); m != nil {
		rest := m[1]
		// The quoted part is a suffix of text; find the longest candidate.
		for q := 0; q < len(rest); q++ {
			if rest[q] == '"' && strings.HasSuffix(text, rest[:q]) {
				off = len(text) - q
			}
		}
	}
	pos := base + Pos(off)
	if pos < 0 {
		pos = 0
	}
	i := sort.Search(len(p.toks), func(i int) bool { return p.toks[i].end > pos })
	if i >= len(p.toks) || p.toks[i].kind == tkEOF {
		e := newError(p.src, pos, "unexpected end of input")
		e.Near = ""
		return e
	}
	t := p.toks[i]
	return newError(p.src, t.pos, "unexpected %s", describe(t))
}

// errAt is a small helper for converter errors.
func (p *parser) errAt(pos Pos, format string, args ...any) error {
	return newError(p.src, pos, format, args...)
}
