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
// and EXISTS is that value IS NOT NULL: never NULL, as in SQL.

// existsJoin plans [NOT] EXISTS (query) as a value: the LEFT JOIN of its
// scalar subquery, whose column the returned scope maps n to.
func (b *binder) existsJoin(n *sql.Exists, input Node, sc *scope) (Node, *scope, error) {
	sel, ok := n.Query.Body.(*sql.Select)
	if !ok || len(n.Query.With) > 0 || n.Query.Limit != nil || n.Query.Offset != nil || len(sel.GroupBy) > 0 || sel.GroupingSets != nil || sel.Having != nil {
		return nil, nil, b.errAt(errs.NotSupported, n, "EXISTS with a set operation, WITH, LIMIT, OFFSET, GROUP BY or HAVING as a value is not supported yet")
	}
	// Which rows exist does not depend on the items, DISTINCT or ORDER BY.
	one := *sel
	one.Distinct = false
	one.Items = []sql.SelectItem{{Pos: n.Pos, Expr: &sql.FuncCall{Pos: n.Pos, Name: "MAX",
		Args: []sql.Expr{&sql.Literal{Pos: n.Pos, Kind: sql.IntLit, Text: "1"}}}}}
	q := &sql.SubqueryExpr{Pos: n.Pos, Query: &sql.Query{Pos: n.Query.Pos, Body: &one}}
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
