package exec

import (
	"encoding/json"
	"math"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// KindWindowAggregate = "window-aggregate": groups rows by Keys and by the
// windows their TimeCol falls in, and emits one +I row per (key, window)
// when the watermark passes the window's end (watermark >= window_end - 1),
// then drops that window's state. Output columns: Keys in order, then
// window_start, window_end, window_time, then one column per call.
// Insert-only output. Rows that arrive for windows already fired (late) are
// dropped and counted in OperatorMetrics.LateRecordsDropped. At end of
// input (MaxWatermark) every remaining window fires. Watermarks are
// forwarded after the windows they close have been emitted.
//
// Lateness follows Flink's window operators. For TUMBLE, HOP and CUMULATE
// (which Flink slices) a row joins those of its windows whose end is
// still above the watermark (window_end - 1 > watermark), even when its
// slice, the earliest of its windows, has fired; it is late, dropped and
// counted only when all its windows have fired (Flink's
// AbstractWindowAggProcessor.processElement).
// For SESSION a row is late when its own window [ts, ts+gap) is closed and
// it does not join an open session. Sessions merge when their windows
// intersect or touch (Flink's TimeWindow.intersects).
//
// With Attached, each row belongs to the one window whose end its TimeCol
// holds (a cascaded window aggregate over another's output); it is late
// once that window has fired.
//
// Processing-time windows (ProcTime) assign every row of a batch to the
// windows of the current time of OperatorContext.Clock, fire a window
// once the clock has reached its end (checked on every batch, watermark
// and OnProcessingTime call), never drop rows, and pass watermarks
// through. At end of input every open window fires.
//
// Output order: windows fire in order of their end; rows of one firing
// come in no particular key order.
//
// With InputChangelog the input is an updating stream (FLINK-20281 for
// window TVF aggregates, FLINK-20487 for the legacy group windows): +I and
// +U rows accumulate into the windows of their time, -U and -D rows, which
// carry the time of the row they undo and so find the same windows,
// retract from them (retractingAcc), and the output stays insert-only. A
// (key, window) counts its rows, as Flink's RecordCounter does, and one
// whose rows were all retracted emits nothing when its window fires.
const KindWindowAggregate = "window-aggregate"

// WindowAggregateSpec is the JSON spec of a window-aggregate.
type WindowAggregateSpec struct {
	Window  WindowSpec `json:"window"`
	TimeCol int        `json:"timeCol"`
	Keys    []int      `json:"keys,omitempty"` // for session windows these are the PARTITION BY keys too
	Calls   []agg.Call `json:"calls"`
	// ProcTime: TimeCol is a PROCTIME() column; windows then fire on
	// processing time read from OperatorContext.Clock.
	ProcTime bool `json:"procTime,omitempty"`
	// Attached: the rows already carry their window, as the output of
	// another window aggregate does (Flink's cascading window aggregation):
	// TimeCol is their window_end column, and each row belongs to that one
	// window (of kind TUMBLE, HOP or CUMULATE, whose start follows from its
	// end) instead of the windows of a time.
	Attached bool `json:"attached,omitempty"`
	// InputChangelog: the input batches carry the trailing row kind column
	// and -U/-D rows retract from their windows.
	InputChangelog bool `json:"inputChangelog,omitempty"`
}

func init() { RegisterOperator(KindWindowAggregate, newWindowAgg) }

// The operator's state lives in an arena of slots: one slot per open
// (key, window), holding the key values (typed, per key column), the
// key's hash and every call's accumulator at the slot's index. For TUMBLE,
// HOP and CUMULATE each open window (identified by its end) has a hash
// table from key hash to slot; firing a window frees its slots for reuse
// and drops its table, so memory follows the open windows. For SESSION a
// single table maps key hashes to a key slot (keys only) that lists the
// key's open sessions, each with its own slot.
//
// Per batch the operator decodes the key and argument columns into typed
// slices, computes window ends for the whole time column, maps every row
// to its slot (one probe per row; keys are then verified column by column
// in typed loops, and a rare 64-bit hash collision walks the slot chain),
// and folds each call's argument column into the accumulators in one
// typed loop per call. HOP and CUMULATE repeat the mapping and folding
// once per window a row belongs to.
type windowAgg struct {
	spec      WindowAggregateSpec
	session   bool
	schema    *arrow.Schema
	mem       memory.Allocator
	metrics   *OperatorMetrics
	clock     Clock
	batchSize int

	// merging: the input holds a local phase's accumulator rows
	// (op_global_window_agg.go), which the calls' accumulators merge from
	// the batch itself; TimeCol is then the rows' $slice_end.
	merging bool

	keyTypes  []arrow.DataType
	keyStore  []slotValues
	callTypes []arrow.DataType
	accs      []windowAcc
	listaggs  []*listaggAcc // per call: its LISTAGG accumulator, if any
	seps      []string      // per call: the LISTAGG separator last seen

	// rows is, when counted, each slot's number of rows (added minus
	// retracted): Flink's RecordCounter. counted is InputChangelog, or a
	// global phase's RowCounts, whose batches carry the changes of the
	// counts in column countCol (countView while merged).
	rows      []int64
	counted   bool
	countCol  int
	countView colView

	// slot arena
	nslots   int
	slotHash []uint64
	slotNext []int32 // next slot with the same hash in the same table, or -1
	free     []int32
	live     int

	windows map[int64]*sliceWindow // by end
	// spare holds fired windows, emptied, for windows opened later: their
	// hash tables keep the size the last windows needed, so a stream of
	// windows of similar sizes does not grow each new table from scratch
	// (rehashing every row again). At most maxSpareWindows are kept, so a
	// burst of fired windows does not pin their memory.
	spare []*sliceWindow

	keyTable hashTable
	sessions [][]session // by key slot; nil for slots that are not key slots
	nextFire int64       // no session ends before this

	// progress is the watermark (event time) or the last processing time
	// windows were fired for.
	progress int64
	seq      int64 // arrival number of the next row
	// octx tells a rescaled restore which key groups this subtask owns;
	// restored is set once a snapshot was restored (a rescale restores
	// several).
	octx     *OperatorContext
	restored bool

	// per-batch scratch
	ms, ends  []int64
	hashes    []uint64
	rowSlots  []int32
	accSlots  []int32
	callSlots []int32
	ok        []bool
	newRows   []int32
	keyViews  []colView
	argViews  []colView // by call
	filters   []colView // by call
	// tuples encode the arguments of a COUNT(DISTINCT a, b, ...) call
	// (by call, made at its first batch) into the one key column its
	// distinct set keeps; tupleCols is their scratch.
	tuples    []*agg.TupleKeys
	tupleCols []arrow.Array
	// retract marks the batch's -U/-D rows (InputChangelog only);
	// addSlots and retSlots are accumulateChanges' scratch.
	retract            []bool
	addSlots, retSlots []int32
	// HOP and CUMULATE: the batch expanded to one row per (row, window)
	expSlots            []int32
	expRetract          []bool
	expArgs, expFilters []colView
	outView             colView

	// fired windows being emitted
	fireSlots, fireStarts, fireEnds []int64

	peakSlots, peakWindows int
}

type sliceWindow struct {
	end   int64
	table hashTable
	slots []int32 // in creation order
}

type session struct {
	start, end int64
	slot       int32
}

func newWindowAgg(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	var ws WindowAggregateSpec
	if err := json.Unmarshal(spec.Spec, &ws); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "window-aggregate spec")
	}
	return buildWindowAgg(spec, ws, nil)
}

// buildWindowAgg builds a window aggregate over ws. newAcc, when not nil,
// builds call i's accumulator (whose result has Arrow type res) in place
// of the one-phase accumulators of argument values, and makes the
// operator a merging one.
func buildWindowAgg(spec OperatorSpec, ws WindowAggregateSpec, newAcc func(i int, c agg.Call, res arrow.DataType) (windowAcc, error)) (*windowAgg, error) {
	w := &windowAgg{spec: ws, schema: spec.Schema.Arrow(), windows: map[int64]*sliceWindow{},
		progress: int64(MinWatermark), nextFire: math.MaxInt64, merging: newAcc != nil,
		counted: ws.InputChangelog, countCol: -1}
	s := &w.spec
	w.session = s.Window.Kind == WindowSession
	if err := s.Window.Validate(true); err != nil {
		return nil, err
	}
	if s.Attached && (w.session || s.ProcTime) {
		return nil, errs.New(errs.InvalidPlan, "window-aggregate: attached windows must be event-time TUMBLE, HOP or CUMULATE windows")
	}
	nk, nc := len(s.Keys), len(s.Calls)
	if w.schema.NumFields() != nk+3+nc {
		return nil, errs.Internalf("window-aggregate: output schema has %d columns, want %d keys + 3 window columns + %d calls",
			w.schema.NumFields(), nk, nc)
	}
	for i := range nk {
		t := w.schema.Field(i).Type
		k, err := kindOf(t)
		if err != nil {
			return nil, err
		}
		w.keyTypes = append(w.keyTypes, t)
		w.keyStore = append(w.keyStore, slotValues{kind: k})
	}
	w.listaggs = make([]*listaggAcc, nc)
	w.seps = make([]string, nc)
	for i, c := range s.Calls {
		t := w.schema.Field(nk + 3 + i).Type
		var acc windowAcc
		var err error
		if newAcc != nil {
			acc, err = newAcc(i, c, t)
		} else if !windowCallArity(c) {
			return nil, errs.Internalf("window-aggregate: %s has %d arguments", c.Func, len(c.Args))
		} else if u, user := agg.User(c.Func); user {
			acc, err = newUserWindowAcc(c, u, t, w.session, s.InputChangelog)
		} else {
			acc, err = newWindowAcc(c, t, s.InputChangelog)
		}
		if err != nil {
			return nil, err
		}
		w.callTypes = append(w.callTypes, t)
		w.accs = append(w.accs, acc)
		w.seps[i] = ","
		inner := acc
		if d, ok := acc.(*distinctAcc); ok {
			inner = d.inner
		}
		if la, ok := inner.(*listaggAcc); ok {
			w.listaggs[i] = la
		}
	}
	w.keyViews = make([]colView, nk)
	w.argViews = make([]colView, nc)
	w.tuples = make([]*agg.TupleKeys, nc)
	w.filters = make([]colView, nc)
	w.expArgs = make([]colView, nc)
	w.expFilters = make([]colView, nc)
	return w, nil
}

func (w *windowAgg) Open(ctx *OperatorContext) error {
	w.mem, w.metrics, w.clock, w.octx = ctx.Mem, ctx.Metrics, ctx.Clock, ctx
	if w.clock == nil {
		w.clock = SystemClock{}
	}
	n, err := BatchSize(ctx.Config)
	if err != nil {
		return err
	}
	w.batchSize = n
	return nil
}

// alloc takes a free slot, growing the arena when none is free.
func (w *windowAgg) alloc() int32 {
	var s int32
	if n := len(w.free); n > 0 {
		s = w.free[n-1]
		w.free = w.free[:n-1]
	} else {
		s = int32(w.nslots)
		w.nslots++
		if w.nslots > len(w.slotHash) {
			size := max(64, 2*len(w.slotHash))
			w.slotHash = growTo(w.slotHash, size)
			w.slotNext = growTo(w.slotNext, size)
			if w.session {
				// Only session windows list their sessions per key slot.
				w.sessions = growTo(w.sessions, size)
			}
			for i := range w.keyStore {
				w.keyStore[i].grow(size)
			}
			for _, a := range w.accs {
				a.grow(size)
			}
			if w.counted {
				w.rows = growTo(w.rows, size)
			}
		}
	}
	w.slotNext[s] = -1
	w.live++
	w.peakSlots = max(w.peakSlots, w.live)
	return s
}

func (w *windowAgg) release(s int32) {
	for _, a := range w.accs {
		a.reset(s)
	}
	for i := range w.keyStore {
		w.keyStore[i].clearSlot(s)
	}
	if w.session {
		w.sessions[s] = nil
	}
	if w.counted {
		w.rows[s] = 0
	}
	w.free = append(w.free, s)
	w.live--
}

func (w *windowAgg) window(end int64) *sliceWindow {
	win := w.windows[end]
	if win == nil {
		if n := len(w.spare); n > 0 {
			win, w.spare = w.spare[n-1], w.spare[:n-1]
			win.end = end
		} else {
			win = &sliceWindow{end: end}
		}
		w.windows[end] = win
		w.peakWindows = max(w.peakWindows, len(w.windows))
	}
	return win
}

// keysEqualRow reports whether slot s holds the keys of row i.
func (w *windowAgg) keysEqualRow(s int32, i int) bool {
	for c := range w.keyStore {
		if !w.keyStore[c].equalRow(s, &w.keyViews[c], i) {
			return false
		}
	}
	return true
}

func (w *windowAgg) keysEqualSlots(a, b int32) bool {
	for c := range w.keyStore {
		if !w.keyStore[c].equalSlots(a, b) {
			return false
		}
	}
	return true
}

// mapRows sets slots[i] to the slot of row i's keys in table t, for rows
// with slots[i] != -1 on entry (which must be 0 for "map me"), creating
// slots for new keys; created are passed to onNew, in row order.
func (w *windowAgg) mapRows(t func(i int) *hashTable, slots []int32, onNew func(s int32, i int)) {
	hashes := w.hashes
	w.newRows = w.newRows[:0]
	for i := range slots {
		if slots[i] < 0 {
			continue
		}
		tab := t(i)
		h := hashes[i]
		s := tab.find(h)
		if s < 0 {
			s = w.alloc()
			w.slotHash[s] = h
			tab.set(h, s)
			w.newRows = append(w.newRows, int32(i))
			onNew(s, i)
		}
		slots[i] = s
	}
	if len(w.keyStore) == 0 {
		return
	}
	for c := range w.keyStore {
		ks, kv := &w.keyStore[c], &w.keyViews[c]
		for _, i := range w.newRows {
			ks.setRow(slots[i], kv, int(i))
		}
	}
	ok := resize(w.ok, len(slots))
	w.ok = ok
	for i := range ok {
		ok[i] = true
	}
	for c := range w.keyStore {
		w.keyStore[c].verify(&w.keyViews[c], slots, ok)
	}
	for i, good := range ok {
		if good {
			continue
		}
		// A different key with the same 64-bit hash: walk the chain.
		head := slots[i]
		s := head
		for s >= 0 && !w.keysEqualRow(s, i) {
			s = w.slotNext[s]
		}
		if s < 0 {
			s = w.alloc()
			w.slotHash[s] = w.hashes[i]
			for c := range w.keyStore {
				w.keyStore[c].setRow(s, &w.keyViews[c], i)
			}
			w.slotNext[s], w.slotNext[head] = w.slotNext[head], s
			onNew(s, i)
		}
		slots[i] = s
	}
}

// load decodes what a batch needs: time (ms), key hashes and values,
// arguments and filters.
func (w *windowAgg) load(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	w.ms = resize(w.ms, n)
	w.ends = resize(w.ends, n)
	w.hashes = resize(w.hashes, n)
	w.rowSlots = resize(w.rowSlots, n)
	if w.spec.ProcTime {
		now := w.clock.NowMillis()
		for i := range w.ms {
			w.ms[i] = now
		}
	} else if err := rowtimeMillis(b.Column(w.spec.TimeCol), w.ms, "window aggregate"); err != nil {
		return err
	}
	if err := hashRows(b, w.spec.Keys, w.hashes); err != nil {
		return err
	}
	if w.spec.InputChangelog {
		if err := w.loadRowKinds(b); err != nil {
			return err
		}
	}
	for i, k := range w.spec.Keys {
		if err := w.keyViews[i].load(b.Column(k)); err != nil {
			return err
		}
	}
	if w.merging {
		// The accumulators merge their columns from the batch itself.
		if w.countCol >= 0 {
			return w.countView.load(b.Column(w.countCol))
		}
		return nil
	}
	for i, c := range w.spec.Calls {
		if len(c.Args) > 1 && c.Distinct {
			if err := w.loadTuples(i, c, b); err != nil {
				return err
			}
		} else if isApproxCountDistinct(c) {
			if err := w.argViews[i].loadApproxCountDistinctHashes(b.Column(c.Args[0])); err != nil {
				return err
			}
		} else if len(c.Args) > 0 {
			if err := w.argViews[i].load(b.Column(c.Args[0])); err != nil {
				return err
			}
		}
		if c.Filter >= 0 {
			if err := w.filters[i].load(b.Column(c.Filter)); err != nil {
				return err
			}
		}
		if la := w.listaggs[i]; la != nil {
			if len(c.Args) == 2 {
				if sep, ok := constantString(b.Column(c.Args[1])); ok && sep != w.seps[i] {
					w.seps[i] = sep
				}
			}
			la.sep = w.seps[i]
		}
	}
	return nil
}

// loadRowKinds sets w.retract from the batch's trailing row kind column.
func (w *windowAgg) loadRowKinds(b arrow.RecordBatch) error {
	n := int(b.NumCols())
	if n == 0 || b.Schema().Field(n-1).Name != connector.RowKindColumn {
		return errs.Internalf("window-aggregate: input batch has no %s column", connector.RowKindColumn)
	}
	kinds, ok := b.Column(n - 1).(*array.Int8)
	if !ok {
		return errs.Internalf("window-aggregate: %s column is %s, want int8", connector.RowKindColumn, b.Column(n-1).DataType())
	}
	w.retract = resize(w.retract, kinds.Len())
	for i, k := range kinds.Int8Values() {
		w.retract[i] = connector.RowKind(k).IsRetraction()
	}
	return nil
}

// retractFlags is the batch's retraction marks, nil for an insert-only
// input.
func (w *windowAgg) retractFlags() []bool {
	if !w.spec.InputChangelog {
		return nil
	}
	return w.retract
}

// constantString is the first non-NULL value of a string column.
func constantString(a arrow.Array) (string, bool) {
	s, ok := a.(*array.String)
	if !ok {
		return "", false
	}
	for i := range s.Len() {
		if s.IsValid(i) {
			return s.Value(i), true
		}
	}
	return "", false
}

// accumulateRange folds rows [from, to) of the batch into their slots
// (slots[i] for row i, -1 to skip); args and filters are the calls'
// argument and filter columns, retract (nil for an insert-only input)
// marks the rows that retract.
func (w *windowAgg) accumulateRange(slots []int32, args, filters []colView, retract []bool, from, to int, seq int64) {
	slots = slots[from:to]
	if retract != nil {
		w.accumulateChanges(slots, args, filters, retract[from:to], from, to, seq)
		return
	}
	for c, acc := range w.accs {
		call := &w.spec.Calls[c]
		cs := slots
		if call.Filter >= 0 {
			f := filters[c].sub(from, to)
			cs = resize(w.callSlots, len(slots))
			w.callSlots = cs
			for i, s := range slots {
				if f.isValid(i) && f.ints[i] != 0 {
					cs[i] = s
				} else {
					cs[i] = -1
				}
			}
		}
		if len(call.Args) == 0 {
			acc.update(cs, nil, seq+int64(from))
			continue
		}
		v := args[c].sub(from, to)
		acc.update(cs, &v, seq+int64(from))
	}
}

// accumulateChanges is accumulateRange over an updating input: it counts
// every row into its slot's rows (+1, or -1 for a retraction; FILTER does
// not apply, as Flink's count1 has none), then per call folds the
// accumulating rows in with update and the retracting ones out with
// retract.
func (w *windowAgg) accumulateChanges(slots []int32, args, filters []colView, retract []bool, from, to int, seq int64) {
	n := len(slots)
	add, ret := resize(w.addSlots, n), resize(w.retSlots, n)
	w.addSlots, w.retSlots = add, ret
	// Most batches of a changelog hold no retraction; then skip the
	// retract pass (a Go aggregate's builds its argument array).
	retracts := slices.Contains(retract, true)
	for c, acc := range w.accs {
		call := &w.spec.Calls[c]
		var f colView
		if call.Filter >= 0 {
			f = filters[c].sub(from, to)
		}
		for i, s := range slots {
			if call.Filter >= 0 && (!f.isValid(i) || f.ints[i] == 0) {
				s = -1
			}
			if retract[i] {
				add[i], ret[i] = -1, s
			} else {
				add[i], ret[i] = s, -1
			}
		}
		var v *colView
		if len(call.Args) > 0 {
			sub := args[c].sub(from, to)
			v = &sub
		}
		acc.update(add, v, seq+int64(from))
		if retracts {
			acc.(retractingAcc).retract(ret, v)
		}
	}
	for i, s := range slots {
		switch {
		case s < 0:
		case retract[i]:
			w.rows[s]--
		default:
			w.rows[s]++
		}
	}
}

// windowCallArity reports whether the window accumulators take call's
// number of arguments: one, none for COUNT(*), LISTAGG's separator, and
// any number for COUNT(DISTINCT a, b, ...) (loadTuples).
func windowCallArity(c agg.Call) bool {
	switch {
	case c.Func == "COUNT" && c.Distinct:
		return len(c.Args) > 0
	case len(c.Args) == 0:
		return c.Func == "COUNT"
	case len(c.Args) == 2:
		return c.Func == "LISTAGG"
	}
	return len(c.Args) == 1
}

// loadTuples loads the argument view of call i, a COUNT(DISTINCT a, b,
// ...), with b's tuples encoded as one key column, NULL where an argument
// is NULL (agg.TupleKeys), which its distinct set keys as it keys a
// VARBINARY argument.
func (w *windowAgg) loadTuples(i int, c agg.Call, b arrow.RecordBatch) error {
	w.tupleCols = w.tupleCols[:0]
	for _, a := range c.Args {
		w.tupleCols = append(w.tupleCols, b.Column(a))
	}
	if w.tuples[i] == nil {
		dts := make([]arrow.DataType, len(w.tupleCols))
		for j, col := range w.tupleCols {
			dts[j] = col.DataType()
		}
		t, err := agg.NewTupleKeys(dts)
		if err != nil {
			return errs.Wrap(errs.NotSupported, err, "window aggregate")
		}
		w.tuples[i] = t
	}
	key := w.tuples[i].Encode(w.tupleCols)
	defer key.Release()
	clear(w.tupleCols)
	return w.argViews[i].load(key)
}

func (w *windowAgg) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if w.spec.ProcTime {
		if err := w.fire(w.clock.NowMillis()-1, out); err != nil {
			return err
		}
	}
	if err := w.load(b); err != nil {
		return err
	}
	seq := w.seq
	w.seq += int64(n)
	var late int64
	if w.session {
		late = w.processSessions(n, seq)
	} else {
		late = w.processSliced(n, seq)
	}
	w.metrics.addLate(late)
	return nil
}

const lateEnd = math.MinInt64

func (w *windowAgg) processSliced(n int, seq int64) (late int64) {
	ws := w.spec.Window
	ends := w.ends
	k := ws.maxWindowsPerRow()
	if w.spec.Attached {
		copy(ends, w.ms)
		k = 1
	} else if w.merging {
		// A local phase's $slice_end: the first end of the slice's windows.
		copy(ends, w.ms)
	} else {
		ws.firstEnds(w.ms, ends)
	}
	if !w.spec.ProcTime {
		// As Flink's slicing operators, a row whose slice has fired still
		// joins its windows that have not (checked per window below); it
		// is late, and dropped, only once its last window has fired.
		for i, e := range ends {
			last := e
			if !w.spec.Attached {
				last = ws.lastEnd(e)
			}
			if last-1 <= w.progress {
				ends[i] = lateEnd
				late++
			}
		}
	}
	stride := ws.stride()
	slots := w.rowSlots
	if k > 1 && !w.merging {
		w.expSlots = resize(w.expSlots, n*k)
	}
	for j := range k {
		off := int64(j) * stride
		for i, e := range ends {
			slots[i] = 0
			if e == lateEnd || (j > 0 && ws.Kind == WindowCumulate && e+off > ws.lastEnd(e)) ||
				(!w.spec.ProcTime && e+off-1 <= w.progress) {
				slots[i] = -1
			}
		}
		var cur *sliceWindow
		curEnd := int64(lateEnd)
		winOf := func(i int) *sliceWindow {
			if e := ends[i] + off; e != curEnd {
				cur, curEnd = w.window(e), e
			}
			return cur
		}
		w.mapRows(func(i int) *hashTable { return &winOf(i).table }, slots, func(s int32, i int) {
			win := winOf(i)
			win.slots = append(win.slots, s)
		})
		if w.merging {
			// Merged accumulators do not depend on the order of their
			// rows: merge the batch into its j-th windows directly.
			for _, acc := range w.accs {
				acc.update(slots, nil, seq)
			}
			if w.countCol >= 0 {
				for i, s := range slots {
					if s >= 0 {
						w.rows[s] += w.countView.ints[i]
					}
				}
			}
			continue
		}
		if k == 1 {
			w.accumulateRange(slots, w.argViews, w.filters, w.retractFlags(), 0, n, seq)
			return late
		}
		for i, s := range slots {
			w.expSlots[i*k+j] = s
		}
	}
	if w.merging {
		return late
	}
	// HOP and CUMULATE: fold the (row, window) pairs in row order, so that
	// order-sensitive aggregates (LISTAGG) see each window's rows in
	// arrival order; row r's j-th window is expanded row r*k+j, and so is
	// its arrival number.
	for c := range w.spec.Calls {
		w.argViews[c].repeat(k, &w.expArgs[c])
		w.filters[c].repeat(k, &w.expFilters[c])
	}
	var expRetract []bool
	if w.spec.InputChangelog {
		w.expRetract = repeatInto(w.expRetract, w.retract[:n], k)
		expRetract = w.expRetract
	}
	w.accumulateRange(w.expSlots, w.expArgs, w.expFilters, expRetract, 0, n*k, seq*int64(k))
	return late
}

func (w *windowAgg) processSessions(n int, seq int64) (late int64) {
	gap := w.spec.Window.Gap
	keySlots := w.rowSlots
	clear(keySlots)
	w.mapRows(func(int) *hashTable { return &w.keyTable }, keySlots, func(s int32, _ int) {
		w.sessions[s] = make([]session, 0, 1)
	})
	accSlots := resize(w.accSlots, n)
	w.accSlots = accSlots
	from := 0 // rows before from are accumulated
	for i, ks := range keySlots {
		start, end := w.ms[i], w.ms[i]+gap
		list := w.sessions[ks]
		hit := -1
		var hitStart int64
		for idx := 0; idx < len(list); idx++ {
			s := list[idx]
			if s.start > end || s.end < start {
				continue
			}
			if hit < 0 {
				hit, hitStart = idx, s.start
				list[idx].start, list[idx].end = min(s.start, start), max(s.end, end)
				continue
			}
			// The row bridges two sessions. Fold the rows before it into
			// their sessions first, so that every accumulator sees rows in
			// arrival order whatever the batching, then merge the
			// later-starting session into the earlier one.
			if from < i {
				w.accumulateRange(accSlots, w.argViews, w.filters, w.retractFlags(), from, i, seq)
				from = i
			}
			h := &list[hit]
			dst, src := h.slot, s.slot
			if s.start < hitStart {
				dst, src = src, dst
				hitStart = s.start
			}
			for _, a := range w.accs {
				a.merge(dst, src)
			}
			if w.counted {
				w.rows[dst] += w.rows[src]
			}
			w.release(src)
			h.slot, h.start, h.end = dst, min(h.start, s.start), max(h.end, s.end)
			list = slices.Delete(list, idx, idx+1)
			if idx < hit {
				hit--
			}
			idx--
		}
		if hit >= 0 {
			accSlots[i] = list[hit].slot
			w.sessions[ks] = list
			continue
		}
		if !w.spec.ProcTime && end-1 <= w.progress {
			accSlots[i] = -1
			late++
			continue
		}
		s := w.alloc()
		w.slotHash[s] = w.slotHash[ks]
		for c := range w.keyStore {
			w.keyStore[c].copySlot(s, ks)
		}
		w.sessions[ks] = append(list, session{start: start, end: end, slot: s})
		w.nextFire = min(w.nextFire, end)
		accSlots[i] = s
	}
	w.accumulateRange(accSlots, w.argViews, w.filters, w.retractFlags(), from, n, seq)
	return late
}

func (w *windowAgg) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if w.spec.ProcTime {
		// Processing-time windows fire by the clock alone: Flink's
		// processing-time window aggregate ignores watermarks, the final
		// MAX_WATERMARK included (FLINK-35885).
		if err := w.fire(w.clock.NowMillis()-1, out); err != nil {
			return err
		}
	} else if wm == MaxWatermark {
		// End of input: everything fires before the final watermark.
		w.progress = int64(wm)
		if err := w.fire(math.MaxInt64, out); err != nil {
			return err
		}
	} else if int64(wm) > w.progress {
		w.progress = int64(wm)
		if err := w.fire(int64(wm), out); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

// OnProcessingTime fires the processing-time windows the clock has passed.
func (w *windowAgg) OnProcessingTime(out Output) error {
	if !w.spec.ProcTime {
		return nil
	}
	return w.fire(w.clock.NowMillis()-1, out)
}

// EndInput fires the event-time windows left open. Processing-time
// windows still open stay unfired, as in Flink: a task cancels its pending
// processing-time timers when its input ends (FLINK-14231), and a
// processing-time window aggregate ignores watermarks, the final
// MAX_WATERMARK included (FLINK-35885).
func (w *windowAgg) EndInput(_ int, out Output) error {
	if w.spec.ProcTime {
		return nil
	}
	return w.fire(math.MaxInt64, out)
}

// fire emits and frees every window with end - 1 <= limit.
func (w *windowAgg) fire(limit int64, out Output) error {
	if w.spec.ProcTime {
		w.progress = max(w.progress, limit)
	}
	w.fireSlots, w.fireStarts, w.fireEnds = w.fireSlots[:0], w.fireStarts[:0], w.fireEnds[:0]
	if w.session {
		w.collectSessions(limit)
	} else {
		w.collectWindows(limit)
	}
	if w.counted {
		w.dropEmpty()
	}
	if len(w.fireSlots) == 0 {
		return nil
	}
	err := w.emitFired(out)
	for _, s := range w.fireSlots {
		w.release(int32(s))
	}
	return err
}

// dropEmpty frees the fired (key, window)s without rows and leaves them
// out of the output, as Flink's RecordCounter does: every row of theirs
// was retracted. (A count below zero means retractions of rows that never
// reached the window, which have no result either.)
func (w *windowAgg) dropEmpty() {
	keep := 0
	for i, s := range w.fireSlots {
		if w.rows[s] <= 0 {
			w.release(int32(s))
			continue
		}
		w.fireSlots[keep], w.fireStarts[keep], w.fireEnds[keep] = s, w.fireStarts[i], w.fireEnds[i]
		keep++
	}
	w.fireSlots, w.fireStarts, w.fireEnds = w.fireSlots[:keep], w.fireStarts[:keep], w.fireEnds[:keep]
}

func (w *windowAgg) collectWindows(limit int64) {
	var ends []int64
	for e := range w.windows {
		if e-1 <= limit {
			ends = append(ends, e)
		}
	}
	slices.Sort(ends)
	for _, e := range ends {
		win := w.windows[e]
		start := w.spec.Window.startOf(e)
		for _, s := range win.slots {
			w.fireSlots = append(w.fireSlots, int64(s))
			w.fireStarts = append(w.fireStarts, start)
			w.fireEnds = append(w.fireEnds, e)
		}
		delete(w.windows, e)
		if len(w.spare) < maxSpareWindows {
			win.table.clear()
			win.slots = win.slots[:0]
			w.spare = append(w.spare, win)
		}
	}
}

// maxSpareWindows is how many fired windows a window aggregate keeps for
// reuse: enough for the windows that open while others fire.
const maxSpareWindows = 2

func (w *windowAgg) collectSessions(limit int64) {
	if limit < w.nextFire-1 {
		return
	}
	next := int64(math.MaxInt64)
	for ks := range w.nslots {
		list := w.sessions[ks]
		if list == nil {
			continue
		}
		keep := list[:0]
		for _, s := range list {
			if s.end-1 <= limit {
				w.fireSlots = append(w.fireSlots, int64(s.slot))
				w.fireStarts = append(w.fireStarts, s.start)
				w.fireEnds = append(w.fireEnds, s.end)
			} else {
				keep = append(keep, s)
				next = min(next, s.end)
			}
		}
		if len(keep) > 0 {
			w.sessions[ks] = keep
			continue
		}
		w.removeKey(int32(ks))
	}
	w.nextFire = next
	// Fire in order of window end, as the sliced windows do.
	idx := make([]int, len(w.fireSlots))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return w.fireEnds[idx[a]] < w.fireEnds[idx[b]] })
	permute := func(v []int64) {
		c := slices.Clone(v)
		for i, j := range idx {
			v[i] = c[j]
		}
	}
	permute(w.fireSlots)
	permute(w.fireStarts)
	permute(w.fireEnds)
}

// removeKey unlinks a session key slot without sessions from the key
// table and frees it.
func (w *windowAgg) removeKey(ks int32) {
	h := w.slotHash[ks]
	head := w.keyTable.find(h)
	if head == ks {
		if next := w.slotNext[ks]; next >= 0 {
			w.keyTable.set(h, next)
		} else {
			w.keyTable.remove(h)
		}
	} else {
		for p := head; p >= 0; p = w.slotNext[p] {
			if w.slotNext[p] == ks {
				w.slotNext[p] = w.slotNext[ks]
				break
			}
		}
	}
	w.release(ks)
}

// emitFired builds output batches of at most batchSize rows from the
// fired slots.
func (w *windowAgg) emitFired(out Output) error {
	nk := len(w.keyStore)
	cols := make([]arrow.Array, w.schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	slots := make([]int32, 0, min(len(w.fireSlots), w.batchSize))
	times := make([]int64, 0, cap(slots))
	for from := 0; from < len(w.fireSlots); from += w.batchSize {
		to := min(from+w.batchSize, len(w.fireSlots))
		slots = slots[:0]
		for _, s := range w.fireSlots[from:to] {
			slots = append(slots, int32(s))
		}
		n := len(slots)
		build := func(col int, v *colView) error {
			a, err := buildArray(w.mem, w.schema.Field(col).Type, v, n)
			cols[col] = a
			return err
		}
		for c := range w.keyStore {
			w.keyStore[c].gather(slots, &w.outView)
			if err := build(c, &w.outView); err != nil {
				return err
			}
		}
		starts, ends := w.fireStarts[from:to], w.fireEnds[from:to]
		times = times[:n]
		for i, e := range ends {
			times[i] = e - 1
		}
		for i, v := range [][]int64{starts, ends, times} {
			if err := build(nk+i, &colView{kind: vkInt, ints: v}); err != nil {
				return err
			}
		}
		for c, acc := range w.accs {
			acc.result(slots, &w.outView)
			if err := build(nk+3+c, &w.outView); err != nil {
				return err
			}
		}
		rec := array.NewRecordBatch(w.schema, cols, int64(n))
		for i, c := range cols {
			c.Release()
			cols[i] = nil
		}
		err := out.Emit(rec)
		rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// Snapshot layout: a version byte, the progress (watermark), the arrival
// counter and the LISTAGG separators, then the open windows grouped by key
// group, as the group aggregate lays out its state: the number of
// non-empty groups and, per group in ascending order, its number
// (KeyGroupOf of the key hash) and the byte length of the rest of the
// group, which is self-delimiting so that a rescaled job can hand each
// subtask its groups without decoding them: the entry count, then the
// entries. An entry is one (key, window): the window's start (sessions
// only) and end, the key hash, the key values and every call's
// accumulator, then over an updating input (counted) the entry's row
// count.
const windowStateVersion = 1

func (w *windowAgg) Snapshot() ([]byte, error) {
	var groups [KeyGroups]wbuf
	var counts [KeyGroups]int
	put := func(start, end int64, s int32) {
		g := KeyGroupOf(w.slotHash[s])
		b := &groups[g]
		counts[g]++
		if w.session {
			b.varint(start)
		}
		b.varint(end)
		b.u64(w.slotHash[s])
		for c := range w.keyStore {
			w.keyStore[c].encode(b, s)
		}
		for _, a := range w.accs {
			a.encode(b, s)
		}
		if w.counted {
			b.varint(w.rows[s])
		}
	}
	if w.session {
		for ks := range w.nslots {
			for _, s := range w.sessions[ks] {
				put(s.start, s.end, s.slot)
			}
		}
	} else {
		ends := make([]int64, 0, len(w.windows))
		for e := range w.windows {
			ends = append(ends, e)
		}
		slices.Sort(ends)
		for _, e := range ends {
			for _, s := range w.windows[e].slots {
				put(0, e, s)
			}
		}
	}
	size := 64
	for g := range groups {
		size += len(groups[g].b) + 20
	}
	for _, sep := range w.seps {
		size += len(sep) + 10
	}
	out := wbuf{b: make([]byte, 0, size)}
	out.byte(windowStateVersion)
	out.varint(w.progress)
	out.varint(w.seq)
	out.uvarint(uint64(len(w.seps)))
	for _, s := range w.seps {
		out.str(s)
	}
	nonEmpty := 0
	for g := range counts {
		if counts[g] > 0 {
			nonEmpty++
		}
	}
	out.uvarint(uint64(nonEmpty))
	var count wbuf
	for g := range groups {
		if counts[g] == 0 {
			continue
		}
		count.b = count.b[:0]
		count.uvarint(uint64(counts[g]))
		out.uvarint(uint64(g))
		out.uvarint(uint64(len(count.b) + len(groups[g].b)))
		out.b = append(out.b, count.b...)
		out.b = append(out.b, groups[g].b...)
	}
	return out.b, nil
}

func (w *windowAgg) Restore(state []byte) error {
	r := &rbuf{b: state}
	if v := r.byte(); v != windowStateVersion && r.err == nil {
		return errs.Internalf("window state version %d, want %d", v, windowStateVersion)
	}
	// Several snapshots (a rescale) restore their smallest progress, which
	// none of them had passed, and their largest arrival counter.
	progress, seq := r.varint(), r.varint()
	if w.restored {
		progress = min(progress, w.progress)
	}
	w.progress, w.seq, w.restored = progress, max(seq, w.seq), true
	if n := r.uvarint(); n != uint64(len(w.seps)) && r.err == nil {
		return errs.Internalf("window state has %d calls, the spec %d", n, len(w.seps))
	}
	for i := range w.seps {
		w.seps[i] = r.str()
		if la := w.listaggs[i]; la != nil {
			la.sep = w.seps[i]
		}
	}
	groups := r.uvarint()
	for range groups {
		if r.err != nil {
			break
		}
		kg, length := r.uvarint(), r.uvarint()
		if !ownsKeyGroup(w.octx, int(kg)) {
			r.bytes(length) // another subtask of a rescaled job owns it
			continue
		}
		count := r.uvarint()
		for range count {
			if r.err != nil {
				break
			}
			w.restoreEntry(r)
		}
	}
	if r.err == nil && len(r.b) > 0 {
		return errs.Internalf("window state has %d trailing bytes", len(r.b))
	}
	return r.err
}

func (w *windowAgg) restoreEntry(r *rbuf) {
	var start int64
	if w.session {
		start = r.varint()
	}
	end := r.varint()
	h := r.u64()
	s := w.alloc()
	w.slotHash[s] = h
	for c := range w.keyStore {
		w.keyStore[c].decode(r, s)
	}
	for _, a := range w.accs {
		a.decode(r, s)
	}
	if w.counted {
		w.rows[s] = r.varint()
	}
	if !w.session {
		win := w.window(end)
		if head := win.table.find(h); head >= 0 {
			w.slotNext[s], w.slotNext[head] = w.slotNext[head], s
		} else {
			win.table.set(h, s)
		}
		win.slots = append(win.slots, s)
		return
	}
	head := w.keyTable.find(h)
	ks := head
	for ks >= 0 && !w.keysEqualSlots(ks, s) {
		ks = w.slotNext[ks]
	}
	if ks < 0 {
		ks = w.alloc()
		w.slotHash[ks] = h
		for c := range w.keyStore {
			w.keyStore[c].copySlot(ks, s)
		}
		if head >= 0 {
			w.slotNext[ks], w.slotNext[head] = w.slotNext[head], ks
		} else {
			w.keyTable.set(h, ks)
		}
		w.sessions[ks] = make([]session, 0, 1)
	}
	w.sessions[ks] = append(w.sessions[ks], session{start: start, end: end, slot: s})
	w.nextFire = min(w.nextFire, end)
}

func (w *windowAgg) Close() error { return nil }

// StateBytes estimates the live slots (StateSizer): a slot is one key's
// accumulators in one window (or a session, or a session key), with its
// key values, hash, chain link, entries in its window's slot list and
// hash table, and over an updating input its row count.
func (w *windowAgg) StateBytes() int64 {
	per := valueBytes(w.keyTypes) + valueBytes(w.callTypes) + 8 + 4 + 4 + 4
	if w.counted {
		per += 8 // the row count
	}
	return int64(w.live) * per
}

// windowAggStats describes the operator's state for tests and benchmarks.
type windowAggStats struct {
	OpenWindows, LiveSlots, ArenaSlots, PeakWindows, PeakSlots int
}

func (w *windowAgg) stats() windowAggStats {
	open := len(w.windows)
	if w.session {
		open = w.live
		for ks := range w.nslots {
			if w.sessions[ks] != nil {
				open-- // key slots are not windows
			}
		}
	}
	return windowAggStats{OpenWindows: open, LiveSlots: w.live, ArenaSlots: w.nslots,
		PeakWindows: w.peakWindows, PeakSlots: w.peakSlots}
}
