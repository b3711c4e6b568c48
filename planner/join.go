package planner

import (
	"fmt"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// JoinType is the kind of a join.
type JoinType string

const (
	InnerJoin JoinType = "inner"
	LeftJoin  JoinType = "left"
	RightJoin JoinType = "right"
	FullJoin  JoinType = "full"
	// SemiJoin keeps the left rows with a match (IN, EXISTS).
	SemiJoin JoinType = "semi"
	// AntiJoin keeps the left rows without a match (NOT IN, NOT EXISTS).
	AntiJoin JoinType = "anti"
)

// Join combines two inputs. Condition is over the left columns followed by
// the right columns (nil: every pair matches). The output is the left
// columns then the right ones (semi and anti joins: the left ones only);
// outer joins make the other side's columns nullable.
type Join struct {
	Left, Right Node
	Type        JoinType
	Condition   expr.Expr
	// SystemTime, for right FOR SYSTEM_TIME AS OF l.t, is the left column
	// l.t: a temporal join against the versioned right table. -1 otherwise.
	SystemTime int
	// Lookup marks a processing-time lookup join (FOR SYSTEM_TIME AS OF
	// l.proctime) against a bounded table: its right side is read first.
	Lookup bool
	// Interval marks a join whose condition bounds the distance between
	// time attributes of its inputs (set by the optimizer): it runs as an
	// interval join, which emits each result once and keeps the inputs'
	// time attributes.
	Interval bool
	// StateTTLMillis[i], when HasStateTTL[i], is the idle state retention
	// of input i's rows (left, right) a STATE_TTL hint sets for a regular
	// join, in place of table.exec.state.ttl.
	StateTTLMillis [2]int64
	HasStateTTL    [2]bool
}

var _ Node = (*Join)(nil)

func (j *Join) Schema() types.Schema {
	l, r := j.Left.Schema(), j.Right.Schema()
	out := types.Schema{}
	nullable := func(s types.Schema, null bool) {
		for _, c := range s.Columns {
			t := c.Type
			if null {
				t = t.WithNullable(true)
			}
			// A regular join's output is not ordered by time, so the time
			// attributes of its inputs end here, as in Flink; a temporal
			// join keeps the left side's.
			if !j.Interval && (j.SystemTime < 0 || len(out.Columns) >= l.Len()) {
				t = t.WithTimeAttr(types.NoTimeAttr)
			}
			out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: t})
		}
	}
	nullable(l, j.Type == RightJoin || j.Type == FullJoin)
	if j.Type != SemiJoin && j.Type != AntiJoin {
		nullable(r, j.Type == LeftJoin || j.Type == FullJoin)
	}
	return out
}

func (j *Join) Children() []Node { return []Node{j.Left, j.Right} }
func (j *Join) Bounded() bool    { return j.Left.Bounded() && j.Right.Bounded() }
func (j *Join) Changelog() ChangelogMode {
	if j.SystemTime >= 0 || j.Lookup {
		return j.Left.Changelog()
	}
	if j.Interval {
		return InsertOnly
	}
	if j.Type == InnerJoin && j.Left.Changelog() == InsertOnly && j.Right.Changelog() == InsertOnly {
		return InsertOnly
	}
	return Retract
}
func (j *Join) WithChildren(c ...Node) Node {
	mustChildren("Join", c, 2)
	cp := *j
	cp.Left, cp.Right = c[0], c[1]
	return &cp
}
func (j *Join) Describe() string {
	cond := "true"
	if j.Condition != nil {
		cond = j.Condition.String()
	}
	if j.Interval {
		return fmt.Sprintf("IntervalJoin(joinType=[%s], where=[%s], select=[%s])", j.Type, cond, fieldList(j.Schema()))
	}
	if j.SystemTime >= 0 {
		return fmt.Sprintf("TemporalJoin(joinType=[%s], period=[%s], where=[%s], select=[%s])", j.Type,
			j.Left.Schema().Columns[j.SystemTime].Name, cond, fieldList(j.Schema()))
	}
	if j.Lookup {
		return fmt.Sprintf("LookupJoin(joinType=[%s], where=[%s], select=[%s])", j.Type, cond, fieldList(j.Schema()))
	}
	return fmt.Sprintf("Join(joinType=[%s], where=[%s], select=[%s])", j.Type, cond, fieldList(j.Schema()))
}
