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
	left, ls, err := b.bindFrom(n.Left)
	if err != nil {
		return nil, nil, err
	}
	right, rs, err := b.bindFrom(n.Right)
	if err != nil {
		return nil, nil, err
	}
	sc := &scope{cols: append(append([]scopeColumn(nil), ls.cols...), rs.cols...)}
	j := &Join{Left: left, Right: right, Type: joinTypes[n.Kind], SystemTime: -1}
	if ref, ok := n.Right.(*sql.TableRef); ok && ref.SystemTime != nil {
		if err := b.temporal(j, ref, ls); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case n.On != nil:
		cond, err := b.bindExpr(sc, n.On)
		if err != nil {
			return nil, nil, err
		}
		if cond.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(errs.DatatypeMismatch, n.On, "join condition must be BOOLEAN, not %s", cond.Type())
		}
		j.Condition = cond
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

// temporal checks FOR SYSTEM_TIME AS OF l.t: l.t must be a time attribute
// of the left input and the right table a versioned table (a primary key
// and a rowtime).
func (b *binder) temporal(j *Join, ref *sql.TableRef, ls *scope) error {
	if j.Type != InnerJoin && j.Type != LeftJoin {
		return b.errAt(errs.NotSupported, ref, "temporal joins are INNER or LEFT joins")
	}
	e, err := b.bindExpr(ls, ref.SystemTime)
	if err != nil {
		return err
	}
	col, ok := e.(*expr.ColumnRef)
	if !ok || col.T.TimeAttr == types.NoTimeAttr {
		return b.errAt(errs.DatatypeMismatch, ref.SystemTime, "FOR SYSTEM_TIME AS OF needs a time attribute of the left table, not %s", e)
	}
	if col.T.TimeAttr == types.ProctimeAttr {
		// A processing-time temporal join looks rows up in the right
		// table as it is when the left row arrives. Over a bounded table
		// that is a join against the table's rows, which a regular join
		// computes (without missing rows the table has not loaded yet).
		if !j.Right.Bounded() {
			return b.errAt(errs.NotSupported, ref.SystemTime, "processing-time temporal (lookup) joins need a bounded lookup table")
		}
		j.Lookup = true
		return nil
	}
	hasRowtime := false
	for _, c := range j.Right.Schema().Columns {
		hasRowtime = hasRowtime || c.Type.TimeAttr == types.RowtimeAttr
	}
	if !hasRowtime {
		return b.errAt(errs.InvalidPlan, ref, "the versioned table of an event-time temporal join needs a rowtime attribute (WATERMARK) and a PRIMARY KEY")
	}
	j.SystemTime = col.Index
	return nil
}
