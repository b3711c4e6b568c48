package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The regular streaming join (KindJoin), Flink's StreamingJoinOperator and
// StreamingSemiAntiJoinOperator. Each input keeps its rows in a joinStore
// as a multiset (distinct rows with multiplicities); the sides an outer
// join pads (and the left side of semi and anti joins) also keep, per
// row, how many rows of the other input it joins, to know when the
// NULL-padded row (or the semi/anti result) must be emitted or retracted.
//
// Output row kinds, exactly as Flink's operators (1.15+):
//
// Inner, left, right and full joins, for a row arriving on input "in"
// (the other input "other"; a side is outer when the join pads it:
// left for LEFT/FULL, right for RIGHT/FULL):
//
//	+I/+U arrives, no match:  in outer: +I[in, NULL]; else nothing.
//	+I/+U arrives, matches:   other outer: -D[NULL, o] for each match o
//	                          that had no match before; then the joined
//	                          rows, +I when in or other is outer, else
//	                          with the input's kind (+I or +U).
//	-U/-D arrives, no match:  in outer: -D[in, NULL]; else nothing.
//	-U/-D arrives, matches:   the joined rows, -D when in is outer, else
//	                          with the input's kind (-U or -D); then, other
//	                          outer: +I[NULL, o] for each match o that has
//	                          no match left.
//
// A match with multiplicity n produces n rows. Matches are emitted in
// the order the other input's rows arrived. An inner join of insert-only
// inputs therefore emits +I only.
//
// Semi and anti joins emit left rows only:
//
//	left row arrives:  semi: emitted with its own kind if it has a match;
//	                   anti: emitted with its own kind if it has none.
//	right +I/+U:       each left row going from 0 to 1 matches: semi +I,
//	                   anti -D (once per multiplicity).
//	right -U/-D:       each left row going from 1 to 0 matches: semi -D,
//	                   anti +I.
//
// A retraction of a row that is not in state (expired, say) still emits
// its retractions as above, as Flink does. Rows with a NULL in a key
// column never match (SQL equality) and are not kept in state. The
// Condition is evaluated a batch at a time over all
// candidate pairs of the batch before the rows update state in order.
//
// State TTL (StateTTLMillis, or per input InputStateTTLMillis from a
// STATE_TTL hint): a row not written for that long (processing time from
// OperatorContext.Clock) is dropped without output, as Flink's state TTL
// does; as in Flink the TTL is a minimum retention, the sweep that drops
// rows runs at most every TTL/8 of the shorter TTL.

func init() { RegisterOperator(KindJoin, newJoin) }

type join struct {
	spec     JoinSpec
	opSpec   OperatorSpec
	ctx      *OperatorContext
	clock    Clock
	semiAnti bool
	outer    [2]bool // the join pads input i with NULLs
	keys     [2][]int
	cl       [2]bool // input i is a changelog
	ncols    [2]int  // data columns per input, -1 until known
	stores   [2]*joinStore
	cond     *joinCondition
	out      *joinOutput
	// ttl is the state retention of each input's rows (0: forever).
	ttl [2]int64
	// nextSweep is the processing time of the next TTL sweep.
	nextSweep int64
	wm        inputWatermarks
	restored  bool // a snapshot header was restored

	jb    joinBatch
	pairs pairScratch
	emit  emitScratch
}

// pairScratch holds the candidate pairs of a batch: batch row, other
// input's slot, and whether the condition holds.
type pairScratch struct {
	in    []int32
	other []int32
	keep  []bool
	start []int32 // pairs of row i are [start[i], start[i+1])
}

// emitScratch collects output rows: kind, the arriving row (batch row or
// -1) and the other input's slot (or -1).
type emitScratch struct {
	kinds []connector.RowKind
	in    []int32
	other []int32
}

func (e *emitScratch) add(k connector.RowKind, in, other int32) {
	e.kinds = append(e.kinds, k)
	e.in = append(e.in, in)
	e.other = append(e.other, other)
}

func (e *emitScratch) reset() {
	e.kinds, e.in, e.other = e.kinds[:0], e.in[:0], e.other[:0]
}

func newJoin(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	j := &join{opSpec: spec, ncols: [2]int{-1, -1}, wm: newInputWatermarks()}
	if err := json.Unmarshal(spec.Spec, &j.spec); err != nil {
		return nil, fmt.Errorf("join spec: %w", err)
	}
	s := &j.spec
	if _, err := parseJoinType(s.Type, "inner", "left", "right", "full", "semi", "anti"); err != nil {
		return nil, err
	}
	if len(s.LeftKeys) != len(s.RightKeys) {
		return nil, errs.New(errs.InvalidPlan, "join spec: %d left keys, %d right keys", len(s.LeftKeys), len(s.RightKeys))
	}
	j.semiAnti = s.Type == "semi" || s.Type == "anti"
	j.outer = [2]bool{s.Type == "left" || s.Type == "full", s.Type == "right" || s.Type == "full"}
	j.keys = [2][]int{s.LeftKeys, s.RightKeys}
	j.cl = [2]bool{s.LeftChangelog, s.RightChangelog}
	j.ttl = [2]int64{s.StateTTLMillis, s.StateTTLMillis}
	if s.InputStateTTLMillis != nil {
		if len(s.InputStateTTLMillis) != 2 {
			return nil, errs.New(errs.InvalidPlan, "join spec: %d input state TTLs for 2 inputs", len(s.InputStateTTLMillis))
		}
		j.ttl = [2]int64(s.InputStateTTLMillis)
	}
	if j.ttl[0] < 0 || j.ttl[1] < 0 {
		return nil, errs.New(errs.InvalidPlan, "join spec: negative state TTL %v", j.ttl)
	}
	insertOnly := !s.LeftChangelog && !s.RightChangelog && (s.Type == "inner" || s.Type == "semi")
	if !spec.Changelog && !insertOnly {
		return nil, errs.New(errs.InvalidPlan, "join type %q over these inputs produces updates, but its output is declared insert-only", s.Type)
	}
	return j, nil
}

func (j *join) Open(ctx *OperatorContext) error {
	j.ctx = ctx
	j.clock = clockOf(ctx)
	cond, err := newJoinCondition(j.spec.Condition, ctx.Mem)
	if err != nil {
		return err
	}
	j.cond = cond
	nOut := j.opSpec.Schema.Len()
	nLeft := nOut
	if !j.semiAnti {
		nLeft = -1 // learnt from the first batch
	}
	j.out = newJoinOutput(ctx.Mem, j.opSpec, nLeft)
	if j.semiAnti {
		if err := j.setColumns(0, nOut); err != nil {
			return err
		}
	}
	return nil
}

// setColumns records that input in has n data columns and creates its
// store (and, for inner and outer joins, the other input's: the output
// schema holds both inputs' columns).
func (j *join) setColumns(in, n int) error {
	if j.ncols[in] >= 0 {
		if j.ncols[in] != n {
			return errs.Internalf("join input %d has %d columns, earlier %d", in, n, j.ncols[in])
		}
		return nil
	}
	fields := j.opSpec.Schema.Arrow().Fields()
	if j.semiAnti {
		if in == 0 {
			j.ncols[0] = n
			kinds, err := viewKinds(fields)
			if err != nil {
				return err
			}
			j.stores[0] = newJoinStore(kinds, j.keys[0], j.meta(0))
		}
		return nil // the right input's columns come with its first batch
	}
	if n > len(fields) {
		return errs.Internalf("join input %d has %d columns, the output only %d", in, n, len(fields))
	}
	j.ncols[in], j.ncols[1-in] = n, len(fields)-n
	j.out.nLeft = j.ncols[0]
	for side, fs := range [2][]arrow.Field{fields[:j.ncols[0]], fields[j.ncols[0]:]} {
		kinds, err := viewKinds(fs)
		if err != nil {
			return err
		}
		j.stores[side] = newJoinStore(kinds, j.keys[side], j.meta(side))
	}
	return nil
}

// meta is the per-row metadata input in's store keeps.
func (j *join) meta(in int) joinMeta {
	var m joinMeta
	if j.cl[in] {
		m |= metaRowHash
	}
	if j.outer[in] || j.semiAnti && in == 0 {
		m |= metaAssoc
	}
	if j.ttl[in] > 0 {
		m |= metaTouched
	}
	return m
}

func (j *join) ProcessBatch(in int, b arrow.RecordBatch, out Output) error {
	if in != 0 && in != 1 {
		return errs.Internalf("join has two inputs, got input %d", in)
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	ncols := int(b.NumCols())
	if j.cl[in] {
		ncols--
	}
	if j.ncols[in] < 0 {
		if j.semiAnti && in == 1 {
			kinds, err := viewKinds(b.Schema().Fields()[:ncols])
			if err != nil {
				return err
			}
			j.ncols[1] = ncols
			j.stores[1] = newJoinStore(kinds, j.keys[1], j.meta(1))
		} else if err := j.setColumns(in, ncols); err != nil {
			return err
		}
	}
	now := int64(0)
	if j.ttl[0] > 0 || j.ttl[1] > 0 {
		now = j.clock.NowMillis()
		j.expire(now)
	}
	jb := &j.jb
	if err := jb.load(b, j.ncols[in], j.keys[in], j.cl[in], j.cl[in]); err != nil {
		return err
	}
	if err := j.findPairs(in, n); err != nil {
		return err
	}
	j.emit.reset()
	if j.semiAnti {
		j.semiAntiRows(in, n, now)
	} else {
		j.joinRows(in, n, now)
	}
	return j.flush(in, out)
}

// findPairs collects the candidate pairs of every row of the batch with
// the other input's rows of equal key, and evaluates the condition over
// them in one batch.
func (j *join) findPairs(in, n int) error {
	jb, p, other := &j.jb, &j.pairs, j.stores[1-in]
	p.in, p.other, p.keep = p.in[:0], p.other[:0], p.keep[:0]
	p.start = resize(p.start, n+1)
	for i := range n {
		p.start[i] = int32(len(p.in))
		if jb.nullKey[i] || other == nil || other.live == 0 {
			continue
		}
		e := other.findKey(jb.hashes[i], jb.views, j.keys[in], i)
		if e < 0 {
			continue
		}
		for sl := other.entHead[e]; sl >= 0; sl = other.next[sl] {
			p.in = append(p.in, int32(i))
			p.other = append(p.other, sl)
			p.keep = append(p.keep, true)
		}
	}
	p.start[n] = int32(len(p.in))
	if j.cond == nil || len(p.in) == 0 {
		return nil
	}
	batchSide := rowSource{views: jb.views, rows: p.in}
	stateSide := rowSource{store: other, rows: p.other}
	if in == 0 {
		return j.cond.filter(j.ncols[0], batchSide, stateSide, p.keep)
	}
	return j.cond.filter(j.ncols[0], stateSide, batchSide, p.keep)
}

// addToState adds row i to input in's store (incrementing the
// multiplicity of an equal stored row of a changelog input) with assoc
// matches; rows with NULL keys are not stored.
func (j *join) addToState(in, i int, assoc, now int64) {
	jb, s := &j.jb, j.stores[in]
	if jb.nullKey[i] {
		return
	}
	h := jb.hashes[i]
	e := s.findKey(h, jb.views, j.keys[in], i)
	var sl int32 = -1
	if e >= 0 && j.cl[in] {
		sl = s.findRow(e, jb.rowHash[i], jb.views, i)
	}
	if sl >= 0 {
		s.count[sl]++
	} else {
		sl = s.addRow(h, e, jb.views, i, 0)
		if j.cl[in] {
			s.rowHash[sl] = jb.rowHash[i]
		}
	}
	if s.meta&metaAssoc != 0 {
		s.assoc[sl] = assoc
	}
	s.touch(sl, now)
}

// retractFromState removes one copy of row i from input in's store. A
// retraction of a row not in state (expired, or never seen) changes
// nothing, as in Flink.
func (j *join) retractFromState(in, i int) {
	jb, s := &j.jb, j.stores[in]
	if jb.nullKey[i] {
		return
	}
	e := s.findKey(jb.hashes[i], jb.views, j.keys[in], i)
	if e < 0 {
		return
	}
	sl := s.findRow(e, jb.rowHash[i], jb.views, i)
	if sl < 0 {
		return
	}
	if s.count[sl]--; s.count[sl] == 0 {
		s.removeSlot(sl)
	}
}

// joinRows runs inner and outer join semantics over the batch's rows in
// order (see the file comment).
func (j *join) joinRows(in, n int, now int64) {
	jb, p, other, em := &j.jb, &j.pairs, j.stores[1-in], &j.emit
	inOuter, otherOuter := j.outer[in], j.outer[1-in]
	for i := range n {
		kind := jb.kinds[i]
		var total int64
		for q := p.start[i]; q < p.start[i+1]; q++ {
			if p.keep[q] {
				total += other.count[p.other[q]]
			}
		}
		row := int32(i)
		if !kind.IsRetraction() {
			if total == 0 {
				if inOuter {
					em.add(connector.Insert, row, -1)
				}
				j.addToState(in, i, 0, now)
				continue
			}
			out := kind
			if inOuter || otherOuter {
				out = connector.Insert
			}
			if otherOuter {
				for q := p.start[i]; q < p.start[i+1]; q++ {
					if sl := p.other[q]; p.keep[q] {
						if other.assoc[sl] == 0 {
							for range other.count[sl] {
								em.add(connector.Delete, -1, sl)
							}
						}
						other.assoc[sl]++
						other.touch(sl, now)
					}
				}
			}
			for q := p.start[i]; q < p.start[i+1]; q++ {
				if sl := p.other[q]; p.keep[q] {
					for range other.count[sl] {
						em.add(out, row, sl)
					}
				}
			}
			j.addToState(in, i, total, now)
			continue
		}
		j.retractFromState(in, i)
		if total == 0 {
			if inOuter {
				em.add(connector.Delete, row, -1)
			}
			continue
		}
		out := kind
		if inOuter {
			out = connector.Delete
		}
		for q := p.start[i]; q < p.start[i+1]; q++ {
			if sl := p.other[q]; p.keep[q] {
				for range other.count[sl] {
					em.add(out, row, sl)
				}
			}
		}
		if otherOuter {
			for q := p.start[i]; q < p.start[i+1]; q++ {
				if sl := p.other[q]; p.keep[q] {
					if other.assoc[sl] == 1 {
						for range other.count[sl] {
							em.add(connector.Insert, -1, sl)
						}
					}
					other.assoc[sl]--
					other.touch(sl, now)
				}
			}
		}
	}
}

// semiAntiRows runs semi and anti join semantics over the batch's rows in
// order (see the file comment).
func (j *join) semiAntiRows(in, n int, now int64) {
	jb, p, other, em := &j.jb, &j.pairs, j.stores[1-in], &j.emit
	anti := j.spec.Type == "anti"
	for i := range n {
		kind := jb.kinds[i]
		if in == 0 {
			var total int64
			for q := p.start[i]; q < p.start[i+1]; q++ {
				if p.keep[q] {
					total += other.count[p.other[q]]
				}
			}
			if (total == 0) == anti {
				em.add(kind, int32(i), -1)
			}
			if kind.IsRetraction() {
				j.retractFromState(0, i)
			} else {
				j.addToState(0, i, total, now)
			}
			continue
		}
		if kind.IsRetraction() {
			j.retractFromState(1, i)
		} else {
			j.addToState(1, i, 0, now)
		}
		for q := p.start[i]; q < p.start[i+1]; q++ {
			sl := p.other[q]
			if !p.keep[q] {
				continue
			}
			if !kind.IsRetraction() {
				if other.assoc[sl] == 0 {
					k := connector.Insert
					if anti {
						k = connector.Delete
					}
					for range other.count[sl] {
						em.add(k, -1, sl)
					}
				}
				other.assoc[sl]++
			} else {
				if other.assoc[sl] == 1 {
					k := connector.Delete
					if anti {
						k = connector.Insert
					}
					for range other.count[sl] {
						em.add(k, -1, sl)
					}
				}
				other.assoc[sl]--
			}
			other.touch(sl, now)
		}
	}
}

// flush emits the collected output rows as one batch.
func (j *join) flush(in int, out Output) error {
	em := &j.emit
	batchSide := rowSource{views: j.jb.views, rows: em.in}
	stateSide := rowSource{store: j.stores[1-in], rows: em.other}
	if j.semiAnti {
		if in == 0 {
			return j.out.emit(out, em.kinds, batchSide, rowSource{})
		}
		return j.out.emit(out, em.kinds, stateSide, rowSource{})
	}
	if in == 0 {
		return j.out.emit(out, em.kinds, batchSide, stateSide)
	}
	return j.out.emit(out, em.kinds, stateSide, batchSide)
}

// expire drops the rows not written for their input's TTL, without
// output.
func (j *join) expire(now int64) {
	if now < j.nextSweep {
		return
	}
	next := int64(1<<63 - 1)
	oldest := next
	for side, s := range j.stores {
		ttl := j.ttl[side]
		if ttl <= 0 {
			continue
		}
		next = min(next, now+max(ttl/8, 1))
		// Rows written from now on expire at now+ttl at the earliest.
		oldest = min(oldest, now+ttl)
		if s == nil {
			continue
		}
		for sl := range s.count {
			if s.count[sl] == 0 {
				continue
			}
			if s.touched[sl]+ttl <= now {
				s.removeSlot(int32(sl))
			} else {
				oldest = min(oldest, s.touched[sl]+ttl)
			}
		}
	}
	j.nextSweep = max(next, oldest)
}

// A regular join neither buffers rows for time nor holds back
// watermarks: it forwards the minimum of its inputs' watermarks.
func (j *join) ProcessWatermark(in int, wm Watermark, out Output) error {
	if w, ok := j.wm.advance(in, wm); ok {
		return out.EmitWatermark(w)
	}
	return nil
}

func (j *join) EndInput(int, Output) error { return nil }

// stateRows is the number of distinct rows in state, per input (tests).
func (j *join) stateRows() [2]int { return liveRows(j.stores) }

func (j *join) Snapshot() ([]byte, error) {
	var w, hw wbuf
	hw.byte(1) // format version
	j.wm.encode(&hw)
	hw.varint(j.nextSweep)
	hw.varint(int64(j.ncols[0]))
	hw.varint(int64(j.ncols[1]))
	writeKinds(&hw, j.stores[0])
	writeKinds(&hw, j.stores[1])
	appendSection(&w, 0, hw.b)
	writeKeyGroups(&w, j.stores[0], j.stores[1])
	return w.b, nil
}

func (j *join) Restore(state []byte) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			if v := r.byte(); v != 1 {
				return errs.Internalf("join state has unknown format version %d", v)
			}
			j.wm.decode(r, !j.restored)
			if sweep := r.varint(); !j.restored || sweep < j.nextSweep {
				j.nextSweep = sweep
			}
			j.restored = true
			ncols := [2]int{int(r.varint()), int(r.varint())}
			for side := range 2 {
				kinds := readKinds(r)
				if kinds == nil || j.stores[side] != nil {
					continue
				}
				j.ncols[side] = ncols[side]
				j.stores[side] = newJoinStore(kinds, j.keys[side], j.meta(side))
			}
			if !j.semiAnti && j.ncols[0] >= 0 {
				j.out.nLeft = j.ncols[0]
			}
			return r.err
		}
		return readKeyGroup(r, j.ctx, nil, j.stores[0], j.stores[1])
	})
}

func (j *join) Close() error { return nil }
