package optimizer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/planner"
)

// StreamLocalWindowAggregate is the local phase of a two-phase window
// aggregate (Flink's StreamPhysicalLocalWindowAggregate): chained to its
// input, before the hash exchange, it folds rows per key and slice into
// accumulator rows that end with the slice's end, $slice_end
// (exec.KindLocalWindowAggregate).
type StreamLocalWindowAggregate struct {
	Logical *planner.WindowAggregate
	Input   PhysicalNode
	// ArgTypes are each call's argument types; Accs its accumulator
	// fields, named with their output column (sum$0, count$1, ...).
	ArgTypes [][]types.DataType
	Accs     [][]agg.AccField
	// RowCount: the input is updating; the accumulators retract and the
	// column before $slice_end is the change of the row count (count1$N).
	RowCount bool
	schema   types.Schema
}

// StreamGlobalWindowAggregate is the global phase of a two-phase window
// aggregate (Flink's StreamPhysicalGlobalWindowAggregate): after the hash
// exchange it merges the local phases' accumulators into its keyed window
// state and fires windows on the watermark as StreamWindowAggregate does
// (exec.KindGlobalWindowAggregate).
type StreamGlobalWindowAggregate struct {
	Logical *planner.WindowAggregate
	Local   *StreamLocalWindowAggregate
	// Input is the exchange over Local.
	Input PhysicalNode
}

var (
	_ operatorNode = (*StreamLocalWindowAggregate)(nil)
	_ operatorNode = (*StreamGlobalWindowAggregate)(nil)
)

// sliceEndColumn is the name of the local phase's last column, as Flink
// names it.
const sliceEndColumn = "$slice_end"

// twoPhaseWindowAggregate splits l into local and global phases, Flink's
// TwoStageOptimizedWindowAggregateRule: in streaming mode, with a
// strategy other than ONE_PHASE, over event-time TUMBLE, HOP or CUMULATE
// windows (attached ones included) whose calls all merge accumulators
// (agg.Accumulators: COUNT, SUM, AVG, MIN, MAX and the variance family;
// DISTINCT calls, LISTAGG, FIRST_VALUE/LAST_VALUE and user-defined
// aggregates keep one phase). Unlike the group aggregate it needs no
// mini-batch: the local phase flushes on the watermark. SESSION windows
// stay one phase (they are not sliced), and so do processing-time
// windows, which Flink materializes in one node. AUTO splits at
// parallelism 1 too, as Flink does: the local phase folds a HOP or
// CUMULATE row once per slice instead of once per window, which measured
// faster on Nexmark q5 and no slower on q7 even without a shuffle to
// save. Over an updating input the local phase retracts the -U/-D rows
// and ships each (key, slice)'s change of row count, Flink's count1, so
// that the global phase fires no window whose rows were all retracted;
// only COUNT, SUM and AVG split then (their accumulators merge with
// negative counts), MIN and MAX keeping one phase with their multisets
// of values, as do the variance family. It reports false when l stays
// one aggregate.
func twoPhaseWindowAggregate(l *planner.WindowAggregate, in PhysicalNode, par int, cfg Config) (PhysicalNode, bool) {
	if cfg.Batch || cfg.AggPhaseStrategy == AggPhaseOnePhase || l.Window.Kind == "SESSION" {
		return nil, false
	}
	retract := l.Input.Changelog() != planner.InsertOnly
	for _, c := range l.Calls {
		if retract && (c.Distinct || (c.Func != "COUNT" && c.Func != "SUM" && c.Func != "AVG")) {
			return nil, false
		}
	}
	inSchema := l.Input.Schema()
	if inSchema.Columns[l.TimeCol].Type.TimeAttr == types.ProctimeAttr {
		return nil, false
	}
	local := &StreamLocalWindowAggregate{Logical: l, Input: in, RowCount: retract}
	out := l.Schema()
	nk := len(l.Keys)
	local.schema.Columns = append(local.schema.Columns, out.Columns[:nk]...)
	for _, c := range l.Calls {
		args := make([]types.DataType, len(c.Args))
		for j, a := range c.Args {
			args[j] = inSchema.Columns[a].Type
		}
		fields, ok := agg.Accumulators(c, args, retract)
		if !ok {
			return nil, false
		}
		for j := range fields {
			fields[j].Name += "$" + strconv.Itoa(local.schema.Len()-nk)
			local.schema.Columns = append(local.schema.Columns, types.Column{Name: fields[j].Name, Type: fields[j].Type})
		}
		local.ArgTypes = append(local.ArgTypes, args)
		local.Accs = append(local.Accs, fields)
	}
	if retract {
		local.schema.Columns = append(local.schema.Columns, types.Column{
			Name: "count1$" + strconv.Itoa(local.schema.Len()-nk), Type: types.BigIntType.WithNullable(false)})
	}
	local.schema.Columns = append(local.schema.Columns, types.Column{Name: sliceEndColumn, Type: types.TimestampType(3).WithNullable(false)})
	keys := make([]int, nk)
	for i := range keys {
		keys[i] = i
	}
	return &StreamGlobalWindowAggregate{Logical: l, Local: local, Input: hashExchange(local, keys, par)}, true
}

func (n *StreamLocalWindowAggregate) Schema() types.Schema   { return n.schema }
func (n *StreamLocalWindowAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamLocalWindowAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamLocalWindowAggregate) Bounded() bool          { return n.Input.Bounded() }

// Describe prints the plan node as Flink does, e.g.
// LocalWindowAggregate(groupBy=[k], window=[TUMBLE(size=[10s])], time_col=[ts], select=[k, COUNT(*) AS count$0, $slice_end]).
func (n *StreamLocalWindowAggregate) Describe() string {
	l := n.Logical
	in := l.Input.Schema()
	keys := make([]string, len(l.Keys))
	for i, k := range l.Keys {
		keys[i] = in.Columns[k].Name
	}
	sel := append([]string(nil), keys...)
	for i, c := range l.Calls {
		sel = append(sel, planner.DescribeCall(c, in)+" AS "+accNames(n.Accs[i]))
	}
	if n.RowCount {
		sel = append(sel, "COUNT(*) AS "+n.schema.Columns[n.schema.Len()-2].Name)
	}
	sel = append(sel, sliceEndColumn)
	return fmt.Sprintf("LocalWindowAggregate(groupBy=[%s], window=[%s], %s, select=[%s])",
		strings.Join(keys, ", "), l.Window, windowTimeAttrs(l), strings.Join(sel, ", "))
}

// windowTimeAttrs prints where a window aggregate's windows come from:
// its time column, or the window columns of an attached window.
func windowTimeAttrs(l *planner.WindowAggregate) string {
	in := l.Input.Schema()
	if l.Attached != nil {
		return fmt.Sprintf("win_start=[%s], win_end=[%s]", in.Columns[l.Attached.Start].Name, in.Columns[l.Attached.End].Name)
	}
	return fmt.Sprintf("time_col=[%s]", in.Columns[l.TimeCol].Name)
}

func (n *StreamLocalWindowAggregate) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	return spec(exec.KindLocalWindowAggregate, n.Describe(), n.Schema(), exec.LocalWindowAggregateSpec{
		Window:   windowSpec(l.Window),
		TimeCol:  l.TimeCol,
		Keys:     l.Keys,
		Calls:    l.Calls,
		Attached: l.Attached != nil,
		ArgTypes: n.ArgTypes,
		// The local phase's input is the logical input: its changelog.
		InputChangelog: n.RowCount,
	})
}

func (n *StreamGlobalWindowAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamGlobalWindowAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamGlobalWindowAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamGlobalWindowAggregate) Bounded() bool          { return n.Input.Bounded() }

// Describe prints the plan node as Flink does, e.g.
// GlobalWindowAggregate(groupBy=[k], window=[TUMBLE(size=[10s])], slice_end=[$slice_end], select=[k, window_start, window_end, window_time, COUNT(count$0) AS n]).
func (n *StreamGlobalWindowAggregate) Describe() string {
	l := n.Logical
	out := l.Schema()
	keys := out.Names()[:len(l.Keys)]
	sel := append(append([]string(nil), keys...), "window_start", "window_end", "window_time")
	for i, c := range l.Calls {
		sel = append(sel, fmt.Sprintf("%s(%s) AS %s", c.Func, accNames(n.Local.Accs[i]), l.Names[len(l.Keys)+i]))
	}
	return fmt.Sprintf("GlobalWindowAggregate(groupBy=[%s], window=[%s], slice_end=[%s], select=[%s])",
		strings.Join(keys, ", "), l.Window, sliceEndColumn, strings.Join(sel, ", "))
}

// operatorSpec reads the keys, each call's accumulators and the slice end
// at their columns of the local phase's output.
func (n *StreamGlobalWindowAggregate) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	nk := len(l.Keys)
	gs := exec.GlobalWindowAggregateSpec{ArgTypes: n.Local.ArgTypes}
	gs.Window = windowSpec(l.Window)
	gs.Attached = l.Attached != nil
	gs.Keys = make([]int, nk)
	for i := range gs.Keys {
		gs.Keys[i] = i
	}
	col := nk
	for i, c := range l.Calls {
		gc := agg.Call{Func: c.Func, Filter: -1, Type: c.Type, Name: c.Name}
		for range n.Local.Accs[i] {
			gc.Args = append(gc.Args, col)
			col++
		}
		gs.Calls = append(gs.Calls, gc)
	}
	if n.Local.RowCount {
		gs.RowCounts = true
		col++ // the count1 column
	}
	gs.TimeCol = col
	return spec(exec.KindGlobalWindowAggregate, n.Describe(), n.Schema(), gs)
}
