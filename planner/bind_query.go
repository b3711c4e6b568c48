package planner

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

func (b *binder) bindQuery(q *sql.Query) (Node, error) {
	if len(q.With) > 0 {
		ctes := map[string]Node{}
		b.ctes = append(b.ctes, ctes)
		defer func() { b.ctes = b.ctes[:len(b.ctes)-1] }()
		for _, cte := range q.With {
			n, err := b.bindQuery(cte.Query)
			if err != nil {
				return nil, err
			}
			if n, err = b.renameColumns(cte.Query, n, cte.Columns); err != nil {
				return nil, err
			}
			ctes[cte.Name] = n
		}
	}
	node, err := b.bindSetExpr(q.Body)
	if err != nil {
		return nil, err
	}
	if len(q.OrderBy) == 0 && q.Limit == nil && q.Offset == nil {
		return node, nil
	}
	return b.bindOrderLimit(q, node)
}

// bindOrderLimit plans ORDER BY, LIMIT and OFFSET: a Sort in batch mode;
// in streaming mode a Top-N (ORDER BY with LIMIT) or a Limit (LIMIT
// alone), as Flink does.
func (b *binder) bindOrderLimit(q *sql.Query, node Node) (Node, error) {
	keys, missing, err := b.orderKeys(q, node.Schema())
	if err != nil || len(missing) == 0 {
		if err != nil {
			return nil, err
		}
		return b.sortOrLimit(q, node, keys)
	}
	// ORDER BY reads columns or expressions that are not in the select
	// list: they are appended to it, sorted on, and projected away above
	// the sort. DISTINCT and set operations cannot take extra columns.
	sel, ok := q.Body.(*sql.Select)
	var extNode Node
	if ok && !sel.Distinct {
		ext := *sel
		ext.Items = slices.Clone(sel.Items)
		for _, k := range missing {
			e := q.OrderBy[k].Expr
			ext.Items = append(ext.Items, sql.SelectItem{Pos: e.Position(), Expr: e})
		}
		extNode, err = b.bindSelect(&ext)
	}
	if extNode == nil || err != nil {
		return nil, b.orderKeyError(node.Schema(), q.OrderBy[missing[0]].Expr)
	}
	width := node.Schema().Len()
	for i, k := range missing {
		keys[k].Col = width + i
	}
	sorted, err := b.sortOrLimit(q, extNode, keys)
	if err != nil {
		return nil, err
	}
	s := sorted.Schema()
	return &Project{Input: sorted, Exprs: columnRefsOf(types.Schema{Columns: s.Columns[:width]}), Names: s.Names()[:width]}, nil
}

// orderKeys binds the ORDER BY keys against the select list out. The keys
// that are not columns of out are listed in missing (their Col is -1).
func (b *binder) orderKeys(q *sql.Query, out types.Schema) (keys []exec.SortKey, missing []int, err error) {
	osc := newScope("", out)
	for i, o := range q.OrderBy {
		col := -1
		if lit, ok := o.Expr.(*sql.Literal); ok && lit.Kind == sql.IntLit {
			n, _ := strconv.Atoi(lit.Text)
			if n < 1 || n > out.Len() {
				return nil, nil, b.errAt(errs.InvalidPlan, o.Expr, "ORDER BY position %d is not in the select list", n)
			}
			col = n - 1
		} else if e, err := b.bindExpr(osc, o.Expr); err == nil {
			if ref, ok := e.(*expr.ColumnRef); ok {
				col = ref.Index
			}
		}
		if col < 0 {
			missing = append(missing, i)
		}
		nullsFirst := !o.Desc
		if o.NullsFirst != nil {
			nullsFirst = *o.NullsFirst
		}
		keys = append(keys, exec.SortKey{Col: col, Desc: o.Desc, NullsFirst: nullsFirst})
	}
	return keys, missing, nil
}

// orderKeyError explains why ORDER BY key e cannot be sorted on when it
// could not be added to the select list.
func (b *binder) orderKeyError(out types.Schema, e sql.Expr) error {
	if _, err := b.bindExpr(newScope("", out), e); err != nil {
		return err
	}
	return b.errAt(errs.NotSupported, e, "ORDER BY must name a column of the select list")
}

// sortOrLimit plans the sort, Top-N or limit of bindOrderLimit over node.
func (b *binder) sortOrLimit(q *sql.Query, node Node, keys []exec.SortKey) (Node, error) {
	count := func(e sql.Expr, what string, def int64) (int64, error) {
		if e == nil {
			return def, nil
		}
		lit, ok := e.(*sql.Literal)
		n, err := strconv.ParseInt(litText(lit, ok), 10, 64)
		if !ok || lit.Kind != sql.IntLit || err != nil || n < 0 {
			return 0, b.errAt(errs.InvalidPlan, e, "%s must be a non-negative integer literal", what)
		}
		return n, nil
	}
	limit, err := count(q.Limit, "LIMIT", -1)
	if err != nil {
		return nil, err
	}
	offset, err := count(q.Offset, "OFFSET", 0)
	if err != nil {
		return nil, err
	}
	switch {
	case b.batch && len(keys) > 0:
		return &Sort{Input: node, Keys: keys, Offset: offset, Limit: limit}, nil
	case len(keys) == 0 && !b.batch && node.Changelog() != InsertOnly && (limit >= 0 || offset > 0):
		// Over an updating query a streaming LIMIT is Flink's
		// StreamExecLimit: a ROW_NUMBER Top-N of one partition and no
		// order keys (rows rank in arrival order), whose retractions
		// promote the next rows, where passing the first rows would keep
		// a retracted one.
		end := int64(math.MaxInt64)
		if limit >= 0 {
			end = offset + limit
		}
		if limit == 0 {
			return &Filter{Input: node, Condition: &expr.Literal{Value: false, T: types.BooleanType.WithNullable(false)}}, nil
		}
		return &Rank{Input: node, RankType: "ROW_NUMBER", Start: offset + 1, End: end}, nil
	case len(keys) == 0:
		return &Limit{Input: node, Offset: offset, Limit: limit, Batch: b.batch}, nil
	case limit < 0 && offset == 0 && isTemporalSort(node, keys):
		return &TemporalSort{Input: node, Keys: keys}, nil
	case limit < 0 && b.nonTemporalSort && node.Changelog() == InsertOnly:
		return &Sort{Input: node, Keys: keys, Offset: offset, Limit: limit}, nil
	case limit < 0:
		return nil, b.errAt(errs.NotSupported, q.OrderBy[0].Expr, "in streaming mode ORDER BY needs a LIMIT (a Top-N) or an ascending time attribute as its first key; sorting an unbounded stream otherwise is not supported")
	}
	top := &Rank{Input: node, Order: keys, RankType: "ROW_NUMBER", Start: offset + 1, End: offset + limit}
	return top, nil
}

func litText(l *sql.Literal, ok bool) string {
	if !ok {
		return ""
	}
	return l.Text
}

func (b *binder) bindSetExpr(body sql.SetExpr) (Node, error) {
	switch n := body.(type) {
	case *sql.Select:
		return b.bindSelect(n)
	case *sql.Query:
		return b.bindQuery(n)
	case *sql.Values:
		return b.bindValues(n)
	case *sql.SetOp:
		l, err := b.bindSetExpr(n.Left)
		if err != nil {
			return nil, err
		}
		r, err := b.bindSetExpr(n.Right)
		if err != nil {
			return nil, err
		}
		switch {
		case n.Op == sql.Union && n.All:
			return b.unionAll(n, l, r)
		case n.Op == sql.Union:
			u, err := b.unionAll(n, l, r)
			if err != nil {
				return nil, err
			}
			return distinct(u), nil
		}
		return b.intersectOrExcept(n, l, r)
	}
	return nil, b.errAt(errs.NotSupported, body, "query form is not supported yet")
}

// unionAll widens both inputs to common column types and concatenates them,
// flattening nested UNION ALLs.
func (b *binder) unionAll(n *sql.SetOp, l, r Node) (Node, error) {
	ls, rs := l.Schema(), r.Schema()
	if ls.Len() != rs.Len() {
		return nil, b.errAt(errs.DatatypeMismatch, n, "UNION ALL inputs have %d and %d columns", ls.Len(), rs.Len())
	}
	out := types.Schema{Columns: make([]types.Column, ls.Len())}
	for i := range ls.Columns {
		t, ok := types.CommonType(ls.Columns[i].Type, rs.Columns[i].Type)
		if !ok {
			return nil, b.errAt(errs.DatatypeMismatch, n, "UNION ALL column %d has incompatible types %s and %s", i+1, ls.Columns[i].Type, rs.Columns[i].Type)
		}
		out.Columns[i] = types.Column{Name: ls.Columns[i].Name, Type: t}
	}
	var inputs []Node
	for _, in := range []Node{l, r} {
		if u, ok := in.(*UnionAll); ok {
			for _, x := range u.Inputs {
				c, err := b.castTo(n, x, out)
				if err != nil {
					return nil, err
				}
				inputs = append(inputs, c)
			}
			continue
		}
		c, err := b.castTo(n, in, out)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, c)
	}
	return &UnionAll{Inputs: inputs, Out: out}, nil
}

// castTo projects in onto the types (and names) of out when they differ.
func (b *binder) castTo(at sql.Node, in Node, out types.Schema) (Node, error) {
	s := in.Schema()
	same := true
	exprs := make([]expr.Expr, s.Len())
	for i, c := range s.Columns {
		var e expr.Expr = &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type}
		if !c.Type.Equal(out.Columns[i].Type) || c.Name != out.Columns[i].Name {
			same = false
		}
		if !c.Type.EqualIgnoringNull(out.Columns[i].Type) {
			cast, err := expr.NewCast(e, out.Columns[i].Type, false)
			if err != nil {
				return nil, b.errAt(errs.DatatypeMismatch, at, "%v", err)
			}
			e = cast
		}
		exprs[i] = e
	}
	if same {
		return in, nil
	}
	return &Project{Input: in, Exprs: exprs, Names: out.Names()}, nil
}

func (b *binder) bindValues(v *sql.Values) (Node, error) {
	empty := &scope{}
	var rows [][]*expr.Literal
	var out types.Schema
	for ri, row := range v.Rows {
		if ri > 0 && len(row) != len(rows[0]) {
			return nil, b.errAt(errs.DatatypeMismatch, v, "VALUES rows have different numbers of columns")
		}
		lits := make([]*expr.Literal, len(row))
		for i, e := range row {
			bound, err := b.bindExpr(empty, e)
			if err != nil {
				return nil, err
			}
			folded, err := expr.Fold(bound)
			if err != nil {
				return nil, b.errAt(errs.DataException, e, "%v", err)
			}
			lit, ok := folded.(*expr.Literal)
			if !ok {
				return b.bindComputedValues(v)
			}
			lits[i] = lit
			if ri == 0 {
				out.Columns = append(out.Columns, types.Column{Name: fmt.Sprintf("EXPR$%d", i), Type: lit.T})
			} else {
				t, ok := types.CommonType(out.Columns[i].Type, lit.T)
				if !ok {
					return nil, b.errAt(errs.DatatypeMismatch, e, "VALUES column %d mixes types %s and %s", i+1, out.Columns[i].Type, lit.T)
				}
				out.Columns[i].Type = t
			}
		}
		rows = append(rows, lits)
	}
	for _, row := range rows {
		for i, l := range row {
			if !l.T.Equal(out.Columns[i].Type) {
				c, err := expr.NewCast(l, out.Columns[i].Type, false)
				if err != nil {
					return nil, b.errAt(errs.DatatypeMismatch, v, "%v", err)
				}
				folded, err := expr.Fold(c)
				if err != nil {
					return nil, b.errAt(errs.DataException, v, "%v", err)
				}
				row[i] = folded.(*expr.Literal)
			}
		}
	}
	return &Values{Rows: rows, Out: out}, nil
}

func (b *binder) bindSelect(s *sql.Select) (Node, error) {
	if s.GroupingSets != nil {
		return b.bindGroupingSets(s)
	}
	var (
		input Node
		sc    *scope
		err   error
	)
	// The block's STATE_TTL hints apply to its own aggregate and joins,
	// not to the blocks nested in its FROM (they bind their own).
	ttl, err := b.stateTTLHints(s)
	if err != nil {
		return nil, err
	}
	if s.From == nil {
		input = &Values{Rows: [][]*expr.Literal{{}}}
		sc = &scope{}
	} else {
		outer := b.stateTTL
		b.stateTTL = ttl
		input, sc, err = b.bindFrom(s.From)
		b.stateTTL = outer
		if err != nil {
			return nil, err
		}
	}
	if s.Where != nil {
		if input, err = b.bindWhere(s.Where, input, sc); err != nil {
			return nil, err
		}
	}
	if s.Where != nil && hasAggregates(s.Where) {
		return nil, b.errAt(errs.GroupingError, s.Where, "aggregate functions are not allowed in WHERE")
	}
	// A grouping set's query aggregates even when its set is empty, and
	// so does one whose subqueries call its aggregates
	// (bind_outer_aggregate.go).
	grouped := len(s.GroupBy) > 0 || s.Having != nil || hasAggregates(itemExprs(s.Items)...) || b.groupingSet ||
		s.From != nil && hasScalarSubquery(itemExprs(s.Items)...) && len(b.outerAggregates(itemExprs(s.Items), sc)) > 0
	if grouped {
		if input, sc, err = b.bindAggregate(s, input, sc); err != nil {
			return nil, err
		}
		if a, ok := input.(*Aggregate); ok && s.From != nil {
			if v, ok := inputTTL(s.From, ttl); ok {
				cp := *a
				cp.StateTTLMillis, cp.HasStateTTL = v, true
				input = &cp
			}
		}
		if s.Having != nil {
			if hasScalarSubquery(s.Having) {
				if input, sc, err = b.planScalarSubqueries([]sql.Expr{s.Having}, input, sc); err != nil {
					return nil, err
				}
			}
			// IN subqueries nested in HAVING (not only as its conjuncts)
			// become mark joins, as in a SELECT item.
			if input, sc, err = b.planMarkJoins(s.Having, input, sc); err != nil {
				return nil, err
			}
			cond, err := b.bindExpr(sc, s.Having)
			if err != nil {
				return nil, err
			}
			if cond.Type().Kind != types.Boolean {
				return nil, b.errAt(errs.DatatypeMismatch, s.Having, "HAVING condition must be BOOLEAN, not %s", cond.Type())
			}
			input = &Filter{Input: input, Condition: cond}
		}
	}
	if len(s.Windows) > 0 || hasWindowed(s.Items) {
		if grouped {
			return nil, b.errAt(errs.NotSupported, s, "window functions over a grouped query are not supported yet")
		}
		if input, sc, err = b.bindOver(s, input, sc); err != nil {
			return nil, err
		}
	}
	if hasScalarSubquery(itemExprs(s.Items)...) {
		if input, sc, err = b.planScalarSubqueries(itemExprs(s.Items), input, sc); err != nil {
			return nil, err
		}
	}
	// x [NOT] IN (subquery) as a value is a mark join (planMarkJoins).
	for _, e := range itemExprs(s.Items) {
		if input, sc, err = b.planMarkJoins(e, input, sc); err != nil {
			return nil, err
		}
	}
	var exprs []expr.Expr
	var names []string
	for _, item := range s.Items {
		if item.Star {
			n := 0
			for i, c := range sc.cols {
				if c.hidden {
					continue
				}
				if item.StarQualifier != nil && (len(item.StarQualifier) != 1 || c.qualifier != item.StarQualifier[0]) {
					continue
				}
				exprs = append(exprs, &expr.ColumnRef{Index: i, Name: c.name, T: c.typ})
				names = append(names, c.name)
				n++
			}
			if n == 0 && item.StarQualifier != nil {
				fields, fieldNames, err := b.rowFields(sc, item)
				if err != nil {
					return nil, err
				}
				exprs, names = append(exprs, fields...), append(names, fieldNames...)
			}
			continue
		}
		e, err := b.bindExpr(sc, item.Expr)
		if err != nil {
			return nil, err
		}
		name := item.Alias
		if name == "" {
			if id, ok := item.Expr.(*sql.Ident); ok {
				name = id.Parts[len(id.Parts)-1]
			} else {
				name = fmt.Sprintf("EXPR$%d", len(exprs))
			}
		}
		exprs = append(exprs, e)
		names = append(names, name)
	}
	var out Node = &Project{Input: input, Exprs: exprs, Names: uniqueNames(names)}
	if s.Distinct {
		// SELECT DISTINCT groups by every output column.
		keys := make([]int, len(exprs))
		for i := range keys {
			keys[i] = i
		}
		out = &Aggregate{Input: out, Keys: keys, Names: out.Schema().Names()}
	}
	return out, nil
}

func itemExprs(items []sql.SelectItem) []sql.Expr {
	var es []sql.Expr
	for _, it := range items {
		if it.Expr != nil {
			es = append(es, it.Expr)
		}
	}
	return es
}

// uniqueNames makes output column names distinct the way Calcite does, by
// appending a counter to later duplicates (a, a0, a1).
func uniqueNames(names []string) []string {
	seen := map[string]bool{}
	out := make([]string, len(names))
	for i, n := range names {
		u := n
		for k := 0; seen[u]; k++ {
			u = fmt.Sprintf("%s%d", n, k)
		}
		seen[u] = true
		out[i] = u
	}
	return out
}

func (b *binder) bindFrom(t sql.TableExpr) (Node, *scope, error) {
	switch n := t.(type) {
	case *sql.TableRef:
		alias := n.Alias
		if alias == "" {
			alias = n.Name.Parts[len(n.Name.Parts)-1]
		}
		node, err := b.bindTableRef(n)
		if err != nil {
			return nil, nil, err
		}
		return node, newScope(alias, node.Schema()), nil
	case *sql.SubqueryRef:
		node, err := b.bindQuery(n.Query)
		if err != nil {
			return nil, nil, err
		}
		if node, err = b.renameColumns(n, node, n.ColumnAliases); err != nil {
			return nil, nil, err
		}
		return node, newScope(n.Alias, node.Schema()), nil
	case *sql.TableFunctionRef:
		if n.Name == "UNNEST" {
			// FROM UNNEST(...) alone unnests a collection of constants:
			// a correlate over one empty row.
			c, sc, err := b.bindUnnest(n, &Values{Rows: [][]*expr.Literal{{}}}, &scope{}, false)
			return c, sc, err
		}
		if isGenerateSeries(n) {
			return b.bindGenerateSeries(n, &Values{Rows: [][]*expr.Literal{{}}}, &scope{}, false)
		}
		if isTableFunctionCall(n) {
			return b.bindTableFunctionAlone(n)
		}
		if n.Lateral {
			return nil, nil, b.errAt(errs.NotSupported, n, "LATERAL TABLE(%s(...)) must follow a table it joins", n.Name)
		}
		var node Node
		var err error
		if isChangelogFunction(n.Name) {
			node, err = b.bindChangelogFunction(n)
		} else if n.Name == "ML_PREDICT" {
			node, err = b.bindMLPredict(n)
		} else {
			node, err = b.bindWindowTVF(n)
		}
		if err != nil {
			return nil, nil, err
		}
		if node, err = b.renameColumns(n, node, n.ColumnAliases); err != nil {
			return nil, nil, err
		}
		return node, newScope(n.Alias, node.Schema()), nil
	case *sql.MatchRecognizeRef:
		return b.bindMatchRecognize(n)
	case *sql.Join:
		return b.bindJoin(n)
	}
	return nil, nil, b.errAt(errs.NotSupported, t, "FROM item is not supported yet")
}

// renameColumns applies a column alias list (t(a, b), WITH c(a, b)).
func (b *binder) renameColumns(at sql.Node, n Node, aliases []string) (Node, error) {
	if len(aliases) == 0 {
		return n, nil
	}
	s := n.Schema()
	if len(aliases) != s.Len() {
		return nil, b.errAt(errs.DatatypeMismatch, at, "%d column aliases given for %d columns", len(aliases), s.Len())
	}
	exprs := make([]expr.Expr, s.Len())
	for i, c := range s.Columns {
		exprs[i] = &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type}
	}
	return &Project{Input: n, Exprs: exprs, Names: uniqueNames(aliases)}, nil
}

func (b *binder) bindTableRef(n *sql.TableRef) (Node, error) {
	if len(n.Name.Parts) == 1 {
		for i := len(b.ctes) - 1; i >= 0; i-- {
			if cte, ok := b.ctes[i][n.Name.Parts[0]]; ok {
				if err := b.checkOptionsHint(n, "WITH query"); err != nil {
					return nil, err
				}
				return cte, nil
			}
		}
	}
	path, err := b.qualify(n.Name)
	if err != nil {
		return nil, err
	}
	obj, err := b.cat.Get(path)
	if err != nil {
		return nil, b.positioned(err, n)
	}
	switch o := obj.(type) {
	case *catalog.View:
		if err := b.checkOptionsHint(n, "View"); err != nil {
			return nil, err
		}
		return b.expandView(n, path, o)
	case *catalog.Table:
		return b.scanTable(n, path, withOptionsHint(n.Hints, o))
	}
	return nil, errs.Internalf("unknown catalog object %T", obj)
}

// expandView binds a view's stored query text in place of its name.
func (b *binder) expandView(at sql.Node, path catalog.Path, v *catalog.View) (Node, error) {
	if b.expanding[path] {
		return nil, b.errAt(errs.InvalidPlan, at, "view %s refers to itself", path)
	}
	if plan, ok := v.Plan.(Node); ok {
		return plan, nil // a Table API view (see planner/api.go)
	}
	stmt, err := sql.ParseStatement(v.Query)
	if err != nil {
		return nil, b.errAt(errs.InternalError, at, "stored query of view %s does not parse: %v", path, err)
	}
	qs, ok := stmt.(*sql.QueryStatement)
	if !ok {
		return nil, errs.Internalf("stored query of view %s is not a query", path)
	}
	vb := &binder{source: source{text: v.Query, origin: "in view " + path.String(), cat: b.cat}, cat: b.cat, expanding: b.expanding, batch: b.batch, nonTemporalSort: b.nonTemporalSort}
	b.expanding[path] = true
	defer delete(b.expanding, path)
	node, err := vb.bindQuery(qs.Query)
	if err != nil {
		return nil, err
	}
	return vb.renameColumns(at, node, v.ColumnAliases)
}

// distinct groups by every column of n.
func distinct(n Node) Node {
	s := n.Schema()
	keys := make([]int, s.Len())
	for i := range keys {
		keys[i] = i
	}
	return &Aggregate{Input: n, Keys: keys, Names: s.Names()}
}

// intersectOrExcept plans INTERSECT and EXCEPT as Flink does: both inputs
// tagged with their side, unioned, grouped by every column with a count
// per side, and filtered on the counts. The ALL forms keep multiset
// semantics (Flink's RewriteIntersectAllRule and RewriteMinusAllRule):
// each row is then emitted as many times as it occurs in both inputs
// (the smaller count) or in the left input beyond the right one, by a
// correlate over $REPLICATE_ROWS of that number. Over changing inputs the
// aggregate's -U/+U rows retract and re-add the copies.
func (b *binder) intersectOrExcept(n *sql.SetOp, l, r Node) (Node, error) {
	tag := func(in Node, side bool) Node {
		s := in.Schema()
		exprs := columnRefsOf(s)
		exprs = append(exprs, &expr.Literal{Value: side, T: types.BooleanType.WithNullable(false)})
		return &Project{Input: in, Exprs: exprs, Names: append(s.Names(), "$side")}
	}
	u, err := b.unionAll(n, tag(l, true), tag(r, false))
	if err != nil {
		return nil, err
	}
	width := l.Schema().Len()
	us := u.Schema()
	// Per side: COUNT(*) FILTER (WHERE $side) and FILTER (WHERE NOT $side).
	notSide, err := b.call(n, "NOT", &expr.ColumnRef{Index: width, Name: "$side", T: us.Columns[width].Type})
	if err != nil {
		return nil, err
	}
	pre := append(columnRefsOf(us), notSide)
	keys := make([]int, width)
	for i := range keys {
		keys[i] = i
	}
	count := types.BigIntType.WithNullable(false)
	a := &Aggregate{
		Input: &Project{Input: u, Exprs: pre, Names: append(us.Names(), "$other")},
		Keys:  keys,
		Calls: []agg.Call{
			{Func: "COUNT", Filter: width, Type: count, Name: "$left"},
			{Func: "COUNT", Filter: width + 1, Type: count, Name: "$right"},
		},
		Names: append(us.Names()[:width:width], "$left", "$right"),
	}
	zero := &expr.Literal{Value: int64(0), T: count}
	if n.All {
		return b.replicateSetOp(n, a, width)
	}
	leftSeen, err := b.call(n, ">", &expr.ColumnRef{Index: width, Name: "$left", T: count}, zero)
	if err != nil {
		return nil, err
	}
	rightOp := ">"
	if n.Op == sql.Except {
		rightOp = "="
	}
	rightCond, err := b.call(n, rightOp, &expr.ColumnRef{Index: width + 1, Name: "$right", T: count}, zero)
	if err != nil {
		return nil, err
	}
	cond, err := b.call(n, "AND", leftSeen, rightCond)
	if err != nil {
		return nil, err
	}
	as := a.Schema()
	keep := columnRefsOf(types.Schema{Columns: as.Columns[:width]})
	return &Project{Input: &Filter{Input: a, Condition: cond}, Exprs: keep, Names: as.Names()[:width]}, nil
}

// replicateSetOp finishes INTERSECT ALL and EXCEPT ALL over the per-side
// counts of a (its columns width and width+1): the number of copies of
// each row, kept when positive, then that many copies of the row.
func (b *binder) replicateSetOp(n *sql.SetOp, a *Aggregate, width int) (Node, error) {
	count := types.BigIntType.WithNullable(false)
	left := &expr.ColumnRef{Index: width, Name: "$left", T: count}
	right := &expr.ColumnRef{Index: width + 1, Name: "$right", T: count}
	var copies expr.Expr
	var err error
	if n.Op == sql.Except {
		copies, err = b.call(n, "-", left, right)
	} else {
		var more expr.Expr
		if more, err = b.call(n, ">", left, right); err == nil {
			copies, err = b.call(n, "CASE", more, right, left)
		}
	}
	if err != nil {
		return nil, err
	}
	as := a.Schema()
	cols := columnRefsOf(types.Schema{Columns: as.Columns[:width]})
	names := as.Names()[:width:width]
	counted := &Project{Input: a, Exprs: append(cols, copies), Names: append(names, "$copies")}
	copiesRef := &expr.ColumnRef{Index: width, Name: "$copies", T: copies.Type()}
	positive, err := b.call(n, ">", copiesRef, &expr.Literal{Value: int64(0), T: count})
	if err != nil {
		return nil, err
	}
	replicate, err := b.call(n, expr.ReplicateRows, copiesRef)
	if err != nil {
		return nil, err
	}
	elems, err := UnnestColumns(replicate.Type())
	if err != nil {
		return nil, errs.Internalf("%v", err)
	}
	c := &Correlate{Input: &Filter{Input: counted, Condition: positive}, Arg: replicate, Elems: elems}
	return &Project{Input: c, Exprs: cols, Names: names}, nil
}

func columnRefsOf(s types.Schema) []expr.Expr {
	out := make([]expr.Expr, s.Len())
	for i, c := range s.Columns {
		out[i] = &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type}
	}
	return out
}

func hasWindowed(items []sql.SelectItem) bool {
	calls, _ := windowedCalls(items)
	return len(calls) > 0
}

// rowFields expands qual.* whose qualifier names no table of the FROM
// clause but a ROW column (r.* or t.r.*): into the column's fields, as
// the SQL standard's all-fields reference and Calcite do.
func (b *binder) rowFields(sc *scope, item sql.SelectItem) ([]expr.Expr, []string, error) {
	id := &sql.Ident{Pos: item.Pos, Parts: item.StarQualifier}
	e, err := b.bindExpr(sc, id)
	if err != nil {
		return nil, nil, b.errAt(errs.UndefinedTable, id, "table '%s' not found in FROM clause", item.StarQualifier[0])
	}
	t := e.Type()
	if t.Kind != types.Row {
		return nil, nil, b.errAt(errs.DatatypeMismatch, id, "'%s.*' expands a table or a ROW column, but '%s' is %s",
			strings.Join(item.StarQualifier, "."), strings.Join(item.StarQualifier, "."), t)
	}
	var exprs []expr.Expr
	var names []string
	for _, f := range t.Fields {
		fe, err := b.fieldAccess(id, e, []string{f.Name})
		if err != nil {
			return nil, nil, err
		}
		exprs, names = append(exprs, fe), append(names, f.Name)
	}
	return exprs, names, nil
}
