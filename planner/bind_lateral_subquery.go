package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// A LATERAL subquery in FROM, as SQL:2003, Calcite (Flink) and PostgreSQL
// write it,
//
//	FROM t, LATERAL (SELECT ... FROM u WHERE u.k = t.k ORDER BY x LIMIT 2) s
//	FROM t CROSS JOIN LATERAL (...) s
//	FROM t LEFT JOIN LATERAL (...) s ON TRUE
//
// may name the columns of the FROM items before it. It is decorrelated
// as the scalar subqueries are (bind_domain_body.go), all its items being
// values: its rows per correlation, keyed by the inner expressions its
// WHERE equates to outer columns or by the domain of the outer values it
// names, joined to the left input on those keys (domainRows). A Top-N
// per outer row becomes a ROW_NUMBER() partitioned by the keys, as
// Calcite decorrelates a correlated Sort with a fetch. A body with one
// row per outer row, an aggregate without GROUP BY (COUNT giving 0 for an
// outer row without subquery rows) or items without FROM, is the scalar
// subqueries of its items instead, one join each. A LATERAL subquery that
// names no outer column is an ordinary derived table.

// lateralSubquery returns the LATERAL subquery on the right of join n
// when its query names columns of the left side (it does not bind alone).
func (b *binder) lateralSubquery(n *sql.Join) (*sql.SubqueryRef, bool) {
	ref, ok := n.Right.(*sql.SubqueryRef)
	if !ok || !ref.Lateral {
		return nil, false
	}
	_, err := b.bindQuery(ref.Query)
	return ref, namesOutside(err)
}

// bindLateralJoin plans left JOIN LATERAL (query) ref (see above) over
// the bound left side.
func (b *binder) bindLateralJoin(n *sql.Join, ref *sql.SubqueryRef, left Node, ls *scope) (Node, *scope, error) {
	var jt JoinType
	switch n.Kind {
	case sql.InnerJoin, sql.CrossJoin:
		jt = InnerJoin
	case sql.LeftJoin:
		jt = LeftJoin
	default:
		// PostgreSQL: the outer rows a RIGHT or FULL join would add have
		// no values for the subquery to read.
		return nil, nil, b.errAt(errs.InvalidPlan, ref, "the join of a LATERAL subquery naming the columns before it must be INNER or LEFT, not %s", n.Kind)
	}
	if len(n.Using) > 0 {
		return nil, nil, b.errAt(errs.NotSupported, n, "JOIN LATERAL ... USING is not supported yet; use ON")
	}
	if n.On != nil && (hasScalarSubquery(n.On) || hasInSubquery(n.On)) {
		return nil, nil, b.errAt(errs.NotSupported, n.On, "subqueries in the ON of a JOIN LATERAL are not supported yet")
	}
	query := ref.Query
	sel, ok := query.Body.(*sql.Select)
	if !ok || len(query.With) > 0 || sel.GroupingSets != nil || len(sel.Windows) > 0 || hasWindowed(sel.Items) {
		return nil, nil, b.errAt(errs.NotSupported, ref, "a LATERAL subquery naming the columns before it must be one SELECT block without WITH, GROUPING SETS or window functions (not supported yet)")
	}
	items, names, err := b.lateralItems(sel)
	if err != nil {
		return nil, nil, err
	}
	if len(ref.ColumnAliases) > 0 {
		if len(ref.ColumnAliases) != len(names) {
			return nil, nil, b.errAt(errs.DatatypeMismatch, ref, "%d column aliases given for %d columns", len(ref.ColumnAliases), len(names))
		}
		names = ref.ColumnAliases
	}
	body := *sel
	body.Items = items
	q := *query
	q.Body = &body
	limit, err := b.rowCount(query.Limit, "LIMIT", -1)
	if err != nil {
		return nil, nil, err
	}
	offset, err := b.rowCount(query.Offset, "OFFSET", 0)
	if err != nil {
		return nil, nil, err
	}
	if sel.From == nil {
		if sel.Where != nil || len(sel.GroupBy) > 0 || sel.Having != nil || sel.Distinct || hasAggregates(itemExprs(items)...) || query.Limit != nil || query.Offset != nil {
			return nil, nil, b.errAt(errs.NotSupported, ref, "a LATERAL subquery without FROM naming the columns before it may only compute its items (not supported yet)")
		}
		return b.lateralOneRow(n, ref, itemExprs(items), names, jt, left, ls)
	}
	if len(sel.GroupBy) == 0 && sel.Having == nil && hasAggregates(itemExprs(items)...) && offset == 0 && limit != 0 {
		// One row per outer row whatever its DISTINCT, ORDER BY and LIMIT.
		subs := make([]sql.Expr, len(items))
		for i, it := range items {
			one := &sql.Select{Pos: sel.Pos, Items: []sql.SelectItem{it}, From: sel.From, Where: sel.Where}
			subs[i] = &sql.SubqueryExpr{Pos: ref.Pos, Query: &sql.Query{Pos: query.Pos, Body: one}}
		}
		return b.lateralOneRow(n, ref, subs, names, jt, left, ls)
	}
	sq := &sql.SubqueryExpr{Pos: ref.Pos, Query: &q}
	rows, err := b.domainRows(sq, &q, &body, left, ls)
	if err != nil {
		return nil, nil, err
	}
	if rows.empty != nil {
		return nil, nil, b.errAt(errs.NotSupported, ref, "a LATERAL subquery aggregating without GROUP BY with %s is not supported yet", bodyClauses(query))
	}
	on, err := rows.on(rows.node.Schema())
	if err != nil {
		return nil, nil, err
	}
	j := &Join{Left: left, Right: rows.node, Type: jt, Condition: on, SystemTime: -1}
	width, k := len(ls.cols), rows.keys
	js := j.Schema()
	sc := &scope{cols: slices.Clone(ls.cols), scalars: ls.scalars, marks: ls.marks}
	for i := width; i < js.Len(); i++ {
		c := scopeColumn{qualifier: ref.Alias, name: js.Columns[i].Name, hidden: true}
		if i >= width+k {
			c.name, c.hidden = names[i-width-k], false
		}
		sc.cols = append(sc.cols, c)
	}
	for i := range sc.cols {
		sc.cols[i].typ = js.Columns[i].Type
	}
	if n.On != nil {
		cond, err := b.joinCondition(n, sc)
		if err != nil {
			return nil, nil, err
		}
		if j.Condition, err = b.call(n, "AND", j.Condition, cond); err != nil {
			return nil, nil, err
		}
	}
	// The keys leave; the values keep their names.
	exprs := columnRefsOf(js)
	exprs = append(exprs[:width:width], exprs[width+k:]...)
	outNames := append(js.Names()[:width:width], names...)
	out := &scope{cols: append(sc.cols[:width:width], sc.cols[width+k:]...), scalars: ls.scalars, marks: ls.marks}
	return &Project{Input: j, Exprs: exprs, Names: uniqueNames(outNames)}, out, nil
}

// lateralOneRow plans a LATERAL subquery with one row per outer row as
// the values vals over the left input (its items, or the scalar
// subqueries of its items): under an INNER join the ON filters the
// rows; under a LEFT join it keeps every row, the values NULL where ON
// does not hold.
func (b *binder) lateralOneRow(n *sql.Join, ref *sql.SubqueryRef, vals []sql.Expr, names []string, jt JoinType, left Node, ls *scope) (Node, *scope, error) {
	width := len(ls.cols)
	in, isc := left, ls
	var err error
	if hasScalarSubquery(vals...) {
		if in, isc, err = b.planScalarSubqueries(vals, in, isc); err != nil {
			return nil, nil, err
		}
	}
	for _, v := range vals {
		if in, isc, err = b.planMarkJoins(v, in, isc); err != nil {
			return nil, nil, err
		}
	}
	is := in.Schema()
	exprs := columnRefsOf(is)[:width:width]
	for _, v := range vals {
		e, err := b.bindExpr(isc, v)
		if err != nil {
			return nil, nil, err
		}
		exprs = append(exprs, e)
	}
	var node Node = &Project{Input: in, Exprs: exprs, Names: uniqueNames(append(is.Names()[:width:width], names...))}
	sc := &scope{cols: slices.Clone(ls.cols), scalars: ls.scalars, marks: ls.marks}
	for i, e := range exprs[width:] {
		sc.cols = append(sc.cols, scopeColumn{qualifier: ref.Alias, name: names[i], typ: e.Type()})
	}
	if n.On == nil {
		return node, sc, nil
	}
	cond, err := b.joinCondition(n, sc)
	if err != nil {
		return nil, nil, err
	}
	if jt == InnerJoin {
		return &Filter{Input: node, Condition: cond}, sc, nil
	}
	ns := node.Schema()
	refs := columnRefsOf(ns)
	for i := width; i < len(refs); i++ {
		if refs[i], err = b.call(n, "CASE", cond, refs[i], &expr.Literal{T: refs[i].Type().WithNullable(true)}); err != nil {
			return nil, nil, err
		}
		sc.cols[i].typ = refs[i].Type()
	}
	return &Project{Input: node, Exprs: refs, Names: ns.Names()}, sc, nil
}

// joinCondition binds the ON of join n over sc, which must be BOOLEAN.
func (b *binder) joinCondition(n *sql.Join, sc *scope) (expr.Expr, error) {
	cond, err := b.bindExpr(sc, n.On)
	if err != nil {
		return nil, err
	}
	if cond.Type().Kind != types.Boolean {
		return nil, b.errAt(errs.DatatypeMismatch, n.On, "join condition must be BOOLEAN, not %s", cond.Type())
	}
	return cond, nil
}

// lateralItems returns the items of a LATERAL subquery's body with its
// stars expanded to the columns of its FROM they stand for, and the
// names of its columns.
func (b *binder) lateralItems(sel *sql.Select) ([]sql.SelectItem, []string, error) {
	var own *scope
	var items []sql.SelectItem
	var names []string
	for _, it := range sel.Items {
		if !it.Star {
			name := it.Alias
			if name == "" {
				if id, ok := it.Expr.(*sql.Ident); ok {
					name = id.Parts[len(id.Parts)-1]
				} else {
					name = fmt.Sprintf("EXPR$%d", len(names))
				}
			}
			items, names = append(items, it), append(names, name)
			continue
		}
		if own == nil {
			if sel.From == nil {
				return nil, nil, b.errAt(errs.InvalidPlan, sel, "SELECT * with no tables specified is not valid")
			}
			var err error
			if _, own, err = b.bindFrom(sel.From); err != nil {
				return nil, nil, err
			}
		}
		n := 0
		for _, c := range own.cols {
			if c.hidden || it.StarQualifier != nil && (len(it.StarQualifier) != 1 || !strings.EqualFold(c.qualifier, it.StarQualifier[0])) {
				continue
			}
			parts := []string{c.name}
			if c.qualifier != "" {
				parts = []string{c.qualifier, c.name}
			}
			items = append(items, sql.SelectItem{Pos: it.Pos, Expr: &sql.Ident{Pos: it.Pos, Parts: parts}})
			names = append(names, c.name)
			n++
		}
		if n == 0 && it.StarQualifier != nil {
			return nil, nil, b.errAt(errs.UndefinedTable, sel, "table '%s' not found in FROM clause", it.StarQualifier[0])
		}
	}
	return items, names, nil
}

// fromNames returns the scope of the names a FROM has, binding it where
// it binds alone; a derived table naming outer columns, which binds only
// over them (correlatedDerived), has the names of its items.
func (b *binder) fromNames(t sql.TableExpr) (*scope, error) {
	switch n := t.(type) {
	case *sql.Join:
		l, err := b.fromNames(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := b.fromNames(n.Right)
		if err != nil {
			return nil, err
		}
		return &scope{cols: append(slices.Clone(l.cols), r.cols...)}, nil
	case *sql.SubqueryRef:
		sel, ok := n.Query.Body.(*sql.Select)
		if _, err := b.bindQuery(n.Query); ok && namesOutside(err) {
			_, names, err := b.lateralItems(sel)
			if err != nil {
				return nil, err
			}
			if len(n.ColumnAliases) > 0 {
				names = n.ColumnAliases
			}
			sc := &scope{}
			for _, name := range names {
				sc.cols = append(sc.cols, scopeColumn{qualifier: n.Alias, name: name, typ: types.NullType})
			}
			return sc, nil
		}
	}
	_, sc, err := b.bindFrom(t)
	return sc, err
}
