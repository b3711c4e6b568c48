package exec

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// KindCollect is a sink that hands its input to the client that submitted
// the job (SELECT results printed by the CLI, the Go Table API, the
// server's materialized views): every batch goes to the job's ResultStream
// named by the spec's ID, which the client reads through Job.Results. It
// emits nothing.
//
// Without checkpointing each batch goes to the client at once; a restart
// then replays what followed the checkpoint it restores (at-least-once).
// With checkpointing on (execution.checkpointing.interval) the client gets
// every row exactly once, as with Flink's checkpointed collect buffer: a
// batch is held until the checkpoint after it completes, the held batches
// are part of the checkpoint's state (a restore delivers the ones its
// checkpoint holds), and each delivered batch carries a sequence number
// per subtask by which the ResultStream drops the ones an earlier attempt
// already delivered. Rows therefore reach the client a checkpoint interval
// late. At end of input, and at a savepoint that stops the job, the held
// batches go to the client at once.
const KindCollect = "collect"

// CollectSpec is the JSON spec of a collect operator.
type CollectSpec struct {
	// ID names the result stream; unique among the collect operators of a
	// job.
	ID string `json:"id"`
}

func init() { RegisterOperator(KindCollect, newCollect) }

type collect struct {
	spec CollectSpec
	w    ResultWriter
	mem  memory.Allocator
	// exactlyOnce holds batches until their checkpoint completed.
	exactlyOnce bool
	// open are the batches received since the last checkpoint barrier,
	// sealed those before a barrier whose completion has not been
	// notified, oldest first.
	open   []arrow.RecordBatch
	sealed []collectEpoch
	// nextSeq is the sequence number of the first held batch: sealed's,
	// then open's, number on from it.
	nextSeq int64
}

// collectEpoch is the batches received before the barrier of checkpoint id.
type collectEpoch struct {
	id      int64
	batches []arrow.RecordBatch
}

var (
	_ CheckpointListener    = (*collect)(nil)
	_ checkpointSnapshotter = (*collect)(nil)
)

func newCollect(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	c := &collect{}
	if err := json.Unmarshal(spec.Spec, &c.spec); err != nil {
		return nil, fmt.Errorf("collect spec: %w", err)
	}
	return c, nil
}

func (c *collect) Open(ctx *OperatorContext) error {
	if ctx.Results == nil {
		return fmt.Errorf("collect %q: this TaskManager has no result service", c.spec.ID)
	}
	ckpt, err := CheckpointConfigFrom(ctx.Config)
	if err != nil {
		return err
	}
	w, err := ctx.Results.OpenResult(ctx.JobID, c.spec.ID, ctx.Subtask)
	if err != nil {
		return err
	}
	c.w, c.mem, c.exactlyOnce = w, ctx.Mem, ckpt.Enabled()
	return nil
}

func (c *collect) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	if !c.exactlyOnce {
		return c.w.Write(b)
	}
	b.Retain()
	c.open = append(c.open, b)
	return nil
}

func (c *collect) ProcessWatermark(int, Watermark, Output) error { return nil }

func (c *collect) EndInput(int, Output) error {
	if err := c.deliver(len(c.sealed)); err != nil {
		return err
	}
	if err := c.deliverOpen(); err != nil {
		return err
	}
	return c.w.Finish()
}

// NotifyCheckpointComplete delivers the batches held before the barrier of
// checkpoint id and of every earlier one.
func (c *collect) NotifyCheckpointComplete(id int64) error {
	n := 0
	for n < len(c.sealed) && c.sealed[n].id <= id {
		n++
	}
	return c.deliver(n)
}

// deliver hands the batches of the first n sealed epochs to the client.
func (c *collect) deliver(n int) error {
	for len(c.sealed) > 0 && n > 0 {
		e := &c.sealed[0]
		for len(e.batches) > 0 {
			if err := c.writeNext(e.batches[0]); err != nil {
				return err
			}
			e.batches = e.batches[1:]
		}
		c.sealed = c.sealed[1:]
		n--
	}
	return nil
}

func (c *collect) deliverOpen() error {
	for len(c.open) > 0 {
		if err := c.writeNext(c.open[0]); err != nil {
			return err
		}
		c.open = c.open[1:]
	}
	return nil
}

// writeNext delivers the held batch numbered nextSeq and lets it go.
func (c *collect) writeNext(b arrow.RecordBatch) error {
	defer b.Release()
	if err := c.w.WriteSeq(c.nextSeq, b); err != nil {
		return err
	}
	c.nextSeq++
	return nil
}

// snapshotCheckpoint seals the batches received since the last barrier as
// checkpoint id's and returns every held batch with the sequence number of
// the first: a restore from this checkpoint (which then completed)
// delivers them.
func (c *collect) snapshotCheckpoint(id int64) ([]byte, error) {
	if !c.exactlyOnce {
		return nil, nil
	}
	if len(c.open) > 0 {
		c.sealed = append(c.sealed, collectEpoch{id: id, batches: c.open})
		c.open = nil
	}
	var held []arrow.RecordBatch
	for _, e := range c.sealed {
		held = append(held, e.batches...)
	}
	return c.encode(held)
}

// Snapshot is the state of a savepoint, which stops the job: the held
// batches go to the client now and the state only numbers on.
func (c *collect) Snapshot() ([]byte, error) {
	if !c.exactlyOnce {
		return nil, nil
	}
	if err := c.deliver(len(c.sealed)); err != nil {
		return nil, err
	}
	if err := c.deliverOpen(); err != nil {
		return nil, err
	}
	return c.encode(nil)
}

// encode is the state: nextSeq, then the held batches as an Arrow IPC
// stream.
func (c *collect) encode(held []arrow.RecordBatch) ([]byte, error) {
	state := binary.BigEndian.AppendUint64(nil, uint64(c.nextSeq))
	if len(held) == 0 {
		return state, nil
	}
	data, err := writeIPC(c.mem, held[0].Schema(), held)
	if err != nil {
		return nil, fmt.Errorf("collect %q: %w", c.spec.ID, err)
	}
	return append(state, data...), nil
}

// Restore delivers the batches the restored checkpoint held: it
// completed, so they are committed (the ResultStream drops those an
// earlier attempt delivered).
func (c *collect) Restore(state []byte) error {
	if len(state) < 8 {
		return fmt.Errorf("collect %q: malformed state of %d bytes", c.spec.ID, len(state))
	}
	c.nextSeq = int64(binary.BigEndian.Uint64(state))
	held, err := readIPC(c.mem, state[8:])
	if err != nil {
		return fmt.Errorf("collect %q: %w", c.spec.ID, err)
	}
	c.sealed = append(c.sealed, collectEpoch{batches: held})
	return c.deliver(len(c.sealed))
}

func (c *collect) Close() error {
	for _, e := range c.sealed {
		releaseBatches(e.batches)
	}
	releaseBatches(c.open)
	c.sealed, c.open = nil, nil
	return nil
}
