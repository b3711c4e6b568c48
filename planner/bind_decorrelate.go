package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// Steps shared by the decorrelation of subqueries (EXISTS, IN, scalar and
// ARRAY subqueries): each becomes a join of the outer input with the
// subquery's FROM, whose WHERE splits into the join condition and a filter
// of the FROM alone.

// correlatedFrom binds the FROM of a subquery to decorrelate and splits
// its WHERE (splitCorrelated) over joint: sc's columns, then the FROM's.
// With shadow, a name the FROM has shadows the outer columns in joint
// (scope.inner).
func (b *binder) correlatedFrom(sel *sql.Select, sc *scope, shadow bool) (sub Node, subScope, joint *scope, corr []expr.Expr, local []sql.Expr, err error) {
	if sub, subScope, err = b.bindFrom(sel.From); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	width := len(sc.cols)
	joint = &scope{cols: append(append([]scopeColumn(nil), sc.cols...), subScope.cols...)}
	if shadow {
		joint.inner, joint.outerLevels = width, sc.levels()
	}
	if corr, local, err = b.splitCorrelated(sel.Where, joint, width); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	return sub, subScope, joint, corr, local, nil
}

// inJoin is the join type and condition of x [NOT] IN (subquery), eq
// being x = y over the subquery's value y: a semi join, or for NOT IN an
// anti join matching also where either side is NULL (notInCondition).
func (b *binder) inJoin(n sql.Node, not bool, eq, x, y expr.Expr) (JoinType, expr.Expr, error) {
	if !not {
		return SemiJoin, eq, nil
	}
	cond, err := b.notInCondition(n, eq, x, y)
	return AntiJoin, cond, err
}

// splitCorrelated binds the conjuncts of a subquery's WHERE over joint
// (the outer query's first width columns, then the subquery's FROM) and
// splits them: those reading outer columns, bound over joint, correlate
// and join; the others, unbound, filter the subquery's FROM alone.
func (b *binder) splitCorrelated(where sql.Expr, joint *scope, width int) (corr []expr.Expr, local []sql.Expr, err error) {
	if where == nil {
		return nil, nil, nil
	}
	own := &scope{cols: joint.cols[width:]}
	for _, c := range splitAnd(where) {
		// A conjunct nesting subqueries cannot bind here; one that names
		// no outer column filters the FROM alone, its subqueries
		// decorrelating over the FROM (bindWhere).
		if (hasScalarSubquery(c) || hasInSubquery(c)) && !b.readsOuter(c, joint, own, width) {
			local = append(local, c)
			continue
		}
		e, err := b.bindExpr(joint, c)
		if err != nil {
			return nil, nil, err
		}
		usesOuter := false
		for _, col := range expr.InputColumns(e) {
			usesOuter = usesOuter || col < width
		}
		if usesOuter {
			corr = append(corr, e)
		} else {
			local = append(local, c)
		}
	}
	return corr, local, nil
}

// andExprs is the conjunction of the bound conditions cs in order; nil
// when there are none.
func (b *binder) andExprs(n sql.Node, cs []expr.Expr) (expr.Expr, error) {
	var cond expr.Expr
	for _, c := range cs {
		if cond == nil {
			cond = c
			continue
		}
		var err error
		if cond, err = b.call(n, "AND", cond, c); err != nil {
			return nil, err
		}
	}
	return cond, nil
}

// notInCondition widens NOT IN's equality x = y to a match when either
// side is NULL: as in SQL, a NULL on either side makes the row's NOT IN
// unknown, which drops it from the anti join's output. A side that cannot
// be NULL adds nothing.
func (b *binder) notInCondition(n sql.Node, eq, x, y expr.Expr) (expr.Expr, error) {
	for _, side := range []expr.Expr{x, y} {
		if !side.Type().Nullable() {
			continue
		}
		isNull, err := b.call(n, "IS NULL", side)
		if err != nil {
			return nil, err
		}
		if eq, err = b.call(n, "OR", eq, isNull); err != nil {
			return nil, err
		}
	}
	return eq, nil
}

// keepColumns projects n to its first width columns (dropping the columns
// a decorrelating join computed or added), or returns n when it has no
// more.
func keepColumns(n Node, width int) Node {
	s := n.Schema()
	if s.Len() == width {
		return n
	}
	return &Project{Input: n, Exprs: columnRefsOf(types.Schema{Columns: s.Columns[:width]}), Names: s.Names()[:width]}
}

// filterThroughJoins filters input by the WHERE conjunct c, which nests
// subqueries that plan joins extending input and its scope (scalar
// subqueries, IN subqueries); the result has input's columns.
func (b *binder) filterThroughJoins(c sql.Expr, input Node, sc *scope, plan func(Node, *scope) (Node, *scope, error)) (Node, error) {
	outer := len(sc.cols)
	in, jsc, err := plan(input, sc)
	if err != nil {
		return nil, err
	}
	cond, err := b.bindExpr(jsc, c)
	if err != nil {
		return nil, err
	}
	if k := cond.Type().Kind; k != types.Boolean && k != types.Null {
		return nil, b.errAt(errs.DatatypeMismatch, c, "WHERE condition must be BOOLEAN, not %s", cond.Type())
	}
	var out Node = &Filter{Input: in, Condition: cond}
	s := out.Schema()
	return &Project{Input: out, Exprs: columnRefsOf(types.Schema{Columns: s.Columns[:outer]}), Names: s.Names()[:outer]}, nil
}
