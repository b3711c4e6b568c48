package exec

import (
	"errors"
	"fmt"
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

// finishingFactory is test-checked whose finished readers' snapshot is
// "done" (connector.FinishedReaderSnapshotter).
type finishingFactory struct{ checkedFactory }

func (finishingFactory) Identifier() string { return "test-finishing" }
func (finishingFactory) FinishedReaderSnapshot(_ connector.ScanSpec, subtask, parallelism int) ([]byte, error) {
	return fmt.Appendf(nil, "done %d/%d", subtask, parallelism), nil
}

func init() { connector.Register(finishingFactory{}) }

// TestRescalePartlyFinishedSource: a source vertex of which only some
// subtasks had finished rescales when its connector implements
// connector.FinishedReaderSnapshotter, every new reader restoring, in the
// place of a finished reader's snapshot, the one that owes nothing; a
// source without it, a finished subtask with final sink transactions and
// a vertex that is not a source vertex are refused with the reason.
func TestRescalePartlyFinishedSource(t *testing.T) {
	graph := func(id string, par int, sink bool) *JobGraph {
		src := sourceOp(t, map[string]string{})
		src.Spec = mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "s", Schema: seqSchema, Options: map[string]string{"connector": id}}})
		ops := []OperatorSpec{src, calcOp(t, nil)}
		if sink {
			ops = append(ops, OperatorSpec{Kind: KindSink, Name: "Sink"})
		}
		return &JobGraph{Name: "partly", Vertices: []Vertex{{ID: 1, Name: "Source", Parallelism: par, Operators: ops}}}
	}
	// Subtask 1 of 3 had finished, with no state (or a sink's final one).
	savepoint := func(g *JobGraph, final bool) *Savepoint {
		sp := &Savepoint{Version: SavepointVersion, Graph: g}
		n := len(g.Vertices[0].Operators)
		for i := range 3 {
			st := SubtaskState{Vertex: 1, Subtask: i, Operators: make([]OperatorState, n)}
			for k, op := range g.Vertices[0].Operators {
				st.Operators[k].Kind = op.Kind
			}
			st.Operators[0].State = fmt.Appendf(nil, "pos %d", i)
			if i == 1 {
				st.Finished, st.Operators = true, nil
				if final {
					st.Operators = make([]OperatorState, n)
					for k, op := range g.Vertices[0].Operators {
						st.Operators[k].Kind = op.Kind
					}
					st.Operators[n-1].State = []byte("txn")
				}
			}
			sp.Subtasks = append(sp.Subtasks, st)
		}
		return sp
	}
	g := graph("test-finishing", 3, false)
	for _, par := range []int{1, 2, 4} {
		states, err := restoreStates(savepoint(g, false), graph("test-finishing", par, false))
		require.NoError(t, err)
		for i := range par {
			st := states[subtaskKey{1, i}]
			require.False(t, st.Finished)
			require.Equal(t, [][]byte{[]byte("pos 0"), []byte("done 1/3"), []byte("pos 2")}, st.Operators[0].Rescaled, "subtask %d of %d", i, par)
		}
	}
	// At the same parallelism the finished subtask stays finished.
	states, err := restoreStates(savepoint(g, false), g)
	require.NoError(t, err)
	require.True(t, states[subtaskKey{1, 1}].Finished)

	_, err = restoreStates(savepoint(graph("test-checked", 3, false), false), graph("test-checked", 2, false))
	require.ErrorIs(t, err, ErrSavepointIncompatible)
	require.ErrorContains(t, err, `vertex 1 "Source" cannot restore at parallelism 2 from a savepoint taken at 3: 1 of its subtasks had finished and its test-checked source cannot tell the readers it restores that a finished reader's splits are done (connector.FinishedReaderSnapshotter)`)

	gs := graph("test-finishing", 3, true)
	_, err = restoreStates(savepoint(gs, true), graph("test-finishing", 2, true))
	require.ErrorIs(t, err, ErrSavepointIncompatible)
	require.ErrorContains(t, err, `1 of its subtasks had finished and subtask 1 finished with the final transactions of sink "Sink", which only a subtask restored as finished commits`)

	// A vertex of a stateless calc alone.
	calcOnly := func(par int) *JobGraph {
		g := graph("test-finishing", par, false)
		g.Vertices[0].Operators = g.Vertices[0].Operators[1:]
		return g
	}
	sp := savepoint(calcOnly(3), false)
	for i := range sp.Subtasks {
		if sp.Subtasks[i].Operators != nil {
			sp.Subtasks[i].Operators[0].State = nil
		}
	}
	_, err = restoreStates(sp, calcOnly(2))
	require.ErrorContains(t, err, "1 of its subtasks had finished and only a source's finished readers owe nothing")
}

// recoveringFactory is test-2pc whose writers recover other subtasks'
// states (connector.SupportsRescaledRecovery).
type recoveringFactory struct{ twoPCFactory }

func (recoveringFactory) Identifier() string             { return "test-2pc-recovering" }
func (recoveringFactory) SupportsRescaledRecovery() bool { return true }

func init() { connector.Register(recoveringFactory{}) }

// TestRescaleRecoveringSink: a sink whose connector implements
// connector.SupportsRescaledRecovery restores at another parallelism, new
// subtask i getting the states of old subtasks j with j mod n = i, chained
// after a rescalable source whose snapshots go to every new subtask; a
// two-phase-commit sink without it is refused.
func TestRescaleRecoveringSink(t *testing.T) {
	graph := func(sinkID string, par int) *JobGraph {
		src := sourceOp(t, map[string]string{})
		src.Spec = mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "s", Schema: seqSchema, Options: map[string]string{"connector": "test-checked"}}})
		snk := OperatorSpec{Kind: KindSink, Name: "Sink", Spec: mustJSON(t, SinkSpec{SinkSpec: connector.SinkSpec{
			Table: connector.TableInfo{Name: "t", Schema: seqSchema, Options: map[string]string{"connector": sinkID}}}})}
		return &JobGraph{Name: "sink", Vertices: []Vertex{{ID: 1, Name: "Source", Parallelism: par, Operators: []OperatorSpec{src, snk}}}}
	}
	savepoint := func(g *JobGraph) *Savepoint {
		sp := &Savepoint{Version: SavepointVersion, Graph: g}
		for i := range 3 {
			sp.Subtasks = append(sp.Subtasks, SubtaskState{Vertex: 1, Subtask: i, Operators: []OperatorState{
				{Kind: KindSource, State: []byte("new")}, {Kind: KindSink, State: fmt.Appendf(nil, "txn %d", i)}}})
		}
		return sp
	}
	for par, want := range map[int][][]string{
		1: {{"txn 0", "txn 1", "txn 2"}},
		2: {{"txn 0", "txn 2"}, {"txn 1"}},
		4: {{"txn 0"}, {"txn 1"}, {"txn 2"}, nil},
	} {
		states, err := restoreStates(savepoint(graph("test-2pc-recovering", 3)), graph("test-2pc-recovering", par))
		require.NoError(t, err)
		for i, w := range want {
			var got []string
			for _, s := range states[subtaskKey{1, i}].Operators[1].Rescaled {
				got = append(got, string(s))
			}
			require.Equal(t, w, got, "subtask %d of %d", i, par)
			require.Len(t, states[subtaskKey{1, i}].Operators[0].Rescaled, 3)
		}
	}
	_, err := restoreStates(savepoint(graph("test-2pc", 3)), graph("test-2pc", 2))
	require.ErrorContains(t, err, "its pending transactions belong to its subtask (connector.SupportsRescaledRecovery)")
}
