package planner

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// snapshotParams are the parameters of Flink's SNAPSHOT table function,
// in positional order.
var snapshotParams = []string{"INPUT", "LOAD_COMPLETED_CONDITION", "LOAD_COMPLETED_TIME", "LOAD_COMPLETED_IDLE_TIMEOUT", "STATE_TTL"}

// isSnapshot reports whether a FROM item is LATERAL TABLE(SNAPSHOT(...)).
func isSnapshot(t sql.TableExpr) bool {
	fn, ok := t.(*sql.TableFunctionRef)
	return ok && fn.Lateral && fn.Name == "SNAPSHOT"
}

// bindSnapshotJoin plans probe [LEFT] JOIN LATERAL TABLE(SNAPSHOT(input =>
// TABLE b, ...)) AS s ON cond, Flink's lateral snapshot join: each probe
// row joins the rows of b as loaded when the probe row is processed. The
// load-completion arguments (load_completed_condition 'compile_time' or
// 'user_time' with load_completed_time, load_completed_idle_timeout,
// state_ttl) are checked; the load completion time decides when a stream
// starts probing (SnapshotJoin). In batch mode b is read whole before any
// probe row, so the join is a regular join of the probe with b.
func (b *binder) bindSnapshotJoin(n *sql.Join) (Node, *scope, error) {
	fn := n.Right.(*sql.TableFunctionRef)
	args, err := b.ptfArgs(fn, snapshotParams)
	if err != nil {
		return nil, nil, err
	}
	in, ok := args["INPUT"]
	if !ok || in.Table == nil && in.Query == nil {
		return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "SNAPSHOT needs the table argument 'input' (input => TABLE name)")
	}
	condition := "compile_time"
	if a, ok := args["LOAD_COMPLETED_CONDITION"]; ok {
		if condition, err = b.literalArg(fn, a, "load_completed_condition", sql.StringLit, "STRING"); err != nil {
			return nil, nil, err
		}
		condition = strings.ToLower(condition)
		if condition != "compile_time" && condition != "user_time" {
			return nil, nil, b.errAt(errs.InvalidOption, fn, "load_completed_condition must be 'compile_time' or 'user_time', not '%s'", condition)
		}
	}
	// compile_time completes the load when the build's watermark reaches
	// the time the query is planned: a build input of past data loads
	// whole before any probe.
	loadCompleted := time.Now().UnixMilli()
	if a, ok := args["LOAD_COMPLETED_TIME"]; ok {
		lit, err := b.constantArg(a, "load_completed_time", func(t types.DataType) bool { return t.IsTimestamp() })
		if err != nil {
			return nil, nil, err
		}
		if condition == "user_time" {
			v, ok := lit.Value.(int64) // in the timestamp's Arrow unit
			if !ok {
				return nil, nil, b.errAt(errs.DatatypeMismatch, a.Expr, "load_completed_time must not be NULL")
			}
			loadCompleted = arrow.Timestamp(v).ToTime(types.TimeUnitFor(lit.T.Precision)).UnixMilli()
		}
	} else if condition == "user_time" {
		return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "load_completed_condition 'user_time' needs the argument load_completed_time")
	}
	for _, p := range []string{"LOAD_COMPLETED_IDLE_TIMEOUT", "STATE_TTL"} {
		if a, ok := args[p]; ok {
			if _, err := b.constantArg(a, strings.ToLower(p), func(t types.DataType) bool { return t.Kind == types.IntervalDayTime }); err != nil {
				return nil, nil, err
			}
		}
	}
	if n.Kind != sql.InnerJoin && n.Kind != sql.LeftJoin {
		return nil, nil, b.errAt(errs.NotSupported, n, "a lateral snapshot join is an INNER or LEFT join, not %s", n.Kind)
	}
	var right sql.TableExpr
	if in.Table != nil {
		if len(fn.ColumnAliases) > 0 {
			return nil, nil, b.errAt(errs.NotSupported, fn, "column aliases of SNAPSHOT over a table are not supported yet")
		}
		right = &sql.TableRef{Pos: in.Pos, Name: *in.Table, Alias: fn.Alias}
	} else {
		right = &sql.SubqueryRef{Pos: in.Pos, Query: in.Query, Alias: fn.Alias, ColumnAliases: fn.ColumnAliases}
	}
	node, sc, err := b.bindJoin(&sql.Join{Pos: n.Pos, Kind: n.Kind, Left: n.Left, Right: right, On: n.On, Using: n.Using})
	if err != nil || b.batch {
		return node, sc, err
	}
	j := node.(*Join)
	if j.Left.Changelog() != InsertOnly {
		return nil, nil, b.errAt(errs.NotSupported, n, "the probe side of a lateral snapshot join must be insert-only")
	}
	return &SnapshotJoin{Probe: j.Left, Build: j.Right, Type: j.Type, Condition: j.Condition, LoadCompletedMillis: loadCompleted}, sc, nil
}

// constantArg checks that a scalar table function argument is a constant
// of an accepted type.
func (b *binder) constantArg(a sql.TableFuncArg, param string, accept func(types.DataType) bool) (*expr.Literal, error) {
	if a.Expr == nil {
		return nil, b.errAt(errs.DatatypeMismatch, nil, "argument '%s' must be a constant", param)
	}
	e, err := b.bindExpr(&scope{}, a.Expr)
	if err != nil {
		return nil, err
	}
	folded, err := expr.Fold(e)
	if err != nil {
		return nil, b.errAt(errs.DataException, a.Expr, "%v", err)
	}
	lit, ok := folded.(*expr.Literal)
	if !ok || !accept(folded.Type()) {
		return nil, b.errAt(errs.DatatypeMismatch, a.Expr, "argument '%s' must be a constant of a suitable type, not %s", param, e.Type())
	}
	return lit, nil
}
