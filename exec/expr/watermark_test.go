package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestCurrentWatermark checks CURRENT_WATERMARK: typed from its rowtime
// argument, NULL until the operator has seen a watermark, then the latest
// watermark on every row.
func TestCurrentWatermark(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	_, err := Resolve("CURRENT_WATERMARK", []Expr{&ColumnRef{Index: 0, T: types.TimestampType(3)}})
	require.ErrorContains(t, err, "rowtime attribute")

	rowtime := types.TimestampLTZType(3).WithTimeAttr(types.RowtimeAttr)
	e, err := Resolve("CURRENT_WATERMARK", []Expr{&ColumnRef{Index: 0, T: rowtime}})
	require.NoError(t, err)
	require.Equal(t, types.TimestampLTZType(3), e.Type())

	var wm CurrentWatermark
	ev, err := CompileWithWatermark(e, mem, &wm)
	require.NoError(t, err)
	tsType := rowtime.Arrow()
	b := array.NewTimestampBuilder(mem, tsType.(*arrow.TimestampType))
	b.AppendValues([]arrow.Timestamp{5, 7}, nil)
	col := b.NewArray()
	b.Release()
	defer col.Release()
	batch := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "ts", Type: tsType}}, nil), []arrow.Array{col}, 2)
	defer batch.Release()

	out, err := ev.Eval(batch)
	require.NoError(t, err)
	require.Equal(t, 2, out.NullN())
	out.Release()

	wm.Set(4)
	out, err = ev.Eval(batch)
	require.NoError(t, err)
	defer out.Release()
	ts := out.(*array.Timestamp)
	require.Equal(t, 0, ts.NullN())
	require.Equal(t, arrow.Timestamp(4), ts.Value(0))
	require.Equal(t, arrow.Timestamp(4), ts.Value(1))

	// Compiled without a watermark (outside a calc), it is always NULL.
	ev, err = Compile(e, mem)
	require.NoError(t, err)
	out2, err := ev.Eval(batch)
	require.NoError(t, err)
	require.Equal(t, 2, out2.NullN())
	out2.Release()
}
