package exec

import "github.com/apache/arrow-go/v18/arrow"

// tableWait holds the probe side of a two-input operator that reads a
// whole bounded table on input 1 before it answers the rows of input 0
// (the lookup join, vector search): probe batches wait with the probe
// watermarks they cover until the table input ends (or a savepoint's
// barrier has arrived on both inputs), and are then answered in arrival
// order. Once the table has ended, probe batches are answered on arrival.
type tableWait struct {
	ended   bool // the table input ended: probe rows are answered on arrival
	heldWM  Watermark
	pending []arrow.RecordBatch // probe batches waiting for the table
	// pendingBytes estimates the rows of pending (rowBytes), for
	// StateBytes.
	pendingBytes int64
}

func newTableWait() tableWait { return tableWait{heldWM: MinWatermark} }

// holdProbe retains b and keeps it waiting if the table has not ended,
// reporting whether it did; otherwise b is to be answered now.
func (w *tableWait) holdProbe(b arrow.RecordBatch) bool {
	if w.ended {
		return false
	}
	b.Retain()
	w.pending = append(w.pending, b)
	w.pendingBytes += b.NumRows() * rowBytes(b.Schema())
	return true
}

// probeWatermark forwards the probe side's watermarks, holding them back
// with the probe rows they cover while those wait; the table side's are
// consumed (the table's rows carry no time to the output).
func (w *tableWait) probeWatermark(input int, wm Watermark, out Output) error {
	if input == 1 {
		return nil
	}
	if len(w.pending) > 0 || !w.ended {
		w.heldWM = wm
		return nil
	}
	return out.EmitWatermark(wm)
}

// endInput records the end of input and reports whether the waiting
// probe rows are to be answered now: not at the end of the probe input
// alone, since they still wait for the whole table.
func (w *tableWait) endInput(input int) bool {
	if input == 0 && !w.ended {
		return false
	}
	w.ended = w.ended || input == 1
	return true
}

// restoreWaiting makes pending, read from a snapshot, the waiting probe
// batches.
func (w *tableWait) restoreWaiting(pending []arrow.RecordBatch) {
	w.pending, w.pendingBytes = pending, 0
	for _, b := range pending {
		w.pendingBytes += b.NumRows() * rowBytes(b.Schema())
	}
}

// flushWaiting answers the waiting probe batches with probe in arrival
// order, then emits the probe watermark held back with them.
func (w *tableWait) flushWaiting(probe func(arrow.RecordBatch, Output) error, out Output) error {
	pending, wm := w.pending, w.heldWM
	w.pending, w.heldWM, w.pendingBytes = nil, MinWatermark, 0
	return probeWaiting(pending, wm, probe, out)
}
