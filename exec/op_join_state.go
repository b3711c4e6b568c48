package exec

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// State shared by the join operators (regular, interval and temporal).
//
// A joinStore keeps the rows one input holds in state, column-wise: one
// slotValues per input column, indexed by slot, plus per-slot metadata
// (multiplicity, number of matches, times). Rows with equal join keys form
// a key entry, a doubly linked list of slots in arrival order, so matches
// are always produced in the order their rows arrived, also after a
// snapshot and restore: emission order is deterministic. Key entries are
// found through the window operators' hashTable (key hash -> first entry
// with that hash, entries of equal hash chained), so a probe is one table
// lookup plus a typed comparison of the key columns, never a Go map or an
// interface call per row.
//
// The key hash is hashRows over the join key columns, the hash the Hash
// exchange partitions by, so a row's key group (KeyGroupOf) says which
// subtask owns it after a rescale. Rows with a NULL key are never stored:
// they cannot match (SQL equality), so every operator handles them
// without state.
type joinStore struct {
	meta    joinMeta
	kinds   []vkind
	cols    []slotValues
	keyCols []int

	// Per slot.
	hash    []uint64 // join key hash
	rowHash []uint64 // hash of all columns, or of a keyed input's unique key: finds the stored row a change applies to
	count   []int64  // multiplicity of the row; 0 marks a free slot
	assoc   []int64  // rows of the other input it joins (outer sides, semi/anti); temporal join: the left row's kind
	touched []int64  // processing time of the last write (state TTL)
	time    []int64  // the row's time attribute (interval, temporal joins)
	seq     []int64  // arrival number, unique per store
	flag    []bool   // interval join: joined; temporal join: version is a retraction
	multi   []bool   // keyed view: the row's unique key holds several rows (metaMulti)
	prev    []int32
	next    []int32
	rowNext []int32 // next slot of equal rowHash (metaRowHash)
	ent     []int32 // key entry of the slot
	free    []int32
	live    int
	// slots is the number of slots handed out; the per-slot slices are
	// grown ahead of it (growSlots).
	slots int32
	// pendSlots[k] awaits the non-key columns of batch row pendRows[k]
	// (addRowKeys, copyPending).
	pendSlots []int32
	pendRows  []int32
	// touchSink keeps what touchKeys read.
	touchSink uint64
	// scratchHashes holds the key hashes of the slots removeSlots drops.
	scratchHashes []uint64

	// rows finds slots by rowHash (metaRowHash): the first slot of each
	// hash, the others chained through rowNext, so that the stored row a
	// change applies to is found without walking its key's rows.
	rows hashTable

	// Per key entry.
	keys     hashTable
	entHash  []uint64
	entHead  []int32
	entTail  []int32
	entNext  []int32 // next entry with the same hash
	entFree  []int32
	liveEnts int
}

// joinMeta selects the per-slot metadata a store keeps beyond the key
// links and multiplicity, so that e.g. an inner join of insert-only inputs
// pays for none of it.
type joinMeta uint8

const (
	metaRowHash joinMeta = 1 << iota // rowHash: changelog inputs, inputs keyed by a unique key beside the join key
	metaAssoc                        // assoc
	metaTouched                      // touched: state TTL
	metaTime                         // time, seq and flag: time-based joins
	metaMulti                        // multi: keyed state views (regular join)
)

func newJoinStore(kinds []vkind, keyCols []int, meta joinMeta) *joinStore {
	s := &joinStore{meta: meta, kinds: kinds, keyCols: keyCols, cols: make([]slotValues, len(kinds))}
	for i, k := range kinds {
		s.cols[i].kind = k
	}
	return s
}

// viewKinds returns the value kinds of the columns of an Arrow schema.
func viewKinds(fields []arrow.Field) ([]vkind, error) {
	kinds := make([]vkind, len(fields))
	for i, f := range fields {
		k, err := storeKindOf(f.Type)
		if err != nil {
			return nil, errs.New(errs.NotSupported, "join: column %q has type %s, which joins do not support yet", f.Name, f.Type)
		}
		kinds[i] = k
	}
	return kinds, nil
}

func (s *joinStore) allocSlot() int32 {
	if n := len(s.free); n > 0 {
		sl := s.free[n-1]
		s.free = s.free[:n-1]
		s.live++
		return sl
	}
	sl := s.slots
	if int(sl) == len(s.count) {
		s.growSlots(slotCapacity(len(s.count), int(sl)+1))
	}
	s.slots++
	s.live++
	return sl
}

// growSlots grows the per-slot slices to n slots. The slots past s.slots
// are zero: multiplicity 0, free.
func (s *joinStore) growSlots(n int) {
	for i := range s.cols {
		s.cols[i].grow(n)
	}
	s.hash = growTo(s.hash, n)
	s.count = growTo(s.count, n)
	if s.meta&metaRowHash != 0 {
		s.rowHash = growTo(s.rowHash, n)
		s.rowNext = growTo(s.rowNext, n)
	}
	if s.meta&metaAssoc != 0 {
		s.assoc = growTo(s.assoc, n)
	}
	if s.meta&metaTouched != 0 {
		s.touched = growTo(s.touched, n)
	}
	if s.meta&metaTime != 0 {
		s.time = growTo(s.time, n)
		s.seq = growTo(s.seq, n)
		s.flag = growTo(s.flag, n)
	}
	if s.meta&metaMulti != 0 {
		s.multi = growTo(s.multi, n)
	}
	s.prev = growTo(s.prev, n)
	s.next = growTo(s.next, n)
	s.ent = growTo(s.ent, n)
}

// touchKeys brings the key table's buckets of a batch's key hashes into
// the CPU caches before the batch's rows probe it one by one
// (hashTable.touch).
func (s *joinStore) touchKeys(hashes []uint64) { s.touchSink ^= s.keys.touch(hashes) }

// touchRun is the number of rows whose key buckets touchAhead brings into
// the caches at once: enough for the CPU to overlap their misses, few
// enough that they are all still cached when the rows come to them (a
// batch of 8192 rows touches more cache lines than the L2 cache holds).
const touchRun = 256

// touchAhead is touchKeys for a loop over a batch's rows: at every
// touchRun-th row i it touches the buckets of rows i to i+touchRun-1.
func (s *joinStore) touchAhead(hashes []uint64, i int) {
	if i%touchRun == 0 {
		s.touchKeys(hashes[i:min(len(hashes), i+touchRun)])
	}
}

// findKey returns the key entry holding row i of the batch views v whose
// key columns are vKeys, or -1.
func (s *joinStore) findKey(h uint64, v []colView, vKeys []int, i int) int32 {
	for e := s.keys.find(h); e >= 0; e = s.entNext[e] {
		head := s.entHead[e]
		ok := true
		for j, kc := range s.keyCols {
			if !slotEqualsView(&s.cols[kc], head, &v[vKeys[j]], i) {
				ok = false
				break
			}
		}
		if ok {
			return e
		}
	}
	return -1
}

// findKeyOfSlot returns the key entry whose key equals that of slot sl of
// store o, or -1.
func (s *joinStore) findKeyOfSlot(o *joinStore, sl int32) int32 {
	for e := s.keys.find(o.hash[sl]); e >= 0; e = s.entNext[e] {
		head := s.entHead[e]
		ok := true
		for j, kc := range s.keyCols {
			if !slotsEqual(&s.cols[kc], head, &o.cols[o.keyCols[j]], sl) {
				ok = false
				break
			}
		}
		if ok {
			return e
		}
	}
	return -1
}

func (s *joinStore) newEntry(h uint64) int32 {
	var e int32
	if n := len(s.entFree); n > 0 {
		e = s.entFree[n-1]
		s.entFree = s.entFree[:n-1]
	} else {
		e = int32(len(s.entHash))
		n := int(e) + 1
		s.entHash = growTo(s.entHash, n)
		s.entHead = growTo(s.entHead, n)
		s.entTail = growTo(s.entTail, n)
		s.entNext = growTo(s.entNext, n)
	}
	s.entHash[e], s.entHead[e], s.entTail[e] = h, -1, -1
	s.entNext[e] = s.keys.find(h)
	s.keys.set(h, e)
	s.liveEnts++
	return e
}

func (s *joinStore) removeEntry(e int32) {
	h := s.entHash[e]
	if first := s.keys.find(h); first == e {
		if s.entNext[e] >= 0 {
			s.keys.set(h, s.entNext[e])
		} else {
			s.keys.remove(h)
		}
	} else {
		for p := first; p >= 0; p = s.entNext[p] {
			if s.entNext[p] == e {
				s.entNext[p] = s.entNext[e]
				break
			}
		}
	}
	s.entFree = append(s.entFree, e)
	s.liveEnts--
}

// link inserts slot sl into entry e's list after slot after (-1: at the
// front).
func (s *joinStore) link(e, sl, after int32) {
	s.ent[sl] = e
	s.prev[sl] = after
	if after < 0 {
		s.next[sl] = s.entHead[e]
		s.entHead[e] = sl
	} else {
		s.next[sl] = s.next[after]
		s.next[after] = sl
	}
	if n := s.next[sl]; n >= 0 {
		s.prev[n] = sl
	} else {
		s.entTail[e] = sl
	}
}

// addRow stores row i of the batch views v (key hash h, key entry e or -1
// for a new key) at the end of its key's list and returns its slot.
func (s *joinStore) addRow(h uint64, e int32, v []colView, i int, seq int64) int32 {
	after := int32(-1)
	if e >= 0 {
		after = s.entTail[e]
	}
	return s.insertRow(h, e, v, i, seq, after)
}

// insertRow is addRow placing the row after slot after of entry e (-1:
// first).
func (s *joinStore) insertRow(h uint64, e int32, v []colView, i int, seq int64, after int32) int32 {
	sl := s.newSlot(h, e, seq, after)
	for c := range s.cols {
		s.cols[c].setRow(sl, &v[c], i)
	}
	return sl
}

// addRowKeys is addRow storing only the key columns of the row now, and
// the others with the next copyPending. An operator that stores a batch's
// rows one by one and reads nothing of them but their keys before it is
// done with the batch stores them so: the columns are then copied by one
// typed loop each, not by a dispatch per value.
func (s *joinStore) addRowKeys(h uint64, e int32, v []colView, i int, seq int64) int32 {
	after := int32(-1)
	if e >= 0 {
		after = s.entTail[e]
	}
	sl := s.newSlot(h, e, seq, after)
	for _, c := range s.keyCols {
		s.cols[c].setRow(sl, &v[c], i)
	}
	s.pendSlots = append(s.pendSlots, sl)
	s.pendRows = append(s.pendRows, int32(i))
	return sl
}

// copyPending copies the non-key columns of the rows addRowKeys stored
// from the batch views v they came from.
func (s *joinStore) copyPending(v []colView) {
	if len(s.pendSlots) == 0 {
		return
	}
	for c := range s.cols {
		if !slices.Contains(s.keyCols, c) {
			s.cols[c].setRows(s.pendSlots, &v[c], s.pendRows)
		}
	}
	s.pendSlots, s.pendRows = s.pendSlots[:0], s.pendRows[:0]
}

// newSlot allocates a slot with multiplicity 1 for a row of key hash h,
// linked into entry e (-1: a new entry) after slot after, its columns
// still to be set.
func (s *joinStore) newSlot(h uint64, e int32, seq int64, after int32) int32 {
	if e < 0 {
		e = s.newEntry(h)
	}
	sl := s.allocSlot()
	s.hash[sl], s.count[sl] = h, 1
	if s.meta&metaAssoc != 0 {
		s.assoc[sl] = 0
	}
	if s.meta&metaTime != 0 {
		s.seq[sl], s.flag[sl] = seq, false
	}
	if s.meta&metaMulti != 0 {
		s.multi[sl] = false
	}
	s.link(e, sl, after)
	return sl
}

// removeSlots is removeSlot for many slots, the rows a time-based join
// expires. For each run of touchRun slots it first reads their key
// hashes and the key table's buckets of those, so that the CPU overlaps
// these cache misses (expired rows were stored long ago) where the
// removals, one after another, would wait for each in turn: the same as
// touchAhead before a batch's probes.
func (s *joinStore) removeSlots(slots []int32) {
	for len(slots) > 0 {
		run := slots[:min(len(slots), touchRun)]
		slots = slots[len(run):]
		s.scratchHashes = s.scratchHashes[:0]
		for _, sl := range run {
			s.scratchHashes = append(s.scratchHashes, s.hash[sl])
		}
		s.touchKeys(s.scratchHashes)
		for _, sl := range run {
			s.removeSlot(sl)
		}
	}
}

// removeSlot drops slot sl, and its key entry when it was the last row.
func (s *joinStore) removeSlot(sl int32) {
	e := s.ent[sl]
	p, n := s.prev[sl], s.next[sl]
	if p >= 0 {
		s.next[p] = n
	} else {
		s.entHead[e] = n
	}
	if n >= 0 {
		s.prev[n] = p
	} else {
		s.entTail[e] = p
	}
	if s.entHead[e] < 0 {
		s.removeEntry(e)
	}
	if s.meta&metaRowHash != 0 {
		s.unindexRow(sl)
	}
	for c := range s.cols {
		s.cols[c].clearSlot(sl)
	}
	s.count[sl] = 0
	s.free = append(s.free, sl)
	s.live--
}

// touch records a write of slot sl at processing time now (state TTL).
func (s *joinStore) touch(sl int32, now int64) {
	if s.meta&metaTouched != 0 {
		s.touched[sl] = now
	}
}

// setRowHash records rh as slot sl's rowHash and indexes the slot by it.
func (s *joinStore) setRowHash(sl int32, rh uint64) {
	s.rowHash[sl] = rh
	s.rowNext[sl] = s.rows.find(rh)
	s.rows.set(rh, sl)
}

// unindexRow takes slot sl out of the rowHash index.
func (s *joinStore) unindexRow(sl int32) {
	rh := s.rowHash[sl]
	first := s.rows.find(rh)
	if first == sl {
		if n := s.rowNext[sl]; n >= 0 {
			s.rows.set(rh, n)
		} else {
			s.rows.remove(rh)
		}
		return
	}
	for p := first; p >= 0; p = s.rowNext[p] {
		if s.rowNext[p] == sl {
			s.rowNext[p] = s.rowNext[sl]
			return
		}
	}
}

// findRow returns the slot in entry e whose columns cols (nil: all) equal
// those of row i of v, or -1; rh is the hash of those columns, which the
// store keeps per slot in rowHash and indexes.
func (s *joinStore) findRow(e int32, rh uint64, v []colView, i int, cols []int) int32 {
	for sl := s.rows.find(rh); sl >= 0; sl = s.rowNext[sl] {
		if s.ent[sl] == e && s.rowEquals(sl, v, i, cols) {
			return sl
		}
	}
	return -1
}

// rowEquals reports whether the columns cols (nil: all) of slot sl equal
// those of row i of v.
func (s *joinStore) rowEquals(sl int32, v []colView, i int, cols []int) bool {
	if cols == nil {
		for c := range s.cols {
			if !slotEqualsView(&s.cols[c], sl, &v[c], i) {
				return false
			}
		}
		return true
	}
	for _, c := range cols {
		if !slotEqualsView(&s.cols[c], sl, &v[c], i) {
			return false
		}
	}
	return true
}

// replaceRow overwrites the columns of slot sl with row i of v, keeping
// the slot's place in its key's list: an upsert of a keyed input.
func (s *joinStore) replaceRow(sl int32, v []colView, i int) {
	for c := range s.cols {
		s.cols[c].setRow(sl, &v[c], i)
	}
}

// slotsByKeyGroup lists the live slots, grouped by key group, each key's rows in
// arrival order: the order snapshots write them in.
func (s *joinStore) slotsByKeyGroup() [KeyGroups][]int32 {
	var out [KeyGroups][]int32
	for e := range s.entHead {
		if s.entHead[e] < 0 { // a free entry
			continue
		}
		kg := KeyGroupOf(s.entHash[e])
		for sl := s.entHead[e]; sl >= 0; sl = s.next[sl] {
			out[kg] = append(out[kg], sl)
		}
	}
	return out
}

// encodeSlot writes slot sl; decodeSlot reads it back into a new slot
// appended to its key's list.
func (s *joinStore) encodeSlot(w *wbuf, sl int32) {
	w.u64(s.hash[sl])
	w.varint(s.count[sl])
	if s.meta&metaRowHash != 0 {
		w.u64(s.rowHash[sl])
	}
	if s.meta&metaAssoc != 0 {
		w.varint(s.assoc[sl])
	}
	if s.meta&metaTouched != 0 {
		w.varint(s.touched[sl])
	}
	if s.meta&metaTime != 0 {
		w.varint(s.time[sl])
		w.varint(s.seq[sl])
		w.bool(s.flag[sl])
	}
	if s.meta&metaMulti != 0 {
		w.bool(s.multi[sl])
	}
	for c := range s.cols {
		s.cols[c].encode(w, sl)
	}
}

// encodedBytes estimates the size of the store's rows as encodeSlot
// writes them, counting each varint at 8 bytes (about a timestamp's), so
// that a snapshot's buffer is allocated once. A nil store holds nothing.
func (s *joinStore) encodedBytes() int64 {
	if s == nil {
		return 0
	}
	row := int64(8 + 8) // hash, count
	if s.meta&metaRowHash != 0 {
		row += 8
	}
	if s.meta&metaAssoc != 0 {
		row += 8
	}
	if s.meta&metaTouched != 0 {
		row += 8
	}
	if s.meta&metaTime != 0 {
		row += 8 + 8 + 1
	}
	if s.meta&metaMulti != 0 {
		row++
	}
	var strs int64
	for c := range s.cols {
		row++ // validity
		switch s.cols[c].kind {
		case vkDec:
			row += 16
		case vkStr:
			row += 8
			strs += s.cols[c].arena.live
		default:
			row += 8
		}
	}
	return int64(s.live)*row + strs
}

func (s *joinStore) decodeSlot(r *rbuf) int32 {
	sl := s.allocSlot()
	s.hash[sl] = r.u64()
	s.count[sl] = r.varint()
	var rh uint64
	if s.meta&metaRowHash != 0 {
		rh = r.u64()
	}
	if s.meta&metaAssoc != 0 {
		s.assoc[sl] = r.varint()
	}
	if s.meta&metaTouched != 0 {
		s.touched[sl] = r.varint()
	}
	if s.meta&metaTime != 0 {
		s.time[sl] = r.varint()
		s.seq[sl] = r.varint()
		s.flag[sl] = r.bool()
	}
	if s.meta&metaMulti != 0 {
		s.multi[sl] = r.bool()
	}
	for c := range s.cols {
		s.cols[c].decode(r, sl)
	}
	if r.err == nil && s.count[sl] <= 0 {
		r.err = errs.Internalf("join state is corrupt: a row with multiplicity %d", s.count[sl])
	}
	if r.err != nil {
		return -1 // the restore fails; the unlinked slot goes with the operator
	}
	e := s.findKeyOfSlot(s, sl)
	if e < 0 {
		e = s.newEntry(s.hash[sl])
	}
	s.link(e, sl, s.entTail[e])
	if s.meta&metaRowHash != 0 {
		s.setRowHash(sl, rh)
	}
	return sl
}

// slotEqualsView compares a stored value with row i of a batch view.
// NULLs compare equal: callers never store NULL keys, and for whole-row
// comparisons (retractions) NULL matches NULL.
func slotEqualsView(s *slotValues, sl int32, v *colView, i int) bool {
	rv := v.isValid(i)
	if rv != s.valid[sl] {
		return false
	}
	if !rv {
		return true
	}
	if s.kind != v.kind {
		return false
	}
	switch s.kind {
	case vkInt:
		return s.ints[sl] == v.ints[i]
	case vkFloat:
		return floatBits(s.floats[sl]) == floatBits(v.floats[i])
	case vkDec:
		return s.decs[sl] == v.decs[i]
	}
	return s.str(sl) == v.strs[i]
}

func slotsEqual(a *slotValues, sa int32, b *slotValues, sb int32) bool {
	if a.valid[sa] != b.valid[sb] {
		return false
	}
	if !a.valid[sa] {
		return true
	}
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case vkInt:
		return a.ints[sa] == b.ints[sb]
	case vkFloat:
		return floatBits(a.floats[sa]) == floatBits(b.floats[sb])
	case vkDec:
		return a.decs[sa] == b.decs[sb]
	}
	return a.str(sa) == b.str(sb)
}

// rowSource names the rows feeding one side of an output or condition
// batch: rows of the current input batch (views, rows index it) or slots
// of a store. An index of -1 produces a NULL-padded row.
type rowSource struct {
	views []colView
	// cols are the Arrow columns views were loaded from (optional): with
	// them an output column of the batch's rows is sliced or taken from
	// the batch instead of gathered and built again (build).
	cols  []arrow.Array
	store *joinStore
	rows  []int32
}

// build returns column col of the source's rows as an array of type dt,
// using scratch for the generic path. Rows of the input batch whose
// column has type dt come straight from it: a zero-copy slice when they
// are a run of consecutive rows, else one typed gather (takeDirect).
// Stored STRING and 64-bit integer columns are built in one pass over
// the slots (buildStored). Anything else, and NULL-padded rows (-1),
// gathers into scratch and builds from there.
func (src rowSource) build(mem memory.Allocator, dt arrow.DataType, col, n int, scratch *colView) (arrow.Array, error) {
	if src.store != nil {
		if a := buildStored(mem, dt, &src.store.cols[col], src.rows); a != nil {
			return a, nil
		}
	} else if col < len(src.cols) && arrow.TypeEqual(src.cols[col].DataType(), dt) {
		if a := sliceOrTake(mem, src.cols[col], src.rows); a != nil {
			return a, nil
		}
	}
	src.gather(col, scratch)
	return buildArray(mem, dt, scratch, n)
}

// sliceOrTake returns the rows of arr as a new array: a slice sharing
// arr's buffers when rows are consecutive, else a copy (takeDirect). It
// returns nil when a row is -1 (NULL padding) or takeDirect cannot copy
// arr's type.
func sliceOrTake(mem memory.Allocator, arr arrow.Array, rows []int32) arrow.Array {
	if len(rows) == 0 {
		return nil
	}
	run := true
	for k, r := range rows {
		if r < 0 {
			return nil
		}
		run = run && r == rows[0]+int32(k)
	}
	if run {
		return array.NewSlice(arr, int64(rows[0]), int64(rows[0])+int64(len(rows)))
	}
	return takeDirect(mem, arr, rows)
}

// buildStored builds an array of type dt from the values of slots rows
// of s, writing the Arrow buffers straight from the store: STRING and
// BINARY from the arena, 64-bit integers and times from ints. A -1 slot
// is NULL. It returns nil for other kinds and types, and for strings too
// long for 32-bit offsets; the caller then gathers and builds.
func buildStored(mem memory.Allocator, dt arrow.DataType, s *slotValues, rows []int32) arrow.Array {
	n := len(rows)
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY:
		if s.kind != vkStr {
			return nil
		}
		total := 0
		for _, sl := range rows {
			if sl >= 0 && s.valid[sl] {
				total += int(s.refs[sl].n)
			}
		}
		if total > math.MaxInt32 {
			return nil
		}
		bitmap, nulls := storedValidity(mem, s, rows)
		offBuf, offs, dataBuf, data := varWidthBuffers(mem, n, total)
		pos := 0
		for k, sl := range rows {
			if sl >= 0 && s.valid[sl] {
				pos += copy(data[pos:], s.str(sl))
			}
			offs[k+1] = int32(pos)
		}
		return makeArray(dt, n, nulls, bitmap, offBuf, dataBuf)
	case arrow.INT64, arrow.TIMESTAMP, arrow.DATE64, arrow.TIME64, arrow.DURATION:
		if s.kind != vkInt {
			return nil
		}
		bitmap, nulls := storedValidity(mem, s, rows)
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(n * arrow.Int64SizeBytes)
		dst := arrow.Int64Traits.CastFromBytes(buf.Bytes())[:n]
		for k, sl := range rows {
			if sl >= 0 && s.valid[sl] {
				dst[k] = s.ints[sl]
			} else {
				dst[k] = 0
			}
		}
		return makeArray(dt, n, nulls, bitmap, buf)
	}
	return nil
}

// storedValidity returns the validity bitmap of slots rows of s (-1:
// NULL) and the number of NULLs, or nil and 0 when there are none.
func storedValidity(mem memory.Allocator, s *slotValues, rows []int32) (*memory.Buffer, int) {
	nulls := 0
	for _, sl := range rows {
		if sl < 0 || !s.valid[sl] {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(rows)))))
	bits := buf.Bytes()
	clear(bits) // not every allocator zeroes
	for k, sl := range rows {
		if sl >= 0 && s.valid[sl] {
			bitutil.SetBit(bits, k)
		}
	}
	return buf, nulls
}

func (src rowSource) gather(col int, dst *colView) {
	dst.reset(src.kind(col), len(src.rows))
	if src.store != nil {
		s := &src.store.cols[col]
		for i, sl := range src.rows {
			dst.valid[i] = sl >= 0 && s.valid[sl]
		}
		switch s.kind {
		case vkInt:
			gatherPadded(dst.ints, s.ints, src.rows)
		case vkFloat:
			gatherPadded(dst.floats, s.floats, src.rows)
		case vkDec:
			gatherPadded(dst.decs, s.decs, src.rows)
		case vkStr:
			for i, sl := range src.rows {
				if dst.valid[i] {
					dst.strs[i] = s.str(sl)
				} else {
					dst.strs[i] = ""
				}
			}
		}
		return
	}
	v := &src.views[col]
	for i, r := range src.rows {
		dst.valid[i] = r >= 0 && v.isValid(int(r))
	}
	switch v.kind {
	case vkInt:
		gatherPadded(dst.ints, v.ints, src.rows)
	case vkFloat:
		gatherPadded(dst.floats, v.floats, src.rows)
	case vkDec:
		gatherPadded(dst.decs, v.decs, src.rows)
	case vkStr:
		for i, r := range src.rows {
			if dst.valid[i] {
				dst.strs[i] = v.strs[r]
			} else {
				dst.strs[i] = ""
			}
		}
	}
}

// gatherPadded sets dst[i] to vals[rows[i]], or to the zero value where
// rows[i] is -1 (a NULL-padded row): one typed loop per column.
func gatherPadded[T any](dst, vals []T, rows []int32) {
	var zero T
	for i, r := range rows {
		if r >= 0 {
			dst[i] = vals[r]
		} else {
			dst[i] = zero
		}
	}
}

func (src rowSource) kind(col int) vkind {
	if src.store != nil {
		return src.store.kinds[col]
	}
	return src.views[col].kind
}

// joinOutput builds the batches a join emits: the left columns, the right
// columns (absent for semi and anti joins) and, for a changelog, the row
// kind column, from two row sources. It reuses its scratch views.
type joinOutput struct {
	mem       memory.Allocator
	schema    *arrow.Schema
	nLeft     int
	changelog bool
	scratch   colView
	cols      []arrow.Array
}

func newJoinOutput(mem memory.Allocator, spec OperatorSpec, nLeft int) *joinOutput {
	return &joinOutput{mem: mem, schema: spec.ArrowSchema(), nLeft: nLeft, changelog: spec.Changelog}
}

// emit builds and emits one batch of len(kinds) rows.
func (o *joinOutput) emit(out Output, kinds []connector.RowKind, left, right rowSource) error {
	n := len(kinds)
	if n == 0 {
		return nil
	}
	if !o.changelog {
		for _, k := range kinds {
			if k != connector.Insert {
				return errs.Internalf("join emits %s rows, but its output is declared insert-only", k)
			}
		}
	}
	nf := o.schema.NumFields()
	if o.changelog {
		nf--
	}
	o.cols = o.cols[:0]
	defer func() {
		for _, c := range o.cols {
			c.Release()
		}
	}()
	for c := range nf {
		src, col := left, c
		if c >= o.nLeft {
			src, col = right, c-o.nLeft
		}
		a, err := src.build(o.mem, o.schema.Field(c).Type, col, n, &o.scratch)
		if err != nil {
			return err
		}
		o.cols = append(o.cols, a)
	}
	if o.changelog {
		kb := array.NewInt8Builder(o.mem)
		kb.Reserve(n)
		for _, k := range kinds {
			kb.UnsafeAppend(int8(k))
		}
		o.cols = append(o.cols, kb.NewArray())
		kb.Release()
	}
	b := array.NewRecordBatch(o.schema, o.cols, int64(n))
	defer b.Release()
	return out.Emit(b)
}

// joinCondition evaluates the non-equi part of a join condition a batch at
// a time over candidate pairs. Only the columns the condition reads are
// materialized (typed by the condition's column references); the others
// are NULL placeholders.
type joinCondition struct {
	mem     memory.Allocator
	ev      expr.Evaluator
	types   []arrow.DataType // per column up to the last one read, nil when unused
	scratch colView
}

func newJoinCondition(raw json.RawMessage, mem memory.Allocator) (*joinCondition, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	e, err := expr.Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("join condition: %w", err)
	}
	ev, err := expr.Compile(e, mem)
	if err != nil {
		return nil, fmt.Errorf("join condition: %w", err)
	}
	c := &joinCondition{mem: mem, ev: ev}
	expr.Walk(e, func(n expr.Expr) bool {
		if ref, ok := n.(*expr.ColumnRef); ok {
			for len(c.types) <= ref.Index {
				c.types = append(c.types, nil)
			}
			c.types[ref.Index] = ref.T.Arrow()
		}
		return true
	})
	return c, nil
}

// filter clears keep[i] for every pair i (left row left.rows[i], right row
// right.rows[i]) the condition does not hold for (FALSE or NULL).
func (c *joinCondition) filter(nLeft int, left, right rowSource, keep []bool) error {
	n := len(left.rows)
	if c == nil || n == 0 {
		return nil
	}
	width := len(c.types)
	cols := make([]arrow.Array, width)
	fields := make([]arrow.Field, width)
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i := range width {
		var t arrow.DataType
		if i < len(c.types) {
			t = c.types[i]
		}
		if t == nil {
			cols[i] = array.NewNull(n)
			fields[i] = arrow.Field{Name: fmt.Sprintf("$%d", i), Type: arrow.Null, Nullable: true}
			continue
		}
		src, col := left, i
		if i >= nLeft {
			src, col = right, i-nLeft
		}
		a, err := src.build(c.mem, t, col, n, &c.scratch)
		if err != nil {
			return err
		}
		cols[i] = a
		fields[i] = arrow.Field{Name: fmt.Sprintf("$%d", i), Type: t, Nullable: true}
	}
	b := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	defer b.Release()
	res, err := c.ev.Eval(b)
	if err != nil {
		return err
	}
	defer res.Release()
	p, ok := res.(*array.Boolean)
	if !ok {
		return errs.Internalf("join condition produced %s, not BOOLEAN", res.DataType())
	}
	for i := range n {
		if keep[i] && !(p.IsValid(i) && p.Value(i)) {
			keep[i] = false
		}
	}
	return nil
}

// joinBatch is one input batch decoded for a join: its columns as views,
// the key hash of every row, which rows have a NULL key, and the row kinds.
type joinBatch struct {
	views   []colView
	cols    []arrow.Array // the batch's data columns, which views decode
	hashes  []uint64
	rowHash []uint64
	nullKey []bool
	kinds   []connector.RowKind
	allCols []int
}

// load decodes b; ncols is the number of data columns (without the row
// kind column, present when changelog is set). rowHashes computes the
// full-row hashes used to find retracted rows in state.
func (jb *joinBatch) load(b arrow.RecordBatch, ncols int, keys []int, changelog, rowHashes bool) error {
	var rowCols []int
	if rowHashes {
		if len(jb.allCols) != ncols {
			jb.allCols = make([]int, ncols)
			for i := range jb.allCols {
				jb.allCols[i] = i
			}
		}
		rowCols = jb.allCols
	}
	return jb.loadRowKey(b, ncols, keys, changelog, rowCols)
}

// loadRowKey is load computing rowHash over the columns rowCols (none
// when nil): the whole row, or the unique key a keyed join input's state
// finds its stored row by.
func (jb *joinBatch) loadRowKey(b arrow.RecordBatch, ncols int, keys []int, changelog bool, rowCols []int) error {
	n := int(b.NumRows())
	want := ncols
	if changelog {
		want++
	}
	if int(b.NumCols()) != want {
		return errs.Internalf("join input has %d columns, want %d", b.NumCols(), want)
	}
	jb.views = resize(jb.views, ncols)
	jb.cols = append(jb.cols[:0], b.Columns()[:ncols]...)
	for c := range ncols {
		if err := jb.views[c].load(b.Column(c)); err != nil {
			return err
		}
	}
	jb.hashes = resize(jb.hashes, n)
	if err := hashRows(b, keys, jb.hashes); err != nil {
		return err
	}
	jb.nullKey = resize(jb.nullKey, n)
	clear(jb.nullKey)
	for _, k := range keys {
		col := b.Column(k)
		if col.NullN() == 0 {
			continue
		}
		for i := range n {
			if col.IsNull(i) {
				jb.nullKey[i] = true
			}
		}
	}
	jb.kinds = resize(jb.kinds, n)
	if changelog {
		for i, k := range b.Column(ncols).(*array.Int8).Int8Values() {
			jb.kinds[i] = connector.RowKind(k)
		}
	} else {
		clear(jb.kinds)
	}
	if rowCols != nil {
		jb.rowHash = resize(jb.rowHash, n)
		if err := hashRows(b, rowCols, jb.rowHash); err != nil {
			return err
		}
	}
	return nil
}

// Snapshots of join operators are a sequence of sections, each
// [uvarint tag][uvarint length][payload]: tag 0 is the operator's own
// state (watermarks, counters), tag kg+1 the rows of key group kg. The
// sections of several subtasks' snapshots can be concatenated to restore
// a rescaled subtask, which keeps only the rows it owns.

func appendSection(w *wbuf, tag int, payload []byte) {
	w.uvarint(uint64(tag))
	w.uvarint(uint64(len(payload)))
	w.b = append(w.b, payload...)
}

// sectionLenWidth is the width of a section length written by endSection:
// a uvarint padded with continuation bytes, which binary.Uvarint reads as
// any other, holding up to 63 bits.
const sectionLenWidth = 9

// beginSection starts a section of tag whose payload the caller appends
// to w next, and returns its start for endSection. Encoding the payload in
// place, rather than apart and then copied behind its length
// (appendSection), saves a copy of every byte of a large state.
func beginSection(w *wbuf, tag int) int {
	w.uvarint(uint64(tag))
	w.b = append(w.b, make([]byte, sectionLenWidth)...)
	return len(w.b)
}

// endSection writes the length of the section begun at start.
func endSection(w *wbuf, start int) {
	n := uint64(len(w.b) - start)
	p := w.b[start-sectionLenWidth : start]
	for i := range sectionLenWidth - 1 {
		p[i] = byte(n) | 0x80
		n >>= 7
	}
	p[sectionLenWidth-1] = byte(n)
}

// readSections calls fn with each section of a snapshot.
func readSections(state []byte, fn func(tag int, r *rbuf) error) error {
	r := &rbuf{b: state}
	for len(r.b) > 0 {
		tag := int(r.uvarint())
		payload := r.bytes(r.uvarint())
		if r.err != nil {
			return r.err
		}
		pr := &rbuf{b: payload}
		if err := fn(tag, pr); err != nil {
			return err
		}
		if pr.err != nil {
			return pr.err
		}
	}
	return nil
}

// ownsHash reports whether the subtask of ctx owns rows of key hash h (the
// Hash exchange's assignment), so that a rescaled restore keeps only its
// own rows.
func ownsHash(ctx *OperatorContext, h uint64) bool {
	return ctx == nil || ctx.Parallelism <= 1 || targetOf(h, ctx.Parallelism) == ctx.Subtask
}

// writeKeyGroups appends one section per non-empty key group holding the
// rows of every store (in store order; each store's rows prefixed by their
// count).
func writeKeyGroups(w *wbuf, stores [2]*joinStore) {
	groups := make([][KeyGroups][]int32, len(stores))
	for i, s := range stores {
		if s != nil {
			groups[i] = s.slotsByKeyGroup()
		}
	}
	// The estimate of the rows' size saves growing w, whose copies of a
	// large state the runtime cannot preempt, stalling garbage collection.
	w.b = slices.Grow(w.b, int(stores[0].encodedBytes()+stores[1].encodedBytes()))
	for kg := range KeyGroups {
		empty := true
		for i := range stores {
			if len(groups[i][kg]) > 0 {
				empty = false
			}
		}
		if empty {
			continue
		}
		start := beginSection(w, kg+1)
		for i, s := range stores {
			w.uvarint(uint64(len(groups[i][kg])))
			for _, sl := range groups[i][kg] {
				s.encodeSlot(w, sl)
			}
		}
		endSection(w, start)
	}
}

// readKeyGroup restores one key group section into stores, dropping the
// rows ctx's subtask does not own; added is called with each kept slot.
func readKeyGroup(r *rbuf, ctx *OperatorContext, added func(store int, sl int32), stores ...*joinStore) error {
	for i, s := range stores {
		n := r.uvarint()
		for range n {
			if s == nil {
				return errs.Internalf("join state has rows for an input whose columns are unknown")
			}
			sl := s.decodeSlot(r)
			if r.err != nil {
				return r.err
			}
			if !ownsHash(ctx, s.hash[sl]) {
				s.removeSlot(sl)
				continue
			}
			if added != nil {
				added(i, sl)
			}
		}
	}
	return r.err
}

// writeKinds and readKinds record the column kinds of a store, so that a
// restored operator can rebuild stores for inputs it has not seen yet.
func writeKinds(w *wbuf, s *joinStore) {
	if s == nil {
		w.uvarint(0)
		return
	}
	w.uvarint(uint64(len(s.kinds)) + 1)
	for _, k := range s.kinds {
		w.byte(byte(k))
	}
}

func readKinds(r *rbuf) []vkind {
	n := r.uvarint()
	if n == 0 {
		return nil
	}
	kinds := make([]vkind, n-1)
	for i := range kinds {
		kinds[i] = vkind(r.byte())
	}
	return kinds
}

// clockOf is the operator's processing-time clock.
func clockOf(ctx *OperatorContext) Clock {
	if ctx.Clock != nil {
		return ctx.Clock
	}
	return SystemClock{}
}

// parseJoinType checks a spec's join type against the ones an operator
// supports.
func parseJoinType(t string, allowed ...string) (string, error) {
	if slices.Contains(allowed, t) {
		return t, nil
	}
	return "", errs.New(errs.InvalidPlan, "join type %q is not one of %v", t, allowed)
}

// inputWatermarks combines the watermarks of a two-input operator: the
// operator's event time is the minimum of its inputs'.
type inputWatermarks struct {
	in       [2]Watermark
	combined Watermark
}

func newInputWatermarks() inputWatermarks {
	return inputWatermarks{in: [2]Watermark{MinWatermark, MinWatermark}, combined: MinWatermark}
}

// advance records input in's watermark and returns the combined watermark
// if it advanced.
func (w *inputWatermarks) advance(in int, wm Watermark) (Watermark, bool) {
	w.in[in] = max(w.in[in], wm)
	c := min(w.in[0], w.in[1])
	if c <= w.combined {
		return c, false
	}
	w.combined = c
	return c, true
}

// The watermarks are part of a snapshot so that a restored operator
// decides lateness and cleanup exactly as the one it replaces. When the
// snapshots of several subtasks are restored together (a rescale), the
// restored watermarks are the minimum over them: a watermark only one
// subtask had reached would make the others' rows late.
func (w *inputWatermarks) encode(b *wbuf) {
	b.varint(int64(w.in[0]))
	b.varint(int64(w.in[1]))
	b.varint(int64(w.combined))
}

// decode reads the watermarks of one snapshot; first says whether it is
// the first snapshot restored.
func (w *inputWatermarks) decode(r *rbuf, first bool) {
	var in [2]Watermark
	in[0], in[1] = Watermark(r.varint()), Watermark(r.varint())
	c := Watermark(r.varint())
	if first {
		w.in, w.combined = in, c
		return
	}
	w.in[0], w.in[1], w.combined = min(w.in[0], in[0]), min(w.in[1], in[1]), min(w.combined, c)
}

// The helpers below serve the joins that keep both inputs in joinStores
// (interval, window and temporal joins).

// liveRows is such a join's stateRows: the live rows of each input's
// store, 0 for a store not created yet.
func liveRows(stores [2]*joinStore) [2]int {
	var n [2]int
	for i, s := range stores {
		if s != nil {
			n[i] = s.live
		}
	}
	return n
}

// endInput records that input in has ended and reports whether both have:
// the join then fires or expires all it still holds.
func endInput(ended *[2]bool, in int) bool {
	ended[in] = true
	return ended[0] && ended[1]
}

// checkColumns reports whether input in's column count is known already,
// failing when it is not n: every batch of an input has the same columns.
func checkColumns(op string, ncols [2]int, in, n int) (known bool, err error) {
	if ncols[in] < 0 {
		return false, nil
	}
	if ncols[in] != n {
		return true, errs.Internalf("%s input %d has %d columns, earlier %d", op, in, n, ncols[in])
	}
	return true, nil
}

// splitColumns learns both inputs' column counts from input in's n, the
// output (fields) holding the left input's columns, then the right's, and
// creates each side's store with meta[side].
func splitColumns(op string, fields []arrow.Field, in, n int, keys [2][]int, meta [2]joinMeta,
	ncols *[2]int, stores *[2]*joinStore, out *joinOutput) error {
	if n > len(fields) {
		return errs.Internalf("%s input %d has %d columns, the output only %d", op, in, n, len(fields))
	}
	ncols[in], ncols[1-in] = n, len(fields)-n
	out.nLeft = ncols[0]
	for side, fs := range [2][]arrow.Field{fields[:ncols[0]], fields[ncols[0]:]} {
		kinds, err := viewKinds(fs)
		if err != nil {
			return err
		}
		stores[side] = newJoinStore(kinds, keys[side], meta[side])
	}
	return nil
}

// writeTimedHeader starts the snapshot header of an interval or window
// join: format version, sequence counter, watermarks, the time up to
// which rows have been fired or expired (done) and the ended inputs.
func writeTimedHeader(hw *wbuf, seq int64, wm *inputWatermarks, done int64, ended [2]bool) {
	hw.byte(1)
	hw.varint(seq)
	wm.encode(hw)
	hw.varint(done)
	hw.bool(ended[0])
	hw.bool(ended[1])
}

// readTimedHeader reads what writeTimedHeader wrote. When several
// snapshots are restored (a rescale; restored says one already was) seq
// is their maximum, done their minimum, and an input has ended only if it
// had in every one.
func readTimedHeader(r *rbuf, op string, seq *int64, wm *inputWatermarks, done *int64, ended *[2]bool, restored *bool) error {
	if v := r.byte(); v != 1 {
		return errs.Internalf("%s state has unknown format version %d", op, v)
	}
	*seq = max(*seq, r.varint())
	first := !*restored
	*restored = true
	wm.decode(r, first)
	if d := r.varint(); first || d < *done {
		*done = d
	}
	for in := range ended {
		e := r.bool()
		ended[in] = e && (first || ended[in])
	}
	return nil
}
