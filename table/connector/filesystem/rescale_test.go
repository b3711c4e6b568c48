package filesystem

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// fileRescaler drives the readers of one scan through savepoints at
// changing parallelism, as the runtime does: each new reader is restored
// from the snapshots of all the old readers, in old subtask order.
type fileRescaler struct {
	t     *testing.T
	spec  connector.ScanSpec
	mem   memory.Allocator
	got   []string
	snaps [][]byte
}

// step runs par readers from the current snapshots, reader i reading up
// to batches(i) batches (-1: to the end), and snapshots them.
func (s *fileRescaler) step(par int, batches func(sub int) int) {
	var snaps [][]byte
	for sub := range par {
		r, err := Factory{}.CreateReader(s.spec, connector.ReaderContext{Subtask: sub, Parallelism: par, Mem: s.mem, BatchSize: 2})
		require.NoError(s.t, err)
		from := s.snaps
		if len(s.snaps) == par {
			from = [][]byte{s.snaps[sub]}
		}
		for _, b := range from {
			require.NoError(s.t, r.Restore(b))
		}
		for n := batches(sub); n != 0; n-- {
			b, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(s.t, err)
			s.got = append(s.got, rowStrings(b)...)
			b.Release()
		}
		st, err := r.Snapshot()
		require.NoError(s.t, err)
		snaps = append(snaps, st)
		require.NoError(s.t, r.Close())
	}
	s.snaps = snaps
}

// fiveFiles writes files a..e of 5, 3, 4, 1 and 6 rows numbered from 1
// under dir/sub (a partition directory when sub is p=x) and returns the
// rows as rowStrings prints them, with prefix before each.
func fiveFiles(t *testing.T, dir, sub, prefix string) []string {
	require.NoError(t, os.MkdirAll(filepath.Join(dir, sub), 0o755))
	var want []string
	n := 0
	for i, rows := range []int{5, 3, 4, 1, 6} {
		var b strings.Builder
		for range rows {
			n++
			fmt.Fprintln(&b, n)
			want = append(want, prefix+strconv.Itoa(n))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, sub, string(rune('a'+i))+".csv"), []byte(b.String()), 0o644))
	}
	return want
}

// TestRescaleFiles restores readers that read part of their files at
// another parallelism (2→1, 2→3, 3→2, 1→4, and 2→3→2→2 with a restore at
// the same parallelism last): every row is read exactly once over all the
// readers before and after, partition values included.
func TestRescaleFiles(t *testing.T) {
	dir := t.TempDir()
	want := fiveFiles(t, dir, "p=x", "x|")
	want = append(want, fiveFiles(t, dir, "p=y", "y|")...)
	slices.Sort(want)
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("p", types.StringType)}}
	tbl := table(dir, s, "format", "csv")
	tbl.PartitionKeys = []string{"p"}
	spec := connector.ScanSpec{Table: tbl, Projection: []int{1, 0}}
	requireRescaledReads(t, spec, want, [][]int{{2, 1}, {2, 3}, {3, 2}, {1, 4}, {2, 3, 2, 2}}, func(sub int) int { return sub + 2 })
}

// requireRescaledReads runs the readers of spec through each chain of
// parallelisms (fileRescaler), reader i of every step but the last
// reading batches(i) batches and the last step reading to the end, and
// requires that they read want, sorted, in all.
func requireRescaledReads(t *testing.T, spec connector.ScanSpec, want []string, chains [][]int, batches func(sub int) int) {
	for _, pars := range chains {
		t.Run(fmt.Sprint(pars), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r := &fileRescaler{t: t, spec: spec, mem: mem}
			for _, p := range pars[:len(pars)-1] {
				r.step(p, batches)
			}
			r.step(pars[len(pars)-1], func(int) int { return -1 })
			slices.Sort(r.got)
			require.Equal(t, want, r.got)
		})
	}
}

// TestRescaleFilesVersion1: a version 1 snapshot (the index of the current
// file in the reader's share and the rows read of it) restores at its
// parallelism and is refused at another.
func TestRescaleFilesVersion1(t *testing.T) {
	dir := t.TempDir()
	fiveFiles(t, dir, "", "")
	spec := connector.ScanSpec{Table: table(dir, types.Schema{Columns: []types.Column{col("n", types.IntType)}}, "format", "csv")}
	// Subtask 1 of 2 reads b and d (rows 6-8, 13); it had read b and none
	// of d.
	v1 := binary.AppendUvarint(binary.AppendUvarint(nil, 1), 0)
	r, err := Factory{}.CreateReader(spec, connector.ReaderContext{Subtask: 1, Parallelism: 2, Mem: memory.NewGoAllocator(), BatchSize: 5})
	require.NoError(t, err)
	defer r.Close()
	require.NoError(t, r.Restore(v1))
	b, err := r.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, []string{"13"}, rowStrings(b))
	b.Release()
	_, err = r.Next(context.Background())
	require.ErrorIs(t, err, io.EOF)

	require.ErrorContains(t, Factory{}.CheckRescaledState(v1), "restores only at the parallelism it was taken with")
	snap, err := r.Snapshot()
	require.NoError(t, err)
	require.NoError(t, Factory{}.CheckRescaledState(snap))
	require.JSONEq(t, `{"version": 2, "subtask": 1, "parallelism": 2, "splits": []}`, string(snap))

	r2, err := Factory{}.CreateReader(spec, connector.ReaderContext{Subtask: 0, Parallelism: 1, Mem: memory.NewGoAllocator()})
	require.NoError(t, err)
	defer r2.Close()
	require.NoError(t, r2.Restore(v1))
	require.NoError(t, r2.Restore(v1))
	_, err = r2.Next(context.Background())
	require.ErrorContains(t, err, "a version 1 snapshot restores only at the parallelism it was taken with")
	require.NoError(t, r2.Restore([]byte(`{"version": 2, "subtask": 0, "parallelism": 2, "splits": [{"path": "a.csv"}]}`)))
	_, err = r2.Next(context.Background())
	require.ErrorContains(t, err, "needs the snapshots of all 2 old readers, one each; got 1")
	require.Error(t, r2.Restore([]byte(`{"version": 2, "subtask": 3, "parallelism": 2}`)))
}
