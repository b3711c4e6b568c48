package exec

import (
	"encoding/json"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestCalcChangelog checks that a calc over a changelog filters the row
// kind column with the rows and appends it unchanged after its
// projections.
func TestCalcChangelog(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := types.Schema{Columns: []types.Column{seqSchema.Columns[1], seqSchema.Columns[0]}}
	spec := OperatorSpec{Kind: KindCalc, Schema: out, Changelog: true, Spec: mustJSON(t, CalcSpec{
		Projections: []json.RawMessage{marshal(t, col(1)), marshal(t, col(0))},
		Condition:   marshal(t, evenCond(t)),
	})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newCalc(spec, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))
	defer op.Close()

	b := array.NewRecordBuilder(mem, BatchSchema(seqSchema, true))
	defer b.Release()
	for i := range int64(6) {
		b.Field(0).(*array.Int64Builder).Append(i)
		b.Field(1).(*array.Int64Builder).Append(10 * i)
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(i))
		b.Field(3).(*array.Int8Builder).Append(int8(i % 4))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var o gaOutput
	require.NoError(t, op.ProcessBatch(0, rec, &o))
	require.Equal(t, "+I[0, 0]\n+U[20, 2]\n+I[40, 4]\n", o.log.String())
}
