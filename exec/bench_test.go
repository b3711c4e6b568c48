package exec

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// BenchmarkPipeline measures a source of b.N int64 sequence rows → calc
// (id + 1, k) → discarding sink at parallelism 1, in batches of
// DefaultBatchSize, and reports rows/s.
func BenchmarkPipeline(b *testing.B) {
	one := &expr.Literal{Value: int64(1), T: types.BigIntType.WithNullable(false)}
	plus, err := expr.Resolve("+", []expr.Expr{col(0), one})
	require.NoError(b, err)
	out := types.Schema{Columns: []types.Column{{Name: "x", Type: plus.Type()}, {Name: "k", Type: col(1).T}}}
	calc := OperatorSpec{Kind: KindCalc, Name: "Calc", Schema: out, Spec: mustJSON(b, CalcSpec{
		Projections: []json.RawMessage{marshal(b, plus), marshal(b, col(1))}})}
	sink := sinkOp(b, "bench", map[string]string{"discard": "true"})
	sink.Schema = out
	g := &JobGraph{
		Name: "bench",
		Vertices: []Vertex{{ID: 1, Name: "Pipeline", Parallelism: 1, Operators: []OperatorSpec{
			sourceOp(b, map[string]string{"rows": strconv.Itoa(b.N)}), calc, sink}}},
	}
	c := NewEmbeddedCluster(1, 1, nil)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	j, err := c.Submit(context.Background(), g)
	require.NoError(b, err)
	require.NoError(b, j.Wait(context.Background()))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkHashExchange measures a source of b.N rows → hash exchange on k
// → two discarding sink subtasks, and reports rows/s.
func BenchmarkHashExchange(b *testing.B) {
	g := &JobGraph{
		Name: "bench-hash",
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 1, Operators: []OperatorSpec{
				sourceOp(b, map[string]string{"rows": strconv.Itoa(b.N), "mod": "1000"})}},
			{ID: 2, Name: "Sink", Parallelism: 2, Operators: []OperatorSpec{
				sinkOp(b, "bench", map[string]string{"discard": "true"})}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
	}
	c := NewEmbeddedCluster(1, 2, nil)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	j, err := c.Submit(context.Background(), g)
	require.NoError(b, err)
	require.NoError(b, j.Wait(context.Background()))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}
