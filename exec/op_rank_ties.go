package exec

import (
	"slices"

	"github.com/eddysql/eddy/exec/connector"
)

// RANK and DENSE_RANK for the rank operator (op_rank.go): rows with equal
// order keys share a rank, so one arriving or retracted row can move many
// rows in or out of the range at once (a tie at End brings all its rows
// in). Each change therefore lists the rows in range before and after it
// and emits the difference.

// compareSlots orders stored slots a and b by the order keys.
func (r *rankOp) compareSlots(a, b int32) int {
	for _, k := range r.spec.OrderKeys {
		sv := storedView(&r.store.cols[k.Col])
		if c := compareSortKey(k, &sv, int(a), &sv, int(b)); c != 0 {
			return c
		}
	}
	return 0
}

// inRange appends to buf the rows of rows ranked Start..End with their
// ranks, and returns it with the number of leading rows ranked at most End
// (the rows an insert-only Top-N must keep).
func (r *rankOp) inRange(rows []int32, buf []rankEntry) ([]rankEntry, int) {
	var rank, dense int64
	for j, sl := range rows {
		if j == 0 || r.compareSlots(rows[j-1], sl) != 0 {
			rank = int64(j + 1)
			dense++
		}
		k := rank
		if r.dense {
			k = dense
		}
		if k > r.spec.End {
			return buf, j
		}
		if k >= r.spec.Start {
			buf = append(buf, rankEntry{slot: sl, idx: j, rank: k})
		}
	}
	return buf, len(rows)
}

// accumulateRanked adds row i to partition p.
func (r *rankOp) accumulateRanked(p int32, i int) {
	rows := r.rows[p]
	r.before, _ = r.inRange(rows, r.before[:0])
	rows, pos := r.insert(rows, i)
	var keep int
	r.after, keep = r.inRange(rows, r.after[:0])
	r.emitRangeChange(func(idx int) int {
		if idx >= pos {
			return idx + 1
		}
		return idx
	})
	if !r.spec.InputChangelog && keep < len(rows) {
		r.release = append(r.release, rows[keep:]...)
		rows = rows[:keep]
	}
	r.rows[p] = rows
}

// retractRanked removes the row at index pos of partition p.
func (r *rankOp) retractRanked(p int32, pos int) {
	rows := r.rows[p]
	r.before, _ = r.inRange(rows, r.before[:0])
	gone := rows[pos]
	rows = slices.Delete(rows, pos, pos+1)
	r.after, _ = r.inRange(rows, r.after[:0])
	r.emitRangeChange(func(idx int) int {
		switch {
		case idx == pos:
			return -1
		case idx > pos:
			return idx - 1
		}
		return idx
	})
	r.rows[p] = rows
	r.release = append(r.release, gone)
	r.removeIfEmpty(p)
}

// emitRangeChange emits the difference between r.before and r.after. moved
// maps an index before the change to the same row's index after it (-1 for
// the retracted row); both lists are in index order, so one merge pairs
// the rows present in both.
func (r *rankOp) emitRangeChange(moved func(idx int) int) {
	b, a := r.before, r.after
	for len(b) > 0 || len(a) > 0 {
		switch {
		case len(a) == 0 || (len(b) > 0 && moved(b[0].idx) < a[0].idx):
			r.emit.add(connector.Delete, b[0].slot, -1, b[0].rank)
			b = b[1:]
		case len(b) == 0 || moved(b[0].idx) > a[0].idx:
			r.emit.add(connector.Insert, a[0].slot, -1, a[0].rank)
			a = a[1:]
		default:
			if r.spec.OutputRank && b[0].rank != a[0].rank {
				r.emit.add(connector.UpdateBefore, b[0].slot, -1, b[0].rank)
				r.emit.add(connector.UpdateAfter, a[0].slot, -1, a[0].rank)
			}
			b, a = b[1:], a[1:]
		}
	}
}
