package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// BatchOverAggregate computes the window functions of a batch Over
// (planner.Over.Batch) over whole sorted partitions of its final input
// rows, hash-partitioned by the PARTITION BY columns: Flink's
// BatchExecOverAggregate.
type BatchOverAggregate struct {
	Logical *planner.Over
	Input   PhysicalNode
}

var _ operatorNode = (*BatchOverAggregate)(nil)

func (n *BatchOverAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *BatchOverAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *BatchOverAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *BatchOverAggregate) Bounded() bool          { return n.Input.Bounded() }
func (n *BatchOverAggregate) Describe() string       { return n.Logical.Describe() }

func (n *BatchOverAggregate) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	calls := make([]agg.Call, len(l.Calls))
	for i, oc := range l.Calls {
		calls[i] = oc.AggCall()
	}
	return spec(exec.KindBatchOverAggregate, n.Describe(), n.Schema(), exec.BatchOverAggregateSpec{
		PartitionKeys: l.Calls[0].Partition, OrderKeys: l.Calls[0].Order, Calls: calls,
	})
}

// physicalizeBatchOver runs a batch Over over its materialized input;
// its calls share one PARTITION BY and ORDER BY (their frames do not
// matter).
func physicalizeBatchOver(o *planner.Over, in PhysicalNode, cfg Config) (PhysicalNode, error) {
	first := o.Calls[0]
	for _, c := range o.Calls[1:] {
		same := first
		same.Rows, same.Preceding = c.Rows, c.Preceding
		if !sameWindow(c, same) {
			// The binder only marks Over nodes with one window Batch.
			return nil, errs.Internalf("the calls of a batch Over have different windows")
		}
	}
	par := cfg.Parallelism
	if len(first.Partition) == 0 {
		par = 1
	}
	return &BatchOverAggregate{Logical: o, Input: hashExchange(finalRows(in, o.Input, cfg), first.Partition, par)}, nil
}
