package nexmark

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
)

// rescaler drives the readers of one events scan through savepoints at
// changing parallelism, as the runtime does: each new reader is restored
// from the snapshots of all the old readers, in old subtask order, a
// finished one's replaced by its FinishedReaderSnapshot. At one event per
// millisecond (first-event.rate 1000) an event's dateTime minus the base
// time is its event number, so got collects the numbers emitted.
type rescaler struct {
	t     *testing.T
	spec  connector.ScanSpec
	mem   memory.Allocator
	got   []int64
	snaps [][]byte
}

func newRescaler(t *testing.T, opts ...string) *rescaler {
	info := tableInfo(TableEvents, append([]string{FirstEventRate, "1000"}, opts...)...)
	// The dateTime fields of the three kinds, at most one set per row.
	paths := []connector.FieldPath{{1, 6}, {2, 5}, {3, 5}}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return &rescaler{t: t, spec: connector.ScanSpec{Table: info, NestedProjection: paths}, mem: mem}
}

// step runs par readers from the current snapshots, reader i reading
// batches(i) batches (-1: to the end), and snapshots them.
func (s *rescaler) step(par int, batches func(sub int) int) {
	var snaps [][]byte
	for sub := range par {
		from := s.snaps
		if len(s.snaps) == par {
			from = [][]byte{s.snaps[sub]}
		}
		r, err := Factory{}.CreateReader(s.spec, connector.ReaderContext{Subtask: sub, Parallelism: par, Mem: s.mem, BatchSize: 7})
		require.NoError(s.t, err)
		base := r.(*reader).g.cfg.BaseTime
		for _, b := range from {
			require.NoError(s.t, r.Restore(b))
		}
		finished := false
		for n := batches(sub); n != 0; n-- {
			b, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				require.Negative(s.t, n, "subtask %d of %d ended early", sub, par)
				finished = true
				break
			}
			require.NoError(s.t, err)
			for i := range int(b.NumRows()) {
				for c := range 3 {
					if col := b.Column(c).(*array.Timestamp); col.IsValid(i) {
						s.got = append(s.got, int64(col.Value(i))-base)
					}
				}
			}
			b.Release()
		}
		var snap []byte
		if finished {
			// A finished subtask leaves no snapshot; the runtime asks the
			// factory for one that owes nothing.
			snap, err = Factory{}.FinishedReaderSnapshot(s.spec, sub, par)
		} else {
			snap, err = r.Snapshot()
		}
		require.NoError(s.t, err)
		snaps = append(snaps, snap)
		require.NoError(s.t, r.Close())
	}
	s.snaps = snaps
}

// once checks that got holds each of 0..n-1 once and nothing else.
func (s *rescaler) once(n int64) {
	got := slices.Clone(s.got)
	slices.Sort(got)
	for i, v := range got {
		if v != int64(i) {
			s.t.Fatalf("event number %d emitted where %d was due (%d emitted, want %d)", v, i, len(got), n)
		}
	}
	require.Len(s.t, got, int(n), "events emitted")
}

func batchesOf(ns ...int) func(int) int { return func(sub int) int { return ns[sub] } }

// TestRescaleBounded stops the readers of 3000 events unevenly, some of
// them finished, and restores them at other parallelisms: every event
// number is emitted once.
func TestRescaleBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		pars []int
		runs []func(int) int
	}{
		{"2-to-1", []int{2, 1}, []func(int) int{batchesOf(20, 45)}},
		{"2-to-3", []int{2, 3}, []func(int) int{batchesOf(45, 3)}},
		{"3-to-2", []int{3, 2}, []func(int) int{batchesOf(0, 30, 11)}},
		{"finished/2-to-3", []int{2, 3}, []func(int) int{batchesOf(-1, 10)}},
		{"finished/3-to-2", []int{3, 2}, []func(int) int{batchesOf(5, -1, 30)}},
		{"2-to-3-to-2-to-1", []int{2, 3, 2, 1}, []func(int) int{batchesOf(9, 40), batchesOf(7, 0, 13), batchesOf(-1, 6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRescaler(t, EventsNum, "3000")
			for i, run := range tc.runs {
				s.step(tc.pars[i], run)
			}
			s.step(tc.pars[len(tc.pars)-1], func(int) int { return -1 })
			s.once(3000)
		})
	}
}

// TestRescaleUnbounded rescales an unbounded source 2 -> 3 -> 2 -> 1:
// no event number is emitted twice, and the numbers emitted and those the
// last readers owe cover every number once.
func TestRescaleUnbounded(t *testing.T) {
	s := newRescaler(t, EventsNum, "0")
	s.step(2, batchesOf(10, 31))
	s.step(3, batchesOf(4, 0, 17))
	s.step(2, batchesOf(25, 3))
	s.step(1, batchesOf(12))
	const limit = 5000
	for _, b := range s.snaps {
		r, err := Factory{}.CreateReader(s.spec, connector.ReaderContext{Subtask: 0, Parallelism: 1, Mem: s.mem})
		require.NoError(t, err)
		snap, err := r.(*reader).decode(b)
		require.NoError(t, err)
		require.NoError(t, r.Close())
		for _, sp := range snap.spans {
			for k := range sp.Count {
				s.got = append(s.got, sp.First+k*sp.Step)
			}
		}
		for n := snap.tail; n < limit; n += snap.par {
			s.got = append(s.got, n)
		}
	}
	s.once(limit)
}

// TestRescaleErrors: a version 1 snapshot restores only at its own
// parallelism, and a rescaled restore needs every old reader's snapshot.
func TestRescaleErrors(t *testing.T) {
	v1 := []byte{snapshotV1, 20} // next event 10 (zigzag varint)
	require.ErrorContains(t, Factory{}.CheckRescaledState(v1), "restores only at the parallelism it was taken with")
	s := newRescaler(t, EventsNum, "3000")
	s.step(2, batchesOf(3, 4))
	r, err := Factory{}.CreateReader(s.spec, connector.ReaderContext{Subtask: 0, Parallelism: 3, Mem: s.mem})
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Restore(s.snaps[0]))
	_, err = r.Next(context.Background())
	require.ErrorContains(t, err, "needs the snapshots of all 2 old readers")
	_, err = Factory{}.FinishedReaderSnapshot(connector.ScanSpec{Table: tableInfo(TableEvents, EventsNum, "0")}, 0, 2)
	require.True(t, err != nil && strings.Contains(err.Error(), "unbounded"), "%v", err)
}

// TestRestoreVersion1: a version 1 snapshot (the next event number)
// still restores at the parallelism it was taken with.
func TestRestoreVersion1(t *testing.T) {
	s := newRescaler(t, EventsNum, "3000")
	// Subtask 1 of 2 had emitted events 1, 3, ..., 199; subtask 0 none.
	s.snaps = [][]byte{binary.AppendVarint([]byte{snapshotV1}, 0), binary.AppendVarint([]byte{snapshotV1}, 201)}
	for n := int64(1); n < 201; n += 2 {
		s.got = append(s.got, n)
	}
	s.step(2, func(int) int { return -1 })
	s.once(3000)
}
