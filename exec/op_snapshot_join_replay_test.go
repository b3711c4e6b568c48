package exec

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// snapStep is one input of a snapshot join scenario: rows for an input,
// a watermark, or the end of an input.
type snapStep struct {
	input int
	keys  []string
	vals  []int64
	kinds []int8
	// wm is a watermark when rows is empty and end is false.
	wm  int64
	end bool
}

// TestSnapshotJoinReplay replays a left snapshot join scenario the way
// replayScripts replays the scripted operators: its input rows in batches
// of 1 and 7 rows and whole, each with and without a snapshot and restore
// into a fresh operator after every input. Every replay must emit what the
// first one emits (the probe rows waiting for the load, the build changes
// before and after it, and the held-back probe watermark) between the same
// watermarks: the output is insert-only, so the order of the rows between
// two watermarks is not part of it (a waiting batch emits its matches
// before its NULL-padded rows).
func TestSnapshotJoinReplay(t *testing.T) {
	spec := leftSnapshotJoinSpec(t)
	steps := []snapStep{
		{input: 0, keys: []string{"a", "b", "", "c", "a", "b", "d", "a", "c"}, vals: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{input: 0, wm: 7},
		{input: 1, keys: []string{"a", "b", "a", "c", "c", "d", "a", "b"}, vals: []int64{10, 20, 11, 1, 30, 5, 6, 1},
			kinds: []int8{0, 0, 0, 0, 0, 0, 0, 0}},
		// Before the load completes: a(10) becomes a(12), d(5) goes away.
		{input: 1, keys: []string{"a", "a", "d"}, vals: []int64{10, 12, 5}, kinds: []int8{1, 2, 3}},
		{input: 1, wm: 9},
		{input: 1, wm: 10},
		// After it: later probe rows see the changes, earlier results stay.
		{input: 1, keys: []string{"b", "c", "d"}, vals: []int64{20, 40, 50}, kinds: []int8{3, 0, 0}},
		{input: 0, keys: []string{"a", "b", "c", "d", "e", "c", "a", "d"}, vals: []int64{11, 4, 35, 49, 1, 45, 2, 60}},
		{input: 0, wm: 12},
		{input: 1, end: true},
		{input: 0, end: true},
	}
	var want string
	for _, bs := range []int{0, 1, 7} {
		for _, restore := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch=%d/restore=%t", bs, restore), func(t *testing.T) {
				got := sortBetweenWatermarks(replaySnapshotJoin(t, spec, steps, bs, restore))
				if want == "" {
					want = got
					require.Contains(t, want, "[a, 11, a, 12]", "the scenario joins after the load")
					return
				}
				require.Equal(t, want, got)
			})
		}
	}
}

// replaySnapshotJoin feeds steps to a fresh snapshot join, rows in batches
// of bs (0: each step's rows in one batch), and with restore snapshots and
// restores the operator after every batch and watermark.
func replaySnapshotJoin(t *testing.T, spec OperatorSpec, steps []snapStep, bs int, restore bool) string {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	var o rowsOutput
	op := openOperator(t, spec, ctx)
	defer func() { require.NoError(t, op.Close()) }()
	after := func() {
		if restore {
			op = reopen(t, op, spec, ctx)
		}
	}
	for _, s := range steps {
		switch {
		case s.end:
			require.NoError(t, op.EndInput(s.input, &o))
		case len(s.keys) == 0:
			require.NoError(t, op.ProcessWatermark(s.input, Watermark(s.wm), &o))
			after()
		default:
			schema := snapProbe
			if s.input == 1 {
				schema = snapBuild
			}
			size := len(s.keys)
			if bs > 0 {
				size = bs
			}
			for lo := 0; lo < len(s.keys); lo += size {
				hi := min(lo+size, len(s.keys))
				var kinds []int8
				if s.kinds != nil {
					kinds = s.kinds[lo:hi]
				}
				b := snapBatch(mem, schema, s.keys[lo:hi], s.vals[lo:hi], kinds)
				err := op.ProcessBatch(s.input, b, &o)
				b.Release()
				require.NoError(t, err)
				after()
			}
		}
	}
	return o.log.String()
}

// sortBetweenWatermarks sorts each run of row lines between two watermark
// lines of log.
func sortBetweenWatermarks(log string) string {
	lines := strings.SplitAfter(log, "\n")
	start := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "watermark ") || i == len(lines)-1 {
			slices.Sort(lines[start:i])
			start = i + 1
		}
	}
	return strings.Join(lines, "")
}
