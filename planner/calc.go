package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// Calc is a Filter followed by a Project in one node, as Flink's Calc: the
// optimizer merges adjacent filters and projections into Calcs so that one
// operator evaluates them a batch at a time. Condition may be nil.
type Calc struct {
	Input     Node
	Exprs     []expr.Expr
	Names     []string
	Condition expr.Expr
}

var _ Node = (*Calc)(nil)

func (c *Calc) Schema() types.Schema     { return exprSchema(c.Exprs, c.Names) }
func (c *Calc) Children() []Node         { return []Node{c.Input} }
func (c *Calc) Changelog() ChangelogMode { return c.Input.Changelog() }
func (c *Calc) Bounded() bool            { return c.Input.Bounded() }
func (c *Calc) WithChildren(ch ...Node) Node {
	mustChildren("Calc", ch, 1)
	cp := *c
	cp.Input = ch[0]
	return &cp
}
func (c *Calc) Describe() string {
	s := "Calc(select=[" + projectionList(c.Exprs, c.Names) + "]"
	if c.Condition != nil {
		s += ", where=[" + c.Condition.String() + "]"
	}
	return s + ")"
}
