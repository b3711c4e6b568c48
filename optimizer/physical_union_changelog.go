package optimizer

import (
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// StreamInsertAsChangelog gives an insert-only input of a union with
// updating inputs the layout of a changelog: its columns and a row kind
// column holding +I on every row. A union runs as no operator (its inputs
// feed its consumer directly), so every input must carry the batches the
// consumer reads; in Flink every row carries its kind, so the node has no
// Flink counterpart. It runs as a calc projecting the columns and the
// constant kind.
type StreamInsertAsChangelog struct {
	Input PhysicalNode
}

var _ operatorNode = (*StreamInsertAsChangelog)(nil)

func (n *StreamInsertAsChangelog) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamInsertAsChangelog) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamInsertAsChangelog) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamInsertAsChangelog) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamInsertAsChangelog) Describe() string {
	return "Calc(select=[" + strings.Join(append(n.Schema().Names(), "+I AS "+connector.RowKindColumn), ", ") + "])"
}

// operatorSpec is a calc that is not itself a changelog (it does not read
// a row kind from its input) but outputs the row kind as its last column.
func (n *StreamInsertAsChangelog) operatorSpec() (exec.OperatorSpec, error) {
	in := n.Input.Schema()
	kindType := types.TinyIntType.WithNullable(false)
	out := types.Schema{Columns: append(append([]types.Column(nil), in.Columns...),
		types.Column{Name: connector.RowKindColumn, Type: kindType})}
	var s exec.CalcSpec
	exprs := make([]expr.Expr, 0, out.Len())
	for i, c := range in.Columns {
		exprs = append(exprs, &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type})
	}
	exprs = append(exprs, &expr.Literal{Value: int64(connector.Insert), T: kindType})
	for _, e := range exprs {
		raw, err := expr.Marshal(e)
		if err != nil {
			return exec.OperatorSpec{}, err
		}
		s.Projections = append(s.Projections, raw)
	}
	return spec(exec.KindCalc, n.Describe(), out, s)
}

// asChangelog wraps the insert-only inputs of a union whose output is a
// changelog.
func asChangelog(in PhysicalNode, logical planner.Node, union planner.Node) PhysicalNode {
	if union.Changelog() == planner.InsertOnly || changelogOf(in, logical) {
		return in
	}
	return &StreamInsertAsChangelog{Input: in}
}
