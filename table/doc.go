// Package table is Eddy's entry point for programs: an Environment is a SQL
// session (Flink's TableEnvironment) that parses, plans, optimizes and runs
// statements on an embedded or remote cluster, and returns TableResults
// whose rows are Arrow record batches. The built-in connectors live under
// table/connector.
//
// The Go Table API builds the same logical plans from Go code: a *Table
// (from From, SQLQuery, FromSlice or FromValues) chains operations
// (Select, Filter, GroupBy, Window, OverWindow, Join, JoinLateral,
// UnionAll, OrderBy, ...) whose Expressions resolve through the function registry exactly as
// the SQL binder's do, so SQL and Go tables mix freely (a Table registered
// with CreateTemporaryView is a view SQL can read). Tables run through the
// same optimize → physicalize → submit path as SQL queries (api_run.go);
// Collect scans their rows into structs. CreateFunction registers Go
// functions for both: scalar, aggregate and table functions (udf.go,
// udaf.go, udtf.go).
//
// # Remote cluster
//
// Settings.JobManagerAddress ("host:port", or Flink's
// jobmanager.rpc.address and jobmanager.rpc.port in Settings.Config)
// connects the Environment to the JobManager RPC endpoint of `eddy server
// --rpc-addr` instead of starting an embedded cluster, as Flink's remote
// environment does (remote.go). Parsing, the catalog, the session's
// options and the optimizer stay in the program; the JobGraph, plain data
// that also carries the rows of FromSlice and FromValues tables, is
// submitted over Arrow Flight (gRPC). The returned *exec.Job is the same
// handle as for an embedded job: Wait, Cancel, Status, Metrics and
// StopWithSavepoint act on the remote job, and Execute, Collect and
// ExecuteSQL results stream the remote collect operator's Arrow record
// batches as they are produced, with backpressure, so unbounded queries
// stream too. A query's job is cancelled when its client goes away (Close
// or a lost connection); INSERT jobs are detached and keep running. Go
// functions registered with CreateFunction exist only in this process: a
// job calling one is refused with an error naming the function. The
// endpoint is unauthenticated: expose it on trusted networks only.
package table
