package exec

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The event-time temporal join (KindTemporalJoin), Flink's
// TemporalRowTimeJoinOperator: `FROM l JOIN r FOR SYSTEM_TIME AS OF l.ts
// ON l.k = r.pk`. The right input is a versioned table: a changelog keyed
// by its primary key (the right join keys) with its own rowtime. The
// output is insert-only when the left input is; when the left input is a
// changelog (the output is declared one, OperatorSpec.Changelog, as the
// planner derives the join's mode from its left input) every output row
// keeps the kind of its left row, as in Flink.
//
// Left rows are buffered until the watermark (the minimum of both
// inputs') reaches their time. Then each joins the version of its key
// that was valid at its time: the right row with the latest time <= the
// left row's time. A delete (-D) as that version, or no version,
// means no match: an inner join drops the left row, a left join emits it
// padded with NULLs. Rows due at one watermark are emitted in arrival
// order, as Flink does. Right rows with equal key and time replace each
// other (the last one wins, as in Flink's state keyed by time). Every +I
// and +U of the right input is a version of its own; -D rows are versions
// that delete the key from their time on. The planner asks the right input
// for its updates without their -U (Flink's ONLY_UPDATE_AFTER), so the
// aggregates, deduplications, Top-Ns and upsert-source normalizations
// feeding it leave them out, and a DropUpdateBefore follows the other
// producers (retract sources read without a normalization); where the
// input cannot serve that (a filter over its updates, a join with a
// non-equi condition, a Top-N replacing rows of different keys at a
// position: changelog_mode.go) it sends -U/+U pairs, as EXPLAIN
// CHANGELOG_MODE then shows. The join skips those -U rows: an update's
// new version is its +U.
//
// Versions are dropped once the watermark passes a newer version of their
// key (a version <= the watermark hides all older ones), and a retraction
// is dropped once it is the oldest version left, so a deleted key leaves
// no state. Left rows arriving behind the watermark are joined at the next
// watermark with the versions still kept. Rows with a NULL key never
// match; right ones are not kept. The watermark is forwarded unchanged
// after the rows it made due.

func init() { RegisterOperator(KindTemporalJoin, newTemporalJoin) }

type temporalJoin struct {
	spec   TemporalJoinSpec
	opSpec OperatorSpec
	ctx    *OperatorContext
	keys   [2][]int
	times  [2]int
	ncols  [2]int
	stores [2]*joinStore
	// due orders the buffered left rows by time; versions orders the right
	// versions by time, for cleanup.
	due      expiryHeap
	versions expiryHeap
	cond     *joinCondition
	out      *joinOutput
	seq      int64
	wm       inputWatermarks
	restored bool // a snapshot header was restored

	jb     joinBatch
	rowT   []int64
	ready  []int32
	pairL  []int32
	pairR  []int32
	keep   []bool
	emit   emitScratch
	joined []int32
}

func newTemporalJoin(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	j := &temporalJoin{opSpec: spec, ncols: [2]int{-1, -1}, wm: newInputWatermarks()}
	if err := json.Unmarshal(spec.Spec, &j.spec); err != nil {
		return nil, fmt.Errorf("temporal join spec: %w", err)
	}
	s := &j.spec
	if _, err := parseJoinType(s.Type, "inner", "left"); err != nil {
		return nil, err
	}
	if len(s.LeftKeys) != len(s.RightKeys) || len(s.LeftKeys) == 0 {
		return nil, errs.New(errs.InvalidPlan, "temporal join spec: %d left keys, %d right keys; the right keys must be the versioned table's primary key",
			len(s.LeftKeys), len(s.RightKeys))
	}
	j.keys = [2][]int{s.LeftKeys, s.RightKeys}
	j.times = [2]int{s.LeftTimeCol, s.RightTimeCol}
	return j, nil
}

func (j *temporalJoin) Open(ctx *OperatorContext) error {
	j.ctx = ctx
	cond, err := newJoinCondition(j.spec.Condition, ctx.Mem)
	if err != nil {
		return err
	}
	j.cond = cond
	j.out = newJoinOutput(ctx.Mem, j.opSpec, -1)
	return nil
}

func (j *temporalJoin) setColumns(in, n int) error {
	if known, err := checkColumns("temporal join", j.ncols, in, n); known {
		return err
	}
	// The left store keeps each row's kind (metaAssoc).
	return splitColumns("temporal join", j.opSpec.Schema.Arrow().Fields(), in, n, j.keys,
		[2]joinMeta{metaTime | metaAssoc, metaTime}, &j.ncols, &j.stores, j.out)
}

func (j *temporalJoin) ProcessBatch(in int, b arrow.RecordBatch, _ Output) error {
	if in != 0 && in != 1 {
		return errs.Internalf("temporal join has two inputs, got input %d", in)
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	changelog := in == 1 && j.spec.RightChangelog || in == 0 && j.opSpec.Changelog
	ncols := int(b.NumCols())
	if changelog {
		ncols--
	}
	if err := j.setColumns(in, ncols); err != nil {
		return err
	}
	j.rowT = resize(j.rowT, n)
	if err := rowtimeMillis(b.Column(j.times[in]), j.rowT, "temporal join"); err != nil {
		return err
	}
	jb := &j.jb
	if err := jb.load(b, ncols, j.keys[in], changelog, false); err != nil {
		return err
	}
	s := j.stores[in]
	for i := range n {
		h, t := jb.hashes[i], j.rowT[i]
		j.seq++
		if in == 0 {
			// Left rows with a NULL key are buffered too: a left join pads them.
			sl := s.addRow(h, s.findKey(h, jb.views, j.keys[0], i), jb.views, i, j.seq)
			s.time[sl] = t
			s.assoc[sl] = int64(jb.kinds[i]) // the left row's kind
			j.due.push(expiryItem{at: t, seq: j.seq, slot: sl})
			continue
		}
		// An update's -U is not a version: it carries the old row's time,
		// and the +U that follows starts the new version at its own time.
		// Applied as a version it would replace the old one at that time
		// and erase it for the whole period it was valid (Flink's planner
		// asks the versioned input for ONLY_UPDATE_AFTER for this reason;
		// the producers that still send -U are listed above).
		if jb.nullKey[i] || jb.kinds[i] == connector.UpdateBefore {
			continue
		}
		e := s.findKey(h, jb.views, j.keys[1], i)
		after := int32(-1)
		if e >= 0 {
			after = s.entTail[e]
			for after >= 0 && s.time[after] > t {
				after = s.prev[after]
			}
			if after >= 0 && s.time[after] == t {
				old := after
				after = s.prev[old]
				s.removeSlot(old)
				if s.entHead[e] < 0 { // that was the key's only version
					e = -1
				}
			}
		}
		sl := s.insertRow(h, e, jb.views, i, j.seq, after)
		s.time[sl], s.flag[sl] = t, jb.kinds[i].IsRetraction()
		j.versions.push(expiryItem{at: t, seq: j.seq, slot: sl})
	}
	return nil
}

func (j *temporalJoin) ProcessWatermark(in int, wm Watermark, out Output) error {
	w, ok := j.wm.advance(in, wm)
	if !ok {
		return nil
	}
	if err := j.fire(int64(w), out); err != nil {
		return err
	}
	return out.EmitWatermark(w)
}

// fire joins and emits the left rows due at watermark w, then drops the
// versions w made obsolete.
func (j *temporalJoin) fire(w int64, out Output) error {
	left, right := j.stores[0], j.stores[1]
	j.ready = j.ready[:0]
	for j.due.due(w) {
		j.ready = append(j.ready, j.due.pop().slot)
	}
	if len(j.ready) > 0 {
		slices.SortFunc(j.ready, func(a, b int32) int { return int(left.seq[a] - left.seq[b]) })
		j.pairL, j.pairR, j.keep = j.pairL[:0], j.pairR[:0], j.keep[:0]
		j.joined = resize(j.joined, len(j.ready))
		for r, sl := range j.ready {
			j.joined[r] = -1
			e := right.findKeyOfSlot(left, sl)
			if e < 0 {
				continue
			}
			v := right.entTail[e]
			for v >= 0 && right.time[v] > left.time[sl] {
				v = right.prev[v]
			}
			if v < 0 || right.flag[v] {
				continue
			}
			j.joined[r] = int32(len(j.pairL))
			j.pairL = append(j.pairL, sl)
			j.pairR = append(j.pairR, v)
			j.keep = append(j.keep, true)
		}
		err := j.cond.filter(j.ncols[0], rowSource{store: left, rows: j.pairL}, rowSource{store: right, rows: j.pairR}, j.keep)
		if err != nil {
			return err
		}
		em := &j.emit
		em.reset()
		for r, sl := range j.ready {
			kind := connector.RowKind(left.assoc[sl])
			if q := j.joined[r]; q >= 0 && j.keep[q] {
				em.add(kind, sl, j.pairR[q])
			} else if j.spec.Type == "left" {
				em.add(kind, sl, -1)
			}
		}
		if err := j.out.emit(out, em.kinds, rowSource{store: left, rows: em.in}, rowSource{store: right, rows: em.other}); err != nil {
			return err
		}
		for _, sl := range j.ready {
			left.removeSlot(sl)
		}
	}
	for j.versions.due(w) {
		it := j.versions.pop()
		if right.count[it.slot] == 0 || right.seq[it.slot] != it.seq {
			continue // replaced or already dropped
		}
		for p := right.prev[it.slot]; p >= 0; p = right.prev[it.slot] {
			right.removeSlot(p)
		}
		if right.flag[it.slot] {
			right.removeSlot(it.slot)
		}
	}
	return nil
}

// HeldInput holds the input whose watermark is ahead of the other's
// (Flink's InputSelectable; the task ignores it while the other input
// cannot advance on its own). A probe row waits until the combined
// watermark, the lagging input's, reaches its time, so while the probe
// input leads its rows of the lead wait in state; while the versioned
// input leads, every version newer than the probe's watermark is kept,
// since a probe row may still need it. Either way state grows with the
// lead, and no output waits for the leading input: rows are emitted only
// as the lagging watermark advances.
func (j *temporalJoin) HeldInput() int {
	return j.wm.leading()
}

func (j *temporalJoin) EndInput(int, Output) error { return nil }

func (j *temporalJoin) stateRows() [2]int { return liveRows(j.stores) }

func (j *temporalJoin) Snapshot() ([]byte, error) {
	var w, hw wbuf
	hw.byte(1)
	hw.varint(j.seq)
	j.wm.encode(&hw)
	hw.varint(int64(j.ncols[0]))
	appendSection(&w, 0, hw.b)
	writeKeyGroups(&w, j.stores)
	return w.b, nil
}

func (j *temporalJoin) Restore(state []byte) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			if v := r.byte(); v != 1 {
				return errs.Internalf("temporal join state has unknown format version %d", v)
			}
			j.seq = max(j.seq, r.varint())
			j.wm.decode(r, !j.restored)
			j.restored = true
			if nLeft := int(r.varint()); nLeft >= 0 && r.err == nil {
				return j.setColumns(0, nLeft)
			}
			return r.err
		}
		return readKeyGroup(r, j.ctx, func(in int, sl int32) {
			s := j.stores[in]
			it := expiryItem{at: s.time[sl], seq: s.seq[sl], slot: sl}
			if in == 0 {
				j.due.push(it)
			} else {
				j.versions.push(it)
			}
		}, j.stores[0], j.stores[1])
	})
}

// StateBytes estimates the buffered left rows, the right versions and
// the queues that release and clean them up (StateSizer).
func (j *temporalJoin) StateBytes() int64 {
	return joinStoresBytes(j.stores) + j.due.bytes() + j.versions.bytes()
}

func (j *temporalJoin) Close() error { return nil }
