package planner

import (
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/sql"
)

// An aggregate call inside a subquery whose arguments name only columns
// of an enclosing grouped query belongs to that query, as the SQL
// standard and PostgreSQL say: in
//
//	SELECT o.customer, (SELECT COUNT(*) FROM customers k
//	                    WHERE k.id < SUM(o.qty)) FROM orders o
//	GROUP BY o.customer
//
// SUM(o.qty) is the outer group's sum, a constant for the subquery. The
// grouped query's aggregate computes it beside its own calls
// (bindAggregate), its column in the scope above the aggregate named
// outerAggregateName, and inside the subquery the call binds to that
// column (bindCall) as any outer column does, so that the subquery
// decorrelates over it.

// outerAggregateName is the scope name of the column holding the outer
// aggregate call f; no identifier can spell it.
func outerAggregateName(f *sql.FuncCall) string {
	return "$agg " + sql.FormatExpr(f)
}

// outerAggregates returns the aggregate calls inside the subqueries
// nested in es that belong to the grouped query of FROM scope sc (see
// above): calls naming columns, all of sc and none of the FROM of the
// subquery they are in.
func (b *binder) outerAggregates(es []sql.Expr, sc *scope) []*sql.FuncCall {
	var out []*sql.FuncCall
	for _, e := range es {
		walkSQL(e, func(x sql.Expr) bool {
			var q *sql.Query
			switch n := x.(type) {
			case *sql.SubqueryExpr:
				q = n.Query
			case *sql.Exists:
				q = n.Query
			case *sql.InSubquery:
				q = n.Query
			default:
				return true
			}
			var own *scope
			if sel, ok := q.Body.(*sql.Select); ok && sel.From != nil {
				if _, s, err := b.bindFrom(sel.From); err == nil {
					own = s
				}
			}
			walkQueryDeep(q, func(y sql.Expr) {
				if f, ok := y.(*sql.FuncCall); ok && agg.IsAggregate(f.Name) && !windowed(f) && b.namesOnly(f, sc, own) {
					out = append(out, f)
				}
			})
			return false
		})
	}
	return out
}

// namesOnly reports whether the call f names columns, each of sc and
// none of own (when set).
func (b *binder) namesOnly(f *sql.FuncCall, sc, own *scope) bool {
	named, outer := false, true
	walkIdents(f, func(id *sql.Ident) {
		named = true
		if own != nil {
			if _, _, err := b.resolve(own, id); err == nil {
				outer = false
				return
			}
		}
		if _, _, err := b.resolve(sc, id); err != nil {
			outer = false
		}
	})
	return named && outer
}

// outerAggregate binds the aggregate call f in a subquery to the column
// of sc that an enclosing grouped query computed it in (see above).
func outerAggregate(sc *scope, f *sql.FuncCall) (*expr.ColumnRef, bool) {
	name := outerAggregateName(f)
	for i, c := range sc.cols {
		if c.name == name {
			return &expr.ColumnRef{Index: i, Name: name, T: c.typ}, true
		}
	}
	return nil, false
}
