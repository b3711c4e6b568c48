package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// aggContext resolves expressions above an Aggregate: grouped expressions
// and aggregate calls become references to the Aggregate's output; any
// other column reference is a grouping error.
type aggContext struct {
	input     *scope
	groupText []string // canonical text of each GROUP BY expression
	groupCol  []int    // input column of a GROUP BY column reference, or -1
	callText  []string // canonical text of each aggregate call
	out       types.Schema
	// windowKeys maps the hidden window columns of a legacy group window
	// to their group key index.
	windowKeys map[string]int
	// absent are the grouping expressions of other grouping sets, with
	// their types: they read as NULL in this set's query.
	absent      []string
	absentTypes []types.DataType
	// groupID is GROUP_ID() of the grouping set bound (0 outside sets).
	groupID int64
}

// lookup binds e if it is grouped or an aggregate call; ok is false when
// e must be bound from its parts.
func (s source) aggLookup(ac *aggContext, e sql.Expr) (expr.Expr, bool, error) {
	ref := func(i int) (expr.Expr, bool, error) {
		c := ac.out.Columns[i]
		return &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type}, true, nil
	}
	if bound, ok, err := s.absentGroup(ac, e); ok || err != nil {
		return bound, ok, err
	}
	text := sql.FormatExpr(e)
	for i, g := range ac.groupText {
		if g == text {
			return ref(i)
		}
	}
	if f, isCall := e.(*sql.FuncCall); isCall && groupWindowAux[f.Name] != "" {
		if i, ok := ac.windowKeys[groupWindowAux[f.Name]]; ok {
			return ref(i)
		}
		return nil, true, s.errAt(errs.GroupingError, f, "%s needs the query to GROUP BY the matching group window", f.Name)
	}
	if f, isCall := e.(*sql.FuncCall); isCall && agg.IsAggregate(f.Name) && !windowed(f) {
		for i, c := range ac.callText {
			if c == text {
				return ref(len(ac.groupText) + i)
			}
		}
		return nil, true, errs.Internalf("aggregate call %s was not collected", text)
	}
	if id, isIdent := e.(*sql.Ident); isIdent {
		col, fields, err := s.resolve(ac.input, id)
		if err != nil {
			return nil, true, err
		}
		for i, g := range ac.groupCol {
			if g == col {
				grouped, _, _ := ref(i)
				bound, err := s.fieldAccess(id, grouped, fields)
				return bound, true, err
			}
		}
		return nil, true, s.errAt(errs.GroupingError, id, "expression '%s' is not being grouped", id)
	}
	return nil, false, nil
}

// collectAggregates appends the aggregate calls in e (outside OVER
// windows) to calls, by canonical text, rejecting nested aggregates.
func (s source) collectAggregates(e sql.Expr, calls *[]*sql.FuncCall, texts *[]string) error {
	var err error
	walkSQL(e, func(n sql.Expr) bool {
		f, ok := n.(*sql.FuncCall)
		if !ok || !agg.IsAggregate(f.Name) || windowed(f) || err != nil {
			return err == nil
		}
		for _, a := range f.Args {
			walkSQL(a, func(inner sql.Expr) bool {
				if g, ok := inner.(*sql.FuncCall); ok && agg.IsAggregate(g.Name) && !windowed(g) && err == nil {
					err = s.errAt(errs.GroupingError, g, "aggregate function calls cannot be nested")
				}
				return err == nil
			})
		}
		text := sql.FormatExpr(f)
		for _, t := range *texts {
			if t == text {
				return false
			}
		}
		*calls = append(*calls, f)
		*texts = append(*texts, text)
		return false
	})
	return err
}

// hasAggregates reports whether any expression calls an aggregate function
// outside an OVER window.
func hasAggregates(es ...sql.Expr) bool {
	found := false
	for _, e := range es {
		walkSQL(e, func(n sql.Expr) bool {
			if f, ok := n.(*sql.FuncCall); ok && agg.IsAggregate(f.Name) && !windowed(f) {
				found = true
			}
			return !found
		})
	}
	return found
}

// bindAggregate plans GROUP BY and aggregate calls: a projection computing
// the grouping expressions and the calls' arguments and filters, the
// Aggregate over it, and the scope that binds SELECT and HAVING above it.
func (b *binder) bindAggregate(s *sql.Select, input Node, sc *scope) (Node, *scope, error) {
	var calls []*sql.FuncCall
	var callTexts []string
	for _, item := range s.Items {
		if item.Star {
			return nil, nil, b.errAt(errs.GroupingError, s, "SELECT * is not allowed with GROUP BY or aggregate functions")
		}
		if err := b.collectAggregates(item.Expr, &calls, &callTexts); err != nil {
			return nil, nil, err
		}
	}
	if s.Having != nil {
		if err := b.collectAggregates(s.Having, &calls, &callTexts); err != nil {
			return nil, nil, err
		}
	}
	// The aggregates of this query inside its subqueries
	// (bind_outer_aggregate.go), computed here too.
	outerCalls := map[string]bool{}
	for _, f := range b.outerAggregates(append(itemExprs(s.Items), s.Having), sc) {
		outerCalls[sql.FormatExpr(f)] = true
		if err := b.collectAggregates(f, &calls, &callTexts); err != nil {
			return nil, nil, err
		}
	}
	input, sc, groupBy, err := b.bindGroupWindow(s, input, sc)
	if err != nil {
		return nil, nil, err
	}
	ac := &aggContext{input: sc, windowKeys: map[string]int{}, groupID: b.groupID}
	for _, g := range b.absentGroups {
		e, err := b.bindExpr(sc, g)
		if err != nil {
			return nil, nil, err
		}
		ac.absent = append(ac.absent, sql.FormatExpr(g))
		ac.absentTypes = append(ac.absentTypes, e.Type())
	}
	var pre []expr.Expr
	var preNames, outNames []string
	for _, g := range groupBy {
		if id, ok := g.(*sql.Ident); ok && len(id.Parts) == 1 && strings.HasPrefix(id.Parts[0], "$window_") {
			ac.windowKeys[id.Parts[0]] = len(pre)
		}
		if hasAggregates(g) {
			return nil, nil, b.errAt(errs.GroupingError, g, "aggregate functions are not allowed in GROUP BY")
		}
		e, err := b.bindExpr(sc, g)
		if err != nil {
			return nil, nil, err
		}
		col := -1
		name := fmt.Sprintf("EXPR$%d", len(pre))
		if ref, ok := e.(*expr.ColumnRef); ok {
			col, name = ref.Index, ref.Name
		}
		ac.groupText = append(ac.groupText, sql.FormatExpr(g))
		ac.groupCol = append(ac.groupCol, col)
		pre = append(pre, e)
		preNames = append(preNames, name)
		outNames = append(outNames, name)
	}
	keys := make([]int, len(pre))
	for i := range keys {
		keys[i] = i
	}
	windowRetracts := input.Changelog() != InsertOnly && groupsByWindow(input, pre, ac.windowKeys)
	var aggCalls []agg.Call
	for i, f := range calls {
		call := agg.Call{Func: f.Name, Distinct: f.Distinct, Filter: -1, Name: fmt.Sprintf("EXPR$%d", len(keys)+i)}
		if windowRetracts {
			if err := b.checkWindowRetracts(f); err != nil {
				return nil, nil, err
			}
		}
		if f.Star && f.Name != "COUNT" {
			return nil, nil, b.errAt(errs.GroupingError, f, "only COUNT accepts *")
		}
		// COUNT(DISTINCT e1, e2, ...) counts distinct tuples, as in Flink;
		// every other aggregate takes one DISTINCT argument.
		if f.Distinct && (len(f.Args) == 0 || (len(f.Args) > 1 && f.Name != "COUNT")) {
			return nil, nil, b.errAt(errs.NotSupported, f, "DISTINCT %s takes one argument", f.Name)
		}
		var argTypes []types.DataType
		for _, a := range f.Args {
			e, err := b.bindExpr(sc, a)
			if err != nil {
				return nil, nil, err
			}
			call.Args = append(call.Args, len(pre))
			argTypes = append(argTypes, e.Type())
			pre = append(pre, e)
			preNames = append(preNames, fmt.Sprintf("$f%d", len(pre)-1))
		}
		if f.Filter != nil {
			cond, err := b.bindExpr(sc, f.Filter)
			if err != nil {
				return nil, nil, err
			}
			if cond.Type().Kind != types.Boolean {
				return nil, nil, b.errAt(errs.DatatypeMismatch, f.Filter, "FILTER condition must be BOOLEAN, not %s", cond.Type())
			}
			call.Filter = len(pre)
			pre = append(pre, cond)
			preNames = append(preNames, fmt.Sprintf("$f%d", len(pre)-1))
		}
		resultType := agg.ResultType
		if f.Distinct {
			resultType = agg.DistinctResultType
		}
		t, err := resultType(f.Name, argTypes)
		if err != nil {
			return nil, nil, b.errAt(errs.DatatypeMismatch, f, "%v", err)
		}
		// A group aggregate over an updating input retracts; window
		// aggregates, which only form over insert-only inputs, never do.
		if f.Name == "APPROX_COUNT_DISTINCT" && input.Changelog() != InsertOnly {
			return nil, nil, b.errAt(errs.NotSupported, f, "%v", agg.ApproxCountDistinctRetractionError())
		}
		call.Type = t
		aggCalls = append(aggCalls, call)
		outNames = append(outNames, call.Name)
	}
	node := &Aggregate{
		Input: &Project{Input: input, Exprs: pre, Names: uniqueNames(preNames)},
		Keys:  keys, Calls: aggCalls, Names: uniqueNames(outNames),
		TimeAttrKeys: windowTimeKeys(input, pre, len(keys)),
	}
	ac.callText = callTexts
	ac.out = node.Schema()
	out := newScope("", ac.out)
	out.agg = ac
	for i, f := range calls {
		if outerCalls[callTexts[i]] {
			out.cols[len(keys)+i].name = outerAggregateName(f)
		}
	}
	return node, out, nil
}

// windowRetractable are the built-in aggregate functions whose window
// accumulators retract the -U/-D rows of an updating input (exec's
// retractingAcc), as Flink's *WithRetractAggFunction do.
var windowRetractable = map[string]bool{
	"COUNT": true, "SUM": true, "AVG": true, "MIN": true, "MAX": true,
	"FIRST_VALUE": true, "LAST_VALUE": true, "LISTAGG": true,
	"STDDEV_POP": true, "STDDEV_SAMP": true, "STDDEV": true, "VAR_POP": true, "VAR_SAMP": true, "VARIANCE": true,
}

// checkWindowRetracts refuses a call of a window aggregate over an
// updating input that cannot retract rows from its windows: a Go
// aggregate function without Retract (Flink requires retract() of an
// aggregate over updates) or a built-in without a retracting window
// accumulator.
func (b *binder) checkWindowRetracts(f *sql.FuncCall) error {
	if u, user := agg.User(f.Name); user {
		if !u.Retracts() {
			return b.errAt(errs.NotSupported, f,
				"aggregate function %s is not supported in a window aggregate over an updating input: it has no Retract", f.Name)
		}
		return nil
	}
	if !windowRetractable[f.Name] {
		return b.errAt(errs.NotSupported, f,
			"%s is not supported in a window aggregate over an updating input: it cannot retract rows from its windows", f.Name)
	}
	return nil
}

// groupsByWindow reports whether a GROUP BY of the group expressions
// keys over input is a window aggregate: it groups by a legacy group
// window (windowKeys holds its window columns), or by the window_start
// and window_end of a window table function input (through filters and
// projections), as the optimizer's ConvertWindowAggregate finds it.
func groupsByWindow(input Node, keys []expr.Expr, windowKeys map[string]int) bool {
	if _, ok := windowKeys[groupWindowStart]; ok {
		return true
	}
	var cols []int
	for _, k := range keys {
		if c, ok := k.(*expr.ColumnRef); ok {
			cols = append(cols, c.Index)
		}
	}
	for {
		switch n := input.(type) {
		case *Filter:
			input = n.Input
			continue
		case *Project:
			var in []int
			for _, c := range cols {
				if r, ok := n.Exprs[c].(*expr.ColumnRef); ok {
					in = append(in, r.Index)
				}
			}
			cols, input = in, n.Input
			continue
		case *WindowTableFunction:
			width := n.Input.Schema().Len()
			start, end := false, false
			for _, c := range cols {
				start, end = start || c == width, end || c == width+1
			}
			return start && end
		}
		return false
	}
}

// walkSQL visits e and its sub-expressions, parents first, descending
// while fn returns true. Subqueries are not entered.
func walkSQL(e sql.Expr, fn func(sql.Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	var kids []sql.Expr
	switch n := e.(type) {
	case *sql.Unary:
		kids = []sql.Expr{n.Expr}
	case *sql.Binary:
		kids = []sql.Expr{n.Left, n.Right}
	case *sql.FuncCall:
		kids = append(append(kids, n.Args...), n.Filter)
	case *sql.Cast:
		kids = []sql.Expr{n.Expr}
	case *sql.Case:
		kids = append(kids, n.Operand, n.Else)
		for _, w := range n.Whens {
			kids = append(kids, w.Cond, w.Result)
		}
	case *sql.InList:
		kids = append([]sql.Expr{n.Expr}, n.List...)
	case *sql.Between:
		kids = []sql.Expr{n.Expr, n.Low, n.High}
	case *sql.Like:
		kids = []sql.Expr{n.Expr, n.Pattern, n.Escape}
	case *sql.IsNull:
		kids = []sql.Expr{n.Expr}
	case *sql.IsBool:
		kids = []sql.Expr{n.Expr}
	case *sql.Extract:
		kids = []sql.Expr{n.Expr}
	case *sql.Index:
		kids = []sql.Expr{n.Expr, n.Index}
	case *sql.FieldAccess:
		kids = []sql.Expr{n.Expr}
	case *sql.ArrayCtor:
		kids = n.Elems
	case *sql.Quantified:
		kids = []sql.Expr{n.Expr}
	case *sql.RowCtor:
		kids = n.Fields
	case *sql.MapCtor:
		kids = append(append(kids, n.Keys...), n.Values...)
	}
	for _, k := range kids {
		if k != nil {
			walkSQL(k, fn)
		}
	}
}

// windowed reports whether a call has an OVER clause, inline or naming a
// window of the WINDOW clause: then it is a window function, not a group
// aggregate.
func windowed(f *sql.FuncCall) bool { return f.Over != nil || f.OverName != "" }
