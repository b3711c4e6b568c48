package planner

import (
	"errors"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// User-defined table functions (Flink's TableFunction, registered with
// expr.RegisterTableFunction) in FROM:
//
//	FROM t, LATERAL TABLE(f(args)) [AS] alias [(cols)]
//	FROM t [CROSS] JOIN LATERAL TABLE(f(args)) ...
//	FROM t LEFT JOIN LATERAL TABLE(f(args)) ... ON TRUE
//	FROM TABLE(f(constants))
//	FROM t, TABLE(f(args)), FROM t, f(args)   (PostgreSQL's implicit LATERAL)
//	(SELECT ... FROM LATERAL TABLE(f(outer columns)) ...)
//
// are planned as UNNEST is, a Correlate over the FROM items to the left,
// whose argument, the call f(args), computes the rows of each left row. A
// scalar subquery's correlate runs over the domain of the outer columns
// it reads (lateralScalar).

// isTableFunctionCall reports whether a FROM item calls a user-defined
// table function: LATERAL TABLE(f(...)) of any function other than
// Flink's built-in SNAPSHOT and VECTOR_SEARCH, which join their own ways
// (an unknown f is then an error of its own), or TABLE(f(...)) of a
// registered table function. The built-in table functions (window TVFs,
// TO_CHANGELOG, FROM_CHANGELOG) keep their names. Either form may read
// the FROM items before it, as a function in PostgreSQL's FROM may
// without LATERAL.
func isTableFunctionCall(t sql.TableExpr) bool {
	fn, ok := t.(*sql.TableFunctionRef)
	switch {
	case !ok:
		return false
	case fn.Lateral:
		return !isSnapshot(t) && !isVectorSearch(t)
	}
	_, window := windowParams[fn.Name]
	return !window && !isChangelogFunction(fn.Name) && expr.IsTableFunction(fn.Name)
}

// bindTableFunction plans f(args) [AS alias(cols)] as a Correlate over
// left, the arguments bound in left's scope. The columns are named by the
// alias list, else by the function's declared columns (f0 for a function
// of one unnamed column, as Flink names an atomic result), and qualified
// by the alias.
func (b *binder) bindTableFunction(fn *sql.TableFunctionRef, left Node, ls *scope, leftJoin bool) (*Correlate, *scope, error) {
	if fn.WithOrdinality {
		return nil, nil, b.errAt(errs.NotSupported, fn, "WITH ORDINALITY applies only to UNNEST")
	}
	args := make([]expr.Expr, len(fn.Args))
	for i, a := range fn.Args {
		if a.Expr == nil || a.Name != "" {
			return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "table function %s takes values, not table, descriptor or named arguments", fn.Name)
		}
		e, err := b.bindExpr(ls, a.Expr)
		if err != nil {
			return nil, nil, err
		}
		args[i] = e
	}
	call, err := expr.ResolveTableFunction(fn.Name, args)
	if err != nil {
		return nil, nil, b.errAt(resolveErrorCode(err), fn, "%v", err)
	}
	row := *call.Type().Elem
	elems := make([]types.Column, len(row.Fields))
	for i, f := range row.Fields {
		elems[i] = types.Column{Name: f.Name, Type: f.Type}
	}
	if len(fn.ColumnAliases) > 0 {
		if len(fn.ColumnAliases) != len(elems) {
			return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "%d column aliases given for the %d columns of table function %s", len(fn.ColumnAliases), len(elems), fn.Name)
		}
		for i, name := range uniqueNames(fn.ColumnAliases) {
			elems[i].Name = name
		}
	}
	c := &Correlate{Input: left, Arg: call, Left: leftJoin, TableFunction: true, Elems: elems}
	out := c.Schema()
	sc := &scope{cols: append([]scopeColumn(nil), ls.cols...)}
	for i := len(ls.cols); i < out.Len(); i++ {
		sc.cols = append(sc.cols, scopeColumn{qualifier: fn.Alias, name: out.Columns[i].Name, typ: out.Columns[i].Type})
	}
	return c, sc, nil
}

// bindTableFunctionAlone plans TABLE(f(constants)) or LATERAL TABLE(f(...))
// first in FROM: a correlate over one empty row.
func (b *binder) bindTableFunctionAlone(fn *sql.TableFunctionRef) (Node, *scope, error) {
	return b.bindTableFunction(fn, &Values{Rows: [][]*expr.Literal{{}}}, &scope{}, false)
}

// resolveErrorCode is the error catalog's code for an error of resolving
// a function call.
func resolveErrorCode(err error) errs.Code {
	switch {
	case errors.Is(err, expr.ErrUnknownFunction):
		return errs.UndefinedFunction
	case errors.Is(err, expr.ErrTableFunctionCall), errors.Is(err, expr.ErrNotTableFunction):
		return errs.WrongObjectType
	}
	return errs.DatatypeMismatch
}
