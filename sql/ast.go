package sql

// This file defines Eddy's own SQL syntax tree. Later phases (the binder and
// planner) consume only these types, never the TiDB parser's.
//
// Every node carries a Pos: the byte offset of its first character in the
// source that was parsed. For a Script that is the whole script text, so
// positions of statements after the first are still file positions.

// Pos is a byte offset into the parsed source. Use LineCol to turn it into a
// 1-based line and column.
type Pos int

// Node is implemented by every syntax tree node.
type Node interface {
	// Position returns the byte offset where the node starts.
	Position() Pos
}

// Statement is a top-level SQL statement.
type Statement interface {
	Node
	statementNode()
}

// Script is the result of parsing a whole SQL script.
type Script struct {
	// Source is the full script text; all positions refer into it.
	Source string
	// Stmts holds the non-empty statements in source order.
	Stmts []ScriptStmt
}

// ScriptStmt is one statement of a script with its source span.
type ScriptStmt struct {
	Stmt Statement
	// Start and End delimit the statement's text in Script.Source
	// (End excludes the terminating ';').
	Start, End Pos
}

// Text returns the source text of statement i.
func (s *Script) Text(i int) string {
	st := s.Stmts[i]
	return s.Source[st.Start:st.End]
}

// LineCol converts pos into a 1-based line and column in the script.
func (s *Script) LineCol(pos Pos) (line, col int) { return LineCol(s.Source, pos) }

// ObjectName is a possibly qualified object path: tbl, db.tbl or cat.db.tbl.
type ObjectName struct {
	Parts []string
	Pos   Pos
}

// Position implements Node.
func (n ObjectName) Position() Pos { return n.Pos }

// ---------------------------------------------------------------------------
// Statements

// CreateTable is CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (...) [COMMENT
// '...'] WITH (...).
type CreateTable struct {
	Pos         Pos
	Name        ObjectName
	Temporary   bool
	IfNotExists bool
	Columns     []ColumnDef
	Watermark   *WatermarkDef
	// PrimaryKey lists the key columns; Flink requires NOT ENFORCED, which
	// the parser checks, so it is implied here.
	PrimaryKey []string
	// PrimaryKeyPos is the position of the PRIMARY KEY clause (0 if none).
	PrimaryKeyPos Pos
	PartitionedBy []string
	Comment       string
	Options       []Option
	// Distribution is the DISTRIBUTED BY / DISTRIBUTED INTO clause (nil if
	// none).
	Distribution *Distribution
	// Like is the LIKE clause after WITH (nil if none).
	Like *TableLike
	// Query is the AS query of CREATE TABLE AS SELECT (CTAS) and REPLACE
	// TABLE AS SELECT (RTAS), nil otherwise; QueryText is its text.
	Query     *Query
	QueryText string
	// Replace is REPLACE TABLE ... AS (the table must exist); OrReplace is
	// CREATE OR REPLACE TABLE ... AS (created or replaced).
	Replace, OrReplace bool
	// ColumnOrder is the column list of names without types of CREATE |
	// REPLACE TABLE t (c, b, a) ... AS SELECT, which orders the query's
	// columns in the new table (Flink 2.0, FLINK-35709); nil otherwise.
	ColumnOrder []ColumnName
}

// Distribution is Flink's table distribution: DISTRIBUTED BY [HASH |
// RANGE] (k, ...) [INTO n BUCKETS], or DISTRIBUTED INTO n BUCKETS.
type Distribution struct {
	Pos Pos
	// Kind is "HASH", "RANGE", or "" when the connector chooses.
	Kind string
	Keys []string
	// Buckets is the bucket count, 0 when the connector chooses.
	Buckets int
}

func (d *Distribution) Position() Pos { return d.Pos }

// ColumnKind tells physical, computed and metadata columns apart.
type ColumnKind int

const (
	// PhysicalColumn is `name TYPE`.
	PhysicalColumn ColumnKind = iota
	// ComputedColumn is `name AS expr`.
	ComputedColumn
	// MetadataColumn is `name TYPE METADATA [FROM 'key'] [VIRTUAL]`.
	MetadataColumn
)

// ColumnDef is one column of CREATE TABLE.
type ColumnDef struct {
	Pos  Pos
	Name string
	Kind ColumnKind
	// Type is set for physical and metadata columns.
	Type *TypeName
	// Expr is set for computed columns.
	Expr Expr
	// MetadataKey is the FROM 'key' of a metadata column ("" = column name).
	MetadataKey string
	// Virtual marks a metadata column that is read-only (not written by sinks).
	Virtual bool
	Comment string
}

// Position implements Node.
func (c ColumnDef) Position() Pos { return c.Pos }

// WatermarkDef is WATERMARK FOR column AS expr.
type WatermarkDef struct {
	Pos    Pos
	Column string
	Expr   Expr
}

// Position implements Node.
func (w *WatermarkDef) Position() Pos { return w.Pos }

// Option is one 'key' = 'value' pair of a WITH clause.
type Option struct {
	Pos   Pos
	Key   string
	Value string
}

// CreateView is CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(cols)] AS query.
type CreateView struct {
	Pos         Pos
	Name        ObjectName
	Temporary   bool
	IfNotExists bool
	Columns     []string
	Comment     string
	Query       *Query
	// QueryText is the view's query as written, for catalogs and SHOW CREATE.
	QueryText string
}

// DropTable is DROP [TEMPORARY] TABLE [IF EXISTS] name.
type DropTable struct {
	Pos       Pos
	Name      ObjectName
	IfExists  bool
	Temporary bool
}

// DropView is DROP [TEMPORARY] VIEW [IF EXISTS] name.
type DropView struct {
	Pos       Pos
	Name      ObjectName
	IfExists  bool
	Temporary bool
}

// Insert is INSERT {INTO|OVERWRITE} table [(cols)] query.
type Insert struct {
	Pos       Pos
	Table     ObjectName
	Columns   []string
	Overwrite bool
	// Partition is the static partition of INSERT INTO t PARTITION (k =
	// v, ...): partition columns given constant values, which the query
	// does not produce.
	Partition []StaticPartition
	Query     *Query
	// OnConflict is the action of a trailing ON CONFLICT DO <action>
	// (Flink 2.2: NOTHING, ERROR or DEDUPLICATE), the strategy for rows of
	// the query that collide on the sink's primary key; "" when absent.
	OnConflict string
	// TableHints are the table hints written right after the sink's name
	// (INSERT INTO t /*+ OPTIONS('k' = 'v') */ ...), see Hint.
	TableHints []Hint
}

// StaticPartition is one k = v of INSERT ... PARTITION (...).
type StaticPartition struct {
	Pos    Pos
	Column string
	Value  Expr
}

func (s StaticPartition) Position() Pos { return s.Pos }

// QueryStatement is a bare query (SELECT, WITH, VALUES).
type QueryStatement struct {
	Query *Query
}

// Set is SET 'key' = 'value'; a bare SET (listing all) has an empty Key.
type Set struct {
	Pos   Pos
	Key   string
	Value string
}

// Reset is RESET 'key'; a bare RESET (all keys) has an empty Key.
type Reset struct {
	Pos Pos
	Key string
}

// ShowKind says what a SHOW statement lists.
type ShowKind int

// The SHOW variants.
const (
	ShowTables ShowKind = iota
	ShowViews
	ShowFunctions
	ShowCatalogs
	ShowDatabases
	ShowCurrentCatalog
	ShowCurrentDatabase
	ShowCreateTable
	ShowCreateView
	ShowColumns
	ShowModules
	ShowJobs
	ShowProcedures
	ShowCreateCatalog
	ShowPartitions
)

var showKindNames = [...]string{"TABLES", "VIEWS", "FUNCTIONS", "CATALOGS", "DATABASES",
	"CURRENT CATALOG", "CURRENT DATABASE", "CREATE TABLE", "CREATE VIEW", "COLUMNS", "MODULES", "JOBS",
	"PROCEDURES", "CREATE CATALOG", "PARTITIONS"}

func (k ShowKind) String() string { return showKindNames[k] }

// Show is SHOW <what>. Name is set for SHOW CREATE TABLE|VIEW|CATALOG x,
// SHOW COLUMNS FROM x and SHOW PARTITIONS x, and for the FROM|IN database (or catalog, of
// SHOW DATABASES) of SHOW TABLES, VIEWS, FUNCTIONS, PROCEDURES and
// DATABASES.
type Show struct {
	Pos  Pos
	What ShowKind
	Name ObjectName
	// Like is the [NOT] LIKE|ILIKE pattern filtering the names (nil if
	// none).
	Like *ShowLike
	// Full is SHOW FULL MODULES; User is SHOW USER FUNCTIONS.
	Full, User bool
	// Partition is the PARTITION (k = v, ...) of SHOW PARTITIONS t
	// PARTITION (...), which lists the partitions it matches (nil if
	// none).
	Partition *PartitionSpec
}

// ShowLike is the [NOT] LIKE|ILIKE 'pattern' of a SHOW statement: SQL LIKE
// with % and _, ILIKE ignoring case.
type ShowLike struct {
	Pos     Pos
	Pattern string
	Not     bool
	ILike   bool
}

// Describe is DESCRIBE|DESC [EXTENDED] name or DESCRIBE CATALOG [EXTENDED]
// name.
type Describe struct {
	Pos      Pos
	Name     ObjectName
	Extended bool
	// Catalog is DESCRIBE CATALOG [EXTENDED] name (Flink 1.20): Name is a
	// catalog.
	Catalog bool
}

// Use is USE db or USE CATALOG c.
type Use struct {
	Pos     Pos
	Catalog bool
	Name    ObjectName
}

// Explain is EXPLAIN [PLAN FOR] stmt or EXPLAIN detail, ... stmt. Details are
// upper-cased (CHANGELOG_MODE, ESTIMATED_COST, JSON_EXECUTION_PLAN, ...).
type Explain struct {
	Pos     Pos
	Details []string
	// DetailPos is the position of each of Details.
	DetailPos []Pos
	// Stmt is a *QueryStatement, *Insert, *StatementSet, a *CreateTable
	// with a Query (CREATE|REPLACE TABLE ... AS SELECT), a *Delete or an
	// *Update. In a script,
	// EXPLAIN [details] [EXECUTE] STATEMENT SET BEGIN ...; END; explains a
	// whole statement set.
	Stmt Statement
}

// StopJob is STOP JOB 'id' [WITH SAVEPOINT] [WITH DRAIN].
type StopJob struct {
	Pos           Pos
	ID            string
	WithSavepoint bool
	WithDrain     bool
}

// DescribeJob is DESCRIBE|DESC JOB 'id'.
type DescribeJob struct {
	Pos Pos
	ID  string
}

// CreateMaterializedView is CREATE MATERIALIZED VIEW [IF NOT EXISTS] name
// [(cols)] [COMMENT '...'] AS query: a continuously maintained query result
// that clients can read and SUBSCRIBE to.
type CreateMaterializedView struct {
	Pos         Pos
	Name        ObjectName
	IfNotExists bool
	Columns     []string
	Comment     string
	Query       *Query
	// QueryText is the query as written, for catalogs and SHOW CREATE.
	QueryText string
}

// DropMaterializedView is DROP MATERIALIZED VIEW [IF EXISTS] name.
type DropMaterializedView struct {
	Pos      Pos
	Name     ObjectName
	IfExists bool
}

// Subscribe is SUBSCRIBE [TO] name or SUBSCRIBE [TO] (query): stream the
// changelog of a materialized view, table or query to the client. Exactly
// one of Name (Parts non-empty) and Query is set.
type Subscribe struct {
	Pos   Pos
	Name  ObjectName
	Query *Query
}

// StatementSet groups INSERTs executed as one job: EXECUTE STATEMENT SET
// BEGIN ... END or BEGIN STATEMENT SET; ... END; in a script.
type StatementSet struct {
	Pos     Pos
	Inserts []*Insert
}

func (s *CreateTable) Position() Pos    { return s.Pos }
func (s *CreateView) Position() Pos     { return s.Pos }
func (s *DropTable) Position() Pos      { return s.Pos }
func (s *DropView) Position() Pos       { return s.Pos }
func (s *Insert) Position() Pos         { return s.Pos }
func (s *QueryStatement) Position() Pos { return s.Query.Pos }
func (s *Set) Position() Pos            { return s.Pos }
func (s *Reset) Position() Pos          { return s.Pos }
func (s *Show) Position() Pos           { return s.Pos }
func (s *Describe) Position() Pos       { return s.Pos }
func (s *Use) Position() Pos            { return s.Pos }
func (s *Explain) Position() Pos        { return s.Pos }
func (s *StatementSet) Position() Pos   { return s.Pos }
func (s *StopJob) Position() Pos        { return s.Pos }
func (s *DescribeJob) Position() Pos    { return s.Pos }
func (s *Subscribe) Position() Pos      { return s.Pos }

func (s *CreateMaterializedView) Position() Pos { return s.Pos }
func (s *DropMaterializedView) Position() Pos   { return s.Pos }

func (*CreateTable) statementNode()    {}
func (*CreateView) statementNode()     {}
func (*DropTable) statementNode()      {}
func (*DropView) statementNode()       {}
func (*Insert) statementNode()         {}
func (*QueryStatement) statementNode() {}
func (*Set) statementNode()            {}
func (*Reset) statementNode()          {}
func (*Show) statementNode()           {}
func (*Describe) statementNode()       {}
func (*Use) statementNode()            {}
func (*Explain) statementNode()        {}
func (*StatementSet) statementNode()   {}
func (*StopJob) statementNode()        {}
func (*DescribeJob) statementNode()    {}
func (*Subscribe) statementNode()      {}

func (*CreateMaterializedView) statementNode() {}
func (*DropMaterializedView) statementNode()   {}

// ---------------------------------------------------------------------------
// Types

// TypeName is a Flink data type as written. Name is the upper-cased canonical
// name: BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL, CHAR,
// VARCHAR, STRING, BINARY, VARBINARY, BYTES, DATE, TIME, TIMESTAMP,
// TIMESTAMP_LTZ, INTERVAL, ARRAY, MAP, MULTISET, ROW, NULL. Aliases are
// folded: INTEGER→INT, DOUBLE PRECISION→DOUBLE, DEC/NUMERIC→DECIMAL,
// TIMESTAMP WITHOUT TIME ZONE→TIMESTAMP, TIMESTAMP WITH LOCAL TIME
// ZONE→TIMESTAMP_LTZ.
type TypeName struct {
	Pos  Pos
	Name string
	// Params are the parenthesized parameters (length, precision, scale);
	// nil when none were given, so defaults apply (see HasParams).
	Params []int
	// Elem is the element type of ARRAY and MULTISET.
	Elem *TypeName
	// Key and Value are the MAP types.
	Key, Value *TypeName
	// Fields are the ROW fields.
	Fields []RowField
	// FromUnit/ToUnit qualify INTERVAL types: INTERVAL DAY TO SECOND(3) has
	// FromUnit DAY, ToUnit SECOND; Params then hold the unit precisions.
	FromUnit, ToUnit string
	NotNull          bool
}

// HasParams reports whether parameters were given explicitly.
func (t *TypeName) HasParams() bool { return t.Params != nil }

// Position implements Node.
func (t *TypeName) Position() Pos { return t.Pos }

// RowField is one field of a ROW type.
type RowField struct {
	Pos     Pos
	Name    string
	Type    *TypeName
	Comment string
}

// ---------------------------------------------------------------------------
// Queries

// Query is a full query expression: [WITH ...] body [ORDER BY] [LIMIT]
// [OFFSET].
type Query struct {
	Pos     Pos
	With    []CTE
	Body    SetExpr
	OrderBy []OrderItem
	Limit   Expr
	Offset  Expr
}

// CTE is one WITH entry: name [(cols)] AS (query).
type CTE struct {
	Pos     Pos
	Name    string
	Columns []string
	Query   *Query
}

// OrderItem is one ORDER BY element. NullsFirst is nil unless NULLS
// FIRST/LAST was written.
type OrderItem struct {
	Pos        Pos
	Expr       Expr
	Desc       bool
	NullsFirst *bool
}

// SetExpr is a query body: *Select, *SetOp, *Values, or a parenthesized
// *Query carrying its own ORDER BY/LIMIT.
type SetExpr interface {
	Node
	setExprNode()
}

// SetOpKind is UNION, INTERSECT or EXCEPT.
type SetOpKind int

// The set operators.
const (
	Union SetOpKind = iota
	Intersect
	Except
)

func (k SetOpKind) String() string { return [...]string{"UNION", "INTERSECT", "EXCEPT"}[k] }

// SetOp is left UNION|INTERSECT|EXCEPT [ALL] right.
type SetOp struct {
	Pos         Pos
	Op          SetOpKind
	All         bool
	Left, Right SetExpr
}

// Values is VALUES (row), (row)...
type Values struct {
	Pos  Pos
	Rows [][]Expr
}

// Select is one SELECT block.
type Select struct {
	Pos      Pos
	Distinct bool
	Items    []SelectItem
	From     TableExpr
	Where    Expr
	// GroupBy lists the grouping expressions. With GROUPING SETS, ROLLUP or
	// CUBE it is the union of the columns of all grouping sets, each
	// expression once (compared by FormatExpr), in order of appearance.
	GroupBy []Expr
	// GroupingSets is nil for a plain GROUP BY. Otherwise it is the
	// expanded list of grouping sets: ROLLUP(a, b) gives (a, b), (a), ();
	// CUBE(a, b) gives (a, b), (a), (b), (); several GROUP BY elements
	// combine as a cross product, as in the SQL standard. Every expression
	// in a set is one of the GroupBy elements (the same pointer). A clause
	// that expands to the single set GroupBy is plain (GroupingSets nil).
	GroupingSets [][]Expr
	Having       Expr
	// Windows are the WINDOW clause's named windows in source order; each
	// has Name set.
	Windows []*WindowSpec
	// Hints are the query hints written right after SELECT
	// (SELECT /*+ STATE_TTL('t' = '1d') */ ...), see Hint.
	Hints []Hint
}

// SelectItem is one projection: expr [AS alias], * or qual.*.
type SelectItem struct {
	Pos   Pos
	Expr  Expr
	Alias string
	// Star marks * (StarQualifier nil) or qual.* (StarQualifier set).
	Star          bool
	StarQualifier []string
}

func (q *Query) Position() Pos  { return q.Pos }
func (s *SetOp) Position() Pos  { return s.Pos }
func (v *Values) Position() Pos { return v.Pos }
func (s *Select) Position() Pos { return s.Pos }

func (*Query) setExprNode()  {}
func (*SetOp) setExprNode()  {}
func (*Values) setExprNode() {}
func (*Select) setExprNode() {}

// TableExpr is a FROM item: *TableRef, *SubqueryRef, *TableFunctionRef or
// *Join.
type TableExpr interface {
	Node
	tableExprNode()
}

// TableRef is a named table or view with an optional alias.
type TableRef struct {
	Pos   Pos
	Name  ObjectName
	Alias string
	// SystemTime is the time of FOR SYSTEM_TIME AS OF expr (a temporal
	// join's version time, e.g. o.order_time); nil when absent.
	SystemTime Expr
	// Hints are the table hints written right after the name
	// (t /*+ OPTIONS('k' = 'v') */ AS a), see Hint.
	Hints []Hint
}

// TableFunctionRef is a table-valued function call in FROM:
// TABLE(fn(args)) [AS alias [(cols)]], in particular the window TVFs
//
//	TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset]))
//	TABLE(HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset]))
//	TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), step, size [, offset]))
//	TABLE(SESSION(TABLE t [PARTITION BY (k1, ...)], DESCRIPTOR(ts), gap))
//
// LATERAL TABLE(udtf(expr, ...)), UNNEST(expr, ...) (Name UNNEST, Lateral
// set, every argument an Expr), and the process table functions called
// without TABLE(...), e.g. TO_CHANGELOG(input => TABLE t PARTITION BY k,
// op => DESCRIPTOR(op)). Arguments may be named (DATA =>
// TABLE t, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL ...). The parser
// does not check which arguments a function takes; the binder does.
type TableFunctionRef struct {
	Pos Pos
	// Name is the upper-cased function name: TUMBLE, HOP, CUMULATE, SESSION,
	// or a user-defined table function.
	Name          string
	Args          []TableFuncArg
	Alias         string
	ColumnAliases []string
	// Lateral marks LATERAL TABLE(...), whose arguments may refer to the
	// columns of the FROM items to its left.
	Lateral bool
	// WithOrdinality marks UNNEST(...) WITH ORDINALITY.
	WithOrdinality bool
}

// TableFuncArg is one argument of a table function. Exactly one of Table,
// Query, Descriptor, Model and Expr is set; PartitionBy only with Table or Query.
type TableFuncArg struct {
	Pos Pos
	// Name is the upper-cased argument name of name => value, "" if
	// positional.
	Name string
	// Table is TABLE name.
	Table *ObjectName
	// Query is TABLE (query).
	Query *Query
	// PartitionBy is the PARTITION BY k or PARTITION BY (k1, k2) after a
	// table argument (SESSION windows).
	PartitionBy []Expr
	// Descriptor lists the columns of DESCRIPTOR(c1, ...).
	Descriptor []string
	// Model is MODEL name (ML_PREDICT's model argument).
	Model *ObjectName
	// Expr is any other argument, e.g. an *IntervalLit.
	Expr Expr
}

// SubqueryRef is [LATERAL] (query) [AS] alias [(col, ...)].
type SubqueryRef struct {
	Pos           Pos
	Query         *Query
	Alias         string
	ColumnAliases []string
	// Lateral marks LATERAL (query), whose query may name the columns of
	// the FROM items before it (SQL:2003, Calcite, PostgreSQL).
	Lateral bool
}

// JoinKind is the kind of join.
type JoinKind int

// The join kinds.
const (
	InnerJoin JoinKind = iota
	LeftJoin
	RightJoin
	FullJoin
	CrossJoin
)

func (k JoinKind) String() string {
	return [...]string{"INNER", "LEFT", "RIGHT", "FULL", "CROSS"}[k]
}

// Join is left [kind] JOIN right [ON cond | USING (cols)]. A comma in FROM
// is a CrossJoin.
type Join struct {
	Pos         Pos
	Kind        JoinKind
	Left, Right TableExpr
	On          Expr
	Using       []string
}

func (t *TableRef) Position() Pos         { return t.Pos }
func (t *SubqueryRef) Position() Pos      { return t.Pos }
func (t *TableFunctionRef) Position() Pos { return t.Pos }
func (t *Join) Position() Pos             { return t.Pos }

func (*TableRef) tableExprNode()         {}
func (*SubqueryRef) tableExprNode()      {}
func (*TableFunctionRef) tableExprNode() {}
func (*Join) tableExprNode()             {}

// ---------------------------------------------------------------------------
// Expressions

// Expr is a scalar expression. String returns the canonical text used by
// EXPLAIN and for derived names.
type Expr interface {
	Node
	String() string
	exprNode()
}

// Ident is a column reference, possibly qualified or a nested field access:
// a, t.a, t.a.b.
type Ident struct {
	Pos   Pos
	Parts []string
}

// LiteralKind classifies literals.
type LiteralKind int

// The literal kinds.
const (
	NullLit LiteralKind = iota
	BoolLit
	// IntLit is an integer without point or exponent.
	IntLit
	// DecimalLit is an exact numeric with a point: 1.50.
	DecimalLit
	// FloatLit is an approximate numeric with an exponent: 1e3.
	FloatLit
	StringLit
	DateLit
	TimeLit
	TimestampLit
	// BinaryLit is X'0AFF'; Text holds the hex digits.
	BinaryLit
)

func (k LiteralKind) String() string {
	return [...]string{"NULL", "BOOL", "INT", "DECIMAL", "FLOAT", "STRING", "DATE", "TIME", "TIMESTAMP", "BINARY"}[k]
}

// Literal is a constant. Text is the literal's value as text: the number as
// written, the unquoted string, TRUE/FALSE, the date/time text.
type Literal struct {
	Pos  Pos
	Kind LiteralKind
	Text string
}

// IntervalLit is INTERVAL 'value' unit [TO unit]. Value is the quoted text
// with any sign kept ("-1 10:00"); a sign before the quote is folded in.
type IntervalLit struct {
	Pos    Pos
	Value  string
	Unit   string
	ToUnit string
	// Precision and ToPrecision are the optional unit precisions (0 = none).
	Precision, ToPrecision int
}

// UnaryOp is a prefix operator.
type UnaryOp int

// The unary operators.
const (
	Neg UnaryOp = iota
	Not
	Plus
)

func (o UnaryOp) String() string { return [...]string{"-", "NOT", "+"}[o] }

// Unary is op expr.
type Unary struct {
	Pos  Pos
	Op   UnaryOp
	Expr Expr
}

// BinaryOp is an infix operator.
type BinaryOp int

// The binary operators.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	Mod
	Concat
	Eq
	NotEq
	Lt
	LtEq
	Gt
	GtEq
	And
	Or
	// IsDistinctFrom and IsNotDistinctFrom are the null-safe comparisons.
	IsDistinctFrom
	IsNotDistinctFrom
)

func (o BinaryOp) String() string {
	return [...]string{"+", "-", "*", "/", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR",
		"IS DISTINCT FROM", "IS NOT DISTINCT FROM"}[o]
}

// Binary is left op right.
type Binary struct {
	Pos         Pos
	Op          BinaryOp
	Left, Right Expr
}

// FuncCall is a function or aggregate call. Name is upper-cased. Special
// syntax is normalized onto plain calls:
//
//	SUBSTRING(s FROM a [FOR b])        SUBSTRING(s, a [, b])
//	TRIM([BOTH|LEADING|TRAILING] [c] FROM s), TRIM(s)
//	                                   TRIM('BOTH'|'LEADING'|'TRAILING', c, s), c defaults to ' '
//	POSITION(a IN b)                   POSITION(a, b)
//	CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME, LOCALTIMESTAMP, LOCALTIME
//	                                   calls with no arguments
//	MOD(a, b)                          MOD(a, b) (a % b is Binary Mod)
//	FLOOR(x TO unit), CEIL(x TO unit)  FLOOR|CEIL(x, 'UNIT'), unit upper-cased
//	CEILING(x TO unit)                 CEIL(x, 'UNIT')
//	TIMESTAMPADD(unit, n, t), TIMESTAMPDIFF(unit, a, b)
//	                                   the unit becomes a leading 'UNIT' string
//	OVERLAY(s PLACING r FROM a [FOR b])
//	                                   OVERLAY(s, r, a [, b])
//	s IS [NOT] JSON [kind]             "IS JSON"(s [, 'KIND']), NOT applied for IS NOT
//	JSON_EXISTS(j, p b ON ERROR)       JSON_EXISTS(j, p, 'B')
//	REGEXP(s, r)                       REGEXP(s, r) (the MySQL operator is refused)
//
// Legacy group windows (TUMBLE(ts, INTERVAL ...), HOP, SESSION and their
// _START/_END/_ROWTIME/_PROCTIME helpers) are plain calls.
type FuncCall struct {
	Pos      Pos
	Name     string
	Args     []Expr
	Distinct bool
	// Star is COUNT(*).
	Star bool
	// Filter is an aggregate's FILTER (WHERE cond).
	Filter Expr
	// Over is the OVER (...) window of an analytic call.
	Over *WindowSpec
	// OverName is w in OVER w, naming a Select.Windows entry (Over is nil).
	OverName string
}

// WindowSpec is OVER ([w] [PARTITION BY ...] [ORDER BY ...] [frame]) or a
// WINDOW clause entry w AS (...).
type WindowSpec struct {
	Pos Pos
	// Name is the defined name of a WINDOW clause entry ("" in OVER).
	Name string
	// Ref is an existing window this one refines: OVER (w ORDER BY ...).
	Ref         string
	PartitionBy []Expr
	OrderBy     []OrderItem
	Frame       *WindowFrame
}

// WindowFrame is ROWS|RANGE BETWEEN start AND end (or just start).
type WindowFrame struct {
	Rows       bool
	Start, End FrameBound
}

// FrameBoundKind is the kind of a frame bound.
type FrameBoundKind int

// The frame bound kinds.
const (
	UnboundedPreceding FrameBoundKind = iota
	Preceding
	CurrentRow
	Following
	UnboundedFollowing
)

func (k FrameBoundKind) String() string {
	return [...]string{"UNBOUNDED PRECEDING", "PRECEDING", "CURRENT ROW", "FOLLOWING", "UNBOUNDED FOLLOWING"}[k]
}

// FrameBound is one end of a window frame; Offset is set for PRECEDING and
// FOLLOWING.
type FrameBound struct {
	Kind   FrameBoundKind
	Offset Expr
}

// Cast is CAST(expr AS type) or TRY_CAST.
type Cast struct {
	Pos  Pos
	Expr Expr
	Type *TypeName
	Try  bool
}

// Case is CASE [operand] WHEN ... THEN ... [ELSE ...] END; Operand is nil
// for a searched CASE. A simple CASE with a list of values in a WHEN (CASE
// x WHEN 1, 2 THEN ...) is the searched CASE WHEN x = 1 OR x = 2 THEN ...,
// as Calcite expands it.
type Case struct {
	Pos     Pos
	Operand Expr
	Whens   []When
	Else    Expr
}

// When is one WHEN cond THEN result arm.
type When struct {
	Cond, Result Expr
}

// InList is expr [NOT] IN (list).
type InList struct {
	Pos  Pos
	Expr Expr
	List []Expr
	Not  bool
}

// Between is expr [NOT] BETWEEN [SYMMETRIC] low AND high.
type Between struct {
	Pos             Pos
	Expr, Low, High Expr
	Not, Symmetric  bool
}

// Like is expr [NOT] LIKE|SIMILAR TO pattern [ESCAPE esc].
type Like struct {
	Pos       Pos
	Expr      Expr
	Pattern   Expr
	Escape    Expr
	Not       bool
	SimilarTo bool
}

// IsNull is expr IS [NOT] NULL. A boolean's IS [NOT] UNKNOWN is the same
// test and parses to IsNull.
type IsNull struct {
	Pos  Pos
	Expr Expr
	Not  bool
}

// IsBool is expr IS [NOT] TRUE|FALSE.
type IsBool struct {
	Pos   Pos
	Expr  Expr
	Value bool
	Not   bool
}

// Extract is EXTRACT(unit FROM expr); Unit is upper-cased.
type Extract struct {
	Pos  Pos
	Unit string
	Expr Expr
}

// Index is expr[index]: array element (1-based) or map value access.
type Index struct {
	Pos   Pos
	Expr  Expr
	Index Expr
}

// FieldAccess is expr.field[.field]: the fields of a ROW value that is not
// a column path (a column path's fields are parts of its Ident), such as
// items[1].qty.
type FieldAccess struct {
	Pos    Pos
	Expr   Expr
	Fields []string
}

// SubqueryExpr is a scalar subquery (query), or with Array PostgreSQL's
// ARRAY(query): the array of the one-column query's values, empty when it
// has no row.
type SubqueryExpr struct {
	Pos   Pos
	Query *Query
	Array bool
}

// Exists is [NOT] EXISTS (query).
type Exists struct {
	Pos   Pos
	Query *Query
	Not   bool
}

// InSubquery is expr [NOT] IN (query).
type InSubquery struct {
	Pos   Pos
	Expr  Expr
	Query *Query
	Not   bool
}

// Quantified is the right operand ANY|SOME|ALL (array) of a comparison,
// PostgreSQL's comparison with each element of an array (x = ANY(arr)).
// Quantified comparisons with a subquery are not this node.
type Quantified struct {
	Pos Pos
	// All is set for ALL; ANY and SOME are the same.
	All  bool
	Expr Expr
}

// ArrayCtor is ARRAY[e, ...].
type ArrayCtor struct {
	Pos   Pos
	Elems []Expr
}

// MapCtor is MAP[k1, v1, k2, v2, ...].
type MapCtor struct {
	Pos          Pos
	Keys, Values []Expr
}

// RowCtor is ROW(e, ...) or (e1, e2, ...).
type RowCtor struct {
	Pos    Pos
	Fields []Expr
}

// Param is a placeholder: ? (numbered left to right from 1) or $n.
type Param struct {
	Pos   Pos
	Index int
}

func (e *Ident) Position() Pos        { return e.Pos }
func (e *Literal) Position() Pos      { return e.Pos }
func (e *IntervalLit) Position() Pos  { return e.Pos }
func (e *Unary) Position() Pos        { return e.Pos }
func (e *Binary) Position() Pos       { return e.Pos }
func (e *FuncCall) Position() Pos     { return e.Pos }
func (e *Cast) Position() Pos         { return e.Pos }
func (e *Case) Position() Pos         { return e.Pos }
func (e *InList) Position() Pos       { return e.Pos }
func (e *Between) Position() Pos      { return e.Pos }
func (e *Like) Position() Pos         { return e.Pos }
func (e *IsNull) Position() Pos       { return e.Pos }
func (e *IsBool) Position() Pos       { return e.Pos }
func (e *Extract) Position() Pos      { return e.Pos }
func (e *Index) Position() Pos        { return e.Pos }
func (e *FieldAccess) Position() Pos  { return e.Pos }
func (e *SubqueryExpr) Position() Pos { return e.Pos }
func (e *Exists) Position() Pos       { return e.Pos }
func (e *InSubquery) Position() Pos   { return e.Pos }
func (e *ArrayCtor) Position() Pos    { return e.Pos }
func (e *Quantified) Position() Pos   { return e.Pos }
func (e *MapCtor) Position() Pos      { return e.Pos }
func (e *RowCtor) Position() Pos      { return e.Pos }
func (e *Param) Position() Pos        { return e.Pos }
func (w *WindowSpec) Position() Pos   { return w.Pos }

func (*Ident) exprNode()        {}
func (*Literal) exprNode()      {}
func (*IntervalLit) exprNode()  {}
func (*Unary) exprNode()        {}
func (*Binary) exprNode()       {}
func (*FuncCall) exprNode()     {}
func (*Cast) exprNode()         {}
func (*Case) exprNode()         {}
func (*InList) exprNode()       {}
func (*Between) exprNode()      {}
func (*Like) exprNode()         {}
func (*IsNull) exprNode()       {}
func (*IsBool) exprNode()       {}
func (*Extract) exprNode()      {}
func (*Index) exprNode()        {}
func (*FieldAccess) exprNode()  {}
func (*SubqueryExpr) exprNode() {}
func (*Exists) exprNode()       {}
func (*InSubquery) exprNode()   {}
func (*ArrayCtor) exprNode()    {}
func (*Quantified) exprNode()   {}
func (*MapCtor) exprNode()      {}
func (*RowCtor) exprNode()      {}
func (*Param) exprNode()        {}

func (e *Ident) String() string        { return FormatExpr(e) }
func (e *Literal) String() string      { return FormatExpr(e) }
func (e *IntervalLit) String() string  { return FormatExpr(e) }
func (e *Unary) String() string        { return FormatExpr(e) }
func (e *Binary) String() string       { return FormatExpr(e) }
func (e *FuncCall) String() string     { return FormatExpr(e) }
func (e *Cast) String() string         { return FormatExpr(e) }
func (e *Case) String() string         { return FormatExpr(e) }
func (e *InList) String() string       { return FormatExpr(e) }
func (e *Between) String() string      { return FormatExpr(e) }
func (e *Like) String() string         { return FormatExpr(e) }
func (e *IsNull) String() string       { return FormatExpr(e) }
func (e *IsBool) String() string       { return FormatExpr(e) }
func (e *Extract) String() string      { return FormatExpr(e) }
func (e *Index) String() string        { return FormatExpr(e) }
func (e *FieldAccess) String() string  { return FormatExpr(e) }
func (e *SubqueryExpr) String() string { return FormatExpr(e) }
func (e *Exists) String() string       { return FormatExpr(e) }
func (e *InSubquery) String() string   { return FormatExpr(e) }
func (e *ArrayCtor) String() string    { return FormatExpr(e) }
func (e *Quantified) String() string   { return FormatExpr(e) }
func (e *MapCtor) String() string      { return FormatExpr(e) }
func (e *RowCtor) String() string      { return FormatExpr(e) }
func (e *Param) String() string        { return FormatExpr(e) }
