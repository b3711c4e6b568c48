package exec

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// rowSet collects emitted rows as text, ignoring watermarks.
type rowSet struct{ rows []string }

func (o *rowSet) Emit(b arrow.RecordBatch) error {
	for i := range int(b.NumRows()) {
		vals := make([]string, b.NumCols())
		for c, col := range b.Columns() {
			vals[c] = fmtCell(col, i)
		}
		o.rows = append(o.rows, strings.Join(vals, ", "))
	}
	return nil
}

func (o *rowSet) EmitWatermark(Watermark) error { return nil }

// TestKeyedStateRescale restores one snapshot of operators that buffer
// rows per key until a watermark (the SESSION window table function, the
// time-ordered OVER aggregate, the TUMBLE window aggregate and the window
// Top-N) into the two subtasks of a rescaled
// job: together they emit exactly what one restored instance emits, each
// part of it, so every key is restored by exactly one subtask.
func TestKeyedStateRescale(t *testing.T) {
	ts := types.TimestampType(3).WithTimeAttr(types.RowtimeAttr)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "ts", Type: ts}}}
	tvfOut := windowTVFSchema(in)
	cntType, err := agg.ResultType("COUNT", nil)
	require.NoError(t, err)
	count := agg.Call{Func: "COUNT", Filter: -1, Name: "c", Type: cntType}
	overOut := types.Schema{Columns: append(slicesClone(in.Columns), types.Column{Name: "c", Type: cntType})}
	ts3 := types.TimestampType(3)
	tumbleOut := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType},
		{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
		{Name: "window_time", Type: ts}, {Name: "c", Type: cntType}}}
	for name, spec := range map[string]OperatorSpec{
		"session-tvf": {Kind: KindWindowTableFunction, Schema: tvfOut, Spec: mustJSON(t, WindowTableFunctionSpec{
			Window: WindowSpec{Kind: WindowSession, Gap: 10}, TimeCol: 1, Partition: []int{0}})},
		"over": {Kind: KindOverAggregate, Schema: overOut, Spec: mustJSON(t, OverAggregateSpec{
			PartitionKeys: []int{0}, TimeCol: 1, Rows: true, Preceding: -1, Calls: []agg.Call{count}})},
		"tumble-aggregate": {Kind: KindWindowAggregate, Schema: tumbleOut, Spec: mustJSON(t, WindowAggregateSpec{
			Window: WindowSpec{Kind: WindowTumble, Size: 2}, TimeCol: 1, Keys: []int{0}, Calls: []agg.Call{count}})},
		"window-rank": {Kind: KindWindowRank, Schema: in, Spec: mustJSON(t, WindowRankSpec{
			PartitionKeys: []int{0}, WindowStart: 1, WindowEnd: 1, OrderKeys: []SortKey{{Col: 1}}, RankType: "row_number", Start: 1, End: 1})},
	} {
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx := func(subtask, par int) *OperatorContext {
				return &OperatorContext{Subtask: subtask, Parallelism: par, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
			}
			rb := array.NewRecordBuilder(mem, in.Arrow())
			for k := range int64(64) {
				rb.Field(0).(*array.Int64Builder).AppendValues([]int64{k, k}, nil)
				rb.Field(1).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{arrow.Timestamp(k), arrow.Timestamp(k + 3)}, nil)
			}
			b := rb.NewRecordBatch()
			rb.Release()
			src := openOperator(t, spec, ctx(0, 1))
			require.NoError(t, src.ProcessBatch(0, b, &rowSet{}))
			b.Release()
			state, err := src.Snapshot()
			require.NoError(t, err)
			require.NoError(t, src.Close())
			finish := func(subtask, par int) []string {
				op := openOperator(t, spec, ctx(subtask, par))
				require.NoError(t, op.Restore(state))
				var out rowSet
				require.NoError(t, op.ProcessWatermark(0, MaxWatermark, &out))
				require.NoError(t, op.EndInput(0, &out))
				require.NoError(t, op.Close())
				return out.rows
			}
			want := finish(0, 1)
			require.GreaterOrEqual(t, len(want), 64)
			var got []string
			for sub := range 2 {
				rows := finish(sub, 2)
				require.NotEmpty(t, rows, fmt.Sprintf("subtask %d", sub))
				got = append(got, rows...)
			}
			sort.Strings(want)
			sort.Strings(got)
			require.Equal(t, want, got)
		})
	}
}
