package planner

import (
	"fmt"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// SnapshotJoin is Flink's lateral snapshot join over a stream, probe
// [LEFT] JOIN LATERAL TABLE(SNAPSHOT(input => TABLE build, ...)) ON cond:
// the build input is loaded into state first; probe rows wait until the
// load completes (the build's watermark reaches LoadCompletedMillis, or
// the build input ends), then each probe row joins the build rows in state
// when it is processed, later build changes applying to later probe rows
// only. The output is insert-only: a result is never retracted. The
// output is the probe columns then the build columns (nullable for a left
// join), without time attributes.
type SnapshotJoin struct {
	Probe, Build Node
	Type         JoinType
	Condition    expr.Expr
	// LoadCompletedMillis is the build watermark that completes the load
	// (epoch milliseconds).
	LoadCompletedMillis int64
}

var _ Node = (*SnapshotJoin)(nil)

func (j *SnapshotJoin) Schema() types.Schema {
	var out types.Schema
	for _, c := range j.Probe.Schema().Columns {
		out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type.WithTimeAttr(types.NoTimeAttr)})
	}
	for _, c := range j.Build.Schema().Columns {
		t := c.Type.WithTimeAttr(types.NoTimeAttr)
		if j.Type == LeftJoin {
			t = t.WithNullable(true)
		}
		out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: t})
	}
	return out
}

func (j *SnapshotJoin) Children() []Node         { return []Node{j.Probe, j.Build} }
func (j *SnapshotJoin) Bounded() bool            { return j.Probe.Bounded() && j.Build.Bounded() }
func (j *SnapshotJoin) Changelog() ChangelogMode { return InsertOnly }
func (j *SnapshotJoin) WithChildren(c ...Node) Node {
	mustChildren("SnapshotJoin", c, 2)
	cp := *j
	cp.Probe, cp.Build = c[0], c[1]
	return &cp
}

func (j *SnapshotJoin) Describe() string {
	cond := "true"
	if j.Condition != nil {
		cond = j.Condition.String()
	}
	return fmt.Sprintf("LateralSnapshotJoin(joinType=[%s], where=[%s], loadCompleted=[%d], select=[%s])",
		j.Type, cond, j.LoadCompletedMillis, fieldList(j.Schema()))
}
