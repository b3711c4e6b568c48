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
	_, addr := cluster(t, 5, "bids")
	var recs []rec
	var want []string
	for i := range 50 {
		recs = append(recs, rec{partition: int32(i % 5), val: fmt.Sprintf(`{"auction": %d}`, i)})
		want = append(want, fmt.Sprint(i))
	}
	produce(t, addr, "bids", recs...)
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	f, _ := connector.Source("kafka")
	require.True(t, f.(connector.SupportsRescaling).SupportsRescaling())
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	open := func(sub, par int, snaps [][]byte) connector.SourceReader {
		r, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Subtask: sub, Parallelism: par, Mem: mem, BatchSize: 3})
		require.NoError(t, err)
		for _, s := range snaps {
			require.NoError(t, r.Restore(s))
		}
		return r
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
			sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
			require.Equal(t, want, got)
			if newPar == 1 {
				require.JSONEq(t, `{"offsets":{"bids":{"0":10,"1":10,"2":10,"3":10,"4":10}}}`, snaps[0])
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
