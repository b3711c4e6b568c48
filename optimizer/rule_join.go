package optimizer

import (
	"strconv"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// side tells which join input an expression reads: -1 none, 0 left only,
// 1 right only, 2 both.
func side(e expr.Expr, nl int) int {
	s := -1
	for _, c := range expr.InputColumns(e) {
		cs := 0
		if c >= nl {
			cs = 1
		}
		switch {
		case s == -1:
			s = cs
		case s != cs:
			return 2
		}
	}
	return s
}

// PushFilterIntoJoin moves the conjuncts of a filter above a join into the
// join: into its condition for inner joins (where the next rule sends
// one-sided conjuncts on into the inputs), or onto the input that is not
// padded with NULLs for outer joins.
var PushFilterIntoJoin = Rule{Name: "PushFilterIntoJoin", Apply: func(n planner.Node) (planner.Node, bool) {
	f, ok := n.(*planner.Filter)
	if !ok {
		return n, false
	}
	j, ok := f.Input.(*planner.Join)
	if !ok || j.SystemTime >= 0 {
		return n, false
	}
	nl := j.Left.Schema().Len()
	var into, left, right, keep []expr.Expr
	for _, c := range conjuncts(f.Condition) {
		s := side(c, nl)
		switch {
		case j.Type == planner.InnerJoin:
			into = append(into, c)
		case s == 0 && j.Type != planner.RightJoin && j.Type != planner.FullJoin:
			left = append(left, c)
		case s == 1 && j.Type == planner.RightJoin:
			right = append(right, c)
		default:
			keep = append(keep, c)
		}
	}
	if len(into)+len(left)+len(right) == 0 {
		return n, false
	}
	nj := *j
	nj.Condition = conjoin(append(conjuncts(j.Condition), into...))
	nj.Left = withFilter(j.Left, left, 0)
	nj.Right = withFilter(j.Right, right, nl)
	if len(keep) == 0 {
		return &nj, true
	}
	return &planner.Filter{Input: &nj, Condition: conjoin(keep)}, true
}}

// PushJoinConditionIntoInputs filters an input before the join by the ON
// conjuncts that read only that input, where that cannot change which rows
// are padded with NULLs: either input of an inner join, the right input of
// a left (semi, anti) join, the left input of a right join.
var PushJoinConditionIntoInputs = Rule{Name: "PushJoinConditionIntoInputs", Apply: func(n planner.Node) (planner.Node, bool) {
	j, ok := n.(*planner.Join)
	if !ok || j.Condition == nil || j.SystemTime >= 0 {
		return n, false
	}
	nl := j.Left.Schema().Len()
	pushLeft := j.Type == planner.InnerJoin || j.Type == planner.RightJoin
	pushRight := j.Type != planner.RightJoin && j.Type != planner.FullJoin
	var left, right, keep []expr.Expr
	for _, c := range conjuncts(j.Condition) {
		switch s := side(c, nl); {
		case s == 0 && pushLeft:
			left = append(left, c)
		case s == 1 && pushRight:
			right = append(right, c)
		default:
			keep = append(keep, c)
		}
	}
	if len(left)+len(right) == 0 {
		return n, false
	}
	nj := *j
	nj.Condition = conjoin(keep)
	nj.Left = withFilter(j.Left, left, 0)
	nj.Right = withFilter(j.Right, right, nl)
	return &nj, true
}}

// withFilter filters in by conds, whose column references are offset by
// shift from in's own columns.
func withFilter(in planner.Node, conds []expr.Expr, shift int) planner.Node {
	if len(conds) == 0 {
		return in
	}
	m := map[int]int{}
	for _, c := range conds {
		for _, col := range expr.InputColumns(c) {
			m[col] = col - shift
		}
	}
	return &planner.Filter{Input: in, Condition: remapRefs(conjoin(conds), m)}
}

// PruneJoinInputs projects each join input onto the columns the
// projection above the join (and the filter between them, such as the
// IS NULL test on the padded side of an outer join, which cannot go
// below it) and the join condition read. Over updating inputs a join
// without unique keys finds the row a retraction removes by comparing
// all its columns, so an unused PROCTIME() column, evaluated anew for
// the retraction, must not reach it.
var PruneJoinInputs = Rule{Name: "PruneJoinInputs", Apply: func(n planner.Node) (planner.Node, bool) {
	p, filter, below, ok := projectOverFilter(n)
	if !ok {
		return n, false
	}
	j, ok := below.(*planner.Join)
	if !ok {
		return n, false
	}
	ls, rs := j.Left.Schema(), j.Right.Schema()
	nl := ls.Len()
	needed := append([]expr.Expr(nil), p.Exprs...)
	if filter != nil {
		needed = append(needed, filter.Condition)
	}
	if j.Condition != nil {
		needed = append(needed, j.Condition)
	}
	if j.SystemTime >= 0 {
		needed = append(needed, &expr.ColumnRef{Index: j.SystemTime})
		for i, c := range rs.Columns {
			if c.Type.TimeAttr != 0 {
				needed = append(needed, &expr.ColumnRef{Index: nl + i})
			}
		}
	}
	used := usedColumns(nl+rs.Len(), needed...)
	var lu, ru []int
	for _, u := range used {
		if u < nl {
			lu = append(lu, u)
		} else {
			ru = append(ru, u-nl)
		}
	}
	semi := j.Type == planner.SemiJoin || j.Type == planner.AntiJoin
	if len(lu) == nl && len(ru) == rs.Len() || len(lu) == 0 || (len(ru) == 0 && !semi) {
		return n, false
	}
	if len(ru) == 0 {
		ru = []int{0}
	}
	remap := map[int]int{}
	for i, u := range lu {
		remap[u] = i
	}
	for i, u := range ru {
		remap[u+nl] = len(lu) + i
	}
	nj := *j
	nj.Left = &planner.Project{Input: j.Left, Exprs: columnRefs(ls, lu), Names: pick(ls.Names(), lu)}
	nj.Right = &planner.Project{Input: j.Right, Exprs: columnRefs(rs, ru), Names: pick(rs.Names(), ru)}
	if j.Condition != nil {
		nj.Condition = remapRefs(j.Condition, remap)
	}
	if j.SystemTime >= 0 {
		nj.SystemTime = remap[j.SystemTime]
	}
	if len(lu) == nl && len(ru) == rs.Len() {
		return n, false
	}
	return restack(p, filter, &nj, func(e expr.Expr) expr.Expr { return remapRefs(e, remap) }), true
}}

// ConvertIntervalJoin marks joins whose condition bounds the distance
// between time attributes of their inputs as interval joins. As Flink's
// StreamPhysicalIntervalJoinRule it does not look at the inputs'
// changelogs: an interval join over updates is then refused
// (CheckInsertOnlyInputs), not planned as a regular join.
var ConvertIntervalJoin = Rule{Name: "ConvertIntervalJoin", Apply: func(n planner.Node) (planner.Node, bool) {
	j, ok := n.(*planner.Join)
	if !ok || j.Interval || j.SystemTime >= 0 || j.Type == planner.SemiJoin || j.Type == planner.AntiJoin {
		return n, false
	}
	_, _, rest := splitEquiConditions(j.Condition, j.Left.Schema().Len())
	ls, rs := intervalJoinSchemas(j)
	if _, ok := intervalBounds(rest, ls, rs); !ok {
		return n, false
	}
	nj := *j
	nj.Interval = true
	return &nj, true
}}

// intervalJoinSchemas are the schemas of j's inputs as the interval join
// sees them: the window_end column of an input that passes on the rows of
// an event-time window aggregate counts as a rowtime attribute. A window
// aggregate emits a window's rows when the watermark reaches window_end - 1
// and forwards the watermark after them, so every row it emits has a
// window_end above the watermark that went before, which is all the
// interval join asks of a rowtime: rows of the other input expire once the
// watermark passes the last window_end that can join them. Nexmark q7's
// B.dateTime BETWEEN B1.window_end - INTERVAL '10' SECOND AND
// B1.window_end then keeps ten seconds of bids instead of all of them.
func intervalJoinSchemas(j *planner.Join) (ls, rs types.Schema) {
	return windowEndAsRowtime(j.Left), windowEndAsRowtime(j.Right)
}

func windowEndAsRowtime(n planner.Node) types.Schema {
	s := n.Schema()
	end := windowEndOf(n)
	if end < 0 || procTimeWindows(n) || s.Columns[end].Type.TimeAttr != types.NoTimeAttr {
		return s
	}
	s.Columns = append([]types.Column(nil), s.Columns...)
	s.Columns[end].Type = s.Columns[end].Type.WithTimeAttr(types.RowtimeAttr)
	return s
}

// windowEndGrid is the grid the values of column col of n lie on when it
// is the window_end of an event-time TUMBLE, HOP or CUMULATE window
// aggregate's rows (window ends are aligned to the window's offset and
// spaced by its size, slide or step), or nil.
func windowEndGrid(n planner.Node, col int) *exec.TimeGrid {
	if windowEndOf(n) != col || procTimeWindows(n) {
		return nil
	}
	w := windowAggregateBelow(n).Window
	switch w.Kind {
	case "TUMBLE":
		return &exec.TimeGrid{Step: w.Size, Offset: w.Offset}
	case "HOP":
		return &exec.TimeGrid{Step: w.Slide, Offset: w.Offset}
	case "CUMULATE":
		return &exec.TimeGrid{Step: w.Step, Offset: w.Offset}
	}
	return nil
}

// windowEndOf is the output column of n that passes on the window_end of
// a window aggregate's rows, or -1.
func windowEndOf(n planner.Node) int {
	through := func(exprs []expr.Expr, in planner.Node) int {
		end := windowEndOf(in)
		if end < 0 {
			return -1
		}
		for i, e := range exprs {
			if c, ok := e.(*expr.ColumnRef); ok && c.Index == end {
				return i
			}
		}
		return -1
	}
	switch x := n.(type) {
	case *planner.WindowAggregate:
		return len(x.Keys) + 1
	case *planner.Project:
		return through(x.Exprs, x.Input)
	case *planner.Calc:
		return through(x.Exprs, x.Input)
	case *planner.Filter:
		return windowEndOf(x.Input)
	}
	return -1
}

// ComputeJoinKeys turns equality conjuncts between expressions over one
// input each (MOD(l.a, 10) = r.k) into equalities between columns, by
// computing the expressions as extra columns of the inputs, so that the
// join partitions and probes by them instead of comparing every pair. A
// side that is already a column is used as it is. A temporal join takes
// only keys whose right side is a column, as Flink: the versioned table
// is keyed by its primary key, so only the left (probe) side may compute
// its key (o.nested_row.currency = r.currency).
var ComputeJoinKeys = Rule{Name: "ComputeJoinKeys", Apply: func(n planner.Node) (planner.Node, bool) {
	j, ok := n.(*planner.Join)
	if !ok || j.Condition == nil {
		return n, false
	}
	temporal := j.SystemTime >= 0
	ls, rs := j.Left.Schema(), j.Right.Schema()
	nl, nr := ls.Len(), rs.Len()
	var lextra, rextra []expr.Expr
	// A key pair: a column of the left input and one of the right input,
	// where an index at or past nl (nr) names an extra computed column.
	type pair struct{ l, r int }
	var keys []pair
	var rest []expr.Expr
	for _, c := range conjuncts(j.Condition) {
		call, isCall := c.(*expr.Call)
		if isCall && call.Func == "=" {
			a, b := call.Args[0], call.Args[1]
			if side(a, nl) == 1 && side(b, nl) == 0 {
				a, b = b, a
			}
			aRef, aIsRef := a.(*expr.ColumnRef)
			bRef, bIsRef := b.(*expr.ColumnRef)
			if side(a, nl) == 0 && side(b, nl) == 1 && !(aIsRef && bIsRef) && (bIsRef || !temporal) &&
				a.Type().EqualIgnoringNull(b.Type()) {
				k := pair{nl + len(lextra), nr + len(rextra)}
				if aIsRef {
					k.l = aRef.Index
				} else {
					lextra = append(lextra, a)
				}
				if bIsRef {
					k.r = bRef.Index - nl
				} else {
					rextra = append(rextra, shiftRefs(b, -nl))
				}
				keys = append(keys, k)
				continue
			}
		}
		rest = append(rest, c)
	}
	if len(keys) == 0 {
		return n, false
	}
	nlNew := nl + len(lextra)
	// Right columns move right by the left's extra columns.
	shift := map[int]int{}
	for i := 0; i < nl; i++ {
		shift[i] = i
	}
	for i := 0; i < nr; i++ {
		shift[nl+i] = nlNew + i
	}
	var cond []expr.Expr
	for _, c := range rest {
		cond = append(cond, remapRefs(c, shift))
	}
	extend := func(in planner.Node, s types.Schema, extra []expr.Expr) planner.Node {
		if len(extra) == 0 {
			return in
		}
		names := s.Names()
		for i := range extra {
			names = append(names, "$jk"+strconv.Itoa(i))
		}
		return &planner.Project{Input: in, Exprs: append(columnRefs(s, nil), extra...), Names: names}
	}
	nj := *j
	nj.Left = extend(j.Left, ls, lextra)
	nj.Right = extend(j.Right, rs, rextra)
	ln, rn := nj.Left.Schema(), nj.Right.Schema()
	for _, k := range keys {
		l := &expr.ColumnRef{Index: k.l, Name: ln.Columns[k.l].Name, T: ln.Columns[k.l].Type}
		r := &expr.ColumnRef{Index: nlNew + k.r, Name: rn.Columns[k.r].Name, T: rn.Columns[k.r].Type}
		cond = append(cond, eq(l, r))
	}
	nj.Condition = conjoin(cond)
	// Drop the key columns again above the join.
	out := nj.Schema()
	var keep []int
	for i := 0; i < nl; i++ {
		keep = append(keep, i)
	}
	if j.Type != planner.SemiJoin && j.Type != planner.AntiJoin {
		for i := 0; i < nr; i++ {
			keep = append(keep, nlNew+i)
		}
	}
	return &planner.Project{Input: &nj, Exprs: columnRefs(out, keep), Names: pick(out.Names(), keep)}, true
}}

func shiftRefs(e expr.Expr, by int) expr.Expr {
	return expr.Rewrite(e, func(n expr.Expr) expr.Expr {
		if c, ok := n.(*expr.ColumnRef); ok {
			return &expr.ColumnRef{Index: c.Index + by, Name: c.Name, T: c.T}
		}
		return n
	})
}

func eq(a, b expr.Expr) expr.Expr {
	e, err := expr.Resolve("=", []expr.Expr{a, b})
	if err != nil {
		// Both sides have the same type, checked by the caller.
		panic("optimizer: = of two join keys failed: " + err.Error())
	}
	return e
}
