package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
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
// watermark expression and the rowtime column need. Filters stay above the
// assigner: rows they drop still advance the watermark, as in Flink.
var PushProjectBelowWatermarkAssigner = Rule{Name: "PushProjectBelowWatermarkAssigner", Apply: func(n planner.Node) (planner.Node, bool) {
	p, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	filter, _ := p.Input.(*planner.Filter)
	below := p.Input
	if filter != nil {
		below = filter.Input
	}
	wa, ok := below.(*planner.WatermarkAssigner)
	if !ok {
		return n, false
	}
	in := wa.Input.Schema()
	needed := append([]expr.Expr{wa.Expr, &expr.ColumnRef{Index: wa.Rowtime}}, p.Exprs...)
	if filter != nil {
		needed = append(needed, filter.Condition)
	}
	used := usedColumns(in.Len(), needed...)
	if len(used) == in.Len() {
		return n, false
	}
	remap := remapping(used)
	pruned := &planner.Project{Input: wa.Input, Exprs: columnRefs(in, used), Names: pick(in.Names(), used)}
	var input planner.Node = &planner.WatermarkAssigner{Input: pruned, Rowtime: remap[wa.Rowtime], Expr: remapRefs(wa.Expr, remap)}
	if filter != nil {
		input = &planner.Filter{Input: input, Condition: remapRefs(filter.Condition, remap)}
	}
	return &planner.Project{Input: input, Exprs: remapAll(p.Exprs, remap), Names: p.Names}, true
}}

// PushProjectIntoScan makes a scan produce only the physical columns that
// the projection above it (and a filter between them) reads, when the
// connector supports projection pushdown.
var PushProjectIntoScan = Rule{Name: "PushProjectIntoScan", Apply: func(n planner.Node) (planner.Node, bool) {
	p, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	var filter *planner.Filter
	scan, ok := p.Input.(*planner.Scan)
	if !ok {
		if filter, ok = p.Input.(*planner.Filter); !ok {
			return n, false
		}
		if scan, ok = filter.Input.(*planner.Scan); !ok {
			return n, false
		}
	}
	f, _ := connector.Source(scan.Table.Options["connector"])
	pd, ok := f.(connector.SupportsProjectionPushdown)
	if !ok || !pd.SupportsProjectionPushdown() {
		return n, false
	}
	in := scan.Schema()
	all := append([]expr.Expr(nil), p.Exprs...)
	if filter != nil {
		all = append([]expr.Expr{filter.Condition}, all...)
	}
	// An upsert scan keeps its primary key, which its normalization reads.
	for _, k := range scan.Table.PrimaryKey {
		if scan.Mode == planner.Upsert && in.Index(k) >= 0 {
			all = append(all, &expr.ColumnRef{Index: in.Index(k)})
		}
	}
	used := usedColumns(in.Len(), all...)
	if len(used) == in.Len() || len(used) == 0 {
		return n, false
	}
	projection := make([]int, len(used))
	for i, u := range used {
		if scan.Projection != nil {
			projection[i] = scan.Projection[u]
		} else {
			projection[i] = u
		}
	}
	remap := remapping(used)
	var input planner.Node = &planner.Scan{Path: scan.Path, Table: scan.Table, Projection: projection, IsBounded: scan.IsBounded, Mode: scan.Mode}
	if filter != nil {
		input = &planner.Filter{Input: input, Condition: remapRefs(filter.Condition, remap)}
	}
	return &planner.Project{Input: input, Exprs: remapAll(p.Exprs, remap), Names: p.Names}, true
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

func remapping(used []int) map[int]int {
	m := make(map[int]int, len(used))
	for i, u := range used {
		m[u] = i
	}
	return m
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
