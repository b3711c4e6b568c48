package exec

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
)

// checkedFactory is a rescalable source whose snapshots "old" predate its
// rescaling (connector.RescaledStateChecker).
type checkedFactory struct{ seqFactory }

func (checkedFactory) Identifier() string      { return "test-checked" }
func (checkedFactory) SupportsRescaling() bool { return true }
func (checkedFactory) CheckRescaledState(state []byte) error {
	if string(state) == "old" {
		return errors.New("its snapshot is too old")
	}
	return nil
}

func init() { connector.Register(checkedFactory{}) }

// TestRescaledStateChecker: a source's connector.RescaledStateChecker
// refuses the old snapshots it cannot redistribute at submission, with the
// operator, the vertex and both parallelisms; the others go to every new
// subtask.
func TestRescaledStateChecker(t *testing.T) {
	src := sourceOp(t, map[string]string{})
	src.Spec = mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "checked", Schema: seqSchema, Options: map[string]string{"connector": "test-checked"}}})
	graph := func(par int) *JobGraph {
		return &JobGraph{Name: "checked", Vertices: []Vertex{{ID: 1, Name: "Source", Parallelism: par, Operators: []OperatorSpec{src}}}}
	}
	savepoint := func(states ...string) *Savepoint {
		sp := &Savepoint{Version: SavepointVersion, Graph: graph(len(states))}
		for i, s := range states {
			sp.Subtasks = append(sp.Subtasks, SubtaskState{Vertex: 1, Subtask: i, Operators: []OperatorState{{Kind: KindSource, State: []byte(s)}}})
		}
		return sp
	}
	_, err := restoreStates(savepoint("new", "old"), graph(3))
	require.ErrorIs(t, err, ErrSavepointIncompatible)
	require.ErrorContains(t, err, `operator source "Scan" of vertex 1 "Source" cannot restore at parallelism 3 from a savepoint taken at 2: its snapshot is too old`)
	// The same parallelism does not redistribute: the old snapshot restores.
	_, err = restoreStates(savepoint("new", "old"), graph(2))
	require.NoError(t, err)
	states, err := restoreStates(savepoint("new", "new"), graph(3))
	require.NoError(t, err)
	for i := range 3 {
		require.Equal(t, [][]byte{[]byte("new"), []byte("new")}, states[subtaskKey{1, i}].Operators[0].Rescaled)
	}
}
