package exec

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// KindTemporalSort is ORDER BY over an unbounded insert-only stream whose
// first key is an ascending time attribute (Flink's StreamExecTemporalSort).
// Its spec is TemporalSortSpec; the output schema is the input's,
// insert-only. It runs with parallelism 1.
//
// Rowtime (Flink's RowTimeSortOperator): rows are buffered until the
// watermark reaches their time, then emitted ordered by the keys (time
// first; rows equal on every key in arrival order). A row whose time is
// not after the latest time already emitted is late: dropped and counted
// in OperatorMetrics.LateRecordsDropped. Watermarks are forwarded after
// the rows they release.
//
// Proctime (Flink's ProcTimeSortOperator, which emits the rows that
// arrived within one millisecond sorted by the keys after the first): the
// rows of a batch share their processing time, so each batch is emitted
// at once, sorted by the keys after the first (ties in arrival order).
//
// State: the buffered rows column-wise in a rowStore (time slot: the
// rowtime), with the arrival counter and the latest time emitted.
// Snapshot: section 0 holds the counters, section 1 the buffered rows.
const KindTemporalSort = "temporal-sort"

// TemporalSortSpec configures a temporal sort.
type TemporalSortSpec struct {
	// Keys are the ORDER BY keys; Keys[0] is the ascending time attribute.
	Keys     []SortKey `json:"keys"`
	ProcTime bool      `json:"procTime,omitempty"`
}

func init() { RegisterOperator(KindTemporalSort, newTemporalSort) }

type temporalSort struct {
	spec    TemporalSortSpec
	ctx     *OperatorContext
	metrics *OperatorMetrics
	nIn     int

	store     *rowStore
	buffered  []int32
	seq       int64
	lastFired int64

	in    joinBatch
	ms    []int64
	emit  *rowEmitter
	ready []int32
}

func newTemporalSort(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	s := &temporalSort{ctx: ctx, lastFired: math.MinInt64}
	if err := json.Unmarshal(spec.Spec, &s.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "temporal-sort spec")
	}
	if spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "temporal-sort: the input must be insert-only")
	}
	s.nIn = spec.Schema.Len()
	if len(s.spec.Keys) == 0 || s.spec.Keys[0].Desc {
		return nil, errs.New(errs.InvalidPlan, "temporal-sort: the first key must be an ascending time attribute")
	}
	for _, k := range s.spec.Keys {
		if k.Col < 0 || k.Col >= s.nIn {
			return nil, errs.New(errs.InvalidPlan, "temporal-sort: key column %d out of range", k.Col)
		}
	}
	kinds, _, err := storeKinds(spec.Schema, s.nIn, "temporal sort")
	if err != nil {
		return nil, err
	}
	s.store = newRowStore(kinds)
	s.emit = newRowEmitter(ctx.Mem, spec, s.nIn, false)
	return s, nil
}

func (s *temporalSort) Open(ctx *OperatorContext) error {
	s.ctx = ctx
	s.metrics = ctx.Metrics
	s.emit.mem = ctx.Mem
	return nil
}

func (s *temporalSort) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	var err error
	if s.ms, err = s.in.loadRowtime(b, s.nIn, nil, s.spec.Keys[0].Col, s.spec.ProcTime, s.ms, "temporal-sort", "temporal sort"); err != nil {
		return err
	}
	if s.spec.ProcTime {
		for i := range n {
			s.put(i, 0)
		}
		return s.release(0, out)
	}
	var late int64
	for i, ts := range s.ms {
		if ts <= s.lastFired {
			late++
			continue
		}
		s.put(i, ts)
	}
	s.metrics.addLate(late)
	return nil
}

func (s *temporalSort) put(i int, ts int64) {
	sl := s.store.putTimed(s.in.views, i, &s.seq, ts)
	s.buffered = append(s.buffered, sl)
}

// compare orders stored slots by the keys from the first key on (the
// rowtime's millis, then the other keys), then by arrival.
func (s *temporalSort) compare(a, b int32, from int) int {
	if from == 0 {
		if c := cmp.Compare(s.store.time[a], s.store.time[b]); c != 0 {
			return c
		}
		from = 1
	}
	for _, k := range s.spec.Keys[from:] {
		sv := storedView(&s.store.cols[k.Col])
		if c := compareSortKey(k, &sv, int(a), &sv, int(b)); c != 0 {
			return c
		}
	}
	return cmp.Compare(s.store.seq[a], s.store.seq[b])
}

// release emits the buffered rows up to time upTo (all rows for proctime)
// in order.
func (s *temporalSort) release(upTo int64, out Output) error {
	s.ready = s.ready[:0]
	kept := s.buffered[:0]
	for _, sl := range s.buffered {
		if s.spec.ProcTime || s.store.time[sl] <= upTo {
			s.ready = append(s.ready, sl)
			continue
		}
		kept = append(kept, sl)
	}
	s.buffered = kept
	if len(s.ready) == 0 {
		return nil
	}
	from := 0
	if s.spec.ProcTime {
		from = 1
	}
	slices.SortFunc(s.ready, func(a, b int32) int { return s.compare(a, b, from) })
	for _, sl := range s.ready {
		s.emit.add(connector.Insert, sl, -1, 0)
		if !s.spec.ProcTime {
			s.lastFired = max(s.lastFired, s.store.time[sl])
		}
	}
	err := s.emit.flush(out, s.store, nil)
	s.ready = s.store.releaseAll(s.ready)
	return err
}

func (s *temporalSort) ProcessWatermark(_ int, wm Watermark, out Output) error {
	if !s.spec.ProcTime {
		if err := s.release(int64(wm), out); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

func (s *temporalSort) EndInput(int, Output) error { return nil }

func (s *temporalSort) Snapshot() ([]byte, error) {
	var w, pw wbuf
	pw.varint(s.seq)
	pw.varint(s.lastFired)
	appendSection(&w, 0, pw.b)
	if len(s.buffered) > 0 {
		start := beginSection(&w, 1)
		s.store.encodeSlots(&w, s.buffered)
		endSection(&w, start)
	}
	return w.b, nil
}

func (s *temporalSort) Restore(state []byte) error {
	return readSections(state, func(tag int, r *rbuf) error {
		if tag == 0 {
			s.seq = max(s.seq, r.varint())
			s.lastFired = max(s.lastFired, r.varint())
			return r.err
		}
		s.buffered = s.store.decodeSlots(r, s.buffered)
		return r.err
	})
}

func (s *temporalSort) Close() error { return nil }
