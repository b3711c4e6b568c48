package optimizer

import (
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// PushFilterBelowMLPredict moves the deterministic conjuncts of a filter
// over ML_PREDICT that read only its input's columns below it, so that the
// rows the filter drops are never sent to the model (each request costs
// time and money). The rows kept get the same predictions, since a row's
// prediction depends on that row alone.
var PushFilterBelowMLPredict = Rule{Name: "PushFilterBelowMLPredict", Apply: func(n planner.Node) (planner.Node, bool) {
	f, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	m, ok := f.Input.(*planner.MLPredict)
	if !ok {
		return n, false
	}
	width := m.Input.Schema().Len()
	down, stay := splitByInput(f.Condition, width)
	if down == nil {
		return n, false
	}
	pushed := *m
	pushed.Input = &planner.Filter{Input: m.Input, Condition: down}
	return filterOver(&pushed, stay), true
}}

// PushProjectBelowMLPredict prunes the input columns ML_PREDICT carries
// to those the model reads (the DESCRIPTOR) and the projection (and a
// filter between them) above it reads, so that the operator holds and
// snapshots no column nobody uses, and the projection goes on down.
var PushProjectBelowMLPredict = Rule{Name: "PushProjectBelowMLPredict", Apply: func(n planner.Node) (planner.Node, bool) {
	p, filter, below, ok := projectOverFilter(n)
	if !ok {
		return n, false
	}
	m, ok := below.(*planner.MLPredict)
	if !ok {
		return n, false
	}
	in := m.Input.Schema()
	width := in.Len()
	needed := make([]bool, width)
	for _, c := range m.InputColumns {
		needed[c] = true
	}
	above := p.Exprs
	if filter != nil {
		above = append(append([]expr.Expr(nil), above...), filter.Condition)
	}
	for _, e := range above {
		for _, col := range expr.InputColumns(e) {
			if col < width {
				needed[col] = true
			}
		}
	}
	newIndex := make([]int, width)
	var exprs []expr.Expr
	var names []string
	for i, c := range in.Columns {
		if needed[i] {
			newIndex[i] = len(exprs)
			exprs = append(exprs, &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type})
			names = append(names, c.Name)
		}
	}
	if len(exprs) == width {
		return n, false
	}
	pruned := *m
	pruned.Input = &planner.Project{Input: m.Input, Exprs: exprs, Names: names}
	pruned.InputColumns = make([]int, len(m.InputColumns))
	for i, c := range m.InputColumns {
		pruned.InputColumns[i] = newIndex[c]
	}
	out := pruned.Schema()
	remap := func(e expr.Expr) expr.Expr {
		return expr.Rewrite(e, func(x expr.Expr) expr.Expr {
			r, ok := x.(*expr.ColumnRef)
			if !ok {
				return x
			}
			i := len(exprs) + r.Index - width
			if r.Index < width {
				i = newIndex[r.Index]
			}
			return &expr.ColumnRef{Index: i, Name: out.Columns[i].Name, T: r.T}
		})
	}
	return restack(p, filter, &pruned, remap), true
}}
