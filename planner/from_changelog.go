package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// FromChangelog is Flink's built-in FROM_CHANGELOG process table function:
// it reads an append-only input whose op column holds each row's change
// operation as a code, and emits the rows, without the op column, as a
// changelog of those operations. Its columns are the PARTITION BY columns,
// then the other input columns but the op column, in their order.
type FromChangelog struct {
	Input Node
	// Partition are the input columns of PARTITION BY (set semantics).
	Partition []int
	// OpCol is the input column holding the op codes.
	OpCol int
	// Kinds maps each op code to the row kind it stands for.
	Kinds map[string]connector.RowKind
	// SkipInvalid is error_handling => 'SKIP': rows with a NULL or unmapped
	// op code are dropped instead of failing the job.
	SkipInvalid bool
	// Upsert is set when the input is partitioned and the mapping yields
	// UPDATE_AFTER without UPDATE_BEFORE: the output is then an upsert
	// changelog keyed by the partition columns, as in Flink.
	Upsert bool
}

var _ Node = (*FromChangelog)(nil)

// Columns lists the input column of each output column.
func (f *FromChangelog) Columns() []int {
	out := append([]int(nil), f.Partition...)
	for i := range f.Input.Schema().Len() {
		if i != f.OpCol && !slices.Contains(f.Partition, i) {
			out = append(out, i)
		}
	}
	return out
}

func (f *FromChangelog) Schema() types.Schema {
	in := f.Input.Schema()
	var out types.Schema
	for _, c := range f.Columns() {
		out.Columns = append(out.Columns, in.Columns[c])
	}
	return out
}

func (f *FromChangelog) Children() []Node { return []Node{f.Input} }
func (f *FromChangelog) Bounded() bool    { return f.Input.Bounded() }
func (f *FromChangelog) WithChildren(c ...Node) Node {
	mustChildren("FromChangelog", c, 1)
	cp := *f
	cp.Input = c[0]
	return &cp
}

// Changelog is insert-only when every code maps to INSERT.
func (f *FromChangelog) Changelog() ChangelogMode {
	switch {
	case f.Upsert:
		return Upsert
	case f.insertOnly():
		return InsertOnly
	}
	return Retract
}

func (f *FromChangelog) insertOnly() bool {
	for _, k := range f.Kinds {
		if k != connector.Insert {
			return false
		}
	}
	return true
}

func (f *FromChangelog) Describe() string {
	var b strings.Builder
	in := f.Input.Schema()
	b.WriteString("FromChangelog(")
	if len(f.Partition) > 0 {
		fmt.Fprintf(&b, "partition=[%s], ", columnNames(in, f.Partition))
	}
	codes := make([]string, 0, len(f.Kinds))
	for c := range f.Kinds {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	mapping := make([]string, len(codes))
	for i, c := range codes {
		mapping[i] = c + "->" + RowKindNames[f.Kinds[c]]
	}
	fmt.Fprintf(&b, "op=[%s], op_mapping=[%s]", in.Columns[f.OpCol].Name, strings.Join(mapping, ", "))
	if f.SkipInvalid {
		b.WriteString(", error_handling=[SKIP]")
	}
	fmt.Fprintf(&b, ", fields=[%s])", fieldList(f.Schema()))
	return b.String()
}
