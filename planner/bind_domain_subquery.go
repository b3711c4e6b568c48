package planner

import (
	"slices"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// A scalar or ARRAY subquery may name outer columns outside its WHERE, as
// PostgreSQL and Calcite allow: in its select item, (SELECT o.a || t.b
// FROM t WHERE t.k = o.k), or in the subqueries nested in it, as psql's
// \dp nests ARRAY(SELECT rolname FROM pg_roles WHERE oid = ANY(polroles))
// in the item of ARRAY(SELECT polname || ... FROM pg_policy WHERE
// polrelid = c.oid). Such a subquery is decorrelated as Calcite's
// RelDecorrelator does, over the domain of the outer values it reads
// (Neumann and Kemper's "Unnesting Arbitrary Queries"): with d the
// distinct values of the outer columns it names,
//
//	SELECT d.*, value FROM (SELECT DISTINCT o... FROM input) d
//	  JOIN sub ON corr WHERE local
//
// computes the item once per domain row and subquery row, with the outer
// names bound to d's columns, and the nested subqueries decorrelate in
// turn over that join (their outer query is d and sub together). The
// caller reduces the values per domain row (ARRAY_AGG, SINGLE_VALUE; an
// aggregate item is grouped by d.* instead, domainAggregate) and
// LEFT JOINs input to them on input.o... IS NOT DISTINCT FROM d.*
// (domainCondition), so an outer row with NULLs finds its own domain row.
// The outer columns are found by name (outerColumns): a name that
// resolves in the outer query but not in the subquery's FROM counts even
// where a nested FROM has it, which only makes the domain finer; the
// values stay exact.

// itemsReferOutside reports whether a subquery's select items name
// columns its FROM does not have (they then bind alone only with an
// undefined column), i.e. whether it is correlated outside its WHERE.
func (b *binder) itemsReferOutside(sel *sql.Select) bool {
	if sel.From == nil {
		return false
	}
	_, err := b.bindSelect(&sql.Select{Pos: sel.Pos, Items: sel.Items, From: sel.From})
	return err != nil && (errs.Is(err, errs.UndefinedColumn) || errs.Is(err, errs.UndefinedTable))
}

// domainSubquery plans a correlated subquery's one select item over the
// domain of the outer columns it names (see above): the plan's columns
// are the domain's, then the value; cols are the input columns of the
// domain, in order.
func (b *binder) domainSubquery(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (Node, []int, error) {
	item := sel.Items[0].Expr
	in, jsc, cols, err := b.domainJoin(q, sel, input, sc)
	if err != nil {
		return nil, nil, err
	}
	k := len(cols)
	js := in.Schema()
	if hasScalarSubquery(item) {
		if in, jsc, err = b.planScalarSubqueries([]sql.Expr{item}, in, jsc); err != nil {
			return nil, nil, err
		}
	}
	if in, jsc, err = b.planMarkJoins(item, in, jsc); err != nil {
		return nil, nil, err
	}
	value, err := b.bindExpr(jsc, item)
	if err != nil {
		return nil, nil, err
	}
	exprs := append(columnRefsOf(types.Schema{Columns: js.Columns[:k]}), value)
	names := append(js.Names()[:k:k], "$value")
	return &Project{Input: in, Exprs: exprs, Names: uniqueNames(names)}, cols, nil
}

// domainJoin plans the join of the domain of the outer columns a
// correlated subquery names with its FROM, filtered by its WHERE (see
// above): the join, its scope (the domain's columns under the outer names
// they stand for, then the FROM's, which shadow them), and the input
// columns of the domain, in order.
func (b *binder) domainJoin(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (Node, *scope, []int, error) {
	// The WHERE conjuncts nesting subqueries that name outer columns
	// filter the join below, their subqueries decorrelating over it.
	nested, rest, err := b.splitNestedCorrelated(sel, sc)
	if err != nil {
		return nil, nil, nil, err
	}
	flat := *sel
	flat.Where = andAll(rest)
	sub, subScope, _, corr, local, err := b.correlatedFrom(&flat, sc, true)
	if err != nil {
		return nil, nil, nil, err
	}
	width := len(sc.cols)
	var cols []int
	for _, e := range corr {
		for _, col := range expr.InputColumns(e) {
			if col < width {
				cols = append(cols, col)
			}
		}
	}
	// A LATERAL subquery has several items (lateralRows).
	for _, item := range itemExprs(sel.Items) {
		cols = append(cols, b.outerColumns(item, sc, subScope)...)
	}
	for _, c := range nested {
		cols = append(cols, b.outerColumns(c, sc, subScope)...)
	}
	// A body grouping or filtering its groups by outer values
	// (domainBody) needs them per domain row too.
	for _, e := range append(slices.Clone(sel.GroupBy), sel.Having) {
		if e != nil {
			cols = append(cols, b.outerColumns(e, sc, subScope)...)
		}
	}
	slices.Sort(cols)
	cols = slices.Compact(cols)
	if l := andAll(local); l != nil {
		if sub, err = b.bindWhere(l, sub, subScope); err != nil {
			return nil, nil, nil, err
		}
	}
	is := input.Schema()
	pos := make(map[int]int, len(cols))
	names := make([]string, len(cols))
	for i, c := range cols {
		pos[c], names[i] = i, is.Columns[c].Name
	}
	names = uniqueNames(names)
	dom := &Aggregate{Input: domainInput(input, cols), Keys: cols, Names: names}
	k := len(cols)
	// corr over (domain, sub) instead of (input, sub).
	for i, c := range corr {
		corr[i] = expr.Rewrite(c, func(e expr.Expr) expr.Expr {
			if r, ok := e.(*expr.ColumnRef); ok {
				if r.Index < width {
					return &expr.ColumnRef{Index: pos[r.Index], Name: r.Name, T: r.T}
				}
				return &expr.ColumnRef{Index: r.Index - width + k, Name: r.Name, T: r.T}
			}
			return e
		})
	}
	cond, err := b.andExprs(q, corr)
	if err != nil {
		return nil, nil, nil, err
	}
	j := &Join{Left: dom, Right: sub, Type: InnerJoin, Condition: cond, SystemTime: -1}
	js := j.Schema()
	// The domain's columns keep the levels of the queries they come from
	// (cols ascend, as sc's levels do), so that names still resolve from
	// the innermost query out.
	jsc := &scope{inner: k}
	for _, l := range sc.levels() {
		n, _ := slices.BinarySearch(cols, l)
		if n > 0 && n < k && (len(jsc.outerLevels) == 0 || jsc.outerLevels[len(jsc.outerLevels)-1] < n) {
			jsc.outerLevels = append(jsc.outerLevels, n)
		}
	}
	for i, c := range cols {
		jsc.cols = append(jsc.cols, scopeColumn{qualifier: sc.cols[c].qualifier, name: sc.cols[c].name, typ: js.Columns[i].Type})
	}
	for i, c := range subScope.cols {
		c.typ = js.Columns[k+i].Type
		jsc.cols = append(jsc.cols, c)
	}
	if n := andAll(nested); n != nil {
		filtered, err := b.bindWhere(n, j, jsc)
		return filtered, jsc, cols, err
	}
	return j, jsc, cols, nil
}

// domainInput returns the node below input whose rows have the same
// values as input's in the columns cols, ascending, so that the domain of
// those columns may be computed there: the left side of the LEFT JOINs
// earlier subqueries of the same query added (a LEFT JOIN keeps each of
// its left rows), through the projections keeping their input's columns
// in front. Computed over input itself, each subquery's domain would
// repeat the plans of all the subqueries before it.
func domainInput(input Node, cols []int) Node {
	if len(cols) == 0 {
		return input
	}
	last := cols[len(cols)-1]
	for {
		switch n := input.(type) {
		case *Join:
			if n.Type != LeftJoin || n.Left.Schema().Len() <= last {
				return input
			}
			input = n.Left
		case *Project:
			for i := 0; i <= last; i++ {
				if i >= len(n.Exprs) {
					return input
				}
				if r, ok := n.Exprs[i].(*expr.ColumnRef); !ok || r.Index != i {
					return input
				}
			}
			input = n.Input
		default:
			return input
		}
	}
}

// splitNestedCorrelated splits the WHERE of a correlated subquery into
// the conjuncts nesting subqueries that name outer columns of sc, which
// do not bind over the subquery's FROM and the outer columns alone, and
// the rest.
func (b *binder) splitNestedCorrelated(sel *sql.Select, sc *scope) (nested, rest []sql.Expr, err error) {
	if sel.Where == nil {
		return nil, nil, nil
	}
	_, own, err := b.bindFrom(sel.From)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range splitAnd(sel.Where) {
		if (hasScalarSubquery(c) || hasInSubquery(c)) && len(b.outerColumns(c, sc, own)) > 0 {
			nested = append(nested, c)
		} else {
			rest = append(rest, c)
		}
	}
	return nested, rest, nil
}

// domainAggregate computes the aggregate item of a correlated scalar
// subquery, (SELECT MAX(x) + o.y FROM t WHERE t.k = o.k), per row of its
// domain join j (in scope jsc, the domain's columns first, which are the
// columns cols of the outer input, of schema is): SELECT d.*, item FROM j
// GROUP BY d.*. The domain's columns are grouped under the outer names
// they stand for, so that the item may name them outside its aggregates
// too; where such a name would find another column (the subquery's FROM
// has the same alias), lateralValue groups by copies instead, and the
// outer columns may be named only inside the aggregates. A domain row
// without subquery rows has no group: it also returns the item's value
// over no rows, where that is not NULL (see aggregatedValue), reading the
// outer row's own columns for the domain's.
func (b *binder) domainAggregate(q *sql.SubqueryExpr, sel *sql.Select, j Node, jsc *scope, cols []int, is types.Schema) (Node, expr.Expr, error) {
	k := len(cols)
	outerKey := func(i int) expr.Expr {
		c := cols[i]
		return &expr.ColumnRef{Index: c, Name: is.Columns[c].Name, T: is.Columns[c].Type}
	}
	grouped := &sql.Select{Pos: sel.Pos, Items: make([]sql.SelectItem, 0, k+1)}
	for i := range k {
		c := jsc.cols[i]
		id := &sql.Ident{Pos: sel.Pos, Parts: []string{c.name}}
		if c.qualifier != "" {
			id.Parts = []string{c.qualifier, c.name}
		}
		if at, fields, err := b.resolve(jsc, id); err != nil || at != i || len(fields) > 0 {
			keys := make([]int, k)
			for i := range keys {
				keys[i] = i
			}
			return b.lateralValue(q, sel, j, jsc, keys)
		}
		grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: id, Alias: c.name})
		grouped.GroupBy = append(grouped.GroupBy, id)
	}
	grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: sel.Items[0].Expr, Alias: "$value"})
	a, asc, err := b.bindAggregate(grouped, j, jsc)
	if err != nil {
		return nil, nil, err
	}
	return b.aggregatedValue(a, asc, grouped.Items, k, outerKey)
}

// outerColumns returns the columns of sc that the identifiers in e, or in
// the queries nested in it, may name: those that resolve in sc but not in
// own, the subquery's FROM, and those of sc holding the aggregates of an
// enclosing grouped query that e calls.
func (b *binder) outerColumns(e sql.Expr, sc, own *scope) []int {
	var cols []int
	walkDeep(e, func(x sql.Expr) {
		switch n := x.(type) {
		case *sql.Ident:
			if _, _, err := b.resolve(own, n); err == nil {
				return
			}
			if i, _, err := b.resolve(sc, n); err == nil {
				cols = append(cols, i)
			}
		case *sql.FuncCall:
			// An aggregate of an enclosing grouped query
			// (bind_outer_aggregate.go).
			if r, ok := outerAggregate(sc, n); ok {
				cols = append(cols, r.Index)
			}
		}
	})
	return cols
}

// walkIdents calls fn with every identifier in e, descending into the
// subqueries nested in it (their select items, FROM, WHERE, grouping and
// ordering), unlike walkSQL.
func walkIdents(e sql.Expr, fn func(*sql.Ident)) {
	walkDeep(e, func(x sql.Expr) {
		if id, ok := x.(*sql.Ident); ok {
			fn(id)
		}
	})
}

// walkDeep calls fn with e and every expression in it, descending into
// the subqueries nested in it as walkIdents does.
func walkDeep(e sql.Expr, fn func(sql.Expr)) {
	walkSQL(e, func(x sql.Expr) bool {
		fn(x)
		switch n := x.(type) {
		case *sql.SubqueryExpr:
			walkQueryDeep(n.Query, fn)
		case *sql.Exists:
			walkQueryDeep(n.Query, fn)
		case *sql.InSubquery:
			walkDeep(n.Expr, fn)
			walkQueryDeep(n.Query, fn)
		}
		return true
	})
}

func walkQueryDeep(q *sql.Query, fn func(sql.Expr)) {
	if q == nil {
		return
	}
	for _, c := range q.With {
		walkQueryDeep(c.Query, fn)
	}
	walkSetDeep(q.Body, fn)
	for _, o := range q.OrderBy {
		walkDeep(o.Expr, fn)
	}
}

func walkSetDeep(s sql.SetExpr, fn func(sql.Expr)) {
	switch n := s.(type) {
	case *sql.Query:
		walkQueryDeep(n, fn)
	case *sql.SetOp:
		walkSetDeep(n.Left, fn)
		walkSetDeep(n.Right, fn)
	case *sql.Values:
		for _, r := range n.Rows {
			for _, e := range r {
				walkDeep(e, fn)
			}
		}
	case *sql.Select:
		for _, it := range n.Items {
			walkDeep(it.Expr, fn)
		}
		walkTableDeep(n.From, fn)
		walkDeep(n.Where, fn)
		for _, g := range n.GroupBy {
			walkDeep(g, fn)
		}
		walkDeep(n.Having, fn)
	}
}

func walkTableDeep(t sql.TableExpr, fn func(sql.Expr)) {
	switch n := t.(type) {
	case *sql.Join:
		walkTableDeep(n.Left, fn)
		walkTableDeep(n.Right, fn)
		walkDeep(n.On, fn)
	case *sql.SubqueryRef:
		walkQueryDeep(n.Query, fn)
	case *sql.TableFunctionRef:
		for _, a := range n.Args {
			walkDeep(a.Expr, fn)
			walkQueryDeep(a.Query, fn)
		}
	}
}
