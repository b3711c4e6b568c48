package exec

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TaskStateUpdate is what a TaskManager reports about a subtask; Error is a
// string so the report can cross a network.
type TaskStateUpdate struct {
	JobID   string    `json:"jobId"`
	Vertex  int       `json:"vertex"`
	Subtask int       `json:"subtask"`
	State   TaskState `json:"state"`
	Error   string    `json:"error,omitempty"`
	// Savepoint is set on the FINISHED update of a subtask that stopped at
	// a savepoint barrier: the Snapshot of every operator of its chain.
	Savepoint *SubtaskState `json:"savepoint,omitempty"`
	// Final is set on the FINISHED update of a subtask that ended its
	// input with transactions its sinks pre-committed and did not commit:
	// its final state (SubtaskState.Finished set), which the JobManager
	// commits once the subtask is recorded as finished.
	Final *SubtaskState `json:"final,omitempty"`
}

// TaskStateListener receives task state changes (the JobManager). It is
// called from task goroutines and must not block for long.
type TaskStateListener interface {
	UpdateTaskState(u TaskStateUpdate)
}

// TaskManagerOptions are a TaskManager's services.
type TaskManagerOptions struct {
	// Mem allocates every buffer of the tasks; nil means the default
	// allocator.
	Mem memory.Allocator
	// Shuffle connects tasks; required.
	Shuffle ShuffleService
	// Results receives the output of collect operators.
	Results ResultService
	// Listener receives task state changes; required.
	Listener TaskStateListener
	// Clock is the tasks' processing time (OperatorContext.Clock); nil
	// means the wall clock. A test sets one to let processing time jump,
	// as it does between a savepoint and a restore much later.
	Clock Clock
}

// TaskManager runs subtasks in a fixed number of slots. A slot is held by
// one job at a time and runs at most one subtask of each of that job's
// vertices (slot sharing, as Flink's default), so a job whose largest
// vertex has parallelism P needs P slots. The JobManager assigns slots; the
// TaskManager only checks that a slot is not held by another job.
type TaskManager struct {
	id    string
	slots int
	opts  TaskManagerOptions

	mu      sync.Mutex
	slotJob []string // job holding each slot, "" if free
	tasks   map[string][]*task
}

// NewTaskManager creates a TaskManager with the given number of slots.
func NewTaskManager(id string, slots int, opts TaskManagerOptions) *TaskManager {
	if opts.Mem == nil {
		opts.Mem = memory.DefaultAllocator
	}
	return &TaskManager{
		id: id, slots: slots, opts: opts,
		slotJob: make([]string, slots),
		tasks:   map[string][]*task{},
	}
}

// ID names the TaskManager.
func (tm *TaskManager) ID() string { return tm.id }

// Slots is the number of slots.
func (tm *TaskManager) Slots() int { return tm.slots }

// SubmitTask deploys one subtask from its serialized descriptor and starts
// it. Errors here mean the descriptor could not be accepted; failures of the
// task itself are reported to the listener.
func (tm *TaskManager) SubmitTask(descriptor []byte) error {
	d, err := DecodeDescriptor(descriptor)
	if err != nil {
		return err
	}
	if len(d.Operators) == 0 {
		return fmt.Errorf("exec: task %s has no operators", d.name())
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	if d.Slot < 0 || d.Slot >= tm.slots {
		return fmt.Errorf("exec: TaskManager %s has no slot %d", tm.id, d.Slot)
	}
	if j := tm.slotJob[d.Slot]; j != "" && j != d.JobID {
		return fmt.Errorf("exec: slot %d of TaskManager %s is held by job %s", d.Slot, tm.id, j)
	}
	tm.slotJob[d.Slot] = d.JobID
	t := &task{
		d: d, shuffle: tm.opts.Shuffle, results: tm.opts.Results, mem: tm.opts.Mem, clock: tm.opts.Clock,
		metrics: make([]*OperatorMetrics, len(d.Operators)),
	}
	for i := range t.metrics {
		t.metrics[i] = NewOperatorMetrics()
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.srcCtx, t.stopSource = context.WithCancel(t.ctx)
	t.ckpt = newTaskCheckpoints(func(a CheckpointAck) {
		if r, ok := tm.opts.Listener.(CheckpointResponder); ok {
			r.AcknowledgeCheckpoint(a)
		}
	})
	tm.tasks[d.JobID] = append(tm.tasks[d.JobID], t)
	go tm.runTask(t)
	return nil
}

func (tm *TaskManager) runTask(t *task) {
	l := tm.opts.Listener
	u := TaskStateUpdate{JobID: t.d.JobID, Vertex: t.d.Vertex, Subtask: t.d.Subtask, State: TaskRunning}
	l.UpdateTaskState(u)
	err := t.run()
	cancelled := t.ctx.Err() != nil
	t.cancel()
	switch {
	case cancelled:
		// Whatever a cancelled task returns is a consequence of the cancel.
		u.State = TaskCanceled
	case err != nil:
		u.State, u.Error = TaskFailed, fmt.Sprintf("task %s failed: %v", t.d.name(), err)
	default:
		u.State = TaskFinished
		u.Savepoint, u.Final = t.savepoint, t.final
	}
	l.UpdateTaskState(u)
}

// TriggerSavepoint tells the job's source tasks on this TaskManager to stop
// pulling their readers, snapshot them and send a savepoint barrier
// downstream (Job.StopWithSavepoint), with drain after MaxWatermark
// (Job.DrainWithSavepoint). Other tasks react to the barriers.
func (tm *TaskManager) TriggerSavepoint(jobID string, drain bool) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, t := range tm.tasks[jobID] {
		if len(t.d.Inputs) == 0 {
			t.stopAtSavepoint(drain)
		}
	}
}

// TriggerCheckpoint tells the job's source tasks on this TaskManager to
// take checkpoint id between two batches and send its barrier downstream.
// Other tasks react to the barriers.
func (tm *TaskManager) TriggerCheckpoint(jobID string, id int64) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, t := range tm.tasks[jobID] {
		if len(t.d.Inputs) == 0 {
			t.ckpt.trigger(id)
		}
	}
}

// NotifyCheckpointComplete tells the job's tasks on this TaskManager that
// checkpoint id completed (CheckpointListener).
func (tm *TaskManager) NotifyCheckpointComplete(jobID string, id int64) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, t := range tm.tasks[jobID] {
		t.ckpt.complete(id)
	}
}

// CancelJob cancels every task of the job on this TaskManager; they report
// CANCELED (or their failure) when they have stopped.
func (tm *TaskManager) CancelJob(jobID string) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for _, t := range tm.tasks[jobID] {
		t.cancel()
	}
}

// JobMetrics snapshots the metrics of the job's tasks on this TaskManager.
func (tm *TaskManager) JobMetrics(jobID string) []SubtaskMetrics {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	var out []SubtaskMetrics
	for _, t := range tm.tasks[jobID] {
		sm := SubtaskMetrics{Vertex: t.d.Vertex, Subtask: t.d.Subtask}
		for _, m := range t.metrics {
			sm.Operators = append(sm.Operators, m.Snapshot())
		}
		out = append(out, sm)
	}
	return out
}

// ReleaseJob frees the job's slots and channels. The JobManager calls it
// once every task of the job has reported a final state.
func (tm *TaskManager) ReleaseJob(jobID string) {
	tm.mu.Lock()
	for _, t := range tm.tasks[jobID] {
		t.cancel()
	}
	delete(tm.tasks, jobID)
	for i, j := range tm.slotJob {
		if j == jobID {
			tm.slotJob[i] = ""
		}
	}
	tm.mu.Unlock()
	tm.opts.Shuffle.ReleaseJob(jobID)
}
