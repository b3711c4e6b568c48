package exec

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestExecutionPlanJSON prints a two-input join whose output is chained
// to a calc and a sink, parses the JSON back and checks every node: one
// per operator, chained operators joined by FORWARD, exchanges as the
// ship strategies of the join's two inputs.
func TestExecutionPlanJSON(t *testing.T) {
	table := func(name string) json.RawMessage {
		return json.RawMessage(`{"table": {"name": "default_catalog.default_database.` + name + `"}}`)
	}
	g := &JobGraph{
		Name: "insert-into_out",
		Vertices: []Vertex{
			{ID: 0, Parallelism: 2, Operators: []OperatorSpec{
				{Kind: KindSource, Name: "TableSourceScan(table=[[default_catalog, default_database, l]], fields=[k, v])", Spec: table("l")},
			}},
			{ID: 1, Parallelism: 1, Operators: []OperatorSpec{
				{Kind: KindSource, Name: "TableSourceScan(table=[[default_catalog, default_database, r]], fields=[k, w])", Spec: table("r")},
				{Kind: KindCalc, Name: "Calc(select=[k, w], where=[(w > 1)])", Spec: json.RawMessage(`{}`)},
			}},
			{ID: 2, Parallelism: 2, Operators: []OperatorSpec{
				{Kind: KindJoin, Name: "Join(joinType=[InnerJoin], where=[(k = k0)])", Spec: json.RawMessage(`{}`)},
				{Kind: KindCalc, Name: "Calc(select=[k, v, w])", Spec: json.RawMessage(`{}`)},
				{Kind: KindSink, Name: "Sink(table=[default_catalog.default_database.out], fields=[k, v, w])", Spec: table("out")},
			}},
		},
		Edges: []Edge{
			{Source: 0, Target: 2, TargetInput: 0, Partitioning: Hash, Keys: []int{0}},
			{Source: 1, Target: 2, TargetInput: 1, Partitioning: Hash, Keys: []int{0}},
		},
	}
	out, err := g.ExecutionPlanJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got executionPlan
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("the plan is not JSON: %v\n%s", err, out)
	}
	want := executionPlan{Nodes: []planNode{
		{ID: 1, Type: "Source: l[1]", Pact: "Data Source", Parallelism: 2,
			Contents: "[1]:TableSourceScan(table=[[default_catalog, default_database, l]], fields=[k, v])"},
		{ID: 2, Type: "Source: r[2]", Pact: "Data Source", Parallelism: 1,
			Contents: "[2]:TableSourceScan(table=[[default_catalog, default_database, r]], fields=[k, w])"},
		{ID: 3, Type: "Calc[3]", Pact: "Operator", Parallelism: 1, Contents: "[3]:Calc(select=[k, w], where=[(w > 1)])",
			Predecessors: []planPredecessor{{ID: 2, ShipStrategy: "FORWARD", Side: "first"}}},
		{ID: 4, Type: "Join[4]", Pact: "Operator", Parallelism: 2, Contents: "[4]:Join(joinType=[InnerJoin], where=[(k = k0)])",
			Predecessors: []planPredecessor{{ID: 1, ShipStrategy: "HASH", Side: "first"}, {ID: 3, ShipStrategy: "HASH", Side: "second"}}},
		{ID: 5, Type: "Calc[5]", Pact: "Operator", Parallelism: 2, Contents: "[5]:Calc(select=[k, v, w])",
			Predecessors: []planPredecessor{{ID: 4, ShipStrategy: "FORWARD", Side: "first"}}},
		{ID: 6, Type: "Sink: out[6]", Pact: "Data Sink", Parallelism: 2,
			Contents:     "[6]:Sink(table=[default_catalog.default_database.out], fields=[k, v, w])",
			Predecessors: []planPredecessor{{ID: 5, ShipStrategy: "FORWARD", Side: "first"}}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant %+v", out, want)
	}
}

// TestExecutionPlanJSONBadGraph: a graph whose edge names no vertex is an
// error, not a panic.
func TestExecutionPlanJSONBadGraph(t *testing.T) {
	g := &JobGraph{
		Vertices: []Vertex{{ID: 0, Parallelism: 1, Operators: []OperatorSpec{{Kind: KindValues, Name: "Values(tuples=[[1]])"}}}},
		Edges:    []Edge{{Source: 0, Target: 7, Partitioning: Forward}},
	}
	if _, err := g.ExecutionPlanJSON(); err == nil {
		t.Fatal("expected an error for an edge to a missing vertex")
	}
}
