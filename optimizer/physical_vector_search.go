package optimizer

import (
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/planner"
)

// StreamVectorSearch runs VECTOR_SEARCH (exec.KindVectorSearch) at the
// query input's parallelism: every instance searches the whole table, so
// the table's rows are broadcast to all of them.
type StreamVectorSearch struct {
	Logical       *planner.VectorSearch
	Input, Search PhysicalNode
}

var _ operatorNode = (*StreamVectorSearch)(nil)

func physicalizeVectorSearch(v *planner.VectorSearch, cfg Config) (PhysicalNode, error) {
	in, err := Physicalize(v.Input, cfg)
	if err != nil {
		return nil, err
	}
	search, err := Physicalize(v.Search, cfg)
	if err != nil {
		return nil, err
	}
	if par := in.Parallelism(); par > 1 || search.Parallelism() != par {
		search = &StreamExchange{Input: search, Partitioning: exec.Broadcast, Target: par}
	}
	return &StreamVectorSearch{Logical: v, Input: in, Search: search}, nil
}

func (n *StreamVectorSearch) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamVectorSearch) Inputs() []PhysicalNode { return []PhysicalNode{n.Input, n.Search} }
func (n *StreamVectorSearch) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamVectorSearch) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamVectorSearch) Describe() string       { return n.Logical.Describe() }

func (n *StreamVectorSearch) operatorSpec() (exec.OperatorSpec, error) {
	query, err := marshalOptional(n.Logical.Query)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	return spec(exec.KindVectorSearch, n.Describe(), n.Schema(), exec.VectorSearchSpec{
		ProbeWidth: n.Logical.Input.Schema().Len(), Query: query,
		SearchColumn: n.Logical.SearchColumn, TopK: n.Logical.TopK,
	})
}
