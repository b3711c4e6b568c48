package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// keysOutput records the string column 0 of what an operator emits.
type keysOutput struct{ keys []string }

func (o *keysOutput) Emit(b arrow.RecordBatch) error {
	c := b.Column(0).(*array.String)
	for i := range c.Len() {
		o.keys = append(o.keys, c.Value(i))
	}
	return nil
}

func (o *keysOutput) EmitWatermark(Watermark) error { return nil }

// TestTemporalSortProcTimeBatch checks that a proctime temporal sort emits
// each batch at once, sorted by the keys after the time attribute (the
// replayed scripts cannot show it: how rows are batched decides what is
// sorted together).
func TestTemporalSortProcTimeBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.StringType},
		{Name: "v", Type: types.DoubleType},
		{Name: "pt", Type: types.TimestampLTZType(3).WithTimeAttr(types.ProctimeAttr)},
	}}
	spec := OperatorSpec{Kind: KindTemporalSort, Schema: schema,
		Spec: mustJSON(t, TemporalSortSpec{Keys: []SortKey{{Col: 2}, {Col: 1, Desc: true}}, ProcTime: true})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newTemporalSort(spec, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))

	b := array.NewRecordBuilder(mem, schema.Arrow())
	defer b.Release()
	for i, k := range []string{"a", "b", "c"} {
		b.Field(0).(*array.StringBuilder).Append(k)
		b.Field(1).(*array.Float64Builder).Append(float64(i))
		b.Field(2).(*array.TimestampBuilder).Append(0)
	}
	batch := b.NewRecordBatch()
	defer batch.Release()
	var out keysOutput
	require.NoError(t, op.ProcessBatch(0, batch, &out))
	require.Equal(t, []string{"c", "b", "a"}, out.keys)
	require.NoError(t, op.Close())
}
