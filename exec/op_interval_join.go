package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The interval join (KindIntervalJoin), Flink's RowTimeIntervalJoin and
// ProcTimeIntervalJoin: a left row l and a right row r join when their
// keys are equal, LowerBound <= l.time - r.time <= UpperBound and the
// Condition holds. Both inputs are insert-only and so is the output.
//
// Each input buffers its rows by key. An arriving row joins the other
// input's buffered rows of its key within the bounds (one +I per pair, in
// the order those rows arrived) and is buffered while rows of the other
// input can still join it: a left row at time t while the watermark W (the
// minimum of both inputs') is below t - LowerBound, a right row while W is
// below t + UpperBound, since later rows of the other input have times
// above W. When an input's times lie on a grid (LeftTimeGrid,
// RightTimeGrid: the window_end of a window aggregate's rows), a row of the
// other input is buffered only until W reaches the last grid time within
// its bounds. When the watermark passes that point the row is dropped and,
// for the outer side(s) of LEFT/RIGHT/FULL joins, emitted padded with
// NULLs if it never joined (left rows first, then right rows, each in
// the order they expire, ties in arrival order). A row that arrives already expired
// (late) still joins the rows still buffered, and is padded at once if it
// joins none. Rows with a NULL key never join, nor does any row when
// LowerBound > UpperBound (an empty interval, which Flink accepts); outer
// ones are then padded at once.
//
// The operator holds back the watermark it forwards by max(-LowerBound,
// UpperBound), as Flink's interval join does (getMaxOutputDelay), so the
// padded rows it emits late are not late downstream.
//
// With ProcTime the time of a row is the processing time at which it
// arrives (OperatorContext.Clock) and rows expire with processing time:
// before each batch and on OnProcessingTime. Watermarks pass through.

func init() { RegisterOperator(KindIntervalJoin, newIntervalJoin) }

type intervalJoin struct {
	spec   IntervalJoinSpec
	opSpec OperatorSpec
	ctx    *OperatorContext
	clock  Clock
	outer  [2]bool
	keys   [2][]int
	times  [2]int
	ncols  [2]int
	stores [2]*joinStore
	heaps  [2]expiryHeap
	cond   *joinCondition
	out    *joinOutput
	seq    int64
	wm     inputWatermarks
	// expired is the time up to which rows have been expired: the combined
	// watermark, or processing time - 1 with ProcTime.
	expired int64
	delay   int64
	ended   [2]bool
	// restored: a snapshot header was restored (rescaling restores several).
	restored bool

	jb     joinBatch
	rowT   []int64
	popped []int32
	pairs  pairScratch
	emit   emitScratch
}

func newIntervalJoin(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	j := &intervalJoin{opSpec: spec, ncols: [2]int{-1, -1}, wm: newInputWatermarks(), expired: int64(MinWatermark)}
	if err := json.Unmarshal(spec.Spec, &j.spec); err != nil {
		return nil, fmt.Errorf("interval join spec: %w", err)
	}
	s := &j.spec
	if _, err := parseJoinType(s.Type, "inner", "left", "right", "full"); err != nil {
		return nil, err
	}
	if len(s.LeftKeys) != len(s.RightKeys) {
		return nil, errs.New(errs.InvalidPlan, "interval join spec: %d left keys, %d right keys", len(s.LeftKeys), len(s.RightKeys))
	}
	for _, g := range []*TimeGrid{s.LeftTimeGrid, s.RightTimeGrid} {
		if g != nil && g.Step <= 0 {
			return nil, errs.New(errs.InvalidPlan, "interval join spec: time grid step must be positive, got %d ms", g.Step)
		}
	}
	j.outer = [2]bool{s.Type == "left" || s.Type == "full", s.Type == "right" || s.Type == "full"}
	j.keys = [2][]int{s.LeftKeys, s.RightKeys}
	j.times = [2]int{s.LeftTimeCol, s.RightTimeCol}
	j.delay = max(-s.LowerBound, s.UpperBound, 0)
	return j, nil
}

func (j *intervalJoin) Open(ctx *OperatorContext) error {
	j.ctx = ctx
	j.clock = clockOf(ctx)
	cond, err := newJoinCondition(j.spec.Condition, ctx.Mem)
	if err != nil {
		return err
	}
	j.cond = cond
	j.out = newJoinOutput(ctx.Mem, j.opSpec, -1)
	return nil
}

func (j *intervalJoin) setColumns(in, n int) error {
	if known, err := checkColumns("interval join", j.ncols, in, n); known {
		return err
	}
	return splitColumns("interval join", j.opSpec.Schema.Arrow().Fields(), in, n, j.keys,
		[2]joinMeta{metaTime, metaTime}, &j.ncols, &j.stores, j.out)
}

// expiry is when a row of input in at time t can no longer join: when the
// other input's times pass the end of its window, or, when they lie on a
// grid, the last grid time in that window.
func (j *intervalJoin) expiry(in int, t int64) int64 {
	if in == 0 {
		return j.spec.RightTimeGrid.atOrBefore(t - j.spec.LowerBound)
	}
	return j.spec.LeftTimeGrid.atOrBefore(t + j.spec.UpperBound)
}

// atOrBefore is the last time of the grid at or before t (t itself
// without a grid).
func (g *TimeGrid) atOrBefore(t int64) int64 {
	if g == nil {
		return t
	}
	return windowStart(t, g.Offset, g.Step)
}

// window is the range of the other input's times a row of input in at
// time t joins.
func (j *intervalJoin) window(in int, t int64) (lo, hi int64) {
	if in == 0 {
		return t - j.spec.UpperBound, t - j.spec.LowerBound
	}
	return t + j.spec.LowerBound, t + j.spec.UpperBound
}

func (j *intervalJoin) ProcessBatch(in int, b arrow.RecordBatch, out Output) error {
	if in != 0 && in != 1 {
		return errs.Internalf("interval join has two inputs, got input %d", in)
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if err := j.setColumns(in, int(b.NumCols())); err != nil {
		return err
	}
	if j.spec.ProcTime {
		now := j.clock.NowMillis()
		if err := j.expire(now-1, out); err != nil {
			return err
		}
		j.rowT = resize(j.rowT, n)
		for i := range j.rowT {
			j.rowT[i] = now
		}
	} else {
		j.rowT = resize(j.rowT, n)
		if err := rowtimeMillis(b.Column(j.times[in]), j.rowT, "interval join"); err != nil {
			return err
		}
	}
	jb := &j.jb
	if err := jb.load(b, j.ncols[in], j.keys[in], false, false); err != nil {
		return err
	}
	other := j.stores[1-in]
	p := &j.pairs
	p.in, p.other, p.keep = p.in[:0], p.other[:0], p.keep[:0]
	p.start = resize(p.start, n+1)
	for i := range n {
		other.touchAhead(jb.hashes, i)
		p.start[i] = int32(len(p.in))
		if jb.nullKey[i] || other.live == 0 {
			continue
		}
		e := other.findKey(jb.hashes[i], jb.views, j.keys[in], i)
		if e < 0 {
			continue
		}
		lo, hi := j.window(in, j.rowT[i])
		for sl := other.entHead[e]; sl >= 0; sl = other.next[sl] {
			if t := other.time[sl]; t >= lo && t <= hi {
				p.in = append(p.in, int32(i))
				p.other = append(p.other, sl)
				p.keep = append(p.keep, true)
			}
		}
	}
	p.start[n] = int32(len(p.in))
	batchSide := rowSource{views: jb.views, rows: p.in}
	stateSide := rowSource{store: other, rows: p.other}
	var err error
	if in == 0 {
		err = j.cond.filter(j.ncols[0], batchSide, stateSide, p.keep)
	} else {
		err = j.cond.filter(j.ncols[0], stateSide, batchSide, p.keep)
	}
	if err != nil {
		return err
	}
	em := &j.emit
	em.reset()
	own := j.stores[in]
	for i := range n {
		own.touchAhead(jb.hashes, i)
		joined := false
		for q := p.start[i]; q < p.start[i+1]; q++ {
			if p.keep[q] {
				joined = true
				other.flag[p.other[q]] = true
				em.add(connector.Insert, int32(i), p.other[q])
			}
		}
		exp := j.expiry(in, j.rowT[i])
		if jb.nullKey[i] || exp <= j.expired || j.spec.LowerBound > j.spec.UpperBound {
			if !joined && j.outer[in] {
				em.add(connector.Insert, int32(i), -1)
			}
			continue
		}
		h := jb.hashes[i]
		j.seq++
		// Only the keys of the rows stored so far are read before the
		// batch is done.
		sl := own.addRowKeys(h, own.findKey(h, jb.views, j.keys[in], i), jb.views, i, j.seq)
		own.time[sl], own.flag[sl] = j.rowT[i], joined
		j.heaps[in].push(expiryItem{at: exp, seq: j.seq, slot: sl})
	}
	own.copyPending(jb.views)
	batchSide = rowSource{views: jb.views, rows: em.in}
	stateSide = rowSource{store: other, rows: em.other}
	if in == 0 {
		return j.out.emit(out, em.kinds, batchSide, stateSide)
	}
	return j.out.emit(out, em.kinds, stateSide, batchSide)
}

// expire drops the rows that can no longer join once time reaches upTo,
// emitting the unmatched ones of outer sides padded with NULLs.
func (j *intervalJoin) expire(upTo int64, out Output) error {
	if upTo <= j.expired {
		return nil
	}
	j.expired = upTo
	for in := range 2 {
		s, hp, em := j.stores[in], &j.heaps[in], &j.emit
		em.reset()
		j.popped = j.popped[:0]
		for hp.due(upTo) {
			it := hp.pop()
			j.popped = append(j.popped, it.slot)
			if j.outer[in] && !s.flag[it.slot] {
				em.add(connector.Insert, it.slot, -1)
			}
		}
		if len(em.kinds) > 0 {
			own := rowSource{store: s, rows: em.in}
			pad := rowSource{store: j.stores[1-in], rows: em.other}
			var err error
			if in == 0 {
				err = j.out.emit(out, em.kinds, own, pad)
			} else {
				err = j.out.emit(out, em.kinds, pad, own)
			}
			if err != nil {
				return err
			}
		}
		// Free the slots only now: the batch above read them.
		s.removeSlots(j.popped)
	}
	return nil
}

func (j *intervalJoin) ProcessWatermark(in int, wm Watermark, out Output) error {
	w, ok := j.wm.advance(in, wm)
	if !ok {
		return nil
	}
	if j.spec.ProcTime {
		return out.EmitWatermark(w)
	}
	if err := j.expire(int64(w), out); err != nil {
		return err
	}
	switch {
	case w == MaxWatermark:
		return out.EmitWatermark(w)
	case int64(w) < int64(MinWatermark)+j.delay:
		return nil
	}
	return out.EmitWatermark(w - Watermark(j.delay))
}

// HeldInput holds an input whose watermark runs further ahead than the
// bounds let its rows pass without waiting (Flink's InputSelectable; the
// task ignores it while the other input cannot advance on its own).
//
// A left row at time t is kept until the combined watermark W, the lagging
// input's, reaches t - LowerBound; a right row until W reaches
// t + UpperBound. A row arrives at about its own input's watermark, so
// when the left watermark leads the right one by D the left input keeps
// the rows of the last D - LowerBound ms (none while D <= LowerBound):
// holding the left input helps once D > max(LowerBound, 0), and within
// that lead it would only stall the input for no smaller state. Likewise
// the right input, whose rows wait D + UpperBound ms, once it leads by
// more than max(-UpperBound, 0). The two conditions exclude each other.
// (On a time grid rows expire sooner still, so these thresholds never
// hold too late.) Without holding, the state grows with how far the
// faster input runs ahead, for as long as it does (Nexmark q7 joins two
// scans of the same events: the bids, and the maxima of their windows).
// Holding makes no sense where nothing waits for a watermark: a
// processing-time join expires rows by the clock, and an empty interval
// keeps no rows.
func (j *intervalJoin) HeldInput() int {
	s := &j.spec
	if s.ProcTime || s.LowerBound > s.UpperBound {
		return -1
	}
	switch {
	case leadsBy(j.wm.in[0], j.wm.in[1], max(s.LowerBound, 0)):
		return 0
	case leadsBy(j.wm.in[1], j.wm.in[0], max(-s.UpperBound, 0)):
		return 1
	}
	return -1
}

// leadsBy says whether watermark a is more than by (>= 0) ms ahead of b,
// without overflowing at MinWatermark or MaxWatermark.
func leadsBy(a, b Watermark, by int64) bool {
	return a > b && uint64(a)-uint64(b) > uint64(by)
}

// OnProcessingTime expires rows of a processing-time interval join.
func (j *intervalJoin) OnProcessingTime(out Output) error {
	if !j.spec.ProcTime {
		return nil
	}
	return j.expire(j.clock.NowMillis()-1, out)
}

// EndInput expires every row of an event-time join once both inputs have
// ended (emitting the unmatched rows of an outer join). A processing-time
// join keeps its rows: Flink expires them by processing-time timers, which
// a task cancels rather than fires when its input ends (FLINK-14231).
func (j *intervalJoin) EndInput(in int, out Output) error {
	if endInput(&j.ended, in) && !j.spec.ProcTime {
		return j.expire(int64(MaxWatermark), out)
	}
	return nil
}

func (j *intervalJoin) stateRows() [2]int { return liveRows(j.stores) }

func (j *intervalJoin) Snapshot() ([]byte, error) {
	var w, hw wbuf
	writeTimedHeader(&hw, j.seq, &j.wm, j.expired, j.ended)
	hw.varint(int64(j.ncols[0]))
	appendSection(&w, 0, hw.b)
	writeKeyGroups(&w, j.stores)
	return w.b, nil
}

func (j *intervalJoin) Restore(state []byte) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			if err := readTimedHeader(r, "interval join", &j.seq, &j.wm, &j.expired, &j.ended, &j.restored); err != nil {
				return err
			}
			if nLeft := int(r.varint()); nLeft >= 0 && r.err == nil {
				return j.setColumns(0, nLeft)
			}
			return r.err
		}
		return readKeyGroup(r, j.ctx, func(in int, sl int32) {
			s := j.stores[in]
			j.heaps[in].push(expiryItem{at: j.expiry(in, s.time[sl]), seq: s.seq[sl], slot: sl})
		}, j.stores[0], j.stores[1])
	})
}

// StateBytes estimates both inputs' stored rows and their expiry queues
// (StateSizer).
func (j *intervalJoin) StateBytes() int64 {
	return joinStoresBytes(j.stores) + j.heaps[0].bytes() + j.heaps[1].bytes()
}

func (j *intervalJoin) Close() error { return nil }

// expiryItem is a buffered row of a time-based join, due at time at.
type expiryItem struct {
	at   int64
	seq  int64
	slot int32
}

// expiryHeap queues rows by (at, seq): the order rows expire (or, in the
// temporal join, become due) in. Rows mostly arrive in that order (their
// times grow with the stream, seq with every row), so a row that sorts
// after the last one of run is appended to it, a sorted FIFO, in
// constant time; only the others go to items, a binary min-heap, whose
// sifts over a large state miss the caches at every level. The earliest
// row is the first of run or the top of the heap.
type expiryHeap struct {
	items []expiryItem // binary min-heap
	run   []expiryItem // sorted; run[head:] are queued
	head  int
}

// bytes is the size of the queued items (StateSizer): an expiryItem is
// two int64 and an int32, padded to 24 bytes.
func (h *expiryHeap) bytes() int64 { return int64(h.len()) * 24 }

func (h *expiryHeap) len() int { return len(h.items) + len(h.run) - h.head }

// due reports whether a queued row is due at or before time t.
func (h *expiryHeap) due(t int64) bool {
	if h.head < len(h.run) && h.run[h.head].at <= t {
		return true
	}
	return len(h.items) > 0 && h.items[0].at <= t
}

func itemLess(x, y *expiryItem) bool {
	return x.at < y.at || x.at == y.at && x.seq < y.seq
}

func (h *expiryHeap) less(a, b int) bool { return itemLess(&h.items[a], &h.items[b]) }

func (h *expiryHeap) push(it expiryItem) {
	if n := len(h.run); h.head == n || !itemLess(&it, &h.run[n-1]) {
		h.run = append(h.run, it)
		return
	}
	h.items = append(h.items, it)
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

// pop removes and returns the earliest row; the queue must not be empty.
func (h *expiryHeap) pop() expiryItem {
	if h.head < len(h.run) && (len(h.items) == 0 || itemLess(&h.run[h.head], &h.items[0])) {
		it := h.run[h.head]
		h.head++
		switch {
		case h.head == len(h.run):
			h.run, h.head = h.run[:0], 0
		case h.head >= 1024 && 2*h.head >= len(h.run):
			// Reclaim the popped prefix: the copy is paid for by the pops.
			h.run = h.run[:copy(h.run, h.run[h.head:])]
			h.head = 0
		}
		return it
	}
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.less(l, m) {
			m = l
		}
		if r < last && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h.items[i], h.items[m] = h.items[m], h.items[i]
		i = m
	}
	return top
}
