package exec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The over-aggregate operator (KindOverAggregate, spec OverAggregateSpec
// in specs.go) is Flink's streaming OVER aggregation: every input row is
// emitted once, followed by the aggregates over its frame, the rows of
// its partition ordered by the time attribute:
//
//   - ROWS n PRECEDING: the row and the n rows before it (rows with equal
//     times count one by one, in arrival order);
//   - RANGE d PRECEDING: the rows with a time in [t-d, t], so rows with
//     equal times (peers) all see each other and get equal results;
//   - UNBOUNDED PRECEDING (Preceding -1): every row up to the current one
//     (ROWS) or up to its peers (RANGE).
//
// Event time (Flink's RowTime*OverFunction): rows wait in state until the
// watermark passes their time, then are emitted in time order (ties in
// arrival order). A row whose time is at or below the watermark when it
// arrives is late: it is dropped and counted in
// OperatorMetrics.LateRecordsDropped. (Flink's bounded functions compare
// with the last time fired for the row's key instead of the watermark;
// the two differ only for a row behind the watermark but ahead of its
// key's last row, which Flink still accepts.)
//
// Processing time (Flink's ProcTime*OverFunction): a row's time is the
// clock's time on arrival. ROWS frames and UNBOUNDED RANGE emit it at
// once (each row its own result, as in Flink); a bounded RANGE frame
// holds it until the clock has passed its millisecond (the next batch or
// OnProcessingTime), so that its peers see each other.
//
// Aggregation reuses the group aggregate's vectorized accumulators
// (agg.State), one accumulator slot per partition. A firing turns the rows
// to emit into one sequence of accumulate/retract operations over all
// partitions (a row leaving its frame is retracted when the next row of
// its partition fires), applies it with one Update per call, and reads
// every emitted row's result with one Build per call. State holds the
// accumulators, the rows waiting for the watermark and, for bounded
// frames, the rows of each partition's last frame; rows that can no
// longer be in a frame are dropped when the next row of their partition
// fires. Unbounded frames keep no rows at all. The output is insert-only.
//
// DISTINCT calls (Flink's DistinctInfo over a MapView) keep, per
// partition, each argument value of the frame with its number of rows in
// agg.State: a row enters its call's accumulator only when its value's
// count goes from 0 to 1, and a row leaving the frame is retracted only
// when the count returns to 0. The calls over one argument column share
// the counts (agg.ShareDistinct), which are looked up a batch of
// operations at a time (agg.UpdateAll). COUNT(DISTINCT a, b) counts its
// tuples the same way, each encoded as one value (agg.TupleKeys).
//
// Snapshot: sections (appendSection): tag 0 holds the watermark and the
// arrival counter; tag kg+1 the partitions of key group kg, each with
// its key, accumulators (with a DISTINCT call's value counts, so they
// move with their key group on rescale), frame rows and waiting rows.

func init() { RegisterOperator(KindOverAggregate, newOverAggregate) }

type overOp struct {
	spec    OverAggregateSpec
	nIn     int
	inTypes []arrow.DataType
	ctx     *OperatorContext
	clock   Clock
	bounded bool
	// rowByRow: every row gets its own result (ROWS frames, and
	// processing-time UNBOUNDED RANGE, which Flink runs like ROWS); else
	// peers share theirs.
	rowByRow bool
	argCols  []int // input columns the calls read

	parts   *partitionTable
	store   *rowStore
	states  []*agg.State
	window  [][]int32 // per partition: the rows in its accumulators, oldest first
	pending []int32   // rows waiting for the watermark
	wm      Watermark
	seq     int64

	in   joinBatch
	emit *rowEmitter

	// Scratch of a firing.
	fired     []int32
	opSlot    []int32
	opPart    []int32
	opRetract []bool
	emitOp    []int32
	before    []bool
	blockMark []int64
	lastAdd   []int32
	block     int64
	release   []int32
	scratch   colView
}

func newOverAggregate(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	o := &overOp{ctx: ctx, wm: MinWatermark}
	if err := json.Unmarshal(spec.Spec, &o.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "over-aggregate spec")
	}
	s := &o.spec
	o.nIn = spec.Schema.Len() - len(s.Calls)
	if spec.Changelog || o.nIn <= 0 {
		return nil, errs.New(errs.InvalidPlan, "over-aggregate: the output must be insert-only, the input columns then one per call")
	}
	if s.Preceding < -1 {
		return nil, errs.New(errs.InvalidPlan, "over-aggregate: invalid preceding bound %d", s.Preceding)
	}
	o.bounded = s.Preceding >= 0
	o.rowByRow = s.Rows || s.ProcTime && !o.bounded
	kinds, dts, err := storeKinds(spec.Schema, o.nIn, "OVER aggregate")
	if err != nil {
		return nil, err
	}
	if s.TimeCol < 0 || s.TimeCol >= o.nIn || kinds[s.TimeCol] != vkInt {
		return nil, errs.New(errs.InvalidPlan, "over-aggregate: time column %d is not a time attribute", s.TimeCol)
	}
	for _, k := range s.PartitionKeys {
		if k < 0 || k >= o.nIn {
			return nil, errs.New(errs.InvalidPlan, "over-aggregate: partition key %d out of range", k)
		}
	}
	o.inTypes = dts
	if o.states, o.argCols, err = newOverStates("over-aggregate", s.Calls, dts, o.bounded, spec, o.nIn); err != nil {
		return nil, err
	}
	o.parts = newPartitionTable(s.PartitionKeys, kinds)
	o.store = newRowStore(kinds)
	o.emit = newRowEmitter(ctx.Mem, spec, o.nIn, false)
	return o, nil
}

func (o *overOp) Open(ctx *OperatorContext) error {
	o.ctx = ctx
	o.emit.mem = ctx.Mem
	o.clock = clockOf(ctx)
	return nil
}

// partition returns row i's partition, creating it.
func (o *overOp) partition(i int) int32 {
	h := o.in.hashes[i]
	if p := o.parts.find(h, o.in.views, i); p >= 0 {
		return p
	}
	p := o.parts.add(h, o.in.views, i, 0)
	n := int(o.parts.n)
	for _, st := range o.states {
		st.Grow(n)
	}
	o.window = growTo(o.window, n)
	o.blockMark = growTo(o.blockMark, n)
	o.lastAdd = growTo(o.lastAdd, n)
	return p
}

func (o *overOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if err := o.in.load(b, o.nIn, o.spec.PartitionKeys, false, false); err != nil {
		return fmt.Errorf("over-aggregate: %w", err)
	}
	times := &o.in.views[o.spec.TimeCol]
	var now, late int64
	if o.spec.ProcTime {
		now = o.clock.NowMillis()
		// Rows of earlier milliseconds have all their peers.
		if err := o.advance(now-1, out); err != nil {
			return err
		}
	}
	immediate := o.spec.ProcTime && o.rowByRow
	for i := range int(b.NumRows()) {
		t := now
		if !o.spec.ProcTime {
			if !times.isValid(i) || Watermark(times.ints[i]) <= o.wm {
				late++
				continue
			}
			t = times.ints[i]
		}
		p := o.partition(i)
		o.seq++
		sl := o.store.put(o.in.views, i, o.seq)
		o.store.time[sl], o.store.part[sl] = t, p
		if immediate {
			o.fired = append(o.fired, sl)
		} else {
			o.pending = append(o.pending, sl)
		}
	}
	o.ctx.Metrics.addLate(late)
	if immediate {
		return o.fire(out)
	}
	return nil
}

func (o *overOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if wm > o.wm {
		o.wm = wm
		// Processing time ignores watermarks, but end of input
		// (MaxWatermark) fires every waiting row.
		if !o.spec.ProcTime || wm == MaxWatermark {
			if err := o.advance(int64(wm), out); err != nil {
				return err
			}
		}
	}
	return out.EmitWatermark(wm)
}

// OnProcessingTime fires the processing-time RANGE rows of past
// milliseconds.
func (o *overOp) OnProcessingTime(out Output) error {
	if !o.spec.ProcTime {
		return nil
	}
	return o.advance(o.clock.NowMillis()-1, out)
}

// advance fires the waiting rows with a time at or below limit, in time
// order.
func (o *overOp) advance(limit int64, out Output) error {
	keep := o.pending[:0]
	for _, sl := range o.pending {
		if o.store.time[sl] <= limit {
			o.fired = append(o.fired, sl)
		} else {
			keep = append(keep, sl)
		}
	}
	clear(o.pending[len(keep):])
	o.pending = keep
	slices.SortFunc(o.fired, func(a, b int32) int {
		if c := cmp.Compare(o.store.time[a], o.store.time[b]); c != 0 {
			return c
		}
		return cmp.Compare(o.store.seq[a], o.store.seq[b])
	})
	return o.fire(out)
}

func (o *overOp) addOp(sl, p int32, retract bool) int32 {
	o.opSlot = append(o.opSlot, sl)
	o.opPart = append(o.opPart, p)
	o.opRetract = append(o.opRetract, retract)
	return int32(len(o.opSlot) - 1)
}

// fire emits the rows of o.fired, which are in time order.
func (o *overOp) fire(out Output) error {
	if len(o.fired) == 0 {
		return nil
	}
	o.opSlot, o.opPart, o.opRetract, o.emitOp = o.opSlot[:0], o.opPart[:0], o.opRetract[:0], o.emitOp[:0]
	st := o.store
	for start := 0; start < len(o.fired); {
		t := st.time[o.fired[start]]
		end := start + 1
		for end < len(o.fired) && st.time[o.fired[end]] == t {
			end++
		}
		o.block++
		for _, sl := range o.fired[start:end] {
			p := st.part[sl]
			if o.bounded && o.blockMark[p] != o.block {
				o.blockMark[p] = o.block
				o.retire(p, t)
			}
			if o.rowByRow && o.bounded && int64(len(o.window[p])) == o.spec.Preceding+1 {
				o.retractOldest(p)
			}
			op := o.addOp(sl, p, false)
			o.lastAdd[p] = op
			if o.rowByRow {
				o.emitOp = append(o.emitOp, op)
			}
			if o.bounded {
				o.window[p] = append(o.window[p], sl)
			} else {
				o.release = append(o.release, sl)
			}
		}
		if !o.rowByRow {
			for _, sl := range o.fired[start:end] {
				o.emitOp = append(o.emitOp, o.lastAdd[st.part[sl]])
			}
		}
		start = end
	}
	for _, sl := range o.fired {
		o.emit.add(connector.Insert, sl, -1, 0)
	}
	o.fired = o.fired[:0]
	err := o.aggregateAndEmit(out)
	o.release = o.store.releaseAll(o.release)
	return err
}

// retire retracts, before the first row at time t of partition p fires,
// the rows of a RANGE frame that are out of t's frame.
func (o *overOp) retire(p int32, t int64) {
	if o.rowByRow {
		return
	}
	w := o.window[p]
	for len(w) > 0 && t-o.store.time[w[0]] > o.spec.Preceding {
		o.addOp(w[0], p, true)
		o.release = append(o.release, w[0])
		w = w[1:]
	}
	o.window[p] = w
}

// retractOldest retracts the oldest row of a full ROWS frame before the
// next row is applied.
func (o *overOp) retractOldest(p int32) {
	w := o.window[p]
	o.addOp(w[0], p, true)
	o.release = append(o.release, w[0])
	o.window[p] = w[1:]
}

// aggregateAndEmit applies the collected operations to the accumulators
// and emits the collected rows with their results.
func (o *overOp) aggregateAndEmit(out Output) error {
	ops, err := overOpsBatch(o.ctx.Mem, o.store, o.argCols, o.inTypes, o.opSlot, &o.scratch)
	if err != nil {
		return err
	}
	defer ops.Release()
	o.before = resize(o.before, len(o.emitOp))
	clear(o.before)
	if err := agg.UpdateAll(o.states, ops, o.opPart, o.opRetract); err != nil {
		return err
	}
	results := make([]arrow.Array, len(o.states))
	for j, st := range o.states {
		results[j] = st.Build(o.ctx.Mem, o.emitOp, o.before)
	}
	return o.emit.flush(out, o.store, nil, results...)
}

// newOverStates makes the accumulators of an OVER aggregate's calls, whose
// results are spec's output columns after the nIn input columns, and lists
// the input columns they read (arguments and FILTER columns), in order.
// what names the operator in plan errors.
func newOverStates(what string, calls []agg.Call, inTypes []arrow.DataType, retract bool, spec OperatorSpec, nIn int) (
	states []*agg.State, argCols []int, err error) {
	used := make([]bool, nIn)
	for j, c := range calls {
		st, err := agg.NewState(c, inTypes, retract)
		if err != nil {
			return nil, nil, errs.Wrap(errs.NotSupported, err, "over-aggregate")
		}
		if want := spec.Schema.Columns[nIn+j].Type.Arrow(); !arrow.TypeEqual(st.Type(), want) {
			return nil, nil, errs.New(errs.InvalidPlan, "%s: %s returns %s, the output column is %s", what, c, st.Type(), want)
		}
		states = append(states, st)
		for _, a := range c.Args {
			used[a] = true
		}
		if c.Filter >= 0 {
			used[c.Filter] = true
		}
	}
	for c, u := range used {
		if u {
			argCols = append(argCols, c)
		}
	}
	// DISTINCT calls over one argument column (COUNT(DISTINCT b) and
	// SUM(DISTINCT b) OVER w) keep one value -> count map per partition,
	// as Flink's DistinctInfo shares one MapView, and agg.UpdateAll
	// probes it once per row for all of them.
	if err := agg.ShareDistinct(states, nil); err != nil {
		return nil, nil, errs.Wrap(errs.NotSupported, err, "over-aggregate")
	}
	return states, argCols, nil
}

// overOpsBatch builds the input of one agg.State Update from stored rows:
// row j is stored row slots[j]. Only the columns the calls read (argCols)
// are gathered; the others are all-null placeholders, so the column
// indexes of the calls stay valid.
func overOpsBatch(mem memory.Allocator, store *rowStore, argCols []int, inTypes []arrow.DataType, slots []int32, scratch *colView) (arrow.RecordBatch, error) {
	n := len(slots)
	cols := make([]arrow.Array, len(inTypes))
	fields := make([]arrow.Field, len(inTypes))
	for c := range inTypes {
		fields[c] = arrow.Field{Name: fmt.Sprintf("$%d", c), Type: arrow.Null, Nullable: true}
	}
	for _, c := range argCols {
		store.cols[c].gather(slots, scratch)
		a, err := buildArray(mem, inTypes[c], scratch, n)
		if err != nil {
			for _, a := range cols {
				if a != nil {
					a.Release()
				}
			}
			return nil, err
		}
		cols[c] = a
		fields[c].Type = inTypes[c]
	}
	clear(scratch.strs)
	for c := range cols {
		if cols[c] == nil {
			cols[c] = array.NewNull(n)
		}
	}
	b := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, a := range cols {
		a.Release()
	}
	return b, nil
}

// EndInput has nothing to do: the MaxWatermark before it fired every row.
func (o *overOp) EndInput(int, Output) error { return nil }

func (o *overOp) Snapshot() ([]byte, error) {
	waiting := make(map[int32][]int32)
	for _, sl := range o.pending {
		p := o.store.part[sl]
		waiting[p] = append(waiting[p], sl)
	}
	return snapshotKeyGroups(o.parts, func(w *wbuf) {
		w.varint(int64(o.wm))
		w.varint(o.seq)
	}, func(w *wbuf, p int32) {
		for _, st := range o.states {
			w.b = st.AppendState(w.b, p)
		}
		o.store.encodeSlots(w, o.window[p])
		o.store.encodeSlots(w, waiting[p])
	}), nil
}

func (o *overOp) Restore(state []byte) error {
	return restoreKeyGroups(state, o.ctx, o.parts, func(r *rbuf) {
		o.wm = max(o.wm, Watermark(r.varint()))
		o.seq = max(o.seq, r.varint())
	}, func(r *rbuf, p int32, owned bool) error {
		n := int(o.parts.n)
		o.window = growTo(o.window, n)
		o.blockMark = growTo(o.blockMark, n)
		o.lastAdd = growTo(o.lastAdd, n)
		for _, st := range o.states {
			st.Grow(n)
			st.Reset(p)
			rest, err := st.ReadState(r.b, p)
			if err != nil {
				return fmt.Errorf("over-aggregate: %w", err)
			}
			r.b = rest
		}
		for part := range 2 {
			for range r.uvarint() {
				sl := o.store.decode(r)
				o.store.part[sl] = p
				switch {
				case !owned:
					o.store.release(sl)
				case part == 0:
					o.window[p] = append(o.window[p], sl)
				default:
					o.pending = append(o.pending, sl)
				}
			}
		}
		if !owned {
			for _, st := range o.states {
				st.Reset(p)
			}
			o.parts.remove(p)
		}
		return r.err
	})
}

// StateBytes estimates the partitions and the rows kept for their frames
// or waiting for the watermark (StateSizer); the accumulators, one per
// partition and call, are not counted.
func (o *overOp) StateBytes() int64 {
	return o.parts.bytes() + o.store.bytes() + int64(o.store.live)*4
}

func (o *overOp) Close() error { return nil }
