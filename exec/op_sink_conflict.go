package exec

import (
	"cmp"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The conflict-resolving sink materializer is the sink upsert materializer
// (KindSinkUpsertMaterializer) for INSERT ... ON CONFLICT DO NOTHING and
// DO ERROR (SinkUpsertMaterializerSpec.Conflict), after Flink's
// WatermarkCompactingSinkMaterializer. Its input is partitioned by the
// sink's primary key; rows of one primary key may come from different
// upsert keys of the query (UpsertKey columns; whole rows without them).
//
// It buffers the changes of each primary key and resolves them when the
// watermark advances (and at the end of input): changes travelling
// different paths through the job (a -U after the +I of another upsert
// key) have then all arrived, so a transient overlap is not a conflict.
// Eddy's batches carry no per-row timestamp, so every buffered change is
// resolved at each watermark rather than those up to it. Resolving folds
// the buffered changes per upsert key in arrival order (the last +I/+U
// stands, a -U/-D removes) and compares the result with the row the sink
// holds for the key:
//
//   - the holder's upsert key still has a row: it stays (a +U when it
//     changed); a row of any other upsert key is a conflict;
//   - otherwise the first other upsert key with a row takes over (+I, or
//     +U of a key whose old row was retracted), and a second one is a
//     conflict; with none left, a retracted holder is deleted (-D).
//
// DO NOTHING drops the conflicting rows (they are never written, so their
// retractions later change nothing); DO ERROR fails the job. A key's state
// lives until its row is deleted: table.exec.state.ttl does not expire it
// yet.
//
// Snapshot: sections (appendSection): tag 0 is empty, tag kg+1 holds the
// keys of key group kg, each with its held row and its buffered changes,
// so a rescaled subtask restores exactly the keys the Hash exchange sends
// it.

// pendingChange is a buffered input row: its kind and its slot in store.
type pendingChange struct {
	kind connector.RowKind
	slot int32
}

// upsertGroup is the net effect of the buffered changes of one upsert key:
// rep is a row of the key (compared by its upsert key columns), final the
// slot of its last added row or -1 when it was retracted.
type upsertGroup struct {
	rep, final int32
}

type sinkConflictMaterializer struct {
	spec SinkUpsertMaterializerSpec
	nIn  int
	// identity are the columns that tell one upsert key from another.
	identity []int
	ctx      *OperatorContext

	parts *partitionTable
	store *rowStore
	// held[p] is the slot of the row the sink holds for partition p (-1:
	// none); pending[p] the changes buffered since the last resolution.
	held    []int32
	pending [][]pendingChange
	// dirty lists the partitions with buffered changes; they are resolved
	// in the order their first change arrived, by the arrival numbers
	// (rowStore.seq) that next hands out and snapshots keep.
	dirty []int32
	next  int64

	in      joinBatch
	emit    *rowEmitter
	groups  []upsertGroup
	release []int32
}

func newSinkConflictMaterializer(spec OperatorSpec, s SinkUpsertMaterializerSpec, ctx *OperatorContext) (Operator, error) {
	m := &sinkConflictMaterializer{spec: s, ctx: ctx, nIn: spec.Schema.Len()}
	if s.Conflict != "NOTHING" && s.Conflict != "ERROR" {
		return nil, errs.New(errs.InvalidPlan, "sink upsert materializer: unknown conflict strategy %q", s.Conflict)
	}
	m.identity = s.UpsertKey
	if len(m.identity) == 0 {
		m.identity = make([]int, m.nIn)
		for i := range m.identity {
			m.identity[i] = i
		}
	}
	for _, c := range m.identity {
		if c < 0 || c >= m.nIn {
			return nil, errs.New(errs.InvalidPlan, "sink upsert materializer: upsert key column %d out of range", c)
		}
	}
	kinds, _, err := storeKinds(spec.Schema, m.nIn, "sink upsert materializer")
	if err != nil {
		return nil, err
	}
	m.parts = newPartitionTable(s.Keys, kinds)
	m.store = newRowStore(kinds)
	m.emit = newRowEmitter(ctx.Mem, spec, m.nIn, false)
	return m, nil
}

func (m *sinkConflictMaterializer) Open(ctx *OperatorContext) error {
	m.ctx = ctx
	m.emit.mem = ctx.Mem
	return nil
}

// ProcessBatch only buffers: rows are resolved when the watermark moves.
func (m *sinkConflictMaterializer) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	if err := m.in.load(b, m.nIn, m.spec.Keys, !m.spec.InsertOnlyInput, false); err != nil {
		return errs.Wrap(errs.InternalError, err, "sink upsert materializer")
	}
	views := m.in.views
	for i, kind := range m.in.kinds {
		h := m.in.hashes[i]
		p := m.parts.find(h, views, i)
		if p < 0 {
			p = m.addPartition(h, views, i)
		}
		if len(m.pending[p]) == 0 {
			m.dirty = append(m.dirty, p)
		}
		m.pending[p] = append(m.pending[p], pendingChange{kind: kind, slot: m.store.put(views, i, m.next)})
		m.next++
	}
	return nil
}

func (m *sinkConflictMaterializer) addPartition(h uint64, views []colView, i int) int32 {
	p := m.parts.add(h, views, i, 0)
	m.held = growTo(m.held, int(m.parts.n))
	m.pending = growTo(m.pending, int(m.parts.n))
	m.held[p] = -1
	m.pending[p] = m.pending[p][:0]
	return p
}

// StateBytes estimates the live sink keys with their held slot and
// buffered changes (slice header), and the stored rows, held or
// buffered, each with its pending change entry (StateSizer).
func (m *sinkConflictMaterializer) StateBytes() int64 {
	return m.parts.bytes() + m.store.bytes() + int64(m.parts.count)*(4+24) + int64(m.store.live)*8
}

func (m *sinkConflictMaterializer) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if err := m.resolve(out); err != nil {
		return err
	}
	return out.EmitWatermark(wm)
}

func (m *sinkConflictMaterializer) EndInput(_ int, out Output) error { return m.resolve(out) }

// resolve applies the buffered changes of every dirty key and emits what
// the sink must see.
func (m *sinkConflictMaterializer) resolve(out Output) error {
	slices.SortFunc(m.dirty, func(a, b int32) int {
		return cmp.Compare(m.store.seq[m.pending[a][0].slot], m.store.seq[m.pending[b][0].slot])
	})
	for _, p := range m.dirty {
		if err := m.resolveKey(p); err != nil {
			m.emit.reset()
			return err
		}
	}
	m.dirty = m.dirty[:0]
	err := m.emit.flush(out, m.store, nil)
	m.release = m.store.releaseAll(m.release)
	return err
}

func (m *sinkConflictMaterializer) resolveKey(p int32) error {
	m.groups = m.groups[:0]
	for _, c := range m.pending[p] {
		g := m.group(c.slot)
		if c.kind.IsRetraction() {
			m.groups[g].final = -1
		} else {
			m.groups[g].final = c.slot
		}
	}
	old := m.held[p]
	holder, holderGroup := old, -1
	if old >= 0 {
		for g := range m.groups {
			if m.sameUpsertKey(m.groups[g].rep, old) {
				holderGroup, holder = g, m.groups[g].final
				break
			}
		}
	}
	// contender is the first other upsert key with a row; conflicts counts
	// them all.
	contender, conflicts := int32(-1), 0
	for g, grp := range m.groups {
		if g != holderGroup && grp.final >= 0 {
			if contender < 0 {
				contender = grp.final
			}
			conflicts++
		}
	}
	if m.spec.Conflict == "ERROR" && (holder >= 0 && conflicts > 0 || conflicts > 1) {
		return errs.New(errs.UniqueViolation, "ON CONFLICT DO ERROR: rows of different upsert keys were written for the same primary key of the sink")
	}
	switch {
	case holder >= 0:
		if holder != old {
			m.emit.add(connector.UpdateAfter, holder, -1, 0)
		}
	case contender >= 0:
		holder = contender
		kind := connector.Insert
		if old >= 0 {
			kind = connector.UpdateAfter
		}
		m.emit.add(kind, holder, -1, 0)
	case old >= 0:
		m.emit.add(connector.Delete, old, -1, 0)
	}
	// Every slot but the new holder's goes once the output is built.
	if old >= 0 && old != holder {
		m.release = append(m.release, old)
	}
	for _, c := range m.pending[p] {
		if c.slot != holder {
			m.release = append(m.release, c.slot)
		}
	}
	m.pending[p] = m.pending[p][:0]
	m.held[p] = holder
	if holder < 0 {
		m.parts.remove(p)
	}
	return nil
}

// group finds (or starts) the upsert key group of the row in slot sl.
func (m *sinkConflictMaterializer) group(sl int32) int {
	for g := range m.groups {
		if m.sameUpsertKey(m.groups[g].rep, sl) {
			return g
		}
	}
	m.groups = append(m.groups, upsertGroup{rep: sl, final: -1})
	return len(m.groups) - 1
}

func (m *sinkConflictMaterializer) sameUpsertKey(a, b int32) bool {
	for _, c := range m.identity {
		if !slotsEqual(&m.store.cols[c], a, &m.store.cols[c], b) {
			return false
		}
	}
	return true
}

func (m *sinkConflictMaterializer) Snapshot() ([]byte, error) {
	return snapshotKeyGroups(m.parts, func(*wbuf) {}, func(w *wbuf, p int32) {
		w.bool(m.held[p] >= 0)
		if m.held[p] >= 0 {
			m.store.encode(w, m.held[p])
		}
		w.uvarint(uint64(len(m.pending[p])))
		for _, c := range m.pending[p] {
			w.byte(byte(c.kind))
			m.store.encode(w, c.slot)
		}
	}), nil
}

// Restore reads what Snapshot wrote (several snapshots when rescaling) and
// drops the keys another subtask owns.
func (m *sinkConflictMaterializer) Restore(state []byte) error {
	defer func() { m.release = m.store.releaseAll(m.release) }()
	return restoreKeyGroups(state, m.ctx, m.parts, func(*rbuf) {}, func(r *rbuf, p int32, owned bool) error {
		m.held = growTo(m.held, int(m.parts.n))
		m.pending = growTo(m.pending, int(m.parts.n))
		m.held[p] = -1
		if r.bool() {
			m.held[p] = m.store.decode(r)
		}
		m.pending[p] = m.pending[p][:0]
		for range r.uvarint() {
			kind := connector.RowKind(r.byte())
			if r.err != nil {
				break
			}
			sl := m.store.decode(r)
			m.next = max(m.next, m.store.seq[sl]+1)
			m.pending[p] = append(m.pending[p], pendingChange{kind: kind, slot: sl})
		}
		if r.err != nil {
			return r.err
		}
		if !owned {
			if m.held[p] >= 0 {
				m.release = append(m.release, m.held[p])
			}
			for _, c := range m.pending[p] {
				m.release = append(m.release, c.slot)
			}
			m.pending[p] = m.pending[p][:0]
			m.parts.remove(p)
			return nil
		}
		if len(m.pending[p]) > 0 {
			m.dirty = append(m.dirty, p)
		}
		return nil
	})
}

func (m *sinkConflictMaterializer) Close() error {
	m.release = m.store.releaseAll(m.release)
	return nil
}
