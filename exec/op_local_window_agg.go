package exec

import (
	"encoding/json"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

// The local window aggregate (KindLocalWindowAggregate, spec
// LocalWindowAggregateSpec) is the first phase of a two-phase window
// aggregate, Flink's LocalWindowAggregate (LocalSlicingWindowAggOperator).
// It runs chained after its input, before the hash exchange, so that a
// hot key's rows are folded into one accumulator row per slice before
// they are shuffled.
//
// Contract:
//   - A row's slice is identified by the first end of its windows
//     (WindowSpec.firstEnds): rows with the same first end share all their
//     windows, so the global phase merges a slice's accumulators into each
//     of them. For attached windows (a cascaded window aggregate) the slice
//     is the row's window, whose end the row carries.
//   - Each input batch is applied at once by the local group aggregate's
//     vectorized machinery (op_local_group_agg.go), keyed by the keys and
//     the slice end, which the operator computes for the whole batch and
//     appends as a column; no input batch is retained.
//   - The buffer is flushed when a watermark reaches the end of a
//     buffered slice (so that its windows may fire downstream and the
//     global phase must have its rows first), when it holds
//     localWindowBufferRows rows (Flink bounds it by its memory), at the
//     end of the input and before a checkpoint barrier
//     (PrepareSnapshotPreBarrier). Watermarks are forwarded after the
//     flush they cause.
//   - A flush emits one insert-only batch: per (key, slice) the key
//     columns, each call's accumulator fields (agg.State.Drain,
//     agg.Accumulators order), over an updating input (InputChangelog,
//     whose -U/-D rows retract) the change of the row count (Flink's
//     count1), and $slice_end, then forgets every group.
//   - Rows are never late here: the global phase decides lateness by
//     its watermark, as Flink's local window aggregate leaves it to the
//     global one.
//   - It holds no state across checkpoints: Snapshot returns nil (an
//     error if rows are still buffered, which PrepareSnapshotPreBarrier
//     prevents) and Restore accepts only an empty state.

func init() { RegisterOperator(KindLocalWindowAggregate, newLocalWindowAgg) }

// localWindowBufferRows bounds the rows a local window aggregate folds
// before it flushes.
const localWindowBufferRows = 1 << 16

type localWindowAgg struct {
	spec LocalWindowAggregateSpec
	out  *arrow.Schema
	// inner is built on the first batch, whose width decides the index of
	// the appended slice end column; its output holds the keys, the slice
	// end, then the accumulators, which perm reorders to Flink's layout.
	inner     *localGroupAgg
	innerSpec OperatorSpec
	ctx       *OperatorContext
	mem       memory.Allocator
	perm      permutedOutput

	inSchema, augSchema *arrow.Schema
	// sliceCol is the slice end column of the batches given the inner
	// aggregate: after the input's columns, before its row kind column.
	sliceCol int
	ms, ends []int64
	cols     []arrow.Array
	// minEnd is the smallest buffered slice end (MaxInt64: none).
	minEnd int64
}

func newLocalWindowAgg(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	l := &localWindowAgg{out: spec.ArrowSchema(), minEnd: math.MaxInt64}
	if err := json.Unmarshal(spec.Spec, &l.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "local-window-aggregate spec")
	}
	if spec.Changelog {
		return nil, errs.Internalf("local-window-aggregate: the output is insert-only accumulators, not a changelog")
	}
	if l.spec.Window.Kind == WindowSession {
		return nil, errs.New(errs.InvalidPlan, "local-window-aggregate: SESSION windows are aggregated in one phase")
	}
	if err := l.spec.Window.Validate(true); err != nil {
		return nil, err
	}
	nk, n := len(l.spec.Keys), len(spec.Schema.Columns)
	if n < nk+1 {
		return nil, errs.Internalf("local-window-aggregate: output schema has %d columns for %d keys", n, nk)
	}
	if t := l.out.Field(n - 1).Type; t.ID() != arrow.TIMESTAMP {
		return nil, errs.Internalf("local-window-aggregate: the last column ($slice_end) is %s, want TIMESTAMP(3)", t)
	}
	// The inner local group aggregate's output: keys, $slice_end, then the
	// accumulators.
	inner := types.Schema{}
	inner.Columns = append(inner.Columns, spec.Schema.Columns[:nk]...)
	inner.Columns = append(inner.Columns, spec.Schema.Columns[n-1])
	inner.Columns = append(inner.Columns, spec.Schema.Columns[nk:n-1]...)
	l.perm.schema = l.out
	for i := range n {
		switch {
		case i < nk:
			l.perm.cols = append(l.perm.cols, i)
		case i < n-1:
			l.perm.cols = append(l.perm.cols, i+1)
		default:
			l.perm.cols = append(l.perm.cols, nk)
		}
	}
	l.perm.buf = make([]arrow.Array, n)
	l.innerSpec = OperatorSpec{Kind: KindLocalGroupAggregate, Name: spec.Name, Schema: inner}
	return l, nil
}

func (l *localWindowAgg) Open(ctx *OperatorContext) error {
	l.ctx, l.mem = ctx, ctx.Mem
	return nil
}

// init builds the inner local group aggregate for input batches of schema
// s, keyed by the keys and the slice end column added at s's end (before
// the row kind column of an updating input).
func (l *localWindowAgg) init(s *arrow.Schema) error {
	// The inner aggregate reads row kinds from its input's last column.
	sliceCol := s.NumFields()
	if l.spec.InputChangelog {
		sliceCol--
	}
	keys := append(append([]int(nil), l.spec.Keys...), sliceCol)
	raw, err := json.Marshal(LocalGroupAggregateSpec{Keys: keys, Calls: l.spec.Calls, ArgTypes: l.spec.ArgTypes,
		InputChangelog: l.spec.InputChangelog})
	if err != nil {
		return errs.Wrap(errs.InternalError, err, "local-window-aggregate")
	}
	is := l.innerSpec
	is.Spec = raw
	op, err := newLocalGroupAgg(is, l.ctx)
	if err != nil {
		return errs.Wrap(errs.InvalidPlan, err, "local-window-aggregate")
	}
	inner := op.(*localGroupAgg)
	if err := inner.Open(l.ctx); err != nil {
		return err
	}
	// The window operator decides its flushes (watermarks, barriers and
	// the buffer bound), not the mini-batch options. Flink's window buffer
	// (a BytesHashMap) emits in insertion order.
	inner.size = localWindowBufferRows
	inner.hashOrder = false
	l.inner = inner
	l.inSchema = s
	l.sliceCol = sliceCol
	fields := slices.Insert(s.Fields(), sliceCol, arrow.Field{Name: "$slice_end", Type: l.out.Field(l.out.NumFields() - 1).Type})
	l.augSchema = arrow.NewSchema(fields, nil)
	return nil
}

func (l *localWindowAgg) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if l.inner == nil {
		if err := l.init(b.Schema()); err != nil {
			return err
		}
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	l.ms = resize(l.ms, n)
	l.ends = resize(l.ends, n)
	if err := rowtimeMillis(b.Column(l.spec.TimeCol), l.ms, "window aggregate"); err != nil {
		return err
	}
	if l.spec.Attached {
		copy(l.ends, l.ms)
	} else {
		l.spec.Window.firstEnds(l.ms, l.ends)
	}
	minEnd := l.minEnd
	for _, e := range l.ends {
		minEnd = min(minEnd, e)
	}
	// The slice end column borrows l.ends: the inner aggregate copies the
	// keys of new groups out of the batch (Take) before it returns.
	data := array.NewData(l.augSchema.Field(l.sliceCol).Type, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(l.ends))}, nil, 0, 0)
	slice := array.MakeFromData(data)
	data.Release()
	l.cols = slices.Insert(append(l.cols[:0], b.Columns()...), l.sliceCol, slice)
	aug := array.NewRecordBatch(l.augSchema, l.cols, int64(n))
	slice.Release()
	clear(l.cols)
	l.perm.out = out
	err := l.inner.ProcessBatch(0, aug, &l.perm)
	aug.Release()
	if l.inner.rows == 0 {
		// The batch filled the buffer, which was flushed.
		minEnd = math.MaxInt64
	}
	l.minEnd = minEnd
	return err
}

// flush emits the buffered accumulator rows.
func (l *localWindowAgg) flush(out Output) error {
	if l.inner == nil {
		return nil
	}
	l.perm.out = out
	l.minEnd = math.MaxInt64
	return l.inner.flush(&l.perm)
}

// ProcessWatermark flushes the buffer when the watermark may fire a
// window of a buffered slice, then forwards the watermark.
func (l *localWindowAgg) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if l.minEnd != math.MaxInt64 && int64(wm) >= l.minEnd-1 {
		if err := l.flush(out); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

func (l *localWindowAgg) EndInput(_ int, out Output) error { return l.flush(out) }

// PrepareSnapshotPreBarrier flushes the buffer ahead of the barrier.
func (l *localWindowAgg) PrepareSnapshotPreBarrier(out Output) error { return l.flush(out) }

func (l *localWindowAgg) Snapshot() ([]byte, error) {
	if l.inner != nil && l.inner.rows > 0 {
		return nil, errs.Internalf("local-window-aggregate: snapshot with %d buffered rows (PrepareSnapshotPreBarrier flushes them)", l.inner.rows)
	}
	return nil, nil
}

func (l *localWindowAgg) Restore(state []byte) error {
	if len(state) > 0 {
		return errs.Internalf("local-window-aggregate: the local phase keeps no state, got %d bytes", len(state))
	}
	return nil
}

func (l *localWindowAgg) Close() error {
	if l.inner != nil {
		return l.inner.Close()
	}
	return nil
}

// permutedOutput emits batches with their columns reordered: column i of
// an emitted batch is column cols[i] of the batch given (no copy).
type permutedOutput struct {
	out    Output
	schema *arrow.Schema
	cols   []int
	buf    []arrow.Array
}

func (p *permutedOutput) Emit(b arrow.RecordBatch) error {
	for i, c := range p.cols {
		p.buf[i] = b.Column(c)
	}
	rec := array.NewRecordBatch(p.schema, p.buf, b.NumRows())
	clear(p.buf)
	defer rec.Release()
	return p.out.Emit(rec)
}

func (p *permutedOutput) EmitWatermark(wm Watermark) error { return p.out.EmitWatermark(wm) }
