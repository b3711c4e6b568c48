package exec

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// resultPartition is the sending side of one output edge of a subtask: it
// decides which of the edge's channels gets each row and sends it there.
// Watermarks and end-of-input go to every channel.
//
// Ownership: emit borrows b; each channel that receives a batch gets its own
// reference (a Retain, or a new batch built by the hash split).
type resultPartition struct {
	ctx     context.Context
	mem     memory.Allocator
	part    Partitioning
	keys    []int
	senders []ChannelSender
	next    int // round-robin cursor of Rebalance
	// metrics are the sending operator's: the time spent waiting for a
	// full channel counts as backpressure.
	metrics *OperatorMetrics

	// scratch of Hash, reused across batches
	hashes  []uint64
	indices [][]int32
}

func (p *resultPartition) send(i int, b arrow.RecordBatch) error {
	start := time.Now()
	err := p.senders[i].Send(p.ctx, Element{Kind: ElementBatch, Batch: b})
	if p.metrics != nil {
		p.metrics.BackPressuredNanos.Add(int64(time.Since(start)))
	}
	if err != nil {
		b.Release()
		return err
	}
	return nil
}

func (p *resultPartition) emit(b arrow.RecordBatch) error {
	switch p.part {
	case Broadcast:
		for i := range p.senders {
			b.Retain()
			if err := p.send(i, b); err != nil {
				return err
			}
		}
		return nil
	case Rebalance:
		i := p.next
		p.next = (p.next + 1) % len(p.senders)
		b.Retain()
		return p.send(i, b)
	case Hash:
		if len(p.senders) > 1 {
			return p.emitHashed(b)
		}
	}
	// Forward and Global have a single channel per producer.
	b.Retain()
	return p.send(0, b)
}

func (p *resultPartition) emitHashed(b arrow.RecordBatch) error {
	n := int(b.NumRows())
	if cap(p.hashes) < n {
		p.hashes = make([]uint64, n)
	}
	hashes := p.hashes[:n]
	if err := hashRows(b, p.keys, hashes); err != nil {
		return err
	}
	for t := range p.indices {
		p.indices[t] = p.indices[t][:0]
	}
	for i, h := range hashes {
		t := targetOf(h, len(p.senders))
		p.indices[t] = append(p.indices[t], int32(i))
	}
	for t, idx := range p.indices {
		switch len(idx) {
		case 0:
			continue
		case n: // every row has the same owner: no copy
			b.Retain()
			if err := p.send(t, b); err != nil {
				return err
			}
			continue
		}
		part, err := takeRows(p.ctx, p.mem, b, idx)
		if err != nil {
			return err
		}
		if err := p.send(t, part); err != nil {
			return err
		}
	}
	return nil
}

// takeRows builds a new batch of the rows idx of b.
func takeRows(ctx context.Context, mem memory.Allocator, b arrow.RecordBatch, idx []int32) (arrow.RecordBatch, error) {
	indices := array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, len(idx),
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(idx))}, nil, 0, 0))
	defer indices.Release()
	ctx = compute.WithAllocator(ctx, mem)
	cols := make([]arrow.Array, b.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range b.Columns() {
		out, err := compute.TakeArray(ctx, c, indices)
		if err != nil {
			return nil, fmt.Errorf("hash exchange: %w", err)
		}
		cols[i] = out
	}
	return array.NewRecordBatch(b.Schema(), cols, int64(len(idx))), nil
}

func (p *resultPartition) broadcastElement(e Element) error {
	for _, s := range p.senders {
		if err := s.Send(p.ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// taskOutput is the Output of the last operator of a chain: it fans out to
// the result partitions of the vertex's output edges.
type taskOutput struct {
	partitions []*resultPartition
}

func (o *taskOutput) emit(b arrow.RecordBatch) error {
	for _, p := range o.partitions {
		if err := p.emit(b); err != nil {
			return err
		}
	}
	return nil
}

func (o *taskOutput) broadcast(e Element) error {
	for _, p := range o.partitions {
		if err := p.broadcastElement(e); err != nil {
			return err
		}
	}
	return nil
}
