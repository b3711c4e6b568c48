package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/expr"
)

// KindWatermarkAssigner generates event-time watermarks from the rows of a
// stream (Flink's WATERMARK FOR rowtime AS expr). Per batch it evaluates the
// watermark expression, tracks the maximum non-NULL value seen, forwards the
// batch unchanged, and then emits that maximum as a watermark if it
// advanced. Late rows are not dropped here; operators that care compare
// rowtimes with their input watermark. Upstream watermarks are ignored
// except MaxWatermark, which ends event time.
const KindWatermarkAssigner = "watermark-assigner"

// WatermarkAssignerSpec is the JSON spec of a watermark-assigner.
type WatermarkAssignerSpec struct {
	// RowtimeIndex is the rowtime column of the input.
	RowtimeIndex int `json:"rowtimeIndex"`
	// Watermark is the expr.Marshal'ed watermark expression, of a TIMESTAMP
	// or TIMESTAMP_LTZ type.
	Watermark json.RawMessage `json:"watermark"`
}

func init() { RegisterOperator(KindWatermarkAssigner, newWatermarkAssigner) }

type watermarkAssigner struct {
	spec    WatermarkAssignerSpec
	schema  *arrow.Schema
	ev      expr.Evaluator
	unit    arrow.TimeUnit
	current Watermark
}

func newWatermarkAssigner(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	w := &watermarkAssigner{schema: spec.Schema.Arrow(), current: MinWatermark}
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
	return nil
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
	max, found := maxTimestamp(ts)
	col.Release()
	if err := out.Emit(b); err != nil {
		return err
	}
	if !found {
		return nil
	}
	if wm := toMillis(max, w.unit); wm > w.current {
		w.current = wm
		return out.EmitWatermark(wm)
	}
	return nil
}

// maxTimestamp is the largest non-NULL value of a, if any.
func maxTimestamp(a *array.Timestamp) (arrow.Timestamp, bool) {
	vals := a.Values()
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
		if a.IsValid(i) && (!found || v > max) {
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

func (w *watermarkAssigner) Restore(state []byte) error {
	return json.Unmarshal(state, &w.current)
}

func (w *watermarkAssigner) Close() error { return nil }
