package exec

import (
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/internal/errs"
)

// Window assignment shared by the window table function and the window
// aggregate. It follows Flink's window assigners exactly; every time is in
// milliseconds since the epoch.

// Window kinds of WindowSpec.Kind.
const (
	WindowTumble   = "tumble"
	WindowHop      = "hop"
	WindowCumulate = "cumulate"
	WindowSession  = "session"
)

// WindowSpec describes Flink's window TVFs; all durations in milliseconds.
type WindowSpec struct {
	Kind   string `json:"kind"`             // "tumble" | "hop" | "cumulate" | "session"
	Size   int64  `json:"size,omitempty"`   // tumble, hop, cumulate (max size)
	Slide  int64  `json:"slide,omitempty"`  // hop
	Step   int64  `json:"step,omitempty"`   // cumulate
	Offset int64  `json:"offset,omitempty"` // tumble, hop, cumulate
	Gap    int64  `json:"gap,omitempty"`    // session
}

// Validate checks the durations the kind needs. sliced is set for window
// aggregation, which (as Flink's slicing window operator) requires HOP's
// size to be a multiple of its slide and CUMULATE's of its step, so that a
// row's windows are consecutive ends of one grid.
func (w WindowSpec) Validate(sliced bool) error {
	bad := func(format string, args ...any) error {
		return errs.New(errs.InvalidPlan, "%s window: "+format, append([]any{w.Kind}, args...)...)
	}
	switch w.Kind {
	case WindowTumble:
		if w.Size <= 0 {
			return bad("size must be positive, got %d ms", w.Size)
		}
	case WindowHop:
		if w.Size <= 0 || w.Slide <= 0 {
			return bad("size and slide must be positive, got %d and %d ms", w.Size, w.Slide)
		}
		if sliced && w.Size%w.Slide != 0 {
			return bad("size (%d ms) must be an integral multiple of slide (%d ms)", w.Size, w.Slide)
		}
	case WindowCumulate:
		if w.Size <= 0 || w.Step <= 0 {
			return bad("max size and step must be positive, got %d and %d ms", w.Size, w.Step)
		}
		if w.Size%w.Step != 0 {
			return bad("max size (%d ms) must be an integral multiple of step (%d ms)", w.Size, w.Step)
		}
	case WindowSession:
		if w.Gap <= 0 {
			return bad("gap must be positive, got %d ms", w.Gap)
		}
	default:
		return errs.New(errs.InvalidPlan, "unknown window kind %q", w.Kind)
	}
	return nil
}

// windowStart is Flink's TimeWindow.getWindowStartWithOffset: the start of
// the window of the given size (aligned to offset) that contains ts, also
// for negative timestamps.
func windowStart(ts, offset, size int64) int64 {
	return ts - ((ts-offset)%size+size)%size
}

// maxWindowsPerRow is how many windows of a sliced kind one row can belong
// to: 1 for TUMBLE, ceil(size/slide) for HOP, size/step for CUMULATE.
func (w WindowSpec) maxWindowsPerRow() int {
	switch w.Kind {
	case WindowHop:
		return int((w.Size + w.Slide - 1) / w.Slide)
	case WindowCumulate:
		return int(w.Size / w.Step)
	}
	return 1
}

// firstEnds sets ends[i] to the smallest end of the windows containing
// ts[i] (TUMBLE, HOP with size a multiple of slide, CUMULATE); the row's
// other windows end at ends[i] + j*stride for j < windowCount. For HOP and
// CUMULATE this is the end of the row's slice, the value Flink's slicing
// window operator compares with the watermark to decide lateness.
func (w WindowSpec) firstEnds(ts, ends []int64) {
	switch w.Kind {
	case WindowTumble:
		for i, t := range ts {
			ends[i] = windowStart(t, w.Offset, w.Size) + w.Size
		}
	case WindowHop:
		for i, t := range ts {
			ends[i] = windowStart(t, w.Offset, w.Slide) + w.Slide
		}
	case WindowCumulate:
		for i, t := range ts {
			ends[i] = windowStart(t, w.Offset, w.Step) + w.Step
		}
	}
}

// stride is the distance between the ends of consecutive windows of one
// row (0 for TUMBLE, which has one).
func (w WindowSpec) stride() int64 {
	switch w.Kind {
	case WindowHop:
		return w.Slide
	case WindowCumulate:
		return w.Step
	}
	return 0
}

// lastEnd is the largest end of the windows containing a row whose first
// window ends at firstEnd.
func (w WindowSpec) lastEnd(firstEnd int64) int64 {
	switch w.Kind {
	case WindowHop:
		return firstEnd + w.Size - w.Slide
	case WindowCumulate:
		return windowStart(firstEnd-1, w.Offset, w.Size) + w.Size
	}
	return firstEnd
}

// startOf is the start of the sliced window ending at end.
func (w WindowSpec) startOf(end int64) int64 {
	if w.Kind == WindowCumulate {
		return windowStart(end-1, w.Offset, w.Size)
	}
	return end - w.Size
}

// rowtimeMillis converts a timestamp column to milliseconds (flooring
// sub-millisecond units, as the watermark assigner does) into ms, and
// returns an error naming the operator for a NULL rowtime, which Flink
// rejects too ("RowTime field should not be null").
func rowtimeMillis(col arrow.Array, ms []int64, what string) error {
	ts, ok := col.(*array.Timestamp)
	if !ok {
		return errs.Internalf("%s: time column is %s, not a timestamp", what, col.DataType())
	}
	if ts.NullN() > 0 {
		return errs.New(errs.DataException, "%s: the time attribute column must not be NULL; filter NULL rowtimes before windowing", what)
	}
	unit := ts.DataType().(*arrow.TimestampType).Unit
	vals := ts.TimestampValues()
	if unit == arrow.Millisecond {
		for i, v := range vals {
			ms[i] = int64(v)
		}
		return nil
	}
	for i, v := range vals {
		ms[i] = int64(toMillis(v, unit))
	}
	return nil
}

// KeyGroups is the number of key groups keyed state is organized in
// (Flink's default maximum parallelism, 128): a rescaled job moves whole
// key groups between subtasks.
const KeyGroups = 128

// KeyGroupOf maps a row hash of the key columns (the hash a Hash exchange
// computes) to its key group: the top 7 bits, i.e. targetOf(h, KeyGroups),
// so that for parallelisms dividing KeyGroups a key group lies entirely in
// the subtask the exchange sends its keys to.
func KeyGroupOf(h uint64) int { return int(h >> 57) }

// Clock reads processing time. Operators never call time.Now themselves:
// they read OperatorContext.Clock, which tests set to a manual clock.
type Clock interface {
	// NowMillis is the processing time in milliseconds since the epoch.
	NowMillis() int64
}

// SystemClock is the wall clock.
type SystemClock struct{}

// NowMillis implements Clock.
func (SystemClock) NowMillis() int64 { return time.Now().UnixMilli() }

// ProcessingTimeOperator is implemented by operators that act on
// processing time (processing-time windows). The task calls
// OnProcessingTime between elements, at least every
// ProcessingTimeInterval while it is idle, so that windows fire without
// new input. The operator reads the time from its Clock.
type ProcessingTimeOperator interface {
	OnProcessingTime(out Output) error
}

// ProcessingTimeInterval is how often a task should call OnProcessingTime
// when no input arrives.
const ProcessingTimeInterval = 100 * time.Millisecond
