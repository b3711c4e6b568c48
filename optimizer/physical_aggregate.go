package optimizer

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/planner"
)

// StreamGroupAggregate runs an unbounded GROUP BY: its input is hash
// partitioned by the group keys (or gathered into one instance for a global
// aggregate) and it emits a retract changelog.
type StreamGroupAggregate struct {
	Logical *planner.Aggregate
	Input   PhysicalNode
	// StateTTLMillis is table.exec.state.ttl.
	StateTTLMillis int64
	// Batch: execution.runtime-mode = batch (exec.GroupAggregateSpec.EmptyInputRow).
	Batch bool
}

var _ operatorNode = (*StreamGroupAggregate)(nil)

func (n *StreamGroupAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamGroupAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamGroupAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamGroupAggregate) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamGroupAggregate) Describe() string       { return n.Logical.Describe() }

func (n *StreamGroupAggregate) operatorSpec() (exec.OperatorSpec, error) {
	s, err := spec(exec.KindGroupAggregate, n.Describe(), n.Schema(), exec.GroupAggregateSpec{
		Keys:           n.Logical.Keys,
		Calls:          n.Logical.Calls,
		InputChangelog: n.Logical.Input.Changelog() != planner.InsertOnly,
		StateTTLMillis: n.StateTTLMillis,
		EmptyInputRow:  n.Batch && len(n.Logical.Keys) == 0,
	})
	s.Changelog = true
	return s, err
}

// hashExchange partitions in by keys across parallelism instances; with no
// keys everything goes to one instance.
func hashExchange(in PhysicalNode, keys []int, parallelism int) PhysicalNode {
	if len(keys) == 0 {
		return exchangeTo(in, 1)
	}
	return &StreamExchange{Input: in, Partitioning: exec.Hash, Keys: keys, Target: parallelism}
}

func keyNames(s types.Schema, keys []int) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = s.Columns[k].Name
	}
	return strings.Join(names, ", ")
}

func describeHash(s types.Schema, keys []int) string {
	return fmt.Sprintf("Exchange(distribution=[hash[%s]])", keyNames(s, keys))
}
