package exec

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// overDistinctRow is one input row of the DISTINCT OVER tests: v NULL
// when !vOK.
type overDistinctRow struct {
	k   string
	v   int64
	vOK bool
	s   string
	ts  int64
}

func (r overDistinctRow) vText() string {
	if !r.vOK {
		return "null"
	}
	return fmt.Sprint(r.v)
}

// overDistinctCalls are the calls the random tests run over (k STRING,
// v BIGINT, s STRING, ts TIMESTAMP(3)): DISTINCT calls sharing v's value
// counts, one over s, a plain SUM next to them, and a COUNT of distinct
// (v, s) tuples (those without a NULL).
var overDistinctCalls = []string{"COUNT(DISTINCT $1)", "SUM(DISTINCT $1)", "MAX(DISTINCT $1)", "COUNT(DISTINCT $2)", "SUM($1)", "COUNT(DISTINCT $1, $2)"}

// overDistinctResults computes overDistinctCalls over a frame, row at a
// time, as the printed cells.
func overDistinctResults(frame []overDistinctRow) string {
	vs, ss, pairs := map[int64]bool{}, map[string]bool{}, map[string]bool{}
	var sum, dsum, mx int64
	var any bool
	for _, r := range frame {
		ss[r.s] = true
		if !r.vOK {
			continue
		}
		pairs[fmt.Sprint(r.v, "|", r.s)] = true
		sum += r.v
		any = true
		if !vs[r.v] {
			vs[r.v] = true
			dsum += r.v
		}
	}
	for v := range vs {
		mx = max(mx, v)
	}
	if !any {
		return fmt.Sprintf("0, null, null, %d, null, 0", len(ss))
	}
	return fmt.Sprintf("%d, %d, %d, %d, %d, %d", len(vs), dsum, mx, len(ss), sum, len(pairs))
}

// TestOverAggregateDistinctRandom runs DISTINCT OVER aggregates ordered
// by event time over random rows in random batches, advancing the
// watermark and snapshotting and restoring the operator now and then, and
// compares every emitted row with its frame's aggregates computed row at a
// time: the value counts must follow the frame across firings and
// restores.
func TestOverAggregateDistinctRandom(t *testing.T) {
	for _, frame := range []struct {
		rows      bool
		preceding int64
	}{{true, -1}, {false, -1}, {true, 0}, {true, 3}, {false, 0}, {false, 25}} {
		name := fmt.Sprintf("rows=%t/preceding=%d", frame.rows, frame.preceding)
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rng := rand.New(rand.NewSource(int64(len(name)) + frame.preceding))
			h := &rowOpHarness{mem: mem, metrics: NewOperatorMetrics()}
			defer h.close(t)
			in, out, calls := overDistinctSchema(t)
			spec := OverAggregateSpec{PartitionKeys: []int{0}, TimeCol: 3, Rows: frame.rows, Preceding: frame.preceding, Calls: calls}
			h.input = BatchSchema(in, false)
			h.spec = OperatorSpec{Kind: KindOverAggregate, Name: "over", Schema: out, Spec: mustJSON(t, spec)}
			h.newOp(t)

			var all []overDistinctRow // in arrival order
			wm := int64(1000)
			for range 60 {
				var lines []string
				for range 1 + rng.Intn(8) {
					r := overDistinctRow{k: fmt.Sprintf("k%d", rng.Intn(3)), v: int64(rng.Intn(5)), vOK: rng.Intn(8) > 0,
						s: string(rune('x' + rng.Intn(3))), ts: wm + 1 + int64(rng.Intn(20))}
					all = append(all, r)
					lines = append(lines, fmt.Sprintf("+I[%s, %s, %s, %d]", r.k, r.vText(), r.s, r.ts))
				}
				b := h.build(t, lines)
				require.NoError(t, h.op.ProcessBatch(0, b, h))
				b.Release()
				if rng.Intn(2) == 0 {
					wm += int64(rng.Intn(15))
					require.NoError(t, h.op.ProcessWatermark(0, Watermark(wm), h))
				}
				if rng.Intn(4) == 0 {
					h.snapshotRestore(t)
				}
			}
			require.NoError(t, h.op.ProcessWatermark(0, MaxWatermark, h))
			require.NoError(t, h.op.EndInput(0, h))
			require.Zero(t, h.metrics.LateRecordsDropped.Load())

			var got []string
			for _, l := range strings.Split(strings.TrimSpace(h.log.String()), "\n") {
				if !strings.HasPrefix(l, "watermark") {
					got = append(got, l)
				}
			}
			var want []string
			for _, k := range []string{"k0", "k1", "k2"} {
				var part []overDistinctRow
				for _, r := range all {
					if r.k == k {
						part = append(part, r)
					}
				}
				// Time order, ties in arrival order.
				slices.SortStableFunc(part, func(a, b overDistinctRow) int { return int(a.ts - b.ts) })
				for j, r := range part {
					var fr []overDistinctRow
					switch {
					case frame.rows:
						first := 0
						if frame.preceding >= 0 {
							first = max(0, j-int(frame.preceding))
						}
						fr = part[first : j+1]
					default:
						for _, o := range part {
							if o.ts <= r.ts && (frame.preceding < 0 || r.ts-o.ts <= frame.preceding) {
								fr = append(fr, o)
							}
						}
					}
					want = append(want, fmt.Sprintf("+I[%s, %s, %s, %d, %s]", r.k, r.vText(), r.s, r.ts, overDistinctResults(fr)))
				}
			}
			sort.Strings(got)
			sort.Strings(want)
			require.Equal(t, want, got)
		})
	}
}

// TestOverAggregateDistinctRescale restores the snapshot of a DISTINCT
// OVER aggregate in the middle of its input into two subtasks: the value
// counts move with their key groups, so that together the subtasks emit
// what one restored instance emits.
func TestOverAggregateDistinctRescale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in, out, calls := overDistinctSchema(t)
	spec := OperatorSpec{Kind: KindOverAggregate, Name: "over", Schema: out, Spec: mustJSON(t, OverAggregateSpec{
		PartitionKeys: []int{0}, TimeCol: 3, Preceding: 10, Calls: calls})}
	feed := func(h *rowOpHarness, from, to int64) {
		var lines []string
		for k := range 40 {
			for ts := from; ts < to; ts += 4 {
				lines = append(lines, fmt.Sprintf("+I[k%d, %d, %c, %d]", k, (ts/4+int64(k))%3, 'x'+rune(ts/4%2), ts))
			}
		}
		b := h.build(t, lines)
		require.NoError(t, h.op.ProcessBatch(0, b, h))
		b.Release()
	}
	src := &rowOpHarness{mem: mem, metrics: NewOperatorMetrics(), spec: spec, input: BatchSchema(in, false)}
	src.newOp(t)
	feed(src, 0, 20)
	require.NoError(t, src.op.ProcessWatermark(0, 12, src))
	state, err := src.op.Snapshot()
	require.NoError(t, err)
	src.close(t)

	finish := func(subtask, par int) []string {
		h := &rowOpHarness{mem: mem, metrics: NewOperatorMetrics(), spec: spec, input: BatchSchema(in, false)}
		ctx := &OperatorContext{Subtask: subtask, Parallelism: par, Mem: mem, Metrics: h.metrics, Clock: &h.clock}
		h.op = openOperator(t, spec, ctx)
		defer h.close(t)
		require.NoError(t, h.op.Restore(state))
		// The rest of the input, keyed as the hash exchange sends it:
		// only the keys of the subtask's key groups.
		var lines []string
		for k := range 40 {
			if ownsHash(ctx, overDistinctKeyHash(t, fmt.Sprintf("k%d", k))) {
				for ts := int64(20); ts < 40; ts += 4 {
					lines = append(lines, fmt.Sprintf("+I[k%d, %d, %c, %d]", k, (ts/4+int64(k))%3, 'x'+rune(ts/4%2), ts))
				}
			}
		}
		if len(lines) > 0 {
			b := h.build(t, lines)
			require.NoError(t, h.op.ProcessBatch(0, b, h))
			b.Release()
		}
		require.NoError(t, h.op.ProcessWatermark(0, MaxWatermark, h))
		var rows []string
		for _, l := range strings.Split(strings.TrimSpace(h.log.String()), "\n") {
			if l != "" && !strings.HasPrefix(l, "watermark") {
				rows = append(rows, l)
			}
		}
		return rows
	}
	want := finish(0, 1)
	// Per key the row at 16, which waited for the watermark, and 5 more.
	require.Len(t, want, 40*6)
	var got []string
	for sub := range 2 {
		rows := finish(sub, 2)
		require.NotEmpty(t, rows, "subtask %d", sub)
		got = append(got, rows...)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got)
}

// overDistinctKeyHash is the hash a hash exchange on a STRING key gives
// key.
func overDistinctKeyHash(t *testing.T, key string) uint64 {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(key)
	a := b.NewArray()
	defer a.Release()
	hashes := []uint64{hashSeed}
	require.NoError(t, hashColumn(a, hashes))
	return hashes[0]
}

// overDistinctSchema is the input of the DISTINCT over tests (k STRING,
// v BIGINT, s STRING, ts TIMESTAMP(3)), their output (the input followed
// by the result columns of overDistinctCalls) and those calls.
func overDistinctSchema(t *testing.T) (in, out types.Schema, calls []agg.Call) {
	t.Helper()
	in = gaParseSchema(t, "k STRING, v BIGINT, s STRING, ts TIMESTAMP(3)")
	inTypes := gaColumnTypes(in)
	out = types.Schema{Columns: slicesClone(in.Columns)}
	for _, c := range overDistinctCalls {
		call := gaParseCall(t, c, inTypes)
		calls = append(calls, call)
		out.Columns = append(out.Columns, types.Column{Name: call.Name, Type: call.Type})
	}
	return in, out, calls
}
