package exec

import (
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// JobGraph is the serializable description of a job that the optimizer
// hands to the JobManager: vertices of chained operators, each run as
// Parallelism subtasks, connected by edges that say how rows are
// partitioned between the subtasks of neighbouring vertices.
type JobGraph struct {
	Name     string   `json:"name"`
	Vertices []Vertex `json:"vertices"`
	Edges    []Edge   `json:"edges"`
	// Config holds the job's SET options by Flink key.
	Config map[string]string `json:"config,omitempty"`
}

// Vertex is a chain of operators executed by each subtask in one goroutine.
// The first operator of a vertex without input edges is a source.
type Vertex struct {
	ID          int            `json:"id"`
	Name        string         `json:"name"`
	Parallelism int            `json:"parallelism"`
	Operators   []OperatorSpec `json:"operators"`
}

// Partitioning says which downstream subtask receives each row.
type Partitioning string

const (
	// Forward sends subtask i's output to subtask i (equal parallelism).
	Forward Partitioning = "forward"
	// Hash sends each row to the subtask owning the hash of its key columns.
	Hash Partitioning = "hash"
	// Rebalance spreads batches round-robin over the downstream subtasks.
	Rebalance Partitioning = "rebalance"
	// Broadcast sends every batch to every downstream subtask.
	Broadcast Partitioning = "broadcast"
	// Global sends everything to subtask 0.
	Global Partitioning = "global"
)

// Edge connects the output of vertex Source to input TargetInput of vertex
// Target.
type Edge struct {
	Source       int          `json:"source"`
	Target       int          `json:"target"`
	TargetInput  int          `json:"targetInput"`
	Partitioning Partitioning `json:"partitioning"`
	// Keys are the column indexes hashed by a Hash edge.
	Keys []int `json:"keys,omitempty"`
}

// OperatorSpec describes one operator: Kind selects the registered
// operator factory, Spec is that factory's JSON configuration, and Schema
// is the operator's output schema.
type OperatorSpec struct {
	Kind   string          `json:"kind"`
	Name   string          `json:"name"`
	Schema types.Schema    `json:"schema"`
	Spec   json.RawMessage `json:"spec"`
	// Changelog is true when the operator's output is an updating stream:
	// its batches then carry the trailing connector.RowKindColumn.
	Changelog bool `json:"changelog,omitempty"`
}

// ArrowSchema is the Arrow schema of the operator's output batches: the
// columns of Schema, plus the row kind column for a changelog.
func (s OperatorSpec) ArrowSchema() *arrow.Schema {
	return BatchSchema(s.Schema, s.Changelog)
}

// BatchSchema is the Arrow schema of batches carrying schema, with the
// trailing int8 row kind column when changelog is set.
func BatchSchema(schema types.Schema, changelog bool) *arrow.Schema {
	as := schema.Arrow()
	if !changelog {
		return as
	}
	fields := append(as.Fields(), arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8})
	return arrow.NewSchema(fields, nil)
}
