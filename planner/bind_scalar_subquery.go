package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// Scalar subqueries, (SELECT x FROM ...) used as a value in a SELECT item
// or a WHERE condition, are planned as Flink decorrelates them: a LEFT
// JOIN of the outer input with the subquery reduced to at most one row per
// join key by an aggregate whose SINGLE_VALUE check fails when a key has
// more than one row.
//
//   - Uncorrelated: input LEFT JOIN (SELECT SINGLE_VALUE(x) FROM sub), one
//     row at most, on TRUE.
//   - Correlated (the subquery's WHERE names outer columns): the conjuncts
//     naming only the subquery's FROM filter it; the inner columns the
//     others read become grouping keys, so the right side is
//     (SELECT k..., SINGLE_VALUE(x) FROM sub WHERE local GROUP BY k...)
//     and the correlated conjuncts, over the outer and key columns, are
//     the join condition. With equality correlations (d.adrelid =
//     a.attrelid) this is exact. A correlated conjunct that is not an
//     equality (a.attcollation <> t.typcollation) makes its inner column
//     a key too: a row still gets its subquery's single value, but an
//     outer row whose subquery has several rows from different keys is
//     repeated instead of failing.
//   - Correlated with an aggregate value, (SELECT MAX(x) FROM t WHERE
//     t.k = o.k): the subquery grouped by its correlation columns, one row
//     per key already (see groupedScalar).
//   - Correlated in its item too, (SELECT o.a || t.b FROM t WHERE t.k =
//     o.k), or nesting subqueries there: over the domain of the outer
//     columns it names, d, as Calcite does (bind_domain_subquery.go),
//     SELECT d.*, SINGLE_VALUE(value) ... GROUP BY d.*, or for an
//     aggregate item (SELECT MAX(t.x) + o.y ...) the aggregate grouped by
//     d.*, joined to input on its columns IS NOT DISTINCT FROM d.*.
//
// A subquery without a row gives NULL, as in SQL. A global aggregate or
// one VALUES row needs no SINGLE_VALUE check (atMostOneRow).

// hasScalarSubquery reports whether es nest a scalar subquery or an
// EXISTS used as a value (see existsJoin).
func hasScalarSubquery(es ...sql.Expr) bool {
	found := false
	for _, e := range es {
		walkSQL(e, func(x sql.Expr) bool {
			switch x.(type) {
			case *sql.SubqueryExpr, *sql.Exists:
				found = true
			}
			return !found
		})
	}
	return found
}

// planScalarSubqueries joins the scalar subqueries nested in es to input
// (see above). The returned scope hides the added columns and maps each
// subquery to its value column for bindExpr.
func (b *binder) planScalarSubqueries(es []sql.Expr, input Node, sc *scope) (Node, *scope, error) {
	var subs []sql.Expr
	for _, e := range es {
		walkSQL(e, func(x sql.Expr) bool {
			switch x.(type) {
			case *sql.SubqueryExpr, *sql.Exists:
				subs = append(subs, x)
				return false
			}
			return true
		})
	}
	if len(subs) > 0 {
		sc = qualifyGroupColumns(sc)
	}
	for _, q := range subs {
		var err error
		if ex, ok := q.(*sql.Exists); ok {
			input, sc, err = b.existsJoin(ex, input, sc)
		} else {
			input, sc, err = b.scalarJoin(q.(*sql.SubqueryExpr), input, sc)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return input, sc, nil
}

// scalarJoin plans one scalar subquery as a LEFT JOIN to input.
func (b *binder) scalarJoin(q *sql.SubqueryExpr, input Node, sc *scope) (Node, *scope, error) {
	width := len(sc.cols)
	var (
		right Node
		cond  expr.Expr
		keys  int
		empty expr.Expr
	)
	sel, aggArray := b.correlatedAggregateArray(q)
	if aggArray {
		// One row per outer row, as a scalar subquery: its array has the
		// one value.
		cv, err := b.correlatedScalar(q, sel, input, sc)
		if err != nil {
			return nil, nil, err
		}
		right, cond, keys, empty = cv.node, cv.cond, cv.keys, cv.empty
	} else if q.Array {
		if sel, ok := q.Query.Body.(*sql.Select); ok && sel.From != nil && len(b.correlatedDerived(sel.From)) > 0 {
			return nil, nil, b.errAt(errs.NotSupported, q, "ARRAY(query) whose FROM has a derived table naming outer columns is not supported yet")
		}
		var err error
		if right, cond, keys, err = b.arraySubquery(q, input, sc); err != nil {
			return nil, nil, err
		}
	} else if sel, ok := b.lateralScalarSelect(q.Query); ok {
		cv, err := b.lateralScalar(q, sel, input, sc)
		if err != nil {
			return nil, nil, err
		}
		right, cond, keys, empty = cv.node, cv.cond, cv.keys, cv.empty
	} else if sel, ok := correlatedScalarSelect(q.Query); ok && (b.refersOutside(sel) || b.itemsReferOutside(sel)) {
		cv, err := b.correlatedScalar(q, sel, input, sc)
		if err != nil {
			return nil, nil, err
		}
		right, cond, keys, empty = cv.node, cv.cond, cv.keys, cv.empty
	} else if sub, err := b.bindQuery(q.Query); err != nil {
		sel, ok := correlatedBodySelect(q.Query)
		if !ok || !namesOutside(err) {
			return nil, nil, err
		}
		// Correlated with GROUP BY, HAVING, DISTINCT, ORDER BY or LIMIT.
		cv, err := b.domainBody(q, sel, input, sc)
		if err != nil {
			return nil, nil, err
		}
		right, cond, keys, empty = cv.node, cv.cond, cv.keys, cv.empty
	} else {
		if sub.Schema().Len() != 1 {
			return nil, nil, b.errAt(errs.DatatypeMismatch, q, "a scalar subquery must return one column, not %d", sub.Schema().Len())
		}
		right = sub
		if !atMostOneRow(sub) {
			if right, err = b.singleValue(q, sub, 0); err != nil {
				return nil, nil, err
			}
		}
	}
	var j Node = &Join{Left: input, Right: right, Type: LeftJoin, Condition: cond, SystemTime: -1}
	valueCol := width + keys
	if empty != nil || aggArray {
		js := j.Schema()
		var v expr.Expr = &expr.ColumnRef{Index: valueCol, Name: js.Columns[valueCol].Name, T: js.Columns[valueCol].Type}
		var err error
		if empty != nil {
			// Outer rows without subquery rows take the value over no rows.
			if v, err = b.emptyGroupValue(q, j, width, keys, empty); err != nil {
				return nil, nil, err
			}
		}
		if aggArray {
			if v, err = b.call(q, "ARRAY", v); err != nil {
				return nil, nil, err
			}
		}
		valueCol = js.Len()
		j = &Project{Input: j, Exprs: append(columnRefsOf(js), v), Names: uniqueNames(append(js.Names(), "$value"))}
	}
	js := j.Schema()
	out := &scope{cols: append([]scopeColumn(nil), sc.cols...), agg: sc.agg, over: sc.over, marks: sc.marks,
		scalars: map[sql.Expr]int{}, inner: sc.inner, outerLevels: sc.outerLevels}
	for k, v := range sc.scalars {
		out.scalars[k] = v
	}
	for i := width; i < js.Len(); i++ {
		out.cols = append(out.cols, scopeColumn{name: js.Columns[i].Name, typ: js.Columns[i].Type, hidden: true})
	}
	// The scope's types follow the join's (time attributes end there).
	for i := range out.cols {
		out.cols[i].typ = js.Columns[i].Type
	}
	out.scalars[q] = valueCol
	return j, out, nil
}

// correlatedScalar plans the right side of a correlated scalar subquery.
// When each correlated conjunct is an equality between an expression of
// the subquery's FROM and one of outer columns (correlationKeys), the
// subquery is keyed by those inner expressions: its single value per key,
// or its aggregate grouped by them (groupedScalar), joined on the
// equalities. Otherwise, or when its item or a subquery nested in its
// WHERE names outer columns, it goes over the domain of the outer values
// (domainScalar).
func (b *binder) correlatedScalar(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (correlatedValue, error) {
	if len(sel.Items) != 1 || sel.Items[0].Star {
		return correlatedValue{}, b.errAt(errs.DatatypeMismatch, q, "a scalar subquery must return one column")
	}
	item := sel.Items[0].Expr
	if nested, _, err := b.splitNestedCorrelated(sel, sc); err != nil {
		return correlatedValue{}, err
	} else if len(nested) > 0 {
		return b.domainScalar(q, sel, input, sc)
	}
	sub, subScope, joint, _, local, err := b.correlatedFrom(sel, sc, true)
	if err != nil {
		return correlatedValue{}, err
	}
	aggregates := hasAggregates(item)
	var value expr.Expr
	if aggregates {
		if b.itemsReferOutside(sel) {
			return b.domainScalar(q, sel, input, sc)
		}
	} else if value, err = b.bindExpr(subScope, item); err != nil {
		// The item names outer columns or nests subqueries.
		return b.domainScalar(q, sel, input, sc)
	}
	width := len(sc.cols)
	keys, outerOnly, ok := b.correlationKeys(sel.Where, joint, subScope, width)
	if !ok {
		return b.domainScalar(q, sel, input, sc)
	}
	if l := andAll(local); l != nil {
		if sub, err = b.bindWhere(l, sub, subScope); err != nil {
			return correlatedValue{}, err
		}
	}
	out := correlatedValue{keys: len(keys)}
	if aggregates {
		if out.node, out.empty, err = b.groupedScalar(sel, sub, subScope, keys); err != nil {
			return correlatedValue{}, err
		}
	} else {
		// Project the keys and the value, then reduce to one value per key.
		exprs := make([]expr.Expr, 0, len(keys)+1)
		names := make([]string, 0, len(keys)+1)
		for _, k := range keys {
			exprs = append(exprs, k.bound)
			names = append(names, k.name)
		}
		if out.node, err = b.singleValue(q, &Project{Input: sub, Exprs: append(exprs, value), Names: uniqueNames(append(names, "$value"))}, len(keys)); err != nil {
			return correlatedValue{}, err
		}
	}
	out.cond, err = b.keyCondition(q, keys, outerOnly, out.node.Schema(), width)
	return out, err
}

// keyCondition joins an outer input of width columns to a plan of schema
// rs keyed by the correlation keys, its first columns: each key's
// equality, in the conjunct's order, and the conjuncts of outer columns
// alone.
func (b *binder) keyCondition(q sql.Node, keys []correlationKey, outerOnly []expr.Expr, rs types.Schema, width int) (expr.Expr, error) {
	conds := make([]expr.Expr, 0, len(keys)+len(outerOnly))
	for i, k := range keys {
		l, r := k.outer, expr.Expr(&expr.ColumnRef{Index: width + i, Name: rs.Columns[i].Name, T: rs.Columns[i].Type})
		if k.innerLeft {
			l, r = r, l
		}
		eq, err := b.call(q, "=", l, r)
		if err != nil {
			return nil, err
		}
		conds = append(conds, eq)
	}
	return b.andExprs(q, append(conds, outerOnly...))
}

// domainScalar plans the right side of a correlated scalar subquery
// whose item names outer columns or nests subqueries, or whose
// correlation is not keyed by equalities, over the domain of the outer
// columns it names (domainSubquery): the domain's columns and the single
// value of each, or its aggregate grouped by them (domainAggregate), and
// the IS NOT DISTINCT FROM condition joining them to input.
func (b *binder) domainScalar(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (correlatedValue, error) {
	var out correlatedValue
	var cols []int
	if hasAggregates(sel.Items[0].Expr) {
		j, jsc, dcols, err := b.domainJoin(q, sel, input, sc)
		if err != nil {
			return correlatedValue{}, err
		}
		if out.node, out.empty, err = b.domainAggregate(q, sel, j, jsc, dcols, input.Schema()); err != nil {
			return correlatedValue{}, err
		}
		cols = dcols
	} else {
		values, dcols, err := b.domainSubquery(q, sel, input, sc)
		if err != nil {
			return correlatedValue{}, err
		}
		if out.node, err = b.singleValue(q, values, len(dcols)); err != nil {
			return correlatedValue{}, err
		}
		cols = dcols
	}
	var err error
	out.cond, err = b.domainCondition(q, cols, input.Schema(), out.node.Schema(), len(sc.cols))
	out.keys = len(cols)
	return out, err
}

// groupedScalar plans the right side of a correlated scalar subquery
// whose value aggregates, (SELECT MAX(x) FROM t WHERE t.k = o.k), over
// its FROM filtered by its local conjuncts (sub, in scope own): the
// aggregate grouped by its correlation keys, SELECT k..., MAX(x) FROM t
// WHERE local GROUP BY k..., one row per key by construction, and the
// value of an outer row without rows (see aggregatedValue).
func (b *binder) groupedScalar(sel *sql.Select, sub Node, own *scope, keys []correlationKey) (Node, expr.Expr, error) {
	grouped := &sql.Select{Pos: sel.Pos, From: sel.From}
	for _, k := range keys {
		grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: k.inner, Alias: k.name})
		grouped.GroupBy = append(grouped.GroupBy, k.inner)
	}
	grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: sel.Items[0].Expr, Alias: "$value"})
	a, asc, err := b.bindAggregate(grouped, sub, own)
	if err != nil {
		return nil, nil, err
	}
	return b.aggregatedValue(a, asc, grouped.Items, len(keys), nil)
}

// correlatedAggregateArray returns the SELECT of ARRAY(SELECT agg ...
// WHERE corr): a correlated ARRAY(query) whose item aggregates without
// grouping has one element per outer row, the aggregate over the outer
// row's rows ({0} for a COUNT over none, {NULL} for a MAX), as in
// PostgreSQL.
func (b *binder) correlatedAggregateArray(q *sql.SubqueryExpr) (*sql.Select, bool) {
	if !q.Array {
		return nil, false
	}
	unordered := *q.Query
	unordered.OrderBy = nil
	sel, ok := correlatedScalarSelect(&unordered)
	if !ok || len(sel.Items) != 1 || sel.Items[0].Star || !hasAggregates(sel.Items[0].Expr) {
		return nil, false
	}
	return sel, b.refersOutside(sel) || b.itemsReferOutside(sel)
}

// qualifyGroupColumns returns sc, the scope above an aggregate, with its
// grouping columns under their FROM items' qualifiers, so that the
// subqueries of the SELECT items and HAVING may name them as o.customer
// as well as customer; sc when it is no such scope.
func qualifyGroupColumns(sc *scope) *scope {
	if sc.agg == nil {
		return sc
	}
	out := *sc
	out.cols = append([]scopeColumn(nil), sc.cols...)
	for i, g := range sc.agg.groupCol {
		if g >= 0 && i < len(out.cols) && out.cols[i].qualifier == "" {
			out.cols[i].qualifier = sc.agg.input.cols[g].qualifier
		}
	}
	return &out
}

// andAll joins conjuncts with AND; nil for none.
func andAll(cs []sql.Expr) sql.Expr {
	if len(cs) == 0 {
		return nil
	}
	l := cs[0]
	for _, r := range cs[1:] {
		l = &sql.Binary{Pos: r.Position(), Op: sql.And, Left: l, Right: r}
	}
	return l
}

// correlatedScalarSelect returns the SELECT of a scalar subquery that may
// be decorrelated: one SELECT block with a FROM, no grouping, DISTINCT,
// ORDER BY or LIMIT (its value may aggregate). Its WHERE or its item
// correlate it.
func correlatedScalarSelect(q *sql.Query) (*sql.Select, bool) {
	sel, ok := q.Body.(*sql.Select)
	if !ok || len(q.With) > 0 || q.OrderBy != nil || q.Limit != nil || sel.From == nil ||
		len(sel.GroupBy) > 0 || sel.GroupingSets != nil || sel.Having != nil || sel.Distinct {
		return nil, false
	}
	return sel, true
}

// singleValue reduces sub, whose columns are keys grouping keys followed
// by the value, to one row per key: the keys and SINGLE_VALUE(value),
// computed as COUNT(*) and FIRST_VALUE checked by expr.SingleValue.
func (b *binder) singleValue(q *sql.SubqueryExpr, sub Node, keys int) (Node, error) {
	ss := sub.Schema()
	vt := ss.Columns[keys].Type
	ft, err := agg.ResultType("FIRST_VALUE", []types.DataType{vt})
	if err != nil {
		return nil, b.errAt(errs.NotSupported, q, "a scalar subquery of type %s is not supported yet", vt)
	}
	keyIdx := make([]int, keys)
	var names []string
	for i := range keyIdx {
		keyIdx[i] = i
		names = append(names, ss.Columns[i].Name)
	}
	aggNames := append(append([]string(nil), names...), "$n", "$first")
	a := &Aggregate{Input: sub, Keys: keyIdx, Names: aggNames, Calls: []agg.Call{
		{Func: "COUNT", Filter: -1, Type: types.BigIntType.WithNullable(false), Name: "$n"},
		{Func: "FIRST_VALUE", Args: []int{keys}, Filter: -1, Type: ft, Name: "$first"},
	}}
	as := a.Schema()
	exprs := columnRefsOf(types.Schema{Columns: as.Columns[:keys]})
	v, err := b.call(q, expr.SingleValue,
		&expr.ColumnRef{Index: keys, Name: "$n", T: as.Columns[keys].Type},
		&expr.ColumnRef{Index: keys + 1, Name: "$first", T: as.Columns[keys+1].Type})
	if err != nil {
		return nil, err
	}
	return &Project{Input: a, Exprs: append(exprs, v), Names: append(names, ss.Columns[keys].Name)}, nil
}

// atMostOneRow reports plans that cannot return two rows (a global
// aggregate, one VALUES row), which need no SINGLE_VALUE check, as Calcite
// leaves it out when the subquery's maximum row count is 1.
func atMostOneRow(n Node) bool {
	switch n := n.(type) {
	case *Aggregate:
		return len(n.Keys) == 0
	case *Values:
		return len(n.Rows) <= 1
	case *Project:
		return atMostOneRow(n.Input)
	case *Filter:
		return atMostOneRow(n.Input)
	}
	return false
}

// filterWithScalarJoins filters input by the WHERE conjunct c, which nests
// scalar subqueries, through their joins; the result has input's columns.
func (b *binder) filterWithScalarJoins(c sql.Expr, input Node, sc *scope) (Node, error) {
	return b.filterThroughJoins(c, input, sc, func(in Node, sc *scope) (Node, *scope, error) {
		return b.planScalarSubqueries([]sql.Expr{c}, in, sc)
	})
}
