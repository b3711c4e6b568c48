package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
)

// OverCall is one window function call of an Over node.
type OverCall struct {
	// Func is the function: an aggregate, LAG, ROW_NUMBER, RANK,
	// DENSE_RANK, or (batch mode only) LEAD, NTILE, PERCENT_RANK,
	// CUME_DIST.
	Func string
	Args []int
	// Distinct aggregates each distinct argument value of the frame once
	// (COUNT(DISTINCT b) OVER w): the operator keeps, per partition, each
	// value's count in the frame, as Flink's DistinctInfo does with a
	// MapView, so a value leaving the frame is retracted only when its
	// last row leaves.
	Distinct  bool
	Partition []int
	Order     []exec.SortKey
	// Rows selects a ROWS frame over a RANGE frame; Preceding counts rows
	// or milliseconds, -1 for UNBOUNDED PRECEDING. The frame always ends at
	// the current row.
	Rows      bool
	Preceding int64
	Type      types.DataType
	Name      string
}

// IsRanking reports whether the call is ROW_NUMBER, RANK or DENSE_RANK.
func (c OverCall) IsRanking() bool {
	return c.Func == "ROW_NUMBER" || c.Func == "RANK" || c.Func == "DENSE_RANK"
}

// AggCall is the call as an aggregate over its frame.
func (c OverCall) AggCall() agg.Call {
	return agg.Call{Func: c.Func, Args: c.Args, Distinct: c.Distinct, Filter: -1, Type: c.Type, Name: c.Name}
}

// Over appends one column per window function call to its input's
// columns. Ranking calls become Rank nodes when a filter bounds them
// (Top-N); aggregate calls run as OVER aggregations; in batch mode the
// window functions run in an Over of their own (Batch).
type Over struct {
	Input Node
	Calls []OverCall
	// Batch: the calls are computed over whole sorted partitions of a
	// bounded input (batch mode, Flink's BatchExecOverAggregate), which
	// emits final rows: window functions that read rows after the
	// current one (LEAD) or a partition's size (NTILE, PERCENT_RANK,
	// CUME_DIST), with LAG and the ranking functions.
	Batch bool
}

var _ Node = (*Over)(nil)

func (o *Over) Schema() types.Schema {
	in := o.Input.Schema()
	out := types.Schema{Columns: append([]types.Column(nil), in.Columns...)}
	for _, c := range o.Calls {
		out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
	}
	return out
}

func (o *Over) Children() []Node { return []Node{o.Input} }

// Changelog is the input's, except that aggregates ordered by something
// other than a time attribute update the results of the rows after a row
// that arrives (or is retracted) out of order: a retract stream, as
// Flink's non-time OVER aggregation emits.
func (o *Over) Changelog() ChangelogMode {
	if o.Batch {
		return InsertOnly
	}
	if o.NonTimeOrdered() {
		return Retract
	}
	return o.Input.Changelog()
}

// NonTimeOrdered reports whether an aggregate call is not ordered by one
// time attribute: Flink's non-time OVER aggregation. Ranking calls, which
// become Top-N nodes, do not count.
func (o *Over) NonTimeOrdered() bool {
	in := o.Input.Schema()
	for _, c := range o.Calls {
		if c.IsRanking() {
			continue
		}
		if len(c.Order) != 1 || in.Columns[c.Order[0].Col].Type.TimeAttr == types.NoTimeAttr {
			return true
		}
	}
	return false
}

func (o *Over) Bounded() bool { return o.Input.Bounded() }
func (o *Over) WithChildren(c ...Node) Node {
	mustChildren("Over", c, 1)
	cp := *o
	cp.Input = c[0]
	return &cp
}
func (o *Over) Describe() string {
	in := o.Input.Schema()
	calls := make([]string, len(o.Calls))
	for i, c := range o.Calls {
		if o.Batch {
			// Frames do not apply to the window functions of a batch Over.
			calls[i] = fmt.Sprintf("%s(%s) OVER (partitionBy=[%s], orderBy=[%s]) AS %s",
				c.Func, columnNames(in, c.Args), columnNames(in, c.Partition), sortKeys(in, c.Order), c.Name)
			continue
		}
		calls[i] = describeOverCall(c, in)
	}
	return "OverAggregate(" + strings.Join(calls, ", ") + ")"
}

func describeOverCall(c OverCall, in types.Schema) string {
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = in.Columns[a].Name
	}
	frame := "RANGE"
	if c.Rows {
		frame = "ROWS"
	}
	bound := "UNBOUNDED"
	if c.Preceding >= 0 {
		bound = fmt.Sprint(c.Preceding)
	}
	distinct := ""
	if c.Distinct {
		distinct = "DISTINCT "
	}
	return fmt.Sprintf("%s(%s%s) OVER (partitionBy=[%s], orderBy=[%s], %s BETWEEN %s PRECEDING AND CURRENT ROW) AS %s",
		c.Func, distinct, strings.Join(args, ", "), columnNames(in, c.Partition), sortKeys(in, c.Order), frame, bound, c.Name)
}

func columnNames(s types.Schema, cols []int) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = s.Columns[c].Name
	}
	return strings.Join(names, ", ")
}

func sortKeys(s types.Schema, keys []exec.SortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		dir := "ASC"
		if k.Desc {
			dir = "DESC"
		}
		parts[i] = s.Columns[k.Col].Name + " " + dir
	}
	return strings.Join(parts, ", ")
}
