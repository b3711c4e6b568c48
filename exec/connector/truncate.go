package connector

// SupportsTruncate is implemented by a table factory whose sink can delete
// all of a table's rows: Flink's SupportsTruncate, which TRUNCATE TABLE
// (batch mode only) calls. Truncate runs in the client before any job; it
// must leave the table empty or return an error and leave it as it was
// as far as the external system allows.
type SupportsTruncate interface {
	Truncate(t TableInfo) error
}
