package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// markColumns locates the result of an IN subquery planned as a mark
// join: the column that is non-NULL where the probe found a match, the
// probe's own column, and, where the probe or the subquery's value is
// nullable, the subquery's row count and non-NULL value count (else -1).
type markColumns struct {
	mark, probe     int
	count, nonNulls int
}

// planMarkJoins plans the IN subqueries nested inside e (in a CASE, an
// OR, a comparison: anywhere a semi join cannot express them) as mark
// joins, as Flink does with LITERAL_AGG: input LEFT JOIN (SELECT DISTINCT
// y, TRUE AS $m FROM sub) ON x = y, so that x IN (sub) reads $m IS NOT
// NULL. The returned scope hides the added columns and maps each
// subquery to them for bindExpr. Probes nesting IN subqueries of their
// own are planned inner first.
//
// SQL's three-valued logic needs more than the match where NULLs can
// occur: x IN (sub) is FALSE over an empty subquery, TRUE on a match,
// and otherwise NULL when x is NULL or sub has a NULL value. So where
// the probe or the subquery's value is nullable the input is also cross
// joined with (SELECT COUNT(*) $c, COUNT(y) $ck FROM sub), as Calcite's
// SubQueryRemoveRule does, and markPredicate reads the counts.
func (b *binder) planMarkJoins(e sql.Expr, input Node, sc *scope) (Node, *scope, error) {
	var subs []*sql.InSubquery
	walkSQL(e, func(x sql.Expr) bool {
		if q, ok := x.(*sql.InSubquery); ok {
			subs = append(subs, q)
			return false
		}
		return true
	})
	for _, q := range subs {
		var err error
		if input, sc, err = b.planMarkJoins(q.Expr, input, sc); err != nil {
			return nil, nil, err
		}
		if input, sc, err = b.markJoin(q, input, sc); err != nil {
			return nil, nil, err
		}
	}
	return input, sc, nil
}

// markJoin plans one IN subquery as a mark join (see planMarkJoins).
func (b *binder) markJoin(q *sql.InSubquery, input Node, sc *scope) (Node, *scope, error) {
	sub, err := b.bindQuery(q.Query)
	if err != nil {
		if namesOutside(err) {
			if out, osc, ok, err := b.correlatedMark(q, input, sc); ok {
				return out, osc, err
			}
		}
		return nil, nil, err
	}
	ss := sub.Schema()
	if ss.Len() != 1 {
		return nil, nil, b.errAt(errs.DatatypeMismatch, q, "the subquery of IN must return one column, not %d", ss.Len())
	}
	x, err := b.bindExpr(sc, q.Expr)
	if err != nil {
		return nil, nil, err
	}
	out := &scope{cols: append([]scopeColumn(nil), sc.cols...), agg: sc.agg, over: sc.over, scalars: sc.scalars,
		marks: map[*sql.InSubquery]markColumns{}, inner: sc.inner, outerLevels: sc.outerLevels}
	for k, v := range sc.marks {
		out.marks[k] = v
	}
	probe, ok := x.(*expr.ColumnRef)
	if !ok {
		// Compute the probe as a column so the join has a key.
		in := input.Schema()
		input = &Project{Input: input, Exprs: append(columnRefsOf(in), x), Names: append(in.Names(), "$in")}
		probe = &expr.ColumnRef{Index: in.Len(), Name: "$in", T: x.Type()}
		out.cols = append(out.cols, scopeColumn{name: "$in", typ: x.Type(), hidden: true})
	}
	width := input.Schema().Len()
	marked := distinct(&Project{
		Input: sub,
		Exprs: []expr.Expr{&expr.ColumnRef{Index: 0, Name: ss.Columns[0].Name, T: ss.Columns[0].Type},
			&expr.Literal{Value: true, T: types.BooleanType.WithNullable(false)}},
		Names: []string{"$y", "$m"},
	})
	cond, err := b.call(q, "=", probe, &expr.ColumnRef{Index: width, Name: "$y", T: ss.Columns[0].Type})
	if err != nil {
		return nil, nil, err
	}
	var j Node = &Join{Left: input, Right: marked, Type: LeftJoin, Condition: cond, SystemTime: -1}
	m := markColumns{mark: width + 1, probe: probe.Index, count: -1, nonNulls: -1}
	if probe.T.Nullable() || ss.Columns[0].Type.Nullable() {
		if j, err = b.joinCounts(q.Query, j); err != nil {
			return nil, nil, err
		}
		m.count, m.nonNulls = width+2, width+3
	}
	js := j.Schema()
	for i := width; i < js.Len(); i++ {
		out.cols = append(out.cols, scopeColumn{name: js.Columns[i].Name, typ: js.Columns[i].Type, hidden: true})
	}
	// The scope's types follow the join's (time attributes end there).
	for i := range out.cols {
		out.cols[i].typ = js.Columns[i].Type
	}
	out.marks[q] = m
	return j, out, nil
}

// joinCounts cross joins input with (SELECT COUNT(*) $c, COUNT(y) $ck
// FROM sub), sub being a one-column query, which appends the two counts
// to input's columns. It is a LEFT JOIN: a streaming global aggregate
// emits no row before its input has one, so an empty sub reads as a NULL
// $c.
func (b *binder) joinCounts(sub *sql.Query, input Node) (Node, error) {
	counts, err := b.bindQuery(sub)
	if err != nil {
		return nil, err
	}
	count := types.BigIntType.WithNullable(false)
	counts = &Aggregate{Input: counts, Names: []string{"$c", "$ck"}, Calls: []agg.Call{
		{Func: "COUNT", Filter: -1, Type: count, Name: "$c"},
		{Func: "COUNT", Args: []int{0}, Filter: -1, Type: count, Name: "$ck"},
	}}
	return &Join{Left: input, Right: counts, Type: LeftJoin, SystemTime: -1}, nil
}

// markPredicate is x [NOT] IN (sub) over a mark join, in SQL's
// three-valued logic (see planMarkJoins):
//
//	CASE WHEN COALESCE($c, 0) = 0 THEN FALSE
//	     WHEN $m IS NOT NULL THEN TRUE
//	     WHEN x IS NULL OR $ck < $c THEN NULL
//	     ELSE FALSE END
//
// negated for NOT IN. Without the counts (neither side nullable) it is
// $m IS NOT NULL: an empty subquery matches nothing.
func (s source) markPredicate(n *sql.InSubquery, sc *scope, m markColumns) (expr.Expr, error) {
	ref := func(i int) expr.Expr { return &expr.ColumnRef{Index: i, Name: sc.cols[i].name, T: sc.cols[i].typ} }
	res, err := s.call(n, "IS NOT NULL", ref(m.mark))
	if err != nil {
		return nil, err
	}
	if m.count >= 0 {
		boolean := func(v bool) expr.Expr { return &expr.Literal{Value: v, T: types.BooleanType.WithNullable(false)} }
		zero := &expr.Literal{Value: int64(0), T: types.BigIntType.WithNullable(false)}
		count, err := s.call(n, "COALESCE", ref(m.count), zero)
		if err != nil {
			return nil, err
		}
		empty, err := s.call(n, "=", count, zero)
		if err != nil {
			return nil, err
		}
		// Unknown: a NULL probe, or a NULL among the subquery's values.
		unknown, err := s.call(n, "<", ref(m.nonNulls), ref(m.count))
		if err != nil {
			return nil, err
		}
		if sc.cols[m.probe].typ.Nullable() {
			isNull, err := s.call(n, "IS NULL", ref(m.probe))
			if err != nil {
				return nil, err
			}
			if unknown, err = s.call(n, "OR", isNull, unknown); err != nil {
				return nil, err
			}
		}
		if res, err = s.call(n, "CASE", empty, boolean(false), res, boolean(true), unknown, &expr.Literal{T: types.BooleanType}, boolean(false)); err != nil {
			return nil, err
		}
	}
	if n.Not {
		return s.call(n, "NOT", res)
	}
	return res, nil
}

// correlatedSelect returns the SELECT of an IN subquery that may be
// decorrelated into a semi join condition: one SELECT block with a FROM
// and a WHERE, no grouping, no aggregates.
func correlatedSelect(q *sql.Query) (*sql.Select, bool) {
	sel, ok := q.Body.(*sql.Select)
	if !ok || len(q.With) > 0 || q.OrderBy != nil || q.Limit != nil || sel.From == nil || sel.Where == nil ||
		len(sel.GroupBy) > 0 || sel.Having != nil || sel.Distinct || hasAggregates(itemExprs(sel.Items)...) {
		return nil, false
	}
	return sel, true
}

// bindCorrelatedIn plans x [NOT] IN (SELECT y FROM t WHERE ...) whose
// WHERE refers to the outer query, as Flink decorrelates it: a semi (anti)
// join of the outer input with t (filtered by the conjuncts local to it)
// on x = y and the correlated conjuncts. outer is the width of the outer scope, to
// which the result is projected back.
func (b *binder) bindCorrelatedIn(n *sql.InSubquery, not bool, sel *sql.Select, input Node, sc *scope, outer int) (Node, error) {
	if len(sel.Items) != 1 || sel.Items[0].Star {
		return nil, b.errAt(errs.DatatypeMismatch, n, "the subquery of IN must return one column")
	}
	sub, subScope, joint, corr, local, err := b.correlatedFrom(sel, sc, false)
	if err != nil {
		return nil, err
	}
	cond, err := b.andExprs(n, corr)
	if err != nil {
		return nil, err
	}
	if l := andAll(local); l != nil {
		if sub, err = b.bindWhere(l, sub, subScope); err != nil {
			return nil, err
		}
	}
	x, err := b.bindExpr(sc, n.Expr)
	if err != nil {
		return nil, err
	}
	y, err := b.bindExpr(joint, sel.Items[0].Expr)
	if err != nil {
		return nil, err
	}
	eq, err := b.call(n, "=", x, y)
	if err != nil {
		return nil, err
	}
	// As for uncorrelated NOT IN: a NULL on either side is a possible
	// match, which drops the row.
	typ, eq, err := b.inJoin(n, not, eq, x, y)
	if err != nil {
		return nil, err
	}
	// No correlated conjunct is left when only a subquery nested in the
	// WHERE made it look correlated (refersOutside): eq alone joins.
	if cond == nil {
		cond = eq
	} else if cond, err = b.call(n, "AND", eq, cond); err != nil {
		return nil, err
	}
	return keepColumns(&Join{Left: input, Right: sub, Type: typ, Condition: cond, SystemTime: -1}, outer), nil
}

// hasInSubquery reports whether e nests an IN subquery.
func hasInSubquery(e sql.Expr) bool {
	found := false
	walkSQL(e, func(x sql.Expr) bool {
		if _, ok := x.(*sql.InSubquery); ok {
			found = true
		}
		return !found
	})
	return found
}

// filterWithMarkJoins filters input by the WHERE conjunct c, which nests
// IN subqueries, through mark joins; the result has input's columns.
func (b *binder) filterWithMarkJoins(c sql.Expr, input Node, sc *scope) (Node, error) {
	return b.filterThroughJoins(c, input, sc, func(in Node, sc *scope) (Node, *scope, error) {
		return b.planMarkJoins(c, in, sc)
	})
}
