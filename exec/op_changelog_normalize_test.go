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

// TestChangelogNormalize runs the scripts in testdata/normalize with the
// row operators' harness (see TestRowOperators for its commands). The
// first command creates the operator; its input block is the input schema:
//
//	normalize keys=(0) [ttl=<ms>] [insert-only]
//
// insert-only declares the output insert-only (an invalid plan). state
// prints the keys not expired at the clock's time and the rows held.
// Every script is replayed with input batches of 1 and 7 rows and whole,
// each with and without a snapshot and restore into a fresh operator
// after every batch and watermark: the output must not change.
func TestChangelogNormalize(t *testing.T) {
	rewrite := false
	if f := flag.Lookup("rewrite"); f != nil {
		rewrite = f.Value.String() == "true"
	}
	datadriven.Walk(t, "testdata/normalize", func(t *testing.T, path string) {
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
					datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
						return runNormalize(t, h, d)
					})
				})
			}
		}
	})
}

// runNormalize handles the commands specific to the normalize scripts and
// hands the rest to the row operators' harness.
func runNormalize(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
	switch d.Cmd {
	case "normalize":
		h.close(t)
		in := gaParseSchema(t, strings.TrimSpace(d.Input))
		var s ChangelogNormalizeSpec
		var keys []string
		d.ScanArgs(t, "keys", &keys)
		for _, k := range keys {
			i, err := strconv.Atoi(k)
			require.NoError(t, err)
			s.Keys = append(s.Keys, i)
		}
		if d.HasArg("ttl") {
			d.ScanArgs(t, "ttl", &s.StateTTLMillis)
		}
		h.cl = true
		h.input = BatchSchema(in, true)
		h.spec = OperatorSpec{Kind: KindChangelogNormalize, Name: d.Cmd, Schema: in,
			Changelog: !d.HasArg("insert-only"), Spec: mustJSON(t, s)}
		if err := h.tryNewOp(); err != nil {
			h.op = nil
			return "error: " + err.Error() + "\n"
		}
		return "ok\n"
	case "state":
		op := h.op.(*normalizeOp)
		keys := 0
		for p := range op.parts.n {
			if op.parts.live[p] && !op.parts.expired(p, op.spec.StateTTLMillis, h.clock.now) {
				keys++
			}
		}
		return fmt.Sprintf("keys=%d rows=%d\n", keys, op.store.live)
	}
	return h.run(t, d)
}

// TestChangelogNormalizeRescale restores one snapshot into the two
// subtasks of a rescaled job: each keeps exactly the keys the Hash
// exchange sends it, and deletes them emitting the kept rows.
func TestChangelogNormalizeRescale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindChangelogNormalize, Schema: in, Changelog: true,
		Spec: mustJSON(t, ChangelogNormalizeSpec{Keys: []int{0}})}
	open := func(subtask, par int) *normalizeOp {
		ctx := &OperatorContext{Subtask: subtask, Parallelism: par, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
		op, err := newChangelogNormalize(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op.(*normalizeOp)
	}
	batch := func(kind connector.RowKind, vals bool) arrow.RecordBatch {
		rb := array.NewRecordBuilder(mem, BatchSchema(in, true))
		defer rb.Release()
		for k := range int64(64) {
			rb.Field(0).(*array.Int64Builder).Append(k)
			if vals {
				rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("v%d", k))
			} else {
				rb.Field(1).AppendNull()
			}
			rb.Field(2).(*array.Int8Builder).Append(int8(kind))
		}
		return rb.NewRecordBatch()
	}
	src := open(0, 1)
	b := batch(connector.UpdateAfter, true)
	require.NoError(t, src.ProcessBatch(0, b, gaDiscard{}))
	state, err := src.Snapshot()
	require.NoError(t, err)
	require.NoError(t, src.Close())
	hashes := make([]uint64, b.NumRows())
	require.NoError(t, hashRows(b, []int{0}, hashes))
	b.Release()
	owned := [2]int{}
	for _, h := range hashes {
		owned[targetOf(h, 2)]++
	}
	del := batch(connector.Delete, false)
	defer del.Release()
	for sub := range 2 {
		op := open(sub, 2)
		require.NoError(t, op.Restore(state))
		require.Equal(t, owned[sub], op.parts.count, "subtask %d", sub)
		require.Equal(t, owned[sub], op.store.live)
		var out countingOutput
		require.NoError(t, op.ProcessBatch(0, del, &out))
		require.Equal(t, owned[sub], out.rows, "subtask %d deletes", sub)
		require.Equal(t, 0, op.store.live)
		require.NoError(t, op.Close())
	}
	require.Positive(t, owned[0])
	require.Positive(t, owned[1])
}

// countingOutput counts the rows emitted and checks that deletes carry
// the kept value, not the incoming NULL.
type countingOutput struct{ rows int }

func (o *countingOutput) Emit(b arrow.RecordBatch) error {
	for i := range int(b.NumRows()) {
		if b.Column(1).IsNull(i) {
			return fmt.Errorf("row %d has a NULL value", i)
		}
	}
	o.rows += int(b.NumRows())
	return nil
}

func (o *countingOutput) EmitWatermark(Watermark) error { return nil }

// BenchmarkChangelogNormalize normalizes 8192-row batches of upserts over
// 100k keys (a BIGINT key, a BIGINT and a STRING value): after warm-up
// most rows update a kept key, emitting -U/+U.
func BenchmarkChangelogNormalize(b *testing.B) {
	const rows, keys = 8192, 100000
	mem := memory.NewGoAllocator()
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindChangelogNormalize, Schema: in, Changelog: true,
		Spec: mustJSON(b, ChangelogNormalizeSpec{Keys: []int{0}})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
	op, err := newChangelogNormalize(spec, ctx)
	require.NoError(b, err)
	require.NoError(b, op.Open(ctx))
	defer op.Close()

	const nBatches = 16
	batches := make([]arrow.RecordBatch, nBatches)
	x := uint64(42)
	for j := range batches {
		rb := array.NewRecordBuilder(mem, BatchSchema(in, true))
		for range rows {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			kind := connector.UpdateAfter
			if x%16 == 0 {
				kind = connector.Delete
			}
			rb.Field(0).(*array.Int64Builder).Append(int64(x % keys))
			rb.Field(1).(*array.Int64Builder).Append(int64(x>>20) % 1000)
			rb.Field(2).(*array.StringBuilder).Append("payload")
			rb.Field(3).(*array.Int8Builder).Append(int8(kind))
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
