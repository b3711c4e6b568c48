package exec

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/agg"
)

// The local group aggregate (KindLocalGroupAggregate, spec
// LocalGroupAggregateSpec) is the first phase of a two-phase group
// aggregate, Flink's MiniBatchLocalGroupAggFunction. It runs chained after
// its input, before the hash exchange, so that a hot key's rows are folded
// into one accumulator row per mini-batch before they are shuffled.
//
// Contract:
//   - Each input batch is applied at once: its keys are hashed and mapped
//     to the bundle's groups by the group aggregate's vectorized hash
//     table, every call's accumulators are updated with one typed loop per
//     call (agg.State.Accumulate; -U/-D rows retract), and the row count of
//     each group moves by +1/-1 per row. The keys of the groups a batch
//     creates are copied out of it (one Take per key column), so no input
//     batch is retained.
//   - The bundle is flushed when it holds 'table.exec.mini-batch.size'
//     rows (a batch that overfills it is cut there), when its first row has waited 'table.exec.mini-batch.allow-
//     latency' (OnProcessingTime), before a watermark is forwarded, at the
//     end of the input and before a checkpoint barrier
//     (PrepareSnapshotPreBarrier). Without mini-batch every batch is a
//     bundle.
//   - A DISTINCT call accumulates no result: per group it keeps its
//     distinct view, the values of its argument (its FILTER passed) with
//     the change of their counts (agg.NewLocalState), which the global
//     phase merges into its distinct state.
//   - A flush emits one insert-only batch: a row per group the bundle
//     touched, in Flink's bundle order (bundle_order.go), with its keys, each call's accumulator fields
//     (agg.State.Drain, agg.GroupAccumulators order: a DISTINCT call's
//     view as a list of values and a list of counts) and, over a changelog,
//     the change of its row count (Flink's count1), then forgets every
//     group. Accumulators are changes: a group whose rows cancel out
//     still emits its (zero) row, which the global phase ignores or
//     folds without a visible change.
//   - It holds no state across checkpoints: Snapshot returns nil (an
//     error if rows are still buffered, which PrepareSnapshotPreBarrier
//     prevents) and Restore accepts only an empty state.

func init() { RegisterOperator(KindLocalGroupAggregate, newLocalGroupAgg) }

type localGroupAgg struct {
	spec LocalGroupAggregateSpec
	out  *arrow.Schema
	// acc[i] are the Arrow types of call i's accumulator fields, at output
	// columns accOff[i]...
	acc    [][]arrow.DataType
	accOff []int
	mem    memory.Allocator
	clock  Clock

	// tbl holds the bundle: hash table, keys, per-group row counts (rows)
	// and accumulators. Its groups live until the next flush.
	tbl groupAgg

	size    int   // mini-batch rows; 0 flushes after every batch
	latency int64 // ms
	rows    int   // input rows in the bundle
	since   int64 // processing time of the bundle's first row

	// keys[c] holds, per batch that created groups, the Take of key
	// column c at those groups' first rows, in slot order.
	keys  [][]arrow.Array
	first []int32
	slots []int32 // the groups of a flush, in emission order
	// hashOrder emits a flush's groups in Flink's bundle order
	// (bundleOrder), as its mini-batch local aggregate does; otherwise in
	// insertion order.
	hashOrder bool
	order     bundleOrder
	cols      []arrow.Array
}

func newLocalGroupAgg(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	l := &localGroupAgg{}
	if err := json.Unmarshal(spec.Spec, &l.spec); err != nil {
		return nil, fmt.Errorf("local-group-aggregate spec: %w", err)
	}
	if spec.Changelog {
		return nil, fmt.Errorf("local-group-aggregate: the output is insert-only accumulators, not a changelog")
	}
	if len(l.spec.ArgTypes) != len(l.spec.Calls) {
		return nil, fmt.Errorf("local-group-aggregate: %d argument type lists for %d calls", len(l.spec.ArgTypes), len(l.spec.Calls))
	}
	l.out = spec.ArrowSchema()
	col := len(l.spec.Keys)
	for i, c := range l.spec.Calls {
		fields, ok := agg.GroupAccumulators(c, l.spec.ArgTypes[i], l.spec.InputChangelog)
		if !ok {
			return nil, fmt.Errorf("local-group-aggregate: aggregate %s cannot be split into local and global phases", c)
		}
		l.accOff = append(l.accOff, col)
		var dts []arrow.DataType
		for _, f := range fields {
			dts = append(dts, f.Type.Arrow())
		}
		l.acc = append(l.acc, dts)
		col += len(fields)
	}
	if l.spec.InputChangelog {
		col++ // the row count
	}
	if l.out.NumFields() != col {
		return nil, fmt.Errorf("local-group-aggregate: output schema has %d columns, want %d", l.out.NumFields(), col)
	}
	for i, dts := range l.acc {
		for j, dt := range dts {
			if have := l.out.Field(l.accOff[i] + j).Type; !arrow.TypeEqual(have, dt) {
				return nil, fmt.Errorf("local-group-aggregate: accumulator column %d is %s, want %s", l.accOff[i]+j, have, dt)
			}
		}
	}
	if l.spec.InputChangelog && l.out.Field(col-1).Type.ID() != arrow.INT64 {
		return nil, fmt.Errorf("local-group-aggregate: the row count column is %s, want BIGINT", l.out.Field(col-1).Type)
	}
	l.tbl.spec = GroupAggregateSpec{Keys: l.spec.Keys, Calls: l.spec.Calls, InputChangelog: l.spec.InputChangelog}
	l.tbl.out = l.out
	l.tbl.local = true
	return l, nil
}

func (l *localGroupAgg) Open(ctx *OperatorContext) error {
	l.mem, l.clock = ctx.Mem, ctx.Clock
	if l.clock == nil {
		l.clock = SystemClock{}
	}
	l.tbl.mem, l.tbl.clock = l.mem, l.clock
	l.tbl.table = make([]int32, 16)
	l.tbl.cols = make([]arrow.Array, l.out.NumFields())
	l.cols = make([]arrow.Array, l.out.NumFields())
	l.keys = make([][]arrow.Array, len(l.spec.Keys))
	var err error
	l.size, l.latency, err = MiniBatchOptions(ctx.Config)
	l.hashOrder = l.size > 0
	return err
}

// init builds the bundle's keys and accumulators from the first batch
// (DISTINCT calls over equal arguments then share one view) and checks
// that the arguments have the types the accumulators were planned for.
func (l *localGroupAgg) init(first arrow.RecordBatch) error {
	schema := first.Schema()
	if err := l.tbl.initFrom(schema, first); err != nil {
		return fmt.Errorf("local-%w", err)
	}
	for i, c := range l.spec.Calls {
		if !l.tbl.states[i].Mergeable() {
			return fmt.Errorf("local-group-aggregate: aggregate %s cannot be split into local and global phases", c)
		}
		for j, a := range c.Args {
			if want := l.spec.ArgTypes[i][j].Arrow(); !arrow.TypeEqual(schema.Field(a).Type, want) {
				return fmt.Errorf("local-group-aggregate: argument column %d of %s is %s, planned as %s", a, c, schema.Field(a).Type, want)
			}
		}
	}
	return nil
}

func (l *localGroupAgg) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	g := &l.tbl
	if !g.ready {
		if err := l.init(b); err != nil {
			return err
		}
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if l.size == 0 || l.rows+n <= l.size {
		return l.accumulate(b, out)
	}
	return forEachBundlePart(b, l.size, &l.rows, func(part arrow.RecordBatch) error { return l.accumulate(part, out) })
}

// accumulate applies b, which does not overfill the bundle, and flushes
// the bundle once it is full.
func (l *localGroupAgg) accumulate(b arrow.RecordBatch, out Output) error {
	g := &l.tbl
	n := int(b.NumRows())
	if l.rows == 0 {
		l.since = l.clock.NowMillis()
	}
	prev := int32(g.nSlots)
	if err := g.mapRows(b, 0); err != nil {
		return err
	}
	for i, s := range g.slots {
		if g.retract[i] {
			g.rows[s]--
		} else {
			g.rows[s]++
		}
	}
	for _, st := range g.states {
		st.Accumulate(b, g.slots, g.retract)
	}
	err := l.takeNewKeys(b, prev)
	clear(g.keyCols)
	if err != nil {
		return err
	}
	l.rows += n
	if l.size == 0 || l.rows >= l.size {
		return l.flush(out)
	}
	return nil
}

// takeNewKeys copies the keys of the groups b created (slots from prev
// on, which the table hands out in order between flushes) out of b.
func (l *localGroupAgg) takeNewKeys(b arrow.RecordBatch, prev int32) error {
	g := &l.tbl
	created := int(int32(g.nSlots) - prev)
	if created == 0 || len(l.spec.Keys) == 0 {
		return nil
	}
	l.first = growLen(l.first, created)[:created]
	for j := range l.first {
		l.first[j] = -1
	}
	for i, s := range g.slots {
		if s >= prev && l.first[s-prev] < 0 {
			l.first[s-prev] = int32(i)
		}
	}
	if err := g.takeKeys(b, l.first); err != nil {
		g.releaseCols()
		return err
	}
	for c := range l.spec.Keys {
		l.keys[c] = append(l.keys[c], g.cols[c])
		g.cols[c] = nil
	}
	return nil
}

// flush emits the bundle's accumulator rows and forgets its groups.
func (l *localGroupAgg) flush(out Output) error {
	g := &l.tbl
	n := g.nSlots
	if l.rows == 0 && n == 0 {
		return nil
	}
	defer l.reset()
	if n == 0 {
		return nil
	}
	for c, parts := range l.keys {
		if len(parts) == 1 {
			parts[0].Retain()
			l.cols[c] = parts[0]
			continue
		}
		col, err := array.Concatenate(parts, l.mem)
		if err != nil {
			return fmt.Errorf("local-group-aggregate: %w", err)
		}
		l.cols[c] = col
	}
	if err := l.orderGroups(n); err != nil {
		return err
	}
	for i, st := range g.states {
		off := l.accOff[i]
		if err := st.Drain(l.mem, l.acc[i], l.slots, l.cols[off:off+len(l.acc[i])]); err != nil {
			return fmt.Errorf("local-group-aggregate: %w", err)
		}
	}
	if l.spec.InputChangelog {
		cb := array.NewInt64Builder(l.mem)
		cb.Reserve(n)
		for _, s := range l.slots {
			cb.UnsafeAppend(g.rows[s])
		}
		l.cols[len(l.cols)-1] = cb.NewArray()
		cb.Release()
	}
	res := array.NewRecordBatch(l.out, l.cols, int64(n))
	defer res.Release()
	return out.Emit(res)
}

// orderGroups sets l.slots to the bundle's n groups in Flink's emission
// order (bundleOrder) and the key columns to match.
func (l *localGroupAgg) orderGroups(n int) error {
	keys := l.cols[:len(l.spec.Keys)]
	ok := false
	if l.hashOrder {
		l.slots, ok = l.order.order(keys, nil, n, l.slots)
	}
	if !ok {
		l.slots = growLen(l.slots, n)[:n]
		for s := range l.slots {
			l.slots[s] = int32(s)
		}
		return nil
	}
	if isIdentity(l.slots) {
		return nil
	}
	idx := array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(l.slots))}, nil, 0, 0))
	defer idx.Release()
	ctx := compute.WithAllocator(context.Background(), l.mem)
	for c, col := range keys {
		taken, err := compute.TakeArray(ctx, col, idx)
		if err != nil {
			return fmt.Errorf("local-group-aggregate: %w", err)
		}
		col.Release()
		keys[c] = taken
	}
	return nil
}

func isIdentity(perm []int32) bool {
	for i, p := range perm {
		if p != int32(i) {
			return false
		}
	}
	return true
}

// reset empties the bundle: the table forgets every group (their
// accumulators were drained, their slots are handed out again from 0).
func (l *localGroupAgg) reset() {
	g := &l.tbl
	clear(g.rows[:g.nSlots])
	clear(g.live[:g.nSlots])
	clear(g.table)
	g.nSlots, g.nLive = 0, 0
	l.rows = 0
	for c, parts := range l.keys {
		releaseArrays(parts)
		l.keys[c] = parts[:0]
	}
	for i, c := range l.cols {
		if c != nil {
			c.Release()
			l.cols[i] = nil
		}
	}
}

// ProcessWatermark flushes the bundle so that its results precede the
// watermark, as Flink's bundle operators finish their bundle first.
func (l *localGroupAgg) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if err := l.flush(out); err != nil {
		return err
	}
	return out.EmitWatermark(wm)
}

func (l *localGroupAgg) EndInput(_ int, out Output) error { return l.flush(out) }

// OnProcessingTime flushes a bundle whose first row waited the latency.
func (l *localGroupAgg) OnProcessingTime(out Output) error {
	if l.rows > 0 && l.clock.NowMillis()-l.since >= l.latency {
		return l.flush(out)
	}
	return nil
}

// usesProcessingTime tells the task to wake the operator only with
// mini-batch on.
func (l *localGroupAgg) usesProcessingTime() bool { return l.size > 0 }

// PrepareSnapshotPreBarrier flushes the bundle ahead of the barrier.
func (l *localGroupAgg) PrepareSnapshotPreBarrier(out Output) error { return l.flush(out) }

func (l *localGroupAgg) Snapshot() ([]byte, error) {
	if l.rows > 0 {
		return nil, fmt.Errorf("local-group-aggregate: internal error: snapshot with %d buffered rows (PrepareSnapshotPreBarrier flushes them)", l.rows)
	}
	return nil, nil
}

func (l *localGroupAgg) Restore(state []byte) error {
	if len(state) > 0 {
		return fmt.Errorf("local-group-aggregate: the local phase keeps no state, got %d bytes", len(state))
	}
	return nil
}

func (l *localGroupAgg) Close() error {
	if l.keys != nil {
		l.reset()
	}
	l.tbl.states, l.tbl.keys, l.tbl.table = nil, nil, nil
	return nil
}
