package exec

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// TestWatermarkAssignerPerSplit drives the assigner as a split-aware
// source does, on a manual clock: the watermark is the minimum over the
// splits' maxima, an assigned split without rows holds it back, a split
// idle for the timeout is left out until its next row, all splits idle make
// the stream idle, a finished split stops counting, and a restored assigner
// does not regress. Rows without split runs are one split, the stream.
func TestWatermarkAssignerPerSplit(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts3 := types.TimestampType(3)
	schema := types.Schema{Columns: []types.Column{{Name: "ts", Type: ts3}}}
	spec := OperatorSpec{Kind: KindWatermarkAssigner, Schema: schema, Spec: mustJSON(t, WatermarkAssignerSpec{
		RowtimeIndex: 0, Watermark: marshal(t, &expr.ColumnRef{Index: 0, Name: "ts", T: ts3}), IdleTimeoutMillis: 100,
	})}
	clock := &manualClock{}
	splits := &sourceSplits{}
	open := func() Operator {
		octx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: clock, splits: splits}
		op, err := newWatermarkAssigner(spec, octx)
		require.NoError(t, err)
		require.NoError(t, op.Open(octx))
		return op
	}
	op := open()
	out := &statusOutput{}
	// feed sends one batch of rows split "a=10,30" or "b=20", with the
	// assigned splits; no assigned splits means a batch without runs.
	feed := func(assigned []string, runs ...string) {
		t.Helper()
		b := array.NewRecordBuilder(mem, schema.Arrow())
		defer b.Release()
		tb := b.Field(0).(*array.TimestampBuilder)
		var sr []connector.SplitRun
		for _, r := range runs {
			var id string
			var vals []int64
			var v int64
			n, _ := fmt.Sscanf(r, "%1s=%d", &id, &v)
			require.Equal(t, 2, n, r)
			for _, f := range splitFields(r[2:]) {
				fmt.Sscan(f, &v)
				vals = append(vals, v)
				tb.Append(arrow.Timestamp(v))
			}
			sr = append(sr, connector.SplitRun{Split: id, Rows: len(vals)})
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		if assigned != nil {
			splits.set(&splitBatch{RecordBatch: rec, runs: sr, assigned: assigned})
			defer splits.clear()
		}
		fmt.Fprintf(&out.log, "-- t=%d %v\n", clock.now, runs)
		require.NoError(t, op.ProcessBatch(0, rec, out))
	}
	tick := func(now int64) {
		t.Helper()
		clock.now = now
		fmt.Fprintf(&out.log, "-- tick t=%d\n", now)
		require.NoError(t, op.(ProcessingTimeOperator).OnProcessingTime(out))
	}
	ab := []string{"a", "b"}
	feed(ab, "a=10,30")      // b has no rows yet: no watermark
	feed(ab, "b=20")         // min(30, 20)
	feed(ab, "a=50", "b=25") // min(50, 25)
	tick(60)                 // nobody idle yet
	feed(ab, "a=70")         // b holds it at 25
	tick(100)                // b idle since t=0: a alone
	tick(160)                // a idle too: the stream is idle
	feed(ab, "b=80")         // b active, a idle
	feed(ab, "a=75")         // a active again, behind: no regression
	state, err := op.Snapshot()
	require.NoError(t, err)
	require.NoError(t, op.Close())

	op = open()
	require.NoError(t, op.Restore(state))
	feed(ab, "a=90")            // restored at 80; b assigned without rows
	feed([]string{"a"}, "a=95") // b finished: a alone
	feed(nil, "x=99")           // no split runs: the whole stream is a split
	feed([]string{"a"}, "a=200")
	require.NoError(t, op.Close())
	require.Equal(t, `-- t=0 [a=10,30]
batch 2 rows
-- t=0 [b=20]
batch 1 rows
watermark 20
-- t=0 [a=50 b=25]
batch 2 rows
watermark 25
-- tick t=60
-- t=60 [a=70]
batch 1 rows
-- tick t=100
watermark 70
-- tick t=160
idle
-- t=160 [b=80]
active
batch 1 rows
watermark 80
-- t=160 [a=75]
batch 1 rows
-- t=160 [a=90]
batch 1 rows
-- t=160 [a=95]
batch 1 rows
watermark 95
-- t=160 [x=99]
batch 1 rows
-- t=160 [a=200]
batch 1 rows
watermark 99
`, out.log.String())
}

// splitFields splits "10,30" at commas.
func splitFields(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
