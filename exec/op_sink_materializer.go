package exec

import (
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The sink upsert materializer (KindSinkUpsertMaterializer, spec
// SinkUpsertMaterializerSpec in specs.go) sits before an upsert sink whose
// primary key is not a key of the query's changelog, as Flink's
// SinkUpsertMaterializer does (ON CONFLICT DO DEDUPLICATE, or no clause;
// DO NOTHING and DO ERROR are op_sink_conflict.go). An insert-only query
// (InsertOnlyInput) is all +I rows. Several rows of the query may then share a
// sink key at once (two source rows both mapped to 'BOB'); an upsert sink
// keeps one row per key, so retracting one of them must restore the other
// rather than delete the key. Per sink key it keeps the rows added and not
// retracted, in arrival order, and for each input row
//
//   - +I or +U appends the row and emits it as +I when the key had no row,
//     else as +U;
//   - -U or -D removes the first kept row equal to it (all columns). When
//     none is left it emits -D(row); when the removed row was the last one
//     it emits +U of the new last row; otherwise the sink's row does not
//     change and nothing is emitted. A retraction of a row not kept (its
//     state expired or never existed) emits nothing.
//
// State TTL drops a key not written for StateTTLMillis of processing time
// (the context's Clock), as Flink expires the materializer's state; a
// retraction for an expired key then emits nothing. Watermarks pass
// through.
//
// Snapshot: sections (appendSection): tag 0 holds the last TTL sweep time,
// tag kg+1 the keys of key group kg, each with its last write time and its
// rows, so a rescaled subtask restores exactly the keys the Hash exchange
// sends it.

func init() { RegisterOperator(KindSinkUpsertMaterializer, newSinkUpsertMaterializer) }

type sinkMaterializer struct {
	spec  SinkUpsertMaterializerSpec
	nIn   int
	ctx   *OperatorContext
	clock Clock

	// parts finds a key's partition; rows[p] are the slots in store of the
	// rows kept for partition p, oldest first.
	parts *partitionTable
	store *rowStore
	rows  [][]int32

	in   joinBatch
	emit *rowEmitter
	// release holds the slots of removed rows until the batch's output,
	// which may gather them, is built.
	release   []int32
	lastSweep int64
}

func newSinkUpsertMaterializer(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	m := &sinkMaterializer{ctx: ctx}
	if err := json.Unmarshal(spec.Spec, &m.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "sink upsert materializer spec")
	}
	if !spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "sink upsert materializer: the output must be declared a changelog")
	}
	m.nIn = spec.Schema.Len()
	if len(m.spec.Keys) == 0 {
		return nil, errs.New(errs.InvalidPlan, "sink upsert materializer: no key columns")
	}
	for _, k := range m.spec.Keys {
		if k < 0 || k >= m.nIn {
			return nil, errs.New(errs.InvalidPlan, "sink upsert materializer: key %d out of range", k)
		}
	}
	if m.spec.Conflict != "" {
		// ON CONFLICT DO NOTHING / DO ERROR (op_sink_conflict.go).
		return newSinkConflictMaterializer(spec, m.spec, ctx)
	}
	if m.spec.StateTTLMillis < 0 {
		return nil, errs.New(errs.InvalidPlan, "sink upsert materializer: negative state TTL %d", m.spec.StateTTLMillis)
	}
	kinds, _, err := storeKinds(spec.Schema, m.nIn, "sink upsert materializer")
	if err != nil {
		return nil, err
	}
	m.parts = newPartitionTable(m.spec.Keys, kinds)
	m.store = newRowStore(kinds)
	m.emit = newRowEmitter(ctx.Mem, spec, m.nIn, false)
	return m, nil
}

func (m *sinkMaterializer) Open(ctx *OperatorContext) error {
	m.ctx = ctx
	m.emit.mem = ctx.Mem
	m.clock = clockOf(ctx)
	return nil
}

func (m *sinkMaterializer) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if err := m.in.load(b, m.nIn, m.spec.Keys, !m.spec.InsertOnlyInput, false); err != nil {
		return errs.Wrap(errs.InternalError, err, "sink upsert materializer")
	}
	var now int64
	ttl := m.spec.StateTTLMillis
	if ttl > 0 {
		now = m.clock.NowMillis()
		sweepParts(m.parts, &m.lastSweep, ttl, now, m.drop)
	}
	views := m.in.views
	for i, kind := range m.in.kinds {
		h := m.in.hashes[i]
		p := m.parts.find(h, views, i)
		if p >= 0 && m.parts.expired(p, ttl, now) {
			m.drop(p)
			p = -1
		}
		switch kind {
		case connector.Insert, connector.UpdateAfter:
			out := connector.UpdateAfter
			if p < 0 {
				p = m.parts.add(h, views, i, now)
				m.rows = growTo(m.rows, int(m.parts.n))
				m.rows[p] = m.rows[p][:0]
				out = connector.Insert
			}
			sl := m.store.put(views, i, 0)
			m.rows[p] = append(m.rows[p], sl)
			m.parts.touched[p] = now
			m.emit.add(out, sl, -1, 0)
		case connector.UpdateBefore, connector.Delete:
			if p < 0 {
				continue
			}
			kept := m.rows[p]
			at := -1
			for j, sl := range kept {
				if m.store.equalsRow(sl, views, i) {
					at = j
					break
				}
			}
			if at < 0 {
				continue
			}
			removed := kept[at]
			m.release = append(m.release, removed)
			kept = append(kept[:at], kept[at+1:]...)
			m.rows[p] = kept
			m.parts.touched[p] = now
			switch {
			case len(kept) == 0:
				m.emit.add(connector.Delete, removed, -1, 0)
				m.parts.remove(p)
			case at == len(kept):
				m.emit.add(connector.UpdateAfter, kept[len(kept)-1], -1, 0)
			}
		default:
			return errs.Internalf("sink upsert materializer: input row has kind %d", kind)
		}
	}
	err := m.emit.flush(out, m.store, nil)
	m.releaseSlots()
	return err
}

// drop forgets partition p; its rows' slots are released with the batch.
func (m *sinkMaterializer) drop(p int32) {
	m.release = append(m.release, m.rows[p]...)
	m.rows[p] = m.rows[p][:0]
	m.parts.remove(p)
}

func (m *sinkMaterializer) releaseSlots() {
	m.release = m.store.releaseAll(m.release)
}

// StateBytes estimates the live sink keys with their row lists (slice
// header) and the rows kept for them, each with its slot index in its
// key's list (StateSizer).
func (m *sinkMaterializer) StateBytes() int64 {
	return m.parts.bytes() + m.store.bytes() + int64(m.parts.count)*24 + int64(m.store.live)*4
}

func (m *sinkMaterializer) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (m *sinkMaterializer) EndInput(int, Output) error { return nil }

func (m *sinkMaterializer) Snapshot() ([]byte, error) {
	return snapshotKeyGroups(m.parts, func(w *wbuf) { w.varint(m.lastSweep) },
		func(w *wbuf, p int32) { m.store.encodeSlots(w, m.rows[p]) }), nil
}

// Restore reads what Snapshot wrote (several snapshots when rescaling) and
// drops the keys another subtask owns.
func (m *sinkMaterializer) Restore(state []byte) error {
	defer m.releaseSlots()
	return restoreKeyGroups(state, m.ctx, m.parts, func(r *rbuf) { m.lastSweep = max(m.lastSweep, r.varint()) },
		func(r *rbuf, p int32, owned bool) error {
			m.rows = growTo(m.rows, int(m.parts.n))
			m.rows[p] = m.store.decodeSlots(r, m.rows[p][:0])
			if r.err == nil && !owned {
				m.drop(p)
			}
			return r.err
		})
}

func (m *sinkMaterializer) Close() error {
	m.releaseSlots()
	return nil
}
