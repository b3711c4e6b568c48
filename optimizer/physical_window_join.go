package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// StreamWindowJoin runs a window join, both inputs hash partitioned by
// the equi-join keys (which include the window columns).
type StreamWindowJoin struct {
	Logical             *planner.WindowJoin
	Left, Right         PhysicalNode
	LeftKeys, RightKeys []int
	Condition           expr.Expr
}

var _ operatorNode = (*StreamWindowJoin)(nil)

func (n *StreamWindowJoin) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamWindowJoin) Inputs() []PhysicalNode { return []PhysicalNode{n.Left, n.Right} }
func (n *StreamWindowJoin) Parallelism() int       { return n.Left.Parallelism() }
func (n *StreamWindowJoin) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamWindowJoin) Describe() string       { return n.Logical.Describe() }

func (n *StreamWindowJoin) operatorSpec() (exec.OperatorSpec, error) {
	cond, err := marshalOptional(n.Condition)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	return spec(exec.KindWindowJoin, n.Describe(), n.Schema(), exec.WindowJoinSpec{
		Type: string(n.Logical.Type), LeftKeys: n.LeftKeys, RightKeys: n.RightKeys,
		LeftWindowEnd: n.Logical.LeftEnd, RightWindowEnd: n.Logical.RightEnd, Condition: cond,
	})
}

func physicalizeWindowJoin(j *planner.WindowJoin, cfg Config) (PhysicalNode, error) {
	left, err := Physicalize(j.Left, cfg)
	if err != nil {
		return nil, err
	}
	right, err := Physicalize(j.Right, cfg)
	if err != nil {
		return nil, err
	}
	lk, rk, rest := splitEquiConditions(j.Condition, j.Left.Schema().Len())
	return &StreamWindowJoin{
		Logical: j, Left: hashExchange(left, lk, cfg.Parallelism), Right: hashExchange(right, rk, cfg.Parallelism),
		LeftKeys: lk, RightKeys: rk, Condition: rest,
	}, nil
}
