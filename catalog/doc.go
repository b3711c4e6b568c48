// Package catalog holds what SQL names refer to: catalogs of databases of
// tables (schema, computed columns, watermark, primary key, connector
// options) and views, and the Manager that resolves partial names against
// the current catalog and database, with temporary objects shadowing
// permanent ones. The in-memory catalog is the default; a persistent catalog
// implements the same Catalog interface. Expressions (computed columns,
// watermarks, view queries) are stored as SQL text, re-parsed and bound by
// the planner at each use, as Flink does.
//
// Catalog statements change objects by replacing them: the planner builds
// the new definition of ALTER TABLE|VIEW and the catalog stores it
// (AlterObject, RenameObject); databases carry Flink's comment and
// properties (CREATE|ALTER|DROP DATABASE); the Manager registers the
// generic_in_memory catalogs of CREATE CATALOG with what the statement
// said, for SHOW CREATE CATALOG and ALTER CATALOG (manager_ddl.go). A
// catalog also keeps the partitions of its partitioned tables, as Flink's
// GenericInMemoryCatalog: metadata that ALTER TABLE ... ADD|DROP
// PARTITION changes and SHOW PARTITIONS lists, which no connector reads
// or writes (partition.go). Models (CREATE MODEL, Flink 2.1) are a
// namespace of their own beside tables and views, in catalogs that
// implement ModelCatalog and, temporary, in the Manager (model.go).
package catalog
