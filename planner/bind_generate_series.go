package planner

import (
	"fmt"
	"slices"
	"sort"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// PostgreSQL's generate_series(start, stop [, step]) in FROM, which Flink
// has no counterpart of (psql's \d of a table sends it to list a
// publication's columns). It is planned as UNNEST is, a Correlate over its
// input, of the array expr.GenerateSeries computes per input row: alone in
// FROM over one empty row, after other FROM items laterally over them
// (its arguments may name their columns, as PostgreSQL lets a function in
// FROM), and in a scalar subquery over the outer query's columns (see
// lateralScalar).

// isGenerateSeries reports whether a FROM item is generate_series(...).
func isGenerateSeries(t sql.TableExpr) bool {
	fn, ok := t.(*sql.TableFunctionRef)
	return ok && fn.Name == "GENERATE_SERIES"
}

// bindGenerateSeries plans generate_series(start, stop [, step]) [AS
// alias [(col)]] as a Correlate over left, its arguments bound in left's
// scope. The arguments are integers, of type BIGINT when one is, else INT,
// the type of the one output column. As in PostgreSQL, the column is named
// by the column alias, else by the table alias, else generate_series.
func (b *binder) bindGenerateSeries(fn *sql.TableFunctionRef, left Node, ls *scope, leftJoin bool) (*Correlate, *scope, error) {
	if len(fn.Args) != 2 && len(fn.Args) != 3 {
		return nil, nil, b.errAt(errs.UndefinedFunction, fn, "generate_series takes 2 or 3 arguments, not %d", len(fn.Args))
	}
	if fn.WithOrdinality {
		return nil, nil, b.errAt(errs.NotSupported, fn, "generate_series WITH ORDINALITY is not supported yet")
	}
	t := types.IntType
	args := make([]expr.Expr, 0, 3)
	for _, a := range fn.Args {
		if a.Expr == nil || a.Name != "" {
			return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "generate_series takes values, not table or named arguments")
		}
		e, err := b.bindExpr(ls, a.Expr)
		if err != nil {
			return nil, nil, err
		}
		switch k := e.Type().Kind; {
		case k == types.BigInt:
			t = types.BigIntType
		case !e.Type().IsInteger() && k != types.Null:
			return nil, nil, b.errAt(errs.DatatypeMismatch, a.Expr, "generate_series over %s is not supported (only integers)", e.Type())
		}
		args = append(args, e)
	}
	if len(args) == 2 {
		args = append(args, &expr.Literal{Value: int64(1), T: t.WithNullable(false)})
	}
	for i, a := range args {
		if !a.Type().EqualIgnoringNull(t) {
			c, err := expr.NewCast(a, t.WithNullable(a.Type().Nullable() || a.Type().Kind == types.Null), false)
			if err != nil {
				return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "%v", err)
			}
			args[i] = c
		}
	}
	arg, err := b.call(fn, expr.GenerateSeries, args...)
	if err != nil {
		return nil, nil, err
	}
	name, qualifier := "generate_series", fn.Alias
	switch {
	case len(fn.ColumnAliases) > 1:
		return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "%d column aliases given for the 1 column of generate_series", len(fn.ColumnAliases))
	case len(fn.ColumnAliases) == 1:
		name = fn.ColumnAliases[0]
	case fn.Alias != "":
		name = fn.Alias
	}
	if qualifier == "" {
		qualifier = "generate_series"
	}
	c := &Correlate{Input: left, Arg: arg, Left: leftJoin, Elems: []types.Column{{Name: name, Type: t.WithNullable(false)}}}
	out := c.Schema()
	sc := &scope{cols: append([]scopeColumn(nil), ls.cols...)}
	last := out.Columns[out.Len()-1]
	sc.cols = append(sc.cols, scopeColumn{qualifier: qualifier, name: last.Name, typ: last.Type})
	return c, sc, nil
}

// lateralFunctions returns the table functions of a FROM whose arguments
// are expressions (UNNEST, generate_series), which may name columns of
// the FROM items before them or of an outer query.
func lateralFunctions(t sql.TableExpr) []*sql.TableFunctionRef {
	switch n := t.(type) {
	case *sql.TableFunctionRef:
		if isUnnest(n) || isGenerateSeries(n) || isTableFunctionCall(n) {
			return []*sql.TableFunctionRef{n}
		}
	case *sql.Join:
		return append(lateralFunctions(n.Left), lateralFunctions(n.Right)...)
	}
	return nil
}

// correlatedDerived returns the derived tables of a subquery's FROM
// that name columns of an outer query (they do not bind alone), which
// are LATERAL subqueries over the outer query's rows.
func (b *binder) correlatedDerived(t sql.TableExpr) []*sql.SubqueryRef {
	switch n := t.(type) {
	case *sql.SubqueryRef:
		if _, err := b.bindQuery(n.Query); namesOutside(err) {
			return []*sql.SubqueryRef{n}
		}
	case *sql.Join:
		return append(b.correlatedDerived(n.Left), b.correlatedDerived(n.Right)...)
	}
	return nil
}

// lateralScalarSelect returns the SELECT of a scalar subquery whose FROM
// calls a table function over the outer query's columns, (SELECT
// string_agg(attname, ', ') FROM generate_series(0, array_upper(pr.prattrs,
// 1)) s, pg_attribute WHERE attrelid = pr.prrelid AND attnum =
// prattrs[s]): one SELECT block of one item, without grouping, DISTINCT,
// ORDER BY or LIMIT, whose FROM cannot be bound alone.
func (b *binder) lateralScalarSelect(q *sql.Query) (*sql.Select, bool) {
	sel, ok := q.Body.(*sql.Select)
	if !ok || len(q.With) > 0 || q.OrderBy != nil || q.Limit != nil || sel.From == nil || len(sel.Items) != 1 ||
		sel.Items[0].Star || len(sel.GroupBy) > 0 || sel.GroupingSets != nil || sel.Having != nil || sel.Distinct ||
		len(lateralFunctions(sel.From)) == 0 && len(b.correlatedDerived(sel.From)) == 0 {
		return nil, false
	}
	_, _, err := b.bindFrom(sel.From)
	return sel, err != nil && (errs.Is(err, errs.UndefinedColumn) || errs.Is(err, errs.UndefinedTable))
}

// lateralScalar plans the right side of a scalar subquery whose FROM's
// table functions read outer columns (see lateralScalarSelect), as Calcite
// decorrelates a correlation in FROM: over the domain of those columns,
// d = (SELECT DISTINCT o... FROM input), the FROM is bound laterally
// (d, fn(d.x) s, t ...), so each domain row gets its own rows; the WHERE
// conjuncts naming other outer columns correlate, as in correlatedScalar;
// the value is computed per domain row and correlation key (its aggregate
// grouped by them, or its single value), and the join condition matches
// each outer row to its domain row (IS NOT DISTINCT FROM) and correlation
// keys.
func (b *binder) lateralScalar(q *sql.SubqueryExpr, sel *sql.Select, input Node, sc *scope) (correlatedValue, error) {
	width := len(sc.cols)
	var cols []int
	for _, fn := range lateralFunctions(sel.From) {
		for _, a := range fn.Args {
			if a.Expr == nil {
				continue
			}
			walkSQL(a.Expr, func(x sql.Expr) bool {
				if id, ok := x.(*sql.Ident); ok {
					if i, _, err := b.resolve(sc, id); err == nil {
						cols = append(cols, i)
					}
				}
				return true
			})
		}
	}
	// A derived table naming outer columns (correlatedDerived) is bound
	// as a LATERAL subquery over the domain.
	for _, ref := range b.correlatedDerived(sel.From) {
		walkQueryDeep(ref.Query, func(x sql.Expr) {
			if id, ok := x.(*sql.Ident); ok {
				if i, _, err := b.resolve(sc, id); err == nil {
					cols = append(cols, i)
				}
			}
		})
	}
	sort.Ints(cols)
	cols = slices.Compact(cols)
	if len(cols) == 0 {
		_, _, err := b.bindFrom(sel.From)
		return correlatedValue{}, err
	}
	is := input.Schema()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = is.Columns[c].Name
	}
	dom := &Aggregate{Input: domainInput(input, cols), Keys: cols, Names: uniqueNames(names)}
	ds := &scope{}
	for i, c := range cols {
		ds.cols = append(ds.cols, scopeColumn{qualifier: sc.cols[c].qualifier, name: sc.cols[c].name, typ: dom.Schema().Columns[i].Type})
	}
	from, fsc, err := b.bindFromOver(sel.From, dom, &scope{cols: ds.cols, inner: len(cols)})
	if err != nil {
		return correlatedValue{}, err
	}
	k := len(cols)
	// Outer references resolve to the domain's columns where it has them
	// (the outer columns are hidden), then to the other outer columns;
	// the subquery's own columns shadow both.
	joint := &scope{cols: append(append([]scopeColumn(nil), sc.cols...), fsc.cols...), inner: width + k}
	for _, c := range cols {
		joint.cols[c].hidden = true
	}
	corr, local, err := b.splitCorrelated(sel.Where, joint, width)
	if err != nil {
		return correlatedValue{}, err
	}
	own := &scope{cols: fsc.cols, inner: k}
	if l := andAll(local); l != nil {
		if from, err = b.bindWhere(l, from, own); err != nil {
			return correlatedValue{}, err
		}
	}
	// The keys: the domain's columns, then the subquery's columns the
	// correlated conjuncts read.
	keys := make([]int, k)
	for i := range keys {
		keys[i] = i
	}
	for _, e := range corr {
		for _, col := range expr.InputColumns(e) {
			if col >= width+k && !slices.Contains(keys, col-width) {
				keys = append(keys, col-width)
			}
		}
	}
	slices.Sort(keys[k:])
	right, empty, err := b.lateralValue(q, sel, from, own, keys)
	if err != nil {
		return correlatedValue{}, err
	}
	rs := right.Schema()
	on, err := b.domainCondition(q, cols, is, rs, width)
	if err != nil {
		return correlatedValue{}, err
	}
	for _, c := range corr {
		c = expr.Rewrite(c, func(e expr.Expr) expr.Expr {
			if r, ok := e.(*expr.ColumnRef); ok && r.Index >= width {
				i := slices.Index(keys, r.Index-width)
				return &expr.ColumnRef{Index: width + i, Name: r.Name, T: rs.Columns[i].Type}
			}
			return e
		})
		if on, err = b.call(q, "AND", on, c); err != nil {
			return correlatedValue{}, err
		}
	}
	return correlatedValue{node: right, cond: on, keys: len(keys), empty: empty}, nil
}

// lateralValue computes a lateral scalar subquery's value over its bound
// FROM (from, in scope own) per key: SELECT keys..., value ... GROUP BY
// keys... when the value aggregates, else the keys and the single value of
// each. The keys are exposed to the grouping under names of their own,
// which no query can write.
func (b *binder) lateralValue(q *sql.SubqueryExpr, sel *sql.Select, from Node, own *scope, keys []int) (Node, expr.Expr, error) {
	value := sel.Items[0].Expr
	fs := from.Schema()
	exprs := columnRefsOf(fs)
	outNames := fs.Names()
	ksc := &scope{cols: append([]scopeColumn(nil), own.cols...), inner: own.inner}
	grouped := &sql.Select{Pos: sel.Pos, Items: make([]sql.SelectItem, 0, len(keys)+1)}
	for i, c := range keys {
		name := fmt.Sprintf("$key%d", i)
		exprs = append(exprs, &expr.ColumnRef{Index: c, Name: fs.Columns[c].Name, T: fs.Columns[c].Type})
		outNames = append(outNames, name)
		ksc.cols = append(ksc.cols, scopeColumn{name: name, typ: fs.Columns[c].Type})
		id := &sql.Ident{Pos: sel.Pos, Parts: []string{name}}
		grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: id, Alias: fs.Columns[c].Name})
		grouped.GroupBy = append(grouped.GroupBy, id)
	}
	grouped.Items = append(grouped.Items, sql.SelectItem{Pos: sel.Pos, Expr: value, Alias: "$value"})
	var in Node = &Project{Input: from, Exprs: exprs, Names: uniqueNames(outNames)}
	if !hasAggregates(value) {
		// One value per key: the keys and the value, checked single.
		p, err := b.projectItems(in, ksc, grouped.Items)
		if err != nil {
			return nil, nil, err
		}
		v, err := b.singleValue(q, p, len(keys))
		return v, nil, err
	}
	agg, asc, err := b.bindAggregate(grouped, in, ksc)
	if err != nil {
		return nil, nil, err
	}
	// The keys' names cannot be written, so the value reads no key.
	return b.aggregatedValue(agg, asc, grouped.Items, len(keys), nil)
}

// projectItems binds items in sc as a projection of in, each named by
// its alias.
func (b *binder) projectItems(in Node, sc *scope, items []sql.SelectItem) (Node, error) {
	vals := make([]expr.Expr, 0, len(items))
	names := make([]string, 0, len(items))
	for _, it := range items {
		e, err := b.bindExpr(sc, it.Expr)
		if err != nil {
			return nil, err
		}
		vals = append(vals, e)
		names = append(names, it.Alias)
	}
	return &Project{Input: in, Exprs: vals, Names: uniqueNames(names)}, nil
}

// bindFromOver binds a FROM laterally over left (in scope ls): its items
// in order, each joined to everything before it, so that the table
// functions' arguments may name the columns of left and of the items
// before them. The returned scopes keep ls.inner: left's columns stand
// for outer ones, which the items' own columns shadow. Only comma, CROSS
// and INNER joins combine the items.
func (b *binder) bindFromOver(t sql.TableExpr, left Node, ls *scope) (Node, *scope, error) {
	n, sc, err := b.bindFromItemOver(t, left, ls)
	if err == nil {
		sc.inner = ls.inner
	}
	return n, sc, err
}

func (b *binder) bindFromItemOver(t sql.TableExpr, left Node, ls *scope) (Node, *scope, error) {
	switch n := t.(type) {
	case *sql.Join:
		if n.Kind != sql.CrossJoin && n.Kind != sql.InnerJoin || len(n.Using) > 0 {
			return nil, nil, b.errAt(errs.NotSupported, n, "%s JOIN in the FROM of a subquery calling a table function over outer columns is not supported yet", n.Kind)
		}
		l, lsc, err := b.bindFromOver(n.Left, left, ls)
		if err != nil {
			return nil, nil, err
		}
		out, sc, err := b.bindFromOver(n.Right, l, lsc)
		if err != nil || n.On == nil {
			return out, sc, err
		}
		cond, err := b.bindExpr(sc, n.On)
		if err != nil {
			return nil, nil, err
		}
		if cond.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(errs.DatatypeMismatch, n.On, "join condition must be BOOLEAN, not %s", cond.Type())
		}
		return &Filter{Input: out, Condition: cond}, sc, nil
	case *sql.TableFunctionRef:
		if isGenerateSeries(n) {
			return b.bindGenerateSeries(n, left, ls, false)
		}
		// UNNEST parses as a lateral call too; it is planned below.
		if isTableFunctionCall(n) && !isUnnest(n) {
			return b.bindTableFunction(n, left, ls, false)
		}
		if isUnnest(n) {
			// As in PostgreSQL (and lateralUnnestArray), x alone names
			// both the UNNEST and its one element column.
			unnest := *n
			if unnest.Alias != "" && len(unnest.ColumnAliases) == 0 && len(unnest.Args) == 1 && unnest.Args[0].Expr != nil {
				if arg, err := b.bindExpr(ls, unnest.Args[0].Expr); err == nil {
					if elems, err := UnnestColumns(arg.Type()); err == nil && len(elems) == 1 {
						unnest.ColumnAliases = []string{unnest.Alias}
					}
				}
			}
			return b.bindUnnest(&unnest, left, ls, false)
		}
	case *sql.SubqueryRef:
		if _, err := b.bindQuery(n.Query); namesOutside(err) {
			lateral := *n
			lateral.Lateral = true
			return b.bindLateralJoin(&sql.Join{Pos: n.Pos, Kind: sql.CrossJoin, Right: &lateral}, &lateral, left, ls)
		}
	}
	right, rs, err := b.bindFrom(t)
	if err != nil {
		return nil, nil, err
	}
	j := &Join{Left: left, Right: right, Type: InnerJoin, SystemTime: -1}
	sc := &scope{cols: append(append([]scopeColumn(nil), ls.cols...), rs.cols...)}
	out := j.Schema()
	for i := range sc.cols {
		sc.cols[i].typ = out.Columns[i].Type
	}
	return j, sc, nil
}
