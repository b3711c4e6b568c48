package agg

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// distinct keeps, per group, how often each argument value is present for
// each of its consumers (the DISTINCT calls over one argument column), and
// lets a consumer's row through only when its value enters (count 0 -> 1)
// or leaves (1 -> 0) that consumer's set. NULLs pass: the kernels ignore
// them anyway.
//
// Calls over the same argument share one distinct (ShareDistinct), as
// Flink's DistinctInfo shares one MapView whose value counts per FILTER:
// q16's eight COUNT(DISTINCT ...) FILTER (...) over two columns then cost
// two hash lookups per row instead of eight. Consumers whose columns hold
// other values in a batch (ShareDistinct only saw the first) still get
// their own lookups, so sharing never changes results.
type distinct interface {
	grow(n int)
	// reset empties consumer c's set of slot s.
	reset(c int, s int32)
	// mask applies the rows to every consumer c with acts[c] != nil, whose
	// argument column is cols[c]: acts[c][i] says whether row i takes part
	// for c (its FILTER) and is cleared where the row's value does not
	// enter or leave c's set.
	mask(cols []arrow.Array, slots []int32, retract []bool, acts [][]bool)
	// appendState and readState use one format per consumer, that of a
	// distinct of its own: the number of values, then each value and its
	// count.
	appendState(dst []byte, c int, s int32) []byte
	readState(src []byte, c int, s int32) ([]byte, error)
	// merge applies a global aggregate's distinct views (distinct_merge.go).
	merge(c int, col arrow.Array, slots []int32, deltas []int64, act, retract []bool)
}

// count is the integer a value's count is kept in: int32 in the distinct
// state until a count could leave its range (widening; tests narrow it to
// int8 to reach that), int64 in the local aggregate's views.
type count interface {
	~int8 | ~int32 | ~int64
}

// countsOf is a value's count per consumer, kept inline in the group's
// table so that a row reads and writes every consumer's count with one
// lookup.
type countsOf[N count] interface {
	~[1]N | ~[2]N | ~[4]N | ~[8]N
}

// counts are int64 counts.
type counts interface{ countsOf[int64] }

// maxCount is the largest value of N.
func maxCount[N count]() int64 {
	var n N
	return int64(^uint64(0) >> (65 - 8*unsafe.Sizeof(n)))
}

// maxShared is the most consumers one distinct serves (the largest counts).
const maxShared = 8

type distinctSet[T comparable, O ops[T], N count, V countsOf[N]] struct {
	k      int // consumers, at most len(V)
	groups []countTable[T, N, V]
	live   []int // slot*k + consumer: values with a nonzero count
	vw     viewer[T]
	done   []bool   // scratch: consumers masked in this batch
	sub    [][]bool // scratch: the masks of one class of equal columns
	// touchSink keeps what touch read; hashes are the rows' value hashes
	// touch computed.
	touchSink int64
	hashes    []uint64
	// peak is the largest count any value reached (widening).
	peak int64
}

// countTable is one group's values and their counts: open addressing with
// linear probing over entries that hold a value next to its counts, so a
// row reads and updates them with one probe (usually one cache miss)
// where a Go map takes a lookup and an assignment. An entry is occupied
// iff one of its counts is nonzero: a value whose counts all reach zero
// is removed.
type countTable[T comparable, N count, V countsOf[N]] struct {
	e     []countEntry[T, N, V]
	n     int
	shift uint8 // 64 - log2(len(e)): hashes index by their top bits
}

type countEntry[T comparable, N count, V countsOf[N]] struct {
	key T
	cnt V
}

// find returns x's entry or the empty one where it would go; the table
// must have an empty entry (reserve).
func (t *countTable[T, N, V]) find(x T, h uint64) (int, bool) {
	var zero V
	mask := len(t.e) - 1
	for p := int(h >> t.shift); ; p = (p + 1) & mask {
		e := &t.e[p]
		if e.cnt == zero {
			return p, false
		}
		if e.key == x {
			return p, true
		}
	}
}

// reserve makes room for one more value, keeping the load at most 3/4.
func (t *countTable[T, N, V]) reserve(hash func(T) uint64) {
	if 4*(t.n+1) <= 3*len(t.e) {
		return
	}
	old := t.e
	size := max(8, 2*len(old))
	t.e = make([]countEntry[T, N, V], size)
	t.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	var zero V
	for _, e := range old {
		if e.cnt != zero {
			p, _ := t.find(e.key, hash(e.key))
			t.e[p] = e
		}
	}
}

// remove empties entry p; backward-shift deletion keeps linear probing
// correct without tombstones.
func (t *countTable[T, N, V]) remove(p int, hash func(T) uint64) {
	var zero V
	mask := len(t.e) - 1
	for q := (p + 1) & mask; t.e[q].cnt != zero; q = (q + 1) & mask {
		// The entry at q moves to p when p lies cyclically in [home, q).
		if home := int(hash(t.e[q].key) >> t.shift); (q-home)&mask >= (q-p)&mask {
			t.e[p] = t.e[q]
			p = q
		}
	}
	t.e[p] = countEntry[T, N, V]{}
	t.n--
}

func (d *distinctSet[T, O, N, V]) grow(n int) {
	d.groups = growTo(d.groups, n)
	d.live = growTo(d.live, n*d.k)
}

func (d *distinctSet[T, O, N, V]) reset(c int, s int32) {
	t := &d.groups[s]
	live := d.live[int(s)*d.k : int(s+1)*d.k]
	live[c] = 0
	others := 0
	for _, n := range live {
		others += n
	}
	if others == 0 {
		*t = countTable[T, N, V]{}
		return
	}
	var o O
	t.clearConsumer(c, o.hash)
}

// clearConsumer zeroes consumer c's count of every value, removing the
// values no consumer counts any more.
func (t *countTable[T, N, V]) clearConsumer(c int, hash func(T) uint64) {
	var zero V
	for p := 0; p < len(t.e); {
		e := &t.e[p]
		if e.cnt[c] == 0 {
			p++
			continue
		}
		e.cnt[c] = 0
		if e.cnt == zero {
			// remove may shift a later entry into p: look at p again.
			t.remove(p, hash)
			continue
		}
		p++
	}
}

func (d *distinctSet[T, O, N, V]) mask(cols []arrow.Array, slots []int32, retract []bool, acts [][]bool) {
	if len(d.done) != d.k {
		d.done, d.sub = make([]bool, d.k), make([][]bool, d.k)
	}
	clear(d.done)
	for c, a := range acts {
		if a == nil || d.done[c] {
			continue
		}
		clear(d.sub)
		for c2 := c; c2 < d.k; c2++ {
			if acts[c2] != nil && !d.done[c2] && sameValues(cols[c], cols[c2]) {
				d.sub[c2], d.done[c2] = acts[c2], true
			}
		}
		d.maskColumn(cols[c], slots, retract, d.sub)
	}
}

// sameValues reports whether two argument columns hold the same values:
// the same array, or (the planner projects each call's argument as a
// column of its own) equal ones.
func sameValues(a, b arrow.Array) bool {
	return a == b || a.Data() == b.Data() || array.Equal(a, b)
}

// maskColumn is mask for consumers that all read col.
func (d *distinctSet[T, O, N, V]) maskColumn(col arrow.Array, slots []int32, retract []bool, acts [][]bool) {
	var o O
	var zero V
	vals := d.vw.view(col)
	v := validityOf(col)
	if cap(d.hashes) < len(slots) {
		d.hashes = make([]uint64, len(slots))
	}
	for i, s := range slots {
		if i%touchRun == 0 {
			end := min(len(slots), i+touchRun)
			d.touchSink += d.touch(vals[i:end], slots[i:end], d.hashes[i:end])
		}
		if s < 0 || !v.ok(i) || !anyActive(acts, i) {
			continue
		}
		t := &d.groups[s]
		live := d.live[int(s)*d.k : int(s+1)*d.k]
		x := vals[i]
		h := d.hashes[i]
		if retract[i] {
			p, ok := 0, false
			if t.n > 0 {
				p, ok = t.find(x, h)
			}
			if !ok {
				for _, a := range acts {
					if a != nil {
						a[i] = false
					}
				}
				continue
			}
			e := &t.e[p]
			for c, a := range acts {
				if a == nil || !a[i] {
					continue
				}
				switch e.cnt[c] {
				case 0:
					a[i] = false
				case 1:
					e.cnt[c] = 0
					live[c]--
				default:
					e.cnt[c]--
					a[i] = false
				}
			}
			if e.cnt == zero {
				t.remove(p, o.hash)
			}
			continue
		}
		t.reserve(o.hash)
		p, ok := t.find(x, h)
		e := &t.e[p]
		if !ok {
			e.key = o.own(x)
			t.n++
		}
		for c, a := range acts {
			if a == nil || !a[i] {
				continue
			}
			if e.cnt[c] == 0 {
				live[c]++
			} else {
				a[i] = false
			}
			e.cnt[c]++
			d.peak = max(d.peak, int64(e.cnt[c]))
		}
	}
}

// touchRun is the number of rows whose entries touch brings into the
// caches at once: enough for the CPU to overlap their misses, few enough
// that they are all still cached when the rows come to them.
const touchRun = 256

// touch reads the home entry of each row's value in its group's table,
// in a loop whose loads do not depend on each other, so that the CPU
// overlaps their cache misses; maskColumn's probes, one row after the
// other, then mostly find their entries cached. Groups' tables outgrow
// the caches (q16 keeps a table of values for each of 10K groups), which
// made these misses the largest cost of a shared distinct. It returns a
// sum of what it read, for the caller to keep, so that the loads are not
// dropped as dead, and leaves the values' hashes in hashes.
func (d *distinctSet[T, O, N, V]) touch(vals []T, slots []int32, hashes []uint64) int64 {
	var o O
	var zero T
	var sum int64
	for j, s := range slots {
		if s < 0 {
			continue
		}
		h := o.hash(vals[j])
		hashes[j] = h
		t := &d.groups[s]
		if len(t.e) == 0 {
			continue
		}
		// An entry may straddle two cache lines: read both of its ends.
		e := &t.e[h>>t.shift]
		sum += int64(e.cnt[len(e.cnt)-1])
		if e.key == zero {
			sum++
		}
	}
	return sum
}

func anyActive(acts [][]bool, i int) bool {
	for _, a := range acts {
		if a != nil && a[i] {
			return true
		}
	}
	return false
}

func (d *distinctSet[T, O, N, V]) appendState(dst []byte, c int, s int32) []byte {
	var o O
	dst = putInt(dst, int64(d.live[int(s)*d.k+c]))
	for _, e := range d.groups[s].e {
		if n := e.cnt[c]; n != 0 {
			dst = putInt(o.put(dst, e.key), int64(n))
		}
	}
	return dst
}

func (d *distinctSet[T, O, N, V]) readState(src []byte, c int, s int32) ([]byte, error) {
	var o O
	n, src, err := getInt(src)
	if err != nil {
		return nil, err
	}
	t := &d.groups[s]
	for range n {
		var x T
		var v int64
		if x, src, err = o.get(src); err != nil {
			return nil, err
		}
		if v, src, err = getInt(src); err != nil {
			return nil, err
		}
		if v <= 0 {
			return nil, fmt.Errorf("aggregate state: DISTINCT value with count %d", v)
		}
		if v > maxCount[N]() {
			return nil, errWiden
		}
		t.reserve(o.hash)
		p, ok := t.find(x, o.hash(x))
		e := &t.e[p]
		if !ok {
			e.key = x
			t.n++
		}
		if e.cnt[c] == 0 {
			d.live[int(s)*d.k+c]++
		}
		e.cnt[c] = N(v)
		d.peak = max(d.peak, v)
	}
	return src, nil
}

// errWiden is readState's report of a count too large for the state's
// counts (widening reads it again with int64 counts).
var errWiden = errors.New("aggregate state: DISTINCT count out of range")

// fits reports whether every count stays in N's range when each rises
// by up to extra.
func (d *distinctSet[T, O, N, V]) fits(extra int64) bool {
	return d.peak <= maxCount[N]()-extra
}

// widening is a distinct state whose counts start narrow (int32: an entry
// of a BIGINT value and four counts takes 24 bytes, not 40) and widen to
// int64 before a count could leave the narrow range, as Flink's counts
// are Longs. The tables of a DISTINCT over many groups (q16 keeps a table
// of values for each of 10K groups) outgrow the CPU caches, and their
// bytes are what their cache misses and page faults cost. The snapshot
// format is the same either way.
type widening[T comparable, O ops[T], N count, VN countsOf[N], V64 counts] struct {
	narrow *distinctSet[T, O, N, VN]
	wide   *distinctSet[T, O, int64, V64]
}

func newWidening[T comparable, O ops[T], N count, VN countsOf[N], V64 counts](k int) *widening[T, O, N, VN, V64] {
	return &widening[T, O, N, VN, V64]{narrow: &distinctSet[T, O, N, VN]{k: k}}
}

// cur is the state in use.
func (w *widening[T, O, N, VN, V64]) cur() distinct {
	if w.wide != nil {
		return w.wide
	}
	return w.narrow
}

func (w *widening[T, O, N, VN, V64]) grow(n int)           { w.cur().grow(n) }
func (w *widening[T, O, N, VN, V64]) reset(c int, s int32) { w.cur().reset(c, s) }
func (w *widening[T, O, N, VN, V64]) appendState(dst []byte, c int, s int32) []byte {
	return w.cur().appendState(dst, c, s)
}

func (w *widening[T, O, N, VN, V64]) mask(cols []arrow.Array, slots []int32, retract []bool, acts [][]bool) {
	// A row raises a value's count by at most one per consumer.
	if w.wide == nil && !w.narrow.fits(int64(len(slots))) {
		w.widen()
	}
	w.cur().mask(cols, slots, retract, acts)
}

func (w *widening[T, O, N, VN, V64]) merge(c int, col arrow.Array, slots []int32, deltas []int64, act, retract []bool) {
	if w.wide == nil {
		var rise int64
		for _, dl := range deltas {
			if dl > 0 {
				rise += dl
			}
		}
		if !w.narrow.fits(rise) {
			w.widen()
		}
	}
	w.cur().merge(c, col, slots, deltas, act, retract)
}

func (w *widening[T, O, N, VN, V64]) readState(src []byte, c int, s int32) ([]byte, error) {
	if w.wide != nil {
		return w.wide.readState(src, c, s)
	}
	rest, err := w.narrow.readState(src, c, s)
	if err != errWiden {
		return rest, err
	}
	// The values read before the large count are in the narrow state;
	// reading them again sets the same counts.
	w.widen()
	return w.wide.readState(src, c, s)
}

// widen moves the narrow state into int64 counts. The tables keep their
// sizes and hashes, so every entry keeps its position.
func (w *widening[T, O, N, VN, V64]) widen() {
	n := w.narrow
	wd := &distinctSet[T, O, int64, V64]{k: n.k, groups: make([]countTable[T, int64, V64], len(n.groups)),
		live: n.live, peak: n.peak}
	for s := range n.groups {
		t := &n.groups[s]
		if len(t.e) == 0 {
			continue
		}
		g := countTable[T, int64, V64]{e: make([]countEntry[T, int64, V64], len(t.e)), n: t.n, shift: t.shift}
		for p := range t.e {
			g.e[p].key = t.e[p].key
			for c := range len(t.e[p].cnt) {
				g.e[p].cnt[c] = int64(t.e[p].cnt[c])
			}
		}
		wd.groups[s] = g
	}
	w.narrow, w.wide = nil, wd
}

// newDistinct makes a distinct over values of type dt for consumers
// calls (at most maxShared).
func newDistinct(dt arrow.DataType, consumers int) (distinct, error) {
	t, err := distinctTypeOf(dt)
	if err != nil {
		return nil, err
	}
	return t.distinct(consumers), nil
}

// distinctType makes the distinct state and the local aggregate's
// distinct view of one physical value type.
type distinctType interface {
	distinct(k int) distinct
	view(k int) distinctView
}

type typedDistinct[T comparable, O ops[T]] struct{}

func (typedDistinct[T, O]) distinct(k int) distinct { return distinctOf[T, O](k) }
func (typedDistinct[T, O]) view(k int) distinctView { return viewOf[T, O](k) }

// distinctTypeOf picks the value type of DISTINCT over dt.
func distinctTypeOf(dt arrow.DataType) (distinctType, error) {
	switch physicalOf(dt) {
	case physInt8:
		return typedDistinct[int8, intOps[int8]]{}, nil
	case physInt16:
		return typedDistinct[int16, intOps[int16]]{}, nil
	case physInt32:
		return typedDistinct[int32, intOps[int32]]{}, nil
	case physInt64:
		return typedDistinct[int64, intOps[int64]]{}, nil
	case physFloat32:
		return typedDistinct[float32, floatOps[float32]]{}, nil
	case physFloat64:
		return typedDistinct[float64, floatOps[float64]]{}, nil
	case physDecimal:
		return typedDistinct[decimal128.Num, decOps]{}, nil
	case physBool:
		return typedDistinct[bool, boolOps]{}, nil
	case physString:
		return typedDistinct[string, strOps]{}, nil
	}
	return nil, unsupported("DISTINCT", dt)
}

// distinctOf picks the smallest counts that hold k consumers.
func distinctOf[T comparable, O ops[T]](k int) distinct {
	switch {
	case k == 1:
		return newWidening[T, O, int32, [1]int32, [1]int64](k)
	case k == 2:
		return newWidening[T, O, int32, [2]int32, [2]int64](k)
	case k <= 4:
		return newWidening[T, O, int32, [4]int32, [4]int64](k)
	}
	return newWidening[T, O, int32, [8]int32, [8]int64](k)
}

// ShareDistinct makes the DISTINCT calls among states (new states of one
// operator, before any Grow) whose argument columns hold the same values
// in first, the operator's first batch, share one distinct state: the
// planner gives each call an argument column of its own even where the
// expressions are equal. Their snapshot format does not change; a local
// aggregate's views (NewLocalState) share alike. UpdateAll
// then applies a batch to all of them with one lookup per row and
// distinct argument.
func ShareDistinct(states []*State, first arrow.RecordBatch) error {
	err := shareArguments(states, first, func(s *State) bool { return s.dist != nil }, func(peers []*State) error {
		d, err := newDistinct(peers[0].distType, len(peers))
		if err != nil {
			return err
		}
		for c, s := range peers {
			s.dist, s.distC, s.peers = d, c, peers
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A local aggregate's views, whatever their FILTERs.
	return shareArguments(states, first, func(s *State) bool { return s.view != nil }, func(peers []*State) error {
		v, err := newDistinctView(peers[0].distType, len(peers))
		if err != nil {
			return err
		}
		for c, s := range peers {
			s.view, s.distC, s.peers = v, c, peers
		}
		return nil
	})
}

// shareArguments groups the states member accepts into classes of equal
// arguments (sameArgument) and calls link with each class, in runs of at
// most maxShared.
func shareArguments(states []*State, first arrow.RecordBatch, member func(*State) bool, link func(peers []*State) error) error {
	var classes [][]*State
	for _, s := range states {
		if !member(s) {
			continue
		}
		j := slices.IndexFunc(classes, func(c []*State) bool {
			return sameArgument(c[0], s, first)
		})
		if j < 0 {
			classes = append(classes, []*State{s})
		} else {
			classes[j] = append(classes[j], s)
		}
	}
	for _, all := range classes {
		for len(all) > 1 {
			peers := all[:min(len(all), maxShared)]
			all = all[len(peers):]
			if err := link(peers); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameArgument reports whether DISTINCT calls a and b take the same
// argument columns, or columns of the same types equal in a non-empty
// first (a call over several arguments, distinct_tuple.go, shares only
// with a call over as many).
func sameArgument(a, b *State, first arrow.RecordBatch) bool {
	if len(a.call.Args) != len(b.call.Args) {
		return false
	}
	if slices.Equal(a.call.Args, b.call.Args) {
		return true
	}
	if first == nil || first.NumRows() == 0 {
		return false
	}
	for j, x := range a.call.Args {
		cx, cy := first.Column(x), first.Column(b.call.Args[j])
		if !arrow.TypeEqual(cx.DataType(), cy.DataType()) || !sameValues(cx, cy) {
			return false
		}
	}
	return true
}

// UpdateAll calls Update on every state of states, with the rows of each
// shared distinct state (ShareDistinct) masked once for all its calls,
// and returns the first error one of them reports (Err).
func UpdateAll(states []*State, b arrow.RecordBatch, slots []int32, retract []bool) error {
	for _, s := range states {
		s.act = s.filter(b, len(slots))
	}
	for _, s := range states {
		if s.dist == nil || s.peers[0] != s {
			continue
		}
		acts, cols := s.consumerActs()
		for c, p := range s.peers {
			acts[c], cols[c] = p.act, p.cols[0]
		}
		s.dist.mask(cols, slots, retract, acts)
		clear(cols)
	}
	for _, s := range states {
		s.k.update(s.cols, slots, retract, s.act)
		clear(s.cols)
		if err := s.Err(); err != nil {
			return err
		}
	}
	return nil
}
