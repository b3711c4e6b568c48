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
	g := windowGrouping{
		windowCol: func(e expr.Expr) int {
			if c, ok := e.(*expr.ColumnRef); ok && c.Index >= width {
				return c.Index - width
			}
			return -1
		},
		readsWindow: func(e expr.Expr) bool {
			for _, c := range expr.InputColumns(e) {
				if c >= width {
					return true
				}
			}
			return false
		},
	}
	// A SESSION TVF's sessions span its PARTITION BY keys only; the window
	// aggregate computes sessions per group key, so the two must agree.
	if wtf.Window.Kind == "SESSION" && !wtf.Window.KeyedSession {
		g.session, g.sessionPartition = true, wtf.Window.Partition
	}
	in := wtf.Input.Schema()
	timeRef := &expr.ColumnRef{Index: wtf.TimeCol, Name: in.Columns[wtf.TimeCol].Name, T: in.Columns[wtf.TimeCol].Type}
	window := wtf.Window
	window.Partition = nil
	return g.build(a, proj, wtf.Input, window, timeRef, nil)
}}

// ConvertCascadedWindowAggregate turns a GROUP BY over the output of a
// window aggregate that groups by its window_start and window_end into a
// window aggregate over the same windows, Flink's cascading window
// aggregation: the windows are attached to the rows, each fires once when
// the watermark passes its end, and its state goes with it, where a
// regular GROUP BY would keep every window's aggregate forever. Only
// event-time TUMBLE, HOP and CUMULATE windows qualify: their start follows
// from their end.
var ConvertCascadedWindowAggregate = Rule{Name: "ConvertCascadedWindowAggregate", Apply: func(n planner.Node) (planner.Node, bool) {
	a, ok := n.(*planner.Aggregate)
	if !ok || a.Input.Changelog() != planner.InsertOnly {
		return n, false
	}
	proj, ok := a.Input.(*planner.Project)
	if !ok {
		s := a.Input.Schema()
		proj = &planner.Project{Input: a.Input, Exprs: columnRefs(s, nil), Names: s.Names()}
	}
	wa := windowAggregateBelow(proj.Input)
	if wa == nil || wa.Window.Kind == "SESSION" || procTimeWindows(wa) {
		return n, false
	}
	start, end, ok := windowColumnsOf(proj.Input)
	if !ok {
		return n, false
	}
	g := windowGrouping{
		windowCol: func(e expr.Expr) int {
			if c, ok := e.(*expr.ColumnRef); ok {
				switch c.Index {
				case start:
					return 0
				case end:
					return 1
				}
			}
			return -1
		},
		// The input's window columns are ordinary values, constant per
		// window, wherever else the aggregate reads them.
		readsWindow: func(expr.Expr) bool { return false },
	}
	in := proj.Input.Schema()
	ref := func(i int) *expr.ColumnRef {
		return &expr.ColumnRef{Index: i, Name: in.Columns[i].Name, T: in.Columns[i].Type}
	}
	return g.build(a, proj, proj.Input, wa.Window, ref(end), ref(start))
}}

// windowAggregateBelow is the window aggregate whose rows n passes on
// through projections and filters, or nil.
func windowAggregateBelow(n planner.Node) *planner.WindowAggregate {
	for {
		switch x := n.(type) {
		case *planner.WindowAggregate:
			return x
		case *planner.Project, *planner.Filter, *planner.Calc:
			n = x.Children()[0]
		default:
			return nil
		}
	}
}

// windowGrouping tells how the input expressions of a GROUP BY read the
// windows of its rows.
type windowGrouping struct {
	// windowCol is 0, 1 or 2 for a plain reference to the window_start,
	// window_end or window_time column, -1 otherwise.
	windowCol func(e expr.Expr) int
	// readsWindow reports whether e reads a window column that cannot be
	// aggregated: the window aggregate assigns the windows itself.
	readsWindow func(e expr.Expr) bool
	// session is set for a SESSION window TVF, whose PARTITION BY columns
	// sessionPartition must be the group keys.
	session          bool
	sessionPartition []int
}

// build plans a, a GROUP BY over proj, as a window aggregate over input
// (proj's input) with the given windows: assigned from the time column
// timeRef, or, when attachedStart is set, attached to the rows, timeRef
// and attachedStart being their window_end and window_start.
func (g windowGrouping) build(a *planner.Aggregate, proj *planner.Project, input planner.Node, window planner.WindowDef,
	timeRef, attachedStart *expr.ColumnRef) (planner.Node, bool) {
	// keyPos[i] is where the i-th group key of a lands in the window
	// aggregate's output: a regular key index, or -1-w for window column w.
	keyPos := make([]int, len(a.Keys))
	var pre []expr.Expr
	var preNames []string
	hasStart, hasEnd := false, false
	for i, k := range a.Keys {
		e := proj.Exprs[k]
		if w := g.windowCol(e); w >= 0 {
			keyPos[i] = -1 - w
			hasStart = hasStart || w == 0
			hasEnd = hasEnd || w == 1
			continue
		}
		if g.readsWindow(e) {
			return a, false
		}
		keyPos[i] = len(pre)
		pre = append(pre, e)
		preNames = append(preNames, proj.Names[k])
	}
	if !hasStart || !hasEnd {
		return a, false
	}
	if g.session && !sameColumns(pre, g.sessionPartition) {
		return a, false
	}
	keys := make([]int, len(pre))
	for i := range keys {
		keys[i] = i
	}
	calls := make([]agg.Call, len(a.Calls))
	for i, c := range a.Calls {
		c.Args = append([]int(nil), c.Args...)
		for j, arg := range c.Args {
			if g.readsWindow(proj.Exprs[arg]) {
				return a, false
			}
			c.Args[j] = len(pre)
			pre = append(pre, proj.Exprs[arg])
			preNames = append(preNames, proj.Names[arg])
		}
		if c.Filter >= 0 {
			if g.readsWindow(proj.Exprs[c.Filter]) {
				return a, false
			}
			f := c.Filter
			c.Filter = len(pre)
			pre = append(pre, proj.Exprs[f])
			preNames = append(preNames, proj.Names[f])
		}
		calls[i] = c
	}
	timeCol := len(pre)
	pre = append(pre, timeRef)
	preNames = append(preNames, timeRef.Name)
	var attached *planner.AttachedWindow
	if attachedStart != nil {
		attached = &planner.AttachedWindow{Start: len(pre), End: timeCol}
		pre = append(pre, attachedStart)
		preNames = append(preNames, attachedStart.Name)
	}

	names := make([]string, 0, len(keys)+len(calls))
	for i, p := range keyPos {
		if p >= 0 {
			names = append(names, a.Names[i])
		}
	}
	names = append(names, a.Names[len(a.Keys):]...)
	wa := &planner.WindowAggregate{
		Input:    &planner.Project{Input: input, Exprs: pre, Names: planner.UniqueNames(preNames)},
		Window:   window,
		TimeCol:  timeCol,
		Keys:     keys,
		Calls:    calls,
		Names:    names,
		Attached: attached,
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
}

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
