package planner

import (
	"fmt"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// WatermarkAssigner generates watermarks from a table's WATERMARK
// declaration: Expr, evaluated over each row, bounds the rowtime column.
type WatermarkAssigner struct {
	Input   Node
	Rowtime int
	Expr    expr.Expr
	// IdleTimeoutMillis is the table's 'scan.watermark.idle-timeout' (0:
	// not set, the session's table.exec.source.idle-timeout applies).
	IdleTimeoutMillis int64
}

var _ Node = (*WatermarkAssigner)(nil)

func (w *WatermarkAssigner) Schema() types.Schema     { return w.Input.Schema() }
func (w *WatermarkAssigner) Children() []Node         { return []Node{w.Input} }
func (w *WatermarkAssigner) Changelog() ChangelogMode { return w.Input.Changelog() }
func (w *WatermarkAssigner) Bounded() bool            { return w.Input.Bounded() }
func (w *WatermarkAssigner) WithChildren(c ...Node) Node {
	mustChildren("WatermarkAssigner", c, 1)
	cp := *w
	cp.Input = c[0]
	return &cp
}
func (w *WatermarkAssigner) Describe() string {
	return fmt.Sprintf("WatermarkAssigner(rowtime=[%s], watermark=[%s])",
		w.Input.Schema().Columns[w.Rowtime].Name, w.Expr)
}
