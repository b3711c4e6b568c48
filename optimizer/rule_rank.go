package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// ConvertTopN turns a filter bounding a ROW_NUMBER/RANK/DENSE_RANK column
// into a Rank node (Flink's Top-N): WHERE rn <= N over the window function.
var ConvertTopN = Rule{Name: "ConvertTopN", Apply: func(n planner.Node) (planner.Node, bool) {
	f, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	over, ok := f.Input.(*planner.Over)
	if !ok || len(over.Calls) != 1 || !over.Calls[0].IsRanking() {
		return n, false
	}
	call := over.Calls[0]
	rankCol := over.Input.Schema().Len()
	start, end := int64(1), int64(-1)
	var rest []expr.Expr
	for _, c := range conjuncts(f.Condition) {
		op, bound, ok := rankBound(c, rankCol)
		if !ok {
			rest = append(rest, c)
			continue
		}
		switch op {
		case "<=":
			end = bound
		case "<":
			end = bound - 1
		case "=":
			start, end = bound, bound
		case ">=":
			start = bound
		case ">":
			start = bound + 1
		}
	}
	if end < 0 || start < 1 || end < start {
		return n, false
	}
	rank := &planner.Rank{
		Input: over.Input, Partition: call.Partition, Order: call.Order, RankType: call.Func,
		Start: start, End: end, OutputRank: true, RankName: call.Name,
	}
	if len(rest) == 0 {
		return rank, true
	}
	return &planner.Filter{Input: rank, Condition: conjoin(rest)}, true
}}

// rankBound recognizes rank op literal (or literal op rank), normalized to
// rank op bound.
func rankBound(e expr.Expr, rankCol int) (string, int64, bool) {
	c, ok := e.(*expr.Call)
	if !ok || len(c.Args) != 2 {
		return "", 0, false
	}
	flip := map[string]string{"<=": ">=", "<": ">", "=": "=", ">=": "<=", ">": "<"}
	op, known := flip[c.Func]
	if !known {
		return "", 0, false
	}
	op = c.Func
	ref, lit := c.Args[0], c.Args[1]
	if _, isRef := ref.(*expr.ColumnRef); !isRef {
		ref, lit, op = lit, ref, flip[op]
	}
	r, rok := ref.(*expr.ColumnRef)
	l, lok := lit.(*expr.Literal)
	if !rok || !lok || r.Index != rankCol || l.Value == nil || !l.T.IsInteger() {
		return "", 0, false
	}
	return op, l.Value.(int64), true
}

// ReplaceConstantRankNumber replaces the rank column of a Top-N that keeps
// a single ROW_NUMBER (WHERE rn = N) by the literal N and stops the Rank from
// appending it, as Flink's RankNumberColumnRemoveRule does: the Top-N then
// emits rows entering and leaving the range (+I/-D) instead of updating
// rank positions (-U/+U).
var ReplaceConstantRankNumber = Rule{Name: "ReplaceConstantRankNumber", Apply: func(n planner.Node) (planner.Node, bool) {
	p, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	r, ok := p.Input.(*planner.Rank)
	if !ok || !r.OutputRank || r.Start != r.End || r.RankType != "ROW_NUMBER" {
		return n, false
	}
	if start, end, ok := windowColumnsOf(r.Input); ok && containsInt(r.Partition, start) && containsInt(r.Partition, end) {
		return n, false // a window Top-N, which emits final rows anyway
	}
	rankCol := r.Input.Schema().Len()
	lit := &expr.Literal{Value: r.Start, T: types.BigIntType.WithNullable(false)}
	exprs := make([]expr.Expr, len(p.Exprs))
	for i, e := range p.Exprs {
		exprs[i] = expr.Rewrite(e, func(x expr.Expr) expr.Expr {
			if c, ok := x.(*expr.ColumnRef); ok && c.Index == rankCol {
				return lit
			}
			return x
		})
	}
	nr := *r
	nr.OutputRank = false
	return &planner.Project{Input: &nr, Exprs: exprs, Names: p.Names}, true
}}

// DropUnusedRankNumber stops a Rank from appending its rank when nothing
// above reads it, which lets Top-N avoid updating rows whose rank shifts.
var DropUnusedRankNumber = Rule{Name: "DropUnusedRankNumber", Apply: func(n planner.Node) (planner.Node, bool) {
	p, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	r, ok := p.Input.(*planner.Rank)
	if !ok || !r.OutputRank {
		return n, false
	}
	rankCol := r.Input.Schema().Len()
	for _, e := range p.Exprs {
		for _, c := range expr.InputColumns(e) {
			if c == rankCol {
				return n, false
			}
		}
	}
	nr := *r
	nr.OutputRank = false
	return &planner.Project{Input: &nr, Exprs: p.Exprs, Names: p.Names}, true
}}

// PushProjectBelowRank prunes the columns a Top-N carries to those the
// projection above it reads plus those the Rank itself needs (its
// partition and order columns, and the columns of its input's upsert keys,
// so that the keys, and with them the Rank's changelog and the sink's
// upsert handling, stay as they were), as Flink's CalcRankTransposeRule
// does. A Top-N keeps its rows in state and emits them whole, so every
// column it carries for nothing is stored and copied per row; the
// projection below it also lets PruneJoinInputs and the scan rules prune
// further down (Nexmark q9 no longer carries the bids' channel and url
// through its join).
var PushProjectBelowRank = Rule{Name: "PushProjectBelowRank", Apply: func(n planner.Node) (planner.Node, bool) {
	p, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	r, ok := p.Input.(*planner.Rank)
	if !ok {
		return n, false
	}
	in := r.Input.Schema()
	width := in.Len()
	rankCol := width // the rank number, when the Rank appends it
	outWidth := width
	if r.OutputRank {
		outWidth++
	}
	keep := make([]bool, outWidth)
	for _, c := range usedColumns(outWidth, p.Exprs...) {
		keep[c] = true
	}
	markSortColumns(keep, r.Partition, r.Order)
	cols, remap := carriedColumns(r.Input, keep)
	if cols == nil {
		return n, false
	}
	remap[rankCol] = len(cols)
	nr := *r
	nr.Input = &planner.Project{Input: r.Input, Exprs: columnRefs(in, cols), Names: pick(in.Names(), cols)}
	nr.Partition, nr.Order = remapSort(r.Partition, r.Order, remap)
	return &planner.Project{Input: &nr, Exprs: remapAll(p.Exprs, remap), Names: p.Names}, true
}}

// isTimeAttr reports whether column col of s is a time attribute.
func isTimeAttr(s types.Schema, col int) bool {
	return s.Columns[col].Type.TimeAttr != types.NoTimeAttr
}

// ConvertWindowRank turns a Top-N partitioned by the window of windowed
// rows (window_start and window_end of a window aggregation or window
// table function) into a window Top-N, which emits each window's final
// rows once instead of a changelog.
var ConvertWindowRank = Rule{Name: "ConvertWindowRank", Apply: func(n planner.Node) (planner.Node, bool) {
	r, ok := n.(*planner.Rank)
	if !ok {
		return n, false
	}
	start, end, ok := windowColumnsOf(r.Input)
	// As Flink's StreamPhysicalWindowRankRule, whatever the input's
	// changelog: a window Top-N over updates is then refused
	// (CheckInsertOnlyInputs), not planned as a regular Top-N.
	if !ok || !containsInt(r.Partition, start) || !containsInt(r.Partition, end) {
		return n, false
	}
	return &planner.WindowRank{Rank: *r, WindowStart: start, WindowEnd: end}, true
}}

func containsInt(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// windowColumnsOf finds the output columns of n that carry the window
// start and end of the windows its rows belong to.
func windowColumnsOf(n planner.Node) (start, end int, ok bool) {
	through := func(exprs []expr.Expr, in planner.Node) (int, int, bool) {
		s, e, ok := windowColumnsOf(in)
		if !ok {
			return 0, 0, false
		}
		start, end = -1, -1
		for i, x := range exprs {
			if c, isRef := x.(*expr.ColumnRef); isRef {
				if c.Index == s && start < 0 {
					start = i
				}
				if c.Index == e && end < 0 {
					end = i
				}
			}
		}
		return start, end, start >= 0 && end >= 0
	}
	switch x := n.(type) {
	case *planner.WindowAggregate:
		return len(x.Keys), len(x.Keys) + 1, true
	case *planner.WindowTableFunction:
		w := x.Input.Schema().Len()
		return w, w + 1, x.Window.Kind != "SESSION"
	case *planner.Project:
		return through(x.Exprs, x.Input)
	case *planner.Calc:
		return through(x.Exprs, x.Input)
	case *planner.Filter:
		return windowColumnsOf(x.Input)
	}
	return 0, 0, false
}
