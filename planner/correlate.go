package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// Correlate joins every input row with the rows a table function produces
// from that row, as Flink's Correlate. Its table function is UNNEST (or a
// user-defined one, see TableFunction below): the
// collection Arg (an ARRAY, MULTISET or MAP computed from the input row)
// becomes one row per element. The output is the input columns followed
// by the element columns:
//
//   - ARRAY<ROW<a, b>>: the row's fields a, b;
//   - ARRAY<t> or MULTISET<t>: one column of type t;
//   - MAP<k, v>: the key and the value;
//
// and with Ordinality (UNNEST ... WITH ORDINALITY) the element's position
// in its collection, from 1, as a last INT NOT NULL column.
//
// Elems are the element columns (named by the alias list, typed by
// UnnestColumns). An inner correlate drops input rows whose collection is
// empty or NULL; a left one (LEFT JOIN UNNEST(...) ON TRUE) keeps them
// once, with NULL element columns.
//
// With TableFunction, Arg is the call of a user-defined table function
// (LATERAL TABLE(f(args)), Flink's table function scan), whose value is
// the ARRAY<ROW> of the rows f produces for the input row
// (expr.RegisterTableFunction), unnested the same way.
type Correlate struct {
	Input         Node
	Arg           expr.Expr
	Left          bool
	Ordinality    bool
	TableFunction bool
	Elems         []types.Column
}

var _ Node = (*Correlate)(nil)

// UnnestColumns returns the types of the columns UNNEST produces from a
// collection of type t, with Flink's default names (a row's field names,
// else f0 and f1), or an error when t is not a collection.
func UnnestColumns(t types.DataType) ([]types.Column, error) {
	switch t.Kind {
	case types.Array, types.Multiset:
		elem := *t.Elem
		if elem.Kind != types.Row {
			return []types.Column{{Name: "f0", Type: elem}}, nil
		}
		cols := make([]types.Column, len(elem.Fields))
		for i, f := range elem.Fields {
			ft := f.Type
			if elem.Nullable() {
				ft = ft.WithNullable(true)
			}
			cols[i] = types.Column{Name: f.Name, Type: ft}
		}
		return cols, nil
	case types.Map:
		return []types.Column{{Name: "f0", Type: *t.Key}, {Name: "f1", Type: *t.Value}}, nil
	}
	return nil, fmt.Errorf("UNNEST needs an ARRAY, MULTISET or MAP, not %s", t)
}

func (c *Correlate) Schema() types.Schema {
	in := c.Input.Schema()
	out := types.Schema{Columns: append([]types.Column(nil), in.Columns...)}
	for _, col := range c.Elems {
		if c.Left {
			col.Type = col.Type.WithNullable(true)
		}
		out.Columns = append(out.Columns, col)
	}
	return out
}

func (c *Correlate) Children() []Node         { return []Node{c.Input} }
func (c *Correlate) Changelog() ChangelogMode { return c.Input.Changelog() }
func (c *Correlate) Bounded() bool            { return c.Input.Bounded() }
func (c *Correlate) WithChildren(ch ...Node) Node {
	mustChildren("Correlate", ch, 1)
	cp := *c
	cp.Input = ch[0]
	return &cp
}

func (c *Correlate) Describe() string {
	join := "INNER"
	if c.Left {
		join = "LEFT"
	}
	ord := ""
	if c.Ordinality {
		ord = " WITH ORDINALITY"
	}
	invocation := fmt.Sprintf("UNNEST(%s)%s", c.Arg, ord)
	if c.TableFunction {
		invocation = c.Arg.String()
	}
	return fmt.Sprintf("Correlate(invocation=[%s], select=[%s], joinType=[%s])",
		invocation, strings.Join(c.Schema().Names(), ", "), join)
}
