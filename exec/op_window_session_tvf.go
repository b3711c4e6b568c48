package exec

import (
	"cmp"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The SESSION window table function (KindWindowTableFunction with a
// session WindowSpec) outside a window aggregation, as Flink's
// UnalignedWindowTableFunctionOperator: a session's rows are only known
// once it closes, so rows are buffered per PARTITION BY key (Partition;
// all rows form one partition without it) in sessions, and a session's
// rows are emitted, with its window_start, window_end and window_time, once
// the watermark passes its end (watermark >= window_end - 1). A row opens
// the session [ts, ts + gap); sessions that intersect or touch it merge
// into one (Flink's TimeWindow.intersects). A row whose own window is
// already closed and that joins no open session is late: dropped and
// counted in OperatorMetrics.LateRecordsDropped. Watermarks are forwarded
// after the sessions they close.
//
// Over a changelog (OperatorSpec.Changelog) each buffered row keeps its row
// kind and is emitted with it, as Flink's UnalignedWindowTableFunctionOperator
// does (FLINK-34100): every row, a retraction too, takes part in the
// sessions as a row at its time. The -U or -D of a row has the time of the
// row it retracts, so it joins that row's session while it is open; once
// the session has fired it is late like any row.
//
// Output order: sessions in order of their end (ties by their first row's
// arrival), each session's rows in arrival order.
//
// State: the buffered rows column-wise in a rowStore (the row's time
// attribute in its time slot; over a changelog the row kind as one more
// column), partitions in a partitionTable. Snapshot:
// section 0 holds the arrival counter and the watermark (so lateness does
// not change across a restore, as in the window aggregate), section kg+1
// the partitions of key group kg, each with its key and its sessions
// (start, end, rows).

// tvfSession is an open session of one partition.
type tvfSession struct {
	start, end int64
	rows       []int32 // slots in arrival order
}

type sessionTVF struct {
	spec    WindowTableFunctionSpec
	ctx     *OperatorContext
	metrics *OperatorMetrics
	nIn     int
	// nStore is nIn, plus the row kind column over a changelog.
	nStore int

	store    *rowStore
	parts    *partitionTable
	sessions [][]tvfSession // per partition
	seq      int64
	wm       int64
	// minEnd is the earliest end of an open session: a watermark below
	// minEnd - 1 closes nothing, so it skips the scan.
	minEnd int64

	in    joinBatch
	ms    []int64
	emit  *rowEmitter
	fired []tvfSession
	bound [3][]int64 // window_start, window_end, window_time per emitted row
}

func newSessionTVF(s WindowTableFunctionSpec, spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	if err := s.Window.Validate(false); err != nil {
		return nil, err
	}
	r := &sessionTVF{spec: s, ctx: ctx, wm: math.MinInt64, minEnd: math.MaxInt64}
	r.nIn = spec.Schema.Len() - 3
	r.nStore = r.nIn
	if r.nIn < 1 || s.TimeCol < 0 || s.TimeCol >= r.nIn {
		return nil, errs.Internalf("session window-tvf: output schema has %d columns, time column %d", spec.Schema.Len(), s.TimeCol)
	}
	kinds, _, err := storeKinds(spec.Schema, r.nIn, "SESSION window table function")
	if err != nil {
		return nil, err
	}
	if spec.Changelog {
		kinds = append(kinds, vkInt)
		r.nStore++
	}
	for _, k := range s.Partition {
		if k < 0 || k >= r.nIn {
			return nil, errs.New(errs.InvalidPlan, "session window-tvf: partition key %d out of range", k)
		}
	}
	r.store = newRowStore(kinds)
	r.parts = newPartitionTable(s.Partition, kinds)
	r.emit = newRowEmitter(ctx.Mem, spec, r.nIn, false)
	return r, nil
}

func (r *sessionTVF) Open(ctx *OperatorContext) error {
	r.ctx = ctx
	r.metrics = ctx.Metrics
	r.emit.mem = ctx.Mem
	return nil
}

func (r *sessionTVF) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	var err error
	if r.nStore == r.nIn+1 && (int(b.NumCols()) != r.nStore || b.Column(r.nIn).DataType().ID() != arrow.INT8) {
		return errs.Internalf("session window-tvf: a changelog input needs %d columns, the int8 row kind last; the batch has %d", r.nStore, b.NumCols())
	}
	if r.ms, err = r.in.loadRowtime(b, r.nStore, r.spec.Partition, r.spec.TimeCol, false, r.ms, "session window-tvf", "window table function"); err != nil {
		return err
	}
	gap := r.spec.Window.Gap
	var late int64
	for i := range n {
		start, end := r.ms[i], r.ms[i]+gap
		h := r.in.hashes[i]
		p := r.parts.find(h, r.in.views, i)
		var list []tvfSession
		if p >= 0 {
			list = r.sessions[p]
		}
		hit := -1
		for idx := 0; idx < len(list); idx++ {
			s := &list[idx]
			if s.start > end || s.end < start {
				continue
			}
			if hit < 0 {
				hit = idx
				s.start, s.end = min(s.start, start), max(s.end, end)
				continue
			}
			// The row bridges two sessions: fold the later one into the
			// one it joined, keeping rows in arrival order.
			hs := &list[hit]
			hs.start, hs.end = min(hs.start, s.start), max(hs.end, s.end)
			hs.rows = append(hs.rows, s.rows...)
			slices.SortFunc(hs.rows, func(a, b int32) int { return cmp.Compare(r.store.seq[a], r.store.seq[b]) })
			list = slices.Delete(list, idx, idx+1)
			if idx < hit {
				hit--
			}
			idx--
		}
		if hit < 0 {
			if end-1 <= r.wm {
				late++
				continue
			}
			if p < 0 {
				p = r.parts.add(h, r.in.views, i, 0)
				r.sessions = growTo(r.sessions, int(r.parts.n))
			}
			list = append(list, tvfSession{start: start, end: end})
			hit = len(list) - 1
		}
		sl := r.store.putTimed(r.in.views, i, &r.seq, start)
		list[hit].rows = append(list[hit].rows, sl)
		r.minEnd = min(r.minEnd, list[hit].end)
		r.sessions[p] = list
	}
	r.metrics.addLate(late)
	return nil
}

func (r *sessionTVF) ProcessWatermark(_ int, wm Watermark, out Output) error {
	r.wm = int64(wm)
	if r.minEnd != math.MaxInt64 && r.minEnd-1 <= r.wm {
		if err := r.fire(out); err != nil {
			return err
		}
	}
	return out.EmitWatermark(wm)
}

// fire emits and drops the sessions the watermark has closed.
func (r *sessionTVF) fire(out Output) error {
	r.fired = r.fired[:0]
	r.minEnd = math.MaxInt64
	for p := range r.parts.n {
		if !r.parts.live[p] {
			continue
		}
		list := r.sessions[p]
		kept := list[:0]
		for _, s := range list {
			if s.end-1 <= r.wm {
				r.fired = append(r.fired, s)
				continue
			}
			r.minEnd = min(r.minEnd, s.end)
			kept = append(kept, s)
		}
		r.sessions[p] = kept
		if len(kept) == 0 {
			r.sessions[p] = nil
			r.parts.remove(p)
		}
	}
	slices.SortFunc(r.fired, func(a, b tvfSession) int {
		if c := cmp.Compare(a.end, b.end); c != 0 {
			return c
		}
		return cmp.Compare(r.store.seq[a.rows[0]], r.store.seq[b.rows[0]])
	})
	for i := range r.bound {
		r.bound[i] = r.bound[i][:0]
	}
	for _, s := range r.fired {
		for _, sl := range s.rows {
			r.emit.add(r.kindOf(sl), sl, -1, 0)
			r.bound[0] = append(r.bound[0], s.start)
			r.bound[1] = append(r.bound[1], s.end)
			r.bound[2] = append(r.bound[2], s.end-1)
		}
	}
	n := r.emit.len()
	extra := make([]arrow.Array, 0, 3)
	for i, v := range r.bound {
		a, err := buildArray(r.ctx.Mem, r.emit.schema.Field(r.nIn+i).Type, &colView{kind: vkInt, ints: v}, n)
		if err != nil {
			for _, e := range extra {
				e.Release()
			}
			r.emit.reset()
			return err
		}
		extra = append(extra, a)
	}
	err := r.emit.flush(out, r.store, nil, extra...)
	for _, s := range r.fired {
		for _, sl := range s.rows {
			r.store.release(sl)
		}
	}
	return err
}

// kindOf is the row kind of the row in slot sl.
func (r *sessionTVF) kindOf(sl int32) connector.RowKind {
	if r.nStore == r.nIn {
		return connector.Insert
	}
	return connector.RowKind(r.store.cols[r.nIn].ints[sl])
}

func (r *sessionTVF) EndInput(int, Output) error { return nil }

func (r *sessionTVF) Snapshot() ([]byte, error) {
	return snapshotKeyGroups(r.parts, func(w *wbuf) {
		w.varint(r.seq)
		w.varint(r.wm)
	}, func(w *wbuf, p int32) {
		w.uvarint(uint64(len(r.sessions[p])))
		for _, s := range r.sessions[p] {
			w.varint(s.start)
			w.varint(s.end)
			r.store.encodeSlots(w, s.rows)
		}
	}), nil
}

func (r *sessionTVF) Restore(state []byte) error {
	return restoreKeyGroups(state, r.ctx, r.parts, func(rb *rbuf) {
		r.seq = max(r.seq, rb.varint())
		r.wm = max(r.wm, rb.varint())
	}, func(rb *rbuf, p int32, owned bool) error {
		r.sessions = growTo(r.sessions, int(r.parts.n))
		ns := rb.uvarint()
		if rb.err != nil {
			return rb.err
		}
		list := make([]tvfSession, 0, ns)
		for range ns {
			s := tvfSession{start: rb.varint(), end: rb.varint()}
			s.rows = r.store.decodeSlots(rb, nil)
			if rb.err != nil {
				return rb.err
			}
			list = append(list, s)
		}
		if !owned {
			for _, s := range list {
				r.store.releaseAll(s.rows)
			}
			r.parts.remove(p)
			return nil
		}
		for _, s := range list {
			r.minEnd = min(r.minEnd, s.end)
		}
		r.sessions[p] = list
		return nil
	})
}

func (r *sessionTVF) Close() error { return nil }
