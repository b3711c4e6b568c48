package planner

import (
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// Values is a constant relation: rows of literals.
type Values struct {
	Rows [][]*expr.Literal
	Out  types.Schema
}

var _ Node = (*Values)(nil)

func (v *Values) Schema() types.Schema        { return v.Out }
func (v *Values) Children() []Node            { return nil }
func (v *Values) WithChildren(c ...Node) Node { mustChildren("Values", c, 0); return v }
func (v *Values) Changelog() ChangelogMode    { return InsertOnly }
func (v *Values) Bounded() bool               { return true }
func (v *Values) Describe() string {
	rows := make([]string, len(v.Rows))
	for i, r := range v.Rows {
		vals := make([]string, len(r))
		for j, l := range r {
			vals[j] = l.String()
		}
		rows[i] = "{ " + strings.Join(vals, ", ") + " }"
	}
	return "Values(tuples=[[" + strings.Join(rows, ", ") + "]], fields=[" + fieldList(v.Out) + "])"
}
