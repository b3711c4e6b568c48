package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// TestRescaledRestore reads part of a topic of five partitions with two
// readers, snapshots them, and restores the snapshots of both into every
// reader of a source at parallelism 1 and 3 (Flink's split reassignment on
// rescale): every record is read exactly once, and each new reader's
// snapshot holds only the partitions it is assigned.
func TestRescaledRestore(t *testing.T) {
	tbl, want := bidsTopic(t, 5, 50)
	f, _ := connector.Source("kafka")
	require.True(t, f.(connector.SupportsRescaling).SupportsRescaling())
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	open := func(sub, par int, snaps [][]byte) connector.SourceReader {
		return openRestored(t, connector.ScanSpec{Table: tbl}, mem, sub, par, snaps)
	}
	for _, newPar := range []int{1, 3} {
		t.Run(fmt.Sprintf("2-to-%d", newPar), func(t *testing.T) {
			var got, snaps []string
			var states [][]byte
			for sub := range 2 {
				r := open(sub, 2, nil)
				for range 2 {
					b, err := r.Next(context.Background())
					require.NoError(t, err)
					got = append(got, rows(b)...)
					b.Release()
				}
				s, err := r.Snapshot()
				require.NoError(t, err)
				states = append(states, s)
				require.NoError(t, r.Close())
			}
			for sub := range newPar {
				r := open(sub, newPar, states)
				for {
					b, err := r.Next(context.Background())
					if errors.Is(err, io.EOF) {
						break
					}
					require.NoError(t, err)
					got = append(got, rows(b)...)
					b.Release()
				}
				s, err := r.Snapshot()
				require.NoError(t, err)
				snaps = append(snaps, string(s))
				require.NoError(t, r.Close())
			}
			sortRows(got)
			require.Equal(t, want, got)
			if newPar == 1 {
				require.JSONEq(t, `{"offsets":{"bids":{"0":10,"1":10,"2":10,"3":10,"4":10}},"stops":{"bids":{"0":10,"1":10,"2":10,"3":10,"4":10}}}`, snaps[0])
			}
			for sub, s := range snaps {
				var st state
				require.NoError(t, json.Unmarshal([]byte(s), &st))
				for p := range st.Offsets["bids"] {
					require.Equal(t, sub, assignedSubtask(topicPartition{"bids", p}, newPar), "partition %d in the snapshot of subtask %d", p, sub)
				}
			}
		})
	}
}

// bidsTopic produces n bids round-robin over the partitions of a new
// topic and returns a bounded table over it and the rows it holds.
func bidsTopic(t *testing.T, partitions int32, n int) (connector.TableInfo, []string) {
	_, addr := cluster(t, partitions, "bids")
	var recs []rec
	var want []string
	for i := range n {
		recs = append(recs, rec{partition: int32(i) % partitions, val: fmt.Sprintf(`{"auction": %d}`, i)})
		want = append(want, fmt.Sprint(i))
	}
	produce(t, addr, "bids", recs...)
	return table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset"), want
}

// openRestored opens reader sub of par, in batches of 3 rows, restored
// from snaps.
func openRestored(t *testing.T, spec connector.ScanSpec, mem memory.Allocator, sub, par int, snaps [][]byte) connector.SourceReader {
	f, _ := connector.Source("kafka")
	r, err := f.CreateReader(spec, connector.ReaderContext{Subtask: sub, Parallelism: par, Mem: mem, BatchSize: 3})
	require.NoError(t, err)
	for _, s := range snaps {
		require.NoError(t, r.Restore(s))
	}
	return r
}

// drain reads r to its end and returns the rows.
func drain(t *testing.T, r connector.SourceReader) []string {
	t.Helper()
	var got []string
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return got
		}
		require.NoError(t, err)
		got = append(got, rows(b)...)
		b.Release()
	}
}

// sortRows sorts rendered integers numerically.
func sortRows(rs []string) {
	sort.Slice(rs, func(i, j int) bool { return len(rs[i]) < len(rs[j]) || len(rs[i]) == len(rs[j]) && rs[i] < rs[j] })
}

// TestBoundedStopKeptOnRestore: a bounded 'latest-offset' read restored
// from a snapshot stops where its first start said the topic ended, as a
// Flink split keeps its stopping offset, not at the records produced
// since.
func TestBoundedStopKeptOnRestore(t *testing.T) {
	_, addr := cluster(t, 2, "bids")
	var recs []rec
	for i := range 20 {
		recs = append(recs, rec{partition: int32(i % 2), val: fmt.Sprintf(`{"auction": %d}`, i)})
	}
	produce(t, addr, "bids", recs[:10]...)
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	f, _ := connector.Source("kafka")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 3})
	require.NoError(t, err)
	b, err := r.Next(context.Background())
	require.NoError(t, err)
	got := rows(b)
	b.Release()
	snap, err := r.Snapshot()
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Contains(t, string(snap), `"stops":{"bids":{"0":5,"1":5}}`)

	produce(t, addr, "bids", recs[10:]...)
	r, err = f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 3})
	require.NoError(t, err)
	require.NoError(t, r.Restore(snap))
	got = append(got, drain(t, r)...)
	require.NoError(t, r.Close())
	sortRows(got)
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprint(i))
	}
	require.Equal(t, want, got)
}

// TestFinishedReaderRescale: of two readers of four partitions, one reads
// its partitions to their end and finishes, the other is stopped halfway;
// restored at parallelism 1 and 3 from the running reader's snapshot and,
// in the finished one's place, its FinishedReaderSnapshot, the new readers
// read every record once; restored again from their own snapshots, taken
// before they start and after they end, readers read again what they read
// and nothing.
func TestFinishedReaderRescale(t *testing.T) {
	tbl, want := bidsTopic(t, 4, 40)
	spec := connector.ScanSpec{Table: tbl}
	f, _ := connector.Source("kafka")
	fr, ok := f.(connector.FinishedReaderSnapshotter)
	require.True(t, ok)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	open := func(sub, par int, snaps [][]byte) connector.SourceReader {
		return openRestored(t, spec, mem, sub, par, snaps)
	}
	for _, newPar := range []int{1, 3} {
		t.Run(fmt.Sprintf("2-to-%d", newPar), func(t *testing.T) {
			r := open(0, 2, nil)
			got := drain(t, r)
			require.NoError(t, r.Close())
			finished, err := fr.FinishedReaderSnapshot(spec, 0, 2)
			require.NoError(t, err)

			r = open(1, 2, nil)
			b, err := r.Next(context.Background())
			require.NoError(t, err)
			got = append(got, rows(b)...)
			b.Release()
			running, err := r.Snapshot()
			require.NoError(t, err)
			require.NoError(t, r.Close())

			// The new readers snapshot before they start and once they
			// ended: restored from the first, readers read again just
			// what the new ones read; from the second, nothing.
			var before, after [][]byte
			var resumed []string
			for sub := range newPar {
				r := open(sub, newPar, [][]byte{finished, running})
				s, err := r.Snapshot()
				require.NoError(t, err)
				before = append(before, s)
				resumed = append(resumed, drain(t, r)...)
				s, err = r.Snapshot()
				require.NoError(t, err)
				after = append(after, s)
				require.NoError(t, r.Close())
			}
			got = append(got, resumed...)
			sortRows(got)
			require.Equal(t, want, got)
			sortRows(resumed)
			for _, c := range []struct {
				snaps [][]byte
				want  []string
			}{{before, resumed}, {after, nil}} {
				var again []string
				for sub := range newPar {
					r := open(sub, newPar, c.snaps)
					again = append(again, drain(t, r)...)
					require.NoError(t, r.Close())
				}
				sortRows(again)
				require.Equal(t, c.want, again)
			}
		})
	}
}
