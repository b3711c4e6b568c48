package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// StreamCorrelate unnests a collection per row. It is stateless and runs
// at its input's parallelism, chained to it.
type StreamCorrelate struct {
	Logical *planner.Correlate
	Input   PhysicalNode
}

var _ operatorNode = (*StreamCorrelate)(nil)

func (n *StreamCorrelate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamCorrelate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamCorrelate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamCorrelate) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamCorrelate) Describe() string       { return n.Logical.Describe() }

func (n *StreamCorrelate) operatorSpec() (exec.OperatorSpec, error) {
	raw, err := expr.Marshal(n.Logical.Arg)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	out, err := spec(exec.KindCorrelate, n.Describe(), n.Schema(), exec.CorrelateSpec{Collection: raw, Left: n.Logical.Left, Ordinality: n.Logical.Ordinality})
	out.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return out, err
}
