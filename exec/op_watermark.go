package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// KindWatermarkAssigner generates event-time watermarks from the rows of a
// stream (Flink's WATERMARK FOR rowtime AS expr). Per batch it evaluates the
// watermark expression, tracks the maximum non-NULL value seen, forwards the
// batch unchanged, and then emits that maximum as a watermark if it
// advanced. Late rows are not dropped here; operators that care compare
// rowtimes with their input watermark. Upstream watermarks are ignored
// except MaxWatermark, which ends event time.
//
// Per-split watermarks: chained after a source whose reader is
// connector.SplitAware (Kafka partitions), the assigner keeps the maximum
// per split and emits the minimum over the splits, as Flink's per-split
// watermark generation does, so that one lagging partition holds back the
// watermark. Other inputs are one split, the whole stream.
//
// Idleness (Flink's WatermarkStatus): with an idle timeout, a split that
// brought no row for that long (processing time, checked on the task's
// processing-time wake-ups) is marked idle and left out of the minimum
// until its next row; when every split is idle the stream is marked idle,
// so that it does not hold back the watermark downstream, and its next row
// makes it active again. An idle upstream (a source without a split) makes
// the output idle at once.
const KindWatermarkAssigner = "watermark-assigner"

// SourceIdleTimeoutKey is the session option (a Flink duration, "0" or
// absent: never idle) after which a source that brought no row is marked
// idle. The table option "scan.watermark.idle-timeout" overrides it per
// table through WatermarkAssignerSpec.IdleTimeoutMillis.
const SourceIdleTimeoutKey = "table.exec.source.idle-timeout"

// WatermarkAssignerSpec is the JSON spec of a watermark-assigner.
type WatermarkAssignerSpec struct {
	// RowtimeIndex is the rowtime column of the input.
	RowtimeIndex int `json:"rowtimeIndex"`
	// Watermark is the expr.Marshal'ed watermark expression, of a TIMESTAMP
	// or TIMESTAMP_LTZ type.
	Watermark json.RawMessage `json:"watermark"`
	// IdleTimeoutMillis marks the stream idle after that long without rows;
	// 0 falls back to the job's SourceIdleTimeoutKey.
	IdleTimeoutMillis int64 `json:"idleTimeoutMillis,omitempty"`
}

func init() { RegisterOperator(KindWatermarkAssigner, newWatermarkAssigner) }

type watermarkAssigner struct {
	spec    WatermarkAssignerSpec
	schema  *arrow.Schema
	ev      expr.Evaluator
	unit    arrow.TimeUnit
	current Watermark
	// restored: a snapshot was restored (a rescale restores several).
	restored bool

	clock        Clock
	idleTimeout  int64 // ms; 0: never idle
	lastRow      int64 // processing time of the last row, or of Open
	upstreamIdle bool
	idle         bool // the status last emitted

	splits map[string]*splitWatermark // by split id; wholeStream without splits
	src    *sourceSplits              // the split runs of the source batch passing by
	whole  []connector.SplitRun       // scratch for batches without split runs
}

func newWatermarkAssigner(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	w := &watermarkAssigner{schema: spec.Schema.Arrow(), current: MinWatermark, splits: map[string]*splitWatermark{}}
	if err := json.Unmarshal(spec.Spec, &w.spec); err != nil {
		return nil, fmt.Errorf("watermark-assigner spec: %w", err)
	}
	if w.spec.RowtimeIndex < 0 || w.spec.RowtimeIndex >= w.schema.NumFields() {
		return nil, fmt.Errorf("watermark-assigner spec: rowtime column %d out of range", w.spec.RowtimeIndex)
	}
	return w, nil
}

func (w *watermarkAssigner) Open(ctx *OperatorContext) error {
	e, err := expr.Unmarshal(w.spec.Watermark)
	if err != nil {
		return fmt.Errorf("watermark expression: %w", err)
	}
	ts, ok := e.Type().Arrow().(*arrow.TimestampType)
	if !ok {
		return fmt.Errorf("watermark expression %s has type %s, want a timestamp", e, e.Type())
	}
	w.unit = ts.Unit
	w.ev, err = expr.Compile(e, ctx.Mem)
	if err != nil {
		return fmt.Errorf("watermark expression: %w", err)
	}
	w.idleTimeout = w.spec.IdleTimeoutMillis
	if s := ctx.Config[SourceIdleTimeoutKey]; w.idleTimeout == 0 && s != "" {
		d, err := connector.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("option '%s': %w", SourceIdleTimeoutKey, err)
		}
		w.idleTimeout = d.Milliseconds()
	}
	w.clock = ctx.Clock
	if w.clock == nil {
		w.clock = SystemClock{}
	}
	w.lastRow = w.clock.NowMillis()
	w.src = ctx.splits
	return nil
}

// setIdle emits a change of the output's watermark status.
func (w *watermarkAssigner) setIdle(idle bool, out Output) error {
	if idle == w.idle {
		return nil
	}
	w.idle = idle
	if so, ok := out.(WatermarkStatusOutput); ok {
		return so.EmitWatermarkStatus(idle)
	}
	return nil
}

// ProcessWatermarkStatus follows the upstream status: an idle upstream
// makes the output idle; an active one does not make it active by itself,
// rows do.
func (w *watermarkAssigner) ProcessWatermarkStatus(_ int, idle bool, out Output) error {
	w.upstreamIdle = idle
	if idle {
		return w.setIdle(true, out)
	}
	return nil
}

// usesProcessingTime tells the task whether to wake the assigner: only
// with an idle timeout.
func (w *watermarkAssigner) usesProcessingTime() bool { return w.idleTimeout > 0 }

// OnProcessingTime marks the splits that brought no row for the idle
// timeout idle: the watermark of the others may then advance, or, when all
// are idle (or none ever brought a row), the output is marked idle.
func (w *watermarkAssigner) OnProcessingTime(out Output) error {
	if w.idle || w.idleTimeout <= 0 || w.current == MaxWatermark {
		return nil
	}
	now := w.clock.NowMillis()
	if len(w.splits) == 0 {
		if now-w.lastRow >= w.idleTimeout {
			return w.setIdle(true, out)
		}
		return nil
	}
	if !w.idleSplits(now) {
		return nil
	}
	if _, active := w.combined(); !active {
		return w.setIdle(true, out)
	}
	return w.advance(out)
}

func (w *watermarkAssigner) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	col, err := w.ev.Eval(b)
	if err != nil {
		return err
	}
	ts, ok := col.(*array.Timestamp)
	if !ok {
		col.Release()
		return fmt.Errorf("watermark expression produced %s, want a timestamp", col.DataType())
	}
	var now int64
	if w.idleTimeout > 0 {
		now = w.clock.NowMillis()
		w.lastRow = now
	}
	if runs, assigned := w.src.of(b.NumRows()); runs != nil {
		w.observe(ts, runs, now)
		w.assign(assigned, now)
	} else {
		w.observe(ts, w.wholeBatch(b), now)
	}
	col.Release()
	if err := w.setIdle(false, out); err != nil {
		return err
	}
	if err := out.Emit(b); err != nil {
		return err
	}
	return w.advance(out)
}

// maxTimestampIn is the largest non-NULL value of a in rows [lo, hi), if
// any.
func maxTimestampIn(a *array.Timestamp, lo, hi int) (arrow.Timestamp, bool) {
	vals := a.Values()[lo:hi]
	var max arrow.Timestamp
	found := false
	if a.NullN() == 0 {
		for _, v := range vals {
			if !found || v > max {
				max, found = v, true
			}
		}
		return max, found
	}
	for i, v := range vals {
		if a.IsValid(lo+i) && (!found || v > max) {
			max, found = v, true
		}
	}
	return max, found
}

// toMillis converts a timestamp to milliseconds, flooring so that a
// sub-millisecond watermark never promises more than the expression did.
func toMillis(t arrow.Timestamp, unit arrow.TimeUnit) Watermark {
	v := int64(t)
	var div int64
	switch unit {
	case arrow.Second:
		return Watermark(v * 1000)
	case arrow.Millisecond:
		return Watermark(v)
	case arrow.Microsecond:
		div = 1000
	default:
		div = 1000000
	}
	q := v / div
	if v%div < 0 {
		q--
	}
	return Watermark(q)
}

func (w *watermarkAssigner) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if wm == MaxWatermark {
		w.current = MaxWatermark
		return out.EmitWatermark(wm)
	}
	return nil
}

func (w *watermarkAssigner) EndInput(int, Output) error { return nil }

// Snapshot stores the current watermark so that a restored job does not
// regress event time.
func (w *watermarkAssigner) Snapshot() ([]byte, error) { return json.Marshal(w.current) }

// Restore sets the watermark of a snapshot. A source restored at another
// parallelism restores the snapshots of all its old subtasks: the
// watermark is then their minimum, which none of them had passed, so no
// row that was on time becomes late.
func (w *watermarkAssigner) Restore(state []byte) error {
	var wm Watermark
	if err := json.Unmarshal(state, &wm); err != nil {
		return err
	}
	if w.restored {
		wm = min(wm, w.current)
	}
	w.current, w.restored = wm, true
	return nil
}

func (w *watermarkAssigner) Close() error { return nil }
