package planner

import (
	"sort"
	"strings"

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
	)
	if q.Array {
		var err error
		if right, cond, keys, err = b.arraySubquery(q, input, sc); err != nil {
			return nil, nil, err
		}
	} else if sel, ok := b.lateralScalarSelect(q.Query); ok {
		var err error
		if right, cond, keys, err = b.lateralScalar(q, sel, input, sc); err != nil {
			return nil, nil, err
		}
	} else if sel, ok := correlatedScalarSelect(q.Query); ok && (b.refersOutside(sel) || b.itemsReferOutside(sel)) {
		var err error
		if right, cond, keys, err = b.correlatedScalar(q, sel, input, sc); err != nil {
			return nil, nil, err
		}
	} else {
		sub, err := b.bindQuery(q.Query)
		if err != nil {
			return nil, nil, err
		}
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
	j := &Join{Left: input, Right: right, Type: LeftJoin, Condition: cond, SystemTime: -1}
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
	out.scalars[q] = width + keys
	return j, out, nil
}

// correlatedScalar plans the right side of a correlated scalar subquery:
// its grouped single value, the join condition over (outer, keys...,
// value), and the number of keys.
func (b *binder) correlatedScalar(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (Node, expr.Expr, int, error) {
	if len(sel.Items) != 1 || sel.Items[0].Star {
		return nil, nil, 0, b.errAt(errs.DatatypeMismatch, q, "a scalar subquery must return one column")
	}
	sub, subScope, _, corr, local, err := b.correlatedFrom(sel, sc, true)
	if err != nil {
		return nil, nil, 0, err
	}
	var value expr.Expr
	if !hasAggregates(sel.Items[0].Expr) {
		if value, err = b.bindExpr(subScope, sel.Items[0].Expr); err != nil {
			// The item names outer columns or nests subqueries.
			return b.domainScalar(q, sel, input, sc)
		}
	} else if b.itemsReferOutside(sel) {
		return b.domainScalar(q, sel, input, sc)
	}
	width := len(sc.cols)
	inner := map[int]bool{}
	for _, e := range corr {
		for _, col := range expr.InputColumns(e) {
			if col >= width {
				inner[col-width] = true
			}
		}
	}
	if l := andAll(local); l != nil && !hasAggregates(sel.Items[0].Expr) {
		if sub, err = b.bindWhere(l, sub, subScope); err != nil {
			return nil, nil, 0, err
		}
	}
	keyCols := make([]int, 0, len(inner))
	for c := range inner {
		keyCols = append(keyCols, c)
	}
	sort.Ints(keyCols)
	pos := map[int]int{}
	for i, c := range keyCols {
		pos[width+c] = width + i
	}
	var right Node
	if hasAggregates(sel.Items[0].Expr) {
		if right, err = b.groupedScalar(q, sel, subScope, keyCols, local); err != nil {
			return nil, nil, 0, err
		}
	} else {
		// Project the keys and the value, then reduce to one value per key.
		ss := sub.Schema()
		exprs := make([]expr.Expr, 0, len(keyCols)+1)
		names := make([]string, 0, len(keyCols)+1)
		for _, c := range keyCols {
			exprs = append(exprs, &expr.ColumnRef{Index: c, Name: ss.Columns[c].Name, T: ss.Columns[c].Type})
			names = append(names, ss.Columns[c].Name)
		}
		exprs = append(exprs, value)
		names = append(names, "$value")
		if right, err = b.singleValue(q, &Project{Input: sub, Exprs: exprs, Names: uniqueNames(names)}, len(keyCols)); err != nil {
			return nil, nil, 0, err
		}
	}
	rs := right.Schema()
	var cond expr.Expr
	for _, c := range corr {
		c = expr.Rewrite(c, func(e expr.Expr) expr.Expr {
			if r, ok := e.(*expr.ColumnRef); ok && r.Index >= width {
				i := pos[r.Index]
				return &expr.ColumnRef{Index: i, Name: r.Name, T: rs.Columns[i-width].Type}
			}
			return e
		})
		if cond == nil {
			cond = c
		} else if cond, err = b.call(q, "AND", cond, c); err != nil {
			return nil, nil, 0, err
		}
	}
	return right, cond, len(keyCols), nil
}

// domainScalar plans the right side of a correlated scalar subquery
// whose item names outer columns or nests subqueries over the domain of
// the outer columns it names (domainSubquery): the domain's columns and
// the single value of each, or its aggregate grouped by them
// (domainAggregate), the IS NOT DISTINCT FROM condition joining them to
// input, and the number of domain columns.
func (b *binder) domainScalar(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (Node, expr.Expr, int, error) {
	var right Node
	var cols []int
	if hasAggregates(sel.Items[0].Expr) {
		j, jsc, dcols, err := b.domainJoin(q, sel, input, sc)
		if err != nil {
			return nil, nil, 0, err
		}
		if right, err = b.domainAggregate(q, sel, j, jsc, len(dcols)); err != nil {
			return nil, nil, 0, err
		}
		cols = dcols
	} else {
		values, dcols, err := b.domainSubquery(q, sel, input, sc)
		if err != nil {
			return nil, nil, 0, err
		}
		if right, err = b.singleValue(q, values, len(dcols)); err != nil {
			return nil, nil, 0, err
		}
		cols = dcols
	}
	on, err := b.domainCondition(q, cols, input.Schema(), right.Schema(), len(sc.cols))
	return right, on, len(cols), err
}

// groupedScalar plans the right side of a correlated scalar subquery
// whose value aggregates, (SELECT MAX(x) FROM t WHERE t.k = o.k): the
// subquery grouped by its correlation columns, SELECT k..., MAX(x) FROM t
// WHERE local GROUP BY k..., one row per key by construction. COUNT is
// refused: over an outer row without matches it must give 0, not the
// LEFT JOIN's NULL (Calcite's "count bug"), which this plan does not fix
// up yet.
func (b *binder) groupedScalar(q *sql.SubqueryExpr, sel *sql.Select, subScope *scope, keyCols []int, local []sql.Expr) (Node, error) {
	counts := false
	walkSQL(sel.Items[0].Expr, func(x sql.Expr) bool {
		if f, ok := x.(*sql.FuncCall); ok && strings.EqualFold(f.Name, "COUNT") {
			counts = true
		}
		return !counts
	})
	if counts {
		return nil, b.errAt(errs.NotSupported, q, "correlated scalar subqueries with COUNT are not supported yet")
	}
	grouped := &sql.Select{Pos: sel.Pos, From: sel.From, Where: andAll(local)}
	for _, c := range keyCols {
		col := subScope.cols[c]
		id := &sql.Ident{Pos: sel.Pos, Parts: []string{col.name}}
		if col.qualifier != "" {
			id.Parts = []string{col.qualifier, col.name}
		}
		grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: id})
		grouped.GroupBy = append(grouped.GroupBy, id)
	}
	grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: sel.Items[0].Expr, Alias: "$value"})
	return b.bindSelect(grouped)
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
