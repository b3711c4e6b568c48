package optimizer

import (
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// PushProjectBelowCorrelate prunes the input columns a Correlate carries
// to the ones its collection and the projection (and a filter between
// them) above it read, so that an unnested row does not repeat columns
// nobody uses and the projection can go on down to the scan.
var PushProjectBelowCorrelate = Rule{Name: "PushProjectBelowCorrelate", Apply: func(n planner.Node) (planner.Node, bool) {
	p, filter, below, ok := projectOverFilter(n)
	if !ok {
		return n, false
	}
	c, ok := below.(*planner.Correlate)
	if !ok {
		return n, false
	}
	in := c.Input.Schema()
	width := in.Len()
	above := p.Exprs
	if filter != nil {
		above = append(append([]expr.Expr(nil), above...), filter.Condition)
	}
	needed := []expr.Expr{c.Arg}
	for _, e := range above {
		for _, col := range expr.InputColumns(e) {
			if col < width {
				needed = append(needed, &expr.ColumnRef{Index: col, Name: in.Columns[col].Name, T: in.Columns[col].Type})
			}
		}
	}
	acc := planAccesses(in, false, needed...)
	if acc.isIdentity(width) {
		return n, false
	}
	exprs, names, err := acc.exprs()
	if err != nil {
		return n, false
	}
	pruned := new(planner.Correlate)
	*pruned = *c
	pruned.Input = &planner.Project{Input: c.Input, Exprs: exprs, Names: names}
	pruned.Arg = acc.rewrite(c.Arg)
	// Columns above: kept input columns move to their new index, the
	// element columns follow the kept ones.
	out := pruned.Schema()
	remap := func(e expr.Expr) expr.Expr {
		return expr.Rewrite(e, func(x expr.Expr) expr.Expr {
			ref, ok := x.(*expr.ColumnRef)
			if !ok {
				return x
			}
			i := len(exprs) + ref.Index - width
			if ref.Index < width {
				i, _ = acc.index(ref.Index, nil)
			}
			return &expr.ColumnRef{Index: i, Name: out.Columns[i].Name, T: ref.T}
		})
	}
	return restack(p, filter, pruned, remap), true
}}
