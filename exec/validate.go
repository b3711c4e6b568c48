package exec

import (
	"encoding/json"
	"fmt"
)

// Validate checks that a JobGraph can run: vertex IDs unique, parallelism
// at least 1, operator kinds registered (a source kind exactly at the head
// of each vertex without inputs), edges between known vertices, Forward
// edges between vertices of equal parallelism, Hash edges with keys, inputs
// of each vertex numbered from 0 without gaps, no cycles, and collect IDs
// unique.
func (g *JobGraph) Validate() error {
	if len(g.Vertices) == 0 {
		return fmt.Errorf("exec: job %q has no vertices", g.Name)
	}
	byID := map[int]*Vertex{}
	for i := range g.Vertices {
		v := &g.Vertices[i]
		if _, dup := byID[v.ID]; dup {
			return fmt.Errorf("exec: duplicate vertex id %d", v.ID)
		}
		byID[v.ID] = v
		if v.Parallelism < 1 {
			return fmt.Errorf("exec: vertex %d %q: parallelism %d, must be at least 1", v.ID, v.Name, v.Parallelism)
		}
		if len(v.Operators) == 0 {
			return fmt.Errorf("exec: vertex %d %q has no operators", v.ID, v.Name)
		}
	}
	inputs := map[int]map[int]bool{}
	for i, e := range g.Edges {
		src, ok1 := byID[e.Source]
		dst, ok2 := byID[e.Target]
		if !ok1 || !ok2 {
			return fmt.Errorf("exec: edge %d connects unknown vertices %d -> %d", i, e.Source, e.Target)
		}
		switch e.Partitioning {
		case Forward:
			if src.Parallelism != dst.Parallelism {
				return fmt.Errorf("exec: forward edge %d connects %q (parallelism %d) to %q (parallelism %d)",
					i, src.Name, src.Parallelism, dst.Name, dst.Parallelism)
			}
		case Hash:
			if len(e.Keys) == 0 {
				return fmt.Errorf("exec: hash edge %d has no keys", i)
			}
			for _, k := range e.Keys {
				if n := src.Operators[len(src.Operators)-1].Schema.Len(); k < 0 || k >= n {
					return fmt.Errorf("exec: hash edge %d: key column %d out of range (%d columns)", i, k, n)
				}
			}
		case Rebalance, Broadcast, Global:
		default:
			return fmt.Errorf("exec: edge %d has unknown partitioning %q", i, e.Partitioning)
		}
		if e.TargetInput < 0 {
			return fmt.Errorf("exec: edge %d has negative target input", i)
		}
		if inputs[e.Target] == nil {
			inputs[e.Target] = map[int]bool{}
		}
		inputs[e.Target][e.TargetInput] = true
	}
	collectIDs := map[string]bool{}
	for _, v := range g.Vertices {
		in := inputs[v.ID]
		for i := range len(in) {
			if !in[i] {
				return fmt.Errorf("exec: vertex %d %q: inputs must be numbered 0..%d", v.ID, v.Name, len(in)-1)
			}
		}
		for i, op := range v.Operators {
			e, ok := lookupKind(op.Kind)
			if !ok {
				return fmt.Errorf("exec: vertex %d %q: unknown operator kind %q", v.ID, v.Name, op.Kind)
			}
			wantSource := i == 0 && len(in) == 0
			if wantSource && e.src == nil {
				return fmt.Errorf("exec: vertex %d %q has no inputs but starts with %q, not a source", v.ID, v.Name, op.Kind)
			}
			if !wantSource && e.src != nil {
				return fmt.Errorf("exec: vertex %d %q: source %q can only head a vertex without inputs", v.ID, v.Name, op.Kind)
			}
			if op.Kind == KindCollect {
				var cs CollectSpec
				if err := json.Unmarshal(op.Spec, &cs); err != nil {
					return fmt.Errorf("exec: vertex %d %q: collect spec: %w", v.ID, v.Name, err)
				}
				if collectIDs[cs.ID] {
					return fmt.Errorf("exec: two collect operators with id %q", cs.ID)
				}
				collectIDs[cs.ID] = true
			}
		}
	}
	return g.checkAcyclic()
}

func (g *JobGraph) checkAcyclic() error {
	indeg := map[int]int{}
	out := map[int][]int{}
	for _, e := range g.Edges {
		indeg[e.Target]++
		out[e.Source] = append(out[e.Source], e.Target)
	}
	var ready []int
	for _, v := range g.Vertices {
		if indeg[v.ID] == 0 {
			ready = append(ready, v.ID)
		}
	}
	seen := 0
	for len(ready) > 0 {
		v := ready[len(ready)-1]
		ready = ready[:len(ready)-1]
		seen++
		for _, t := range out[v] {
			if indeg[t]--; indeg[t] == 0 {
				ready = append(ready, t)
			}
		}
	}
	if seen != len(g.Vertices) {
		return fmt.Errorf("exec: job %q has a cycle", g.Name)
	}
	return nil
}
