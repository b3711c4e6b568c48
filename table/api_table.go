package table

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// Table is a relation built with the Go Table API: an immutable logical
// plan (the same planner nodes the SQL binder builds) of one Environment.
// Operations return new Tables and never fail on the spot: the first error
// (an unknown column, a type mismatch) is kept on the result and returned
// by Explain, Execute, ExecuteInsert, Collect and CreateTemporaryView,
// naming the operation and the expression that caused it.
type Table struct {
	env  *Environment
	node planner.Node
	err  error
	// sort is set by OrderBy, Offset and Fetch, which refine one another:
	// the node is sort.in ordered and limited by the spec.
	sort *sortSpec
}

type sortSpec struct {
	in            planner.Node
	keys          []exec.SortKey
	offset, limit int64
	// err is the error of the current spec (a streaming ORDER BY without
	// Fetch), which a later Fetch can clear.
	err error
}

// Schema is the table's columns (empty when the table has an error).
func (t *Table) Schema() types.Schema {
	if t.node == nil {
		return types.Schema{}
	}
	return t.node.Schema()
}

// Err returns the table's first error, if any.
func (t *Table) Err() error {
	if t.err != nil {
		return t.err
	}
	if t.sort != nil {
		return t.sort.err
	}
	return nil
}

// Plan is the table's logical plan.
func (t *Table) Plan() (planner.Node, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	return t.node, nil
}

func (e *Environment) newTable(n planner.Node, err error) *Table {
	return &Table{env: e, node: n, err: err}
}

// derive applies one operation, keeping the first error, prefixed with
// the operation's name.
func (t *Table) derive(op string, fn func(in planner.Node) (planner.Node, error)) *Table {
	if err := t.Err(); err != nil {
		return &Table{env: t.env, err: err}
	}
	t.env.syncPlannerMode()
	n, err := fn(t.node)
	return &Table{env: t.env, node: n, err: opError(op, err)}
}

// opError prefixes err's message with the Table operation that failed.
func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*errs.Error); ok {
		cp := *e
		cp.Msg = op + ": " + e.Msg
		return &cp
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Select computes one column per item: expressions, optionally named with
// As; Col("*") expands to every column. Items with aggregates make it a
// global aggregation (SELECT SUM(x) FROM t).
func (t *Table) Select(items ...any) *Table {
	es := toExprs(items)
	for _, e := range es {
		if e.has(kAgg) {
			return (&GroupedTable{t: t}).Select(items...)
		}
	}
	return t.derive("Select", func(in planner.Node) (planner.Node, error) {
		return project(newScope(in.Schema()), in, es)
	})
}

// project plans the select items over in, as bindSelect's final Project.
func project(sc *scope, in planner.Node, items []Expression) (planner.Node, error) {
	var exprs []expr.Expr
	var names []string
	for _, item := range items {
		if item.n.kind == kStar {
			for i, c := range sc.cols {
				if sc.hidden[i] {
					continue
				}
				exprs = append(exprs, sc.ref(i))
				names = append(names, c.Name)
			}
			continue
		}
		r, err := sc.resolve(item)
		if err != nil {
			return nil, err
		}
		exprs = append(exprs, r)
		names = append(names, item.outputName(len(names)))
	}
	return &planner.Project{Input: in, Exprs: exprs, Names: planner.UniqueNames(names)}, nil
}

// Filter keeps the rows for which cond is TRUE (SQL WHERE).
func (t *Table) Filter(cond any) *Table {
	c := toExpr(cond)
	return t.derive("Filter", func(in planner.Node) (planner.Node, error) {
		r, err := newScope(in.Schema()).resolve(c)
		if err != nil {
			return nil, err
		}
		if k := r.Type().Kind; k != types.Boolean && k != types.Null {
			return nil, exprError(errs.DatatypeMismatch, c, "condition must be BOOLEAN, not %s", r.Type())
		}
		return &planner.Filter{Input: in, Condition: r}, nil
	})
}

// Where is Filter.
func (t *Table) Where(cond any) *Table { return t.Filter(cond) }

// AddColumns appends computed columns; their names must be new.
func (t *Table) AddColumns(items ...any) *Table {
	es := toExprs(items)
	return t.derive("AddColumns", func(in planner.Node) (planner.Node, error) {
		s := in.Schema()
		all := []Expression{Col("*")}
		for i, e := range es {
			name := e.outputName(s.Len() + i)
			if s.Index(name) >= 0 {
				return nil, exprError(errs.DuplicateColumn, e, "column '%s' already exists", name)
			}
			all = append(all, e)
		}
		return project(newScope(s), in, all)
	})
}

// DropColumns removes the named columns.
func (t *Table) DropColumns(cols ...any) *Table {
	es := toExprs(cols)
	return t.derive("DropColumns", func(in planner.Node) (planner.Node, error) {
		sc := newScope(in.Schema())
		drop := map[int]bool{}
		for _, e := range es {
			if e.n.kind != kCol {
				return nil, exprError(errs.InvalidPlan, e, "DropColumns takes column names")
			}
			i, err := sc.column(e)
			if err != nil {
				return nil, err
			}
			drop[i] = true
		}
		var keep []Expression
		for i, c := range sc.cols {
			if !drop[i] {
				keep = append(keep, Col(c.Name))
			}
		}
		return project(sc, in, keep)
	})
}

// RenameColumns renames columns: each item is Col(old).As(new).
func (t *Table) RenameColumns(renames ...Expression) *Table {
	return t.derive("RenameColumns", func(in planner.Node) (planner.Node, error) {
		sc := newScope(in.Schema())
		out := make([]string, len(sc.cols))
		for i, c := range sc.cols {
			out[i] = c.Name
		}
		for _, r := range renames {
			if r.n.kind != kAlias || r.n.args[0].n.kind != kCol {
				return nil, exprError(errs.InvalidPlan, r, "RenameColumns takes Col(old).As(new)")
			}
			i, err := sc.column(r.n.args[0])
			if err != nil {
				return nil, err
			}
			out[i] = r.n.name
		}
		return rename(in, out)
	})
}

// As renames every column, in order (Flink's Table.as).
func (t *Table) As(fields ...string) *Table {
	return t.derive("As", func(in planner.Node) (planner.Node, error) {
		if len(fields) != in.Schema().Len() {
			return nil, errs.New(errs.DatatypeMismatch, "%d names given for %d columns %s", len(fields), in.Schema().Len(), strings.Join(in.Schema().Names(), ", "))
		}
		return rename(in, fields)
	})
}

func rename(in planner.Node, to []string) (planner.Node, error) {
	s := in.Schema()
	exprs := make([]expr.Expr, s.Len())
	seen := map[string]bool{}
	for i, c := range s.Columns {
		if seen[to[i]] {
			return nil, errs.New(errs.DuplicateColumn, "column '%s' would appear twice", to[i])
		}
		seen[to[i]] = true
		exprs[i] = &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type}
	}
	return &planner.Project{Input: in, Exprs: exprs, Names: to}, nil
}

// Distinct removes duplicate rows (SELECT DISTINCT).
func (t *Table) Distinct() *Table {
	return t.derive("Distinct", func(in planner.Node) (planner.Node, error) {
		return planner.NewDistinct(in), nil
	})
}

// GroupBy groups rows by keys; aggregate in the result's Select.
func (t *Table) GroupBy(keys ...any) *GroupedTable {
	return &GroupedTable{t: t, keys: toExprs(keys)}
}

// GroupedTable is a table grouped by keys, optionally per group window.
type GroupedTable struct {
	t      *Table
	keys   []Expression
	window *GroupWindow
}

// Select computes the grouping keys and aggregates of each group (and
// window): SELECT items FROM t GROUP BY keys.
func (g *GroupedTable) Select(items ...any) *Table {
	es := toExprs(items)
	op := "GroupBy.Select"
	if g.window != nil {
		op = "Window.GroupBy.Select"
	}
	return g.t.derive(op, func(in planner.Node) (planner.Node, error) {
		keys := g.keys
		if g.window != nil {
			var err error
			if in, keys, es, err = g.window.plan(in, keys, es); err != nil {
				return nil, err
			}
		}
		a, sc, err := aggregate(newScope(in.Schema()), in, keys, es)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.n.kind == kStar {
				return nil, exprError(errs.GroupingError, e, "* is not allowed with GroupBy or aggregates")
			}
		}
		return project(sc, a, es)
	})
}

// aggregate plans GROUP BY keys with the aggregate calls of items, as the
// binder's bindAggregate: a projection of the keys and the calls'
// arguments, the Aggregate, and the scope binding items above it.
func aggregate(sc *scope, input planner.Node, keys, items []Expression) (planner.Node, *scope, error) {
	var calls []Expression
	var callTexts []string
	for _, item := range items {
		if err := collectAggregates(item, &calls, &callTexts); err != nil {
			return nil, nil, err
		}
	}
	ac := &aggScope{input: sc}
	var pre []expr.Expr
	var preNames, outNames []string
	for _, k := range keys {
		if k.has(kAgg) {
			return nil, nil, exprError(errs.GroupingError, k, "aggregate functions are not allowed in GroupBy")
		}
		e, err := sc.resolve(k)
		if err != nil {
			return nil, nil, err
		}
		col := -1
		name := fmt.Sprintf("EXPR$%d", len(pre))
		if ref, ok := e.(*expr.ColumnRef); ok {
			col, name = ref.Index, ref.Name
		}
		ac.groupText = append(ac.groupText, k.String())
		ac.groupCol = append(ac.groupCol, col)
		pre = append(pre, e)
		preNames = append(preNames, name)
		outNames = append(outNames, name)
	}
	keyCols := make([]int, len(pre))
	for i := range keyCols {
		keyCols[i] = i
	}
	var aggCalls []agg.Call
	for i, f := range calls {
		c := agg.Call{Func: f.n.name, Distinct: f.n.distinct, Filter: -1, Name: fmt.Sprintf("EXPR$%d", len(keyCols)+i)}
		if f.n.distinct && (len(f.n.args) == 0 || len(f.n.args) > 1 && f.n.name != "COUNT") {
			return nil, nil, exprError(errs.NotSupported, f, "DISTINCT %s takes one argument", f.n.name)
		}
		var argTypes []types.DataType
		for _, a := range f.n.args {
			e, err := sc.resolve(a)
			if err != nil {
				return nil, nil, err
			}
			c.Args = append(c.Args, len(pre))
			argTypes = append(argTypes, e.Type())
			pre = append(pre, e)
			preNames = append(preNames, fmt.Sprintf("$f%d", len(pre)-1))
		}
		// COUNT(DISTINCT a, b, ...) counts distinct tuples, as in SQL.
		resultType := agg.ResultType
		if f.n.distinct {
			resultType = agg.DistinctResultType
		}
		t, err := resultType(f.n.name, argTypes)
		if err != nil {
			return nil, nil, exprError(errs.DatatypeMismatch, f, "%v", err)
		}
		// A sketch cannot retract what an updating input takes back (as
		// in SQL, planner/bind_agg.go).
		if f.n.name == "APPROX_COUNT_DISTINCT" && input.Changelog() != planner.InsertOnly {
			return nil, nil, exprError(errs.NotSupported, f, "%v", agg.ApproxCountDistinctRetractionError())
		}
		c.Type = t
		aggCalls = append(aggCalls, c)
		outNames = append(outNames, c.Name)
	}
	node := &planner.Aggregate{
		Input: &planner.Project{Input: input, Exprs: pre, Names: planner.UniqueNames(preNames)},
		Keys:  keyCols, Calls: aggCalls, Names: planner.UniqueNames(outNames),
	}
	ac.callText = callTexts
	ac.out = newScope(node.Schema())
	out := newScope(node.Schema())
	out.agg = ac
	return node, out, nil
}

// joinOn plans a join of t and right on the conjunction of conds.
// With asOf set, it is a temporal join of right as of that left column.
func (t *Table) joinOn(op string, typ planner.JoinType, right *Table, asOf *Expression, conds []any) *Table {
	if right.env != t.env {
		return &Table{env: t.env, err: errs.New(errs.InvalidPlan, "%s: the tables belong to different environments", op)}
	}
	if err := right.Err(); err != nil {
		return &Table{env: t.env, err: err}
	}
	es := toExprs(conds)
	return t.derive(op, func(left planner.Node) (planner.Node, error) {
		j := &planner.Join{Left: left, Right: right.node, Type: typ, SystemTime: -1}
		if len(es) == 0 && typ != planner.InnerJoin {
			return nil, errs.New(errs.InvalidPlan, "an outer join needs a join condition")
		}
		if asOf != nil {
			at, err := newScope(left.Schema()).resolve(*asOf)
			if err != nil {
				return nil, err
			}
			if terr := j.SetTemporal(at); terr != nil {
				return nil, exprError(terr.Code, *asOf, "%s", terr.Msg)
			}
		}
		sc := newScope(types.Schema{Columns: append(append([]types.Column(nil), left.Schema().Columns...), right.node.Schema().Columns...)})
		for _, c := range es {
			r, err := sc.resolve(c)
			if err != nil {
				return nil, err
			}
			if r.Type().Kind != types.Boolean {
				return nil, exprError(errs.DatatypeMismatch, c, "join condition must be BOOLEAN, not %s", r.Type())
			}
			if j.Condition == nil {
				j.Condition = r
			} else if j.Condition, err = call(c, "AND", j.Condition, r); err != nil {
				return nil, err
			}
		}
		return j, nil
	})
}

// Join is an inner join with right on the conditions (none: a cross
// join). Column names the conditions use must be unique across both
// sides; rename with As or RenameColumns. A condition bounding the two
// sides' rowtimes against each other makes it an interval join, as in SQL.
func (t *Table) Join(right *Table, on ...any) *Table {
	return t.joinOn("Join", planner.InnerJoin, right, nil, on)
}

// LeftOuterJoin keeps every row of t.
func (t *Table) LeftOuterJoin(right *Table, on ...any) *Table {
	return t.joinOn("LeftOuterJoin", planner.LeftJoin, right, nil, on)
}

// RightOuterJoin keeps every row of right.
func (t *Table) RightOuterJoin(right *Table, on ...any) *Table {
	return t.joinOn("RightOuterJoin", planner.RightJoin, right, nil, on)
}

// FullOuterJoin keeps every row of both sides.
func (t *Table) FullOuterJoin(right *Table, on ...any) *Table {
	return t.joinOn("FullOuterJoin", planner.FullJoin, right, nil, on)
}

// TemporalJoin joins every row of t with the version of versioned that was
// current at t's time attribute asOf, SQL's
// JOIN versioned FOR SYSTEM_TIME AS OF t.asOf ON …: with a rowtime,
// versioned must be a versioned table (a primary key and a rowtime) and on
// must equate its primary key; with a proctime, versioned must be bounded
// (a lookup join).
func (t *Table) TemporalJoin(versioned *Table, asOf Expression, on ...any) *Table {
	return t.joinOn("TemporalJoin", planner.InnerJoin, versioned, &asOf, on)
}

// LeftOuterTemporalJoin is TemporalJoin keeping the rows of t that have no
// matching version, with NULLs for versioned's columns.
func (t *Table) LeftOuterTemporalJoin(versioned *Table, asOf Expression, on ...any) *Table {
	return t.joinOn("LeftOuterTemporalJoin", planner.LeftJoin, versioned, &asOf, on)
}

// JoinLateral joins every row of t with the rows the table function call
// produces for it (Flink's joinLateral; SQL's FROM t, LATERAL TABLE(...)):
// call is Call(name, args...) over t's columns, optionally named with
// As(col, ...); without names the columns are the function's. Rows
// without rows are dropped; conditions (over both sides' columns) filter
// the joined rows.
func (t *Table) JoinLateral(call Expression, on ...any) *Table {
	return t.joinLateral("JoinLateral", false, call, on)
}

// LeftOuterJoinLateral is JoinLateral keeping the rows of t for which the
// function produces no rows, once, with NULL function columns (Flink's
// leftOuterJoinLateral; SQL's LEFT JOIN LATERAL TABLE(...) ON TRUE). As
// in Flink, its only condition may be TRUE: Lit(true).
func (t *Table) LeftOuterJoinLateral(call Expression, on ...any) *Table {
	return t.joinLateral("LeftOuterJoinLateral", true, call, on)
}

func (t *Table) setOp(op string, other *Table, fn func(l, r planner.Node) (planner.Node, error)) *Table {
	if other.env != t.env {
		return &Table{env: t.env, err: errs.New(errs.InvalidPlan, "%s: the tables belong to different environments", op)}
	}
	if err := other.Err(); err != nil {
		return &Table{env: t.env, err: err}
	}
	return t.derive(op, func(l planner.Node) (planner.Node, error) { return fn(l, other.node) })
}

// UnionAll concatenates t and other (UNION ALL).
func (t *Table) UnionAll(other *Table) *Table { return t.setOp("UnionAll", other, planner.NewUnionAll) }

// Union is UNION: the distinct rows of both.
func (t *Table) Union(other *Table) *Table { return t.setOp("Union", other, planner.NewUnion) }

// Intersect is INTERSECT: the distinct rows in both.
func (t *Table) Intersect(other *Table) *Table {
	return t.setOp("Intersect", other, func(l, r planner.Node) (planner.Node, error) { return planner.NewIntersect(l, r, false) })
}

// Minus is EXCEPT: the distinct rows of t not in other.
func (t *Table) Minus(other *Table) *Table {
	return t.setOp("Minus", other, func(l, r planner.Node) (planner.Node, error) { return planner.NewIntersect(l, r, true) })
}

// OrderBy sorts by columns (Col("a").Desc() for descending). In batch mode
// it is a sort; in streaming mode it needs Fetch and becomes a Top-N, as
// ORDER BY ... LIMIT in SQL.
func (t *Table) OrderBy(keys ...any) *Table {
	if err := t.Err(); err != nil {
		return &Table{env: t.env, err: err}
	}
	sc := newScope(t.node.Schema())
	spec := &sortSpec{in: t.node, limit: -1}
	for _, k := range toExprs(keys) {
		desc := false
		if k.n.kind == kSort {
			desc = k.n.desc
			k = k.n.args[0]
		}
		if k.n.kind != kCol {
			return &Table{env: t.env, err: opError("OrderBy", exprError(errs.NotSupported, k, "OrderBy must name columns; add computed ones with AddColumns first"))}
		}
		i, err := sc.column(k)
		if err != nil {
			return &Table{env: t.env, err: opError("OrderBy", err)}
		}
		spec.keys = append(spec.keys, exec.SortKey{Col: i, Desc: desc, NullsFirst: !desc})
	}
	return t.withSort("OrderBy", spec)
}

// Offset skips the first n rows (of the order of OrderBy).
func (t *Table) Offset(n int64) *Table {
	return t.refineSort("Offset", func(s *sortSpec) { s.offset = n })
}

// Fetch keeps at most n rows (after Offset).
func (t *Table) Fetch(n int64) *Table {
	return t.refineSort("Fetch", func(s *sortSpec) { s.limit = n })
}

func (t *Table) refineSort(op string, fn func(*sortSpec)) *Table {
	if t.err != nil {
		return &Table{env: t.env, err: t.err}
	}
	spec := &sortSpec{in: t.node, limit: -1}
	if t.sort != nil {
		cp := *t.sort
		spec = &cp
	}
	fn(spec)
	return t.withSort(op, spec)
}

func (t *Table) withSort(op string, spec *sortSpec) *Table {
	if spec.offset < 0 {
		return &Table{env: t.env, err: errs.New(errs.InvalidPlan, "%s: the offset must not be negative", op)}
	}
	t.env.syncPlannerMode()
	n, err := t.env.planner.OrderLimit(spec.in, spec.keys, spec.offset, spec.limit)
	spec.err = opError(op, err)
	return &Table{env: t.env, node: n, sort: spec}
}
