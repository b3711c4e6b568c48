package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// StreamNonTimeOverAggregate computes OVER aggregates ordered by columns
// that are not a time attribute, from UNBOUNDED PRECEDING to the current
// row (Flink's NonTime*UnboundedPrecedingFunction) or over ROWS n
// PRECEDING: a retract changelog that updates the results of the rows
// after one arriving out of order.
type StreamNonTimeOverAggregate struct {
	Logical        *planner.Over
	Input          PhysicalNode
	StateTTLMillis int64
	// DropUpdateBefore: updates go out as +U alone (updateBeforeDroppers).
	DropUpdateBefore bool
}

var _ operatorNode = (*StreamNonTimeOverAggregate)(nil)

func (n *StreamNonTimeOverAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamNonTimeOverAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamNonTimeOverAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamNonTimeOverAggregate) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamNonTimeOverAggregate) Describe() string       { return n.Logical.Describe() }

func (n *StreamNonTimeOverAggregate) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	c := l.Calls[0]
	calls := make([]agg.Call, len(l.Calls))
	for i, oc := range l.Calls {
		calls[i] = oc.AggCall()
	}
	s, err := spec(exec.KindNonTimeOverAggregate, n.Describe(), n.Schema(), exec.NonTimeOverAggregateSpec{
		PartitionKeys: c.Partition, OrderKeys: c.Order, Rows: c.Rows, Preceding: c.Preceding, Calls: calls,
		InputChangelog: l.Input.Changelog() != planner.InsertOnly, StateTTLMillis: n.StateTTLMillis,
		DropUpdateBefore: n.DropUpdateBefore,
	})
	s.Changelog = true
	return s, err
}

// physicalizeNonTimeOver checks the frames supported without a time
// attribute: UNBOUNDED PRECEDING to CURRENT ROW, as in Flink, and, beyond
// Flink, ROWS n PRECEDING (Nexmark q6 runs over an updating input so).
// A bounded RANGE would need arithmetic on the order key.
func physicalizeNonTimeOver(o *planner.Over, input PhysicalNode, cfg Config) (PhysicalNode, error) {
	if c := o.Calls[0]; c.Preceding >= 0 && !c.Rows {
		return nil, errs.New(errs.NotSupported, "OVER windows ordered by a non-time column support RANGE frames only from UNBOUNDED PRECEDING to CURRENT ROW")
	}
	return &StreamNonTimeOverAggregate{Logical: o, Input: input, StateTTLMillis: cfg.StateTTLMillis, DropUpdateBefore: cfg.dropUpdateBefore[o]}, nil
}
