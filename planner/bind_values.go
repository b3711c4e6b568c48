package planner

import (
	"fmt"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// bindComputedValues binds a VALUES list some of whose expressions do not
// fold to constants (ARRAY[...] and ROW(...) constructors, non-deterministic
// calls) as Calcite plans it: each row is a projection of one empty row,
// the rows a UNION ALL, every column cast to the common type of its
// values.
func (b *binder) bindComputedValues(v *sql.Values) (Node, error) {
	empty := &scope{}
	rows := make([][]expr.Expr, len(v.Rows))
	var out types.Schema
	for ri, row := range v.Rows {
		if ri > 0 && len(row) != len(v.Rows[0]) {
			return nil, b.errAt(errs.DatatypeMismatch, v, "VALUES rows have different numbers of columns")
		}
		bound := make([]expr.Expr, len(row))
		for i, e := range row {
			x, err := b.bindExpr(empty, e)
			if err != nil {
				return nil, err
			}
			if x, err = expr.Fold(x); err != nil {
				return nil, b.errAt(errs.DataException, e, "%v", err)
			}
			bound[i] = x
			if ri == 0 {
				out.Columns = append(out.Columns, types.Column{Name: fmt.Sprintf("EXPR$%d", i), Type: x.Type()})
				continue
			}
			t, ok := types.CommonType(out.Columns[i].Type, x.Type())
			if !ok {
				return nil, b.errAt(errs.DatatypeMismatch, e, "VALUES column %d mixes types %s and %s", i+1, out.Columns[i].Type, x.Type())
			}
			out.Columns[i].Type = t
		}
		rows[ri] = bound
	}
	inputs := make([]Node, len(rows))
	for ri, row := range rows {
		for i, x := range row {
			if x.Type().Equal(out.Columns[i].Type) {
				continue
			}
			c, err := expr.NewCast(x, out.Columns[i].Type, false)
			if err != nil {
				return nil, b.errAt(errs.DatatypeMismatch, v.Rows[ri][i], "%v", err)
			}
			row[i] = c
		}
		inputs[ri] = &Project{Input: &Values{Rows: [][]*expr.Literal{{}}}, Exprs: row, Names: out.Names()}
	}
	if len(inputs) == 1 {
		return inputs[0], nil
	}
	return &UnionAll{Inputs: inputs, Out: out}, nil
}
