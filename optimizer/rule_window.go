package optimizer

import (
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// ConvertWindowAggregate turns a GROUP BY over a window table function
// that groups by window_start and window_end into a WindowAggregate, which
// assigns windows itself and emits each window once when the watermark
// closes it, instead of keeping an ever-updating aggregate per window.
var ConvertWindowAggregate = Rule{Name: "ConvertWindowAggregate", Apply: func(n planner.Node) (planner.Node, bool) {
	a, ok := n.(*planner.Aggregate)
	if !ok {
		return n, false
	}
	var proj *planner.Project
	var wtf *planner.WindowTableFunction
	switch in := a.Input.(type) {
	case *planner.Project:
		proj = in
		wtf, ok = in.Input.(*planner.WindowTableFunction)
	case *planner.WindowTableFunction:
		wtf = in
		s := in.Schema()
		proj = &planner.Project{Input: in, Exprs: columnRefs(s, nil), Names: s.Names()}
	}
	if !ok || wtf == nil {
		return n, false
	}
	width := wtf.Input.Schema().Len()
	windowCol := func(e expr.Expr) int {
		if c, ok := e.(*expr.ColumnRef); ok && c.Index >= width {
			return c.Index - width
		}
		return -1
	}
	readsWindow := func(e expr.Expr) bool {
		for _, c := range expr.InputColumns(e) {
			if c >= width {
				return true
			}
		}
		return false
	}
	// keyPos[i] is where the i-th group key of a lands in the window
	// aggregate's output: a regular key index, or -1-w for window column w.
	keyPos := make([]int, len(a.Keys))
	var pre []expr.Expr
	var preNames []string
	hasStart, hasEnd := false, false
	for i, k := range a.Keys {
		e := proj.Exprs[k]
		if w := windowCol(e); w >= 0 {
			keyPos[i] = -1 - w
			hasStart = hasStart || w == 0
			hasEnd = hasEnd || w == 1
			continue
		}
		if readsWindow(e) {
			return n, false
		}
		keyPos[i] = len(pre)
		pre = append(pre, e)
		preNames = append(preNames, proj.Names[k])
	}
	if !hasStart || !hasEnd {
		return n, false
	}
	// A SESSION TVF's sessions span its PARTITION BY keys only; the window
	// aggregate computes sessions per group key, so the two must agree.
	if wtf.Window.Kind == "SESSION" && !wtf.Window.KeyedSession && !sameColumns(pre, wtf.Window.Partition) {
		return n, false
	}
	keys := make([]int, len(pre))
	for i := range keys {
		keys[i] = i
	}
	calls := make([]agg.Call, len(a.Calls))
	for i, c := range a.Calls {
		c.Args = append([]int(nil), c.Args...)
		for j, arg := range c.Args {
			if readsWindow(proj.Exprs[arg]) {
				return n, false
			}
			c.Args[j] = len(pre)
			pre = append(pre, proj.Exprs[arg])
			preNames = append(preNames, proj.Names[arg])
		}
		if c.Filter >= 0 {
			if readsWindow(proj.Exprs[c.Filter]) {
				return n, false
			}
			f := c.Filter
			c.Filter = len(pre)
			pre = append(pre, proj.Exprs[f])
			preNames = append(preNames, proj.Names[f])
		}
		calls[i] = c
	}
	in := wtf.Input.Schema()
	timeCol := len(pre)
	pre = append(pre, &expr.ColumnRef{Index: wtf.TimeCol, Name: in.Columns[wtf.TimeCol].Name, T: in.Columns[wtf.TimeCol].Type})
	preNames = append(preNames, in.Columns[wtf.TimeCol].Name)

	names := make([]string, 0, len(keys)+len(calls))
	for i, p := range keyPos {
		if p >= 0 {
			names = append(names, a.Names[i])
		}
	}
	names = append(names, a.Names[len(a.Keys):]...)
	window := wtf.Window
	window.Partition = nil
	wa := &planner.WindowAggregate{
		Input:   &planner.Project{Input: wtf.Input, Exprs: pre, Names: planner.UniqueNames(preNames)},
		Window:  window,
		TimeCol: timeCol,
		Keys:    keys,
		Calls:   calls,
		Names:   names,
	}
	// Restore the Aggregate's column order: its keys, then its calls.
	out := wa.Schema()
	var exprs []expr.Expr
	for _, p := range keyPos {
		i := p
		if p < 0 {
			i = len(keys) + (-1 - p)
		}
		exprs = append(exprs, &expr.ColumnRef{Index: i, Name: out.Columns[i].Name, T: out.Columns[i].Type})
	}
	for i := range calls {
		j := len(keys) + 3 + i
		exprs = append(exprs, &expr.ColumnRef{Index: j, Name: out.Columns[j].Name, T: out.Columns[j].Type})
	}
	return &planner.Project{Input: wa, Exprs: exprs, Names: a.Names}, true
}}

// sameColumns reports whether exprs are references to exactly the
// columns cols, in any order.
func sameColumns(exprs []expr.Expr, cols []int) bool {
	if len(exprs) != len(cols) {
		return false
	}
	for _, e := range exprs {
		c, ok := e.(*expr.ColumnRef)
		if !ok || !containsInt(cols, c.Index) {
			return false
		}
	}
	return true
}

// PushFilterBelowWindowTableFunction filters rows before windows are
// assigned when the condition does not read the window columns, so that
// the aggregate above sits right on the window function again.
var PushFilterBelowWindowTableFunction = Rule{Name: "PushFilterBelowWindowTableFunction", Apply: func(n planner.Node) (planner.Node, bool) {
	f, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	w, ok := f.Input.(*planner.WindowTableFunction)
	if !ok {
		return n, false
	}
	width := w.Input.Schema().Len()
	for _, c := range expr.InputColumns(f.Condition) {
		if c >= width {
			return n, false
		}
	}
	nw := *w
	nw.Input = &planner.Filter{Input: w.Input, Condition: f.Condition}
	return &nw, true
}}
