package exec

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The regular streaming join (KindJoin), Flink's StreamingJoinOperator and
// StreamingSemiAntiJoinOperator. Each input keeps its rows in a joinStore,
// one row per unique key or as a multiset (the state views below); the
// sides an outer
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
// Each input's state is one of Flink's JoinRecordStateViews, chosen by
// the unique (upsert) key the plan gives the input (JoinSpec.LeftUniqueKey,
// RightUniqueKey):
//
//	JoinKeyContainsUniqueKey  the key lies within the join keys: at most
//	                          one row per join key.
//	HasUniqueKey              another key: at most one row per key within
//	                          each join key, found by the key's hash.
//	NoUniqueKey               the rows as a multiset (distinct rows with
//	                          multiplicities), a retraction removing one
//	                          copy of an equal row.
//
// In a keyed view +U replaces the row of its key and -U/-D remove it,
// whatever its other columns hold, so a keyed input may send +U without
// its -U (Flink's UPDATE_BEFORE elimination): the join then emits the
// joined rows of the new version only, which its consumer upserts by key.
// Such a replacement does not change which rows of the other input the
// row joins, as the optimizer lets an input drop its -U only into a join
// without a non-equi condition; the other input's match counts (outer
// joins, semi and anti joins) therefore stay as they are. A +I for a key
// that has its row already (a source's NOT ENFORCED primary key that its
// changelog violates) adds a row instead: that key's rows become a
// multiset, so the result does not depend on how the inputs interleave
// (keyedRow).
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
	view     [2]joinView
	uk       [2][]int // unique key of input i in a keyed view
	cl       [2]bool  // input i is a changelog
	ncols    [2]int   // data columns per input, -1 until known
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

// joinView is the state view of one input (see the file comment).
type joinView uint8

const (
	viewNoUniqueKey joinView = iota
	viewJoinKeyContainsUniqueKey
	viewHasUniqueKey
)

// String is the view's name in Flink's EXPLAIN (leftInputSpec=[...]).
func (v joinView) String() string {
	switch v {
	case viewJoinKeyContainsUniqueKey:
		return "JoinKeyContainsUniqueKey"
	case viewHasUniqueKey:
		return "HasUniqueKey"
	}
	return "NoUniqueKey"
}

// joinViewOf chooses the view of an input with join keys keys and unique
// key uk (nil: none), as Flink's JoinUtil.analyzeJoinInput.
func joinViewOf(keys, uk []int) joinView {
	switch {
	case len(uk) == 0:
		return viewNoUniqueKey
	case containsEvery(keys, uk):
		return viewJoinKeyContainsUniqueKey
	}
	return viewHasUniqueKey
}

// JoinInputSpec is the name of the state view a regular join keeps for an
// input with join keys keys and unique key uniqueKey (nil: none), as
// Flink prints it in its join's leftInputSpec and rightInputSpec.
func JoinInputSpec(keys, uniqueKey []int) string { return joinViewOf(keys, uniqueKey).String() }

func containsEvery(set, cols []int) bool {
	for _, c := range cols {
		if !slices.Contains(set, c) {
			return false
		}
	}
	return true
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
	j.uk = [2][]int{s.LeftUniqueKey, s.RightUniqueKey}
	for in := range 2 {
		for _, c := range j.uk[in] {
			if c < 0 {
				return nil, errs.New(errs.InvalidPlan, "join spec: input %d has unique key column %d", in, c)
			}
		}
		j.view[in] = joinViewOf(j.keys[in], j.uk[in])
	}
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
	if !j.semiAnti && n <= len(fields) {
		var ncols [2]int
		ncols[in], ncols[1-in] = n, len(fields)-n
		if err := j.checkUniqueKeys(ncols); err != nil {
			return err
		}
	}
	if j.semiAnti {
		if in == 0 {
			if err := j.checkUniqueKey(0, n); err != nil {
				return err
			}
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

// checkUniqueKeys checks the inputs' unique keys against their column
// counts ncols.
func (j *join) checkUniqueKeys(ncols [2]int) error {
	for in := range 2 {
		if err := j.checkUniqueKey(in, ncols[in]); err != nil {
			return err
		}
	}
	return nil
}

func (j *join) checkUniqueKey(in, ncols int) error {
	for _, c := range j.uk[in] {
		if c >= ncols {
			return errs.New(errs.InvalidPlan, "join spec: input %d has unique key column %d, but %d columns", in, c, ncols)
		}
	}
	return nil
}

// meta is the per-row metadata input in's store keeps.
func (j *join) meta(in int) joinMeta {
	var m joinMeta
	// rowHash finds the stored row a change applies to: by its unique key
	// beside the join key, or by all columns in a multiset of changes.
	if j.view[in] == viewHasUniqueKey || j.view[in] == viewNoUniqueKey && j.cl[in] {
		m |= metaRowHash
	}
	if j.outer[in] || j.semiAnti && in == 0 {
		m |= metaAssoc
	}
	if j.ttl[in] > 0 {
		m |= metaTouched
	}
	if j.view[in] != viewNoUniqueKey {
		m |= metaMulti
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
			if err := j.checkUniqueKey(1, ncols); err != nil {
				return err
			}
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
	if err := jb.loadRowKey(b, j.ncols[in], j.keys[in], j.cl[in], j.rowCols(in)); err != nil {
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
	j.stores[in].copyPending(jb.views)
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
		if other != nil {
			other.touchAhead(jb.hashes, i)
		}
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
	batchSide := rowSource{views: jb.views, cols: jb.cols, rows: p.in}
	stateSide := rowSource{store: other, rows: p.other}
	if in == 0 {
		return j.cond.filter(j.ncols[0], batchSide, stateSide, p.keep)
	}
	return j.cond.filter(j.ncols[0], stateSide, batchSide, p.keep)
}

// rowCols are the columns rowHash hashes for input in (nil: none).
func (j *join) rowCols(in int) []int {
	switch {
	case j.view[in] == viewHasUniqueKey:
		return j.uk[in]
	case j.view[in] == viewNoUniqueKey && j.cl[in]:
		return j.allCols(in)
	}
	return nil
}

func (j *join) allCols(in int) []int {
	jb := &j.jb
	if len(jb.allCols) != j.ncols[in] {
		jb.allCols = make([]int, j.ncols[in])
		for c := range jb.allCols {
			jb.allCols[c] = c
		}
	}
	return jb.allCols
}

// stored finds the state a change of row i of input in applies to: its
// key entry (or -1) and the stored row (or -1) — in a keyed view the row
// of its unique key, in a multiset of changes an equal row. Rows with a
// NULL key have none: they are never stored.
func (j *join) stored(in, i int) (e, sl int32) {
	jb, s := &j.jb, j.stores[in]
	if jb.nullKey[i] {
		return -1, -1
	}
	e = s.findKey(jb.hashes[i], jb.views, j.keys[in], i)
	if e < 0 {
		return -1, -1
	}
	switch {
	case j.view[in] != viewNoUniqueKey:
		return e, j.keyedRow(in, e, i)
	case j.cl[in]:
		return e, s.findRow(e, jb.rowHash[i], jb.views, i, nil)
	}
	return e, -1
}

// keyedRow finds the row of keyed view in (key entry e) a change of row
// i applies to, or -1 when the change adds a row. Such a view holds one
// row per unique key while the input honours its key. A source's PRIMARY
// KEY is NOT ENFORCED, though, and its changelog may insert a key twice
// (+I Bob, +I John, -D John): replacing the key's row then would make the
// result depend on how the inputs interleave. So a key that receives a
// second row degrades to a multiset of its rows (joinStore.multi) until
// all of them are gone:
//
//	+I     adds a row, degrading the key when it holds one already;
//	+U     replaces the key's row, or adds one to a degraded key (its -U
//	       removed the old version);
//	-U/-D  remove the row equal to the retracted one, else the key's
//	       latest row (an upsert's delete may carry only the key).
//
// Inputs that send +U without its -U have their key guaranteed by an
// operator (aggregate, rank, ChangelogNormalize), so their keys never
// degrade and +U always replaces.
func (j *join) keyedRow(in int, e int32, i int) int32 {
	jb, s := &j.jb, j.stores[in]
	kind := jb.kinds[i]
	if kind == connector.Insert {
		return -1
	}
	retract := kind.IsRetraction()
	latest := int32(-1)
	if j.view[in] == viewJoinKeyContainsUniqueKey {
		// The join key holds the unique key: the entry's rows are the
		// key's rows, the latest at its tail.
		latest = s.entTail[e]
		if retract && s.multi[latest] {
			for sl := latest; sl >= 0; sl = s.prev[sl] {
				if s.rowEquals(sl, jb.views, i, nil) {
					return sl
				}
			}
		}
	} else {
		// The key's rows, latest first: setRowHash indexes a row in front
		// of the earlier ones of its hash.
		for sl := s.rows.find(jb.rowHash[i]); sl >= 0; sl = s.rowNext[sl] {
			if s.ent[sl] != e || !s.rowEquals(sl, jb.views, i, j.uk[in]) {
				continue
			}
			if latest < 0 {
				latest = sl
				if !retract || !s.multi[sl] {
					break
				}
			}
			if s.rowEquals(sl, jb.views, i, nil) {
				return sl
			}
		}
	}
	if !retract && latest >= 0 && s.multi[latest] {
		return -1
	}
	return latest
}

// degrade marks the rows of the unique key of slot sl, just added to
// keyed view in, as a multiset when the key holds other rows (keyedRow).
func (j *join) degrade(in int, sl int32) {
	s := j.stores[in]
	e := s.ent[sl]
	if j.view[in] == viewJoinKeyContainsUniqueKey {
		if s.entHead[e] == sl && s.entTail[e] == sl {
			return
		}
		for r := s.entHead[e]; r >= 0; r = s.next[r] {
			s.multi[r] = true
		}
		return
	}
	// sl heads its rowHash chain; the key's other rows follow it.
	for r := s.rowNext[sl]; r >= 0; r = s.rowNext[r] {
		if s.ent[r] != e {
			continue
		}
		same := true
		for _, c := range j.uk[in] {
			if !slotsEqual(&s.cols[c], r, &s.cols[c], sl) {
				same = false
				break
			}
		}
		if same {
			s.multi[r], s.multi[sl] = true, true
		}
	}
}

// upserts reports whether storing a row of input in found at slot sl
// replaces a row of its key: an update arriving without its -U.
func (j *join) upserts(in int, sl int32) bool {
	return sl >= 0 && j.view[in] != viewNoUniqueKey
}

// addToState stores row i of input in, found by stored at (e, sl), with
// assoc matches: a keyed view replaces the row of its key, a multiset
// increments the multiplicity of an equal row (keyedRow says when a keyed
// view adds a row instead). Rows with NULL keys are not stored.
func (j *join) addToState(in, i int, e, sl int32, assoc, now int64) {
	jb, s := &j.jb, j.stores[in]
	if jb.nullKey[i] {
		return
	}
	switch {
	case j.upserts(in, sl):
		s.replaceRow(sl, jb.views, i)
	case sl >= 0:
		s.count[sl]++
	case s.meta&(metaRowHash|metaMulti) == 0:
		// An insert-only input without a unique key: nothing reads the
		// stored row's other columns before the batch is done.
		sl = s.addRowKeys(jb.hashes[i], e, jb.views, i, 0)
	default:
		sl = s.addRow(jb.hashes[i], e, jb.views, i, 0)
		if s.meta&metaRowHash != 0 {
			s.setRowHash(sl, jb.rowHash[i])
		}
		if e >= 0 && s.meta&metaMulti != 0 {
			j.degrade(in, sl)
		}
	}
	if s.meta&metaAssoc != 0 {
		s.assoc[sl] = assoc
	}
	s.touch(sl, now)
}

// retractFromState removes the stored row sl (from stored) a retraction
// applies to: a keyed view's row (keyedRow), or one copy of an equal row.
// A retraction of a row not in state (expired, or never seen) changes
// nothing, as in Flink.
func (j *join) retractFromState(in int, sl int32) {
	s := j.stores[in]
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
		j.stores[in].touchAhead(jb.hashes, i)
		kind := jb.kinds[i]
		var total int64
		for q := p.start[i]; q < p.start[i+1]; q++ {
			if p.keep[q] {
				total += other.count[p.other[q]]
			}
		}
		row := int32(i)
		e, sl := j.stored(in, i)
		if !kind.IsRetraction() {
			if total == 0 {
				if inOuter {
					em.add(connector.Insert, row, -1)
				}
				j.addToState(in, i, e, sl, 0, now)
				continue
			}
			out := kind
			if inOuter || otherOuter {
				out = connector.Insert
			}
			// An upsert's matches already count the row it replaces.
			if otherOuter && !j.upserts(in, sl) {
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
			j.addToState(in, i, e, sl, total, now)
			continue
		}
		j.retractFromState(in, sl)
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
		j.stores[in].touchAhead(jb.hashes, i)
		kind := jb.kinds[i]
		e, sl := j.stored(in, i)
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
				j.retractFromState(0, sl)
			} else {
				j.addToState(0, i, e, sl, total, now)
			}
			continue
		}
		if kind.IsRetraction() {
			j.retractFromState(1, sl)
		} else {
			upsert := j.upserts(1, sl)
			j.addToState(1, i, e, sl, 0, now)
			if upsert {
				// The left rows it matches already count the row it
				// replaces.
				continue
			}
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
	batchSide := rowSource{views: j.jb.views, cols: j.jb.cols, rows: em.in}
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
		for sl := range s.slots {
			if s.count[sl] == 0 {
				continue
			}
			if s.touched[sl]+ttl <= now {
				s.removeSlot(sl)
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
	hw.byte(3) // format version: 3 added keyed views' multi flag
	hw.byte(byte(j.view[0]))
	hw.byte(byte(j.view[1]))
	j.wm.encode(&hw)
	hw.varint(j.nextSweep)
	hw.varint(int64(j.ncols[0]))
	hw.varint(int64(j.ncols[1]))
	writeKinds(&hw, j.stores[0])
	writeKinds(&hw, j.stores[1])
	appendSection(&w, 0, hw.b)
	writeKeyGroups(&w, j.stores)
	return w.b, nil
}

func (j *join) Restore(state []byte) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			if v := r.byte(); v != 3 {
				return errs.Internalf("join state has unknown format version %d", v)
			}
			for in := range 2 {
				if v := joinView(r.byte()); r.err == nil && v != j.view[in] {
					return errs.New(errs.InvalidPlan, "join state keeps input %d as %s, but the plan as %s", in, v, j.view[in])
				}
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

// StateBytes estimates both inputs' stored rows (StateSizer); the outer
// joins' match counts and the keyed views' per-row flags are not counted.
func (j *join) StateBytes() int64 { return joinStoresBytes(j.stores) }

func (j *join) Close() error { return nil }
