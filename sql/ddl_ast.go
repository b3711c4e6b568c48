package sql

// This file holds the syntax trees of Flink's catalog statements beyond
// CREATE/DROP TABLE and VIEW: CREATE TABLE ... LIKE and AS SELECT, ALTER
// TABLE|VIEW|DATABASE|CATALOG, CREATE|DROP DATABASE and CATALOG, TRUNCATE
// TABLE.

// TableLike is the LIKE clause of CREATE TABLE: LIKE source [(option
// ...)]. Options keep the order written; Flink applies them in that order
// over its default INCLUDING ALL OVERWRITING OPTIONS.
type TableLike struct {
	Pos     Pos
	Source  ObjectName
	Options []LikeOption
}

func (l *TableLike) Position() Pos { return l.Pos }

// LikeOption is one merging option of a LIKE clause: Strategy is
// INCLUDING, EXCLUDING or OVERWRITING; Feature is ALL, CONSTRAINTS,
// DISTRIBUTION, GENERATED, METADATA, OPTIONS, PARTITIONS or WATERMARKS.
type LikeOption struct {
	Pos      Pos
	Strategy string
	Feature  string
}

func (o LikeOption) Position() Pos { return o.Pos }

// ColumnName is a column named in a statement, with its position.
type ColumnName struct {
	Pos  Pos
	Name string
}

func (c ColumnName) Position() Pos { return c.Pos }

// AlterTable is ALTER TABLE [IF EXISTS] name action.
type AlterTable struct {
	Pos      Pos
	Name     ObjectName
	IfExists bool
	Action   AlterTableAction
}

// AlterTableAction is what an ALTER TABLE does: *AlterTableSchema (ADD
// or MODIFY), *AlterTableDrop, *AlterTableRenameColumn,
// *AlterTableRename, *AlterTableSet, *AlterTableReset,
// *AlterTableAddPartitions or *AlterTableDropPartitions.
type AlterTableAction interface {
	Node
	alterTableAction()
}

// AlterTableSchema is ADD or MODIFY of columns, a primary key and a
// watermark: ALTER TABLE t ADD c INT [FIRST | AFTER x], or ADD (c INT,
// PRIMARY KEY (...) NOT ENFORCED, WATERMARK FOR ...).
type AlterTableSchema struct {
	Pos    Pos
	Modify bool
	// Columns are the added or modified columns, each with its position.
	Columns []AlterColumn
	// PrimaryKey, PrimaryKeyPos and Watermark are as in CreateTable.
	PrimaryKey    []string
	PrimaryKeyPos Pos
	Watermark     *WatermarkDef
	// Distribution is ADD|MODIFY DISTRIBUTION BY ... [INTO n BUCKETS] or
	// DISTRIBUTION INTO n BUCKETS, which comes alone (nil otherwise).
	Distribution *Distribution
}

// AlterColumn is one column of ADD or MODIFY with its optional FIRST or
// AFTER placement (neither: at the end for ADD, in place for MODIFY).
type AlterColumn struct {
	Def   ColumnDef
	First bool
	// After is the column named by AFTER (Name "" when absent).
	After ColumnName
}

// AlterTableDrop is DROP col, DROP (a, b), DROP PRIMARY KEY, DROP
// CONSTRAINT name, DROP WATERMARK or DROP DISTRIBUTION.
type AlterTableDrop struct {
	Pos        Pos
	Columns    []ColumnName
	PrimaryKey bool
	// Constraint is the name of DROP CONSTRAINT name ("" otherwise).
	Constraint   string
	Watermark    bool
	Distribution bool
}

// AlterTableRenameColumn is RENAME old TO new.
type AlterTableRenameColumn struct {
	Pos      Pos
	Old, New ColumnName
}

// AlterTableRename is RENAME TO new_name.
type AlterTableRename struct {
	Pos     Pos
	NewName ObjectName
}

// AlterTableSet is SET ('k' = 'v', ...).
type AlterTableSet struct {
	Pos     Pos
	Options []Option
}

// AlterTableReset is RESET ('k', ...).
type AlterTableReset struct {
	Pos  Pos
	Keys []Option
}

// AlterTableAddPartitions is ADD [IF NOT EXISTS] PARTITION (k = v, ...)
// [WITH ('key' = 'value', ...)] [PARTITION ...]: Flink's SqlAddPartitions,
// partitions added to the catalog's metadata of a partitioned table.
type AlterTableAddPartitions struct {
	Pos         Pos
	IfNotExists bool
	Partitions  []AddedPartition
}

// AddedPartition is one PARTITION (...) [WITH (...)] of ADD PARTITION.
type AddedPartition struct {
	Spec PartitionSpec
	// Options are the partition's properties (WITH), nil if none.
	Options []Option
}

// AlterTableDropPartitions is DROP [IF EXISTS] PARTITION (k = v, ...) [,
// PARTITION (...) ...]: Flink's SqlDropPartitions.
type AlterTableDropPartitions struct {
	Pos        Pos
	IfExists   bool
	Partitions []PartitionSpec
}

// PartitionSpec is the (k = v, ...) naming a partition, in the order
// written, as Flink's partition spec (a LinkedHashMap).
type PartitionSpec struct {
	Pos    Pos
	Values []PartitionValue
}

// PartitionValue is one k = v of a PartitionSpec. Value is the literal as
// a string, as Flink's SqlParseUtils.getPartitionKVs makes it: a string
// literal's (or DATE|TIME|TIMESTAMP literal's) unquoted value, a number's
// text, true or false.
type PartitionValue struct {
	Pos   Pos
	Key   string
	Value string
}

func (a *AlterTableAddPartitions) Position() Pos  { return a.Pos }
func (a *AlterTableDropPartitions) Position() Pos { return a.Pos }
func (s PartitionSpec) Position() Pos             { return s.Pos }
func (v PartitionValue) Position() Pos            { return v.Pos }

func (*AlterTableAddPartitions) alterTableAction()  {}
func (*AlterTableDropPartitions) alterTableAction() {}

func (a *AlterTableSchema) Position() Pos       { return a.Pos }
func (a *AlterTableDrop) Position() Pos         { return a.Pos }
func (a *AlterTableRenameColumn) Position() Pos { return a.Pos }
func (a *AlterTableRename) Position() Pos       { return a.Pos }
func (a *AlterTableSet) Position() Pos          { return a.Pos }
func (a *AlterTableReset) Position() Pos        { return a.Pos }

func (*AlterTableSchema) alterTableAction()       {}
func (*AlterTableDrop) alterTableAction()         {}
func (*AlterTableRenameColumn) alterTableAction() {}
func (*AlterTableRename) alterTableAction()       {}
func (*AlterTableSet) alterTableAction()          {}
func (*AlterTableReset) alterTableAction()        {}

// AlterView is ALTER VIEW name RENAME TO new_name (NewName set) or ALTER
// VIEW name AS query (Query set).
type AlterView struct {
	Pos       Pos
	Name      ObjectName
	NewName   ObjectName
	Query     *Query
	QueryText string
}

// CreateDatabase is CREATE DATABASE [IF NOT EXISTS] [catalog.]db [COMMENT
// '...'] [WITH (...)].
type CreateDatabase struct {
	Pos         Pos
	Name        ObjectName
	IfNotExists bool
	Comment     string
	Options     []Option
}

// DropDatabase is DROP DATABASE [IF EXISTS] [catalog.]db [RESTRICT |
// CASCADE]; RESTRICT, the default, refuses a database that is not empty.
type DropDatabase struct {
	Pos      Pos
	Name     ObjectName
	IfExists bool
	Cascade  bool
}

// AlterDatabase is ALTER DATABASE [catalog.]db SET ('k' = 'v', ...).
type AlterDatabase struct {
	Pos     Pos
	Name    ObjectName
	Options []Option
}

// CreateCatalog is CREATE CATALOG [IF NOT EXISTS] name [COMMENT '...']
// WITH ('type' = '...', ...).
type CreateCatalog struct {
	Pos         Pos
	Name        ObjectName
	IfNotExists bool
	Comment     string
	Options     []Option
}

// AlterCatalog is Flink's ALTER CATALOG name SET ('k' = 'v', ...) |
// RESET ('k', ...) | COMMENT 'text': exactly one of Options (SET), Reset
// and Comment (with IsComment) is given.
type AlterCatalog struct {
	Pos       Pos
	Name      ObjectName
	Options   []Option
	Reset     []Option
	IsComment bool
	Comment   string
}

// DropCatalog is DROP CATALOG [IF EXISTS] name.
type DropCatalog struct {
	Pos      Pos
	Name     ObjectName
	IfExists bool
}

// Truncate is TRUNCATE TABLE name.
type Truncate struct {
	Pos  Pos
	Name ObjectName
}

func (s *AlterTable) Position() Pos     { return s.Pos }
func (s *AlterView) Position() Pos      { return s.Pos }
func (s *CreateDatabase) Position() Pos { return s.Pos }
func (s *DropDatabase) Position() Pos   { return s.Pos }
func (s *AlterDatabase) Position() Pos  { return s.Pos }
func (s *CreateCatalog) Position() Pos  { return s.Pos }
func (s *DropCatalog) Position() Pos    { return s.Pos }
func (s *AlterCatalog) Position() Pos   { return s.Pos }
func (s *Truncate) Position() Pos       { return s.Pos }

func (*AlterTable) statementNode()     {}
func (*AlterView) statementNode()      {}
func (*CreateDatabase) statementNode() {}
func (*DropDatabase) statementNode()   {}
func (*AlterDatabase) statementNode()  {}
func (*CreateCatalog) statementNode()  {}
func (*DropCatalog) statementNode()    {}
func (*AlterCatalog) statementNode()   {}
func (*Truncate) statementNode()       {}
