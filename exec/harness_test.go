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

// scriptReplay is one replay of a scripted operator test.
type scriptReplay struct {
	mem *memory.CheckedAllocator
	// batch is the number of input rows per batch; 0 feeds each input
	// block as one batch.
	batch int
	// restoreEach snapshots the operator and restores a fresh one from
	// the snapshot after every input.
	restoreEach bool
}

// replayScripts runs every script under testdata/<dir>, for each of dirs,
// once per replay: input batches of 1 and 7 rows and whole, each with and
// without a snapshot and restore into a fresh operator after every input.
// All replays compare against the same expected output, so batching and
// recovery must not change what an operator emits. Under -rewrite only the
// first replay (whole batches, no restore) runs, so it alone writes the
// expectations.
//
// start makes a replay's harness and returns its command handler and the
// cleanup to run before the allocator is checked for leaks.
func replayScripts(t *testing.T, dirs []string,
	start func(t *testing.T, r scriptReplay) (run func(*testing.T, *datadriven.TestData) string, done func()),
) {
	rewrite := false
	if f := flag.Lookup("rewrite"); f != nil {
		rewrite = f.Value.String() == "true"
	}
	for _, dir := range dirs {
		datadriven.Walk(t, "testdata/"+dir, func(t *testing.T, path string) {
			for _, bs := range []int{0, 1, 7} {
				for _, restore := range []bool{false, true} {
					if rewrite && (bs != 0 || restore) {
						continue
					}
					t.Run(fmt.Sprintf("batch=%d/restore=%t", bs, restore), func(t *testing.T) {
						mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
						defer mem.AssertSize(t, 0)
						run, done := start(t, scriptReplay{mem: mem, batch: bs, restoreEach: restore})
						defer done()
						datadriven.RunTest(t, path, run)
					})
				}
			}
		})
	}
}

// replayRowOperatorScripts replays the scripts under dirs (see
// replayScripts) with the row operators' harness. cmd handles the
// commands a family of scripts adds (usually the one that creates its
// operator) and hands the rest to h.run; nil means h.run alone.
func replayRowOperatorScripts(t *testing.T, dirs []string, cmd func(*testing.T, *rowOpHarness, *datadriven.TestData) string) {
	replayScripts(t, dirs, func(t *testing.T, r scriptReplay) (func(*testing.T, *datadriven.TestData) string, func()) {
		h := &rowOpHarness{mem: r.mem, batch: r.batch, restoreEach: r.restoreEach, metrics: NewOperatorMetrics()}
		run := h.run
		if cmd != nil {
			run = func(t *testing.T, d *datadriven.TestData) string { return cmd(t, h, d) }
		}
		return run, func() { h.close(t) }
	})
}

// start opens the operator a create command has just described and
// prints the command's result: ok, or the error that made it fail.
func (h *rowOpHarness) start() string {
	if err := h.tryNewOp(); err != nil {
		h.op = nil
		return "error: " + err.Error() + "\n"
	}
	return "ok\n"
}

// liveParts counts the partitions of t not expired at the clock's time.
func (h *rowOpHarness) liveParts(t *partitionTable, ttl int64) int {
	n := 0
	for p := range t.n {
		if t.live[p] && !t.expired(p, ttl, h.clock.now) {
			n++
		}
	}
	return n
}

// intsArg reads a list of column indexes, key=(0,2); an absent key or
// key=() is none.
func intsArg(t *testing.T, d *datadriven.TestData, key string) []int {
	var out []int
	if !d.HasArg(key) {
		return out
	}
	var vals []string
	d.ScanArgs(t, key, &vals)
	for _, v := range vals {
		if v == "" {
			continue
		}
		i, err := strconv.Atoi(v)
		require.NoError(t, err)
		out = append(out, i)
	}
	return out
}

// benchOperator measures op over 16 batches of rows rows of schema s, fed
// round robin: fill appends one row to rb from x, a xorshift random
// number, so every run sees the same data. It reports rows per second.
func benchOperator(b *testing.B, op Operator, mem memory.Allocator, s *arrow.Schema, rows int,
	fill func(rb *array.RecordBuilder, x uint64)) {
	const nBatches = 16
	batches := make([]arrow.RecordBatch, nBatches)
	x := uint64(42)
	for j := range batches {
		rb := array.NewRecordBuilder(mem, s)
		for range rows {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			fill(rb, x)
		}
		batches[j] = rb.NewRecordBatch()
		rb.Release()
		defer batches[j].Release()
	}
	feedBatches(b, op, batches, rows)
}

// feedBatches times op over batches of rows rows each, fed round robin,
// and reports rows per second.
func feedBatches(b *testing.B, op Operator, batches []arrow.RecordBatch, rows int) {
	var sink gaDiscard
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op.ProcessBatch(0, batches[i%len(batches)], sink); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// openOperator makes spec's operator, as a task does, and opens it.
func openOperator(t testing.TB, spec OperatorSpec, ctx *OperatorContext) Operator {
	e, ok := lookupKind(spec.Kind)
	require.True(t, ok, "unknown kind %s", spec.Kind)
	op, err := e.op(spec, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))
	return op
}

// reopen snapshots op, closes it and returns a fresh instance opened and
// restored from the snapshot, in the order a restarted task does.
func reopen(t testing.TB, op Operator, spec OperatorSpec, ctx *OperatorContext) Operator {
	state, err := op.Snapshot()
	require.NoError(t, err)
	require.NoError(t, op.Close())
	fresh := openOperator(t, spec, ctx)
	require.NoError(t, fresh.Restore(state))
	return fresh
}

// rowOpHarness runs the scripts of the row operators and of the
// operators that reuse its commands (TestRowOperators documents them).
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
	case "rank", "dedup", "over", "sort", "limit", "temporal-sort", "batch-over":
		h.close(t)
		h.create(t, d)
		return h.start()
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
	case "state-bytes":
		sz, ok := h.op.(StateSizer)
		require.True(t, ok, "%T reports no state size", h.op)
		return fmt.Sprintf("bytes=%d\n", sz.StateBytes())
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

// build makes a batch of the input schema from rows like +I[a, 1, 1000],
// with timestamps as epoch milliseconds.
func (h *rowOpHarness) build(t *testing.T, rows []string) arrow.RecordBatch {
	return buildRows(t, h.mem, h.input, h.cl, rows, func(t *testing.T, b array.Builder, v string) {
		if tb, ok := b.(*array.TimestampBuilder); ok && v != "null" {
			ms, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			tb.Append(arrow.Timestamp(ms))
			return
		}
		gaAppendValue(t, b, v)
	})
}

// buildRows makes a batch of schema from rows like +I[a, 1]; with cl the
// schema's last column is the row kind, else every row must be +I.
// appendValue appends one printed value to its column's builder.
func buildRows(t *testing.T, mem memory.Allocator, schema *arrow.Schema, cl bool, rows []string,
	appendValue func(t *testing.T, b array.Builder, v string)) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	nData := schema.NumFields()
	if cl {
		nData--
	}
	for _, row := range rows {
		row = strings.TrimSpace(row)
		kind, body, ok := strings.Cut(row, "[")
		require.True(t, ok && strings.HasSuffix(body, "]"), "row %q", row)
		vals := strings.Split(strings.TrimSuffix(body, "]"), ",")
		require.Len(t, vals, nData, "row %q", row)
		for i, v := range vals {
			appendValue(t, b.Field(i), strings.TrimSpace(v))
		}
		if cl {
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

func slicesClone(c []types.Column) []types.Column { return append([]types.Column(nil), c...) }
