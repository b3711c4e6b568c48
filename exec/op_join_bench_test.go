package exec

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
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

// BenchmarkJoinGrowingState measures an inner join of insert-only inputs
// whose state only grows, as a join of two unbounded append-only streams
// does (Nexmark q4, q6, q9): each 1,024-row batch of the left input (new
// BIGINT keys, a 100-byte STRING payload) probes the right input's 1,024
// rows without a match and is stored. Every 1,024 batches the operator
// starts again from empty state, so the left state grows to 1M rows over
// and over. Reports left rows/s.
func BenchmarkJoinGrowingState(b *testing.B) {
	const batchRows, batchesPerRun = 1024, 1024
	mem := memory.NewGoAllocator()
	kv := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindJoin, Schema: types.Schema{Columns: append(append([]types.Column{}, kv.Columns...), kv.Columns...)},
		Spec: mustJSON(b, JoinSpec{Type: "inner", LeftKeys: []int{0}, RightKeys: []int{0}})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	payload := strings.Repeat("x", 100)
	mk := func(start int) arrow.RecordBatch {
		bb := array.NewRecordBuilder(mem, kv.Arrow())
		defer bb.Release()
		for i := range batchRows {
			bb.Field(0).(*array.Int64Builder).Append(int64(start + i))
			bb.Field(1).(*array.StringBuilder).Append(payload)
		}
		return bb.NewRecordBatch()
	}
	right := mk(-batchRows)
	defer right.Release()
	start := func() Operator {
		op, err := newJoin(spec, ctx)
		require.NoError(b, err)
		require.NoError(b, op.Open(ctx))
		require.NoError(b, op.ProcessBatch(1, right, discardOutput{}))
		return op
	}
	batches := make([]arrow.RecordBatch, batchesPerRun)
	for i := range batches {
		batches[i] = mk(i * batchRows)
		defer batches[i].Release()
	}
	elapsed := runJoinBatches(b, start, 0, batches)
	b.ReportMetric(float64(b.N)*batchRows/elapsed.Seconds(), "rows/s")
}

// runJoinBatches feeds batches, in turn, b.N times into input of a join
// from start, starting a fresh one (untimed) after each pass so that the
// state stays the size one pass builds, and returns the time spent
// processing.
func runJoinBatches(b *testing.B, start func() Operator, input int, batches []arrow.RecordBatch) time.Duration {
	op := start()
	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%len(batches) == 0 {
			b.StopTimer()
			elapsed += time.Since(t0)
			require.NoError(b, op.Close())
			op = start()
			t0 = time.Now()
			b.StartTimer()
		}
		require.NoError(b, op.ProcessBatch(input, batches[i%len(batches)], discardOutput{}))
	}
	elapsed += time.Since(t0)
	require.NoError(b, op.Close())
	return elapsed
}

// BenchmarkIntervalJoinExpiry measures an interval join in steady state,
// as Nexmark q7's: each 1,024-row batch of the left input (nearly unique
// BIGINT keys, one millisecond apart, a 100-byte STRING payload) probes the
// right input, which holds a row only every 1,000 keys, is stored, and the
// watermark that follows expires the left rows older than 256 batches, so
// the left state stays at about 256k rows and every batch stores and
// removes as many. Reports left rows/s.
func BenchmarkIntervalJoinExpiry(b *testing.B) {
	const batchRows, keptBatches = 1024, 256
	mem := memory.NewGoAllocator()
	kt := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType(3)},
		{Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindIntervalJoin, Schema: types.Schema{Columns: append(append([]types.Column{}, kt.Columns...), kt.Columns...)},
		Spec: mustJSON(b, IntervalJoinSpec{Type: "inner", LeftKeys: []int{0}, RightKeys: []int{0}, LeftTimeCol: 1, RightTimeCol: 1,
			LowerBound: 0, UpperBound: keptBatches * batchRows})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newIntervalJoin(spec, ctx)
	require.NoError(b, err)
	require.NoError(b, op.Open(ctx))
	defer op.Close()
	payload := strings.Repeat("x", 100)
	// mk builds every step-th row of times first..first+n-1, one ms
	// apart, the row of time t having key t*1,000,003 mod 2^20: the keys
	// of a period's times are all distinct.
	mk := func(first, n, step int) arrow.RecordBatch {
		bb := array.NewRecordBuilder(mem, kt.Arrow())
		defer bb.Release()
		for t := first; t < first+n; t += step {
			bb.Field(0).(*array.Int64Builder).Append(int64(t) * 1_000_003 % (1 << 20))
			bb.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(t))
			bb.Field(2).(*array.StringBuilder).Append(payload)
		}
		return bb.NewRecordBatch()
	}
	const period = 4 * keptBatches
	batches := make([]arrow.RecordBatch, period)
	for i := range batches {
		batches[i] = mk(i*batchRows, batchRows, 1)
		defer batches[i].Release()
	}
	discard := discardOutput{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Every period the operator starts again, the right rows of the
		// whole period stored and the right watermark past them, so that
		// the left watermark alone expires the left rows.
		if i%period == 0 {
			b.StopTimer()
			if i > 0 {
				require.NoError(b, op.Close())
				op, err = newIntervalJoin(spec, ctx)
				require.NoError(b, err)
				require.NoError(b, op.Open(ctx))
			}
			right := mk(0, period*batchRows, 1000)
			require.NoError(b, op.ProcessBatch(1, right, discard))
			right.Release()
			require.NoError(b, op.ProcessWatermark(1, Watermark(period*batchRows), discard))
			b.StartTimer()
		}
		require.NoError(b, op.ProcessBatch(0, batches[i%period], discard))
		// A left row at time t waits for the watermark to pass t (the
		// lower bound is 0): this one keeps the last keptBatches batches.
		require.NoError(b, op.ProcessWatermark(0, Watermark((i%period-keptBatches)*batchRows), discard))
	}
	b.ReportMetric(float64(b.N)*batchRows/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkJoinProbeMatches measures an inner join of insert-only inputs
// shaped as Nexmark q9's: the left input holds 10,000 rows (auctions: key,
// two times, three STRINGs of 20, 100 and 300 bytes); each 1,024-row batch
// of the right input (bids: key, time, price, two 60-byte STRINGs) probes
// it and every row is stored; every 256 batches the right state starts
// again from empty. With the condition r.t <= l.expires about 3 in 4 rows
// match and are emitted with their match; without it every row is, so the
// batch's columns pass to the output as they are. It measures the probe,
// the condition, storing the rows and building the output. Reports right
// rows/s and ns/row.
func BenchmarkJoinProbeMatches(b *testing.B) {
	b.Run("condition", func(b *testing.B) { benchJoinProbeMatches(b, true) })
	b.Run("all-match", func(b *testing.B) { benchJoinProbeMatches(b, false) })
}

func benchJoinProbeMatches(b *testing.B, withCond bool) {
	const auctions, batchRows, batchesPerRun = 10_000, 1024, 256
	mem := memory.NewGoAllocator()
	left := types.Schema{Columns: []types.Column{{Name: "id", Type: types.BigIntType}, {Name: "dateTime", Type: types.BigIntType},
		{Name: "expires", Type: types.BigIntType}, {Name: "itemName", Type: types.StringType},
		{Name: "description", Type: types.StringType}, {Name: "extra", Type: types.StringType}}}
	right := types.Schema{Columns: []types.Column{{Name: "auction", Type: types.BigIntType}, {Name: "dateTime", Type: types.BigIntType},
		{Name: "price", Type: types.BigIntType}, {Name: "url", Type: types.StringType}, {Name: "extra", Type: types.StringType}}}
	cond, err := expr.Resolve("<=", []expr.Expr{
		&expr.ColumnRef{Index: 7, Name: "dateTime", T: types.BigIntType}, &expr.ColumnRef{Index: 2, Name: "expires", T: types.BigIntType}})
	require.NoError(b, err)
	js := JoinSpec{Type: "inner", LeftKeys: []int{0}, RightKeys: []int{0}}
	if withCond {
		js.Condition = marshal(b, cond)
	}
	spec := OperatorSpec{Kind: KindJoin, Schema: types.Schema{Columns: append(append([]types.Column{}, left.Columns...), right.Columns...)},
		Spec: mustJSON(b, js)}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	lb := array.NewRecordBuilder(mem, left.Arrow())
	for id := range auctions {
		lb.Field(0).(*array.Int64Builder).Append(int64(id))
		lb.Field(1).(*array.Int64Builder).Append(0)
		lb.Field(2).(*array.Int64Builder).Append(int64(id % 4 * 1000))
		lb.Field(3).(*array.StringBuilder).Append(strings.Repeat("n", 20))
		lb.Field(4).(*array.StringBuilder).Append(strings.Repeat("d", 100))
		lb.Field(5).(*array.StringBuilder).Append(strings.Repeat("e", 300))
	}
	lbatch := lb.NewRecordBatch()
	lb.Release()
	defer lbatch.Release()
	batches := make([]arrow.RecordBatch, batchesPerRun)
	for i := range batches {
		rb := array.NewRecordBuilder(mem, right.Arrow())
		for r := range batchRows {
			n := i*batchRows + r
			rb.Field(0).(*array.Int64Builder).Append(int64(n * 7919 % auctions))
			rb.Field(1).(*array.Int64Builder).Append(int64(n % 4000))
			rb.Field(2).(*array.Int64Builder).Append(int64(n))
			rb.Field(3).(*array.StringBuilder).Append(strings.Repeat("u", 60))
			rb.Field(4).(*array.StringBuilder).Append(strings.Repeat("x", 60))
		}
		batches[i] = rb.NewRecordBatch()
		rb.Release()
		defer batches[i].Release()
	}
	start := func() Operator {
		op, err := newJoin(spec, ctx)
		require.NoError(b, err)
		require.NoError(b, op.Open(ctx))
		require.NoError(b, op.ProcessBatch(0, lbatch, discardOutput{}))
		return op
	}
	elapsed := runJoinBatches(b, start, 1, batches)
	b.ReportMetric(float64(b.N)*batchRows/elapsed.Seconds(), "rows/s")
	b.ReportMetric(elapsed.Seconds()*1e9/(float64(b.N)*batchRows), "ns/row")
}
