package planner

import (
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// EXISTS (query) used as a value, not as a WHERE conjunct (which
// bindWhere plans as a semi join): in a SELECT item, a CASE, an AND of
// psql's \d of an index ((NOT i.indimmediate) AND EXISTS (SELECT 1 FROM
// pg_constraint WHERE conrelid = i.indrelid ...)). It is planned as the
// scalar subquery (SELECT MAX(1) FROM ... WHERE ...), decorrelated as
// scalar subqueries are (grouped by its correlation columns, LEFT JOINed),
// and EXISTS is that value IS NOT NULL: never NULL, as in SQL. A query
// with GROUP BY, HAVING, LIMIT or OFFSET is (SELECT MAX(1) FROM (query))
// instead, or correlated (SELECT TRUE ... LIMIT 1) (existsQuery), its
// groups or limit deciding which rows exist.

// existsJoin plans [NOT] EXISTS (query) as a value: the LEFT JOIN of its
// scalar subquery, whose column the returned scope maps n to.
func (b *binder) existsJoin(n *sql.Exists, input Node, sc *scope) (Node, *scope, error) {
	sel, ok := n.Query.Body.(*sql.Select)
	if !ok || len(n.Query.With) > 0 || sel.GroupingSets != nil {
		return nil, nil, b.errAt(errs.NotSupported, n, "EXISTS with a set operation, WITH or GROUPING SETS as a value is not supported yet")
	}
	if n.Query.Limit != nil || n.Query.Offset != nil || len(sel.GroupBy) > 0 || sel.Having != nil {
		_, err := b.bindQuery(n.Query)
		if namesOutside(err) {
			return b.existsValueJoin(n, existsQuery(n, sel), input, sc)
		}
		if err != nil {
			return nil, nil, err
		}
		// Uncorrelated: (SELECT MAX(1) FROM (query)), an aggregate that
		// retracts as the query's rows come and go, where a streaming
		// LIMIT 1 would keep its first row.
		one := &sql.Select{Pos: n.Pos, Items: []sql.SelectItem{{Pos: n.Pos, Expr: &sql.FuncCall{Pos: n.Pos, Name: "MAX",
			Args: []sql.Expr{&sql.Literal{Pos: n.Pos, Kind: sql.IntLit, Text: "1"}}}}},
			From: &sql.SubqueryRef{Pos: n.Pos, Query: n.Query, Alias: "$exists"}}
		return b.existsValueJoin(n, &sql.SubqueryExpr{Pos: n.Pos, Query: &sql.Query{Pos: n.Query.Pos, Body: one}}, input, sc)
	}
	// Which rows exist does not depend on the items, DISTINCT or ORDER BY.
	one := *sel
	one.Distinct = false
	one.Items = []sql.SelectItem{{Pos: n.Pos, Expr: &sql.FuncCall{Pos: n.Pos, Name: "MAX",
		Args: []sql.Expr{&sql.Literal{Pos: n.Pos, Kind: sql.IntLit, Text: "1"}}}}}
	if hasAggregates(itemExprs(sel.Items)...) {
		// An aggregate without grouping has one row even over no rows:
		// COUNT(*) is never NULL, 0 where the LEFT JOIN finds no group.
		one.Items = []sql.SelectItem{{Pos: n.Pos, Expr: &sql.FuncCall{Pos: n.Pos, Name: "COUNT", Star: true}}}
	}
	return b.existsValueJoin(n, &sql.SubqueryExpr{Pos: n.Pos, Query: &sql.Query{Pos: n.Query.Pos, Body: &one}}, input, sc)
}

// existsValueJoin plans EXISTS n as the LEFT JOIN of its scalar subquery
// q, whose column the returned scope maps n to.
func (b *binder) existsValueJoin(n *sql.Exists, q *sql.SubqueryExpr, input Node, sc *scope) (Node, *scope, error) {
	out, osc, err := b.scalarJoin(q, input, sc)
	if err != nil {
		return nil, nil, err
	}
	osc.scalars[n] = osc.scalars[q]
	delete(osc.scalars, q)
	return out, osc, nil
}

// existsValue is [NOT] EXISTS over its scalar subquery's column i.
func (s source) existsValue(n *sql.Exists, sc *scope, i int) (expr.Expr, error) {
	c := sc.cols[i]
	test := "IS NOT NULL"
	if n.Not {
		test = "IS NULL"
	}
	return s.call(n, test, &expr.ColumnRef{Index: i, Name: c.name, T: c.typ})
}
