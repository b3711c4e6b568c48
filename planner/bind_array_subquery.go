package planner

import (
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
//   - Correlated: input LEFT JOIN (SELECT k..., ARRAY_AGG(x) FROM sub
//     WHERE local GROUP BY k...) ON the correlated conjuncts. With
//     equality correlations (m.member = r.oid) this is exact; a conjunct
//     that is not an equality (oid = ANY(pol.polroles)) makes its inner
//     column a key, so an outer row gets one array per matching key
//     rather than one array in all, as scalar subqueries repeat rows.
//
// An outer row without subquery rows gets the LEFT JOIN's NULL, which
// $ARRAY_SUBQUERY turns into PostgreSQL's empty array. ARRAY_AGG collects
// in arrival order, so an ORDER BY of the query's one column is applied
// by $ARRAY_SUBQUERY sorting each array; another ORDER BY is refused.

// arraySubquery plans the right side of ARRAY(query) for scalarJoin: the
// aggregated array, the join condition and the number of keys before it.
func (b *binder) arraySubquery(q *sql.SubqueryExpr, sc *scope) (Node, expr.Expr, int, error) {
	if _, err := b.arraySubqueryOrder(q); err != nil {
		return nil, nil, 0, err
	}
	unordered := *q.Query
	unordered.OrderBy = nil
	if sel, ok := correlatedScalarSelect(&unordered); ok && b.refersOutside(sel) {
		if hasAggregates(sel.Items[0].Expr) {
			return nil, nil, 0, b.errAt(errs.NotSupported, q, "a correlated ARRAY(query) of an aggregate is not supported yet")
		}
		return b.correlatedScalar(q, sel, sc)
	}
	sub, err := b.bindQuery(&unordered)
	if err != nil {
		return nil, nil, 0, err
	}
	if sub.Schema().Len() != 1 {
		return nil, nil, 0, b.errAt(errs.DatatypeMismatch, q, "ARRAY(query) must return one column, not %d", sub.Schema().Len())
	}
	right, err := b.arrayAgg(q, sub, 0)
	return right, nil, 0, err
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

// bindArraySubquery is the value of ARRAY(query) whose aggregate scalarJoin
// put in col: the empty array for NULL, sorted as ordered.
func (s source) bindArraySubquery(q *sql.SubqueryExpr, col expr.Expr) (expr.Expr, error) {
	order, err := s.arraySubqueryOrder(q)
	if err != nil {
		return nil, err
	}
	return s.call(q, expr.ArraySubquery, col, expr.NewLiteral(order, types.IntType.WithNullable(false)))
}
