package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// TestJoinScripts runs the scripts of testdata/join: two-input operator
// interactions without a wall clock. Commands:
//
//	new kind=join|interval-join|temporal-join [changelog]
//	left a BIGINT, b STRING          (input block: the inputs' columns,
//	right c BIGINT, d STRING          the JSON spec, an optional condition
//	spec {"type": "inner", ...}       over left then right columns in call
//	cond <($1, $3)                    syntax: fn(args), $i, 12, 'str')
//	----
//	left | right                      feed the block's rows (`+I[1, a]`;
//	                                  the kind only for changelog inputs)
//	watermark left=5 right=7          per-input watermarks
//	end left|right                    MaxWatermark, then the end of input
//	time 1000                         set the processing-time clock
//	snapshot-restore                  into a fresh instance
//	state                             rows kept per input
//
// Every command prints what the operator emitted: rows as `+I[...]`,
// watermarks as `watermark N`. Each script is replayed at once in several
// variants: batches of 1 and 7 rows and the whole block, with and without
// a snapshot and restore into a fresh instance before every command; every
// variant must print exactly what the first one prints.
func TestJoinScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/join", func(t *testing.T, path string) {
		var hs []*joinHarness
		defer func() {
			for _, h := range hs {
				h.close(t)
			}
		}()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd == "new" {
				for _, h := range hs {
					h.close(t)
				}
				hs = nil
				for _, batch := range []int{0, 1, 7} {
					for _, restore := range []bool{false, true} {
						h, err := newJoinHarness(t, d, batch, restore)
						if err != nil {
							return "error: " + err.Error()
						}
						hs = append(hs, h)
					}
				}
				return "ok"
			}
			if len(hs) == 0 {
				t.Fatalf("%s: no operator; start with new", d.Pos)
			}
			want := hs[0].run(t, d)
			for _, h := range hs[1:] {
				if got := h.run(t, d); got != want {
					t.Errorf("%s: variant batch=%d restore=%v printed\n%s\nwant\n%s", d.Pos, h.batch, h.restore, got, want)
				}
			}
			return want
		})
	})
}

type joinHarness struct {
	mem     *memory.CheckedAllocator
	clock   *manualJoinClock
	spec    OperatorSpec
	schemas [2]types.Schema
	cl      [2]bool
	batch   int
	restore bool
	op      Operator
	ctx     *OperatorContext
	out     joinRecorder
}

type manualJoinClock struct{ now int64 }

func (c *manualJoinClock) NowMillis() int64 { return c.now }

type joinRecorder struct{ log strings.Builder }

func (r *joinRecorder) Emit(b arrow.RecordBatch) error {
	n := int(b.NumCols())
	kinds := (*array.Int8)(nil)
	if f := b.Schema().Field(n - 1); f.Name == connector.RowKindColumn {
		kinds = b.Column(n - 1).(*array.Int8)
		n--
	}
	for i := range int(b.NumRows()) {
		k := connector.Insert
		if kinds != nil {
			k = connector.RowKind(kinds.Value(i))
		}
		vals := make([]string, n)
		for c := range n {
			vals[c] = fmtJoinValue(b.Column(c), i)
		}
		fmt.Fprintf(&r.log, "%s[%s]\n", k, strings.Join(vals, ", "))
	}
	return nil
}

func (r *joinRecorder) EmitWatermark(wm Watermark) error {
	fmt.Fprintf(&r.log, "watermark %s\n", fmtWM(wm))
	return nil
}

func fmtJoinValue(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch c := a.(type) {
	case *array.Timestamp:
		return strconv.FormatInt(int64(c.Value(i)), 10)
	case *array.String:
		return c.Value(i)
	}
	return a.ValueStr(i)
}

func parseJoinColumns(t *testing.T, s string) types.Schema {
	var schema types.Schema
	for _, col := range strings.Split(s, ",") {
		f := strings.Fields(col)
		require.Len(t, f, 2, "column %q", col)
		var dt types.DataType
		switch f[1] {
		case "BIGINT":
			dt = types.BigIntType
		case "INT":
			dt = types.IntType
		case "STRING":
			dt = types.StringType
		case "DOUBLE":
			dt = types.DoubleType
		case "TIMESTAMP(3)":
			dt = types.TimestampType(3)
		default:
			t.Fatalf("unknown test type %q", f[1])
		}
		schema.Columns = append(schema.Columns, types.Column{Name: f[0], Type: dt})
	}
	return schema
}

// parseJoinExpr parses the test condition syntax: fn(arg, ...), $i
// (column i of left then right), integers and 'strings'.
func parseJoinExpr(t *testing.T, s string, cols []types.Column) (expr.Expr, string) {
	s = strings.TrimSpace(s)
	switch {
	case s[0] == '$':
		end := 1
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		idx, err := strconv.Atoi(s[1:end])
		require.NoError(t, err)
		return &expr.ColumnRef{Index: idx, Name: cols[idx].Name, T: cols[idx].Type}, s[end:]
	case s[0] == '\'':
		end := strings.IndexByte(s[1:], '\'') + 1
		return expr.NewLiteral(s[1:end], types.StringType), s[end+1:]
	case s[0] == '-' || s[0] >= '0' && s[0] <= '9':
		end := 1
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		v, err := strconv.ParseInt(s[:end], 10, 64)
		require.NoError(t, err)
		return expr.NewLiteral(v, types.BigIntType), s[end:]
	}
	open := strings.IndexByte(s, '(')
	require.Positive(t, open, "bad expression %q", s)
	name, rest := s[:open], s[open+1:]
	var args []expr.Expr
	for {
		rest = strings.TrimSpace(rest)
		if rest[0] == ')' {
			rest = rest[1:]
			break
		}
		var a expr.Expr
		a, rest = parseJoinExpr(t, rest, cols)
		args = append(args, a)
		rest = strings.TrimPrefix(strings.TrimSpace(rest), ",")
	}
	e, err := expr.Resolve(name, args)
	require.NoError(t, err)
	return e, rest
}

func newJoinHarness(t *testing.T, d *datadriven.TestData, batch int, restore bool) (*joinHarness, error) {
	h := &joinHarness{
		mem:   memory.NewCheckedAllocator(memory.NewGoAllocator()),
		clock: &manualJoinClock{}, batch: batch, restore: restore,
	}
	var kind string
	d.ScanArgs(t, "kind", &kind)
	h.spec.Kind = kind
	h.spec.Changelog = d.HasArg("changelog")
	var cond string
	for _, line := range strings.Split(d.Input, "\n") {
		word, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch word {
		case "left":
			h.schemas[0] = parseJoinColumns(t, rest)
		case "right":
			h.schemas[1] = parseJoinColumns(t, rest)
		case "spec":
			h.spec.Spec = json.RawMessage(rest)
		case "cond":
			cond = rest
		case "":
		default:
			t.Fatalf("%s: unknown line %q", d.Pos, line)
		}
	}
	var flags struct {
		Type           string `json:"type"`
		LeftChangelog  bool   `json:"leftChangelog"`
		RightChangelog bool   `json:"rightChangelog"`
	}
	require.NoError(t, json.Unmarshal(h.spec.Spec, &flags))
	h.cl = [2]bool{flags.LeftChangelog, flags.RightChangelog}
	if kind == KindTemporalJoin {
		h.cl[0] = h.spec.Changelog // the output's mode is the left input's
	}
	both := append(append([]types.Column{}, h.schemas[0].Columns...), h.schemas[1].Columns...)
	if flags.Type == "semi" || flags.Type == "anti" {
		h.spec.Schema = h.schemas[0]
	} else {
		h.spec.Schema = types.Schema{Columns: both}
	}
	if cond != "" {
		e, rest := parseJoinExpr(t, cond, both)
		require.Empty(t, strings.TrimSpace(rest))
		raw, err := expr.Marshal(e)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(h.spec.Spec, &m))
		m["condition"] = raw
		h.spec.Spec, err = json.Marshal(m)
		require.NoError(t, err)
	}
	if err := h.start(nil); err != nil {
		return nil, err
	}
	return h, nil
}

// start creates and opens a fresh operator instance, restoring state.
func (h *joinHarness) start(state []byte) error {
	e, ok := lookupKind(h.spec.Kind)
	if !ok {
		return fmt.Errorf("unknown kind %q", h.spec.Kind)
	}
	h.ctx = &OperatorContext{Parallelism: 1, Mem: h.mem, Metrics: NewOperatorMetrics(), Clock: h.clock}
	op, err := e.op(h.spec, h.ctx)
	if err != nil {
		return err
	}
	if err := op.Open(h.ctx); err != nil {
		op.Close()
		return err
	}
	h.op = op
	if state != nil {
		return op.Restore(state)
	}
	return nil
}

func (h *joinHarness) snapshotRestore(t *testing.T) {
	state, err := h.op.Snapshot()
	require.NoError(t, err)
	require.NoError(t, h.op.Close())
	require.NoError(t, h.start(state))
}

func (h *joinHarness) close(t *testing.T) {
	if h.op != nil {
		require.NoError(t, h.op.Close())
		h.op = nil
	}
	h.mem.AssertSize(t, 0)
}

func inputOf(t *testing.T, name string) int {
	switch name {
	case "left":
		return 0
	case "right":
		return 1
	}
	t.Fatalf("unknown input %q", name)
	return 0
}

func (h *joinHarness) run(t *testing.T, d *datadriven.TestData) string {
	h.out.log.Reset()
	if h.restore {
		h.snapshotRestore(t)
	}
	var err error
	switch d.Cmd {
	case "left", "right":
		in := inputOf(t, d.Cmd)
		rows := strings.Split(strings.TrimSpace(d.Input), "\n")
		size := h.batch
		if size == 0 {
			size = len(rows)
		}
		for start := 0; start < len(rows) && err == nil; start += size {
			b := h.buildBatch(t, in, rows[start:min(start+size, len(rows))])
			err = h.op.ProcessBatch(in, b, &h.out)
			b.Release()
		}
	case "watermark":
		for _, arg := range d.CmdArgs {
			var wm int64
			arg.Scan(t, 0, &wm)
			if err = h.op.ProcessWatermark(inputOf(t, arg.Key), Watermark(wm), &h.out); err != nil {
				break
			}
		}
	case "end":
		in := inputOf(t, d.CmdArgs[0].Key)
		if err = h.op.ProcessWatermark(in, MaxWatermark, &h.out); err == nil {
			err = h.op.EndInput(in, &h.out)
		}
	case "time":
		h.clock.now, err = strconv.ParseInt(d.CmdArgs[0].Key, 10, 64)
	case "snapshot-restore":
		h.snapshotRestore(t)
	case "state":
		rows := h.op.(interface{ stateRows() [2]int }).stateRows()
		fmt.Fprintf(&h.out.log, "left %d rows, right %d rows\n", rows[0], rows[1])
	default:
		t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	}
	if err != nil {
		fmt.Fprintf(&h.out.log, "error: %v\n", err)
	}
	if h.out.log.Len() == 0 {
		return "(nothing)"
	}
	return h.out.log.String()
}

// buildBatch parses rows like `+I[1, a]` (or `1, a` for +I) of input in.
func (h *joinHarness) buildBatch(t *testing.T, in int, rows []string) arrow.RecordBatch {
	schema := BatchSchema(h.schemas[in], h.cl[in])
	b := array.NewRecordBuilder(h.mem, schema)
	defer b.Release()
	ncols := h.schemas[in].Len()
	for _, row := range rows {
		row = strings.TrimSpace(row)
		kind := connector.Insert
		if i := strings.IndexByte(row, '['); i >= 0 {
			switch row[:i] {
			case "+I":
			case "-U":
				kind = connector.UpdateBefore
			case "+U":
				kind = connector.UpdateAfter
			case "-D":
				kind = connector.Delete
			default:
				t.Fatalf("bad row kind in %q", row)
			}
			row = strings.TrimSuffix(row[i+1:], "]")
		}
		vals := strings.Split(row, ",")
		require.Len(t, vals, ncols, "row %q", row)
		for c, v := range vals {
			v = strings.TrimSpace(v)
			fb := b.Field(c)
			if v == "NULL" {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int64Builder:
				n, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				fb.Append(n)
			case *array.Int32Builder:
				n, err := strconv.ParseInt(v, 10, 32)
				require.NoError(t, err)
				fb.Append(int32(n))
			case *array.Float64Builder:
				f, err := strconv.ParseFloat(v, 64)
				require.NoError(t, err)
				fb.Append(f)
			case *array.TimestampBuilder:
				n, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err)
				fb.Append(arrow.Timestamp(n))
			case *array.StringBuilder:
				fb.Append(v)
			default:
				t.Fatalf("unsupported test builder %T", fb)
			}
		}
		if h.cl[in] {
			if kind != connector.Insert && !h.cl[in] {
				t.Fatalf("row kind %s on an insert-only input", kind)
			}
			b.Field(ncols).(*array.Int8Builder).Append(int8(kind))
		} else if kind != connector.Insert {
			t.Fatalf("row kind %s on an insert-only input", kind)
		}
	}
	return b.NewRecordBatch()
}

// TestJoinJob runs a regular inner join in a job: two sources hash
// partitioned by their key into a join vertex of parallelism 2 (one head
// operator with two input edges), then a calc keeping (left id, right k).
func TestJoinJob(t *testing.T) {
	name, store := newStore(t)
	both := types.Schema{Columns: append(append([]types.Column{}, seqSchema.Columns...), seqSchema.Columns...)}
	ref := func(i int) json.RawMessage {
		return marshal(t, &expr.ColumnRef{Index: i, Name: both.Columns[i].Name, T: both.Columns[i].Type})
	}
	g := &JobGraph{
		Name:   "join",
		Config: map[string]string{BatchSizeKey: "16"},
		Vertices: []Vertex{
			{ID: 1, Name: "Left", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": "200", "mod": "50"})}},
			{ID: 2, Name: "Right", Parallelism: 1, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": "100", "mod": "100"})}},
			{ID: 3, Name: "Join", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: KindJoin, Name: "Join", Schema: both, Spec: mustJSON(t, JoinSpec{
					Type: "inner", LeftKeys: []int{1}, RightKeys: []int{1}})},
				{Kind: KindCalc, Name: "Calc", Schema: seqSchema, Spec: mustJSON(t, CalcSpec{
					Projections: []json.RawMessage{ref(0), ref(4), ref(2)}})},
				sinkOp(t, name, nil)}},
		},
		Edges: []Edge{
			{Source: 1, Target: 3, TargetInput: 0, Partitioning: Hash, Keys: []int{1}},
			{Source: 2, Target: 3, TargetInput: 1, Partitioning: Hash, Keys: []int{1}},
		},
	}
	_, err := runJob(t, g, 4)
	require.NoError(t, err)
	require.Equal(t, seq(0, 200), store.all())
	store.mu.Lock()
	defer store.mu.Unlock()
	for sub, ids := range store.ids {
		for i, id := range ids {
			require.Equal(t, id%50, store.ks[sub][i], "row of left id %d", id)
		}
	}
}

// TestJoinRescale restores the snapshots of two subtasks of parallelism 2,
// concatenated, into each subtask of parallelism 4 (and 1): every row
// lands in exactly one subtask, the one the hash exchange sends its key
// to, and joins there as before.
func TestJoinRescale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	kv := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindJoin, Schema: types.Schema{Columns: append(append([]types.Column{}, kv.Columns...), kv.Columns...)},
		Spec: mustJSON(t, JoinSpec{Type: "inner", LeftKeys: []int{0}, RightKeys: []int{0}})}
	const keys = 200
	batch := func(n int, v string) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, kv.Arrow())
		defer b.Release()
		for i := range n {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.StringBuilder).Append(v)
		}
		return b.NewRecordBatch()
	}
	// Route the left rows of every key to their owner among 2 subtasks.
	hashes := make([]uint64, keys)
	left := batch(keys, "l")
	defer left.Release()
	require.NoError(t, hashRows(left, []int{0}, hashes))
	var state []byte
	for sub := range 2 {
		ctx := &OperatorContext{Subtask: sub, Parallelism: 2, Mem: mem, Metrics: NewOperatorMetrics()}
		op, err := newJoin(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		var idx []int32
		for i, h := range hashes {
			if targetOf(h, 2) == sub {
				idx = append(idx, int32(i))
			}
		}
		mine, err := takeRows(context.Background(), mem, left, idx)
		require.NoError(t, err)
		require.NoError(t, op.ProcessBatch(0, mine, &joinRecorder{}))
		mine.Release()
		s, err := op.Snapshot()
		require.NoError(t, err)
		state = append(state, s...)
		require.NoError(t, op.Close())
	}
	right := batch(keys, "r")
	defer right.Release()
	for _, par := range []int{1, 4} {
		total := 0
		for sub := range par {
			ctx := &OperatorContext{Subtask: sub, Parallelism: par, Mem: mem, Metrics: NewOperatorMetrics()}
			op, err := newJoin(spec, ctx)
			require.NoError(t, err)
			require.NoError(t, op.Open(ctx))
			require.NoError(t, op.Restore(state))
			var idx []int32
			for i, h := range hashes {
				if targetOf(h, par) == sub {
					idx = append(idx, int32(i))
				}
			}
			require.Equal(t, len(idx), op.(*join).stateRows()[0], "parallelism %d subtask %d", par, sub)
			rec := &joinRecorder{}
			mine, err := takeRows(context.Background(), mem, right, idx)
			require.NoError(t, err)
			require.NoError(t, op.ProcessBatch(1, mine, rec))
			mine.Release()
			total += strings.Count(rec.log.String(), "\n")
			require.NoError(t, op.Close())
		}
		require.Equal(t, keys, total, "parallelism %d", par)
	}
}

// BenchmarkInnerJoin measures an inner join of insert-only inputs: the
// right input holds 100k rows (distinct BIGINT keys, STRING payload) and
// left batches of 1024 rows each join one of them and are stored in turn.
// Every 64 batches the operator restarts from a snapshot holding the right
// rows only (untimed), so the left state stays below 64k rows. Reports
// left rows/s.
func BenchmarkInnerJoin(b *testing.B) {
	mem := memory.NewGoAllocator()
	kv := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindJoin, Schema: types.Schema{Columns: append(append([]types.Column{}, kv.Columns...), kv.Columns...)},
		Spec: mustJSON(b, JoinSpec{Type: "inner", LeftKeys: []int{0}, RightKeys: []int{0}})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	start := func(state []byte) Operator {
		op, err := newJoin(spec, ctx)
		require.NoError(b, err)
		require.NoError(b, op.Open(ctx))
		if state != nil {
			require.NoError(b, op.Restore(state))
		}
		return op
	}
	const stateRows, batchRows = 100_000, 1024
	mk := func(start, n int) arrow.RecordBatch {
		bb := array.NewRecordBuilder(mem, kv.Arrow())
		defer bb.Release()
		for i := range n {
			bb.Field(0).(*array.Int64Builder).Append(int64((start + i) % stateRows))
			bb.Field(1).(*array.StringBuilder).Append("payload-" + strconv.Itoa(i))
		}
		return bb.NewRecordBatch()
	}
	discard := discardOutput{}
	op := start(nil)
	for start := 0; start < stateRows; start += batchRows {
		rb := mk(start, min(batchRows, stateRows-start))
		require.NoError(b, op.ProcessBatch(1, rb, discard))
		rb.Release()
	}
	snap, err := op.Snapshot()
	require.NoError(b, err)
	probes := make([]arrow.RecordBatch, 16)
	for i := range probes {
		probes[i] = mk(i*batchRows*7, batchRows)
		defer probes[i].Release()
	}
	b.ReportAllocs()
	b.ResetTimer()
	var elapsed time.Duration
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%64 == 0 {
			b.StopTimer()
			elapsed += time.Since(t0)
			op.Close()
			op = start(snap)
			t0 = time.Now()
			b.StartTimer()
		}
		require.NoError(b, op.ProcessBatch(0, probes[i%len(probes)], discard))
	}
	elapsed += time.Since(t0)
	b.ReportMetric(float64(b.N)*batchRows/elapsed.Seconds(), "rows/s")
	op.Close()
}

type discardOutput struct{}

func (discardOutput) Emit(arrow.RecordBatch) error  { return nil }
func (discardOutput) EmitWatermark(Watermark) error { return nil }
