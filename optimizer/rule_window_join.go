package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/planner"
)

// ConvertWindowJoin turns a join of two windowed inputs (window
// TVFs, window aggregations, and projections or filters of them) whose
// condition equates both window_start and window_end columns into a
// WindowJoin, Flink's window join: it joins each window's rows once the
// window is complete, drops late rows and state with the watermark, and
// emits insert-only even for outer joins. As in Flink, only event-time
// windows qualify (windows fire with the watermark); processing-time ones
// stay regular joins.
var ConvertWindowJoin = Rule{Name: "ConvertWindowJoin", Apply: func(n planner.Node) (planner.Node, bool) {
	j, ok := n.(*planner.Join)
	// As Flink's StreamPhysicalWindowJoinRule, whatever the inputs'
	// changelogs: a window join over updates is then refused
	// (CheckInsertOnlyInputs), not planned as a regular join.
	if !ok || j.Interval || j.SystemTime >= 0 {
		return n, false
	}
	ls, le, lok := windowColumnsOf(j.Left)
	rs, re, rok := windowColumnsOf(j.Right)
	if !lok || !rok || procTimeWindows(j.Left) || procTimeWindows(j.Right) {
		return n, false
	}
	lk, rk, _ := splitEquiConditions(j.Condition, j.Left.Schema().Len())
	var start, end bool
	for i := range lk {
		start = start || lk[i] == ls && rk[i] == rs
		end = end || lk[i] == le && rk[i] == re
	}
	if !start || !end {
		return n, false
	}
	return &planner.WindowJoin{Join: *j, LeftEnd: le, RightEnd: re}, true
}}

// procTimeWindows reports whether the windows of n (a windowed input that
// windowColumnsOf accepts) are processing-time windows.
func procTimeWindows(n planner.Node) bool {
	for {
		switch x := n.(type) {
		case *planner.WindowTableFunction:
			return x.Input.Schema().Columns[x.TimeCol].Type.TimeAttr == types.ProctimeAttr
		case *planner.WindowAggregate:
			return x.Input.Schema().Columns[x.TimeCol].Type.TimeAttr == types.ProctimeAttr
		}
		ch := n.Children()
		if len(ch) != 1 {
			return false
		}
		n = ch[0]
	}
}
