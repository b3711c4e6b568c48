package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// bindGroupingSets plans GROUP BY GROUPING SETS / ROLLUP / CUBE as the
// UNION ALL of one aggregation per grouping set, in which the grouping
// expressions outside the set read as NULL and GROUPING(e) as 1. (Flink
// expands the input once instead; this reads it once per set.)
func (b *binder) bindGroupingSets(s *sql.Select) (Node, error) {
	var out Node
	for k, set := range s.GroupingSets {
		one := *s
		one.GroupBy = set
		one.GroupingSets = nil
		one.Distinct = false
		b.absentGroups = nil
		for _, g := range s.GroupBy {
			if !containsExpr(set, g) {
				b.absentGroups = append(b.absentGroups, g)
			}
		}
		b.groupingSet, b.groupID = true, 0
		for _, prev := range s.GroupingSets[:k] {
			if sameSet(prev, set) {
				b.groupID++
			}
		}
		n, err := b.bindSelect(&one)
		b.absentGroups, b.groupingSet, b.groupID = nil, false, 0
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = n
			continue
		}
		if out, err = b.unionAll(&sql.SetOp{Pos: s.Pos, Op: sql.Union, All: true}, out, n); err != nil {
			return nil, err
		}
	}
	if s.Distinct {
		out = distinct(out)
	}
	return out, nil
}

func containsExpr(list []sql.Expr, e sql.Expr) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// sameSet reports whether two grouping sets hold the same expressions.
func sameSet(a, b []sql.Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !containsExpr(b, x) {
			return false
		}
	}
	return true
}

// absentGroup binds an expression of a grouping set's query that is
// grouped in another set only: NULL of the expression's type. GROUPING(e)
// (and its synonym GROUPING_ID) is 1 when e is absent from the set, else
// 0; GROUP_ID() tells the copies of a repeated grouping set apart.
func (s source) absentGroup(ac *aggContext, e sql.Expr) (expr.Expr, bool, error) {
	if f, ok := e.(*sql.FuncCall); ok && f.Name == "GROUP_ID" && len(f.Args) == 0 && !f.Star {
		return &expr.Literal{Value: ac.groupID, T: types.BigIntType.WithNullable(false)}, true, nil
	}
	if f, ok := e.(*sql.FuncCall); ok && (f.Name == "GROUPING" || f.Name == "GROUPING_ID") {
		bit := int64(0)
		for _, a := range f.Args {
			bit <<= 1
			if containsText(ac.absent, sql.FormatExpr(a)) {
				bit |= 1
			}
		}
		return &expr.Literal{Value: bit, T: types.BigIntType.WithNullable(false)}, true, nil
	}
	text := sql.FormatExpr(e)
	for i, a := range ac.absent {
		if a == text {
			t := ac.absentTypes[i]
			if t.Kind == types.Null {
				return nil, true, s.errAt(errs.DatatypeMismatch, e, "cannot type %s", text)
			}
			return &expr.Literal{T: t.WithNullable(true).WithTimeAttr(types.NoTimeAttr)}, true, nil
		}
	}
	return nil, false, nil
}

func containsText(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
