package kafka

import (
	"context"
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

// TestInterruptedNext: a checkpoint cancels the ctx of a waiting Next and
// calls Next again; an interrupted Next, even the first one (which starts
// the reader), loses and repeats nothing.
func TestInterruptedNext(t *testing.T) {
	_, addr := cluster(t, 3, "bids")
	var recs []rec
	var want []string
	for i := range 30 {
		recs = append(recs, rec{partition: int32(i % 3), val: fmt.Sprintf(`{"auction": %d}`, i)})
		want = append(want, fmt.Sprint(i))
	}
	produce(t, addr, "bids", recs...)
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	f, _ := connector.Source("kafka")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 4})
	require.NoError(t, err)
	defer r.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	var got []string
	for i := 0; ; i++ {
		if i%2 == 0 {
			_, err := r.Next(cancelled)
			if errors.Is(err, io.EOF) {
				break
			}
			require.ErrorIs(t, err, context.Canceled)
		}
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got = append(got, rows(b)...)
		b.Release()
	}
	sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
	require.Equal(t, want, got)
}
