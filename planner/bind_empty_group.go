package planner

import (
	"fmt"
	"slices"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/sql"
)

// A correlated scalar subquery whose value aggregates, (SELECT COUNT(*)
// FROM t WHERE t.k = o.k), is decorrelated into an aggregate grouped by
// its correlation keys and LEFT JOINed to the outer rows. An outer row
// whose subquery has no rows finds no group, so the join gives it NULL,
// while the subquery itself aggregates over no rows: COUNT gives 0, and an
// item such as COUNT(*) + 1 or COALESCE(SUM(x), 0) is not NULL either
// (Calcite's "count bug"). As Calcite's RelDecorrelator does, the grouped
// side then carries a marker column, TRUE in every group, and the value
// above the join is CASE WHEN marker IS NULL THEN <the item over no rows>
// ELSE value END. The item over no rows is the item with COUNT's calls
// replaced by 0 and the other aggregates' by NULL; an item that is NULL
// over no rows needs no marker, the join's NULL being right.

// correlatedValue is the right side of a correlated scalar subquery's
// LEFT JOIN (see scalarJoin).
type correlatedValue struct {
	// node's first keys columns are the join keys, then comes the value,
	// then, when empty is set, the marker.
	node Node
	cond expr.Expr
	keys int
	// empty, when set, is the value of an outer row without subquery rows,
	// over the outer input's columns.
	empty expr.Expr
}

// aggregatedValue binds the items of a grouped subquery, its k keys then
// its value, over their aggregate a (in scope asc), and adds the marker
// when the value over no rows is not NULL (see above). outerKey maps a key
// to the outer expression it equals for the outer rows joined to it, or is
// nil when keys have no such expression (the item cannot name them): a key
// the value reads then reads as NULL over no rows.
func (b *binder) aggregatedValue(a Node, asc *scope, items []sql.SelectItem, k int, outerKey func(int) expr.Expr) (Node, expr.Expr, error) {
	p, err := b.projectItems(a, asc, items)
	if err != nil {
		return nil, nil, err
	}
	ag, ok := a.(*Aggregate)
	if !ok {
		return p, nil, nil
	}
	proj := p.(*Project)
	empty := noRowsValue(proj.Exprs[k], ag, k, outerKey)
	if l, ok := empty.(*expr.Literal); ok && l.Value == nil {
		return proj, nil, nil
	}
	marked := &Project{
		Input: proj.Input,
		Exprs: append(append([]expr.Expr(nil), proj.Exprs...), &expr.Literal{Value: true, T: types.BooleanType.WithNullable(false)}),
		Names: uniqueNames(append(append([]string(nil), proj.Names...), "$matched")),
	}
	return marked, empty, nil
}

// noRowsValue is e, an expression over the aggregate ag whose first k
// keys are a subquery's keys (see aggregatedValue for outerKey), over no
// rows: COUNT's calls read 0, the other aggregates NULL. A constant folds;
// one that fails to evaluate (1 / COUNT(*)) stays an expression, failing
// only where an outer row needs it.
func noRowsValue(e expr.Expr, ag *Aggregate, k int, outerKey func(int) expr.Expr) expr.Expr {
	v := expr.Rewrite(e, func(e expr.Expr) expr.Expr {
		r, ok := e.(*expr.ColumnRef)
		if !ok {
			return e
		}
		switch {
		case r.Index < k && outerKey != nil:
			return outerKey(r.Index)
		case r.Index >= len(ag.Keys) && ag.Calls[r.Index-len(ag.Keys)].Func == "COUNT":
			return &expr.Literal{Value: int64(0), T: r.T}
		}
		return &expr.Literal{T: r.T.WithNullable(true)}
	})
	if f, err := expr.Fold(v); err == nil {
		return f
	}
	return v
}

// emptyGroupValue is the value of a scalar subquery joined to input as
// join (its right side starting at width, keys key columns, the value, the
// marker): CASE WHEN marker IS NULL THEN empty ELSE value END.
func (b *binder) emptyGroupValue(q sql.Node, join Node, width, keys int, empty expr.Expr) (expr.Expr, error) {
	js := join.Schema()
	v, m := width+keys, width+keys+1
	value := &expr.ColumnRef{Index: v, Name: js.Columns[v].Name, T: js.Columns[v].Type}
	marker := &expr.ColumnRef{Index: m, Name: js.Columns[m].Name, T: js.Columns[m].Type}
	unmatched, err := b.call(q, "IS NULL", marker)
	if err != nil {
		return nil, err
	}
	return b.call(q, "CASE", unmatched, empty, value)
}

// correlationKey is one equality conjunct of a correlated subquery's
// WHERE, inner = outer: inner reads only the subquery's FROM (bound over
// it as bound), outer only the outer query's columns (bound over the
// joint scope).
type correlationKey struct {
	// name is the key column's: the inner column's, or one no query can
	// write for an expression.
	name  string
	inner sql.Expr
	bound expr.Expr
	outer expr.Expr
	// innerLeft keeps the conjunct's order for the join condition.
	innerLeft bool
}

// correlationKeys splits the correlated conjuncts of where into equalities
// between an expression of the subquery's FROM (own) and one of the outer
// query's columns, the first width columns of joint. The subquery is then
// keyed by those inner expressions (r.a, CAST(x.c AS BIGINT), x.a + 1),
// not by the columns they read, which would make several groups per outer
// row. The conjuncts of outer columns alone are returned bound over joint
// as outer. ok is false when another correlated conjunct is no such
// equality: the subquery then goes over the domain of the outer values
// instead.
func (b *binder) correlationKeys(where sql.Expr, joint, own *scope, width int) (keys []correlationKey, outer []expr.Expr, ok bool) {
	if where == nil {
		return nil, nil, true
	}
	for _, c := range splitAnd(where) {
		if !b.readsOuter(c, joint, own, width) {
			continue
		}
		if hasScalarSubquery(c) || hasInSubquery(c) {
			return nil, nil, false
		}
		// A conjunct of outer columns alone joins as it is: where it does
		// not hold, the subquery has no rows, as where no key matches.
		if e, err := b.bindExpr(joint, c); err == nil && slices.Max(append(expr.InputColumns(e), -1)) < width {
			outer = append(outer, e)
			continue
		}
		eq, isEq := c.(*sql.Binary)
		if !isEq || eq.Op != sql.Eq {
			return nil, nil, false
		}
		key, found := b.correlationEquality(eq.Left, eq.Right, joint, own, width)
		key.innerLeft = found
		if !found {
			if key, found = b.correlationEquality(eq.Right, eq.Left, joint, own, width); !found {
				return nil, nil, false
			}
		}
		key.name = keyName(len(keys))
		if r, ok := key.bound.(*expr.ColumnRef); ok {
			key.name = r.Name
		}
		keys = append(keys, key)
	}
	return keys, outer, true
}

// correlationEquality reports whether inner = outer correlates the
// subquery by an expression of its own FROM (see correlationKeys).
func (b *binder) correlationEquality(inner, outer sql.Expr, joint, own *scope, width int) (correlationKey, bool) {
	in, err := b.bindExpr(own, inner)
	if err != nil {
		return correlationKey{}, false
	}
	out, err := b.bindExpr(joint, outer)
	if err != nil {
		return correlationKey{}, false
	}
	cols := expr.InputColumns(out)
	for _, c := range cols {
		if c >= width {
			return correlationKey{}, false
		}
	}
	return correlationKey{inner: inner, bound: in, outer: out}, len(cols) > 0
}

// readsOuter reports whether the conjunct c of a subquery's WHERE names a
// column of the outer query (the first width columns of joint), also
// inside the subqueries nested in it: a name its own FROM (own) does not
// have that resolves in joint to an outer column, or an aggregate of the
// outer query.
func (b *binder) readsOuter(c sql.Expr, joint, own *scope, width int) bool {
	found := false
	walkDeep(c, func(x sql.Expr) {
		switch n := x.(type) {
		case *sql.Ident:
			if found {
				return
			}
			if _, _, err := b.resolve(own, n); err == nil {
				return
			}
			if i, _, err := b.resolve(joint, n); err == nil && i < width {
				found = true
			}
		case *sql.FuncCall:
			// An aggregate of an enclosing grouped query
			// (bind_outer_aggregate.go).
			if r, ok := outerAggregate(joint, n); ok && r.Index < width {
				found = true
			}
		}
	})
	return found
}

// keyName is the name of a subquery's i-th correlation key, which no
// query can write.
func keyName(i int) string {
	return fmt.Sprintf("$key%d", i)
}
