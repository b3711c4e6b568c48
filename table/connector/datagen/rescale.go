package datagen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/internal/positions"
)

// SupportsRescaling implements connector.SupportsRescaling. A reader's
// snapshot is the positions it still owes (see reader), so a source
// restored at another parallelism hands the positions all the old readers
// owed to the new ones, as Flink's datagen source redistributes the
// values its SequenceGenerator still had to emit: no sequence value and no
// row of number-of-rows is lost or emitted twice.
func (Factory) SupportsRescaling() bool { return true }

// CheckRescaledState implements connector.RescaledStateChecker: a
// version 1 snapshot does not say which subtask of which parallelism took
// it, so it restores only at the parallelism it was taken with.
func (Factory) CheckRescaledState(state []byte) error {
	if len(state) > 0 && state[0] == snapshotV1 {
		return errors.New("its datagen snapshot predates rescalable datagen sources (version 1) and restores only at the parallelism it was taken with")
	}
	return nil
}

var _ connector.FinishedReaderSnapshotter = Factory{}

// FinishedReaderSnapshot implements connector.FinishedReaderSnapshotter:
// a reader of a bounded source that finished owes no position, which its
// snapshot says with no spans (and the state of its random streams, which
// a rescaled restore reseeds).
func (Factory) FinishedReaderSnapshot(spec connector.ScanSpec, subtask, parallelism int) ([]byte, error) {
	rd, err := Factory{}.CreateReader(spec, connector.ReaderContext{Subtask: subtask, Parallelism: parallelism})
	if err != nil {
		return nil, err
	}
	r := rd.(*reader)
	defer r.Close()
	if r.rows < 0 {
		return nil, errors.New("datagen: a reader of an unbounded source cannot have finished")
	}
	r.spans = nil
	return r.Snapshot()
}

// Snapshot versions. Version 1 held the rows the reader had emitted and
// the state of each random stream; version 2 holds the reader's subtask
// and parallelism, the positions it owes and the state of each random
// stream.
const (
	snapshotV1 = 1
	snapshotV2 = 2
)

// snapshot is a decoded Snapshot.
type snapshot struct {
	version   int
	sub, par  int64 // version 2
	emitted   int64 // version 1: rows emitted
	unbounded bool
	spans     []positions.Span
	tailBase  int64
	tailPos   int64
	gens      [][]byte
}

// Snapshot encodes, as version 2, the subtask and parallelism, whether the
// source is unbounded, the tail (tailBase, tailPos) of an unbounded one,
// the spans and the state of every random stream.
func (r *reader) Snapshot() ([]byte, error) {
	if err := r.resolve(); err != nil {
		return nil, err
	}
	b := []byte{snapshotV2}
	b = binary.AppendUvarint(b, uint64(r.sub))
	b = binary.AppendUvarint(b, uint64(r.par))
	if r.rows < 0 {
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(r.tailBase))
		b = binary.AppendUvarint(b, uint64(r.tailPos))
	} else {
		b = append(b, 0)
	}
	b = positions.AppendSpans(b, r.spans)
	for _, g := range r.gens {
		st, err := state(g)
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(st)))
		b = append(b, st...)
	}
	return b, nil
}

// Restore continues from the Snapshot of a reader of the same scan: its
// own at the same parallelism, or, at another parallelism, those of every
// old reader, one call each (connector.SupportsRescaling). The snapshots
// are applied by the next Next or Snapshot, once all are there.
func (r *reader) Restore(state []byte) error {
	s, err := r.decode(state)
	if err != nil {
		return err
	}
	r.pending = append(r.pending, s)
	r.err = nil
	return nil
}

// decode parses and checks a snapshot against the reader's scan.
func (r *reader) decode(state []byte) (*snapshot, error) {
	corrupt := errors.New("datagen: corrupt snapshot")
	if len(state) == 0 || state[0] != snapshotV1 && state[0] != snapshotV2 {
		return nil, errors.New("datagen: unknown snapshot version")
	}
	s := &snapshot{version: int(state[0])}
	b := state[1:]
	next := func() (int64, bool) {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > 1<<63-1 {
			return 0, false
		}
		b = b[k:]
		return int64(v), true
	}
	ok := true
	if s.version == snapshotV1 {
		s.emitted, ok = next()
		s.unbounded = r.rows < 0
	} else {
		var o1, o2 bool
		s.sub, o1 = next()
		s.par, o2 = next()
		if !o1 || !o2 || s.par == 0 || s.sub >= s.par || len(b) == 0 || b[0] > 1 {
			return nil, corrupt
		}
		s.unbounded = b[0] == 1
		b = b[1:]
		if s.unbounded {
			s.tailBase, o1 = next()
			s.tailPos, o2 = next()
			ok = o1 && o2
		}
		if !ok {
			return nil, corrupt
		}
		var err error
		if s.spans, b, err = positions.ReadSpans(b); err != nil {
			return nil, corrupt
		}
		for _, sp := range s.spans {
			// Positions lie below the rows of a bounded source.
			if !s.unbounded && sp.Last() >= r.rows {
				return nil, corrupt
			}
		}
	}
	if !ok {
		return nil, corrupt
	}
	if s.unbounded != (r.rows < 0) {
		return nil, errors.New("datagen: snapshot of a bounded source restored into an unbounded one, or the reverse")
	}
	for range r.gens {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return nil, corrupt
		}
		s.gens = append(s.gens, b[k:k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, errors.New("datagen: snapshot does not match the scan's columns")
	}
	return s, nil
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
	if len(snaps) == 1 && (snaps[0].version == snapshotV1 || snaps[0].par == r.par) {
		r.err = r.restoreOwn(snaps[0])
	} else {
		r.err = r.rescale(snaps)
	}
	return r.err
}

// restoreOwn continues exactly where the reader that took s stopped, its
// random streams included.
func (r *reader) restoreOwn(s *snapshot) error {
	if s.version == snapshotV2 && s.sub != r.sub {
		return fmt.Errorf("datagen: subtask %d restored from the snapshot of subtask %d", r.sub, s.sub)
	}
	for i, g := range r.gens {
		if err := restore(g, s.gens[i]); err != nil {
			return fmt.Errorf("datagen: %w", err)
		}
	}
	if s.version == snapshotV2 {
		r.spans, r.tailBase, r.tailPos = s.spans, s.tailBase, s.tailPos
		return nil
	}
	// Version 1 counted the rows emitted of the subtask's share.
	r.spans, r.tailBase, r.tailPos = nil, 0, 0
	if r.rows < 0 {
		r.tailPos = s.emitted
		return nil
	}
	left := positions.Share(r.rows, r.par, r.sub) - s.emitted
	if left < 0 {
		return errors.New("datagen: corrupt snapshot")
	}
	if left > 0 {
		r.spans = []positions.Span{{First: r.sub + s.emitted*r.par, Step: r.par, Count: left}}
	}
	return nil
}

// rescale takes this reader's share of the positions the old readers, one
// snapshot each, still owed. Their spans, in old subtask order, are laid
// end to end, and new reader i of q takes the i-th of q contiguous
// pieces, the first ones one position longer when they do not divide
// evenly, so that the pieces are disjoint and cover the rest exactly. An
// unbounded source's old reader i of p still owed tailBase + i + k*p for
// k >= its tailPos; with m the largest tailPos, the positions below
// tailBase + m*p it owed become a span of its own (before the pieces are
// cut), and every position from there on is the new tail, which new
// reader i of q owes as tailBase' + i + k*q. The random streams restart
// keyed by the reader's first position (streamSeed): Flink, too, promises
// the row counts and the sequence values after a rescale, not the same
// random values.
func (r *reader) rescale(snaps []*snapshot) error {
	p := snaps[0].par
	for _, s := range snaps {
		if s.version == snapshotV1 {
			return errors.New("datagen: a version 1 snapshot restores only at the parallelism it was taken with")
		}
		if s.par != p {
			return fmt.Errorf("datagen: restored from snapshots of readers at parallelism %d and %d", p, s.par)
		}
	}
	old := slices.Clone(snaps)
	slices.SortFunc(old, func(a, b *snapshot) int { return int(a.sub - b.sub) })
	for i, s := range old {
		if s.sub != int64(i) || int64(len(old)) != p {
			return fmt.Errorf("datagen: restoring at parallelism %d needs the snapshots of all %d old readers, one each; got %d", r.par, p, len(old))
		}
		if s.tailBase != old[0].tailBase {
			return errors.New("datagen: the old readers' snapshots disagree on their tail")
		}
	}
	var m int64
	for _, s := range old {
		m = max(m, s.tailPos)
	}
	var owed []positions.Span
	for i, s := range old {
		owed = append(owed, s.spans...)
		if s.unbounded && s.tailPos < m {
			owed = append(owed, positions.Span{First: s.tailBase + int64(i) + s.tailPos*p, Step: p, Count: m - s.tailPos})
		}
	}
	r.spans = positions.Deal(owed, r.sub, r.par)
	r.tailBase, r.tailPos = old[0].tailBase+m*p, 0
	first := r.tailBase + r.sub
	if len(r.spans) > 0 {
		first = r.spans[0].First
	}
	for i, g := range r.gens {
		reseed(g, r.seed, first, r.cols[i])
	}
	return nil
}
