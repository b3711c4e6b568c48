package exec

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// State shared by the rank, deduplicate and over-aggregate operators.
//
// Rows kept in state live column-wise in a rowStore (one slotValues per
// input column, indexed by slot, as the join state does), so storing a row
// copies a few typed values and emitting rows gathers them with one typed
// loop per column. Rows are grouped by partition (the PARTITION BY key)
// through a partitionTable: key hash -> partition, found with one
// hashTable probe and a typed comparison of the key columns. The key hash
// is hashRows over the partition key columns, the hash the Hash exchange
// partitions by, so KeyGroupOf(hash) names the key group a partition's
// state belongs to in snapshots, and ownsHash decides which subtask keeps
// it after a rescale.

// rowStore keeps rows of one input column-wise by slot.
type rowStore struct {
	cols []slotValues
	// Per slot: the arrival number (ties are ordered by it), the row's
	// time attribute (deduplicate, over) and its partition (over).
	seq  []int64
	time []int64
	part []int32
	free []int32
	// n is the number of slots handed out; the per-slot slices are grown
	// ahead of it (slotCapacity).
	n    int32
	live int
	// pend[sl] is 1 + the batch row whose columns slot sl awaits
	// (putLater, copyPending), 0 when it awaits none; pendSlots lists the
	// slots putLater stored, pendRows is scratch.
	pend      []int32
	pendSlots []int32
	pendRows  []int32
}

func newRowStore(kinds []vkind) *rowStore {
	s := &rowStore{cols: make([]slotValues, len(kinds))}
	for i, k := range kinds {
		s.cols[i].kind = k
	}
	return s
}

// slotValuesBytes is the estimated size of one slot of cols: a value of
// its kind and a validity flag per column (StateSizer).
func slotValuesBytes(cols []slotValues) int64 {
	var n int64
	for _, c := range cols {
		switch c.kind {
		case vkDec:
			n += 16 + 1
		case vkStr:
			n += varWidthBytes + 1
		default:
			n += 8 + 1
		}
	}
	return n
}

// bytes estimates the live rows: their values, arrival number, time and
// partition (StateSizer). A nil store holds nothing.
func (s *rowStore) bytes() int64 {
	if s == nil {
		return 0
	}
	return int64(s.live) * (slotValuesBytes(s.cols) + 8 + 8 + 4)
}

func (s *rowStore) alloc() int32 {
	s.live++
	if n := len(s.free); n > 0 {
		sl := s.free[n-1]
		s.free = s.free[:n-1]
		return sl
	}
	sl := s.n
	s.n++
	if int(s.n) > len(s.seq) {
		n := slotCapacity(len(s.seq), int(s.n))
		for i := range s.cols {
			s.cols[i].grow(n)
		}
		s.seq = growTo(s.seq, n)
		s.time = growTo(s.time, n)
		s.part = growTo(s.part, n)
		s.pend = growTo(s.pend, n)
	}
	return sl
}

// put stores row i of the batch views v.
func (s *rowStore) put(v []colView, i int, seq int64) int32 {
	sl := s.alloc()
	for c := range s.cols {
		s.cols[c].setRow(sl, &v[c], i)
	}
	s.seq[sl] = seq
	return sl
}

// putLater is put copying only the columns eager of row i of v now, and
// the others with the next copyPending, once the batch is emitted: an
// operator that reads no other column of the rows it stores before then
// stores them so. The emitter gathers such rows from the batch
// (rowEmitter.fromBatch), the rows released with the batch are never
// copied, and the others are copied by one typed loop per column rather
// than by a dispatch per value.
func (s *rowStore) putLater(v []colView, i int, seq int64, eager []int) int32 {
	sl := s.alloc()
	for _, c := range eager {
		s.cols[c].setRow(sl, &v[c], i)
	}
	s.seq[sl] = seq
	s.pend[sl] = int32(i) + 1
	s.pendSlots = append(s.pendSlots, sl)
	return sl
}

// copyPending copies the columns but eager (as putLater was given them) of
// the rows putLater stored, and that are not released since, from the
// batch views v they came from.
func (s *rowStore) copyPending(v []colView, eager []int) {
	if len(s.pendSlots) == 0 {
		return
	}
	live := s.pendSlots[:0]
	s.pendRows = s.pendRows[:0]
	for _, sl := range s.pendSlots {
		if s.pend[sl] != 0 {
			live = append(live, sl)
			s.pendRows = append(s.pendRows, s.pend[sl]-1)
			s.pend[sl] = 0
		}
	}
	for c := range s.cols {
		if !slices.Contains(eager, c) {
			s.cols[c].setRows(live, &v[c], s.pendRows)
		}
	}
	s.pendSlots = s.pendSlots[:0]
}

// release frees slot sl (dropping its strings).
func (s *rowStore) release(sl int32) {
	for c := range s.cols {
		s.cols[c].clearSlot(sl)
	}
	s.pend[sl] = 0
	s.free = append(s.free, sl)
	s.live--
}

// equalsRow reports whether slot sl holds exactly row i of v (NULL equals
// NULL): how a retraction finds the row it retracts.
func (s *rowStore) equalsRow(sl int32, v []colView, i int) bool {
	for c := range s.cols {
		if !slotEqualsView(&s.cols[c], sl, &v[c], i) {
			return false
		}
	}
	return true
}

func (s *rowStore) encode(w *wbuf, sl int32) {
	w.varint(s.seq[sl])
	w.varint(s.time[sl])
	for c := range s.cols {
		s.cols[c].encode(w, sl)
	}
}

func (s *rowStore) decode(r *rbuf) int32 {
	sl := s.alloc()
	s.seq[sl] = r.varint()
	s.time[sl] = r.varint()
	for c := range s.cols {
		s.cols[c].decode(r, sl)
	}
	return sl
}

// storedView is a view of stored column s, so that stored values and batch
// rows are compared by one function (compareSortKey; its strings are read
// with strAt).
func storedView(s *slotValues) colView {
	return colView{kind: s.kind, ints: s.ints, floats: s.floats, decs: s.decs, valid: s.valid, stored: s}
}

// partitionTable finds the partition of a row by its key columns. Keys are
// stored column-wise per partition; partitions with equal key hash are
// chained.
type partitionTable struct {
	keyCols []int
	keys    []slotValues
	hash    []uint64
	next    []int32
	touched []int64 // processing time of the last write (state TTL)
	live    []bool
	free    []int32
	n       int32
	count   int
	table   hashTable
	// touchSink keeps what touchKeys read.
	touchSink uint64
}

// touchKeys brings the table's buckets of a batch's key hashes into the
// CPU caches before the batch's rows look up their partitions one by one
// (hashTable.touch).
func (t *partitionTable) touchKeys(hashes []uint64) { t.touchSink ^= t.table.touch(hashes) }

// touchAhead is touchKeys for a loop over a batch's rows, touchRun rows
// at a time (as joinStore.touchAhead).
func (t *partitionTable) touchAhead(hashes []uint64, i int) {
	if i%touchRun == 0 {
		t.touchKeys(hashes[i:min(len(hashes), i+touchRun)])
	}
}

// bytes estimates the live partitions: their keys, hash, chain link,
// last write time, live flag and hash table entry (StateSizer).
func (t *partitionTable) bytes() int64 {
	return int64(t.count) * (slotValuesBytes(t.keys) + 8 + 4 + 8 + 1 + 4)
}

// newPartitionTable indexes partitions by the input columns keyCols, whose
// kinds are given by inKinds (all input columns).
func newPartitionTable(keyCols []int, inKinds []vkind) *partitionTable {
	t := &partitionTable{keyCols: keyCols, keys: make([]slotValues, len(keyCols))}
	for j, c := range keyCols {
		t.keys[j].kind = inKinds[c]
	}
	return t
}

// find returns the partition of row i of v (key hash h), or -1.
func (t *partitionTable) find(h uint64, v []colView, i int) int32 {
	for p := t.table.find(h); p >= 0; p = t.next[p] {
		eq := true
		for j, c := range t.keyCols {
			if !slotEqualsView(&t.keys[j], p, &v[c], i) {
				eq = false
				break
			}
		}
		if eq {
			return p
		}
	}
	return -1
}

func (t *partitionTable) alloc() int32 {
	t.count++
	if n := len(t.free); n > 0 {
		p := t.free[n-1]
		t.free = t.free[:n-1]
		t.live[p] = true
		return p
	}
	p := t.n
	t.n++
	if int(t.n) > len(t.hash) {
		n := slotCapacity(len(t.hash), int(t.n))
		for j := range t.keys {
			t.keys[j].grow(n)
		}
		t.hash = growTo(t.hash, n)
		t.next = growTo(t.next, n)
		t.touched = growTo(t.touched, n)
		t.live = growTo(t.live, n)
	}
	t.live[p] = true
	return p
}

func (t *partitionTable) link(p int32, h uint64) {
	t.hash[p] = h
	t.next[p] = t.table.find(h)
	t.table.set(h, p)
}

// add creates the partition of row i of v (key hash h).
func (t *partitionTable) add(h uint64, v []colView, i int, now int64) int32 {
	p := t.alloc()
	for j, c := range t.keyCols {
		t.keys[j].setRow(p, &v[c], i)
	}
	t.touched[p] = now
	t.link(p, h)
	return p
}

// remove drops partition p.
func (t *partitionTable) remove(p int32) {
	h := t.hash[p]
	if first := t.table.find(h); first == p {
		if t.next[p] >= 0 {
			t.table.set(h, t.next[p])
		} else {
			t.table.remove(h)
		}
	} else {
		for q := first; q >= 0; q = t.next[q] {
			if t.next[q] == p {
				t.next[q] = t.next[p]
				break
			}
		}
	}
	for j := range t.keys {
		t.keys[j].clearSlot(p)
	}
	t.live[p] = false
	t.free = append(t.free, p)
	t.count--
}

// byKeyGroup lists the live partitions per key group, in partition order.
func (t *partitionTable) byKeyGroup() [KeyGroups][]int32 {
	var out [KeyGroups][]int32
	for p := range t.n {
		if t.live[p] {
			kg := KeyGroupOf(t.hash[p])
			out[kg] = append(out[kg], p)
		}
	}
	return out
}

// encode writes partition p's hash, key and last write time; decode reads
// them back into a new partition.
func (t *partitionTable) encode(w *wbuf, p int32) {
	w.u64(t.hash[p])
	w.varint(t.touched[p])
	for j := range t.keys {
		t.keys[j].encode(w, p)
	}
}

func (t *partitionTable) decode(r *rbuf) int32 {
	p := t.alloc()
	h := r.u64()
	t.touched[p] = r.varint()
	for j := range t.keys {
		t.keys[j].decode(r, p)
	}
	t.link(p, h)
	return p
}

// expired reports whether partition p has not been written for ttl ms.
func (t *partitionTable) expired(p int32, ttl, now int64) bool {
	return ttl > 0 && now-t.touched[p] >= ttl
}

// compareSortKey compares row i of a with row j of b on one ORDER BY key:
// negative when row i sorts first. NULLs sort first or last as the key
// says, whatever the direction.
// compareToStored orders row i of a batch (its column views) against
// stored slot sl by keys.
func compareToStored(keys []SortKey, views []colView, i int, store *rowStore, sl int32) int {
	for _, k := range keys {
		s, v := &store.cols[k.Col], &views[k.Col]
		var c int
		if s.kind == vkInt && v.kind == vkInt && v.isValid(i) && s.valid[sl] {
			// The common integer key, compared in place: a Top-N binary
			// searches its partition's rows with this for every row that
			// enters it, and building the stored view costs more than
			// the comparison.
			c = cmp.Compare(v.ints[i], s.ints[sl])
			if k.Desc {
				c = -c
			}
		} else {
			sv := storedView(s)
			c = compareSortKey(k, v, i, &sv, int(sl))
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func compareSortKey(k SortKey, a *colView, i int, b *colView, j int) int {
	av, bv := a.isValid(i), b.isValid(j)
	if !av || !bv {
		switch {
		case av == bv:
			return 0
		case !av == k.NullsFirst:
			return -1
		}
		return 1
	}
	var c int
	switch a.kind {
	case vkInt:
		c = cmp.Compare(a.ints[i], b.ints[j])
	case vkFloat:
		c = cmp.Compare(a.floats[i], b.floats[j])
	case vkDec:
		c = a.decs[i].Cmp(b.decs[j])
	case vkStr:
		c = strings.Compare(a.strAt(i), b.strAt(j))
	}
	if k.Desc {
		return -c
	}
	return c
}

// storeKinds returns the value kinds of the first n columns of schema, the
// input columns an operator keeps in state.
func storeKinds(schema types.Schema, n int, op string) ([]vkind, []arrow.DataType, error) {
	kinds := make([]vkind, n)
	dts := make([]arrow.DataType, n)
	for i := range n {
		c := schema.Columns[i]
		dts[i] = c.Type.Arrow()
		k, err := storeKindOf(dts[i])
		if err != nil {
			return nil, nil, errs.New(errs.NotSupported, "%s: column %q has type %s, which it does not support yet", op, c.Name, c.Type)
		}
		kinds[i] = k
	}
	return kinds, dts, nil
}

// rowEmitter collects the rows an operator emits for one input batch and
// builds them into one output batch: the input columns, gathered from
// stored slots or from rows of the current batch, then optionally the rank
// (BIGINT) and extra columns the caller built, then the row kind column
// for a changelog.
type rowEmitter struct {
	mem       memory.Allocator
	schema    *arrow.Schema
	nIn       int
	rank      bool
	changelog bool
	// dropUpdateBefore leaves the -U rows out (the spec's
	// DropUpdateBefore): they are never gathered into the output.
	dropUpdateBefore bool

	kinds []connector.RowKind
	slots []int32 // stored slot, or -1 for row rows[j] of the current batch
	rows  []int32
	ranks []int64

	scratch colView
	cols    []arrow.Array
}

func newRowEmitter(mem memory.Allocator, spec OperatorSpec, nIn int, rank bool) *rowEmitter {
	return &rowEmitter{mem: mem, schema: spec.ArrowSchema(), nIn: nIn, rank: rank, changelog: spec.Changelog}
}

func (e *rowEmitter) add(k connector.RowKind, slot, row int32, rank int64) {
	if k == connector.UpdateBefore && e.dropUpdateBefore {
		return
	}
	e.kinds = append(e.kinds, k)
	e.slots = append(e.slots, slot)
	e.rows = append(e.rows, row)
	e.ranks = append(e.ranks, rank)
}

func (e *rowEmitter) len() int { return len(e.kinds) }

func (e *rowEmitter) reset() {
	e.kinds, e.slots, e.rows, e.ranks = e.kinds[:0], e.slots[:0], e.rows[:0], e.ranks[:0]
}

// fromBatch redirects the collected rows whose slot still awaits its
// columns (putLater) to the row of the current batch they come from.
func (e *rowEmitter) fromBatch(store *rowStore) {
	if store == nil || len(store.pendSlots) == 0 {
		return
	}
	for j, sl := range e.slots {
		if sl >= 0 && store.pend[sl] != 0 {
			e.slots[j], e.rows[j] = -1, store.pend[sl]-1
		}
	}
}

// gather fills e.scratch with column c of the collected rows.
func (e *rowEmitter) gather(c int, store *rowStore, views []colView) {
	var s *slotValues
	var v *colView
	k := vkInt
	if store != nil {
		s = &store.cols[c]
		k = s.kind
	}
	if views != nil {
		v = &views[c]
		k = v.kind
	}
	e.scratch.reset(k, len(e.slots))
	d := &e.scratch
	e.gatherValid(d.valid, s, v)
	// One loop per kind; the values of NULLs are copied too (never read)
	// rather than branched around, except strings, which would pin them.
	var stored slotValues
	if s != nil {
		stored = *s
	}
	var batch colView
	if v != nil {
		batch = *v
	}
	switch k {
	case vkInt:
		gatherMixed(d.ints, stored.ints, batch.ints, e.slots, e.rows)
	case vkFloat:
		gatherMixed(d.floats, stored.floats, batch.floats, e.slots, e.rows)
	case vkDec:
		gatherMixed(d.decs, stored.decs, batch.decs, e.slots, e.rows)
	case vkStr:
		for j, sl := range e.slots {
			switch {
			case !d.valid[j]:
				d.strs[j] = ""
			case sl >= 0:
				d.strs[j] = s.str(sl)
			default:
				d.strs[j] = batch.strs[e.rows[j]]
			}
		}
	}
}

// gatherValid sets valid[j] to whether collected row j is not NULL in
// stored column s or batch column v.
func (e *rowEmitter) gatherValid(valid []bool, s *slotValues, v *colView) {
	for j, sl := range e.slots {
		if sl >= 0 {
			valid[j] = s.valid[sl]
		} else {
			valid[j] = v.isValid(int(e.rows[j]))
		}
	}
}

// buildMixed builds column c of the collected rows straight into the
// buffers of an array of type dt, for STRING and BINARY (copied from the
// arena or the batch's values) and 64-bit integers and times, reading
// each row's validity in the same pass, where gather then buildArray would
// write every value and flag into e.scratch first and read it back. Top-N
// emits most of its rows twice (-U/+U), so this copy is most of its cost.
// It returns nil for other kinds and types, for a column whose stored and
// batch kinds differ, and for strings too long for 32-bit offsets; the
// caller then gathers and builds.
func (e *rowEmitter) buildMixed(c int, dt arrow.DataType, store *rowStore, views []colView) arrow.Array {
	var s slotValues
	var v colView
	k := vkInt
	if store != nil {
		s = store.cols[c]
		k = s.kind
	}
	if views != nil {
		v = views[c]
		if store != nil && v.kind != k {
			return nil
		}
		k = v.kind
	}
	n := len(e.slots)
	e.scratch.valid = resize(e.scratch.valid, n)
	valid := e.scratch.valid
	switch id := dt.ID(); {
	case k == vkStr && (id == arrow.STRING || id == arrow.BINARY):
		total := 0
		for j, sl := range e.slots {
			switch {
			case sl >= 0:
				valid[j] = s.valid[sl]
				if valid[j] {
					total += int(s.refs[sl].n)
				}
			default:
				r := e.rows[j]
				valid[j] = v.valid == nil || v.valid[r]
				if valid[j] {
					total += len(v.strs[r])
				}
			}
		}
		if total > math.MaxInt32 {
			return nil
		}
		bitmap, nulls := validityBitmap(e.mem, valid, n)
		offBuf, offs, dataBuf, data := varWidthBuffers(e.mem, n, total)
		pos := 0
		for j, sl := range e.slots {
			switch {
			case !valid[j]:
			case sl >= 0:
				pos += copy(data[pos:], s.str(sl))
			default:
				pos += copy(data[pos:], v.strs[e.rows[j]])
			}
			offs[j+1] = int32(pos)
		}
		return makeArray(dt, n, nulls, bitmap, offBuf, dataBuf)
	case k == vkInt && (id == arrow.INT64 || id == arrow.TIMESTAMP || id == arrow.DATE64 ||
		id == arrow.TIME64 || id == arrow.DURATION):
		buf := memory.NewResizableBuffer(e.mem)
		buf.Resize(n * arrow.Int64SizeBytes)
		dst := arrow.Int64Traits.CastFromBytes(buf.Bytes())[:n]
		for j, sl := range e.slots {
			if sl >= 0 {
				dst[j], valid[j] = s.ints[sl], s.valid[sl]
			} else {
				r := e.rows[j]
				dst[j], valid[j] = v.ints[r], v.valid == nil || v.valid[r]
			}
		}
		bitmap, nulls := validityBitmap(e.mem, valid, n)
		if nulls > 0 {
			for j, ok := range valid {
				if !ok {
					dst[j] = 0
				}
			}
		}
		return makeArray(dt, n, nulls, bitmap, buf)
	}
	return nil
}

// gatherMixed sets dst[j] to stored[slots[j]], or to batch[rows[j]] when
// slots[j] is -1.
func gatherMixed[T any](dst, stored, batch []T, slots, rows []int32) {
	for j, sl := range slots {
		if sl >= 0 {
			dst[j] = stored[sl]
		} else {
			dst[j] = batch[rows[j]]
		}
	}
}

// flush emits the collected rows (if any) and resets the emitter. extra
// are the columns after the input columns and the rank (the emitter takes
// ownership). views, the current batch, may be nil when every row comes
// from the store and none was stored with putLater.
func (e *rowEmitter) flush(out Output, store *rowStore, views []colView, extra ...arrow.Array) error {
	n := len(e.kinds)
	e.cols = e.cols[:0]
	defer func() {
		for _, c := range e.cols {
			c.Release()
		}
		for _, c := range extra {
			c.Release()
		}
		clear(e.scratch.strs) // do not pin strings of released rows
		e.reset()
	}()
	if n == 0 {
		return nil
	}
	e.fromBatch(store)
	if !e.changelog {
		for _, k := range e.kinds {
			if k != connector.Insert {
				return errs.Internalf("operator emits %s rows, but its output is declared insert-only", k)
			}
		}
	}
	for c := range e.nIn {
		dt := e.schema.Field(c).Type
		if a := e.buildMixed(c, dt, store, views); a != nil {
			e.cols = append(e.cols, a)
			continue
		}
		e.gather(c, store, views)
		a, err := buildArray(e.mem, dt, &e.scratch, n)
		if err != nil {
			return err
		}
		e.cols = append(e.cols, a)
	}
	if e.rank {
		rb := array.NewInt64Builder(e.mem)
		rb.AppendValues(e.ranks, nil)
		e.cols = append(e.cols, rb.NewArray())
		rb.Release()
	}
	for _, c := range extra {
		c.Retain()
		e.cols = append(e.cols, c)
	}
	if e.changelog {
		kb := array.NewInt8Builder(e.mem)
		kb.Reserve(n)
		for _, k := range e.kinds {
			kb.UnsafeAppend(int8(k))
		}
		e.cols = append(e.cols, kb.NewArray())
		kb.Release()
	}
	if len(e.cols) != e.schema.NumFields() {
		return errs.Internalf("operator builds %d output columns, its schema has %d", len(e.cols), e.schema.NumFields())
	}
	b := array.NewRecordBatch(e.schema, e.cols, int64(n))
	defer b.Release()
	return out.Emit(b)
}

// The helpers below serve the operators that keep at most one row per
// partition (deduplication and changelog normalization): store holds the
// rows, row[p] partition p's slot; store is nil when no rows are kept.

// sweepParts drops, through drop, the partitions whose keys have expired,
// at most once per TTL period (lastSweep), so that keys never seen again
// do not hold memory forever; keys expired in between are already treated
// as unknown when they are looked up.
func sweepParts(parts *partitionTable, lastSweep *int64, ttl, now int64, drop func(p int32)) {
	if now-*lastSweep < ttl {
		return
	}
	*lastSweep = now
	for p := range parts.n {
		if parts.live[p] && parts.expired(p, ttl, now) {
			drop(p)
		}
	}
}

// snapshotKeyGroups writes the keyed state of an operator whose state is
// per partition: what header writes (the operator-wide values) in section
// 0, then each key group's partitions in a section of its own, tagged
// with the key group plus one, so that a rescaled job's subtasks can tell
// the partitions they own. A partition is its key followed by what part
// writes for it.
func snapshotKeyGroups(parts *partitionTable, header func(w *wbuf), part func(w *wbuf, p int32)) []byte {
	var w wbuf
	start := beginSection(&w, 0)
	header(&w)
	endSection(&w, start)
	for kg, ps := range parts.byKeyGroup() {
		if len(ps) == 0 {
			continue
		}
		start := beginSection(&w, kg+1)
		w.uvarint(uint64(len(ps)))
		for _, p := range ps {
			parts.encode(&w, p)
			part(&w, p)
		}
		endSection(&w, start)
	}
	return w.b
}

// releaseAll releases the slots and returns the list emptied, for reuse.
func (s *rowStore) releaseAll(slots []int32) []int32 {
	for _, sl := range slots {
		s.release(sl)
	}
	return slots[:0]
}

// restoreKeyGroups reads what snapshotKeyGroups wrote (several snapshots
// when rescaling): header reads each section 0, and part the state of
// partition p, whose key is already decoded into parts; owned says
// whether this subtask owns the key, and part drops a partition it does
// not own.
func restoreKeyGroups(state []byte, ctx *OperatorContext, parts *partitionTable, header func(r *rbuf),
	part func(r *rbuf, p int32, owned bool) error) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			header(r)
			return r.err
		}
		for range r.uvarint() {
			p := parts.decode(r)
			if err := part(r, p, ownsHash(ctx, parts.hash[p])); err != nil {
				return err
			}
			if r.err != nil {
				return r.err
			}
		}
		return r.err
	})
}

// encodeSlots writes a list of stored rows: its length, then each row.
func (s *rowStore) encodeSlots(w *wbuf, slots []int32) {
	w.uvarint(uint64(len(slots)))
	for _, sl := range slots {
		s.encode(w, sl)
	}
}

// decodeSlots reads a list that encodeSlots wrote, appending the rows'
// new slots to into; it stops at the first decoding error, left in r.
func (s *rowStore) decodeSlots(r *rbuf, into []int32) []int32 {
	for range r.uvarint() {
		into = append(into, s.decode(r))
		if r.err != nil {
			break
		}
	}
	return into
}

// keyedRows is the state of the operators that keep at most one row per
// key (deduplicate, changelog normalize): the keys' partitions and, unless
// store is nil, the slot of each partition's row.
type keyedRows struct {
	parts *partitionTable
	store *rowStore // nil when only the keys are kept
	row   []int32
	// release holds the slots of replaced and dropped rows until the
	// batch's output, which may gather them, is built.
	release   []int32
	lastSweep int64
}

// drop forgets partition p; its row's slot is released with the batch.
func (k *keyedRows) drop(p int32) {
	if k.store != nil {
		k.release = append(k.release, k.row[p])
	}
	k.parts.remove(p)
}

// releaseSlots frees the slots of the rows replaced or dropped, once the
// batch that may still read them is out.
func (k *keyedRows) releaseSlots() {
	k.release = k.store.releaseAll(k.release)
}

// sweep drops the keys expired under ttl at now (see sweepParts).
func (k *keyedRows) sweep(ttl, now int64) {
	sweepParts(k.parts, &k.lastSweep, ttl, now, k.drop)
}

func (k *keyedRows) snapshot() []byte {
	return snapshotParts(k.lastSweep, k.parts, k.store, k.row)
}

// restore reads what snapshot wrote, keeping the keys ctx's subtask owns.
func (k *keyedRows) restore(state []byte, ctx *OperatorContext) error {
	defer k.releaseSlots()
	return restoreParts(state, ctx, &k.lastSweep, k.parts, k.store, &k.row, k.drop)
}

// snapshotParts writes the last sweep time in section 0, then each key
// group's partitions, with their rows, in a section of its own.
func snapshotParts(lastSweep int64, parts *partitionTable, store *rowStore, row []int32) []byte {
	return snapshotKeyGroups(parts, func(w *wbuf) { w.varint(lastSweep) }, func(w *wbuf, p int32) {
		if store != nil {
			store.encode(w, row[p])
		}
	})
}

// restoreParts reads what snapshotParts wrote (several snapshots when
// rescaling: lastSweep becomes their latest) and drops, through drop, the
// partitions whose keys another subtask owns. The caller releases the
// dropped rows' slots.
func restoreParts(state []byte, ctx *OperatorContext, lastSweep *int64, parts *partitionTable,
	store *rowStore, row *[]int32, drop func(p int32)) error {
	return restoreKeyGroups(state, ctx, parts, func(r *rbuf) { *lastSweep = max(*lastSweep, r.varint()) },
		func(r *rbuf, p int32, owned bool) error {
			if store != nil {
				*row = growTo(*row, int(parts.n))
				(*row)[p] = store.decode(r)
			}
			if r.err == nil && !owned {
				drop(p)
			}
			return r.err
		})
}
