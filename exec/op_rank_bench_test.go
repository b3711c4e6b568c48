package exec

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// BenchmarkTopNRowNumber measures an insert-only Top-10 with the row
// number column, as Nexmark q19's: bids (auction, bidder, price, url,
// dateTime, a 100-byte extra) arrive for ever new auctions of about 20
// bids each at random prices, so most bids enter their auction's top 10
// and shift the rows ranked after them, each shift emitting -U/+U of a
// stored row. Output building dominates. The state restarts every 256
// batches of 1,024 rows (untimed). Reports input rows/s.
func BenchmarkTopNRowNumber(b *testing.B) {
	const batchRows, batchesPerRun, bidsPerAuction = 1024, 256, 20
	mem := memory.NewGoAllocator()
	in := types.Schema{Columns: []types.Column{
		{Name: "auction", Type: types.BigIntType}, {Name: "bidder", Type: types.BigIntType},
		{Name: "price", Type: types.BigIntType}, {Name: "url", Type: types.StringType},
		{Name: "dateTime", Type: types.TimestampType(3)}, {Name: "extra", Type: types.StringType}}}
	out := types.Schema{Columns: append(append([]types.Column{}, in.Columns...), types.Column{Name: "rn", Type: types.BigIntType})}
	spec := OperatorSpec{Kind: KindRank, Schema: out, Changelog: true,
		Spec: mustJSON(b, RankSpec{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 2, Desc: true}},
			RankType: "row_number", Start: 1, End: 10, OutputRank: true})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
	extra := strings.Repeat("x", 100)
	batches := make([]arrow.RecordBatch, batchesPerRun)
	x := uint64(42)
	for j := range batches {
		rb := array.NewRecordBuilder(mem, in.Arrow())
		for i := range batchRows {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			n := int64(j*batchRows + i)
			rb.Field(0).(*array.Int64Builder).Append(n / bidsPerAuction)
			rb.Field(1).(*array.Int64Builder).Append(int64(x % 100_000))
			rb.Field(2).(*array.Int64Builder).Append(int64(x>>20) % 1_000_000)
			rb.Field(3).(*array.StringBuilder).Append("https://www.nexmark.com/item.htm?query=1&channel_id=1234567")
			rb.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(n))
			rb.Field(5).(*array.StringBuilder).Append(extra[:64+int(x%37)])
		}
		batches[j] = rb.NewRecordBatch()
		rb.Release()
		defer batches[j].Release()
	}
	start := func() Operator {
		op, err := newRank(spec, ctx)
		require.NoError(b, err)
		require.NoError(b, op.Open(ctx))
		return op
	}
	op := start()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%batchesPerRun == 0 {
			b.StopTimer()
			require.NoError(b, op.Close())
			op = start()
			b.StartTimer()
		}
		require.NoError(b, op.ProcessBatch(0, batches[i%batchesPerRun], gaDiscard{}))
	}
	b.ReportMetric(float64(b.N)*batchRows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*batchRows), "ns/row")
	require.NoError(b, op.Close())
}
