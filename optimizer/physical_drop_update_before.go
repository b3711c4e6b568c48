package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
)

// StreamDropUpdateBefore removes the -U rows of its input's changelog, as
// Flink's StreamPhysicalDropUpdateBefore does. The optimizer puts it
// above a producer of updates that every consumer may serve with +U alone
// (ChangelogModes marks it [I,UA,D]) but that cannot leave its -U out
// itself (updateBeforeDroppers), typically a retract source read without
// a normalization; the producers that can (aggregates, Top-Ns,
// normalizations) drop them through their specs instead. It runs chained
// where its input runs.
type StreamDropUpdateBefore struct {
	Input PhysicalNode
}

var _ operatorNode = (*StreamDropUpdateBefore)(nil)

func (n *StreamDropUpdateBefore) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamDropUpdateBefore) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamDropUpdateBefore) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamDropUpdateBefore) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamDropUpdateBefore) Describe() string       { return "DropUpdateBefore" }

func (n *StreamDropUpdateBefore) operatorSpec() (exec.OperatorSpec, error) {
	s, err := spec(exec.KindDropUpdateBefore, n.Describe(), n.Schema(), struct{}{})
	s.Changelog = true
	return s, err
}
