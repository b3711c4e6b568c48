package planner

import (
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// bindQuantified binds x = ANY(arr) and x <> ALL(arr), PostgreSQL's
// comparisons of a value with the elements of an array, with its
// three-valued logic: x = ANY(arr) is TRUE when an element equals x, NULL
// when none does but x, the array or an element is NULL, else FALSE (an
// empty array gives FALSE); x <> ALL(arr) is its negation. The element
// search is ARRAY_CONTAINS's vectorized kernel.
func (s source) bindQuantified(sc *scope, n *sql.Binary, q *sql.Quantified) (expr.Expr, error) {
	switch {
	case n.Op == sql.Eq && !q.All, n.Op == sql.NotEq && q.All:
	default:
		return nil, s.errAt(errs.NotSupported, n, "only = ANY(array) and <> ALL(array) are supported yet")
	}
	args, err := s.bindOperands(sc, n.Left, q.Expr)
	if err != nil {
		return nil, err
	}
	x, arr := args[0], args[1]
	if arr.Type().Kind != types.Array {
		return nil, s.errAt(errs.DatatypeMismatch, q, "%s needs an array, not %s", quantifierName(q), arr.Type())
	}
	// Compare in the common type of x and the elements, as PostgreSQL
	// resolves the = operator over them: x is cast up to the element
	// type, and an ARRAY[...] constructor's elements up to x's type.
	if ct, ok := types.CommonType(x.Type(), *arr.Type().Elem); ok {
		if !x.Type().EqualIgnoringNull(ct) {
			if x, err = expr.NewCast(x, ct.WithNullable(x.Type().Nullable()), false); err != nil {
				return nil, s.errAt(errs.DatatypeMismatch, n, "%v", err)
			}
		}
		if ctor, isCtor := q.Expr.(*sql.ArrayCtor); isCtor && !arr.Type().Elem.EqualIgnoringNull(ct) {
			elems, err := s.bindExprs(sc, ctor.Elems)
			if err != nil {
				return nil, err
			}
			for i, e := range elems {
				if elems[i], err = expr.NewCast(e, ct.WithNullable(e.Type().Nullable()), false); err != nil {
					return nil, s.errAt(errs.DatatypeMismatch, ctor, "%v", err)
				}
			}
			if arr, err = s.call(ctor, "ARRAY", elems...); err != nil {
				return nil, err
			}
		}
	}
	xNull, err := s.call(n, "IS NULL", x)
	if err != nil {
		return nil, err
	}
	arrNull, err := s.call(n, "IS NULL", arr)
	if err != nil {
		return nil, err
	}
	unknownInput, err := s.call(n, "OR", xNull, arrNull)
	if err != nil {
		return nil, err
	}
	found, err := s.call(n, "ARRAY_CONTAINS", arr, x)
	if err != nil {
		return nil, err
	}
	hasNull, err := s.call(n, "ARRAY_CONTAINS", arr, &expr.Literal{T: arr.Type().Elem.WithNullable(true)})
	if err != nil {
		return nil, err
	}
	null := &expr.Literal{T: types.BooleanType}
	yes := &expr.Literal{Value: !q.All, T: types.BooleanType.WithNullable(false)}
	no := &expr.Literal{Value: q.All, T: types.BooleanType.WithNullable(false)}
	return s.call(n, "CASE", unknownInput, null, found, yes, hasNull, null, no)
}

func quantifierName(q *sql.Quantified) string {
	if q.All {
		return "ALL"
	}
	return "ANY"
}

// pgArrayLiteral reads a string literal compared with an array as
// PostgreSQL's array input, '{1,2}' or '{}' (psql compares
// pg_policy.polroles with '{0}'): an ARRAY[...] of the elements, each
// cast to elem, or the empty array. Quoted elements and nested arrays are
// not supported yet.
func (s source) pgArrayLiteral(lit *sql.Literal, elem types.DataType) (expr.Expr, error) {
	text := strings.TrimSpace(lit.Text)
	if len(text) < 2 || text[0] != '{' || text[len(text)-1] != '}' || strings.ContainsAny(text[1:len(text)-1], `{}"\`) {
		return nil, s.errAt(errs.InvalidCast, lit, "malformed array literal: \"%s\"", lit.Text)
	}
	at := types.ArrayType(elem.WithNullable(true).WithTimeAttr(types.NoTimeAttr))
	body := strings.TrimSpace(text[1 : len(text)-1])
	if body == "" {
		return s.call(lit, expr.ArraySubquery, &expr.Literal{T: at}, expr.NewLiteral(0, types.IntType.WithNullable(false)))
	}
	var elems []expr.Expr
	for _, part := range strings.Split(body, ",") {
		part = strings.TrimSpace(part)
		var e expr.Expr = &expr.Literal{T: elem.WithNullable(true)}
		if !strings.EqualFold(part, "NULL") {
			c, err := expr.NewCast(expr.NewLiteral(part, types.StringType.WithNullable(false)), elem.WithNullable(false).WithTimeAttr(types.NoTimeAttr), false)
			if err != nil {
				return nil, s.errAt(errs.DatatypeMismatch, lit, "%v", err)
			}
			e = c
		}
		elems = append(elems, e)
	}
	return s.call(lit, "ARRAY", elems...)
}
