// Package table is Eddy's entry point for programs: an Environment is a SQL
// session (Flink's TableEnvironment) that parses, plans, optimizes and runs
// statements on an embedded or remote cluster, and returns TableResults
// whose rows are Arrow record batches. The built-in connectors live under
// table/connector.
//
// The Go Table API builds the same logical plans from Go code: a *Table
// (from From, SQLQuery, FromSlice or FromValues) chains operations
// (Select, Filter, GroupBy, Window, OverWindow, Join, UnionAll, OrderBy,
// ...) whose Expressions resolve through the function registry exactly as
// the SQL binder's do, so SQL and Go tables mix freely (a Table registered
// with CreateTemporaryView is a view SQL can read). Tables run through the
// same optimize → physicalize → submit path as SQL queries (api_run.go);
// Collect scans their rows into structs. CreateFunction registers Go
// functions for both.
package table
