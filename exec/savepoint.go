package exec

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
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
// State is matched by (vertex id, subtask index, chain position), so a job
// restores only into a graph with the same vertex ids, parallelism and
// operator kinds per vertex. Redistributing keyed state when the
// parallelism changes (rescaling by key group) is not supported yet.
type Savepoint struct {
	Version  int            `json:"version"`
	Graph    *JobGraph      `json:"graph"`
	Subtasks []SubtaskState `json:"subtasks"`
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

// restoreStates checks that sp fits g and returns the state of every
// subtask it names.
func restoreStates(sp *Savepoint, g *JobGraph) (map[subtaskKey]*SubtaskState, error) {
	if sp.Version != SavepointVersion {
		return nil, fmt.Errorf("%w: savepoint version %d, this runtime reads version %d", ErrSavepointIncompatible, sp.Version, SavepointVersion)
	}
	vertices := map[int]*Vertex{}
	for i := range g.Vertices {
		vertices[g.Vertices[i].ID] = &g.Vertices[i]
	}
	out := map[subtaskKey]*SubtaskState{}
	for i := range sp.Subtasks {
		st := &sp.Subtasks[i]
		v := vertices[st.Vertex]
		if v == nil {
			return nil, fmt.Errorf("%w: the savepoint has state for vertex %d, which the job does not have", ErrSavepointIncompatible, st.Vertex)
		}
		if st.Subtask < 0 || st.Subtask >= v.Parallelism {
			return nil, fmt.Errorf("%w: the savepoint has state for subtask %d of vertex %d %q, which runs with parallelism %d (changing the parallelism of a restored job is not supported yet)",
				ErrSavepointIncompatible, st.Subtask, v.ID, v.Name, v.Parallelism)
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
		out[subtaskKey{st.Vertex, st.Subtask}] = st
	}
	// Subtasks of a vertex must all be in the savepoint or none of them: a
	// partial set means a different parallelism.
	count := map[int]int{}
	for k := range out {
		count[k.vertex]++
	}
	for id, n := range count {
		if v := vertices[id]; n != v.Parallelism {
			return nil, fmt.Errorf("%w: the savepoint has %d subtasks of vertex %d %q, which runs with parallelism %d (changing the parallelism of a restored job is not supported yet)",
				ErrSavepointIncompatible, n, id, v.Name, v.Parallelism)
		}
	}
	return out, nil
}
