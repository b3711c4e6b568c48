package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/planner"
)

// StreamWindowTableFunction assigns windows to rows (chained after its
// input; no state), or, for SESSION, buffers rows per PARTITION BY key
// until their session closes.
type StreamWindowTableFunction struct {
	Logical *planner.WindowTableFunction
	Input   PhysicalNode
}

// StreamWindowAggregate aggregates per key and window, partitioned by key.
type StreamWindowAggregate struct {
	Logical *planner.WindowAggregate
	Input   PhysicalNode
}

var (
	_ operatorNode = (*StreamWindowTableFunction)(nil)
	_ operatorNode = (*StreamWindowAggregate)(nil)
)

func (n *StreamWindowTableFunction) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamWindowTableFunction) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamWindowTableFunction) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamWindowTableFunction) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamWindowTableFunction) Describe() string       { return n.Logical.Describe() }

func (n *StreamWindowAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamWindowAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamWindowAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamWindowAggregate) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamWindowAggregate) Describe() string       { return n.Logical.Describe() }

func windowSpec(w planner.WindowDef) exec.WindowSpec {
	kinds := map[string]string{"TUMBLE": "tumble", "HOP": "hop", "CUMULATE": "cumulate", "SESSION": "session"}
	return exec.WindowSpec{Kind: kinds[w.Kind], Size: w.Size, Slide: w.Slide, Step: w.Step, Offset: w.Offset, Gap: w.Gap}
}

func (n *StreamWindowTableFunction) operatorSpec() (exec.OperatorSpec, error) {
	out, err := spec(exec.KindWindowTableFunction, n.Describe(), n.Schema(), exec.WindowTableFunctionSpec{
		Window: windowSpec(n.Logical.Window), TimeCol: n.Logical.TimeCol, Partition: n.Logical.Window.Partition,
	})
	// Over an updating input each row keeps its row kind (Flink 1.19+).
	out.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return out, err
}

func (n *StreamWindowAggregate) operatorSpec() (exec.OperatorSpec, error) {
	in := n.Logical.Input.Schema()
	return spec(exec.KindWindowAggregate, n.Describe(), n.Schema(), exec.WindowAggregateSpec{
		Window:   windowSpec(n.Logical.Window),
		TimeCol:  n.Logical.TimeCol,
		Keys:     n.Logical.Keys,
		Calls:    n.Logical.Calls,
		ProcTime: in.Columns[n.Logical.TimeCol].Type.TimeAttr == types.ProctimeAttr,
		Attached: n.Logical.Attached != nil,
		// Over an updating input -U/-D rows retract from their windows
		// (Flink 1.19's FLINK-20281); the output stays insert-only.
		InputChangelog: changelogOf(n.Input, n.Logical.Input),
	})
}
