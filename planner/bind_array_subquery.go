package planner

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// PostgreSQL's ARRAY(query), the array of a one-column query's values
// (psql's \du lists a role's groups with it, \d a policy's roles), is
// planned as a scalar subquery whose value is ARRAY_AGG of the query's
// column instead of its SINGLE_VALUE (see bind_scalar_subquery.go):
//
//   - Uncorrelated: input LEFT JOIN (SELECT ARRAY_AGG(x) FROM sub) ON TRUE.
//   - Correlated, decorrelated over the domain of the outer values it
//     reads (Neumann and Kemper's "Unnesting Arbitrary Queries"): with
//     d the distinct outer columns it names, in its WHERE, its item or
//     the subqueries nested there (bind_domain_subquery.go),
//     input LEFT JOIN (SELECT d.*, ARRAY_AGG(x) FROM (SELECT DISTINCT
//     o... FROM input) d JOIN sub ON corr WHERE local GROUP BY d.*) ON
//     input.o... IS NOT DISTINCT FROM d.*. This is exact for any
//     correlated condition (m.member = r.oid, oid = ANY(pol.polroles),
//     t.x < o.y), any item (o.a || t.b) and any duplicate outer rows;
//     the outer input is read twice. A body with GROUP BY, HAVING,
//     DISTINCT or LIMIT runs per domain row too (domainArray).
//
// An outer row without subquery rows gets the LEFT JOIN's NULL, which
// $ARRAY_SUBQUERY turns into PostgreSQL's empty array. ARRAY_AGG collects
// in arrival order, so an ORDER BY of the query's one column is applied
// by $ARRAY_SUBQUERY sorting each array; another ORDER BY is refused.

// arraySubquery plans the right side of ARRAY(query) for scalarJoin: the
// aggregated array, the join condition and the number of keys before it.
func (b *binder) arraySubquery(q *sql.SubqueryExpr, input Node, sc *scope) (Node, expr.Expr, int, error) {
	if _, err := b.arraySubqueryOrder(q); err != nil {
		return nil, nil, 0, err
	}
	unordered := *q.Query
	unordered.OrderBy = nil
	if fn, sel, ok := lateralUnnestSelect(&unordered); ok && b.unnestRefersOutside(fn) {
		return b.lateralUnnestArray(q, sel, fn, input, sc)
	}
	if sel, ok := correlatedScalarSelect(&unordered); ok && (b.refersOutside(sel) || b.itemsReferOutside(sel)) {
		return b.correlatedArray(q, sel, input, sc)
	}
	sub, err := b.bindQuery(&unordered)
	if err != nil {
		if sel, ok := correlatedBodySelect(&unordered); ok && namesOutside(err) {
			// Correlated with GROUP BY, HAVING, DISTINCT or LIMIT.
			return b.domainArray(q, sel, input, sc)
		}
		return nil, nil, 0, err
	}
	if sub.Schema().Len() != 1 {
		return nil, nil, 0, b.errAt(errs.DatatypeMismatch, q, "ARRAY(query) must return one column, not %d", sub.Schema().Len())
	}
	right, err := b.arrayAgg(q, sub, 0)
	return right, nil, 0, err
}

// correlatedArray plans the right side of a correlated ARRAY(query) over
// the domain of the outer columns it names (see above and
// domainSubquery): the domain's columns and the array, the IS NOT
// DISTINCT FROM condition joining them to input, and the number of
// domain columns.
func (b *binder) correlatedArray(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (Node, expr.Expr, int, error) {
	if len(sel.Items) != 1 || sel.Items[0].Star {
		return nil, nil, 0, b.errAt(errs.DatatypeMismatch, q, "ARRAY(query) must return one column")
	}
	values, cols, err := b.domainSubquery(q, sel, input, sc)
	if err != nil {
		return nil, nil, 0, err
	}
	right, err := b.arrayAgg(q, values, len(cols))
	if err != nil {
		return nil, nil, 0, err
	}
	on, err := b.domainCondition(q, cols, input.Schema(), right.Schema(), len(sc.cols))
	return right, on, len(cols), err
}

// lateralUnnestSelect returns the SELECT of ARRAY(SELECT f(x) FROM
// UNNEST(o.arr) [AS] x), the array psql's \d+ maps over a column of the
// outer row (SELECT 'toast.' || x FROM pg_catalog.unnest(tc.reloptions)
// x): one item, a lone UNNEST of one collection, no WHERE or grouping.
func lateralUnnestSelect(q *sql.Query) (*sql.TableFunctionRef, *sql.Select, bool) {
	sel, ok := q.Body.(*sql.Select)
	if !ok || len(q.With) > 0 || q.Limit != nil || sel.Where != nil || len(sel.GroupBy) > 0 || sel.GroupingSets != nil ||
		sel.Having != nil || sel.Distinct || len(sel.Items) != 1 || sel.Items[0].Star || !isUnnest(sel.From) {
		return nil, nil, false
	}
	fn := sel.From.(*sql.TableFunctionRef)
	return fn, sel, len(fn.Args) == 1 && fn.Args[0].Expr != nil && !fn.WithOrdinality
}

// unnestRefersOutside reports whether the UNNEST's collection names a
// column: with no FROM before it, that is an outer query's column.
func (b *binder) unnestRefersOutside(fn *sql.TableFunctionRef) bool {
	found := false
	walkSQL(fn.Args[0].Expr, func(x sql.Expr) bool {
		if _, ok := x.(*sql.Ident); ok {
			found = true
		}
		return !found
	})
	return found
}

// lateralUnnestArray plans ARRAY(SELECT f(x) FROM UNNEST(o.arr) x) over
// the domain of the outer columns the collection reads: d LEFT JOIN'd as
// above, with the subquery's rows (SELECT d.*, ARRAY_AGG(f(x)) FROM
// (SELECT DISTINCT o... FROM input) d CROSS JOIN UNNEST(d.arr) x GROUP BY
// d.*). A NULL or empty collection has no rows, so an empty array. As in
// PostgreSQL, x alone names both the UNNEST and its element column.
func (b *binder) lateralUnnestArray(q *sql.SubqueryExpr, sel *sql.Select, fn *sql.TableFunctionRef, input Node, sc *scope) (Node, expr.Expr, int, error) {
	arg, err := b.bindExpr(sc, fn.Args[0].Expr)
	if err != nil {
		return nil, nil, 0, err
	}
	cols := expr.InputColumns(arg)
	sort.Ints(cols)
	cols = slices.Compact(cols)
	is := input.Schema()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = is.Columns[c].Name
	}
	names = uniqueNames(names)
	dom := &Aggregate{Input: domainInput(input, cols), Keys: cols, Names: names}
	ds := &scope{}
	for i, c := range cols {
		ds.cols = append(ds.cols, scopeColumn{qualifier: sc.cols[c].qualifier, name: sc.cols[c].name, typ: dom.Schema().Columns[i].Type})
	}
	unnest := *fn
	if unnest.Alias != "" && len(unnest.ColumnAliases) == 0 {
		if elems, err := UnnestColumns(arg.Type()); err == nil && len(elems) == 1 {
			unnest.ColumnAliases = []string{unnest.Alias}
		}
	}
	c, csc, err := b.bindUnnest(&unnest, dom, ds, false)
	if err != nil {
		return nil, nil, 0, err
	}
	// Only the UNNEST's columns are the subquery's: hide the domain's.
	inner := &scope{cols: append([]scopeColumn(nil), csc.cols...)}
	k := len(cols)
	for i := 0; i < k; i++ {
		inner.cols[i].hidden = true
	}
	value, err := b.bindExpr(inner, sel.Items[0].Expr)
	if err != nil {
		return nil, nil, 0, err
	}
	exprs := append(columnRefsOf(types.Schema{Columns: c.Schema().Columns[:k]}), value)
	right, err := b.arrayAgg(q, &Project{Input: c, Exprs: exprs, Names: uniqueNames(append(append([]string(nil), names...), "$value"))}, k)
	if err != nil {
		return nil, nil, 0, err
	}
	on, err := b.domainCondition(q, cols, is, right.Schema(), len(sc.cols))
	return right, on, k, err
}

// domainCondition joins each input row to its domain row: the input's
// columns cols IS NOT DISTINCT FROM the right side's first columns, which
// start at width.
func (b *binder) domainCondition(q *sql.SubqueryExpr, cols []int, is, rs types.Schema, width int) (expr.Expr, error) {
	var on expr.Expr
	for i, c := range cols {
		eq, err := b.call(q, "IS NOT DISTINCT FROM",
			&expr.ColumnRef{Index: c, Name: is.Columns[c].Name, T: is.Columns[c].Type},
			&expr.ColumnRef{Index: width + i, Name: rs.Columns[i].Name, T: rs.Columns[i].Type})
		if err != nil {
			return nil, err
		}
		if on == nil {
			on = eq
		} else if on, err = b.call(q, "AND", on, eq); err != nil {
			return nil, err
		}
	}
	return on, nil
}

// arrayAgg reduces sub, whose columns are keys grouping keys followed by
// the value, to the keys and ARRAY_AGG(value).
func (b *binder) arrayAgg(q *sql.SubqueryExpr, sub Node, keys int) (Node, error) {
	ss := sub.Schema()
	at, err := agg.ResultType("ARRAY_AGG", []types.DataType{ss.Columns[keys].Type})
	if err != nil {
		return nil, b.errAt(errs.NotSupported, q, "ARRAY(query): %v", err)
	}
	keyIdx := make([]int, keys)
	names := make([]string, 0, keys+1)
	for i := range keyIdx {
		keyIdx[i] = i
		names = append(names, ss.Columns[i].Name)
	}
	return &Aggregate{Input: sub, Keys: keyIdx, Names: append(names, "$array"), Calls: []agg.Call{
		{Func: "ARRAY_AGG", Args: []int{keys}, Filter: -1, Type: at, Name: "$array"},
	}}, nil
}

// arraySubqueryOrder returns how $ARRAY_SUBQUERY orders the elements of
// ARRAY(query): 0 without ORDER BY, 1 or -1 for ORDER BY its one column
// (by ordinal, name or the same expression) ascending or descending.
func (s source) arraySubqueryOrder(q *sql.SubqueryExpr) (int64, error) {
	ob := q.Query.OrderBy
	if len(ob) == 0 {
		return 0, nil
	}
	sel, ok := q.Query.Body.(*sql.Select)
	if len(ob) > 1 || !ok || len(sel.Items) != 1 || sel.Items[0].Star || !ordersItem(ob[0].Expr, sel.Items[0]) {
		return 0, s.errAt(errs.NotSupported, q, "ARRAY(query) may be ordered only by its one column")
	}
	if ob[0].Desc {
		return -1, nil
	}
	return 1, nil
}

// ordersItem reports whether an ORDER BY expression names the select item
// it: its ordinal 1, its alias or the same expression.
func ordersItem(e sql.Expr, it sql.SelectItem) bool {
	if l, ok := e.(*sql.Literal); ok {
		return l.Kind == sql.IntLit && l.Text == "1"
	}
	if id, ok := e.(*sql.Ident); ok && len(id.Parts) == 1 && it.Alias != "" && strings.EqualFold(id.Parts[0], it.Alias) {
		return true
	}
	return sql.FormatExpr(e) == sql.FormatExpr(it.Expr)
}

// orderedItem is the index of the item of items that the ORDER BY key e
// names, by position, alias or expression, or -1.
func orderedItem(e sql.Expr, items []sql.SelectItem) int {
	if l, ok := e.(*sql.Literal); ok && l.Kind == sql.IntLit {
		if n, err := strconv.Atoi(l.Text); err == nil && n >= 1 && n <= len(items) {
			return n - 1
		}
		return -1
	}
	for i, it := range items {
		if ordersItem(e, it) {
			return i
		}
	}
	return -1
}

// bindArraySubquery is the value of ARRAY(query) whose aggregate scalarJoin
// put in col: the empty array for NULL, sorted as ordered.
func (s source) bindArraySubquery(q *sql.SubqueryExpr, col expr.Expr) (expr.Expr, error) {
	order, err := s.arraySubqueryOrder(q)
	if err != nil {
		return nil, err
	}
	return s.call(q, expr.ArraySubquery, col, expr.NewLiteral(order, types.IntType.WithNullable(false)))
}
