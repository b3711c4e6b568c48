package exec

import (
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// BenchmarkJoinUpdatingInput measures an inner join whose left input is an
// updating stream of 10,000 rows (k, id, name, cnt) with unique key id,
// joined on k with 2 insert-only right rows per k, fed batches of 1,024
// row updates. With one row per join key (an aggregate's results, id = k)
// it compares the left input kept as a multiset (NoUniqueKey) and as one
// row per join key (JoinKeyContainsUniqueKey), both fed -U/+U pairs, and
// the keyed view fed +U alone, as when the optimizer drops UPDATE_BEFORE
// through the join; with 16 rows per join key, the multiset and the rows
// keyed by id within each join key (HasUniqueKey). It reports updates/s
// and the size of the operator's snapshot (state-bytes).
func BenchmarkJoinUpdatingInput(b *testing.B) {
	for _, c := range []struct {
		name       string
		perKey     int
		uniqueKey  []int
		withBefore bool
	}{
		{"NoUniqueKey/-U+U", 1, nil, true},
		{"JoinKeyContainsUniqueKey/-U+U", 1, []int{0}, true},
		{"JoinKeyContainsUniqueKey/+U", 1, []int{0}, false},
		{"16-per-key/NoUniqueKey/-U+U", 16, nil, true},
		{"16-per-key/HasUniqueKey/-U+U", 16, []int{1}, true},
		{"16-per-key/HasUniqueKey/+U", 16, []int{1}, false},
	} {
		b.Run(c.name, func(b *testing.B) { benchJoinUpdates(b, c.perKey, c.uniqueKey, c.withBefore) })
	}
}

func benchJoinUpdates(b *testing.B, perKey int, uniqueKey []int, withBefore bool) {
	const rows, batchUpdates = 10_000, 1024
	keys := rows / perKey
	mem := memory.NewGoAllocator()
	left := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "id", Type: types.BigIntType},
		{Name: "name", Type: types.StringType}, {Name: "cnt", Type: types.BigIntType}}}
	right := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindJoin, Changelog: true,
		Schema: types.Schema{Columns: append(append([]types.Column{}, left.Columns...), right.Columns...)},
		Spec: mustJSON(b, JoinSpec{Type: "inner", LeftKeys: []int{0}, RightKeys: []int{0},
			LeftChangelog: true, RightChangelog: true, LeftUniqueKey: uniqueKey})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newJoin(spec, ctx)
	require.NoError(b, err)
	require.NoError(b, op.Open(ctx))
	defer op.Close()
	discard := discardOutput{}

	version := make([]int64, rows)
	// leftRows builds the rows of ids, the row id having join key id/perKey.
	leftRows := func(ids []int, kinds []connector.RowKind, cnts []int64) arrow.RecordBatch {
		bb := array.NewRecordBuilder(mem, BatchSchema(left, true))
		defer bb.Release()
		for i, id := range ids {
			bb.Field(0).(*array.Int64Builder).Append(int64(id / perKey))
			bb.Field(1).(*array.Int64Builder).Append(int64(id))
			bb.Field(2).(*array.StringBuilder).Append("customer-" + strconv.Itoa(id))
			bb.Field(3).(*array.Int64Builder).Append(cnts[i])
			bb.Field(4).(*array.Int8Builder).Append(int8(kinds[i]))
		}
		return bb.NewRecordBatch()
	}
	rb := array.NewRecordBuilder(mem, BatchSchema(right, true))
	for k := range keys {
		for r := range 2 {
			rb.Field(0).(*array.Int64Builder).Append(int64(k))
			rb.Field(1).(*array.StringBuilder).Append("order-" + strconv.Itoa(2*k+r))
			rb.Field(2).(*array.Int8Builder).Append(int8(connector.Insert))
		}
	}
	rbatch := rb.NewRecordBatch()
	rb.Release()
	require.NoError(b, op.ProcessBatch(1, rbatch, discard))
	rbatch.Release()
	var ks []int
	var kinds []connector.RowKind
	var cnts []int64
	for id := range rows {
		ks, kinds, cnts = append(ks, id), append(kinds, connector.Insert), append(cnts, 0)
	}
	lb := leftRows(ks, kinds, cnts)
	require.NoError(b, op.ProcessBatch(0, lb, discard))
	lb.Release()

	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	next := 0
	for range b.N {
		b.StopTimer()
		ks, kinds, cnts = ks[:0], kinds[:0], cnts[:0]
		for range batchUpdates {
			k := next % rows
			next += 7 // spread the updates over the rows
			if withBefore {
				ks, kinds, cnts = append(ks, k), append(kinds, connector.UpdateBefore), append(cnts, version[k])
			}
			version[k]++
			ks, kinds, cnts = append(ks, k), append(kinds, connector.UpdateAfter), append(cnts, version[k])
		}
		batch := leftRows(ks, kinds, cnts)
		b.StartTimer()
		t0 := time.Now()
		require.NoError(b, op.ProcessBatch(0, batch, discard))
		elapsed += time.Since(t0)
		b.StopTimer()
		batch.Release()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*batchUpdates/elapsed.Seconds(), "updates/s")
	snap, err := op.Snapshot()
	require.NoError(b, err)
	b.ReportMetric(float64(len(snap)), "state-bytes")
	kept := op.(*join).stateRows()
	b.ReportMetric(float64(kept[0]), "left-rows")
}
