// Package catalog holds what SQL names refer to: catalogs of databases of
// tables (schema, computed columns, watermark, primary key, connector
// options) and views, and the Manager that resolves partial names against
// the current catalog and database, with temporary objects shadowing
// permanent ones. The in-memory catalog is the default; a persistent catalog
// implements the same Catalog interface. Expressions (computed columns,
// watermarks, view queries) are stored as SQL text, re-parsed and bound by
// the planner at each use, as Flink does.
package catalog
