package expr

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
)

// PostgreSQL's type functions, for the pg_catalog queries psql and the
// drivers send: format_type(oid, typmod), pg_get_expr(text, relid
// [, pretty]) and the object identifier casts x::regtype, x::regclass …
// (the SQL front end turns those casts into calls of these names).
func init() {
	str, big := types.StringType, types.BigIntType
	register(&funcDef{name: "FORMAT_TYPE", resolve: fixedSig(str, true, big, types.IntType), compile: compilePGText})
	// Eddy keeps a computed column's or a default's expression as SQL
	// text, which pg_attrdef.adbin holds: decompiling it is the identity.
	register(&funcDef{name: "PG_GET_EXPR", resolve: optionalSig(str, false, []types.DataType{str, big}, types.BooleanType), compile: compilePGText})
	for _, name := range []string{"REGTYPE", "REGCLASS", "REGNAMESPACE", "REGPROC", "REGROLE"} {
		register(&funcDef{name: name, resolve: fixedSig(str, false, big), compile: compilePGText})
	}
}

// compilePGText compiles the string-valued PostgreSQL type functions.
func compilePGText(c *compiler, call *Call) (Evaluator, error) {
	var bind func(args []arrow.Array) rowFn
	skipNulls := false
	switch call.Func {
	case "FORMAT_TYPE":
		// A NULL type modifier means none, as in PostgreSQL; a NULL OID
		// gives NULL.
		skipNulls = true
		bind = func(args []arrow.Array) rowFn {
			oid, mod := intAt(args[0]), intAt(args[1])
			return func(d []byte, i int) ([]byte, bool) {
				if args[0].IsNull(i) {
					return d, false
				}
				m := int64(-1)
				if !args[1].IsNull(i) {
					m = mod(i)
				}
				return append(d, types.PGFormatType(oid(i), m)...), true
			}
		}
	case "PG_GET_EXPR":
		// Pretty-printed (pretty TRUE), PostgreSQL leaves out the
		// parentheses around the whole expression, which psql's \d
		// prints inside its own: generated always as (id * 2) stored.
		bind = func(args []arrow.Array) rowFn {
			s := strAt(args[0])
			pretty := func(int) bool { return false }
			if len(args) == 3 {
				if b, ok := args[2].(*array.Boolean); ok {
					pretty = func(i int) bool { return b.IsValid(i) && b.Value(i) }
				}
			}
			return func(d []byte, i int) ([]byte, bool) {
				v := s(i)
				if pretty(i) {
					v = stripEnclosingParens(v)
				}
				return append(d, v...), true
			}
		}
	case "REGTYPE":
		// Eddy has only the built-in types, so a type OID's name needs no
		// catalog; an OID naming no type prints as its number, as in
		// PostgreSQL.
		bind = func(args []arrow.Array) rowFn {
			oid := intAt(args[0])
			return func(d []byte, i int) ([]byte, bool) {
				if t, ok := types.PGTypeByOID(oid(i)); ok {
					return append(d, t.SQLName...), true
				}
				return strconv.AppendInt(d, oid(i), 10), true
			}
		}
	default:
		// REGCLASS, REGNAMESPACE, REGPROC, REGROLE name catalog objects,
		// which an expression kernel cannot look up: they print the OID
		// as PostgreSQL prints one that names no object. psql's describe
		// queries use them only over relations Eddy leaves empty
		// (pg_inherits, pg_statistic_ext).
		bind = func(args []arrow.Array) rowFn {
			oid := intAt(args[0])
			return func(d []byte, i int) ([]byte, bool) { return strconv.AppendInt(d, oid(i), 10), true }
		}
	}
	return newStrEval(c, call, bind, skipNulls)
}

// stripEnclosingParens removes one pair of parentheses around the whole
// of an expression's text, "(a) + (b)" keeping its own; parentheses in
// quoted strings and identifiers do not count.
func stripEnclosingParens(s string) string {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return s
	}
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 && i < len(s)-1 {
				return s
			}
		}
	}
	return s[1 : len(s)-1]
}
