package nexmark

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table/connector/internal/positions"
)

var (
	_ connector.SupportsRescaling         = Factory{}
	_ connector.RescaledStateChecker      = Factory{}
	_ connector.FinishedReaderSnapshotter = Factory{}
)

// SupportsRescaling implements connector.SupportsRescaling. Events are
// numbered and each is a pure function of its number (nexmark-flink's
// generator), so a reader's snapshot is the event numbers it still owes
// (see snapshot); a source restored at another parallelism hands those of
// all the old readers to the new ones, and every event number is emitted
// once over the whole job, before and after the savepoint.
func (Factory) SupportsRescaling() bool { return true }

// CheckRescaledState implements connector.RescaledStateChecker: a
// version 1 snapshot holds only the reader's next event number, not its
// subtask and parallelism, so it restores only at the parallelism it was
// taken with.
func (Factory) CheckRescaledState(state []byte) error {
	if len(state) > 0 && state[0] == snapshotV1 {
		return errors.New("its nexmark snapshot predates rescalable nexmark sources (version 1) and restores only at the parallelism it was taken with")
	}
	return nil
}

// FinishedReaderSnapshot implements connector.FinishedReaderSnapshotter:
// a reader of a bounded source that finished owes no event, which its
// snapshot says with no spans and a tail at least p-1 past the last
// event. Its residue modulo p is not known (a reader restored at another
// parallelism has a tail of another residue), but a tail that far past
// the end makes rescale hand out every event number below the end the
// other readers owe as spans, and no tail event.
func (Factory) FinishedReaderSnapshot(spec connector.ScanSpec, subtask, parallelism int) ([]byte, error) {
	c, err := parseConfig(spec.Table)
	if err != nil {
		return nil, err
	}
	if !c.Bounded() {
		return nil, errors.New("nexmark: a reader of an unbounded source cannot have finished")
	}
	if subtask < 0 || subtask >= parallelism {
		return nil, errs.Internalf("nexmark: subtask %d out of range for parallelism %d", subtask, parallelism)
	}
	p := int64(parallelism)
	return (&snapshot{version: snapshotV2, sub: int64(subtask), par: p, bounded: true, tail: c.EventsNum + p - 1}).encode(), nil
}

// Snapshot versions. Version 1 held the reader's next event number;
// version 2 holds its subtask and parallelism, whether the source is
// bounded, the spans of event numbers it owes before its tail, and the
// first event number of its tail, which steps by the parallelism.
const (
	snapshotV1 = 1
	snapshotV2 = 2
)

// snapshot is a decoded Snapshot.
type snapshot struct {
	version  int
	sub, par int64 // version 2
	bounded  bool
	spans    []positions.Span
	tail     int64 // version 1: the next event number
}

func (s *snapshot) encode() []byte {
	b := []byte{snapshotV2}
	b = binary.AppendUvarint(b, uint64(s.sub))
	b = binary.AppendUvarint(b, uint64(s.par))
	if s.bounded {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = positions.AppendSpans(b, s.spans)
	return binary.AppendUvarint(b, uint64(s.tail))
}

// Snapshot encodes, as version 2, what the reader still owes: the rest of
// its current progression and its spans, then its tail.
func (r *reader) Snapshot() ([]byte, error) {
	if err := r.resolve(); err != nil {
		return nil, err
	}
	s := &snapshot{version: snapshotV2, sub: r.sub, par: r.par, bounded: r.g.cfg.Bounded(), tail: r.tail}
	if r.onTail {
		s.tail = r.next
	} else {
		if n := (r.end - r.next + r.step - 1) / r.step; n > 0 {
			s.spans = append(s.spans, positions.Span{First: r.next, Step: r.step, Count: n})
		}
		s.spans = append(s.spans, r.spans...)
	}
	return s.encode(), nil
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
	// At the same parallelism a reader gets only its own snapshot.
	if s.version == snapshotV2 && s.par == r.par && s.sub != r.sub {
		return errs.New(errs.ConnectorFailure, "nexmark: subtask %d restored from the snapshot of subtask %d", r.sub, s.sub)
	}
	if s.version == snapshotV1 && s.tail%r.par != r.sub {
		return errs.New(errs.ConnectorFailure, "nexmark: snapshot of event %d does not belong to this subtask", s.tail)
	}
	r.pending = append(r.pending, s)
	r.err = nil
	return nil
}

// decode parses and checks a snapshot against the reader's scan.
func (r *reader) decode(state []byte) (*snapshot, error) {
	corrupt := errs.New(errs.ConnectorFailure, "nexmark: corrupt snapshot")
	if len(state) == 0 || state[0] != snapshotV1 && state[0] != snapshotV2 {
		return nil, errs.New(errs.ConnectorFailure, "nexmark: unknown snapshot version")
	}
	bounded := r.g.cfg.Bounded()
	s := &snapshot{version: int(state[0]), bounded: bounded}
	if s.version == snapshotV1 {
		next, k := binary.Varint(state[1:])
		if k <= 0 || k != len(state)-1 || next < 0 {
			return nil, corrupt
		}
		s.tail = next
		return s, nil
	}
	b := state[1:]
	ok := true
	next := func() int64 {
		v, k := binary.Uvarint(b)
		if k <= 0 || v > 1<<62 {
			ok = false
			return 0
		}
		b = b[k:]
		return int64(v)
	}
	s.sub, s.par = next(), next()
	if !ok || s.par == 0 || s.sub >= s.par || len(b) == 0 || b[0] > 1 {
		return nil, corrupt
	}
	s.bounded = b[0] == 1
	b = b[1:]
	var err error
	if s.spans, b, err = positions.ReadSpans(b); err != nil {
		return nil, corrupt
	}
	for _, p := range s.spans {
		// A bounded source's events lie below its count.
		if s.bounded && bounded && p.Last() >= r.g.cfg.EventsNum {
			return nil, corrupt
		}
	}
	s.tail = next()
	if !ok || len(b) != 0 {
		return nil, corrupt
	}
	if s.bounded != bounded {
		return nil, errs.New(errs.ConnectorFailure, "nexmark: snapshot of a bounded source restored into an unbounded one, or the reverse")
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
		// Restore checked that the snapshot is this subtask's own.
		r.start(snaps[0].spans, snaps[0].tail)
	} else {
		r.err = r.rescale(snaps)
	}
	r.paceStart = time.Time{}
	return r.err
}

// start makes the reader owe spans, then its tail from event number tail.
func (r *reader) start(spans []positions.Span, tail int64) {
	r.spans, r.tail, r.onTail = spans, tail, false
	r.next, r.end = 0, 0
	r.advance()
}

// advance moves the hot loop's progression to the next span (never
// empty), or to the tail after the last; false when nothing is left.
func (r *reader) advance() bool {
	switch {
	case len(r.spans) > 0:
		p := r.spans[0]
		r.spans = r.spans[1:]
		r.next, r.step, r.end = p.First, p.Step, p.First+p.Count*p.Step
	case !r.onTail:
		r.next, r.step, r.end, r.onTail = r.tail, r.par, -1, true
		if r.g.cfg.Bounded() {
			r.end = r.g.cfg.EventsNum
			// A bounded tail may start past the end.
			return r.next < r.end
		}
	default:
		return false
	}
	return true
}

// rescale takes this reader's share of the event numbers the old readers,
// one snapshot each, still owed. Old reader i of p owed its spans and its
// tail t_i, t_i+p, ...; the tails' residues modulo p are distinct (they
// were cut that way), so every event number from B = max(t_i) - p + 1 on
// is owed by exactly one tail. The tail numbers below B become spans of
// their own; all the spans, sorted by first event so that a reader's
// events stay close to event-time order, are laid end to end and new
// reader j of q takes the j-th of q contiguous pieces (the first ones one
// event longer when they do not divide evenly), then the tail B+j, B+j+q,
// ... A bounded source's tails stop at the events' count: one that had
// reached it owes nothing and the residue check skips it (the numbers of
// its residue from B on are all past its tail, so none below the end is
// handed out again).
func (r *reader) rescale(snaps []*snapshot) error {
	p := snaps[0].par
	for _, s := range snaps {
		if s.version == snapshotV1 {
			return errs.New(errs.ConnectorFailure, "nexmark: a version 1 snapshot restores only at the parallelism it was taken with")
		}
		if s.par != p {
			return errs.New(errs.ConnectorFailure, "nexmark: restored from snapshots of readers at parallelism %d and %d", p, s.par)
		}
	}
	old := slices.Clone(snaps)
	slices.SortFunc(old, func(a, b *snapshot) int { return int(a.sub - b.sub) })
	end := int64(-1)
	if r.g.cfg.Bounded() {
		end = r.g.cfg.EventsNum
	}
	residues := make([]bool, p)
	var top int64
	for i, s := range old {
		if s.sub != int64(i) || int64(len(old)) != p {
			return errs.New(errs.ConnectorFailure, "nexmark: restoring at parallelism %d needs the snapshots of all %d old readers, one each; got %d", r.par, p, len(old))
		}
		top = max(top, s.tail)
		if end >= 0 && s.tail >= end {
			continue
		}
		if residues[s.tail%p] {
			return errs.New(errs.ConnectorFailure, "nexmark: the old readers' snapshots owe overlapping tails")
		}
		residues[s.tail%p] = true
	}
	base := max(top-p+1, 0)
	var owed []positions.Span
	for _, s := range old {
		owed = append(owed, s.spans...)
		stop := base
		if end >= 0 {
			stop = min(stop, end)
		}
		if s.tail < stop {
			owed = append(owed, positions.Span{First: s.tail, Step: p, Count: (stop - s.tail + p - 1) / p})
		}
	}
	slices.SortStableFunc(owed, func(a, b positions.Span) int { return cmp.Compare(a.First, b.First) })
	r.start(positions.Deal(owed, r.sub, r.par), base+r.sub)
	return nil
}
