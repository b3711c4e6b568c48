package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/planner"
)

// StreamSnapshotJoin is a lateral snapshot join: both inputs hash
// partitioned by the equi-join keys (one instance without keys), the build
// side kept in state, the probe side buffered until the build's load
// completes.
type StreamSnapshotJoin struct {
	Logical              *planner.SnapshotJoin
	Probe, Build         PhysicalNode
	ProbeKeys, BuildKeys []int
}

var _ operatorNode = (*StreamSnapshotJoin)(nil)

func physicalizeSnapshotJoin(j *planner.SnapshotJoin, cfg Config) (PhysicalNode, error) {
	probe, err := Physicalize(j.Probe, cfg)
	if err != nil {
		return nil, err
	}
	build, err := Physicalize(j.Build, cfg)
	if err != nil {
		return nil, err
	}
	// The operator evaluates the whole condition on the pairs the keys
	// find, so the keys only route and index.
	pk, bk, _ := splitEquiConditions(j.Condition, j.Probe.Schema().Len())
	par := cfg.Parallelism
	if len(pk) == 0 {
		par = 1
	}
	return &StreamSnapshotJoin{Logical: j, Probe: hashExchange(probe, pk, par), Build: hashExchange(build, bk, par),
		ProbeKeys: pk, BuildKeys: bk}, nil
}

func (n *StreamSnapshotJoin) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamSnapshotJoin) Inputs() []PhysicalNode { return []PhysicalNode{n.Probe, n.Build} }
func (n *StreamSnapshotJoin) Parallelism() int       { return n.Probe.Parallelism() }
func (n *StreamSnapshotJoin) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamSnapshotJoin) Describe() string       { return n.Logical.Describe() }

func (n *StreamSnapshotJoin) operatorSpec() (exec.OperatorSpec, error) {
	cond, err := marshalOptional(n.Logical.Condition)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	return spec(exec.KindSnapshotJoin, n.Describe(), n.Schema(), exec.SnapshotJoinSpec{
		Type: string(n.Logical.Type), ProbeKeys: n.ProbeKeys, BuildKeys: n.BuildKeys, Condition: cond,
		ProbeWidth:          n.Logical.Probe.Schema().Len(),
		BuildChangelog:      n.Logical.Build.Changelog() != planner.InsertOnly,
		LoadCompletedMillis: n.Logical.LoadCompletedMillis,
	})
}
