package exec

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

var (
	vsVector = types.ArrayType(types.FloatType)
	vsQuery  = types.Schema{Columns: []types.Column{{Name: "id", Type: types.BigIntType}, {Name: "q", Type: vsVector}}}
	vsTable  = types.Schema{Columns: []types.Column{{Name: "label", Type: types.StringType}, {Name: "v", Type: vsVector}}}
)

func vectorSearchSpec(t *testing.T, topK int) OperatorSpec {
	out := types.Schema{Columns: append(append(append([]types.Column(nil), vsQuery.Columns...), vsTable.Columns...),
		types.Column{Name: "score", Type: types.DoubleType.WithNullable(false)})}
	return OperatorSpec{Kind: KindVectorSearch, Schema: out, Spec: mustJSON(t, VectorSearchSpec{
		ProbeWidth: 2, Query: marshal(t, &expr.ColumnRef{Index: 1, T: vsVector}), SearchColumn: 1, TopK: topK,
	})}
}

func vsBatch(t *testing.T, mem memory.Allocator, s types.Schema, rows string) arrow.RecordBatch {
	b, _, err := array.RecordFromJSON(mem, s.Arrow(), strings.NewReader(rows))
	require.NoError(t, err)
	return b
}

// TestVectorSearch checks the cosine ranking, ties (the table's order),
// top k larger than the table, and the rows that find nothing: a NULL or
// zero query vector, and table rows with a NULL or zero vector.
func TestVectorSearch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	var o rowsOutput
	op := openOperator(t, vectorSearchSpec(t, 2), ctx)
	defer op.Close()
	table := vsBatch(t, mem, vsTable, `[{"label": "x", "v": [1, 0]}, {"label": "y", "v": [0, 1]},
		{"label": "x2", "v": [2, 0]}, {"label": "n", "v": null}, {"label": "z", "v": [0, 0]}]`)
	defer table.Release()
	require.NoError(t, op.ProcessBatch(1, table, &o))
	require.NoError(t, op.EndInput(1, &o))
	query := vsBatch(t, mem, vsQuery, `[{"id": 1, "q": [3, 4]}, {"id": 2, "q": null}, {"id": 3, "q": [0, 0]},
		{"id": 4, "q": [1, 0]}, {"id": 5, "q": [0, -1]}]`)
	defer query.Release()
	require.NoError(t, op.ProcessBatch(0, query, &o))
	require.Equal(t, ""+
		"[1, [3,4], y, [0,1], 0.8]\n"+
		"[1, [3,4], x, [1,0], 0.6]\n"+
		"[4, [1,0], x, [1,0], 1]\n"+
		"[4, [1,0], x2, [2,0], 1]\n"+
		"[5, [0,-1], x, [1,0], 0]\n"+
		"[5, [0,-1], x2, [2,0], 0]\n", o.log.String())

	bad := vsBatch(t, mem, vsQuery, `[{"id": 6, "q": [1, 2, 3]}]`)
	defer bad.Release()
	require.ErrorContains(t, op.ProcessBatch(0, bad, &o), "the query vector has 3 dimensions but the searched vector of row 0 has 2")
}

// TestVectorSearchSavepoint stops with a savepoint while the table's input
// has not ended: the barrier searches the waiting query rows in the rows
// loaded so far; after the restore the source reads some of the table
// again: the rows read again replace their restored copies instead of
// doubling them, and the restored row not read again stays.
func TestVectorSearchSavepoint(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	spec := vectorSearchSpec(t, 3)
	var o rowsOutput
	feed := func(op Operator, input int, s types.Schema, rows string) {
		b := vsBatch(t, mem, s, rows)
		defer b.Release()
		require.NoError(t, op.ProcessBatch(input, b, &o))
	}
	const table = `[{"label": "Batch", "v": [5, 12, 13]}, {"label": "Streaming", "v": [-5, -12, -13]},
		{"label": "Big Data", "v": [1, 1, 0]}]`
	op := openOperator(t, spec, ctx)
	feed(op, 0, vsQuery, `[{"id": 1, "q": [5, 12, 13]}]`)
	require.NoError(t, op.ProcessWatermark(0, 7, &o))
	feed(op, 1, vsTable, table)
	require.Empty(t, o.log.String(), "query rows wait for the table")
	require.NoError(t, op.(PreSnapshotOperator).PrepareSnapshotPreBarrier(&o))

	op = reopen(t, op, spec, ctx)
	defer op.Close()
	feed(op, 1, vsTable, `[{"label": "Streaming", "v": [-5, -12, -13]}, {"label": "Batch", "v": [5, 12, 13]}]`)
	feed(op, 1, vsTable, `[{"label": "Flink", "v": [-5, -12, -12]}]`)
	require.NoError(t, op.EndInput(1, &o))
	feed(op, 0, vsQuery, `[{"id": 2, "q": [-5, -12, -13]}]`)
	require.NoError(t, op.EndInput(0, &o))
	require.Equal(t, ""+
		"[1, [5,12,13], Batch, [5,12,13], 1]\n"+
		"[1, [5,12,13], Big Data, [1,1,0], 0.6538461538461539]\n"+
		"[1, [5,12,13], Streaming, [-5,-12,-13], -1]\n"+
		"watermark 7\n"+
		"[2, [-5,-12,-13], Streaming, [-5,-12,-13], 1]\n"+
		"[2, [-5,-12,-13], Flink, [-5,-12,-12], 0.9992009587217895]\n"+
		"[2, [-5,-12,-13], Big Data, [1,1,0], -0.6538461538461539]\n", o.log.String())
}
