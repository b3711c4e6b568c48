package exec

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/eddysql/eddy/exec/expr"
)

// KindLookupJoin is Flink's processing-time lookup join (JOIN t FOR
// SYSTEM_TIME AS OF s.proctime) against a bounded lookup table. Input 0 is
// the probe stream, input 1 the lookup table's rows (insert-only). Each
// probe row is looked up in the table as it is loaded when the row is
// joined, and its results are emitted once, never retracted: the output is
// insert-only, or carries the probe row's kind when the probe stream is a
// changelog (Flink passes the kind through).
//
// Flink asks the lookup source for each probe row's key; Eddy loads the
// table instead, so "the table as it is" must be a deterministic point.
// Probe rows wait (with the probe watermarks they cover) until the lookup
// input ends, or until a savepoint barrier has arrived on both inputs — a
// consistent cut — and then join the rows loaded up to that point; probe
// rows arriving after the end join on arrival. When the table has a
// primary key a later row replaces the loaded row with the same key, so a
// table reloaded after a restore shows its new version of a row (rows
// are routed by the join keys, so a new version reaches the instance of
// the old one when the join keys are primary key columns, as in a lookup
// by key).
// With Materialize a retraction retracts what its key joined before
// (op_lookup_join_materialize.go) instead of looking the row up again.
// Output: the probe columns, then the lookup columns, then (changelog
// probe) the row kind.
const KindLookupJoin = "lookup-join"

// LookupJoinSpec configures a lookup join.
type LookupJoinSpec struct {
	// Type is "inner" or "left".
	Type string `json:"type"`
	// ProbeKeys[i] = LookupKeys[i] are the equi-join conditions (both
	// inputs arrive hash partitioned by them; none: one instance).
	// Condition is the whole ON condition over the probe columns followed
	// by the lookup columns (expr.Marshal'ed; absent: equal keys match);
	// the keys only index, the condition decides.
	ProbeKeys  []int           `json:"probeKeys"`
	LookupKeys []int           `json:"lookupKeys"`
	Condition  json.RawMessage `json:"condition,omitempty"`
	// ProbeWidth is the number of probe columns.
	ProbeWidth int `json:"probeWidth"`
	// PrimaryKey lists the lookup table's primary key columns, if it has
	// one and the lookup input produces them.
	PrimaryKey []int `json:"primaryKey,omitempty"`
	// Materialize (table.optimizer.non-deterministic-update.strategy =
	// TRY_RESOLVE over an updating probe stream) keeps the lookup rows
	// each probe key joined, so that its -U/-D retracts exactly what its
	// +I/+U emitted instead of looking the row up again in a table that
	// may have changed, as Flink's KeyedLookupJoinWrapper. The key is
	// ProbeUpsertKey (probe columns), or the whole probe row when empty.
	Materialize    bool  `json:"materialize,omitempty"`
	ProbeUpsertKey []int `json:"probeUpsertKey,omitempty"`
}

func init() { RegisterOperator(KindLookupJoin, newLookupJoin) }

// lookupJoin keeps the loaded table as one indexed batch plus the batches
// loaded since it was indexed; probing first folds those in (replacing
// rows by primary key) and re-indexes, so a probe batch is joined with a
// hash probe and Take over index vectors.
type lookupJoin struct {
	spec        LookupJoinSpec
	schema      *arrow.Schema // output
	tableSchema *arrow.Schema
	changelog   bool // the probe batches and the output carry the row kind
	left        bool
	ctx         *OperatorContext
	goCtx       context.Context
	cond        expr.Evaluator

	tableWait

	table  arrow.RecordBatch   // the indexed table; nil when empty
	loaded []arrow.RecordBatch // rows loaded since table was indexed
	// loadedRows counts the rows of loaded, for StateBytes.
	loadedRows int64
	index      map[uint64][]int32
	indexed    bool

	hashes []uint64 // scratch
	pi, bj []int32

	mat *lookupMaterialized // with Materialize
}

func newLookupJoin(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	j := &lookupJoin{schema: spec.ArrowSchema(), ctx: ctx, tableWait: newTableWait(), changelog: spec.Changelog}
	if err := json.Unmarshal(spec.Spec, &j.spec); err != nil {
		return nil, fmt.Errorf("lookup join spec: %w", err)
	}
	var err error
	if j.left, err = parseInnerOrLeft("lookup join", j.spec.Type); err != nil {
		return nil, err
	}
	n := spec.Schema.Len()
	if j.spec.ProbeWidth < 0 || j.spec.ProbeWidth > n || len(j.spec.ProbeKeys) != len(j.spec.LookupKeys) {
		return nil, fmt.Errorf("lookup join spec: bad probe width or keys")
	}
	j.tableSchema = arrow.NewSchema(j.schema.Fields()[j.spec.ProbeWidth:n], nil)
	if j.spec.Materialize {
		if !j.changelog {
			return nil, fmt.Errorf("lookup join spec: materializing needs an updating probe stream")
		}
		if err := j.newMaterialized(); err != nil {
			return nil, err
		}
	}
	for _, k := range append(append([]int(nil), j.spec.LookupKeys...), j.spec.PrimaryKey...) {
		if k < 0 || k >= j.tableSchema.NumFields() {
			return nil, fmt.Errorf("lookup join spec: lookup column %d out of range", k)
		}
	}
	return j, nil
}

func (j *lookupJoin) Open(ctx *OperatorContext) error {
	j.ctx = ctx
	j.goCtx = compute.WithAllocator(context.Background(), ctx.Mem)
	var err error
	j.cond, err = compileJoinCondition("lookup join", j.spec.Condition, ctx.Mem)
	j.index = map[uint64][]int32{}
	return err
}

func (j *lookupJoin) ProcessBatch(input int, b arrow.RecordBatch, out Output) error {
	if input == 1 {
		rows := array.NewRecordBatch(j.tableSchema, b.Columns()[:j.tableSchema.NumFields()], b.NumRows())
		j.loaded = append(j.loaded, rows)
		j.loadedRows += rows.NumRows()
		j.indexed = false
		return nil
	}
	if j.holdProbe(b) {
		return nil
	}
	return j.probe(b, out)
}

// ProcessWatermark forwards the probe's watermarks, holding them back with
// the probe rows they cover while those wait; the lookup side's are
// consumed (the table's rows carry no time to the output).
func (j *lookupJoin) ProcessWatermark(input int, wm Watermark, out Output) error {
	return j.probeWatermark(input, wm, out)
}

func (j *lookupJoin) EndInput(input int, out Output) error {
	if !j.endInput(input) {
		return nil
	}
	return j.flushWaiting(j.probe, out)
}

// PrepareSnapshotPreBarrier joins the waiting probe rows before a
// savepoint: the barrier has arrived on both inputs, so the table holds
// every row its source read before the cut, and the savepoint then holds
// no probe rows waiting for a table that a restored source reloads.
func (j *lookupJoin) PrepareSnapshotPreBarrier(out Output) error {
	return j.flushWaiting(j.probe, out)
}

// ensureIndex folds the rows loaded since the last call into the table,
// keeping only the last row per primary key, and indexes it by the hash
// of the lookup keys (rows with a NULL key never match).
func (j *lookupJoin) ensureIndex() error {
	if j.indexed {
		return nil
	}
	parts := j.loaded
	j.loaded, j.loadedRows = nil, 0
	if j.table != nil {
		parts = append([]arrow.RecordBatch{j.table}, parts...)
		j.table = nil
	}
	defer releaseBatches(parts)
	j.index = map[uint64][]int32{}
	j.indexed = true
	var all []arrow.RecordBatch
	for _, p := range parts {
		if p.NumRows() > 0 {
			all = append(all, p)
		}
	}
	if len(all) == 0 {
		return nil
	}
	table, err := concatBatches(j.ctx.Mem, j.tableSchema, all)
	if err != nil {
		return err
	}
	if len(j.spec.PrimaryKey) > 0 {
		if table, err = j.lastPerKey(table); err != nil {
			return err
		}
	}
	j.table = table
	j.index, err = indexBuildRows(table, j.spec.LookupKeys)
	return err
}

// lastPerKey keeps, in arrival order, the last row of each primary key of
// table (which it consumes).
func (j *lookupJoin) lastPerKey(table arrow.RecordBatch) (arrow.RecordBatch, error) {
	n := int(table.NumRows())
	hashes := make([]uint64, n)
	if err := hashRows(table, j.spec.PrimaryKey, hashes); err != nil {
		table.Release()
		return nil, err
	}
	seen := make(map[uint64][]int32, n)
	keep := make([]int32, 0, n)
	for r := n - 1; r >= 0; r-- {
		dup := false
		for _, o := range seen[hashes[r]] {
			if keysEqual(table, j.spec.PrimaryKey, r, int(o)) {
				dup = true
				break
			}
		}
		if !dup {
			seen[hashes[r]] = append(seen[hashes[r]], int32(r))
			keep = append(keep, int32(r))
		}
	}
	if len(keep) == n {
		return table, nil
	}
	for a, b := 0, len(keep)-1; a < b; a, b = a+1, b-1 {
		keep[a], keep[b] = keep[b], keep[a]
	}
	defer table.Release()
	return takeRows(j.goCtx, j.ctx.Mem, table, keep)
}

func keysEqual(b arrow.RecordBatch, keys []int, r, o int) bool {
	for _, k := range keys {
		c := b.Column(k)
		if !array.SliceEqual(c, int64(r), int64(r+1), c, int64(o), int64(o+1)) {
			return false
		}
	}
	return true
}

// probe joins a probe batch with the table and emits the results in probe
// row order (a changelog probe's -U must stay before its +U).
func (j *lookupJoin) probe(b arrow.RecordBatch, out Output) error {
	if j.mat != nil {
		return j.probeMaterialized(b, out)
	}
	if err := j.match(b); err != nil || len(j.pi) == 0 {
		return err
	}
	res, err := j.output(b)
	if err != nil {
		return err
	}
	defer res.Release()
	return out.Emit(res)
}

// match sets the pairs (probe row pi[k], table row bj[k]; -1: NULLs) of
// the probe batch's results, in probe row order.
func (j *lookupJoin) match(b arrow.RecordBatch) error {
	if err := j.ensureIndex(); err != nil {
		return err
	}
	n := int(b.NumRows())
	j.pi, j.bj = j.pi[:0], j.bj[:0]
	if j.table != nil {
		var err error
		if j.hashes, j.pi, j.bj, err = probeCandidates(b, j.spec.ProbeKeys, j.index, j.hashes, j.pi, j.bj); err != nil {
			return err
		}
	}
	if j.cond != nil && len(j.pi) > 0 {
		if err := j.filterCandidates(b); err != nil {
			return err
		}
	}
	if j.left {
		j.padUnmatched(n)
	}
	return nil
}

// filterCandidates evaluates the condition over the candidate pairs and
// keeps those it holds for.
func (j *lookupJoin) filterCandidates(b arrow.RecordBatch) error {
	pairs, err := j.output(b)
	if err != nil {
		return err
	}
	defer pairs.Release()
	pred, err := j.cond.Eval(pairs)
	if err != nil {
		return err
	}
	defer pred.Release()
	p, ok := pred.(*array.Boolean)
	if !ok {
		return fmt.Errorf("lookup join: condition produced %s, not BOOLEAN", pred.DataType())
	}
	k := 0
	for i := range j.pi {
		if p.IsValid(i) && p.Value(i) {
			j.pi[k], j.bj[k] = j.pi[i], j.bj[i]
			k++
		}
	}
	j.pi, j.bj = j.pi[:k], j.bj[:k]
	return nil
}

// padUnmatched inserts, in probe row order, a pair (i, -1) for every probe
// row i without a match: its lookup columns are NULL.
func (j *lookupJoin) padUnmatched(n int) {
	pi := make([]int32, 0, len(j.pi)+n)
	bj := make([]int32, 0, len(j.pi)+n)
	k := 0
	for i := 0; i < n; i++ {
		if k < len(j.pi) && int(j.pi[k]) == i {
			for ; k < len(j.pi) && int(j.pi[k]) == i; k++ {
				pi, bj = append(pi, j.pi[k]), append(bj, j.bj[k])
			}
			continue
		}
		pi, bj = append(pi, int32(i)), append(bj, -1)
	}
	j.pi, j.bj = pi, bj
}

// output builds the batch of the pairs (probe row pi[k], table row bj[k];
// -1: NULLs) in the output schema.
func (j *lookupJoin) output(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	var lookup []arrow.Array
	defer func() { releaseArrays(lookup) }()
	if j.table == nil {
		for _, f := range j.tableSchema.Fields() {
			lookup = append(lookup, array.MakeArrayOfNull(j.ctx.Mem, f.Type, len(j.pi)))
		}
	} else {
		var err error
		if lookup, err = j.takeNullable(j.table.Columns(), j.bj); err != nil {
			return nil, err
		}
	}
	return j.assemble(b, lookup)
}

// takeNullable takes rows idx of cols, a NULL where idx is -1.
func (j *lookupJoin) takeNullable(cols []arrow.Array, idx []int32) ([]arrow.Array, error) {
	bld := array.NewInt32Builder(j.ctx.Mem)
	valid := make([]bool, len(idx))
	for k, r := range idx {
		valid[k] = r >= 0
	}
	bld.AppendValues(idx, valid)
	indices := bld.NewInt32Array()
	bld.Release()
	defer indices.Release()
	out := make([]arrow.Array, 0, len(cols))
	for _, c := range cols {
		t, err := compute.TakeArray(j.goCtx, c, indices)
		if err != nil {
			releaseArrays(out)
			return nil, fmt.Errorf("lookup join: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// assemble builds the output batch of the probe rows pi of b followed by
// the lookup columns (borrowed) and, for a changelog probe, their kinds.
func (j *lookupJoin) assemble(b arrow.RecordBatch, lookup []arrow.Array) (arrow.RecordBatch, error) {
	probe, err := takeRows(j.goCtx, j.ctx.Mem, b, j.pi)
	if err != nil {
		return nil, err
	}
	defer probe.Release()
	cols := append([]arrow.Array(nil), probe.Columns()[:j.spec.ProbeWidth]...)
	cols = append(cols, lookup...)
	if j.changelog {
		cols = append(cols, probe.Column(int(probe.NumCols())-1))
	}
	return array.NewRecordBatch(j.schema, cols, int64(len(j.pi))), nil
}

// lookupJoinState is the operator's snapshot: whether the lookup input
// ended, the held probe watermark, and the table and any waiting probe
// batches as Arrow IPC streams.
type lookupJoinState struct {
	Ended   bool      `json:"ended,omitempty"`
	HeldWM  Watermark `json:"heldWatermark"`
	Pending []byte    `json:"pending,omitempty"`
	Table   []byte    `json:"table,omitempty"`
	// Materialized is the state of a materializing join.
	Materialized json.RawMessage `json:"materialized,omitempty"`
}

func (j *lookupJoin) Snapshot() ([]byte, error) {
	if err := j.ensureIndex(); err != nil {
		return nil, err
	}
	st := lookupJoinState{Ended: j.ended, HeldWM: j.heldWM}
	var err error
	if st.Pending, st.Table, err = writeWaitingAndBuild(j.ctx.Mem, j.pending, j.tableSchema, j.table); err != nil {
		return nil, err
	}
	if j.mat != nil {
		if st.Materialized, err = j.snapshotMaterialized(); err != nil {
			return nil, err
		}
	}
	return json.Marshal(st)
}

// Restore keeps the table loaded before the savepoint: a restored bounded
// source resumes after the rows it had read, and what it reads then
// (replacing rows by primary key) is added to it.
func (j *lookupJoin) Restore(data []byte) error {
	var st lookupJoinState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("lookup join restore: %w", err)
	}
	pending, table, err := readWaitingAndBuild(j.ctx.Mem, st.Pending, st.Table)
	if err != nil {
		return err
	}
	j.ended, j.heldWM = st.Ended, st.HeldWM
	j.restoreWaiting(pending)
	j.loaded = append(j.loaded, table...)
	for _, b := range table {
		j.loadedRows += b.NumRows()
	}
	j.indexed = false
	if j.mat != nil && len(st.Materialized) > 0 {
		return j.restoreMaterialized(st.Materialized)
	}
	return nil
}

// StateBytes estimates the waiting probe rows, the table's rows (indexed
// or loaded since) with the index's keys and row lists, and with
// Materialize the stored lookup rows and their entries (StateSizer).
func (j *lookupJoin) StateBytes() int64 {
	var tableRows int64
	if j.table != nil {
		tableRows = j.table.NumRows()
	}
	n := j.pendingBytes + (tableRows+j.loadedRows)*rowBytes(j.tableSchema) + int64(len(j.index))*(8+24) + tableRows*4
	if j.mat != nil {
		n += j.mat.bytes()
	}
	return n
}

func (j *lookupJoin) Close() error {
	releaseBatches(j.pending)
	releaseBatches(j.loaded)
	j.pending, j.loaded = nil, nil
	j.pendingBytes, j.loadedRows = 0, 0
	if j.table != nil {
		j.table.Release()
		j.table = nil
	}
	if j.mat != nil {
		j.closeMaterialized()
	}
	return nil
}
