package optimizer

import (
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// PushProjectBelowVectorSearch prunes the columns a VectorSearch carries
// from each of its inputs to the ones its query vector, its searched
// column and the projection (and a filter between them) above it read, so
// that the searched table's rows are read, broadcast and kept in the
// operator without columns nobody uses, and the projections can go on
// down to the scans.
var PushProjectBelowVectorSearch = Rule{Name: "PushProjectBelowVectorSearch", Apply: func(n planner.Node) (planner.Node, bool) {
	p, filter, below, ok := projectOverFilter(n)
	if !ok {
		return n, false
	}
	v, ok := below.(*planner.VectorSearch)
	if !ok {
		return n, false
	}
	in, ss := v.Input.Schema(), v.Search.Schema()
	width, swidth := in.Len(), ss.Len()
	above := p.Exprs
	if filter != nil {
		above = append(append([]expr.Expr(nil), above...), filter.Condition)
	}
	column := func(i int, fromSearch bool) expr.Expr {
		if fromSearch {
			return &expr.ColumnRef{Index: i, Name: ss.Columns[i].Name, T: ss.Columns[i].Type}
		}
		return &expr.ColumnRef{Index: i, Name: in.Columns[i].Name, T: in.Columns[i].Type}
	}
	neededIn := []expr.Expr{v.Query}
	neededSearch := []expr.Expr{column(v.SearchColumn, true)}
	for _, e := range above {
		for _, col := range expr.InputColumns(e) {
			switch {
			case col < width:
				neededIn = append(neededIn, column(col, false))
			case col < width+swidth:
				neededSearch = append(neededSearch, column(col-width, true))
			}
		}
	}
	accIn, accSearch := planAccesses(in, false, neededIn...), planAccesses(ss, false, neededSearch...)
	if accIn.isIdentity(width) && accSearch.isIdentity(swidth) {
		return n, false
	}
	pruned := *v
	for _, side := range []struct {
		acc   *accesses
		width int
		node  *planner.Node
	}{{accIn, width, &pruned.Input}, {accSearch, swidth, &pruned.Search}} {
		if side.acc.isIdentity(side.width) {
			continue
		}
		exprs, names, err := side.acc.exprs()
		if err != nil {
			return n, false
		}
		*side.node = &planner.Project{Input: *side.node, Exprs: exprs, Names: names}
	}
	pruned.Query = accIn.rewrite(v.Query)
	pruned.SearchColumn, _ = accSearch.index(v.SearchColumn, nil)
	// Columns above: kept input columns move to their new index, kept
	// search columns follow them, and score comes last.
	out := pruned.Schema()
	newWidth, newSearchWidth := pruned.Input.Schema().Len(), pruned.Search.Schema().Len()
	remap := func(e expr.Expr) expr.Expr {
		return expr.Rewrite(e, func(x expr.Expr) expr.Expr {
			r, ok := x.(*expr.ColumnRef)
			if !ok {
				return x
			}
			var i int
			switch {
			case r.Index < width:
				i, _ = accIn.index(r.Index, nil)
			case r.Index < width+swidth:
				i, _ = accSearch.index(r.Index-width, nil)
				i += newWidth
			default:
				i = newWidth + newSearchWidth
			}
			return &expr.ColumnRef{Index: i, Name: out.Columns[i].Name, T: r.T}
		})
	}
	return restack(p, filter, &pruned, remap), true
}}

// PushFilterBelowVectorSearch moves the conjuncts of a filter over a
// VectorSearch that read only the query side's columns (and are
// deterministic) below it, so that rows the filter drops are never
// searched for; the results are the same, since each query row's matches
// depend on that row alone.
var PushFilterBelowVectorSearch = Rule{Name: "PushFilterBelowVectorSearch", Apply: func(n planner.Node) (planner.Node, bool) {
	f, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	v, ok := f.Input.(*planner.VectorSearch)
	if !ok {
		return n, false
	}
	width := v.Input.Schema().Len()
	down, stay := splitByInput(f.Condition, width)
	if down == nil {
		return n, false
	}
	pushed := *v
	pushed.Input = &planner.Filter{Input: v.Input, Condition: down}
	return filterOver(&pushed, stay), true
}}

// splitByInput parts the conjuncts of cond into those that are
// deterministic and read only the first width columns (down), which a
// node that works row by row over those columns may take below it, and
// the others (stay); either is nil when it has none.
func splitByInput(cond expr.Expr, width int) (down, stay expr.Expr) {
	for _, c := range splitAnd(cond) {
		onInput := expr.IsDeterministic(c)
		for _, col := range expr.InputColumns(c) {
			onInput = onInput && col < width
		}
		switch {
		case !onInput && stay == nil:
			stay = c
		case !onInput:
			stay = and(stay, c)
		case down == nil:
			down = c
		default:
			down = and(down, c)
		}
	}
	return down, stay
}

// filterOver is n under a filter of cond, or n itself when cond is nil.
func filterOver(n planner.Node, cond expr.Expr) planner.Node {
	if cond == nil {
		return n
	}
	return &planner.Filter{Input: n, Condition: cond}
}
