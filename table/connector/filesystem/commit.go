package filesystem

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/exec/connector"
)

// The part file lifecycle of Flink's FileSink: a part file is in progress
// while written; when it rolls (size, time, the end of the input, and for
// the bulk format parquet every checkpoint barrier) it is closed, durable
// and complete, and pending; it is finished (committed) when renamed from
// its hidden name to its final one. Without checkpointing a rolled file
// is committed at once. With it, the writer is a
// connector.TwoPhaseCommitWriter: a pending file is committed once a
// checkpoint whose barrier came after its roll completed
// (NotifyCheckpointComplete), by a writer restored from such a checkpoint
// (Recover), or, for the files of a finished subtask, by the factory
// (CommitFinished). A row format's in-progress file (csv, json and the
// changelog formats) survives a barrier, as under Flink's
// TableRollingPolicy for them: the barrier persists it (flushed and
// synced, its length in the checkpoint, as Flink's
// RecoverableFsDataOutputStream.persist) and it goes on growing until
// the rolling policy rolls it; a writer restored from the checkpoint
// truncates it back to that length and goes on writing it, or commits it
// when it was another subtask's. A failover thus replays exactly the rows
// after the checkpoint: those of files never committed, whose hidden
// leftovers Recover deletes, and those past a persisted length, which it
// truncates; or, after a restart that restored no checkpoint, the writer
// deletes its hidden files before its first part file (cleanLeftovers).

var (
	_ connector.TwoPhaseCommitWriter = (*writer)(nil)
	_ connector.ProcessingTimeWriter = (*writer)(nil)
	_ connector.FinishedCommitter    = Factory{}
	_ connector.JobCommitter         = Factory{}
	_ connector.WatermarkWriter      = (*writer)(nil)

	_ connector.SupportsRescaledRecovery = Factory{}
)

// notPreCommitted marks a pending file rolled since the last barrier.
const notPreCommitted = -1

// pendingFile is a part file closed and not committed yet.
type pendingFile struct {
	// Checkpoint is the checkpoint whose barrier pre-committed the file:
	// 0 for a savepoint (committed when a job is restored from it),
	// connector.EndOfInput for the final files of a finished subtask.
	Checkpoint int64 `json:"checkpoint"`
	// Path is the file's final name relative to the table's path.
	Path string `json:"path"`
}

// sinkState is a writer's state in a checkpoint (JSON).
type sinkState struct {
	// UUID and Subtask name the writer's part files,
	// part-<uuid>-<subtask>-<n>.<format>: a restored writer goes on with
	// them, so that the hidden files of every attempt since the
	// checkpoint are its own to delete, and no other writer's.
	UUID    string `json:"uuid"`
	Subtask int    `json:"subtask"`
	// Next numbers the writer's next part file.
	Next int `json:"next"`
	// Pending are the part files pre-committed and not known to be
	// committed.
	Pending []pendingFile `json:"pending,omitempty"`
	// Partitions are the partitions written to and not known to be
	// committed, when the sink commits partitions, and Watermark the
	// writer's watermark at the pre-commit (partition_commit.go).
	Partitions []partitionState `json:"partitions,omitempty"`
	Watermark  int64            `json:"watermark"`
	// InProgress are the row format part files open at the pre-commit,
	// persisted up to their lengths.
	InProgress []inProgressFile `json:"inProgress,omitempty"`
}

// inProgressFile is a part file persisted in progress: its first Length
// bytes are durable and hold every row written to it before the barrier.
type inProgressFile struct {
	// Path is the file's final name relative to the table's path; the
	// file is under its hidden name (hiddenName) until committed.
	Path   string `json:"path"`
	Length int64  `json:"length"`
	// Opened is the processing time (ms) the file was created at, from
	// which the rollover interval counts, also in a restored writer.
	Opened int64 `json:"opened"`
}

// hiddenName is the name of part file name while in progress or pending.
func hiddenName(name string) string { return "." + name + ".inprogress" }

// roll closes the part file of directory dir: it becomes pending, or,
// without checkpointing, is committed at once.
func (w *writer) roll(dir string) error {
	p := w.files[dir]
	if p == nil {
		return nil
	}
	delete(w.files, dir)
	if err := w.closeFile(p); err != nil {
		return err
	}
	if !w.checkpointing && !w.overwrite {
		return commitFile(w.cfg.path, p.rel)
	}
	w.pending = append(w.pending, pendingFile{Checkpoint: notPreCommitted, Path: p.rel})
	return nil
}

// rollAll rolls every open part file.
func (w *writer) rollAll() error {
	for dir := range w.files {
		if err := w.roll(dir); err != nil {
			return err
		}
	}
	return nil
}

// commitFile renames the pending part file rel (relative to root) to its
// final name. It is idempotent, as Flink's commitAfterRecovery: a file
// already renamed was committed before a failure; one that is neither
// pending nor committed is an error (its rows would be lost).
func commitFile(root, rel string) error {
	final, tmp := filepath.Join(root, rel), hiddenPath(root, rel)
	err := os.Rename(tmp, final)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("filesystem: committing part file: %w", err)
	}
	if _, err := os.Stat(final); err == nil {
		return nil
	}
	return fmt.Errorf("filesystem: committing part file %s: neither it nor its pending file %s exists", final, tmp)
}

// OnProcessingTime implements connector.ProcessingTimeWriter: every
// sink.rolling-policy.check-interval it rolls the part files open for the
// rollover interval or not written to for the inactivity interval, as
// Flink's DefaultRollingPolicy.shouldRollOnProcessingTime.
func (w *writer) OnProcessingTime(now int64) error {
	if w.closed || w.finished || now-w.lastCheck < w.cfg.check.Milliseconds() {
		return nil
	}
	w.lastCheck = now
	for dir, p := range w.files {
		if now-p.opened >= w.cfg.rollover.Milliseconds() || now-p.written >= w.cfg.inactivity.Milliseconds() {
			if err := w.roll(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// PreCommit implements connector.TwoPhaseCommitWriter. At the barrier of
// checkpoint id (0: a savepoint) every row before the barrier must be
// durable: a bulk format's part files (parquet) roll, as under Flink's
// OnCheckpointRollingPolicy, since a file is complete only with its
// footer; a row format's stay open, persisted (persist), unless the
// partition commit would commit their partition at this checkpoint
// (Flink's StreamingFileWriter closes those: a success file must follow
// all its partition's data). The state is the pending files with the
// checkpoint that pre-committed them and the persisted ones in progress.
// Without checkpointing the files roll and are committed already, and
// there is no state. At connector.EndOfInput (after Finish) the state is
// the subtask's final files, nil when there are none.
func (w *writer) PreCommit(id int64) ([]byte, error) {
	if w.closed {
		return nil, errors.New("filesystem: PreCommit after Close")
	}
	keepOpen := w.checkpointing && !w.cfg.bulk() && id != connector.EndOfInput
	if !keepOpen {
		if err := w.rollAll(); err != nil {
			return nil, err
		}
	}
	if !w.checkpointing && !w.overwrite && !w.cfg.commits() {
		return nil, nil
	}
	now := w.now()
	var inProgress []inProgressFile
	if keepOpen {
		var err error
		if inProgress, err = w.persistAll(now); err != nil {
			return nil, err
		}
	}
	for i := range w.pending {
		if w.pending[i].Checkpoint == notPreCommitted {
			w.pending[i].Checkpoint = id
		}
	}
	var parts []partitionState
	if w.cfg.commits() {
		parts = w.partitionsAt(id, now)
	}
	if id == connector.EndOfInput && len(w.pending) == 0 && len(parts) == 0 {
		return nil, nil
	}
	return json.Marshal(sinkState{UUID: w.uuid, Subtask: w.subtask, Next: w.nextPart, Pending: w.pending,
		Partitions: parts, Watermark: w.watermark, InProgress: inProgress})
}

// persistAll persists the open part files at a barrier, after rolling
// those of the partitions whose commit trigger fires at processing time
// now, and lists them by path.
func (w *writer) persistAll(now int64) ([]inProgressFile, error) {
	out := make([]inProgressFile, 0, len(w.files))
	for dir, p := range w.files {
		if t := w.partitions[dir]; t != nil && w.cfg.commits() && w.cfg.ready(dir, t.created, now, w.watermark) {
			if err := w.roll(dir); err != nil {
				return nil, err
			}
			continue
		}
		n, err := p.persist()
		if err != nil {
			return nil, err
		}
		out = append(out, inProgressFile{Path: p.rel, Length: n, Opened: p.opened})
	}
	slices.SortFunc(out, func(a, b inProgressFile) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// persist makes what the part file holds durable without closing it, as
// Flink's RecoverableFsDataOutputStream.persist, and returns its length.
// A row format's encoder writes whole lines, so that length ends a row.
func (p *partFile) persist() (int64, error) {
	err := p.bw.Flush()
	if err == nil {
		err = p.f.Sync()
	}
	var n int64
	if err == nil {
		n, err = p.f.Seek(0, io.SeekCurrent)
	}
	if err != nil {
		return 0, fmt.Errorf("filesystem: persisting part file: %w", err)
	}
	p.persisted = true
	return n, nil
}

// NotifyCheckpointComplete implements connector.CheckpointListener: it
// commits the part files pre-committed at checkpoints up to id. Those of
// a savepoint wait for a job restored from it, those of the end of input
// for CommitFinished.
func (w *writer) NotifyCheckpointComplete(id int64) error {
	keep := w.pending[:0]
	for _, p := range w.pending {
		if p.Checkpoint <= 0 || p.Checkpoint > id {
			keep = append(keep, p)
			continue
		}
		if err := commitFile(w.cfg.path, p.Path); err != nil {
			return err
		}
	}
	w.pending = keep
	if w.cfg.commits() {
		return w.forgetCommitted(id)
	}
	return nil
}

// Recover implements connector.TwoPhaseCommitWriter: it commits the
// pending files of the restored state, deletes the hidden part files its
// subtask's failed attempts left after the checkpoint (in progress or
// pending, of its uuid and subtask only, except the files the state
// persisted in progress), and goes on with the state's uuid, numbering
// new part files after every file of it in the directory (a job restored
// from an older checkpoint must not overwrite the files committed after
// it). Each file the state persisted in progress is truncated to its
// persisted length, dropping the rows written after the checkpoint, and
// written on as the open part file of its directory. Restored at another
// parallelism (connector.SupportsRescaledRecovery), a writer recovers
// each old subtask's state dealt to it so, goes on with the identity of
// the one of its own index, if any, else with its own, and commits the
// truncated in-progress files of the others' states.
func (w *writer) Recover(state []byte) error {
	s, err := decodeSinkState(state)
	if err != nil {
		return err
	}
	if err := commitState(w.cfg.path, s); err != nil {
		return err
	}
	w.adoptPartitions(s)
	keep := make(map[string]bool, len(s.InProgress))
	for _, f := range s.InProgress {
		keep[hiddenPath(w.cfg.path, f.Path)] = true
	}
	next, err := removeLeftovers(w.cfg.path, s.UUID, s.Subtask, keep)
	if err != nil {
		return err
	}
	own := s.Subtask == w.subtask
	if own {
		// Its leftovers are gone: a later cleanLeftovers would delete
		// the files it resumes.
		w.uuid, w.nextPart, w.cleaned = s.UUID, max(s.Next, next), true
	}
	for _, f := range s.InProgress {
		if err := w.recoverInProgress(f, own); err != nil {
			return err
		}
	}
	return nil
}

// recoverInProgress truncates the persisted in-progress file f back to
// its persisted length, as Flink's recoverable writers do, and resumes
// writing it when the writer goes on with its state's identity (own),
// else commits it. A file missing, or shorter than its length, would lose
// rows: an error, unless it was committed already (by an earlier
// recovery from the same state) with exactly that length.
func (w *writer) recoverInProgress(f inProgressFile, own bool) error {
	tmp, final := hiddenPath(w.cfg.path, f.Path), filepath.Join(w.cfg.path, f.Path)
	st, err := os.Stat(tmp)
	if errors.Is(err, fs.ErrNotExist) {
		if fst, ferr := os.Stat(final); ferr == nil && fst.Size() == f.Length {
			return nil
		}
		return fmt.Errorf("filesystem: recovering in-progress part file %s: it is gone or was committed with rows after the checkpoint", tmp)
	}
	if err != nil {
		return fmt.Errorf("filesystem: recovering in-progress part file: %w", err)
	}
	if st.Size() < f.Length {
		return fmt.Errorf("filesystem: recovering in-progress part file %s: %d bytes, the checkpoint persisted %d", tmp, st.Size(), f.Length)
	}
	dir := filepath.Dir(f.Path)
	if dir == "." {
		dir = ""
	}
	if p := w.files[dir]; p != nil && p.tmp == tmp {
		// Resumed by an earlier Recover with this state, nothing written
		// since.
		return nil
	}
	if err := os.Truncate(tmp, f.Length); err != nil {
		return fmt.Errorf("filesystem: recovering in-progress part file: %w", err)
	}
	if !own || w.files[dir] != nil {
		return commitFile(w.cfg.path, f.Path)
	}
	return w.resume(dir, f)
}

// hiddenPath is the path of the part file rel (relative to root) while
// in progress or pending.
func hiddenPath(root, rel string) string {
	final := filepath.Join(root, rel)
	return filepath.Join(filepath.Dir(final), hiddenName(filepath.Base(final)))
}

// cleanLeftovers deletes, before the writer's first part file, the hidden
// part files of its uuid and subtask: those of failed attempts of its job
// that no checkpoint recorded (a restart without a completed checkpoint
// starts the sink afresh; Recover has committed every file one did), as
// this attempt has written none yet. New part files are numbered after
// the committed ones, which a job without checkpointing commits at once.
func (w *writer) cleanLeftovers() error {
	if w.cleaned {
		return nil
	}
	next, err := removeLeftovers(w.cfg.path, w.uuid, w.subtask, nil)
	if err != nil {
		return err
	}
	w.cleaned, w.nextPart = true, max(w.nextPart, next)
	return nil
}

// SupportsRescaledRecovery implements connector.SupportsRescaledRecovery:
// a state's pending files are committed by whichever writer recovers it,
// as are its in-progress files by a writer of another index, and its
// leftovers are named by its own uuid and subtask.
func (Factory) SupportsRescaledRecovery() bool { return true }

func decodeSinkState(b []byte) (sinkState, error) {
	var s sinkState
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("filesystem: bad sink state: %w", err)
	}
	if s.UUID == "" || s.Next < 0 {
		return s, fmt.Errorf("filesystem: bad sink state: part file uuid %q, next part %d", s.UUID, s.Next)
	}
	for _, p := range s.Pending {
		if !filepath.IsLocal(p.Path) {
			return s, fmt.Errorf("filesystem: bad sink state: part file %q outside the table's path", p.Path)
		}
	}
	for _, f := range s.InProgress {
		if !filepath.IsLocal(f.Path) || f.Length < 0 {
			return s, fmt.Errorf("filesystem: bad sink state: in-progress part file %q of length %d", f.Path, f.Length)
		}
	}
	return s, nil
}

// commitState commits the pending files of a state.
func commitState(root string, s sinkState) error {
	for _, p := range s.Pending {
		if err := commitFile(root, p.Path); err != nil {
			return err
		}
	}
	return nil
}

// removeLeftovers deletes the hidden part files of uuid and subtask below
// root, except those at the paths keep holds (the in-progress files a
// restored state persisted), and returns the number after the highest of
// its committed files' numbers (0 if none).
func removeLeftovers(root, uuid string, subtask int, keep map[string]bool) (int, error) {
	prefix := fmt.Sprintf("part-%s-%d-", uuid, subtask)
	next := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		name, hidden := d.Name(), false
		if h, ok := strings.CutPrefix(name, "."); ok {
			if name, ok = strings.CutSuffix(h, ".inprogress"); !ok {
				return nil
			}
			hidden = true
		}
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			return nil
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil {
			return nil
		}
		if hidden {
			if keep[filepath.Clean(p)] {
				return nil
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("filesystem: removing a failed attempt's part file: %w", err)
			}
			return nil
		}
		next = max(next, n+1)
		return nil
	})
	return next, err
}

// CommitFinished implements connector.FinishedCommitter: it commits the
// part files of a finished sink subtask's final state, as Recover commits
// a restored state's (a file committed already is left as it is).
func (Factory) CommitFinished(spec connector.SinkSpec, state []byte) error {
	if spec.Overwrite {
		// CommitJob commits them when the job ends, after clearing what
		// they replace.
		return nil
	}
	c, err := parseConfig(spec.Table)
	if err != nil {
		return err
	}
	s, err := decodeSinkState(state)
	if err != nil {
		return err
	}
	return commitState(c.path, s)
}
