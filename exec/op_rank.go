package exec

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The rank operator (KindRank, spec RankSpec in specs.go) is Flink's
// streaming Top-N: per partition, the rows ranked Start..End by OrderKeys
// with ROW_NUMBER (rows with equal order keys rank in arrival order), RANK
// or DENSE_RANK (rows with equal order keys share a rank).
//
// State per partition is its rows sorted by order key, ties in arrival
// order, so a row's rank is its index + 1:
//
//   - insert-only input (Flink's AppendOnlyTopNFunction): only the top End
//     rows are kept; a row that cannot enter them is dropped on arrival,
//     after one comparison with the last kept row. Memory is bounded by End
//     rows per partition.
//   - changelog input (InputChangelog, Flink's RetractableTopNFunction):
//     every row is kept, since a retraction inside the top rows promotes
//     the next one. A retraction removes the first stored row equal to it
//     (all columns, NULL equal to NULL); one matching no stored row is
//     ignored.
//
// Output, a retract changelog, follows Flink's two algorithms:
//
//   - without the rank column and with Start = 1, rows are emitted as they
//     enter (+I) and leave (-D) the top End: an arriving row that pushes
//     the End-th row out emits -D(pushed out row) then +I(row); a retracted
//     row inside the top emits -D(row) then +I(the row promoted into rank
//     End), if any. Over insert-only input with End = 1 (Flink's
//     FastTop1Function), a new first row emits -U(old first)/+U(row).
//   - with the rank column (OutputRank) or an offset (Start > 1), changes
//     are emitted per rank position: every position in Start..End whose row
//     changes emits -U(old row, r) and +U(new row, r); a position that
//     becomes occupied emits +I, one that becomes empty -D.
//
// Flink's streaming planner rejects RANK and DENSE_RANK; Eddy runs them
// (batch mode runs Top-N with this operator too) by comparing the rows in
// range before and after each change: rows leaving the range emit -D, rows
// entering it +I and, with the rank column, rows whose rank changes -U/+U.
// Over insert-only input, rows ranked beyond End are dropped, since ranks
// only grow as rows arrive.
//
// State TTL (StateTTLMillis > 0): a partition not written for that long
// (processing time, OperatorContext.Clock) is dropped: it behaves as empty
// when its key arrives again and is swept from memory once per TTL period.
//
// Snapshot: sections as the join operators write them (appendSection):
// tag 0 holds the arrival counter, tag kg+1 the partitions of key group kg,
// each with its key, last write time and rows in rank order.

func init() { RegisterOperator(KindRank, newRank) }

type rankOp struct {
	spec  RankSpec
	nIn   int
	ctx   *OperatorContext
	clock Clock

	store *rowStore
	parts *partitionTable
	rows  [][]int32 // per partition: slots in rank order
	seq   int64
	// orderCols are the order key columns: over insert-only input the only
	// ones of a stored row read before its batch is emitted (putLater).
	orderCols []int

	in        joinBatch
	emit      *rowEmitter
	release   []int32 // slots to free after the batch is emitted
	lastSweep int64
	// withNumbers selects Flink's per-position algorithm.
	withNumbers bool
	// ranked is set for RANK and DENSE_RANK; before and after hold the
	// rows in range around one change.
	ranked, dense bool
	before, after []rankEntry
}

// rankEntry is a row in the rank range: its slot, its index in the
// partition's rows and its rank.
type rankEntry struct {
	slot int32
	idx  int
	rank int64
}

func newRank(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	r := &rankOp{ctx: ctx}
	if err := json.Unmarshal(spec.Spec, &r.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "rank spec")
	}
	s := &r.spec
	switch s.RankType {
	case "row_number":
	case "rank", "dense_rank":
		r.ranked, r.dense = true, s.RankType == "dense_rank"
	default:
		return nil, errs.New(errs.InvalidPlan, "rank: unknown rank type %q", s.RankType)
	}
	if s.Start < 1 || s.End < s.Start {
		return nil, errs.New(errs.InvalidPlan, "rank: invalid rank range %d..%d", s.Start, s.End)
	}
	if !spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "rank: the output must be a changelog")
	}
	r.nIn = spec.Schema.Len()
	if s.OutputRank {
		r.nIn--
	}
	kinds, _, err := storeKinds(spec.Schema, r.nIn, "Top-N")
	if err != nil {
		return nil, err
	}
	for _, k := range s.PartitionKeys {
		if k < 0 || k >= r.nIn {
			return nil, errs.New(errs.InvalidPlan, "rank: partition key %d out of range", k)
		}
	}
	for _, k := range s.OrderKeys {
		if k.Col < 0 || k.Col >= r.nIn {
			return nil, errs.New(errs.InvalidPlan, "rank: order key %d out of range", k.Col)
		}
	}
	r.store = newRowStore(kinds)
	for _, k := range s.OrderKeys {
		r.orderCols = append(r.orderCols, k.Col)
	}
	r.parts = newPartitionTable(s.PartitionKeys, kinds)
	r.emit = newRowEmitter(ctx.Mem, spec, r.nIn, s.OutputRank)
	r.emit.dropUpdateBefore = s.DropUpdateBefore
	r.withNumbers = s.OutputRank || s.Start > 1
	return r, nil
}

func (r *rankOp) Open(ctx *OperatorContext) error {
	r.ctx = ctx
	r.emit.mem = ctx.Mem
	r.clock = clockOf(ctx)
	return nil
}

// compare orders row i of the current batch against stored slot sl.
func (r *rankOp) compare(i int, sl int32) int {
	return compareToStored(r.spec.OrderKeys, r.in.views, i, r.store, sl)
}

func (r *rankOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if err := r.in.load(b, r.nIn, r.spec.PartitionKeys, r.spec.InputChangelog, false); err != nil {
		return fmt.Errorf("rank: %w", err)
	}
	var now int64
	ttl := r.spec.StateTTLMillis
	if ttl > 0 {
		now = r.clock.NowMillis()
		r.sweep(now)
	}
	for i := range int(b.NumRows()) {
		r.parts.touchAhead(r.in.hashes, i)
		h := r.in.hashes[i]
		p := r.parts.find(h, r.in.views, i)
		if p >= 0 && r.parts.expired(p, ttl, now) {
			r.dropPartition(p)
			p = -1
		}
		if r.in.kinds[i].IsRetraction() {
			if p >= 0 {
				r.parts.touched[p] = now
				r.retract(p, i)
			}
			continue
		}
		if p < 0 {
			p = r.parts.add(h, r.in.views, i, now)
			r.rows = growTo(r.rows, int(r.parts.n))
		}
		r.parts.touched[p] = now
		if r.ranked {
			r.accumulateRanked(p, i)
		} else {
			r.accumulate(p, i)
		}
	}
	err := r.emit.flush(out, r.store, r.in.views)
	r.release = r.store.releaseAll(r.release)
	r.store.copyPending(r.in.views, r.orderCols)
	return err
}

// insert stores row i and puts it in rows, a partition's rows in rank
// order, after the rows it ties with (they arrived first). It returns the
// rows and the row's index in them.
func (r *rankOp) insert(rows []int32, i int) ([]int32, int) {
	pos, _ := slices.BinarySearchFunc(rows, i, func(sl int32, i int) int {
		if r.compare(i, sl) < 0 {
			return 1
		}
		return -1 // ties sort before the arriving row
	})
	r.seq++
	var sl int32
	if r.spec.InputChangelog {
		// A retraction later in the batch compares whole rows.
		sl = r.store.put(r.in.views, i, r.seq)
	} else {
		sl = r.store.putLater(r.in.views, i, r.seq, r.orderCols)
	}
	return slices.Insert(rows, pos, sl), pos
}

// accumulate adds row i to partition p.
func (r *rankOp) accumulate(p int32, i int) {
	rows := r.rows[p]
	end := int(r.spec.End)
	appendOnly := !r.spec.InputChangelog
	// The common case of a full insert-only Top-N: one comparison with the
	// last kept row rejects the row (a tie ranks after it).
	if appendOnly && len(rows) >= end && r.compare(i, rows[end-1]) >= 0 {
		return
	}
	rows, pos := r.insert(rows, i)
	sl := rows[pos]
	r.rows[p] = rows
	if pos < end {
		if r.withNumbers {
			r.shiftDown(rows, pos)
		} else if appendOnly && end == 1 && len(rows) > 1 {
			// Flink's FastTop1Function: a new first row over insert-only
			// input updates the partition's one row.
			r.emit.add(connector.UpdateBefore, rows[1], -1, 0)
			r.emit.add(connector.UpdateAfter, sl, -1, 0)
		} else {
			if len(rows) > end {
				r.emit.add(connector.Delete, rows[end], -1, 0)
			}
			r.emit.add(connector.Insert, sl, -1, 0)
		}
	}
	if appendOnly && len(rows) > end {
		for _, old := range rows[end:] {
			r.release = append(r.release, old)
		}
		r.rows[p] = rows[:end]
	}
}

// shiftDown emits the position changes after a row was inserted at index
// pos: every later position takes the row before it.
func (r *rankOp) shiftDown(rows []int32, pos int) {
	cur, rank := rows[pos], int64(pos+1)
	for j := pos + 1; j < len(rows) && rank <= r.spec.End; j++ {
		if rank >= r.spec.Start {
			r.emit.add(connector.UpdateBefore, rows[j], -1, rank)
			r.emit.add(connector.UpdateAfter, cur, -1, rank)
		}
		cur = rows[j]
		rank++
	}
	if rank <= r.spec.End && rank >= r.spec.Start {
		r.emit.add(connector.Insert, cur, -1, rank)
	}
}

// retract removes row i from partition p.
func (r *rankOp) retract(p int32, i int) {
	rows := r.rows[p]
	lo, _ := slices.BinarySearchFunc(rows, i, func(sl int32, i int) int {
		if r.compare(i, sl) <= 0 {
			return 1
		}
		return -1
	})
	pos := -1
	for j := lo; j < len(rows) && r.compare(i, rows[j]) == 0; j++ {
		if r.store.equalsRow(rows[j], r.in.views, i) {
			pos = j
			break
		}
	}
	if pos < 0 {
		return // not in state: Flink ignores such a retraction too
	}
	if r.ranked {
		r.retractRanked(p, pos)
		return
	}
	gone := rows[pos]
	end := r.spec.End
	if rank := int64(pos + 1); rank <= end {
		if r.withNumbers {
			prev := gone
			for j := pos + 1; j < len(rows) && rank <= end; j++ {
				if rank >= r.spec.Start {
					r.emit.add(connector.UpdateBefore, prev, -1, rank)
					r.emit.add(connector.UpdateAfter, rows[j], -1, rank)
				}
				prev = rows[j]
				rank++
			}
			if rank <= end && rank >= r.spec.Start {
				r.emit.add(connector.Delete, prev, -1, rank)
			}
		} else {
			r.emit.add(connector.Delete, gone, -1, 0)
			if int64(len(rows)) > end {
				r.emit.add(connector.Insert, rows[end], -1, 0)
			}
		}
	}
	r.rows[p] = slices.Delete(rows, pos, pos+1)
	r.release = append(r.release, gone)
	r.removeIfEmpty(p)
}

func (r *rankOp) removeIfEmpty(p int32) {
	if len(r.rows[p]) == 0 {
		r.rows[p] = nil
		r.parts.remove(p)
	}
}

// dropPartition forgets an expired partition without emitting anything,
// as Flink's state TTL does.
func (r *rankOp) dropPartition(p int32) {
	r.release = append(r.release, r.rows[p]...)
	r.rows[p] = r.rows[p][:0]
	r.removeIfEmpty(p)
}

// sweep drops expired partitions, at most once per TTL period.
func (r *rankOp) sweep(now int64) {
	ttl := r.spec.StateTTLMillis
	if now-r.lastSweep < ttl {
		return
	}
	r.lastSweep = now
	for p := range r.parts.n {
		if r.parts.live[p] && r.parts.expired(p, ttl, now) {
			r.dropPartition(p)
		}
	}
}

func (r *rankOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (r *rankOp) EndInput(int, Output) error { return nil }

func (r *rankOp) Snapshot() ([]byte, error) {
	return snapshotKeyGroups(r.parts, func(w *wbuf) {
		w.varint(r.seq)
		w.varint(r.lastSweep)
	}, func(w *wbuf, p int32) { r.store.encodeSlots(w, r.rows[p]) }), nil
}

func (r *rankOp) Restore(state []byte) error {
	// Dropped partitions' rows are released once all are read.
	defer func() { r.release = r.store.releaseAll(r.release) }()
	return restoreKeyGroups(state, r.ctx, r.parts, func(rb *rbuf) {
		r.seq = max(r.seq, rb.varint())
		r.lastSweep = max(r.lastSweep, rb.varint())
	}, func(rb *rbuf, p int32, owned bool) error {
		r.rows = growTo(r.rows, int(r.parts.n))
		r.rows[p] = r.store.decodeSlots(rb, nil)
		if rb.err == nil && !owned {
			r.dropPartition(p)
		}
		return rb.err
	})
}

// StateBytes estimates the partitions and the rows they rank, with each
// row's entry in its partition's rank order (StateSizer).
func (r *rankOp) StateBytes() int64 {
	return r.parts.bytes() + r.store.bytes() + int64(r.store.live)*4
}

func (r *rankOp) Close() error { return nil }
