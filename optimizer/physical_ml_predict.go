package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/planner"
)

// StreamMLPredict runs ML_PREDICT (exec.KindMLPredict) chained after its
// input at the input's parallelism: every instance sends its own rows. In
// batch mode an updating input is materialized into its final rows first.
type StreamMLPredict struct {
	Logical *planner.MLPredict
	Input   PhysicalNode
}

var _ operatorNode = (*StreamMLPredict)(nil)

func physicalizeMLPredict(m *planner.MLPredict, cfg Config) (PhysicalNode, error) {
	in, err := Physicalize(m.Input, cfg)
	if err != nil {
		return nil, err
	}
	return &StreamMLPredict{Logical: m, Input: finalRows(in, m.Input, cfg)}, nil
}

func (n *StreamMLPredict) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamMLPredict) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamMLPredict) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamMLPredict) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamMLPredict) Describe() string       { return n.Logical.Describe() }

func (n *StreamMLPredict) operatorSpec() (exec.OperatorSpec, error) {
	var cfg map[string]string
	if len(n.Logical.ConfigKeys) > 0 {
		cfg = n.Logical.Config()
	}
	return spec(exec.KindMLPredict, n.Describe(), n.Schema(), exec.MLPredictSpec{
		Model: n.Logical.Model, InputColumns: n.Logical.InputColumns,
		InputWidth: n.Logical.Input.Schema().Len(), Config: cfg,
	})
}
