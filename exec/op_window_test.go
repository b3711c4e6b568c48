package exec

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// TestWindowOperators runs the scripts in testdata/window against the
// window-tvf and window-aggregate operators. Commands:
//
//	init op=agg|tvf window=tumble|hop|cumulate|session [size= slide= step= offset= gap=] time=COL [keys=(A,B)] [proctime] [attached] [changelog]
//	                         (keys: an aggregation's group keys, a SESSION
//	                         tvf's PARTITION BY keys; attached: COL is the
//	                         window_end the rows carry; changelog: the input
//	                         is updating, each batch row starts with its
//	                         kind, +I, -U, +U or -D)
//	col NAME TYPE            (input block: one line per input column)
//	call FUNC([DISTINCT] COL[, COL]) [FILTER COL]   (agg only; COUNT(*) too)
//
//	batch                    input block: one row per line, values separated
//	                         by ", ", NULL for NULL, timestamps in ms
//	wm <ms>                  a watermark
//	end                      MaxWatermark, then end of input
//	clock <ms>               set the processing-time clock
//	tick <ms>                set the clock and call OnProcessingTime
//	snapshot-restore         snapshot, close, and restore into a new instance
//	metrics                  late rows dropped
//	state                    open windows and live slots
//
// Each command prints what the operator emitted: rows (sorted between two
// watermarks, since the order of keys within a firing is unspecified) and
// watermarks. Scripts are replayed as replayScripts describes.
func TestWindowOperators(t *testing.T) {
	replayScripts(t, []string{"window"}, func(t *testing.T, r scriptReplay) (func(*testing.T, *datadriven.TestData) string, func()) {
		h := &windowHarness{mem: r.mem, batch: r.batch, restoreEach: r.restoreEach}
		return h.run, h.close
	})
}

type manualClock struct{ now int64 }

func (c *manualClock) NowMillis() int64 { return c.now }

type windowHarness struct {
	mem         *memory.CheckedAllocator
	batch       int
	restoreEach bool
	// twoPhase runs window aggregates that can be split as local and
	// global phases (TestWindowOperatorsTwoPhase).
	twoPhase bool

	spec      OperatorSpec
	in        types.Schema
	changelog bool
	op        Operator
	octx      *OperatorContext
	clock     manualClock
	out       windowOutput
	restore   int
}

// windowOutput records emitted rows and watermarks.
type windowOutput struct {
	rows []string
	log  strings.Builder
}

func (o *windowOutput) Emit(b arrow.RecordBatch) error {
	for i := range int(b.NumRows()) {
		var vals []string
		for _, c := range b.Columns() {
			vals = append(vals, fmtCell(c, i))
		}
		o.rows = append(o.rows, strings.Join(vals, ", "))
	}
	return nil
}

func (o *windowOutput) flushRows() {
	sort.Strings(o.rows)
	for _, r := range o.rows {
		o.log.WriteString(r + "\n")
	}
	o.rows = o.rows[:0]
}

func (o *windowOutput) EmitWatermark(wm Watermark) error {
	o.flushRows()
	fmt.Fprintf(&o.log, "wm %s\n", fmtWM(wm))
	return nil
}

func (o *windowOutput) take() string {
	o.flushRows()
	s := o.log.String()
	o.log.Reset()
	if s == "" {
		return "ok\n"
	}
	return s
}

func fmtCell(c arrow.Array, i int) string {
	if c.IsNull(i) {
		return "NULL"
	}
	switch a := c.(type) {
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', 10, 64)
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', 6, 32)
	case *array.Decimal128:
		return a.Value(i).ToString(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Timestamp:
		return strconv.FormatInt(int64(a.Value(i)), 10)
	}
	return c.ValueStr(i)
}

var typeRE = regexp.MustCompile(`^([A-Z_]+)(?:\((\d+)(?:,\s*(\d+))?\))?$`)

func parseTestType(t *testing.T, s string) types.DataType {
	m := typeRE.FindStringSubmatch(s)
	require.NotNil(t, m, "type %q", s)
	p, _ := strconv.Atoi(m[2])
	sc, _ := strconv.Atoi(m[3])
	switch m[1] {
	case "STRING":
		return types.StringType
	case "BOOLEAN":
		return types.BooleanType
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
	case "DECIMAL":
		return types.DecimalType(p, sc)
	case "DATE":
		return types.DateType
	case "TIMESTAMP":
		return types.TimestampType(p).WithTimeAttr(types.RowtimeAttr)
	case "TIMESTAMP_LTZ":
		return types.TimestampLTZType(p).WithTimeAttr(types.RowtimeAttr)
	}
	t.Fatalf("unknown type %s", s)
	return types.DataType{}
}

var callRE = regexp.MustCompile(`^([A-Z_]+)\((DISTINCT )?([^)]*)\)(?: FILTER (\w+))?$`)

func (h *windowHarness) colIndex(t *testing.T, name string) int {
	for i, c := range h.in.Columns {
		if c.Name == name {
			return i
		}
	}
	t.Fatalf("no column %s", name)
	return -1
}

func (h *windowHarness) init(t *testing.T, d *datadriven.TestData) {
	h.close()
	h.in = types.Schema{}
	h.changelog = d.HasArg("changelog")
	var calls []agg.Call
	var callLines []string
	for _, line := range strings.Split(d.Input, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "col":
			h.in.Columns = append(h.in.Columns, types.Column{Name: f[1], Type: parseTestType(t, strings.Join(f[2:], ""))})
		case f[0] == "call":
			callLines = append(callLines, strings.TrimSpace(strings.TrimPrefix(line, "call")))
		default:
			t.Fatalf("bad init line %q", line)
		}
	}
	var ws WindowSpec
	d.ScanArgs(t, "window", &ws.Kind)
	d.MaybeScanArgs(t, "size", &ws.Size)
	d.MaybeScanArgs(t, "slide", &ws.Slide)
	d.MaybeScanArgs(t, "step", &ws.Step)
	d.MaybeScanArgs(t, "offset", &ws.Offset)
	d.MaybeScanArgs(t, "gap", &ws.Gap)
	var timeName, opKind string
	d.ScanArgs(t, "time", &timeName)
	d.ScanArgs(t, "op", &opKind)
	timeCol := h.colIndex(t, timeName)
	ts3 := types.TimestampType(3).WithNullable(false)
	winCols := []types.Column{{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
		{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)}}
	cfg := map[string]string{}
	if h.batch > 0 {
		cfg[BatchSizeKey] = strconv.Itoa(h.batch)
	}
	h.octx = &OperatorContext{Parallelism: 1, Mem: h.mem, Metrics: NewOperatorMetrics(), Config: cfg, Clock: &h.clock}
	switch opKind {
	case "tvf":
		out := types.Schema{Columns: append(append([]types.Column{}, h.in.Columns...), winCols...)}
		var partition []int
		if d.HasArg("keys") {
			arg, _ := d.Arg("keys")
			for _, k := range arg.Vals {
				partition = append(partition, h.colIndex(t, k))
			}
		}
		h.spec = OperatorSpec{Kind: KindWindowTableFunction, Name: "Window", Schema: out, Changelog: h.changelog,
			Spec: mustJSON(t, WindowTableFunctionSpec{Window: ws, TimeCol: timeCol, Partition: partition})}
	case "agg":
		var keys []int
		var out types.Schema
		if d.HasArg("keys") {
			arg, _ := d.Arg("keys")
			for _, k := range arg.Vals {
				i := h.colIndex(t, k)
				keys = append(keys, i)
				out.Columns = append(out.Columns, h.in.Columns[i])
			}
		}
		out.Columns = append(out.Columns, winCols...)
		for _, cl := range callLines {
			m := callRE.FindStringSubmatch(cl)
			require.NotNil(t, m, "call %q", cl)
			c := agg.Call{Func: m[1], Distinct: m[2] != "", Filter: -1, Name: cl}
			var argTypes []types.DataType
			if m[3] != "*" {
				for _, a := range strings.Split(m[3], ",") {
					i := h.colIndex(t, strings.TrimSpace(a))
					c.Args = append(c.Args, i)
					argTypes = append(argTypes, h.in.Columns[i].Type)
				}
			}
			if m[4] != "" {
				c.Filter = h.colIndex(t, m[4])
			}
			resultType := agg.ResultType
			if c.Distinct {
				resultType = agg.DistinctResultType
			}
			rt, err := resultType(c.Func, argTypes)
			require.NoError(t, err)
			c.Type = rt
			calls = append(calls, c)
			out.Columns = append(out.Columns, types.Column{Name: fmt.Sprintf("c%d", len(calls)), Type: rt})
		}
		h.spec = OperatorSpec{Kind: KindWindowAggregate, Name: "WindowAggregate", Schema: out,
			Spec: mustJSON(t, WindowAggregateSpec{Window: ws, TimeCol: timeCol, Keys: keys, Calls: calls,
				ProcTime: d.HasArg("proctime"), Attached: d.HasArg("attached"), InputChangelog: h.changelog})}
	default:
		t.Fatalf("unknown op %s", opKind)
	}
	h.op = h.newOp(t)
}

func (h *windowHarness) newOp(t *testing.T) Operator {
	if h.twoPhase {
		if op := newTwoPhaseWindowOp(t, h.in, h.spec, h.octx, &h.out); op != nil {
			return op
		}
	}
	var f OperatorFactory
	switch h.spec.Kind {
	case KindWindowAggregate:
		f = newWindowAgg
	default:
		f = newWindowTVF
	}
	op, err := f(h.spec, h.octx)
	require.NoError(t, err)
	require.NoError(t, op.Open(h.octx))
	return op
}

func (h *windowHarness) snapshotRestore(t *testing.T) {
	state, err := h.op.Snapshot()
	require.NoError(t, err)
	require.NoError(t, h.op.Close())
	h.op = h.newOp(t)
	require.NoError(t, h.op.Restore(state))
	h.restore++
}

func (h *windowHarness) close() {
	if h.op != nil {
		h.op.Close()
		h.op = nil
	}
}

// step runs one input and, in the restore configurations, a
// snapshot/restore after it.
func (h *windowHarness) step(t *testing.T, f func() error) {
	require.NoError(t, f())
	if h.restoreEach {
		h.snapshotRestore(t)
	}
}

func (h *windowHarness) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "init":
		h.init(t, d)
		return "ok\n"
	case "batch":
		rows := strings.Split(strings.TrimSpace(d.Input), "\n")
		size := h.batch
		if size == 0 {
			size = len(rows)
		}
		for from := 0; from < len(rows); from += size {
			b := h.buildBatch(t, rows[from:min(from+size, len(rows))])
			h.step(t, func() error { return h.op.ProcessBatch(0, b, &h.out) })
			b.Release()
		}
	case "wm":
		wm, err := strconv.ParseInt(d.CmdArgs[0].Key, 10, 64)
		require.NoError(t, err)
		h.step(t, func() error { return h.op.ProcessWatermark(0, Watermark(wm), &h.out) })
	case "end":
		h.step(t, func() error { return h.op.ProcessWatermark(0, MaxWatermark, &h.out) })
		require.NoError(t, h.op.EndInput(0, &h.out))
	case "clock", "tick":
		v, err := strconv.ParseInt(d.CmdArgs[0].Key, 10, 64)
		require.NoError(t, err)
		h.clock.now = v
		if d.Cmd == "tick" {
			h.step(t, func() error { return h.op.(ProcessingTimeOperator).OnProcessingTime(&h.out) })
		}
	case "snapshot-restore":
		h.snapshotRestore(t)
	case "metrics":
		return fmt.Sprintf("late rows dropped: %d\n", h.octx.Metrics.LateRecordsDropped.Load())
	case "state":
		if st, ok := h.op.(*sessionTVF); ok {
			sessions := 0
			for p := range st.parts.n {
				if st.parts.live[p] {
					sessions += len(st.sessions[p])
				}
			}
			return fmt.Sprintf("open sessions: %d, buffered rows: %d\n", sessions, st.store.live)
		}
		s := h.op.(*windowAgg).stats()
		return fmt.Sprintf("open windows: %d, live slots: %d\n", s.OpenWindows, s.LiveSlots)
	case "error":
		// error batch: the batch must fail; prints the error.
		b := h.buildBatch(t, strings.Split(strings.TrimSpace(d.Input), "\n"))
		defer b.Release()
		err := h.op.ProcessBatch(0, b, &h.out)
		require.Error(t, err)
		return err.Error() + "\n"
	default:
		t.Fatalf("unknown command %s", d.Cmd)
	}
	return h.out.take()
}

func (h *windowHarness) buildBatch(t *testing.T, rows []string) arrow.RecordBatch {
	rb := array.NewRecordBuilder(h.mem, BatchSchema(h.in, h.changelog))
	defer rb.Release()
	for _, row := range rows {
		if h.changelog {
			kind, rest, _ := strings.Cut(strings.TrimSpace(row), " ")
			k, ok := map[string]connector.RowKind{"+I": connector.Insert, "-U": connector.UpdateBefore,
				"+U": connector.UpdateAfter, "-D": connector.Delete}[kind]
			require.True(t, ok, "row %q has no row kind", row)
			rb.Field(len(h.in.Columns)).(*array.Int8Builder).Append(int8(k))
			row = rest
		}
		vals := strings.Split(row, ",")
		require.Len(t, vals, len(h.in.Columns), "row %q", row)
		for c, v := range vals {
			v = strings.TrimSpace(v)
			fb := rb.Field(c)
			if v == "NULL" {
				fb.AppendNull()
				continue
			}
			col := h.in.Columns[c]
			if col.Type.IsTimestamp() {
				ms, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				mul := map[arrow.TimeUnit]int64{arrow.Millisecond: 1, arrow.Microsecond: 1000, arrow.Nanosecond: 1000000}
				fb.(*array.TimestampBuilder).Append(arrow.Timestamp(ms * mul[types.TimeUnitFor(col.Type.Precision)]))
				continue
			}
			require.NoError(t, fb.AppendValueFromString(v), "value %q of %s", v, col.Name)
		}
	}
	return rb.NewRecordBatch()
}

// The tests below do not fit a script.

// TestWindowAssignment checks the assigners against hand-computed windows,
// including negative timestamps and offsets.
func TestWindowAssignment(t *testing.T) {
	require.Equal(t, int64(-10), windowStart(-1, 0, 10))
	require.Equal(t, int64(0), windowStart(0, 0, 10))
	require.Equal(t, int64(3), windowStart(12, 3, 10))
	require.Equal(t, int64(-7), windowStart(2, 3, 10))
	require.Equal(t, int64(-7), windowStart(2, -7, 10))

	ends := make([]int64, 3)
	hop := WindowSpec{Kind: WindowHop, Size: 10, Slide: 5}
	hop.firstEnds([]int64{0, 4, 5}, ends)
	require.Equal(t, []int64{5, 5, 10}, ends)
	require.Equal(t, int64(10), hop.lastEnd(5))
	require.Equal(t, 2, hop.maxWindowsPerRow())
	cum := WindowSpec{Kind: WindowCumulate, Size: 10, Step: 2, Offset: 1}
	cum.firstEnds([]int64{1, 4, 10}, ends)
	require.Equal(t, []int64{3, 5, 11}, ends)
	require.Equal(t, int64(11), cum.lastEnd(5))
	require.Equal(t, int64(1), cum.startOf(5))
	require.Equal(t, int64(11), cum.startOf(13))

	require.Error(t, WindowSpec{Kind: WindowHop, Size: 10, Slide: 3}.Validate(true))
	require.NoError(t, WindowSpec{Kind: WindowHop, Size: 10, Slide: 3}.Validate(false))
	require.Error(t, WindowSpec{Kind: WindowCumulate, Size: 10, Step: 3}.Validate(false))
	require.Error(t, WindowSpec{Kind: "slide", Size: 10}.Validate(false))
}

func TestHashTableRemove(t *testing.T) {
	var tab hashTable
	const n = 1000
	for i := range n {
		tab.set(uint64(i)*0x9e3779b97f4a7c15|uint64(i%7), int32(i))
	}
	for i := 0; i < n; i += 2 {
		tab.remove(uint64(i)*0x9e3779b97f4a7c15 | uint64(i%7))
	}
	for i := range n {
		got := tab.find(uint64(i)*0x9e3779b97f4a7c15 | uint64(i%7))
		if i%2 == 0 {
			require.Equal(t, int32(-1), got)
		} else {
			require.Equal(t, int32(i), got)
		}
	}
	require.Equal(t, n/2, tab.n)
}

// TestWindowAggregateJob runs a window aggregate in a job: two source
// subtasks of (id, k, ts = id ms) with watermarks, a hash exchange on k,
// and a tumbling 100 ms COUNT(*) per k in two subtasks. Every window of
// every key has 10 rows. A second job replays the rows with a watermark
// 50 ms ahead of them, so some rows arrive late and are counted in the
// job's metrics.
func TestWindowAggregateJob(t *testing.T) {
	run := func(t *testing.T, wmAhead int64) (*sinkStore, *Job) {
		const rows = 10000
		name, store := newStore(t)
		ts3 := types.TimestampType(3).WithNullable(false)
		bigint := types.BigIntType.WithNullable(false)
		wmExpr := expr.Expr(col(2))
		if wmAhead != 0 {
			var err error
			wmExpr, err = expr.Resolve("+", []expr.Expr{col(2),
				&expr.Literal{Value: wmAhead, T: types.IntervalDayTimeType().WithNullable(false)}})
			require.NoError(t, err)
		}
		aggOut := types.Schema{Columns: []types.Column{
			{Name: "k", Type: bigint},
			{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
			{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)},
			{Name: "cnt", Type: bigint},
		}}
		cnt := &expr.ColumnRef{Index: 4, Name: "cnt", T: bigint}
		k := &expr.ColumnRef{Index: 0, Name: "k", T: bigint}
		sinkSchema := types.Schema{Columns: []types.Column{{Name: "cnt", Type: bigint}, {Name: "k", Type: bigint}}}
		sink := sinkOp(t, name, nil)
		sink.Schema = sinkSchema
		g := &JobGraph{
			Name:   "window",
			Config: map[string]string{BatchSizeKey: "64"},
			Vertices: []Vertex{
				{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
					sourceOp(t, map[string]string{"rows": fmt.Sprint(rows)}),
					{Kind: KindWatermarkAssigner, Name: "WM", Schema: seqSchema, Spec: mustJSON(t,
						WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(t, wmExpr)})}}},
				{ID: 2, Name: "Window", Parallelism: 2, Operators: []OperatorSpec{
					{Kind: KindWindowAggregate, Name: "WindowAggregate", Schema: aggOut, Spec: mustJSON(t, WindowAggregateSpec{
						Window: WindowSpec{Kind: WindowTumble, Size: 100}, TimeCol: 2, Keys: []int{1},
						Calls: []agg.Call{{Func: "COUNT", Filter: -1, Type: bigint}}})},
					{Kind: KindCalc, Name: "Calc", Schema: sinkSchema, Spec: mustJSON(t, CalcSpec{
						Projections: []json.RawMessage{marshal(t, cnt), marshal(t, k)}})},
					sink}},
			},
			Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
		}
		j, err := runJob(t, g, 2)
		require.NoError(t, err)
		return store, j
	}

	store, j := run(t, 0)
	counts := store.all()
	require.Len(t, counts, 1000) // 100 windows x 10 keys
	for _, c := range counts {
		require.Equal(t, int64(10), c)
	}
	require.Zero(t, opStats(j, 2, 0).LateRecordsDropped)

	store, j = run(t, 50)
	var total int64
	for _, c := range store.all() {
		total += c
	}
	late := opStats(j, 2, 0).LateRecordsDropped
	require.Positive(t, late)
	require.Equal(t, int64(10000), total+late)
}

// TestWindowHashCollisions forces every key to the same hash, so that the
// slot chains for colliding keys are what keeps them apart, through
// snapshot and restore, for tumbling and session windows.
func TestWindowHashCollisions(t *testing.T) {
	for _, kind := range []string{WindowTumble, WindowSession} {
		t.Run(kind, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			h := &windowHarness{mem: mem}
			defer h.close()
			h.in = types.Schema{Columns: []types.Column{
				{Name: "k", Type: types.StringType}, {Name: "ts", Type: types.TimestampType(3)}}}
			ts3 := types.TimestampType(3).WithNullable(false)
			cnt := agg.Call{Func: "COUNT", Filter: -1, Type: types.BigIntType.WithNullable(false)}
			out := types.Schema{Columns: []types.Column{{Name: "k", Type: types.StringType},
				{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3}, {Name: "window_time", Type: ts3},
				{Name: "cnt", Type: cnt.Type}}}
			h.spec = OperatorSpec{Kind: KindWindowAggregate, Schema: out, Spec: mustJSON(t, WindowAggregateSpec{
				Window: WindowSpec{Kind: kind, Size: 10, Gap: 10}, TimeCol: 1, Keys: []int{0}, Calls: []agg.Call{cnt}})}
			h.octx = &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
			h.op = h.newOp(t)
			feed := func(rows ...string) {
				b := h.buildBatch(t, rows)
				defer b.Release()
				w := h.op.(*windowAgg)
				require.NoError(t, w.load(b))
				for i := range w.hashes {
					w.hashes[i] = 42
				}
				n := int(b.NumRows())
				if w.session {
					w.processSessions(n, w.seq)
				} else {
					w.processSliced(n, w.seq)
				}
				w.seq += int64(n)
			}
			feed("a, 1", "b, 2", "a, 3", "NULL, 4", "c, 5")
			h.snapshotRestore(t)
			feed("c, 6", "b, 7", "NULL, 8", "d, 9")
			h.snapshotRestore(t)
			require.NoError(t, h.op.ProcessWatermark(0, MaxWatermark, &h.out))
			want := map[string]string{
				WindowTumble:  "NULL, 0, 10, 9, 2\na, 0, 10, 9, 2\nb, 0, 10, 9, 2\nc, 0, 10, 9, 2\nd, 0, 10, 9, 1\nwm MAX\n",
				WindowSession: "NULL, 4, 18, 17, 2\na, 1, 13, 12, 2\nb, 2, 17, 16, 2\nc, 5, 16, 15, 2\nd, 9, 19, 18, 1\nwm MAX\n",
			}
			require.Equal(t, want[kind], h.out.take())
		})
	}
}

// TestWindowAggReusesFiredWindows fires 20 tumbling windows of 1000 keys
// one after another, with a snapshot/restore in the middle: each window's
// state is freed when it fires, and a window opened later takes a fired
// one with its hash table (already sized for 1000 keys) instead of
// growing a new one, keeping at most maxSpareWindows aside. The state size
// metric follows: 1000 slots while a window is open, nothing once fired.
func TestWindowAggReusesFiredWindows(t *testing.T) {
	const keys, size, windows = 1000, 1000, 20
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	op, _ := newTumbleAgg(t, mem, size)
	gen := newTumbleGen(keys, 1, keys)
	out := &countingOutput{}
	var prev *sliceWindow
	for w := range windows {
		b, maxTs := gen.nextBatch(keys)
		require.NoError(t, op.ProcessBatch(0, b, out))
		b.Release()
		win := op.windows[int64(w+1)*size]
		require.NotNil(t, win)
		if w > 0 && w != windows/2+1 { // a restored operator has no fired window yet
			require.Same(t, prev, win, "window %d", w)
		}
		prev = win
		open := op.StateBytes()
		require.Equal(t, int64(keys)*(valueBytes(op.keyTypes)+valueBytes(op.callTypes)+20), open)
		if w == windows/2 {
			state, err := op.Snapshot()
			require.NoError(t, err)
			require.NoError(t, op.Close())
			op, _ = newTumbleAgg(t, mem, size)
			require.NoError(t, op.Restore(state))
			require.Equal(t, open, op.StateBytes())
		}
		require.NoError(t, op.ProcessWatermark(0, Watermark(maxTs), out))
		st := op.stats()
		require.Zero(t, st.OpenWindows)
		require.Zero(t, st.LiveSlots)
		require.Zero(t, op.StateBytes())
		require.LessOrEqual(t, len(op.spare), maxSpareWindows)
	}
	require.Equal(t, int64(windows*keys), out.rows)
	require.NoError(t, op.Close())
	mem.AssertSize(t, 0)
}
