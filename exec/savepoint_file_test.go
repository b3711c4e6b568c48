package exec

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWriteSavepointAndLatestCheckpoint: WriteSavepoint names the
// directory as Flink does, keeps a file:// scheme, reads back whole and
// refuses other file systems; LatestCheckpointPath picks the highest
// completed chk-<n>, skipping one whose _metadata is not written yet.
func TestWriteSavepointAndLatestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	sp := &Savepoint{Version: SavepointVersion, MaxParallelism: KeyGroups, Graph: &JobGraph{Name: "j"},
		Subtasks: []SubtaskState{{Vertex: 1, Operators: []OperatorState{{Kind: KindSource, State: []byte("position")}}}}}
	path, err := WriteSavepoint("file://"+dir, "0123456789abcdef", sp)
	require.NoError(t, err)
	require.Regexp(t, `^file://`+regexp.QuoteMeta(dir)+`/savepoint-012345-[0-9a-f]{12}$`, path)
	got, err := ReadSavepointFile(path[len("file://"):])
	require.NoError(t, err)
	require.Equal(t, []byte("position"), got.Subtasks[0].Operators[0].State)
	_, err = WriteSavepoint("s3://bucket/sp", "0123456789abcdef", sp)
	require.ErrorContains(t, err, "only local paths and file:// URIs are supported")

	require.Empty(t, LatestCheckpointPath(dir, "job"))
	for _, n := range []int64{2, 10} {
		_, err := writeCheckpoint(dir, "job", n, sp)
		require.NoError(t, err)
	}
	// chk-11 is being written: its _metadata is not there yet.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "job", "chk-11"), 0o755))
	require.Equal(t, filepath.Join(dir, "job", "chk-10", CheckpointMetadataFile), LatestCheckpointPath("file://"+dir, "job"))
}
