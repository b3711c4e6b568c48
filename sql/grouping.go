package sql

// This file parses GROUP BY lists that use GROUPING SETS, ROLLUP, CUBE or
// the empty set (), none of which TiDB's grammar has (it knows only MySQL's
// WITH ROLLUP). Such a list is parsed here, expanded into explicit grouping
// sets, and replaced by one expression placeholder.

// maxGroupingSets bounds the expansion: CUBE over n columns has 2^n sets.
const maxGroupingSets = 4096

// groupingList carries an expanded GROUP BY through the placeholder table.
type groupingList struct {
	hidden
	groupBy []Expr
	sets    [][]Expr
}

// endsGroupBy reports whether t ends a GROUP BY list at its depth.
func endsGroupBy(t token) bool {
	for _, kw := range [...]string{"HAVING", "WINDOW", "ORDER", "LIMIT", "FETCH", "OFFSET", "UNION", "EXCEPT", "INTERSECT"} {
		if t.is(kw) {
			return true
		}
	}
	return t.kind == tkEOF || t.isOp(")") || t.isOp(";")
}

// splitTop splits tokens [lo, hi) at depth-0 commas into [lo, hi) ranges.
func (p *parser) splitTop(lo, hi int) [][2]int {
	var out [][2]int
	start, depth := lo, 0
	for j := lo; j < hi; j++ {
		t := p.toks[j]
		switch {
		case t.isOp("(") || t.isOp("["):
			depth++
		case t.isOp(")") || t.isOp("]"):
			depth--
		case depth == 0 && t.isOp(","):
			out = append(out, [2]int{start, j})
			start = j + 1
		}
	}
	return append(out, [2]int{start, hi})
}

// groupingConstruct reports whether tokens [lo, hi) start with GROUPING
// SETS, ROLLUP(, CUBE( or are ().
func (p *parser) groupingConstruct(lo, hi int) bool {
	t, n := p.toks[lo], p.toks[lo+1]
	return t.is("GROUPING") && n.is("SETS") || (t.is("ROLLUP") || t.is("CUBE")) && n.isOp("(") ||
		t.isOp("(") && n.isOp(")") && hi == lo+2
}

// groupBy handles GROUP BY at i. It returns the index to continue after:
// i itself when the list is plain and left to TiDB.
func (r *rewriter) groupBy(i int) (int, error) {
	p := r.p
	lo := i + 2
	hi := lo
	for depth := 0; hi < r.hi; hi++ {
		t := p.toks[hi]
		if depth == 0 && endsGroupBy(t) {
			break
		}
		if t.isOp("(") || t.isOp("[") {
			depth++
		} else if t.isOp(")") || t.isOp("]") {
			depth--
		}
	}
	if hi == lo {
		return i, nil
	}
	elems := p.splitTop(lo, hi)
	special := false
	for _, e := range elems {
		if e[1] > e[0] && p.groupingConstruct(e[0], e[1]) {
			special = true
		}
	}
	if !special {
		return i, nil
	}
	sets := [][]Expr{{}}
	for _, e := range elems {
		es, err := r.groupingElem(e[0], e[1], true)
		if err != nil {
			return 0, err
		}
		if len(sets)*len(es) > maxGroupingSets {
			return 0, r.errorf(e[0], "too many grouping sets (more than %d)", maxGroupingSets)
		}
		var next [][]Expr
		for _, s := range sets {
			for _, x := range es {
				next = append(next, append(append([]Expr(nil), s...), x...))
			}
		}
		sets = next
	}
	g := &groupingList{}
	canon := map[string]Expr{}
	for si, s := range sets {
		var set []Expr
		seen := map[string]bool{}
		for _, e := range s {
			k := FormatExpr(e)
			if seen[k] {
				continue
			}
			seen[k] = true
			c, ok := canon[k]
			if !ok {
				c = e
				canon[k] = e
				g.groupBy = append(g.groupBy, e)
			}
			set = append(set, c)
		}
		if set == nil {
			set = []Expr{}
		}
		sets[si] = set
	}
	// One set of every expression is a plain GROUP BY; the empty set alone,
	// GROUP BY GROUPING SETS (()), stays a set: it aggregates to one row.
	if len(sets) != 1 || len(sets[0]) != len(g.groupBy) || len(g.groupBy) == 0 {
		g.sets = sets
	}
	g.pos = p.toks[lo].pos
	r.placeExpr(lo, hi-1, g)
	return hi - 1, nil
}

// groupingElem expands one grouping element in tokens [lo, hi) into its
// grouping sets. A parenthesized list is one composite set.
func (r *rewriter) groupingElem(lo, hi int, top bool) ([][]Expr, error) {
	p := r.p
	if lo == hi {
		return nil, r.errorf(lo, "expected a grouping element")
	}
	t := p.toks[lo]
	inner := func(open int) (int, int, error) {
		end := p.matchClose(open, hi)
		if end != hi-1 {
			return 0, 0, r.errorf(open, "expected a parenthesized list")
		}
		return open + 1, end, nil
	}
	switch {
	case t.is("GROUPING") && p.toks[lo+1].is("SETS"):
		if !p.toks[lo+2].isOp("(") || lo+2 >= hi {
			return nil, r.errorf(lo+2, "expected ( after GROUPING SETS")
		}
		a, b, err := inner(lo + 2)
		if err != nil {
			return nil, err
		}
		if a == b {
			return nil, r.errorf(b, "expected a grouping set")
		}
		var out [][]Expr
		for _, e := range p.splitTop(a, b) {
			es, err := r.groupingElem(e[0], e[1], false)
			if err != nil {
				return nil, err
			}
			if len(out)+len(es) > maxGroupingSets {
				return nil, r.errorf(e[0], "too many grouping sets (more than %d)", maxGroupingSets)
			}
			out = append(out, es...)
		}
		return out, nil
	case (t.is("ROLLUP") || t.is("CUBE")) && p.toks[lo+1].isOp("("):
		a, b, err := inner(lo + 1)
		if err != nil {
			return nil, err
		}
		if a == b {
			return nil, r.errorf(b, "expected grouping columns")
		}
		var groups [][]Expr
		for _, e := range p.splitTop(a, b) {
			g, err := r.compositeSet(e[0], e[1])
			if err != nil {
				return nil, err
			}
			groups = append(groups, g)
		}
		if t.is("ROLLUP") {
			out := make([][]Expr, 0, len(groups)+1)
			for n := len(groups); n >= 0; n-- {
				out = append(out, concatSets(groups[:n]))
			}
			return out, nil
		}
		if len(groups) > 12 {
			return nil, r.errorf(lo, "CUBE over more than 12 elements is not supported")
		}
		n := len(groups)
		out := make([][]Expr, 0, 1<<n)
		// Element 0 is the most significant bit, so CUBE(a, b) gives
		// (a, b), (a), (b), () like ROLLUP's order.
		for mask := 1<<n - 1; mask >= 0; mask-- {
			var pick [][]Expr
			for k := 0; k < n; k++ {
				if mask&(1<<(n-1-k)) != 0 {
					pick = append(pick, groups[k])
				}
			}
			out = append(out, concatSets(pick))
		}
		return out, nil
	case t.isOp("("):
		if !top || p.matchClose(lo, hi) == hi-1 {
			g, err := r.compositeSet(lo, hi)
			if err != nil {
				return nil, err
			}
			return [][]Expr{g}, nil
		}
	}
	e, err := p.parseExpr(lo, hi)
	if err != nil {
		return nil, err
	}
	return [][]Expr{{e}}, nil
}

// compositeSet parses an expression or a parenthesized list (a, b) or ()
// in tokens [lo, hi) as one set of columns.
func (r *rewriter) compositeSet(lo, hi int) ([]Expr, error) {
	p := r.p
	if lo == hi {
		return nil, r.errorf(lo, "expected a grouping element")
	}
	if p.toks[lo].isOp("(") && p.matchClose(lo, hi) == hi-1 {
		if hi-1 == lo+1 {
			return []Expr{}, nil
		}
		return p.parseExprList(lo+1, hi-1)
	}
	e, err := p.parseExpr(lo, hi)
	if err != nil {
		return nil, err
	}
	return []Expr{e}, nil
}

func concatSets(groups [][]Expr) []Expr {
	out := []Expr{}
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
