package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// splitAnd splits a WHERE condition at its top-level ANDs.
func splitAnd(e sql.Expr) []sql.Expr {
	if b, ok := e.(*sql.Binary); ok && b.Op == sql.And {
		return append(splitAnd(b.Left), splitAnd(b.Right)...)
	}
	return []sql.Expr{e}
}

// subqueryPredicate recognizes [NOT] IN (query) and [NOT] EXISTS (query).
func subqueryPredicate(e sql.Expr) (in *sql.InSubquery, exists *sql.Exists, not bool) {
	if u, ok := e.(*sql.Unary); ok && u.Op == sql.Not {
		in, exists, not = subqueryPredicate(u.Expr)
		return in, exists, !not
	}
	switch n := e.(type) {
	case *sql.InSubquery:
		return n, nil, n.Not
	case *sql.Exists:
		return nil, n, n.Not
	}
	return nil, nil, false
}

// bindWhere plans a WHERE clause: IN and EXISTS subqueries among its
// top-level conjuncts become semi and anti joins (as Flink decorrelates
// them), the rest a Filter.
func (b *binder) bindWhere(where sql.Expr, input Node, sc *scope) (Node, error) {
	var rest []expr.Expr
	for _, c := range splitAnd(where) {
		in, exists, not := subqueryPredicate(c)
		var err error
		switch {
		case in != nil:
			input, err = b.bindInSubquery(in, not, input, sc)
		case exists != nil:
			input, err = b.bindExists(exists, not, input, sc)
		case hasInSubquery(c):
			input, err = b.filterWithMarkJoins(c, input, sc)
		case hasScalarSubquery(c):
			input, err = b.filterWithScalarJoins(c, input, sc)
		default:
			var cond expr.Expr
			if cond, err = b.bindExpr(sc, c); err == nil {
				if k := cond.Type().Kind; k != types.Boolean && k != types.Null {
					return nil, b.errAt(errs.DatatypeMismatch, c, "WHERE condition must be BOOLEAN, not %s", cond.Type())
				}
				rest = append(rest, cond)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(rest) == 0 {
		return input, nil
	}
	cond := rest[0]
	for _, r := range rest[1:] {
		var err error
		if cond, err = b.call(where, "AND", cond, r); err != nil {
			return nil, err
		}
	}
	return &Filter{Input: input, Condition: cond}, nil
}

// bindInSubquery plans x [NOT] IN (SELECT y ...). NOT IN keeps SQL's
// three-valued logic: a NULL on either side counts as a possible match,
// so the row is dropped, as PostgreSQL and Flink do (see notInFilter).
func (b *binder) bindInSubquery(n *sql.InSubquery, not bool, input Node, sc *scope) (Node, error) {
	if sel, ok := correlatedScalarSelect(n.Query); ok && len(sel.Items) == 1 && !sel.Items[0].Star && hasAggregates(sel.Items[0].Expr) &&
		(b.refersOutside(sel) || b.itemsReferOutside(sel)) {
		// An aggregate without grouping has one row per outer row: x IN
		// (SELECT COUNT(*) ...) is x = (SELECT COUNT(*) ...), a scalar
		// subquery, which is 0 where no row matches.
		var c sql.Expr = &sql.Binary{Pos: n.Pos, Op: sql.Eq, Left: n.Expr, Right: &sql.SubqueryExpr{Pos: n.Pos, Query: n.Query}}
		if not {
			c = &sql.Unary{Pos: n.Pos, Op: sql.Not, Expr: c}
		}
		return b.filterWithScalarJoins(c, input, sc)
	}
	outer := len(sc.cols)
	input, sc, err := b.planMarkJoins(n.Expr, input, sc)
	if err != nil {
		return nil, err
	}
	if sel, ok := correlatedSelect(n.Query); ok && b.refersOutside(sel) {
		return b.bindCorrelatedIn(n, not, sel, input, sc, outer)
	}
	sub, err := b.bindQuery(n.Query)
	if err != nil {
		if !namesOutside(err) {
			return nil, err
		}
		var in Node
		if ex, ok := b.inAsExists(n, not); ok {
			in, err = b.bindExists(ex, not, input, sc)
		} else if limited, ok, lerr := b.limitedIn(n, not, input, sc); ok {
			in, err = limited, lerr
		}
		if err == nil && in == nil {
			return nil, b.errAt(errs.NotSupported, n, "this correlated IN subquery is not supported yet")
		}
		if err != nil {
			return nil, err
		}
		return keepColumns(in, outer), nil
	}
	ss := sub.Schema()
	if ss.Len() != 1 {
		return nil, b.errAt(errs.DatatypeMismatch, n, "the subquery of IN must return one column, not %d", ss.Len())
	}
	x, err := b.bindExpr(sc, n.Expr)
	if err != nil {
		return nil, err
	}
	width := input.Schema().Len()
	y := &expr.ColumnRef{Index: width, Name: ss.Columns[0].Name, T: ss.Columns[0].Type}
	lx, ok := x.(*expr.ColumnRef)
	if !ok {
		// Compute the probe expression as a column so the join has a key.
		in := input.Schema()
		input = &Project{Input: input, Exprs: append(columnRefsOf(in), x), Names: append(in.Names(), "$in")}
		lx = &expr.ColumnRef{Index: width, Name: "$in", T: x.Type()}
		width++
		y = &expr.ColumnRef{Index: width, Name: y.Name, T: y.T}
	}
	cond, err := b.call(n, "=", lx, y)
	if err != nil {
		return nil, err
	}
	// keepColumns drops the computed probe, the mark join columns and the
	// counts again.
	if !not {
		return keepColumns(&Join{Left: input, Right: sub, Type: SemiJoin, Condition: cond, SystemTime: -1}, outer), nil
	}
	j, err := b.notInFilter(n, input, sub, cond, lx, y)
	if err != nil {
		return nil, err
	}
	return keepColumns(j, outer), nil
}

// notInFilter plans the WHERE conjunct x NOT IN (sub), eq being x = y, as
// a null-aware anti join whose equality stays a hash key: an anti join on
// x = y drops the rows that match; where x or y is nullable, a cross join
// with (SELECT COUNT(*) $c, COUNT(y) $ck FROM sub) then keeps the rest
// only if sub is empty, or if x is not NULL and sub has no NULL
// (COALESCE($c, 0) = 0 OR (x IS NOT NULL AND $ck = $c)). Flink's anti
// join on x = y OR x IS NULL OR y IS NULL means the same but has no key
// to partition by: it compares every pair in one instance.
func (b *binder) notInFilter(n *sql.InSubquery, input, sub Node, eq expr.Expr, x *expr.ColumnRef, y expr.Expr) (Node, error) {
	var out Node = &Join{Left: input, Right: sub, Type: AntiJoin, Condition: eq, SystemTime: -1}
	if !x.T.Nullable() && !y.Type().Nullable() {
		return out, nil
	}
	width := out.Schema().Len()
	out, err := b.joinCounts(n.Query, out)
	if err != nil {
		return nil, err
	}
	js := out.Schema()
	count := &expr.ColumnRef{Index: width, Name: "$c", T: js.Columns[width].Type}
	nonNulls := &expr.ColumnRef{Index: width + 1, Name: "$ck", T: js.Columns[width+1].Type}
	zero := &expr.Literal{Value: int64(0), T: types.BigIntType.WithNullable(false)}
	c, err := b.call(n, "COALESCE", count, zero)
	if err != nil {
		return nil, err
	}
	empty, err := b.call(n, "=", c, zero)
	if err != nil {
		return nil, err
	}
	known, err := b.call(n, "=", nonNulls, count)
	if err != nil {
		return nil, err
	}
	if x.T.Nullable() {
		notNull, err := b.call(n, "IS NOT NULL", x)
		if err != nil {
			return nil, err
		}
		if known, err = b.call(n, "AND", notNull, known); err != nil {
			return nil, err
		}
	}
	keep, err := b.call(n, "OR", empty, known)
	if err != nil {
		return nil, err
	}
	return &Filter{Input: out, Condition: keep}, nil
}

// bindExists plans [NOT] EXISTS (SELECT ... FROM t WHERE ...): the
// conjuncts of the subquery's WHERE that refer to the outer query become
// the condition of a semi (anti) join between the outer input and the
// subquery's FROM filtered by its other conjuncts.
func (b *binder) bindExists(n *sql.Exists, not bool, input Node, sc *scope) (Node, error) {
	sel, ok := n.Query.Body.(*sql.Select)
	if ok && len(n.Query.With) == 0 && sel.From != nil && sel.GroupingSets == nil && len(sel.GroupBy) == 0 && sel.Having == nil &&
		n.Query.Limit == nil && n.Query.Offset == nil && !hasAggregates(itemExprs(sel.Items)...) && len(b.correlatedDerived(sel.From)) > 0 {
		// A derived table naming outer columns binds laterally over their
		// domain as in a scalar subquery (lateralScalar): EXISTS is
		// (SELECT MAX(1) ...) IS NOT NULL.
		one := *sel
		one.Distinct = false
		one.Items = []sql.SelectItem{{Pos: n.Pos, Expr: &sql.FuncCall{Pos: n.Pos, Name: "MAX",
			Args: []sql.Expr{&sql.Literal{Pos: n.Pos, Kind: sql.IntLit, Text: "1"}}}}}
		q := &sql.SubqueryExpr{Pos: n.Pos, Query: &sql.Query{Pos: n.Query.Pos, Body: &one}}
		return b.filterWithScalarJoins(&sql.IsNull{Pos: n.Pos, Not: !not, Expr: q}, input, sc)
	}
	if ok && len(sel.GroupBy) == 0 && sel.GroupingSets == nil && sel.Having == nil && hasAggregates(itemExprs(sel.Items)...) && b.refersOutside(sel) {
		// An aggregate without grouping has one row, whatever its WHERE
		// keeps: EXISTS holds for every outer row, NOT EXISTS for none.
		if !not {
			return input, nil
		}
		return &Filter{Input: input, Condition: &expr.Literal{Value: false, T: types.BooleanType.WithNullable(false)}}, nil
	}
	if !ok || len(n.Query.With) > 0 || sel.From == nil || len(sel.GroupBy) > 0 || sel.Having != nil || hasAggregates(itemExprs(sel.Items)...) {
		// Without correlation the subquery is planned whole.
		sub, err := b.bindQuery(n.Query)
		if err != nil {
			if ok && len(n.Query.With) == 0 && sel.From != nil && sel.GroupingSets == nil && namesOutside(err) {
				// Correlated, its groups decorrelate as a scalar
				// subquery's.
				test := &sql.IsNull{Pos: n.Pos, Not: !not, Expr: existsQuery(n, sel)}
				return b.filterWithScalarJoins(test, input, sc)
			}
			return nil, err
		}
		return existsJoin(input, sub, nil, not), nil
	}
	// Outer columns first, so a correlated conjunct reads as a join
	// condition over (outer, inner).
	sub, subScope, _, corr, local, err := b.correlatedFrom(sel, sc, false)
	if err != nil {
		return nil, err
	}
	if l := andAll(local); l != nil {
		if sub, err = b.bindWhere(l, sub, subScope); err != nil {
			return nil, err
		}
	}
	cond, err := b.andExprs(n, corr)
	if err != nil {
		return nil, err
	}
	return existsJoin(input, sub, cond, not), nil
}

func existsJoin(input, sub Node, cond expr.Expr, not bool) Node {
	typ := SemiJoin
	if not {
		typ = AntiJoin
	}
	return &Join{Left: input, Right: sub, Type: typ, Condition: cond, SystemTime: -1}
}

// refersOutside reports whether a subquery's WHERE names columns its own
// FROM does not have, i.e. whether it is correlated.
func (b *binder) refersOutside(sel *sql.Select) bool {
	if sel.Where == nil {
		return false
	}
	_, sc, err := b.bindFrom(sel.From)
	if err != nil {
		return false
	}
	_, err = b.bindExpr(sc, sel.Where)
	return err != nil
}
