// Package sql is Eddy's front end for the Flink SQL dialect: text in, Eddy's
// own syntax tree (ast.go) out. Later phases consume only these types.
//
// ParseScript splits a script at top-level ';' with our own lexer
// (lexer.go), so every position is a byte offset into the whole file and
// errors report the file's line and column. DDL, session and job statements
// (CREATE TABLE/VIEW/MATERIALIZED VIEW, DROP, SET, RESET, SHOW, DESCRIBE,
// USE, EXPLAIN, STOP JOB, DESCRIBE JOB, SUBSCRIBE, statement sets,
// EXPLAIN of a statement set, COMPILE [AND EXECUTE] PLAN and EXECUTE PLAN
// (compile_plan.go)) are parsed by a small recursive-descent
// parser (parser.go, types.go).
//
// Queries and scalar expressions are parsed by TiDB's MySQL grammar after a
// position-preserving rewrite (dialect.go): each Flink-only construct TiDB
// cannot parse (INTERVAL literals, CAST to Flink types, ARRAY[...], MAP[...],
// element access, EXTRACT, FLOOR|CEIL(x TO unit), three-part table names,
// OVERLAY(... PLACING ...), JSON_EXISTS(... ON ERROR), REGEXP(...), CASE x
// WHEN v1, v2 ... (funcsyntax.go),
// (VALUES ...) in FROM, VALUES as a set operand or subquery, TABLE(fn(...))
// window TVFs and LATERAL TABLE (tablefunc.go), GROUP BY with GROUPING
// SETS/ROLLUP/CUBE (grouping.go), calls TiDB reserves such as SESSION(...)
// or cannot window such as LISTAGG(...) OVER) is parsed by us, replaced by
// a placeholder of exactly the same byte length, and kept in a side table
// keyed by source position. Constructs TiDB spells differently or lacks as
// clauses (FULL JOIN, IS DISTINCT FROM, IS [NOT] JSON, SIMILAR TO, BETWEEN SYMMETRIC,
// NULLS FIRST, $n parameters, FILTER (WHERE ...), FOR SYSTEM_TIME AS OF,
// derived-table column aliases) are rewritten in place or blanked and
// remembered by position markers; a blanked clause the converter does not
// attach anywhere is an error, never silently dropped. Because lengths
// never change, TiDB's offsets are offsets into the original text; the
// converter (convert.go) maps TiDB's tree back onto ours, moving its
// search cursor past each placeholder's span. MySQL-only syntax TiDB would
// accept (LIMIT a, b, @vars, :=, index hints, REGEXP, DIV, WITH ROLLUP,
// ...) is rejected with a positioned error before TiDB sees it.
//
// Dialect decisions: double-quoted text is an identifier, not a string;
// backslashes in strings are literal; MOD(a, b) stays a FuncCall MOD while
// a % b is Binary Mod; TRIM is normalized to TRIM(mode, chars, str);
// FLOOR|CEIL|CEILING(x TO unit) becomes FLOOR|CEIL(x, 'UNIT') and
// TIMESTAMPADD/TIMESTAMPDIFF(unit, ...) take the unit as a leading 'UNIT'
// string; interval units may be plural (INTERVAL '10' MINUTES); IS [NOT]
// UNKNOWN is IsNull; FETCH FIRST|NEXT [n] ROW|ROWS ONLY is Query.Limit;
// GROUPING SETS, ROLLUP and CUBE are expanded into Select.GroupingSets.
//
// PostgreSQL syntax that pgwire clients send is accepted where its meaning
// is plain: a ~ b and OPERATOR(pg_catalog.~) (regular expression match),
// COLLATE pg_catalog.default, E'...' escape strings, and the cast
// x::type, which becomes a Cast to the Flink type of the same values
// (text → STRING, int8 and oid → BIGINT, ...) or, for the reg* object
// identifier types, a call REGCLASS(x), REGTYPE(x), ...
//
// Every error is an *Error with a position inside the input and SQLState
// 42601; the parser never panics (TiDB panics become internal errors).
package sql
