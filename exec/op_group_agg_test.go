package exec

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
)

// TestGroupAgg runs the scripted group aggregate tests in
// testdata/group_agg. Commands:
//
//	create keys=(0,1) [changelog] [ttl=<ms>] [minibatch=<rows> latency=<ms>]
//	       [drop-update-before]  updates as +U alone (DropUpdateBefore)
//	<input columns: name TYPE, ...>
//	<one aggregate call per line: COUNT(*), SUM($1), COUNT(DISTINCT $1) FILTER $2, LISTAGG($0, $3)>
//
//	feed                 one input batch, a row per line: +I[a, 1, true]
//	time ms=<ms>         sets the processing-time clock
//	watermark ms=<ms>
//	end                  ends the input
//	tick                 wakes the operator on processing time
//	snapshot             flushes what the operator buffers
//	                     (PrepareSnapshotPreBarrier) and takes a snapshot
//	restore              replaces the operator by a fresh one restored from
//	                     the last snapshot
//	groups               prints the number of live (unexpired) groups
//
// Each command prints what the operator emitted, one changelog row per
// line. Every file is then replayed with input batches of 1 and 7 rows,
// and with a snapshot and a restore into a fresh operator after every
// input batch: the output must not change.
//
// The files in testdata/group_agg_minibatch run with mini-batch on, in the
// default mode only: bundles are cut by row counts and flushed by
// snapshots, so the batch size and snapshots are part of the script.
func TestGroupAgg(t *testing.T) {
	modes := []groupAggMode{{}}
	if f := flag.Lookup("rewrite"); f == nil || f.Value.String() != "true" {
		modes = append(modes,
			groupAggMode{batch: 1}, groupAggMode{batch: 7},
			groupAggMode{restore: true}, groupAggMode{batch: 1, restore: true}, groupAggMode{batch: 7, restore: true})
	}
	runGroupAggFiles(t, "testdata/group_agg", modes)
}

func TestGroupAggMiniBatch(t *testing.T) {
	runGroupAggFiles(t, "testdata/group_agg_minibatch", []groupAggMode{{}})
}

func runGroupAggFiles(t *testing.T, dir string, modes []groupAggMode) {
	datadriven.Walk(t, dir, func(t *testing.T, path string) {
		for _, m := range modes {
			t.Run(m.String(), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				h := &groupAggHarness{mode: m, mem: mem, clock: &gaClock{}}
				defer h.close(t)
				datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
					return h.run(t, d)
				})
			})
		}
	})
}

type groupAggMode struct {
	batch   int // rows per input batch; 0: one batch per feed command
	restore bool
}

func (m groupAggMode) String() string {
	s := "batch=default"
	if m.batch > 0 {
		s = fmt.Sprintf("batch=%d", m.batch)
	}
	if m.restore {
		s += ",restore"
	}
	return s
}

type gaClock struct{ now int64 }

func (c *gaClock) NowMillis() int64 { return c.now }

type groupAggHarness struct {
	mode  groupAggMode
	mem   *memory.CheckedAllocator
	clock *gaClock
	spec  OperatorSpec
	cfg   map[string]string
	input *arrow.Schema // with the row kind column on a changelog
	cl    bool
	op    *groupAgg
	snap  []byte
	out   gaOutput
}

func (h *groupAggHarness) close(t *testing.T) {
	if h.op != nil {
		require.NoError(t, h.op.Close())
		h.op = nil
	}
}

func (h *groupAggHarness) newOp(t *testing.T) {
	ctx := &OperatorContext{Parallelism: 1, Mem: h.mem, Metrics: NewOperatorMetrics(), Clock: h.clock, Config: h.cfg}
	op, err := newGroupAgg(h.spec, ctx)
	require.NoError(t, err)
	require.NoError(t, op.Open(ctx))
	h.op = op.(*groupAgg)
}

// snapshotRestore replaces the operator by a fresh one restored from its
// snapshot, flushing what it buffers to out first as the runtime does.
func (h *groupAggHarness) snapshotRestore(t *testing.T, out Output) {
	require.NoError(t, h.op.PrepareSnapshotPreBarrier(out))
	state, err := h.op.Snapshot()
	require.NoError(t, err)
	h.close(t)
	h.newOp(t)
	require.NoError(t, h.op.Restore(state))
}

func (h *groupAggHarness) run(t *testing.T, d *datadriven.TestData) string {
	h.out.log.Reset()
	switch d.Cmd {
	case "create":
		h.close(t)
		h.create(t, d)
		h.newOp(t)
	case "feed":
		rows := strings.Split(strings.TrimSpace(d.Input), "\n")
		size := len(rows)
		if h.mode.batch > 0 {
			size = h.mode.batch
		}
		for lo := 0; lo < len(rows); lo += size {
			b := h.batch(t, rows[lo:min(lo+size, len(rows))])
			err := h.op.ProcessBatch(0, b, &h.out)
			b.Release()
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			if h.mode.restore {
				h.snapshotRestore(t, &h.out)
			}
		}
	case "time":
		d.ScanArgs(t, "ms", &h.clock.now)
	case "watermark":
		var ms int64
		d.ScanArgs(t, "ms", &ms)
		require.NoError(t, h.op.ProcessWatermark(0, Watermark(ms), &h.out))
	case "end":
		require.NoError(t, h.op.ProcessWatermark(0, MaxWatermark, &h.out))
		require.NoError(t, h.op.EndInput(0, &h.out))
	case "tick":
		require.NoError(t, h.op.OnProcessingTime(&h.out))
	case "snapshot":
		require.NoError(t, h.op.PrepareSnapshotPreBarrier(&h.out))
		var err error
		h.snap, err = h.op.Snapshot()
		require.NoError(t, err)
	case "restore":
		h.close(t)
		h.newOp(t)
		require.NoError(t, h.op.Restore(h.snap))
	case "groups":
		g := h.op
		if !g.ready {
			require.NoError(t, g.init(h.input))
		}
		n := 0
		for s := 0; s < g.nSlots; s++ {
			if g.live[s] && (g.spec.StateTTLMillis <= 0 || g.lastWrite[s]+g.spec.StateTTLMillis > h.clock.now) {
				n++
			}
		}
		return fmt.Sprintf("groups=%d\n", n)
	default:
		t.Fatalf("unknown command %s", d.Cmd)
	}
	if h.out.log.Len() == 0 {
		return "ok\n"
	}
	return h.out.log.String()
}

func (h *groupAggHarness) create(t *testing.T, d *datadriven.TestData) {
	var spec GroupAggregateSpec
	spec.Keys = []int{}
	if d.HasArg("keys") {
		var keys []string
		d.ScanArgs(t, "keys", &keys)
		for _, k := range keys {
			i, err := strconv.Atoi(k)
			require.NoError(t, err)
			spec.Keys = append(spec.Keys, i)
		}
	}
	h.cl = d.HasArg("changelog")
	spec.InputChangelog = h.cl
	if d.HasArg("ttl") {
		d.ScanArgs(t, "ttl", &spec.StateTTLMillis)
	}
	spec.DropUpdateBefore = d.HasArg("drop-update-before")
	h.cfg = nil
	if d.HasArg("minibatch") {
		var size, latency string
		d.ScanArgs(t, "minibatch", &size)
		d.ScanArgs(t, "latency", &latency)
		h.cfg = map[string]string{MiniBatchEnabledKey: "true", MiniBatchSizeKey: size, MiniBatchLatencyKey: latency + " ms"}
	}
	lines := strings.Split(strings.TrimSpace(d.Input), "\n")
	in := gaParseSchema(t, lines[0])
	var out types.Schema
	for _, k := range spec.Keys {
		out.Columns = append(out.Columns, in.Columns[k])
	}
	inTypes := make([]types.DataType, in.Len())
	for i, c := range in.Columns {
		inTypes[i] = c.Type
	}
	for _, line := range lines[1:] {
		c := gaParseCall(t, strings.TrimSpace(line), inTypes)
		spec.Calls = append(spec.Calls, c)
		out.Columns = append(out.Columns, types.Column{Name: c.Name, Type: c.Type})
	}
	h.input = BatchSchema(in, h.cl)
	h.spec = OperatorSpec{Kind: KindGroupAggregate, Schema: out, Changelog: true, Spec: mustJSON(t, spec)}
}

// gaParseSchema reads "name TYPE, name TYPE(p,s), ...".
func gaParseSchema(t *testing.T, s string) types.Schema {
	var sch types.Schema
	for _, part := range gaSplitTop(s) {
		name, typ, ok := strings.Cut(strings.TrimSpace(part), " ")
		require.True(t, ok, "column %q", part)
		sch.Columns = append(sch.Columns, types.Column{Name: name, Type: gaParseType(t, strings.TrimSpace(typ))})
	}
	return sch
}

func gaParseType(t *testing.T, s string) types.DataType {
	switch s {
	case "TINYINT":
		return types.TinyIntType
	case "SMALLINT":
		return types.SmallIntType
	case "INT":
		return types.IntType
	case "BIGINT":
		return types.BigIntType
	case "FLOAT":
		return types.FloatType
	case "DOUBLE":
		return types.DoubleType
	case "STRING":
		return types.StringType
	case "BOOLEAN":
		return types.BooleanType
	case "DATE":
		return types.DateType
	case "TIMESTAMP(3)":
		return types.TimestampType(3)
	}
	var p, sc int
	if _, err := fmt.Sscanf(s, "DECIMAL(%d,%d)", &p, &sc); err == nil {
		return types.DecimalType(p, sc)
	}
	t.Fatalf("unknown type %s", s)
	return types.DataType{}
}

// gaSplitTop splits at commas outside parentheses.
func gaSplitTop(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// gaParseCall reads "FUNC([DISTINCT] $i, ...) [FILTER $j]" or COUNT(*).
func gaParseCall(t *testing.T, s string, input []types.DataType) agg.Call {
	c := agg.Call{Filter: -1, Name: s}
	open, close := strings.Index(s, "("), strings.LastIndex(s, ")")
	require.True(t, open > 0 && close > open, "call %q", s)
	c.Func = s[:open]
	args := strings.TrimSpace(s[open+1 : close])
	if rest, ok := strings.CutPrefix(args, "DISTINCT "); ok {
		c.Distinct, args = true, rest
	}
	var argTypes []types.DataType
	if args != "*" && args != "" {
		for _, a := range strings.Split(args, ",") {
			i, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(a), "$"))
			require.NoError(t, err, "call %q", s)
			c.Args = append(c.Args, i)
			argTypes = append(argTypes, input[i])
		}
	}
	if f, ok := strings.CutPrefix(strings.TrimSpace(s[close+1:]), "FILTER $"); ok {
		i, err := strconv.Atoi(f)
		require.NoError(t, err)
		c.Filter = i
	}
	resultType := agg.ResultType
	if c.Distinct {
		resultType = agg.DistinctResultType
	}
	typ, err := resultType(c.Func, argTypes)
	require.NoError(t, err, "call %q", s)
	c.Type = typ
	return c
}

// batch builds a batch of the input schema from rows like "+I[a, 1]".
func (h *groupAggHarness) batch(t *testing.T, rows []string) arrow.RecordBatch {
	return buildRows(t, h.mem, h.input, h.cl, rows, gaAppendValue)
}

func gaParseRowKind(t *testing.T, s string) connector.RowKind {
	for k := connector.Insert; k <= connector.Delete; k++ {
		if k.String() == s {
			return k
		}
	}
	t.Fatalf("unknown row kind %q", s)
	return 0
}

func gaAppendValue(t *testing.T, b array.Builder, v string) {
	if v == "null" {
		b.AppendNull()
		return
	}
	var err error
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(v)
	case *array.BooleanBuilder:
		b.Append(v == "true")
	case *array.Decimal128Builder:
		dt := b.Type().(*arrow.Decimal128Type)
		var n decimal128.Num
		n, err = decimal128.FromString(v, dt.Precision, dt.Scale)
		b.Append(n)
	case *array.TimestampBuilder:
		var ts arrow.Timestamp
		ts, err = arrow.TimestampFromString(v, arrow.Millisecond)
		b.Append(ts)
	default:
		err = b.AppendValueFromString(v)
	}
	require.NoError(t, err, "value %q", v)
}

// gaOutput prints emitted rows as Flink does: +I[a, 1].
type gaOutput struct{ log strings.Builder }

func (o *gaOutput) Emit(b arrow.RecordBatch) error {
	n := int(b.NumCols()) - 1
	kinds := b.Column(n).(*array.Int8)
	for i := 0; i < int(b.NumRows()); i++ {
		o.log.WriteString(connector.RowKind(kinds.Value(i)).String())
		o.log.WriteByte('[')
		for c := 0; c < n; c++ {
			if c > 0 {
				o.log.WriteString(", ")
			}
			col := b.Column(c)
			if col.IsNull(i) {
				o.log.WriteString("null")
			} else {
				o.log.WriteString(col.ValueStr(i))
			}
		}
		o.log.WriteString("]\n")
	}
	return nil
}

func (o *gaOutput) EmitWatermark(wm Watermark) error {
	fmt.Fprintf(&o.log, "watermark %s\n", fmtWM(wm))
	return nil
}

// BenchmarkGroupAgg aggregates 8192-row batches over 10k groups with
// COUNT(*), SUM and MAX, an insert-only input (the common case).
func BenchmarkGroupAgg(b *testing.B) {
	const rows, groups = 8192, 10000
	mem := memory.NewGoAllocator()
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}}}
	calls := []agg.Call{
		{Func: "COUNT", Filter: -1, Type: types.BigIntType.WithNullable(false)},
		{Func: "SUM", Args: []int{1}, Filter: -1, Type: types.BigIntType},
		{Func: "MAX", Args: []int{1}, Filter: -1, Type: types.BigIntType},
	}
	out := types.Schema{Columns: []types.Column{in.Columns[0],
		{Name: "c", Type: calls[0].Type}, {Name: "s", Type: calls[1].Type}, {Name: "m", Type: calls[2].Type}}}
	spec := OperatorSpec{Kind: KindGroupAggregate, Schema: out, Changelog: true,
		Spec: mustJSON(b, GroupAggregateSpec{Keys: []int{0}, Calls: calls})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &gaClock{}}
	op, err := newGroupAgg(spec, ctx)
	require.NoError(b, err)
	require.NoError(b, op.Open(ctx))
	defer op.Close()

	const nBatches = 16
	batches := make([]arrow.RecordBatch, nBatches)
	for j := range batches {
		rb := array.NewRecordBuilder(mem, in.Arrow())
		for i := range rows {
			x := int64(j*rows + i)
			rb.Field(0).(*array.Int64Builder).Append((x * 7919) % groups)
			rb.Field(1).(*array.Int64Builder).Append(x % 1000)
		}
		batches[j] = rb.NewRecordBatch()
		rb.Release()
		defer batches[j].Release()
	}
	feedBatches(b, op, batches, rows)
}

type gaDiscard struct{}

func (gaDiscard) Emit(arrow.RecordBatch) error  { return nil }
func (gaDiscard) EmitWatermark(Watermark) error { return nil }

// TestGroupAggJob runs the operator in a job: a parallel source, a hash
// exchange on k, two aggregate subtasks and a collect. Materializing the
// changelog by key must give each key's count and sum, and the row kind
// column must survive the exchange and the collect.
func TestGroupAggJob(t *testing.T) {
	const rows, mod = 3000, 7
	before := runtime.NumGoroutine()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := NewEmbeddedCluster(2, 2, mem)
	calls := []agg.Call{
		{Func: "COUNT", Filter: -1, Type: types.BigIntType.WithNullable(false)},
		{Func: "SUM", Args: []int{0}, Filter: -1, Type: types.BigIntType},
	}
	out := types.Schema{Columns: []types.Column{seqSchema.Columns[1],
		{Name: "c", Type: calls[0].Type}, {Name: "s", Type: calls[1].Type}}}
	g := &JobGraph{
		Name:   "group-agg",
		Config: map[string]string{BatchSizeKey: "64"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": strconv.Itoa(rows), "mod": strconv.Itoa(mod)})}},
			{ID: 2, Name: "Agg", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: KindGroupAggregate, Name: "GroupAggregate", Schema: out, Changelog: true,
					Spec: mustJSON(t, GroupAggregateSpec{Keys: []int{1}, Calls: calls})},
				{Kind: KindCollect, Name: "Collect", Schema: out, Changelog: true, Spec: mustJSON(t, CollectSpec{ID: "out"})}}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
	}
	ctx := context.Background()
	j, err := c.Submit(ctx, g)
	require.NoError(t, err)
	res, err := j.Results("out")
	require.NoError(t, err)
	type result struct{ c, s int64 }
	final := map[int64]result{}
	for {
		b, err := res.Next(ctx)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.Equal(t, connector.RowKindColumn, b.ColumnName(3))
		kinds := b.Column(3).(*array.Int8).Int8Values()
		for i, k := range b.Column(0).(*array.Int64).Int64Values() {
			switch connector.RowKind(kinds[i]) {
			case connector.Insert, connector.UpdateAfter:
				final[k] = result{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)}
			case connector.UpdateBefore:
				require.Equal(t, final[k], result{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)})
			}
		}
		b.Release()
	}
	require.NoError(t, j.Wait(ctx))
	want := map[int64]result{}
	for id := range int64(rows) {
		r := want[id%mod]
		want[id%mod] = result{r.c + 1, r.s + id}
	}
	require.Equal(t, want, final)
	// The state size metric: each subtask reports its groups (7 keys in
	// all) and hash table, summed over the two subtasks.
	var state int64
	for _, m := range j.Metrics() {
		if m.Kind == KindGroupAggregate {
			state = m.StateBytes
		}
	}
	require.GreaterOrEqual(t, state, int64(mod)*(3*8+8+8+8+1))
	checkGoroutines(t, before)
}

// TestGroupAggStateBytes: the state size estimate follows the live
// groups, survives a snapshot and restore, and shrinks when groups are
// retracted away.
func TestGroupAggStateBytes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := &groupAggHarness{mem: mem, clock: &gaClock{}}
	datadriven.RunTestFromString(t, `
create keys=(0) changelog
k BIGINT, v BIGINT
COUNT(*)
----
ok
`, h.run)
	defer h.close(t)
	feed := func(rows ...string) {
		b := h.batch(t, rows)
		defer b.Release()
		require.NoError(t, h.op.ProcessBatch(0, b, gaDiscard{}))
	}
	require.Zero(t, h.op.StateBytes())
	feed("+I[1, 1]", "+I[2, 1]", "+I[3, 1]")
	three := h.op.StateBytes()
	require.Equal(t, 3*h.op.groupBytes+int64(len(h.op.table))*4, three)
	h.snapshotRestore(t, gaDiscard{})
	require.Positive(t, h.op.StateBytes(), "restored state not loaded yet")
	feed("+I[1, 2]")
	require.Equal(t, three, h.op.StateBytes())
	feed("-D[2, 1]", "-D[3, 1]")
	require.Equal(t, h.op.groupBytes+int64(len(h.op.table))*4, h.op.StateBytes())
}

// TestGroupAggRandom feeds random inserts and retractions over many keys
// (the hash table grows, groups are emptied and dropped, slots reused) in
// batches of random sizes and checks the materialized changelog against
// a plain map computation; with mini-batch on, bundles span batches.
func TestGroupAggRandom(t *testing.T) {
	t.Run("row", func(t *testing.T) { testGroupAggRandom(t, nil) })
	t.Run("mini-batch", func(t *testing.T) {
		testGroupAggRandom(t, map[string]string{
			MiniBatchEnabledKey: "true", MiniBatchSizeKey: "500", MiniBatchLatencyKey: "1 s"})
	})
}

func testGroupAggRandom(t *testing.T, cfg map[string]string) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := &groupAggHarness{mem: mem, clock: &gaClock{}, cfg: cfg}
	defer h.close(t)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}}}
	calls := []agg.Call{
		{Func: "COUNT", Filter: -1, Type: types.BigIntType.WithNullable(false)},
		{Func: "SUM", Args: []int{1}, Filter: -1, Type: types.BigIntType},
	}
	out := types.Schema{Columns: []types.Column{in.Columns[0],
		{Name: "c", Type: calls[0].Type}, {Name: "s", Type: calls[1].Type}}}
	h.cl, h.input = true, BatchSchema(in, true)
	h.spec = OperatorSpec{Kind: KindGroupAggregate, Schema: out, Changelog: true,
		Spec: mustJSON(t, GroupAggregateSpec{Keys: []int{0}, Calls: calls, InputChangelog: true})}
	h.newOp(t)

	rng := rand.New(rand.NewPCG(1, 2))
	type group struct{ vals []int64 }
	live := map[int64]*group{}
	var res collectOutput
	for round := 0; round < 60; round++ {
		var rows []string
		for range rng.IntN(300) + 1 {
			k := rng.Int64N(2000)
			g := live[k]
			if g != nil && len(g.vals) > 0 && rng.IntN(2) == 0 {
				j := rng.IntN(len(g.vals))
				rows = append(rows, fmt.Sprintf("-D[%d, %d]", k, g.vals[j]))
				g.vals = append(g.vals[:j], g.vals[j+1:]...)
				continue
			}
			if g == nil {
				g = &group{}
				live[k] = g
			}
			v := rng.Int64N(100)
			g.vals = append(g.vals, v)
			rows = append(rows, fmt.Sprintf("+I[%d, %d]", k, v))
		}
		b := h.batch(t, rows)
		require.NoError(t, h.op.ProcessBatch(0, b, &res))
		b.Release()
		if round%20 == 10 {
			h.snapshotRestore(t, &res)
		}
	}
	require.NoError(t, h.op.EndInput(0, &res))
	want := map[int64][2]int64{}
	for k, g := range live {
		if len(g.vals) == 0 {
			continue
		}
		var s int64
		for _, v := range g.vals {
			s += v
		}
		want[k] = [2]int64{int64(len(g.vals)), s}
	}
	require.Equal(t, want, res.final)
	require.Equal(t, len(want), h.op.nLive)
}

// collectOutput materializes a changelog of (BIGINT key, BIGINT, BIGINT)
// rows by key, checking that every retraction matches the current row.
type collectOutput struct{ final map[int64][2]int64 }

func (o *collectOutput) Emit(b arrow.RecordBatch) error {
	if o.final == nil {
		o.final = map[int64][2]int64{}
	}
	kinds := b.Column(3).(*array.Int8).Int8Values()
	for i, k := range b.Column(0).(*array.Int64).Int64Values() {
		row := [2]int64{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)}
		switch connector.RowKind(kinds[i]) {
		case connector.Insert, connector.UpdateAfter:
			o.final[k] = row
		default:
			if cur, ok := o.final[k]; !ok || cur != row {
				return fmt.Errorf("retraction %v of key %d, current %v", row, k, cur)
			}
			delete(o.final, k)
		}
	}
	return nil
}

func (o *collectOutput) EmitWatermark(Watermark) error { return nil }

// TestGroupAggMiniBatchSavepoint stops a mini-batch aggregate whose bundle
// never fills (huge size and latency) with a savepoint: the task flushes
// the bundle before the barrier (PrepareSnapshotPreBarrier), so the first
// job emits exactly one +I per key and nothing else, the restored job
// continues from the folded state, and the final results equal an
// uninterrupted computation.
func TestGroupAggMiniBatchSavepoint(t *testing.T) {
	const rows, mod = 2000, 7
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("parallelism=%d", par), func(t *testing.T) {
			before := runtime.NumGoroutine()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			graph := func() *JobGraph {
				g := aggGraph(t, rows, mod, 300, par)
				g.Config[MiniBatchEnabledKey] = "true"
				g.Config[MiniBatchSizeKey] = "1000000"
				g.Config[MiniBatchLatencyKey] = "1 h"
				return g
			}

			c1 := NewEmbeddedCluster(1, 4, mem)
			j1, err := c1.Submit(ctx, graph())
			require.NoError(t, err)
			first := &countingAgg{final: map[int64]aggResult{}}
			collected := make(chan struct{})
			go func() { defer close(collected); first.collect(t, j1) }()
			time.Sleep(50 * time.Millisecond)
			sp, err := j1.StopWithSavepoint(ctx)
			require.NoError(t, err)
			<-collected
			require.NoError(t, j1.Wait(ctx))
			require.Equal(t, len(first.final), first.inserts, "one +I per key")
			require.Zero(t, first.updates, "no update inside the only bundle")

			c2 := NewEmbeddedCluster(1, 4, mem)
			j2, err := c2.JobManager().SubmitWithOptions(ctx, graph(), SubmitOptions{Restore: sp})
			require.NoError(t, err)
			collectAgg(t, j2, first.final)
			require.NoError(t, j2.Wait(ctx))

			want := map[int64]aggResult{}
			for id := range int64(rows) {
				r := want[id%mod]
				want[id%mod] = aggResult{r.c + 1, r.s + id}
			}
			require.Equal(t, want, first.final)
			checkGoroutines(t, before)
		})
	}
}

// countingAgg materializes an aggregate's changelog and counts its kinds.
type countingAgg struct {
	final            map[int64]aggResult
	inserts, updates int
}

func (c *countingAgg) collect(t *testing.T, j *Job) {
	res, err := j.Results("out")
	require.NoError(t, err)
	for {
		b, err := res.Next(context.Background())
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		kinds := b.Column(3).(*array.Int8).Int8Values()
		for i, k := range b.Column(0).(*array.Int64).Int64Values() {
			switch connector.RowKind(kinds[i]) {
			case connector.Insert:
				c.inserts++
			default:
				c.updates++
			}
			c.final[k] = aggResult{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)}
		}
		b.Release()
	}
}

// TestGroupAggDistinctSharedRandom checks DISTINCT calls that share one
// distinct state (agg.ShareDistinct: their argument columns are equal in
// the first batch) against a direct count, over random inserts and
// retractions with snapshots and restores, in batches where the columns
// are equal and in batches where they are not.
func TestGroupAggDistinctSharedRandom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := &groupAggHarness{mem: mem, clock: &gaClock{}}
	defer h.close(t)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "a", Type: types.BigIntType},
		{Name: "b", Type: types.BigIntType}, {Name: "f", Type: types.BooleanType}}}
	count := types.BigIntType.WithNullable(false)
	calls := []agg.Call{
		{Func: "COUNT", Args: []int{1}, Distinct: true, Filter: 3, Type: count},
		{Func: "COUNT", Args: []int{2}, Distinct: true, Filter: -1, Type: count},
	}
	out := types.Schema{Columns: []types.Column{in.Columns[0],
		{Name: "ca", Type: calls[0].Type}, {Name: "cb", Type: calls[1].Type}}}
	h.cl, h.input = true, BatchSchema(in, true)
	h.spec = OperatorSpec{Kind: KindGroupAggregate, Schema: out, Changelog: true,
		Spec: mustJSON(t, GroupAggregateSpec{Keys: []int{0}, Calls: calls, InputChangelog: true})}
	h.newOp(t)

	type row struct {
		a, b int64
		f    bool
	}
	rng := rand.New(rand.NewPCG(3, 4))
	live := map[int64][]row{}
	var res collectOutput
	for round := range 80 {
		// Every third batch gives b values of its own.
		apart := round%3 == 2
		var rows []string
		for range rng.IntN(200) + 1 {
			k := rng.Int64N(20)
			if g := live[k]; len(g) > 0 && rng.IntN(3) == 0 {
				j := rng.IntN(len(g))
				r := g[j]
				rows = append(rows, fmt.Sprintf("-D[%d, %d, %d, %t]", k, r.a, r.b, r.f))
				live[k] = append(g[:j], g[j+1:]...)
				continue
			}
			r := row{a: rng.Int64N(30), f: rng.IntN(2) == 0}
			r.b = r.a
			if apart {
				r.b = rng.Int64N(30)
			}
			live[k] = append(live[k], r)
			rows = append(rows, fmt.Sprintf("+I[%d, %d, %d, %t]", k, r.a, r.b, r.f))
		}
		b := h.batch(t, rows)
		require.NoError(t, h.op.ProcessBatch(0, b, &res))
		b.Release()
		if round%10 == 5 {
			h.snapshotRestore(t, &res)
		}
	}
	require.NoError(t, h.op.EndInput(0, &res))
	want := map[int64][2]int64{}
	for k, g := range live {
		if len(g) == 0 {
			continue
		}
		as, bs := map[int64]bool{}, map[int64]bool{}
		for _, r := range g {
			if r.f {
				as[r.a] = true
			}
			bs[r.b] = true
		}
		want[k] = [2]int64{int64(len(as)), int64(len(bs))}
	}
	require.Equal(t, want, res.final)
}
