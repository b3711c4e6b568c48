package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// VectorSearch is Flink's VECTOR_SEARCH table function, input, LATERAL
// TABLE(VECTOR_SEARCH(TABLE t, DESCRIPTOR(c), q, k [, config])): every
// input row joins the k rows of Search (the table t) whose vector column
// SearchColumn is most similar to the row's query vector Query, by cosine
// similarity, most similar first. Flink asks t's connector to search; Eddy
// reads t and searches it in the operator (exec.KindVectorSearch). The
// input must be insert-only, and so is the output: a result is never
// retracted.
//
// The output is the input columns, the columns of t (without time
// attributes) and score, the similarity, DOUBLE NOT NULL.
type VectorSearch struct {
	Input, Search Node
	// Table names t, for EXPLAIN.
	Table string
	// SearchColumn indexes Search's columns; Query is over Input's.
	SearchColumn int
	Query        expr.Expr
	TopK         int
	// ConfigKeys and ConfigValues are the CONFIG map's entries, in the
	// order written.
	ConfigKeys, ConfigValues []string
}

var _ Node = (*VectorSearch)(nil)

// VectorSearchScore is the name of the similarity column VECTOR_SEARCH
// adds after the searched table's columns.
const VectorSearchScore = "score"

func (v *VectorSearch) Schema() types.Schema {
	out := types.Schema{Columns: append([]types.Column(nil), v.Input.Schema().Columns...)}
	for _, c := range v.Search.Schema().Columns {
		out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type.WithTimeAttr(types.NoTimeAttr)})
	}
	out.Columns = append(out.Columns, types.Column{Name: VectorSearchScore, Type: types.DoubleType.WithNullable(false)})
	return out
}

func (v *VectorSearch) Children() []Node         { return []Node{v.Input, v.Search} }
func (v *VectorSearch) Changelog() ChangelogMode { return InsertOnly }
func (v *VectorSearch) Bounded() bool            { return v.Input.Bounded() && v.Search.Bounded() }
func (v *VectorSearch) WithChildren(ch ...Node) Node {
	mustChildren("VectorSearch", ch, 2)
	cp := *v
	cp.Input, cp.Search = ch[0], ch[1]
	return &cp
}

func (v *VectorSearch) Describe() string {
	return fmt.Sprintf("VectorSearchTableFunction(table=[%s], joinType=[InnerJoin], columnToSearch=[%s], columnToQuery=[%s], topK=[%d]%s, select=[%s])",
		v.Table, v.Search.Schema().Columns[v.SearchColumn].Name, v.Query, v.TopK, describeConfig(v.ConfigKeys, v.ConfigValues), fieldList(v.Schema()))
}

// describeConfig renders a table function's runtime config map for
// Describe, as Flink's plan shows it: ", config=[{k=v, ...}]", or "".
func describeConfig(keys, values []string) string {
	if len(keys) == 0 {
		return ""
	}
	entries := make([]string, len(keys))
	for i, k := range keys {
		entries[i] = k + "=" + values[i]
	}
	return fmt.Sprintf(", config=[{%s}]", strings.Join(entries, ", "))
}
