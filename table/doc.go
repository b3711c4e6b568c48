// Package table is Eddy's entry point for programs: an Environment is a SQL
// session (Flink's TableEnvironment) that parses, plans, optimizes and runs
// statements on an embedded or remote cluster, and returns TableResults
// whose rows are Arrow record batches. The built-in connectors live under
// table/connector. The Go Table API (building plans with Go code) grows
// here on the same planner.
package table
