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
// isPGObjectDef reports whether bindPGObjectDef binds calls of name,
// which the function registry does not know.
func isPGObjectDef(name string) bool {
	switch strings.TrimPrefix(strings.ToUpper(name), "PG_CATALOG.") {
	case "COL_DESCRIPTION", "OBJ_DESCRIPTION", "REGCLASS", "PG_RELATION_IS_PUBLISHABLE", "PG_TABLE_IS_VISIBLE",
		"PG_GET_INDEXDEF", "PG_GET_CONSTRAINTDEF", "PG_GET_VIEWDEF":
		return true
	}
	return false
}

func (s source) bindPGObjectDef(n *sql.FuncCall, args []expr.Expr) (e expr.Expr, ok bool, err error) {
	name := strings.TrimPrefix(strings.ToUpper(n.Name), "PG_CATALOG.")
	var defs map[int64]string
	switch name {
	case "COL_DESCRIPTION":
		e, err := s.bindColDescription(n, args)
		return e, true, err
	case "OBJ_DESCRIPTION":
		// obj_description(oid, catalog): only relations (pg_class) have
		// comments in Eddy, its tables'.
		if len(args) != 1 && len(args) != 2 {
			return nil, true, s.errAt(errs.UndefinedFunction, n, "obj_description takes 1 or 2 arguments, not %d", len(args))
		}
		if len(args) == 2 {
			lit, isLit := args[1].(*expr.Literal)
			if !isLit || !lit.Type().IsString() {
				return nil, true, s.errAt(errs.NotSupported, n, "obj_description needs its catalog name as a literal")
			}
			if name, _ := lit.Value.(string); !strings.EqualFold(strings.TrimPrefix(name, "pg_catalog."), "pg_class") {
				return &expr.Literal{T: types.StringType}, true, nil
			}
		}
		if s.cat != nil {
			defs = s.cat.PGRelationComments()
		}
	case "REGCLASS":
		lit, isLit := args[0].(*expr.Literal)
		if len(args) != 1 || !isLit || !lit.Type().IsString() {
			// An OID prints through the REGCLASS kernel.
			return nil, false, nil
		}
		e, err := s.bindRegclassName(n, lit)
		return e, true, err
	case "PG_RELATION_IS_PUBLISHABLE":
		e, err := s.bindRelationIsPublishable(n, args)
		return e, true, err
	case "PG_TABLE_IS_VISIBLE":
		if s.cat == nil {
			// Without a catalog, the registry's constant answers.
			return nil, false, nil
		}
		e, err := s.bindTableIsVisible(n, args)
		return e, true, err
	case "PG_GET_INDEXDEF":
		if len(args) != 1 && len(args) != 3 {
			return nil, true, s.errAt(errs.UndefinedFunction, n, "pg_get_indexdef takes 1 or 3 arguments, not %d", len(args))
		}
		if len(args) == 3 {
			if c, isLit := args[1].(*expr.Literal); !isLit || c.Value != any(int64(0)) {
				// A column number asks for one key column's definition.
				e, err := s.bindIndexColumnDef(n, args)
				return e, true, err
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

// bindRegclassName binds 'name'::regclass, which PostgreSQL reads as the
// OID of the relation so named (psql's \dx compares pg_description.classoid
// with 'pg_catalog.pg_extension'::pg_catalog.regclass): the OID as a
// constant, looked up in the catalog as the statement is planned. It is a
// BIGINT, Eddy's OID type, so it compares with OID columns; a relation
// that does not exist is an error, as in PostgreSQL.
func (s source) bindRegclassName(n *sql.FuncCall, lit *expr.Literal) (expr.Expr, error) {
	if lit.Value == nil {
		return &expr.Literal{T: types.BigIntType}, nil
	}
	name, _ := lit.Value.(string)
	// CHAR(n) literals may carry padding.
	name = strings.TrimRight(name, " ")
	if s.cat != nil {
		if oid, ok := s.cat.PGRelationOID(name); ok {
			return &expr.Literal{Value: oid, T: types.BigIntType.WithNullable(false)}, nil
		}
	}
	return nil, s.errAt(errs.UndefinedTable, n, "relation %q does not exist", name)
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
	return s.bindPairLookup(n, args[0], args[1], comments)
}

// bindRelationIsPublishable binds pg_relation_is_publishable(oid), which
// psql's \d of a table calls to list the publications that include it:
// TRUE for the tables of the catalog's databases (PostgreSQL publishes
// ordinary tables only, not views, materialized views or the system
// catalogs), FALSE for other OIDs, NULL for NULL, as a lookup built from
// the catalog as bindPGObjectDef builds its own.
func (s source) bindRelationIsPublishable(n *sql.FuncCall, args []expr.Expr) (expr.Expr, error) {
	if len(args) != 1 {
		return nil, s.errAt(errs.UndefinedFunction, n, "pg_relation_is_publishable takes 1 argument, not %d", len(args))
	}
	// psql writes the OID as a string literal ('16384'), which PostgreSQL
	// reads as one.
	if lit, ok := args[0].(*expr.Literal); ok && lit.Type().IsString() {
		c, err := expr.NewCast(lit, types.BigIntType.WithNullable(lit.Type().Nullable()), false)
		if err != nil {
			return nil, s.errAt(errs.DatatypeMismatch, n, "%v", err)
		}
		if args[0], err = expr.Fold(c); err != nil {
			return nil, s.errAt(errs.InvalidCast, n.Args[0], "invalid input syntax for type oid: %s", lit.Value)
		}
	}
	if !args[0].Type().IsNumeric() && args[0].Type().Kind != types.Null {
		return nil, s.errAt(errs.DatatypeMismatch, n, "pg_relation_is_publishable expects an OID, not %s", args[0].Type())
	}
	var oids []int64
	if s.cat != nil {
		oids = s.cat.PGTableOIDs()
	}
	isNull, err := s.call(n, "IS NULL", args[0])
	if err != nil {
		return nil, err
	}
	caseArgs := []expr.Expr{isNull, &expr.Literal{T: types.BooleanType}}
	for _, oid := range oids {
		cond, err := s.call(n, "=", args[0], &expr.Literal{Value: oid, T: types.BigIntType.WithNullable(false)})
		if err != nil {
			return nil, err
		}
		caseArgs = append(caseArgs, cond, &expr.Literal{Value: true, T: types.BooleanType.WithNullable(false)})
	}
	return s.call(n, "CASE", append(caseArgs, &expr.Literal{Value: false, T: types.BooleanType.WithNullable(false)})...)
}

// bindTableIsVisible binds pg_table_is_visible(oid), which psql's
// listings (\dp, \d, tab completion) call to keep the relations on the
// search path: TRUE or FALSE for the relations of pg_class as
// Manager.PGRelationVisibility answers (information_schema's views are
// not visible, as in PostgreSQL), NULL for NULL and for other OIDs, as a
// lookup built from the catalog as bindRelationIsPublishable builds its
// own.
func (s source) bindTableIsVisible(n *sql.FuncCall, args []expr.Expr) (expr.Expr, error) {
	if len(args) != 1 {
		return nil, s.errAt(errs.UndefinedFunction, n, "pg_table_is_visible takes 1 argument, not %d", len(args))
	}
	if !args[0].Type().IsNumeric() && args[0].Type().Kind != types.Null {
		return nil, s.errAt(errs.DatatypeMismatch, n, "pg_table_is_visible expects an OID, not %s", args[0].Type())
	}
	visible := s.cat.PGRelationVisibility()
	// Sorted, so the plan is the same for the same catalog.
	oids := make([]int64, 0, len(visible))
	for oid := range visible {
		oids = append(oids, oid)
	}
	slices.Sort(oids)
	var caseArgs []expr.Expr
	for _, oid := range oids {
		cond, err := s.call(n, "=", args[0], &expr.Literal{Value: oid, T: types.BigIntType.WithNullable(false)})
		if err != nil {
			return nil, err
		}
		caseArgs = append(caseArgs, cond, &expr.Literal{Value: visible[oid], T: types.BooleanType.WithNullable(false)})
	}
	if len(caseArgs) == 0 {
		return &expr.Literal{T: types.BooleanType}, nil
	}
	return s.call(n, "CASE", append(caseArgs, &expr.Literal{T: types.BooleanType})...)
}

// bindIndexColumnDef binds pg_get_indexdef(oid, column, pretty) for a
// column number that is not the literal 0, which psql's \d of an index
// reads per index column: the key column's name (Eddy's indexes are the
// primary keys', of plain columns), the whole definition for 0, NULL for
// other OIDs and numbers, as a lookup built from the catalog.
func (s source) bindIndexColumnDef(n *sql.FuncCall, args []expr.Expr) (expr.Expr, error) {
	for _, a := range args[:2] {
		if !a.Type().IsNumeric() && a.Type().Kind != types.Null {
			return nil, s.errAt(errs.DatatypeMismatch, n, "pg_get_indexdef expects an OID and a column number, not %s", a.Type())
		}
	}
	cols := map[[2]int64]string{}
	if s.cat != nil {
		for k, name := range s.cat.PGIndexColumns() {
			cols[k] = name
		}
		for oid, def := range s.cat.PGIndexDefs() {
			cols[[2]int64{oid, 0}] = def
		}
	}
	return s.bindPairLookup(n, args[0], args[1], cols)
}

// bindPairLookup binds a lookup of the string that values holds for the
// pair (first, second), such as (relation OID, column number), as a CASE
// over the pairs in order, NULL for pairs it does not hold: the catalog's
// entries are few, and a CASE keeps the call an ordinary vectorized
// expression.
func (s source) bindPairLookup(n *sql.FuncCall, first, second expr.Expr, values map[[2]int64]string) (expr.Expr, error) {
	keys := make([][2]int64, 0, len(values))
	for k := range values {
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
		rel, err := s.call(n, "=", first, &expr.Literal{Value: k[0], T: types.BigIntType.WithNullable(false)})
		if err != nil {
			return nil, err
		}
		col, err := s.call(n, "=", second, &expr.Literal{Value: k[1], T: types.BigIntType.WithNullable(false)})
		if err != nil {
			return nil, err
		}
		cond, err := s.call(n, "AND", rel, col)
		if err != nil {
			return nil, err
		}
		caseArgs = append(caseArgs, cond, &expr.Literal{Value: values[k], T: types.StringType.WithNullable(false)})
	}
	if len(caseArgs) == 0 {
		return &expr.Literal{T: types.StringType}, nil
	}
	return s.call(n, "CASE", append(caseArgs, &expr.Literal{T: types.StringType})...)
}
