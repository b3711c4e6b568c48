package jdbc

import (
	"fmt"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// Identifier is the value of the 'connector' option.
const Identifier = "jdbc"

// Option keys, Flink's.
const (
	URL                       = "url"
	TableName                 = "table-name"
	Driver                    = "driver"
	Username                  = "username"
	Password                  = "password"
	ConnectionMaxRetryTimeout = "connection.max-retry-timeout"
	ScanPartitionColumn       = "scan.partition.column"
	ScanPartitionNum          = "scan.partition.num"
	ScanPartitionLowerBound   = "scan.partition.lower-bound"
	ScanPartitionUpperBound   = "scan.partition.upper-bound"
	ScanFetchSize             = "scan.fetch-size"
	ScanAutoCommit            = "scan.auto-commit"
	LookupCache               = "lookup.cache"
	LookupMaxRetries          = "lookup.max-retries"
	SinkBufferFlushMaxRows    = "sink.buffer-flush.max-rows"
	SinkBufferFlushInterval   = "sink.buffer-flush.interval"
	SinkMaxRetries            = "sink.max-retries"
	SinkParallelism           = "sink.parallelism"
)

// cacheOptions are Flink's lookup cache options, declared so that a table
// setting one gets the reason it is refused rather than "unsupported".
var cacheOptions = []string{
	"lookup.partial-cache.max-rows",
	"lookup.partial-cache.expire-after-write",
	"lookup.partial-cache.expire-after-access",
	"lookup.partial-cache.cache-missing-key",
	"lookup.cache.max-rows",
	"lookup.cache.ttl",
	"lookup.cache.caching-missing-key",
}

var options = func() []connector.Option {
	o := []connector.Option{
		{Key: URL, Type: connector.String, Required: true,
			Doc: "JDBC URL of the PostgreSQL database: 'jdbc:postgresql://host:port/database?param=value' (pgjdbc's parameters user, password, ssl, sslmode, sslrootcert, sslcert, sslkey, ApplicationName, connectTimeout, currentSchema, options)."},
		{Key: TableName, Type: connector.String, Required: true,
			Doc: "Table to read or write, optionally schema-qualified ('schema.table')."},
		{Key: Driver, Type: connector.String,
			Doc: "JDBC driver class; only 'org.postgresql.Driver' is accepted (Eddy speaks PostgreSQL's protocol through pgx)."},
		{Key: Username, Type: connector.String,
			Doc: "User name; set together with 'password'."},
		{Key: Password, Type: connector.String,
			Doc: "Password; set together with 'username'."},
		{Key: ConnectionMaxRetryTimeout, Type: connector.Duration, Default: "60s",
			Doc: "How long a connection is retried while the server cannot be reached; at least 1 s."},
		{Key: ScanPartitionColumn, Type: connector.String,
			Doc: "Numeric column a partitioned scan splits the table by; the four scan.partition options go together."},
		{Key: ScanPartitionNum, Type: connector.Int,
			Doc: "Number of partitions of a partitioned scan, spread over the source's subtasks."},
		{Key: ScanPartitionLowerBound, Type: connector.Long,
			Doc: "Smallest value of the first partition; rows below it are not read."},
		{Key: ScanPartitionUpperBound, Type: connector.Long,
			Doc: "Largest value of the last partition; rows above it are not read."},
		{Key: ScanFetchSize, Type: connector.Int, Default: "0",
			Doc: "Rows fetched per round trip; 0 ignores the hint. Eddy streams each partition's rows over one query, so the hint is accepted and not needed."},
		{Key: ScanAutoCommit, Type: connector.Bool, Default: "true",
			Doc: "When false, a subtask reads all its partitions in one REPEATABLE READ, READ ONLY transaction (one snapshot of the table)."},
		{Key: LookupCache, Type: connector.Enum, Enum: []string{"NONE", "PARTIAL"}, Default: "NONE",
			Doc: "Flink's lookup cache; only NONE: Eddy's lookup join loads the whole table and joins in memory."},
		{Key: LookupMaxRetries, Type: connector.Int, Default: "3",
			Doc: "How often a scan (and so a lookup table's load) resumes after a failed read, reconnecting and skipping the rows it already produced."},
		{Key: SinkBufferFlushMaxRows, Type: connector.Int, Default: "100",
			Doc: "Buffered rows that trigger a flush; 0 disables the trigger."},
		{Key: SinkBufferFlushInterval, Type: connector.Duration, Default: "1s",
			Doc: "Interval at which buffered rows are flushed in the background; 0 disables it."},
		{Key: SinkMaxRetries, Type: connector.Int, Default: "3",
			Doc: "How often a failed flush is retried (each flush is one transaction)."},
		{Key: SinkParallelism, Type: connector.Int,
			Doc: "Parallelism of the sink's writers (default: the job's)."},
	}
	for _, k := range cacheOptions {
		o = append(o, connector.Option{Key: k, Type: connector.String,
			Doc: "Flink's lookup cache option; refused: Eddy's lookup join loads the whole table."})
	}
	return o
}()

// Factory is the 'jdbc' source and sink.
type Factory struct{}

var (
	_ connector.SourceFactory              = Factory{}
	_ connector.SinkFactory                = Factory{}
	_ connector.SupportsProjectionPushdown = Factory{}
	_ connector.SupportsFilterPushDown     = Factory{}
)

func init() { connector.Register(Factory{}) }

// Identifier is 'jdbc'.
func (Factory) Identifier() string { return Identifier }

// Options declares the options.
func (Factory) Options() []connector.Option { return options }

// ValidateSource checks the options and the declared types without
// contacting the database: a scan is bounded and insert-only, as in Flink.
// The columns' PostgreSQL types are checked when the job starts.
func (Factory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	if _, err := parseConfig(t); err != nil {
		return connector.ScanProperties{}, err
	}
	if err := checkDeclaredTypes(t); err != nil {
		return connector.ScanProperties{}, err
	}
	return connector.ScanProperties{Bounded: true}, nil
}

// ValidateSink checks the options. Without a primary key the sink appends
// and accepts only inserts; with one it upserts and deletes by key.
func (Factory) ValidateSink(t connector.TableInfo) (connector.SinkProperties, error) {
	if _, err := parseConfig(t); err != nil {
		return connector.SinkProperties{}, err
	}
	if err := checkDeclaredTypes(t); err != nil {
		return connector.SinkProperties{}, err
	}
	upsert := len(t.PrimaryKey) > 0
	return connector.SinkProperties{AcceptsUpdates: upsert, DeletesByKey: upsert}, nil
}

// checkDeclaredTypes refuses column types with no PostgreSQL counterpart.
func checkDeclaredTypes(t connector.TableInfo) error {
	for _, c := range t.Schema.Columns {
		if !mappable(c.Type) {
			return errs.New(errs.NotSupported, "jdbc: column '%s' of table '%s' has type %s, which has no PostgreSQL counterpart; supported: SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL, BOOLEAN, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ, CHAR, VARCHAR, BINARY, VARBINARY and ARRAYs of them", c.Name, t.Name, c.Type)
		}
	}
	return nil
}

// SupportsProjectionPushdown is true: a scan selects only the columns a
// query reads.
func (Factory) SupportsProjectionPushdown() bool { return true }

// ApplyFilters accepts comparisons of integer and BOOLEAN columns, which
// PostgreSQL evaluates as Eddy does; they become the scan's WHERE clause.
// String comparisons stay in Eddy: PostgreSQL compares by the column's
// collation and pads CHAR columns.
func (Factory) ApplyFilters(t connector.TableInfo, preds []connector.Predicate) connector.FilterPushDownResult {
	acc := make([]bool, len(preds))
	for i, p := range preds {
		if p.Column < 0 || p.Column >= t.Schema.Len() {
			continue
		}
		k := t.Schema.Columns[p.Column].Type.Kind
		acc[i] = k == types.SmallInt || k == types.Int || k == types.BigInt ||
			k == types.Boolean && (p.Op == connector.OpEqual || p.Op == connector.OpNotEqual)
	}
	return connector.FilterPushDownResult{Accepted: acc}
}

// CreateReader creates the reader of one subtask; it connects on its
// first Next.
func (Factory) CreateReader(spec connector.ScanSpec, rc connector.ReaderContext) (connector.SourceReader, error) {
	if spec.NestedProjection != nil {
		return nil, fmt.Errorf("jdbc: internal error: nested projection pushed into a scan that does not support it")
	}
	c, err := parseConfig(spec.Table)
	if err != nil {
		return nil, err
	}
	return newReader(c, spec, rc)
}

// CreateWriter creates the writer of one subtask and connects it.
func (Factory) CreateWriter(spec connector.SinkSpec, rc connector.ReaderContext) (connector.SinkWriter, error) {
	c, err := parseConfig(spec.Table)
	if err != nil {
		return nil, err
	}
	return newWriter(c, spec, rc)
}
