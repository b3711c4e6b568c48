package planner

import (
	"slices"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// windowParams lists, per window TVF, the names of its positional
// parameters after DATA and TIMECOL, and how many of them are required.
var windowParams = map[string]struct {
	names    []string
	required int
}{
	"TUMBLE":   {[]string{"SIZE", "OFFSET"}, 1},
	"HOP":      {[]string{"SLIDE", "SIZE", "OFFSET"}, 2},
	"CUMULATE": {[]string{"STEP", "SIZE", "OFFSET"}, 2},
	"SESSION":  {[]string{"GAP"}, 1},
}

// bindWindowTVF plans TABLE(TUMBLE|HOP|CUMULATE|SESSION(TABLE t,
// DESCRIPTOR(ts), ...)).
func (b *binder) bindWindowTVF(f *sql.TableFunctionRef) (Node, error) {
	params, ok := windowParams[f.Name]
	if !ok {
		return nil, b.errAt(errs.NotSupported, f, "table function %s is not supported yet", f.Name)
	}
	all := append([]string{"DATA", "TIMECOL"}, params.names...)
	args := map[string]sql.TableFuncArg{}
	for i, a := range f.Args {
		name := a.Name
		if name == "" {
			if i >= len(all) {
				return nil, b.errAt(errs.DatatypeMismatch, f, "%s takes at most %d arguments", f.Name, len(all))
			}
			name = all[i]
		}
		if _, dup := args[name]; dup {
			return nil, b.errAt(errs.DatatypeMismatch, f, "argument %s of %s is given twice", name, f.Name)
		}
		if !contains(all, name) {
			return nil, b.errAt(errs.DatatypeMismatch, f, "%s has no argument %s", f.Name, name)
		}
		args[name] = a
	}
	for _, need := range all[:2+params.required] {
		if _, ok := args[need]; !ok {
			return nil, b.errAt(errs.DatatypeMismatch, f, "%s needs its %s argument", f.Name, need)
		}
	}
	data := args["DATA"]
	var input Node
	var err error
	switch {
	case data.Table != nil:
		input, err = b.bindTableRef(&sql.TableRef{Pos: data.Pos, Name: *data.Table})
	case data.Query != nil:
		input, err = b.bindQuery(data.Query)
	default:
		return nil, b.errAt(errs.DatatypeMismatch, f, "the DATA argument of %s must be TABLE name", f.Name)
	}
	if err != nil {
		return nil, err
	}
	w, err := b.windowOver(f, input)
	if err != nil {
		return nil, err
	}
	for _, p := range data.PartitionBy {
		in := input.Schema()
		id, ok := p.(*sql.Ident)
		if !ok || len(id.Parts) != 1 || in.Index(id.Parts[0]) < 0 {
			return nil, b.errAt(errs.UndefinedColumn, p, "PARTITION BY of %s must name columns of its table", f.Name)
		}
		w.Window.Partition = append(w.Window.Partition, in.Index(id.Parts[0]))
	}
	if len(w.Window.Partition) > 0 && w.Window.Kind != "SESSION" {
		return nil, b.errAt(errs.NotSupported, f, "only SESSION windows take PARTITION BY")
	}
	return w, nil
}

// windowOver binds a window function's TIMECOL and size arguments over
// input (its DATA, bound by the caller).
func (b *binder) windowOver(f *sql.TableFunctionRef, input Node) (*WindowTableFunction, error) {
	params := windowParams[f.Name]
	args := map[string]sql.TableFuncArg{}
	for _, a := range f.Args {
		if a.Name != "" {
			args[a.Name] = a
		}
	}
	all := append([]string{"DATA", "TIMECOL"}, params.names...)
	for i, a := range f.Args {
		if a.Name == "" && i < len(all) {
			args[all[i]] = a
		}
	}
	in := input.Schema()
	desc := args["TIMECOL"]
	if len(desc.Descriptor) != 1 {
		return nil, b.errAt(errs.DatatypeMismatch, f, "the TIMECOL argument of %s must be DESCRIPTOR(column)", f.Name)
	}
	timeCol := in.Index(desc.Descriptor[0])
	if timeCol < 0 {
		return nil, b.errAt(errs.UndefinedColumn, f, "column '%s' of DESCRIPTOR not found", desc.Descriptor[0])
	}
	// A bounded query in batch mode may window any timestamp column, as
	// Flink's batch planner does: all windows close at end of input.
	if tt := in.Columns[timeCol].Type; tt.TimeAttr == types.NoTimeAttr && !(b.batch && tt.IsTimestamp()) {
		return nil, b.errAt(errs.DatatypeMismatch, f, "the window function requires the timecol to be a time attribute, but '%s' is %s", desc.Descriptor[0], in.Columns[timeCol].Type)
	}
	w := WindowDef{Kind: f.Name}
	durations := map[string]*int64{"SIZE": &w.Size, "SLIDE": &w.Slide, "STEP": &w.Step, "OFFSET": &w.Offset, "GAP": &w.Gap}
	for _, name := range params.names {
		a, ok := args[name]
		if !ok {
			continue
		}
		ms, err := b.intervalArg(f, name, a)
		if err != nil {
			return nil, err
		}
		*durations[name] = ms
	}
	switch {
	case w.Kind == "HOP" && (w.Size%w.Slide != 0):
		return nil, b.errAt(errs.NotSupported, f, "HOP window size must be an integral multiple of the slide")
	case w.Kind == "CUMULATE" && (w.Size%w.Step != 0):
		return nil, b.errAt(errs.NotSupported, f, "CUMULATE window size must be an integral multiple of the step")
	}
	return &WindowTableFunction{Input: input, Window: w, TimeCol: timeCol}, nil
}

// intervalArg evaluates a window size argument: a positive DAY-TIME
// interval literal, in milliseconds.
func (b *binder) intervalArg(f *sql.TableFunctionRef, name string, a sql.TableFuncArg) (int64, error) {
	if a.Expr == nil {
		return 0, b.errAt(errs.DatatypeMismatch, f, "the %s argument of %s must be an interval", name, f.Name)
	}
	e, err := b.bindExpr(&scope{}, a.Expr)
	if err != nil {
		return 0, err
	}
	folded, err := expr.Fold(e)
	if err != nil {
		return 0, b.errAt(errs.DataException, a.Expr, "%v", err)
	}
	lit, ok := folded.(*expr.Literal)
	if !ok || lit.T.Kind != types.IntervalDayTime || lit.Value == nil {
		return 0, b.errAt(errs.DatatypeMismatch, a.Expr, "the %s argument of %s must be a DAY-TIME interval literal", name, f.Name)
	}
	ms := lit.Value.(int64)
	if ms <= 0 && name != "OFFSET" {
		return 0, b.errAt(errs.DatatypeMismatch, a.Expr, "the %s of %s must be positive", name, f.Name)
	}
	return ms, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// windowTimeKeys returns the positions of the group keys that are the
// window_time of a window aggregation, given the expressions an aggregate
// reads (its nkeys keys first, then its calls' arguments and filters): a
// GROUP BY over a window TVF (seen through a WHERE that does not read the
// window columns, which PushFilterBelowWindowTableFunction moves below it)
// that groups by its window_start and window_end, and which
// ConvertWindowAggregate plans as a WindowAggregate. Such a window_time is
// still a time attribute in Flink, and so it is here: the aggregate's rows
// come out, each window once, when the watermark passes the window's end.
func windowTimeKeys(input Node, pre []expr.Expr, nkeys int) []int {
	if f, ok := input.(*Filter); ok {
		w, ok := f.Input.(*WindowTableFunction)
		if !ok {
			return nil
		}
		for _, c := range expr.InputColumns(f.Condition) {
			if c >= w.Input.Schema().Len() {
				return nil
			}
		}
		input = w
	}
	wtf, ok := input.(*WindowTableFunction)
	if !ok {
		return nil
	}
	width := wtf.Input.Schema().Len()
	var start, end bool
	var times, others []int
	for i, e := range pre {
		c, ok := e.(*expr.ColumnRef)
		if i < nkeys && ok && c.Index >= width {
			switch c.Index - width {
			case 0:
				start = true
			case 1:
				end = true
			case 2:
				times = append(times, i)
			}
			continue
		}
		// Any other key, aggregate argument or filter must not read the
		// window columns, which the window aggregate assigns itself.
		for _, col := range expr.InputColumns(e) {
			if col >= width {
				return nil
			}
		}
		if i < nkeys {
			idx := -1
			if ok {
				idx = c.Index
			}
			others = append(others, idx)
		}
	}
	if !start || !end {
		return nil
	}
	// A SESSION TVF's sessions span its PARTITION BY columns: only a
	// grouping by exactly them is a window aggregation.
	if wtf.Window.Kind == "SESSION" && !wtf.Window.KeyedSession {
		if len(others) != len(wtf.Window.Partition) {
			return nil
		}
		for _, c := range others {
			if !slices.Contains(wtf.Window.Partition, c) {
				return nil
			}
		}
	}
	return times
}
