package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// TestSplitReporting reads two partitions in batches of 4 and checks what
// the reader tells the engine after each batch: runs of rows per partition
// that cover the batch, the partitions it reads (finished ones leave), and
// the consumer lag of each partition, which is what was produced into it
// and not read yet.
func TestSplitReporting(t *testing.T) {
	_, addr := cluster(t, 2, "clicks")
	produced := map[string]int64{"clicks-0": 5, "clicks-1": 3}
	var recs []rec
	for i := range 8 {
		p := int32(0)
		if i >= 5 {
			p = 1
		}
		recs = append(recs, rec{partition: p, val: fmt.Sprintf(`{"auction": %d}`, i)})
	}
	produce(t, addr, "clicks", recs...)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "clicks", "format", "json",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	f, _ := connector.Source("kafka")
	sr, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 4})
	require.NoError(t, err)
	defer sr.Close()
	r := sr.(*reader)
	require.False(t, r.Idle())
	assigned := append([]string{}, r.AssignedSplits()...)
	sort.Strings(assigned)
	require.Equal(t, []string{"clicks-0", "clicks-1"}, assigned)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	read := map[string]int64{}
	lagged := false // some batch left a partition behind
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		total := 0
		for _, run := range r.BatchSplits() {
			require.Contains(t, produced, run.Split)
			require.Positive(t, run.Rows)
			read[run.Split] += int64(run.Rows)
			total += run.Rows
		}
		require.EqualValues(t, b.NumRows(), total)
		b.Release()
		backlog := map[string]int64{}
		r.SplitBacklog(backlog)
		for id, n := range backlog {
			require.Equal(t, produced[id]-read[id], n, id)
			lagged = lagged || n > 0
		}
	}
	require.Equal(t, produced, read)
	require.True(t, lagged, "batches of 4 of 5 records leave a lag")
	require.Empty(t, r.AssignedSplits(), "finished partitions are no longer read")
}

// TestIdleWithoutPartitions reads a topic of two partitions with three
// subtasks: exactly one is assigned none and says it is idle.
func TestIdleWithoutPartitions(t *testing.T) {
	_, addr := cluster(t, 2, "clicks")
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "clicks", "format", "json",
		"scan.startup.mode", "earliest-offset")
	f, _ := connector.Source("kafka")
	idle := 0
	for sub := range 3 {
		r, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Subtask: sub, Parallelism: 3, Mem: memory.DefaultAllocator})
		require.NoError(t, err)
		if r.(connector.IdleAware).Idle() {
			idle++
			require.Empty(t, r.(connector.SplitAware).AssignedSplits())
		}
		require.NoError(t, r.Close())
	}
	require.Equal(t, 1, idle)
}
