package exec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
)

// Mini-batch group aggregation, Flink's MiniBatchGroupAggFunction behind a
// count bundle trigger. With 'table.exec.mini-batch.enabled' the group
// aggregate buffers its input batches (the bundle) and applies them
// together when the bundle holds 'table.exec.mini-batch.size' rows (a
// batch that overfills it is cut at that row, as Flink's count trigger
// fires on it), when its first row has waited
// 'table.exec.mini-batch.allow-latency' of processing time, at the end of
// the input and before a snapshot
// (PrepareSnapshotPreBarrier). A watermark arriving while rows are
// buffered waits for the bundle and follows its results, so the results
// of the rows before a watermark still precede it; Flink instead sends
// watermarks only at mini-batch intervals (its MiniBatchAssigner), which
// also keeps them from cutting bundles short. Applying a bundle folds it per
// key: each group touched by the bundle emits at most one change,
// comparing its result before the bundle with the result after it:
//
//   - a group that did not exist and has rows emits +I(new);
//   - a group that existed and has no rows left emits -D(old) and is
//     dropped;
//   - a group that existed and still has rows emits -U(old), +U(new) when
//     the result changed (always under state TTL, as without mini-batch);
//   - retractions for a group that does not exist are ignored.
//
// Unlike row-at-a-time aggregation, a group emptied and refilled inside a
// bundle keeps its accumulators, as in Flink. The bundle is applied as one
// concatenated batch with the same vectorized hashing and accumulator
// updates as a single input batch; the per-row results the accumulators
// record give each group's result before its first row and after its last.
// Changes are emitted in the order Flink's bundle operators iterate their
// java.util.HashMap (bundle_order.go), which downstream bundles can
// observe.
//
// Flink's optimizer also splits a mini-batch aggregate into local and
// global phases (table.optimizer.agg-phase-strategy): the global phase
// (op_global_group_agg.go) folds its bundles of accumulator rows with
// the same rules, so its changes are those of this operator over bundles
// holding the same input rows.

// Mini-batch options, by Flink's names.
const (
	MiniBatchEnabledKey = "table.exec.mini-batch.enabled"
	MiniBatchLatencyKey = "table.exec.mini-batch.allow-latency"
	MiniBatchSizeKey    = "table.exec.mini-batch.size"
)

// MiniBatchOptions reads the mini-batch options of a job: the bundle size
// in rows and the latency in milliseconds, or zeros when mini-batch is
// off. Enabled, both must be positive, as Flink requires.
func MiniBatchOptions(config map[string]string) (size int, latencyMillis int64, err error) {
	on := strings.TrimSpace(config[MiniBatchEnabledKey])
	if on == "" || strings.EqualFold(on, "false") {
		return 0, 0, nil
	}
	if !strings.EqualFold(on, "true") {
		return 0, 0, fmt.Errorf("option '%s' must be true or false, got '%s'", MiniBatchEnabledKey, on)
	}
	lat, err := connector.ParseDuration(strings.TrimSpace(config[MiniBatchLatencyKey]))
	if err != nil || lat.Milliseconds() <= 0 {
		return 0, 0, fmt.Errorf("%s must be > 0 when %s is true, got '%s'",
			MiniBatchLatencyKey, MiniBatchEnabledKey, config[MiniBatchLatencyKey])
	}
	n, err := strconv.Atoi(strings.TrimSpace(config[MiniBatchSizeKey]))
	if err != nil || n <= 0 {
		return 0, 0, fmt.Errorf("%s must be > 0 when %s is true, got '%s'",
			MiniBatchSizeKey, MiniBatchEnabledKey, config[MiniBatchSizeKey])
	}
	return n, lat.Milliseconds(), nil
}

// miniBatch is the group aggregate's bundle and the per-slot scratch of
// folding it; size 0 means mini-batch is off.
type miniBatch struct {
	size    int
	latency int64 // ms

	bundle []arrow.RecordBatch // retained input batches
	rows   int                 // rows in bundle
	since  int64               // processing time of the bundle's first batch
	// held is the last watermark received while rows were buffered,
	// MinWatermark if none; it is emitted after the bundle's results.
	held Watermark

	// per slot, while a bundle is applied: 1 + the bundle row that first
	// (last) touched the group, 0 if none; whether the group had rows
	// before the bundle
	first, last []int32
	existed     []bool
	touched     []int32 // slots with first > 0, in first-row order, then in emission order
	pairEq      []bool

	// emission order of a bundle's groups (bundleOrder), and its scratch
	order   bundleOrder
	keys    []arrow.Array
	rowOf   []int32
	perm    []int32
	reorder []int32
}

func (m *miniBatch) grow(n int) {
	m.first, m.last, m.existed = growLen(m.first, n), growLen(m.last, n), growLen(m.existed, n)
}

// holdWatermark keeps wm for after the pending bundle and reports whether
// it did: rows are buffered and wm does not end the input.
func (g *groupAgg) holdWatermark(wm Watermark) bool {
	m := &g.miniBatch
	if m.rows == 0 || wm == MaxWatermark {
		return false
	}
	m.held = wm
	return true
}

func (m *miniBatch) release() {
	releaseBatches(m.bundle)
	m.bundle, m.rows = nil, 0
}

// bufferBatch adds b to the bundle and applies the bundle once it is full.
func (g *groupAgg) bufferBatch(b arrow.RecordBatch, out Output) error {
	m := &g.miniBatch
	if m.rows+int(b.NumRows()) <= m.size {
		return g.addToBundle(b, out)
	}
	return forEachBundlePart(b, m.size, &m.rows, func(part arrow.RecordBatch) error { return g.addToBundle(part, out) })
}

// addToBundle buffers b, which does not overfill the bundle, and applies
// the bundle once it is full.
func (g *groupAgg) addToBundle(b arrow.RecordBatch, out Output) error {
	m := &g.miniBatch
	if m.rows == 0 {
		m.since = g.clock.NowMillis()
	}
	b.Retain()
	m.bundle = append(m.bundle, b)
	m.rows += int(b.NumRows())
	if m.rows >= m.size {
		return g.flushBundle(out)
	}
	return nil
}

// forEachBundlePart hands add the parts of b that fill a bundle of size
// rows holding *rows rows already: Flink's count trigger fires on the row
// that fills the bundle, so a batch that overfills it is cut there and
// the rest starts the next bundle. add must count a part into *rows (and
// reset it when it flushes).
func forEachBundlePart(b arrow.RecordBatch, size int, rows *int, add func(arrow.RecordBatch) error) error {
	n := int(b.NumRows())
	for off := 0; off < n; {
		k := min(n-off, size-*rows)
		part := b.NewSlice(int64(off), int64(off+k))
		err := add(part)
		part.Release()
		if err != nil {
			return err
		}
		off += k
	}
	return nil
}

// OnProcessingTime applies a bundle whose first rows waited the latency.
func (g *groupAgg) OnProcessingTime(out Output) error {
	m := &g.miniBatch
	if m.rows > 0 && g.clock.NowMillis()-m.since >= m.latency {
		return g.flushBundle(out)
	}
	return nil
}

// usesProcessingTime tells the task to wake the operator only with
// mini-batch on.
func (g *groupAgg) usesProcessingTime() bool { return g.miniBatch.size > 0 }

// PrepareSnapshotPreBarrier applies the bundle, so that its results go
// downstream ahead of the barrier and the snapshot holds no input rows.
func (g *groupAgg) PrepareSnapshotPreBarrier(out Output) error { return g.flushBundle(out) }

// flushBundle applies and empties the bundle, then emits the watermark
// held back behind it.
func (g *groupAgg) flushBundle(out Output) error {
	m := &g.miniBatch
	if m.rows == 0 {
		return nil
	}
	b, err := g.concatBundle()
	m.release()
	if err != nil {
		return err
	}
	defer b.Release()
	now := g.clock.NowMillis()
	g.maybeSweep(now)
	if err := g.applyBundle(b, now, out); err != nil {
		return err
	}
	if wm := m.held; wm != MinWatermark {
		m.held = MinWatermark
		return out.EmitWatermark(wm)
	}
	return nil
}

// concatBundle makes one batch of the bundle's batches.
func (g *groupAgg) concatBundle() (arrow.RecordBatch, error) {
	bs := g.miniBatch.bundle
	if len(bs) == 1 {
		bs[0].Retain()
		return bs[0], nil
	}
	cols := make([]arrow.Array, bs[0].NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(bs))
	for i := range cols {
		for j, b := range bs {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, g.mem)
		if err != nil {
			return nil, fmt.Errorf("group-aggregate: mini-batch bundle: %w", err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(bs[0].Schema(), cols, int64(g.miniBatch.rows)), nil
}

// applyBundle applies every row of b to its group, then emits one change
// per group touched.
func (g *groupAgg) applyBundle(b arrow.RecordBatch, now int64, out Output) error {
	if g.merge != nil {
		return g.applyMerged(b, now, out)
	}
	m := &g.miniBatch
	n := int(b.NumRows())
	if err := g.mapRows(b, now); err != nil {
		return err
	}
	g.accSlots = growLen(g.accSlots, n)[:n]
	touched := m.touched[:0]
	for i, s := range g.slots {
		c := g.rows[s]
		switch {
		case !g.retract[i]:
			g.rows[s] = c + 1
		case c == 0:
			g.accSlots[i] = -1
			continue
		default:
			g.rows[s] = c - 1
		}
		g.accSlots[i] = s
		if m.first[s] == 0 {
			m.first[s], m.existed[s] = int32(i)+1, c > 0
			touched = append(touched, s)
		}
		m.last[s] = int32(i) + 1
	}
	m.touched = touched
	if err := agg.UpdateAll(g.states, b, g.accSlots, g.retract); err != nil {
		return err
	}
	return g.emitAndReset(b, touched, now, out)
}

// emitAndReset emits the bundle's changes (emitBundle), then resets the
// bundle's per-group marks of the touched groups, stamps their last write
// and drops the groups left without rows.
func (g *groupAgg) emitAndReset(b arrow.RecordBatch, touched []int32, now int64, out Output) error {
	m := &g.miniBatch
	err := g.emitBundle(b, out)
	for _, s := range touched {
		g.lastWrite[s] = now
		m.first[s], m.last[s] = 0, 0
	}
	for _, s := range g.slots {
		if g.live[s] && g.rows[s] == 0 {
			g.drop(s)
		}
	}
	clear(g.keyCols)
	return err
}

// emitBundle emits the change of every group the bundle touched: the
// result before a group's first row and after its last.
func (g *groupAgg) emitBundle(b arrow.RecordBatch, out Output) error {
	m := &g.miniBatch
	if m.size > 0 {
		g.orderTouched(b)
	}
	rows, before, kinds := g.emitRows[:0], g.emitBefore[:0], g.emitKinds[:0]
	updates := false
	for _, s := range m.touched {
		first, last := m.first[s]-1, m.last[s]-1
		switch {
		case m.existed[s] && g.rows[s] > 0:
			rows, before = append(rows, first, last), append(before, true, false)
			kinds = append(kinds, int8(connector.UpdateBefore), int8(connector.UpdateAfter))
			updates = true
		case m.existed[s]:
			rows, before, kinds = append(rows, first), append(before, true), append(kinds, int8(connector.Delete))
		case g.rows[s] > 0:
			rows, before, kinds = append(rows, last), append(before, false), append(kinds, int8(connector.Insert))
		}
	}
	if updates && g.spec.StateTTLMillis <= 0 {
		rows, before, kinds = g.dropUnchanged(rows, before, kinds)
	}
	if updates && g.spec.DropUpdateBefore {
		// Only now: dropUnchanged compares each pair's -U with its +U.
		rows, before, kinds = withoutUpdateBefore(rows, before, kinds)
	}
	g.emitRows, g.emitBefore, g.emitKinds = rows, before, kinds
	return g.emitResults(b, rows, before, kinds, out)
}

// orderTouched puts the bundle's groups in Flink's emission order
// (bundleOrder); their keys are at their first rows in b.
func (g *groupAgg) orderTouched(b arrow.RecordBatch) {
	m := &g.miniBatch
	m.keys = m.keys[:0]
	for _, k := range g.spec.Keys {
		m.keys = append(m.keys, b.Column(k))
	}
	m.rowOf = growLen(m.rowOf, len(m.touched))[:len(m.touched)]
	for i, s := range m.touched {
		m.rowOf[i] = m.first[s] - 1
	}
	perm, ok := m.order.order(m.keys, m.rowOf, len(m.touched), m.perm)
	m.perm = perm
	clear(m.keys)
	if !ok || isIdentity(perm) {
		return
	}
	reordered := m.reorder[:0]
	for _, p := range perm {
		reordered = append(reordered, m.touched[p])
	}
	m.touched, m.reorder = reordered, m.touched
}

// withoutUpdateBefore removes the -U rows from the rows to emit, in
// place, before any result column is built for them.
func withoutUpdateBefore(rows []int32, before []bool, kinds []int8) ([]int32, []bool, []int8) {
	k := 0
	for j, kind := range kinds {
		if kind == int8(connector.UpdateBefore) {
			continue
		}
		rows[k], before[k], kinds[k] = rows[j], before[j], kinds[j]
		k++
	}
	return rows[:k], before[:k], kinds[:k]
}

// dropUnchanged removes the -U/+U pairs whose results are equal: Flink
// compares the whole result row before and after the bundle.
func (g *groupAgg) dropUnchanged(rows []int32, before []bool, kinds []int8) ([]int32, []bool, []int8) {
	m := &g.miniBatch
	m.pairEq = growLen(m.pairEq, len(rows))[:len(rows)]
	for j, k := range kinds {
		m.pairEq[j] = k == int8(connector.UpdateBefore)
	}
	for _, st := range g.states {
		col := st.Build(g.mem, rows, before)
		for j, eq := range m.pairEq {
			if eq && !array.SliceEqual(col, int64(j), int64(j+1), col, int64(j+1), int64(j+2)) {
				m.pairEq[j] = false
			}
		}
		col.Release()
	}
	k := 0
	for j := 0; j < len(rows); j++ {
		if m.pairEq[j] {
			j++ // and its +U
			continue
		}
		rows[k], before[k], kinds[k] = rows[j], before[j], kinds[j]
		k++
	}
	return rows[:k], before[:k], kinds[:k]
}
