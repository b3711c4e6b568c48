package planner

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

var joinTypes = map[sql.JoinKind]JoinType{
	sql.InnerJoin: InnerJoin, sql.CrossJoin: InnerJoin, sql.LeftJoin: LeftJoin,
	sql.RightJoin: RightJoin, sql.FullJoin: FullJoin,
}

// bindJoin plans left JOIN right ON cond: the scope over both inputs is
// the left columns followed by the right ones, each keeping its
// qualifier.
func (b *binder) bindJoin(n *sql.Join) (Node, *scope, error) {
	if isUnnest(n.Right) {
		return b.bindCorrelateJoin(n, "UNNEST", b.bindUnnest)
	}
	if isGenerateSeries(n.Right) {
		return b.bindCorrelateJoin(n, "generate_series", b.bindGenerateSeries)
	}
	if isSnapshot(n.Right) {
		return b.bindSnapshotJoin(n)
	}
	if isVectorSearch(n.Right) {
		return b.bindVectorSearchJoin(n)
	}
	if isTableFunctionCall(n.Right) {
		return b.bindCorrelateJoin(n, "LATERAL TABLE", b.bindTableFunction)
	}
	left, ls, err := b.bindFrom(n.Left)
	if err != nil {
		return nil, nil, err
	}
	if ref, ok := b.lateralSubquery(n); ok {
		return b.bindLateralJoin(n, ref, left, ls)
	}
	right, rs, err := b.bindFrom(n.Right)
	if err != nil {
		return nil, nil, err
	}
	// The subqueries in a LEFT JOIN's ON may name the left side's
	// columns: they are joined to the left input first (decorrelating
	// them over it), and their columns dropped after the join.
	leftWidth, hidden := len(ls.cols), 0
	if n.On != nil && n.Kind == sql.LeftJoin && (hasScalarSubquery(n.On) || hasInSubquery(n.On)) {
		if left, ls, err = b.planScalarSubqueries([]sql.Expr{n.On}, left, ls); err != nil {
			return nil, nil, err
		}
		if left, ls, err = b.planMarkJoins(n.On, left, ls); err != nil {
			return nil, nil, err
		}
		hidden = len(ls.cols) - leftWidth
	}
	sc := &scope{cols: append(append([]scopeColumn(nil), ls.cols...), rs.cols...), scalars: ls.scalars, marks: ls.marks}
	j := &Join{Left: left, Right: right, Type: joinTypes[n.Kind], SystemTime: -1}
	if ref, ok := n.Right.(*sql.TableRef); ok && ref.SystemTime != nil {
		if err := b.temporal(j, ref, ls); err != nil {
			return nil, nil, err
		}
	}
	if j.SystemTime < 0 && !j.Lookup {
		// A STATE_TTL hint naming an input sets its retention in the
		// join; a cascaded join's input that is itself a join has no
		// name and keeps table.exec.state.ttl, as in Flink.
		for i, in := range []sql.TableExpr{n.Left, n.Right} {
			j.StateTTLMillis[i], j.HasStateTTL[i] = inputTTL(in, b.stateTTL)
		}
	}
	// Subqueries in an inner join's ON filter the join as in a WHERE,
	// which decorrelates them (bindWhere); the other conjuncts join.
	on, filter := n.On, sql.Expr(nil)
	if n.On != nil && n.Kind == sql.InnerJoin && (hasScalarSubquery(n.On) || hasInSubquery(n.On)) {
		var joins, subs []sql.Expr
		for _, c := range splitAnd(n.On) {
			if hasScalarSubquery(c) || hasInSubquery(c) {
				subs = append(subs, c)
			} else {
				joins = append(joins, c)
			}
		}
		on, filter = andAll(joins), andAll(subs)
	}
	switch {
	case on != nil:
		cond, err := b.bindExpr(sc, on)
		if err != nil {
			return nil, nil, err
		}
		if cond.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(errs.DatatypeMismatch, n.On, "join condition must be BOOLEAN, not %s", cond.Type())
		}
		j.Condition = cond
	case filter != nil:
	case len(n.Using) > 0:
		for _, name := range n.Using {
			li, ri := columnIn(ls, name), columnIn(rs, name)
			if li < 0 || ri < 0 {
				return nil, nil, b.errAt(errs.UndefinedColumn, n, "column '%s' of USING must exist on both sides of the join", name)
			}
			ri += len(ls.cols)
			l := &expr.ColumnRef{Index: li, Name: name, T: sc.cols[li].typ}
			r := &expr.ColumnRef{Index: ri, Name: name, T: sc.cols[ri].typ}
			eq, err := b.call(n, "=", l, r)
			if err != nil {
				return nil, nil, err
			}
			if j.Condition == nil {
				j.Condition = eq
			} else if j.Condition, err = b.call(n, "AND", j.Condition, eq); err != nil {
				return nil, nil, err
			}
		}
	case n.Kind != sql.CrossJoin && n.Kind != sql.InnerJoin:
		return nil, nil, b.errAt(errs.InvalidPlan, n, "%s JOIN needs an ON or USING condition", n.Kind)
	}
	// The scope's types follow the join's nullability.
	out := j.Schema()
	for i := range sc.cols {
		sc.cols[i].typ = out.Columns[i].Type
	}
	if filter != nil {
		filtered, err := b.bindWhere(filter, j, sc)
		return filtered, sc, err
	}
	if hidden > 0 {
		keep := append(append([]scopeColumn(nil), sc.cols[:leftWidth]...), sc.cols[leftWidth+hidden:]...)
		var exprs []expr.Expr
		var names []string
		for i, c := range out.Columns {
			if i < leftWidth || i >= leftWidth+hidden {
				exprs = append(exprs, &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type})
				names = append(names, c.Name)
			}
		}
		return &Project{Input: j, Exprs: exprs, Names: names}, &scope{cols: keep}, nil
	}
	return j, sc, nil
}

func columnIn(sc *scope, name string) int {
	for i, c := range sc.cols {
		if c.name == name {
			return i
		}
	}
	return -1
}

// temporal plans right FOR SYSTEM_TIME AS OF l.t (see Join.SetTemporal).
func (b *binder) temporal(j *Join, ref *sql.TableRef, ls *scope) error {
	e, err := b.bindExpr(ls, ref.SystemTime)
	if err != nil {
		return err
	}
	if terr := j.SetTemporal(e); terr != nil {
		return b.errAt(terr.Code, ref.SystemTime, "%s", terr.Msg)
	}
	return nil
}
