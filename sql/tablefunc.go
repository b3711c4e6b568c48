package sql

import "strings"

// This file rewrites the FROM-clause constructs TiDB's grammar lacks:
// TABLE(fn(...)) table functions (the window TVFs and LATERAL TABLE) and
// fn(...) process table functions called without TABLE(...),
// FOR SYSTEM_TIME AS OF, and column alias lists after derived tables.

// afterFromItem lists words that may follow a FROM item, so a word in this
// set followed by '(' is not an alias with a column list.
var afterFromItem = map[string]bool{
	"ON": true, "USING": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true, "FULL": true,
	"CROSS": true, "NATURAL": true, "WHERE": true, "GROUP": true, "HAVING": true, "WINDOW": true,
	"ORDER": true, "LIMIT": true, "FETCH": true, "OFFSET": true, "UNION": true, "EXCEPT": true,
	"INTERSECT": true, "MINUS": true, "LATERAL": true, "TABLE": true, "FOR": true, "PARTITION": true,
	"TABLESAMPLE": true, "MATCH_RECOGNIZE": true, "VALUES": true, "SELECT": true, "AS": true,
}

// startsFromItem reports whether token t (at paren depth depth) is
// followed by a FROM item: FROM (but not the FROM of IS [NOT] DISTINCT
// FROM, followed by an expression), JOIN, or a comma or '(' in a FROM list.
func (r *rewriter) startsFromItem(t token, fromAt map[int]bool, depth int) bool {
	return t.is("FROM") && !r.operatorFrom[t.pos] || t.is("JOIN") || (t.isOp(",") || t.isOp("(")) && fromAt[depth]
}

// aliasColumns looks at token j, just after a FROM item, for
// [AS] alias (col, ...). It returns the column names and the index of the
// list's ')' after blanking the list, or nil and j-1 when there is none.
// The alias itself stays for TiDB.
func (r *rewriter) aliasColumns(j int) ([]string, int, error) {
	k := j
	if r.tok(k).is("AS") {
		k++
	}
	a := r.tok(k)
	if !a.isIdent() || a.kind == tkWord && afterFromItem[a.upper] || !r.tok(k+1).isOp("(") {
		return nil, j - 1, nil
	}
	end, err := r.closeOf(k + 1)
	if err != nil {
		return nil, 0, err
	}
	sub := r.p.subParser(k+1, end+1)
	cols, err := sub.parseIdentList()
	if err != nil {
		return nil, 0, err
	}
	r.place(r.tok(k+1).pos, r.tok(end).end, "")
	return cols, end, nil
}

// derivedAliases handles the ')' at i closing a FROM item: for a derived
// table (query) followed by [AS] alias (cols), it blanks the column list
// and records it for the converter, keyed by the '('.
func (r *rewriter) derivedAliases(i int, fromAt map[int]bool, depth int) (int, error) {
	p := r.p
	open := p.matchOpen(i, r.lo)
	if open <= r.lo || !r.startsFromItem(p.toks[open-1], fromAt, depth) {
		return i, nil
	}
	if in := p.toks[open+1]; !in.is("SELECT") && !in.is("WITH") && !in.isOp("(") {
		return i, nil
	}
	cols, end, err := r.aliasColumns(i + 1)
	if err != nil || cols == nil {
		return i, err
	}
	p.places = append(p.places, &aliasList{cols: cols})
	p.markers[p.toks[open].pos] = marker{kind: markColAliases, n: len(p.places) - 1}
	return end, nil
}

// tableFunc replaces [LATERAL] TABLE(fn(arg, ...)) at i (and a following
// alias column list) with a table placeholder.
func (r *rewriter) tableFunc(i int, lateral bool) (int, error) {
	tb := i
	if lateral {
		tb = i + 1
	}
	end, err := r.closeOf(tb + 1)
	if err != nil {
		return 0, err
	}
	name := r.tok(tb + 2)
	if !name.isIdent() || !r.tok(tb+3).isOp("(") {
		return 0, r.errorf(tb+2, "expected a function call in TABLE(...)")
	}
	fnEnd, err := r.closeOf(tb + 3)
	if err != nil {
		return 0, err
	}
	if fnEnd+1 != end {
		return 0, r.errorf(fnEnd+1, "expected ) after the table function call")
	}
	fn := &TableFunctionRef{Pos: r.p.toks[i].pos, Name: strings.ToUpper(name.val), Lateral: lateral}
	if fn.Args, err = r.tableFuncArgs(tb+4, fnEnd); err != nil {
		return 0, err
	}
	return r.placeTableFunc(i, end, fn)
}

// notTableFunctions lists the words that may stand before '(' where a FROM
// item starts without being the name of a table function called there.
var notTableFunctions = map[string]bool{
	"TABLE": true, "LATERAL": true, "UNNEST": true, "VALUES": true, "SELECT": true, "WITH": true,
}

// isBareTableFunc reports whether token i, where a FROM item starts, calls
// a table function without the TABLE(...) wrapper, as Flink's process
// table functions are called: FROM TO_CHANGELOG(input => TABLE t, ...).
func (r *rewriter) isBareTableFunc(i int) bool {
	t := r.tok(i)
	return t.isIdent() && r.tok(i+1).isOp("(") && !(t.kind == tkWord && notTableFunctions[t.upper])
}

// bareTableFunc replaces fn(arg, ...) at i (and a following alias column
// list) with a table placeholder; the call means what TABLE(fn(...))
// does.
func (r *rewriter) bareTableFunc(i int) (int, error) { return r.bareTableFuncFrom(i, i) }

// bareTableFuncFrom replaces the fn(arg, ...) at i, written from start on:
// start is before i for a name qualified by PostgreSQL's pg_catalog
// schema (psql's \d sends pg_catalog.generate_series(...)).
func (r *rewriter) bareTableFuncFrom(start, i int) (int, error) {
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	fn := &TableFunctionRef{Pos: r.p.toks[start].pos, Name: strings.ToUpper(r.tok(i).val)}
	if fn.Args, err = r.tableFuncArgs(i+2, end); err != nil {
		return 0, err
	}
	return r.placeTableFunc(start, end, fn)
}

// tableFuncArgs parses the comma-separated arguments in tokens [lo, end),
// end being the call's ')'.
func (r *rewriter) tableFuncArgs(lo, end int) ([]TableFuncArg, error) {
	p := r.p
	var args []TableFuncArg
	for lo < end {
		hi := lo
		for depth := 0; hi < end; hi++ {
			t := p.toks[hi]
			if depth == 0 && t.isOp(",") {
				break
			}
			if t.isOp("(") || t.isOp("[") {
				depth++
			} else if t.isOp(")") || t.isOp("]") {
				depth--
			}
		}
		if hi == lo || hi == end-1 && p.toks[hi].isOp(",") {
			return nil, r.errorf(hi, "expected a table function argument")
		}
		arg, err := r.tableFuncArg(lo, hi)
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
		lo = hi + 1
	}
	return args, nil
}

// placeTableFunc replaces tokens [i, end] and a following alias column
// list with the placeholder of fn; it returns the last token consumed.
func (r *rewriter) placeTableFunc(i, end int, fn *TableFunctionRef) (int, error) {
	cols, last, err := r.aliasColumns(end + 1)
	if err != nil {
		return 0, err
	}
	if err := r.placeTable(i, end, &tableRefExpr{fn: fn, cols: cols}); err != nil {
		return 0, err
	}
	return max(last, end), nil
}

// isArrow reports whether tokens j, j+1 spell the named-argument arrow =>.
func (r *rewriter) isArrow(j int) bool {
	return r.tok(j).isOp("=") && r.tok(j+1).isOp(">") && r.tok(j+1).pos == r.tok(j).end
}

// tableFuncArg parses one table function argument in tokens [lo, hi).
func (r *rewriter) tableFuncArg(lo, hi int) (TableFuncArg, error) {
	p := r.p
	arg := TableFuncArg{Pos: p.toks[lo].pos}
	if p.toks[lo].isIdent() && r.isArrow(lo+1) {
		if lo+3 >= hi {
			return arg, r.errorf(lo+1, "expected a value after =>")
		}
		arg.Name = strings.ToUpper(p.toks[lo].val)
		lo += 3
	}
	var err error
	switch t := p.toks[lo]; {
	case t.is("TABLE"):
		j := lo + 1
		if p.toks[j].isOp("(") {
			end := p.matchClose(j, hi)
			if end < 0 {
				return arg, r.errorf(j, "unbalanced (")
			}
			if end == j+1 {
				return arg, r.errorf(end, "expected a query")
			}
			if arg.Query, err = p.parseQuery(j+1, end); err != nil {
				return arg, err
			}
			j = end + 1
		} else {
			sub := p.subParser(j, hi)
			name, err := sub.parseObjectName()
			if err != nil {
				return arg, err
			}
			arg.Table = &name
			j += sub.i
		}
		if j < hi && p.toks[j].is("PARTITION") {
			if j+1 >= hi || !p.toks[j+1].is("BY") {
				return arg, r.errorf(j+1, "expected BY after PARTITION")
			}
			j += 2
			if j >= hi {
				return arg, r.errorf(j, "expected partition keys")
			}
			if p.toks[j].isOp("(") && p.matchClose(j, hi) == hi-1 {
				if hi-1 == j+1 {
					return arg, r.errorf(hi-1, "expected partition keys")
				}
				arg.PartitionBy, err = p.parseExprList(j+1, hi-1)
			} else {
				arg.PartitionBy, err = p.parseExprList(j, hi)
			}
			if err != nil {
				return arg, err
			}
			j = hi
		}
		if j < hi {
			return arg, r.errorf(j, "unexpected %s after table argument", describe(p.toks[j]))
		}
	case t.is("MODEL") && p.toks[lo+1].isIdent():
		sub := p.subParser(lo+1, hi)
		name, err := sub.parseObjectName()
		if err != nil {
			return arg, err
		}
		if t := sub.peek(); t.kind != tkEOF {
			return arg, sub.errorf(t, "unexpected %s after MODEL name", describe(t))
		}
		arg.Model = &name
	case t.is("DESCRIPTOR") && p.toks[lo+1].isOp("("):
		sub := p.subParser(lo+1, hi)
		if arg.Descriptor, err = sub.parseIdentList(); err != nil {
			return arg, err
		}
		if t := sub.peek(); t.kind != tkEOF {
			return arg, sub.errorf(t, "unexpected %s after DESCRIPTOR(...)", describe(t))
		}
	default:
		if arg.Expr, err = p.parseExpr(lo, hi); err != nil {
			return arg, err
		}
	}
	return arg, nil
}

// asOfStop lists words that end a FOR SYSTEM_TIME AS OF expression.
var asOfStop = map[string]bool{
	"AS": true, "ON": true, "USING": true, "JOIN": true, "INNER": true, "LEFT": true, "RIGHT": true,
	"FULL": true, "CROSS": true, "NATURAL": true, "WHERE": true, "GROUP": true, "HAVING": true,
	"WINDOW": true, "ORDER": true, "LIMIT": true, "FETCH": true, "UNION": true, "EXCEPT": true,
	"INTERSECT": true,
}

// asOf blanks FOR SYSTEM_TIME AS OF expr at i, which must directly follow
// a table name in FROM, and records expr keyed by FOR.
func (r *rewriter) asOf(i int, fromAt map[int]bool, depth int) (int, error) {
	p := r.p
	if !r.tok(i+2).is("AS") || !r.tok(i+3).is("OF") {
		return 0, r.errorf(i, "expected FOR SYSTEM_TIME AS OF")
	}
	// The table name ends just before FOR: walk back over it.
	j := i - 1
	for j >= r.lo && p.toks[j].isIdent() && j-1 >= r.lo && p.toks[j-1].isOp(".") {
		j -= 2
	}
	if j <= r.lo || !p.toks[j].isIdent() || !r.startsFromItem(p.toks[j-1], fromAt, depth) {
		return 0, r.errorf(i, "FOR SYSTEM_TIME AS OF must directly follow a table name (write the alias after it)")
	}
	lo := i + 4
	hi := lo
	for d := 0; hi < r.hi; hi++ {
		t := p.toks[hi]
		if d == 0 && (t.isOp(",") || t.isOp(")") || t.kind == tkWord && asOfStop[t.upper]) {
			break
		}
		// Two operands in a row: the second is the table alias.
		if prev := p.toks[hi-1]; d == 0 && hi > lo && t.isIdent() && (prev.isIdent() || prev.isOp(")")) {
			break
		}
		if t.isOp("(") || t.isOp("[") {
			d++
		} else if t.isOp(")") || t.isOp("]") {
			d--
		}
	}
	if hi == lo {
		return 0, r.errorf(lo, "expected an expression after AS OF")
	}
	e, err := p.parseExpr(lo, hi)
	if err != nil {
		return 0, err
	}
	p.places = append(p.places, e)
	p.markers[p.toks[i].pos] = marker{kind: markAsOf, n: len(p.places) - 1}
	r.place(p.toks[i].pos, p.toks[hi-1].end, "")
	return hi - 1, nil
}

// unnest replaces UNNEST(expr, ...) [WITH ORDINALITY] at i (and a
// following alias column list) in FROM with a table placeholder. UNNEST is
// implicitly lateral: its arguments refer to the columns of the FROM items
// to its left.
func (r *rewriter) unnest(i int) (int, error) { return r.unnestFrom(i, i) }

// unnestFrom replaces the UNNEST(...) at i, written from start on: start
// is before i for PostgreSQL's pg_catalog.unnest(...).
func (r *rewriter) unnestFrom(start, i int) (int, error) {
	p := r.p
	end, err := r.closeOf(i + 1)
	if err != nil {
		return 0, err
	}
	if end == i+2 {
		return 0, r.errorf(end, "expected an expression in UNNEST(...)")
	}
	args, err := p.parseExprList(i+2, end)
	if err != nil {
		return 0, err
	}
	fn := &TableFunctionRef{Pos: p.toks[i].pos, Name: "UNNEST", Lateral: true}
	for _, a := range args {
		fn.Args = append(fn.Args, TableFuncArg{Pos: a.Position(), Expr: a})
	}
	if r.tok(end+1).is("WITH") && r.tok(end+2).is("ORDINALITY") {
		fn.WithOrdinality = true
		end += 2
	}
	return r.placeTableFunc(start, end, fn)
}
