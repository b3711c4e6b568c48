package optimizer

import (
	"slices"

	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// PushProjectBelowChangelogFunction prunes the input of TO_CHANGELOG and
// FROM_CHANGELOG to the columns the projection above (and a filter between
// them, which cannot move below the function) reads, plus those
// the function itself needs (its PARTITION BY columns and, for
// FROM_CHANGELOG, the op column), so that the pruning can continue down
// to the scan. The kept columns stay in their order, so the function's
// output keeps its shape.
var PushProjectBelowChangelogFunction = Rule{Name: "PushProjectBelowChangelogFunction", Apply: func(n planner.Node) (planner.Node, bool) {
	p, filter, below, ok := projectOverFilter(n)
	if !ok {
		return n, false
	}
	read := slices.Clone(p.Exprs)
	if filter != nil {
		read = append(read, filter.Condition)
	}
	var fn planner.Node
	var outCols, keep []int
	var input planner.Node
	switch f := below.(type) {
	case *planner.ToChangelog:
		fn, outCols, keep, input = f, f.Columns(), f.Partition, f.Input
	case *planner.FromChangelog:
		fn, outCols, keep, input = f, f.Columns(), append(slices.Clone(f.Partition), f.OpCol), f.Input
	default:
		return n, false
	}
	needed := slices.Clone(keep)
	for _, c := range usedColumns(len(outCols), read...) {
		if outCols[c] >= 0 {
			needed = append(needed, outCols[c])
		}
	}
	slices.Sort(needed)
	needed = slices.Compact(needed)
	if len(needed) == 0 {
		// Keep a column: the rows still count, and a scan pruned to no
		// columns is not something every connector supports.
		needed = []int{0}
	}
	in := input.Schema()
	if len(needed) == in.Len() {
		return n, false
	}
	// inMap renumbers the kept input columns.
	inMap := make(map[int]int, len(needed))
	for i, c := range needed {
		inMap[c] = i
	}
	remap := func(cols []int) []int {
		var out []int
		for _, c := range cols {
			if i, ok := inMap[c]; ok {
				out = append(out, i)
			}
		}
		return out
	}
	pruned := &planner.Project{Input: input, Exprs: columnRefs(in, needed), Names: pick(in.Names(), needed)}
	var newFn planner.Node
	var newCols []int
	switch f := fn.(type) {
	case *planner.ToChangelog:
		t := *f
		t.Input, t.Partition, t.Keep = pruned, remap(f.Partition), remap(f.Keep)
		newFn, newCols = &t, t.Columns()
	case *planner.FromChangelog:
		fc := *f
		fc.Input, fc.Partition, fc.OpCol = pruned, remap(f.Partition), inMap[f.OpCol]
		newFn, newCols = &fc, fc.Columns()
	}
	// outMap renumbers the function's output columns: new input column
	// nc is old input column needed[nc].
	outMap := map[int]int{}
	for i, nc := range newCols {
		for old, c := range outCols {
			if nc < 0 && c < 0 || nc >= 0 && c >= 0 && needed[nc] == c {
				outMap[old] = i
			}
		}
	}
	return restack(p, filter, newFn, func(e expr.Expr) expr.Expr { return remapRefs(e, outMap) }), true
}}
