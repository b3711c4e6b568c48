package exec

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ExecutionPlanJSON prints the graph as Flink's EXPLAIN JSON_EXECUTION_PLAN
// prints its stream graph (the "== Physical Execution Plan ==" section):
//
//	{"nodes": [{"id": 1, "type": "Source: src[1]", "pact": "Data Source",
//	  "contents": "[1]:TableSourceScan(...)", "parallelism": 2},
//	 {"id": 2, "type": "Calc[2]", "pact": "Operator", "contents": "[2]:Calc(...)",
//	  "parallelism": 2, "predecessors": [{"id": 1, "ship_strategy": "FORWARD", "side": "first"}]}, ...]}
//
// Flink's stream graph has one node per operator and its exchanges are the
// partitioners of the edges between them, so every operator of a vertex's
// chain is a node (numbered from 1 in data-flow order), fed by the previous
// operator of its chain over FORWARD, and each Edge of the graph connects
// the last operator of its source vertex to the first of its target. A
// node's side is "first" for its input 0 and "second" for input 1, the
// two inputs of a join.
func (g *JobGraph) ExecutionPlanJSON() (string, error) {
	// first and last are the node ids of the head and tail operator of
	// each vertex, by vertex id.
	first := make(map[int]int, len(g.Vertices))
	last := make(map[int]int, len(g.Vertices))
	next := 1
	for _, v := range g.Vertices {
		if len(v.Operators) == 0 {
			return "", fmt.Errorf("exec: vertex %d (%s) has no operators", v.ID, v.Name)
		}
		first[v.ID], last[v.ID] = next, next+len(v.Operators)-1
		next += len(v.Operators)
	}
	inputs := make(map[int][]planPredecessor, len(g.Vertices))
	for _, e := range g.Edges {
		src, ok := last[e.Source]
		if _, ok2 := first[e.Target]; !ok || !ok2 {
			return "", fmt.Errorf("exec: edge %d -> %d names a missing vertex", e.Source, e.Target)
		}
		inputs[e.Target] = append(inputs[e.Target], planPredecessor{ID: src, ShipStrategy: shipStrategy(e.Partitioning), Side: side(e.TargetInput)})
	}
	plan := executionPlan{Nodes: []planNode{}}
	for _, v := range g.Vertices {
		for i, op := range v.Operators {
			id := first[v.ID] + i
			n := planNode{ID: id, Pact: "Operator", Contents: fmt.Sprintf("[%d]:%s", id, op.Name), Parallelism: v.Parallelism}
			short := shortName(op.Name)
			switch {
			case i == 0 && len(inputs[v.ID]) == 0:
				n.Pact, short = "Data Source", "Source: "+tableName(op, short)
			case op.Kind == KindSink || op.Kind == KindCollect:
				n.Pact, short = "Data Sink", "Sink: "+tableName(op, short)
			}
			n.Type = fmt.Sprintf("%s[%d]", short, id)
			if i == 0 {
				n.Predecessors = inputs[v.ID]
			} else {
				n.Predecessors = []planPredecessor{{ID: id - 1, ShipStrategy: "FORWARD", Side: side(0)}}
			}
			plan.Nodes = append(plan.Nodes, n)
		}
	}
	// Plans hold SQL (where=[(v > 1)]): no HTML escaping of <, > and &.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(plan); err != nil {
		return "", fmt.Errorf("exec: printing the execution plan: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// executionPlan, planNode and planPredecessor are the JSON of Flink's
// JSONGenerator, field for field.
type executionPlan struct {
	Nodes []planNode `json:"nodes"`
}

type planNode struct {
	ID           int               `json:"id"`
	Type         string            `json:"type"`
	Pact         string            `json:"pact"`
	Contents     string            `json:"contents"`
	Parallelism  int               `json:"parallelism"`
	Predecessors []planPredecessor `json:"predecessors,omitempty"`
}

type planPredecessor struct {
	ID           int    `json:"id"`
	ShipStrategy string `json:"ship_strategy"`
	Side         string `json:"side"`
}

// shipStrategy is the name Flink's partitioner prints for p.
func shipStrategy(p Partitioning) string {
	return strings.ToUpper(string(p))
}

func side(input int) string {
	if input == 0 {
		return "first"
	}
	return "second"
}

// shortName is an operator's name without its attributes:
// Calc(select=[a]) is Calc.
func shortName(name string) string {
	if i := strings.IndexByte(name, '('); i > 0 {
		return name[:i]
	}
	return name
}

// tableName is the table a source or sink operator reads or writes, as
// Flink names its transformations (the object name, without catalog and
// database), or def when its spec names no table (VALUES, collect).
func tableName(op OperatorSpec, def string) string {
	var s struct {
		Table struct {
			Name string `json:"name"`
		} `json:"table"`
	}
	if json.Unmarshal(op.Spec, &s) != nil || s.Table.Name == "" {
		return def
	}
	name := s.Table.Name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name
}
