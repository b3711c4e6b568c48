package planner

import (
	"fmt"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// Sink writes its input into a connector-backed table. Its input's schema
// already matches the table's physical columns, followed by the persisted
// metadata columns its connector writes (the binder casts and reorders).
type Sink struct {
	Input Node
	Path  catalog.Path
	Table connector.TableInfo
	// Overwrite is INSERT OVERWRITE; StaticPartition its PARTITION (k =
	// v) values (connector.SinkSpec.StaticPartition).
	Overwrite       bool
	StaticPartition map[string]string
	// Upsert marks an upsert sink: it has a primary key and applies
	// updates by it, without -U rows.
	Upsert bool
	// DropsUpdateBefore marks a sink that takes no -U rows whatever its
	// keys (connector.SinkProperties.DropsUpdateBefore, Flink's blackhole).
	DropsUpdateBefore bool
	// OnConflict is the strategy of INSERT ... ON CONFLICT DO <action>
	// (Flink's InsertConflictStrategy): OnConflictNothing, OnConflictError,
	// OnConflictDeduplicate, or "" when the statement has no such clause.
	OnConflict string
	// Parallelism is the table's 'sink.parallelism' (0: the job's).
	Parallelism int
}

var _ Node = (*Sink)(nil)

func (s *Sink) Schema() types.Schema     { return s.Input.Schema() }
func (s *Sink) Children() []Node         { return []Node{s.Input} }
func (s *Sink) Changelog() ChangelogMode { return s.Input.Changelog() }
func (s *Sink) Bounded() bool            { return s.Input.Bounded() }
func (s *Sink) WithChildren(c ...Node) Node {
	mustChildren("Sink", c, 1)
	cp := *s
	cp.Input = c[0]
	return &cp
}
func (s *Sink) Describe() string {
	overwrite := ""
	if s.Overwrite {
		overwrite = "overwrite=[true], "
	}
	conflict := ""
	if s.OnConflict != "" {
		conflict = ", conflictStrategy=[" + s.OnConflict + "]"
	}
	return fmt.Sprintf("Sink(table=[%s.%s.%s], %sfields=[%s]%s)", s.Path.Catalog, s.Path.Database, s.Path.Name, overwrite, fieldList(s.Schema()), conflict)
}

// The strategies of ON CONFLICT DO <action>, as Flink names them.
const (
	// OnConflictNothing keeps the first row of a sink primary key and
	// drops later rows of other upsert keys.
	OnConflictNothing = "NOTHING"
	// OnConflictError fails the job when rows of different upsert keys
	// remain for one sink primary key.
	OnConflictError = "ERROR"
	// OnConflictDeduplicate keeps every row of a sink primary key so that
	// a retraction can restore the previous one (SinkUpsertMaterializer).
	OnConflictDeduplicate = "DEDUPLICATE"
)

// Collect hands its input back to the client that ran the query (the result
// of a SELECT).
type Collect struct {
	Input Node
}

var _ Node = (*Collect)(nil)

func (c *Collect) Schema() types.Schema     { return c.Input.Schema() }
func (c *Collect) Children() []Node         { return []Node{c.Input} }
func (c *Collect) Changelog() ChangelogMode { return c.Input.Changelog() }
func (c *Collect) Bounded() bool            { return c.Input.Bounded() }
func (c *Collect) WithChildren(ch ...Node) Node {
	mustChildren("Collect", ch, 1)
	return &Collect{Input: ch[0]}
}
func (c *Collect) Describe() string { return "Collect(fields=[" + fieldList(c.Schema()) + "])" }

// Spec is the serializable description of the sink for the runtime.
func (s *Sink) Spec() connector.SinkSpec {
	return connector.SinkSpec{Table: s.Table, Overwrite: s.Overwrite, StaticPartition: s.StaticPartition}
}
