package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// RowKindNames are Flink's change operation names, indexed by
// connector.RowKind: the default op codes of TO_CHANGELOG and
// FROM_CHANGELOG, and the names their op_mapping arguments use.
var RowKindNames = [...]string{"INSERT", "UPDATE_BEFORE", "UPDATE_AFTER", "DELETE"}

// ToChangelog is Flink's built-in TO_CHANGELOG process table function: it
// turns its input, of any changelog mode, into an append-only table whose
// op column names each input row's change operation. Its columns are the
// PARTITION BY columns, the op column, then the other input columns in
// their order.
type ToChangelog struct {
	Input Node
	// Partition are the input columns of PARTITION BY (set semantics).
	Partition []int
	// Op names the op column (op => DESCRIPTOR(name); default op).
	Op string
	// Codes are the op codes by row kind (connector.RowKind); a row of a
	// kind without a code (Mapped false) is dropped, as op_mapping asks.
	Codes  [4]string
	Mapped [4]bool
	// PartialDeletes is produces_full_deletes => false: a DELETE row keeps
	// only its Keep columns (input indexes: the partition and upsert key
	// columns) and has the others NULL.
	PartialDeletes bool
	Keep           []int
}

var _ Node = (*ToChangelog)(nil)

// Columns lists, per output column, the input column it passes through,
// or -1 for the op column.
func (t *ToChangelog) Columns() []int {
	out := append(append([]int(nil), t.Partition...), -1)
	for i := range t.Input.Schema().Len() {
		if !slices.Contains(t.Partition, i) {
			out = append(out, i)
		}
	}
	return out
}

func (t *ToChangelog) Schema() types.Schema {
	in := t.Input.Schema()
	var out types.Schema
	for _, c := range t.Columns() {
		if c < 0 {
			out.Columns = append(out.Columns, types.Column{Name: t.Op, Type: types.StringType})
			continue
		}
		col := in.Columns[c]
		// A partial delete nulls the column, so its type must allow NULL.
		if t.PartialDeletes && t.Mapped[connector.Delete] && !slices.Contains(t.Keep, c) {
			col.Type = col.Type.WithNullable(true)
		}
		out.Columns = append(out.Columns, col)
	}
	return out
}

func (t *ToChangelog) Children() []Node         { return []Node{t.Input} }
func (t *ToChangelog) Changelog() ChangelogMode { return InsertOnly }
func (t *ToChangelog) Bounded() bool            { return t.Input.Bounded() }
func (t *ToChangelog) WithChildren(c ...Node) Node {
	mustChildren("ToChangelog", c, 1)
	cp := *t
	cp.Input = c[0]
	return &cp
}

func (t *ToChangelog) Describe() string {
	var b strings.Builder
	b.WriteString("ToChangelog(")
	if len(t.Partition) > 0 {
		fmt.Fprintf(&b, "partition=[%s], ", columnNames(t.Input.Schema(), t.Partition))
	}
	fmt.Fprintf(&b, "op=[%s], op_mapping=[%s]", t.Op, describeCodes(t.Codes, t.Mapped))
	if t.PartialDeletes {
		fmt.Fprintf(&b, ", produces_full_deletes=[false], keep=[%s]", columnNames(t.Input.Schema(), t.Keep))
	}
	fmt.Fprintf(&b, ", fields=[%s])", fieldList(t.Schema()))
	return b.String()
}

// describeCodes prints a row kind mapping as KIND->code, in row kind order.
func describeCodes(codes [4]string, mapped [4]bool) string {
	var parts []string
	for k, name := range RowKindNames {
		if mapped[k] {
			parts = append(parts, name+"->"+codes[k])
		}
	}
	return strings.Join(parts, ", ")
}
