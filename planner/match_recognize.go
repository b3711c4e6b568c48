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
	// current row) then one column per entry of Navs.
	Defines []MatchDefine
	// Measures are expressions over MeasureNavs (column k: MeasureNavs[k]).
	MeasureNavs  []exec.MatchNav
	Measures     []expr.Expr
	MeasureNames []string
	After        string
	AfterVar     int
}

// MatchDefine is a pattern variable's condition and its navigations.
type MatchDefine struct {
	Cond expr.Expr
	Navs []exec.MatchNav
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
	return fmt.Sprintf("Match(partitionBy=[%s], orderBy=[%s], measures=[%s], after=[%s], pattern=[%s])",
		columnNames(in, m.Partition), sortKeys(in, m.Order), strings.Join(ms, ", "), after, strings.Join(pat, " "))
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
		return nil, nil, b.errAt(errs.NotSupported, n, "ALL ROWS PER MATCH is not supported yet")
	}
	if n.Within != nil {
		return nil, nil, b.errAt(errs.NotSupported, n.Within, "MATCH_RECOGNIZE ... WITHIN is not supported yet")
	}
	m := &MatchRecognize{Input: in, After: "past-last-row"}
	column := func(e sql.Expr, what string) (int, error) {
		id, ok := e.(*sql.Ident)
		if !ok || len(id.Parts) != 1 {
			return 0, b.errAt(errs.NotSupported, e, "MATCH_RECOGNIZE %s must be a column", what)
		}
		i, _, err := b.resolve(sc, id)
		return i, err
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
		for k, t := range nb.types {
			dsc.cols = append(dsc.cols, scopeColumn{name: navColumn(k), typ: t})
		}
		bound, err := b.bindExpr(dsc, cond)
		if err != nil {
			return nil, nil, err
		}
		if bound.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(errs.DatatypeMismatch, d.Cond, "DEFINE %s must be a BOOLEAN condition, not %s", d.Var, bound.Type())
		}
		m.Defines[v] = MatchDefine{Cond: bound, Navs: nb.navs}
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
	for k, t := range nb.types {
		msc.cols = append(msc.cols, scopeColumn{name: navColumn(k), typ: t})
	}
	for i, ms := range n.Measures {
		bound, err := b.bindExpr(msc, rewritten[i])
		if err != nil {
			return nil, nil, err
		}
		// Name the navigations for EXPLAIN.
		bound = expr.Rewrite(bound, func(e expr.Expr) expr.Expr {
			if c, ok := e.(*expr.ColumnRef); ok {
				cp := *c
				cp.Name = navString(schema, m.Vars, nb.navs[c.Index])
				return &cp
			}
			return e
		})
		m.Measures = append(m.Measures, bound)
		m.MeasureNames = append(m.MeasureNames, ms.Alias)
	}
	m.MeasureNavs = nb.navs
	return m, newScope(n.Alias, m.Schema()), nil
}

// navColumn names the scope column standing for a DEFINE's k-th
// navigation; the NUL byte keeps it from clashing with a real column.
func navColumn(k int) string { return "\x00nav" + strconv.Itoa(k) }

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
		col, _, err = b.resolve(nb.sc, &sql.Ident{Pos: id.Pos, Parts: []string{name}})
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

// rewrite replaces the navigations in a DEFINE condition by columns
// named navColumn(k) and references to the variable being defined (or
// unqualified ones) by the current row's columns.
func (nb *navBinder) rewrite(e sql.Expr) (sql.Expr, error) {
	if id, ok := e.(*sql.Ident); ok && len(id.Parts) == 2 {
		if v, isVar := nb.vars[id.Parts[0]]; isVar && v == nb.self {
			return &sql.Ident{Pos: id.Pos, Parts: id.Parts[1:]}, nil
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
	rw := func(x *sql.Expr) error {
		if *x == nil {
			return nil
		}
		r, err := nb.rewrite(*x)
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
		switch {
		case n.Name == "MATCH_ROWTIME" && len(n.Args) == 0:
			if nb.rowtime < 0 {
				return nil, nb.b.errAt(errs.NotSupported, n, "MATCH_ROWTIME() needs MATCH_RECOGNIZE ordered by a rowtime attribute")
			}
			// The last row's rowtime: still a rowtime attribute, as in
			// Flink, since matches leave before the watermark passes it.
			t := nb.sc.cols[nb.rowtime].typ.WithNullable(false)
			return nb.add(n.Pos, exec.MatchNav{Kind: "last", Var: -1, Col: nb.rowtime}, t), nil
		case n.Name == "MATCH_PROCTIME" && len(n.Args) == 0:
			return &sql.FuncCall{Pos: n.Pos, Name: "PROCTIME"}, nil
		}
		if n.Over != nil || n.OverName != "" || n.Filter != nil || agg.IsAggregate(n.Name) {
			return nil, nb.b.errAt(errs.NotSupported, n, "aggregates and window functions are not supported in MATCH_RECOGNIZE yet")
		}
		cp := *n
		cp.Args = append([]sql.Expr(nil), n.Args...)
		var err error
		for i := range cp.Args {
			err = firstErr(err, rw(&cp.Args[i]))
		}
		return &cp, err
	}
	return nil, nb.b.errAt(errs.NotSupported, e, "%s is not supported in MATCH_RECOGNIZE", sql.FormatExpr(e))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
