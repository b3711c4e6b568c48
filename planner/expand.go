package planner

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// Expand emits every input row once per projection, as Flink's Expand
// node, which its SplitAggregateRule places below the partial aggregate
// of a split distinct aggregation: each projection feeds one group of
// aggregate calls. Before projecting, it appends one bucket column per
// entry of Buckets to the input (Flink's MOD(HASH_CODE(col), num)
// computed by a Calc below its Expand); the projections read the input
// columns followed by the buckets. The output columns are the
// projections' (all of the same types, nullable where any projection is).
// The changelog passes through: every projected row keeps its row kind.
type Expand struct {
	Input       Node
	Buckets     []Bucket
	Projections [][]expr.Expr
	Names       []string
}

// Bucket is MOD(HASH_CODE(Col), Num): an INT NOT NULL in [0, Num) that
// spreads the rows of a group over Num partial groups by the hash of
// their Col value, so that equal values share a bucket.
type Bucket struct {
	Col int `json:"col"`
	Num int `json:"num"`
}

var _ Node = (*Expand)(nil)

// BucketType is the type of a bucket column.
var BucketType = types.IntType.WithNullable(false)

func (e *Expand) Schema() types.Schema {
	s := types.Schema{Columns: make([]types.Column, len(e.Names))}
	for i, name := range e.Names {
		t := e.Projections[0][i].Type()
		for _, p := range e.Projections[1:] {
			if p[i].Type().Nullable() {
				t = t.WithNullable(true)
			}
		}
		s.Columns[i] = types.Column{Name: name, Type: t.WithTimeAttr(types.NoTimeAttr)}
	}
	return s
}

func (e *Expand) Children() []Node         { return []Node{e.Input} }
func (e *Expand) Changelog() ChangelogMode { return e.Input.Changelog() }
func (e *Expand) Bounded() bool            { return e.Input.Bounded() }
func (e *Expand) WithChildren(c ...Node) Node {
	mustChildren("Expand", c, 1)
	cp := *e
	cp.Input = c[0]
	return &cp
}

func (e *Expand) Describe() string {
	in := e.Input.Schema()
	var buckets []string
	for _, b := range e.Buckets {
		buckets = append(buckets, fmt.Sprintf("MOD(HASH_CODE(%s), %d)", in.Columns[b.Col].Name, b.Num))
	}
	projs := make([]string, len(e.Projections))
	for i, p := range e.Projections {
		projs[i] = "{" + projectionList(p, e.Names) + "}"
	}
	s := "Expand("
	if len(buckets) > 0 {
		s += "buckets=[" + strings.Join(buckets, ", ") + "], "
	}
	return s + "projects=[" + strings.Join(projs, ", ") + "])"
}
