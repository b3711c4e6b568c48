package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
)

// KindSink writes its input to a connector. Its spec is a SinkSpec
// ({"table": {...}, "enforcer": {...}}); it creates the connector's
// SinkWriter for its subtask, enforces the table's constraints on every
// batch (as Flink's ConstraintEnforcer chained before the sink), writes it,
// and calls Finish when the input ends. It emits nothing. A
// connector.TwoPhaseCommitWriter then pre-commits its last transaction
// (PreCommit(EndOfInput)): that state is the sink's final state, which the
// subtask's FINISHED report carries to the JobManager, which commits it
// through the factory's connector.FinishedCommitter once the subtask is
// recorded as finished (FLIP-147).
const KindSink = "sink"

func init() { RegisterOperator(KindSink, newSink) }

// SinkSpec is the spec of a sink operator: the connector's spec and, when
// the table's types constrain what may be written, how to enforce it.
type SinkSpec struct {
	connector.SinkSpec
	Enforcer *ConstraintEnforcerSpec `json:"enforcer,omitempty"`
}

type sink struct {
	spec     SinkSpec
	writer   connector.SinkWriter
	enforcer *constraintEnforcer
	// prepared is the state a connector.TwoPhaseCommitWriter returned
	// from its last pre-commit, taken by the next Snapshot.
	prepared []byte
	// final is what a connector.TwoPhaseCommitWriter pre-committed at the
	// end of input, nil for other writers.
	final []byte
	// finishedOnRestore is set when the subtask was restored as finished:
	// its input ends at once and the writer must not act, since the
	// JobManager commits the final state the subtask finished with.
	finishedOnRestore bool
	// clock is the task's processing time, for a
	// connector.ProcessingTimeWriter; ended is set once the input ended.
	clock Clock
	ended bool
}

var (
	_ CheckpointListener     = (*sink)(nil)
	_ ProcessingTimeOperator = (*sink)(nil)
)

func newSink(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	s := &sink{}
	if err := json.Unmarshal(spec.Spec, &s.spec); err != nil {
		return nil, fmt.Errorf("sink spec: %w", err)
	}
	return s, nil
}

func (s *sink) Open(ctx *OperatorContext) error {
	id := s.spec.Table.Options["connector"]
	f, ok := connector.Sink(id)
	if !ok {
		return fmt.Errorf("no sink connector %q for table %s", id, s.spec.Table.Name)
	}
	bs, err := BatchSize(ctx.Config)
	if err != nil {
		return err
	}
	if s.spec.Enforcer != nil {
		e, err := newConstraintEnforcer(*s.spec.Enforcer, s.spec.Table.Schema, ctx.Mem)
		if err != nil {
			return err
		}
		s.enforcer = e
	}
	ckpt, err := CheckpointConfigFrom(ctx.Config)
	if err != nil {
		return err
	}
	s.clock = ctx.Clock
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	rc := connector.ReaderContext{
		Subtask: ctx.Subtask, Parallelism: ctx.Parallelism, Mem: ctx.Mem, BatchSize: bs,
		Checkpointing: ckpt.Enabled(), NowMillis: s.clock.NowMillis,
	}
	if ctx.JobID != "" {
		rc.SinkID = fmt.Sprintf("%s/%d", ctx.JobID, ctx.Vertex)
	}
	w, err := f.CreateWriter(s.spec.SinkSpec, rc)
	if err != nil {
		return fmt.Errorf("creating writer for table %s: %w", s.spec.Table.Name, err)
	}
	s.writer = w
	if _, ok := w.(connector.TwoPhaseCommitWriter); ok {
		if _, ok := f.(connector.FinishedCommitter); !ok {
			return fmt.Errorf("sink connector %q of table %s writes transactions (connector.TwoPhaseCommitWriter) but cannot commit those of finished subtasks (connector.FinishedCommitter)", id, s.spec.Table.Name)
		}
	}
	return nil
}

func (s *sink) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	if s.enforcer == nil {
		return s.writer.Write(b)
	}
	checked, err := s.enforcer.Apply(b)
	if err != nil {
		return err
	}
	defer checked.Release()
	if checked.NumRows() == 0 {
		return nil
	}
	return s.writer.Write(checked)
}

// ProcessWatermark passes the watermark on to a connector.WatermarkWriter
// (the filesystem sink's partition-time commit trigger).
func (s *sink) ProcessWatermark(_ int, wm Watermark, _ Output) error {
	if w, ok := s.writer.(connector.WatermarkWriter); ok && !s.ended {
		return w.OnWatermark(int64(wm))
	}
	return nil
}

// EndInput finishes the writer; a transactional one then pre-commits its
// last transaction instead of committing it, and its state becomes the
// sink's final state.
func (s *sink) EndInput(int, Output) error {
	s.ended = true
	if s.finishedOnRestore {
		return nil
	}
	if err := s.writer.Finish(); err != nil {
		return err
	}
	w, ok := s.writer.(connector.TwoPhaseCommitWriter)
	if !ok {
		return nil
	}
	state, err := w.PreCommit(connector.EndOfInput)
	if err != nil {
		return fmt.Errorf("pre-committing at the end of input: %w", err)
	}
	s.final = state
	return nil
}

// OnProcessingTime wakes a connector.ProcessingTimeWriter (the
// filesystem sink's time-based rolling) until the input ends.
func (s *sink) OnProcessingTime(Output) error {
	w, ok := s.writer.(connector.ProcessingTimeWriter)
	if !ok || s.ended {
		return nil
	}
	return w.OnProcessingTime(s.clock.NowMillis())
}

// usesProcessingTime tells the task to wake the sink only for a writer
// that acts on processing time.
func (s *sink) usesProcessingTime() bool {
	_, ok := s.writer.(connector.ProcessingTimeWriter)
	return ok
}

// finalState is the state of the transactions the writer pre-committed at
// the end of input and did not commit, nil if none.
func (s *sink) finalState() []byte { return s.final }

// preCommit lets a connector.TwoPhaseCommitWriter pre-commit at the
// barrier of checkpoint id (0: a savepoint); its state becomes the sink's.
func (s *sink) preCommit(id int64) error {
	w, ok := s.writer.(connector.TwoPhaseCommitWriter)
	if !ok {
		return nil
	}
	state, err := w.PreCommit(id)
	s.prepared = state
	return err
}

// NotifyCheckpointComplete passes the notification on to a
// connector.CheckpointListener writer: a transactional one commits.
func (s *sink) NotifyCheckpointComplete(id int64) error {
	if l, ok := s.writer.(connector.CheckpointListener); ok {
		return l.NotifyCheckpointComplete(id)
	}
	return nil
}

// Snapshot is the state of the writer's last pre-commit, nil for writers
// that keep no state.
func (s *sink) Snapshot() ([]byte, error) {
	state := s.prepared
	s.prepared = nil
	return state, nil
}

// Restore hands a transactional writer the state it pre-committed, so
// that it commits what the restored checkpoint covers.
func (s *sink) Restore(state []byte) error {
	if w, ok := s.writer.(connector.TwoPhaseCommitWriter); ok && len(state) > 0 {
		return w.Recover(state)
	}
	return nil
}

func (s *sink) Close() error {
	if s.writer == nil {
		return nil
	}
	w := s.writer
	s.writer = nil
	return w.Close()
}
