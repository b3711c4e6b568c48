package exec

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The non-time over-aggregate operator (KindNonTimeOverAggregate, spec
// NonTimeOverAggregateSpec in specs.go) is Flink's OVER aggregation
// ordered by columns that are not a time attribute, with a frame from
// UNBOUNDED PRECEDING to the current row (Flink's
// NonTimeRowsUnboundedPrecedingFunction and
// NonTimeRangeUnboundedPrecedingFunction), or a bounded ROWS frame (n
// PRECEDING, which Flink does not support). Rows arrive in any order of
// their order keys, and on an updating input they are also retracted, so
// a change can alter the results of the rows already emitted after it.
//
// State per partition is its rows sorted by the order keys, ties in
// arrival order. Each input row is one change, handled as Flink does:
//
//   - an insert (+I or +U) is placed after its peers and emitted with its
//     result, keeping its row kind; a retraction (-U or -D) removes the
//     first stored row equal to it (all columns, NULL equal to NULL) and
//     emits it as -D with its last result. A retraction matching no row is
//     ignored.
//   - ROWS: every row after the changed one emits -U (old result) and +U
//     (new result); with n PRECEDING only the n rows after it, whose
//     frames hold it. RANGE: peers share one result, so the changed row's
//     peers and every later row emit -U/+U; the peers come first, in
//     arrival order, around the changed row.
//
// Flink skips the updates of a change that leaves the accumulators equal
// (a row whose arguments are all NULL); this operator still emits them,
// with equal old and new results.
//
// Aggregation is vectorized over agg.State accumulators. Slot p holds the
// aggregate of all rows of partition p, so a change at the end of the
// order (the common case of a growing key) costs one accumulate or
// retract. A change before other rows replays the partition twice into
// two scratch slots, its rows before and after the change, and reads the
// old and new results of every row from the replay. A batch's changes
// become one sequence of operations, applied with one Update per call,
// and its emitted rows read their results with one Build per call. A
// bounded ROWS frame keeps no partition aggregate: a change replays the
// frames of the rows it affects, sliding (accumulating the row entering
// a frame and retracting the one leaving) in two scratch slots.
//
// State TTL (StateTTLMillis > 0): a partition not written for that long
// (processing time, OperatorContext.Clock) is dropped: it behaves as empty
// when its key arrives again and is swept from memory once per TTL period.
//
// Snapshot: sections (appendSection): tag 0 holds the arrival counter;
// tag kg+1 the partitions of key group kg, each with its key and rows in
// order. Restore replays the rows into the partitions' accumulators,
// which rebuilds a DISTINCT call's value counts (see the over-aggregate
// operator) with them.

func init() { RegisterOperator(KindNonTimeOverAggregate, newNonTimeOver) }

type nonTimeOverOp struct {
	spec      NonTimeOverAggregateSpec
	nIn       int
	inTypes   []arrow.DataType
	ctx       *OperatorContext
	clock     Clock
	argCols   []int // input columns the calls read
	lastSweep int64

	parts  *partitionTable
	store  *rowStore
	rows   [][]int32 // per partition: slots in order, ties in arrival order
	states []*agg.State
	seq    int64

	in   joinBatch
	emit *rowEmitter

	// The operations of a batch: stored row opSlot[i] accumulates into (or
	// retracts from) accumulator slot opAcc[i].
	opSlot    []int32
	opAcc     []int32
	opRetract []bool
	// Per emitted row: the operation whose result it takes, before or
	// after it.
	emitOp     []int32
	emitBefore []bool
	// Scratch accumulator slots of a batch's replays start after the
	// partitions' slots.
	scratchBase, scratchNext int32
	// The result operations of a bounded change's rows, before and after.
	oldRes, newRes []int32
	partOf         []int32
	release        []int32
	scratch        colView
}

func newNonTimeOver(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	o := &nonTimeOverOp{ctx: ctx}
	if err := json.Unmarshal(spec.Spec, &o.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "non-time over-aggregate spec")
	}
	s := &o.spec
	o.nIn = spec.Schema.Len() - len(s.Calls)
	if !spec.Changelog || o.nIn <= 0 || len(s.Calls) == 0 {
		return nil, errs.New(errs.InvalidPlan, "non-time over-aggregate: the output must be a changelog of the input columns then one per call")
	}
	if len(s.OrderKeys) == 0 {
		return nil, errs.New(errs.InvalidPlan, "non-time over-aggregate: no order keys")
	}
	if s.Preceding < -1 || s.Preceding >= 0 && !s.Rows {
		return nil, errs.New(errs.InvalidPlan, "non-time over-aggregate: invalid frame (rows=%t, preceding=%d)", s.Rows, s.Preceding)
	}
	kinds, dts, err := storeKinds(spec.Schema, o.nIn, "OVER aggregate")
	if err != nil {
		return nil, err
	}
	for _, k := range s.PartitionKeys {
		if k < 0 || k >= o.nIn {
			return nil, errs.New(errs.InvalidPlan, "non-time over-aggregate: partition key %d out of range", k)
		}
	}
	for _, k := range s.OrderKeys {
		if k.Col < 0 || k.Col >= o.nIn {
			return nil, errs.New(errs.InvalidPlan, "non-time over-aggregate: order key %d out of range", k.Col)
		}
	}
	o.inTypes = dts
	// The partition accumulators retract the rows an updating input
	// retracts, and bounded frames the rows leaving them.
	if o.states, o.argCols, err = newOverStates("non-time over-aggregate", s.Calls, dts,
		s.InputChangelog || s.Preceding >= 0, spec, o.nIn); err != nil {
		return nil, err
	}
	o.parts = newPartitionTable(s.PartitionKeys, kinds)
	o.store = newRowStore(kinds)
	o.emit = newRowEmitter(ctx.Mem, spec, o.nIn, false)
	return o, nil
}

func (o *nonTimeOverOp) Open(ctx *OperatorContext) error {
	o.ctx = ctx
	o.emit.mem = ctx.Mem
	o.clock = clockOf(ctx)
	return nil
}

// compare orders row i of the current batch against stored slot sl.
func (o *nonTimeOverOp) compare(i int, sl int32) int {
	return compareToStored(o.spec.OrderKeys, o.in.views, i, o.store, sl)
}

// peers reports whether stored slots a and b have equal order keys.
func (o *nonTimeOverOp) peers(a, b int32) bool {
	for _, k := range o.spec.OrderKeys {
		sv := storedView(&o.store.cols[k.Col])
		if compareSortKey(k, &sv, int(a), &sv, int(b)) != 0 {
			return false
		}
	}
	return true
}

func (o *nonTimeOverOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if err := o.in.load(b, o.nIn, o.spec.PartitionKeys, o.spec.InputChangelog, false); err != nil {
		return fmt.Errorf("non-time over-aggregate: %w", err)
	}
	n := int(b.NumRows())
	var now int64
	ttl := o.spec.StateTTLMillis
	if ttl > 0 {
		now = o.clock.NowMillis()
		o.sweep(now)
	}
	// Partitions first, so that the scratch slots of the batch's replays
	// come after every partition's slot.
	o.partOf = resize(o.partOf, n)
	for i := range n {
		h := o.in.hashes[i]
		p := o.parts.find(h, o.in.views, i)
		if p >= 0 && o.parts.expired(p, ttl, now) {
			o.dropPartition(p)
			p = -1
		}
		if p < 0 {
			if o.in.kinds[i].IsRetraction() {
				o.partOf[i] = -1
				continue
			}
			p = o.parts.add(h, o.in.views, i, now)
			o.rows = growTo(o.rows, int(o.parts.n))
		}
		o.parts.touched[p] = now
		o.partOf[i] = p
	}
	for _, st := range o.states {
		st.Grow(int(o.parts.n))
	}
	o.scratchBase = o.parts.n
	o.scratchNext = o.scratchBase
	for i, p := range o.partOf[:n] {
		switch {
		case p < 0:
		case o.in.kinds[i].IsRetraction():
			o.retract(p, i)
		default:
			o.insert(p, i)
		}
	}
	err := o.aggregateAndEmit(out)
	for sl := o.scratchBase; sl < o.scratchNext; sl++ {
		for _, st := range o.states {
			st.Reset(sl)
		}
	}
	o.release = o.store.releaseAll(o.release)
	for _, p := range o.partOf[:n] {
		if p >= 0 && o.parts.live[p] && len(o.rows[p]) == 0 {
			o.dropPartition(p)
		}
	}
	return err
}

// dropPartition forgets partition p and its rows; no operation of the
// batch may refer to them any more.
func (o *nonTimeOverOp) dropPartition(p int32) {
	for _, sl := range o.rows[p] {
		o.store.release(sl)
	}
	for _, st := range o.states {
		st.Reset(p)
	}
	o.rows[p] = nil
	o.parts.remove(p)
}

// sweep drops expired partitions, at most once per TTL period.
func (o *nonTimeOverOp) sweep(now int64) {
	ttl := o.spec.StateTTLMillis
	if now-o.lastSweep < ttl {
		return
	}
	o.lastSweep = now
	for p := range o.parts.n {
		if o.parts.live[p] && o.parts.expired(p, ttl, now) {
			o.dropPartition(p)
		}
	}
}

// insert adds row i to partition p after its peers.
func (o *nonTimeOverOp) insert(p int32, i int) {
	rows := o.rows[p]
	pos, _ := slices.BinarySearchFunc(rows, i, func(sl int32, i int) int {
		if o.compare(i, sl) < 0 {
			return 1
		}
		return -1 // peers sort before the arriving row
	})
	o.seq++
	sl := o.store.put(o.in.views, i, o.seq)
	o.store.part[sl] = p
	rows = slices.Insert(rows, pos, sl)
	o.rows[p] = rows
	o.change(p, rows, pos, true, o.in.kinds[i])
}

// retract removes the first stored row of partition p equal to row i.
func (o *nonTimeOverOp) retract(p int32, i int) {
	rows := o.rows[p]
	lo, _ := slices.BinarySearchFunc(rows, i, func(sl int32, i int) int {
		if o.compare(i, sl) <= 0 {
			return 1
		}
		return -1
	})
	for pos := lo; pos < len(rows) && o.compare(i, rows[pos]) == 0; pos++ {
		if o.store.equalsRow(rows[pos], o.in.views, i) {
			o.change(p, rows, pos, false, connector.Delete)
			o.release = append(o.release, rows[pos])
			o.rows[p] = slices.Delete(rows, pos, pos+1)
			return
		}
	}
}

func (o *nonTimeOverOp) addOp(sl, acc int32, retract bool) int32 {
	o.opSlot = append(o.opSlot, sl)
	o.opAcc = append(o.opAcc, acc)
	o.opRetract = append(o.opRetract, retract)
	return int32(len(o.opSlot) - 1)
}

func (o *nonTimeOverOp) emitRow(k connector.RowKind, sl, op int32, before bool) {
	if k == connector.UpdateBefore && o.spec.DropUpdateBefore {
		// Leave the -U out here, where its result operation is recorded
		// along with the row.
		return
	}
	o.emit.add(k, sl, -1, 0)
	o.emitOp = append(o.emitOp, op)
	o.emitBefore = append(o.emitBefore, before)
}

// change records the operations and emitted rows of one change of
// partition p: full is its rows with the changed row at index pos, which
// is being inserted (ins, emitted with kind) or retracted.
func (o *nonTimeOverOp) change(p int32, full []int32, pos int, ins bool, kind connector.RowKind) {
	if o.spec.Preceding >= 0 {
		o.boundedChange(full, pos, ins, kind)
		return
	}
	n := len(full)
	total := o.addOp(full[pos], p, !ins)
	groupEnd := func(g0 int) int {
		g1 := g0 + 1
		if !o.spec.Rows {
			for g1 < n && o.peers(full[g1-1], full[g1]) {
				g1++
			}
		}
		return g1
	}
	// The first row whose result changes: the changed row, or its first
	// peer in a RANGE frame.
	start := pos
	if !o.spec.Rows {
		for start > 0 && o.peers(full[start-1], full[pos]) {
			start--
		}
	}
	// At the end of the order, the results before and after the change are
	// the partition's aggregate before and after it.
	tail := groupEnd(start) == n
	// Otherwise replay the rows without the inserted row (old) and without
	// the retracted one (new) into two scratch slots.
	var oldFirst, newFirst int32
	if !tail {
		oldAcc, newAcc := o.scratchNext, o.scratchNext+1
		o.scratchNext += 2
		oldFirst = int32(len(o.opSlot))
		for j, sl := range full {
			if !ins || j != pos {
				o.addOp(sl, oldAcc, false)
			}
		}
		newFirst = int32(len(o.opSlot))
		for j, sl := range full {
			if ins || j != pos {
				o.addOp(sl, newAcc, false)
			}
		}
	}
	// opOf is the replay operation of full[j] in the list without the
	// changed row (without) or with it.
	opOf := func(first int32, j int, without bool) int32 {
		if without && j > pos {
			j--
		}
		return first + int32(j)
	}
	for g0 := start; g0 < n; {
		g1 := groupEnd(g0)
		// A row's result is the aggregate up to the last row of its group:
		// the changed row is missing from the old (inserted) or new
		// (retracted) group.
		oldOp, newOp := total, total
		oldBefore := true
		if !tail {
			last := g1 - 1
			if ins && last == pos {
				last--
			}
			if last >= g0 {
				oldOp = opOf(oldFirst, last, ins)
			}
			last = g1 - 1
			if !ins && last == pos {
				last--
			}
			if last >= g0 {
				newOp = opOf(newFirst, last, !ins)
			}
			oldBefore = false
		}
		for j := g0; j < g1; j++ {
			switch {
			case j == pos && ins:
				o.emitRow(kind, full[j], newOp, false)
			case j == pos:
				o.emitRow(connector.Delete, full[j], oldOp, oldBefore)
			default:
				o.emitRow(connector.UpdateBefore, full[j], oldOp, oldBefore)
				o.emitRow(connector.UpdateAfter, full[j], newOp, false)
			}
		}
		g0 = g1
	}
}

// boundedChange is change for a frame of the n preceding rows: only the
// rows up to n after the changed one have it in their frames (further
// rows see the same rows before and after the change), so only their
// frames are replayed, before and after the change.
func (o *nonTimeOverOp) boundedChange(full []int32, pos int, ins bool, kind connector.RowKind) {
	end := min(len(full)-1, pos+int(o.spec.Preceding))
	with := func(k int) int32 { return full[k] }
	without := func(k int) int32 {
		if k >= pos {
			k++
		}
		return full[k]
	}
	if ins {
		// full[j], j > pos, was row j-1 of the old list.
		o.oldRes = o.slide(without, pos, end-1, o.oldRes)
		o.newRes = o.slide(with, pos, end, o.newRes)
		o.emitRow(kind, full[pos], o.newRes[0], false)
		for j := pos + 1; j <= end; j++ {
			o.emitRow(connector.UpdateBefore, full[j], o.oldRes[j-pos-1], false)
			o.emitRow(connector.UpdateAfter, full[j], o.newRes[j-pos], false)
		}
		return
	}
	o.oldRes = o.slide(with, pos, end, o.oldRes)
	o.newRes = o.slide(without, pos, end-1, o.newRes)
	o.emitRow(connector.Delete, full[pos], o.oldRes[0], false)
	for j := pos + 1; j <= end; j++ {
		o.emitRow(connector.UpdateBefore, full[j], o.oldRes[j-pos], false)
		o.emitRow(connector.UpdateAfter, full[j], o.newRes[j-pos-1], false)
	}
}

// slide replays, into a fresh scratch slot, the ROWS frames of the rows
// t0..t1 of a list (its row k is at(k)): the first frame whole, then each
// next one by retracting the row leaving it and accumulating the row
// entering it. It returns, per row, the operation after which the slot
// holds its frame.
func (o *nonTimeOverOp) slide(at func(int) int32, t0, t1 int, res []int32) []int32 {
	res = res[:0]
	if t0 > t1 {
		return res
	}
	acc := o.scratchNext
	o.scratchNext++
	n := int(o.spec.Preceding)
	var last int32
	for k := max(0, t0-n); k <= t0; k++ {
		last = o.addOp(at(k), acc, false)
	}
	res = append(res, last)
	for t := t0 + 1; t <= t1; t++ {
		if t-n-1 >= 0 {
			o.addOp(at(t-n-1), acc, true)
		}
		res = append(res, o.addOp(at(t), acc, false))
	}
	return res
}

// aggregateAndEmit applies the batch's operations and emits its rows with
// their results.
func (o *nonTimeOverOp) aggregateAndEmit(out Output) error {
	defer func() {
		o.opSlot, o.opAcc, o.opRetract = o.opSlot[:0], o.opAcc[:0], o.opRetract[:0]
		o.emitOp, o.emitBefore = o.emitOp[:0], o.emitBefore[:0]
	}()
	if len(o.opSlot) == 0 {
		return nil
	}
	ops, err := overOpsBatch(o.ctx.Mem, o.store, o.argCols, o.inTypes, o.opSlot, &o.scratch)
	if err != nil {
		return err
	}
	defer ops.Release()
	for _, st := range o.states {
		st.Grow(int(o.scratchNext))
	}
	if err := agg.UpdateAll(o.states, ops, o.opAcc, o.opRetract); err != nil {
		return err
	}
	results := make([]arrow.Array, len(o.states))
	for j, st := range o.states {
		results[j] = st.Build(o.ctx.Mem, o.emitOp, o.emitBefore)
	}
	return o.emit.flush(out, o.store, nil, results...)
}

func (o *nonTimeOverOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (o *nonTimeOverOp) EndInput(int, Output) error { return nil }

func (o *nonTimeOverOp) Snapshot() ([]byte, error) {
	return snapshotKeyGroups(o.parts, func(w *wbuf) { w.varint(o.seq) },
		func(w *wbuf, p int32) { o.store.encodeSlots(w, o.rows[p]) }), nil
}

func (o *nonTimeOverOp) Restore(state []byte) error {
	err := restoreKeyGroups(state, o.ctx, o.parts, func(r *rbuf) { o.seq = max(o.seq, r.varint()) },
		func(r *rbuf, p int32, owned bool) error {
			o.rows = growTo(o.rows, int(o.parts.n))
			for range r.uvarint() {
				sl := o.store.decode(r)
				o.store.part[sl] = p
				if owned {
					o.rows[p] = append(o.rows[p], sl)
				} else {
					o.store.release(sl)
				}
			}
			if !owned {
				o.parts.remove(p)
			}
			return r.err
		})
	if err != nil {
		return fmt.Errorf("non-time over-aggregate: %w", err)
	}
	for _, st := range o.states {
		st.Grow(int(o.parts.n))
	}
	// Rebuild the partitions' accumulators from their rows (bounded frames
	// keep none).
	if o.spec.Preceding >= 0 {
		return nil
	}
	for p, rows := range o.rows {
		for _, sl := range rows {
			o.addOp(sl, int32(p), false)
		}
	}
	o.scratchBase, o.scratchNext = o.parts.n, o.parts.n
	if len(o.opSlot) == 0 {
		return nil
	}
	ops, err := overOpsBatch(o.ctx.Mem, o.store, o.argCols, o.inTypes, o.opSlot, &o.scratch)
	if err != nil {
		return err
	}
	defer ops.Release()
	if err := agg.UpdateAll(o.states, ops, o.opAcc, o.opRetract); err != nil {
		return err
	}
	o.opSlot, o.opAcc, o.opRetract = o.opSlot[:0], o.opAcc[:0], o.opRetract[:0]
	return nil
}

// StateBytes estimates the partitions and their rows (StateSizer); the
// accumulators are not counted.
func (o *nonTimeOverOp) StateBytes() int64 {
	return o.parts.bytes() + o.store.bytes() + int64(o.store.live)*4
}

func (o *nonTimeOverOp) Close() error { return nil }
