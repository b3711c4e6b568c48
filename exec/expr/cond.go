package expr

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

func init() {
	register(&funcDef{name: "CASE", resolve: resolveCase, compile: compileCase})
	register(&funcDef{name: "IF", resolve: resolveCase, compile: compileCase})
	register(&funcDef{name: "COALESCE", resolve: resolveCoalesce, compile: compileCoalesce})
	register(&funcDef{name: "IFNULL", resolve: resolveCoalesce, compile: compileCoalesce})
	register(&funcDef{name: "NULLIF", resolve: resolveNullIf})
	register(&funcDef{name: "GREATEST", resolve: resolveGreatest, compile: compileGreatest})
	register(&funcDef{name: "LEAST", resolve: resolveGreatest, compile: compileGreatest})
}

// resolveCase types CASE (args cond1, res1, cond2, res2, ..., [else]) and
// IF(cond, then, else), which shares CASE's layout. The result is the
// common type of the results, nullable if any result is or there is no
// ELSE.
func resolveCase(name string, args []Expr) (Expr, error) {
	if name == "IF" {
		if err := arity(name, args, 3, 3); err != nil {
			return nil, err
		}
	} else if err := arity(name, args, 2, -1); err != nil {
		return nil, err
	}
	var results []Expr
	out := make([]Expr, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		cond, err := boolArgs(name, args[i:i+1])
		if err != nil {
			return nil, err
		}
		out[i] = cond[0]
		results = append(results, args[i+1])
	}
	hasElse := len(args)%2 == 1
	if hasElse {
		results = append(results, args[len(args)-1])
	}
	t, ok := commonType(results)
	if !ok {
		return nil, typeError(name, results)
	}
	t = t.WithNullable(anyNullable(results) || !hasElse)
	for i := 1; i < len(args); i += 2 {
		c, err := implicitCast(args[i], t)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	if hasElse {
		c, err := implicitCast(args[len(args)-1], t)
		if err != nil {
			return nil, err
		}
		out[len(out)-1] = c
	}
	return &Call{Func: name, Args: out, T: t}, nil
}

type caseEval struct {
	c        *compiler
	t        types.DataType
	conds    []Evaluator
	results  []Evaluator // len(conds) or len(conds)+1 with ELSE
	cols     [][]int     // columns read by conds[i] and results[i]
	condCols [][]int
	lazy     bool
	src, row []int32
}

// compileCase evaluates branches lazily (each condition only on rows no
// earlier condition took, each result only on its rows) when any branch can
// raise an error, so guards like CASE WHEN b <> 0 THEN a / b END work as in
// Flink; otherwise every branch runs over the whole batch, which is cheaper
// than gathering sub-batches.
func compileCase(c *compiler, call *Call) (Evaluator, error) {
	e := &caseEval{c: c, t: call.T}
	for i, a := range call.Args {
		ev, err := c.compile(a)
		if err != nil {
			return nil, err
		}
		if canFail(a) {
			e.lazy = true
		}
		if i%2 == 0 && i+1 < len(call.Args) {
			e.conds = append(e.conds, ev)
			e.condCols = append(e.condCols, InputColumns(a))
		} else {
			e.results = append(e.results, ev)
			e.cols = append(e.cols, InputColumns(a))
		}
	}
	return e, nil
}

func (e *caseEval) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	e.src, e.row = resize(e.src, n), resize(e.row, n)
	for i := range e.src {
		e.src[i] = -1
	}
	outs := make([]arrow.Array, len(e.results))
	defer releaseAll(outs)
	rem := make([]int32, n)
	for i := range rem {
		rem[i] = int32(i)
	}
	for k, cond := range e.conds {
		if len(rem) == 0 {
			break
		}
		var ca arrow.Array
		var err error
		if e.lazy {
			ca, err = takeRows(e.c, cond, e.condCols[k], b, rem)
		} else {
			ca, err = cond.Eval(b)
		}
		if err != nil {
			return nil, err
		}
		cb := ca.(*array.Boolean)
		var hit []int32
		rest := rem[:0]
		for j, r := range rem {
			p := r
			if e.lazy {
				p = int32(j)
			}
			if cb.IsValid(int(p)) && cb.Value(int(p)) {
				hit = append(hit, r)
			} else {
				rest = append(rest, r)
			}
		}
		ca.Release()
		rem = rest
		if err := e.branch(b, k, hit, outs); err != nil {
			return nil, err
		}
	}
	if len(e.results) > len(e.conds) && len(rem) > 0 {
		if err := e.branch(b, len(e.conds), rem, outs); err != nil {
			return nil, err
		}
	}
	for i, o := range outs {
		if o == nil {
			outs[i] = array.NewNull(0)
		}
	}
	return gather(e.c.mem, e.t.Arrow(), n, e.src, e.row, outs)
}

// branch evaluates result k for the given rows and points them at it.
func (e *caseEval) branch(b arrow.RecordBatch, k int, rows []int32, outs []arrow.Array) error {
	if len(rows) == 0 {
		return nil
	}
	var ra arrow.Array
	var err error
	if e.lazy {
		ra, err = takeRows(e.c, e.results[k], e.cols[k], b, rows)
	} else {
		ra, err = e.results[k].Eval(b)
	}
	if err != nil {
		return err
	}
	outs[k] = ra
	for j, r := range rows {
		e.src[r] = int32(k)
		if e.lazy {
			e.row[r] = int32(j)
		} else {
			e.row[r] = r
		}
	}
	return nil
}

func resize(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// resolveCoalesce types COALESCE(a, ...) and IFNULL(a, b): the common type,
// NOT NULL if any argument is NOT NULL.
func resolveCoalesce(name string, args []Expr) (Expr, error) {
	lo, hi := 1, -1
	if name == "IFNULL" {
		lo, hi = 2, 2
	}
	if err := arity(name, args, lo, hi); err != nil {
		return nil, err
	}
	t, ok := commonType(args)
	if !ok {
		return nil, typeError(name, args)
	}
	nullable := true
	for _, a := range args {
		if !a.Type().Nullable() {
			nullable = false
		}
	}
	out, err := castAll(args, t)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: out, T: t.WithNullable(nullable)}, nil
}

// compileCoalesce is a CASE whose conditions are "argument i is NOT NULL"
// and whose results are those same arguments, each evaluated once.
func compileCoalesce(c *compiler, call *Call) (Evaluator, error) {
	e := &coalesceEval{c: c, t: call.T}
	for _, a := range call.Args {
		ev, err := c.compile(a)
		if err != nil {
			return nil, err
		}
		e.lazy = e.lazy || canFail(a)
		e.args = append(e.args, ev)
		e.cols = append(e.cols, InputColumns(a))
	}
	return e, nil
}

type coalesceEval struct {
	c        *compiler
	t        types.DataType
	args     []Evaluator
	cols     [][]int
	lazy     bool
	src, row []int32
}

func (e *coalesceEval) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	n := int(b.NumRows())
	e.src, e.row = resize(e.src, n), resize(e.row, n)
	for i := range e.src {
		e.src[i] = -1
	}
	outs := make([]arrow.Array, len(e.args))
	defer releaseAll(outs)
	rem := make([]int32, n)
	for i := range rem {
		rem[i] = int32(i)
	}
	for k, ev := range e.args {
		if len(rem) == 0 {
			break
		}
		var a arrow.Array
		var err error
		if e.lazy {
			a, err = takeRows(e.c, ev, e.cols[k], b, rem)
		} else {
			a, err = ev.Eval(b)
		}
		if err != nil {
			return nil, err
		}
		outs[k] = a
		rest := rem[:0]
		for j, r := range rem {
			p := r
			if e.lazy {
				p = int32(j)
			}
			if isValid(a, int(p)) && a.DataType().ID() != arrow.NULL {
				e.src[r], e.row[r] = int32(k), p
			} else {
				rest = append(rest, r)
			}
		}
		rem = rest
	}
	for i, o := range outs {
		if o == nil {
			outs[i] = array.NewNull(0)
		}
	}
	return gather(e.c.mem, e.t.Arrow(), n, e.src, e.row, outs)
}

// resolveNullIf rewrites NULLIF(a, b) to CASE WHEN a = b THEN NULL ELSE a
// END, typed as a, nullable (Calcite's ARG0_FORCE_NULLABLE).
func resolveNullIf(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	eq, err := Resolve("=", args)
	if err != nil {
		return nil, typeError(name, args)
	}
	t := args[0].Type().WithNullable(true).WithTimeAttr(types.NoTimeAttr)
	return &Call{Func: "CASE", Args: []Expr{eq, &Literal{T: t}, args[0]}, T: t}, nil
}

// resolveGreatest types GREATEST/LEAST: the common type; NULL if any
// argument is NULL (Flink's behaviour).
func resolveGreatest(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, -1); err != nil {
		return nil, err
	}
	t, ok := commonType(args)
	if !ok || !(t.IsNumeric() || t.IsString() || t.IsTemporal() || t.Kind == types.Boolean) {
		return nil, typeError(name, args)
	}
	out, err := castAll(args, t)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: out, T: strict(t, args)}, nil
}

// compileGreatest folds the arguments pairwise: best = arg > best ? arg :
// best, with a comparison kernel deciding and gather assembling.
func compileGreatest(c *compiler, call *Call) (Evaluator, error) {
	cmpFn := "greater"
	if call.Func == "LEAST" {
		cmpFn = "less"
	}
	t := call.T
	// The comparison runs on a two-column batch (candidate, best so far).
	cmp, err := newComputeEval(c, cmpFn, nil, []Expr{
		&ColumnRef{Index: 0, T: t}, &ColumnRef{Index: 1, T: t}})
	if err != nil {
		return nil, err
	}
	var src, row []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		src, row = resize(src, n), resize(row, n)
		best := args[0]
		best.Retain()
		defer func() { best.Release() }()
		dt := t.Arrow()
		for k := 1; k < len(args); k++ {
			pair := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{
				{Name: "a", Type: dt, Nullable: true}, {Name: "b", Type: dt, Nullable: true}}, nil),
				[]arrow.Array{args[k], best}, int64(n))
			ca, err := cmp.Eval(pair)
			pair.Release()
			if err != nil {
				return nil, err
			}
			cb := ca.(*array.Boolean)
			for i := 0; i < n; i++ {
				row[i] = int32(i)
				switch {
				case cb.IsNull(i):
					src[i] = -1
				case cb.Value(i):
					src[i] = 0
				default:
					src[i] = 1
				}
			}
			ca.Release()
			next, err := gather(c.mem, dt, n, src, row, []arrow.Array{args[k], best})
			if err != nil {
				return nil, err
			}
			best.Release()
			best = next
		}
		best.Retain()
		return best, nil
	})
}

// gatherNested is gather for the types without a flat layout (ARRAY,
// MAP, ROW, MULTISET): the branches' arrays of type dt are concatenated
// and Arrow's take kernel copies each row's value whole, children
// included, with a NULL index for a NULL row. valid is gather's validity
// (src[i] is already -1 for every NULL row).
func gatherNested(mem memory.Allocator, dt arrow.DataType, n int, src, rows []int32, srcs []arrow.Array) (arrow.Array, error) {
	// base[k] is where srcs[k] starts in the concatenation; branches of
	// another type (the NULL placeholders of branches that took no row)
	// take no part.
	base := make([]int32, len(srcs))
	var parts []arrow.Array
	var total int32
	for k, a := range srcs {
		if a.Len() == 0 || !arrow.TypeEqual(a.DataType(), dt) {
			continue
		}
		base[k] = total
		total += int32(a.Len())
		parts = append(parts, a)
	}
	if len(parts) == 0 {
		return array.MakeArrayOfNull(mem, dt, n), nil
	}
	var values arrow.Array
	if len(parts) == 1 {
		values = parts[0]
		values.Retain()
	} else {
		var err error
		if values, err = array.Concatenate(parts, mem); err != nil {
			return nil, fmt.Errorf("expr: selecting values of type %s: %w", dt, err)
		}
	}
	defer values.Release()
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	ib.Reserve(n)
	for i := 0; i < n; i++ {
		if s := src[i]; s >= 0 {
			ib.UnsafeAppend(base[s] + rows[i])
		} else {
			ib.UnsafeAppendBoolToBitmap(false)
		}
	}
	idx := ib.NewArray()
	defer idx.Release()
	out, err := compute.TakeArray(exec.WithAllocator(context.Background(), mem), values, idx)
	if err != nil {
		return nil, fmt.Errorf("expr: selecting values of type %s: %w", dt, err)
	}
	return out, nil
}
