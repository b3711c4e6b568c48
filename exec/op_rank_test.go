package exec

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// TestRowOperators runs the scripts in testdata/rank, dedup, over, sort
// and limit. The first command of a script creates the operator; its
// input block's first line is the input schema ("name TYPE, ..."), then,
// for over, one aggregate call per line (as in the group_agg scripts):
//
//	rank partition=(0) order=(1,2:desc,3:nulls-first) end=3 [start=2] [output-rank] [changelog] [ttl=<ms>]
//	dedup keys=(0) time=2 [keep-last] [proctime] [output-rank] [ttl=<ms>]
//	over [partition=(0)] time=2 (rows|range) preceding=<n|unbounded> [proctime]
//	over [partition=(0)] order=(1:desc) (rows [preceding=<n>]|range) [changelog] [ttl=<ms>]   (non-time OVER)
//	sort keys=(1:desc) [offset=<n>] limit=<n>
//	limit [offset=<n>] limit=<n> [changelog]
//	temporal-sort keys=(2,1:desc) [proctime]
//
// Then:
//
//	feed            input rows, one per line: +I[a, 1, 1000] (timestamps
//	                in ms, null for NULL); kinds other than +I need a
//	                changelog input
//	watermark ms=<ms>
//	time ms=<ms>    sets the processing-time clock
//	tick            calls OnProcessingTime
//	end             MaxWatermark, then end of input
//	snapshot        takes a snapshot
//	restore         replaces the operator by a fresh one restored from it
//	state           prints the operator's state size
//	metrics         prints the late rows dropped
//
// Each command prints the emitted changelog, one row per line. Every
// script is replayed with input batches of 1 and 7 rows and whole, each
// with and without a snapshot and restore into a fresh operator after
// every batch and watermark: the output must not change.
func TestRowOperators(t *testing.T) {
	rewrite := false
	if f := flag.Lookup("rewrite"); f != nil {
		rewrite = f.Value.String() == "true"
	}
	for _, dir := range []string{"rank", "dedup", "over", "sort", "limit"} {
		datadriven.Walk(t, "testdata/"+dir, func(t *testing.T, path string) {
			for _, bs := range []int{0, 1, 7} {
				for _, restore := range []bool{false, true} {
					if rewrite && (bs != 0 || restore) {
						continue
					}
					t.Run(fmt.Sprintf("batch=%d/restore=%t", bs, restore), func(t *testing.T) {
						mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
						defer mem.AssertSize(t, 0)
						h := &rowOpHarness{mem: mem, batch: bs, restoreEach: restore, metrics: NewOperatorMetrics()}
						defer h.close(t)
						datadriven.RunTest(t, path, h.run)
					})
				}
			}
		})
	}
}

type rowOpHarness struct {
	mem         *memory.CheckedAllocator
	batch       int
	restoreEach bool
	clock       manualClock
	metrics     *OperatorMetrics

	spec  OperatorSpec
	input *arrow.Schema
	cl    bool
	op    Operator
	snap  []byte
	log   strings.Builder
}

func (h *rowOpHarness) close(t *testing.T) {
	if h.op != nil {
		require.NoError(t, h.op.Close())
		h.op = nil
	}
}

func (h *rowOpHarness) newOp(t *testing.T) {
	require.NoError(t, h.tryNewOp())
}

func (h *rowOpHarness) tryNewOp() error {
	ctx := &OperatorContext{Parallelism: 1, Mem: h.mem, Metrics: h.metrics, Clock: &h.clock, Config: map[string]string{BatchSizeKey: "4"}}
	e, ok := lookupKind(h.spec.Kind)
	if !ok {
		return fmt.Errorf("unknown kind %s", h.spec.Kind)
	}
	op, err := e.op(h.spec, ctx)
	if err != nil {
		return err
	}
	h.op = op
	return op.Open(ctx)
}

func (h *rowOpHarness) snapshotRestore(t *testing.T) {
	state, err := h.op.Snapshot()
	require.NoError(t, err)
	h.close(t)
	h.newOp(t)
	require.NoError(t, h.op.Restore(state))
}

func (h *rowOpHarness) run(t *testing.T, d *datadriven.TestData) string {
	h.log.Reset()
	switch d.Cmd {
	case "rank", "dedup", "over", "sort", "limit", "temporal-sort":
		h.close(t)
		h.create(t, d)
		if err := h.tryNewOp(); err != nil {
			return "error: " + err.Error() + "\n"
		}
		return "ok\n"
	case "feed":
		rows := strings.Split(strings.TrimSpace(d.Input), "\n")
		size := len(rows)
		if h.batch > 0 {
			size = h.batch
		}
		for lo := 0; lo < len(rows); lo += size {
			b := h.build(t, rows[lo:min(lo+size, len(rows))])
			err := h.op.ProcessBatch(0, b, h)
			b.Release()
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			if h.restoreEach {
				h.snapshotRestore(t)
			}
		}
	case "watermark":
		var ms int64
		d.ScanArgs(t, "ms", &ms)
		require.NoError(t, h.op.ProcessWatermark(0, Watermark(ms), h))
		if h.restoreEach {
			h.snapshotRestore(t)
		}
	case "time":
		d.ScanArgs(t, "ms", &h.clock.now)
	case "tick":
		pt, ok := h.op.(ProcessingTimeOperator)
		require.True(t, ok)
		require.NoError(t, pt.OnProcessingTime(h))
	case "end":
		require.NoError(t, h.op.ProcessWatermark(0, MaxWatermark, h))
		require.NoError(t, h.op.EndInput(0, h))
	case "snapshot":
		var err error
		h.snap, err = h.op.Snapshot()
		require.NoError(t, err)
	case "restore":
		h.close(t)
		h.newOp(t)
		require.NoError(t, h.op.Restore(h.snap))
	case "state":
		return h.state()
	case "metrics":
		return fmt.Sprintf("late=%d\n", h.metrics.LateRecordsDropped.Load())
	default:
		t.Fatalf("unknown command %s", d.Cmd)
	}
	if h.log.Len() == 0 {
		return "ok\n"
	}
	return h.log.String()
}

// state prints the live partitions (not expired at the clock's time) and
// the rows held.
func (h *rowOpHarness) state() string {
	live := func(t *partitionTable, ttl int64) int {
		n := 0
		for p := range t.n {
			if t.live[p] && !t.expired(p, ttl, h.clock.now) {
				n++
			}
		}
		return n
	}
	switch op := h.op.(type) {
	case *rankOp:
		rows := 0
		for p := range op.parts.n {
			if op.parts.live[p] && !op.parts.expired(p, op.spec.StateTTLMillis, h.clock.now) {
				rows += len(op.rows[p])
			}
		}
		return fmt.Sprintf("partitions=%d rows=%d\n", live(op.parts, op.spec.StateTTLMillis), rows)
	case *dedupOp:
		rows := 0
		if op.store != nil {
			rows = live(op.parts, op.spec.StateTTLMillis)
		}
		return fmt.Sprintf("keys=%d rows=%d\n", live(op.parts, op.spec.StateTTLMillis), rows)
	case *overOp:
		return fmt.Sprintf("partitions=%d rows=%d waiting=%d\n", op.parts.count, op.store.live, len(op.pending))
	case *nonTimeOverOp:
		return fmt.Sprintf("partitions=%d rows=%d\n", op.parts.count, op.store.live)
	}
	return "no state\n"
}

func (h *rowOpHarness) create(t *testing.T, d *datadriven.TestData) {
	lines := strings.Split(strings.TrimSpace(d.Input), "\n")
	in := gaParseSchema(t, lines[0])
	out := in
	var spec any
	changelog := false
	h.cl = false
	ints := func(key string) []int {
		var out []int
		if !d.HasArg(key) {
			return out
		}
		var vals []string
		d.ScanArgs(t, key, &vals)
		for _, v := range vals {
			i, err := strconv.Atoi(v)
			require.NoError(t, err)
			out = append(out, i)
		}
		return out
	}
	int64Arg := func(key string, def int64) int64 {
		if d.HasArg(key) {
			d.ScanArgs(t, key, &def)
		}
		return def
	}
	rankCol := types.Column{Name: "rn", Type: types.BigIntType.WithNullable(false)}
	switch d.Cmd {
	case "rank":
		s := RankSpec{PartitionKeys: ints("partition"), OrderKeys: parseSortKeys(t, d, "order"), RankType: "row_number",
			Start: int64Arg("start", 1), End: int64Arg("end", 1), OutputRank: d.HasArg("output-rank"),
			InputChangelog: d.HasArg("changelog"), StateTTLMillis: int64Arg("ttl", 0)}
		if d.HasArg("type") {
			d.ScanArgs(t, "type", &s.RankType)
		}
		h.cl, changelog, spec = s.InputChangelog, true, s
		if s.OutputRank {
			out.Columns = append(slicesClone(out.Columns), rankCol)
		}
	case "dedup":
		s := DeduplicateSpec{Keys: ints("keys"), TimeCol: int(int64Arg("time", 0)), KeepLast: d.HasArg("keep-last"),
			ProcTime: d.HasArg("proctime"), OutputRank: d.HasArg("output-rank"), StateTTLMillis: int64Arg("ttl", 0)}
		changelog, spec = s.KeepLast || !s.ProcTime, s
		if s.OutputRank {
			out.Columns = append(slicesClone(out.Columns), rankCol)
		}
	case "over":
		if d.HasArg("order") {
			s := NonTimeOverAggregateSpec{PartitionKeys: ints("partition"), OrderKeys: parseSortKeys(t, d, "order"),
				Rows: d.HasArg("rows"), Preceding: int64Arg("preceding", -1), InputChangelog: d.HasArg("changelog"),
				StateTTLMillis: int64Arg("ttl", 0)}
			out.Columns = slicesClone(out.Columns)
			for _, line := range lines[1:] {
				c := gaParseCall(t, strings.TrimSpace(line), gaColumnTypes(in))
				s.Calls = append(s.Calls, c)
				out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
			}
			h.cl, changelog, spec = s.InputChangelog, true, s
			break
		}
		s := OverAggregateSpec{PartitionKeys: ints("partition"), TimeCol: int(int64Arg("time", 0)),
			ProcTime: d.HasArg("proctime"), Rows: d.HasArg("rows"), Preceding: -1}
		if d.HasArg("preceding") {
			var p string
			d.ScanArgs(t, "preceding", &p)
			if p != "unbounded" {
				var err error
				s.Preceding, err = strconv.ParseInt(p, 10, 64)
				require.NoError(t, err)
			}
		}
		inTypes := make([]types.DataType, in.Len())
		for i, c := range in.Columns {
			inTypes[i] = c.Type
		}
		out.Columns = slicesClone(out.Columns)
		for _, line := range lines[1:] {
			c := gaParseCall(t, strings.TrimSpace(line), inTypes)
			s.Calls = append(s.Calls, c)
			out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
		}
		spec = s
	case "sort":
		spec = SortSpec{Keys: parseSortKeys(t, d, "keys"), Offset: int64Arg("offset", 0), Limit: int64Arg("limit", -1)}
	case "limit":
		h.cl = d.HasArg("changelog")
		changelog = h.cl
		spec = LimitSpec{Offset: int64Arg("offset", 0), Limit: int64Arg("limit", -1)}
	case "temporal-sort":
		spec = TemporalSortSpec{Keys: parseSortKeys(t, d, "keys"), ProcTime: d.HasArg("proctime")}
	}
	kind := map[string]string{"rank": KindRank, "dedup": KindDeduplicate, "over": KindOverAggregate, "sort": KindSort,
		"limit": KindLimit, "temporal-sort": KindTemporalSort}[d.Cmd]
	if _, ok := spec.(NonTimeOverAggregateSpec); ok {
		kind = KindNonTimeOverAggregate
	}
	h.input = BatchSchema(in, h.cl)
	h.spec = OperatorSpec{Kind: kind, Name: d.Cmd, Schema: out, Changelog: changelog, Spec: mustJSON(t, spec)}
}

func gaColumnTypes(s types.Schema) []types.DataType {
	out := make([]types.DataType, s.Len())
	for i, c := range s.Columns {
		out[i] = c.Type
	}
	return out
}

func slicesClone(c []types.Column) []types.Column { return append([]types.Column(nil), c...) }

// parseSortKeys reads key=(1,2:desc,3:nulls-first,4:desc:nulls-last).
func parseSortKeys(t *testing.T, d *datadriven.TestData, key string) []SortKey {
	var keys []SortKey
	if !d.HasArg(key) {
		return keys
	}
	var vals []string
	d.ScanArgs(t, key, &vals)
	for _, v := range vals {
		parts := strings.Split(v, ":")
		c, err := strconv.Atoi(parts[0])
		require.NoError(t, err)
		k := SortKey{Col: c}
		for _, p := range parts[1:] {
			switch p {
			case "desc":
				k.Desc = true
			case "nulls-first":
				k.NullsFirst = true
			case "nulls-last":
			default:
				t.Fatalf("unknown sort key option %q", p)
			}
		}
		keys = append(keys, k)
	}
	return keys
}

// build makes a batch of the input schema from rows like +I[a, 1, 1000].
func (h *rowOpHarness) build(t *testing.T, rows []string) arrow.RecordBatch {
	b := array.NewRecordBuilder(h.mem, h.input)
	defer b.Release()
	nData := h.input.NumFields()
	if h.cl {
		nData--
	}
	for _, row := range rows {
		row = strings.TrimSpace(row)
		kind, body, ok := strings.Cut(row, "[")
		require.True(t, ok && strings.HasSuffix(body, "]"), "row %q", row)
		vals := strings.Split(strings.TrimSuffix(body, "]"), ",")
		require.Len(t, vals, nData, "row %q", row)
		for i, v := range vals {
			v = strings.TrimSpace(v)
			if tb, ok := b.Field(i).(*array.TimestampBuilder); ok && v != "null" {
				ms, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				tb.Append(arrow.Timestamp(ms))
				continue
			}
			gaAppendValue(t, b.Field(i), v)
		}
		if h.cl {
			b.Field(nData).(*array.Int8Builder).Append(int8(gaParseRowKind(t, kind)))
		} else {
			require.Equal(t, "+I", kind, "an insert-only input takes +I rows")
		}
	}
	return b.NewRecordBatch()
}

// Emit prints the rows as Flink does: +I[a, 1].
func (h *rowOpHarness) Emit(b arrow.RecordBatch) error {
	n := int(b.NumCols())
	if h.spec.Changelog {
		n--
	}
	for i := range int(b.NumRows()) {
		kind := connector.Insert
		if h.spec.Changelog {
			kind = connector.RowKind(b.Column(n).(*array.Int8).Value(i))
		}
		vals := make([]string, n)
		for c := range n {
			vals[c] = "null"
			if b.Column(c).IsValid(i) {
				vals[c] = fmtCell(b.Column(c), i)
			}
		}
		fmt.Fprintf(&h.log, "%s[%s]\n", kind, strings.Join(vals, ", "))
	}
	return nil
}

func (h *rowOpHarness) EmitWatermark(wm Watermark) error {
	fmt.Fprintf(&h.log, "watermark %s\n", fmtWM(wm))
	return nil
}

// BenchmarkTopN runs an insert-only Top-3 per partition over 8192-row
// batches of 1000 partitions with random order values: most rows are
// rejected after one comparison with the partition's 3rd row.
func BenchmarkTopN(b *testing.B) {
	const rows, parts = 8192, 1000
	mem := memory.NewGoAllocator()
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindRank, Schema: in, Changelog: true,
		Spec: mustJSON(b, RankSpec{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1, Desc: true}}, RankType: "row_number", Start: 1, End: 3})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
	op, err := newRank(spec, ctx)
	require.NoError(b, err)
	require.NoError(b, op.Open(ctx))
	defer op.Close()

	const nBatches = 16
	batches := make([]arrow.RecordBatch, nBatches)
	x := uint64(42)
	for j := range batches {
		rb := array.NewRecordBuilder(mem, in.Arrow())
		for range rows {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			rb.Field(0).(*array.Int64Builder).Append(int64(x % parts))
			rb.Field(1).(*array.Int64Builder).Append(int64(x>>20) % 1000000)
			rb.Field(2).(*array.StringBuilder).Append("payload")
		}
		batches[j] = rb.NewRecordBatch()
		rb.Release()
		defer batches[j].Release()
	}
	var sink gaDiscard
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.ProcessBatch(0, batches[i%nBatches], sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*rows/b.Elapsed().Seconds(), "rows/s")
}

// TestRowOperatorsRescale restores one snapshot into the two subtasks of
// a rescaled job: each keeps exactly the partitions the Hash exchange
// sends it.
func TestRowOperatorsRescale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}}}
	spec := OperatorSpec{Kind: KindRank, Schema: in, Changelog: true,
		Spec: mustJSON(t, RankSpec{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 1}}, RankType: "row_number", Start: 1, End: 2})}
	open := func(subtask, par int) *rankOp {
		ctx := &OperatorContext{Subtask: subtask, Parallelism: par, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
		op, err := newRank(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op.(*rankOp)
	}
	src := open(0, 1)
	rb := array.NewRecordBuilder(mem, in.Arrow())
	for k := range int64(64) {
		rb.Field(0).(*array.Int64Builder).AppendValues([]int64{k, k, k}, nil)
		rb.Field(1).(*array.Int64Builder).AppendValues([]int64{3, 1, 2}, nil)
	}
	b := rb.NewRecordBatch()
	rb.Release()
	require.NoError(t, src.ProcessBatch(0, b, gaDiscard{}))
	state, err := src.Snapshot()
	require.NoError(t, err)
	require.NoError(t, src.Close())
	hashes := make([]uint64, b.NumRows())
	require.NoError(t, hashRows(b, []int{0}, hashes))
	b.Release()
	owned := [2]int{}
	for i := 0; i < len(hashes); i += 3 {
		owned[targetOf(hashes[i], 2)]++
	}
	for sub := range 2 {
		op := open(sub, 2)
		require.NoError(t, op.Restore(state))
		require.Equal(t, owned[sub], op.parts.count, "subtask %d", sub)
		require.Equal(t, 2*owned[sub], op.store.live)
		require.NoError(t, op.Close())
	}
	require.Positive(t, owned[0])
	require.Positive(t, owned[1])
}
