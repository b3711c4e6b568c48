package optimizer

import (
	"encoding/json"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// StreamExpand emits every input row once per projection (see
// planner.Expand and exec.KindExpand).
type StreamExpand struct {
	Logical *planner.Expand
	Input   PhysicalNode
}

var _ operatorNode = (*StreamExpand)(nil)

func (n *StreamExpand) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamExpand) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamExpand) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamExpand) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamExpand) Describe() string       { return n.Logical.Describe() }

func (n *StreamExpand) operatorSpec() (exec.OperatorSpec, error) {
	var s exec.ExpandSpec
	for _, b := range n.Logical.Buckets {
		s.Buckets = append(s.Buckets, exec.ExpandBucket{Col: b.Col, Num: b.Num})
	}
	for _, p := range n.Logical.Projections {
		raws := make([]json.RawMessage, len(p))
		for i, e := range p {
			raw, err := expr.Marshal(e)
			if err != nil {
				return exec.OperatorSpec{}, err
			}
			raws[i] = raw
		}
		s.Projections = append(s.Projections, raws)
	}
	out, err := spec(exec.KindExpand, n.Describe(), n.Schema(), s)
	out.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return out, err
}
