package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// Row value comparisons, as Calcite expands them for Flink: (a, b) = (x, y)
// is a = x AND b = y, <> its negation, IS [NOT] DISTINCT FROM field by
// field, and (a, b) IN ((x, y), ...) an OR of such equalities.

// isRow reports a ROW-typed operand.
func isRow(e expr.Expr) bool { return e.Type().Kind == types.Row }

// rowFields gives the fields of a ROW operand: the arguments of a ROW(...)
// constructor, else each field taken out of the value.
func (s source) rowFields(n sql.Expr, e expr.Expr) ([]expr.Expr, error) {
	if c, ok := e.(*expr.Call); ok && c.Func == "ROW" {
		return c.Args, nil
	}
	out := make([]expr.Expr, len(e.Type().Fields))
	for i, f := range e.Type().Fields {
		var err error
		if out[i], err = s.fieldAccess(n, e, []string{f.Name}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rowCompare binds l op r for two ROW operands; op is =, <>, IS DISTINCT
// FROM or IS NOT DISTINCT FROM.
func (s source) rowCompare(n sql.Expr, op sql.BinaryOp, l, r expr.Expr) (expr.Expr, error) {
	lf, err := s.rowFields(n, l)
	if err != nil {
		return nil, err
	}
	rf, err := s.rowFields(n, r)
	if err != nil {
		return nil, err
	}
	if len(lf) != len(rf) {
		return nil, s.errAt(errs.DatatypeMismatch, n, "cannot compare rows of %d and %d fields", len(lf), len(rf))
	}
	fieldOp, all := "=", true
	switch op {
	case sql.Eq:
	case sql.NotEq:
		// NOT (a = x AND b = y): TRUE once a pair differs.
	case sql.IsNotDistinctFrom:
		fieldOp = binaryFuncs[op]
	case sql.IsDistinctFrom:
		fieldOp, all = binaryFuncs[op], false
	default:
		return nil, s.errAt(errs.NotSupported, n, "rows compare with =, <>, IS [NOT] DISTINCT FROM and IN only")
	}
	var out expr.Expr
	for i := range lf {
		c, err := s.call(n, fieldOp, lf[i], rf[i])
		if err != nil {
			return nil, err
		}
		switch {
		case out == nil:
			out = c
		case all:
			out, err = s.call(n, "AND", out, c)
		default:
			out, err = s.call(n, "OR", out, c)
		}
		if err != nil {
			return nil, err
		}
	}
	if op == sql.NotEq {
		return s.call(n, "NOT", out)
	}
	return out, nil
}

// rowIn binds row IN (list): an OR of the row's equalities with the list's.
func (s source) rowIn(n *sql.InList, args []expr.Expr) (expr.Expr, error) {
	var out expr.Expr
	for _, item := range args[1:] {
		if !isRow(item) {
			return nil, s.errAt(errs.DatatypeMismatch, n, "IN compares a row with %s, which is not a row", item.Type())
		}
		eq, err := s.rowCompare(n, sql.Eq, args[0], item)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = eq
		} else if out, err = s.call(n, "OR", out, eq); err != nil {
			return nil, err
		}
	}
	if n.Not {
		return s.call(n, "NOT", out)
	}
	return out, nil
}
