package exec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/eddysql/eddy/exec/connector"
)

// CheckpointStats are a job's checkpoint and failover counters (Flink's
// numberOfCompletedCheckpoints, numberOfFailedCheckpoints and
// numRestarts).
type CheckpointStats struct {
	// Restarts counts the times the job was restarted after a failure.
	Restarts int64 `json:"restarts"`
	// Completed and Failed count checkpoints; a failed one timed out or
	// could not be written.
	Completed int64 `json:"checkpointsCompleted"`
	Failed    int64 `json:"checkpointsFailed"`
	// LatestID is the id of the latest completed checkpoint (0: none) and
	// LatestPath its file when execution.checkpointing.dir is set.
	LatestID   int64  `json:"latestCheckpoint,omitempty"`
	LatestPath string `json:"latestCheckpointPath,omitempty"`
}

// checkpointState is a job's checkpoint coordinator state (Flink's
// CheckpointCoordinator), guarded by the job's lock.
type checkpointState struct {
	cfg     CheckpointConfig
	lastID  int64
	pending *pendingCheckpoint
	// latest is the latest completed checkpoint, in the savepoint format,
	// when it has no file (stats.LatestPath): one written to a directory
	// is read back from there for a restart (latestCheckpoint) rather than
	// held as a second copy of the job's state for as long as it runs.
	latest *Savepoint
	stats  CheckpointStats
	// retained are the files of the completed checkpoints kept in the
	// checkpoint directory, oldest first.
	retained []string
	// committed marks the finished subtasks of the current attempt whose
	// final state (Job.final) a completed checkpoint committed.
	committed map[subtaskKey]bool
	// finalizing counts the checkpoints being written; the job ends only
	// after them (closed: no more start).
	finalizing sync.WaitGroup
	closed     bool
}

// closeCheckpoints waits for the checkpoints being finalized; none
// completes afterwards. The job calls it as it ends.
func (j *Job) closeCheckpoints() {
	j.mu.Lock()
	j.ckpt.closed = true
	j.mu.Unlock()
	j.ckpt.finalizing.Wait()
}

// pendingCheckpoint is a checkpoint triggered and not yet acknowledged by
// every subtask.
type pendingCheckpoint struct {
	id int64
	// attempt is the job's attempt whose tasks take the checkpoint.
	attempt  int
	deadline time.Time
	acks     map[subtaskKey]*SubtaskState
}

// CheckpointStats returns the job's checkpoint and restart counters.
func (j *Job) CheckpointStats() CheckpointStats {
	if j.remote != nil {
		return j.remote.checkpointStats()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ckpt.stats
}

// LatestCheckpoint returns the job's latest completed checkpoint, nil if
// none completed. It is a Savepoint: submitting a job with
// SubmitOptions.Restore set to it resumes from the checkpoint. For a job
// running on a remote JobManager it is nil (the checkpoint stays there;
// with execution.checkpointing.dir set it is in a file).
func (j *Job) LatestCheckpoint() *Savepoint {
	j.mu.Lock()
	sp, path := j.ckpt.latest, j.ckpt.stats.LatestPath
	j.mu.Unlock()
	if sp == nil && path != "" {
		sp, _ = ReadSavepointFile(path)
	}
	return sp
}

// coordinate triggers the job's checkpoints every interval until the job
// ends, at most one at a time, and aborts one that exceeds its timeout. A
// checkpoint due while another is in flight is triggered when that one
// completes or times out (the next tick after it). As Flink's
// CheckpointCoordinator (NOT_ALL_REQUIRED_TASKS_RUNNING), it triggers
// only once every subtask of the current attempt has started: a restart
// sets the job RUNNING before it deploys the tasks, and a trigger sent
// meanwhile would miss the sources not deployed yet, leaving the
// checkpoint pending, and every later one waiting, until its timeout.
func (jm *JobManager) coordinate(j *Job) {
	cfg := j.ckpt.cfg
	timer := time.NewTimer(cfg.Interval)
	defer timer.Stop()
	for {
		select {
		case <-j.done:
			return
		case <-timer.C:
		}
		next := cfg.Interval
		now := time.Now()
		j.mu.Lock()
		if p := j.ckpt.pending; p != nil && !now.Before(p.deadline) {
			j.ckpt.pending = nil
			j.ckpt.stats.Failed++
		}
		var id int64
		if j.ckpt.pending == nil && j.status == JobRunning && !j.stopping && len(j.states) == j.subtasks {
			j.ckpt.lastID++
			id = j.ckpt.lastID
			j.ckpt.pending = &pendingCheckpoint{id: id, attempt: j.attempt, deadline: now.Add(cfg.Timeout), acks: map[subtaskKey]*SubtaskState{}}
		}
		if p := j.ckpt.pending; p != nil {
			next = min(next, max(p.deadline.Sub(now), time.Millisecond))
		}
		j.mu.Unlock()
		if id != 0 {
			for _, tm := range j.taskManagers() {
				tm.TriggerCheckpoint(j.id, id)
			}
			// Every subtask may have finished already.
			jm.completeCheckpoint(j)
		}
		timer.Reset(next)
	}
}

// AcknowledgeCheckpoint implements CheckpointResponder: it records a
// subtask's snapshot for the pending checkpoint and completes the
// checkpoint once every subtask acknowledged it or finished.
// Acknowledgements of an aborted checkpoint are dropped.
func (jm *JobManager) AcknowledgeCheckpoint(a CheckpointAck) {
	jm.mu.Lock()
	j := jm.jobs[a.JobID]
	jm.mu.Unlock()
	if j == nil {
		return
	}
	j.mu.Lock()
	p := j.ckpt.pending
	if p == nil || p.id != a.Checkpoint {
		j.mu.Unlock()
		return
	}
	p.acks[subtaskKey{a.Vertex, a.Subtask}] = a.State
	j.mu.Unlock()
	jm.completeCheckpoint(j)
}

// completeCheckpoint completes the pending checkpoint if every subtask
// acknowledged it or has finished (a subtask that finished has processed
// all its input and holds no state but its final state, the transactions
// its sinks pre-committed at the end of input, as with Flink's checkpoints
// after tasks finished, FLIP-147), and finalizes it: in a goroutine of its
// own when it is written to a directory or commits final states, so that
// the task whose acknowledgement completed it does not wait for the file
// or the commits.
func (jm *JobManager) completeCheckpoint(j *Job) {
	j.mu.Lock()
	p := j.ckpt.pending
	if p == nil || j.status != JobRunning || j.stopping || j.ckpt.closed {
		j.mu.Unlock()
		return
	}
	sp := &Savepoint{Version: SavepointVersion, MaxParallelism: KeyGroups, Graph: j.graph}
	commits := false
	vertices := make([]Vertex, len(j.graph.Vertices))
	copy(vertices, j.graph.Vertices)
	sort.Slice(vertices, func(a, b int) bool { return vertices[a].ID < vertices[b].ID })
	for _, v := range vertices {
		for i := 0; i < v.Parallelism; i++ {
			key := subtaskKey{v.ID, i}
			switch st := p.acks[key]; {
			case st != nil:
				sp.Subtasks = append(sp.Subtasks, *st)
			case j.states[key] == TaskFinished:
				// UpdateTaskState records the final state with the state.
				st := j.final[key]
				if st == nil {
					st = &SubtaskState{Vertex: v.ID, Subtask: i, Finished: true}
				}
				sp.Subtasks = append(sp.Subtasks, *st)
				commits = commits || (len(st.Operators) > 0 && !j.ckpt.committed[key])
			default:
				j.mu.Unlock()
				return
			}
		}
	}
	j.ckpt.pending = nil
	dir := j.ckpt.cfg.Dir
	j.ckpt.finalizing.Add(1)
	j.mu.Unlock()
	if dir == "" && !commits && !j.jobCommits {
		jm.finalizeCheckpoint(j, p.id, p.attempt, sp, "")
		return
	}
	go jm.finalizeCheckpoint(j, p.id, p.attempt, sp, dir)
}

// finalizeCheckpoint writes checkpoint id to dir (unless empty), makes it
// the job's latest unless a later one was finalized first or the job
// restarted meanwhile (the next attempt restores an earlier checkpoint, so
// this one no longer describes it), commits the final states of the
// subtasks it records as finished, and notifies the tasks. A checkpoint
// that cannot be written counts as failed. A final state whose commit
// fails stays uncommitted: the job's end commits it again.
func (jm *JobManager) finalizeCheckpoint(j *Job, id int64, attempt int, sp *Savepoint, dir string) {
	defer j.ckpt.finalizing.Done()
	var path string
	if dir != "" {
		var err error
		if path, err = writeCheckpoint(dir, j.id, id, sp); err != nil {
			j.mu.Lock()
			j.ckpt.stats.Failed++
			j.mu.Unlock()
			return
		}
	}
	j.mu.Lock()
	if id <= j.ckpt.stats.LatestID || attempt != j.attempt {
		j.mu.Unlock()
		if path != "" {
			_ = os.RemoveAll(filepath.Dir(path))
		}
		return
	}
	j.ckpt.latest = sp
	if path != "" {
		j.ckpt.latest = nil
	}
	j.ckpt.stats.Completed++
	j.ckpt.stats.LatestID = id
	j.ckpt.stats.LatestPath = path
	var expired []string
	if path != "" {
		r := append(j.ckpt.retained, path)
		if n := len(r) - j.ckpt.cfg.Retained; n > 0 {
			expired, r = r[:n:n], r[n:]
		}
		j.ckpt.retained = r
	}
	finals := map[subtaskKey]*SubtaskState{}
	for i := range sp.Subtasks {
		st := &sp.Subtasks[i]
		if key := (subtaskKey{st.Vertex, st.Subtask}); st.Finished && len(st.Operators) > 0 && !j.ckpt.committed[key] {
			finals[key] = st
		}
	}
	j.mu.Unlock()
	for _, p := range expired {
		_ = os.RemoveAll(filepath.Dir(p))
	}
	for key, st := range finals {
		if commitFinalState(j.graph, st) != nil {
			continue
		}
		j.mu.Lock()
		if attempt == j.attempt {
			j.ckpt.committed[key] = true
		}
		j.mu.Unlock()
	}
	// The sinks' commits for the whole sink come before the tasks learn of
	// the checkpoint; if one fails they do not learn, and the next
	// checkpoint's commit retries.
	if j.jobCommits && commitJobs(j.graph, id, subtaskStates(sp.Subtasks)) != nil {
		return
	}
	for _, tm := range j.taskManagers() {
		tm.NotifyCheckpointComplete(j.id, id)
	}
}

// subtaskStates points at each of states.
func subtaskStates(states []SubtaskState) []*SubtaskState {
	out := make([]*SubtaskState, len(states))
	for i := range states {
		out[i] = &states[i]
	}
	return out
}

// hasJobCommitter reports whether a sink of g commits for the whole sink.
func hasJobCommitter(g *JobGraph) bool {
	found := false
	_ = forEachJobCommitter(g, func(*Vertex, int, SinkSpec, connector.JobCommitter) error {
		found = true
		return nil
	})
	return found
}

// forEachJobCommitter calls f for operator i of vertex v, each sink of g
// whose connector is a connector.JobCommitter.
func forEachJobCommitter(g *JobGraph, f func(v *Vertex, i int, spec SinkSpec, c connector.JobCommitter) error) error {
	for vi := range g.Vertices {
		v := &g.Vertices[vi]
		for i, op := range v.Operators {
			if op.Kind != KindSink {
				continue
			}
			var spec SinkSpec
			if err := json.Unmarshal(op.Spec, &spec); err != nil {
				return fmt.Errorf("sink spec: %w", err)
			}
			sf, _ := connector.Sink(spec.Table.Options["connector"])
			if c, ok := sf.(connector.JobCommitter); ok {
				if err := f(v, i, spec, c); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// commitJobs hands each connector.JobCommitter sink of g its states among
// subtasks (those of its vertex; a rescaled restore's old states too) for
// checkpoint (see connector.JobCommitter).
func commitJobs(g *JobGraph, checkpoint int64, subtasks []*SubtaskState) error {
	return forEachJobCommitter(g, func(v *Vertex, i int, spec SinkSpec, c connector.JobCommitter) error {
		var states [][]byte
		for _, st := range subtasks {
			if st.Vertex != v.ID || i >= len(st.Operators) {
				continue
			}
			states = append(states, st.Operators[i].State)
			states = append(states, st.Operators[i].Rescaled...)
		}
		if err := c.CommitJob(spec.SinkSpec, checkpoint, states); err != nil {
			return fmt.Errorf("committing into table %s: %w", spec.Table.Name, err)
		}
		return nil
	})
}

// statesOf lists the subtask states of a map.
func statesOf(restore map[subtaskKey]*SubtaskState) []*SubtaskState {
	out := make([]*SubtaskState, 0, len(restore))
	for _, st := range restore {
		out = append(out, st)
	}
	return out
}

// uncommittedFinalStates are the final states of the finished subtasks of
// the current attempt that no completed checkpoint committed. j.mu is
// held.
func (j *Job) uncommittedFinalStates() map[subtaskKey]*SubtaskState {
	out := map[subtaskKey]*SubtaskState{}
	for key, st := range j.final {
		if st.Finished && len(st.Operators) > 0 && !j.ckpt.committed[key] {
			out[key] = st
		}
	}
	return out
}

// commitFinalStates commits the final states of the finished subtasks
// among states (commitFinalState), in vertex and subtask order.
func commitFinalStates(g *JobGraph, states map[subtaskKey]*SubtaskState) error {
	keys := make([]subtaskKey, 0, len(states))
	for key, st := range states {
		if st.Finished && len(st.Operators) > 0 {
			keys = append(keys, key)
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].vertex != keys[b].vertex {
			return keys[a].vertex < keys[b].vertex
		}
		return keys[a].subtask < keys[b].subtask
	})
	for _, key := range keys {
		if err := commitFinalState(g, states[key]); err != nil {
			return err
		}
	}
	return nil
}

// commitFinalState commits what the sinks of a finished subtask
// pre-committed at the end of their input (its final state), through their
// factories' connector.FinishedCommitter. It runs once the subtask is
// recorded as finished for good: in a completed checkpoint, in the
// checkpoint a job is restored from, or at the end of the job.
func commitFinalState(g *JobGraph, st *SubtaskState) error {
	v, err := stateVertex(g, st, "final")
	if err != nil {
		return err
	}
	for i, os := range st.Operators {
		// A rescaled vertex's first subtask carries the final states of
		// all its old subtasks (Rescaled).
		for _, state := range append([][]byte{os.State}, os.Rescaled...) {
			if err := commitSinkFinal(v, st, i, os.Kind, state); err != nil {
				return err
			}
		}
	}
	return nil
}

// stateVertex is the vertex of g whose chain st (a subtask's what state)
// holds the states of.
func stateVertex(g *JobGraph, st *SubtaskState, what string) (*Vertex, error) {
	for i := range g.Vertices {
		if v := &g.Vertices[i]; v.ID == st.Vertex && len(st.Operators) == len(v.Operators) {
			return v, nil
		}
	}
	return nil, fmt.Errorf("exec: internal error: %s state of subtask %d of vertex %d does not match the job graph", what, st.Subtask, st.Vertex)
}

// CommitSavepoint commits what the sinks of a job stopped with savepoint sp
// pre-committed (their transactions and part files), as Flink completes a
// stop-with-savepoint like a checkpoint: without it the last rows of a job
// that is never resumed stay invisible, and Kafka aborts their
// transactions when they time out. Call it once sp is durable; a job
// restored from sp commits the same again, which the committers allow.
func CommitSavepoint(sp *Savepoint) error {
	g := sp.Graph
	if hasJobCommitter(g) {
		if err := commitJobs(g, connector.RestoredStates, subtaskStates(sp.Subtasks)); err != nil {
			return err
		}
	}
	for i := range sp.Subtasks {
		st := &sp.Subtasks[i]
		if len(st.Operators) == 0 {
			continue // a subtask without state
		}
		v, err := stateVertex(g, st, "savepoint")
		if err != nil {
			return err
		}
		for k, os := range st.Operators {
			if os.Kind == KindSink {
				if err := commitSinkFinal(v, st, k, os.Kind, os.State); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// commitSinkFinal commits one final state of operator i of v, a sink.
func commitSinkFinal(v *Vertex, st *SubtaskState, i int, kind string, state []byte) error {
	if len(state) == 0 {
		return nil
	}
	if kind != KindSink || v.Operators[i].Kind != KindSink {
		return fmt.Errorf("exec: internal error: final state for operator %d (%s) of vertex %d %q, which is not a sink", i, kind, v.ID, v.Name)
	}
	var spec SinkSpec
	if err := json.Unmarshal(v.Operators[i].Spec, &spec); err != nil {
		return fmt.Errorf("sink spec: %w", err)
	}
	id := spec.Table.Options["connector"]
	f, _ := connector.Sink(id)
	c, ok := f.(connector.FinishedCommitter)
	if !ok {
		return fmt.Errorf("exec: sink connector %q of table %s cannot commit the transactions of finished subtasks (connector.FinishedCommitter)", id, spec.Table.Name)
	}
	if err := c.CommitFinished(spec.SinkSpec, state); err != nil {
		return fmt.Errorf("committing the final transactions of subtask %d of %q into table %s: %w", st.Subtask, v.Name, spec.Table.Name, err)
	}
	return nil
}

// CheckpointMetadataFile is the name of a checkpoint's file in its
// directory dir/<job id>/chk-<n>/, as Flink names it.
const CheckpointMetadataFile = "_metadata"

// writeCheckpoint writes sp as dir/<job>/chk-<id>/ (writeStateDir) and
// returns the path of its _metadata.
func writeCheckpoint(dir, job string, id int64, sp *Savepoint) (string, error) {
	return writeStateDir(filepath.Join(dir, job, fmt.Sprintf("chk-%d", id)), sp)
}

// ReadSavepointFile reads a savepoint or checkpoint written in the
// savepoint format: path is the file, or a directory holding it as
// _metadata (a checkpoint's chk-<n> directory, Flink's
// execution.savepoint.path).
func ReadSavepointFile(path string) (*Savepoint, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, CheckpointMetadataFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exec: reading savepoint: %w", err)
	}
	sp, err := DecodeSavepoint(data)
	if err != nil {
		return nil, err
	}
	if err := resolveStateRefs(sp, path); err != nil {
		return nil, err
	}
	return sp, nil
}
