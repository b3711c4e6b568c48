package optimizer

import (
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// PushProjectBelowOver puts a projection under a streaming Over node over
// an updating input (and the filter right under the projection, if any)
// that keeps only the input columns read above it plus those its calls
// need (arguments, partition and order columns, and the columns of the
// input's upsert keys, so that the Over's upsert keys stay as they were),
// as Flink's ProjectWindowTransposeRule does. Such an OVER aggregate keeps
// every row in state and finds the row a retraction removes by comparing
// all its columns: an unused PROCTIME() column (a computed column of the
// table) would be evaluated anew for the retraction, match no stored row
// and leave the row's results in place. Over insert-only inputs the
// carried columns cost only state, and the rule leaves those plans as
// they are. Overs of ranking calls become Top-N nodes (ConvertTopN,
// PushProjectBelowRank).
var PushProjectBelowOver = Rule{Name: "PushProjectBelowOver", Apply: func(n planner.Node) (planner.Node, bool) {
	p, filter, below, ok := projectOverFilter(n)
	if !ok {
		return n, false
	}
	o, ok := below.(*planner.Over)
	if !ok || o.Batch || o.Input.Changelog() == planner.InsertOnly {
		return n, false
	}
	for _, c := range o.Calls {
		if c.IsRanking() {
			return n, false
		}
	}
	in := o.Input.Schema()
	width := in.Len()
	outWidth := width + len(o.Calls)
	keep := make([]bool, outWidth)
	used := p.Exprs
	if filter != nil {
		used = append([]expr.Expr{filter.Condition}, used...)
	}
	for _, c := range usedColumns(outWidth, used...) {
		keep[c] = true
	}
	for _, c := range o.Calls {
		for _, a := range c.Args {
			keep[a] = true
		}
		markSortColumns(keep, c.Partition, c.Order)
	}
	cols, remap := carriedColumns(o.Input, keep)
	if cols == nil {
		return n, false
	}
	for i := range o.Calls {
		remap[width+i] = len(cols) + i
	}
	no := *o
	no.Input = &planner.Project{Input: o.Input, Exprs: columnRefs(in, cols), Names: pick(in.Names(), cols)}
	no.Calls = make([]planner.OverCall, len(o.Calls))
	for i, c := range o.Calls {
		c.Args = remapCols(c.Args, remap)
		c.Partition, c.Order = remapSort(c.Partition, c.Order, remap)
		no.Calls[i] = c
	}
	return restack(p, filter, &no, func(e expr.Expr) expr.Expr { return remapRefs(e, remap) }), true
}}
