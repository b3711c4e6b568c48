package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// The test connectors: "test-seq" produces rows (id BIGINT, k BIGINT,
// ts TIMESTAMP(3)) with id in [0, rows) split into contiguous ranges over
// the subtasks, k = id % mod and ts = id milliseconds; unbounded='true'
// keeps counting forever. "test-sink" stores what each subtask receives
// under the table option 'name', sleeping 'delay' per batch.

var seqSchema = types.Schema{Columns: []types.Column{
	{Name: "id", Type: types.BigIntType.WithNullable(false)},
	{Name: "k", Type: types.BigIntType.WithNullable(false)},
	{Name: "ts", Type: types.TimestampType(3).WithNullable(false)},
}}

type seqFactory struct{}

func (seqFactory) Identifier() string { return "test-seq" }
func (seqFactory) Options() []connector.Option {
	return []connector.Option{
		{Key: "rows", Type: connector.Long, Default: "0"},
		{Key: "mod", Type: connector.Long, Default: "10"},
		{Key: "unbounded", Type: connector.Bool, Default: "false"},
	}
}
func (seqFactory) ValidateSource(connector.TableInfo) (connector.ScanProperties, error) {
	return connector.ScanProperties{Bounded: true}, nil
}

func (seqFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	var rows, mod int64
	fmt.Sscan(spec.Table.Options["rows"], &rows)
	mod = 10
	if m, ok := spec.Table.Options["mod"]; ok {
		fmt.Sscan(m, &mod)
	}
	r := &seqReader{mem: ctx.Mem, batch: int64(ctx.BatchSize), mod: mod,
		unbounded: spec.Table.Options["unbounded"] == "true",
		schema:    seqSchema.Arrow()}
	r.next = rows * int64(ctx.Subtask) / int64(ctx.Parallelism)
	r.end = rows * int64(ctx.Subtask+1) / int64(ctx.Parallelism)
	return r, nil
}

type seqReader struct {
	mem                   memory.Allocator
	schema                *arrow.Schema
	next, end, batch, mod int64
	unbounded             bool
}

func (r *seqReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := min(r.batch, r.end-r.next)
	if r.unbounded {
		n = r.batch
	}
	if n <= 0 {
		return nil, io.EOF
	}
	b := array.NewRecordBuilder(r.mem, r.schema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	ks := b.Field(1).(*array.Int64Builder)
	ts := b.Field(2).(*array.TimestampBuilder)
	ids.Reserve(int(n))
	ks.Reserve(int(n))
	ts.Reserve(int(n))
	for i := r.next; i < r.next+n; i++ {
		ids.UnsafeAppend(i)
		ks.UnsafeAppend(i % r.mod)
		ts.UnsafeAppend(arrow.Timestamp(i))
	}
	r.next += n
	return b.NewRecordBatch(), nil
}

func (r *seqReader) Snapshot() ([]byte, error) { return nil, nil }
func (r *seqReader) Restore([]byte) error      { return nil }
func (r *seqReader) Close() error              { return nil }

// sinkStore is what a test-sink table received, per subtask.
type sinkStore struct {
	mu       sync.Mutex
	ids      map[int][]int64
	ks       map[int][]int64
	finished map[int]bool
}

var (
	storesMu sync.Mutex
	stores   = map[string]*sinkStore{}
)

func newStore(t *testing.T) (string, *sinkStore) {
	storesMu.Lock()
	defer storesMu.Unlock()
	name := fmt.Sprintf("%s-%d", t.Name(), len(stores))
	s := &sinkStore{ids: map[int][]int64{}, ks: map[int][]int64{}, finished: map[int]bool{}}
	stores[name] = s
	return name, s
}

func (s *sinkStore) all() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int64
	for _, ids := range s.ids {
		out = append(out, ids...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

type sinkFactory struct{}

func (sinkFactory) Identifier() string { return "test-sink" }
func (sinkFactory) Options() []connector.Option {
	return []connector.Option{
		{Key: "name", Type: connector.String},
		{Key: "delay", Type: connector.Duration},
		{Key: "discard", Type: connector.Bool},
	}
}
func (sinkFactory) ValidateSink(connector.TableInfo) (connector.SinkProperties, error) {
	return connector.SinkProperties{}, nil
}

func (sinkFactory) CreateWriter(spec connector.SinkSpec, ctx connector.ReaderContext) (connector.SinkWriter, error) {
	if spec.Table.Options["discard"] == "true" {
		return discardWriter{}, nil
	}
	storesMu.Lock()
	s := stores[spec.Table.Options["name"]]
	storesMu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("no store %q", spec.Table.Options["name"])
	}
	var delay time.Duration
	if d := spec.Table.Options["delay"]; d != "" {
		delay, _ = time.ParseDuration(d)
	}
	return &testWriter{s: s, subtask: ctx.Subtask, delay: delay}, nil
}

type testWriter struct {
	s       *sinkStore
	subtask int
	delay   time.Duration
}

func (w *testWriter) Write(b arrow.RecordBatch) error {
	time.Sleep(w.delay)
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.ids[w.subtask] = append(w.s.ids[w.subtask], b.Column(0).(*array.Int64).Int64Values()...)
	if b.NumCols() > 1 {
		w.s.ks[w.subtask] = append(w.s.ks[w.subtask], b.Column(1).(*array.Int64).Int64Values()...)
	}
	return nil
}

func (w *testWriter) Finish() error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.s.finished[w.subtask] = true
	return nil
}

func (w *testWriter) Close() error { return nil }

type discardWriter struct{}

func (discardWriter) Write(arrow.RecordBatch) error { return nil }
func (discardWriter) Finish() error                 { return nil }
func (discardWriter) Close() error                  { return nil }

// failOp is the "test-fail" operator: it fails on its spec's batch number.
type failOp struct {
	after, seen int
}

func (f *failOp) Open(*OperatorContext) error { return nil }
func (f *failOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if f.seen++; f.seen > f.after {
		return fmt.Errorf("boom")
	}
	return out.Emit(b)
}
func (f *failOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}
func (f *failOp) EndInput(int, Output) error { return nil }
func (f *failOp) Snapshot() ([]byte, error)  { return nil, nil }
func (f *failOp) Restore([]byte) error       { return nil }
func (f *failOp) Close() error               { return nil }

func init() {
	connector.Register(seqFactory{})
	connector.Register(sinkFactory{})
	RegisterOperator("test-fail", func(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
		f := &failOp{}
		return f, json.Unmarshal(spec.Spec, &f.after)
	})
}

// Graph-building helpers.

// windowTVFSchema is the schema a window table function gives over in:
// its columns followed by window_start, window_end and the rowtime
// window_time, as TIMESTAMP(3) NOT NULL.
func windowTVFSchema(in types.Schema) types.Schema {
	ts3 := types.TimestampType(3).WithNullable(false)
	return types.Schema{Columns: append(slicesClone(in.Columns),
		types.Column{Name: "window_start", Type: ts3}, types.Column{Name: "window_end", Type: ts3},
		types.Column{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)})}
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

func sourceOp(t testing.TB, opts map[string]string) OperatorSpec {
	opts["connector"] = "test-seq"
	return OperatorSpec{Kind: KindSource, Name: "Scan", Schema: seqSchema,
		Spec: mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "seq", Schema: seqSchema, Options: opts}})}
}

func sinkOp(t testing.TB, name string, opts map[string]string) OperatorSpec {
	if opts == nil {
		opts = map[string]string{}
	}
	opts["connector"], opts["name"] = "test-sink", name
	return OperatorSpec{Kind: KindSink, Name: "Sink", Schema: seqSchema,
		Spec: mustJSON(t, connector.SinkSpec{Table: connector.TableInfo{Name: name, Schema: seqSchema, Options: opts}})}
}

func col(i int) *expr.ColumnRef {
	c := seqSchema.Columns[i]
	return &expr.ColumnRef{Index: i, Name: c.Name, T: c.Type}
}

func marshal(t testing.TB, e expr.Expr) json.RawMessage {
	raw, err := expr.Marshal(e)
	require.NoError(t, err)
	return raw
}

// calcOp projects all columns of seq, keeping rows where cond holds.
func calcOp(t testing.TB, cond expr.Expr) OperatorSpec {
	s := CalcSpec{Projections: []json.RawMessage{marshal(t, col(0)), marshal(t, col(1)), marshal(t, col(2))}}
	if cond != nil {
		s.Condition = marshal(t, cond)
	}
	return OperatorSpec{Kind: KindCalc, Name: "Calc", Schema: seqSchema, Spec: mustJSON(t, s)}
}

// runJob submits g to a fresh cluster with a checked allocator, waits, and
// checks that every buffer was released and no goroutine leaked.
func runJob(t *testing.T, g *JobGraph, slots int) (*Job, error) {
	t.Helper()
	before := runtime.NumGoroutine()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	c := NewEmbeddedCluster(1, slots, mem)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := c.Submit(ctx, g)
	require.NoError(t, err)
	err = j.Wait(ctx)
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	mem.AssertSize(t, 0)
	checkGoroutines(t, before)
	return j, err
}

// checkGoroutines waits for the goroutine count to fall back to before.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines leaked: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func opStats(j *Job, vertex, index int) OperatorStats {
	for _, s := range j.Metrics() {
		if s.Vertex == vertex && s.Index == index {
			return s
		}
	}
	return OperatorStats{}
}
