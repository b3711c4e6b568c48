package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The deduplicate operator (KindDeduplicate, spec DeduplicateSpec in
// specs.go) keeps one row per key of an insert-only input, as Flink's
// deduplicate functions do (without mini-batch):
//
//   - processing time, keep first (ProcTimeDeduplicateKeepFirstRowFunction):
//     the first row of a key is emitted as +I, later ones are ignored.
//     Only the keys are kept in state, and the output is insert-only.
//   - processing time, keep last (ProcTimeDeduplicateKeepLastRowFunction):
//     the first row is +I; every later row replaces the kept one,
//     emitting -U(kept row) and +U(new row).
//   - row time (RowTimeDeduplicateFunction): keep first keeps the row with
//     the smallest time, so a later-arriving row with a strictly earlier
//     time replaces it (-U/+U); keep last keeps the largest time, a row
//     with an equal or later time replacing it (the later arrival wins a
//     tie). Rows are processed on arrival, never held for the watermark.
//
// With OutputRank the constant rank 1 (BIGINT NOT NULL) follows the input
// columns. State TTL drops a key not written for StateTTLMillis
// (processing time), as in the rank operator.
//
// Snapshot: sections (appendSection): tag kg+1 holds the keys of key
// group kg, each with its last write time and kept row.

func init() { RegisterOperator(KindDeduplicate, newDeduplicate) }

type dedupOp struct {
	spec  DeduplicateSpec
	nIn   int
	ctx   *OperatorContext
	clock Clock

	// store and row hold the kept row of each partition; store is nil
	// when keeping the first row by processing time, which needs only the
	// keys.
	keyedRows

	in   joinBatch
	emit *rowEmitter
}

func newDeduplicate(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	d := &dedupOp{ctx: ctx}
	if err := json.Unmarshal(spec.Spec, &d.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "deduplicate spec")
	}
	s := &d.spec
	d.nIn = spec.Schema.Len()
	if s.OutputRank {
		d.nIn--
	}
	if s.TimeCol < 0 || s.TimeCol >= d.nIn {
		return nil, errs.New(errs.InvalidPlan, "deduplicate: time column %d out of range", s.TimeCol)
	}
	for _, k := range s.Keys {
		if k < 0 || k >= d.nIn {
			return nil, errs.New(errs.InvalidPlan, "deduplicate: key %d out of range", k)
		}
	}
	// Keeping the first row by processing time emits +I rows only; its
	// output may still carry the row kind column (the plan declares it
	// updating), the other modes need it.
	if (s.KeepLast || !s.ProcTime) && !spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "deduplicate: the output of this deduplication is a changelog")
	}
	kinds, _, err := storeKinds(spec.Schema, d.nIn, "deduplicate")
	if err != nil {
		return nil, err
	}
	if kinds[s.TimeCol] != vkInt {
		return nil, errs.New(errs.InvalidPlan, "deduplicate: time column %d is not a time attribute", s.TimeCol)
	}
	d.parts = newPartitionTable(s.Keys, kinds)
	if s.KeepLast || !s.ProcTime {
		d.store = newRowStore(kinds)
	}
	d.emit = newRowEmitter(ctx.Mem, spec, d.nIn, s.OutputRank)
	d.emit.dropUpdateBefore = s.DropUpdateBefore
	return d, nil
}

func (d *dedupOp) Open(ctx *OperatorContext) error {
	d.ctx = ctx
	d.emit.mem = ctx.Mem
	d.clock = clockOf(ctx)
	return nil
}

func (d *dedupOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if err := d.in.load(b, d.nIn, d.spec.Keys, false, false); err != nil {
		return fmt.Errorf("deduplicate: %w", err)
	}
	var now int64
	ttl := d.spec.StateTTLMillis
	if ttl > 0 {
		now = d.clock.NowMillis()
		d.sweep(ttl, now)
	}
	times := &d.in.views[d.spec.TimeCol]
	for i := range int(b.NumRows()) {
		d.parts.touchAhead(d.in.hashes, i)
		h := d.in.hashes[i]
		p := d.parts.find(h, d.in.views, i)
		if p >= 0 && d.parts.expired(p, ttl, now) {
			d.drop(p)
			p = -1
		}
		if p < 0 {
			p = d.parts.add(h, d.in.views, i, now)
			if d.store == nil {
				d.emit.add(connector.Insert, -1, int32(i), 1)
				continue
			}
			d.row = growTo(d.row, int(d.parts.n))
			d.row[p] = d.keep(i)
			d.emit.add(connector.Insert, d.row[p], -1, 1)
			continue
		}
		if d.store == nil {
			continue // keep first by processing time: a key seen is done
		}
		old := d.row[p]
		if !d.spec.ProcTime {
			t, kept := times.ints[i], d.store.time[old]
			if d.spec.KeepLast && t < kept || !d.spec.KeepLast && t >= kept {
				continue
			}
		}
		d.parts.touched[p] = now
		d.row[p] = d.keep(i)
		d.emit.add(connector.UpdateBefore, old, -1, 1)
		d.emit.add(connector.UpdateAfter, d.row[p], -1, 1)
		d.release = append(d.release, old)
	}
	err := d.emit.flush(out, d.store, d.in.views)
	d.releaseSlots()
	if d.store != nil {
		d.store.copyPending(d.in.views, nil)
	}
	return err
}

// keep stores row i as a partition's kept row. Its columns are copied
// once the batch's rows are processed (putLater): until then only the
// kept rows' times are read.
func (d *dedupOp) keep(i int) int32 {
	sl := d.store.putLater(d.in.views, i, 0, nil)
	d.store.time[sl] = d.in.views[d.spec.TimeCol].ints[i]
	return sl
}

func (d *dedupOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (d *dedupOp) EndInput(int, Output) error { return nil }

func (d *dedupOp) Snapshot() ([]byte, error) {
	return d.snapshot(), nil
}

func (d *dedupOp) Restore(state []byte) error {
	return d.restore(state, d.ctx)
}

// StateBytes estimates the partitions and the row kept for each, if any
// (StateSizer).
func (d *dedupOp) StateBytes() int64 {
	return d.parts.bytes() + d.store.bytes() + int64(d.parts.count)*4
}

func (d *dedupOp) Close() error { return nil }
