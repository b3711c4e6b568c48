package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// WindowDef is one of Flink's window table-valued functions; durations
// are in milliseconds.
type WindowDef struct {
	// Kind is TUMBLE, HOP, CUMULATE or SESSION.
	Kind   string
	Size   int64
	Slide  int64
	Step   int64
	Offset int64
	Gap    int64
	// Partition are the SESSION window's PARTITION BY columns.
	Partition []int
	// KeyedSession marks a legacy GROUP BY SESSION(...) window, whose
	// sessions are per group key rather than over the whole stream.
	KeyedSession bool
}

func (w WindowDef) String() string {
	d := func(ms int64) string { return time.Duration(ms * int64(time.Millisecond)).String() }
	switch w.Kind {
	case "HOP":
		return fmt.Sprintf("HOP(slide=[%s], size=[%s])", d(w.Slide), d(w.Size))
	case "CUMULATE":
		return fmt.Sprintf("CUMULATE(step=[%s], size=[%s])", d(w.Step), d(w.Size))
	case "SESSION":
		return fmt.Sprintf("SESSION(gap=[%s])", d(w.Gap))
	}
	if w.Offset != 0 {
		return fmt.Sprintf("TUMBLE(size=[%s], offset=[%s])", d(w.Size), d(w.Offset))
	}
	return fmt.Sprintf("TUMBLE(size=[%s])", d(w.Size))
}

// windowColumns are the columns a window TVF appends, as Flink types them.
func windowColumns(timeType types.DataType) []types.Column {
	ts := types.TimestampType(3).WithNullable(false)
	wt := timeType.WithNullable(false)
	// Windows are computed in milliseconds: a finer timestamp (a batch
	// query's plain TIMESTAMP(6) column) gives a millisecond window_time.
	wt.Precision = min(wt.Precision, 3)
	if wt.Kind == types.TimestampLTZ {
		ts = types.TimestampLTZType(3).WithNullable(false)
	}
	return []types.Column{
		{Name: "window_start", Type: ts},
		{Name: "window_end", Type: ts},
		{Name: "window_time", Type: wt},
	}
}

// WindowTableFunction is TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE t,
// DESCRIPTOR(ts), ...)): its input's columns plus window_start, window_end
// and window_time, one row per window a row belongs to.
type WindowTableFunction struct {
	Input   Node
	Window  WindowDef
	TimeCol int
}

var _ Node = (*WindowTableFunction)(nil)

func (w *WindowTableFunction) Schema() types.Schema {
	in := w.Input.Schema()
	out := types.Schema{Columns: append([]types.Column(nil), in.Columns...)}
	// The input's time attribute becomes a plain timestamp: window_time is
	// the rowtime of the windowed rows.
	tc := &out.Columns[w.TimeCol]
	tc.Type = tc.Type.WithTimeAttr(types.NoTimeAttr)
	out.Columns = append(out.Columns, windowColumns(in.Columns[w.TimeCol].Type)...)
	return out
}

func (w *WindowTableFunction) Children() []Node         { return []Node{w.Input} }
func (w *WindowTableFunction) Changelog() ChangelogMode { return w.Input.Changelog() }
func (w *WindowTableFunction) Bounded() bool            { return w.Input.Bounded() }
func (w *WindowTableFunction) WithChildren(c ...Node) Node {
	mustChildren("WindowTableFunction", c, 1)
	cp := *w
	cp.Input = c[0]
	return &cp
}
func (w *WindowTableFunction) Describe() string {
	return fmt.Sprintf("WindowTableFunction(window=[%s], time_col=[%s])", w.Window, w.Input.Schema().Columns[w.TimeCol].Name)
}

// WindowAggregate groups rows by Keys and by the windows of their TimeCol,
// emitting each window's result once, when the watermark passes its end.
// Its output is Keys, window_start, window_end, window_time, then Calls.
// Unlike Aggregate its output is insert-only.
type WindowAggregate struct {
	Input   Node
	Window  WindowDef
	TimeCol int
	Keys    []int
	Calls   []agg.Call
	// Names are the output names: keys, then calls (the window columns keep
	// their own names).
	Names []string
	// Attached is set for a window aggregate over the output of another
	// window aggregate, Flink's cascading window aggregation (its
	// WindowAttachedWindowingStrategy): rows already carry their window in
	// these input columns, the window is not assigned from a time, and it
	// fires when the watermark passes its end. TimeCol is then the
	// window_end column.
	Attached *AttachedWindow
}

// AttachedWindow are the input's window_start and window_end columns of a
// cascaded window aggregate.
type AttachedWindow struct {
	Start, End int
}

var _ Node = (*WindowAggregate)(nil)

func (w *WindowAggregate) Schema() types.Schema {
	in := w.Input.Schema()
	var s types.Schema
	for i, k := range w.Keys {
		s.Columns = append(s.Columns, types.Column{Name: w.Names[i], Type: in.Columns[k].Type.WithTimeAttr(types.NoTimeAttr)})
	}
	timeType := in.Columns[w.TimeCol].Type
	if w.Attached != nil {
		// The windows fire with the watermark, so their window_time is a
		// rowtime attribute again, as that of the window aggregate below.
		timeType = timeType.WithTimeAttr(types.RowtimeAttr)
	}
	s.Columns = append(s.Columns, windowColumns(timeType)...)
	for i, c := range w.Calls {
		s.Columns = append(s.Columns, types.Column{Name: w.Names[len(w.Keys)+i], Type: c.Type})
	}
	return s
}

func (w *WindowAggregate) Children() []Node         { return []Node{w.Input} }
func (w *WindowAggregate) Changelog() ChangelogMode { return InsertOnly }
func (w *WindowAggregate) Bounded() bool            { return w.Input.Bounded() }
func (w *WindowAggregate) WithChildren(c ...Node) Node {
	mustChildren("WindowAggregate", c, 1)
	cp := *w
	cp.Input = c[0]
	return &cp
}
func (w *WindowAggregate) Describe() string {
	in := w.Input.Schema()
	keys := make([]string, len(w.Keys))
	for i, k := range w.Keys {
		keys[i] = in.Columns[k].Name
	}
	calls := make([]string, len(w.Calls))
	for i, c := range w.Calls {
		calls[i] = DescribeCall(c, in) + " AS " + w.Names[len(w.Keys)+i]
	}
	sel := append(append(append([]string(nil), keys...), "window_start", "window_end", "window_time"), calls...)
	if w.Attached != nil {
		return fmt.Sprintf("WindowAggregate(groupBy=[%s], window=[%s], win_start=[%s], win_end=[%s], select=[%s])",
			strings.Join(keys, ", "), w.Window, in.Columns[w.Attached.Start].Name, in.Columns[w.Attached.End].Name, strings.Join(sel, ", "))
	}
	return fmt.Sprintf("WindowAggregate(groupBy=[%s], window=[%s], time_col=[%s], select=[%s])",
		strings.Join(keys, ", "), w.Window, in.Columns[w.TimeCol].Name, strings.Join(sel, ", "))
}
