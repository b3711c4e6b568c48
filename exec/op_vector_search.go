package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"

	"github.com/eddysql/eddy/exec/expr"
)

// KindVectorSearch is Flink's VECTOR_SEARCH table function, input LATERAL
// TABLE(VECTOR_SEARCH(TABLE t, DESCRIPTOR(v), input.q, k)): every input
// row joins the k rows of t whose vector column v is most similar to the
// row's query vector q, by cosine similarity, most similar first (equal
// scores keep the table's order). Input 0 is the query stream
// (insert-only), input 1 the search table's rows (insert-only).
//
// Flink asks the table's connector to search; Eddy loads the table and
// searches it exhaustively, as the lookup join loads its table: query rows
// wait (with the watermarks they cover) until the table's input ends or a
// savepoint barrier has arrived on both inputs, then search the rows
// loaded up to that point; later query rows search on arrival.
//
// Rows without a match: a NULL query vector, or a query or table vector
// that is all zeros or has an infinite or NaN element (its cosine is
// undefined), joins nothing; a table row whose vector is NULL is never
// found. A query vector whose dimension differs from a table vector's, or
// a vector with a NULL element, fails the job, as a vector store rejects
// such a search.
//
// Output: the query columns, the table's columns, then score (DOUBLE NOT
// NULL, the cosine similarity).
const KindVectorSearch = "vector-search"

// VectorSearchSpec configures a vector search.
type VectorSearchSpec struct {
	// ProbeWidth is the number of query-side columns.
	ProbeWidth int `json:"probeWidth"`
	// Query is the query vector, an ARRAY<FLOAT> or ARRAY<DOUBLE>
	// expression over the query columns (expr.Marshal'ed).
	Query json.RawMessage `json:"query"`
	// SearchColumn is the searched vector column, an ARRAY<FLOAT> or
	// ARRAY<DOUBLE>, by index into the table's columns.
	SearchColumn int `json:"searchColumn"`
	// TopK is the number of rows each query row joins at most (> 0).
	TopK int `json:"topK"`
}

func init() { RegisterOperator(KindVectorSearch, newVectorSearch) }

// vectorSearch keeps the table as one batch plus its vectors copied into
// one flat float64 slice with their norms, so that a query row is scored
// against every table row by tight loops over contiguous memory.
type vectorSearch struct {
	spec        VectorSearchSpec
	schema      *arrow.Schema // output
	tableSchema *arrow.Schema
	ctx         *OperatorContext
	goCtx       context.Context
	query       expr.Evaluator

	tableWait

	// The table is restored ∪ fresh: restored holds the rows of the
	// savepoint not reloaded since (see foldLoaded), fresh the rows loaded
	// since the start or restore; loaded are those not folded in yet.
	restored, fresh arrow.RecordBatch
	loaded          []arrow.RecordBatch
	table           *searchTable

	qvec         []float64 // scratch: the query vector
	top          topK
	pi, bj       []int32 // output pairs (query row, table row)
	scores       []float64
	scoreBuilder *array.Float64Builder
}

// searchTable is the searched table with its vectors unpacked.
type searchTable struct {
	rows    arrow.RecordBatch
	vecs    []float64 // the vectors, concatenated
	offsets []int32   // row r's vector is vecs[offsets[r]:offsets[r+1]]
	norms   []float64 // 0: the row is never found (see usableNorm)
}

func newVectorSearch(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	s := &vectorSearch{schema: spec.ArrowSchema(), ctx: ctx, tableWait: newTableWait()}
	if err := json.Unmarshal(spec.Spec, &s.spec); err != nil {
		return nil, fmt.Errorf("vector search spec: %w", err)
	}
	if spec.Changelog {
		return nil, fmt.Errorf("vector search spec: the query input must be insert-only")
	}
	n := spec.Schema.Len()
	// The output is the query columns, the table columns and the score.
	if s.spec.ProbeWidth < 0 || s.spec.ProbeWidth > n-1 || s.spec.TopK <= 0 {
		return nil, fmt.Errorf("vector search spec: bad probe width or top k")
	}
	s.tableSchema = arrow.NewSchema(s.schema.Fields()[s.spec.ProbeWidth:n-1], nil)
	if s.spec.SearchColumn < 0 || s.spec.SearchColumn >= s.tableSchema.NumFields() {
		return nil, fmt.Errorf("vector search spec: search column %d out of range", s.spec.SearchColumn)
	}
	if err := checkVectorType(s.tableSchema.Field(s.spec.SearchColumn).Type); err != nil {
		return nil, fmt.Errorf("vector search spec: search column: %w", err)
	}
	return s, nil
}

func checkVectorType(t arrow.DataType) error {
	l, ok := t.(*arrow.ListType)
	if ok && (l.Elem().ID() == arrow.FLOAT32 || l.Elem().ID() == arrow.FLOAT64) {
		return nil
	}
	return fmt.Errorf("%s is not a list of FLOAT or DOUBLE", t)
}

func (s *vectorSearch) Open(ctx *OperatorContext) error {
	s.ctx = ctx
	s.goCtx = compute.WithAllocator(context.Background(), ctx.Mem)
	s.scoreBuilder = array.NewFloat64Builder(ctx.Mem)
	var err error
	if s.query, err = compileExpr(s.spec.Query, ctx.Mem); err != nil {
		return fmt.Errorf("vector search query vector: %w", err)
	}
	return nil
}

func (s *vectorSearch) ProcessBatch(input int, b arrow.RecordBatch, out Output) error {
	if input == 1 {
		rows := array.NewRecordBatch(s.tableSchema, b.Columns()[:s.tableSchema.NumFields()], b.NumRows())
		s.loaded = append(s.loaded, rows)
		return nil
	}
	if s.holdProbe(b) {
		return nil
	}
	return s.search(b, out)
}

// ProcessWatermark forwards the query side's watermarks, held back with
// the query rows they cover while those wait; the table side's are
// consumed.
func (s *vectorSearch) ProcessWatermark(input int, wm Watermark, out Output) error {
	return s.probeWatermark(input, wm, out)
}

func (s *vectorSearch) EndInput(input int, out Output) error {
	if !s.endInput(input) {
		return nil
	}
	return s.flushWaiting(s.search, out)
}

// PrepareSnapshotPreBarrier searches for the waiting query rows before a
// savepoint: the barrier has arrived on both inputs, so the table holds
// every row its source read before the cut.
func (s *vectorSearch) PrepareSnapshotPreBarrier(out Output) error {
	return s.flushWaiting(s.search, out)
}

// foldLoaded adds the rows loaded since the last call to the table and
// unpacks its vectors again. A restored source reads its table again (a
// bounded source replays it, as the values connector does), so a row
// loaded after a restore replaces an equal restored row, one for one,
// instead of doubling it; restored rows not read again stay, for a source
// that resumes after the rows it had read.
func (s *vectorSearch) foldLoaded() error {
	if len(s.loaded) == 0 && s.table != nil {
		return nil
	}
	loaded := s.loaded
	s.loaded = nil
	defer releaseBatches(loaded)
	var parts []arrow.RecordBatch
	if s.fresh != nil {
		parts = append(parts, s.fresh)
	}
	for _, b := range loaded {
		if b.NumRows() > 0 {
			parts = append(parts, b)
		}
	}
	if s.restored != nil && len(loaded) > 0 {
		if err := s.dropReloaded(loaded); err != nil {
			return err
		}
	}
	if len(parts) > 0 {
		fresh, err := concatBatches(s.ctx.Mem, s.tableSchema, parts)
		if err != nil {
			return err
		}
		if s.fresh != nil {
			s.fresh.Release()
		}
		s.fresh = fresh
	}
	all := s.all()
	s.dropTable()
	if len(all) == 0 {
		s.table = &searchTable{}
		return nil
	}
	rows, err := concatBatches(s.ctx.Mem, s.tableSchema, all)
	if err != nil {
		return err
	}
	s.table, err = unpackTable(rows, s.spec.SearchColumn)
	if err != nil {
		rows.Release()
	}
	return err
}

// all returns the non-empty parts of the table: restored rows, then fresh.
func (s *vectorSearch) all() []arrow.RecordBatch {
	var all []arrow.RecordBatch
	for _, b := range []arrow.RecordBatch{s.restored, s.fresh} {
		if b != nil && b.NumRows() > 0 {
			all = append(all, b)
		}
	}
	return all
}

// dropReloaded removes from the restored rows one equal row per loaded
// row.
func (s *vectorSearch) dropReloaded(loaded []arrow.RecordBatch) error {
	prev := s.restored
	n := int(prev.NumRows())
	keys := make([]int, s.tableSchema.NumFields())
	for i := range keys {
		keys[i] = i
	}
	hashes := make([]uint64, n)
	if err := hashRows(prev, keys, hashes); err != nil {
		return err
	}
	byHash := make(map[uint64][]int32, n)
	for r, h := range hashes {
		byHash[h] = append(byHash[h], int32(r))
	}
	dropped := make([]bool, n)
	for _, b := range loaded {
		hs := make([]uint64, b.NumRows())
		if err := hashRows(b, keys, hs); err != nil {
			return err
		}
		for r, h := range hs {
			for _, o := range byHash[h] {
				if !dropped[o] && rowsEqual(b, r, prev, int(o)) {
					dropped[o] = true
					break
				}
			}
		}
	}
	keep := make([]int32, 0, n)
	for r, d := range dropped {
		if !d {
			keep = append(keep, int32(r))
		}
	}
	if len(keep) == n {
		return nil
	}
	kept, err := takeRows(s.goCtx, s.ctx.Mem, prev, keep)
	if err != nil {
		return err
	}
	prev.Release()
	s.restored = kept
	return nil
}

// unpackTable copies the vectors of column col of rows into one float64
// slice and computes their norms; it takes over rows.
func unpackTable(rows arrow.RecordBatch, col int) (*searchTable, error) {
	list, ok := rows.Column(col).(*array.List)
	if !ok {
		return nil, fmt.Errorf("vector search: the search column is %s, not a list", rows.Column(col).DataType())
	}
	n := list.Len()
	t := &searchTable{rows: rows, offsets: make([]int32, n+1), norms: make([]float64, n)}
	for r := 0; r < n; r++ {
		t.offsets[r] = int32(len(t.vecs))
		if list.IsNull(r) {
			continue
		}
		start, end := list.ValueOffsets(r)
		var err error
		if t.vecs, err = appendVector(t.vecs, list.ListValues(), int(start), int(end)); err != nil {
			return nil, fmt.Errorf("vector search: row %d of the search table: %w", r, err)
		}
		t.norms[r] = usableNorm(t.vecs[t.offsets[r]:])
	}
	t.offsets[n] = int32(len(t.vecs))
	return t, nil
}

// appendVector appends elements [start, end) of a FLOAT or DOUBLE array.
func appendVector(dst []float64, values arrow.Array, start, end int) ([]float64, error) {
	if values.NullN() > 0 {
		for i := start; i < end; i++ {
			if values.IsNull(i) {
				return dst, fmt.Errorf("a vector must not have NULL elements")
			}
		}
	}
	switch v := values.(type) {
	case *array.Float32:
		for _, x := range v.Float32Values()[start:end] {
			dst = append(dst, float64(x))
		}
	case *array.Float64:
		dst = append(dst, v.Float64Values()[start:end]...)
	default:
		return dst, fmt.Errorf("a vector of %s, not FLOAT or DOUBLE", values.DataType())
	}
	return dst, nil
}

// usableNorm is v's Euclidean norm, or 0 when no cosine with v is
// defined: v is all zeros, or has an infinite or NaN element.
func usableNorm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return 0
	}
	return math.Sqrt(s)
}

func dot(a, b []float64) float64 {
	var s float64
	for i, x := range a {
		s += x * b[i]
	}
	return s
}

// topK keeps the k best (score, row) pairs seen, best first; of equal
// scores the one seen first.
type topK struct {
	k      int
	scores []float64
	rows   []int32
}

func (t *topK) reset(k int) {
	t.k, t.scores, t.rows = k, t.scores[:0], t.rows[:0]
}

func (t *topK) offer(score float64, row int32) {
	n := len(t.scores)
	if n == t.k && score <= t.scores[n-1] {
		return
	}
	if n < t.k {
		t.scores, t.rows = append(t.scores, 0), append(t.rows, 0)
		n++
	}
	i := n - 1
	for ; i > 0 && t.scores[i-1] < score; i-- {
		t.scores[i], t.rows[i] = t.scores[i-1], t.rows[i-1]
	}
	t.scores[i], t.rows[i] = score, row
}

// search finds the top k table rows of every query row of b and emits
// them in query row order, best first.
func (s *vectorSearch) search(b arrow.RecordBatch, out Output) error {
	if err := s.foldLoaded(); err != nil {
		return err
	}
	qcol, err := s.query.Eval(b)
	if err != nil {
		return err
	}
	defer qcol.Release()
	queries, ok := qcol.(*array.List)
	if !ok {
		return fmt.Errorf("vector search: the query vector is %s, not a list", qcol.DataType())
	}
	t := s.table
	n := len(t.norms)
	s.pi, s.bj, s.scores = s.pi[:0], s.bj[:0], s.scores[:0]
	for i := 0; i < queries.Len(); i++ {
		if n == 0 || queries.IsNull(i) {
			continue
		}
		start, end := queries.ValueOffsets(i)
		if s.qvec, err = appendVector(s.qvec[:0], queries.ListValues(), int(start), int(end)); err != nil {
			return fmt.Errorf("vector search: query vector: %w", err)
		}
		qn := usableNorm(s.qvec)
		if qn == 0 {
			continue
		}
		s.top.reset(min(s.spec.TopK, n))
		for r := 0; r < n; r++ {
			if t.norms[r] == 0 {
				continue
			}
			v := t.vecs[t.offsets[r]:t.offsets[r+1]]
			if len(v) != len(s.qvec) {
				return fmt.Errorf("vector search: the query vector has %d dimensions but the searched vector of row %d has %d", len(s.qvec), r, len(v))
			}
			s.top.offer(dot(s.qvec, v)/(qn*t.norms[r]), int32(r))
		}
		for j, r := range s.top.rows {
			s.pi, s.bj, s.scores = append(s.pi, int32(i)), append(s.bj, r), append(s.scores, s.top.scores[j])
		}
	}
	if len(s.pi) == 0 {
		return nil
	}
	res, err := s.output(b)
	if err != nil {
		return err
	}
	defer res.Release()
	return out.Emit(res)
}

// output builds the batch of the pairs (query row pi[k], table row bj[k])
// with their scores.
func (s *vectorSearch) output(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	probe, err := takeRows(s.goCtx, s.ctx.Mem, b, s.pi)
	if err != nil {
		return nil, err
	}
	defer probe.Release()
	found, err := takeRows(s.goCtx, s.ctx.Mem, s.table.rows, s.bj)
	if err != nil {
		return nil, err
	}
	defer found.Release()
	s.scoreBuilder.AppendValues(s.scores, nil)
	score := s.scoreBuilder.NewFloat64Array()
	defer score.Release()
	cols := append([]arrow.Array(nil), probe.Columns()[:s.spec.ProbeWidth]...)
	cols = append(cols, found.Columns()...)
	cols = append(cols, score)
	return array.NewRecordBatch(s.schema, cols, int64(len(s.pi))), nil
}

// vectorSearchState is the operator's snapshot: whether the table input
// ended, the held query watermark, and the table and any waiting query
// batches as Arrow IPC streams.
type vectorSearchState struct {
	Ended   bool      `json:"ended,omitempty"`
	HeldWM  Watermark `json:"heldWatermark"`
	Pending []byte    `json:"pending,omitempty"`
	Table   []byte    `json:"table,omitempty"`
}

func (s *vectorSearch) Snapshot() ([]byte, error) {
	if err := s.foldLoaded(); err != nil {
		return nil, err
	}
	st := vectorSearchState{Ended: s.ended, HeldWM: s.heldWM}
	var err error
	if st.Pending, st.Table, err = writeWaitingAndBuild(s.ctx.Mem, s.pending, s.tableSchema, s.table.rows); err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

// Restore keeps the table of the savepoint as the restored rows, which
// rows loaded again replace (foldLoaded).
func (s *vectorSearch) Restore(data []byte) error {
	var st vectorSearchState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("vector search restore: %w", err)
	}
	pending, table, err := readWaitingAndBuild(s.ctx.Mem, st.Pending, st.Table)
	if err != nil {
		return err
	}
	defer releaseBatches(table)
	s.ended, s.heldWM = st.Ended, st.HeldWM
	s.restoreWaiting(pending)
	if len(table) > 0 {
		if s.restored, err = concatBatches(s.ctx.Mem, s.tableSchema, table); err != nil {
			return err
		}
	}
	s.dropTable()
	return nil
}

// dropTable forgets the unpacked table, so the next search unpacks it
// again.
func (s *vectorSearch) dropTable() {
	if s.table != nil && s.table.rows != nil {
		s.table.rows.Release()
	}
	s.table = nil
}

func (s *vectorSearch) Close() error {
	releaseBatches(s.pending)
	releaseBatches(s.loaded)
	s.pending, s.loaded = nil, nil
	for _, b := range []*arrow.RecordBatch{&s.restored, &s.fresh} {
		if *b != nil {
			(*b).Release()
			*b = nil
		}
	}
	s.dropTable()
	if s.scoreBuilder != nil {
		s.scoreBuilder.Release()
		s.scoreBuilder = nil
	}
	return nil
}
