package exec

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"
)

// JobStatus is the lifecycle state of a job.
type JobStatus string

const (
	JobRunning JobStatus = "RUNNING"
	// JobRestarting is a job recovering from a task failure: its tasks
	// are being cancelled, or it waits for the restart strategy's delay
	// before it is redeployed from its latest checkpoint.
	JobRestarting JobStatus = "RESTARTING"
	JobFailing    JobStatus = "FAILING"
	JobCanceling  JobStatus = "CANCELING"
	JobFinished   JobStatus = "FINISHED"
	JobFailed     JobStatus = "FAILED"
	JobCanceled   JobStatus = "CANCELED"
)

// Job is the handle of a submitted job.
type Job struct {
	id    string
	name  string
	jm    *JobManager
	graph *JobGraph
	slots []slotRef
	// results is fixed at Submit and read without the lock.
	results map[string]*ResultStream
	done    chan struct{}
	// restore holds the savepoint state of each subtask the job restores;
	// initial is the one it was submitted with (a restart without a
	// completed checkpoint goes back to it).
	restore map[subtaskKey]*SubtaskState
	initial map[subtaskKey]*SubtaskState
	// subtasks is the number of subtasks of the graph.
	subtasks int
	// jobCommits is set when a sink of the graph commits for the whole
	// sink (connector.JobCommitter).
	jobCommits bool

	mu           sync.Mutex
	states       map[subtaskKey]TaskState
	pending      int // subtasks not in a final state
	status       JobStatus
	err          error
	finalMetrics []OperatorStats
	// stopping is set by StopWithSavepoint; final collects the savepoint
	// state (or the finished mark) of each subtask as it stops.
	stopping bool
	final    map[subtaskKey]*SubtaskState

	// ckpt is the checkpoint coordinator's state; restart decides on
	// failures (nil: none). attempt counts deployments, restartAbort is
	// closed by Cancel to end a restart's delay.
	ckpt         checkpointState
	restart      RestartStrategy
	attempt      int
	restartDelay time.Duration
	restartAbort chan struct{}

	// remote is set for a job running on a remote JobManager
	// (RemoteJobManager): the control methods then act through it.
	remote *remoteJob
}

// ErrNoSavepoint is returned by StopWithSavepoint when every task of the job
// had finished before the savepoint barriers reached them: there is no
// state to save.
var ErrNoSavepoint = errors.New("exec: the job finished before the savepoint was taken")

// StopWithSavepoint stops the job at a consistent point and returns its
// state (Flink's stop-with-savepoint without drain). The source tasks stop
// pulling their readers, snapshot them and send a savepoint barrier after
// the last data they emitted; every other task processes its input up to
// the barrier of each channel (aligned), snapshots its chain and forwards
// the barrier. No operator's input is ended: windows do not fire and
// timers do not run for a savepoint, so the job continues exactly where it
// stopped when it is submitted again with SubmitOptions.Restore. Sinks are
// not finished either (connector writers see neither Finish nor a commit,
// only a flush of what they buffer, connector.SinkFlusher);
// collect result streams end after the rows written before the barrier.
//
// StopWithSavepoint returns once every task has stopped; the job is then
// FINISHED. If ctx ends first the job is cancelled and ctx.Err() returned.
// A job that fails meanwhile returns its error, and one that had already
// ended (or is being stopped) cannot take a savepoint.
func (j *Job) StopWithSavepoint(ctx context.Context) (*Savepoint, error) {
	return j.stopWithSavepoint(ctx, false)
}

// DrainWithSavepoint is StopWithSavepoint with Flink's drain
// (stop-with-savepoint --drain): every source task, once it stopped
// pulling its reader, sends MaxWatermark down its chain and its output
// channels before the savepoint barrier, so event-time windows and timers
// fire and their results reach the sinks ahead of the barrier. The
// savepoint then holds state past the end of event time: as in Flink, a
// drained job is meant to end for good, and a job restored from it drops
// every later row as late.
func (j *Job) DrainWithSavepoint(ctx context.Context) (*Savepoint, error) {
	return j.stopWithSavepoint(ctx, true)
}

func (j *Job) stopWithSavepoint(ctx context.Context, drain bool) (*Savepoint, error) {
	if j.remote != nil {
		return j.remote.stopWithSavepoint(ctx, drain)
	}
	if strings.EqualFold(j.graph.Config[runtimeModeKey], "batch") {
		// Flink's SchedulerBase: a batch job has no checkpoint coordinator.
		return nil, fmt.Errorf("exec: Job %s is not a streaming job.", j.id)
	}
	if err := j.beginStop(); err != nil {
		return nil, err
	}
	for _, tm := range j.taskManagers() {
		tm.TriggerSavepoint(j.id, drain)
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		j.Cancel()
		return nil, ctx.Err()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch j.status {
	case JobFailed:
		return nil, j.err
	case JobCanceled:
		return nil, ErrJobCanceled
	}
	sp := &Savepoint{Version: SavepointVersion, MaxParallelism: KeyGroups, Graph: j.graph}
	saved := false
	for _, st := range j.final {
		sp.Subtasks = append(sp.Subtasks, *st)
		saved = saved || !st.Finished
	}
	if !saved {
		return nil, ErrNoSavepoint
	}
	sort.Slice(sp.Subtasks, func(a, b int) bool {
		x, y := sp.Subtasks[a], sp.Subtasks[b]
		if x.Vertex != y.Vertex {
			return x.Vertex < y.Vertex
		}
		return x.Subtask < y.Subtask
	})
	return sp, nil
}

// beginStop marks a running job as stopping with a savepoint, so that a
// second StopWithSavepoint (local or remote) is refused rather than
// racing the first; a job that has ended cannot take a savepoint.
func (j *Job) beginStop() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stopping {
		return fmt.Errorf("exec: cannot stop job %s with a savepoint: it is STOPPING", j.id)
	}
	if j.status != JobRunning {
		return fmt.Errorf("exec: cannot stop job %s with a savepoint: it is %s", j.id, j.status)
	}
	j.stopping = true
	return nil
}

// ID is the job's unique identifier.
func (j *Job) ID() string { return j.id }

// Graph is the JobGraph the job runs; callers must not modify it.
func (j *Job) Graph() *JobGraph { return j.graph }

// Name is the JobGraph's name.
func (j *Job) Name() string { return j.name }

// Status is the job's current state. For a job on a remote JobManager it
// asks the JobManager while the job runs, so a restart shows as RESTARTING.
func (j *Job) Status() JobStatus {
	if j.remote != nil {
		select {
		case <-j.done:
		default:
			if st, ok := j.remote.status(); ok {
				return st
			}
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.status
}

// Done is closed when the job has ended and its resources are released.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait blocks until the job ends and returns nil if it finished, its first
// task failure if it failed, ErrJobCanceled if it was cancelled, or
// ctx.Err(). An unbounded job only ends by failure or Cancel, and a job
// with collect operators only once its client reads (or closes) their
// result streams: call Wait after draining Results, or from another
// goroutine.
func (j *Job) Wait(ctx context.Context) error {
	select {
	case <-j.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch j.status {
	case JobFailed:
		return j.err
	case JobCanceled:
		return ErrJobCanceled
	}
	return nil
}

// Cancel stops the job's tasks; Wait then returns ErrJobCanceled (unless
// the job had already ended or failed). It does not wait.
func (j *Job) Cancel() {
	j.mu.Lock()
	if j.status != JobRunning && j.status != JobRestarting {
		j.mu.Unlock()
		return
	}
	j.status = JobCanceling
	if j.restartAbort != nil {
		close(j.restartAbort)
		j.restartAbort = nil
	}
	j.mu.Unlock()
	j.abort(ErrJobCanceled)
}

// abort fails the result streams with err and cancels every task.
func (j *Job) abort(err error) {
	for _, s := range j.results {
		s.abort(err)
	}
	if j.remote != nil {
		j.remote.cancel()
		return
	}
	for _, tm := range j.taskManagers() {
		tm.CancelJob(j.id)
	}
}

// Results returns the stream of collect operator id (CollectSpec.ID).
func (j *Job) Results(id string) (*ResultStream, error) {
	s, ok := j.results[id]
	if !ok {
		return nil, fmt.Errorf("exec: job %s has no collect %q", j.id, id)
	}
	return s, nil
}

// taskManagers lists the TaskManagers holding the job's slots.
func (j *Job) taskManagers() []TaskManagerGateway {
	seen := map[int]bool{}
	var out []TaskManagerGateway
	for _, r := range j.slots {
		if !seen[r.tm] {
			seen[r.tm] = true
			out = append(out, j.jm.tm(r.tm))
		}
	}
	return out
}

// descriptors builds the deployment descriptor of every subtask; subtask i
// of every vertex goes to the job's slot i.
func (j *Job) descriptors() []*TaskDeploymentDescriptor {
	g := j.graph
	par := map[int]int{}
	for _, v := range g.Vertices {
		par[v.ID] = v.Parallelism
	}
	var out []*TaskDeploymentDescriptor
	for _, v := range g.Vertices {
		for i := 0; i < v.Parallelism; i++ {
			d := &TaskDeploymentDescriptor{
				JobID: j.id, JobName: g.Name, Slot: j.slots[i].slot,
				Vertex: v.ID, VertexName: v.Name, Subtask: i, Parallelism: v.Parallelism,
				Operators: v.Operators, Config: g.Config,
				Restore: j.restore[subtaskKey{v.ID, i}],
			}
			for ei, e := range g.Edges {
				if e.Target == v.ID {
					gate := InputGateDescriptor{Edge: ei, Input: e.TargetInput, UpstreamVertex: e.Source}
					switch e.Partitioning {
					case Forward:
						gate.Producers = []int{i}
					case Global:
						if i == 0 {
							gate.Producers = upTo(par[e.Source])
						}
					default:
						gate.Producers = upTo(par[e.Source])
					}
					d.Inputs = append(d.Inputs, gate)
				}
				if e.Source == v.ID {
					od := OutputDescriptor{Edge: ei, Partitioning: e.Partitioning, Keys: e.Keys,
						DownstreamVertex: e.Target, DownstreamParallelism: par[e.Target]}
					switch e.Partitioning {
					case Forward:
						od.Consumers = []int{i}
					case Global:
						od.Consumers = []int{0}
					default:
						od.Consumers = upTo(par[e.Target])
					}
					d.Outputs = append(d.Outputs, od)
				}
			}
			out = append(out, d)
		}
	}
	return out
}

func upTo(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// Metrics returns per-operator metrics summed over subtasks, ordered by
// vertex and chain position: live while the job runs, final after it ended.
func (j *Job) Metrics() []OperatorStats {
	select {
	case <-j.done:
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.finalMetrics
	default:
	}
	if j.remote != nil {
		return j.remote.metrics()
	}
	return j.collectMetrics()
}

func (j *Job) collectMetrics() []OperatorStats {
	var reports []SubtaskMetrics
	for _, tm := range j.taskManagers() {
		reports = append(reports, tm.JobMetrics(j.id)...)
	}
	type key struct{ vertex, op int }
	stats := map[key]*OperatorStats{}
	var keys []key
	for _, v := range j.graph.Vertices {
		for i, op := range v.Operators {
			k := key{v.ID, i}
			keys = append(keys, k)
			stats[k] = &OperatorStats{Vertex: v.ID, VertexName: v.Name, Index: i, Kind: op.Kind, Name: op.Name,
				MetricsSnapshot: MetricsSnapshot{Watermark: MaxWatermark}}
		}
	}
	for _, r := range reports {
		for i, m := range r.Operators {
			s := stats[key{r.Vertex, i}]
			if s == nil {
				continue
			}
			s.Subtasks++
			s.RecordsIn += m.RecordsIn
			s.RecordsOut += m.RecordsOut
			s.BatchesIn += m.BatchesIn
			s.BatchesOut += m.BatchesOut
			s.LateRecordsDropped += m.LateRecordsDropped
			s.Watermark = min(s.Watermark, m.Watermark)
			s.PendingRecords += m.PendingRecords
			s.RecordsInErrors += m.RecordsInErrors
			s.BackPressuredTimeMs += m.BackPressuredTimeMs
			s.StateBytes += m.StateBytes
			if len(m.SplitBacklog) > 0 {
				// Splits are read by one subtask each: the maps are disjoint.
				if s.SplitBacklog == nil {
					s.SplitBacklog = map[string]int64{}
				}
				maps.Copy(s.SplitBacklog, m.SplitBacklog)
			}
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].vertex != keys[b].vertex {
			return keys[a].vertex < keys[b].vertex
		}
		return keys[a].op < keys[b].op
	})
	out := make([]OperatorStats, len(keys))
	for i, k := range keys {
		out[i] = *stats[k]
		if out[i].Subtasks == 0 {
			out[i].Watermark = MinWatermark
		}
	}
	return out
}
