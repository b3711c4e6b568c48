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
	// markDistinct: IS [NOT] DISTINCT FROM rewritten to <=>, keyed by
	// operandKey of the right operand (which may carry a marker of its
	// own: a ROW(...), ARRAY[...] or CAST placeholder); n is 1 for IS
	// DISTINCT FROM.
	markDistinct
	// markSymmetric: BETWEEN SYMMETRIC with SYMMETRIC blanked, keyed by the
	// low bound.
	markSymmetric
	// markNulls: NULLS FIRST|LAST blanked, keyed by nullsKey of the start
	// of the ORDER BY item; n is 1 for FIRST.
	markNulls
	// markPlace: an expression placeholder; n indexes parser.places.
	markPlace
	// markTable: a table placeholder (quoted name "\x01<n>") for three-part
	// names, (VALUES ...) and TABLE(fn(...)) in FROM; n indexes
	// parser.places.
	markTable
	// markFilter: FILTER (WHERE cond) blanked, keyed by the start of the
	// aggregate call; n indexes the condition in parser.places.
	markFilter
	// markAsOf: FOR SYSTEM_TIME AS OF expr blanked, keyed by FOR; n
	// indexes expr in parser.places.
	markAsOf
	// markColAliases: a derived table's column alias list blanked, keyed by
	// the table's '('; n indexes an *aliasList in parser.places.
	markColAliases
	// markRegex: PostgreSQL's regular expression match a ~ b (or
	// OPERATOR(pg_catalog.~)) rewritten to =, and a !~ b to <>, keyed by
	// operandKey of the right operand (which may carry a marker of its own,
	// a $n placeholder); n is 1 for the negated form.
	markRegex
	// markEscape: PostgreSQL's escape string E'...' with the E blanked,
	// keyed by the string; its backslash escapes are decoded.
	markEscape
	// markMatchRecognize: MATCH_RECOGNIZE (...) blanked, keyed by
	// MATCH_RECOGNIZE; n indexes a *matchRecognizeBody in parser.places.
	markMatchRecognize
)

// marker records one rewrite, keyed in parser.markers by source position.
type marker struct {
	kind markerKind
	n    int
	// end is the end of a placeholder's source span (markPlace,
	// markTable): the converter moves its cursor past it, since the
	// placeholder's own contents were converted separately.
	end Pos
	// used is set when the converter consumes a marker that must be
	// consumed (see mustConsume).
	used bool
}

// mustConsume lists marker kinds whose blanked text the converter has to
// attach somewhere; one left unused means the construct stood where it has
// no meaning, which is reported rather than silently dropped.
var mustConsume = map[markerKind]string{
	markFilter:         "FILTER (WHERE ...) must follow an aggregate call",
	markAsOf:           "FOR SYSTEM_TIME AS OF must directly follow a table name",
	markColAliases:     "column aliases are not allowed here",
	markMatchRecognize: "MATCH_RECOGNIZE must directly follow a table name",
}

// hidden is embedded by the payloads that travel through parser.places
// but are not expressions; they never escape into a returned tree.
type hidden struct{ pos Pos }

func (h hidden) Position() Pos { return h.pos }
func (hidden) String() string  { return "" }
func (hidden) exprNode()       {}
func (hidden) isHidden()       {}

// isHidden reports whether e is a placeholder payload, not an expression.
func isHidden(e Expr) bool {
	_, ok := e.(interface{ isHidden() })
	return ok
}

// tableRefExpr carries a table placeholder's payload: a name, a (VALUES)
// query or a table function, plus a column alias list written after it.
type tableRefExpr struct {
	hidden
	name  ObjectName
	query *Query
	fn    *TableFunctionRef
	cols  []string
}

// aliasList carries a derived table's column aliases.
type aliasList struct {
	hidden
	cols []string
}

// valuesBody carries VALUES used as a query body (a set operand, a CTE,
// a subquery), which the rewrite turns into SELECT x.
type valuesBody struct {
	hidden
	query *Query
}

var tidbParsers = sync.Pool{New: func() any {
	p := tidb.New()
	// || is concatenation, "x" is an identifier and backslashes are
	// literal, as in Flink SQL.
	p.SetSQLMode(mysql.ModePipesAsConcat | mysql.ModeANSIQuotes | mysql.ModeNoBackslashEscapes)
	return p
}}

// flinkColumnWords are words TiDB's grammar reserves that Flink (Calcite)
// accepts as plain column names; in expression position they are replaced
// by a placeholder for the column reference they are. MEMBER is one too:
// pg_auth_members has a column member, which psql's \du reads.
var flinkColumnWords = map[string]bool{"KEY": true, "KEYS": true, "USAGE": true, "DATABASE": true, "SCHEMA": true, "MEMBER": true}

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

// matchBrackets fills p.match once per token slice: for each bracket
// token the index of its partner, -1 when unbalanced. ( and [ nest
// together, so a range's depth count and this table always agree. The
// rewrite asks for partners at nearly every call, so scanning each time
// would be quadratic.
func (p *parser) matchBrackets() {
	if p.match != nil {
		return
	}
	p.match = make([]int32, len(p.toks))
	var stack []int32
	for j, t := range p.toks {
		p.match[j] = -1
		switch {
		case t.isOp("(") || t.isOp("["):
			stack = append(stack, int32(j))
		case (t.isOp(")") || t.isOp("]")) && len(stack) > 0:
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			p.match[o], p.match[j] = int32(j), o
		}
	}
}

// matchClose returns the index (< hi) of the token closing the bracket at
// i, or -1.
func (p *parser) matchClose(i, hi int) int {
	p.matchBrackets()
	if i < 0 || i >= len(p.toks) || !p.toks[i].isOp("(") && !p.toks[i].isOp("[") {
		return -1
	}
	if j := int(p.match[i]); j >= 0 && j < hi {
		return j
	}
	return -1
}

// matchOpen returns the index (>= lo) of the token opening the bracket
// closed at i, or -1.
func (p *parser) matchOpen(i, lo int) int {
	p.matchBrackets()
	if i < 0 || i >= len(p.toks) || !p.toks[i].isOp(")") && !p.toks[i].isOp("]") {
		return -1
	}
	if j := int(p.match[i]); j >= lo {
		return j
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
	// operatorFrom holds the positions of the FROM keywords of IS [NOT]
	// DISTINCT FROM, which precede an expression, not a FROM item.
	operatorFrom map[Pos]bool
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
	p.markers[from] = marker{kind: markPlace, n: len(p.places) - 1, end: p.toks[j].end}
	r.place(from, p.toks[j].end, "x")
}

// placeTable replaces tokens [i, j] with a quoted placeholder table name.
func (r *rewriter) placeTable(i, j int, e *tableRefExpr) error {
	p := r.p
	from, to := p.toks[i].pos, p.toks[j].end
	p.places = append(p.places, e)
	p.markers[from] = marker{kind: markTable, n: len(p.places) - 1, end: to}
	name := "`\x01" + strconv.Itoa(len(p.places)-1) + "`"
	if int(to-from) < len(name) {
		return newError(p.src, from, "table reference too short to rewrite")
	}
	r.place(from, to, name)
	return nil
}

// longIdentChain returns the index of the last identifier of the dotted
// chain of identifiers starting at i when it has more than three parts
// and is not a function name, else -1.
func (r *rewriter) longIdentChain(i int) int {
	j := i
	for r.tok(j+1).isOp(".") && r.tok(j+2).isIdent() {
		j += 2
	}
	if (j-i)/2+1 <= 3 || r.tok(j+1).isOp("(") {
		return -1
	}
	return j
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
	// joinCond[d] is true after the ON or USING of a join in the FROM
	// clause at depth d, where a comma starts the FROM list's next item
	// (FROM a JOIN b ON c, LATERAL TABLE(f(b.x))).
	joinCond := map[int]bool{}
	depth := 0
	for i := r.lo; i < r.hi; i++ {
		t := r.tok(i)
		prev := token{}
		if i > r.lo {
			prev = r.tok(i - 1)
		}
		if t.isOp(",") && joinCond[depth] {
			fromAt[depth], joinCond[depth] = true, false
		}
		next := r.tok(i + 1)
		adjacent := next.pos == t.end
		// rewrite, when a case sets it, replaces the construct at i and
		// returns the index of its last token.
		var rewrite func(int) (int, error)
		switch {
		case t.isOp("!") && next.isOp("~") && adjacent:
			r.place(t.pos, next.end, "<>")
			p.markers[operandKey(r.tok(i+2).pos)] = marker{kind: markRegex, n: 1}
			i++
			continue
		case t.isOp("~"):
			r.place(t.pos, t.end, "=")
			p.markers[operandKey(next.pos)] = marker{kind: markRegex}
			continue
		case t.is("OPERATOR") && next.isOp("("):
			rewrite = r.regexOperator
		case t.is("COLLATE"):
			// PostgreSQL clients name the default collation, the only
			// one Eddy has (COLLATE pg_catalog.default).
			j := i + 1
			for j+2 < r.hi && r.tok(j+1).isOp(".") {
				j += 2
			}
			if !r.tok(j).isIdent() || !strings.EqualFold(r.tok(j).val, "default") {
				return r.errorf(i, "only COLLATE pg_catalog.default is supported")
			}
			r.place(t.pos, r.tok(j).end, "")
			i = j
			continue
		case t.isIdent() && !prev.isOp(".") && next.isOp(".") && r.longIdentChain(i) > i:
			// t.c.f.g.h: TiDB's names have at most three parts, Flink's
			// nested field accesses any number.
			j := r.longIdentChain(i)
			parts := make([]string, 0, (j-i)/2+1)
			for k := i; k <= j; k += 2 {
				parts = append(parts, r.tok(k).val)
			}
			r.placeExpr(i, j, &Ident{Pos: t.pos, Parts: parts})
			i = j
			continue
		case t.kind == tkQuoted && strings.HasPrefix(t.val, "\x01"):
			// The prefix marks table placeholders (see placeTable).
			return r.errorf(i, "quoted identifier may not start with a control character")
		case t.isOp("::"):
			rewrite = r.pgCast
		case t.kind == tkOp && mysqlOnlyOps[t.val]:
			return r.errorf(i, "operator %s is MySQL syntax, not Flink SQL", t.val)
		case t.kind == tkWord && flinkColumnWords[t.upper] && !next.isOp("(") && !next.isOp(".") &&
			!prev.is("AS") && !prev.is("PRIMARY") && !prev.is("FOREIGN") && !prev.is("UNIQUE"):
			if prev.isOp(".") && i-2 >= r.lo && r.tok(i-2).isIdent() {
				q := r.tok(i - 2)
				r.placeExpr(i-2, i, &Ident{Pos: q.pos, Parts: []string{q.val, t.val}})
			} else {
				r.placeExpr(i, i, &Ident{Pos: t.pos, Parts: []string{t.val}})
			}
		case t.is("REGEXP") && next.isOp("(") && !prev.isOp(".") && !endsOperand(prev):
			// Flink's function REGEXP(s, regex); the infix operator of
			// MySQL, which Flink does not have, is refused next.
			rewrite = r.call
		case t.is("REGEXP"):
			return r.errorf(i, "the REGEXP operator is MySQL syntax, not Flink SQL; use the function REGEXP(string, regex)")
		case t.is("OVERLAY") && next.isOp("(") && !prev.isOp("."):
			rewrite = r.overlay
		case t.is("IS") && (next.is("JSON") || next.is("NOT") && r.tok(i+2).is("JSON")):
			rewrite = r.isJSON
		case t.is("JSON_EXISTS") && next.isOp("(") && !prev.isOp("."):
			rewrite = r.jsonExists
		case t.is("CASE") && !prev.isOp("."):
			rewrite = r.caseList
		case t.is("JSON") && next.isOp("(") && !prev.isOp("."):
			return r.errorf(i, "JSON(...) can only be a value of JSON_OBJECT or JSON_ARRAY")
		case t.kind == tkWord && mysqlOnlyWords[t.upper]:
			return r.errorf(i, "%s is MySQL syntax, not Flink SQL", t.upper)
		case (t.is("USE") || t.is("FORCE") || t.is("IGNORE")) && (next.is("INDEX") || next.is("KEY")):
			return r.errorf(i, "index hints are MySQL syntax, not Flink SQL")
		case t.is("FOR") && (next.is("UPDATE") || next.is("SHARE")):
			return r.errorf(i, "locking clauses are MySQL syntax, not Flink SQL")
		case t.kind == tkNumber && adjacent && (next.kind == tkWord || next.kind == tkString || next.kind == tkQuoted):
			return r.errorf(i, "invalid number")
		case t.is("E") && adjacent && next.kind == tkString && !strings.HasSuffix(next.val, "\\"):
			// A trailing backslash escaped the closing quote, which the
			// lexer (standard strings) ended the literal at instead.
			r.place(t.pos, t.end, "")
			p.markers[next.pos] = marker{kind: markEscape}
			i++
			continue
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
		case t.is("LATERAL") && next.is("TABLE") && r.tok(i+2).isOp("(") && r.startsFromItem(prev, fromAt, depth):
			rewrite = func(i int) (int, error) { return r.tableFunc(i, true) }
		case t.is("TABLE") && next.isOp("(") && r.startsFromItem(prev, fromAt, depth):
			rewrite = func(i int) (int, error) { return r.tableFunc(i, false) }
		case t.is("PG_CATALOG") && next.isOp(".") && r.tok(i+2).is("UNNEST") && r.tok(i+3).isOp("(") && r.startsFromItem(prev, fromAt, depth):
			// PostgreSQL's qualified name of UNNEST (psql's \d+ sends it).
			rewrite = func(i int) (int, error) { return r.unnestFrom(i, i+2) }
		case t.is("UNNEST") && next.isOp("(") && r.startsFromItem(prev, fromAt, depth):
			rewrite = r.unnest
		case t.is("PG_CATALOG") && next.isOp(".") && r.isBareTableFunc(i+2) && r.startsFromItem(prev, fromAt, depth):
			rewrite = func(i int) (int, error) { return r.bareTableFuncFrom(i, i+2) }
		case r.isBareTableFunc(i) && r.startsFromItem(prev, fromAt, depth):
			rewrite = r.bareTableFunc
		case t.is("MATCH_RECOGNIZE") && next.isOp("("):
			rewrite = r.matchRecognize
		case t.is("FOR") && next.is("SYSTEM_TIME"):
			rewrite = func(i int) (int, error) { return r.asOf(i, fromAt, depth) }
		case t.is("FILTER") && next.isOp("(") && r.tok(i+2).is("WHERE") && prev.isOp(")"):
			rewrite = r.filter
		case t.is("VALUES") && (i == r.lo || prev.isOp("(") || isSetOp(prev) ||
			(prev.is("ALL") || prev.is("DISTINCT")) && isSetOp(r.tok(i-2))):
			rewrite = r.valuesOperand
		case (t.is("FLOOR") || t.is("CEIL") || t.is("CEILING")) && next.isOp("(") && !prev.isOp("."):
			rewrite = r.floorTo
		case (t.is("JSON_OBJECTAGG") || t.is("JSON_ARRAYAGG")) && next.isOp("(") && !prev.isOp("."):
			// Before the generic call: an OVER after it is refused there.
			rewrite = r.jsonAgg
		case t.kind == tkWord && next.isOp("(") && !prev.isOp(".") && !prev.is("TABLE") && r.ownCall(i):
			rewrite = r.call
		case t.isOp("(") && r.overlapsAt(i):
			rewrite = r.overlaps
		case t.isOp("(") || t.isOp("["):
			depth++
			if t.isOp("(") && next.is("VALUES") && r.startsFromItem(prev, fromAt, depth-1) {
				rewrite = r.valuesTable
				depth--
			} else if t.isOp("(") && r.startsFromItem(prev, fromAt, depth-1) && !next.is("SELECT") && !next.is("WITH") {
				// A parenthesized join: a FROM list continues inside.
				fromAt[depth] = true
			} else if t.isOp("[") {
				rewrite = r.index
				depth--
			}
		case t.isOp(")") || t.isOp("]"):
			delete(fromAt, depth)
			delete(joinCond, depth)
			depth--
			if t.isOp(")") && fromAt[depth] {
				rewrite = func(i int) (int, error) { return r.derivedAliases(i, fromAt, depth) }
			} else if t.isOp(")") && next.isOp(".") && isFieldName(r.tok(i+2)) {
				rewrite = r.parenFields
			}
		case t.is("UPDATE") && i == r.lo && next.isIdent() && r.tok(i+2).isOp(".") && r.tok(i+4).isOp("."):
			// UPDATE's table: TiDB's two-part TableName cannot hold cat.db.tbl.
			rewrite = func(i int) (int, error) { return r.threePartTable(i + 1) }
		case t.is("FROM") || t.is("JOIN"):
			fromAt[depth] = true
			if next.isIdent() && r.tok(i+2).isOp(".") && r.tok(i+4).isOp(".") {
				rewrite = func(i int) (int, error) { return r.threePartTable(i + 1) }
			}
		case t.isOp(",") && fromAt[depth] && next.isIdent() && r.tok(i+2).isOp(".") && r.tok(i+4).isOp("."):
			rewrite = func(i int) (int, error) { return r.threePartTable(i + 1) }
		case t.is("WHERE") || t.is("GROUP") || t.is("HAVING") || t.is("ORDER") || t.is("LIMIT") ||
			t.is("UNION") || t.is("EXCEPT") || t.is("INTERSECT") || t.is("WINDOW") || t.is("ON") || t.is("USING"):
			joinCond[depth] = (t.is("ON") || t.is("USING")) && (fromAt[depth] || joinCond[depth])
			fromAt[depth] = false
			if t.is("LIMIT") && i+2 < r.hi && r.tok(i+2).isOp(",") {
				return r.errorf(i, "LIMIT offset, count is MySQL syntax; use LIMIT count OFFSET offset")
			}
			if t.is("GROUP") && next.is("BY") {
				rewrite = r.groupBy
			}
		case t.is("INTERVAL"):
			rewrite = r.interval
		case (t.is("CAST") || t.is("TRY_CAST")) && next.isOp("("):
			rewrite = r.cast
		case (t.is("JSON_VALUE") || t.is("JSON_QUERY")) && next.isOp("("):
			rewrite = r.jsonFunc
		case (t.is("JSON_OBJECT") || t.is("JSON_ARRAY")) && next.isOp("(") && !prev.isOp("."):
			rewrite = r.jsonCtor
		case t.is("SPLIT") && next.isOp("(") && !prev.isOp("."):
			// SPLIT is a keyword of TiDB's grammar (SPLIT TABLE), so its
			// calls are ours to parse.
			rewrite = r.call
		case t.is("EXTRACT") && next.isOp("("):
			rewrite = r.extract
		case (t.is("ANY") || t.is("SOME") || t.is("ALL")) && next.isOp("(") && isComparisonOp(prev) &&
			!r.tok(i+2).is("SELECT") && !r.tok(i+2).is("WITH") && !r.tok(i+2).is("VALUES"):
			rewrite = r.quantified
		case t.is("ARRAY") && next.isOp("(") && (r.tok(i+2).is("SELECT") || r.tok(i+2).is("WITH") || r.tok(i+2).is("VALUES")):
			rewrite = r.arraySubquery
		case (t.is("ARRAY") || t.is("MAP")) && next.isOp("["):
			rewrite = r.collection
		case t.is("ROW") && next.isOp("(") && !prev.isOp("."):
			// TiDB's row constructor needs two fields; Flink's takes one.
			rewrite = r.rowCtor
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
			if r.operatorFrom == nil {
				r.operatorFrom = map[Pos]bool{}
			}
			r.operatorFrom[r.tok(j+1).pos] = true
			p.markers[operandKey(r.tok(j+2).pos)] = marker{kind: markDistinct, n: n}
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
		if rewrite != nil {
			j, err := rewrite(i)
			if err != nil {
				return err
			}
			i = j
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
	var units [2]string
	unit := func(prec *int) error {
		u := r.tok(j)
		name := u.upper
		if u.kind == tkWord && intervalUnits[strings.TrimSuffix(name, "S")] {
			// Flink also accepts the plural: INTERVAL '10' MINUTES.
			name = strings.TrimSuffix(name, "S")
		}
		if u.kind != tkWord || !intervalUnits[name] {
			return r.errorf(j, "expected an interval unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)")
		}
		if units[0] == "" {
			units[0] = name
		} else {
			units[1] = name
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
	if r.tok(j).is("TO") {
		j++
		if err := unit(&lit.ToPrecision); err != nil {
			return 0, err
		}
	}
	lit.Unit, lit.ToUnit = units[0], units[1]
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
// regexOperator rewrites PostgreSQL's OPERATOR([schema.]op) at i, which
// psql writes for the regular expression match: ~ becomes = and !~
// becomes <>, marked as markRegex. It returns the index of the closing
// parenthesis.
func (r *rewriter) regexOperator(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	k := i + 2
	if r.tok(k).isIdent() && r.tok(k+1).isOp(".") {
		if !strings.EqualFold(r.tok(k).val, "pg_catalog") {
			return 0, r.errorf(k, "unknown operator schema %s", r.tok(k).val)
		}
		k += 2
	}
	var op string
	n := 0
	switch {
	case k+1 == end && r.tok(k).isOp("~"):
		op = "="
	case k+2 == end && r.tok(k).isOp("!") && r.tok(k+1).isOp("~"):
		op, n = "<>", 1
	default:
		return 0, r.errorf(i, "only OPERATOR(pg_catalog.~) and OPERATOR(pg_catalog.!~) are supported")
	}
	r.place(r.tok(i).pos, r.tok(end).end, op)
	p.markers[operandKey(r.tok(end+1).pos)] = marker{kind: markRegex, n: n}
	return end, nil
}

// operandKey is the markers key of a marker describing the binary operator
// whose right operand starts at pos (markRegex, markDistinct): negative, so
// it never collides with the operand's own marker. Two such operators never
// share a right operand's start, since the later one's operand begins after
// it.
func operandKey(pos Pos) Pos { return -pos - 1 }

// nullsKey is the key of a markNulls marker: apart from the markers keyed
// by source position, since the ORDER BY item may start with a CAST or
// other placeholder whose own marker is keyed there.
func nullsKey(pos Pos) Pos { return pos + 1<<40 }

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

// pgCast replaces PostgreSQL's cast operator, operand::type with the ::
// at i, which PostgreSQL drivers and psql write ($1::int, 'x'::text,
// c.oid::pg_catalog.regclass). The operand is the primary expression
// before it; a chain x::a::b is replaced whole. PostgreSQL's type names
// become the Flink types with the same values (text is STRING, an oid
// BIGINT); the reg* object identifier types, whose text form names the
// object, become calls of the functions of the same name. It returns the
// index of the chain's last token.
func (r *rewriter) pgCast(i int) (int, error) {
	p := r.p
	start := -1
	if i > r.lo {
		switch prev := r.tok(i - 1); prev.kind {
		case tkString, tkNumber, tkParam:
			start = i - 1
		default:
			start = r.baseStart(i - 1)
		}
	}
	if start < 0 {
		return 0, r.errorf(i, "expected an expression before ::")
	}
	e, err := p.parseExpr(start, i)
	if err != nil {
		return 0, err
	}
	j := i
	for r.tok(j).isOp("::") {
		if e, j, err = r.pgCastType(e, j+1); err != nil {
			return 0, err
		}
	}
	r.placeExpr(start, j-1, e)
	return j - 1, nil
}

// pgTypes maps PostgreSQL type names (pg_catalog's and SQL's) to Flink's.
var pgTypes = map[string]string{
	"TEXT": "STRING", "VARCHAR": "VARCHAR", "NAME": "STRING", "BPCHAR": "CHAR", "CHAR": "CHAR",
	"BOOL": "BOOLEAN", "BOOLEAN": "BOOLEAN", "INT2": "SMALLINT", "SMALLINT": "SMALLINT",
	"INT4": "INT", "INT": "INT", "INTEGER": "INT", "INT8": "BIGINT", "BIGINT": "BIGINT",
	"OID": "BIGINT", "FLOAT4": "FLOAT", "REAL": "FLOAT", "FLOAT8": "DOUBLE", "DOUBLE": "DOUBLE",
	"NUMERIC": "DECIMAL", "DECIMAL": "DECIMAL", "DATE": "DATE", "TIME": "TIME",
	"TIMESTAMP": "TIMESTAMP", "TIMESTAMPTZ": "TIMESTAMP_LTZ", "BYTEA": "BYTES",
	"STRING": "STRING", "BYTES": "BYTES", "TINYINT": "TINYINT", "FLOAT": "FLOAT",
}

// pgRegTypes are PostgreSQL's object identifier types, cast to by a call.
var pgRegTypes = map[string]bool{"REGCLASS": true, "REGTYPE": true, "REGNAMESPACE": true, "REGPROC": true, "REGROLE": true}

// pgCastType parses the type of a :: cast at k ([pg_catalog.]name
// [(params)] [[]]), applies it to e and returns the index after it.
func (r *rewriter) pgCastType(e Expr, k int) (Expr, int, error) {
	p := r.p
	if r.tok(k).is("PG_CATALOG") && r.tok(k+1).isOp(".") {
		k += 2
	}
	t := r.tok(k)
	if !t.isIdent() {
		return nil, 0, r.errorf(k, "expected a data type after ::")
	}
	k++
	if pgRegTypes[t.upper] {
		return &FuncCall{Pos: e.Position(), Name: t.upper, Args: []Expr{e}}, k, nil
	}
	if t.is("DOUBLE") && r.tok(k).is("PRECISION") {
		k++
	}
	name, ok := pgTypes[strings.ToUpper(t.val)]
	if !ok {
		return nil, 0, r.errorf(k-1, "unknown data type %s", t.val)
	}
	typ := &TypeName{Pos: t.pos, Name: name}
	if r.tok(k).isOp("(") {
		end, err := r.closeOf(k)
		if err != nil {
			return nil, 0, err
		}
		if typ.Params, err = p.subParser(k, end+1).parseTypeParams(maxTypeParams[name]); err != nil {
			return nil, 0, err
		}
		k = end + 1
	}
	if r.tok(k).isOp("[") && r.tok(k+1).isOp("]") {
		typ = &TypeName{Pos: t.pos, Name: "ARRAY", Elem: typ}
		k += 2
	}
	return &Cast{Pos: e.Position(), Expr: e, Type: typ}, k, nil
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

// jsonFunc replaces JSON_VALUE(json, path [RETURNING type] [behavior ON
// EMPTY] [behavior ON ERROR]) and JSON_QUERY(json, path [RETURNING type]
// [wrapper] [behavior ON EMPTY] [behavior ON ERROR]) at i with the call
// exec/expr evaluates, the clauses becoming arguments:
//
//	JSON_VALUE(json, path, onEmpty, emptyDefault, onError, errorDefault)
//	JSON_QUERY(json, path, wrapper, onEmpty, onError)
//
// A JSON_VALUE behavior is 'NULL', 'ERROR' or 'DEFAULT'; its defaults are
// cast to the RETURNING type (STRING without it) and so carry that type to
// the function, which returns it. A JSON_QUERY wrapper is
// 'WITHOUT', 'CONDITIONAL' or 'UNCONDITIONAL', a behavior 'NULL',
// 'ERROR', 'EMPTY ARRAY' or 'EMPTY OBJECT'; its RETURNING type is a
// string type the result is cast to. A call without clauses is left to
// TiDB as any function call.
func (r *rewriter) jsonFunc(i int) (int, error) {
	p := r.p
	fn := p.toks[i].upper
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	usage := fn + "(json, path [RETURNING type] [... ON EMPTY] [... ON ERROR])"
	if fn == "JSON_QUERY" {
		usage = fn + "(json, path [RETURNING type] [WITH|WITHOUT ... WRAPPER] [... ON EMPTY] [... ON ERROR])"
	}
	// The path ends where the first clause begins.
	comma, clauses := -1, end
	depth := 0
	for j := i + 2; j < end && clauses == end; j++ {
		t := p.toks[j]
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth > 0:
		case t.isOp(","):
			if comma >= 0 {
				return 0, r.errorf(j, "expected %s", usage)
			}
			comma = j
		case comma >= 0 && j > comma+1 && isJSONClauseStart(t):
			clauses = j
		}
	}
	if clauses == end {
		return i, nil
	}
	if comma < 0 || comma == i+2 || clauses == comma+1 {
		return 0, r.errorf(i, "expected %s", usage)
	}
	args := make([]Expr, 2)
	for k, rng := range [][2]int{{i + 2, comma}, {comma + 1, clauses}} {
		if args[k], err = p.parseExpr(rng[0], rng[1]); err != nil {
			return 0, err
		}
	}
	pos := p.toks[i].pos
	j := clauses
	var typ *TypeName
	if p.toks[j].is("RETURNING") {
		k := j + 1
		for depth := 0; k < end; k++ {
			t := p.toks[k]
			switch {
			case t.isOp("("):
				depth++
			case t.isOp(")"):
				depth--
			}
			// TIMESTAMP(3) WITH LOCAL TIME ZONE and NOT NULL are part of
			// the type.
			typeWord := t.is("RETURNING") || t.is("NULL") && p.toks[k-1].is("NOT") || fn == "JSON_VALUE" && (t.is("WITH") || t.is("WITHOUT"))
			if depth == 0 && isJSONClauseStart(t) && !typeWord {
				break
			}
		}
		if k == j+1 {
			return 0, r.errorf(j, "RETURNING needs a data type")
		}
		if typ, err = p.subParser(j+1, k).parseTypeAll(); err != nil {
			return 0, err
		}
		j = k
	}
	str := func(s string) Expr { return &Literal{Pos: pos, Kind: StringLit, Text: s} }
	var call Expr
	if fn == "JSON_QUERY" {
		wrapper := "WITHOUT"
		if j, wrapper, err = r.jsonWrapper(j, end); err != nil {
			return 0, err
		}
		behaviors := map[string]string{"EMPTY": "NULL", "ERROR": "NULL"}
		if err := r.jsonBehaviors(j, end, fn, behaviors, nil); err != nil {
			return 0, err
		}
		args = append(args, str(wrapper), str(behaviors["EMPTY"]), str(behaviors["ERROR"]))
		switch {
		case typ == nil:
		case typ.Name == "ARRAY" && typ.Elem != nil && isStringTypeName(typ.Elem.Name):
			// Flink returns the array's elements as strings.
			args = append(args, str("ARRAY"))
		case typ.Elem != nil || typ.Key != nil || typ.Fields != nil:
			return 0, r.errorf(clauses+1, "JSON_QUERY RETURNING %s is not supported: it returns a string type or ARRAY<STRING>", typ)
		}
		call = &FuncCall{Pos: pos, Name: fn, Args: args}
		if typ != nil {
			call = &Cast{Pos: pos, Expr: call, Type: typ}
		}
	} else {
		if typ == nil {
			typ = &TypeName{Pos: pos, Name: "STRING"}
		}
		behaviors := map[string]string{"EMPTY": "NULL", "ERROR": "NULL"}
		defaults := map[string]Expr{}
		if err := r.jsonBehaviors(j, end, fn, behaviors, defaults); err != nil {
			return 0, err
		}
		for _, on := range []string{"EMPTY", "ERROR"} {
			d := defaults[on]
			if d == nil {
				d = &Literal{Pos: pos, Kind: NullLit, Text: "NULL"}
			}
			args = append(args, str(behaviors[on]), &Cast{Pos: d.Position(), Expr: d, Type: typ})
		}
		call = &FuncCall{Pos: pos, Name: fn, Args: args}
	}
	r.placeExpr(i, end, call)
	return end, nil
}

// jsonCtor replaces JSON_OBJECT([KEY] k VALUE v, ... [NULL | ABSENT ON
// NULL]) and JSON_ARRAY(v, ... [NULL | ABSENT ON NULL]) at i with the
// calls exec/expr evaluates: JSON_OBJECT(k1, v1, ...) with NULL ON NULL
// (the default) or $JSON_OBJECT_ABSENT_ON_NULL(k1, v1, ...), and
// JSON_ARRAY(v1, ...) with ABSENT ON NULL (the default) or
// $JSON_ARRAY_NULL_ON_NULL(v1, ...). A call with neither KEY, VALUE nor an
// ON NULL clause is left to TiDB as any function call.
func (r *rewriter) jsonCtor(i int) (int, error) {
	p := r.p
	fn := p.toks[i].upper
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	// The top-level commas split the arguments (not those of a WHEN's
	// list of values inside CASE ... END).
	var bounds [][2]int
	lo, depth, cases, clause := i+2, 0, 0, false
	for j := i + 2; j <= end; j++ {
		t := p.toks[j]
		switch {
		case j == end || depth == 0 && cases == 0 && t.isOp(","):
			bounds = append(bounds, [2]int{lo, j})
			lo = j + 1
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case t.is("CASE"):
			cases++
		case t.is("END") && cases > 0:
			cases--
		case depth == 0 && (t.is("KEY") || t.is("VALUE") || t.is("JSON") && p.toks[j+1].isOp("(")):
			clause = true
		}
	}
	// The ON NULL clause ends the last argument.
	last := &bounds[len(bounds)-1]
	onNull, hi := r.jsonOnNull(last[0], last[1])
	if onNull != "" {
		last[1], clause = hi, true
	}
	if !clause {
		return i, nil
	}
	if last[0] == last[1] {
		if len(bounds) > 1 {
			return 0, r.errorf(last[1], "expected an expression before %s ON NULL", onNull)
		}
		bounds = bounds[:0]
	}
	var args []Expr
	for _, b := range bounds {
		if b[0] == b[1] {
			return 0, r.errorf(b[1], "expected an expression")
		}
		if fn == "JSON_ARRAY" {
			e, err := r.jsonCtorValue(b[0], b[1])
			if err != nil {
				return 0, err
			}
			args = append(args, e)
			continue
		}
		k, val, err := r.jsonKeyValue(fn, b[0], b[1])
		if err != nil {
			return 0, err
		}
		args = append(args, k, val)
	}
	name := fn
	switch {
	case fn == "JSON_OBJECT" && onNull == "ABSENT":
		name = jsonObjectAbsentOnNull
	case fn == "JSON_ARRAY" && onNull == "NULL":
		name = jsonArrayNullOnNull
	}
	r.placeExpr(i, end, &FuncCall{Pos: p.toks[i].pos, Name: name, Args: args})
	return end, nil
}

// The calls of JSON_OBJECT with ABSENT ON NULL and JSON_ARRAY with NULL ON
// NULL (exec/expr's names for them).
const (
	jsonObjectAbsentOnNull = "$JSON_OBJECT_ABSENT_ON_NULL"
	jsonArrayNullOnNull    = "$JSON_ARRAY_NULL_ON_NULL"
)

// formatJSONCall prints the calls jsonCtor and jsonAgg write in Flink's
// syntax, which parses back to them, and reports whether e was one.
func formatJSONCall(b *strings.Builder, e *FuncCall) bool {
	var fn, onNull string
	object, agg := false, false
	switch e.Name {
	case jsonObjectAbsentOnNull:
		fn, onNull, object = "JSON_OBJECT", "ABSENT", true
	case jsonArrayNullOnNull:
		fn, onNull = "JSON_ARRAY", "NULL"
	default:
		base, behavior, ok := strings.Cut(e.Name, "AGG_")
		if !ok || base != "JSON_OBJECT" && base != "JSON_ARRAY" || behavior != "NULL_ON_NULL" && behavior != "ABSENT_ON_NULL" {
			return false
		}
		fn, onNull, object, agg = base+"AGG", strings.TrimSuffix(behavior, "_ON_NULL"), base == "JSON_OBJECT", true
	}
	args := e.Args
	if agg {
		// jsonAgg wrapped the value in JSON_STRING; the syntax has it bare.
		n := len(args)
		if n == 0 {
			return false
		}
		v, ok := args[n-1].(*FuncCall)
		if !ok || v.Name != "JSON_STRING" || len(v.Args) != 1 {
			return false
		}
		args = append(append([]Expr{}, args[:n-1]...), v.Args[0])
	}
	if object && len(args)%2 != 0 {
		return false
	}
	b.WriteString(fn + "(")
	if object {
		for i := 0; i < len(args); i += 2 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("KEY ")
			formatExpr(b, args[i])
			b.WriteString(" VALUE ")
			formatExpr(b, args[i+1])
		}
	} else {
		formatList(b, args)
	}
	if len(args) > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(onNull + " ON NULL)")
	if e.Filter != nil {
		b.WriteString(" FILTER (WHERE ")
		formatExpr(b, e.Filter)
		b.WriteByte(')')
	}
	return true
}

// jsonOnNull finds a trailing NULL ON NULL or ABSENT ON NULL in tokens
// [lo, hi): its behavior (NULL or ABSENT, "" without one) and where it
// starts.
func (r *rewriter) jsonOnNull(lo, hi int) (string, int) {
	p := r.p
	if k := hi - 3; k >= lo && (p.toks[k].is("NULL") || p.toks[k].is("ABSENT")) &&
		p.toks[k+1].is("ON") && p.toks[k+2].is("NULL") {
		return p.toks[k].upper, k
	}
	return "", hi
}

// jsonKeyValue parses [KEY] key VALUE value in tokens [lo, hi), an entry
// of JSON_OBJECT or JSON_OBJECTAGG.
func (r *rewriter) jsonKeyValue(fn string, lo, hi int) (Expr, Expr, error) {
	p := r.p
	start := lo
	if p.toks[lo].is("KEY") {
		lo++
	}
	v, depth := -1, 0
	for j := lo; j < hi && v < 0; j++ {
		switch t := p.toks[j]; {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth == 0 && t.is("VALUE"):
			v = j
		}
	}
	if v <= lo || v+1 >= hi {
		return nil, nil, r.errorf(start, "expected [KEY] key VALUE value in %s", fn)
	}
	k, err := p.parseExpr(lo, v)
	if err != nil {
		return nil, nil, err
	}
	parseValue := p.parseExpr
	if fn == "JSON_OBJECT" {
		parseValue = r.jsonCtorValue
	}
	val, err := parseValue(v+1, hi)
	if err != nil {
		return nil, nil, err
	}
	return k, val, nil
}

// jsonAgg replaces JSON_OBJECTAGG([KEY] k VALUE v [NULL | ABSENT ON NULL])
// and JSON_ARRAYAGG(v [NULL | ABSENT ON NULL]) at i with the aggregates
// exec/agg implements, named for their ON NULL behavior as in Flink
// (JSON_OBJECTAGG_NULL_ON_NULL by default, JSON_ARRAYAGG_ABSENT_ON_NULL by
// default), the value wrapped in JSON_STRING as Flink's
// WrapJsonAggFunctionArgumentsRule does, so that the aggregate splices
// JSON texts.
func (r *rewriter) jsonAgg(i int) (int, error) {
	p := r.p
	fn := p.toks[i].upper
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	if r.tok(end + 1).is("OVER") {
		return 0, r.errorf(i, "%s is not supported in OVER windows", fn)
	}
	onNull, hi := r.jsonOnNull(i+2, end)
	for j, depth, cases := i+2, 0, 0; j < hi; j++ {
		switch t := p.toks[j]; {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case t.is("CASE"):
			cases++
		case t.is("END") && cases > 0:
			cases--
		case cases > 0:
		case depth == 0 && t.is("ORDER") && r.tok(j+1).is("BY"):
			return 0, r.errorf(j, "ORDER BY in %s is not supported", fn)
		case depth == 0 && t.isOp(","):
			return 0, r.errorf(j, "%s takes one entry", fn)
		}
	}
	pos := p.toks[i].pos
	var args []Expr
	var v Expr
	if fn == "JSON_OBJECTAGG" {
		var k Expr
		if k, v, err = r.jsonKeyValue(fn, i+2, hi); err != nil {
			return 0, err
		}
		args = append(args, k)
		if onNull == "" {
			onNull = "NULL"
		}
	} else {
		if hi == i+2 {
			return 0, r.errorf(i, "%s needs a value", fn)
		}
		if v, err = p.parseExpr(i+2, hi); err != nil {
			return 0, err
		}
		if onNull == "" {
			onNull = "ABSENT"
		}
	}
	args = append(args, &FuncCall{Pos: v.Position(), Name: "JSON_STRING", Args: []Expr{v}})
	r.placeExpr(i, end, &FuncCall{Pos: pos, Name: fn + "_" + onNull + "_ON_NULL", Args: args})
	return end, nil
}

// overlapsAt reports whether the parenthesized list at i is the first
// period of (start, end) OVERLAPS (start, end).
func (r *rewriter) overlapsAt(i int) bool {
	end := r.p.matchClose(i, r.hi)
	return end >= 0 && r.tok(end+1).is("OVERLAPS") && r.tok(end+2).isOp("(")
}

// overlaps replaces (s1, e1) OVERLAPS (s2, e2) at i with the call
// OVERLAPS(s1, e1, s2, e2), which exec/expr expands as Calcite does.
func (r *rewriter) overlaps(i int) (int, error) {
	p := r.p
	end1 := p.matchClose(i, r.hi)
	end2, err := r.closeOf(end1 + 2)
	if err != nil {
		return 0, err
	}
	var args []Expr
	for _, b := range [][2]int{{i, end1}, {end1 + 2, end2}} {
		period, err := p.parseExprList(b[0]+1, b[1])
		if err != nil {
			return 0, err
		}
		if len(period) != 2 {
			return 0, r.errorf(b[0], "a period of OVERLAPS is (start, end), got %d values", len(period))
		}
		args = append(args, period...)
	}
	r.placeExpr(i, end2, &FuncCall{Pos: p.toks[i].pos, Name: "OVERLAPS", Args: args})
	return end2, nil
}

// formatOverlaps prints the call overlaps writes in the SQL syntax, which
// parses back to it, and reports whether e was one.
func formatOverlaps(b *strings.Builder, e *FuncCall) bool {
	if e.Name != "OVERLAPS" || len(e.Args) != 4 || e.Distinct || e.Star || e.Filter != nil || e.Over != nil {
		return false
	}
	b.WriteString("((")
	formatList(b, e.Args[:2])
	b.WriteString(") OVERLAPS (")
	formatList(b, e.Args[2:])
	b.WriteString("))")
	return true
}

// isStringTypeName reports the character string type names.
func isStringTypeName(name string) bool {
	switch strings.ToUpper(name) {
	case "STRING", "VARCHAR", "CHAR":
		return true
	}
	return false
}

// isJSONClauseStart reports the words that begin a clause of JSON_VALUE or
// JSON_QUERY after its path.
func isJSONClauseStart(t token) bool {
	switch {
	case t.is("RETURNING"), t.is("WITH"), t.is("WITHOUT"), t.is("NULL"), t.is("ERROR"), t.is("DEFAULT"), t.is("EMPTY"):
		return true
	}
	return false
}

// jsonWrapper parses JSON_QUERY's optional WITHOUT [ARRAY] WRAPPER | WITH
// [CONDITIONAL | UNCONDITIONAL] [ARRAY] WRAPPER at j, returning the token
// after it and the wrapper: WITHOUT, CONDITIONAL or UNCONDITIONAL (WITH
// ARRAY WRAPPER is unconditional, as in Flink).
func (r *rewriter) jsonWrapper(j, end int) (int, string, error) {
	p := r.p
	t := p.toks[j]
	if !t.is("WITH") && !t.is("WITHOUT") {
		return j, "WITHOUT", nil
	}
	wrapper := "WITHOUT"
	k := j + 1
	if t.is("WITH") {
		wrapper = "UNCONDITIONAL"
		if k < end && (p.toks[k].is("CONDITIONAL") || p.toks[k].is("UNCONDITIONAL")) {
			wrapper = p.toks[k].upper
			k++
		}
	}
	if k < end && p.toks[k].is("ARRAY") {
		k++
	}
	if k >= end || !p.toks[k].is("WRAPPER") {
		return 0, "", r.errorf(j, "expected %s [CONDITIONAL | UNCONDITIONAL] [ARRAY] WRAPPER", t.upper)
	}
	return k + 1, wrapper, nil
}

// jsonBehaviors parses the ON EMPTY and ON ERROR clauses at [j, end) into
// behaviors (keyed EMPTY and ERROR); defaults receives the DEFAULT
// expressions of JSON_VALUE and is nil for JSON_QUERY, whose behaviors are
// NULL, ERROR, EMPTY ARRAY and EMPTY OBJECT.
func (r *rewriter) jsonBehaviors(j, end int, fn string, behaviors map[string]string, defaults map[string]Expr) error {
	p := r.p
	seen := ""
	for j < end {
		start := j
		t := p.toks[j]
		var behavior string
		var dflt Expr
		switch {
		case t.is("NULL") || t.is("ERROR"):
			behavior = t.upper
			j++
		case defaults == nil && t.is("EMPTY") && (r.tok(j+1).is("ARRAY") || r.tok(j+1).is("OBJECT")):
			behavior = "EMPTY " + p.toks[j+1].upper
			j += 2
		case defaults != nil && t.is("DEFAULT"):
			behavior = "DEFAULT"
			// The default expression runs to the ON of its clause.
			k, depth := j+1, 0
			for ; k < end; k++ {
				u := p.toks[k]
				if u.isOp("(") {
					depth++
				} else if u.isOp(")") {
					depth--
				} else if depth == 0 && u.is("ON") && (r.tok(k+1).is("EMPTY") || r.tok(k+1).is("ERROR")) {
					break
				}
			}
			if k == j+1 {
				return r.errorf(j, "DEFAULT needs a value")
			}
			e, err := p.parseExpr(j+1, k)
			if err != nil {
				return err
			}
			dflt, j = e, k
		default:
			return r.errorf(j, "unexpected %s in %s", describe(t), fn)
		}
		if j+1 >= end || !p.toks[j].is("ON") || !(p.toks[j+1].is("EMPTY") || p.toks[j+1].is("ERROR")) {
			return r.errorf(start, "expected ON EMPTY or ON ERROR after %s", behavior)
		}
		on := p.toks[j+1].upper
		if on == seen || (on == "EMPTY" && seen == "ERROR") {
			return r.errorf(start, "%s takes at most one ON EMPTY clause, then at most one ON ERROR clause", fn)
		}
		seen = on
		behaviors[on] = behavior
		if dflt != nil {
			defaults[on] = dflt
		}
		j += 2
	}
	return nil
}

// quantified replaces ANY|SOME|ALL (array) after a comparison operator
// at i (PostgreSQL's x = ANY(arr)); with a subquery inside, TiDB's own
// quantified comparison takes it.
func (r *rewriter) quantified(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	if end == i+2 {
		return 0, r.errorf(i, "%s needs an array", p.toks[i].upper)
	}
	e, err := p.parseExpr(i+2, end)
	if err != nil {
		return 0, err
	}
	r.placeExpr(i, end, &Quantified{Pos: p.toks[i].pos, All: p.toks[i].is("ALL"), Expr: e})
	return end, nil
}

// isComparisonOp reports the comparison operators a quantifier may follow.
func isComparisonOp(t token) bool {
	switch {
	case t.isOp("="), t.isOp("<>"), t.isOp("!="), t.isOp("<"), t.isOp("<="), t.isOp(">"), t.isOp(">="):
		return true
	}
	return false
}

// arraySubquery replaces ARRAY(query) at i, PostgreSQL's array of a
// one-column query's rows, which psql's describe commands send.
func (r *rewriter) arraySubquery(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	q, err := p.parseQuery(i+2, end)
	if err != nil {
		return 0, err
	}
	r.placeExpr(i, end, &SubqueryExpr{Pos: p.toks[i].pos, Query: q, Array: true})
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

// rowCtor replaces ROW(e, ...) at i.
func (r *rewriter) rowCtor(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	if end == i+2 {
		return 0, r.errorf(i, "ROW() needs at least one field")
	}
	fields, err := p.parseExprList(i+2, end)
	if err != nil {
		return 0, err
	}
	r.placeExpr(i, end, &RowCtor{Pos: p.toks[i].pos, Fields: fields})
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
	var base Expr
	if m, ok := p.markers[p.toks[start].pos]; ok && m.kind == markPlace && m.end == p.toks[i-1].end {
		// The base is the element access just placed (a[1] of a[1][2]):
		// parsing its tokens again would rewrite its subscript twice.
		base = p.places[m.n]
	} else if base, err = p.parseExpr(start, i); err != nil {
		return 0, err
	}
	idx, err := p.parseExpr(i+1, end)
	if err != nil {
		return 0, err
	}
	r.placeExpr(start, end, &Index{Pos: p.toks[start].pos, Expr: base, Index: idx})
	return end, nil
}

// parenFields replaces (expr).field[.field...] and f(args).field[.field...],
// whose parenthesized expression or call closes at i, with a FieldAccess
// placeholder: Calcite accepts field access after any parenthesized
// expression or call, TiDB's grammar after a name only. A subquery's
// closing parenthesis is left alone.
func (r *rewriter) parenFields(i int) (int, error) {
	p := r.p
	open := p.matchOpen(i, r.lo)
	if open < 0 {
		return i, nil
	}
	start := r.baseStart(i)
	switch {
	case start == open:
		if n := r.tok(open + 1); n.is("SELECT") || n.is("WITH") || n.is("VALUES") {
			return i, nil
		}
	case start == open-1 && p.toks[start].kind == tkWord && !notCallNames[p.toks[start].upper]:
		// A call; a qualified name (db.f(x).y) belongs to it.
		for start-2 >= r.lo && p.toks[start-1].isOp(".") && p.toks[start-2].isIdent() {
			start -= 2
		}
	default:
		return i, nil
	}
	base, err := p.parseExpr(start, i+1)
	if err != nil {
		return 0, err
	}
	var fields []string
	j := i
	for r.tok(j+1).isOp(".") && isFieldName(r.tok(j+2)) {
		fields = append(fields, r.tok(j+2).val)
		j += 2
	}
	r.placeExpr(start, j, &FieldAccess{Pos: p.toks[start].pos, Expr: base, Fields: fields})
	return j, nil
}

// isFieldName reports whether t can name a field after "(expr).": a quoted
// name or a word that is not a clause keyword (SELECT (r). FROM t stays a
// syntax error rather than reading FROM as a field).
func isFieldName(t token) bool {
	return t.kind == tkQuoted || t.kind == tkWord && !notCallNames[t.upper] && !afterFromItem[t.upper]
}

// beforeParenExpr lists the keywords a parenthesized expression may
// follow, which are no function's name: SELECT (ARRAY[1, 2])[1] subscripts
// the parenthesized array, not a call of SELECT.
var beforeParenExpr = map[string]bool{
	"SELECT": true, "WHERE": true, "HAVING": true, "ON": true, "BY": true, "AND": true, "OR": true,
	"NOT": true, "CASE": true, "WHEN": true, "THEN": true, "ELSE": true, "DISTINCT": true, "ALL": true,
	"IS": true, "LIKE": true, "BETWEEN": true, "RETURN": true,
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
		if m > r.lo && p.toks[m-1].isIdent() && !(p.toks[m-1].kind == tkWord && beforeParenExpr[p.toks[m-1].upper]) &&
			!r.operatorFrom[p.toks[m-1].pos] {
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
		if j-2 >= r.lo && p.toks[j-1].isOp(".") && p.toks[j-2].isOp(")") {
			// (expr).field: the fields of a parenthesized expression.
			return r.baseStart(j - 2)
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
	cols, last, err := r.aliasColumns(end + 1)
	if err != nil {
		return 0, err
	}
	return max(last, end), r.placeTable(i, end, &tableRefExpr{query: q, cols: cols})
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
	p.markers[nullsKey(p.toks[j+1].pos)] = marker{kind: markNulls, n: n}
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
	// cases counts open CASE ... END: a WHEN's list of values has commas.
	cases := 0
	hi := lo
	for ; p.toks[hi].kind != tkEOF; hi++ {
		t := p.toks[hi]
		if depth == 0 && (t.isOp(")") || cases == 0 && (t.isOp(",") || stopAtComment && t.is("COMMENT"))) {
			break
		}
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case t.is("CASE"):
			cases++
		case t.is("END") && cases > 0:
			cases--
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
	if hi <= lo {
		return nil, p.errorf(p.toks[min(lo, hi)], "expected a query")
	}
	stmt, c, err := p.parseTiDB(lo, hi)
	if err != nil {
		return nil, err
	}
	switch s := stmt.(type) {
	case *ast.SelectStmt, *ast.SetOprStmt:
		q, err := c.query(s.(ast.ResultSetNode), c.base)
		if err != nil {
			return nil, err
		}
		return q, nil
	}
	return nil, newError(p.src, c.base, "expected a query")
}

// parseTiDB rewrites tokens [lo, hi) into TiDB's dialect and parses them
// with TiDB's parser: its statement, and a converter of it whose offsets
// point into the script.
func (p *parser) parseTiDB(lo, hi int) (ast.StmtNode, *conv, error) {
	p.ensureMarkers()
	text, base, err := p.rewrite(lo, hi)
	if err != nil {
		return nil, nil, err
	}
	stmt, err := p.runTiDB(text, base)
	if err != nil {
		return nil, nil, err
	}
	return stmt, &conv{p: p, cursor: base, base: base}, nil
}

// parseExprList parses tokens [lo, hi) as comma-separated expressions by
// handing TiDB "SELECT <exprs>" positioned so offsets line up.
func (p *parser) parseExprList(lo, hi int) ([]Expr, error) {
	if hi <= lo {
		return nil, p.errorf(p.toks[min(lo, hi)], "expected an expression")
	}
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

// ---------------------------------------------------------------------------
// calls and query bodies

func isSetOp(t token) bool { return t.is("UNION") || t.is("EXCEPT") || t.is("INTERSECT") }

// filter blanks FILTER (WHERE cond) at i, which follows an aggregate call,
// and records cond keyed by the call's start.
func (r *rewriter) filter(i int) (int, error) {
	p := r.p
	start := r.baseStart(i - 1)
	if start < 0 || !p.toks[start].isIdent() || notCallNames[p.toks[start].upper] || !p.toks[start+1].isOp("(") {
		return 0, r.errorf(i, "FILTER (WHERE ...) must follow an aggregate call")
	}
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	if end == i+3 {
		return 0, r.errorf(end, "expected a condition after WHERE")
	}
	cond, err := p.parseExpr(i+3, end)
	if err != nil {
		return 0, err
	}
	pos := p.toks[start].pos
	m, taken := p.markers[pos]
	switch {
	case !taken:
		p.places = append(p.places, cond)
		p.markers[pos] = marker{kind: markFilter, n: len(p.places) - 1}
	case m.kind == markPlace:
		// A call we parsed ourselves (see call) takes the filter directly.
		f, ok := p.places[m.n].(*FuncCall)
		if !ok || f.Filter != nil || f.Over != nil {
			return 0, r.errorf(i, "FILTER (WHERE ...) must follow an aggregate call")
		}
		f.Filter = cond
	default:
		return 0, r.errorf(i, "FILTER (WHERE ...) must follow an aggregate call")
	}
	r.place(p.toks[i].pos, p.toks[end].end, "")
	return end, nil
}

// valuesOperand rewrites VALUES (row), ... used as a query body into
// SELECT x, with x on the last ')' standing for the rows.
func (r *rewriter) valuesOperand(i int) (int, error) {
	p := r.p
	j := i + 1
	end := 0
	for {
		if r.tok(j).is("ROW") {
			j++
		}
		if !r.tok(j).isOp("(") {
			return 0, r.errorf(j, "expected a parenthesized row after VALUES")
		}
		var err error
		if end, err = r.closeOf(j); err != nil {
			return 0, err
		}
		if !r.tok(end + 1).isOp(",") {
			break
		}
		j = end + 2
	}
	q, err := p.parseValues(i, end+1)
	if err != nil {
		return 0, err
	}
	x := p.toks[end].pos
	p.places = append(p.places, &valuesBody{hidden: hidden{pos: p.toks[i].pos}, query: q})
	p.markers[x] = marker{kind: markPlace, n: len(p.places) - 1, end: p.toks[end].end}
	r.place(p.toks[i].pos, p.toks[end].end, "SELECT")
	r.buf[x-r.base] = 'x'
	return end, nil
}

// floorUnits are the units of FLOOR|CEIL(x TO unit).
var floorUnits = map[string]bool{
	"MILLENNIUM": true, "CENTURY": true, "DECADE": true, "YEAR": true, "QUARTER": true, "MONTH": true,
	"WEEK": true, "DAY": true, "HOUR": true, "MINUTE": true, "SECOND": true, "MILLISECOND": true,
	"MICROSECOND": true, "NANOSECOND": true,
}

// floorTo replaces FLOOR|CEIL|CEILING(x TO unit) at i with the call
// FLOOR|CEIL(x, 'UNIT'); other FLOOR/CEIL calls are left to TiDB.
func (r *rewriter) floorTo(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	to := -1
	for j, depth := i+2, 0; j < end; j++ {
		t := p.toks[j]
		if t.isOp("(") || t.isOp("[") {
			depth++
		} else if t.isOp(")") || t.isOp("]") {
			depth--
		} else if depth == 0 && t.is("TO") {
			to = j
			break
		}
	}
	if to < 0 {
		return i, nil
	}
	u := p.toks[to+1]
	if to == i+2 || to+2 != end || u.kind != tkWord || !floorUnits[u.upper] {
		return 0, r.errorf(to, "expected %s(expression TO unit) with a unit such as DAY or HOUR", p.toks[i].upper)
	}
	e, err := p.parseExpr(i+2, to)
	if err != nil {
		return 0, err
	}
	name := p.toks[i].upper
	if name == "CEILING" {
		name = "CEIL"
	}
	r.placeExpr(i, end, &FuncCall{Pos: p.toks[i].pos, Name: name,
		Args: []Expr{e, &Literal{Pos: u.pos, Kind: StringLit, Text: u.upper}}})
	return end, nil
}

// tidbWindowFuncs are the calls TiDB accepts before OVER.
var tidbWindowFuncs = map[string]bool{
	"AVG": true, "BIT_AND": true, "BIT_OR": true, "BIT_XOR": true, "COUNT": true, "MAX": true, "MIN": true,
	"STD": true, "STDDEV": true, "STDDEV_POP": true, "STDDEV_SAMP": true, "SUM": true, "VARIANCE": true,
	"VAR_POP": true, "VAR_SAMP": true, "ROW_NUMBER": true, "RANK": true, "DENSE_RANK": true,
	"CUME_DIST": true, "PERCENT_RANK": true, "NTILE": true, "LEAD": true, "LAG": true,
	"FIRST_VALUE": true, "LAST_VALUE": true, "NTH_VALUE": true,
}

// notCallNames are words that can precede '(' without naming a function.
var notCallNames = map[string]bool{
	"IN": true, "EXISTS": true, "AND": true, "OR": true, "NOT": true, "ON": true, "USING": true, "AS": true,
	"SELECT": true, "FROM": true, "WHERE": true, "BY": true, "HAVING": true, "OVER": true, "THEN": true,
	"WHEN": true, "ELSE": true, "CASE": true, "IS": true, "LIKE": true, "BETWEEN": true, "UNION": true,
	"ALL": true, "ANY": true, "SOME": true, "DISTINCT": true, "JOIN": true, "WITH": true, "ROW": true,
	"VALUES": true, "ESCAPE": true, "INTERVAL": true, "TABLE": true, "LATERAL": true, "WINDOW": true,
	"EXCEPT": true, "INTERSECT": true, "LIMIT": true, "OFFSET": true, "AT": true, "PARTITION": true,
}

// ownCall reports whether the call at i must be parsed by us because
// TiDB's grammar rejects it: SESSION(...) and CARDINALITY(...) (TiDB
// keywords),
// FIRST_VALUE/LAST_VALUE as plain aggregates (TiDB allows them only with
// OVER), any other function before OVER (user aggregates, LISTAGG), and
// DISTINCT calls of aggregates TiDB does not know (LISTAGG, ARRAY_AGG,
// COLLECT, user aggregates) or before OVER (TiDB windows no DISTINCT
// call, Flink does: COUNT(DISTINCT b) OVER w).
func (r *rewriter) ownCall(i int) bool {
	t := r.tok(i)
	if notCallNames[t.upper] {
		return false
	}
	if t.is("SESSION") || t.is("CARDINALITY") || matchRecognizeFuncs[t.upper] {
		return true
	}
	if r.tok(i+2).is("DISTINCT") && !tidbWindowFuncs[t.upper] {
		return true
	}
	end := r.p.matchClose(i+1, r.hi)
	if end < 0 {
		return false
	}
	over := r.tok(end + 1).is("OVER")
	if over && r.tok(i+2).is("DISTINCT") {
		return true
	}
	if t.is("FIRST_VALUE") || t.is("LAST_VALUE") {
		return !over
	}
	return over && !tidbWindowFuncs[t.upper]
}

// call replaces name([DISTINCT] args) at i with a *FuncCall. Before OVER
// the text becomes MAX(1), which TiDB accepts with a window; the converter
// swaps the call back in.
func (r *rewriter) call(i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	f := &FuncCall{Pos: p.toks[i].pos, Name: p.toks[i].upper}
	lo := i + 2
	if r.tok(lo).is("DISTINCT") {
		f.Distinct = true
		lo++
	}
	switch {
	case lo < end && p.toks[lo].isOp("*") && lo+1 == end:
		f.Star = true
	case lo < end:
		if f.Args, err = p.parseExprList(lo, end); err != nil {
			return 0, err
		}
	case f.Distinct:
		return 0, r.errorf(end, "expected an expression")
	}
	r.placeExpr(i, end, f)
	if over := r.tok(end + 1); over.is("OVER") {
		const stand = "MAX(1)"
		if int(over.pos-p.toks[i].pos) < len(stand) {
			return 0, r.errorf(i, "function call too short to rewrite; add spaces inside the parentheses")
		}
		r.place(p.toks[i].pos, over.pos, stand)
	}
	return end, nil
}

// checkConsumed reports the first marker of a kind that must be consumed
// (see mustConsume) left unused. It runs once per statement.
func (p *parser) checkConsumed() error {
	first := Pos(-1)
	for pos, m := range p.markers {
		if mustConsume[m.kind] != "" && !m.used && (first < 0 || pos < first) {
			first = pos
		}
	}
	if first >= 0 {
		return newError(p.src, first, "%s", mustConsume[p.markers[first].kind])
	}
	return nil
}

// consume marks the marker at pos used and returns it, if it has kind k.
func (p *parser) consume(pos Pos, k markerKind) (marker, bool) {
	m, ok := p.markers[pos]
	if !ok || m.kind != k {
		return marker{}, false
	}
	m.used = true
	p.markers[pos] = m
	return m, true
}
