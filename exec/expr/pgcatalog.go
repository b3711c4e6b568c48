package expr

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
)

// PostgreSQL's session information functions, which drivers and tools call
// right after connecting (npgsql and SQLAlchemy send version(), others
// current_schema() and current_database()). They are constants: Eddy
// serves one PostgreSQL database per server and has no schemas below its
// databases, so PostgreSQL's default answers are the truthful ones.

// PGVersion is what version() returns; it starts like PostgreSQL's, since
// clients parse the version number out of it.
const PGVersion = "PostgreSQL 15.0 (Eddy streaming SQL engine)"

// pgCatalogPrefix is the schema PostgreSQL's built-in functions live in;
// pg_catalog.version() and version() name the same function.
const pgCatalogPrefix = "PG_CATALOG."

func init() {
	constant := func(name, value string) {
		register(&funcDef{name: name, resolve: func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 0, 0); err != nil {
				return nil, err
			}
			return NewLiteral(value, types.StringType.WithNullable(false)), nil
		}})
	}
	constant("VERSION", PGVersion)
	constant("CURRENT_DATABASE", "eddy")
	constant("CURRENT_SCHEMA", "public")

	// The catalog functions psql's describe queries call. Eddy has one
	// owner for every object and one encoding, so their answers do not
	// depend on the argument. The planner binds pg_table_is_visible from
	// the catalog (information_schema is not on the search path); this
	// constant answers where no catalog is at hand.
	unary := func(name string, value any, t types.DataType) {
		register(&funcDef{name: name, resolve: func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 1, 1); err != nil {
				return nil, err
			}
			return NewLiteral(value, t.WithNullable(false)), nil
		}})
	}
	unary("PG_GET_USERBYID", "eddy", types.StringType)
	unary("PG_ENCODING_TO_CHAR", "UTF8", types.StringType)
	unary("PG_TABLE_IS_VISIBLE", true, types.BooleanType)
	unary("PG_FUNCTION_IS_VISIBLE", true, types.BooleanType)
	unary("PG_TYPE_IS_VISIBLE", true, types.BooleanType)

	// pg_proc lists no functions (see catalog's pg_proc) and
	// pg_statistic_ext no statistics objects, and PostgreSQL answers NULL
	// for an OID that names none.
	for _, name := range []string{"PG_GET_FUNCTION_RESULT", "PG_GET_FUNCTION_ARGUMENTS", "PG_GET_STATISTICSOBJDEF_COLUMNS"} {
		register(&funcDef{name: name, resolve: func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 1, 1); err != nil {
				return nil, err
			}
			return NewLiteral(nil, types.StringType), nil
		}})
	}

	// Eddy's pg_catalog represents PostgreSQL's array columns that are
	// always empty or NULL in Eddy (pg_database.datacl) as STRING, which
	// array_to_string passes through; an array of strings is joined (see
	// compileArrayToString).
	register(&funcDef{name: "ARRAY_TO_STRING", resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 2, 3); err != nil {
			return nil, err
		}
		if t := args[0].Type(); t.Kind == types.Array && t.Elem.IsString() {
			return resolveArrayToString(name, args)
		}
		if !args[0].Type().IsString() {
			return nil, fmt.Errorf("%s of %s is not supported", name, args[0].Type())
		}
		return args[0], nil
	}, compile: compileArrayToString})
}

// isConstantFunction reports functions that always resolve to a literal
// and so have no kernel.
func isConstantFunction(name string) bool {
	switch name {
	case "PI", "E", "TYPEOF", "VERSION", "CURRENT_DATABASE", "CURRENT_SCHEMA",
		"ARRAY_TO_STRING", "PG_GET_FUNCTION_RESULT", "PG_GET_FUNCTION_ARGUMENTS", "PG_GET_STATISTICSOBJDEF_COLUMNS", "PG_GET_USERBYID", "PG_ENCODING_TO_CHAR", "PG_TABLE_IS_VISIBLE", "PG_FUNCTION_IS_VISIBLE", "PG_TYPE_IS_VISIBLE",
		"PG_TABLE_SIZE", "PG_RELATION_SIZE", "PG_TOTAL_RELATION_SIZE", "PG_INDEXES_SIZE":
		return true
	}
	return false
}

// stripPGCatalog removes the pg_catalog. qualifier of an upper-cased
// function name.
func stripPGCatalog(n string) string {
	return strings.TrimPrefix(n, pgCatalogPrefix)
}
