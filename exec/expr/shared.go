package expr

import (
	"strconv"
	"strings"
)

// SharedCalls finds the calls that occur more than once among exprs (the
// condition and projections of one calc), so the operator can compute each
// once per batch, as Flink's generated code reuses a Calc's common
// expressions: Nexmark q21 reads LOWER(channel) five times and its
// REGEXP_EXTRACT twice. Only calls that are deterministic, read a column,
// cannot fail and are not composite are shared: computing one for every row
// of the batch, outside the CASE branch or the AND that guarded it, then
// raises no error the query would not. An occurrence inside another shared
// call counts once, since the outer call is computed once. The calls come
// in dependency order (a shared call's shared sub-calls come before it),
// those in cond (which may be nil) first: the first inCond of them are the
// ones a calc computes before filtering by cond (their sub-calls are in
// cond too), the others after.
func SharedCalls(cond Expr, projs []Expr) (shared []Expr, inCond int) {
	exprs := projs
	if cond != nil {
		exprs = append([]Expr{cond}, projs...)
	}
	count := map[string]int{}
	for _, e := range exprs {
		Walk(e, func(n Expr) bool {
			if c, ok := n.(*Call); ok {
				count[exprKey(c)]++
			}
			return true
		})
	}
	eligible := map[string]bool{}
	isCandidate := func(c *Call, k string) bool {
		if count[k] < 2 {
			return false
		}
		ok, known := eligible[k]
		if !known {
			ok = IsDeterministic(c) && !canFail(c) && !isComposite(c.T) && len(InputColumns(c)) > 0
			eligible[k] = ok
		}
		return ok
	}
	// uses counts the computations of each candidate once the outer
	// candidates are computed once; order lists them after their
	// sub-calls.
	uses := map[string]int{}
	var order []*Call
	var visit func(Expr)
	visit = func(e Expr) {
		c, ok := e.(*Call)
		if !ok {
			return
		}
		k := exprKey(c)
		cand := isCandidate(c, k)
		if cand {
			uses[k]++
			if uses[k] > 1 {
				return
			}
		}
		for _, a := range c.Args {
			visit(a)
		}
		if cand {
			order = append(order, c)
		}
	}
	for _, e := range exprs {
		visit(e)
	}
	condKeys := map[string]bool{}
	if cond != nil {
		Walk(cond, func(n Expr) bool {
			condKeys[exprKey(n)] = true
			return true
		})
	}
	var post []Expr
	for _, c := range order {
		switch k := exprKey(c); {
		case uses[k] < 2:
		case condKeys[k]:
			shared = append(shared, c)
		default:
			post = append(post, c)
		}
	}
	return append(shared, post...), len(shared)
}

// ReplaceShared rewrites e for a batch laid out as the first k shared calls,
// last first, then the input columns: shared[j] (j < k) becomes column
// k-1-j and input column i becomes column k+i. Prepending keeps an
// updating stream's row kind column last.
func ReplaceShared(e Expr, shared []Expr, k int) Expr {
	at := make(map[string]int, k)
	for j, s := range shared[:k] {
		at[exprKey(s)] = k - 1 - j
	}
	var rewrite func(Expr) Expr
	rewrite = func(e Expr) Expr {
		switch n := e.(type) {
		case *ColumnRef:
			return &ColumnRef{Index: n.Index + k, Name: n.Name, T: n.T}
		case *Call:
			if idx, ok := at[exprKey(n)]; ok {
				return &ColumnRef{Index: idx, T: n.T}
			}
			args := make([]Expr, len(n.Args))
			for i, a := range n.Args {
				args[i] = rewrite(a)
			}
			return &Call{Func: n.Func, Args: args, T: n.T}
		}
		return e
	}
	return rewrite(e)
}

// exprKey identifies an expression by structure: equal keys, equal
// expressions (column names, which are for EXPLAIN only, are left out).
func exprKey(e Expr) string {
	var b strings.Builder
	writeKey(&b, e)
	return b.String()
}

func writeKey(b *strings.Builder, e Expr) {
	switch n := e.(type) {
	case *ColumnRef:
		b.WriteString("$" + strconv.Itoa(n.Index))
	case *Literal:
		b.WriteString(strconv.Quote(FormatLiteral(n)))
	case *Call:
		b.WriteString(strconv.Quote(n.Func))
		b.WriteByte('(')
		for i, a := range n.Args {
			if i > 0 {
				b.WriteByte(',')
			}
			writeKey(b, a)
		}
		b.WriteByte(')')
	}
	b.WriteByte(':')
	b.WriteString(e.Type().String())
}
