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
// changelog leaves, as inserts in the order their last versions arrived.
// TUMBLE, HOP and CUMULATE windows depend only on the final rows; a
// session never shrinks when a row leaves it, so sessions are compared
// over changes that keep every row's key and time (values change, nothing
// is deleted).
//
// FIRST_VALUE, LAST_VALUE and LISTAGG read u and s, unique to each
// version of a row: a retraction removes the first occurrence of its
// value, so with repeated values the survivors' order could differ from
// the final rows' (as in Flink). LISTAGG is left out of sessions, whose
// merges concatenate sub-sessions formed by arrival. MIN and MAX over a
// DOUBLE with NaN, -0.0 and 0.0 are compared with the same call over the
// final rows as +I rows: the insert-only accumulators compare with Go's
// operators, which order no NaN. COUNT, SUM and AVG are compared once
// more as local and global phases.
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

// changelogTestCall is an aggregate call of testWindowAggChangelog.
type changelogTestCall struct {
	fn       string
	args     []int
	distinct bool
}

func testWindowAggChangelog(t *testing.T, ws WindowSpec, seed int64) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rng := rand.New(rand.NewSource(seed))
	// Rows (k, ts, v, u, s, d); each id's changes in order: +I, (-U, +U)*,
	// maybe -D.
	type row struct {
		k  string
		ts int64
		v  string
		u  int64
		s  string
		d  string
	}
	session := ws.Kind == WindowSession
	doubles := []string{"NaN", "-0.0", "0.0", "1.5", "-2", "NULL"}
	version := 0
	newRow := func(prev *row) row {
		version++
		r := row{k: string(rune('a' + rng.Intn(3))), ts: rng.Int63n(60), v: "NULL",
			u: int64(version), s: "NULL", d: doubles[rng.Intn(len(doubles))]}
		if prev != nil && (session || rng.Intn(2) == 0) {
			r.ts = prev.ts
		}
		if prev != nil && session {
			r.k = prev.k
		}
		if rng.Intn(6) > 0 {
			r.v = strconv.Itoa(rng.Intn(20) - 5)
		}
		if rng.Intn(6) > 0 {
			r.s = fmt.Sprintf("s%d", version)
		}
		return r
	}
	plain := func(r row) string { return fmt.Sprintf("%s, %d, %s, %d, %s, %s", r.k, r.ts, r.v, r.u, r.s, r.d) }
	line := func(kind string, r row) string { return kind + " " + plain(r) }
	type change struct {
		line string
		// last is the final row of its id, which this change inserts.
		last *row
	}
	var perID [][]change
	for range 40 {
		cur := newRow(nil)
		changes := []change{{line: line("+I", cur)}}
		for range rng.Intn(3) {
			next := newRow(&cur)
			changes = append(changes, change{line: line("-U", cur)}, change{line: line("+U", next)})
			cur = next
		}
		if !session && rng.Intn(4) == 0 {
			perID = append(perID, append(changes, change{line: line("-D", cur)}))
			continue
		}
		final := cur
		changes[len(changes)-1].last = &final
		perID = append(perID, changes)
	}
	// Interleave the ids' changes at random, each id's in order; the final
	// rows are inserted in the order their last versions arrived.
	var changes, inserts, finalChanges []string
	for len(perID) > 0 {
		i := rng.Intn(len(perID))
		c := perID[i][0]
		changes = append(changes, c.line)
		if c.last != nil {
			inserts = append(inserts, plain(*c.last))
			finalChanges = append(finalChanges, line("+I", *c.last))
		}
		if perID[i] = perID[i][1:]; len(perID[i]) == 0 {
			perID = append(perID[:i], perID[i+1:]...)
		}
	}

	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.StringType},
		{Name: "ts", Type: types.TimestampType(3).WithTimeAttr(types.RowtimeAttr)},
		{Name: "v", Type: types.BigIntType},
		{Name: "u", Type: types.BigIntType},
		{Name: "s", Type: types.StringType},
		{Name: "d", Type: types.DoubleType},
	}}
	ts3 := types.TimestampType(3).WithNullable(false)
	run := func(calls []changelogTestCall, lines []string, changelog, random, twoPhase bool) string {
		out := types.Schema{Columns: []types.Column{{Name: "k", Type: types.StringType},
			{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
			{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)}}}
		var aggCalls []agg.Call
		for _, c := range calls {
			var argTypes []types.DataType
			for _, a := range c.args {
				argTypes = append(argTypes, in.Columns[a].Type)
			}
			rt := agg.ResultType
			if c.distinct {
				rt = agg.DistinctResultType
			}
			typ, err := rt(c.fn, argTypes)
			if u, user := agg.User(c.fn); user {
				typ, err = u.ResultType(argTypes)
			}
			require.NoError(t, err)
			aggCalls = append(aggCalls, agg.Call{Func: c.fn, Args: c.args, Distinct: c.distinct, Filter: -1, Type: typ})
			out.Columns = append(out.Columns, types.Column{Name: fmt.Sprintf("c%d", len(aggCalls)), Type: typ})
		}
		h := &windowHarness{mem: mem, in: in, changelog: changelog, twoPhase: twoPhase}
		h.octx = &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Config: map[string]string{}, Clock: &h.clock}
		h.spec = OperatorSpec{Kind: KindWindowAggregate, Name: "WindowAggregate", Schema: out,
			Spec: mustJSON(t, WindowAggregateSpec{Window: ws, TimeCol: 1, Keys: []int{0}, Calls: aggCalls, InputChangelog: changelog})}
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
	calls := []changelogTestCall{{"COUNT", nil, false}, {"COUNT", []int{2}, false}, {"SUM", []int{2}, false},
		{"AVG", []int{2}, false}, {"MIN", []int{2}, false}, {"MAX", []int{2}, false}, {"COUNT", []int{2}, true},
		{"MAX", []int{0}, false}, {"SUM", []int{2}, true},
		{"FIRST_VALUE", []int{3}, false}, {"LAST_VALUE", []int{3}, false},
		{"FIRST_VALUE", []int{4}, false}, {"LAST_VALUE", []int{4}, false},
		{"TEST_SUMSQ_RETRACT", []int{2}, false}}
	if !session {
		calls = append(calls, changelogTestCall{"LISTAGG", []int{4}, false})
	}
	want := run(calls, inserts, false, false, false)
	got := run(calls, changes, true, true, false)
	require.Equal(t, want, got, "changes:\n%v", changes)

	nan := []changelogTestCall{{"MIN", []int{5}, false}, {"MAX", []int{5}, false}}
	want = run(nan, finalChanges, true, false, false)
	got = run(nan, changes, true, true, false)
	require.Equal(t, want, got, "changes:\n%v", changes)

	// COUNT, SUM and AVG split into local and global phases over the
	// changelog too (sessions stay one phase).
	counts := []changelogTestCall{{"COUNT", nil, false}, {"COUNT", []int{2}, false}, {"SUM", []int{2}, false}, {"AVG", []int{2}, false}}
	want = run(counts, inserts, false, false, false)
	got = run(counts, changes, true, true, true)
	require.Equal(t, want, got, "changes:\n%v", changes)
}

// TestWindowAggChangelogRefusesNonRetracting: an aggregate whose window
// accumulator cannot retract fails the operator's construction over an
// updating input (the planner refuses such queries first, at the call).
func TestWindowAggChangelogRefusesNonRetracting(t *testing.T) {
	ts3 := types.TimestampType(3).WithNullable(false)
	for _, fn := range []string{"APPROX_COUNT_DISTINCT"} {
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
