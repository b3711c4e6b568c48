package planner

import (
	"github.com/eddysql/eddy/catalog/types"
)

// UnionAll concatenates inputs with the same column types.
type UnionAll struct {
	Inputs []Node
	Out    types.Schema
}

var _ Node = (*UnionAll)(nil)

func (u *UnionAll) Schema() types.Schema { return u.Out }
func (u *UnionAll) Children() []Node     { return u.Inputs }
func (u *UnionAll) WithChildren(c ...Node) Node {
	mustChildren("UnionAll", c, len(u.Inputs))
	cp := *u
	cp.Inputs = append([]Node(nil), c...)
	return &cp
}
func (u *UnionAll) Changelog() ChangelogMode {
	m := InsertOnly
	for _, in := range u.Inputs {
		m = max(m, in.Changelog())
	}
	return m
}
func (u *UnionAll) Bounded() bool {
	for _, in := range u.Inputs {
		if !in.Bounded() {
			return false
		}
	}
	return true
}
func (u *UnionAll) Describe() string { return "Union(all=[true], union=[" + fieldList(u.Out) + "])" }
