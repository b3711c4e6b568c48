package exec

import (
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Watermark is an event-time watermark in milliseconds since the epoch: the
// promise that no later row of the stream has a rowtime at or below it.
type Watermark int64

const (
	// MinWatermark is the watermark before any has been seen.
	MinWatermark Watermark = math.MinInt64
	// MaxWatermark ends event time; a finished input sends it before EndInput.
	MaxWatermark Watermark = math.MaxInt64
)

// Output receives what an operator emits.
//
// Contract: Emit borrows the batch for the duration of the call; an Output
// that keeps it (a channel to another subtask, a buffer) calls Retain itself.
// The emitting operator still owns its reference and releases it after Emit
// returns. Batches are never empty. Watermarks are emitted in non-decreasing
// order; an Output drops a watermark that does not advance.
type Output interface {
	Emit(b arrow.RecordBatch) error
	EmitWatermark(wm Watermark) error
}

// Operator is one stage of a task's operator chain: it consumes the batches
// and watermarks of one or more inputs and emits to an Output.
//
// Contract:
//   - The runtime calls Open once, then any sequence of ProcessBatch and
//     ProcessWatermark, then EndInput once per input, then Close. Snapshot may
//     be called between any two calls after Open; Restore only before the
//     first ProcessBatch.
//   - ProcessBatch borrows b: it must Retain what it keeps past the call.
//   - ProcessWatermark receives, per input, the minimum over that input's
//     channels, already non-decreasing; the operator forwards (or holds back)
//     watermarks itself, so an operator that buffers rows can delay them.
//   - EndInput(i) follows the MaxWatermark of input i. When every input has
//     ended, the operator must have emitted all its results.
//   - Errors are returned, never panicked; the task fails with the error.
//   - Close releases everything the operator holds and is idempotent; it is
//     called even when Open or processing failed.
type Operator interface {
	Open(ctx *OperatorContext) error
	ProcessBatch(input int, b arrow.RecordBatch, out Output) error
	ProcessWatermark(input int, wm Watermark, out Output) error
	EndInput(input int, out Output) error
	// Snapshot returns the operator's state as bytes, or nil if stateless.
	Snapshot() ([]byte, error)
	// Restore loads state produced by Snapshot. When the job is restored
	// at another parallelism, the operator of a keyed kind
	// (rescalableKinds) is restored from the snapshots of several old
	// subtasks, one call each: it keeps the keys its subtask owns
	// (ownsHash) and merges the operator-wide values; see Savepoint.
	Restore(state []byte) error
	Close() error
}

// OperatorContext is what an operator instance learns about where it runs.
type OperatorContext struct {
	// Subtask is this instance's index in [0, Parallelism) of job graph
	// vertex Vertex.
	Subtask     int
	Parallelism int
	Vertex      int
	// Mem allocates every buffer the operator creates; tests pass a checked
	// allocator to find leaks.
	Mem memory.Allocator
	// Metrics counts what flows through the operator.
	Metrics *OperatorMetrics
	// Config holds the job's configuration (SET options), by Flink key.
	Config map[string]string
	// JobID identifies the running job; Results is where collect operators
	// hand their batches to the client that submitted the job.
	JobID   string
	Results ResultService
	// Clock reads processing time (state TTL, processing-time windows);
	// nil means SystemClock. Tests set a manual clock.
	Clock Clock

	// splits describes, in a source task, the splits of the source batch
	// being emitted down the chain (per-split watermarks).
	splits *sourceSplits
}

// WatermarkStatusOutput is implemented by the runtime's outputs: an
// operator that knows its stream went idle (no rows for the idle timeout)
// or active again says so, as Flink's WatermarkStatus. Repeating the
// current status does nothing.
type WatermarkStatusOutput interface {
	EmitWatermarkStatus(idle bool) error
}

// WatermarkStatusOperator is implemented by operators that handle the
// idleness of their inputs themselves. For other operators the runtime
// passes the status on: their output is idle while all inputs are.
type WatermarkStatusOperator interface {
	ProcessWatermarkStatus(input int, idle bool, out Output) error
}

// InputSelectingOperator is implemented by two-input operators that buffer
// the rows of one input until the other input's watermark catches up (the
// window join), after Flink's InputSelectable. Two inputs fed by separate
// sources progress at their own speeds; without selection the operator
// would buffer whatever the faster input runs ahead by, which grows with
// the length of the run. After each element it delivers to such an
// operator (as the head of its chain) the task calls HeldInput and stops
// reading that input's channels (-1: read both) until the next call says
// otherwise, so backpressure slows the input that runs ahead. The task
// ignores the request while the other input cannot advance on its own: it
// has ended, it is idle, or a savepoint barrier stopped a channel.
type InputSelectingOperator interface {
	HeldInput() int
}

// PreSnapshotOperator is implemented by operators that hold rows they have
// not applied to their state yet (a mini-batch bundle). Before it snapshots
// a chain, the runtime calls PrepareSnapshotPreBarrier on each of its
// operators, head first, as Flink calls
// StreamOperator.prepareSnapshotPreBarrier: what an operator emits then
// reaches the rest of the chain and the output channels ahead of the
// barrier, so the snapshot holds no buffered rows and the results of every
// row before the barrier are downstream of it. The operator keeps its
// input open: more rows may follow when the job is not stopped.
type PreSnapshotOperator interface {
	PrepareSnapshotPreBarrier(out Output) error
}
