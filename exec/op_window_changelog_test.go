package exec

import (
	"fmt"
	"math/rand"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// TestWindowAggChangelogRandom feeds window aggregates (TUMBLE, HOP,
// CUMULATE, SESSION) a random changelog, in batches of random sizes with
// a snapshot/restore at random points, and checks that every window's
// result equals that of the same aggregate fed only the rows the
// changelog leaves, as inserts. TUMBLE, HOP and CUMULATE windows
// depend only on the final rows; a session never shrinks when a row
// leaves it, so sessions are compared over changes that keep every row's
// key and time (values change, nothing is deleted).
func TestWindowAggChangelogRandom(t *testing.T) {
	for _, ws := range []WindowSpec{
		{Kind: WindowTumble, Size: 10},
		{Kind: WindowHop, Size: 10, Slide: 5},
		{Kind: WindowCumulate, Size: 12, Step: 4},
		{Kind: WindowSession, Gap: 3},
	} {
		for seed := range int64(20) {
			t.Run(fmt.Sprintf("%s/seed=%d", ws.Kind, seed), func(t *testing.T) {
				testWindowAggChangelog(t, ws, seed)
			})
		}
	}
}

func testWindowAggChangelog(t *testing.T, ws WindowSpec, seed int64) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(seed))
	// Rows (k, ts, v); each id's changes in order: +I, (-U, +U)*, maybe -D.
	type row struct {
		k  string
		ts int64
		v  string
	}
	session := ws.Kind == WindowSession
	newRow := func(prev *row) row {
		r := row{k: string(rune('a' + rng.Intn(3))), ts: rng.Int63n(60), v: "NULL"}
		if prev != nil && (session || rng.Intn(2) == 0) {
			r.ts = prev.ts
		}
		if prev != nil && session {
			r.k = prev.k
		}
		if rng.Intn(6) > 0 {
			r.v = strconv.Itoa(rng.Intn(20) - 5)
		}
		return r
	}
	line := func(kind string, r row) string { return fmt.Sprintf("%s %s, %d, %s", kind, r.k, r.ts, r.v) }
	plain := func(r row) string { return fmt.Sprintf("%s, %d, %s", r.k, r.ts, r.v) }
	var perID [][]string
	var final []row
	for range 40 {
		cur := newRow(nil)
		changes := []string{line("+I", cur)}
		for range rng.Intn(3) {
			next := newRow(&cur)
			changes = append(changes, line("-U", cur), line("+U", next))
			cur = next
		}
		if !session && rng.Intn(4) == 0 {
			perID = append(perID, append(changes, line("-D", cur)))
			continue
		}
		perID = append(perID, changes)
		final = append(final, cur)
	}
	// Interleave the ids' changes at random, each id's in order.
	var changes []string
	for len(perID) > 0 {
		i := rng.Intn(len(perID))
		changes = append(changes, perID[i][0])
		if perID[i] = perID[i][1:]; len(perID[i]) == 0 {
			perID = append(perID[:i], perID[i+1:]...)
		}
	}
	var inserts []string
	for _, r := range final {
		inserts = append(inserts, plain(r))
	}

	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.StringType},
		{Name: "ts", Type: types.TimestampType(3).WithTimeAttr(types.RowtimeAttr)},
		{Name: "v", Type: types.BigIntType},
	}}
	ts3 := types.TimestampType(3).WithNullable(false)
	out := types.Schema{Columns: []types.Column{{Name: "k", Type: types.StringType},
		{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
		{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)}}}
	var calls []agg.Call
	for _, c := range []struct {
		fn       string
		args     []int
		distinct bool
	}{{"COUNT", nil, false}, {"COUNT", []int{2}, false}, {"SUM", []int{2}, false}, {"AVG", []int{2}, false},
		{"MIN", []int{2}, false}, {"MAX", []int{2}, false}, {"COUNT", []int{2}, true}, {"MAX", []int{0}, false},
		{"SUM", []int{2}, true}} {
		var argTypes []types.DataType
		for _, a := range c.args {
			argTypes = append(argTypes, in.Columns[a].Type)
		}
		rt := agg.ResultType
		if c.distinct {
			rt = agg.DistinctResultType
		}
		typ, err := rt(c.fn, argTypes)
		require.NoError(t, err)
		calls = append(calls, agg.Call{Func: c.fn, Args: c.args, Distinct: c.distinct, Filter: -1, Type: typ})
		out.Columns = append(out.Columns, types.Column{Name: fmt.Sprintf("c%d", len(calls)), Type: typ})
	}
	run := func(lines []string, changelog bool, random bool) string {
		h := &windowHarness{mem: mem, in: in, changelog: changelog}
		h.octx = &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Config: map[string]string{}, Clock: &h.clock}
		h.spec = OperatorSpec{Kind: KindWindowAggregate, Name: "WindowAggregate", Schema: out,
			Spec: mustJSON(t, WindowAggregateSpec{Window: ws, TimeCol: 1, Keys: []int{0}, Calls: calls, InputChangelog: changelog})}
		h.op = h.newOp(t)
		defer h.close()
		for from := 0; from < len(lines); {
			n := len(lines)
			if random {
				n = 1 + rng.Intn(9)
			}
			to := min(from+n, len(lines))
			b := h.buildBatch(t, lines[from:to])
			require.NoError(t, h.op.ProcessBatch(0, b, &h.out))
			b.Release()
			if random && rng.Intn(3) == 0 {
				h.snapshotRestore(t)
			}
			from = to
		}
		require.NoError(t, h.op.ProcessWatermark(0, MaxWatermark, &h.out))
		require.NoError(t, h.op.EndInput(0, &h.out))
		return h.out.take()
	}
	want := run(inserts, false, false)
	got := run(changes, true, true)
	require.Equal(t, want, got, "changes:\n%v", changes)
}

// TestWindowAggChangelogRefusesNonRetracting: an aggregate whose window
// accumulator cannot retract fails the operator's construction over an
// updating input (the planner refuses such queries first, at the call).
func TestWindowAggChangelogRefusesNonRetracting(t *testing.T) {
	ts3 := types.TimestampType(3).WithNullable(false)
	for _, fn := range []string{"LISTAGG", "FIRST_VALUE", "LAST_VALUE", "APPROX_COUNT_DISTINCT"} {
		typ, err := agg.ResultType(fn, []types.DataType{types.StringType})
		require.NoError(t, err)
		out := types.Schema{Columns: []types.Column{{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
			{Name: "window_time", Type: ts3}, {Name: "c", Type: typ}}}
		spec := OperatorSpec{Kind: KindWindowAggregate, Schema: out, Spec: mustJSON(t, WindowAggregateSpec{
			Window: WindowSpec{Kind: WindowTumble, Size: 10}, TimeCol: 1,
			Calls: []agg.Call{{Func: fn, Args: []int{0}, Filter: -1, Type: typ}}, InputChangelog: true})}
		_, err = newWindowAgg(spec, nil)
		require.ErrorContains(t, err, fn+" cannot retract rows")
	}
}
