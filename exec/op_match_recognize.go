package exec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// KindMatchRecognize is Flink's row pattern recognition
// (StreamExecMatch): MATCH_RECOGNIZE with ONE ROW PER MATCH. Its spec is
// MatchRecognizeSpec; the output is the partition columns then one column
// per measure, insert-only.
//
// Rows are ordered per partition before matching. Rowtime: rows are
// buffered until the watermark passes them, then fed in (rowtime, further
// order keys, arrival) order; a row at or below the current watermark is
// late and dropped (OperatorMetrics.LateRecordsDropped). Proctime: each
// batch's rows are fed on arrival, in arrival order.
//
// Matching runs the pattern as an NFA over the fed rows, as Flink's CEP
// library does: every row starts a new partial match (a thread), and each
// thread branches on every quantifier choice whose DEFINE condition holds
// (a greedy quantifier that can take the row does not also let it go to
// the next variable; a reluctant one that can go on does not also keep
// it). A thread that reaches the end of the pattern is a match. The last
// pattern term is fixed or reluctant (the planner rejects a greedy one, as
// Flink does), so a match is complete the moment it can end. Completed
// matches are emitted in start order once no partial match starts at or
// before them (an earlier match that completes later wins, as in Flink's
// NFA), each pruning the partial and completed matches its AFTER MATCH
// SKIP strategy discards. With WITHIN, a thread is dropped once a row (or,
// for rowtime, the watermark; for proctime, the clock) is Within or more
// after its first row.
//
// DEFINE conditions are compiled expressions over the input columns (the
// current row) followed by one column per navigation (FIRST, LAST, PREV
// over earlier rows of the thread), then one per aggregate (over the
// thread's rows of a variable, plus the current row when it is that
// variable's candidate). A condition without navigation or aggregate is
// evaluated once over all rows fed together (a batch, or the rows a
// watermark releases); the others once per row over every thread's
// candidate of that variable, each a row of one batch, each aggregate
// over one batch of all the candidates' rows (see evalAgg).
//
// State per partition: its rows from the earliest thread or waiting
// match start (less the largest PREV offset), the threads (start row,
// variable per row, pattern position), the completed matches waiting for
// earlier threads and, for rowtime, the rows waiting for the watermark.
// Rows keep their time for WITHIN. Snapshot: section 0 holds the arrival
// counter and watermark, section kg+1 the partitions of key group kg.
//
// Output: each match reads MeasureNavs (slots of its rows) and the rows
// of MeasureAggs; when rows are flushed, the aggregates and then the
// measures are evaluated over one batch for all matches emitted by the
// batch, watermark or timer.
const KindMatchRecognize = "match-recognize"

// MatchRecognizeSpec configures a MATCH_RECOGNIZE operator.
type MatchRecognizeSpec struct {
	// Input is the input's schema (the rows kept in state).
	Input         types.Schema `json:"input"`
	PartitionKeys []int        `json:"partitionKeys,omitempty"`
	// OrderKeys are the ORDER BY keys; OrderKeys[0] is the ascending time
	// attribute.
	OrderKeys []SortKey `json:"orderKeys"`
	ProcTime  bool      `json:"procTime,omitempty"`
	// Vars are the pattern variables; terms and navigations index them.
	Vars    []string           `json:"vars"`
	Pattern []MatchPatternTerm `json:"pattern"`
	// Defines has one entry per variable (Condition empty: always true).
	Defines []MatchDefine `json:"defines"`
	// MeasureNavs are the rows' values the measures read and MeasureAggs
	// the aggregates over the match's rows; Measures are the MEASURES
	// expressions over them (column k < len(MeasureNavs): MeasureNavs[k],
	// then one column per MeasureAggs).
	MeasureNavs []MatchNav        `json:"measureNavs,omitempty"`
	MeasureAggs []MatchAgg        `json:"measureAggs,omitempty"`
	Measures    []json.RawMessage `json:"measures,omitempty"`
	// Within is the WITHIN interval in milliseconds (0: none): a partial
	// match is dropped once a row (or, for rowtime, the watermark) is
	// Within or more later than its first row, as Flink's
	// NFA.isStateTimedOut, so a match spans less than Within.
	Within int64 `json:"within,omitempty"`
	// After is the AFTER MATCH SKIP strategy: past-last-row, next-row,
	// first or last (of variable AfterVar).
	After    string `json:"after"`
	AfterVar int    `json:"afterVar,omitempty"`
}

// MatchPatternTerm is a pattern variable with its quantifier: Min..Max
// rows, Max -1 for unbounded.
type MatchPatternTerm struct {
	Var       int  `json:"var"`
	Min       int  `json:"min"`
	Max       int  `json:"max"`
	Reluctant bool `json:"reluctant,omitempty"`
}

// MatchDefine is a variable's condition: an expression over the input
// columns (the current row), then Navs and then Aggs, one column each.
type MatchDefine struct {
	Condition json.RawMessage `json:"condition,omitempty"`
	Navs      []MatchNav      `json:"navs,omitempty"`
	Aggs      []MatchAgg      `json:"aggs,omitempty"`
}

// MatchAgg is an aggregate over the rows of a (partial) match mapped to
// Var (-1: every row), as Flink's MATCH_RECOGNIZE aggregates: in a DEFINE
// the rows so far plus the current row when it would be mapped to Var. Its
// arguments are expressions over the input columns; Type is its result.
type MatchAgg struct {
	Func string            `json:"func"`
	Var  int               `json:"var"`
	Args []json.RawMessage `json:"args,omitempty"`
	Type types.DataType    `json:"type"`
}

// MatchNav reads input column Col of one row of a (partial) match:
// first/last: the Offset-th row from the first/last row mapped to Var
// (-1: any variable); prev: the row Offset rows before the last row mapped
// to Var (the current row for the variable being defined).
type MatchNav struct {
	Kind   string `json:"kind"`
	Var    int    `json:"var"`
	Col    int    `json:"col"`
	Offset int    `json:"offset,omitempty"`
}

func init() { RegisterOperator(KindMatchRecognize, newMatchRecognize) }

// mrThread is a partial match: rows start.. (absolute row numbers of its
// partition) mapped to vars, now at pattern term elem with count rows of it.
type mrThread struct {
	start int64
	vars  []int8
	elem  int
	count int
}

// mrPart is one partition's matching state.
type mrPart struct {
	rows    []int32 // slots of rows base, base+1, ...
	base    int64
	threads []mrThread
	// done are the completed matches waiting for the earlier partial
	// matches to end (see emitReady), in start order.
	done    []mrThread
	pending []int32 // rowtime: rows waiting for the watermark
}

// idle reports whether the partition holds nothing to match.
func (st *mrPart) idle() bool {
	return len(st.threads) == 0 && len(st.done) == 0 && len(st.pending) == 0 && len(st.rows) == 0
}

// matches is the number of partial and completed matches st holds.
func (st *mrPart) matches() int { return len(st.threads) + len(st.done) }

type matchRecognize struct {
	spec    MatchRecognizeSpec
	ctx     *OperatorContext
	metrics *OperatorMetrics
	nIn     int
	inTypes []arrow.DataType
	schema  *arrow.Schema
	// measures evaluate the MEASURES over batches of navSchema.
	measures  []expr.Evaluator
	navSchema *arrow.Schema
	matches   int

	conds  []expr.Evaluator // per variable, nil: always true
	simple []bool           // condition reads the current row only
	// defAggs are the aggregates of each variable's DEFINE, measAggs those
	// of the MEASURES; aggRows collects each measure aggregate's groups of
	// rows (see evalAgg) for the matches not flushed yet.
	defAggs  [][]*mrAgg
	measAggs []*mrAgg
	aggRows  [][]int32
	clock    Clock
	maxPrev  int
	store    *rowStore
	parts    *partitionTable
	state    []*mrPart
	// held counts the partial and completed matches of all partitions
	// (mrPart.matches), kept up to date for StateBytes.
	held  int
	seq   int64
	wm    int64
	in    joinBatch
	ms    []int64
	items []mrItem
	// evalSchemas caches gatherBatch's schemas, index v+1.
	evalSchemas []*arrow.Schema
	scratch     colView
	outSlots    [][]int32 // per output column, per emitted row: slot or -1
	release     []int32
}

func newMatchRecognize(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	m := &matchRecognize{ctx: ctx, wm: math.MinInt64}
	if err := json.Unmarshal(spec.Spec, &m.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "match-recognize spec")
	}
	if spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "match-recognize: the output is insert-only")
	}
	s := &m.spec
	if len(s.Pattern) == 0 || len(s.Defines) != len(s.Vars) || len(s.OrderKeys) == 0 {
		return nil, errs.New(errs.InvalidPlan, "match-recognize: incomplete spec")
	}
	nOut := len(s.PartitionKeys) + len(s.Measures)
	if nOut == 0 {
		return nil, errs.New(errs.InvalidPlan, "match-recognize: no output columns")
	}
	if spec.Schema.Len() != nOut {
		return nil, errs.New(errs.InvalidPlan, "match-recognize: output schema has %d columns, want %d", spec.Schema.Len(), nOut)
	}
	inSchema := s.Input
	m.nIn = inSchema.Len()
	kinds, dts, err := storeKinds(inSchema, m.nIn, "MATCH_RECOGNIZE")
	if err != nil {
		return nil, err
	}
	m.inTypes = dts
	col := func(c int) error {
		if c < 0 || c >= m.nIn {
			return errs.New(errs.InvalidPlan, "match-recognize: column %d out of range", c)
		}
		return nil
	}
	for _, k := range s.PartitionKeys {
		if err := col(k); err != nil {
			return nil, err
		}
	}
	for _, k := range s.OrderKeys {
		if err := col(k.Col); err != nil {
			return nil, err
		}
	}
	navOK := func(n MatchNav) error {
		if n.Var < -1 || n.Var >= len(s.Vars) || n.Offset < 0 {
			return errs.New(errs.InvalidPlan, "match-recognize: invalid navigation %+v", n)
		}
		switch n.Kind {
		case "first", "last", "prev":
		default:
			return errs.New(errs.InvalidPlan, "match-recognize: unknown navigation %q", n.Kind)
		}
		return col(n.Col)
	}
	for _, ms := range s.MeasureNavs {
		if err := navOK(ms); err != nil {
			return nil, err
		}
		if ms.Kind == "prev" {
			m.maxPrev = max(m.maxPrev, ms.Offset)
		}
	}
	for _, t := range s.Pattern {
		if t.Var < 0 || t.Var >= len(s.Vars) || t.Min < 0 || t.Max == 0 || t.Max > 0 && t.Max < t.Min {
			return nil, errs.New(errs.InvalidPlan, "match-recognize: invalid pattern term %+v", t)
		}
	}
	if len(s.Vars) > math.MaxInt8 {
		return nil, errs.New(errs.NotSupported, "MATCH_RECOGNIZE supports at most %d pattern variables", math.MaxInt8)
	}
	switch s.After {
	case "past-last-row", "next-row":
	case "first", "last":
		if s.AfterVar < 0 || s.AfterVar >= len(s.Vars) {
			return nil, errs.New(errs.InvalidPlan, "match-recognize: invalid AFTER MATCH variable")
		}
	default:
		return nil, errs.New(errs.InvalidPlan, "match-recognize: unknown AFTER MATCH strategy %q", s.After)
	}
	if s.Within < 0 {
		return nil, errs.New(errs.InvalidPlan, "match-recognize: negative WITHIN")
	}
	m.conds = make([]expr.Evaluator, len(s.Vars))
	m.simple = make([]bool, len(s.Vars))
	m.defAggs = make([][]*mrAgg, len(s.Vars))
	for v, d := range s.Defines {
		for _, n := range d.Navs {
			if err := navOK(n); err != nil {
				return nil, err
			}
			if n.Kind == "prev" {
				m.maxPrev = max(m.maxPrev, n.Offset)
			}
		}
		m.simple[v] = len(d.Navs) == 0 && len(d.Aggs) == 0
		for _, a := range d.Aggs {
			c, err := m.compileAgg(a)
			if err != nil {
				return nil, err
			}
			m.defAggs[v] = append(m.defAggs[v], c)
		}
		if len(d.Condition) == 0 {
			continue
		}
		if m.conds[v], err = compileExpr(d.Condition, ctx.Mem); err != nil {
			return nil, errs.Wrap(errs.InvalidPlan, err, "match-recognize: DEFINE %s", s.Vars[v])
		}
	}
	m.store = newRowStore(kinds)
	m.parts = newPartitionTable(s.PartitionKeys, kinds)
	m.outSlots = make([][]int32, len(s.PartitionKeys)+len(s.MeasureNavs))
	m.schema = spec.ArrowSchema()
	var navFields []arrow.Field
	for k, nv := range s.MeasureNavs {
		navFields = append(navFields, arrow.Field{Name: fmt.Sprintf("m%d", k), Type: dts[nv.Col], Nullable: true})
	}
	for _, a := range s.MeasureAggs {
		c, err := m.compileAgg(a)
		if err != nil {
			return nil, err
		}
		m.measAggs = append(m.measAggs, c)
		navFields = append(navFields, arrow.Field{Name: fmt.Sprintf("m%d", len(navFields)), Type: c.state.Type(), Nullable: true})
	}
	m.aggRows = make([][]int32, len(m.measAggs))
	m.navSchema = arrow.NewSchema(navFields, nil)
	for k, raw := range s.Measures {
		ev, err := compileExpr(raw, ctx.Mem)
		if err != nil {
			return nil, errs.Wrap(errs.InvalidPlan, err, "match-recognize: measure %d", k)
		}
		m.measures = append(m.measures, ev)
	}
	return m, nil
}

func (m *matchRecognize) Open(ctx *OperatorContext) error {
	m.ctx = ctx
	m.metrics = ctx.Metrics
	m.clock = clockOf(ctx)
	return nil
}

func (m *matchRecognize) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	var err error
	if m.ms, err = m.in.loadRowtime(b, m.nIn, m.spec.PartitionKeys, m.spec.OrderKeys[0].Col, m.spec.ProcTime, m.ms, "match-recognize", "MATCH_RECOGNIZE"); err != nil {
		return err
	}
	m.items = m.items[:0]
	var late int64
	var now int64
	if m.spec.ProcTime {
		now = m.clock.NowMillis()
	}
	for i := range n {
		if !m.spec.ProcTime && m.ms[i] <= m.wm {
			late++
			continue
		}
		h := m.in.hashes[i]
		p := m.parts.find(h, m.in.views, i)
		if p < 0 {
			p = m.parts.add(h, m.in.views, i, 0)
			m.state = growTo(m.state, int(m.parts.n))
			m.state[p] = &mrPart{}
		}
		m.seq++
		sl := m.store.put(m.in.views, i, m.seq)
		if m.spec.ProcTime {
			// Proctime rows are matched on arrival, in arrival order; their
			// time (for WITHIN) is the processing time they arrive at.
			m.store.time[sl] = now
			m.items = append(m.items, mrItem{p: p, slot: sl})
			continue
		}
		m.store.time[sl] = m.ms[i]
		m.state[p].pending = append(m.state[p].pending, sl)
	}
	if late > 0 && m.metrics != nil {
		m.metrics.LateRecordsDropped.Add(late)
	}
	if err := m.feed(m.items); err != nil {
		return err
	}
	return m.flush(out)
}

func (m *matchRecognize) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if !m.spec.ProcTime && int64(wm) > m.wm {
		m.wm = int64(wm)
		// The rows the watermark passes, of every partition, in (rowtime,
		// order keys, arrival) order.
		m.items = m.items[:0]
		for p := range m.parts.n {
			if !m.parts.live[p] || len(m.state[p].pending) == 0 {
				continue
			}
			st := m.state[p]
			kept := st.pending[:0]
			for _, sl := range st.pending {
				if m.store.time[sl] <= m.wm {
					m.items = append(m.items, mrItem{p: p, slot: sl})
				} else {
					kept = append(kept, sl)
				}
			}
			st.pending = kept
		}
		slices.SortFunc(m.items, func(a, b mrItem) int { return m.compare(a.slot, b.slot) })
		if err := m.feed(m.items); err != nil {
			return err
		}
		// No later row can complete a partial match the watermark has
		// timed out (Flink's advanceTime to the watermark).
		if err := m.expire(m.wm); err != nil {
			return err
		}
		if err := m.flush(out); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

// OnProcessingTime drops the partial matches of a proctime
// MATCH_RECOGNIZE ... WITHIN that the processing time has timed out, so
// that their rows are freed without waiting for the next row.
func (m *matchRecognize) OnProcessingTime(out Output) error {
	if !m.spec.ProcTime || m.spec.Within == 0 {
		return nil
	}
	if err := m.expire(m.clock.NowMillis()); err != nil {
		return err
	}
	return m.flush(out)
}

func (m *matchRecognize) usesProcessingTime() bool { return m.spec.ProcTime && m.spec.Within > 0 }

// expire drops, with WITHIN, the partial matches timed out at time now in
// every partition, and the partitions left empty.
func (m *matchRecognize) expire(now int64) error {
	if m.spec.Within == 0 {
		return nil
	}
	for p := range m.parts.n {
		st := m.state[p]
		if !m.parts.live[p] || st == nil || len(st.threads) == 0 {
			continue
		}
		before := st.matches()
		m.dropTimedOut(st, now)
		err := m.emitReady(st)
		m.held += st.matches() - before
		if err != nil {
			return err
		}
		m.trim(st)
		if st.idle() {
			m.parts.remove(p)
			m.state[p] = nil
		}
	}
	return nil
}

// dropTimedOut removes the threads of st whose first row is Within or
// more before now (Flink's NFA.isStateTimedOut).
func (m *matchRecognize) dropTimedOut(st *mrPart, now int64) {
	kept := st.threads[:0]
	for _, th := range st.threads {
		if now-m.store.time[st.rows[th.start-st.base]] < m.spec.Within {
			kept = append(kept, th)
		}
	}
	clear(st.threads[len(kept):])
	st.threads = kept
}

// compare orders rows by rowtime, the further ORDER BY keys, then arrival.
func (m *matchRecognize) compare(a, b int32) int {
	if c := cmp.Compare(m.store.time[a], m.store.time[b]); c != 0 {
		return c
	}
	for _, k := range m.spec.OrderKeys[1:] {
		sv := storedView(&m.store.cols[k.Col])
		if c := compareSortKey(k, &sv, int(a), &sv, int(b)); c != 0 {
			return c
		}
	}
	return cmp.Compare(m.store.seq[a], m.store.seq[b])
}

// gatherBatch builds a batch of the input columns of slots (-1: NULL),
// then one column per navigation of variable v's DEFINE (v -1: none) with
// its slots, then aggs, the values of its aggregates (which it releases).
func (m *matchRecognize) gatherBatch(slots []int32, v int, navSlots [][]int32, aggs []arrow.Array) (arrow.RecordBatch, error) {
	var navs []MatchNav
	if v >= 0 {
		navs = m.spec.Defines[v].Navs
	}
	n := len(slots)
	cols := make([]arrow.Array, 0, m.nIn+len(navs)+len(aggs))
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	defer release()
	// On an error before they join cols, aggs are released here.
	pending := aggs
	defer func() {
		for _, a := range pending {
			a.Release()
		}
	}()
	add := func(c int, sl []int32) error {
		m.gather(c, sl)
		a, err := buildArray(m.ctx.Mem, m.inTypes[c], &m.scratch, n)
		if err != nil {
			return err
		}
		cols = append(cols, a)
		return nil
	}
	for c := range m.nIn {
		if err := add(c, slots); err != nil {
			return nil, err
		}
	}
	for k, nv := range navs {
		if err := add(nv.Col, navSlots[k]); err != nil {
			return nil, err
		}
	}
	cols, pending = append(cols, aggs...), nil
	return array.NewRecordBatch(m.evalSchema(v), cols, int64(n)), nil
}

// evalSchema is the schema of gatherBatch's batches for variable v (-1:
// the input columns only), built once.
func (m *matchRecognize) evalSchema(v int) *arrow.Schema {
	if m.evalSchemas == nil {
		m.evalSchemas = make([]*arrow.Schema, len(m.spec.Vars)+1)
	}
	if s := m.evalSchemas[v+1]; s != nil {
		return s
	}
	var fields []arrow.Field
	add := func(c int) {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", len(fields)), Type: m.inTypes[c], Nullable: true})
	}
	for c := range m.nIn {
		add(c)
	}
	if v >= 0 {
		for _, nv := range m.spec.Defines[v].Navs {
			add(nv.Col)
		}
		for _, a := range m.defAggs[v] {
			fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", len(fields)), Type: a.state.Type(), Nullable: true})
		}
	}
	m.evalSchemas[v+1] = arrow.NewSchema(fields, nil)
	return m.evalSchemas[v+1]
}

// gather fills m.scratch with stored column c of slots (-1: NULL).
func (m *matchRecognize) gather(c int, slots []int32) {
	s := &m.store.cols[c]
	m.scratch.reset(s.kind, len(slots))
	d := &m.scratch
	for j, sl := range slots {
		if sl < 0 || !s.valid[sl] {
			continue
		}
		d.valid[j] = true
		switch s.kind {
		case vkInt:
			d.ints[j] = s.ints[sl]
		case vkFloat:
			d.floats[j] = s.floats[sl]
		case vkDec:
			d.decs[j] = s.decs[sl]
		case vkStr:
			d.strs[j] = s.str(sl)
		}
	}
}

// evalCond evaluates variable v's condition over the batch b, writing
// whether it holds (NULL: no) into res.
func (m *matchRecognize) evalCond(v int, b arrow.RecordBatch, res []bool) error {
	a, err := m.conds[v].Eval(b)
	if err != nil {
		return fmt.Errorf("match-recognize: DEFINE %s: %w", m.spec.Vars[v], err)
	}
	defer a.Release()
	bools, ok := a.(*array.Boolean)
	if !ok {
		return errs.Internalf("match-recognize: DEFINE %s is %s, not BOOLEAN", m.spec.Vars[v], a.DataType())
	}
	for i := range res {
		res[i] = bools.IsValid(i) && bools.Value(i)
	}
	return nil
}

// mrCand is a thread's possible next step: to pattern term elem with count.
type mrCand struct {
	thread int
	elem   int
	count  int
	ok     bool
}

// mrItem is a row to match: its partition and slot.
type mrItem struct {
	p    int32
	slot int32
}

// feed runs the NFA of each item's partition over its row, in order.
func (m *matchRecognize) feed(items []mrItem) error {
	if len(items) == 0 {
		return nil
	}
	// Conditions over the current row only: once over all rows, sharing
	// one batch of them.
	pre := make([][]bool, len(m.spec.Vars))
	var b arrow.RecordBatch
	defer func() {
		if b != nil {
			b.Release()
		}
	}()
	for v := range m.spec.Vars {
		if m.conds[v] == nil || !m.simple[v] {
			continue
		}
		if b == nil {
			slots := make([]int32, len(items))
			for i, it := range items {
				slots[i] = it.slot
			}
			var err error
			if b, err = m.gatherBatch(slots, -1, nil, nil); err != nil {
				return err
			}
		}
		pre[v] = make([]bool, len(items))
		if err := m.evalCond(v, b, pre[v]); err != nil {
			return err
		}
	}
	for r, it := range items {
		st := m.state[it.p]
		before := st.matches()
		err := m.step(st, it.slot, r, pre)
		m.held += st.matches() - before
		if err != nil {
			return err
		}
	}
	// A partition left with nothing to match is dropped, so keys seen once
	// do not hold memory.
	for _, it := range items {
		if st := m.state[it.p]; st != nil && st.idle() {
			m.parts.remove(it.p)
			m.state[it.p] = nil
		}
	}
	return nil
}

// step feeds one row (slot sl, index r of the rows being fed).
func (m *matchRecognize) step(st *mrPart, sl int32, r int, pre [][]bool) error {
	pat := m.spec.Pattern
	if m.spec.Within > 0 {
		m.dropTimedOut(st, m.store.time[sl])
	}
	st.rows = append(st.rows, sl)
	cur := st.base + int64(len(st.rows)) - 1
	st.threads = append(st.threads, mrThread{start: cur})
	// Candidates in preference order per thread.
	var cands []mrCand
	for t, th := range st.threads {
		e, c := th.elem, th.count
		stay := th.count > 0 && (pat[e].Max < 0 || c < pat[e].Max)
		var adv []mrCand
		if th.count == 0 && cur == th.start {
			// A new thread enters the pattern at its first term, or a
			// later one when the terms before it may be empty.
			for e2 := 0; e2 < len(pat); e2++ {
				adv = append(adv, mrCand{thread: t, elem: e2, count: 1})
				if pat[e2].Min > 0 {
					break
				}
			}
		} else if c >= pat[e].Min {
			for e2 := e + 1; e2 < len(pat); e2++ {
				adv = append(adv, mrCand{thread: t, elem: e2, count: 1})
				if pat[e2].Min > 0 {
					break
				}
			}
		}
		if stay && !pat[e].Reluctant {
			cands = append(cands, mrCand{thread: t, elem: e, count: c + 1})
		}
		cands = append(cands, adv...)
		if stay && pat[e].Reluctant {
			cands = append(cands, mrCand{thread: t, elem: e, count: c + 1})
		}
	}
	if err := m.evalCands(st, cands, sl, r, pre); err != nil {
		return err
	}
	// Branch the threads; greedy and reluctant terms keep only their
	// preferred kind of step when it is possible.
	var next []mrThread
	var matches []mrThread
	for k := 0; k < len(cands); {
		t := cands[k].thread
		j := k
		for j < len(cands) && cands[j].thread == t {
			j++
		}
		th := st.threads[t]
		firstOK := -1
		for q := k; q < j; q++ {
			if cands[q].ok {
				firstOK = q
				break
			}
		}
		for q := k; q < j && firstOK >= 0; q++ {
			cd := cands[q]
			if !cd.ok {
				continue
			}
			// Once the preferred step (stay for greedy, advance for
			// reluctant) holds, the other kind is not taken.
			stayFirst := cands[firstOK].elem == th.elem && th.count > 0
			isStay := cd.elem == th.elem && th.count > 0
			if stayFirst != isStay {
				continue
			}
			nt := mrThread{start: th.start, elem: cd.elem, count: cd.count}
			nt.vars = append(slices.Clip(th.vars), int8(pat[cd.elem].Var))
			if m.accepting(cd.elem, cd.count) {
				matches = append(matches, nt)
			} else {
				next = append(next, nt)
			}
		}
		k = j
	}
	st.threads = next
	for _, mt := range matches {
		// In start order, after the earlier matches of the same start.
		at, _ := slices.BinarySearchFunc(st.done, mt.start+1, func(d mrThread, start int64) int { return cmp.Compare(d.start, start) })
		st.done = slices.Insert(st.done, at, mt)
	}
	if err := m.emitReady(st); err != nil {
		return err
	}
	m.trim(st)
	return nil
}

// emitReady emits the completed matches of st that start before every
// partial match, earliest first, each pruning the partial and completed
// matches its AFTER MATCH SKIP strategy discards. A match waits while an
// earlier-starting (or same-starting) partial match may still complete,
// as Flink's NFA emits a match only when it is earlier than all partial
// matches: the earlier match, when it completes, wins the skip.
func (m *matchRecognize) emitReady(st *mrPart) error {
	for len(st.done) > 0 {
		mt := st.done[0]
		for _, th := range st.threads {
			if th.start <= mt.start {
				return nil
			}
		}
		drop, err := m.skipped(mt)
		if err != nil {
			return err
		}
		st.done = slices.Delete(st.done, 0, 1)
		m.emitMatch(st, mt)
		st.threads = slices.DeleteFunc(st.threads, drop)
		st.done = slices.DeleteFunc(st.done, drop)
	}
	return nil
}

// skipped returns which partial or completed matches the AFTER MATCH
// SKIP strategy discards after match mt. SKIP TO FIRST/LAST v fails, as
// Flink's (throwExceptionOnMiss), when v maps no row of the match or its
// row is the match's first, where matching would resume forever.
func (m *matchRecognize) skipped(mt mrThread) (func(mrThread) bool, error) {
	switch m.spec.After {
	case "past-last-row":
		end := mt.start + int64(len(mt.vars)) - 1
		return func(th mrThread) bool { return th.start <= end }, nil
	case "first", "last":
		at := int64(-1)
		for i, v := range mt.vars {
			if int(v) == m.spec.AfterVar && (at < 0 || m.spec.After == "last") {
				at = mt.start + int64(i)
			}
		}
		v := m.spec.Vars[m.spec.AfterVar]
		switch at {
		case -1:
			return nil, errs.New(errs.DataException, "MATCH_RECOGNIZE: could not skip to %s %s: no row of the match is mapped to it", strings.ToUpper(m.spec.After), v)
		case mt.start:
			return nil, errs.New(errs.DataException, "MATCH_RECOGNIZE: could not skip to %s %s: it is the first row of the match, where matching would start again forever", strings.ToUpper(m.spec.After), v)
		}
		return func(th mrThread) bool { return th.start < at }, nil
	}
	return func(th mrThread) bool { return th.start == mt.start }, nil
}

// accepting reports whether a thread at term elem with count rows of it
// has matched the whole pattern (the terms after it may be empty).
func (m *matchRecognize) accepting(elem, count int) bool {
	pat := m.spec.Pattern
	if count < pat[elem].Min {
		return false
	}
	for _, t := range pat[elem+1:] {
		if t.Min > 0 {
			return false
		}
	}
	return true
}

// evalCands sets ok on each candidate whose variable's condition holds for
// the current row (slot sl) given its thread's rows.
func (m *matchRecognize) evalCands(st *mrPart, cands []mrCand, sl int32, r int, pre [][]bool) error {
	byVar := make([][]int, len(m.spec.Vars))
	for k, cd := range cands {
		v := m.spec.Pattern[cd.elem].Var
		switch {
		case m.conds[v] == nil:
			cands[k].ok = true
		case pre[v] != nil:
			cands[k].ok = pre[v][r]
		default:
			byVar[v] = append(byVar[v], k)
		}
	}
	for v, ks := range byVar {
		if len(ks) == 0 {
			continue
		}
		navs := m.spec.Defines[v].Navs
		slots := make([]int32, len(ks))
		navSlots := make([][]int32, len(navs))
		for j := range navSlots {
			navSlots[j] = make([]int32, len(ks))
		}
		aggRowsV := make([][]int32, len(m.defAggs[v]))
		for i, k := range ks {
			slots[i] = sl
			th := &st.threads[cands[k].thread]
			for j, nv := range navs {
				navSlots[j][i] = m.navigate(st, th.start, th.vars, v, nv)
			}
			for j, a := range m.defAggs[v] {
				aggRowsV[j] = aggRows(aggRowsV[j], st, a, th.start, th.vars, v, sl)
			}
		}
		aggCols := make([]arrow.Array, 0, len(m.defAggs[v]))
		for j, a := range m.defAggs[v] {
			col, err := m.evalAgg(a, aggRowsV[j])
			if err != nil {
				for _, c := range aggCols {
					c.Release()
				}
				return fmt.Errorf("match-recognize: DEFINE %s: %w", m.spec.Vars[v], err)
			}
			aggCols = append(aggCols, col)
		}
		b, err := m.gatherBatch(slots, v, navSlots, aggCols)
		if err != nil {
			return err
		}
		res := make([]bool, len(ks))
		err = m.evalCond(v, b, res)
		b.Release()
		if err != nil {
			return err
		}
		for i, k := range ks {
			cands[k].ok = res[i]
		}
	}
	return nil
}

// navigate returns the slot nv reads in the match of rows start.. mapped
// to vars, plus, when cur >= 0, the current row mapped to cur (a DEFINE
// being evaluated); -1 when there is no such row.
func (m *matchRecognize) navigate(st *mrPart, start int64, vars []int8, cur int, nv MatchNav) int32 {
	n := len(vars)
	if cur >= 0 {
		n++
	}
	varAt := func(i int) int {
		if i < len(vars) {
			return int(vars[i])
		}
		return cur
	}
	row := func(i int64) int32 {
		if i < st.base || i >= st.base+int64(len(st.rows)) {
			return -1
		}
		return st.rows[i-st.base]
	}
	switch nv.Kind {
	case "first":
		seen := 0
		for i := range n {
			if nv.Var < 0 || varAt(i) == nv.Var {
				if seen == nv.Offset {
					return row(start + int64(i))
				}
				seen++
			}
		}
	case "last":
		seen := 0
		for i := n - 1; i >= 0; i-- {
			if nv.Var < 0 || varAt(i) == nv.Var {
				if seen == nv.Offset {
					return row(start + int64(i))
				}
				seen++
			}
		}
	case "prev":
		for i := n - 1; i >= 0; i-- {
			if nv.Var < 0 || varAt(i) == nv.Var {
				return row(start + int64(i) - int64(nv.Offset))
			}
		}
	}
	return -1
}

// emitMatch adds a match's output row: its partition key and measures.
func (m *matchRecognize) emitMatch(st *mrPart, mt mrThread) {
	first := st.rows[mt.start-st.base]
	c := 0
	for range m.spec.PartitionKeys {
		m.outSlots[c] = append(m.outSlots[c], first)
		c++
	}
	for _, ms := range m.spec.MeasureNavs {
		m.outSlots[c] = append(m.outSlots[c], m.navigate(st, mt.start, mt.vars, -1, ms))
		c++
	}
	for k, a := range m.measAggs {
		m.aggRows[k] = aggRows(m.aggRows[k], st, a, mt.start, mt.vars, -1, -1)
	}
	m.matches++
}

// trim frees the rows no thread or PREV can reach any more.
func (m *matchRecognize) trim(st *mrPart) {
	keep := st.base + int64(len(st.rows))
	for _, th := range st.threads {
		keep = min(keep, th.start)
	}
	for _, th := range st.done {
		keep = min(keep, th.start)
	}
	keep -= int64(m.maxPrev)
	if keep <= st.base {
		return
	}
	drop := int(keep - st.base)
	m.release = append(m.release, st.rows[:drop]...)
	st.rows = slices.Delete(st.rows, 0, drop)
	st.base = keep
}

// flush emits the matches found since the last flush, then frees the rows
// trimmed meanwhile (an output row may read them).
func (m *matchRecognize) flush(out Output) error {
	defer func() {
		for _, sl := range m.release {
			m.store.release(sl)
		}
		m.release = m.release[:0]
		for c := range m.outSlots {
			m.outSlots[c] = m.outSlots[c][:0]
		}
		for k := range m.aggRows {
			m.aggRows[k] = m.aggRows[k][:0]
		}
	}()
	n := m.matches
	m.matches = 0
	if n == 0 {
		return nil
	}
	cols := make([]arrow.Array, 0, m.schema.NumFields())
	var navCols []arrow.Array
	defer func() {
		for _, c := range append(cols, navCols...) {
			c.Release()
		}
	}()
	np := len(m.spec.PartitionKeys)
	for c, slots := range m.outSlots {
		var col int
		var dt arrow.DataType
		if c < np {
			col, dt = m.spec.PartitionKeys[c], m.schema.Field(c).Type
		} else {
			col = m.spec.MeasureNavs[c-np].Col
			dt = m.inTypes[col]
		}
		m.gather(col, slots)
		a, err := buildArray(m.ctx.Mem, dt, &m.scratch, n)
		if err != nil {
			return err
		}
		if c < np {
			cols = append(cols, a)
		} else {
			navCols = append(navCols, a)
		}
	}
	for k, a := range m.measAggs {
		col, err := m.evalAgg(a, m.aggRows[k])
		if err != nil {
			return err
		}
		navCols = append(navCols, col)
	}
	nb := array.NewRecordBatch(m.navSchema, navCols, int64(n))
	defer nb.Release()
	for k, ev := range m.measures {
		a, err := ev.Eval(nb)
		if err != nil {
			return fmt.Errorf("match-recognize: measure %s: %w", m.schema.Field(np+k).Name, err)
		}
		cols = append(cols, a)
		if want := m.schema.Field(np + k).Type; !arrow.TypeEqual(a.DataType(), want) {
			return errs.Internalf("match-recognize: measure %s is %s, its column %s", m.schema.Field(np+k).Name, a.DataType(), want)
		}
	}
	b := array.NewRecordBatch(m.schema, cols, int64(n))
	defer b.Release()
	return out.Emit(b)
}

func (m *matchRecognize) EndInput(int, Output) error { return nil }

func (m *matchRecognize) Snapshot() ([]byte, error) {
	var w wbuf
	start := beginSection(&w, 0)
	w.varint(m.seq)
	w.varint(m.wm)
	endSection(&w, start)
	for kg, ps := range m.parts.byKeyGroup() {
		if len(ps) == 0 {
			continue
		}
		start := beginSection(&w, kg+1)
		w.uvarint(uint64(len(ps)))
		for _, p := range ps {
			st := m.state[p]
			m.parts.encode(&w, p)
			w.varint(st.base)
			for _, rows := range [][]int32{st.rows, st.pending} {
				w.uvarint(uint64(len(rows)))
				for _, sl := range rows {
					m.store.encode(&w, sl)
				}
			}
			for _, ths := range [][]mrThread{st.threads, st.done} {
				w.uvarint(uint64(len(ths)))
				for _, th := range ths {
					w.varint(th.start)
					w.uvarint(uint64(th.elem))
					w.uvarint(uint64(th.count))
					w.uvarint(uint64(len(th.vars)))
					for _, v := range th.vars {
						w.uvarint(uint64(v))
					}
				}
			}
		}
		endSection(&w, start)
	}
	return w.b, nil
}

func (m *matchRecognize) Restore(state []byte) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			m.seq = max(m.seq, r.varint())
			m.wm = max(m.wm, r.varint())
			return r.err
		}
		for range r.uvarint() {
			p := m.parts.decode(r)
			m.state = growTo(m.state, int(m.parts.n))
			st := &mrPart{base: r.varint()}
			m.state[p] = st
			for _, rows := range []*[]int32{&st.rows, &st.pending} {
				n := r.uvarint()
				if r.err != nil {
					return r.err
				}
				for range n {
					*rows = append(*rows, m.store.decode(r))
				}
			}
			for _, ths := range []*[]mrThread{&st.threads, &st.done} {
				nt := r.uvarint()
				for range nt {
					if r.err != nil {
						return r.err
					}
					th := mrThread{start: r.varint(), elem: int(r.uvarint()), count: int(r.uvarint())}
					nv := r.uvarint()
					if r.err != nil {
						return r.err
					}
					if th.elem >= len(m.spec.Pattern) || nv > uint64(len(st.rows)) || th.start < st.base {
						return errs.New(errs.InvalidPlan, "match-recognize: snapshot does not fit the pattern")
					}
					for range nv {
						th.vars = append(th.vars, int8(r.uvarint()))
					}
					*ths = append(*ths, th)
				}
			}
			if r.err != nil {
				return r.err
			}
			if !ownsHash(m.ctx, m.parts.hash[p]) {
				for _, rows := range [][]int32{st.rows, st.pending} {
					for _, sl := range rows {
						m.store.release(sl)
					}
				}
				m.parts.remove(p)
				m.state[p] = nil
				continue
			}
			m.held += st.matches()
		}
		return r.err
	})
}

// StateBytes estimates the live partitions with their bookkeeping (row,
// pending and match list headers), the buffered rows (matched or waiting
// for the watermark) each with its list entry, and the partial and
// completed matches: start, pattern position and the header of their
// variable list (StateSizer).
func (m *matchRecognize) StateBytes() int64 {
	return m.parts.bytes() + int64(m.parts.count)*(8+8+4*24) + m.store.bytes() + int64(m.store.live)*4 +
		int64(m.held)*(8+8+8+24)
}

func (m *matchRecognize) Close() error { return nil }
