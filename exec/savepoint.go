package exec

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/eddysql/eddy/exec/connector"
)

// ElementSavepoint is the savepoint barrier (Flink's stop-with-savepoint
// without drain). A source task sends it on every output channel after the
// last batch it emitted before the savepoint; a task that has received it
// on every input channel that has not ended snapshots its chain, forwards
// it, and finishes without ending its operators' inputs.
const ElementSavepoint ElementKind = ElementEnd + 1

// SavepointVersion is the version of the savepoint format written by this
// runtime; Restore refuses other versions.
const SavepointVersion = 1

// Savepoint is the state of a job stopped with Job.StopWithSavepoint: the
// job graph it ran and, per subtask, the bytes each operator of the chain
// returned from Snapshot. It is plain data; EncodeSavepoint and
// DecodeSavepoint turn it into bytes and back.
//
// Format (JSON, version 1):
//
//	{"version": 1,
//	 "maxParallelism": 128,
//	 "graph": JobGraph,
//	 "subtasks": [
//	   {"vertex": 2, "subtask": 0,
//	    "operators": [{"kind": "source", "state": "<base64>"}, {"kind": "calc"}]},
//	   {"vertex": 3, "subtask": 1, "finished": true},
//	   ...]}
//
// Subtasks are sorted by vertex id, then subtask index. operators[i] is
// operator i of the vertex's chain (i = 0 is the source of a source
// vertex); a missing or null state means the operator was stateless. A
// subtask marked finished had ended all its input (a bounded source that
// was exhausted) before the savepoint was taken: it carries no state but
// its final state, the transactions its sinks pre-committed at the end of
// input (operators then holds the sinks' states, the others' empty), which
// the JobManager commits on restore. A finished subtask is restored as
// finished: a finished source emits nothing, and its sinks do not act.
//
// State is matched by vertex id and chain position, so a job restores only
// into a graph with the same vertex ids and operator kinds per vertex.
// maxParallelism is the job's pipeline.max-parallelism (the number of key
// groups); a job restores only with the same.
//
// A vertex restored with the parallelism it had gets each subtask's state
// by subtask index. A vertex restored with another parallelism is rescaled
// as in Flink: keyed state moves by key group. Subtask i of n owns the key
// groups a Hash exchange sends it (keyGroupRange), so it is restored from
// every old subtask whose key-group range intersects its own: the runtime
// calls its operators' Restore once per such old snapshot, in old subtask
// order, and each operator keeps the keys it owns (OperatorState.Rescaled
// carries the list in the deployment descriptor). Only operators of the
// kinds in rescalableKinds can do that. A source whose connector keeps
// its position per split (connector.SupportsRescaling: Kafka's offsets
// per partition, the row positions datagen readers still owe, the files
// filesystem readers have left, the event numbers nexmark readers still
// owe) and the watermark assigner chained after
// it restore the snapshots of every old subtask instead: each reader
// resumes the splits it is assigned now, as Flink reassigns splits, and
// the watermark is the old subtasks' minimum (rescalePolicy); a
// connector.RescaledStateChecker may refuse snapshots it cannot
// redistribute. A two-phase-commit sink whose connector implements
// connector.SupportsRescaledRecovery gets the state of old subtask j in
// new subtask j mod n (dealSinkStates). Any other operator holding state
// (another source's position, another two-phase-commit sink's
// transactions, a sort or limit) makes Submit fail with ErrSavepointIncompatible naming
// the operator, the vertex and both parallelisms. A rescaled vertex whose
// subtasks had all finished stays finished (its sinks' final states are
// committed). One where only some had rescales when it is a source vertex
// whose connector implements connector.FinishedReaderSnapshotter and whose
// finished subtasks hold no final sink transactions: a finished reader's
// splits are done, as in Flink, and the new readers get, in its place, a
// snapshot that owes nothing (finishedReaders); otherwise it is refused.
type Savepoint struct {
	Version        int            `json:"version"`
	MaxParallelism int            `json:"maxParallelism,omitempty"`
	Graph          *JobGraph      `json:"graph"`
	Subtasks       []SubtaskState `json:"subtasks"`
}

// SubtaskState is the savepoint state of one subtask.
type SubtaskState struct {
	Vertex  int `json:"vertex"`
	Subtask int `json:"subtask"`
	// Finished is set when the subtask had finished before the savepoint;
	// Operators then hold its final state (see Savepoint), if any.
	Finished  bool            `json:"finished,omitempty"`
	Operators []OperatorState `json:"operators,omitempty"`
}

// OperatorState is what one operator of a chain returned from Snapshot.
type OperatorState struct {
	Kind  string `json:"kind"`
	State []byte `json:"state,omitempty"`
	// Rescaled is set instead of State only in the deployment descriptor
	// of a subtask whose vertex is restored at another parallelism: the
	// operator's states in the old subtasks it restores from (those whose
	// key groups intersect the subtask's, or all of them; see Savepoint),
	// each handed to one Restore call. Savepoints never hold it.
	Rescaled [][]byte `json:"rescaled,omitempty"`
	// StateRef is set instead of State only in the _metadata file of a
	// checkpoint's or savepoint's directory (writeStateDir).
	StateRef *StateRef `json:"stateRef,omitempty"`
}

// EncodeSavepoint serializes a savepoint.
func EncodeSavepoint(s *Savepoint) ([]byte, error) { return json.Marshal(s) }

// DecodeSavepoint is the inverse of EncodeSavepoint.
func DecodeSavepoint(data []byte) (*Savepoint, error) {
	var s Savepoint
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("exec: bad savepoint: %w", err)
	}
	if s.Version != SavepointVersion {
		return nil, fmt.Errorf("exec: savepoint version %d, this runtime reads version %d", s.Version, SavepointVersion)
	}
	return &s, nil
}

// SubmitOptions modify how JobManager.SubmitWithOptions starts a job.
type SubmitOptions struct {
	// Restore, when set, starts every subtask from its state in the
	// savepoint: the operators of a subtask with state are restored after
	// Open and before they see any input. Subtasks the savepoint does not
	// name start empty.
	Restore *Savepoint
	// SlotRequestTimeout is how long Submit waits for running jobs to free
	// the slots the job needs (slot.request.timeout); 0 fails at once.
	SlotRequestTimeout time.Duration
}

// ErrSavepointIncompatible is returned by SubmitWithOptions when the
// savepoint's state cannot be mapped onto the submitted graph.
var ErrSavepointIncompatible = errors.New("exec: savepoint does not match the job graph")

// rescalableKinds are the keyed operator kinds, whose state can be
// restored at a different parallelism: their snapshots are organized by
// key group, and their Restore accepts the snapshots of several old
// subtasks, one call each, before any input, keeping only the keys its
// subtask owns (ownsHash, ownsKeyGroup) and merging the operator-wide
// values (watermarks, sequence counters) as each kind documents. A new
// subtask gets the snapshots of the old subtasks whose key-group ranges
// intersect its own.
var rescalableKinds = map[string]bool{
	KindGroupAggregate:         true,
	KindGlobalGroupAggregate:   true,
	KindJoin:                   true,
	KindIntervalJoin:           true,
	KindTemporalJoin:           true,
	KindWindowJoin:             true,
	KindRank:                   true,
	KindDeduplicate:            true,
	KindChangelogNormalize:     true,
	KindOverAggregate:          true,
	KindNonTimeOverAggregate:   true,
	KindMatchRecognize:         true,
	KindSinkUpsertMaterializer: true,
	KindWindowTableFunction:    true,
	KindWindowAggregate:        true,
	KindGlobalWindowAggregate:  true,
	KindWindowRank:             true,
}

// rescalePolicy says how the state of operator spec is redistributed when
// its vertex is restored at another parallelism: keyed (by key group,
// rescalableKinds), to every new subtask (all: the position of a source
// whose connector implements connector.SupportsRescaling, whose readers
// keep the splits they are assigned, and the watermark assigner chained
// after such a source, which keeps the minimum), or not at all (the
// error says why; rescale deals the states of sinks that recover other
// subtasks' states itself). Other stateful kinds (two-phase-commit sinks'
// transactions, the non-keyed sort, limit, materialize and collect, the
// lookup tables of lookup, snapshot and vector-search joins) refuse a
// rescaled restore when they hold state.
func rescalePolicy(spec *OperatorSpec) (keyed, all bool, why string) {
	switch {
	case rescalableKinds[spec.Kind]:
		return true, false, ""
	case spec.Kind == KindWatermarkAssigner:
		return false, true, ""
	case spec.Kind == KindSource:
		var scan connector.ScanSpec
		if err := json.Unmarshal(spec.Spec, &scan); err != nil {
			return false, false, fmt.Sprintf("its spec is invalid: %v", err)
		}
		id := scan.Table.Options["connector"]
		f, _ := connector.Source(id)
		if r, ok := f.(connector.SupportsRescaling); ok && r.SupportsRescaling() {
			return false, true, ""
		}
		return false, false, fmt.Sprintf("its %s reader's position is not kept per split", id)
	case spec.Kind == KindSink:
		return false, false, "its pending transactions belong to its subtask (connector.SupportsRescaledRecovery)"
	}
	return false, false, "its state is not partitioned by key group"
}

// restoreStates checks that sp fits g and returns the state of every
// subtask of g it restores. A vertex that runs with the parallelism it had
// in the savepoint gets its subtasks' states as they are; a rescaled one
// (Flink's rescaling from a savepoint) gets, for each new subtask, the
// states of the old subtasks whose key-group ranges intersect its own in
// OperatorState.Rescaled, provided every operator holding state is of a
// rescalable kind.
func restoreStates(sp *Savepoint, g *JobGraph) (map[subtaskKey]*SubtaskState, error) {
	if sp.Version != SavepointVersion {
		return nil, fmt.Errorf("%w: savepoint version %d, this runtime reads version %d", ErrSavepointIncompatible, sp.Version, SavepointVersion)
	}
	maxPar, err := MaxParallelismFrom(g.Config)
	if err != nil {
		return nil, err
	}
	if spMax := sp.maxParallelism(); spMax != maxPar {
		return nil, fmt.Errorf("%w: the savepoint was taken with %s %d, the job runs with %d (it fixes the key groups of keyed state)",
			ErrSavepointIncompatible, MaxParallelismKey, spMax, maxPar)
	}
	vertices := map[int]*Vertex{}
	for i := range g.Vertices {
		vertices[g.Vertices[i].ID] = &g.Vertices[i]
	}
	byVertex := map[int][]*SubtaskState{}
	for i := range sp.Subtasks {
		st := &sp.Subtasks[i]
		v := vertices[st.Vertex]
		if v == nil {
			return nil, fmt.Errorf("%w: the savepoint has state for vertex %d, which the job does not have", ErrSavepointIncompatible, st.Vertex)
		}
		if len(st.Operators) > 0 {
			if len(st.Operators) != len(v.Operators) {
				return nil, fmt.Errorf("%w: vertex %d %q chains %d operators, the savepoint %d", ErrSavepointIncompatible, v.ID, v.Name, len(v.Operators), len(st.Operators))
			}
			for k, os := range st.Operators {
				if os.Kind != v.Operators[k].Kind {
					return nil, fmt.Errorf("%w: operator %d of vertex %d %q is a %s, the savepoint holds a %s", ErrSavepointIncompatible, k, v.ID, v.Name, v.Operators[k].Kind, os.Kind)
				}
			}
		}
		byVertex[st.Vertex] = append(byVertex[st.Vertex], st)
	}
	out := map[subtaskKey]*SubtaskState{}
	for id, states := range byVertex {
		v := vertices[id]
		old := sp.parallelism(id, len(states))
		seen := make([]bool, old)
		for _, st := range states {
			if st.Subtask < 0 || st.Subtask >= old || seen[st.Subtask] {
				return nil, fmt.Errorf("%w: the savepoint has a stray state for subtask %d of vertex %d %q, which ran with parallelism %d",
					ErrSavepointIncompatible, st.Subtask, id, v.Name, old)
			}
			seen[st.Subtask] = true
		}
		// Subtasks of a vertex are all in the savepoint or none of them.
		if len(states) != old {
			return nil, fmt.Errorf("%w: the savepoint has %d of the %d subtasks of vertex %d %q",
				ErrSavepointIncompatible, len(states), old, id, v.Name)
		}
		if old == v.Parallelism {
			for _, st := range states {
				out[subtaskKey{id, st.Subtask}] = st
			}
			continue
		}
		if err := rescale(v, old, states, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rescale maps the states of the old subtasks of v (old of them, in any
// order) onto its v.Parallelism new subtasks.
func rescale(v *Vertex, old int, states []*SubtaskState, out map[subtaskKey]*SubtaskState) error {
	byIndex := make([]*SubtaskState, old)
	finished := 0
	for _, st := range states {
		byIndex[st.Subtask] = st
		if st.Finished {
			finished++
		}
	}
	if finished == old {
		// Nothing runs again: new subtask 0 carries every final state,
		// which the JobManager commits, the others none.
		for i := range v.Parallelism {
			st := &SubtaskState{Vertex: v.ID, Subtask: i, Finished: true}
			if i == 0 {
				st.Operators = rescaledOperators(v, byIndex, nil, nil)
			}
			out[subtaskKey{v.ID, i}] = st
		}
		return nil
	}
	if finished > 0 {
		if why := finishedReaders(v, byIndex, old); why != "" {
			return fmt.Errorf("%w: vertex %d %q cannot restore at parallelism %d from a savepoint taken at %d: %d of its subtasks had finished and %s",
				ErrSavepointIncompatible, v.ID, v.Name, v.Parallelism, old, finished, why)
		}
	}
	all := make([]bool, len(v.Operators))
	spread := make([]bool, len(v.Operators))
	for k := range v.Operators {
		spec := &v.Operators[k]
		keyed, toAll, why := rescalePolicy(spec)
		all[k] = toAll
		if toAll && spec.Kind == KindSource {
			why = checkRescaledSource(spec, byIndex, k)
		}
		if spec.Kind == KindSink && sinkRecoversRescaled(spec) {
			spread[k] = true
			continue
		}
		if why == "" && (keyed || toAll) {
			continue
		}
		for _, st := range byIndex {
			if len(st.Operators) > 0 && len(st.Operators[k].State) > 0 {
				return fmt.Errorf("%w: operator %s of vertex %d %q cannot restore at parallelism %d from a savepoint taken at %d: %s",
					ErrSavepointIncompatible, operatorName(spec), v.ID, v.Name, v.Parallelism, old, why)
			}
		}
	}
	for i := range v.Parallelism {
		var from []*SubtaskState
		for _, o := range rescaledSources(i, v.Parallelism, old) {
			from = append(from, byIndex[o])
		}
		ops := rescaledOperators(v, from, byIndex, all)
		ops = dealSinkStates(v, ops, byIndex, spread, i)
		out[subtaskKey{v.ID, i}] = &SubtaskState{Vertex: v.ID, Subtask: i, Operators: ops}
	}
	return nil
}

// sinkRecoversRescaled tells whether the sink spec's connector recovers
// other subtasks' states (connector.SupportsRescaledRecovery).
func sinkRecoversRescaled(spec *OperatorSpec) bool {
	var sink connector.SinkSpec
	if err := json.Unmarshal(spec.Spec, &sink); err != nil {
		return false
	}
	f, _ := connector.Sink(sink.Table.Options["connector"])
	r, ok := f.(connector.SupportsRescaledRecovery)
	return ok && r.SupportsRescaledRecovery()
}

// dealSinkStates gives new subtask i of v the states that the sinks
// marked in spread held in the old subtasks j with j mod n = i, in place
// of what rescaledOperators dealt them, creating ops if it is nil.
func dealSinkStates(v *Vertex, ops []OperatorState, old []*SubtaskState, spread []bool, i int) []OperatorState {
	for k, s := range spread {
		if !s {
			continue
		}
		var states [][]byte
		for j := i; j < len(old); j += v.Parallelism {
			if st := old[j]; len(st.Operators) > 0 && len(st.Operators[k].State) > 0 {
				states = append(states, st.Operators[k].State)
			}
		}
		if ops != nil {
			ops[k].Rescaled = states
			continue
		}
		if len(states) == 0 {
			continue
		}
		ops = make([]OperatorState, len(v.Operators))
		for m := range ops {
			ops[m].Kind = v.Operators[m].Kind
		}
		ops[k].Rescaled = states
	}
	return ops
}

// finishedReaders lets a source vertex whose old subtasks had partly
// finished rescale, as Flink does: a finished reader's splits are done
// and are not reassigned. It replaces the state of each finished old
// subtask in old (by subtask index, old of them) with its reader's
// snapshot that owes nothing (connector.FinishedReaderSnapshotter), which
// every new reader restores with the running readers' snapshots, so that
// none reads the finished reader's splits again (the finished subtask
// left no snapshot, and a Kafka reader without one would read its
// partitions from the startup mode). It returns why it cannot, or "": the
// vertex is not a source vertex (a finished keyed subtask's key groups
// are not done), its source cannot tell its readers, or a finished
// subtask holds final sink transactions, which are committed only by a
// subtask restored as finished.
func finishedReaders(v *Vertex, old []*SubtaskState, n int) string {
	spec := &v.Operators[0]
	if spec.Kind != KindSource {
		return "only a source's finished readers owe nothing"
	}
	for _, st := range old {
		if !st.Finished {
			continue
		}
		for k, os := range st.Operators {
			if len(os.State) > 0 {
				return fmt.Sprintf("subtask %d finished with the final transactions of %s, which only a subtask restored as finished commits", st.Subtask, operatorName(&v.Operators[k]))
			}
		}
	}
	var scan connector.ScanSpec
	if err := json.Unmarshal(spec.Spec, &scan); err != nil {
		return fmt.Sprintf("its spec is invalid: %v", err)
	}
	id := scan.Table.Options["connector"]
	f, _ := connector.Source(id)
	if r, ok := f.(connector.SupportsRescaling); !ok || !r.SupportsRescaling() {
		// As rescalePolicy says for a vertex whose subtasks all run.
		return fmt.Sprintf("its %s reader's position is not kept per split", id)
	}
	fr, ok := f.(connector.FinishedReaderSnapshotter)
	if !ok {
		return fmt.Sprintf("its %s source cannot tell the readers it restores that a finished reader's splits are done (connector.FinishedReaderSnapshotter)", id)
	}
	for i, st := range old {
		if !st.Finished {
			continue
		}
		state, err := fr.FinishedReaderSnapshot(scan, st.Subtask, n)
		if err != nil {
			return fmt.Sprintf("its %s source has no snapshot for finished subtask %d: %v", id, st.Subtask, err)
		}
		ops := make([]OperatorState, len(v.Operators))
		for k := range ops {
			ops[k].Kind = v.Operators[k].Kind
		}
		ops[0].State = state
		old[i] = &SubtaskState{Vertex: st.Vertex, Subtask: st.Subtask, Operators: ops}
	}
	return ""
}

// checkRescaledSource asks the factory of source spec, operator k of its
// chain, whether it can redistribute the old subtasks' snapshots
// (connector.RescaledStateChecker); the reason it cannot, or "".
func checkRescaledSource(spec *OperatorSpec, old []*SubtaskState, k int) string {
	var scan connector.ScanSpec
	if err := json.Unmarshal(spec.Spec, &scan); err != nil {
		return fmt.Sprintf("its spec is invalid: %v", err)
	}
	f, _ := connector.Source(scan.Table.Options["connector"])
	c, ok := f.(connector.RescaledStateChecker)
	if !ok {
		return ""
	}
	for _, st := range old {
		if len(st.Operators) > 0 && len(st.Operators[k].State) > 0 {
			if err := c.CheckRescaledState(st.Operators[k].State); err != nil {
				return err.Error()
			}
		}
	}
	return ""
}

// rescaledOperators gathers, per operator k of v's chain, the non-empty
// states of the old subtasks it restores from into
// OperatorState.Rescaled: those of every old subtask when all[k] is set,
// else those of from. It is nil when none has state.
func rescaledOperators(v *Vertex, from, every []*SubtaskState, all []bool) []OperatorState {
	ops := make([]OperatorState, len(v.Operators))
	held := false
	for k := range ops {
		ops[k].Kind = v.Operators[k].Kind
		src := from
		if k < len(all) && all[k] {
			src = every
		}
		for _, st := range src {
			if len(st.Operators) > 0 && len(st.Operators[k].State) > 0 {
				ops[k].Rescaled = append(ops[k].Rescaled, st.Operators[k].State)
				held = true
			}
		}
	}
	if !held {
		return nil
	}
	return ops
}

// operatorName names an operator in errors: its kind and, if it has one,
// its name.
func operatorName(spec *OperatorSpec) string {
	if spec.Name == "" {
		return spec.Kind
	}
	return fmt.Sprintf("%s %q", spec.Kind, spec.Name)
}

// maxParallelism is the pipeline.max-parallelism the savepoint was taken
// with: recorded since rescaling was added, else that of its graph.
func (sp *Savepoint) maxParallelism() int {
	if sp.MaxParallelism > 0 {
		return sp.MaxParallelism
	}
	if sp.Graph != nil {
		if n, err := MaxParallelismFrom(sp.Graph.Config); err == nil {
			return n
		}
	}
	return KeyGroups
}

// parallelism is the parallelism vertex id ran with when the savepoint was
// taken: that of the savepoint's graph, else the number of its subtasks.
func (sp *Savepoint) parallelism(id, subtasks int) int {
	if sp.Graph != nil {
		for _, v := range sp.Graph.Vertices {
			if v.ID == id {
				return v.Parallelism
			}
		}
	}
	return subtasks
}
