package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// StreamMatch runs MATCH_RECOGNIZE (Flink's StreamExecMatch), hash
// partitioned by its PARTITION BY columns (in one instance without them).
type StreamMatch struct {
	Logical *planner.MatchRecognize
	Input   PhysicalNode
}

var _ operatorNode = (*StreamMatch)(nil)

func physicalizeMatch(l *planner.MatchRecognize, in PhysicalNode, cfg Config) PhysicalNode {
	return &StreamMatch{Logical: l, Input: hashExchange(in, l.Partition, cfg.Parallelism)}
}

func (n *StreamMatch) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamMatch) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamMatch) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamMatch) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamMatch) Describe() string       { return n.Logical.Describe() }

func (n *StreamMatch) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	s := exec.MatchRecognizeSpec{
		Input: l.Input.Schema(), PartitionKeys: l.Partition, OrderKeys: l.Order, ProcTime: l.ProcTime(),
		Vars: l.Vars, Pattern: l.Pattern, MeasureNavs: l.MeasureNavs, After: l.After, AfterVar: l.AfterVar,
		Within: l.Within, Defines: make([]exec.MatchDefine, len(l.Defines)),
	}
	var err error
	if s.MeasureAggs, err = matchAggSpecs(l.MeasureAggs); err != nil {
		return exec.OperatorSpec{}, err
	}
	for i, d := range l.Defines {
		s.Defines[i].Navs = d.Navs
		if s.Defines[i].Aggs, err = matchAggSpecs(d.Aggs); err != nil {
			return exec.OperatorSpec{}, err
		}
		if d.Cond == nil {
			continue
		}
		raw, err := expr.Marshal(d.Cond)
		if err != nil {
			return exec.OperatorSpec{}, err
		}
		s.Defines[i].Condition = raw
	}
	for _, e := range l.Measures {
		raw, err := expr.Marshal(e)
		if err != nil {
			return exec.OperatorSpec{}, err
		}
		s.Measures = append(s.Measures, raw)
	}
	return spec(exec.KindMatchRecognize, n.Describe(), n.Schema(), s)
}

// matchAggSpecs serializes the aggregates of a DEFINE or the MEASURES.
func matchAggSpecs(aggs []planner.MatchAgg) ([]exec.MatchAgg, error) {
	var out []exec.MatchAgg
	for _, a := range aggs {
		ma := exec.MatchAgg{Func: a.Func, Var: a.Var, Type: a.Type}
		for _, e := range a.Args {
			raw, err := expr.Marshal(e)
			if err != nil {
				return nil, err
			}
			ma.Args = append(ma.Args, raw)
		}
		out = append(out, ma)
	}
	return out, nil
}
