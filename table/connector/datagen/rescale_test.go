package datagen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// positionGen is a test generator that appends the position of each row, so
// that the rows of an unbounded random source can be told apart.
type positionGen struct{ mem memory.Allocator }

func (p positionGen) column(pos, step int64, n int) (arrow.Array, error) {
	bb := array.NewInt64Builder(p.mem)
	defer bb.Release()
	for k := range int64(n) {
		bb.Append(pos + k*step)
	}
	return bb.NewArray(), nil
}
func (positionGen) streams() []*rand.PCG { return nil }
func (positionGen) release()             {}

// rescaler drives the readers of one scan through savepoints at changing
// parallelism, as the runtime does: each new reader is restored from the
// snapshots of all the old readers, in old subtask order.
type rescaler struct {
	t     *testing.T
	spec  connector.ScanSpec
	mem   memory.Allocator
	col   int  // the column whose values are collected
	track bool // replace column col's generator by positionGen
	got   []int64
	snaps [][]byte
}

func (s *rescaler) open(sub, par int, snaps [][]byte) *reader {
	r, err := Factory{}.CreateReader(s.spec, connector.ReaderContext{Subtask: sub, Parallelism: par, Mem: s.mem, BatchSize: 7})
	require.NoError(s.t, err)
	rd := r.(*reader)
	if s.track {
		rd.gens[s.col].release()
		rd.gens[s.col] = positionGen{s.mem}
	}
	for _, b := range snaps {
		require.NoError(s.t, rd.Restore(b))
	}
	return rd
}

// step runs par readers from the current snapshots, reader i reading
// batches(i) batches (-1: to the end), and snapshots them.
func (s *rescaler) step(par int, batches func(sub int) int) {
	var snaps [][]byte
	for sub := range par {
		var from [][]byte
		if len(s.snaps) == par {
			from = [][]byte{s.snaps[sub]}
		} else {
			from = s.snaps
		}
		r := s.open(sub, par, from)
		for n := batches(sub); n != 0; n-- {
			b, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				require.Negative(s.t, n, "subtask %d of %d ended early", sub, par)
				break
			}
			require.NoError(s.t, err)
			s.got = append(s.got, ints(b.Column(s.col))...)
			b.Release()
		}
		st, err := r.Snapshot()
		require.NoError(s.t, err)
		snaps = append(snaps, st)
		require.NoError(s.t, r.Close())
	}
	s.snaps = snaps
}

func upTo(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// TestRescaleSequence restores a sequence table read partly at one
// parallelism at another (2→1, 2→3, 3→2, and 2→3→2→2 with a restore at the
// same parallelism last): every value is emitted exactly once over all
// the readers before and after.
func TestRescaleSequence(t *testing.T) {
	cols := []types.Column{col("id", types.BigIntType), col("r", types.DoubleType)}
	spec := connector.ScanSpec{Table: tbl(cols, "seed", "5", "fields.id.kind", "sequence", "fields.id.start", "0", "fields.id.end", "999")}
	uneven := func(sub int) int { return sub + 1 }
	for _, pars := range [][]int{{2, 1}, {2, 3}, {3, 2}, {1, 4}, {2, 3, 2, 2}} {
		t.Run(fmt.Sprint(pars), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			s := &rescaler{t: t, spec: spec, mem: mem}
			for _, p := range pars[:len(pars)-1] {
				s.step(p, uneven)
			}
			s.step(pars[len(pars)-1], func(int) int { return -1 })
			slices.Sort(s.got)
			require.Equal(t, upTo(1000), s.got)
		})
	}
}

// TestRescaleNumberOfRows: a bounded random table keeps its row count
// through rescales, and with a seed the rows after a rescale are the same
// in every run.
func TestRescaleNumberOfRows(t *testing.T) {
	cols := []types.Column{col("x", types.BigIntType), col("s", types.StringType)}
	spec := connector.ScanSpec{Table: tbl(cols, "number-of-rows", "500", "seed", "9", "fields.s.length", "3")}
	for _, pars := range [][]int{{2, 1}, {2, 3}, {3, 2}, {3, 1, 2}} {
		t.Run(fmt.Sprint(pars), func(t *testing.T) {
			var runs [][]int64
			for range 2 {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				s := &rescaler{t: t, spec: spec, mem: mem}
				for _, p := range pars[:len(pars)-1] {
					s.step(p, func(sub int) int { return 2 * sub })
				}
				s.step(pars[len(pars)-1], func(int) int { return -1 })
				require.Len(t, s.got, 500)
				runs = append(runs, s.got)
				mem.AssertSize(t, 0)
			}
			require.Equal(t, runs[0], runs[1])
			// The positions behind the rows: each exactly once.
			s := &rescaler{t: t, spec: spec, mem: memory.NewGoAllocator(), track: true}
			for _, p := range pars[:len(pars)-1] {
				s.step(p, func(sub int) int { return 2 * sub })
			}
			s.step(pars[len(pars)-1], func(int) int { return -1 })
			slices.Sort(s.got)
			require.Equal(t, upTo(500), s.got)
		})
	}
	// Fewer rows left than new readers: the others end at once.
	s := &rescaler{t: t, spec: connector.ScanSpec{Table: tbl(cols, "number-of-rows", "3")}, mem: memory.NewGoAllocator(), track: true}
	s.step(1, func(int) int { return 0 })
	s.step(5, func(int) int { return -1 })
	slices.Sort(s.got)
	require.Equal(t, upTo(3), s.got)
}

// TestRescaleUnbounded: an unbounded source's positions continue through a
// rescale. The positions the old readers skipped, being behind the one
// that read most, are emitted first; none twice.
func TestRescaleUnbounded(t *testing.T) {
	cols := []types.Column{col("x", types.BigIntType)}
	spec := connector.ScanSpec{Table: tbl(cols, "seed", "1")}
	for _, pars := range [][]int{{2, 1}, {2, 3}, {3, 2}, {2, 3, 1}} {
		t.Run(fmt.Sprint(pars), func(t *testing.T) {
			s := &rescaler{t: t, spec: spec, mem: memory.NewGoAllocator(), track: true}
			for _, p := range pars {
				s.step(p, func(sub int) int { return 3*sub + 1 })
			}
			got := slices.Clone(s.got)
			slices.Sort(got)
			require.Equal(t, len(got), len(slices.Compact(slices.Clone(got))), "a position emitted twice")
			// Read on until every reader is in its tail: then the emitted
			// positions are all those below the tail's base.
			p := pars[len(pars)-1]
			s.step(p, func(int) int { return 100 })
			var base int64 = -1
			r := s.open(0, p, nil)
			defer r.Close()
			for _, b := range s.snaps {
				st, err := r.decode(b)
				require.NoError(t, err)
				require.Empty(t, st.spans)
				base = st.tailBase
			}
			got = s.got
			slices.Sort(got)
			n, _ := slices.BinarySearch(got, base)
			require.Equal(t, upTo(base), got[:n])
			require.Equal(t, len(got), len(slices.Compact(slices.Clone(got))), "a position emitted twice")
		})
	}
}

// TestRescaleRestoreErrors: a reader restored at another parallelism
// needs one snapshot of each old reader; version 1 snapshots restore only
// at their own parallelism, which CheckRescaledState tells the runtime.
func TestRescaleRestoreErrors(t *testing.T) {
	cols := []types.Column{col("id", types.BigIntType)}
	spec := connector.ScanSpec{Table: tbl(cols, "fields.id.kind", "sequence", "fields.id.start", "1", "fields.id.end", "100")}
	s := &rescaler{t: t, spec: spec, mem: memory.NewGoAllocator()}
	s.step(3, func(int) int { return 1 })
	next := func(snaps ...[]byte) error {
		r := s.open(0, 2, snaps)
		defer r.Close()
		_, err := r.Next(context.Background())
		return err
	}
	require.ErrorContains(t, next(s.snaps[0], s.snaps[2]), "needs the snapshots of all 3 old readers, one each; got 2")
	require.ErrorContains(t, next(s.snaps[0], s.snaps[1], s.snaps[1]), "needs the snapshots of all 3 old readers")

	// Version 1 (rows emitted, then the random streams' states): subtask 1
	// of 2 had emitted 10 rows, its values 2, 4, ..., 20.
	v1 := []byte{snapshotV1, 10, 0}
	r := s.open(1, 2, [][]byte{v1})
	b, err := r.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, []int64{22, 24, 26, 28, 30, 32, 34}, ints(b.Column(0)))
	b.Release()
	require.NoError(t, r.Close())
	require.ErrorContains(t, next(v1, v1), "a version 1 snapshot restores only at the parallelism it was taken with")
	require.ErrorContains(t, Factory{}.CheckRescaledState(v1), "restores only at the parallelism it was taken with")
	require.NoError(t, Factory{}.CheckRescaledState(s.snaps[0]))

	// Snapshots of another scan.
	r = s.open(0, 3, nil)
	defer r.Close()
	for _, bad := range [][]byte{{9}, {snapshotV2, 0, 3, 0, 1, 200, 1, 1, 0}, {snapshotV2, 0, 3, 1, 0, 0, 0, 0}} {
		err := r.Restore(bad)
		require.Error(t, err)
		require.True(t, strings.HasPrefix(err.Error(), "datagen: "), err.Error())
	}
}

// TestRescaleFinishedReader: a reader that finished leaves no snapshot;
// the one FinishedReaderSnapshot stands in for it owes nothing, so the
// rescaled readers emit the rest of the others' values only.
func TestRescaleFinishedReader(t *testing.T) {
	cols := []types.Column{col("id", types.BigIntType)}
	spec := connector.ScanSpec{Table: tbl(cols, "fields.id.kind", "sequence", "fields.id.start", "0", "fields.id.end", "999")}
	for _, par := range []int{1, 3} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		s := &rescaler{t: t, spec: spec, mem: mem}
		s.step(2, func(sub int) int { return 3*sub - 1 })
		done, err := Factory{}.FinishedReaderSnapshot(spec, 0, 2)
		require.NoError(t, err)
		s.snaps[0] = done
		s.step(par, func(int) int { return -1 })
		slices.Sort(s.got)
		require.Equal(t, upTo(1000), s.got, "2 to %d", par)
		mem.AssertSize(t, 0)
	}
	_, err := Factory{}.FinishedReaderSnapshot(connector.ScanSpec{Table: tbl(cols)}, 0, 2)
	require.ErrorContains(t, err, "unbounded")
}
