package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/connector"
)

// lookupMaterialized is the state of a materializing lookup join
// (LookupJoinSpec.Materialize): per probe key, the lookup rows its last
// +I/+U joined. The rows live in append-only segments (the probe key
// columns, then the lookup columns), each entry a run of rows of one
// segment; a segment is released once none of its rows is referenced.
type lookupMaterialized struct {
	keys   []int         // probe key columns
	schema *arrow.Schema // segment rows: key columns, then lookup columns
	segs   []matSegment
	// rows counts the rows of the segments not yet released, for bytes.
	rows    int64
	entries map[uint64][]matEntry
	hashes  []uint64 // scratch
}

type matSegment struct {
	rows arrow.RecordBatch // nil once released
	live int               // rows still referenced by an entry
}

type matEntry struct{ seg, start, n int32 }

func (j *lookupJoin) newMaterialized() error {
	m := &lookupMaterialized{keys: j.spec.ProbeUpsertKey, entries: map[uint64][]matEntry{}}
	if len(m.keys) == 0 {
		for c := 0; c < j.spec.ProbeWidth; c++ {
			m.keys = append(m.keys, c)
		}
	}
	var fields []arrow.Field
	for _, k := range m.keys {
		if k < 0 || k >= j.spec.ProbeWidth {
			return fmt.Errorf("lookup join spec: probe key column %d out of range", k)
		}
		fields = append(fields, j.schema.Field(k))
	}
	m.schema = arrow.NewSchema(append(fields, j.tableSchema.Fields()...), nil)
	j.mat = m
	return nil
}

// probeMaterialized joins a changelog probe batch run by run: a run of
// +I/+U rows looks the rows up in the table and stores what they joined,
// a run of -U/-D rows retracts what is stored for their keys (an unknown
// key of a left join retracts its NULL-padded row). Runs keep the
// batch's order, so a retraction sees the +I/+U before it in the batch.
func (j *lookupJoin) probeMaterialized(b arrow.RecordBatch, out Output) error {
	kinds := b.Column(int(b.NumCols()) - 1).(*array.Int8).Int8Values()
	n := len(kinds)
	for s := 0; s < n; {
		acc := isAccumulate(kinds[s])
		e := s + 1
		for e < n && isAccumulate(kinds[e]) == acc {
			e++
		}
		run := b
		if s > 0 || e < n {
			run = b.NewSlice(int64(s), int64(e))
		}
		var err error
		if acc {
			err = j.accumulate(run, out)
		} else {
			err = j.retract(run, out)
		}
		if run != b {
			run.Release()
		}
		if err != nil {
			return err
		}
		s = e
	}
	return nil
}

func isAccumulate(k int8) bool {
	return connector.RowKind(k) == connector.Insert || connector.RowKind(k) == connector.UpdateAfter
}

// accumulate joins +I/+U rows with the table, emits the results and makes
// the matched lookup rows each key's stored rows.
func (j *lookupJoin) accumulate(b arrow.RecordBatch, out Output) error {
	if err := j.match(b); err != nil {
		return err
	}
	if len(j.pi) > 0 {
		res, err := j.output(b)
		if err != nil {
			return err
		}
		err = out.Emit(res)
		res.Release()
		if err != nil {
			return err
		}
	}
	m := j.mat
	var spi, sbj []int32
	for k, r := range j.bj {
		if r >= 0 {
			spi, sbj = append(spi, j.pi[k]), append(sbj, r)
		}
	}
	seg := int32(-1)
	if len(spi) > 0 {
		rows, err := j.matRows(b, spi, sbj)
		if err != nil {
			return err
		}
		seg = int32(len(m.segs))
		m.segs = append(m.segs, matSegment{rows: rows, live: len(spi)})
		m.rows += rows.NumRows()
	}
	n := int(b.NumRows())
	m.hashes = resizeHashes(m.hashes, n)
	if err := hashRows(b, m.keys, m.hashes); err != nil {
		return err
	}
	k := 0
	for i := 0; i < n; i++ {
		h := m.hashes[i]
		m.remove(h, b, i)
		start := k
		for k < len(spi) && int(spi[k]) == i {
			k++
		}
		if k > start {
			m.entries[h] = append(m.entries[h], matEntry{seg: seg, start: int32(start), n: int32(k - start)})
		}
	}
	m.releaseUnused()
	return nil
}

// matRows builds segment rows: the key columns of probe rows pi of b and
// the table rows bj.
func (j *lookupJoin) matRows(b arrow.RecordBatch, pi, bj []int32) (arrow.RecordBatch, error) {
	probe, err := takeRows(j.goCtx, j.ctx.Mem, b, pi)
	if err != nil {
		return nil, err
	}
	defer probe.Release()
	lookup, err := j.takeNullable(j.table.Columns(), bj)
	if err != nil {
		return nil, err
	}
	defer releaseArrays(lookup)
	var cols []arrow.Array
	for _, c := range j.mat.keys {
		cols = append(cols, probe.Column(c))
	}
	return array.NewRecordBatch(j.mat.schema, append(cols, lookup...), int64(len(pi))), nil
}

// retract emits, for each -U/-D row, the row joined with its key's stored
// lookup rows, with the row's kind, and forgets them.
func (j *lookupJoin) retract(b arrow.RecordBatch, out Output) error {
	m := j.mat
	n := int(b.NumRows())
	m.hashes = resizeHashes(m.hashes, n)
	if err := hashRows(b, m.keys, m.hashes); err != nil {
		return err
	}
	j.pi = j.pi[:0]
	var segs, rows []int32
	for i := 0; i < n; i++ {
		e, ok := m.remove(m.hashes[i], b, i)
		switch {
		case ok:
			for r := e.start; r < e.start+e.n; r++ {
				j.pi, segs, rows = append(j.pi, int32(i)), append(segs, e.seg), append(rows, r)
			}
		case j.left:
			j.pi, segs, rows = append(j.pi, int32(i)), append(segs, -1), append(rows, -1)
		}
	}
	defer m.releaseUnused()
	if len(j.pi) == 0 {
		return nil
	}
	lookup, err := j.gatherStored(segs, rows, len(m.keys))
	if err != nil {
		return err
	}
	defer releaseArrays(lookup)
	res, err := j.assemble(b, lookup)
	if err != nil {
		return err
	}
	defer res.Release()
	return out.Emit(res)
}

// remove forgets the entry of the key of row i of b, returning it (its
// rows stay readable until releaseUnused).
func (m *lookupMaterialized) remove(h uint64, b arrow.RecordBatch, i int) (matEntry, bool) {
	es := m.entries[h]
	for x, e := range es {
		if m.sameKey(e, b, i) {
			es[x] = es[len(es)-1]
			if len(es) == 1 {
				delete(m.entries, h)
			} else {
				m.entries[h] = es[:len(es)-1]
			}
			m.segs[e.seg].live -= int(e.n)
			return e, true
		}
	}
	return matEntry{}, false
}

func (m *lookupMaterialized) sameKey(e matEntry, b arrow.RecordBatch, i int) bool {
	rows := m.segs[e.seg].rows
	for c, k := range m.keys {
		if !array.SliceEqual(rows.Column(c), int64(e.start), int64(e.start+1), b.Column(k), int64(i), int64(i+1)) {
			return false
		}
	}
	return true
}

func (m *lookupMaterialized) releaseUnused() {
	for s := range m.segs {
		if m.segs[s].rows != nil && m.segs[s].live == 0 {
			m.rows -= m.segs[s].rows.NumRows()
			m.segs[s].rows.Release()
			m.segs[s].rows = nil
		}
	}
}

// gatherStored builds the columns from..end of the stored rows (segs[k],
// rows[k]); segs[k] = -1 gives NULLs. It takes the rows of each segment,
// concatenates the pieces and puts them in order with one more take.
func (j *lookupJoin) gatherStored(segs, rows []int32, from int) ([]arrow.Array, error) {
	m := j.mat
	fields := m.schema.Fields()[from:]
	perm := make([]int32, len(segs))
	var order []int32 // segments in order of first use
	bySeg := map[int32][]int32{}
	for _, s := range segs {
		if s >= 0 {
			if _, ok := bySeg[s]; !ok {
				order = append(order, s)
			}
			bySeg[s] = nil
		}
	}
	for k, s := range segs {
		if s >= 0 {
			bySeg[s] = append(bySeg[s], int32(k))
		}
	}
	if len(order) == 0 {
		out := make([]arrow.Array, len(fields))
		for c, f := range fields {
			out[c] = array.MakeArrayOfNull(j.ctx.Mem, f.Type, len(segs))
		}
		return out, nil
	}
	pieces := make([][]arrow.Array, len(fields))
	defer func() {
		for _, p := range pieces {
			releaseArrays(p)
		}
	}()
	for k := range perm {
		perm[k] = -1
	}
	offset := int32(0)
	for _, s := range order {
		pos := bySeg[s]
		idx := make([]int32, len(pos))
		for x, p := range pos {
			idx[x] = rows[p]
			perm[p] = offset + int32(x)
		}
		offset += int32(len(pos))
		cols, err := j.takeNullable(m.segs[s].rows.Columns()[from:], idx)
		if err != nil {
			return nil, err
		}
		for c := range cols {
			pieces[c] = append(pieces[c], cols[c])
		}
	}
	combined := make([]arrow.Array, len(fields))
	defer func() { releaseArrays(combined) }()
	for c, p := range pieces {
		if len(p) == 1 {
			p[0].Retain()
			combined[c] = p[0]
			continue
		}
		col, err := array.Concatenate(p, j.ctx.Mem)
		if err != nil {
			return nil, fmt.Errorf("lookup join: %w", err)
		}
		combined[c] = col
	}
	return j.takeNullable(combined, perm)
}

// matSnapshot is the materialized state in a snapshot: the stored rows of
// every entry, one after the other, and each entry's row count.
type matSnapshot struct {
	Rows    []byte  `json:"rows,omitempty"`
	Lengths []int32 `json:"lengths,omitempty"`
}

func (j *lookupJoin) snapshotMaterialized() (json.RawMessage, error) {
	m := j.mat
	var st matSnapshot
	var segs, rows []int32
	for _, es := range m.entries {
		for _, e := range es {
			st.Lengths = append(st.Lengths, e.n)
			for r := e.start; r < e.start+e.n; r++ {
				segs, rows = append(segs, e.seg), append(rows, r)
			}
		}
	}
	if len(segs) > 0 {
		cols, err := j.gatherStored(segs, rows, 0)
		if err != nil {
			return nil, err
		}
		b := array.NewRecordBatch(m.schema, cols, int64(len(segs)))
		releaseArrays(cols)
		st.Rows, err = writeIPC(j.ctx.Mem, m.schema, []arrow.RecordBatch{b})
		b.Release()
		if err != nil {
			return nil, err
		}
	}
	return json.Marshal(st)
}

func (j *lookupJoin) restoreMaterialized(data json.RawMessage) error {
	m := j.mat
	var st matSnapshot
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("lookup join restore: %w", err)
	}
	bs, err := readIPC(j.ctx.Mem, st.Rows)
	if err != nil {
		return err
	}
	if len(bs) == 0 {
		return nil
	}
	if len(bs) > 1 {
		releaseBatches(bs)
		return fmt.Errorf("lookup join restore: stored rows in %d batches, want one", len(bs))
	}
	b := bs[0]
	seg := int32(len(m.segs))
	m.segs = append(m.segs, matSegment{rows: b, live: int(b.NumRows())})
	m.rows += b.NumRows()
	keys := make([]int, len(m.keys))
	for c := range keys {
		keys[c] = c
	}
	hashes := make([]uint64, b.NumRows())
	if err := hashRows(b, keys, hashes); err != nil {
		return err
	}
	start := int32(0)
	for _, n := range st.Lengths {
		if n <= 0 || int(start+n) > len(hashes) {
			return fmt.Errorf("lookup join restore: stored rows and entries disagree")
		}
		h := hashes[start]
		m.entries[h] = append(m.entries[h], matEntry{seg: seg, start: start, n: n})
		start += n
	}
	return nil
}

func (j *lookupJoin) closeMaterialized() {
	for s := range j.mat.segs {
		if j.mat.segs[s].rows != nil {
			j.mat.segs[s].rows.Release()
		}
	}
	j.mat.segs, j.mat.entries, j.mat.rows = nil, map[uint64][]matEntry{}, 0
}

// bytes estimates the rows kept in segments (a released segment's rows
// no longer count) and, per probe key, its entry with the map's hash and
// entry list (lookupJoin.StateBytes).
func (m *lookupMaterialized) bytes() int64 {
	return m.rows*rowBytes(m.schema) + int64(len(m.entries))*(8+24+12)
}
