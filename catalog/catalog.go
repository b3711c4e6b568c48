package catalog

import (
	"github.com/eddysql/eddy/catalog/types"
)

// Path names an object: catalog, database and object name.
type Path struct {
	Catalog, Database, Name string
}

func (p Path) String() string {
	return quoteIdent(p.Catalog) + "." + quoteIdent(p.Database) + "." + quoteIdent(p.Name)
}

// ColumnKind says where a column's values come from.
type ColumnKind uint8

const (
	// Physical columns are produced by the connector.
	Physical ColumnKind = iota
	// Computed columns are expressions over the other columns, evaluated
	// by the engine after the scan (`c AS expr`).
	Computed
	// Metadata columns are read from (and, unless Virtual, written to) the
	// connector's metadata of a row, such as a Kafka record's offset
	// (`c TYPE METADATA [FROM 'key'] [VIRTUAL]`).
	Metadata
)

// Column is one column of a table.
type Column struct {
	Name string
	Kind ColumnKind
	// Type is the declared type of a physical column and the derived type
	// of a computed one (filled in by the planner at CREATE time).
	Type types.DataType
	// Expr is the SQL text of a computed column's expression.
	Expr    string
	Comment string
	// MetadataKey is the connector's key of a metadata column (its name
	// when the DDL has no FROM).
	MetadataKey string
	// Virtual metadata columns are read-only: sinks do not write them.
	Virtual bool
}

// Watermark is a table's `WATERMARK FOR column AS expr` declaration.
type Watermark struct {
	Column string
	// Expr is the SQL text of the watermark strategy expression.
	Expr string
	// Type is the type of Expr (a timestamp), filled in by the planner.
	Type types.DataType
}

// Object is a table or a view.
type Object interface {
	// Schema is the columns the object exposes, computed ones included.
	Schema() types.Schema
	object()
}

// Table is a connector-backed table, Flink's CatalogTable.
type Table struct {
	Columns    []Column
	Watermark  *Watermark
	PrimaryKey []string
	// PartitionKeys are the PARTITIONED BY columns (physical ones). Eddy
	// reads a partitioned table like any other: partition pruning is an
	// optimization Flink leaves to connectors, and a filter on the keys
	// gives the same rows without it.
	PartitionKeys []string
	Options       map[string]string
	Comment       string
	// Distribution is the DISTRIBUTED BY / INTO clause: how the table's
	// connector buckets the rows it stores (nil if not declared). Writing
	// into the table does not depend on it: bucketing is the connector's
	// business, as in Flink.
	Distribution *Distribution
}

// Distribution is a table's bucketing: Kind "HASH", "RANGE" or "" (the
// connector's choice), the bucket key columns, the bucket count (0: the
// connector's choice).
type Distribution struct {
	Kind    string
	Keys    []string
	Buckets int
}

// View is a named query, Flink's CatalogView.
type View struct {
	// Query is the SQL text of the view's query, expanded at each use.
	Query string
	// Columns is the view's schema as derived when it was created.
	Columns types.Schema
	// ColumnAliases, when given in CREATE VIEW v (a, b), rename the
	// query's columns.
	ColumnAliases []string
	// Plan, when set, is a logical plan (a planner.Node, kept opaque here
	// because catalog sits below planner) built with the Go Table API;
	// the planner expands it in place of Query, which then only describes
	// the view for SHOW CREATE VIEW. Such views live in memory: they are
	// created temporary and never stored by a persistent catalog.
	Plan any
}

func (*Table) object() {}
func (*View) object()  {}

// Schema returns every column of the table in declaration order.
func (t *Table) Schema() types.Schema {
	s := types.Schema{Columns: make([]types.Column, len(t.Columns))}
	for i, c := range t.Columns {
		s.Columns[i] = types.Column{Name: c.Name, Type: c.Type}
	}
	return s
}

// PhysicalSchema returns only the columns the connector produces.
func (t *Table) PhysicalSchema() types.Schema {
	var s types.Schema
	for _, c := range t.Columns {
		if c.Kind == Physical {
			s.Columns = append(s.Columns, types.Column{Name: c.Name, Type: c.Type})
		}
	}
	return s
}

// Connector is the value of the table's 'connector' option.
func (t *Table) Connector() string { return t.Options["connector"] }

// Schema returns the view's columns.
func (v *View) Schema() types.Schema { return v.Columns }

// Database describes a database: Flink's CatalogDatabase, its COMMENT and
// its WITH properties.
type Database struct {
	Comment    string
	Properties map[string]string
}

// Catalog stores databases, tables and views, as Flink's Catalog. The
// in-memory catalog is the default; a persistent one (for `eddy server
// --data-dir`) implements the same interface. Methods return *errs.Error
// values with codes from the error catalog.
type Catalog interface {
	Name() string
	DefaultDatabase() string
	ListDatabases() []string
	DatabaseExists(db string) bool
	// GetDatabase returns the description of db, or an UndefinedDatabase
	// error.
	GetDatabase(db string) (*Database, error)
	// CreateDatabase creates database name. With ignoreIfExists, an
	// existing database is kept and no error is returned.
	CreateDatabase(name string, db *Database, ignoreIfExists bool) error
	// AlterDatabase replaces the description of database name.
	AlterDatabase(name string, db *Database, ignoreIfNotExists bool) error
	// DropDatabase removes database name. Unless cascade, a database that
	// still holds tables or views is not dropped (a DependentObjects
	// error); with cascade they are dropped with it.
	DropDatabase(name string, ignoreIfNotExists, cascade bool) error
	// ListObjects lists the names of the tables and views of db, sorted.
	ListObjects(db string) ([]string, error)
	// GetObject returns the table or view at path, or an UndefinedTable
	// error.
	GetObject(path Path) (Object, error)
	// CreateObject stores obj at path. With ignoreIfExists, an existing
	// object is kept and no error is returned.
	CreateObject(path Path, obj Object, ignoreIfExists bool) error
	// AlterObject replaces the object at path with obj, which must be of
	// the same kind (a table by a table, a view by a view): ALTER TABLE
	// and ALTER VIEW build the new definition, the catalog stores it.
	AlterObject(path Path, obj Object, ignoreIfNotExists bool) error
	// RenameObject gives the object at path the name newName in the same
	// database; an object already named newName is a DuplicateTable
	// error.
	RenameObject(path Path, newName string, ignoreIfNotExists bool) error
	// DropObject removes the object at path (a table with its
	// partitions); with ignoreIfNotExists a missing object is not an
	// error.
	DropObject(path Path, ignoreIfNotExists bool) error
	// CreatePartition adds part to the partitioned table at path; its
	// spec must give every partition column a value. An existing
	// partition is a DuplicateObject error unless ignoreIfExists. A
	// view or a table without partition columns is a WrongObjectType
	// error. Partitions are metadata only (see partition.go).
	CreatePartition(path Path, part Partition, ignoreIfExists bool) error
	// DropPartition removes the partition spec names from the
	// partitioned table at path; a missing one is an UndefinedObject
	// error unless ignoreIfNotExists.
	DropPartition(path Path, spec PartitionSpec, ignoreIfNotExists bool) error
	// ListPartitions lists the partitions of the partitioned table at
	// path in the order they were added; with a non-empty spec, those
	// with all of its values.
	ListPartitions(path Path, spec PartitionSpec) ([]Partition, error)
}
