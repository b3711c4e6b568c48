package exec

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// TestChangelogNormalize runs the scripts in testdata/normalize with the
// row operators' harness (see TestRowOperators for its commands). The
// first command creates the operator; its input block is the input schema
// and optionally a condition on a second line (`where <($1, 3)`, in the
// join scripts' expression syntax):
//
//	normalize keys=(0) [ttl=<ms>] [insert-only] [drop-update-before]
//
// insert-only declares the output insert-only (an invalid plan). state
// prints the keys not expired at the clock's time and the rows held.
// Scripts are replayed as replayScripts describes.
func TestChangelogNormalize(t *testing.T) {
	replayRowOperatorScripts(t, []string{"normalize"}, runNormalize)
}

// runNormalize handles the commands specific to the normalize scripts and
// hands the rest to the row operators' harness.
func runNormalize(t *testing.T, h *rowOpHarness, d *datadriven.TestData) string {
	switch d.Cmd {
	case "normalize":
		h.close(t)
		schemaLine, where, _ := strings.Cut(strings.TrimSpace(d.Input), "\nwhere ")
		in := gaParseSchema(t, strings.TrimSpace(schemaLine))
		var s ChangelogNormalizeSpec
		if where != "" {
			e, rest := parseJoinExpr(t, where, in.Columns)
			require.Empty(t, strings.TrimSpace(rest))
			raw, err := expr.Marshal(e)
			require.NoError(t, err)
			s.Condition = raw
		}
		s.Keys = intsArg(t, d, "keys")
		if d.HasArg("ttl") {
			d.ScanArgs(t, "ttl", &s.StateTTLMillis)
		}
		s.DropUpdateBefore = d.HasArg("drop-update-before")
		h.cl = true
		h.input = BatchSchema(in, true)
		h.spec = OperatorSpec{Kind: KindChangelogNormalize, Name: d.Cmd, Schema: in,
			Changelog: !d.HasArg("insert-only"), Spec: mustJSON(t, s)}
		return h.start()
	case "state":
		op := h.op.(*normalizeOp)
		return fmt.Sprintf("keys=%d rows=%d\n", h.liveParts(op.parts, op.spec.StateTTLMillis), op.store.live)
	}
	return h.run(t, d)
}

// TestChangelogNormalizeRescale restores one snapshot into the two
// subtasks of a rescaled job: each keeps exactly the keys the Hash
// exchange sends it, and deletes them emitting the kept rows.
func TestChangelogNormalizeRescale(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindChangelogNormalize, Schema: in, Changelog: true,
		Spec: mustJSON(t, ChangelogNormalizeSpec{Keys: []int{0}})}
	open := func(subtask, par int) *normalizeOp {
		ctx := &OperatorContext{Subtask: subtask, Parallelism: par, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
		op, err := newChangelogNormalize(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op.(*normalizeOp)
	}
	batch := func(kind connector.RowKind, vals bool) arrow.RecordBatch {
		rb := array.NewRecordBuilder(mem, BatchSchema(in, true))
		defer rb.Release()
		for k := range int64(64) {
			rb.Field(0).(*array.Int64Builder).Append(k)
			if vals {
				rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("v%d", k))
			} else {
				rb.Field(1).AppendNull()
			}
			rb.Field(2).(*array.Int8Builder).Append(int8(kind))
		}
		return rb.NewRecordBatch()
	}
	src := open(0, 1)
	b := batch(connector.UpdateAfter, true)
	require.NoError(t, src.ProcessBatch(0, b, gaDiscard{}))
	state, err := src.Snapshot()
	require.NoError(t, err)
	require.NoError(t, src.Close())
	hashes := make([]uint64, b.NumRows())
	require.NoError(t, hashRows(b, []int{0}, hashes))
	b.Release()
	owned := [2]int{}
	for _, h := range hashes {
		owned[targetOf(h, 2)]++
	}
	del := batch(connector.Delete, false)
	defer del.Release()
	for sub := range 2 {
		op := open(sub, 2)
		require.NoError(t, op.Restore(state))
		require.Equal(t, owned[sub], op.parts.count, "subtask %d", sub)
		require.Equal(t, owned[sub], op.store.live)
		var out normalizedDeletes
		require.NoError(t, op.ProcessBatch(0, del, &out))
		require.Equal(t, owned[sub], out.rows, "subtask %d deletes", sub)
		require.Equal(t, 0, op.store.live)
		require.NoError(t, op.Close())
	}
	require.Positive(t, owned[0])
	require.Positive(t, owned[1])
}

// normalizedDeletes counts the rows emitted and checks that deletes carry
// the kept value, not the incoming NULL.
type normalizedDeletes struct{ rows int }

func (o *normalizedDeletes) Emit(b arrow.RecordBatch) error {
	for i := range int(b.NumRows()) {
		if b.Column(1).IsNull(i) {
			return fmt.Errorf("row %d has a NULL value", i)
		}
	}
	o.rows += int(b.NumRows())
	return nil
}

func (o *normalizedDeletes) EmitWatermark(Watermark) error { return nil }

// "test-upsert" is an upsert source of (k BIGINT, v BIGINT): subtask s
// emits rows i in [0, rows) with key s*keys + i%keys, so each key comes
// from one subtask in order; every 5th row is -D(k, NULL), the others
// +U(k, i).
type upsertFactory struct{}

var upsertSchema = types.Schema{Columns: []types.Column{
	{Name: "k", Type: types.BigIntType.WithNullable(false)}, {Name: "v", Type: types.BigIntType}}}

func init() { connector.Register(upsertFactory{}) }

func (upsertFactory) Identifier() string { return "test-upsert" }
func (upsertFactory) Options() []connector.Option {
	return []connector.Option{
		{Key: "rows", Type: connector.Long, Default: "0"},
		{Key: "keys", Type: connector.Long, Default: "10"},
	}
}
func (upsertFactory) ValidateSource(connector.TableInfo) (connector.ScanProperties, error) {
	return connector.ScanProperties{Bounded: true, Changelog: connector.UpsertChangelog}, nil
}

func (upsertFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	r := &upsertReader{mem: ctx.Mem, batch: int64(ctx.BatchSize), sub: int64(ctx.Subtask)}
	fmt.Sscan(spec.Table.Options["rows"], &r.rows)
	fmt.Sscan(spec.Table.Options["keys"], &r.keys)
	return r, nil
}

// upsertEvent is row i of subtask sub of the test-upsert source.
func upsertEvent(sub, i, keys int64) (k int64, kind connector.RowKind) {
	kind = connector.UpdateAfter
	if i%5 == 4 {
		kind = connector.Delete
	}
	return sub*keys + i%keys, kind
}

type upsertReader struct {
	mem                          memory.Allocator
	sub, next, rows, keys, batch int64
}

func (r *upsertReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := min(r.batch, r.rows-r.next)
	if n <= 0 {
		return nil, io.EOF
	}
	b := array.NewRecordBuilder(r.mem, BatchSchema(upsertSchema, true))
	defer b.Release()
	for i := r.next; i < r.next+n; i++ {
		k, kind := upsertEvent(r.sub, i, r.keys)
		b.Field(0).(*array.Int64Builder).Append(k)
		if kind == connector.Delete {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(i)
		}
		b.Field(2).(*array.Int8Builder).Append(int8(kind))
	}
	r.next += n
	return b.NewRecordBatch(), nil
}

func (r *upsertReader) Snapshot() ([]byte, error) { return nil, nil }
func (r *upsertReader) Restore([]byte) error      { return nil }
func (r *upsertReader) Close() error              { return nil }

// TestChangelogNormalizeJob runs the operator in a job: a parallel upsert
// source, a hash exchange on the key, two normalize subtasks and a
// collect. The output must be a consistent retract stream (+I of absent
// keys, -U/-D of exactly the row held, +U after -U) whose final state is
// each key's last upsert.
func TestChangelogNormalizeJob(t *testing.T) {
	const rows, keys = 2000, 37
	before := runtime.NumGoroutine()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := NewEmbeddedCluster(2, 2, mem)
	opts := map[string]string{"connector": "test-upsert", "rows": strconv.Itoa(rows), "keys": strconv.Itoa(keys)}
	g := &JobGraph{
		Name:   "normalize",
		Config: map[string]string{BatchSizeKey: "64"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: KindSource, Name: "Scan", Schema: upsertSchema, Changelog: true,
					Spec: mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "upsert", Schema: upsertSchema, Options: opts}})}}},
			{ID: 2, Name: "Normalize", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: KindChangelogNormalize, Name: "ChangelogNormalize", Schema: upsertSchema, Changelog: true,
					Spec: mustJSON(t, ChangelogNormalizeSpec{Keys: []int{0}})},
				{Kind: KindCollect, Name: "Collect", Schema: upsertSchema, Changelog: true, Spec: mustJSON(t, CollectSpec{ID: "out"})}}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{0}}},
	}
	ctx := context.Background()
	j, err := c.Submit(ctx, g)
	require.NoError(t, err)
	res, err := j.Results("out")
	require.NoError(t, err)
	held := map[int64]int64{}
	retracted := map[int64]bool{} // -U seen, +U expected next
	for {
		b, err := res.Next(ctx)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		kinds := b.Column(2).(*array.Int8).Int8Values()
		vs := b.Column(1).(*array.Int64)
		for i, k := range b.Column(0).(*array.Int64).Int64Values() {
			require.True(t, vs.IsValid(i), "row %d of key %d has no value", i, k)
			v := vs.Value(i)
			cur, ok := held[k]
			switch kind := connector.RowKind(kinds[i]); kind {
			case connector.Insert:
				require.False(t, ok, "+I of held key %d", k)
				held[k] = v
			case connector.UpdateBefore:
				require.True(t, ok && cur == v, "-U[%d, %d] does not match the held row", k, v)
				retracted[k] = true
			case connector.UpdateAfter:
				require.True(t, retracted[k], "+U of key %d without -U", k)
				require.NotEqual(t, cur, v, "identical update of key %d", k)
				delete(retracted, k)
				held[k] = v
			case connector.Delete:
				require.True(t, ok && cur == v, "-D[%d, %d] does not match the held row", k, v)
				delete(held, k)
			}
		}
		b.Release()
	}
	require.NoError(t, j.Wait(ctx))
	require.Empty(t, retracted)
	want := map[int64]int64{}
	for sub := range int64(2) {
		for i := range int64(rows) {
			k, kind := upsertEvent(sub, i, keys)
			if kind == connector.Delete {
				delete(want, k)
			} else {
				want[k] = i
			}
		}
	}
	require.Equal(t, want, held)
	checkGoroutines(t, before)
}

// BenchmarkChangelogNormalize normalizes 8192-row batches of upserts over
// 100k keys (a BIGINT key, a BIGINT and a STRING value): after warm-up
// most rows update a kept key, emitting -U/+U.
func BenchmarkChangelogNormalize(b *testing.B) {
	const rows, keys = 8192, 100000
	mem := memory.NewGoAllocator()
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "v", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}}
	spec := OperatorSpec{Kind: KindChangelogNormalize, Schema: in, Changelog: true,
		Spec: mustJSON(b, ChangelogNormalizeSpec{Keys: []int{0}})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualClock{}}
	op, err := newChangelogNormalize(spec, ctx)
	require.NoError(b, err)
	require.NoError(b, op.Open(ctx))
	defer op.Close()
	benchOperator(b, op, mem, BatchSchema(in, true), rows, func(rb *array.RecordBuilder, x uint64) {
		kind := connector.UpdateAfter
		if x%16 == 0 {
			kind = connector.Delete
		}
		rb.Field(0).(*array.Int64Builder).Append(int64(x % keys))
		rb.Field(1).(*array.Int64Builder).Append(int64(x>>20) % 1000)
		rb.Field(2).(*array.StringBuilder).Append("payload")
		rb.Field(3).(*array.Int8Builder).Append(int8(kind))
	})
}
