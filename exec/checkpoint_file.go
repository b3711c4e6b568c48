package exec

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// A checkpoint's or savepoint's directory holds two files: _metadata, the
// savepoint in EncodeSavepoint's JSON with each operator's state replaced
// by a StateRef, and _state, the states' bytes one after another. Raw
// bytes beside small JSON, rather than base64 inside it, keep writing the
// checkpoint of a large state from building a second, larger copy of it in
// memory and from a pass of base64 encoding over every byte; the state is
// streamed to disk instead.
const stateDataFile = "_state"

// StateRef locates an operator's state in the _state file of its
// savepoint's directory.
type StateRef struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// writeStateDir writes sp into dir as _state and then _metadata, each
// through a temporary file that is synced and renamed into place, so a
// reader that finds _metadata finds the complete savepoint; it returns the
// path of _metadata.
func writeStateDir(dir string, sp *Savepoint) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	meta := *sp
	meta.Subtasks = make([]SubtaskState, len(sp.Subtasks))
	err := writeFileSynced(filepath.Join(dir, stateDataFile), func(w *bufio.Writer) error {
		var off int64
		for i, st := range sp.Subtasks {
			meta.Subtasks[i] = st
			meta.Subtasks[i].Operators = make([]OperatorState, len(st.Operators))
			for k, op := range st.Operators {
				op.StateRef = nil
				if len(op.State) > 0 {
					if _, err := w.Write(op.State); err != nil {
						return err
					}
					op.StateRef = &StateRef{Offset: off, Length: int64(len(op.State))}
					off += int64(len(op.State))
					op.State = nil
				}
				meta.Subtasks[i].Operators[k] = op
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	data, err := EncodeSavepoint(&meta)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, CheckpointMetadataFile)
	if err := writeFileSynced(path, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return "", err
	}
	return path, nil
}

// writeFileSynced writes path through path.inprogress, synced before it is
// renamed: a checkpoint the sinks commit on must survive a crash.
func writeFileSynced(path string, write func(w *bufio.Writer) error) error {
	tmp := path + ".inprogress"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// resolveStateRefs fills the states of sp, read from the _metadata file at
// path, from the _state file beside it. A savepoint whose states are
// inline (EncodeSavepoint's plain JSON) has no references and reads
// nothing more.
func resolveStateRefs(sp *Savepoint, path string) error {
	var data []byte
	for i := range sp.Subtasks {
		for k := range sp.Subtasks[i].Operators {
			op := &sp.Subtasks[i].Operators[k]
			if op.StateRef == nil {
				continue
			}
			if data == nil {
				var err error
				if data, err = os.ReadFile(filepath.Join(filepath.Dir(path), stateDataFile)); err != nil {
					return fmt.Errorf("exec: reading savepoint state: %w", err)
				}
			}
			r := *op.StateRef
			if r.Offset < 0 || r.Length < 0 || r.Offset+r.Length > int64(len(data)) {
				return fmt.Errorf("exec: savepoint state of operator %d of vertex %d subtask %d lies outside its %d-byte %s file",
					k, sp.Subtasks[i].Vertex, sp.Subtasks[i].Subtask, len(data), stateDataFile)
			}
			op.State = data[r.Offset : r.Offset+r.Length : r.Offset+r.Length]
			op.StateRef = nil
		}
	}
	return nil
}
