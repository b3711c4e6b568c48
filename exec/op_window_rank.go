package exec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The window rank operator (KindWindowRank, spec WindowRankSpec in
// specs.go) is Flink's window Top-N and window deduplication
// (WindowRankOperator, RowTimeWindowDeduplicateOperator). Its input rows
// carry their window in the WindowStart and WindowEnd columns; a partition
// is one (PartitionKeys, window). Per partition it keeps the rows that can
// still rank within End by OrderKeys, and when the watermark reaches
// window_end - 1 it emits the window's rows ranked Start..End as +I, in
// rank order (the rank appended when OutputRank), then frees the window.
// The result of a window is final when it is emitted, so the output is
// insert-only.
//
// Ranking:
//   - ROW_NUMBER: rows with equal order keys rank in arrival order, so a
//     row tying the End-th kept row is dropped on arrival (Flink's
//     TopNBuffer). At most End rows are kept per partition.
//   - window deduplication keeping the last row (ROW_NUMBER, Start = End =
//     1, no rank column, one descending order key on a rowtime attribute:
//     the plan Flink turns into a WindowDeduplicate) keeps the later of two
//     rows with equal times, as Flink's keep-last deduplication does
//     ("rowtime >= kept rowtime" replaces). Keeping the first row (an
//     ascending time) is plain ROW_NUMBER: the earlier arrival wins a tie.
//   - RANK and DENSE_RANK (Flink plans only ROW_NUMBER for windows; a
//     window's rows are final when ranked, so the SQL meaning is
//     unambiguous and we support them): tied rows share a rank, RANK skips
//     the ranks after a tie and DENSE_RANK does not. Every row whose rank
//     is at most End is kept, so ties at the boundary may exceed End rows.
//
// Time: a row whose window has fired (window_end - 1 <= the watermark) is
// late: it is dropped and counted in OperatorMetrics.LateRecordsDropped.
// Watermarks are forwarded after the windows they close have been
// emitted; MaxWatermark (end of input) fires every open window. Windows
// fire in order of (end, start); the partitions of a window in the order
// their first rows arrived, so the output does not depend on how the
// input was batched or whether the operator was restored.
//
// Per batch the operator decodes every input column into typed views
// (joinBatch), hashes the partition keys and window columns in one
// vectorized pass, and for each row does one hash probe and, for a full
// partition, one typed comparison with its last kept row (compareSortKey),
// which rejects most rows of a large input without copying them.
//
// Key groups: a partition's hash is hashRows over PartitionKeys, then
// WindowStart, then WindowEnd; a Hash exchange in front of the operator
// that hashes those columns in that order sends every partition to the
// subtask that owns its key group (KeyGroupOf). Snapshots are laid out by
// key group as the window aggregate's are.

func init() { RegisterOperator(KindWindowRank, newWindowRank) }

// Rank functions of WindowRankSpec.RankType.
const (
	rankRowNumber = iota
	rankRank
	rankDense
)

// winKey identifies a window by its bounds in milliseconds.
type winKey struct{ start, end int64 }

func (a winKey) compare(b winKey) int {
	if c := cmp.Compare(a.end, b.end); c != 0 {
		return c
	}
	return cmp.Compare(a.start, b.start)
}

type windowRankOp struct {
	spec     WindowRankSpec
	nIn      int
	rankType int
	// latestFirst: window deduplication keeping the last row, where the
	// later of two tied rows wins.
	latestFirst bool
	unit        arrow.TimeUnit // of the window columns
	metrics     *OperatorMetrics
	batchSize   int

	store *rowStore
	// parts indexes partitions by keyCols: PartitionKeys, WindowStart,
	// WindowEnd.
	parts   *partitionTable
	keyCols []int
	rows    [][]int32 // per partition: kept slots in rank order
	first   []int64   // per partition: arrival number of its first row
	windows map[winKey][]int32
	// nextEnd is the smallest end of an open window (MaxInt64: none).
	nextEnd  int64
	progress int64 // the watermark
	seq      int64 // arrival number of the last row kept
	restored bool
	// octx tells a rescaled restore which key groups this subtask owns.
	octx *OperatorContext

	// per batch
	in     joinBatch
	bounds []winKey
	// stored views of the order key columns; refreshed whenever the store
	// may have grown.
	stored   []colView
	storedAt int32 // store.n when stored was refreshed

	emit    *rowEmitter
	pending []int32 // emitted slots to free once the batch is built
	fired   []winKey
}

func newWindowRank(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	w := &windowRankOp{windows: map[winKey][]int32{}, nextEnd: math.MaxInt64, progress: int64(MinWatermark), storedAt: -1}
	if err := json.Unmarshal(spec.Spec, &w.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "window rank spec")
	}
	s := &w.spec
	switch s.RankType {
	case "row_number":
		w.rankType = rankRowNumber
	case "rank":
		w.rankType = rankRank
	case "dense_rank":
		w.rankType = rankDense
	default:
		return nil, errs.New(errs.InvalidPlan, "window rank: unknown rank type %q", s.RankType)
	}
	if s.Start < 1 || s.End < s.Start {
		return nil, errs.New(errs.InvalidPlan, "window rank: invalid rank range %d..%d", s.Start, s.End)
	}
	if s.End > math.MaxInt32 {
		return nil, errs.New(errs.NotSupported, "window rank: rank end %d is too large", s.End)
	}
	if spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "window rank: the output is insert-only, not a changelog")
	}
	w.nIn = spec.Schema.Len()
	if s.OutputRank {
		w.nIn--
	}
	kinds, _, err := storeKinds(spec.Schema, w.nIn, "window Top-N")
	if err != nil {
		return nil, err
	}
	inRange := func(c int) bool { return c >= 0 && c < w.nIn }
	for _, k := range s.PartitionKeys {
		if !inRange(k) {
			return nil, errs.New(errs.InvalidPlan, "window rank: partition key %d out of range", k)
		}
	}
	for _, k := range s.OrderKeys {
		if !inRange(k.Col) {
			return nil, errs.New(errs.InvalidPlan, "window rank: order key %d out of range", k.Col)
		}
	}
	for _, c := range []int{s.WindowStart, s.WindowEnd} {
		if !inRange(c) || !spec.Schema.Columns[c].Type.IsTimestamp() {
			return nil, errs.New(errs.InvalidPlan, "window rank: window column %d is not a timestamp column of the input", c)
		}
	}
	w.unit = spec.Schema.Columns[s.WindowEnd].Type.Arrow().(*arrow.TimestampType).Unit
	if u := spec.Schema.Columns[s.WindowStart].Type.Arrow().(*arrow.TimestampType).Unit; u != w.unit {
		return nil, errs.New(errs.InvalidPlan, "window rank: window_start and window_end have different precisions")
	}
	w.latestFirst = w.rankType == rankRowNumber && s.Start == 1 && s.End == 1 && !s.OutputRank &&
		len(s.OrderKeys) == 1 && s.OrderKeys[0].Desc &&
		spec.Schema.Columns[s.OrderKeys[0].Col].Type.TimeAttr == types.RowtimeAttr
	w.keyCols = append(slices.Clone(s.PartitionKeys), s.WindowStart, s.WindowEnd)
	w.store = newRowStore(kinds)
	w.parts = newPartitionTable(w.keyCols, kinds)
	w.emit = newRowEmitter(ctx.Mem, spec, w.nIn, s.OutputRank)
	w.stored = make([]colView, len(s.OrderKeys))
	return w, nil
}

func (w *windowRankOp) Open(ctx *OperatorContext) error {
	w.metrics, w.octx = ctx.Metrics, ctx
	w.emit.mem = ctx.Mem
	n, err := BatchSize(ctx.Config)
	if err != nil {
		return err
	}
	w.batchSize = n
	return nil
}

// refreshStored re-points the stored order key views at the store's
// columns, which grow by reallocation.
func (w *windowRankOp) refreshStored() {
	if w.storedAt == w.store.n {
		return
	}
	w.storedAt = w.store.n
	for j, k := range w.spec.OrderKeys {
		w.stored[j] = storedView(&w.store.cols[k.Col])
	}
}

// compareRow orders row i of the current batch against stored slot sl:
// negative when the row sorts first.
func (w *windowRankOp) compareRow(i int, sl int32) int {
	for j, k := range w.spec.OrderKeys {
		if c := compareSortKey(k, &w.in.views[k.Col], i, &w.stored[j], int(sl)); c != 0 {
			return c
		}
	}
	return 0
}

// compareSlots orders two stored slots.
func (w *windowRankOp) compareSlots(a, b int32) int {
	for j, k := range w.spec.OrderKeys {
		if c := compareSortKey(k, &w.stored[j], int(a), &w.stored[j], int(b)); c != 0 {
			return c
		}
	}
	return 0
}

func (w *windowRankOp) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	if err := w.in.load(b, w.nIn, w.keyCols, false, false); err != nil {
		return fmt.Errorf("window rank: %w", err)
	}
	if err := w.loadBounds(n); err != nil {
		return err
	}
	var late int64
	for i, wk := range w.bounds {
		if wk.end-1 <= w.progress {
			late++
			continue
		}
		h := w.in.hashes[i]
		p := w.parts.find(h, w.in.views, i)
		if p < 0 {
			p = w.addPartition(h, i, wk)
		}
		w.accumulate(p, i)
	}
	w.metrics.addLate(late)
	return nil
}

// loadBounds converts the window columns of the batch to milliseconds.
func (w *windowRankOp) loadBounds(n int) error {
	sv, ev := &w.in.views[w.spec.WindowStart], &w.in.views[w.spec.WindowEnd]
	if sv.valid != nil || ev.valid != nil {
		return errs.New(errs.DataException, "window rank: window_start and window_end must not be NULL")
	}
	w.bounds = resize(w.bounds, n)
	if w.unit == arrow.Millisecond {
		for i := range w.bounds {
			w.bounds[i] = winKey{sv.ints[i], ev.ints[i]}
		}
		return nil
	}
	for i := range w.bounds {
		w.bounds[i] = winKey{int64(toMillis(arrow.Timestamp(sv.ints[i]), w.unit)), int64(toMillis(arrow.Timestamp(ev.ints[i]), w.unit))}
	}
	return nil
}

// addPartition creates the partition of row i (hash h) in window wk.
func (w *windowRankOp) addPartition(h uint64, i int, wk winKey) int32 {
	p := w.parts.add(h, w.in.views, i, 0)
	w.track(p, wk, w.seq+1)
	return p
}

// track records partition p, new or restored, as a member of window wk.
func (w *windowRankOp) track(p int32, wk winKey, first int64) {
	n := int(w.parts.n)
	w.rows, w.first = growTo(w.rows, n), growTo(w.first, n)
	w.first[p] = first
	w.windows[wk] = append(w.windows[wk], p)
	w.nextEnd = min(w.nextEnd, wk.end)
}

// accumulate offers row i to partition p.
func (w *windowRankOp) accumulate(p int32, i int) {
	rows := w.rows[p]
	end := int(w.spec.End)
	if len(rows) >= end {
		// Full: one comparison with the last kept row rejects most rows.
		c := w.compareRow(i, rows[len(rows)-1])
		switch {
		case c < 0:
		case c == 0:
			if w.rankType == rankRowNumber && !w.latestFirst {
				return // a tie ranks after the kept rows
			}
		case w.rankType != rankDense || w.distinct(rows) >= end:
			return
		}
	}
	pos, _ := slices.BinarySearchFunc(rows, i, func(sl int32, i int) int {
		if c := w.compareRow(i, sl); c < 0 || c == 0 && w.latestFirst {
			return 1
		}
		return -1
	})
	w.seq++
	sl := w.store.put(w.in.views, i, w.seq)
	w.refreshStored()
	rows = slices.Insert(rows, pos, sl)
	if keep := w.keep(rows); keep < len(rows) {
		for _, old := range rows[keep:] {
			w.store.release(old)
		}
		rows = rows[:keep]
	}
	w.rows[p] = rows
}

// keep is how many of the sorted rows rank within End.
func (w *windowRankOp) keep(rows []int32) int {
	end := int(w.spec.End)
	switch w.rankType {
	case rankRowNumber:
		return min(len(rows), end)
	case rankRank:
		if len(rows) <= end {
			return len(rows)
		}
		// Rows tying the End-th share its rank.
		k := end
		for k < len(rows) && w.compareSlots(rows[k], rows[end-1]) == 0 {
			k++
		}
		return k
	}
	distinct := 1
	for k := 1; k < len(rows); k++ {
		if w.compareSlots(rows[k], rows[k-1]) != 0 {
			if distinct++; distinct > end {
				return k
			}
		}
	}
	return len(rows)
}

// distinct counts the distinct order keys of sorted rows.
func (w *windowRankOp) distinct(rows []int32) int {
	n := 0
	for k := range rows {
		if k == 0 || w.compareSlots(rows[k], rows[k-1]) != 0 {
			n++
		}
	}
	return n
}

func (w *windowRankOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if int64(wm) > w.progress {
		w.progress = int64(wm)
		if err := w.fire(int64(wm), out); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

// EndInput fires what is left; MaxWatermark normally has already.
func (w *windowRankOp) EndInput(_ int, out Output) error {
	return w.fire(math.MaxInt64, out)
}

// fire emits and frees every window with end - 1 <= limit.
func (w *windowRankOp) fire(limit int64, out Output) error {
	if w.nextEnd-1 > limit {
		return nil
	}
	w.fired = w.fired[:0]
	next := int64(math.MaxInt64)
	for wk := range w.windows {
		if wk.end-1 <= limit {
			w.fired = append(w.fired, wk)
		} else {
			next = min(next, wk.end)
		}
	}
	w.nextEnd = next
	slices.SortFunc(w.fired, winKey.compare)
	for _, wk := range w.fired {
		parts := w.windows[wk]
		delete(w.windows, wk)
		slices.SortFunc(parts, func(a, b int32) int { return cmp.Compare(w.first[a], w.first[b]) })
		for _, p := range parts {
			if err := w.emitPartition(p, out); err != nil {
				return err
			}
		}
	}
	return w.flush(out)
}

// emitPartition adds partition p's rows ranked Start..End to the output
// and frees the partition.
func (w *windowRankOp) emitPartition(p int32, out Output) error {
	rows := w.rows[p]
	var rank int64
	for j, sl := range rows {
		switch {
		case w.rankType == rankRowNumber:
			rank = int64(j + 1)
		case j == 0:
			rank = 1
		case w.compareSlots(sl, rows[j-1]) != 0:
			if w.rankType == rankRank {
				rank = int64(j + 1)
			} else {
				rank++
			}
		}
		if rank >= w.spec.Start && rank <= w.spec.End {
			w.emit.add(connector.Insert, sl, -1, rank)
		}
		w.pending = append(w.pending, sl)
		if w.emit.len() >= w.batchSize {
			if err := w.flush(out); err != nil {
				return err
			}
		}
	}
	// The partition's number is reused by a later partition: keep the
	// slice's capacity for it.
	w.rows[p] = rows[:0]
	w.parts.remove(p)
	return nil
}

// flush emits the collected rows and frees their slots.
func (w *windowRankOp) flush(out Output) error {
	err := w.emit.flush(out, w.store, nil)
	for _, sl := range w.pending {
		w.store.release(sl)
	}
	w.pending = w.pending[:0]
	return err
}

// Snapshot layout, as the window aggregate's: a version byte, the
// watermark and the arrival counter, then the partitions grouped by key
// group: the number of non-empty groups and, per group in ascending
// order, its number (KeyGroupOf of the partition hash) and the byte length
// of the rest of the group, which is self-delimiting so that a rescaled
// job can hand each subtask its groups without decoding them: the
// partition count, then per partition its hash and key values (window
// bounds included), the arrival number of its first row, and its rows in
// rank order.
const windowRankStateVersion = 1

func (w *windowRankOp) Snapshot() ([]byte, error) {
	var out, group, count wbuf
	out.byte(windowRankStateVersion)
	out.varint(w.progress)
	out.varint(w.seq)
	groups := w.parts.byKeyGroup()
	nonEmpty := 0
	for _, ps := range groups {
		if len(ps) > 0 {
			nonEmpty++
		}
	}
	out.uvarint(uint64(nonEmpty))
	for g, ps := range groups {
		if len(ps) == 0 {
			continue
		}
		group.b, count.b = group.b[:0], count.b[:0]
		count.uvarint(uint64(len(ps)))
		for _, p := range ps {
			w.parts.encode(&group, p)
			group.varint(w.first[p])
			w.store.encodeSlots(&group, w.rows[p])
		}
		out.uvarint(uint64(g))
		out.uvarint(uint64(len(count.b) + len(group.b)))
		out.b = append(out.b, count.b...)
		out.b = append(out.b, group.b...)
	}
	return out.b, nil
}

// Restore loads a snapshot into a fresh operator. Restoring several
// snapshots (a rescale) keeps the smallest watermark among them, so that
// no subtask's open windows become late.
func (w *windowRankOp) Restore(state []byte) error {
	r := &rbuf{b: state}
	if v := r.byte(); v != windowRankStateVersion && r.err == nil {
		return errs.Internalf("window rank state version %d, want %d", v, windowRankStateVersion)
	}
	progress, seq := r.varint(), r.varint()
	if w.restored {
		progress = min(progress, w.progress)
	}
	w.progress, w.seq, w.restored = progress, max(seq, w.seq), true
	nk := len(w.spec.PartitionKeys)
	for range r.uvarint() {
		kg, length := r.uvarint(), r.uvarint()
		if !ownsKeyGroup(w.octx, int(kg)) {
			r.bytes(length) // another subtask of a rescaled job owns it
			continue
		}
		for range r.uvarint() {
			if r.err != nil {
				return r.err
			}
			p := w.parts.decode(r)
			first := r.varint()
			n := r.uvarint()
			if r.err != nil {
				return r.err
			}
			wk := winKey{w.parts.keys[nk].ints[p], w.parts.keys[nk+1].ints[p]}
			if w.unit != arrow.Millisecond {
				wk = winKey{int64(toMillis(arrow.Timestamp(wk.start), w.unit)), int64(toMillis(arrow.Timestamp(wk.end), w.unit))}
			}
			w.track(p, wk, first)
			rows := make([]int32, 0, n)
			for range n {
				rows = append(rows, w.store.decode(r))
			}
			w.rows[p] = rows
		}
	}
	w.refreshStored()
	if r.err == nil && len(r.b) > 0 {
		return errs.Internalf("window rank state has %d trailing bytes", len(r.b))
	}
	return r.err
}

// StateBytes estimates the open windows (bounds and partition list), the
// partitions with their first arrival number and rank order, and the rows
// they keep, each with its entry in that order (StateSizer).
func (w *windowRankOp) StateBytes() int64 {
	return int64(len(w.windows))*(16+24) + w.parts.bytes() + int64(w.parts.count)*(8+4+24) +
		w.store.bytes() + int64(w.store.live)*4
}

func (w *windowRankOp) Close() error { return nil }

// windowRankStats describes the operator's state for tests and benchmarks.
type windowRankStats struct {
	Windows, Partitions, Rows int
}

func (w *windowRankOp) stats() windowRankStats {
	return windowRankStats{Windows: len(w.windows), Partitions: w.parts.count, Rows: w.store.live}
}
