package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// isUnnest reports whether a FROM item is UNNEST(...).
func isUnnest(t sql.TableExpr) bool {
	fn, ok := t.(*sql.TableFunctionRef)
	return ok && fn.Name == "UNNEST"
}

// bindUnnest plans left [CROSS | LEFT] JOIN UNNEST(arg) [AS t(cols)] as a
// Correlate over left: arg is bound in the left scope, since UNNEST is
// implicitly lateral. The returned scope is the left columns followed by
// the element columns, qualified by the UNNEST's alias.
func (b *binder) bindUnnest(fn *sql.TableFunctionRef, left Node, ls *scope, leftJoin bool) (*Correlate, *scope, error) {
	if len(fn.Args) != 1 || fn.Args[0].Expr == nil {
		return nil, nil, b.errAt(errs.NotSupported, fn, "UNNEST of more than one collection is not supported yet")
	}
	arg, err := b.bindExpr(ls, fn.Args[0].Expr)
	if err != nil {
		return nil, nil, err
	}
	elems, err := UnnestColumns(arg.Type())
	if err != nil {
		return nil, nil, b.errAt(errs.DatatypeMismatch, fn.Args[0].Expr, "%v", err)
	}
	if fn.WithOrdinality {
		elems = append(elems, types.Column{Name: "ORDINALITY", Type: types.IntType.WithNullable(false)})
	}
	if len(fn.ColumnAliases) > 0 {
		if len(fn.ColumnAliases) != len(elems) {
			return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "%d column aliases given for the %d columns of UNNEST", len(fn.ColumnAliases), len(elems))
		}
		for i, name := range uniqueNames(fn.ColumnAliases) {
			elems[i].Name = name
		}
	}
	c := &Correlate{Input: left, Arg: arg, Left: leftJoin, Ordinality: fn.WithOrdinality, Elems: elems}
	out := c.Schema()
	sc := &scope{cols: append([]scopeColumn(nil), ls.cols...)}
	for i := len(ls.cols); i < out.Len(); i++ {
		sc.cols = append(sc.cols, scopeColumn{qualifier: fn.Alias, name: out.Columns[i].Name, typ: out.Columns[i].Type})
	}
	return c, sc, nil
}

// bindCorrelateJoin plans a join whose right side is a table function
// that becomes a Correlate over the left input (UNNEST, generate_series):
// CROSS JOIN, a comma, INNER JOIN ... ON cond (a filter over the
// correlate) or LEFT JOIN ... ON TRUE. fnName names the function in
// errors; bindRight binds it over the left input.
func (b *binder) bindCorrelateJoin(n *sql.Join, fnName string, bindRight func(fn *sql.TableFunctionRef, left Node, ls *scope, leftJoin bool) (*Correlate, *scope, error)) (Node, *scope, error) {
	left, ls, err := b.bindFrom(n.Left)
	if err != nil {
		return nil, nil, err
	}
	leftJoin := n.Kind == sql.LeftJoin
	switch {
	case n.Kind != sql.CrossJoin && n.Kind != sql.InnerJoin && !leftJoin:
		return nil, nil, b.errAt(errs.NotSupported, n, "%s JOIN %s is not supported; use CROSS JOIN or LEFT JOIN ... ON TRUE", n.Kind, fnName)
	case len(n.Using) > 0:
		return nil, nil, b.errAt(errs.InvalidPlan, n, "JOIN %s cannot have a USING clause", fnName)
	}
	c, sc, err := bindRight(n.Right.(*sql.TableFunctionRef), left, ls, leftJoin)
	if err != nil {
		return nil, nil, err
	}
	if n.On == nil {
		return c, sc, nil
	}
	cond, err := b.bindExpr(sc, n.On)
	if err != nil {
		return nil, nil, err
	}
	if cond.Type().Kind != types.Boolean {
		return nil, nil, b.errAt(errs.DatatypeMismatch, n.On, "join condition must be BOOLEAN, not %s", cond.Type())
	}
	if folded, err := expr.Fold(cond); err == nil {
		if lit, ok := folded.(*expr.Literal); ok && lit.Value == true {
			return c, sc, nil
		}
	}
	if leftJoin {
		return nil, nil, b.errAt(errs.NotSupported, n.On, "LEFT JOIN %s needs the condition ON TRUE", fnName)
	}
	return &Filter{Input: c, Condition: cond}, sc, nil
}
