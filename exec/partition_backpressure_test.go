package exec

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// A result partition counts the time it waits for room in a full channel
// as its operator's backpressure, and little else.
func TestPartitionBackpressure(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ch := &localChannel{ch: make(chan Element, 1)}
	m := NewOperatorMetrics()
	p := &resultPartition{ctx: context.Background(), mem: mem, part: Forward, senders: []ChannelSender{ch}, metrics: m}

	bld := array.NewInt64Builder(mem)
	bld.Append(1)
	col := bld.NewArray()
	bld.Release()
	b := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 1)
	col.Release()
	defer b.Release()

	require.NoError(t, p.emit(b)) // room in the channel: no wait
	require.Less(t, m.BackPressuredNanos.Load(), int64(20*time.Millisecond))
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		time.Sleep(50 * time.Millisecond)
		for range 2 {
			e := <-ch.ch
			e.Batch.Release()
		}
	}()
	require.NoError(t, p.emit(b)) // waits for the consumer
	<-drained
	require.GreaterOrEqual(t, m.BackPressuredNanos.Load(), int64(40*time.Millisecond))
	require.Equal(t, m.BackPressuredNanos.Load()/1e6, m.Snapshot().BackPressuredTimeMs)
}
