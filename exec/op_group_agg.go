package exec

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
)

// The group aggregate (KindGroupAggregate, spec GroupAggregateSpec in
// specs.go) is Flink's GroupAggFunction, or its MiniBatchGroupAggFunction
// when the job enables mini-batch (op_group_agg_minibatch.go). Without
// mini-batch every input row is applied to its group in order; then, for
// that row:
//
//   - a new group emits +I(new result);
//   - a group whose row count drops to 0 emits -D(old result) and is
//     dropped;
//   - otherwise, if the result changed, -U(old result) and +U(new result);
//     an unchanged result emits nothing, unless state TTL is on (Flink then
//     re-emits it so that downstream state does not expire early);
//   - a retraction for a group that does not exist is ignored.
//
// Result rows are the key columns (in Keys order) then one column per
// call, with the trailing row kind column.
//
// Vectorized layout. A batch's key columns are hashed with the exchange's
// typed row hash (hashRows), rows are mapped to group slots by an
// open-addressing hash table probed a round at a time for the whole batch
// (keys live column-wise in agg.Keys and are compared with one typed loop
// per key column), and every call's accumulators (agg.State, typed slices
// indexed by slot) are updated with one loop per call. The per-row
// changelog is decided from the group row counts and the per-row results
// before and after each row, and built column-wise.
//
// A batch in which a group is emptied and later refilled is split at the
// refilling row, so that the group restarts from empty state as in Flink.
//
// State TTL (StateTTLMillis > 0) compares each group's last update with
// OperatorContext.Clock: an expired group behaves as absent when its key
// arrives again, and groups are swept from memory at most once per TTL
// period.

func init() { RegisterOperator(KindGroupAggregate, newGroupAgg) }

type groupAgg struct {
	spec  GroupAggregateSpec
	out   *arrow.Schema
	nOut  int
	mem   memory.Allocator
	clock Clock
	ready bool // keys and states exist (built from the first batch)
	// sawRows: some input row (or restored state) arrived; subtask is this
	// instance's index (spec.EmptyInputRow).
	sawRows bool
	subtask int
	stash   []byte // restored state, loaded with the first batch
	// octx tells a rescaled restore which key groups this subtask owns.
	octx   *OperatorContext
	keys   *agg.Keys
	states []*agg.State

	// hash table: table holds slot+1 (0 = empty), len a power of two
	table []int32
	// per slot
	hash        []uint64
	rows        []int64 // input rows currently in the group; 0 = absent
	lastWrite   []int64 // processing time of the last update (TTL)
	live        []bool  // slot is in the table
	free        []int32
	nSlots      int // slots handed out (live or free)
	capSlots    int // slots addressable in keys, states and the slices above
	fingerprint uint64
	nLive       int
	groupBytes  int64 // estimated bytes of one group (StateBytes)
	lastSweep   int64

	// per-batch scratch
	keyCols    []arrow.Array
	hashes     []uint64
	slots      []int32 // group slot of each row
	accSlots   []int32 // slots with -1 for ignored rows
	retract    []bool
	kinds      []rowAction
	changed    []bool
	died       []bool // per slot: emptied in the current segment
	pos        []uint64
	pending    []int32
	next       []int32
	cmpRows    []int32
	cmpCand    []int32
	eq         []bool
	newRows    []int32
	newSlots   []int32
	emitRows   []int32
	emitBefore []bool
	emitKinds  []int8
	cols       []arrow.Array

	miniBatch miniBatch
	// merge, for the global phase of a two-phase aggregate, describes the
	// accumulator rows its input carries (op_global_group_agg.go).
	merge *mergeInput
	// local: the table of a local phase (op_local_group_agg.go), whose
	// DISTINCT calls keep distinct views (agg.NewLocalState).
	local bool
}

type rowAction uint8

const (
	actIgnore rowAction = iota
	actInsert
	actUpdate
	actDelete
)

func newGroupAgg(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	var gs GroupAggregateSpec
	if err := json.Unmarshal(spec.Spec, &gs); err != nil {
		return nil, fmt.Errorf("group-aggregate spec: %w", err)
	}
	return buildGroupAgg(gs, spec)
}

// buildGroupAgg checks spec's output schema against gs; the global phase
// of a two-phase aggregate (op_global_group_agg.go) builds on it too.
func buildGroupAgg(gs GroupAggregateSpec, spec OperatorSpec) (*groupAgg, error) {
	g := &groupAgg{spec: gs}
	if !spec.Changelog {
		return nil, fmt.Errorf("group-aggregate: the output must be a changelog")
	}
	if n := len(g.spec.Keys) + len(g.spec.Calls); spec.Schema.Len() != n {
		return nil, fmt.Errorf("group-aggregate: output schema has %d columns, want %d keys and %d calls",
			spec.Schema.Len(), len(g.spec.Keys), len(g.spec.Calls))
	}
	for i, c := range g.spec.Calls {
		if !arrow.TypeEqual(c.Type.Arrow(), spec.Schema.Columns[len(g.spec.Keys)+i].Type.Arrow()) {
			return nil, fmt.Errorf("group-aggregate: call %s has type %s, output column %d has %s",
				c, c.Type, len(g.spec.Keys)+i, spec.Schema.Columns[len(g.spec.Keys)+i].Type)
		}
	}
	g.out = spec.ArrowSchema()
	g.nOut = g.out.NumFields()
	var vals []arrow.DataType
	for _, c := range spec.Schema.Columns {
		vals = append(vals, c.Type.Arrow())
	}
	// A group holds its keys, one result-sized accumulator per call, and
	// its hash, row count, last write time and live flag.
	g.groupBytes = valueBytes(vals) + 8 + 8 + 8 + 1
	return g, nil
}

// StateBytes estimates the live groups and the hash table (StateSizer).
func (g *groupAgg) StateBytes() int64 {
	if !g.ready {
		return int64(len(g.stash))
	}
	return int64(g.nLive)*g.groupBytes + int64(len(g.table))*4
}

func (g *groupAgg) Open(ctx *OperatorContext) error {
	g.mem = ctx.Mem
	g.subtask = ctx.Subtask
	g.octx = ctx
	g.clock = ctx.Clock
	if g.clock == nil {
		g.clock = SystemClock{}
	}
	g.table = make([]int32, 16)
	g.cols = make([]arrow.Array, g.nOut)
	var err error
	g.miniBatch.size, g.miniBatch.latency, err = MiniBatchOptions(ctx.Config)
	g.miniBatch.held = MinWatermark
	return err
}

// init builds the key storage and accumulators from the first batch's
// column types (the spec carries the output types only).
func (g *groupAgg) init(schema *arrow.Schema) error { return g.initFrom(schema, nil) }

// initFrom is init with the first batch, from which DISTINCT calls over
// equal argument columns learn to share their state, or a local phase's
// their views (agg.ShareDistinct).
func (g *groupAgg) initFrom(schema *arrow.Schema, first arrow.RecordBatch) error {
	n := schema.NumFields()
	if g.spec.InputChangelog {
		if n == 0 || schema.Field(n-1).Name != connector.RowKindColumn {
			return fmt.Errorf("group-aggregate: input batch has no %s column", connector.RowKindColumn)
		}
		if schema.Field(n-1).Type.ID() != arrow.INT8 {
			return fmt.Errorf("group-aggregate: %s column is %s, want int8", connector.RowKindColumn, schema.Field(n-1).Type)
		}
		n--
	}
	input := make([]arrow.DataType, n)
	for i := range input {
		input[i] = schema.Field(i).Type
	}
	keyTypes := make([]arrow.DataType, len(g.spec.Keys))
	for i, k := range g.spec.Keys {
		if k < 0 || k >= n {
			return fmt.Errorf("group-aggregate: key column %d out of range (%d input columns)", k, n)
		}
		if want := g.out.Field(i).Type; !arrow.TypeEqual(input[k], want) {
			return fmt.Errorf("group-aggregate: key column %d is %s, output column %d is %s", k, input[k], i, want)
		}
		keyTypes[i] = input[k]
	}
	keys, err := agg.NewKeys(keyTypes)
	if err != nil {
		return fmt.Errorf("group-aggregate: %w", err)
	}
	g.keys = keys
	g.states = make([]*agg.State, len(g.spec.Calls))
	for i, c := range g.spec.Calls {
		if g.merge != nil {
			g.states[i], err = g.merge.state(i, c, input)
		} else if g.local {
			g.states[i], err = agg.NewLocalState(c, input, g.spec.InputChangelog)
		} else {
			g.states[i], err = agg.NewState(c, input, g.spec.InputChangelog)
		}
		if err != nil {
			return fmt.Errorf("group-aggregate: %w", err)
		}
	}
	if g.merge == nil {
		if err := agg.ShareDistinct(g.states, first); err != nil {
			return fmt.Errorf("group-aggregate: %w", err)
		}
	}
	g.keyCols = make([]arrow.Array, len(g.spec.Keys))
	g.ready = true
	g.fingerprint = schemaFingerprint(input)
	if g.stash != nil {
		state := g.stash
		g.stash = nil
		return g.load(state)
	}
	return nil
}

func (g *groupAgg) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	g.sawRows = g.sawRows || b.NumRows() > 0
	if !g.ready {
		if err := g.initFrom(b.Schema(), b); err != nil {
			return err
		}
	}
	if g.miniBatch.size > 0 {
		return g.bufferBatch(b, out)
	}
	now := g.clock.NowMillis()
	g.maybeSweep(now)
	n := int(b.NumRows())
	for lo := 0; lo < n; {
		seg := b
		if lo > 0 {
			seg = b.NewSlice(int64(lo), int64(n))
		}
		done, err := g.processSegment(seg, now, out)
		if lo > 0 {
			seg.Release()
		}
		if err != nil {
			return err
		}
		lo += done
	}
	return nil
}

// mapRows hashes b's keys and maps every row to its group slot
// (g.slots), reads the rows' retraction flags (g.retract) and empties the
// expired groups they address.
func (g *groupAgg) mapRows(b arrow.RecordBatch, now int64) error {
	n := int(b.NumRows())
	g.hashes = growLen(g.hashes, n)[:n]
	if err := hashRows(b, g.spec.Keys, g.hashes); err != nil {
		return err
	}
	for i, k := range g.spec.Keys {
		g.keyCols[i] = b.Column(k)
	}
	g.slots = growLen(g.slots, n)[:n]
	g.lookup(g.keyCols, g.hashes, g.slots)

	g.retract = growLen(g.retract, n)[:n]
	if g.spec.InputChangelog {
		kinds := b.Column(int(b.NumCols()) - 1).(*array.Int8).Int8Values()
		for i, k := range kinds {
			g.retract[i] = connector.RowKind(k).IsRetraction()
		}
	} else {
		clear(g.retract)
	}

	// Expired groups restart empty.
	if ttl := g.spec.StateTTLMillis; ttl > 0 {
		for _, s := range g.slots {
			if g.rows[s] > 0 && g.lastWrite[s]+ttl <= now {
				g.resetSlot(s)
			}
		}
	}
	return nil
}

// processSegment applies a prefix of b: up to, not including, the first
// row that refills a group emptied earlier in b. It returns the number of
// rows applied (at least one).
func (g *groupAgg) processSegment(b arrow.RecordBatch, now int64, out Output) (int, error) {
	n := int(b.NumRows())
	if err := g.mapRows(b, now); err != nil {
		return 0, err
	}

	// Decide each row's action from the group row counts; stop at a row
	// refilling a group emptied in this segment.
	g.kinds = growLen(g.kinds, n)[:n]
	g.accSlots = growLen(g.accSlots, n)[:n]
	end := n
	for i, s := range g.slots {
		c := g.rows[s]
		if g.retract[i] {
			if c == 0 {
				g.kinds[i], g.accSlots[i] = actIgnore, -1
				continue
			}
			g.rows[s] = c - 1
			g.accSlots[i] = s
			if c == 1 {
				g.kinds[i] = actDelete
				g.died[s] = true
			} else {
				g.kinds[i] = actUpdate
			}
			continue
		}
		if g.died[s] {
			end = i
			break
		}
		g.rows[s] = c + 1
		g.accSlots[i] = s
		if c == 0 {
			g.kinds[i] = actInsert
		} else {
			g.kinds[i] = actUpdate
		}
	}
	seg := b
	if end < n {
		seg = b.NewSlice(0, int64(end))
		defer seg.Release()
	}
	slots := g.accSlots[:end]
	if err := agg.UpdateAll(g.states, seg, slots, g.retract[:end]); err != nil {
		return 0, err
	}
	if err := g.emit(seg, end, out); err != nil {
		return 0, err
	}

	// Bookkeeping: stamp updated groups; drop emptied ones and the empty
	// slots created for ignored rows or rows past end (they are looked up
	// again with the next segment).
	for _, s := range slots {
		if s >= 0 {
			g.lastWrite[s] = now
		}
	}
	for _, s := range g.slots {
		if g.live[s] && g.rows[s] == 0 {
			g.drop(s)
		}
	}
	clear(g.keyCols)
	return end, nil
}

// emit builds the changelog of the first n rows of b.
func (g *groupAgg) emit(b arrow.RecordBatch, n int, out Output) error {
	g.changed = growLen(g.changed, n)[:n]
	clear(g.changed)
	for _, st := range g.states {
		st.MarkChanged(g.changed)
		// Once every row has changed (a COUNT(*) changes with each row)
		// the other calls cannot add any: skip their loops.
		if allTrue(g.changed) {
			break
		}
	}
	always := g.spec.StateTTLMillis > 0
	rows, before, kinds := g.emitRows[:0], g.emitBefore[:0], g.emitKinds[:0]
	for i, k := range g.kinds[:n] {
		switch k {
		case actInsert:
			rows, before, kinds = append(rows, int32(i)), append(before, false), append(kinds, int8(connector.Insert))
		case actDelete:
			rows, before, kinds = append(rows, int32(i)), append(before, true), append(kinds, int8(connector.Delete))
		case actUpdate:
			if (always || g.changed[i]) && g.spec.DropUpdateBefore {
				rows, before, kinds = append(rows, int32(i)), append(before, false), append(kinds, int8(connector.UpdateAfter))
			} else if always || g.changed[i] {
				rows = append(rows, int32(i), int32(i))
				before = append(before, true, false)
				kinds = append(kinds, int8(connector.UpdateBefore), int8(connector.UpdateAfter))
			}
		}
	}
	g.emitRows, g.emitBefore, g.emitKinds = rows, before, kinds
	return g.emitResults(b, rows, before, kinds, out)
}

// allTrue reports whether every flag is set, with bytes.IndexByte's
// vectorized loop (a bool is one byte holding 0 or 1).
func allTrue(flags []bool) bool {
	return bytes.IndexByte(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(flags))), len(flags)), 0) < 0
}

// emitResults emits one changelog row per rows[j]: the keys of input row
// rows[j] of b and the results before or after it, with kinds[j].
func (g *groupAgg) emitResults(b arrow.RecordBatch, rows []int32, before []bool, kinds []int8, out Output) error {
	if len(rows) == 0 {
		return nil
	}
	defer g.releaseCols()
	if err := g.takeKeys(b, rows); err != nil {
		return err
	}
	nk := len(g.spec.Keys)
	for i, st := range g.states {
		g.cols[nk+i] = st.Build(g.mem, rows, before)
	}
	kb := array.NewInt8Builder(g.mem)
	kb.AppendValues(kinds, nil)
	g.cols[g.nOut-1] = kb.NewArray()
	kb.Release()
	res := array.NewRecordBatch(g.out, g.cols, int64(len(rows)))
	defer res.Release()
	return out.Emit(res)
}

// takeKeys gathers the key columns of the emitted rows from the input.
func (g *groupAgg) takeKeys(b arrow.RecordBatch, rows []int32) error {
	var idx arrow.Array
	defer func() {
		if idx != nil {
			idx.Release()
		}
	}()
	for i, k := range g.spec.Keys {
		if col := takeDirect(g.mem, b.Column(k), rows); col != nil {
			g.cols[i] = col
			continue
		}
		if idx == nil {
			idx = array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, len(rows),
				[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(rows))}, nil, 0, 0))
		}
		col, err := compute.TakeArray(compute.WithAllocator(context.Background(), g.mem), b.Column(k), idx)
		if err != nil {
			return fmt.Errorf("group-aggregate: %w", err)
		}
		g.cols[i] = col
	}
	return nil
}

func (g *groupAgg) releaseCols() {
	for i, c := range g.cols {
		if c != nil {
			c.Release()
			g.cols[i] = nil
		}
	}
}

// ---- hash table ----

// lookup maps each row to its group slot, creating slots for new keys.
// Rows are probed together, a round at a time: each round, every pending
// row looks at its probe position; empty positions are claimed (the first
// row to reach one creates the group), positions whose slot has the row's
// hash are verified with one typed comparison loop per key column, and
// the rest move on to the next position.
func (g *groupAgg) lookup(keyCols []arrow.Array, hashes []uint64, out []int32) {
	n := len(hashes)
	g.ensureTable(g.nLive + n)
	mask := uint64(len(g.table) - 1)
	g.pos = growLen(g.pos, n)[:n]
	pending := g.pending[:0]
	for i, h := range hashes {
		g.pos[i] = h & mask
		pending = append(pending, int32(i))
	}
	for len(pending) > 0 {
		next := g.next[:0]
		cmpRows, cmpCand := g.cmpRows[:0], g.cmpCand[:0]
		newRows, newSlots := g.newRows[:0], g.newSlots[:0]
		for _, i := range pending {
			p := g.pos[i]
			e := g.table[p]
			switch {
			case e == 0:
				s := g.allocSlot(hashes[i])
				g.table[p] = s + 1
				out[i] = s
				newRows, newSlots = append(newRows, i), append(newSlots, s)
			case g.hash[e-1] == hashes[i]:
				cmpRows, cmpCand = append(cmpRows, i), append(cmpCand, e-1)
			default:
				g.pos[i] = (p + 1) & mask
				next = append(next, i)
			}
		}
		if len(newRows) > 0 {
			g.keys.Set(keyCols, newRows, newSlots)
		}
		if len(cmpRows) > 0 {
			g.eq = growLen(g.eq, len(cmpRows))[:len(cmpRows)]
			g.keys.Match(keyCols, cmpRows, cmpCand, g.eq)
			for j, i := range cmpRows {
				if g.eq[j] {
					out[i] = cmpCand[j]
				} else {
					g.pos[i] = (g.pos[i] + 1) & mask
					next = append(next, i)
				}
			}
		}
		g.cmpRows, g.cmpCand, g.newRows, g.newSlots = cmpRows, cmpCand, newRows, newSlots
		g.pending, g.next = next, pending
		pending = next
	}
}

// ensureTable keeps the load factor at most 1/2 for want live groups.
func (g *groupAgg) ensureTable(want int) {
	if 2*want <= len(g.table) {
		return
	}
	size := 1 << bits.Len(uint(2*want-1))
	g.table = make([]int32, size)
	mask := uint64(size - 1)
	for s := 0; s < g.nSlots; s++ {
		if !g.live[s] {
			continue
		}
		p := g.hash[s] & mask
		for g.table[p] != 0 {
			p = (p + 1) & mask
		}
		g.table[p] = int32(s) + 1
	}
}

func (g *groupAgg) allocSlot(h uint64) int32 {
	var s int32
	if k := len(g.free); k > 0 {
		s = g.free[k-1]
		g.free = g.free[:k-1]
	} else {
		if g.nSlots == g.capSlots {
			g.growSlots(max(1024, 2*g.capSlots))
		}
		s = int32(g.nSlots)
		g.nSlots++
	}
	g.hash[s], g.live[s], g.rows[s], g.lastWrite[s] = h, true, 0, 0
	g.nLive++
	return s
}

func (g *groupAgg) growSlots(n int) {
	g.capSlots = n
	g.hash, g.rows, g.lastWrite = growLen(g.hash, n), growLen(g.rows, n), growLen(g.lastWrite, n)
	g.live, g.died = growLen(g.live, n), growLen(g.died, n)
	if g.miniBatch.size > 0 || g.merge != nil {
		g.miniBatch.grow(n)
	}
	g.keys.Grow(n)
	for _, st := range g.states {
		st.Grow(n)
	}
}

// resetSlot empties a group's accumulators, keeping its key and slot.
func (g *groupAgg) resetSlot(s int32) {
	g.rows[s] = 0
	for _, st := range g.states {
		st.Reset(s)
	}
}

// drop removes a group: its table entry (backward-shift deletion keeps
// linear probing correct without tombstones), key and accumulators.
func (g *groupAgg) drop(s int32) {
	mask := uint64(len(g.table) - 1)
	p := g.hash[s] & mask
	for g.table[p] != s+1 {
		p = (p + 1) & mask
	}
	for {
		g.table[p] = 0
		q, moved := p, false
		for {
			q = (q + 1) & mask
			e := g.table[q]
			if e == 0 {
				break
			}
			// e moves to p when p lies cyclically in [home(e), q).
			if home := g.hash[e-1] & mask; (q-home)&mask >= (q-p)&mask {
				g.table[p] = e
				p, moved = q, true
				break
			}
		}
		if !moved {
			break
		}
	}
	g.resetSlot(s)
	g.keys.Reset(s)
	g.live[s], g.died[s] = false, false
	g.free = append(g.free, s)
	g.nLive--
}

// maybeSweep drops expired groups, at most once per TTL period, so that
// memory follows the live keys even when expired keys never come back.
func (g *groupAgg) maybeSweep(now int64) {
	ttl := g.spec.StateTTLMillis
	if ttl <= 0 || !g.ready || now-g.lastSweep < ttl {
		return
	}
	g.lastSweep = now
	for s := 0; s < g.nSlots; s++ {
		if g.live[s] && g.lastWrite[s]+ttl <= now {
			g.drop(int32(s))
		}
	}
}

// ProcessWatermark forwards the watermark. With a mini-batch bundle
// pending it holds the watermark back until the bundle is applied (see
// holdWatermark), except the final one, which flushes the bundle.
func (g *groupAgg) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if g.holdWatermark(wm) {
		return nil
	}
	if err := g.flushBundle(out); err != nil {
		return err
	}
	g.maybeSweep(g.clock.NowMillis())
	return out.EmitWatermark(wm)
}

// EndInput flushes the mini-batch bundle; without mini-batch every result
// was emitted with its row.
func (g *groupAgg) EndInput(_ int, out Output) error {
	if err := g.flushBundle(out); err != nil {
		return err
	}
	if g.spec.EmptyInputRow && g.subtask == 0 && !g.sawRows {
		return g.emitEmptyInputRow(out)
	}
	return nil
}

// emitEmptyInputRow emits the result of a global aggregate over no rows
// (agg.AppendEmptyResult: COUNT is 0, most others NULL).
func (g *groupAgg) emitEmptyInputRow(out Output) error {
	defer g.releaseCols()
	for i, c := range g.spec.Calls {
		b := array.NewBuilder(g.mem, g.out.Field(i).Type)
		agg.AppendEmptyResult(b, c.Func)
		g.cols[i] = b.NewArray()
		b.Release()
	}
	kb := array.NewInt8Builder(g.mem)
	kb.Append(int8(connector.Insert))
	g.cols[g.nOut-1] = kb.NewArray()
	kb.Release()
	res := array.NewRecordBatch(g.out, g.cols, 1)
	defer res.Release()
	return out.Emit(res)
}

func (g *groupAgg) Close() error {
	g.miniBatch.release()
	g.releaseCols()
	g.states, g.keys, g.table = nil, nil, nil
	return nil
}

// ---- snapshot ----

// Snapshot format (version 1), all integers varints unless noted:
//
//	"EGA1"
//	fingerprint    uint64 LE: hash of the input column types the
//	               accumulators were built for (restoring into an
//	               operator over other types fails)
//	calls, keys    number of calls and key columns
//	key groups     number of non-empty key groups, then for each, in
//	               ascending order:
//	  key group    in [0, KeyGroups): KeyGroupOf(row hash of the key)
//	  length       bytes of the group records that follow
//	  count        number of groups, then for each:
//	    hash       uint64 LE, the row hash of the key (hashRows)
//	    key        per key column: valid byte, value if valid
//	    rows       input rows in the group
//	    lastWrite  processing time of the last update (ms)
//	    per call   the call's accumulators (agg.State.AppendState)
//
// Key groups are contiguous and self-delimiting so that a rescaled job can
// hand each subtask the key groups it owns (KeyGroupOf and Flink's
// keyGroup * parallelism / KeyGroups) without decoding accumulators. An
// operator that has not seen a batch yet has no accumulators: it returns
// a state it was restored from unchanged, or nil.
func (g *groupAgg) Snapshot() ([]byte, error) {
	if n := g.miniBatch.rows; n > 0 {
		return nil, fmt.Errorf("group-aggregate: internal error: snapshot with %d buffered mini-batch rows (PrepareSnapshotPreBarrier flushes them)", n)
	}
	if !g.ready {
		return g.stash, nil
	}
	if g.nLive == 0 {
		return nil, nil
	}
	byKG := make([][]int32, KeyGroups)
	for s := 0; s < g.nSlots; s++ {
		if g.live[s] && g.rows[s] > 0 {
			kg := KeyGroupOf(g.hash[s])
			byKG[kg] = append(byKG[kg], int32(s))
		}
	}
	buf := []byte(snapshotMagic)
	buf = binary.LittleEndian.AppendUint64(buf, g.fingerprint)
	buf = binary.AppendUvarint(buf, uint64(len(g.states)))
	buf = binary.AppendUvarint(buf, uint64(len(g.spec.Keys)))
	nonEmpty := 0
	for _, ss := range byKG {
		if len(ss) > 0 {
			nonEmpty++
		}
	}
	buf = binary.AppendUvarint(buf, uint64(nonEmpty))
	for kg, ss := range byKG {
		if len(ss) == 0 {
			continue
		}
		// Each key group is a section written in place (beginSection).
		w := wbuf{b: buf}
		start := beginSection(&w, kg)
		buf = binary.AppendUvarint(w.b, uint64(len(ss)))
		for _, s := range ss {
			buf = binary.LittleEndian.AppendUint64(buf, g.hash[s])
			buf = g.keys.AppendKey(buf, s)
			buf = binary.AppendVarint(buf, g.rows[s])
			buf = binary.AppendVarint(buf, g.lastWrite[s])
			for _, st := range g.states {
				buf = st.AppendState(buf, s)
			}
		}
		w.b = buf
		endSection(&w, start)
	}
	return buf, nil
}

const snapshotMagic = "EGA1"

var errGroupAggState = errors.New("group-aggregate: corrupt state")

// Restore keeps the state until the first batch tells the input types
// the accumulators are built for; Snapshot before then returns it as is.
// A rescaled subtask is restored from several snapshots, one call each:
// it keeps the key groups it owns of each, merged into one stash.
func (g *groupAgg) Restore(state []byte) error {
	if len(state) == 0 {
		return nil
	}
	if len(state) < len(snapshotMagic) || string(state[:len(snapshotMagic)]) != snapshotMagic {
		return fmt.Errorf("group-aggregate: state is not a version 1 snapshot")
	}
	merged, err := mergeGroupAggSnapshots(g.stash, state, g.octx)
	if err != nil {
		return err
	}
	g.stash = merged
	g.sawRows = true
	return nil
}

func (g *groupAgg) load(state []byte) error {
	src := state[len(snapshotMagic):]
	if len(src) < 8 {
		return errGroupAggState
	}
	if fp := binary.LittleEndian.Uint64(src); fp != g.fingerprint {
		return fmt.Errorf("group-aggregate: state was taken over other input column types")
	}
	src = src[8:]
	var hdr [3]uint64
	for i := range hdr {
		v, n := binary.Uvarint(src)
		if n <= 0 {
			return errGroupAggState
		}
		hdr[i], src = v, src[n:]
	}
	if hdr[0] != uint64(len(g.states)) || hdr[1] != uint64(len(g.spec.Keys)) {
		return fmt.Errorf("group-aggregate: state has %d calls and %d keys, the operator %d and %d",
			hdr[0], hdr[1], len(g.states), len(g.spec.Keys))
	}
	for range hdr[2] {
		_, n := binary.Uvarint(src) // key group
		if n <= 0 {
			return errGroupAggState
		}
		src = src[n:]
		length, n := binary.Uvarint(src)
		if n <= 0 || uint64(len(src)-n) < length {
			return errGroupAggState
		}
		if err := g.loadKeyGroup(src[n : n+int(length)]); err != nil {
			return err
		}
		src = src[n+int(length):]
	}
	if len(src) != 0 {
		return errGroupAggState
	}
	return nil
}

func (g *groupAgg) loadKeyGroup(src []byte) error {
	count, n := binary.Uvarint(src)
	if n <= 0 {
		return errGroupAggState
	}
	src = src[n:]
	for range count {
		if len(src) < 8 {
			return errGroupAggState
		}
		h := binary.LittleEndian.Uint64(src)
		src = src[8:]
		g.ensureTable(g.nLive + 1)
		s := g.allocSlot(h)
		mask := uint64(len(g.table) - 1)
		p := h & mask
		for g.table[p] != 0 {
			p = (p + 1) & mask
		}
		g.table[p] = s + 1
		var err error
		if src, err = g.keys.ReadKey(src, s); err != nil {
			return err
		}
		for _, dst := range []*int64{&g.rows[s], &g.lastWrite[s]} {
			v, n := binary.Varint(src)
			if n <= 0 {
				return errGroupAggState
			}
			*dst, src = v, src[n:]
		}
		for _, st := range g.states {
			if src, err = st.ReadState(src, s); err != nil {
				return err
			}
		}
	}
	if len(src) != 0 {
		return errGroupAggState
	}
	return nil
}

// schemaFingerprint identifies the input column types in snapshots.
func schemaFingerprint(types []arrow.DataType) uint64 {
	h := fnv.New64a()
	for _, t := range types {
		h.Write([]byte(t.String()))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// growLen returns s with length n, keeping its elements and zeroing new
// ones.
func growLen[T any](s []T, n int) []T {
	if len(s) >= n {
		return s[:n]
	}
	if cap(s) >= n {
		old := len(s)
		s = s[:n]
		clear(s[old:])
		return s
	}
	return append(s, make([]T, n-len(s))...)
}
