// Package sql is Eddy's front end for the Flink SQL dialect: text in, Eddy's
// own syntax tree (ast.go) out. Later phases consume only these types.
//
// ParseScript splits a script at top-level ';' with our own lexer
// (lexer.go), so every position is a byte offset into the whole file and
// errors report the file's line and column. DDL and session statements
// (CREATE TABLE/VIEW, DROP, SET, RESET, SHOW, DESCRIBE, USE, EXPLAIN,
// statement sets) are parsed by a small recursive-descent parser
// (parser.go, types.go).
//
// Queries and scalar expressions are parsed by TiDB's MySQL grammar after a
// position-preserving rewrite (dialect.go): each Flink-only construct TiDB
// cannot parse (INTERVAL literals, CAST to Flink types, ARRAY[...], MAP[...],
// element access, EXTRACT, three-part table names, (VALUES ...) in FROM) is
// parsed by us, replaced by a placeholder of exactly the same byte length,
// and kept in a side table keyed by source position. Constructs TiDB spells
// differently (FULL JOIN, IS DISTINCT FROM, SIMILAR TO, BETWEEN SYMMETRIC,
// NULLS FIRST, $n parameters) are rewritten in place and remembered by
// position markers. Because lengths never change, TiDB's offsets are
// offsets into the original text; the converter (convert.go) maps TiDB's
// tree back onto ours. MySQL-only syntax TiDB would accept (LIMIT a, b,
// @vars, :=, index hints, REGEXP, DIV, ...) is rejected with a positioned
// error before TiDB sees it.
//
// Dialect decisions: double-quoted text is an identifier, not a string;
// backslashes in strings are literal; MOD(a, b) stays a FuncCall MOD while
// a % b is Binary Mod; TRIM is normalized to TRIM(mode, chars, str).
//
// Every error is an *Error with a position inside the input and SQLState
// 42601; the parser never panics (TiDB panics become internal errors).
package sql
