package exec

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The savepoint directory a stop-with-savepoint writes to when none is
// given: Flink 2.x's key and its older name, which Flink still reads.
const (
	SavepointDirKey  = "execution.checkpointing.savepoint-dir"
	SavepointsDirKey = "state.savepoints.dir"
)

// SavepointDir is the savepoint directory cfg configures
// (SavepointDirKey, else SavepointsDirKey), "" when none is.
func SavepointDir(cfg map[string]string) string {
	if d := cfg[SavepointDirKey]; d != "" {
		return d
	}
	return cfg[SavepointsDirKey]
}

// WriteSavepoint writes sp as <dir>/savepoint-<first 6 characters of
// jobID>-<12 random hex digits>/, Flink's layout, in the files of a
// checkpoint (writeStateDir: _metadata and its _state, each through a
// temporary file synced and renamed into place, so a reader never sees a
// partial savepoint) and returns the savepoint's directory, which
// execution.savepoint.path accepts. dir is a local path or a file:// URI
// (Flink names directories by URI; only the local file system is
// supported), and the returned path keeps its scheme.
func WriteSavepoint(dir, jobID string, sp *Savepoint) (string, error) {
	local, scheme := dir, ""
	if rest, ok := strings.CutPrefix(dir, "file://"); ok {
		local, scheme = rest, "file://"
	} else if strings.Contains(dir, "://") {
		return "", fmt.Errorf("exec: savepoint directory '%s': only local paths and file:// URIs are supported", dir)
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", err
	}
	name := fmt.Sprintf("savepoint-%s-%s", jobID[:min(6, len(jobID))], hex.EncodeToString(suffix[:]))
	target := filepath.Join(local, name)
	if _, err := writeStateDir(target, sp); err != nil {
		return "", fmt.Errorf("exec: writing savepoint: %w", err)
	}
	return scheme + target, nil
}

// LatestCheckpointPath is the _metadata file of the latest completed
// checkpoint of job jobID in checkpoint directory dir (Flink's
// <dir>/<job id>/chk-<n>/_metadata, as CheckpointConfig.Dir receives
// them), "" when there is none. A chk-<n> directory without its file is
// a checkpoint being written, or one whose write failed, and is skipped.
func LatestCheckpointPath(dir, jobID string) string {
	dir = strings.TrimPrefix(dir, "file://")
	entries, err := os.ReadDir(filepath.Join(dir, jobID))
	if err != nil {
		return ""
	}
	latest, path := int64(0), ""
	for _, e := range entries {
		var n int64
		if _, err := fmt.Sscanf(e.Name(), "chk-%d", &n); err != nil || n <= latest || e.Name() != fmt.Sprintf("chk-%d", n) {
			continue
		}
		p := filepath.Join(dir, jobID, e.Name(), CheckpointMetadataFile)
		if _, err := os.Stat(p); err == nil {
			latest, path = n, p
		}
	}
	return path
}
