package exec

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/eddysql/eddy/exec/connector"
)

// ElementCheckpointBarrier is a checkpoint barrier (Element.Checkpoint is
// its id). A source task sends it on every output channel when the
// JobManager triggers a checkpoint; a task that has received it on every
// input channel that has not ended (aligned: a channel is not read after
// its barrier until then) snapshots its chain, forwards it and goes on
// processing. Unlike ElementSavepoint it does not stop the task.
const ElementCheckpointBarrier ElementKind = ElementWatermarkStatus + 1

// CheckpointAck is a subtask's acknowledgement of a checkpoint: the
// snapshot of its chain, taken when the barrier was aligned.
type CheckpointAck struct {
	JobID      string        `json:"jobId"`
	Vertex     int           `json:"vertex"`
	Subtask    int           `json:"subtask"`
	Checkpoint int64         `json:"checkpoint"`
	State      *SubtaskState `json:"state"`
}

// CheckpointResponder receives the acknowledgements of checkpoints (the
// JobManager). A TaskManager's TaskStateListener that implements it gets
// them; it is called from task goroutines and must not block for long.
type CheckpointResponder interface {
	AcknowledgeCheckpoint(a CheckpointAck)
}

// CheckpointListener is implemented by operators that act when a
// checkpoint completed, Flink's CheckpointListener: a transactional sink
// commits what it wrote before the checkpoint's barrier. The task calls
// NotifyCheckpointComplete from its own goroutine, between two input
// elements, some time after every subtask of the job acknowledged the
// checkpoint; a notification may be skipped when a later checkpoint
// completed meanwhile (the id tells which), and none comes for a
// checkpoint taken by a job that failed before it completed. The source
// operator and the sink operator pass it on to their reader and writer
// when these implement connector.CheckpointListener.
type CheckpointListener interface {
	NotifyCheckpointComplete(checkpointID int64) error
}

// taskCheckpoints is the checkpoint side of a task: requests from the
// TaskManager (other goroutines) and what the task goroutine has done
// with them.
type taskCheckpoints struct {
	mu sync.Mutex
	// requested is the id of the checkpoint a source task must take next
	// (0: none); pullCancel interrupts the reader's current Next so that
	// a source waiting for data takes it at once.
	requested  int64
	pullCtx    context.Context
	pullCancel context.CancelFunc
	// completed is the latest checkpoint the JobManager completed;
	// notified the latest the chain was told about.
	completed int64
	notified  int64
	// wake is signalled when there is something to deliver.
	wake chan struct{}
	// ack reports a snapshot to the JobManager.
	ack func(CheckpointAck)
	// resume lets a paused source reader goroutine go on after the
	// checkpoint (pullSourceAsync).
	resume chan struct{}
}

func newTaskCheckpoints(ack func(CheckpointAck)) *taskCheckpoints {
	return &taskCheckpoints{wake: make(chan struct{}, 1), resume: make(chan struct{}, 1), ack: ack}
}

func (c *taskCheckpoints) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// trigger asks a source task to take checkpoint id.
func (c *taskCheckpoints) trigger(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requested = max(c.requested, id)
	if c.pullCancel != nil {
		c.pullCancel()
	}
	c.signal()
}

// takeRequest returns the requested checkpoint (0: none) and clears it.
func (c *taskCheckpoints) takeRequest() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.requested
	c.requested = 0
	return id
}

func (c *taskCheckpoints) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requested != 0
}

// pullContext is the context a source reader's Next gets: it ends with
// parent, and when a checkpoint is triggered. A reader whose Next returns
// because of it has emitted nothing and keeps its position (as at a
// savepoint); Next is then called again after the checkpoint.
func (c *taskCheckpoints) pullContext(parent context.Context) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pullCtx == nil || (c.pullCtx.Err() != nil && c.requested == 0) {
		c.pullCtx, c.pullCancel = context.WithCancel(parent)
	}
	if c.requested != 0 {
		// Triggered since the last Next: return at once.
		c.pullCancel()
	}
	return c.pullCtx
}

// release ends the pull context.
func (c *taskCheckpoints) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pullCancel != nil {
		c.pullCancel()
	}
}

// complete records that the JobManager completed checkpoint id.
func (c *taskCheckpoints) complete(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id > c.completed {
		c.completed = id
		c.signal()
	}
}

// toNotify returns the completed checkpoint the chain has not been told
// about, 0 if none.
func (c *taskCheckpoints) toNotify() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.completed <= c.notified {
		return 0
	}
	c.notified = c.completed
	return c.completed
}

// notifyComplete tells the operators of the chain that implement
// CheckpointListener about the latest completed checkpoint (src is the
// source of a source task, nil otherwise).
func (t *task) notifyComplete(src SourceOperator, ops []Operator) error {
	id := t.ckpt.toNotify()
	if id == 0 {
		return nil
	}
	if l, ok := src.(CheckpointListener); ok {
		if err := l.NotifyCheckpointComplete(id); err != nil {
			return opError(&t.d.Operators[0], fmt.Errorf("checkpoint %d complete: %w", id, err))
		}
	}
	for i, op := range ops {
		if l, ok := op.(CheckpointListener); ok {
			if err := l.NotifyCheckpointComplete(id); err != nil {
				return opError(&t.d.Operators[i], fmt.Errorf("checkpoint %d complete: %w", id, err))
			}
		}
	}
	return nil
}

// snapshotChain lets the chain's operators flush what they buffer
// (PreSnapshotOperator), head first, then makes what the chain's sinks
// wrote durable (connector.SinkFlusher), lets transactional sinks
// pre-commit (connector.TwoPhaseCommitWriter), and snapshots every operator of the chain (src is the
// source of a source task, nil otherwise). checkpoint is the checkpoint's
// id, 0 for a savepoint. The bytes are copied, unless the operator's are
// its own (freshSnapshotter): a checkpoint outlives the call while the
// operators go on changing their state.
func (t *task) snapshotChain(src SourceOperator, ops []Operator, links []*chainLink, what string, checkpoint int64) (*SubtaskState, error) {
	d := t.d
	for i, op := range ops {
		if p, ok := op.(PreSnapshotOperator); ok {
			if err := p.PrepareSnapshotPreBarrier(links[i]); err != nil {
				return nil, opError(&d.Operators[i], fmt.Errorf("flushing before the %s: %w", what, err))
			}
		}
	}
	for i, op := range ops {
		// Savepoints flush too, as Flink's sink writers flush at every
		// barrier: a job stopped with a savepoint closes its writers, and
		// what they buffered would be lost, its source position being past
		// it.
		if s, ok := op.(*sink); ok && s.writer != nil {
			if f, ok := s.writer.(connector.SinkFlusher); ok {
				if err := f.Flush(); err != nil {
					return nil, opError(&d.Operators[i], fmt.Errorf("flushing the sink for the %s: %w", what, err))
				}
			}
		}
	}
	for i, op := range ops {
		if s, ok := op.(*sink); ok {
			if err := s.preCommit(checkpoint); err != nil {
				return nil, opError(&d.Operators[i], fmt.Errorf("pre-committing the sink for the %s: %w", what, err))
			}
		}
	}
	st := &SubtaskState{Vertex: d.Vertex, Subtask: d.Subtask, Operators: make([]OperatorState, len(d.Operators))}
	for i := range d.Operators {
		var state []byte
		var err error
		var op interface{ Snapshot() ([]byte, error) } = src
		if ops[i] != nil {
			op = ops[i]
		}
		if cs, ok := op.(checkpointSnapshotter); ok && checkpoint != 0 {
			state, err = cs.snapshotCheckpoint(checkpoint)
		} else {
			state, err = op.Snapshot()
		}
		if err != nil {
			return nil, opError(&d.Operators[i], fmt.Errorf("snapshot for the %s: %w", what, err))
		}
		if _, fresh := op.(freshSnapshotter); !fresh {
			state = bytes.Clone(state)
		}
		st.Operators[i] = OperatorState{Kind: d.Operators[i].Kind, State: state}
	}
	return st, nil
}

// freshSnapshotter marks the operators whose Snapshot encodes their state
// into a buffer of its own every time, which they never touch again:
// snapshotChain keeps those bytes as they are instead of copying them, as
// it must other operators' (a reader may hand out a buffer it reuses),
// sparing a second copy of the largest states.
type freshSnapshotter interface{ freshSnapshots() }

func (*join) freshSnapshots()           {}
func (*intervalJoin) freshSnapshots()   {}
func (*temporalJoin) freshSnapshots()   {}
func (*windowJoin) freshSnapshots()     {}
func (*groupAgg) freshSnapshots()       {}
func (*windowAgg) freshSnapshots()      {}
func (*rankOp) freshSnapshots()         {}
func (*overOp) freshSnapshots()         {}
func (*nonTimeOverOp) freshSnapshots()  {}
func (*matchRecognize) freshSnapshots() {}
func (*temporalSort) freshSnapshots()   {}

// takeCheckpoint snapshots the chain for checkpoint id, forwards the
// barrier on every output channel and acknowledges the checkpoint; the
// task then goes on.
func (t *task) takeCheckpoint(id int64, src SourceOperator, ops []Operator, links []*chainLink, out *taskOutput) error {
	st, err := t.snapshotChain(src, ops, links, fmt.Sprintf("checkpoint %d", id), id)
	if err != nil {
		return err
	}
	if err := out.broadcast(Element{Kind: ElementCheckpointBarrier, Checkpoint: id}); err != nil {
		return err
	}
	t.ckpt.ack(CheckpointAck{JobID: t.d.JobID, Vertex: t.d.Vertex, Subtask: t.d.Subtask, Checkpoint: id, State: st})
	return nil
}

// barrierAligner follows the alignment of checkpoint barriers over a
// task's input channels (Flink's aligned checkpoints): the channels that
// delivered the barrier of checkpoint id are blocked in the gate until it
// arrived on all channels that have not ended.
type barrierAligner struct {
	id   int64 // the checkpoint being aligned, 0 if none
	done int64 // the last checkpoint aligned
}

// barrier handles the barrier of checkpoint id on channel c. A barrier of
// a later checkpoint than the one being aligned abandons that one (it was
// aborted by the JobManager, which triggered the next), as Flink does; a
// barrier of an earlier one is stale and ignored.
func (a *barrierAligner) barrier(g *inputGate, c int, id int64) {
	switch {
	case id < a.id || id <= a.done:
		return
	case id > a.id:
		g.unblockAll()
		a.id = id
	}
	g.block(c)
}

// aligned returns the checkpoint whose barrier arrived on every channel
// still open, and resets the alignment; 0 if none.
func (a *barrierAligner) aligned(g *inputGate) int64 {
	if a.id == 0 || !g.aligned() {
		return 0
	}
	id := a.id
	a.id, a.done = 0, id
	return id
}
