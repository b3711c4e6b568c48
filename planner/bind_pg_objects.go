package planner

import (
	"cmp"
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// bindPGObjectDef binds PostgreSQL's pg_get_indexdef(oid [, column,
// pretty]), pg_get_constraintdef(oid [, pretty]) and pg_get_viewdef(oid
// [, pretty]), which psql's \d calls to print a table's indexes and
// constraints and a view's query. Their answers come from the
// catalog, which expression kernels cannot read, so the binder turns the
// call into a lookup table built from the catalog as the statement is
// planned: CASE oid WHEN o1 THEN def1 ... END, NULL for an OID naming no
// object, as in PostgreSQL. ok is false for other functions.
func (s source) bindPGObjectDef(n *sql.FuncCall, args []expr.Expr) (e expr.Expr, ok bool, err error) {
	name := strings.TrimPrefix(strings.ToUpper(n.Name), "PG_CATALOG.")
	var defs map[int64]string
	switch name {
	case "COL_DESCRIPTION":
		e, err := s.bindColDescription(n, args)
		return e, true, err
	case "PG_GET_INDEXDEF":
		if len(args) != 1 && len(args) != 3 {
			return nil, true, s.errAt(errs.UndefinedFunction, n, "pg_get_indexdef takes 1 or 3 arguments, not %d", len(args))
		}
		if len(args) == 3 {
			if c, isLit := args[1].(*expr.Literal); !isLit || c.Value != any(int64(0)) {
				// A column number asks for one key column's definition.
				return nil, true, s.errAt(errs.NotSupported, n, "pg_get_indexdef of one index column is not supported yet")
			}
		}
		if s.cat != nil {
			defs = s.cat.PGIndexDefs()
		}
	case "PG_GET_CONSTRAINTDEF":
		if len(args) != 1 && len(args) != 2 {
			return nil, true, s.errAt(errs.UndefinedFunction, n, "pg_get_constraintdef takes 1 or 2 arguments, not %d", len(args))
		}
		if s.cat != nil {
			defs = s.cat.PGConstraintDefs()
		}
	case "PG_GET_VIEWDEF":
		if len(args) != 1 && len(args) != 2 {
			return nil, true, s.errAt(errs.UndefinedFunction, n, "pg_get_viewdef takes 1 or 2 arguments, not %d", len(args))
		}
		if s.cat != nil {
			defs = s.cat.PGViewDefs()
		}
	default:
		return nil, false, nil
	}
	if !args[0].Type().IsNumeric() && args[0].Type().Kind != types.Null {
		return nil, true, s.errAt(errs.DatatypeMismatch, n, "%s expects an OID, not %s", strings.ToLower(name), args[0].Type())
	}
	// Sorted, so the plan is the same for the same catalog.
	oids := make([]int64, 0, len(defs))
	for oid := range defs {
		oids = append(oids, oid)
	}
	slices.Sort(oids)
	var caseArgs []expr.Expr
	for _, oid := range oids {
		def := defs[oid]
		cond, err := s.call(n, "=", args[0], &expr.Literal{Value: oid, T: types.BigIntType.WithNullable(false)})
		if err != nil {
			return nil, true, err
		}
		caseArgs = append(caseArgs, cond, &expr.Literal{Value: def, T: types.StringType.WithNullable(false)})
	}
	if len(caseArgs) == 0 {
		return &expr.Literal{T: types.StringType}, true, nil
	}
	e, err = s.call(n, "CASE", append(caseArgs, &expr.Literal{T: types.StringType})...)
	return e, true, err
}

// bindColDescription binds col_description(oid, column number), a
// column's comment, as bindPGObjectDef binds its functions: a lookup of
// the commented columns built from the catalog, NULL for the others.
func (s source) bindColDescription(n *sql.FuncCall, args []expr.Expr) (expr.Expr, error) {
	if len(args) != 2 {
		return nil, s.errAt(errs.UndefinedFunction, n, "col_description takes 2 arguments, not %d", len(args))
	}
	var comments map[[2]int64]string
	if s.cat != nil {
		comments = s.cat.PGColumnComments()
	}
	keys := make([][2]int64, 0, len(comments))
	for k := range comments {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]int64) int {
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		return cmp.Compare(a[1], b[1])
	})
	var caseArgs []expr.Expr
	for _, k := range keys {
		rel, err := s.call(n, "=", args[0], &expr.Literal{Value: k[0], T: types.BigIntType.WithNullable(false)})
		if err != nil {
			return nil, err
		}
		col, err := s.call(n, "=", args[1], &expr.Literal{Value: k[1], T: types.BigIntType.WithNullable(false)})
		if err != nil {
			return nil, err
		}
		cond, err := s.call(n, "AND", rel, col)
		if err != nil {
			return nil, err
		}
		caseArgs = append(caseArgs, cond, &expr.Literal{Value: comments[k], T: types.StringType.WithNullable(false)})
	}
	if len(caseArgs) == 0 {
		return &expr.Literal{T: types.StringType}, nil
	}
	return s.call(n, "CASE", append(caseArgs, &expr.Literal{T: types.StringType})...)
}
