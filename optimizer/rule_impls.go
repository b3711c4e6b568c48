package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// FoldConstants evaluates constant sub-expressions of projections and
// filters once at planning time.
var FoldConstants = Rule{Name: "FoldConstants", Apply: func(n planner.Node) (planner.Node, bool) {
	switch p := n.(type) {
	case *planner.Project:
		exprs, changed := foldAll(p.Exprs)
		if changed {
			return &planner.Project{Input: p.Input, Exprs: exprs, Names: p.Names}, true
		}
	case *planner.Filter:
		if c, changed := foldTree(p.Condition); changed {
			return &planner.Filter{Input: p.Input, Condition: c}, true
		}
	}
	return n, false
}}

// FoldConstantsInCalc is FoldConstants for Calc nodes, after merging has
// brought literals together.
var FoldConstantsInCalc = Rule{Name: "FoldConstantsInCalc", Apply: func(n planner.Node) (planner.Node, bool) {
	c, ok := n.(*planner.Calc)
	if !ok {
		return n, false
	}
	exprs, changed := foldAll(c.Exprs)
	cond := c.Condition
	if cond != nil {
		var ch bool
		cond, ch = foldTree(cond)
		changed = changed || ch
		if isTrue(cond) {
			cond, changed = nil, true
		}
	}
	if !changed {
		return n, false
	}
	return &planner.Calc{Input: c.Input, Exprs: exprs, Names: c.Names, Condition: cond}, true
}}

// RemoveTrueFilter drops a filter whose condition is the literal TRUE.
var RemoveTrueFilter = Rule{Name: "RemoveTrueFilter", Apply: func(n planner.Node) (planner.Node, bool) {
	if f, ok := n.(*planner.Filter); ok && isTrue(f.Condition) {
		return f.Input, true
	}
	return n, false
}}

// MergeFilters turns stacked filters into one conjunction.
var MergeFilters = Rule{Name: "MergeFilters", Apply: func(n planner.Node) (planner.Node, bool) {
	outer, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	inner, ok := outer.Input.(*planner.Filter)
	if !ok {
		return n, false
	}
	return &planner.Filter{Input: inner.Input, Condition: and(inner.Condition, outer.Condition)}, true
}}

// PushFilterBelowProject moves a filter under the projection it reads,
// rewriting the condition over the projection's input.
var PushFilterBelowProject = Rule{Name: "PushFilterBelowProject", Apply: func(n planner.Node) (planner.Node, bool) {
	f, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	p, ok := f.Input.(*planner.Project)
	if !ok || !inlinable(f.Condition, p.Exprs) {
		return n, false
	}
	return &planner.Project{
		Input: &planner.Filter{Input: p.Input, Condition: inline(f.Condition, p.Exprs)},
		Exprs: p.Exprs, Names: p.Names,
	}, true
}}

// MergeProjects composes stacked projections into one.
var MergeProjects = Rule{Name: "MergeProjects", Apply: func(n planner.Node) (planner.Node, bool) {
	outer, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	inner, ok := outer.Input.(*planner.Project)
	if !ok || !inlinable(nil, inner.Exprs, outer.Exprs...) {
		return n, false
	}
	exprs := make([]expr.Expr, len(outer.Exprs))
	for i, e := range outer.Exprs {
		exprs[i] = inline(e, inner.Exprs)
	}
	return &planner.Project{Input: inner.Input, Exprs: exprs, Names: outer.Names}, true
}}

// PushProjectBelowWatermarkAssigner prunes the columns under a watermark
// assigner to those the projection above (and a filter between them), the
// watermark expression and the rowtime column need; of a ROW column read
// only through field accesses, it keeps just the fields read, as columns
// of their own, so that they can be pushed into the scan. Filters stay
// above the assigner: rows they drop still advance the watermark, as in
// Flink.
var PushProjectBelowWatermarkAssigner = Rule{Name: "PushProjectBelowWatermarkAssigner", Apply: func(n planner.Node) (planner.Node, bool) {
	p, filter, below, ok := projectOverFilter(n)
	if !ok {
		return n, false
	}
	wa, ok := below.(*planner.WatermarkAssigner)
	if !ok {
		return n, false
	}
	in := wa.Input.Schema()
	rowtime := &expr.ColumnRef{Index: wa.Rowtime, Name: in.Columns[wa.Rowtime].Name, T: in.Columns[wa.Rowtime].Type}
	needed := append([]expr.Expr{wa.Expr, rowtime}, p.Exprs...)
	if filter != nil {
		needed = append(needed, filter.Condition)
	}
	acc := planAccesses(in, true, needed...)
	if acc.isIdentity(in.Len()) {
		return n, false
	}
	exprs, names, err := acc.exprs()
	if err != nil {
		return n, false
	}
	pruned := &planner.Project{Input: wa.Input, Exprs: exprs, Names: names}
	newRowtime, _ := acc.index(wa.Rowtime, nil)
	input := &planner.WatermarkAssigner{Input: pruned, Rowtime: newRowtime, Expr: acc.rewrite(wa.Expr), IdleTimeoutMillis: wa.IdleTimeoutMillis}
	return restack(p, filter, input, acc.rewrite), true
}}

// PushProjectIntoScan makes a scan produce only the physical columns that
// the projection above it (and a filter between them) reads, when the
// connector supports projection pushdown; with nested projection pushdown,
// only the fields it reads of ROW columns (see rule_scan.go).
var PushProjectIntoScan = Rule{Name: "PushProjectIntoScan", Apply: func(n planner.Node) (planner.Node, bool) {
	p, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	return pushProjectIntoScan(p)
}}

// RemoveIdentityProject drops projections that change nothing.
var RemoveIdentityProject = Rule{Name: "RemoveIdentityProject", Apply: func(n planner.Node) (planner.Node, bool) {
	if p, ok := n.(*planner.Project); ok && p.IsIdentity() {
		return p.Input, true
	}
	return n, false
}}

// MergeFilterAndProjectIntoCalc turns projections and filters into Calcs.
var MergeFilterAndProjectIntoCalc = Rule{Name: "MergeFilterAndProjectIntoCalc", Apply: func(n planner.Node) (planner.Node, bool) {
	switch p := n.(type) {
	case *planner.Project:
		if f, ok := p.Input.(*planner.Filter); ok {
			return &planner.Calc{Input: f.Input, Exprs: p.Exprs, Names: p.Names, Condition: f.Condition}, true
		}
		return &planner.Calc{Input: p.Input, Exprs: p.Exprs, Names: p.Names}, true
	case *planner.Filter:
		s := p.Input.Schema()
		return &planner.Calc{Input: p.Input, Exprs: columnRefs(s, nil), Names: s.Names(), Condition: p.Condition}, true
	}
	return n, false
}}

// MergeCalcs fuses a Calc into the Calc below it.
var MergeCalcs = Rule{Name: "MergeCalcs", Apply: func(n planner.Node) (planner.Node, bool) {
	outer, ok := n.(*planner.Calc)
	if !ok {
		return n, false
	}
	inner, ok := outer.Input.(*planner.Calc)
	if !ok || !inlinable(outer.Condition, inner.Exprs, outer.Exprs...) {
		return n, false
	}
	exprs := make([]expr.Expr, len(outer.Exprs))
	for i, e := range outer.Exprs {
		exprs[i] = inline(e, inner.Exprs)
	}
	cond := inner.Condition
	if outer.Condition != nil {
		oc := inline(outer.Condition, inner.Exprs)
		if cond == nil {
			cond = oc
		} else {
			cond = and(cond, oc)
		}
	}
	return &planner.Calc{Input: inner.Input, Exprs: exprs, Names: outer.Names, Condition: cond}, true
}}

func isTrue(e expr.Expr) bool {
	l, ok := e.(*expr.Literal)
	return ok && l.T.Kind == types.Boolean && l.Value == true
}

func and(a, b expr.Expr) expr.Expr {
	e, err := expr.Resolve("AND", []expr.Expr{a, b})
	if err != nil {
		// Both sides are boolean conditions the binder already checked.
		panic("optimizer: AND of two conditions failed: " + err.Error())
	}
	return e
}

// foldTree folds every constant, deterministic sub-expression of e. A
// sub-expression whose evaluation fails stays as it is, so the error
// surfaces at run time only if a row reaches it.
func foldTree(e expr.Expr) (expr.Expr, bool) {
	changed := false
	out := expr.Rewrite(e, func(n expr.Expr) expr.Expr {
		c, ok := n.(*expr.Call)
		if !ok || !expr.IsDeterministic(c) {
			return n
		}
		if c.Func == "CASE" {
			if s, ok := pruneCase(c); ok {
				changed = true
				return s
			}
		}
		for _, a := range c.Args {
			if _, lit := a.(*expr.Literal); !lit {
				return n
			}
		}
		f, err := expr.Fold(c)
		if err != nil {
			return n
		}
		if _, ok := f.(*expr.Literal); ok {
			changed = true
		}
		return f
	})
	if !changed {
		return e, false
	}
	return out, true
}

// pruneCase drops the branches of a CASE whose condition is a FALSE or
// NULL literal, and ends it at a branch whose condition is TRUE: a CASE
// left with one result of its own type becomes that result.
func pruneCase(c *expr.Call) (expr.Expr, bool) {
	var args []expr.Expr
	pruned := false
	i := 0
	for ; i+1 < len(c.Args); i += 2 {
		if l, ok := c.Args[i].(*expr.Literal); ok {
			if l.Value == true {
				// The rest is never reached; this result is the ELSE.
				args = append(args, c.Args[i+1])
				pruned = true
				break
			}
			pruned = true
			continue
		}
		args = append(args, c.Args[i], c.Args[i+1])
	}
	if i+1 >= len(c.Args) && len(c.Args)%2 == 1 {
		args = append(args, c.Args[len(c.Args)-1])
	}
	if !pruned {
		return c, false
	}
	switch {
	case len(args) == 1 && args[0].Type().Equal(c.T):
		return args[0], true
	case len(args) == 0, len(args) == 1:
		// No branch left (a NULL of the CASE's type), or a result whose
		// type differs: leave it to run time.
		return c, false
	}
	return &expr.Call{Func: c.Func, Args: args, T: c.T}, true
}

func foldAll(es []expr.Expr) ([]expr.Expr, bool) {
	out := make([]expr.Expr, len(es))
	changed := false
	for i, e := range es {
		var ch bool
		out[i], ch = foldTree(e)
		changed = changed || ch
	}
	return out, changed
}

// inline replaces each column reference in e with the expression it names.
func inline(e expr.Expr, defs []expr.Expr) expr.Expr {
	return expr.Rewrite(e, func(n expr.Expr) expr.Expr {
		if c, ok := n.(*expr.ColumnRef); ok {
			return defs[c.Index]
		}
		return n
	})
}

// inlinable reports whether the uses (cond and exprs) may be rewritten over
// defs without evaluating a non-deterministic definition more than once.
func inlinable(cond expr.Expr, defs []expr.Expr, exprs ...expr.Expr) bool {
	uses := make([]int, len(defs))
	for _, e := range append(exprs, cond) {
		if e == nil {
			continue
		}
		expr.Walk(e, func(n expr.Expr) bool {
			if c, ok := n.(*expr.ColumnRef); ok {
				uses[c.Index]++
			}
			return true
		})
	}
	for i, d := range defs {
		if uses[i] > 1 && !expr.IsDeterministic(d) {
			return false
		}
	}
	return true
}

// usedColumns lists, sorted, the input columns that es read.
func usedColumns(width int, es ...expr.Expr) []int {
	seen := make([]bool, width)
	for _, e := range es {
		for _, c := range expr.InputColumns(e) {
			seen[c] = true
		}
	}
	var used []int
	for i, s := range seen {
		if s {
			used = append(used, i)
		}
	}
	return used
}

// projectOverFilter matches the shape of the rules that prune the columns
// under a projection: a projection, perhaps a filter right under it (nil
// when there is none; it reads columns too), and the node below both.
func projectOverFilter(n planner.Node) (p *planner.Project, filter *planner.Filter, below planner.Node, ok bool) {
	if p, ok = n.(*planner.Project); !ok {
		return nil, nil, nil, false
	}
	filter, _ = p.Input.(*planner.Filter)
	below = p.Input
	if filter != nil {
		below = filter.Input
	}
	return p, filter, below, true
}

// restack puts what projectOverFilter matched back on a new input, with
// the filter's condition and the projection's expressions rewritten by
// rewrite for the new input's columns.
func restack(p *planner.Project, filter *planner.Filter, input planner.Node, rewrite func(expr.Expr) expr.Expr) *planner.Project {
	if filter != nil {
		input = &planner.Filter{Input: input, Condition: rewrite(filter.Condition)}
	}
	exprs := make([]expr.Expr, len(p.Exprs))
	for i, e := range p.Exprs {
		exprs[i] = rewrite(e)
	}
	return &planner.Project{Input: input, Exprs: exprs, Names: p.Names}
}

func remapRefs(e expr.Expr, m map[int]int) expr.Expr {
	return expr.Rewrite(e, func(n expr.Expr) expr.Expr {
		if c, ok := n.(*expr.ColumnRef); ok {
			return &expr.ColumnRef{Index: m[c.Index], Name: c.Name, T: c.T}
		}
		return n
	})
}

func remapAll(es []expr.Expr, m map[int]int) []expr.Expr {
	out := make([]expr.Expr, len(es))
	for i, e := range es {
		out[i] = remapRefs(e, m)
	}
	return out
}

// columnRefs references the given columns of s (all when cols is nil).
func columnRefs(s types.Schema, cols []int) []expr.Expr {
	if cols == nil {
		cols = make([]int, s.Len())
		for i := range cols {
			cols[i] = i
		}
	}
	out := make([]expr.Expr, len(cols))
	for i, c := range cols {
		out[i] = &expr.ColumnRef{Index: c, Name: s.Columns[c].Name, T: s.Columns[c].Type}
	}
	return out
}

func pick(names []string, idx []int) []string {
	out := make([]string, len(idx))
	for i, x := range idx {
		out[i] = names[x]
	}
	return out
}

// markSortColumns marks a Top-N's or OVER call's partition and order
// columns in keep.
func markSortColumns(keep []bool, partition []int, order []exec.SortKey) {
	for _, c := range partition {
		keep[c] = true
	}
	for _, k := range order {
		keep[k.Col] = true
	}
}

// carriedColumns lists the columns of input that a node over it must
// carry when it needs those marked in keep: those, and the columns of
// input's upsert keys, so that the node's keys and changelog stay as they
// were. remap maps each to its position among them. It returns nil when
// the node needs every column.
func carriedColumns(input planner.Node, keep []bool) (cols []int, remap map[int]int) {
	for _, key := range UpsertKeys(input) {
		for _, c := range key {
			keep[c] = true
		}
	}
	width := input.Schema().Len()
	for c := range width {
		if keep[c] {
			cols = append(cols, c)
		}
	}
	if len(cols) == width {
		return nil, nil
	}
	remap = make(map[int]int, len(keep))
	for i, c := range cols {
		remap[c] = i
	}
	return cols, remap
}

// remapCols moves columns by remap.
func remapCols(cols []int, remap map[int]int) []int {
	out := make([]int, len(cols))
	for i, c := range cols {
		out[i] = remap[c]
	}
	return out
}

// remapSort moves partition columns and order keys by remap.
func remapSort(partition []int, order []exec.SortKey, remap map[int]int) ([]int, []exec.SortKey) {
	p := remapCols(partition, remap)
	o := make([]exec.SortKey, len(order))
	for i, k := range order {
		k.Col = remap[k.Col]
		o[i] = k
	}
	return p, o
}
