package planner

import (
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// Project computes one output column per expression over its input.
type Project struct {
	Input Node
	Exprs []expr.Expr
	Names []string
}

var _ Node = (*Project)(nil)

func (p *Project) Schema() types.Schema     { return exprSchema(p.Exprs, p.Names) }
func (p *Project) Children() []Node         { return []Node{p.Input} }
func (p *Project) Changelog() ChangelogMode { return p.Input.Changelog() }
func (p *Project) Bounded() bool            { return p.Input.Bounded() }
func (p *Project) WithChildren(c ...Node) Node {
	mustChildren("Project", c, 1)
	cp := *p
	cp.Input = c[0]
	return &cp
}
func (p *Project) Describe() string {
	return "Project(" + projectionList(p.Exprs, p.Names) + ")"
}

// IsIdentity reports whether the projection passes its input through.
func (p *Project) IsIdentity() bool {
	in := p.Input.Schema()
	if len(p.Exprs) != in.Len() {
		return false
	}
	for i, e := range p.Exprs {
		c, ok := e.(*expr.ColumnRef)
		if !ok || c.Index != i || p.Names[i] != in.Columns[i].Name ||
			!c.T.Equal(in.Columns[i].Type) || c.T.TimeAttr != in.Columns[i].Type.TimeAttr {
			return false
		}
	}
	return true
}

func exprSchema(exprs []expr.Expr, names []string) types.Schema {
	s := types.Schema{Columns: make([]types.Column, len(exprs))}
	for i, e := range exprs {
		s.Columns[i] = types.Column{Name: names[i], Type: e.Type()}
	}
	return s
}

func projectionList(exprs []expr.Expr, names []string) string {
	parts := make([]string, len(exprs))
	for i, e := range exprs {
		s := e.String()
		if s != names[i] {
			s += " AS " + names[i]
		}
		parts[i] = s
	}
	return strings.Join(parts, ", ")
}
