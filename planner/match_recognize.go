package planner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// MatchRecognize is MATCH_RECOGNIZE with ONE ROW PER MATCH (Flink's
// LogicalMatch): per partition, rows ordered by a time attribute are
// matched against Pattern; each match emits the partition columns and
// the measures. Its output is insert-only.
type MatchRecognize struct {
	Input     Node
	Partition []int
	Order     []exec.SortKey
	Vars      []string
	Pattern   []exec.MatchPatternTerm
	// Defines has one entry per variable; Cond is nil for a variable
	// without DEFINE (always true). Cond reads the input columns (the
	// current row) then one column per entry of Navs, then of Aggs.
	Defines []MatchDefine
	// Measures are expressions over MeasureNavs then MeasureAggs (column
	// k: MeasureNavs[k], column len(MeasureNavs)+j: MeasureAggs[j]).
	MeasureNavs  []exec.MatchNav
	MeasureAggs  []MatchAgg
	Measures     []expr.Expr
	MeasureNames []string
	After        string
	AfterVar     int
	// Within is the WITHIN interval in milliseconds, 0 when absent.
	Within int64
}

// MatchDefine is a pattern variable's condition, its navigations and its
// aggregates.
type MatchDefine struct {
	Cond expr.Expr
	Navs []exec.MatchNav
	Aggs []MatchAgg
}

// MatchAgg is an aggregate over the rows of a match mapped to Var (-1:
// all rows), its arguments expressions over the input columns.
type MatchAgg struct {
	Func string
	Var  int
	Args []expr.Expr
	Type types.DataType
}

var _ Node = (*MatchRecognize)(nil)

func (m *MatchRecognize) Schema() types.Schema {
	in := m.Input.Schema()
	var out types.Schema
	for _, c := range m.Partition {
		col := in.Columns[c]
		col.Type = col.Type.WithTimeAttr(types.NoTimeAttr)
		out.Columns = append(out.Columns, col)
	}
	for i, ms := range m.Measures {
		out.Columns = append(out.Columns, types.Column{Name: m.MeasureNames[i], Type: ms.Type()})
	}
	return out
}

func (m *MatchRecognize) Children() []Node         { return []Node{m.Input} }
func (m *MatchRecognize) Changelog() ChangelogMode { return InsertOnly }
func (m *MatchRecognize) Bounded() bool            { return m.Input.Bounded() }
func (m *MatchRecognize) WithChildren(c ...Node) Node {
	mustChildren("MatchRecognize", c, 1)
	cp := *m
	cp.Input = c[0]
	return &cp
}

// ProcTime reports whether rows are ordered by processing time.
func (m *MatchRecognize) ProcTime() bool {
	return m.Input.Schema().Columns[m.Order[0].Col].Type.TimeAttr == types.ProctimeAttr
}

func (m *MatchRecognize) Describe() string {
	in := m.Input.Schema()
	var pat []string
	for _, t := range m.Pattern {
		q := ""
		switch {
		case t.Min == 1 && t.Max == 1:
		case t.Min == 0 && t.Max < 0:
			q = "*"
		case t.Min == 1 && t.Max < 0:
			q = "+"
		case t.Min == 0 && t.Max == 1:
			q = "?"
		case t.Max < 0:
			q = fmt.Sprintf("{%d,}", t.Min)
		case t.Min == t.Max:
			q = fmt.Sprintf("{%d}", t.Min)
		default:
			q = fmt.Sprintf("{%d,%d}", t.Min, t.Max)
		}
		if t.Reluctant {
			q += "?"
		}
		pat = append(pat, m.Vars[t.Var]+q)
	}
	var ms []string
	for i, e := range m.Measures {
		ms = append(ms, e.String()+" AS "+m.MeasureNames[i])
	}
	after := m.After
	if after == "first" || after == "last" {
		after += " " + m.Vars[m.AfterVar]
	}
	within := ""
	if m.Within > 0 {
		within = fmt.Sprintf(", within=[%dms]", m.Within)
	}
	return fmt.Sprintf("Match(partitionBy=[%s], orderBy=[%s], measures=[%s], after=[%s], pattern=[%s]%s)",
		columnNames(in, m.Partition), sortKeys(in, m.Order), strings.Join(ms, ", "), after, strings.Join(pat, " "), within)
}

// aggString prints an aggregate of the measures for EXPLAIN, as Flink's
// SUM(A.price).
func aggString(in types.Schema, vars []string, a MatchAgg) string {
	v := "*"
	if a.Var >= 0 {
		v = vars[a.Var]
	}
	var args []string
	for _, e := range a.Args {
		args = append(args, expr.Rewrite(e, func(e expr.Expr) expr.Expr {
			if c, ok := e.(*expr.ColumnRef); ok {
				cp := *c
				cp.Name = v + "." + in.Columns[c.Index].Name
				return &cp
			}
			return e
		}).String())
	}
	if len(args) == 0 {
		args = []string{"*"}
	}
	return fmt.Sprintf("%s(%s)", a.Func, strings.Join(args, ", "))
}

func navString(in types.Schema, vars []string, n exec.MatchNav) string {
	v := "*"
	if n.Var >= 0 {
		v = vars[n.Var]
	}
	return fmt.Sprintf("%s(%s.%s, %d)", strings.ToUpper(n.Kind), v, in.Columns[n.Col].Name, n.Offset)
}

// bindMatchRecognize plans input MATCH_RECOGNIZE (...) AS alias.
func (b *binder) bindMatchRecognize(n *sql.MatchRecognizeRef) (Node, *scope, error) {
	in, _, err := b.bindFrom(n.Input)
	if err != nil {
		return nil, nil, err
	}
	if in.Changelog() != InsertOnly {
		return nil, nil, b.errAt(errs.NotSupported, n, "MATCH_RECOGNIZE needs an insert-only input")
	}
	schema := in.Schema()
	sc := newScope("", schema)
	if n.AllRows {
		return nil, nil, b.errAt(errs.NotSupported, n, "ALL ROWS PER MATCH is not supported: MATCH_RECOGNIZE emits ONE ROW PER MATCH, as in Flink")
	}
	m := &MatchRecognize{Input: in, After: "past-last-row"}
	if n.Within != nil {
		// Flink takes a constant interval of millisecond resolution.
		e, err := b.bindExpr(&scope{}, n.Within)
		if err != nil {
			return nil, nil, err
		}
		lit, ok := e.(*expr.Literal)
		if !ok || lit.T.Kind != types.IntervalDayTime || lit.Value == nil {
			return nil, nil, b.errAt(errs.NotSupported, n.Within, "WITHIN needs a DAY-TIME interval (millisecond resolution), not %s", e.Type())
		}
		if m.Within = lit.Value.(int64); m.Within <= 0 {
			return nil, nil, b.errAt(errs.InvalidPlan, n.Within, "the WITHIN interval must be positive")
		}
	}
	column := func(e sql.Expr, what string) (int, error) {
		id, ok := e.(*sql.Ident)
		if !ok || len(id.Parts) != 1 {
			return 0, b.errAt(errs.NotSupported, e, "MATCH_RECOGNIZE %s must be a column", what)
		}
		return b.resolveColumn(sc, id)
	}
	for _, e := range n.PartitionBy {
		c, err := column(e, "PARTITION BY")
		if err != nil {
			return nil, nil, err
		}
		m.Partition = append(m.Partition, c)
	}
	for _, o := range n.OrderBy {
		c, err := column(o.Expr, "ORDER BY")
		if err != nil {
			return nil, nil, err
		}
		k := exec.SortKey{Col: c, Desc: o.Desc, NullsFirst: !o.Desc}
		if o.NullsFirst != nil {
			k.NullsFirst = *o.NullsFirst
		}
		m.Order = append(m.Order, k)
	}
	if len(m.Order) == 0 || m.Order[0].Desc || schema.Columns[m.Order[0].Col].Type.TimeAttr == types.NoTimeAttr {
		return nil, nil, b.errAt(errs.InvalidPlan, n, "MATCH_RECOGNIZE must be ordered by a time attribute (rowtime or proctime) ascending first")
	}
	varIndex := map[string]int{}
	for _, t := range n.Pattern {
		v, ok := varIndex[t.Var]
		if !ok {
			v = len(m.Vars)
			varIndex[t.Var] = v
			m.Vars = append(m.Vars, t.Var)
		}
		m.Pattern = append(m.Pattern, exec.MatchPatternTerm{Var: v, Min: t.Min, Max: t.Max, Reluctant: t.Reluctant})
	}
	empty := true
	for _, t := range n.Pattern {
		if t.Min == 0 && t.Max == 1 && t.Reluctant {
			return nil, nil, b.errAt(errs.NotSupported, n, "Reluctant optional variables are not supported yet (%s??)", t.Var)
		}
		empty = empty && t.Min == 0
	}
	if empty {
		return nil, nil, b.errAt(errs.NotSupported, n, "Patterns that can produce empty matches are not supported. There must be at least one non-optional state.")
	}
	if last := n.Pattern[len(n.Pattern)-1]; last.Min != last.Max && !last.Reluctant {
		return nil, nil, b.errAt(errs.NotSupported, n, "Greedy quantifiers are not allowed as the last element of a Pattern yet. Finish your pattern with either a simple variable or reluctant quantifier.")
	}
	switch n.AfterMatch.Kind {
	case sql.SkipToNextRow:
		m.After = "next-row"
	case sql.SkipToFirst, sql.SkipToLast:
		m.After = "first"
		if n.AfterMatch.Kind == sql.SkipToLast {
			m.After = "last"
		}
		v, ok := varIndex[n.AfterMatch.Var]
		if !ok {
			return nil, nil, b.errAt(errs.UndefinedObject, n, "AFTER MATCH SKIP TO %s: unknown pattern variable %s", strings.ToUpper(m.After), n.AfterMatch.Var)
		}
		m.AfterVar = v
	}
	m.Defines = make([]MatchDefine, len(m.Vars))
	for _, d := range n.Define {
		v, ok := varIndex[d.Var]
		if !ok {
			return nil, nil, b.errAt(errs.InvalidPlan, d.Cond, "DEFINE %s: the variable is not in the PATTERN", d.Var)
		}
		nb := &navBinder{b: b, sc: sc, vars: varIndex, self: v, define: true}
		cond, err := nb.rewrite(d.Cond)
		if err != nil {
			return nil, nil, err
		}
		dsc := newScope("", schema)
		nb.addColumns(dsc)
		bound, err := b.bindExpr(dsc, cond)
		if err != nil {
			return nil, nil, err
		}
		if bound.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(errs.DatatypeMismatch, d.Cond, "DEFINE %s must be a BOOLEAN condition, not %s", d.Var, bound.Type())
		}
		m.Defines[v] = MatchDefine{Cond: bound, Navs: nb.navs, Aggs: nb.aggs}
	}
	// The measures are expressions over the navigations they make, all
	// in one list: column k of their input is MeasureNavs[k].
	nb := &navBinder{b: b, sc: sc, vars: varIndex, self: -1, rowtime: -1}
	if !m.ProcTime() {
		nb.rowtime = m.Order[0].Col
	}
	var rewritten []sql.Expr
	for _, ms := range n.Measures {
		e, err := nb.rewrite(ms.Expr)
		if err != nil {
			return nil, nil, err
		}
		rewritten = append(rewritten, e)
	}
	msc := &scope{}
	nb.addColumns(msc)
	for i, ms := range n.Measures {
		bound, err := b.bindExpr(msc, rewritten[i])
		if err != nil {
			return nil, nil, err
		}
		// Name the navigations for EXPLAIN.
		bound = expr.Rewrite(bound, func(e expr.Expr) expr.Expr {
			if c, ok := e.(*expr.ColumnRef); ok {
				cp := *c
				if c.Index < len(nb.navs) {
					cp.Name = navString(schema, m.Vars, nb.navs[c.Index])
				} else {
					cp.Name = aggString(schema, m.Vars, nb.aggs[c.Index-len(nb.navs)])
				}
				return &cp
			}
			return e
		})
		m.Measures = append(m.Measures, bound)
		m.MeasureNames = append(m.MeasureNames, ms.Alias)
	}
	m.MeasureNavs, m.MeasureAggs = nb.navs, nb.aggs
	return m, newScope(n.Alias, m.Schema()), nil
}

// navColumn names the scope column standing for a DEFINE's k-th
// navigation; the NUL byte keeps it from clashing with a real column.
func navColumn(k int) string { return "\x00nav" + strconv.Itoa(k) }

// aggColumn names the scope column standing for the k-th aggregate.
func aggColumn(k int) string { return "\x00agg" + strconv.Itoa(k) }

// navBinder turns the pattern navigation of a DEFINE or a measure into
// exec.MatchNav reads.
type navBinder struct {
	b    *binder
	sc   *scope
	vars map[string]int
	// self is the variable being defined (-1 in MEASURES); define marks a
	// DEFINE, where an unqualified column is the current row.
	self   int
	define bool
	// rowtime is the rowtime column MATCH_ROWTIME() reads (-1: ordered
	// by proctime); MEASURES only.
	rowtime int
	navs    []exec.MatchNav
	// types are the navigations' column types.
	types []types.DataType
	// aggs are the aggregates, read after the navigations.
	aggs []MatchAgg
}

// addColumns adds the navigations' then the aggregates' placeholder
// columns to sc.
func (nb *navBinder) addColumns(sc *scope) {
	for k, t := range nb.types {
		sc.cols = append(sc.cols, scopeColumn{name: navColumn(k), typ: t})
	}
	for k, a := range nb.aggs {
		sc.cols = append(sc.cols, scopeColumn{name: aggColumn(k), typ: a.Type})
	}
}

// add records navigation nv of type t and returns its placeholder column.
func (nb *navBinder) add(pos sql.Pos, nv exec.MatchNav, t types.DataType) sql.Expr {
	nb.navs = append(nb.navs, nv)
	nb.types = append(nb.types, t)
	return &sql.Ident{Pos: pos, Parts: []string{navColumn(len(nb.navs) - 1)}}
}

// nav reads e as a navigation: v.col (LAST(v.col, 0)), col, FIRST/LAST(
// [v.]col [, n]) or PREV([v.]col [, n]). ok is false for other
// expressions.
func (nb *navBinder) nav(e sql.Expr) (exec.MatchNav, bool, error) {
	b := nb.b
	ref := func(a sql.Expr) (v, col int, err error) {
		id, ok := a.(*sql.Ident)
		if !ok || len(id.Parts) > 2 {
			return 0, 0, b.errAt(errs.NotSupported, a, "pattern navigation needs [variable.]column, not %s", sql.FormatExpr(a))
		}
		v = -1
		name := id.Parts[len(id.Parts)-1]
		if len(id.Parts) == 2 {
			var ok bool
			if v, ok = nb.vars[id.Parts[0]]; !ok {
				return 0, 0, b.errAt(errs.UndefinedObject, a, "unknown pattern variable %s", id.Parts[0])
			}
		}
		col, err = b.resolveColumn(nb.sc, &sql.Ident{Pos: id.Pos, Parts: []string{name}})
		return v, col, err
	}
	switch n := e.(type) {
	case *sql.Ident:
		if len(n.Parts) == 2 {
			if _, isVar := nb.vars[n.Parts[0]]; isVar {
				v, col, err := ref(n)
				return exec.MatchNav{Kind: "last", Var: v, Col: col}, err == nil, err
			}
		}
		if len(n.Parts) == 1 && !nb.define {
			_, col, err := ref(n)
			return exec.MatchNav{Kind: "last", Var: -1, Col: col}, err == nil, err
		}
	case *sql.FuncCall:
		switch n.Name {
		case "FIRST", "LAST", "PREV":
			if len(n.Args) < 1 || len(n.Args) > 2 || n.Distinct || n.Over != nil {
				return exec.MatchNav{}, false, b.errAt(errs.InvalidPlan, n, "%s takes [variable.]column and an optional offset", n.Name)
			}
			v, col, err := ref(n.Args[0])
			if err != nil {
				return exec.MatchNav{}, false, err
			}
			nv := exec.MatchNav{Kind: strings.ToLower(n.Name), Var: v, Col: col}
			if n.Name == "PREV" {
				nv.Offset = 1
				if v < 0 && nb.define {
					nv.Var = nb.self
				}
			}
			if len(n.Args) == 2 {
				lit, ok := n.Args[1].(*sql.Literal)
				off, err := strconv.Atoi(navOffsetText(lit, ok))
				if !ok || lit.Kind != sql.IntLit || err != nil || off < 0 {
					return exec.MatchNav{}, false, b.errAt(errs.InvalidPlan, n.Args[1], "the offset of %s must be a non-negative integer literal", n.Name)
				}
				nv.Offset = off
			}
			return nv, true, nil
		case "MATCH_ROWTIME", "MATCH_PROCTIME":
			if nb.define {
				return exec.MatchNav{}, false, b.errAt(errs.NotSupported, n, "%s is not supported in DEFINE", n.Name)
			}
			if n.Name == "MATCH_PROCTIME" && len(n.Args) > 0 {
				return exec.MatchNav{}, false, b.errAt(errs.InvalidPlan, n, "MATCH_PROCTIME takes no argument")
			}
			if len(n.Args) > 1 {
				return exec.MatchNav{}, false, b.errAt(errs.InvalidPlan, n, "MATCH_ROWTIME takes at most one argument, a rowtime attribute")
			}
			return exec.MatchNav{}, false, nil
		case "NEXT", "CLASSIFIER", "MATCH_NUMBER":
			return exec.MatchNav{}, false, b.errAt(errs.NotSupported, n, "%s is not supported in MATCH_RECOGNIZE yet", n.Name)
		}
	}
	return exec.MatchNav{}, false, nil
}

func navOffsetText(l *sql.Literal, ok bool) string {
	if !ok {
		return ""
	}
	return l.Text
}

// rewrite replaces the navigations and aggregates in a DEFINE condition
// or a measure by columns named navColumn(k) and aggColumn(k), and
// references to the variable being defined (or unqualified ones) by the
// current row's columns.
func (nb *navBinder) rewrite(e sql.Expr) (sql.Expr, error) {
	if id, ok := e.(*sql.Ident); ok && len(id.Parts) == 2 {
		if v, isVar := nb.vars[id.Parts[0]]; isVar && v == nb.self {
			return &sql.Ident{Pos: id.Pos, Parts: id.Parts[1:]}, nil
		}
	}
	if n, ok := e.(*sql.FuncCall); ok && (n.Name == "FIRST" || n.Name == "LAST" || n.Name == "PREV") && len(n.Args) > 0 {
		if _, col := n.Args[0].(*sql.Ident); !col {
			return nb.navExpr(n)
		}
	}
	nv, ok, err := nb.nav(e)
	if err != nil {
		return nil, err
	}
	if ok {
		t := nb.sc.cols[nv.Col].typ.WithTimeAttr(types.NoTimeAttr).WithNullable(true)
		return nb.add(e.Position(), nv, t), nil
	}
	if n, ok := e.(*sql.FuncCall); ok {
		switch {
		case n.Name == "MATCH_ROWTIME" && len(n.Args) <= 1:
			return nb.matchRowtime(n)
		case n.Name == "MATCH_PROCTIME" && len(n.Args) == 0:
			return &sql.FuncCall{Pos: n.Pos, Name: "PROCTIME"}, nil
		case n.Over != nil || n.OverName != "":
			return nil, nb.b.errAt(errs.NotSupported, n, "window functions (OVER) are not supported in MATCH_RECOGNIZE")
		case agg.IsAggregate(n.Name):
			return nb.aggregate(n)
		}
	}
	return mapChildren(nb.b, e, nb.rewrite)
}

// navExpr rewrites FIRST/LAST/PREV(expr [, n]), an expression over the
// columns of one pattern variable (LAST(A.price * A.tax)), into that
// expression over the same navigation of each column, since they all
// read one row.
func (nb *navBinder) navExpr(n *sql.FuncCall) (sql.Expr, error) {
	b := nb.b
	v, named := "", false
	var inner error
	walkSQL(n.Args[0], func(x sql.Expr) bool {
		switch x := x.(type) {
		case *sql.Ident:
			w := ""
			if len(x.Parts) == 2 {
				if _, isVar := nb.vars[x.Parts[0]]; isVar {
					w = x.Parts[0]
				}
			}
			if named && w != v && inner == nil {
				inner = b.errAt(errs.NotSupported, n, "%s must read the columns of a single pattern variable: %s", n.Name, sql.FormatExpr(n))
			}
			v, named = w, true
		case *sql.FuncCall:
			if _, isNav := matchNavFuncs[x.Name]; (isNav || agg.IsAggregate(x.Name)) && inner == nil {
				inner = b.errAt(errs.NotSupported, x, "%s is not supported inside %s", x.Name, n.Name)
			}
		}
		return true
	})
	if inner != nil {
		return nil, inner
	}
	var each func(sql.Expr) (sql.Expr, error)
	each = func(x sql.Expr) (sql.Expr, error) {
		if id, ok := x.(*sql.Ident); ok {
			return nb.rewrite(&sql.FuncCall{Pos: id.Pos, Name: n.Name, Args: append([]sql.Expr{id}, n.Args[1:]...)})
		}
		return mapChildren(b, x, each)
	}
	return each(n.Args[0])
}

// matchRowtime rewrites MATCH_ROWTIME([rowtime column]): the rowtime of
// the match's last row, still a rowtime attribute as in Flink, since
// matches leave before the watermark passes it. With an argument (a
// rowtime attribute of the input) the result has the argument's type.
func (nb *navBinder) matchRowtime(n *sql.FuncCall) (sql.Expr, error) {
	if nb.rowtime < 0 {
		return nil, nb.b.errAt(errs.NotSupported, n, "MATCH_ROWTIME() needs MATCH_RECOGNIZE ordered by a rowtime attribute")
	}
	col := nb.rowtime
	if len(n.Args) == 1 {
		id, ok := n.Args[0].(*sql.Ident)
		if ok && len(id.Parts) == 2 {
			if _, isVar := nb.vars[id.Parts[0]]; isVar {
				id = &sql.Ident{Pos: id.Pos, Parts: id.Parts[1:]}
			}
		}
		if !ok || len(id.Parts) != 1 {
			return nil, nb.b.errAt(errs.DatatypeMismatch, n.Args[0], "MATCH_ROWTIME takes a rowtime attribute column")
		}
		c, err := nb.b.resolveColumn(nb.sc, id)
		if err != nil {
			return nil, err
		}
		if nb.sc.cols[c].typ.TimeAttr != types.RowtimeAttr {
			return nil, nb.b.errAt(errs.DatatypeMismatch, n.Args[0], "MATCH_ROWTIME takes a rowtime attribute column, not %s", nb.sc.cols[c].typ)
		}
		col = c
	}
	t := nb.sc.cols[col].typ.WithNullable(false)
	return nb.add(n.Pos, exec.MatchNav{Kind: "last", Var: -1, Col: col}, t), nil
}

// aggregate binds an aggregate call of a DEFINE or measure: its
// arguments may name one pattern variable (SUM(A.price * A.tax)), or none
// for all the rows (SUM(price), COUNT(*)), as Flink requires.
func (nb *navBinder) aggregate(n *sql.FuncCall) (sql.Expr, error) {
	b := nb.b
	if n.Distinct {
		return nil, b.errAt(errs.NotSupported, n, "DISTINCT aggregations are not supported in MATCH_RECOGNIZE")
	}
	if n.Filter != nil {
		return nil, b.errAt(errs.NotSupported, n.Filter, "FILTER is not supported for aggregations in MATCH_RECOGNIZE")
	}
	if n.Star && n.Name != "COUNT" {
		return nil, b.errAt(errs.GroupingError, n, "only COUNT accepts *")
	}
	v, named := -1, false
	var inner error
	for _, a := range n.Args {
		walkSQL(a, func(x sql.Expr) bool {
			switch x := x.(type) {
			case *sql.Ident:
				w := -1
				if len(x.Parts) == 2 {
					if i, isVar := nb.vars[x.Parts[0]]; isVar {
						w = i
					}
				}
				if named && w != v && inner == nil {
					inner = b.errAt(errs.NotSupported, n, "an aggregation in MATCH_RECOGNIZE must apply to a single pattern variable: %s", sql.FormatExpr(n))
				}
				v, named = w, true
			case *sql.FuncCall:
				if _, isNav := matchNavFuncs[x.Name]; (isNav || agg.IsAggregate(x.Name)) && inner == nil {
					inner = b.errAt(errs.NotSupported, x, "%s is not supported inside an aggregation in MATCH_RECOGNIZE", x.Name)
				}
			}
			return true
		})
	}
	if inner != nil {
		return nil, inner
	}
	// The arguments read the columns of each row of the variable.
	var strip func(sql.Expr) (sql.Expr, error)
	strip = func(x sql.Expr) (sql.Expr, error) {
		if id, ok := x.(*sql.Ident); ok {
			if len(id.Parts) == 2 {
				if _, isVar := nb.vars[id.Parts[0]]; isVar {
					return &sql.Ident{Pos: id.Pos, Parts: id.Parts[1:]}, nil
				}
			}
			return id, nil
		}
		return mapChildren(b, x, strip)
	}
	ma := MatchAgg{Func: n.Name, Var: v}
	var argTypes []types.DataType
	for _, a := range n.Args {
		sa, err := strip(a)
		if err != nil {
			return nil, err
		}
		e, err := b.bindExpr(nb.sc, sa)
		if err != nil {
			return nil, err
		}
		ma.Args = append(ma.Args, e)
		argTypes = append(argTypes, e.Type())
	}
	t, err := agg.ResultType(n.Name, argTypes)
	if err != nil {
		return nil, b.errAt(errs.DatatypeMismatch, n, "%v", err)
	}
	ma.Type = t
	nb.aggs = append(nb.aggs, ma)
	return &sql.Ident{Pos: n.Pos, Parts: []string{aggColumn(len(nb.aggs) - 1)}}, nil
}

// matchNavFuncs are the navigation calls of MATCH_RECOGNIZE.
var matchNavFuncs = map[string]struct{}{"FIRST": {}, "LAST": {}, "PREV": {}, "NEXT": {}, "CLASSIFIER": {}, "MATCH_NUMBER": {}}

// mapChildren returns a copy of e with fn applied to each of its
// sub-expressions; it rejects the expressions MATCH_RECOGNIZE does not
// support (subqueries among them).
func mapChildren(b *binder, e sql.Expr, fn func(sql.Expr) (sql.Expr, error)) (sql.Expr, error) {
	rw := func(x *sql.Expr) error {
		if *x == nil {
			return nil
		}
		r, err := fn(*x)
		*x = r
		return err
	}
	switch n := e.(type) {
	case *sql.Ident, *sql.Literal, *sql.IntervalLit, *sql.Param:
		return e, nil
	case *sql.Binary:
		cp := *n
		return &cp, firstErr(rw(&cp.Left), rw(&cp.Right))
	case *sql.Unary:
		cp := *n
		return &cp, rw(&cp.Expr)
	case *sql.IsNull:
		cp := *n
		return &cp, rw(&cp.Expr)
	case *sql.IsBool:
		cp := *n
		return &cp, rw(&cp.Expr)
	case *sql.Cast:
		cp := *n
		return &cp, rw(&cp.Expr)
	case *sql.Between:
		cp := *n
		return &cp, firstErr(rw(&cp.Expr), rw(&cp.Low), rw(&cp.High))
	case *sql.Like:
		cp := *n
		return &cp, firstErr(rw(&cp.Expr), rw(&cp.Pattern), rw(&cp.Escape))
	case *sql.InList:
		cp := *n
		cp.List = append([]sql.Expr(nil), n.List...)
		err := rw(&cp.Expr)
		for i := range cp.List {
			err = firstErr(err, rw(&cp.List[i]))
		}
		return &cp, err
	case *sql.Case:
		cp := *n
		cp.Whens = append([]sql.When(nil), n.Whens...)
		err := firstErr(rw(&cp.Operand), rw(&cp.Else))
		for i := range cp.Whens {
			err = firstErr(err, rw(&cp.Whens[i].Cond), rw(&cp.Whens[i].Result))
		}
		return &cp, err
	case *sql.FuncCall:
		cp := *n
		cp.Args = append([]sql.Expr(nil), n.Args...)
		var err error
		for i := range cp.Args {
			err = firstErr(err, rw(&cp.Args[i]))
		}
		return &cp, err
	}
	return nil, b.errAt(errs.NotSupported, e, "%s is not supported in MATCH_RECOGNIZE", sql.FormatExpr(e))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
