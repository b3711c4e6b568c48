package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// Filter keeps the rows for which Condition is TRUE.
type Filter struct {
	Input     Node
	Condition expr.Expr
}

var _ Node = (*Filter)(nil)

func (f *Filter) Schema() types.Schema     { return f.Input.Schema() }
func (f *Filter) Children() []Node         { return []Node{f.Input} }
func (f *Filter) Changelog() ChangelogMode { return f.Input.Changelog() }
func (f *Filter) Bounded() bool            { return f.Input.Bounded() }
func (f *Filter) WithChildren(c ...Node) Node {
	mustChildren("Filter", c, 1)
	cp := *f
	cp.Input = c[0]
	return &cp
}
func (f *Filter) Describe() string { return "Filter(condition=[" + f.Condition.String() + "])" }
