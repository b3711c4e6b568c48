package exec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func sampleSavepoint() *Savepoint {
	return &Savepoint{Version: SavepointVersion, MaxParallelism: KeyGroups, Graph: &JobGraph{Name: "job"},
		Subtasks: []SubtaskState{
			{Vertex: 1, Subtask: 0, Operators: []OperatorState{{Kind: KindSource, State: []byte("pos=7")}, {Kind: KindCalc}}},
			{Vertex: 2, Subtask: 0, Operators: []OperatorState{{Kind: KindJoin, State: []byte{0, 1, 2, 255}}}},
			{Vertex: 2, Subtask: 1, Finished: true},
		}}
}

// TestStateDirRoundTrip: a checkpoint directory keeps the states' bytes
// raw in _state, out of the JSON, and reads back equal.
func TestStateDirRoundTrip(t *testing.T) {
	dir := t.TempDir()
	sp := sampleSavepoint()
	path, err := writeCheckpoint(dir, "job1", 3, sp)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "job1", "chk-3", CheckpointMetadataFile), path)

	meta, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NotContains(t, string(meta), `"state"`, "states belong in _state, not in the JSON")
	data, err := os.ReadFile(filepath.Join(filepath.Dir(path), stateDataFile))
	require.NoError(t, err)
	require.Equal(t, append([]byte("pos=7"), 0, 1, 2, 255), data)

	got, err := ReadSavepointFile(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, sp, got)
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary file is left behind")
}

// TestStateDirReadsInlineStates: a savepoint file with its states inline in
// the JSON (EncodeSavepoint's plain form) still reads.
func TestStateDirReadsInlineStates(t *testing.T) {
	sp := sampleSavepoint()
	data, err := EncodeSavepoint(sp)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), CheckpointMetadataFile)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	got, err := ReadSavepointFile(path)
	require.NoError(t, err)
	require.Equal(t, sp, got)
}

// TestStateDirCorrupt: a reference past the end of _state, or a missing
// _state, is an error naming the problem, not a panic.
func TestStateDirCorrupt(t *testing.T) {
	dir := t.TempDir()
	path, err := writeCheckpoint(dir, "job1", 1, sampleSavepoint())
	require.NoError(t, err)
	state := filepath.Join(filepath.Dir(path), stateDataFile)
	require.NoError(t, os.WriteFile(state, []byte("pos"), 0o644))
	_, err = ReadSavepointFile(path)
	require.ErrorContains(t, err, "lies outside its 3-byte _state file")
	require.NoError(t, os.Remove(state))
	_, err = ReadSavepointFile(path)
	require.ErrorContains(t, err, "reading savepoint state")
}

// TestSectionInPlace: sections written in place carry a padded length that
// readSections reads as any other, at payload sizes across varint widths.
func TestSectionInPlace(t *testing.T) {
	var w wbuf
	sizes := []int{0, 1, 127, 128, 16383, 16384, 1 << 21}
	for i, n := range sizes {
		start := beginSection(&w, i)
		w.b = append(w.b, make([]byte, n)...)
		endSection(&w, start)
	}
	var got []int
	require.NoError(t, readSections(w.b, func(tag int, r *rbuf) error {
		require.Equal(t, len(got), tag)
		got = append(got, len(r.b))
		return nil
	}))
	require.Equal(t, sizes, got)
}
