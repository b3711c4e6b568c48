package exec

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/connector"
)

// splitWatermark is the watermark state of one split of the assigner's
// input (Flink's per-split WatermarkOutput of a source): the largest
// watermark its rows produced and whether it is idle.
type splitWatermark struct {
	wm      Watermark
	lastRow int64 // processing time of its last row, or of its assignment
	idle    bool
}

// wholeStream names the single split of an input whose source does not
// report splits: the whole stream is then one split.
const wholeStream = ""

// split returns the state of split id, creating it (active, without a
// watermark) if it is new.
func (w *watermarkAssigner) split(id string, now int64) *splitWatermark {
	s := w.splits[id]
	if s == nil {
		s = &splitWatermark{wm: MinWatermark, lastRow: now}
		w.splits[id] = s
	}
	return s
}

// assign follows the source's assigned splits: new ones join (and hold
// back the watermark until they bring rows or go idle), finished or
// revoked ones leave. It runs after observe, so that the last rows of a
// split that finished with this batch count once and the split then no
// longer holds back the watermark.
func (w *watermarkAssigner) assign(assigned []string, now int64) {
	for _, id := range assigned {
		w.split(id, now)
	}
	if len(w.splits) == len(assigned) {
		return
	}
	for id := range w.splits {
		if id != wholeStream && !slices.Contains(assigned, id) {
			delete(w.splits, id)
		}
	}
}

// observe takes the watermark values of one batch, ts, row by row aligned
// with runs, and raises each run's split to its maximum.
func (w *watermarkAssigner) observe(ts *array.Timestamp, runs []connector.SplitRun, now int64) {
	off := 0
	for _, r := range runs {
		s := w.split(r.Split, now)
		s.lastRow, s.idle = now, false
		if r.Rows == 0 {
			continue
		}
		max, found := maxTimestampIn(ts, off, off+r.Rows)
		off += r.Rows
		if !found {
			continue
		}
		if wm := toMillis(max, w.unit); wm > s.wm {
			s.wm = wm
		}
	}
}

// combined is the minimum watermark over the active splits, and false when
// every split is idle (or there is none).
func (w *watermarkAssigner) combined() (Watermark, bool) {
	min, any := MaxWatermark, false
	for _, s := range w.splits {
		if !s.idle {
			min, any = minWatermark(min, s.wm), true
		}
	}
	return min, any
}

func minWatermark(a, b Watermark) Watermark {
	if a < b {
		return a
	}
	return b
}

// advance emits the combined watermark if it passed the last one emitted.
func (w *watermarkAssigner) advance(out Output) error {
	wm, ok := w.combined()
	if !ok || wm == MinWatermark || wm <= w.current {
		return nil
	}
	w.current = wm
	return out.EmitWatermark(wm)
}

// idleSplits marks the splits without a row for the idle timeout idle and
// reports whether any changed.
func (w *watermarkAssigner) idleSplits(now int64) bool {
	changed := false
	for _, s := range w.splits {
		if !s.idle && now-s.lastRow >= w.idleTimeout {
			s.idle, changed = true, true
		}
	}
	return changed
}

// wholeBatch is the rows of a batch as one run of the whole stream, in a
// slice the assigner reuses.
func (w *watermarkAssigner) wholeBatch(b arrow.RecordBatch) []connector.SplitRun {
	w.whole = append(w.whole[:0], connector.SplitRun{Split: wholeStream, Rows: int(b.NumRows())})
	return w.whole
}
