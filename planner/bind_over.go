package planner

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// windowedCalls collects the calls with an OVER clause in the select
// items, by canonical text.
func windowedCalls(items []sql.SelectItem) ([]*sql.FuncCall, []string) {
	var calls []*sql.FuncCall
	var texts []string
	for _, it := range items {
		walkSQL(it.Expr, func(n sql.Expr) bool {
			f, ok := n.(*sql.FuncCall)
			if !ok || (f.Over == nil && f.OverName == "") {
				return true
			}
			text := sql.FormatExpr(f)
			for _, t := range texts {
				if t == text {
					return false
				}
			}
			calls = append(calls, f)
			texts = append(texts, text)
			return false
		})
	}
	return calls, texts
}

// bindOver plans the window function calls of a SELECT: a projection
// adding the expressions they read that are not plain columns, then an
// Over node appending one column per call. The returned scope binds the
// select items over the Over node's output, with each call mapped to its
// column.
func (b *binder) bindOver(s *sql.Select, input Node, sc *scope) (Node, *scope, error) {
	calls, texts := windowedCalls(s.Items)
	if len(calls) == 0 {
		return input, sc, nil
	}
	in := input.Schema()
	var extra []expr.Expr
	column := func(e expr.Expr) int {
		if c, ok := e.(*expr.ColumnRef); ok {
			return c.Index
		}
		extra = append(extra, e)
		return in.Len() + len(extra) - 1
	}
	named := map[string]*sql.WindowSpec{}
	for _, w := range s.Windows {
		named[w.Name] = w
	}
	var overCalls []OverCall
	for i, f := range calls {
		w := f.Over
		if w == nil {
			if w = named[f.OverName]; w == nil {
				return nil, nil, b.errAt(errs.UndefinedObject, f, "window '%s' is not defined", f.OverName)
			}
		}
		if w.Ref != "" {
			base := named[w.Ref]
			if base == nil {
				return nil, nil, b.errAt(errs.UndefinedObject, f, "window '%s' is not defined", w.Ref)
			}
			merged := *base
			if len(w.OrderBy) > 0 {
				merged.OrderBy = w.OrderBy
			}
			if w.Frame != nil {
				merged.Frame = w.Frame
			}
			w = &merged
		}
		call := OverCall{Func: f.Name, Preceding: -1, Name: fmt.Sprintf("w0$o%d", i)}
		var argTypes []types.DataType
		for j, a := range f.Args {
			e, err := b.bindExpr(sc, a)
			if err != nil {
				return nil, nil, err
			}
			if j == 2 && (agg.IsOverFunction(f.Name) || f.Name == "LEAD") && !e.Type().EqualIgnoringNull(argTypes[0]) {
				// LAG's and LEAD's default takes the type of its value.
				if e, err = expr.NewCast(e, argTypes[0].WithNullable(e.Type().Nullable()), false); err != nil {
					return nil, nil, b.errAt(errs.DatatypeMismatch, a, "the default of %s: %v", f.Name, err)
				}
			}
			call.Args = append(call.Args, column(e))
			argTypes = append(argTypes, e.Type())
		}
		for _, p := range w.PartitionBy {
			e, err := b.bindExpr(sc, p)
			if err != nil {
				return nil, nil, err
			}
			call.Partition = append(call.Partition, column(e))
		}
		for _, o := range w.OrderBy {
			e, err := b.bindExpr(sc, o.Expr)
			if err != nil {
				return nil, nil, err
			}
			nullsFirst := !o.Desc
			if o.NullsFirst != nil {
				nullsFirst = *o.NullsFirst
			}
			call.Order = append(call.Order, exec.SortKey{Col: column(e), Desc: o.Desc, NullsFirst: nullsFirst})
		}
		switch {
		case call.IsRanking():
			if len(f.Args) > 0 {
				return nil, nil, b.errAt(errs.DatatypeMismatch, f, "%s takes no arguments", f.Name)
			}
			if len(call.Order) == 0 {
				return nil, nil, b.errAt(errs.InvalidPlan, f, "%s needs an ORDER BY in its OVER clause", f.Name)
			}
			call.Type = types.BigIntType.WithNullable(false)
		case agg.IsOverFunction(f.Name):
			if err := b.checkLag(f); err != nil {
				return nil, nil, err
			}
			// Batch mode computes LAG over sorted partitions, in any order
			// (see below).
			if !b.batch {
				if err := b.checkLagOrder(f, call, append(append([]types.Column(nil), in.Columns...), exprColumns(extra)...)); err != nil {
					return nil, nil, err
				}
			}
			t, err := agg.ResultType(f.Name, argTypes)
			if err != nil {
				return nil, nil, b.errAt(errs.DatatypeMismatch, f, "%v", err)
			}
			call.Type = t
			if err := b.bindFrame(f, w, &call); err != nil {
				return nil, nil, err
			}
		case agg.IsAggregate(f.Name):
			if f.Filter != nil {
				// Flink's Calcite validates OVER(FILTER(agg), window) and
				// finds no aggregate under the OVER. The SQL parser
				// already refuses it; this keeps any other AST honest.
				return nil, nil, b.errAt(errs.InvalidPlan, f,
					"FILTER is not allowed in an OVER aggregate: OVER must be applied to aggregate function, as in Flink; move the condition into the argument (%s(CASE WHEN ... THEN ... END) OVER ...)", f.Name)
			}
			// COUNT(DISTINCT e1, e2, ...) counts distinct tuples, as in
			// group aggregates.
			if f.Distinct && (len(f.Args) == 0 || (len(f.Args) > 1 && f.Name != "COUNT")) {
				return nil, nil, b.errAt(errs.NotSupported, f, "DISTINCT %s takes one argument", f.Name)
			}
			call.Distinct = f.Distinct
			resultType := agg.ResultType
			if f.Distinct {
				resultType = agg.DistinctResultType
			}
			t, err := resultType(f.Name, argTypes)
			if err != nil {
				return nil, nil, b.errAt(errs.DatatypeMismatch, f, "%v", err)
			}
			call.Type = t
			if err := b.bindFrame(f, w, &call); err != nil {
				return nil, nil, err
			}
			// A bounded frame retracts the rows leaving it, and so does an
			// updating input: a sketch can do neither.
			if f.Name == "APPROX_COUNT_DISTINCT" && (call.Preceding >= 0 || input.Changelog() != InsertOnly) {
				return nil, nil, b.errAt(errs.NotSupported, f, "%v", agg.ApproxCountDistinctRetractionError())
			}
		case agg.IsPartitionFunction(f.Name):
			t, err := b.bindPartitionFunction(f, w, call, argTypes)
			if err != nil {
				return nil, nil, err
			}
			call.Type = t
		default:
			return nil, nil, b.errAt(errs.UndefinedFunction, f, "%s is not a window or aggregate function", f.Name)
		}
		overCalls = append(overCalls, call)
	}
	// In batch mode the window functions run over whole sorted partitions,
	// as Flink's batch OVER does: in a batch Over of their own, above the
	// Over of the OVER aggregates when there are some.
	var aggCalls, sortedCalls []OverCall
	var aggAt, sortedAt []int // their positions in calls
	for i, c := range overCalls {
		if b.batch && agg.IsSortedFunction(c.Func) {
			sortedCalls, sortedAt = append(sortedCalls, c), append(sortedAt, i)
		} else {
			aggCalls, aggAt = append(aggCalls, c), append(aggAt, i)
		}
	}
	// One sort serves the window functions that share PARTITION BY and
	// ORDER BY: each such group runs in a batch Over of its own, stacked.
	var groups [][]int // indices into sortedCalls
	for j, c := range sortedCalls {
		g := 0
		for g < len(groups) && !sameKeys(c, sortedCalls[groups[g][0]]) {
			g++
		}
		if g == len(groups) {
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], j)
	}
	node := input
	if len(extra) > 0 {
		exprs := append(columnRefsOf(in), extra...)
		names := in.Names()
		for i := range extra {
			names = append(names, fmt.Sprintf("$over%d", i))
		}
		node = &Project{Input: input, Exprs: exprs, Names: names}
	}
	// Each Over appends its calls' columns and keeps its input's, so a
	// batch Over reads the same columns above the aggregates' Over and
	// the batch Overs below it.
	base := node.Schema().Len()
	cols := make([]int, len(overCalls)) // the output column of each call
	if len(aggCalls) > 0 {
		node = &Over{Input: node, Calls: aggCalls}
		for j, i := range aggAt {
			cols[i] = base + j
		}
	}
	next := base + len(aggCalls)
	for _, g := range groups {
		group := make([]OverCall, len(g))
		for k, j := range g {
			group[k] = sortedCalls[j]
			cols[sortedAt[j]] = next
			next++
		}
		node = &Over{Input: node, Calls: group, Batch: true}
	}
	out := node.Schema()
	osc := &scope{cols: append([]scopeColumn(nil), sc.cols...), over: map[string]int{}}
	for i := len(sc.cols); i < out.Len(); i++ {
		osc.cols = append(osc.cols, scopeColumn{name: out.Columns[i].Name, typ: out.Columns[i].Type, hidden: true})
	}
	for i, t := range texts {
		osc.over[t] = cols[i]
	}
	return node, osc, nil
}

// bindFrame reads an OVER aggregate's frame: Flink supports frames ending
// at the current row. Ordered by one ascending time attribute, any such
// frame; ordered by other columns, frames from UNBOUNDED PRECEDING and
// ROWS n PRECEDING (the optimizer checks).
func (b *binder) bindFrame(f *sql.FuncCall, w *sql.WindowSpec, call *OverCall) error {
	if len(call.Order) == 0 {
		return b.errAt(errs.NotSupported, f, "OVER aggregates need an ORDER BY in their OVER clause")
	}
	fr := w.Frame
	if fr == nil {
		return nil // RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
	}
	call.Rows = fr.Rows
	// A frame written without BETWEEN has the zero End, meaning CURRENT ROW.
	if fr.End.Kind != sql.CurrentRow && fr.End.Kind != sql.UnboundedPreceding {
		return b.errAt(errs.NotSupported, f, "OVER frames must end at CURRENT ROW")
	}
	switch fr.Start.Kind {
	case sql.UnboundedPreceding:
		call.Preceding = -1
	case sql.CurrentRow:
		call.Preceding = 0
	case sql.Preceding:
		e, err := b.bindExpr(&scope{}, fr.Start.Offset)
		if err != nil {
			return err
		}
		lit, ok := e.(*expr.Literal)
		switch {
		case !ok || lit.Value == nil:
			return b.errAt(errs.DatatypeMismatch, fr.Start.Offset, "the PRECEDING bound must be a constant")
		case fr.Rows && lit.T.IsInteger():
			call.Preceding = lit.Value.(int64)
		case !fr.Rows && lit.T.Kind == types.IntervalDayTime:
			call.Preceding = lit.Value.(int64)
		default:
			return b.errAt(errs.DatatypeMismatch, fr.Start.Offset, "a ROWS frame takes a row count and a RANGE frame an interval, not %s", lit.T)
		}
	default:
		return b.errAt(errs.NotSupported, f, "OVER frames must start before the current row")
	}
	return nil
}

// checkLag checks LAG(value [, offset [, default]]): the offset is a
// constant.
func (b *binder) checkLag(f *sql.FuncCall) error {
	if f.Distinct || f.Filter != nil {
		return b.errAt(errs.DatatypeMismatch, f, "%s takes neither DISTINCT nor FILTER", f.Name)
	}
	if len(f.Args) > 1 {
		if _, ok := f.Args[1].(*sql.Literal); !ok {
			return b.errAt(errs.DatatypeMismatch, f.Args[1], "the offset of %s must be an integer literal", f.Name)
		}
	}
	return nil
}

// checkLagOrder checks that a streaming LAG's window is ordered by a time
// attribute, whose operator accumulates each partition's rows in order
// (the rows before a row are then final).
func (b *binder) checkLagOrder(f *sql.FuncCall, call OverCall, cols []types.Column) error {
	if len(call.Order) != 1 || cols[call.Order[0].Col].Type.TimeAttr == types.NoTimeAttr || call.Order[0].Desc {
		return b.errAt(errs.NotSupported, f, "%s is supported only in OVER windows ordered by a time attribute ascending", f.Name)
	}
	return nil
}

// exprColumns types the extra expressions an Over node's projection adds.
func exprColumns(es []expr.Expr) []types.Column {
	out := make([]types.Column, len(es))
	for i, e := range es {
		out[i] = types.Column{Type: e.Type()}
	}
	return out
}

// bindPartitionFunction checks a call of LEAD(value [, offset [,
// default]]), NTILE(n), PERCENT_RANK() or CUME_DIST() and returns its
// type. They need the rows after the current one, or the size of its
// whole partition, which an unbounded stream never completes: as in
// Flink, they run only in batch mode. As in Calcite, they need an ORDER
// BY and take no frame; LEAD's offset and NTILE's bucket count are
// literals.
func (b *binder) bindPartitionFunction(f *sql.FuncCall, w *sql.WindowSpec, call OverCall, argTypes []types.DataType) (types.DataType, error) {
	if !b.batch {
		needs := "the whole partition of the current row"
		if f.Name == "LEAD" {
			needs = "the rows after the current one"
		}
		return types.DataType{}, b.errAt(errs.NotSupported, f,
			"%s is supported only in batch mode (SET 'execution.runtime-mode' = 'batch'), as in Flink: it needs %s, which a stream never completes", f.Name, needs)
	}
	if f.Distinct || f.Filter != nil {
		return types.DataType{}, b.errAt(errs.DatatypeMismatch, f, "%s takes neither DISTINCT nor FILTER", f.Name)
	}
	if len(call.Order) == 0 {
		return types.DataType{}, b.errAt(errs.InvalidPlan, f, "%s needs an ORDER BY in its OVER clause", f.Name)
	}
	if w.Frame != nil {
		return types.DataType{}, b.errAt(errs.InvalidPlan, f, "%s takes no window frame (ROWS or RANGE)", f.Name)
	}
	switch {
	case f.Name == "LEAD" && len(f.Args) > 1:
		if _, ok := f.Args[1].(*sql.Literal); !ok {
			return types.DataType{}, b.errAt(errs.DatatypeMismatch, f.Args[1], "the offset of LEAD must be an integer literal")
		}
	case f.Name == "NTILE" && len(f.Args) == 1:
		lit, ok := f.Args[0].(*sql.Literal)
		if !ok {
			return types.DataType{}, b.errAt(errs.DatatypeMismatch, f.Args[0], "the argument of NTILE must be a positive integer literal")
		}
		if n, err := strconv.ParseInt(lit.Text, 10, 64); err != nil || n <= 0 {
			return types.DataType{}, b.errAt(errs.DatatypeMismatch, f.Args[0], "the argument of NTILE must be a positive integer literal")
		}
	}
	t, err := agg.PartitionFunctionType(f.Name, argTypes)
	if err != nil {
		return types.DataType{}, b.errAt(errs.DatatypeMismatch, f, "%v", err)
	}
	return t, nil
}

// sameKeys reports whether two calls have the same PARTITION BY and ORDER
// BY.
func sameKeys(a, b OverCall) bool {
	return slices.Equal(a.Partition, b.Partition) && slices.Equal(a.Order, b.Order)
}
