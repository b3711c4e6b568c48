package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
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
	// Each state view: NoUniqueKey, JoinKeyContainsUniqueKey, HasUniqueKey.
	for _, uk := range [][]int{nil, {0}, {0, 1}} {
		t.Run(JoinInputSpec([]int{0}, uk), func(t *testing.T) { testJoinRescale(t, uk) })
	}
}

func testJoinRescale(t *testing.T, uniqueKey []int) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	kv := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindJoin, Schema: types.Schema{Columns: append(append([]types.Column{}, kv.Columns...), kv.Columns...)},
		Spec: mustJSON(t, JoinSpec{Type: "inner", LeftKeys: []int{0}, RightKeys: []int{0}, LeftUniqueKey: uniqueKey})}
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

// TestJoinRandomChangelog is a differential test of the regular join: for
// every join type it feeds random changelogs (inserts, updates, deletes,
// duplicates, NULL keys) of both inputs in random batch sizes, with random
// snapshot/restores, and checks that the emitted changelog never retracts
// a row it has not emitted and materializes to what a nested-loop join of
// the inputs' final contents returns.
func TestJoinRandomChangelog(t *testing.T) {
	for _, typ := range []string{"inner", "left", "right", "full", "semi", "anti"} {
		t.Run(typ, func(t *testing.T) {
			for seed := range 12 {
				runRandomJoin(t, typ, uint64(seed), false)
				runRandomJoin(t, typ, uint64(seed), true)
			}
		})
	}
}

// runRandomJoin joins random changelogs; keyed gives each input the
// unique key k (at most one row per join key: JoinKeyContainsUniqueKey).
func runRandomJoin(t *testing.T, typ string, seed uint64, keyed bool) {
	rng := rand.New(rand.NewPCG(seed, 42))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	kv := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}}}
	both := types.Schema{Columns: append(append([]types.Column{}, kv.Columns...), kv.Columns...)}
	cond, err := expr.Resolve("<", []expr.Expr{
		&expr.ColumnRef{Index: 1, Name: "v", T: types.BigIntType}, &expr.ColumnRef{Index: 3, Name: "v", T: types.BigIntType}})
	require.NoError(t, err)
	spec := OperatorSpec{Kind: KindJoin, Schema: both, Changelog: true, Spec: mustJSON(t, JoinSpec{
		Type: typ, LeftKeys: []int{0}, RightKeys: []int{0}, Condition: marshal(t, cond),
		LeftChangelog: true, RightChangelog: true})}
	if keyed {
		js := JoinSpec{Type: typ, LeftKeys: []int{0}, RightKeys: []int{0}, Condition: marshal(t, cond),
			LeftChangelog: true, RightChangelog: true, LeftUniqueKey: []int{0}, RightUniqueKey: []int{0}}
		spec.Spec = mustJSON(t, js)
	}
	if typ == "semi" || typ == "anti" {
		spec.Schema = kv
	}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	start := func(state []byte) Operator {
		op, err := newJoin(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		if state != nil {
			require.NoError(t, op.Restore(state))
		}
		return op
	}
	op := start(nil)
	defer func() { op.Close() }()

	type row struct{ k, v int64 } // k < 0 is NULL
	var inputs [2][]row           // current contents (multisets as lists)
	out := &materializer{rows: map[string]int{}}
	for step := 0; step < 60; step++ {
		in := rng.IntN(2)
		n := 1 + rng.IntN(6)
		bld := array.NewRecordBuilder(mem, BatchSchema(kv, true))
		add := func(r row, kind connector.RowKind) {
			if r.k < 0 {
				bld.Field(0).AppendNull()
			} else {
				bld.Field(0).(*array.Int64Builder).Append(r.k)
			}
			bld.Field(1).(*array.Int64Builder).Append(r.v)
			bld.Field(2).(*array.Int8Builder).Append(int8(kind))
		}
		for range n {
			cur := &inputs[in]
			switch {
			case len(*cur) > 0 && rng.IntN(3) == 0: // delete or update
				i := rng.IntN(len(*cur))
				old := (*cur)[i]
				*cur = append((*cur)[:i], (*cur)[i+1:]...)
				if rng.IntN(2) == 0 {
					add(old, connector.Delete)
				} else {
					nw := row{old.k, rng.Int64N(5)}
					add(old, connector.UpdateBefore)
					add(nw, connector.UpdateAfter)
					*cur = append(*cur, nw)
				}
			default:
				r := row{rng.Int64N(3), rng.Int64N(5)}
				if rng.IntN(8) == 0 {
					r.k = -1
				}
				// Mostly the key has its row; sometimes a second +I violates
				// the unique key, which degrades the key to a multiset.
				if keyed && r.k >= 0 && rng.IntN(2) == 0 && slices.ContainsFunc(*cur, func(o row) bool { return o.k == r.k }) {
					continue
				}
				add(r, connector.Insert)
				*cur = append(*cur, r)
			}
		}
		b := bld.NewRecordBatch()
		bld.Release()
		require.NoError(t, op.ProcessBatch(in, b, out))
		b.Release()
		require.NoError(t, out.err, "seed %d step %d", seed, step)
		if rng.IntN(5) == 0 {
			state, err := op.Snapshot()
			require.NoError(t, err)
			require.NoError(t, op.Close())
			op = start(state)
		}
	}
	// The nested-loop answer.
	want := map[string]int{}
	matches := func(l, r row) bool { return l.k >= 0 && l.k == r.k && l.v < r.v }
	str := func(vals ...any) string { return fmt.Sprint(vals...) }
	null := "NULL"
	key := func(r row) any {
		if r.k < 0 {
			return null
		}
		return r.k
	}
	matchedR := make([]bool, len(inputs[1]))
	for _, l := range inputs[0] {
		found := false
		for j, r := range inputs[1] {
			if matches(l, r) {
				found = true
				matchedR[j] = true
				if typ != "semi" && typ != "anti" {
					want[str("[", key(l), " ", l.v, " ", key(r), " ", r.v, "]")]++
				}
			}
		}
		switch {
		case typ == "semi" && found, typ == "anti" && !found:
			want[str("[", key(l), " ", l.v, "]")]++
		case !found && (typ == "left" || typ == "full"):
			want[str("[", key(l), " ", l.v, " ", null, " ", null, "]")]++
		}
	}
	if typ == "right" || typ == "full" {
		for j, r := range inputs[1] {
			if !matchedR[j] {
				want[str("[", null, " ", null, " ", key(r), " ", r.v, "]")]++
			}
		}
	}
	for k, v := range out.rows {
		if v == 0 {
			delete(out.rows, k)
		}
	}
	require.Equal(t, want, out.rows, "seed %d keyed %v", seed, keyed)
}

// materializer applies a changelog to a multiset of printed rows and
// records the first retraction of a row it does not hold.
type materializer struct {
	rows map[string]int
	err  error
}

func (m *materializer) Emit(b arrow.RecordBatch) error {
	n := int(b.NumCols()) - 1
	kinds := b.Column(n).(*array.Int8)
	for i := range int(b.NumRows()) {
		vals := make([]string, n)
		for c := range n {
			vals[c] = fmtJoinValue(b.Column(c), i)
		}
		r := "[" + strings.Join(vals, " ") + "]"
		if connector.RowKind(kinds.Value(i)).IsRetraction() {
			if m.rows[r] == 0 && m.err == nil {
				m.err = fmt.Errorf("retraction of %s, which is not in the result", r)
			}
			m.rows[r]--
		} else {
			m.rows[r]++
		}
	}
	return nil
}

func (m *materializer) EmitWatermark(Watermark) error { return nil }

// TestIntervalJoinRandom is a differential test of the interval join:
// random insert-only inputs whose watermarks never make a row late, random
// bounds, batch sizes and snapshot/restores; the output must be exactly the
// nested-loop interval join of all rows, outer rows padded, and all state
// must be gone at the end.
func TestIntervalJoinRandom(t *testing.T) {
	for _, typ := range []string{"inner", "left", "right", "full"} {
		t.Run(typ, func(t *testing.T) {
			for seed := range 20 {
				runRandomIntervalJoin(t, typ, uint64(seed))
			}
		})
	}
}

func runRandomIntervalJoin(t *testing.T, typ string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	kt := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType(3)}}}
	both := types.Schema{Columns: append(append([]types.Column{}, kt.Columns...), kt.Columns...)}
	lo := rng.Int64N(21) - 10
	hi := lo + rng.Int64N(12)
	spec := OperatorSpec{Kind: KindIntervalJoin, Schema: both, Spec: mustJSON(t, IntervalJoinSpec{
		Type: typ, LeftKeys: []int{0}, RightKeys: []int{0}, LeftTimeCol: 1, RightTimeCol: 1,
		LowerBound: lo, UpperBound: hi})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	start := func(state []byte) Operator {
		op, err := newIntervalJoin(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		if state != nil {
			require.NoError(t, op.Restore(state))
		}
		return op
	}
	op := start(nil)
	defer func() { op.Close() }()
	type row struct{ k, ts int64 }
	var inputs [2][]row
	cursor := [2]int64{0, 0}
	out := &joinRecorder{}
	for step := 0; step < 40; step++ {
		in := rng.IntN(2)
		if rng.IntN(3) == 0 {
			require.NoError(t, op.ProcessWatermark(in, Watermark(cursor[in]-1), out))
			cursor[in] += rng.Int64N(6)
			continue
		}
		bld := array.NewRecordBuilder(mem, kt.Arrow())
		for range 1 + rng.IntN(5) {
			r := row{rng.Int64N(3), cursor[in] + rng.Int64N(10)}
			bld.Field(0).(*array.Int64Builder).Append(r.k)
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts))
			inputs[in] = append(inputs[in], r)
		}
		b := bld.NewRecordBatch()
		bld.Release()
		require.NoError(t, op.ProcessBatch(in, b, out))
		b.Release()
		if rng.IntN(5) == 0 {
			state, err := op.Snapshot()
			require.NoError(t, err)
			require.NoError(t, op.Close())
			op = start(state)
		}
	}
	for in := range 2 {
		require.NoError(t, op.ProcessWatermark(in, MaxWatermark, out))
		require.NoError(t, op.EndInput(in, out))
	}
	require.Equal(t, [2]int{0, 0}, op.(*intervalJoin).stateRows())

	var want []string
	matchedR := make([]bool, len(inputs[1]))
	for _, l := range inputs[0] {
		found := false
		for j, r := range inputs[1] {
			if d := l.ts - r.ts; l.k == r.k && d >= lo && d <= hi {
				found = true
				matchedR[j] = true
				want = append(want, fmt.Sprintf("+I[%d, %d, %d, %d]", l.k, l.ts, r.k, r.ts))
			}
		}
		if !found && (typ == "left" || typ == "full") {
			want = append(want, fmt.Sprintf("+I[%d, %d, NULL, NULL]", l.k, l.ts))
		}
	}
	for j, r := range inputs[1] {
		if !matchedR[j] && (typ == "right" || typ == "full") {
			want = append(want, fmt.Sprintf("+I[NULL, NULL, %d, %d]", r.k, r.ts))
		}
	}
	var got []string
	for _, line := range strings.Split(out.log.String(), "\n") {
		if strings.HasPrefix(line, "+I") {
			got = append(got, line)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got, "seed %d bounds [%d, %d]", seed, lo, hi)
}

// TestTemporalJoinRandom is a differential test of the event-time temporal
// join: random versioned-table changelogs and left rows whose watermarks
// never make a row late, random batch sizes and snapshot/restores; every
// left row must join the right row of its key with the latest time at or
// before its own (the last one to arrive among equal times), unless that
// is a retraction. All state but the latest versions is gone at the end.
func TestTemporalJoinRandom(t *testing.T) {
	for _, typ := range []string{"inner", "left"} {
		t.Run(typ, func(t *testing.T) {
			for seed := range 20 {
				runRandomTemporalJoin(t, typ, uint64(seed))
			}
		})
	}
}

func runRandomTemporalJoin(t *testing.T, typ string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 9))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	kt := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType(3)},
		{Name: "v", Type: types.BigIntType}}}
	both := types.Schema{Columns: append(append([]types.Column{}, kt.Columns...), kt.Columns...)}
	spec := OperatorSpec{Kind: KindTemporalJoin, Schema: both, Spec: mustJSON(t, TemporalJoinSpec{
		Type: typ, LeftKeys: []int{0}, RightKeys: []int{0}, LeftTimeCol: 1, RightTimeCol: 1, RightChangelog: true})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	start := func(state []byte) Operator {
		op, err := newTemporalJoin(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		if state != nil {
			require.NoError(t, op.Restore(state))
		}
		return op
	}
	op := start(nil)
	defer func() { op.Close() }()
	type row struct {
		k, ts, v int64
		kind     connector.RowKind
	}
	var inputs [2][]row
	present := map[int64]int64{} // right key -> current value
	cursor := [2]int64{0, 0}
	out := &joinRecorder{}
	for step := 0; step < 50; step++ {
		in := rng.IntN(2)
		if rng.IntN(3) == 0 {
			require.NoError(t, op.ProcessWatermark(in, Watermark(cursor[in]-1), out))
			cursor[in] += rng.Int64N(6)
			continue
		}
		bld := array.NewRecordBuilder(mem, BatchSchema(kt, in == 1))
		add := func(r row) {
			bld.Field(0).(*array.Int64Builder).Append(r.k)
			bld.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts))
			bld.Field(2).(*array.Int64Builder).Append(r.v)
			if in == 1 {
				bld.Field(3).(*array.Int8Builder).Append(int8(r.kind))
			}
			inputs[in] = append(inputs[in], r)
		}
		for range 1 + rng.IntN(5) {
			k, ts := rng.Int64N(3), cursor[in]+rng.Int64N(10)
			if in == 0 {
				add(row{k: k, ts: ts, v: rng.Int64N(100)})
				continue
			}
			old, ok := present[k]
			switch {
			case !ok:
				present[k] = rng.Int64N(100)
				add(row{k, ts, present[k], connector.Insert})
			case rng.IntN(3) == 0:
				delete(present, k)
				add(row{k, ts, old, connector.Delete})
			default:
				present[k] = rng.Int64N(100)
				add(row{k, ts, old, connector.UpdateBefore})
				add(row{k, ts, present[k], connector.UpdateAfter})
			}
		}
		b := bld.NewRecordBatch()
		bld.Release()
		require.NoError(t, op.ProcessBatch(in, b, out))
		b.Release()
		if rng.IntN(5) == 0 {
			state, err := op.Snapshot()
			require.NoError(t, err)
			require.NoError(t, op.Close())
			op = start(state)
		}
	}
	for in := range 2 {
		require.NoError(t, op.ProcessWatermark(in, MaxWatermark, out))
		require.NoError(t, op.EndInput(in, out))
	}
	rows := op.(*temporalJoin).stateRows()
	require.Zero(t, rows[0])
	require.LessOrEqual(t, rows[1], 3, "at most the latest version of each of the 3 keys")

	var want []string
	for _, l := range inputs[0] {
		best := -1
		for j, r := range inputs[1] {
			if r.k == l.k && r.ts <= l.ts && (best < 0 || r.ts >= inputs[1][best].ts) {
				best = j
			}
		}
		switch {
		case best >= 0 && !inputs[1][best].kind.IsRetraction():
			r := inputs[1][best]
			want = append(want, fmt.Sprintf("+I[%d, %d, %d, %d, %d, %d]", l.k, l.ts, l.v, r.k, r.ts, r.v))
		case typ == "left":
			want = append(want, fmt.Sprintf("+I[%d, %d, %d, NULL, NULL, NULL]", l.k, l.ts, l.v))
		}
	}
	var got []string
	for _, line := range strings.Split(out.log.String(), "\n") {
		if strings.HasPrefix(line, "+I") {
			got = append(got, line)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got, "seed %d", seed)
}

// TestJoinStateBytes checks the regular join's state size estimate: it
// grows with the stored rows of either input, survives a restore and
// falls back when the rows are retracted.
func TestJoinStateBytes(t *testing.T) {
	var h *joinHarness
	datadriven.RunTestFromString(t, `
new kind=join changelog
left a BIGINT, b STRING
right c BIGINT, d STRING
spec {"type": "inner", "leftKeys": [0], "rightKeys": [0], "leftChangelog": true, "rightChangelog": true}
----
ok
`, func(t *testing.T, d *datadriven.TestData) string {
		var err error
		h, err = newJoinHarness(t, d, 0, false)
		require.NoError(t, err)
		return "ok"
	})
	defer h.close(t)
	feed := func(in string, rows ...string) {
		h.run(t, &datadriven.TestData{Cmd: in, Input: strings.Join(rows, "\n")})
	}
	bytes := func() int64 { return h.op.(StateSizer).StateBytes() }
	require.Zero(t, bytes())
	feed("left", "1, a", "2, b")
	two := bytes()
	require.Positive(t, two)
	feed("right", "1, x")
	both := bytes()
	require.Greater(t, both, two)
	h.snapshotRestore(t)
	feed("left", "-D[1, a]")
	require.Less(t, bytes(), both)
}
