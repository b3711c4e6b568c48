package optimizer

import (
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
)

// ToJobGraph turns a physical plan (one root per sink) into the JobGraph the JobManager runs.
// Operators connected without an exchange at equal parallelism are chained
// into one vertex, as Flink chains forward connections; every exchange and
// every union input becomes an edge.
func ToJobGraph(name string, config map[string]string, roots ...PhysicalNode) (*exec.JobGraph, error) {
	g := &exec.JobGraph{Name: name, Config: config}
	b := graphBuilder{g: g}
	for _, root := range roots {
		if _, err := b.vertexFor(root); err != nil {
			return nil, err
		}
	}
	// Vertices were appended consumer first; number them sources first so
	// the graph reads in data-flow order.
	n := len(g.Vertices)
	for i := range g.Vertices {
		g.Vertices[i].ID = n - 1 - g.Vertices[i].ID
	}
	for i := range g.Edges {
		g.Edges[i].Source = n - 1 - g.Edges[i].Source
		g.Edges[i].Target = n - 1 - g.Edges[i].Target
	}
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		g.Vertices[i], g.Vertices[j] = g.Vertices[j], g.Vertices[i]
	}
	return g, nil
}

type graphBuilder struct {
	g *exec.JobGraph
}

// vertexFor creates the vertex whose chain ends with n and returns its id.
func (b *graphBuilder) vertexFor(n PhysicalNode) (int, error) {
	id := len(b.g.Vertices)
	b.g.Vertices = append(b.g.Vertices, exec.Vertex{ID: id, Parallelism: n.Parallelism()})
	var chain []exec.OperatorSpec
	cur := n
	for {
		switch x := cur.(type) {
		case *StreamExchange:
			if err := b.edge(x.Input, id, 0, x.Partitioning, x.Keys); err != nil {
				return 0, err
			}
			cur = nil
		case *StreamUnion:
			for _, in := range x.In {
				p, keys := exec.Forward, []int(nil)
				if ex, ok := in.(*StreamExchange); ok {
					in, p, keys = ex.Input, ex.Partitioning, ex.Keys
				}
				if err := b.edge(in, id, 0, p, keys); err != nil {
					return 0, err
				}
			}
			cur = nil
		case operatorNode:
			s, err := x.operatorSpec()
			if err != nil {
				return 0, errs.Wrap(errs.InternalError, err, "serializing %s", x.Describe())
			}
			chain = append(chain, s)
			inputs := x.Inputs()
			switch len(inputs) {
			case 0:
				cur = nil
			case 1:
				cur = inputs[0]
			default:
				// A multi-input operator heads its vertex; input i arrives
				// on edges to target input i.
				for i, in := range inputs {
					p, keys := exec.Forward, []int(nil)
					if ex, ok := in.(*StreamExchange); ok {
						in, p, keys = ex.Input, ex.Partitioning, ex.Keys
					}
					if err := b.edge(in, id, i, p, keys); err != nil {
						return 0, err
					}
				}
				cur = nil
			}
		default:
			return 0, errs.Internalf("physical node %T has no runtime form", cur)
		}
		if cur == nil {
			break
		}
	}
	// The chain was collected from its tail; operators run head first.
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	v := &b.g.Vertices[id]
	v.Operators = chain
	if len(chain) > 0 {
		v.Name = chain[0].Name
		for _, op := range chain[1:] {
			v.Name += " -> " + op.Name
		}
	}
	return id, nil
}

func (b *graphBuilder) edge(from PhysicalNode, target, input int, p exec.Partitioning, keys []int) error {
	// A union runs as no operator: an exchange after it connects each of
	// its inputs, and that exchange alone decides the partitioning.
	if u, ok := from.(*StreamUnion); ok {
		for _, in := range u.In {
			if ex, ok := in.(*StreamExchange); ok {
				in = ex.Input
			}
			if err := b.edge(in, target, input, p, keys); err != nil {
				return err
			}
		}
		return nil
	}
	src, err := b.vertexFor(from)
	if err != nil {
		return err
	}
	b.g.Edges = append(b.g.Edges, exec.Edge{Source: src, Target: target, TargetInput: input, Partitioning: p, Keys: keys})
	return nil
}
