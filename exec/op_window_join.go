package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// KindWindowJoin is Flink's window join (WindowJoinOperator): a join of
// two windowed inputs (window TVFs or window aggregations) on equal
// window_start and window_end. Its spec is WindowJoinSpec. Output: left
// then right columns, insert-only.
const KindWindowJoin = "window-join"

// WindowJoinSpec configures a window join. The keys include both inputs'
// window_start and window_end columns, so rows join only within one
// window.
type WindowJoinSpec struct {
	// Type is "inner", "left", "right", "full", "semi" or "anti".
	Type      string `json:"type"`
	LeftKeys  []int  `json:"leftKeys"`
	RightKeys []int  `json:"rightKeys"`
	// LeftWindowEnd and RightWindowEnd are the inputs' window_end columns.
	LeftWindowEnd  int `json:"leftWindowEnd"`
	RightWindowEnd int `json:"rightWindowEnd"`
	// Condition is the rest of the ON condition (expr.Marshal'ed), over
	// the left columns followed by the right ones; absent when none.
	Condition json.RawMessage `json:"condition,omitempty"`
}

// The window join buffers each input's rows by key (window included) until
// the combined watermark (the minimum of both inputs') fires their window
// (watermark >= window_end - 1), as Flink's WindowJoinOperator. Firing
// joins the window's left rows with its right rows of the same key and
// emits, insert-only: inner and outer joins one row per pair satisfying
// the Condition (left rows in arrival order, each with its matches in
// arrival order), then for the outer side(s) of LEFT/RIGHT/FULL joins the
// rows that matched none, padded with NULLs; semi joins the left rows with
// a match, anti joins those without. The window's rows are then dropped. A
// row whose window its own input's watermark has passed (window_end - 1 <=
// that watermark) is late: dropped, neither joined nor padded, and counted
// in OperatorMetrics.LateRecordsDropped. Rows with a
// NULL key never match (outer and anti ones are still emitted when their
// window fires). Watermarks are forwarded after the windows they fire; at
// end of both inputs every window fires.

func init() { RegisterOperator(KindWindowJoin, newWindowJoin) }

type windowJoin struct {
	spec     WindowJoinSpec
	opSpec   OperatorSpec
	ctx      *OperatorContext
	metrics  *OperatorMetrics
	outer    [2]bool
	semiAnti bool
	keys     [2][]int
	ends     [2]int
	ncols    [2]int
	stores   [2]*joinStore
	heaps    [2]expiryHeap
	cond     *joinCondition
	out      *joinOutput
	seq      int64
	wm       inputWatermarks
	// fired is the combined watermark up to which windows have fired.
	fired int64
	ended [2]bool
	// restored: a snapshot header was restored (rescaling restores several).
	restored bool

	jb     joinBatch
	rowT   []int64
	popped [2][]int32
	pairs  pairScratch
	emit   emitScratch
}

func newWindowJoin(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	j := &windowJoin{opSpec: spec, ncols: [2]int{-1, -1}, wm: newInputWatermarks(), fired: int64(MinWatermark)}
	if err := json.Unmarshal(spec.Spec, &j.spec); err != nil {
		return nil, fmt.Errorf("window join spec: %w", err)
	}
	s := &j.spec
	if _, err := parseJoinType(s.Type, "inner", "left", "right", "full", "semi", "anti"); err != nil {
		return nil, err
	}
	if len(s.LeftKeys) != len(s.RightKeys) {
		return nil, errs.New(errs.InvalidPlan, "window join spec: %d left keys, %d right keys", len(s.LeftKeys), len(s.RightKeys))
	}
	j.outer = [2]bool{s.Type == "left" || s.Type == "full", s.Type == "right" || s.Type == "full"}
	j.semiAnti = s.Type == "semi" || s.Type == "anti"
	j.keys = [2][]int{s.LeftKeys, s.RightKeys}
	j.ends = [2]int{s.LeftWindowEnd, s.RightWindowEnd}
	return j, nil
}

func (j *windowJoin) Open(ctx *OperatorContext) error {
	j.ctx = ctx
	j.metrics = ctx.Metrics
	cond, err := newJoinCondition(j.spec.Condition, ctx.Mem)
	if err != nil {
		return err
	}
	j.cond = cond
	nLeft := -1 // learnt from the first batch
	if j.semiAnti {
		nLeft = j.opSpec.Schema.Len()
	}
	j.out = newJoinOutput(ctx.Mem, j.opSpec, nLeft)
	if j.semiAnti {
		return j.setColumns(0, nLeft, nil)
	}
	return nil
}

// setColumns records that input in has n data columns and creates its
// store (and, for inner and outer joins, the other input's: the output
// holds both inputs' columns). Semi and anti joins output the left
// columns only, so the right store takes its column kinds from the right
// input's first batch (fields).
func (j *windowJoin) setColumns(in, n int, fields []arrow.Field) error {
	if known, err := checkColumns("window join", j.ncols, in, n); known {
		return err
	}
	out := j.opSpec.Schema.Arrow().Fields()
	if j.semiAnti {
		if in == 0 {
			fields = out
		}
		kinds, err := viewKinds(fields[:n])
		if err != nil {
			return err
		}
		j.ncols[in] = n
		j.stores[in] = newJoinStore(kinds, j.keys[in], metaTime)
		return nil
	}
	return splitColumns("window join", out, in, n, j.keys, [2]joinMeta{metaTime, metaTime}, &j.ncols, &j.stores, j.out)
}

// ProcessBatch buffers the rows of windows that have not fired.
func (j *windowJoin) ProcessBatch(in int, b arrow.RecordBatch, _ Output) error {
	if in != 0 && in != 1 {
		return errs.Internalf("window join has two inputs, got input %d", in)
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if err := j.setColumns(in, int(b.NumCols()), b.Schema().Fields()); err != nil {
		return err
	}
	j.rowT = resize(j.rowT, n)
	if err := rowtimeMillis(b.Column(j.ends[in]), j.rowT, "window join"); err != nil {
		return err
	}
	jb := &j.jb
	if err := jb.load(b, j.ncols[in], j.keys[in], false, false); err != nil {
		return err
	}
	own := j.stores[in]
	// Lateness is judged on the row's own input's watermark (which the
	// combined one never exceeds): Flink compares with the combined
	// watermark, which makes the result depend on how far the other input
	// happens to have progressed; its results are those of inputs that
	// progress together, which this reproduces deterministically.
	lateUpTo := max(j.fired, int64(j.wm.in[in]))
	var late int64
	for i := range n {
		if j.rowT[i]-1 <= lateUpTo {
			late++
			continue
		}
		h := jb.hashes[i]
		j.seq++
		sl := own.addRow(h, own.findKey(h, jb.views, j.keys[in], i), jb.views, i, j.seq)
		own.time[sl], own.flag[sl] = j.rowT[i], false
		j.heaps[in].push(expiryItem{at: j.rowT[i] - 1, seq: j.seq, slot: sl})
	}
	j.metrics.addLate(late)
	return nil
}

// nullKey reports whether slot sl of input in's store has a NULL key.
func (j *windowJoin) nullKey(in int, sl int32) bool {
	s := j.stores[in]
	for _, kc := range s.keyCols {
		if !s.cols[kc].valid[sl] {
			return true
		}
	}
	return false
}

// fire joins and drops the rows of the windows the watermark upTo fires.
func (j *windowJoin) fire(upTo int64, out Output) error {
	if upTo <= j.fired {
		return nil
	}
	j.fired = upTo
	left, right := j.stores[0], j.stores[1]
	for in := range 2 {
		j.popped[in] = j.popped[in][:0]
		for hp := &j.heaps[in]; hp.due(upTo); {
			j.popped[in] = append(j.popped[in], hp.pop().slot)
		}
	}
	if len(j.popped[0]) == 0 && len(j.popped[1]) == 0 {
		return nil
	}
	// Pairs of the fired left rows with the right rows of their key (the
	// key includes the window, so those rows fire now too).
	p := &j.pairs
	p.in, p.other, p.keep = p.in[:0], p.other[:0], p.keep[:0]
	if left != nil && right != nil && right.live > 0 {
		for _, l := range j.popped[0] {
			if j.nullKey(0, l) {
				continue
			}
			e := right.findKeyOfSlot(left, l)
			if e < 0 {
				continue
			}
			for r := right.entHead[e]; r >= 0; r = right.next[r] {
				p.in = append(p.in, l)
				p.other = append(p.other, r)
				p.keep = append(p.keep, true)
			}
		}
	}
	if len(p.in) > 0 {
		if err := j.cond.filter(j.ncols[0], rowSource{store: left, rows: p.in}, rowSource{store: right, rows: p.other}, p.keep); err != nil {
			return err
		}
	}
	em := &j.emit
	em.reset()
	for q, l := range p.in {
		if p.keep[q] {
			if !j.semiAnti {
				em.add(connector.Insert, l, p.other[q])
			}
			left.flag[l], right.flag[p.other[q]] = true, true
		}
	}
	switch {
	case j.semiAnti:
		anti := j.spec.Type == "anti"
		for _, l := range j.popped[0] {
			if left.flag[l] != anti {
				em.add(connector.Insert, l, -1)
			}
		}
	case j.outer[0]:
		for _, l := range j.popped[0] {
			if !left.flag[l] {
				em.add(connector.Insert, l, -1)
			}
		}
	}
	if len(em.kinds) > 0 {
		if err := j.out.emit(out, em.kinds, rowSource{store: left, rows: em.in}, rowSource{store: right, rows: em.other}); err != nil {
			return err
		}
	}
	if j.outer[1] {
		em.reset()
		for _, r := range j.popped[1] {
			if !right.flag[r] {
				em.add(connector.Insert, r, -1)
			}
		}
		if len(em.kinds) > 0 {
			if err := j.out.emit(out, em.kinds, rowSource{store: left, rows: em.other}, rowSource{store: right, rows: em.in}); err != nil {
				return err
			}
		}
	}
	// Free the slots only now: the batches above read them.
	for in, s := range j.stores {
		s.removeSlots(j.popped[in])
	}
	return nil
}

func (j *windowJoin) ProcessWatermark(in int, wm Watermark, out Output) error {
	w, ok := j.wm.advance(in, wm)
	if !ok {
		return nil
	}
	if err := j.fire(int64(w), out); err != nil {
		return err
	}
	return out.EmitWatermark(w)
}

// HeldInput holds the input whose watermark is ahead of the other's. The
// join can fire a window only once both watermarks passed it, so the rows
// the leading input delivers meanwhile wait in state: reading the lagging
// input first bounds that state to about the windows the two watermarks
// are apart, where reading both as fast as they come would let the state
// grow for as long as one input runs faster (Nexmark q8 joins two scans of
// the same events, one of which outruns the other). Flink leaves this to
// source watermark alignment; here the task's backpressure does it.
func (j *windowJoin) HeldInput() int {
	return j.wm.leading()
}

// leading returns the input whose watermark is ahead of the other's, or
// -1 while they are equal: the input a join that waits for the combined
// watermark holds (see windowJoin.HeldInput and temporalJoin.HeldInput).
func (w *inputWatermarks) leading() int {
	switch {
	case w.in[0] > w.in[1]:
		return 0
	case w.in[1] > w.in[0]:
		return 1
	}
	return -1
}

func (j *windowJoin) EndInput(in int, out Output) error {
	if endInput(&j.ended, in) {
		return j.fire(int64(MaxWatermark), out)
	}
	return nil
}

func (j *windowJoin) stateRows() [2]int { return liveRows(j.stores) }

func (j *windowJoin) Snapshot() ([]byte, error) {
	var w, hw wbuf
	writeTimedHeader(&hw, j.seq, &j.wm, j.fired, j.ended)
	hw.varint(int64(j.ncols[0]))
	hw.varint(int64(j.ncols[1]))
	writeKinds(&hw, j.stores[0])
	writeKinds(&hw, j.stores[1])
	appendSection(&w, 0, hw.b)
	writeKeyGroups(&w, j.stores)
	return w.b, nil
}

func (j *windowJoin) Restore(state []byte) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			if err := readTimedHeader(r, "window join", &j.seq, &j.wm, &j.fired, &j.ended, &j.restored); err != nil {
				return err
			}
			ncols := [2]int{int(r.varint()), int(r.varint())}
			for side := range 2 {
				kinds := readKinds(r)
				if kinds == nil || j.stores[side] != nil {
					continue
				}
				j.ncols[side] = ncols[side]
				j.stores[side] = newJoinStore(kinds, j.keys[side], metaTime)
			}
			if !j.semiAnti && j.ncols[0] >= 0 {
				j.out.nLeft = j.ncols[0]
			}
			return r.err
		}
		return readKeyGroup(r, j.ctx, func(in int, sl int32) {
			s := j.stores[in]
			j.heaps[in].push(expiryItem{at: s.time[sl] - 1, seq: s.seq[sl], slot: sl})
		}, j.stores[0], j.stores[1])
	})
}

// StateBytes estimates both inputs' rows buffered until their windows
// fire, and the queues that fire them (StateSizer).
func (j *windowJoin) StateBytes() int64 {
	return joinStoresBytes(j.stores) + j.heaps[0].bytes() + j.heaps[1].bytes()
}

func (j *windowJoin) Close() error { return nil }
