package exec

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
)

// KindSnapshotJoin is Flink's lateral snapshot join (LATERAL
// TABLE(SNAPSHOT(input => TABLE b, ...))). Input 0 is the probe side
// (insert-only), input 1 the build side (possibly a changelog). The build
// rows are kept in state; probe rows wait until the build's load completes
// — its watermark reaches LoadCompletedMillis or it ends — and then, and
// from then on as they arrive, each probe row joins the build rows in
// state at that moment. Later build changes affect later probe rows only:
// the output is insert-only. A left join emits an unmatched probe row once,
// padded with NULLs. The probe's watermarks pass through once the load
// completes (held back before, with the rows they cover); the build's are
// consumed. Output: the probe columns then the build columns.
const KindSnapshotJoin = "snapshot-join"

// SnapshotJoinSpec configures a snapshot join.
type SnapshotJoinSpec struct {
	// Type is "inner" or "left".
	Type string `json:"type"`
	// ProbeKeys[i] = BuildKeys[i] are equi-join conditions (both inputs
	// arrive hash partitioned by them); Condition is the whole ON
	// condition over the probe columns followed by the build columns
	// (expr.Marshal'ed; absent: every pair of equal keys matches).
	ProbeKeys []int           `json:"probeKeys"`
	BuildKeys []int           `json:"buildKeys"`
	Condition json.RawMessage `json:"condition,omitempty"`
	// ProbeWidth is the number of probe columns.
	ProbeWidth int `json:"probeWidth"`
	// BuildChangelog: build batches carry the trailing row kind column.
	BuildChangelog      bool  `json:"buildChangelog,omitempty"`
	LoadCompletedMillis int64 `json:"loadCompletedMillis"`
}

func init() { RegisterOperator(KindSnapshotJoin, newSnapshotJoin) }

// buildSegment is a batch of build rows with the rows still in state
// marked alive, and each row's hash over all its columns (to find the row
// a retraction removes).
type buildSegment struct {
	rows    arrow.RecordBatch
	alive   []bool
	rowHash []uint64
}

// snapshotJoin keeps the build rows as segments appended per batch;
// before probing it compacts the live rows into one segment and indexes
// it by key hash, so that a probe batch is joined with Take over index
// vectors and its condition evaluated a batch of candidate pairs at a time.
type snapshotJoin struct {
	spec        SnapshotJoinSpec
	schema      *arrow.Schema // output
	buildSchema *arrow.Schema
	left        bool
	ctx         *OperatorContext
	goCtx       context.Context
	cond        expr.Evaluator

	loaded  bool
	heldWM  Watermark
	pending []arrow.RecordBatch // probe batches waiting for the load
	// pendingBytes estimates the rows of pending and segRows counts the
	// rows of segs, live or dead, for StateBytes.
	pendingBytes int64
	segRows      int64

	segs    []buildSegment
	indexed bool // segs is one compacted segment and index covers it
	index   map[uint64][]int32

	hashes   []uint64 // scratch
	pi, bj   []int32
	allBuild []int // every build column, to hash whole rows
}

func newSnapshotJoin(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	j := &snapshotJoin{schema: spec.ArrowSchema(), ctx: ctx, heldWM: MinWatermark}
	if err := json.Unmarshal(spec.Spec, &j.spec); err != nil {
		return nil, fmt.Errorf("snapshot join spec: %w", err)
	}
	var err error
	if j.left, err = parseInnerOrLeft("snapshot join", j.spec.Type); err != nil {
		return nil, err
	}
	if spec.Changelog {
		return nil, fmt.Errorf("snapshot join: the output is insert-only")
	}
	n := j.schema.NumFields()
	if j.spec.ProbeWidth < 0 || j.spec.ProbeWidth > n || len(j.spec.ProbeKeys) != len(j.spec.BuildKeys) {
		return nil, fmt.Errorf("snapshot join spec: bad probe width or keys")
	}
	j.buildSchema = arrow.NewSchema(j.schema.Fields()[j.spec.ProbeWidth:], nil)
	for i := 0; i < j.buildSchema.NumFields(); i++ {
		j.allBuild = append(j.allBuild, i)
	}
	return j, nil
}

func (j *snapshotJoin) Open(ctx *OperatorContext) error {
	j.ctx = ctx
	j.goCtx = compute.WithAllocator(context.Background(), ctx.Mem)
	var err error
	j.cond, err = compileJoinCondition("snapshot join", j.spec.Condition, ctx.Mem)
	return err
}

func (j *snapshotJoin) ProcessBatch(input int, b arrow.RecordBatch, out Output) error {
	if input == 1 {
		return j.addBuild(b)
	}
	if !j.loaded {
		b.Retain()
		j.pending = append(j.pending, b)
		j.pendingBytes += b.NumRows() * rowBytes(b.Schema())
		return nil
	}
	return j.probe(b, out)
}

func (j *snapshotJoin) ProcessWatermark(input int, wm Watermark, out Output) error {
	if input == 1 {
		if !j.loaded && int64(wm) >= j.spec.LoadCompletedMillis {
			return j.completeLoad(out)
		}
		return nil
	}
	if !j.loaded {
		j.heldWM = wm
		return nil
	}
	return out.EmitWatermark(wm)
}

func (j *snapshotJoin) EndInput(input int, out Output) error {
	if input == 1 && !j.loaded {
		return j.completeLoad(out)
	}
	return nil
}

// completeLoad flips to probing: the waiting probe batches join the build
// state in arrival order, then the held probe watermark follows.
func (j *snapshotJoin) completeLoad(out Output) error {
	j.loaded = true
	pending := j.pending
	j.pending, j.pendingBytes = nil, 0
	return probeWaiting(pending, j.heldWM, j.probe, out)
}

// addBuild applies a build batch to the state: inserts (+I, +U) add rows,
// retractions (-U, -D) remove one equal live row.
func (j *snapshotJoin) addBuild(b arrow.RecordBatch) error {
	width := j.buildSchema.NumFields()
	n := int(b.NumRows())
	rows := array.NewRecordBatch(j.buildSchema, b.Columns()[:width], b.NumRows())
	seg := buildSegment{rows: rows, alive: make([]bool, n), rowHash: make([]uint64, n)}
	if err := hashRows(rows, j.allBuild, seg.rowHash); err != nil {
		rows.Release()
		return err
	}
	j.segs = append(j.segs, seg)
	j.segRows += int64(n)
	j.indexed = false
	if !j.spec.BuildChangelog {
		for i := range seg.alive {
			seg.alive[i] = true
		}
		return nil
	}
	kinds := b.Column(width).(*array.Int8).Int8Values()
	for i, k := range kinds {
		switch connector.RowKind(k) {
		case connector.Insert, connector.UpdateAfter:
			seg.alive[i] = true
		default:
			// A retraction of a row the state does not hold (never
			// loaded, or already gone) changes nothing.
			j.retract(seg.rows, i, seg.rowHash[i])
		}
	}
	return nil
}

// retract marks dead the most recent live build row equal to row i of b.
// It scans the state (comparing whole-row hashes first), which suits
// build sides whose changes are rare next to their size; a keyed index of
// live rows would make retraction-heavy build sides cheaper.
func (j *snapshotJoin) retract(b arrow.RecordBatch, i int, h uint64) {
	for s := len(j.segs) - 1; s >= 0; s-- {
		seg := j.segs[s]
		for r := len(seg.alive) - 1; r >= 0; r-- {
			if seg.alive[r] && seg.rowHash[r] == h && rowsEqual(seg.rows, r, b, i) {
				seg.alive[r] = false
				return
			}
		}
	}
}

func rowsEqual(a arrow.RecordBatch, i int, b arrow.RecordBatch, k int) bool {
	for c := 0; c < int(a.NumCols()); c++ {
		if !array.SliceEqual(a.Column(c), int64(i), int64(i+1), b.Column(c), int64(k), int64(k+1)) {
			return false
		}
	}
	return true
}

// ensureIndex compacts the live build rows into one segment and indexes
// it by the hash of its keys (rows with a NULL key never match).
func (j *snapshotJoin) ensureIndex() error {
	if j.indexed {
		return nil
	}
	var keep []arrow.RecordBatch
	defer func() { releaseBatches(keep) }()
	for _, seg := range j.segs {
		var idx []int32
		for r, ok := range seg.alive {
			if ok {
				idx = append(idx, int32(r))
			}
		}
		if len(idx) == 0 {
			continue
		}
		kept, err := takeRows(j.goCtx, j.ctx.Mem, seg.rows, idx)
		if err != nil {
			return err
		}
		keep = append(keep, kept)
	}
	j.releaseSegments()
	j.index = map[uint64][]int32{}
	j.indexed = true
	if len(keep) == 0 {
		return nil
	}
	table, err := concatBatches(j.ctx.Mem, j.buildSchema, keep)
	if err != nil {
		return err
	}
	n := int(table.NumRows())
	seg := buildSegment{rows: table, alive: make([]bool, n), rowHash: make([]uint64, n)}
	for i := range seg.alive {
		seg.alive[i] = true
	}
	if err := hashRows(table, j.allBuild, seg.rowHash); err != nil {
		table.Release()
		return err
	}
	j.segs, j.segRows = []buildSegment{seg}, int64(n)
	j.index, err = indexBuildRows(table, j.spec.BuildKeys)
	return err
}

// probe joins a probe batch with the build state and emits the results.
func (j *snapshotJoin) probe(b arrow.RecordBatch, out Output) error {
	if err := j.ensureIndex(); err != nil {
		return err
	}
	n := int(b.NumRows())
	var err error
	if j.hashes, j.pi, j.bj, err = probeCandidates(b, j.spec.ProbeKeys, j.index, j.hashes, j.pi[:0], j.bj[:0]); err != nil {
		return err
	}
	matched := make([]bool, n)
	if len(j.pi) > 0 {
		pairs, err := j.pairs(b, j.pi, j.bj)
		if err != nil {
			return err
		}
		if j.cond != nil {
			if pairs, err = j.filterPairs(pairs, matched); err != nil {
				return err
			}
		} else {
			for _, i := range j.pi {
				matched[i] = true
			}
		}
		if pairs != nil {
			err := emitNonEmpty(out, pairs)
			pairs.Release()
			if err != nil {
				return err
			}
		}
	}
	if !j.left {
		return nil
	}
	var unmatched []int32
	for i, m := range matched {
		if !m {
			unmatched = append(unmatched, int32(i))
		}
	}
	if len(unmatched) == 0 {
		return nil
	}
	padded, err := j.padded(b, unmatched)
	if err != nil {
		return err
	}
	defer padded.Release()
	return out.Emit(padded)
}

func emitNonEmpty(out Output, b arrow.RecordBatch) error {
	if b.NumRows() == 0 {
		return nil
	}
	return out.Emit(b)
}

// pairs builds the output batch of the candidate pairs (probe row pi[k],
// build row bj[k]).
func (j *snapshotJoin) pairs(b arrow.RecordBatch, pi, bj []int32) (arrow.RecordBatch, error) {
	probe, err := takeRows(j.goCtx, j.ctx.Mem, b, pi)
	if err != nil {
		return nil, err
	}
	defer probe.Release()
	build, err := takeRows(j.goCtx, j.ctx.Mem, j.segs[0].rows, bj)
	if err != nil {
		return nil, err
	}
	defer build.Release()
	cols := append(append([]arrow.Array(nil), probe.Columns()[:j.spec.ProbeWidth]...), build.Columns()...)
	return array.NewRecordBatch(j.schema, cols, int64(len(pi))), nil
}

// filterPairs keeps the candidate pairs satisfying the condition and marks
// their probe rows matched.
func (j *snapshotJoin) filterPairs(pairs arrow.RecordBatch, matched []bool) (arrow.RecordBatch, error) {
	defer pairs.Release()
	pred, err := j.cond.Eval(pairs)
	if err != nil {
		return nil, err
	}
	defer pred.Release()
	p, ok := pred.(*array.Boolean)
	if !ok {
		return nil, fmt.Errorf("snapshot join: condition produced %s, not BOOLEAN", pred.DataType())
	}
	for k := 0; k < p.Len(); k++ {
		if p.IsValid(k) && p.Value(k) {
			matched[j.pi[k]] = true
		}
	}
	return expr.FilterBatch(pairs, pred, j.ctx.Mem)
}

// padded builds the output rows of unmatched probe rows: NULL build
// columns.
func (j *snapshotJoin) padded(b arrow.RecordBatch, rows []int32) (arrow.RecordBatch, error) {
	probe, err := takeRows(j.goCtx, j.ctx.Mem, b, rows)
	if err != nil {
		return nil, err
	}
	defer probe.Release()
	cols := append([]arrow.Array(nil), probe.Columns()[:j.spec.ProbeWidth]...)
	var nulls []arrow.Array
	defer func() { releaseArrays(nulls) }()
	for _, f := range j.buildSchema.Fields() {
		c := array.MakeArrayOfNull(j.ctx.Mem, f.Type, len(rows))
		nulls = append(nulls, c)
		cols = append(cols, c)
	}
	return array.NewRecordBatch(j.schema, cols, int64(len(rows))), nil
}

func (j *snapshotJoin) releaseSegments() {
	for _, s := range j.segs {
		s.rows.Release()
	}
	j.segs, j.segRows = nil, 0
}

// snapshotJoinState is the operator's snapshot: whether the load
// completed, the held probe watermark, and the waiting probe batches and
// the live build rows as Arrow IPC streams.
type snapshotJoinState struct {
	Loaded  bool      `json:"loaded,omitempty"`
	HeldWM  Watermark `json:"heldWatermark"`
	Pending []byte    `json:"pending,omitempty"`
	Build   []byte    `json:"build,omitempty"`
}

func (j *snapshotJoin) Snapshot() ([]byte, error) {
	if err := j.ensureIndex(); err != nil {
		return nil, err
	}
	st := snapshotJoinState{Loaded: j.loaded, HeldWM: j.heldWM}
	var build arrow.RecordBatch
	if len(j.segs) > 0 {
		build = j.segs[0].rows
	}
	var err error
	if st.Pending, st.Build, err = writeWaitingAndBuild(j.ctx.Mem, j.pending, j.buildSchema, build); err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

func (j *snapshotJoin) Restore(data []byte) error {
	var st snapshotJoinState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("snapshot join restore: %w", err)
	}
	pending, build, err := readWaitingAndBuild(j.ctx.Mem, st.Pending, st.Build)
	if err != nil {
		return err
	}
	j.loaded, j.heldWM, j.pending = st.Loaded, st.HeldWM, pending
	for _, b := range pending {
		j.pendingBytes += b.NumRows() * rowBytes(b.Schema())
	}
	for _, b := range build {
		n := int(b.NumRows())
		seg := buildSegment{rows: b, alive: make([]bool, n), rowHash: make([]uint64, n)}
		for i := range seg.alive {
			seg.alive[i] = true
		}
		if err := hashRows(b, j.allBuild, seg.rowHash); err != nil {
			return err
		}
		j.segs = append(j.segs, seg)
		j.segRows += int64(n)
	}
	j.indexed = false
	return nil
}

// StateBytes estimates the waiting probe rows and the build rows kept in
// segments, each with its alive flag, whole-row hash and index entry
// (dead rows count until the next compaction), with the index's keys and
// row lists (StateSizer).
func (j *snapshotJoin) StateBytes() int64 {
	return j.pendingBytes + j.segRows*(rowBytes(j.buildSchema)+1+8+4) + int64(len(j.index))*(8+24)
}

func (j *snapshotJoin) Close() error {
	releaseBatches(j.pending)
	j.pending, j.pendingBytes = nil, 0
	j.releaseSegments()
	return nil
}
