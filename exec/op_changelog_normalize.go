package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// The changelog normalize operator (KindChangelogNormalize, spec
// ChangelogNormalizeSpec in specs.go) turns an upsert stream into a
// retract stream, as Flink's ChangelogNormalize does with
// ProcTimeDeduplicateKeepLastRowFunction (without mini-batch): it keeps
// the last row of every key (the Keys columns; a NULL key is a key like
// any other) and for each input row
//
//   - +I or +U of a new key emits +I(row) and keeps the row;
//   - +I or +U of a kept key emits -U(kept row) and +U(row) and keeps the
//     row, unless the row equals the kept one: then nothing is emitted.
//     With state TTL on, Flink emits the identical update anyway so that
//     downstream operators do not expire the row's state early, and so do
//     we;
//   - -D of a kept key emits -D(kept row), not the incoming row, because
//     an upsert delete (a Kafka tombstone) may carry only the key; the key
//     is forgotten. -D of an unknown key emits nothing;
//   - -U rows are dropped: an upsert stream's update is its +U alone.
//
// With a Condition (a filter Flink pushes into ChangelogNormalize), the
// kept row is the key's last row that passes it: +I or +U of a row that
// fails it emits -D(kept row) and forgets the key if one is kept, and
// nothing otherwise. So a row leaving the filter is deleted downstream,
// where a filter after the normalization would pass its -U alone.
// CURRENT_WATERMARK in the condition is always NULL, as Flink's restore
// tests show for its ChangelogNormalize even while watermarks flow
// through it (ChangelogNormalizeTestPrograms
// .UPSERT_SOURCE_WITH_FILTER_ON_WATERMARK): the filter is evaluated
// without a watermark.
//
// State TTL drops a key not written for StateTTLMillis of processing time
// (the context's Clock); an expired key counts as unknown. Watermarks pass
// through.
//
// Snapshot: sections (appendSection) as the deduplicate operator writes
// them: tag 0 holds the last TTL sweep time, tag kg+1 the keys of key
// group kg, each with its last write time and kept row, so a rescaled
// subtask restores exactly the keys the Hash exchange sends it.

func init() { RegisterOperator(KindChangelogNormalize, newChangelogNormalize) }

type normalizeOp struct {
	spec  ChangelogNormalizeSpec
	nIn   int
	ctx   *OperatorContext
	clock Clock

	// parts finds a key's partition; row[p] is the slot in store of the
	// row kept for partition p.
	keyedRows

	in   joinBatch
	emit *rowEmitter
	// cond is the compiled Condition (nil without one); pass holds its
	// result per row of the current batch.
	cond expr.Evaluator
	pass []bool
}

func newChangelogNormalize(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	n := &normalizeOp{ctx: ctx}
	if err := json.Unmarshal(spec.Spec, &n.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "changelog normalize spec")
	}
	if !spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "changelog normalize: the output must be declared a changelog")
	}
	n.nIn = spec.Schema.Len()
	if len(n.spec.Keys) == 0 {
		return nil, errs.New(errs.InvalidPlan, "changelog normalize: no key columns")
	}
	for _, k := range n.spec.Keys {
		if k < 0 || k >= n.nIn {
			return nil, errs.New(errs.InvalidPlan, "changelog normalize: key %d out of range", k)
		}
	}
	if n.spec.StateTTLMillis < 0 {
		return nil, errs.New(errs.InvalidPlan, "changelog normalize: negative state TTL %d", n.spec.StateTTLMillis)
	}
	kinds, _, err := storeKinds(spec.Schema, n.nIn, "changelog normalize")
	if err != nil {
		return nil, err
	}
	n.parts = newPartitionTable(n.spec.Keys, kinds)
	n.store = newRowStore(kinds)
	n.emit = newRowEmitter(ctx.Mem, spec, n.nIn, false)
	n.emit.dropUpdateBefore = n.spec.DropUpdateBefore
	return n, nil
}

func (n *normalizeOp) Open(ctx *OperatorContext) error {
	n.ctx = ctx
	n.emit.mem = ctx.Mem
	n.clock = clockOf(ctx)
	if len(n.spec.Condition) > 0 {
		ev, err := compileExpr(n.spec.Condition, ctx.Mem)
		if err != nil {
			return fmt.Errorf("changelog normalize condition: %w", err)
		}
		n.cond = ev
	}
	return nil
}

// filter sets n.pass[i] to whether row i of b passes the condition (TRUE,
// not FALSE or NULL). Without a condition it does nothing: every row
// passes.
func (n *normalizeOp) filter(b arrow.RecordBatch) error {
	if n.cond == nil {
		return nil
	}
	rows := int(b.NumRows())
	n.pass = resize(n.pass, rows)
	res, err := n.cond.Eval(b)
	if err != nil {
		return fmt.Errorf("changelog normalize condition: %w", err)
	}
	defer res.Release()
	p, ok := res.(*array.Boolean)
	if !ok {
		return errs.Internalf("changelog normalize condition produced %s, not BOOLEAN", res.DataType())
	}
	for i := range rows {
		n.pass[i] = p.IsValid(i) && p.Value(i)
	}
	return nil
}

func (n *normalizeOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if err := n.in.load(b, n.nIn, n.spec.Keys, true, false); err != nil {
		return fmt.Errorf("changelog normalize: %w", err)
	}
	if err := n.filter(b); err != nil {
		return err
	}
	var now int64
	ttl := n.spec.StateTTLMillis
	if ttl > 0 {
		now = n.clock.NowMillis()
		n.sweep(ttl, now)
	}
	views := n.in.views
	for i, kind := range n.in.kinds {
		if kind == connector.UpdateBefore {
			continue
		}
		h := n.in.hashes[i]
		p := n.parts.find(h, views, i)
		if p >= 0 && n.parts.expired(p, ttl, now) {
			n.drop(p)
			p = -1
		}
		switch kind {
		case connector.Insert, connector.UpdateAfter:
			if n.cond != nil && !n.pass[i] {
				if p >= 0 {
					n.emit.add(connector.Delete, n.row[p], -1, 0)
					n.drop(p)
				}
				continue
			}
			if p < 0 {
				p = n.parts.add(h, views, i, now)
				n.row = growTo(n.row, int(n.parts.n))
				n.row[p] = n.store.put(views, i, 0)
				n.emit.add(connector.Insert, n.row[p], -1, 0)
				continue
			}
			old := n.row[p]
			n.parts.touched[p] = now
			if ttl == 0 && n.store.equalsRow(old, views, i) {
				continue
			}
			n.row[p] = n.store.put(views, i, 0)
			n.emit.add(connector.UpdateBefore, old, -1, 0)
			n.emit.add(connector.UpdateAfter, n.row[p], -1, 0)
			n.release = append(n.release, old)
		case connector.Delete:
			if p < 0 {
				continue
			}
			n.emit.add(connector.Delete, n.row[p], -1, 0)
			n.drop(p)
		default:
			return errs.Internalf("changelog normalize: input row has kind %d", kind)
		}
	}
	err := n.emit.flush(out, n.store, nil)
	n.releaseSlots()
	return err
}

// StateBytes estimates the live keys and the row kept for each, with the
// key's slot index (StateSizer).
func (n *normalizeOp) StateBytes() int64 {
	return n.parts.bytes() + n.store.bytes() + int64(n.parts.count)*4
}

func (n *normalizeOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (n *normalizeOp) EndInput(int, Output) error { return nil }

func (n *normalizeOp) Snapshot() ([]byte, error) {
	return n.snapshot(), nil
}

func (n *normalizeOp) Restore(state []byte) error {
	return n.restore(state, n.ctx)
}

func (n *normalizeOp) Close() error {
	n.releaseSlots()
	return nil
}
