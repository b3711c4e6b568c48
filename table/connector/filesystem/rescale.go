package filesystem

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/eddysql/eddy/exec/connector"
)

// SupportsRescaling implements connector.SupportsRescaling. A reader's
// snapshot is its splits, the files it has still to read with the rows it
// read of each, so a source restored at another parallelism hands the
// files all the old readers had left to the new ones, as Flink's
// FileSource reassigns its file splits: every row is read once.
func (Factory) SupportsRescaling() bool { return true }

// CheckRescaledState implements connector.RescaledStateChecker: a
// version 1 snapshot holds the index of the reader's current file in its
// own share of the listing, which means nothing at another parallelism.
func (Factory) CheckRescaledState(state []byte) error {
	if decodeV2(state) == nil {
		return errors.New("its filesystem snapshot predates rescalable filesystem sources (version 1) and restores only at the parallelism it was taken with")
	}
	return nil
}

var _ connector.FinishedReaderSnapshotter = Factory{}

// FinishedReaderSnapshot implements connector.FinishedReaderSnapshotter:
// a reader that finished read all its files, so its snapshot has no
// splits left.
func (Factory) FinishedReaderSnapshot(_ connector.ScanSpec, subtask, parallelism int) ([]byte, error) {
	return json.Marshal(snapshot{Version: snapshotV2, Subtask: subtask, Parallelism: parallelism, Splits: []split{}})
}

// snapshot is a decoded Snapshot. Version 2 is JSON: the reader's subtask
// and parallelism and its splits, each a file (relative to the table's
// path) and the rows read of it. Version 1, two uvarints, held the index
// of the current file in the reader's share of the listing and the rows
// read of it.
type snapshot struct {
	Version     int     `json:"version"`
	Subtask     int     `json:"subtask"`
	Parallelism int     `json:"parallelism"`
	Splits      []split `json:"splits"`
	// version 1
	file int
	rows int64
}

// split is a file still to read, or to finish. Rows counts the lines
// read in a changelog format, whose events make any number of rows.
type split struct {
	Path string `json:"path"`
	Rows int64  `json:"rows,omitempty"`
}

const snapshotV2 = 2

// decodeV2 is state as a version 2 snapshot, or nil. No version 1
// snapshot is a JSON object with a version: it is two uvarints, ASCII only
// when each is one byte, and the only two-byte JSON object is {}.
func decodeV2(state []byte) *snapshot {
	var s snapshot
	if json.Unmarshal(state, &s) != nil || s.Version != snapshotV2 {
		return nil
	}
	return &s
}

// Snapshot encodes the reader's splits from the current file on.
func (r *reader) Snapshot() ([]byte, error) {
	if err := r.resolve(); err != nil {
		return nil, err
	}
	s := snapshot{Version: snapshotV2, Subtask: r.sub, Parallelism: r.par, Splits: []split{}}
	for i := r.file; i < len(r.files); i++ {
		rel, err := filepath.Rel(r.cfg.path, r.files[i])
		if err != nil {
			return nil, fmt.Errorf("filesystem: %w", err)
		}
		sp := split{Path: filepath.ToSlash(rel), Rows: r.skip[i]}
		if i == r.file && r.f != nil {
			sp.Rows = r.rows
		}
		s.Splits = append(s.Splits, sp)
	}
	return json.Marshal(s)
}

// Restore continues from the Snapshot of a reader of the same scan: its
// own at the same parallelism, or, at another parallelism, those of every
// old reader, one call each (connector.SupportsRescaling). The snapshots
// are applied by the next Next or Snapshot, once all are there.
func (r *reader) Restore(state []byte) error {
	s := decodeV2(state)
	if s == nil {
		file, k := binary.Uvarint(state)
		if k <= 0 {
			return errors.New("filesystem: corrupt snapshot")
		}
		rows, k2 := binary.Uvarint(state[k:])
		if k2 <= 0 || k+k2 != len(state) || rows > 1<<63-1 {
			return errors.New("filesystem: corrupt snapshot")
		}
		s = &snapshot{Version: 1, file: int(min(file, 1<<31)), rows: int64(rows)}
	} else if s.Parallelism <= 0 || s.Subtask < 0 || s.Subtask >= s.Parallelism {
		return errors.New("filesystem: corrupt snapshot")
	}
	for _, sp := range s.Splits {
		if sp.Rows < 0 || sp.Path == "" {
			return errors.New("filesystem: corrupt snapshot")
		}
	}
	r.pending = append(r.pending, s)
	r.err = nil
	return nil
}

// resolve applies the snapshots Restore was given: a reader's own
// snapshot at the same parallelism, or those of all the old readers at
// another.
func (r *reader) resolve() error {
	if r.err != nil || len(r.pending) == 0 {
		return r.err
	}
	snaps := r.pending
	r.pending = nil
	r.closeFile()
	r.skipped = 0
	if len(snaps) == 1 && (snaps[0].Version == 1 || snaps[0].Parallelism == r.par) {
		r.err = r.restoreOwn(snaps[0])
	} else {
		r.err = r.rescale(snaps)
	}
	return r.err
}

// restoreOwn continues where the reader that took s stopped.
func (r *reader) restoreOwn(s *snapshot) error {
	if s.Version == 1 {
		// The files of this subtask's share of the listing from the
		// current one on.
		if s.file > len(r.files) || s.file == len(r.files) && s.rows > 0 {
			return errors.New("filesystem: corrupt snapshot")
		}
		r.file = s.file
		if s.file < len(r.files) {
			r.skip[s.file] = s.rows
		}
		return nil
	}
	if s.Subtask != r.sub {
		return fmt.Errorf("filesystem: subtask %d restored from the snapshot of subtask %d", r.sub, s.Subtask)
	}
	r.setSplits(s.Splits)
	return nil
}

// rescale takes this reader's share of the splits the old readers, one
// snapshot each, had left: laid end to end in old subtask order, split k
// goes to new reader k mod the new parallelism, as Flink's FileSource
// hands a restored enumerator's splits out again.
func (r *reader) rescale(snaps []*snapshot) error {
	p := snaps[0].Parallelism
	for _, s := range snaps {
		if s.Version == 1 {
			return errors.New("filesystem: a version 1 snapshot restores only at the parallelism it was taken with")
		}
		if s.Parallelism != p {
			return fmt.Errorf("filesystem: restored from snapshots of readers at parallelism %d and %d", p, s.Parallelism)
		}
	}
	old := slices.Clone(snaps)
	slices.SortFunc(old, func(a, b *snapshot) int { return a.Subtask - b.Subtask })
	for i, s := range old {
		if s.Subtask != i || len(old) != p {
			return fmt.Errorf("filesystem: restoring at parallelism %d needs the snapshots of all %d old readers, one each; got %d", r.par, p, len(old))
		}
	}
	var mine []split
	k := 0
	for _, s := range old {
		for _, sp := range s.Splits {
			if k%r.par == r.sub {
				mine = append(mine, sp)
			}
			k++
		}
	}
	r.setSplits(mine)
	return nil
}

// setSplits makes splits the files the reader reads.
func (r *reader) setSplits(splits []split) {
	r.files, r.skip, r.file = nil, nil, 0
	for _, sp := range splits {
		r.files = append(r.files, filepath.Join(r.cfg.path, filepath.FromSlash(sp.Path)))
		r.skip = append(r.skip, sp.Rows)
	}
}
