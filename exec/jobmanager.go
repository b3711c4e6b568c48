package exec

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/eddysql/eddy/exec/connector"
)

// TaskManagerGateway is how the JobManager talks to a TaskManager: the
// embedded cluster passes *TaskManager itself, a remote TaskManager will be
// reached through an RPC client with the same methods. Deployment goes
// through serialized descriptors only.
type TaskManagerGateway interface {
	ID() string
	Slots() int
	SubmitTask(descriptor []byte) error
	CancelJob(jobID string)
	// TriggerSavepoint starts a stop-with-savepoint at the job's sources;
	// with drain they send MaxWatermark before the barrier.
	TriggerSavepoint(jobID string, drain bool)
	// TriggerCheckpoint starts checkpoint id at the job's sources; the
	// tasks acknowledge it to the JobManager (CheckpointResponder).
	TriggerCheckpoint(jobID string, id int64)
	// NotifyCheckpointComplete tells the job's tasks that checkpoint id
	// completed.
	NotifyCheckpointComplete(jobID string, id int64)
	JobMetrics(jobID string) []SubtaskMetrics
	ReleaseJob(jobID string)
}

var _ TaskManagerGateway = (*TaskManager)(nil)

// ErrNotEnoughSlots is returned by Submit when the free slots of the
// registered TaskManagers cannot hold the job: at once when the job needs
// more slots than there are, else after SubmitOptions.SlotRequestTimeout
// of waiting for running jobs to free theirs.
var ErrNotEnoughSlots = errors.New("exec: not enough free slots")

// SlotRequestTimeoutKey is Flink's option for how long a job waits for
// free slots (default 5 minutes); SubmitOptions.SlotRequestTimeout.
const SlotRequestTimeoutKey = "slot.request.timeout"

// DefaultSlotRequestTimeout is Flink's default slot.request.timeout.
const DefaultSlotRequestTimeout = 5 * time.Minute

// ErrJobCanceled is what Job.Wait returns for a cancelled job.
var ErrJobCanceled = errors.New("exec: job canceled")

// JobManager accepts JobGraphs, assigns their subtasks to TaskManager
// slots, deploys them as serialized descriptors, tracks task states,
// coordinates the checkpoints of jobs that take them, and, as soon as one
// task fails, restarts the job from its latest checkpoint when its restart
// strategy allows or else fails it (cancelling its other tasks). It
// implements TaskStateListener and CheckpointResponder for its
// TaskManagers and ResultService for their collect operators.
type JobManager struct {
	mu   sync.Mutex
	tms  []TaskManagerGateway
	used [][]string // used[tm][slot] = job id holding it, "" if free
	jobs map[string]*Job
	// freed is closed (and cleared) when a job gives its slots back, to
	// wake submissions waiting for slots; nil while none waits.
	freed chan struct{}
}

var (
	_ TaskStateListener   = (*JobManager)(nil)
	_ CheckpointResponder = (*JobManager)(nil)
	_ ResultService       = (*JobManager)(nil)
)

// NewJobManager returns a JobManager without TaskManagers.
func NewJobManager() *JobManager {
	return &JobManager{jobs: map[string]*Job{}}
}

// RegisterTaskManager adds a TaskManager's slots to the pool.
func (jm *JobManager) RegisterTaskManager(tm TaskManagerGateway) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	jm.tms = append(jm.tms, tm)
	jm.used = append(jm.used, make([]string, tm.Slots()))
}

type slotRef struct{ tm, slot int }

type subtaskKey struct{ vertex, subtask int }

// Submit validates g, allocates one slot per subtask index of its widest
// vertex (slot sharing), and deploys every subtask. It returns once all
// tasks are deployed; the job then runs on its own. A failure to deploy
// fails the job rather than Submit.
func (jm *JobManager) Submit(ctx context.Context, g *JobGraph) (*Job, error) {
	return jm.SubmitWithOptions(ctx, g, SubmitOptions{})
}

// SubmitWithOptions is Submit with options; opts.Restore starts the job
// from a savepoint taken by Job.StopWithSavepoint of a job with the same
// graph shape, at the same or another parallelism (see Savepoint for how
// state is matched and rescaled). An incompatible savepoint fails Submit
// with ErrSavepointIncompatible.
func (jm *JobManager) SubmitWithOptions(ctx context.Context, g *JobGraph, opts SubmitOptions) (*Job, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	maxPar, err := MaxParallelismFrom(g.Config)
	if err != nil {
		return nil, err
	}
	for _, v := range g.Vertices {
		// As in Flink: a Hash exchange to more subtasks than key groups
		// would leave some without keys.
		if v.Parallelism > maxPar {
			return nil, fmt.Errorf("exec: vertex %d %q runs with parallelism %d, above %s %d", v.ID, v.Name, v.Parallelism, MaxParallelismKey, maxPar)
		}
	}
	var restore map[subtaskKey]*SubtaskState
	if opts.Restore != nil {
		var err error
		if restore, err = restoreStates(opts.Restore, g); err != nil {
			return nil, err
		}
		// The savepoint (or checkpoint) completed: the subtasks it records
		// as finished stay finished, so their final transactions commit.
		if err := commitFinalStates(g, restore); err != nil {
			return nil, err
		}
		if err := commitJobs(g, connector.RestoredStates, statesOf(restore)); err != nil {
			return nil, err
		}
	}
	ckpt, err := CheckpointConfigFrom(g.Config)
	if err != nil {
		return nil, err
	}
	strategy, err := RestartStrategyFrom(g.Config, ckpt.Enabled())
	if err != nil {
		return nil, err
	}
	width := 0
	total := 0
	for _, v := range g.Vertices {
		width = max(width, v.Parallelism)
		total += v.Parallelism
	}
	j := &Job{
		id: newJobID(), name: g.Name, jm: jm, graph: g,
		states:     map[subtaskKey]TaskState{},
		pending:    total,
		status:     JobRunning,
		done:       make(chan struct{}),
		results:    map[string]*ResultStream{},
		restore:    restore,
		initial:    restore,
		subtasks:   total,
		jobCommits: hasJobCommitter(g),
		final:      map[subtaskKey]*SubtaskState{},
		ckpt:       checkpointState{cfg: ckpt, committed: map[subtaskKey]bool{}},
		restart:    strategy,
	}
	for _, v := range g.Vertices {
		for _, op := range v.Operators {
			if op.Kind == KindCollect {
				var cs CollectSpec
				_ = json.Unmarshal(op.Spec, &cs) // checked by Validate
				j.results[cs.ID] = newResultStream(cs.ID, v.Parallelism)
			}
		}
	}

	if _, err := jm.reserve(ctx, j, width, opts.SlotRequestTimeout); err != nil {
		return nil, err
	}
	jm.deploy(j)
	if ckpt.Enabled() {
		go jm.coordinate(j)
	}
	return j, nil
}

// deploy sends the descriptor of every subtask of the job's current
// attempt to its TaskManager. A failure to deploy is a task failure.
func (jm *JobManager) deploy(j *Job) {
	j.mu.Lock()
	attempt := j.attempt
	j.mu.Unlock()
	ds := j.descriptors()
	for i, d := range ds {
		data, err := EncodeDescriptor(d)
		if err == nil {
			err = jm.tm(j.slots[d.Subtask].tm).SubmitTask(data)
		}
		if err != nil {
			jm.UpdateTaskState(TaskStateUpdate{JobID: j.id, Vertex: d.Vertex, Subtask: d.Subtask,
				State: TaskFailed, Error: fmt.Sprintf("deploying task %s: %v", d.name(), err)})
			for _, rest := range ds[i+1:] {
				jm.UpdateTaskState(TaskStateUpdate{JobID: j.id, Vertex: rest.Vertex, Subtask: rest.Subtask, State: TaskCanceled})
			}
			break
		}
	}
	// A task that failed (or a Cancel) during deployment cancelled only the
	// tasks deployed by then; cancel the rest now that all are deployed,
	// unless a restart already deployed the next attempt.
	j.mu.Lock()
	aborted := j.status != JobRunning && j.attempt == attempt
	j.mu.Unlock()
	if aborted {
		for _, tm := range j.taskManagers() {
			tm.CancelJob(j.id)
		}
	}
}

func (jm *JobManager) tm(i int) TaskManagerGateway {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	return jm.tms[i]
}

// reserve allocates n slots for j and registers it, waiting up to timeout
// for running jobs to free slots, as Flink's slot requests wait
// slot.request.timeout; a job that can never fit fails at once.
func (jm *JobManager) reserve(ctx context.Context, j *Job, n int, timeout time.Duration) ([]slotRef, error) {
	var expired <-chan time.Time
	jm.mu.Lock()
	defer jm.mu.Unlock()
	for {
		slots, err := jm.allocate(j.id, n)
		if err == nil {
			j.slots = slots
			jm.jobs[j.id] = j
			return slots, nil
		}
		if timeout <= 0 || n > jm.totalSlots() {
			return nil, err
		}
		if expired == nil {
			t := time.NewTimer(timeout)
			defer t.Stop()
			expired = t.C
		}
		if jm.freed == nil {
			jm.freed = make(chan struct{})
		}
		freed := jm.freed
		jm.mu.Unlock()
		select {
		case <-freed:
			jm.mu.Lock()
		case <-expired:
			jm.mu.Lock()
			return nil, fmt.Errorf("%w after waiting %s (%s)", err, timeout, SlotRequestTimeoutKey)
		case <-ctx.Done():
			jm.mu.Lock()
			return nil, ctx.Err()
		}
	}
}

// allocate reserves n free slots for job, spreading them over the
// TaskManagers. jm.mu is held.
func (jm *JobManager) allocate(job string, n int) ([]slotRef, error) {
	var got []slotRef
	free := 0
	for s := 0; len(got) < n; s++ {
		any := false
		for t, used := range jm.used {
			if s >= len(used) {
				continue
			}
			any = true
			if used[s] == "" && len(got) < n {
				got = append(got, slotRef{tm: t, slot: s})
			}
		}
		if !any {
			break
		}
	}
	if len(got) < n {
		for _, used := range jm.used {
			for _, j := range used {
				if j == "" {
					free++
				}
			}
		}
		return nil, fmt.Errorf("%w: job needs %d, %d of %d free", ErrNotEnoughSlots, n, free, jm.totalSlots())
	}
	for _, r := range got {
		jm.used[r.tm][r.slot] = job
	}
	return got, nil
}

func (jm *JobManager) totalSlots() int {
	n := 0
	for _, used := range jm.used {
		n += len(used)
	}
	return n
}

// UpdateTaskState records a task's state change; the first failure
// restarts the job if its restart strategy allows (RESTARTING: its tasks
// are cancelled, then redeployed) or else fails it and cancels its other
// tasks, and the last final state ends the job and releases its
// resources.
func (jm *JobManager) UpdateTaskState(u TaskStateUpdate) {
	jm.mu.Lock()
	j := jm.jobs[u.JobID]
	jm.mu.Unlock()
	if j == nil {
		return
	}
	key := subtaskKey{u.Vertex, u.Subtask}
	j.mu.Lock()
	if j.states[key].terminal() {
		j.mu.Unlock()
		return
	}
	j.states[key] = u.State
	if !u.State.terminal() {
		j.mu.Unlock()
		return
	}
	switch {
	case u.Savepoint != nil:
		j.final[key] = u.Savepoint
	case u.State == TaskFinished && u.Final != nil:
		j.final[key] = u.Final
	case u.State == TaskFinished:
		j.final[key] = &SubtaskState{Vertex: u.Vertex, Subtask: u.Subtask, Finished: true}
	}
	finished := u.State == TaskFinished && j.ckpt.pending != nil
	if u.State == TaskFailed && j.err == nil && j.status == JobRunning {
		restart := false
		if !j.stopping {
			restart, j.restartDelay = j.restart.OnFailure(time.Now())
		}
		if restart {
			// A failover: the pending checkpoint cannot complete; the
			// result streams stay open for the next attempt.
			j.status = JobRestarting
			j.ckpt.pending = nil
			j.mu.Unlock()
			for _, tm := range j.taskManagers() {
				tm.CancelJob(j.id)
			}
		} else {
			j.err = errors.New(u.Error)
			j.status = JobFailing
			err := j.err
			j.mu.Unlock()
			// Abort before counting this task as stopped, so the job cannot
			// finish (and release its result streams) before the abort is done.
			j.abort(err)
		}
		j.mu.Lock()
	}
	j.pending--
	last := j.pending == 0
	restarting := j.status == JobRestarting
	if last && restarting {
		j.restartAbort = make(chan struct{})
	}
	j.mu.Unlock()
	switch {
	case last && restarting:
		go jm.restartJob(j)
	case last:
		jm.finish(j)
	case finished:
		// A finished subtask counts as having acknowledged the pending
		// checkpoint.
		jm.completeCheckpoint(j)
	}
}

// restartJob redeploys a job whose tasks have all stopped after a
// failure, once the restart strategy's delay passed: every subtask starts
// from its state in the latest completed checkpoint, or as the job was
// submitted when none completed. A Cancel during the delay ends the job.
func (jm *JobManager) restartJob(j *Job) {
	// The old attempt's tasks and channels are gone; the JobManager keeps
	// the job's slots.
	for _, tm := range j.taskManagers() {
		tm.ReleaseJob(j.id)
	}
	j.mu.Lock()
	delay, abort := j.restartDelay, j.restartAbort
	j.mu.Unlock()
	if abort != nil {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-abort:
		}
		t.Stop()
	}
	j.mu.Lock()
	if j.status != JobRestarting {
		j.mu.Unlock()
		jm.finish(j)
		return
	}
	j.restartAbort = nil
	j.attempt++
	j.ckpt.stats.Restarts++
	j.states = map[subtaskKey]TaskState{}
	j.final = map[subtaskKey]*SubtaskState{}
	j.ckpt.committed = map[subtaskKey]bool{}
	j.pending = j.subtasks
	cp, path := j.ckpt.latest, j.ckpt.stats.LatestPath
	restore := j.initial
	j.mu.Unlock()
	var err error
	if cp == nil && path != "" {
		cp, err = ReadSavepointFile(path)
	}
	if cp != nil {
		restore = map[subtaskKey]*SubtaskState{}
		for i := range cp.Subtasks {
			st := &cp.Subtasks[i]
			restore[subtaskKey{st.Vertex, st.Subtask}] = st
		}
	}
	j.mu.Lock()
	j.restore = restore
	j.mu.Unlock()
	// The subtasks the restored checkpoint records as finished stay
	// finished: their final transactions commit (again, when the
	// checkpoint's completion committed them already) before anything runs.
	if err == nil {
		err = commitFinalStates(j.graph, restore)
	}
	if err == nil && j.jobCommits {
		err = commitJobs(j.graph, connector.RestoredStates, statesOf(restore))
	}
	j.mu.Lock()
	switch {
	case j.status != JobRestarting:
		// Cancelled meanwhile.
	case err != nil:
		j.err = err
		j.status = JobFailing
	default:
		j.status = JobRunning
	}
	status := j.status
	j.mu.Unlock()
	switch status {
	case JobRunning:
		jm.deploy(j)
		return
	case JobFailing:
		// The result streams end with the error before the job does.
		j.abort(err)
	}
	jm.finish(j)
}

// finish ends a job whose tasks have all stopped. A job that ends neither
// failed nor cancelled first commits the final transactions of its
// finished subtasks that no completed checkpoint committed (FLIP-147: the
// whole job finished); a commit that fails fails the job.
func (jm *JobManager) finish(j *Job) {
	j.closeCheckpoints()
	j.mu.Lock()
	var finals map[subtaskKey]*SubtaskState
	// ended: every subtask finished its input; the sinks that commit for
	// the whole sink then do so with all the final states.
	var ended []*SubtaskState
	if j.status == JobRunning {
		finals = j.uncommittedFinalStates()
		if j.jobCommits && !j.stopping {
			ended = statesOf(j.final)
		}
	}
	j.mu.Unlock()
	err := commitFinalStates(j.graph, finals)
	if err == nil && ended != nil {
		err = commitJobs(j.graph, connector.EndOfInput, ended)
	}
	if err != nil {
		j.mu.Lock()
		failed := j.status == JobRunning
		if failed {
			j.err = err
			j.status = JobFailing
		}
		j.mu.Unlock()
		if failed {
			j.abort(err)
		}
	}
	metrics := j.collectMetrics()
	for _, tm := range j.taskManagers() {
		tm.ReleaseJob(j.id)
	}
	j.mu.Lock()
	savepoint := j.stopping && j.status == JobRunning
	j.mu.Unlock()
	for _, s := range j.results {
		if savepoint {
			// The collect operators stopped at the savepoint without
			// finishing: the client reads what they wrote, then io.EOF.
			s.endAtSavepoint()
		}
		s.drain()
	}
	jm.mu.Lock()
	for _, r := range j.slots {
		jm.used[r.tm][r.slot] = ""
	}
	delete(jm.jobs, j.id)
	if jm.freed != nil {
		close(jm.freed)
		jm.freed = nil
	}
	jm.mu.Unlock()

	j.mu.Lock()
	j.finalMetrics = metrics
	switch j.status {
	case JobFailing:
		j.status = JobFailed
	case JobCanceling:
		j.status = JobCanceled
	default:
		j.status = JobFinished
	}
	j.mu.Unlock()
	close(j.done)
}

// OpenResult implements ResultService for the embedded cluster.
func (jm *JobManager) OpenResult(jobID, collectID string, subtask int) (ResultWriter, error) {
	jm.mu.Lock()
	j := jm.jobs[jobID]
	jm.mu.Unlock()
	if j == nil {
		return nil, fmt.Errorf("exec: no running job %s", jobID)
	}
	s := j.results[collectID]
	if s == nil {
		return nil, fmt.Errorf("exec: job %s has no collect %q", jobID, collectID)
	}
	return resultWriter{s, subtask}, nil
}

func newJobID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CancelAll cancels every running job and waits until they have stopped,
// or until ctx is done.
func (jm *JobManager) CancelAll(ctx context.Context) error {
	jm.mu.Lock()
	jobs := make([]*Job, 0, len(jm.jobs))
	for _, j := range jm.jobs {
		jobs = append(jobs, j)
	}
	jm.mu.Unlock()
	for _, j := range jobs {
		j.Cancel()
	}
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
