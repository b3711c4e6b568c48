package planner

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// A correlated scalar subquery whose body does more than filter its FROM
// and aggregate it, with GROUP BY, HAVING, DISTINCT, ORDER BY, LIMIT or
// OFFSET, as the latest order of each customer
//
//	(SELECT o.product FROM orders o WHERE o.customer = c.id
//	 ORDER BY o.ts DESC LIMIT 1)
//
// is decorrelated over the domain of the outer values it names (see
// bind_domain_subquery.go), every step of its body running per domain
// row: the domain's columns lead the grouping keys, the DISTINCT keys and
// the partition of a Top-N (ROW_NUMBER() OVER (PARTITION BY d.* ORDER BY
// ...) within the LIMIT and OFFSET, as Calcite decorrelates a correlated
// Sort with a fetch into a window), and SINGLE_VALUE checks that each
// domain row keeps at most one row. The outer rows then LEFT JOIN their
// domain rows as for domainScalar; ARRAY(query) collects each domain
// row's rows instead (domainArray). EXISTS with such a body is (SELECT
// TRUE ... LIMIT 1) IS NOT NULL (existsQuery), and x IN (query) is EXISTS
// with the item compared to x (inAsExists), or as a value a CASE of two
// such EXISTS (correlatedMark).

// correlatedBodySelect returns the SELECT of a subquery domainRows
// plans: one SELECT block with a FROM and one item, whatever its GROUP BY,
// HAVING, DISTINCT, ORDER BY, LIMIT or OFFSET.
func correlatedBodySelect(q *sql.Query) (*sql.Select, bool) {
	sel, ok := q.Body.(*sql.Select)
	if !ok || len(q.With) > 0 || sel.From == nil || sel.GroupingSets != nil || len(sel.Items) != 1 || sel.Items[0].Star {
		return nil, false
	}
	return sel, true
}

// namesOutside reports whether err, from binding a subquery alone, says
// that it names columns of an outer query: an undefined column or table.
func namesOutside(err error) bool {
	return err != nil && (errs.Is(err, errs.UndefinedColumn) || errs.Is(err, errs.UndefinedTable))
}

// domainBody plans the right side of a correlated scalar subquery q with
// body sel (see above): the domain's columns and the single value of
// each, the condition joining input to them, and the value of an outer
// row whose domain row keeps no row, when that is not NULL.
func (b *binder) domainBody(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (correlatedValue, error) {
	query := q.Query
	limit, err := b.rowCount(query.Limit, "LIMIT", -1)
	if err != nil {
		return correlatedValue{}, err
	}
	offset, err := b.rowCount(query.Offset, "OFFSET", 0)
	if err != nil {
		return correlatedValue{}, err
	}
	if len(sel.GroupBy) == 0 && sel.Having == nil && hasAggregates(sel.Items[0].Expr) && offset == 0 && limit != 0 {
		// One row, the aggregate, whatever its DISTINCT, ORDER BY and
		// LIMIT: the plain correlated aggregate.
		plain := *sel
		plain.Distinct = false
		return b.correlatedScalar(&sql.SubqueryExpr{Pos: q.Pos, Query: &sql.Query{Pos: query.Pos, Body: &plain}}, &plain, input, sc)
	}
	rows, err := b.domainRows(q, query, sel, input, sc)
	if err != nil {
		return correlatedValue{}, err
	}
	node, err := b.singleValue(q, rows.node, rows.keys)
	if err != nil {
		return correlatedValue{}, err
	}
	if rows.empty != nil {
		ns := node.Schema()
		node = &Project{Input: node,
			Exprs: append(columnRefsOf(ns), &expr.Literal{Value: true, T: types.BooleanType.WithNullable(false)}),
			Names: uniqueNames(append(ns.Names(), "$matched"))}
	}
	cond, err := rows.on(node.Schema())
	return correlatedValue{node: node, cond: cond, keys: rows.keys, empty: rows.empty}, err
}

// domainArray plans the right side of a correlated ARRAY(query) whose
// body groups, filters its groups, is DISTINCT or LIMITed (see above):
// the domain's columns and the array of each, the condition joining input
// to them and the number of domain columns. As for correlatedArray, an
// ORDER BY of the item sorts each array afterwards ($ARRAY_SUBQUERY); under
// a LIMIT it also picks the rows kept.
func (b *binder) domainArray(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (Node, expr.Expr, int, error) {
	rows, err := b.domainRows(q, q.Query, sel, input, sc)
	if err != nil {
		return nil, nil, 0, err
	}
	if rows.empty != nil {
		return nil, nil, 0, b.errAt(errs.NotSupported, q, "a correlated ARRAY(query) aggregating without GROUP BY but with HAVING is not supported yet")
	}
	node, err := b.arrayAgg(q, rows.node, rows.keys)
	if err != nil {
		return nil, nil, 0, err
	}
	cond, err := rows.on(node.Schema())
	return node, cond, rows.keys, err
}

// bodyRows are the rows of a correlated subquery's body per correlation
// (domainRows).
type bodyRows struct {
	// node's first keys columns key the rows, then comes the value.
	node Node
	keys int
	// on is the condition joining the outer input to a plan of schema rs
	// whose first keys columns are node's keys.
	on func(rs types.Schema) (expr.Expr, error)
	// empty, when set, is the value of an outer row whose key has no
	// rows, over the outer input (see domainBodyGroups).
	empty expr.Expr
}

// domainRows plans the rows of a correlated subquery's body sel (of
// query) per correlation (see above), keyed as bodyKeys says. A subquery
// expression has one item; a LATERAL subquery's several items
// (bindLateralJoin) follow the keys in order, all of them values.
func (b *binder) domainRows(q *sql.SubqueryExpr, query *sql.Query, sel *sql.Select, input Node, sc *scope) (bodyRows, error) {
	limit, err := b.rowCount(query.Limit, "LIMIT", -1)
	if err != nil {
		return bodyRows{}, err
	}
	offset, err := b.rowCount(query.Offset, "OFFSET", 0)
	if err != nil {
		return bodyRows{}, err
	}
	values := len(sel.Items)
	grouped := len(sel.GroupBy) > 0 || sel.Having != nil || hasAggregates(itemExprs(sel.Items)...)
	if grouped && len(sel.GroupBy) == 0 && values > 1 {
		// The value over no rows (domainBodyGroups) is the one item's.
		return bodyRows{}, b.errAt(errs.NotSupported, q, "a correlated subquery of several items aggregating without GROUP BY but with %s is not supported yet", bodyClauses(query))
	}
	j, jsc, keyItems, on, outerKey, err := b.bodyKeys(q, query, sel, input, sc)
	if err != nil {
		return bodyRows{}, err
	}
	k := len(keyItems)
	items := make([]sql.SelectItem, 0, k+values+len(query.OrderBy))
	items = append(items, keyItems...)
	for _, it := range sel.Items {
		items = append(items, sql.SelectItem{Pos: it.Pos, Expr: it.Expr, Alias: "$value"})
	}
	// The ORDER BY keys: an item (by position, alias or expression) or
	// further expressions computed beside them.
	var keys []exec.SortKey
	if limit >= 0 || offset > 0 {
		for _, o := range query.OrderBy {
			col := k + orderedItem(o.Expr, sel.Items)
			if col < k {
				if sel.Distinct {
					return bodyRows{}, b.errAt(errs.InvalidPlan, o.Expr, "for SELECT DISTINCT, ORDER BY expressions must appear in select list")
				}
				col = len(items)
				items = append(items, sql.SelectItem{Pos: o.Pos, Expr: o.Expr, Alias: "$order"})
			}
			nullsFirst := !o.Desc
			if o.NullsFirst != nil {
				nullsFirst = *o.NullsFirst
			}
			keys = append(keys, exec.SortKey{Col: col, Desc: o.Desc, NullsFirst: nullsFirst})
		}
	}
	var node Node
	var empty expr.Expr
	if grouped {
		if node, empty, err = b.domainBodyGroups(q, sel, j, jsc, k, outerKey, items); err != nil {
			return bodyRows{}, err
		}
		if offset > 0 || limit == 0 {
			empty = nil
		}
	} else {
		exprs := itemExprs(items)
		if hasScalarSubquery(exprs...) {
			if j, jsc, err = b.planScalarSubqueries(exprs, j, jsc); err != nil {
				return bodyRows{}, err
			}
		}
		for _, e := range exprs {
			if j, jsc, err = b.planMarkJoins(e, j, jsc); err != nil {
				return bodyRows{}, err
			}
		}
		if node, err = b.projectItems(j, jsc, items); err != nil {
			return bodyRows{}, err
		}
	}
	if sel.Distinct {
		// ORDER BY reads only the items here, so the domain's columns and
		// the items are all the columns.
		distinctKeys := make([]int, k+values)
		for i := range distinctKeys {
			distinctKeys[i] = i
		}
		node = &Aggregate{Input: node, Keys: distinctKeys, Names: node.Schema().Names()}
	}
	switch {
	case limit == 0:
		node = &Filter{Input: node, Condition: &expr.Literal{Value: false, T: types.BooleanType.WithNullable(false)}}
	case limit > 0 || offset > 0:
		if len(keys) == 0 {
			// Any rows will do; ordering by the values keeps the choice
			// the same in every run.
			for i := range values {
				keys = append(keys, exec.SortKey{Col: k + i, NullsFirst: true})
			}
		}
		partition := make([]int, k)
		for i := range partition {
			partition[i] = i
		}
		end := int64(math.MaxInt64)
		if limit > 0 {
			end = offset + limit
		}
		node = &Rank{Input: node, Partition: partition, Order: keys, RankType: "ROW_NUMBER", Start: offset + 1, End: end}
	}
	ns := node.Schema()
	node = &Project{Input: node, Exprs: columnRefsOf(types.Schema{Columns: ns.Columns[:k+values]}), Names: ns.Names()[:k+values]}
	return bodyRows{node: node, keys: k, on: on, empty: empty}, nil
}

// bodyKeys plans what the rows of a correlated subquery's body sel (of
// query) are keyed by, returning the plan they are computed over, its
// scope, the key items leading them, the join condition (see bodyRows)
// and how an item over no rows reads a key (see aggregatedValue). Where
// each correlated conjunct of its WHERE is an equality of an expression
// of its FROM with one of outer columns (correlationKeys) and nothing
// else names outer columns, that is its FROM filtered by the other
// conjuncts, keyed by those expressions and joined on the equalities, as
// groupedScalar does: a latest row per key is a Top-N partitioned by the
// key, as Calcite decorrelates it. Otherwise it is the join of the domain
// of the outer values it names with its FROM (domainJoin), keyed by the
// domain's columns and joined on IS NOT DISTINCT FROM.
func (b *binder) bodyKeys(q *sql.SubqueryExpr, query *sql.Query, sel *sql.Select, input Node, sc *scope) (Node, *scope, []sql.SelectItem, func(types.Schema) (expr.Expr, error), func(int) expr.Expr, error) {
	width := len(sc.cols)
	if sub, own, keys, outerOnly, ok := b.equalityKeys(query, sel, sc); ok {
		items := make([]sql.SelectItem, len(keys))
		for i, k := range keys {
			items[i] = sql.SelectItem{Pos: sel.Pos, Expr: k.inner, Alias: k.name}
		}
		on := func(rs types.Schema) (expr.Expr, error) {
			return b.keyCondition(q, keys, outerOnly, rs, width)
		}
		return sub, own, items, on, nil, nil
	}
	j, jsc, cols, err := b.domainJoin(q, sel, input, sc)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	k := len(cols)
	if k == 0 {
		return nil, nil, nil, nil, nil, b.errAt(errs.NotSupported, q, "a subquery naming outer columns only in its ORDER BY is not supported yet")
	}
	items := make([]sql.SelectItem, 0, k)
	for i := range k {
		c := jsc.cols[i]
		id := &sql.Ident{Pos: sel.Pos, Parts: []string{c.name}}
		if c.qualifier != "" {
			id.Parts = []string{c.qualifier, c.name}
		}
		if at, fields, err := b.resolve(jsc, id); err != nil || at != i || len(fields) > 0 {
			return nil, nil, nil, nil, nil, b.errAt(errs.NotSupported, q, "a correlated subquery with %s whose FROM has the name %s of the outer query is not supported yet", bodyClauses(query), sql.FormatExpr(id))
		}
		items = append(items, sql.SelectItem{Pos: sel.Pos, Expr: id, Alias: c.name})
	}
	is := input.Schema()
	on := func(rs types.Schema) (expr.Expr, error) {
		return b.domainCondition(q, cols, is, rs, width)
	}
	outerKey := func(i int) expr.Expr {
		c := cols[i]
		return &expr.ColumnRef{Index: c, Name: is.Columns[c].Name, T: is.Columns[c].Type}
	}
	return j, jsc, items, on, outerKey, nil
}

// equalityKeys returns, when a correlated body (see bodyKeys) is keyed
// by the equalities of its WHERE, its FROM filtered by its other
// conjuncts, the FROM's scope, the keys and the conjuncts of outer
// columns alone.
func (b *binder) equalityKeys(query *sql.Query, sel *sql.Select, sc *scope) (Node, *scope, []correlationKey, []expr.Expr, bool) {
	if nested, _, err := b.splitNestedCorrelated(sel, sc); err != nil || len(nested) > 0 {
		return nil, nil, nil, nil, false
	}
	sub, own, joint, _, local, err := b.correlatedFrom(sel, sc, true)
	if err != nil {
		return nil, nil, nil, nil, false
	}
	clauses := append(append(append(itemExprs(sel.Items), sel.Having), sel.GroupBy...), orderExprs(query)...)
	for _, e := range clauses {
		if e != nil && len(b.outerColumns(e, sc, own)) > 0 {
			return nil, nil, nil, nil, false
		}
	}
	keys, outerOnly, ok := b.correlationKeys(sel.Where, joint, own, len(sc.cols))
	if !ok || len(keys) == 0 {
		return nil, nil, nil, nil, false
	}
	if l := andAll(local); l != nil {
		if sub, err = b.bindWhere(l, sub, own); err != nil {
			return nil, nil, nil, nil, false
		}
	}
	return sub, own, keys, outerOnly, true
}

// orderExprs are the expressions of query's ORDER BY.
func orderExprs(query *sql.Query) []sql.Expr {
	es := make([]sql.Expr, len(query.OrderBy))
	for i, o := range query.OrderBy {
		es[i] = o.Expr
	}
	return es
}

// domainBodyGroups aggregates the domain join j (in scope jsc, the
// domain's columns first, which are the columns cols of the outer input
// of schema is) per domain row and group of sel, keeps the groups its
// HAVING holds for, and projects items over them. Without GROUP BY a
// domain row without subquery rows still has its one group, over no
// rows, which the LEFT JOIN does not find: empty is then the value of
// such a row, where not NULL, the item over no rows where HAVING holds
// over no rows (see aggregatedValue).
func (b *binder) domainBodyGroups(q *sql.SubqueryExpr, sel *sql.Select, j Node, jsc *scope, k int, outerKey func(int) expr.Expr, items []sql.SelectItem) (Node, expr.Expr, error) {
	g := &sql.Select{Pos: sel.Pos, Items: items, Having: sel.Having}
	for _, it := range items[:k] {
		g.GroupBy = append(g.GroupBy, it.Expr)
	}
	g.GroupBy = append(g.GroupBy, sel.GroupBy...)
	a, asc, err := b.bindAggregate(g, j, jsc)
	if err != nil {
		return nil, nil, err
	}
	var node Node = a
	var having expr.Expr
	if sel.Having != nil {
		if hasScalarSubquery(sel.Having) {
			if node, asc, err = b.planScalarSubqueries([]sql.Expr{sel.Having}, node, asc); err != nil {
				return nil, nil, err
			}
		}
		if node, asc, err = b.planMarkJoins(sel.Having, node, asc); err != nil {
			return nil, nil, err
		}
		if having, err = b.bindExpr(asc, sel.Having); err != nil {
			return nil, nil, err
		}
		if having.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(errs.DatatypeMismatch, sel.Having, "HAVING condition must be BOOLEAN, not %s", having.Type())
		}
		if len(sel.GroupBy) > 0 {
			node = &Filter{Input: node, Condition: having}
		}
	}
	p, err := b.projectItems(node, asc, items)
	if err != nil || len(sel.GroupBy) > 0 {
		// Grouped, a domain row without subquery rows has no group.
		return p, nil, err
	}
	ag, ok := a.(*Aggregate)
	if !ok {
		return nil, nil, errs.Internalf("an aggregate planned as %T", a)
	}
	if node.Schema().Len() != ag.Schema().Len() {
		// The joins of HAVING's subqueries cannot be evaluated over no
		// rows here.
		return nil, nil, b.errAt(errs.NotSupported, q, "a correlated subquery aggregating without GROUP BY whose HAVING nests subqueries is not supported yet")
	}
	proj := p.(*Project)
	if having != nil {
		// Each domain row keeps its one group, its value NULL where HAVING
		// fails, so that the LEFT JOIN finds no group only for the domain
		// rows without subquery rows.
		exprs := slices.Clone(proj.Exprs)
		if exprs[k], err = b.call(q, "CASE", having, exprs[k], &expr.Literal{T: exprs[k].Type().WithNullable(true)}); err != nil {
			return nil, nil, err
		}
		proj = &Project{Input: proj.Input, Exprs: exprs, Names: proj.Names}
	}
	value := noRowsValue(proj.Exprs[k], ag, k, outerKey)
	if l, ok := value.(*expr.Literal); ok && l.Value == nil {
		return proj, nil, nil
	}
	return proj, value, nil
}

// rowCount is the value of a LIMIT or OFFSET e, def when absent.
func (b *binder) rowCount(e sql.Expr, what string, def int64) (int64, error) {
	if e == nil {
		return def, nil
	}
	lit, ok := e.(*sql.Literal)
	if !ok || lit.Kind != sql.IntLit {
		return 0, b.errAt(errs.InvalidPlan, e, "%s must be a non-negative integer literal", what)
	}
	n, err := strconv.ParseInt(lit.Text, 10, 64)
	if err != nil || n < 0 {
		return 0, b.errAt(errs.InvalidPlan, e, "%s must be a non-negative integer literal", what)
	}
	return n, nil
}

// bodyClauses names the clauses of a subquery's body for messages.
func bodyClauses(q *sql.Query) string {
	var cs []string
	if sel, ok := q.Body.(*sql.Select); ok {
		if sel.Distinct {
			cs = append(cs, "DISTINCT")
		}
		if len(sel.GroupBy) > 0 {
			cs = append(cs, "GROUP BY")
		}
		if sel.Having != nil {
			cs = append(cs, "HAVING")
		}
	}
	if len(q.OrderBy) > 0 {
		cs = append(cs, "ORDER BY")
	}
	if q.Limit != nil {
		cs = append(cs, "LIMIT")
	}
	if q.Offset != nil {
		cs = append(cs, "OFFSET")
	}
	return strings.Join(cs, ", ")
}

// existsQuery is the scalar subquery (SELECT TRUE ... LIMIT 1) of
// EXISTS (query) n, whose body groups, filters its groups or limits its
// rows: EXISTS is its value IS NOT NULL, which rows exist not depending
// on the items. Correlated, it decorrelates as domainBody.
func existsQuery(n *sql.Exists, sel *sql.Select) *sql.SubqueryExpr {
	one := *sel
	one.Distinct = false
	one.Items = []sql.SelectItem{{Pos: n.Pos, Expr: &sql.Literal{Pos: n.Pos, Kind: sql.BoolLit, Text: "TRUE"}}}
	if len(sel.GroupBy) == 0 && sel.Having == nil && hasAggregates(itemExprs(sel.Items)...) {
		// An aggregate without grouping has its one row even over no
		// rows, never NULL as COUNT(*).
		one.Items[0].Expr = &sql.FuncCall{Pos: n.Pos, Name: "COUNT", Star: true}
	}
	// How many rows there are does not depend on their order either.
	q := *n.Query
	q.Body, q.OrderBy = &one, nil
	if q.Limit == nil || !isZero(q.Limit) {
		q.Limit = &sql.Literal{Pos: n.Pos, Kind: sql.IntLit, Text: "1"}
	}
	return &sql.SubqueryExpr{Pos: n.Pos, Query: &q}
}

// isZero reports a LIMIT of 0.
func isZero(e sql.Expr) bool {
	l, ok := e.(*sql.Literal)
	return ok && l.Kind == sql.IntLit && strings.TrimLeft(l.Text, "0") == ""
}

// inAsExists rewrites the WHERE conjunct x [NOT] IN (query), whose body
// names outer columns where bindCorrelatedIn does not take them (it
// groups, filters its groups, is DISTINCT, or its item names them), as
// [NOT] EXISTS (inMembership): with y = x for IN, and for NOT IN with
// (y = x) IS NOT FALSE, as any y equal to x or NULL (or x NULL) keeps NOT
// IN from holding.
func (b *binder) inAsExists(n *sql.InSubquery, not bool) (*sql.Exists, bool) {
	return b.inMembership(n, func(eq sql.Expr) sql.Expr {
		if !not {
			return eq
		}
		return &sql.IsBool{Pos: n.Pos, Expr: eq, Value: false, Not: true}
	}, not)
}

// inMembership returns [NOT] EXISTS over the body of x IN (query), a
// query naming outer columns (namesOutside), without LIMIT or OFFSET,
// with test(y = x) added to its HAVING, or to its WHERE when it does not
// group. ok is false for other subqueries, and where x names a column of
// the subquery's FROM, which would shadow it inside.
func (b *binder) inMembership(n *sql.InSubquery, test func(eq sql.Expr) sql.Expr, not bool) (*sql.Exists, bool) {
	sel, ok := correlatedBodySelect(n.Query)
	if !ok || n.Query.Limit != nil || n.Query.Offset != nil {
		return nil, false
	}
	own, err := b.fromNames(sel.From)
	if err != nil {
		return nil, false
	}
	shadowed := false
	walkIdents(n.Expr, func(id *sql.Ident) {
		if _, _, err := b.resolve(own, id); err == nil {
			shadowed = true
		}
	})
	if shadowed {
		return nil, false
	}
	c := test(&sql.Binary{Pos: n.Pos, Op: sql.Eq, Left: sel.Items[0].Expr, Right: n.Expr})
	and := func(a, b sql.Expr) sql.Expr {
		if a == nil {
			return b
		}
		return &sql.Binary{Pos: n.Pos, Op: sql.And, Left: a, Right: b}
	}
	body := *sel
	if len(sel.GroupBy) > 0 || sel.Having != nil || hasAggregates(sel.Items[0].Expr) {
		body.Having = and(sel.Having, c)
	} else {
		body.Where = and(sel.Where, c)
	}
	q := *n.Query
	q.Body, q.OrderBy = &body, nil
	return &sql.Exists{Pos: n.Pos, Query: &q, Not: not}, true
}

// correlatedMark plans x [NOT] IN (query) as a value over a correlated
// query (see inMembership), which a mark join cannot take: CASE WHEN
// EXISTS (... y = x) THEN TRUE WHEN EXISTS (... (y = x) IS NULL) THEN NULL
// ELSE FALSE END, negated for NOT IN, SQL's three-valued IN. The value is
// a hidden column of the returned plan, which the scope maps n to; ok is
// false when inMembership does not take n.
func (b *binder) correlatedMark(n *sql.InSubquery, input Node, sc *scope) (Node, *scope, bool, error) {
	match, ok := b.inMembership(n, func(eq sql.Expr) sql.Expr { return eq }, false)
	if !ok {
		return nil, nil, false, nil
	}
	unknown, _ := b.inMembership(n, func(eq sql.Expr) sql.Expr { return &sql.IsNull{Pos: n.Pos, Expr: eq} }, false)
	boolean := func(v bool) sql.Expr {
		text := "FALSE"
		if v {
			text = "TRUE"
		}
		return &sql.Literal{Pos: n.Pos, Kind: sql.BoolLit, Text: text}
	}
	value := &sql.Case{Pos: n.Pos, Whens: []sql.When{
		{Cond: match, Result: boolean(!n.Not)},
		{Cond: unknown, Result: &sql.Literal{Pos: n.Pos, Kind: sql.NullLit, Text: "NULL"}},
	}, Else: boolean(n.Not)}
	in, isc, err := b.planScalarSubqueries([]sql.Expr{value}, input, sc)
	if err != nil {
		return nil, nil, true, err
	}
	v, err := b.bindExpr(isc, value)
	if err != nil {
		return nil, nil, true, err
	}
	is := in.Schema()
	out := &Project{Input: in, Exprs: append(columnRefsOf(is), v), Names: uniqueNames(append(is.Names(), "$in"))}
	osc := &scope{cols: append(slices.Clone(isc.cols), scopeColumn{name: "$in", typ: v.Type(), hidden: true}),
		agg: isc.agg, over: isc.over, marks: isc.marks, scalars: map[sql.Expr]int{}, inner: isc.inner, outerLevels: isc.outerLevels}
	for k, i := range isc.scalars {
		osc.scalars[k] = i
	}
	osc.scalars[n] = is.Len()
	return out, osc, true, nil
}

// limitedIn plans the WHERE conjunct x [NOT] IN (query) over a correlated
// query with LIMIT or OFFSET, whose rows per outer value depend on the
// limit (inMembership does not take it): a semi (anti) join of input with
// the rows domainRows keeps per domain row, on the domain's columns (IS
// NOT DISTINCT FROM) and y = x, or for NOT IN (y = x) IS NOT FALSE (see
// inAsExists). ok is false for a query domainRows does not plan.
func (b *binder) limitedIn(n *sql.InSubquery, not bool, input Node, sc *scope) (Node, bool, error) {
	sel, ok := correlatedBodySelect(n.Query)
	if !ok || n.Query.Limit == nil && n.Query.Offset == nil {
		return nil, false, nil
	}
	q := &sql.SubqueryExpr{Pos: n.Pos, Query: n.Query}
	rows, err := b.domainRows(q, n.Query, sel, input, sc)
	if err != nil {
		return nil, true, err
	}
	if rows.empty != nil {
		return nil, true, b.errAt(errs.NotSupported, n, "IN over a correlated aggregate without GROUP BY with LIMIT or OFFSET is not supported yet")
	}
	width := len(sc.cols)
	rs := rows.node.Schema()
	on, err := rows.on(rs)
	if err != nil {
		return nil, true, err
	}
	x, err := b.bindExpr(sc, n.Expr)
	if err != nil {
		return nil, true, err
	}
	k := rows.keys
	eq, err := b.call(n, "=", x, &expr.ColumnRef{Index: width + k, Name: rs.Columns[k].Name, T: rs.Columns[k].Type})
	if err != nil {
		return nil, true, err
	}
	if not {
		if eq, err = b.call(n, "IS NOT FALSE", eq); err != nil {
			return nil, true, err
		}
	}
	cond, err := b.call(n, "AND", on, eq)
	if err != nil {
		return nil, true, err
	}
	return existsJoin(input, rows.node, cond, not), true, nil
}
