package optimizer

import (
	"strconv"

	"github.com/eddysql/eddy/catalog/types"
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
// projection above the join and the join condition read.
var PruneJoinInputs = Rule{Name: "PruneJoinInputs", Apply: func(n planner.Node) (planner.Node, bool) {
	p, ok := n.(*planner.Project)
	if !ok {
		return n, false
	}
	j, ok := p.Input.(*planner.Join)
	if !ok {
		return n, false
	}
	ls, rs := j.Left.Schema(), j.Right.Schema()
	nl := ls.Len()
	needed := append([]expr.Expr(nil), p.Exprs...)
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
	return &planner.Project{Input: &nj, Exprs: remapAll(p.Exprs, remap), Names: p.Names}, true
}}

// ConvertIntervalJoin marks joins whose condition bounds the distance
// between time attributes of two insert-only inputs as interval joins.
var ConvertIntervalJoin = Rule{Name: "ConvertIntervalJoin", Apply: func(n planner.Node) (planner.Node, bool) {
	j, ok := n.(*planner.Join)
	if !ok || j.Interval || j.SystemTime >= 0 || j.Type == planner.SemiJoin || j.Type == planner.AntiJoin ||
		j.Left.Changelog() != planner.InsertOnly || j.Right.Changelog() != planner.InsertOnly {
		return n, false
	}
	_, _, rest := splitEquiConditions(j.Condition, j.Left.Schema().Len())
	if _, ok := intervalBounds(rest, j.Left.Schema(), j.Right.Schema()); !ok {
		return n, false
	}
	nj := *j
	nj.Interval = true
	return &nj, true
}}

// ComputeJoinKeys turns equality conjuncts between expressions over one
// input each (MOD(l.a, 10) = r.k) into equalities between columns, by
// computing the expressions as extra columns of the inputs, so that the
// join partitions and probes by them instead of comparing every pair.
var ComputeJoinKeys = Rule{Name: "ComputeJoinKeys", Apply: func(n planner.Node) (planner.Node, bool) {
	j, ok := n.(*planner.Join)
	if !ok || j.Condition == nil || j.SystemTime >= 0 {
		return n, false
	}
	ls, rs := j.Left.Schema(), j.Right.Schema()
	nl, nr := ls.Len(), rs.Len()
	var lextra, rextra []expr.Expr
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
			_, aRef := a.(*expr.ColumnRef)
			_, bRef := b.(*expr.ColumnRef)
			if side(a, nl) == 0 && side(b, nl) == 1 && !(aRef && bRef) && a.Type().EqualIgnoringNull(b.Type()) {
				keys = append(keys, pair{nl + len(lextra), len(rextra)})
				lextra = append(lextra, a)
				rextra = append(rextra, shiftRefs(b, -nl))
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
	for i, k := range keys {
		l := &expr.ColumnRef{Index: k.l, Name: "$jk" + strconv.Itoa(i), T: lextra[i].Type()}
		r := &expr.ColumnRef{Index: nlNew + nr + k.r, Name: "$jk" + strconv.Itoa(i), T: rextra[i].Type()}
		cond = append(cond, eq(l, r))
	}
	extend := func(in planner.Node, s types.Schema, extra []expr.Expr) planner.Node {
		names := s.Names()
		for i := range extra {
			names = append(names, "$jk"+strconv.Itoa(i))
		}
		return &planner.Project{Input: in, Exprs: append(columnRefs(s, nil), extra...), Names: names}
	}
	nj := *j
	nj.Left = extend(j.Left, ls, lextra)
	nj.Right = extend(j.Right, rs, rextra)
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
