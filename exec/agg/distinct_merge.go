package agg

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// Two-phase DISTINCT aggregation, as Flink's LocalGroupAggregate and
// GlobalGroupAggregate split a COUNT(DISTINCT x): the local phase cannot
// ship a partial COUNT (the same value may arrive through several local
// instances, or in several bundles), so per group it ships its distinct
// view instead (Flink's distinct$0 MapView): each value the bundle saw
// with the change of its count, negative for values the bundle retracted
// more often than it added. The global phase keeps the one-phase
// aggregate's distinct state (value -> count) per group, adds the
// changes, and feeds the call's ordinary accumulator only with the values
// whose count leaves 0 (accumulate) or falls back to it (retract), so its
// results and its snapshots are those of the one-phase aggregate.
//
// Only functions whose result does not depend on the order of their
// values split this way (those Accumulators splits: COUNT, SUM, AVG, MIN,
// MAX and the variance family): the view ships values in hash order.

// GroupAccumulators is Accumulators for the local and global phases of a
// group aggregate, where DISTINCT calls split too: their accumulator is
// the distinct view, two parallel list columns of the values and of the
// changes of their counts.
func GroupAccumulators(call Call, args []types.DataType, retract bool) ([]AccField, bool) {
	if !call.Distinct {
		return Accumulators(call, args, retract)
	}
	elem := tupleKeySQLType
	switch len(args) {
	case 0:
		return nil, false
	case 1:
		elem = args[0]
		if physicalOf(elem.Arrow()) == physInvalid {
			return nil, false
		}
	default:
		if _, err := DistinctResultType(call.Func, args); err != nil {
			return nil, false
		}
	}
	plain := call
	plain.Distinct = false
	if _, ok := Accumulators(plain, args, retract); !ok {
		return nil, false
	}
	// A call over several arguments ships its tuples' encodings.
	return []AccField{
		{"distinct", types.ArrayType(elem.WithNullable(false))},
		{"distinctcount", types.ArrayType(types.BigIntType.WithNullable(false))},
	}, true
}

// NewLocalState builds a local group aggregate's accumulators for call:
// those of NewState, except that a DISTINCT call keeps its distinct view
// (GroupAccumulators) and no accumulator of its own. Such a state
// supports Grow, Reset, Accumulate and Drain only; ShareDistinct lets
// calls over equal arguments share one view.
func NewLocalState(call Call, input []arrow.DataType, retract bool) (*State, error) {
	if !call.Distinct {
		return NewState(call, input, retract)
	}
	args := make([]arrow.DataType, len(call.Args))
	for i, a := range call.Args {
		if a < 0 || a >= len(input) {
			return nil, fmt.Errorf("aggregate %s: argument column %d out of range", call, a)
		}
		args[i] = input[a]
	}
	if call.Filter >= len(input) || (call.Filter >= 0 && input[call.Filter].ID() != arrow.BOOL) {
		return nil, fmt.Errorf("aggregate %s: filter column %d is not a BOOLEAN input column", call, call.Filter)
	}
	tuple, err := newTuple(call, args)
	if err != nil {
		return nil, err
	}
	dt := distinctArgType(args)
	v, err := newDistinctView(dt, 1)
	if err != nil {
		return nil, err
	}
	s := &State{call: call, out: call.Type.Arrow(), view: v, distType: dt, cols: make([]arrow.Array, len(args)), tuple: tuple}
	s.peers = []*State{s}
	return s, nil
}

// accumulateView applies b to the view of s and of its peers (the calls
// sharing it), when s is the first of them; the others' Accumulate does
// nothing, so the view sees each row once.
func (s *State) accumulateView(b arrow.RecordBatch, slots []int32, retract []bool) {
	if s.peers[0] != s {
		return
	}
	acts, cols := s.consumerActs()
	for c, p := range s.peers {
		acts[c], cols[c] = p.filter(b, len(slots)), p.cols[0]
	}
	s.view.accumulate(cols, slots, retract, acts)
	for _, p := range s.peers {
		clear(p.cols)
	}
	clear(cols)
}

// newDistinctMergeState is NewMergeState for a DISTINCT call: the
// one-phase kernel k and distinct state over the argument type args[0]
// (over the encoded tuples for several arguments), fed from distinct
// views by MergeGroup.
func newDistinctMergeState(call Call, k kernel, args []arrow.DataType) (*State, error) {
	if _, err := newTuple(call, args); err != nil {
		return nil, err
	}
	// The views ship tuples already encoded: no encoder here.
	dt := distinctArgType(args)
	d, err := newDistinct(dt, 1)
	if err != nil {
		return nil, err
	}
	s := &State{call: call, out: call.Type.Arrow(), k: k, cols: make([]arrow.Array, len(call.Args)),
		dist: d, distType: dt, dm: &distinctMerge{}}
	s.peers = []*State{s}
	return s, nil
}

// distinctMerge is the scratch of merging distinct views. The views'
// entries are applied as a sequence of positions: each row's entries,
// then a marker position that changes nothing, so that the kernel records
// the group's result before the row's first entry (at first[i]) and after
// its last (at marker[i]) even for a row without entries.
type distinctMerge struct {
	slots   []int32 // per position: the group, -1 for skipped rows
	idx     []int32 // per position: the entry in the values list child
	idxOK   []bool  // false at markers
	deltas  []int64 // per position: the change of the value's count
	act     []bool
	retract []bool
	first   []int32 // per row: its first position
	marker  []int32 // per row: its marker position
	rows    []int32 // Build scratch
	before  []bool
}

// MergeGroup merges row i of b's accumulator columns into group slots[i]
// (rows with slots[i] < 0 are skipped), for the global phase of a group
// aggregate: a DISTINCT call's distinct view, any other call's
// accumulators as Merge does. Afterwards Build reads the results before
// and after each row; after merging distinct views MarkChanged does not
// (it would compare positions, not rows): compare built columns instead,
// as the global group aggregate does.
func (s *State) MergeGroup(mem memory.Allocator, b arrow.RecordBatch, slots []int32) error {
	if s.dm == nil {
		s.Merge(b, slots)
		return nil
	}
	valList, ok1 := b.Column(s.call.Args[0]).(*array.List)
	cntList, ok2 := b.Column(s.call.Args[1]).(*array.List)
	if !ok1 || !ok2 {
		return fmt.Errorf("aggregate %s: the distinct view is not two list columns", s.call)
	}
	// Offsets are the unsliced buffers: a sliced list starts at its offset.
	offs, coffs := valList.Offsets()[valList.Data().Offset():], cntList.Offsets()[cntList.Data().Offset():]
	cnts := fixedView[int64](cntList.ListValues())
	m := s.dm
	n := len(slots)
	total := int(offs[n]-offs[0]) + n
	m.slots, m.idx, m.idxOK = growTo(m.slots, total)[:total], growTo(m.idx, total)[:total], growTo(m.idxOK, total)[:total]
	m.deltas = growTo(m.deltas, total)[:total]
	m.act, m.retract = growTo(m.act, total)[:total], growTo(m.retract, total)[:total]
	m.first, m.marker = growTo(m.first, n)[:n], growTo(m.marker, n)[:n]
	p := 0
	for i, sl := range slots {
		if offs[i+1]-offs[i] != coffs[i+1]-coffs[i] {
			return fmt.Errorf("aggregate %s: row %d has %d distinct values and %d counts", s.call, i, offs[i+1]-offs[i], coffs[i+1]-coffs[i])
		}
		m.first[i] = int32(p)
		for j, c := offs[i], coffs[i]; j < offs[i+1]; j, c = j+1, c+1 {
			m.slots[p], m.idx[p], m.idxOK[p], m.deltas[p] = sl, j, true, cnts[c]
			p++
		}
		m.marker[i] = int32(p)
		m.slots[p], m.idx[p], m.idxOK[p], m.deltas[p] = sl, 0, false, 0
		p++
	}
	vals, err := takeWithNulls(mem, valList.ListValues(), m.idx, m.idxOK)
	if err != nil {
		return fmt.Errorf("aggregate %s: %w", s.call, err)
	}
	defer vals.Release()
	s.dist.merge(s.distC, vals, m.slots, m.deltas, m.act, m.retract)
	s.cols[0] = vals
	s.k.update(s.cols[:1], m.slots, m.retract, m.act)
	clear(s.cols)
	return s.Err()
}

// takeWithNulls gathers col[idx[j]], NULL where ok[j] is false.
func takeWithNulls(mem memory.Allocator, col arrow.Array, idx []int32, ok []bool) (arrow.Array, error) {
	ib := array.NewInt32Builder(mem)
	defer ib.Release()
	ib.AppendValues(idx, ok)
	indices := ib.NewArray()
	defer indices.Release()
	return compute.TakeArray(compute.WithAllocator(context.Background(), mem), col, indices)
}

// buildMerged is Build after MergeGroup of a DISTINCT call: a row's
// result before is that before its first position, after that after its
// marker.
func (s *State) buildMerged(mem memory.Allocator, rows []int32, before []bool) arrow.Array {
	m := s.dm
	m.rows, m.before = growTo(m.rows, len(rows))[:len(rows)], growTo(m.before, len(rows))[:len(rows)]
	for j, i := range rows {
		if before[j] {
			m.rows[j] = m.first[i]
		} else {
			m.rows[j] = m.marker[i]
		}
	}
	copy(m.before, before)
	return s.k.build(mem, s.out, m.rows, m.before)
}

// merge applies count changes to consumer c's sets: position i changes
// the count of value col[i] in group slots[i] by deltas[i] (positions
// with slots[i] < 0, a NULL value or no change are skipped). act[i] is set
// where the value enters the set (its count leaves 0) or leaves it (its
// count falls to 0 or below: retractions of values the group never had,
// which a one-phase aggregate ignores too), retract[i] where it leaves.
func (d *distinctSet[T, O, N, V]) merge(c int, col arrow.Array, slots []int32, deltas []int64, act, retract []bool) {
	var o O
	var zero V
	vals := d.vw.view(col)
	v := validityOf(col)
	for i, s := range slots {
		act[i], retract[i] = false, false
		dl := deltas[i]
		if s < 0 || dl == 0 || !v.ok(i) {
			continue
		}
		t := &d.groups[s]
		live := d.live[int(s)*d.k : int(s+1)*d.k]
		x := vals[i]
		if dl < 0 {
			if t.n == 0 {
				continue
			}
			p, ok := t.find(x, o.hash(x))
			if !ok || t.e[p].cnt[c] == 0 {
				continue
			}
			e := &t.e[p]
			if int64(e.cnt[c])+dl > 0 {
				e.cnt[c] += N(dl)
				continue
			}
			e.cnt[c] = 0
			live[c]--
			act[i], retract[i] = true, true
			if e.cnt == zero {
				t.remove(p, o.hash)
			}
			continue
		}
		t.reserve(o.hash)
		p, ok := t.find(x, o.hash(x))
		e := &t.e[p]
		if !ok {
			e.key = o.own(x)
			t.n++
		}
		if e.cnt[c] == 0 {
			live[c]++
			act[i] = true
		}
		e.cnt[c] += N(dl)
		d.peak = max(d.peak, int64(e.cnt[c]))
	}
}

// distinctView is a local aggregate's distinct views of the DISTINCT
// calls (its consumers) over one argument: per group, the values its
// bundle added or retracted with the change of their counts per consumer.
// Like the distinct state, calls whose argument columns hold the same
// values share one view (ShareDistinct), so that a row costs one hash
// lookup for all of them; each consumer still drains its own lists.
type distinctView interface {
	grow(n int)
	// reset empties consumer c's view of slot s.
	reset(c int, s int32)
	// accumulate applies the rows to every consumer c, whose argument
	// column is cols[c] and whose FILTER lets the rows acts[c] through
	// (nil: all).
	accumulate(cols []arrow.Array, slots []int32, retract []bool, acts [][]bool)
	// drain builds consumer c's list columns of types dts (values,
	// counts) of slots; the last consumer's drain empties the slots.
	drain(c int, mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array)
}

// viewSet keeps the views in count tables like the distinct state's, with
// signed counts: an entry whose counts all return to 0 is removed.
type viewSet[T comparable, O ops[T], V counts] struct {
	k      int
	groups []countTable[T, int64, V]
	vw     viewer[T]
	in     []bool // scratch: the consumers reading the column applied
	done   []bool // scratch: the consumers applied in this batch
	vals   []T
	cnts   []int64
	offs   []int32
}

// newDistinctView makes the view of k consumers (at most maxShared) over
// values of type dt.
func newDistinctView(dt arrow.DataType, k int) (distinctView, error) {
	t, err := distinctTypeOf(dt)
	if err != nil {
		return nil, err
	}
	return t.view(k), nil
}

// viewOf picks the smallest counts that hold k consumers.
func viewOf[T comparable, O ops[T]](k int) distinctView {
	switch {
	case k == 1:
		return &viewSet[T, O, [1]int64]{k: k}
	case k == 2:
		return &viewSet[T, O, [2]int64]{k: k}
	case k <= 4:
		return &viewSet[T, O, [4]int64]{k: k}
	}
	return &viewSet[T, O, [8]int64]{k: k}
}

func (d *viewSet[T, O, V]) grow(n int) { d.groups = growTo(d.groups, n) }

func (d *viewSet[T, O, V]) reset(c int, s int32) {
	var o O
	d.groups[s].clearConsumer(c, o.hash)
}

func (d *viewSet[T, O, V]) accumulate(cols []arrow.Array, slots []int32, retract []bool, acts [][]bool) {
	if len(d.done) != d.k {
		d.in, d.done = make([]bool, d.k), make([]bool, d.k)
	}
	clear(d.done)
	for c := range d.k {
		if d.done[c] {
			continue
		}
		clear(d.in)
		for c2 := c; c2 < d.k; c2++ {
			if !d.done[c2] && sameValues(cols[c], cols[c2]) {
				d.in[c2], d.done[c2] = true, true
			}
		}
		d.accumulateColumn(cols[c], slots, retract, acts)
	}
}

// accumulateColumn is accumulate for the consumers d.in, which all read
// col.
func (d *viewSet[T, O, V]) accumulateColumn(col arrow.Array, slots []int32, retract []bool, acts [][]bool) {
	var o O
	var zero V
	vals := d.vw.view(col)
	v := validityOf(col)
	for i, s := range slots {
		if s < 0 || !v.ok(i) || !d.anyIn(acts, i) {
			continue
		}
		t := &d.groups[s]
		x := vals[i]
		t.reserve(o.hash)
		p, ok := t.find(x, o.hash(x))
		e := &t.e[p]
		if !ok {
			e.key = o.own(x)
			t.n++
		}
		dl := int64(1)
		if retract[i] {
			dl = -1
		}
		for c, in := range d.in {
			if in && active(acts[c], i) {
				e.cnt[c] += dl
			}
		}
		if e.cnt == zero {
			t.remove(p, o.hash)
		}
	}
}

// anyIn reports whether row i takes part for one of the consumers d.in.
func (d *viewSet[T, O, V]) anyIn(acts [][]bool, i int) bool {
	for c, in := range d.in {
		if in && active(acts[c], i) {
			return true
		}
	}
	return false
}

func (d *viewSet[T, O, V]) drain(c int, mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) {
	vals, cnts, offs := d.vals[:0], d.cnts[:0], append(d.offs[:0], 0)
	last := c == d.k-1
	for _, s := range slots {
		t := &d.groups[s]
		for _, e := range t.e {
			if e.cnt[c] != 0 {
				vals, cnts = append(vals, e.key), append(cnts, e.cnt[c])
			}
		}
		offs = append(offs, int32(len(vals)))
		if last {
			// The slot serves another group in the next bundle: keep
			// the table's memory.
			clear(t.e)
			t.n = 0
		}
	}
	dst[0] = listColumn(mem, dts[0], offs, vals)
	dst[1] = listColumn(mem, dts[1], offs, cnts)
	clear(vals) // drop references to strings
	d.vals, d.cnts, d.offs = vals, cnts, offs
}
