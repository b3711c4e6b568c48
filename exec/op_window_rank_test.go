package exec

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestWindowRank runs the scripts in testdata/window_rank through the
// row operator harness (see TestRowOperators for feed, watermark, end,
// snapshot, restore and metrics). The first command creates the operator;
// its input block is the input schema ("name TYPE, ..."):
//
//	window-rank start-col=<i> end-col=<i> [partition=(0)] order=(1:desc,2:nulls-first)
//	            end=<n> [start=<n>] [type=row_number|rank|dense_rank] [output-rank]
//	            [rowtime=(3)]   marks input columns as rowtime attributes
//	state       prints the open windows, partitions and kept rows
//
// Scripts are replayed as replayScripts describes, with output batches of
// 4 rows.
func TestWindowRank(t *testing.T) {
	replayRowOperatorScripts(t, []string{"window_rank"}, runWindowRank)
}

func runWindowRank(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
	switch d.Cmd {
	case "window-rank":
		h.close(t)
		in := gaParseSchema(t, d.Input)
		ints := func(key string) []int { return intsArg(t, d, key) }
		for _, c := range ints("rowtime") {
			in.Columns[c].Type = in.Columns[c].Type.WithTimeAttr(types.RowtimeAttr)
		}
		s := WindowRankSpec{PartitionKeys: ints("partition"), OrderKeys: parseSortKeys(t, d, "order"),
			RankType: "row_number", Start: 1, OutputRank: d.HasArg("output-rank")}
		d.ScanArgs(t, "start-col", &s.WindowStart)
		d.ScanArgs(t, "end-col", &s.WindowEnd)
		d.ScanArgs(t, "end", &s.End)
		d.MaybeScanArgs(t, "start", &s.Start)
		d.MaybeScanArgs(t, "type", &s.RankType)
		out := in
		if s.OutputRank {
			out.Columns = append(slicesClone(in.Columns), types.Column{Name: "rn", Type: types.BigIntType.WithNullable(false)})
		}
		h.cl = false
		h.input = BatchSchema(in, false)
		h.spec = OperatorSpec{Kind: KindWindowRank, Name: "WindowRank", Schema: out, Spec: mustJSON(t, s)}
		return h.start()
	case "state":
		s := h.op.(*windowRankOp).stats()
		return fmt.Sprintf("windows=%d partitions=%d rows=%d\n", s.Windows, s.Partitions, s.Rows)
	}
	return h.run(t, d)
}

// TestWindowRankErrors checks the spec validation and NULL window bounds.
func TestWindowRankErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := types.TimestampType(3)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.StringType}, {Name: "v", Type: types.BigIntType},
		{Name: "ws", Type: ts}, {Name: "we", Type: ts}}}
	good := WindowRankSpec{PartitionKeys: []int{0}, WindowStart: 2, WindowEnd: 3, OrderKeys: []SortKey{{Col: 1}},
		RankType: "row_number", Start: 1, End: 2}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	for name, tc := range map[string]struct {
		mod       func(*WindowRankSpec)
		changelog bool
	}{
		"rank type":   {mod: func(s *WindowRankSpec) { s.RankType = "ntile" }},
		"range":       {mod: func(s *WindowRankSpec) { s.Start, s.End = 3, 2 }},
		"window col":  {mod: func(s *WindowRankSpec) { s.WindowEnd = 1 }},
		"order key":   {mod: func(s *WindowRankSpec) { s.OrderKeys[0].Col = 9 }},
		"partition":   {mod: func(s *WindowRankSpec) { s.PartitionKeys = []int{-1} }},
		"changelog":   {changelog: true},
		"output rank": {mod: func(s *WindowRankSpec) { s.OutputRank = true }}, // schema lacks the rank column
	} {
		s := good
		s.OrderKeys = []SortKey{{Col: 1}}
		if tc.mod != nil {
			tc.mod(&s)
		}
		_, err := newWindowRank(OperatorSpec{Kind: KindWindowRank, Schema: in, Changelog: tc.changelog, Spec: mustJSON(t, s)}, ctx)
		require.Error(t, err, name)
	}

	op, err := newWindowRank(OperatorSpec{Kind: KindWindowRank, Schema: in, Spec: mustJSON(t, good)}, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))
	defer op.Close()
	rb := array.NewRecordBuilder(mem, in.Arrow())
	rb.Field(0).(*array.StringBuilder).Append("a")
	rb.Field(1).(*array.Int64Builder).Append(1)
	rb.Field(2).AppendNull()
	rb.Field(3).(*array.TimestampBuilder).Append(10)
	b := rb.NewRecordBatch()
	rb.Release()
	defer b.Release()
	require.ErrorContains(t, op.ProcessBatch(0, b, gaDiscard{}), "must not be NULL")
}

// TestWindowRankKeyGroups checks that snapshots group partitions by the
// key group of hashRows over the partition keys and the window columns,
// the hash a Hash exchange on those columns routes by.
func TestWindowRankKeyGroups(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := types.TimestampType(3)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType},
		{Name: "ws", Type: ts}, {Name: "we", Type: ts}}}
	spec := OperatorSpec{Kind: KindWindowRank, Schema: in, Spec: mustJSON(t, WindowRankSpec{PartitionKeys: []int{0},
		WindowStart: 2, WindowEnd: 3, OrderKeys: []SortKey{{Col: 1}}, RankType: "row_number", Start: 1, End: 1})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op, err := newWindowRank(spec, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))
	defer op.Close()
	rb := array.NewRecordBuilder(mem, in.Arrow())
	for k := range int64(200) {
		rb.Field(0).(*array.Int64Builder).Append(k)
		rb.Field(1).(*array.Int64Builder).Append(k)
		rb.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(k % 3 * 10))
		rb.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(k%3*10 + 10))
	}
	b := rb.NewRecordBatch()
	rb.Release()
	defer b.Release()
	require.NoError(t, op.ProcessBatch(0, b, gaDiscard{}))
	hashes := make([]uint64, b.NumRows())
	require.NoError(t, hashRows(b, []int{0, 2, 3}, hashes))
	want := map[int]int{}
	for _, h := range hashes {
		want[KeyGroupOf(h)]++
	}
	state, err := op.Snapshot()
	require.NoError(t, err)
	r := &rbuf{b: state}
	r.byte()
	r.varint()
	r.varint()
	got := map[int]int{}
	for range r.uvarint() {
		g := int(r.uvarint())
		body := &rbuf{b: r.bytes(r.uvarint())}
		got[g] = int(body.uvarint())
	}
	require.NoError(t, r.err)
	require.Equal(t, want, got)
}

// BenchmarkWindowRank runs a Top-3 per key and tumbling window over
// 16 batches of 8192 rows of 1000 keys with random order values; the
// watermark closes a window every 4 batches. Each iteration is a whole run
// on a fresh operator, ending with MaxWatermark.
func BenchmarkWindowRank(b *testing.B) {
	const rows, keys, nBatches, batchesPerWindow, size = 8192, 1000, 16, 4, 40000
	mem := memory.NewGoAllocator()
	ts := types.TimestampType(3)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType},
		{Name: "s", Type: types.StringType}, {Name: "ws", Type: ts}, {Name: "we", Type: ts}}}
	spec := OperatorSpec{Kind: KindWindowRank, Schema: in, Spec: mustJSON(b, WindowRankSpec{PartitionKeys: []int{0},
		WindowStart: 3, WindowEnd: 4, OrderKeys: []SortKey{{Col: 1, Desc: true}}, RankType: "row_number", Start: 1, End: 3})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}

	batches := make([]arrow.RecordBatch, nBatches)
	x := uint64(42)
	for j := range batches {
		w := int64(j / batchesPerWindow)
		rb := array.NewRecordBuilder(mem, in.Arrow())
		for range rows {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			rb.Field(0).(*array.Int64Builder).Append(int64(x % keys))
			rb.Field(1).(*array.Int64Builder).Append(int64(x>>20) % 1000000)
			rb.Field(2).(*array.StringBuilder).Append("payload")
			rb.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(w * size))
			rb.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(w*size + size))
		}
		batches[j] = rb.NewRecordBatch()
		rb.Release()
		defer batches[j].Release()
	}
	var sink gaDiscard
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		op, err := newWindowRank(spec, ctx)
		if err == nil {
			err = op.Open(ctx)
		}
		for j := 0; err == nil && j < nBatches; j++ {
			err = op.ProcessBatch(0, batches[j], sink)
			if err == nil && (j+1)%batchesPerWindow == 0 {
				err = op.ProcessWatermark(0, Watermark(int64(j/batchesPerWindow+1)*size-1), sink)
			}
		}
		if err == nil {
			err = op.ProcessWatermark(0, MaxWatermark, sink)
		}
		if err != nil {
			b.Fatal(err)
		}
		op.Close()
	}
	b.ReportMetric(float64(b.N)*nBatches*rows/b.Elapsed().Seconds(), "rows/s")
}

// TestWindowRankJob runs a window Top-2 in a job: two source subtasks of
// (id, k = id % 10, ts = id ms) with watermarks and a 100 ms tumbling
// window table function, a hash exchange on (k, window_start,
// window_end), and the window rank by id descending in two subtasks.
// Each (k, window) holds the ids w*100 + 10*j + k, so the kept ids are
// exactly those with id % 100 >= 80.
func TestWindowRankJob(t *testing.T) {
	const rows = 10000
	name, store := newStore(t)
	tvfOut := windowTVFSchema(seqSchema)
	bigint := types.BigIntType.WithNullable(false)
	sinkSchema := types.Schema{Columns: []types.Column{{Name: "id", Type: bigint}, {Name: "k", Type: bigint}}}
	sink := sinkOp(t, name, nil)
	sink.Schema = sinkSchema
	g := &JobGraph{
		Name:   "window-rank",
		Config: map[string]string{BatchSizeKey: "64"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": fmt.Sprint(rows)}),
				{Kind: KindWatermarkAssigner, Name: "WM", Schema: seqSchema, Spec: mustJSON(t,
					WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(t, col(2))})},
				{Kind: KindWindowTableFunction, Name: "Window", Schema: tvfOut, Spec: mustJSON(t,
					WindowTableFunctionSpec{Window: WindowSpec{Kind: WindowTumble, Size: 100}, TimeCol: 2})}}},
			{ID: 2, Name: "Rank", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: KindWindowRank, Name: "WindowRank", Schema: tvfOut, Spec: mustJSON(t, WindowRankSpec{
					PartitionKeys: []int{1}, WindowStart: 3, WindowEnd: 4, OrderKeys: []SortKey{{Col: 0, Desc: true}},
					RankType: "row_number", Start: 1, End: 2})},
				{Kind: KindCalc, Name: "Calc", Schema: sinkSchema, Spec: mustJSON(t, CalcSpec{
					Projections: []json.RawMessage{marshal(t, col(0)), marshal(t, col(1))}})},
				sink}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1, 3, 4}}},
	}
	j, err := runJob(t, g, 2)
	require.NoError(t, err)
	var want []int64
	for id := range int64(rows) {
		if id%100 >= 80 {
			want = append(want, id)
		}
	}
	require.Equal(t, want, store.all())
	require.Zero(t, opStats(j, 2, 0).LateRecordsDropped)
}
