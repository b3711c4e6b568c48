package exec

import (
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// limitRows records the rows a limit emits as k values with their row
// kind, or "" for a batch without a row kind column.
type limitRows struct{ rows []string }

func (o *limitRows) Emit(b arrow.RecordBatch) error {
	k := b.Column(0).(*array.Int64)
	var kinds *array.Int8
	if b.Schema().Field(int(b.NumCols())-1).Name == connector.RowKindColumn {
		kinds = b.Column(int(b.NumCols()) - 1).(*array.Int8)
	}
	for i := range int(b.NumRows()) {
		kind := ""
		if kinds != nil {
			kind = connector.RowKind(kinds.Value(i)).String()
		}
		o.rows = append(o.rows, kind+k.ValueStr(i))
	}
	return nil
}

func (o *limitRows) EmitWatermark(Watermark) error { return nil }

func limitSpecFor(t *testing.T, s LimitSpec, changelog bool) OperatorSpec {
	raw, err := json.Marshal(s)
	require.NoError(t, err)
	return OperatorSpec{Kind: KindLimit, Spec: raw, Changelog: changelog,
		Schema: types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}}}}
}

func int64Batch(mem memory.Allocator, vals ...int64) arrow.RecordBatch {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues(vals, nil)
	col := b.NewArray()
	defer col.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, int64(len(vals)))
}

// TestLimitRejectsMismatchedInput: a batch without the row kind column
// the spec promises, or with an extra one, is an internal error, not a
// panic.
func TestLimitRejectsMismatchedInput(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
	b := int64Batch(mem, 1, 2)
	defer b.Release()

	op := openOperator(t, limitSpecFor(t, LimitSpec{Limit: 2}, true), ctx)
	err := op.ProcessBatch(0, b, &limitRows{})
	require.ErrorContains(t, err, "row kind")
	require.NoError(t, op.Close())

	spec := limitSpecFor(t, LimitSpec{Limit: 2}, false)
	spec.Schema.Columns = nil
	op = openOperator(t, spec, ctx)
	require.ErrorContains(t, op.ProcessBatch(0, b, &limitRows{}), "columns")
	require.NoError(t, op.Close())
}
