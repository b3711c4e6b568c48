package table

import (
	"fmt"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// GroupWindow is a group window: Tumble, Slide, Session or Cumulate, On a
// time attribute, As an alias the GroupBy and Select refer to.
// Table.Window(w).GroupBy(Col("w"), keys...).Select(...) plans exactly
// what SQL's window table functions plan:
//
//	SELECT ... FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), size))
//	GROUP BY window_start, window_end, keys...
//
// and Col("w").Start(), .End() and .Rowtime() are window_start, window_end
// and window_time.
type GroupWindow struct {
	kind              string
	size, slide, step Expression
	on                Expression
	alias             string
}

// Tumble is a tumbling window of the given size (an interval literal such
// as Lit(10).Minutes()).
func Tumble(size any) GroupWindow { return GroupWindow{kind: "TUMBLE", size: toExpr(size)} }

// Slide is a sliding (HOP) window of the given size; set the slide with
// Every.
func Slide(size any) GroupWindow { return GroupWindow{kind: "HOP", size: toExpr(size)} }

// Every sets a sliding window's slide.
func (w GroupWindow) Every(slide any) GroupWindow { w.slide = toExpr(slide); return w }

// Session is a session window closing after a gap without rows.
func Session(gap any) GroupWindow { return GroupWindow{kind: "SESSION", size: toExpr(gap)} }

// Cumulate is a cumulating window of the given maximum size; set the step
// with Step.
func Cumulate(size any) GroupWindow { return GroupWindow{kind: "CUMULATE", size: toExpr(size)} }

// Step sets a cumulating window's step.
func (w GroupWindow) Step(step any) GroupWindow { w.step = toExpr(step); return w }

// On names the time attribute column the window assigns rows by.
func (w GroupWindow) On(timeCol any) GroupWindow { w.on = toExpr(timeCol); return w }

// As names the window for GroupBy and Select.
func (w GroupWindow) As(alias string) GroupWindow { w.alias = alias; return w }

// Window groups t's rows into group windows; GroupBy the window's alias
// (and keys) and Select aggregates next.
func (t *Table) Window(w GroupWindow) *WindowedTable { return &WindowedTable{t: t, w: w} }

// WindowedTable is a table with a group window; group it next.
type WindowedTable struct {
	t *Table
	w GroupWindow
}

// GroupBy groups by the window's alias and keys; the alias must be one of
// them.
func (wt *WindowedTable) GroupBy(keys ...any) *GroupedTable {
	w := wt.w
	return &GroupedTable{t: wt.t, keys: toExprs(keys), window: &w}
}

func (w *GroupWindow) millis(what string, e Expression) (int64, error) {
	if e.n == nil {
		return 0, errs.New(errs.InvalidPlan, "the %s window needs its %s", w.kind, what)
	}
	r, err := (&scope{}).resolve(e)
	if err != nil {
		return 0, err
	}
	lit, ok := r.(*expr.Literal)
	if !ok || lit.T.Kind != types.IntervalDayTime || lit.Value == nil {
		return 0, exprError(errs.DatatypeMismatch, e, "the %s of a %s window must be a DAY-TIME interval literal such as Lit(10).Minutes()", what, w.kind)
	}
	if lit.Value.(int64) <= 0 {
		return 0, exprError(errs.DatatypeMismatch, e, "the %s of a %s window must be positive", what, w.kind)
	}
	return lit.Value.(int64), nil
}

// plan puts the window table function under the aggregation and rewrites
// the keys and items to its columns.
func (w *GroupWindow) plan(in planner.Node, keys, items []Expression) (planner.Node, []Expression, []Expression, error) {
	if w.alias == "" || w.on.n == nil {
		return nil, nil, nil, errs.New(errs.InvalidPlan, "a group window needs On(time column) and As(alias)")
	}
	def := planner.WindowDef{Kind: w.kind}
	var err error
	switch w.kind {
	case "TUMBLE":
		def.Size, err = w.millis("size", w.size)
	case "SESSION":
		// Flink's Table API session windows are per group key.
		def.Gap, err = w.millis("gap", w.size)
		def.KeyedSession = true
	case "HOP":
		if def.Size, err = w.millis("size", w.size); err == nil {
			def.Slide, err = w.millis("slide (Every)", w.slide)
		}
		if err == nil && def.Size%def.Slide != 0 {
			err = errs.New(errs.NotSupported, "sliding window size must be an integral multiple of the slide")
		}
	case "CUMULATE":
		if def.Size, err = w.millis("size", w.size); err == nil {
			def.Step, err = w.millis("step (Step)", w.step)
		}
		if err == nil && def.Size%def.Step != 0 {
			err = errs.New(errs.NotSupported, "cumulate window size must be an integral multiple of the step")
		}
	}
	if err != nil {
		return nil, nil, nil, err
	}
	sc := newScope(in.Schema())
	if w.on.n.kind != kCol {
		return nil, nil, nil, exprError(errs.InvalidPlan, w.on, "On takes a time attribute column")
	}
	timeCol, err := sc.column(w.on)
	if err != nil {
		return nil, nil, nil, err
	}
	if sc.cols[timeCol].Type.TimeAttr == types.NoTimeAttr {
		return nil, nil, nil, exprError(errs.DatatypeMismatch, w.on, "the window requires a time attribute, but '%s' is %s", w.on.n.name, sc.cols[timeCol].Type)
	}
	wtf := &planner.WindowTableFunction{Input: in, Window: def, TimeCol: timeCol}
	// Window properties become the window table function's columns.
	usesRowtime := false
	props := func(e Expression) Expression { return w.rewriteProps(e, &usesRowtime) }
	outItems := make([]Expression, len(items))
	for i, it := range items {
		outItems[i] = props(it)
	}
	var outKeys []Expression
	found := false
	for _, k := range keys {
		if k.n.kind == kCol && k.n.name == w.alias {
			found = true
			outKeys = append(outKeys, Col("window_start"), Col("window_end"))
			continue
		}
		outKeys = append(outKeys, props(k))
	}
	if !found {
		return nil, nil, nil, errs.New(errs.GroupingError, "GroupBy of a windowed table must include the window alias Col(%q)", w.alias)
	}
	if usesRowtime {
		outKeys = append(outKeys, Col("window_time"))
	}
	return wtf, outKeys, outItems, nil
}

// rewriteProps replaces alias.start/end/rowtime with the window columns.
func (w *GroupWindow) rewriteProps(e Expression, usesRowtime *bool) Expression {
	n := e.n
	if n.kind == kWinProp {
		if a := n.args[0]; a.n.kind == kCol && a.n.name == w.alias {
			if n.name == "window_time" {
				*usesRowtime = true
			}
			return Col(n.name)
		}
		return e
	}
	if len(n.args) == 0 {
		return e
	}
	cp := *n
	cp.args = make([]Expression, len(n.args))
	for i, a := range n.args {
		cp.args[i] = w.rewriteProps(a, usesRowtime)
	}
	return Expression{n: &cp}
}

// Over window bounds for OverSpec.Preceding.
var (
	// UnboundedRange is RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
	UnboundedRange = mk(exprNode{kind: kBound, name: "UNBOUNDED_RANGE"})
	// UnboundedRow is ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW.
	UnboundedRow = mk(exprNode{kind: kBound, name: "UNBOUNDED_ROW"})
	// CurrentRange is RANGE BETWEEN CURRENT ROW AND CURRENT ROW.
	CurrentRange = mk(exprNode{kind: kBound, name: "CURRENT_RANGE"})
	// CurrentRow is ROWS BETWEEN CURRENT ROW AND CURRENT ROW.
	CurrentRow = mk(exprNode{kind: kBound, name: "CURRENT_ROW"})
)

// RowInterval is a ROWS bound of n preceding rows.
func RowInterval(n int64) Expression { return mk(exprNode{kind: kBound, name: "ROWS", rows: n}) }

// OverSpec is an over window: Over().PartitionBy(...).OrderBy(time
// column).Preceding(bound).As("w"). The bound is UnboundedRange (the
// default), UnboundedRow, CurrentRange, CurrentRow, RowInterval(n) or an
// interval literal (a RANGE of that length).
type OverSpec struct {
	partition []Expression
	order     Expression
	preceding Expression
	alias     string
}

// Over starts an over window definition.
func Over() OverSpec { return OverSpec{preceding: UnboundedRange} }

func (o OverSpec) PartitionBy(cols ...any) OverSpec { o.partition = toExprs(cols); return o }
func (o OverSpec) OrderBy(col any) OverSpec         { o.order = toExpr(col); return o }
func (o OverSpec) Preceding(bound any) OverSpec     { o.preceding = toExpr(bound); return o }
func (o OverSpec) As(alias string) OverSpec         { o.alias = alias; return o }

// OverWindow defines over windows for the Select that follows, whose
// aggregates name them with Over(alias).
func (t *Table) OverWindow(windows ...OverSpec) *OverWindowedTable {
	return &OverWindowedTable{t: t, windows: windows}
}

// OverWindowedTable is a table with over windows; Select next.
type OverWindowedTable struct {
	t       *Table
	windows []OverSpec
}

// Select computes items where aggregates with Over(alias) run over their
// windows, as SQL's OVER clauses: an Over node appending one column per
// call, then the projection of the items.
func (ot *OverWindowedTable) Select(items ...any) *Table {
	es := toExprs(items)
	return ot.t.derive("OverWindow.Select", func(input planner.Node) (planner.Node, error) {
		sc := newScope(input.Schema())
		var calls []Expression
		var texts []string
		for _, it := range es {
			it.walk(func(x Expression) bool {
				if x.n.kind != kOver {
					return true
				}
				text := x.String()
				for _, t := range texts {
					if t == text {
						return false
					}
				}
				calls = append(calls, x)
				texts = append(texts, text)
				return false
			})
		}
		if len(calls) == 0 {
			return project(sc, input, es)
		}
		in := input.Schema()
		var extra []expr.Expr
		column := func(e expr.Expr) int {
			if c, ok := e.(*expr.ColumnRef); ok {
				return c.Index
			}
			extra = append(extra, e)
			return in.Len() + len(extra) - 1
		}
		var overCalls []planner.OverCall
		for i, c := range calls {
			var w *OverSpec
			for j := range ot.windows {
				if ot.windows[j].alias == c.n.name {
					w = &ot.windows[j]
				}
			}
			if w == nil {
				return nil, exprError(errs.UndefinedObject, c, "over window '%s' is not defined", c.n.name)
			}
			f := c.n.args[0]
			if f.n.kind != kAgg {
				return nil, exprError(errs.InvalidPlan, c, "Over applies to an aggregate such as Col(\"x\").Sum()")
			}
			if f.n.distinct && (len(f.n.args) == 0 || len(f.n.args) > 1 && f.n.name != "COUNT") {
				return nil, exprError(errs.NotSupported, c, "DISTINCT %s takes one argument", f.n.name)
			}
			oc := planner.OverCall{Func: f.n.name, Distinct: f.n.distinct, Preceding: -1, Name: fmt.Sprintf("w0$o%d", i)}
			var argTypes []types.DataType
			for _, a := range f.n.args {
				e, err := sc.resolve(a)
				if err != nil {
					return nil, err
				}
				oc.Args = append(oc.Args, column(e))
				argTypes = append(argTypes, e.Type())
			}
			for _, p := range w.partition {
				e, err := sc.resolve(p)
				if err != nil {
					return nil, err
				}
				oc.Partition = append(oc.Partition, column(e))
			}
			if w.order.n == nil {
				return nil, exprError(errs.NotSupported, c, "over window '%s' needs OrderBy(time attribute)", w.alias)
			}
			order, desc := w.order, false
			if order.n.kind == kSort {
				order, desc = order.n.args[0], order.n.desc
			}
			if desc {
				return nil, exprError(errs.NotSupported, c, "over windows must be ordered by one time attribute, ascending")
			}
			oe, err := sc.resolve(order)
			if err != nil {
				return nil, err
			}
			oc.Order = []exec.SortKey{{Col: column(oe), NullsFirst: true}}
			// COUNT(DISTINCT a, b, ...) counts distinct tuples, as in SQL.
			resultType := agg.ResultType
			if f.n.distinct {
				resultType = agg.DistinctResultType
			}
			t, err := resultType(f.n.name, argTypes)
			if err != nil {
				return nil, exprError(errs.DatatypeMismatch, f, "%v", err)
			}
			oc.Type = t
			if err := overBound(&oc, w.preceding); err != nil {
				return nil, err
			}
			overCalls = append(overCalls, oc)
		}
		node := input
		if len(extra) > 0 {
			exprs := append(columnRefs(in), extra...)
			names := in.Names()
			for i := range extra {
				names = append(names, fmt.Sprintf("$over%d", i))
			}
			node = &planner.Project{Input: input, Exprs: exprs, Names: names}
		}
		over := &planner.Over{Input: node, Calls: overCalls}
		out := over.Schema()
		// Items see the input's columns and, by their text, the calls.
		osc := &scope{cols: out.Columns, over: map[string]int{}}
		for i, t := range texts {
			osc.over[t] = out.Len() - len(overCalls) + i
		}
		osc.hidden = map[int]bool{}
		for i := in.Len(); i < out.Len(); i++ {
			osc.hidden[i] = true
		}
		return project(osc, over, es)
	})
}

func columnRefs(s types.Schema) []expr.Expr {
	out := make([]expr.Expr, s.Len())
	for i, c := range s.Columns {
		out[i] = &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type}
	}
	return out
}

// overBound sets an over call's frame from a Preceding bound, as the
// binder's bindFrame.
func overBound(c *planner.OverCall, b Expression) error {
	if b.n.kind == kBound {
		switch b.n.name {
		case "UNBOUNDED_RANGE":
		case "UNBOUNDED_ROW":
			c.Rows = true
		case "CURRENT_RANGE":
			c.Preceding = 0
		case "CURRENT_ROW":
			c.Rows, c.Preceding = true, 0
		case "ROWS":
			c.Rows, c.Preceding = true, b.n.rows
		}
		return nil
	}
	if b.n.kind == kLit && b.n.lit.T.Kind == types.IntervalDayTime && b.n.lit.Value != nil {
		c.Preceding = b.n.lit.Value.(int64)
		return nil
	}
	return exprError(errs.DatatypeMismatch, b, "an over window bound is UnboundedRange, UnboundedRow, CurrentRange, CurrentRow, RowInterval(n) or an interval literal")
}
