package exec

import (
	"encoding/json"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
)

// The global window aggregate (KindGlobalWindowAggregate, spec
// GlobalWindowAggregateSpec) is the second phase of a two-phase window
// aggregate, Flink's GlobalWindowAggregate over SlicingWindowOperator. Its
// input is hash partitioned by the keys and holds the accumulator rows of
// the local phases (op_local_window_agg.go): the keys, each call's
// accumulator fields and the $slice_end the rows were folded by.
//
// It is the window aggregate (op_window_agg.go) with its slot arena,
// per-window hash tables, firing on the watermark, lateness and
// snapshots, except that:
//   - a row's windows come from its $slice_end (the first end of the
//     slice's windows; for attached windows the window's end) instead of a
//     time, and the row merges its accumulators into each of them with
//     agg.State.Merge, one typed loop per call and window of the slice;
//   - a firing window's results are those of the merged accumulators
//     (mergeWindowAcc.result), so they equal the one-phase aggregate's for
//     the same rows;
//   - late rows, dropped and counted in LateRecordsDropped, are
//     accumulator rows: a local phase folds the late rows of one slice and
//     key into one;
//   - with RowCounts (the local phase read an updating input) each row
//     also carries its change of row count, which the global adds to each
//     of its windows' counts, so that a window whose rows were all
//     retracted fires nothing, as the one-phase aggregate's.
//
// Its snapshots hold agg.State accumulators, not the one-phase window
// aggregate's: a savepoint does not carry over between the strategies, as
// in Flink. Processing-time and SESSION windows have no global phase.

func init() { RegisterOperator(KindGlobalWindowAggregate, newGlobalWindowAgg) }

// globalWindowAgg overrides only how batches arrive; everything else is
// the window aggregate's.
type globalWindowAgg struct {
	*windowAgg
	spec GlobalWindowAggregateSpec
	// batch is the input batch being merged, read by the accumulators.
	batch   arrow.RecordBatch
	checked bool
}

func newGlobalWindowAgg(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	g := &globalWindowAgg{}
	if err := json.Unmarshal(spec.Spec, &g.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "global-window-aggregate spec")
	}
	if g.spec.Window.Kind == WindowSession || g.spec.ProcTime || g.spec.InputChangelog {
		return nil, errs.New(errs.InvalidPlan, "global-window-aggregate: SESSION windows and processing-time windows are aggregated in one phase, and the input is the local phase's insert-only accumulators")
	}
	if g.spec.RowCounts && g.spec.TimeCol < 1 {
		return nil, errs.Internalf("global-window-aggregate: no row count column before $slice_end (column %d)", g.spec.TimeCol)
	}
	if len(g.spec.ArgTypes) != len(g.spec.Calls) {
		return nil, errs.Internalf("global-window-aggregate: %d argument type lists for %d calls", len(g.spec.ArgTypes), len(g.spec.Calls))
	}
	w, err := buildWindowAgg(spec, g.spec.WindowAggregateSpec, func(i int, c agg.Call, res arrow.DataType) (windowAcc, error) {
		return newMergeWindowAcc(g, c, g.spec.ArgTypes[i], res, g.spec.RowCounts)
	})
	if err != nil {
		return nil, err
	}
	if g.spec.RowCounts {
		w.counted, w.countCol = true, g.spec.TimeCol-1
	}
	g.windowAgg = w
	return g, nil
}

// check verifies, on the first batch, that the accumulator columns have
// the types the local phase emits for each call.
func (g *globalWindowAgg) check(s *arrow.Schema) error {
	for i, c := range g.spec.Calls {
		fields, _ := agg.Accumulators(c, g.spec.ArgTypes[i], g.spec.RowCounts)
		if len(fields) != len(c.Args) {
			return errs.Internalf("global-window-aggregate: %s reads %d accumulator columns, its accumulator has %d fields", c, len(c.Args), len(fields))
		}
		for j, a := range c.Args {
			if a < 0 || a >= s.NumFields() || !arrow.TypeEqual(s.Field(a).Type, fields[j].Type.Arrow()) {
				return errs.Internalf("global-window-aggregate: accumulator column %d of %s is not a %s", a, c, fields[j].Type)
			}
		}
	}
	return nil
}

func (g *globalWindowAgg) ProcessBatch(in int, b arrow.RecordBatch, out Output) error {
	if !g.checked {
		if err := g.check(b.Schema()); err != nil {
			return err
		}
		g.checked = true
	}
	g.batch = b
	defer func() { g.batch = nil }()
	return g.windowAgg.ProcessBatch(in, b, out)
}

// ProcessWatermark fires the windows the watermark closes, as the window
// aggregate does, and reports a failure of their results.
func (g *globalWindowAgg) ProcessWatermark(in int, wm Watermark, out Output) error {
	if err := g.windowAgg.ProcessWatermark(in, wm, out); err != nil {
		return err
	}
	return g.accErr()
}

func (g *globalWindowAgg) EndInput(in int, out Output) error {
	if err := g.windowAgg.EndInput(in, out); err != nil {
		return err
	}
	return g.accErr()
}

func (g *globalWindowAgg) accErr() error {
	for _, a := range g.accs {
		if err := a.(*mergeWindowAcc).err; err != nil {
			return errs.Wrap(errs.InternalError, err, "global-window-aggregate")
		}
	}
	return nil
}

func (g *globalWindowAgg) Close() error {
	for _, a := range g.accs {
		a.(*mergeWindowAcc).release()
	}
	return g.windowAgg.Close()
}

// mergeWindowAcc is one call's accumulators in a global window aggregate:
// an agg.State keyed by the operator's slots, which merges the
// accumulator columns of the input batch.
type mergeWindowAcc struct {
	g  *globalWindowAgg
	st *agg.State
	// fin turns drained accumulators into results: fired slots are
	// drained (agg.State.Drain), merged into fin's slots 0..n-1 and read
	// back with Build, the only per-slot result path agg.State offers.
	fin       *agg.State
	dts       []arrow.DataType
	finSchema *arrow.Schema
	finSlots  []int32
	after     []bool
	cols      []arrow.Array
	last      arrow.Array // the column the last result call loaded
	// err is the first failure of result, which cannot return it; the
	// operator reports it after firing.
	err error
}

// With retract the local phase read an updating input: its accumulators
// may hold negative counts, which the retracting kernels merge.
func newMergeWindowAcc(g *globalWindowAgg, c agg.Call, argTypes []types.DataType, res arrow.DataType, retract bool) (*mergeWindowAcc, error) {
	fields, ok := agg.Accumulators(c, argTypes, retract)
	if !ok {
		return nil, errs.Internalf("global-window-aggregate: aggregate %s cannot merge accumulators", c)
	}
	args := make([]arrow.DataType, len(argTypes))
	for j, t := range argTypes {
		args[j] = t.Arrow()
	}
	st, err := agg.NewMergeState(c, args, retract)
	if err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "global-window-aggregate")
	}
	if !arrow.TypeEqual(st.Type(), res) {
		return nil, errs.Internalf("global-window-aggregate: %s returns %s, the output column is %s", c, st.Type(), res)
	}
	fc := c
	fc.Args = make([]int, len(fields))
	a := &mergeWindowAcc{g: g, st: st, cols: make([]arrow.Array, len(fields))}
	afs := make([]arrow.Field, len(fields))
	for j, f := range fields {
		fc.Args[j] = j
		a.dts = append(a.dts, f.Type.Arrow())
		afs[j] = arrow.Field{Name: f.Name, Type: f.Type.Arrow(), Nullable: true}
	}
	a.finSchema = arrow.NewSchema(afs, nil)
	if a.fin, err = agg.NewMergeState(fc, args, retract); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "global-window-aggregate")
	}
	return a, nil
}

func (a *mergeWindowAcc) grow(n int)       { a.st.Grow(n) }
func (a *mergeWindowAcc) reset(slot int32) { a.st.Reset(slot) }

// update merges row i of the batch being processed into slots[i] (rows
// with -1 are skipped); the operator's column views are not used.
func (a *mergeWindowAcc) update(slots []int32, _ *colView, _ int64) {
	a.st.Merge(a.g.batch, slots)
}

// merge joins two sessions, which a global window aggregate never has
// (newGlobalWindowAgg rejects SESSION windows).
func (a *mergeWindowAcc) merge(_, _ int32) {}

// result drains the accumulators of slots and loads their results into
// out; the slots are about to be released.
func (a *mergeWindowAcc) result(slots []int32, out *colView) {
	n := len(slots)
	mem := a.g.mem
	if err := a.st.Drain(mem, a.dts, slots, a.cols); err != nil {
		if a.err == nil {
			a.err = err
		}
		return
	}
	rec := array.NewRecordBatch(a.finSchema, a.cols, int64(n))
	for j, c := range a.cols {
		c.Release()
		a.cols[j] = nil
	}
	if len(a.finSlots) < n {
		a.fin.Grow(n)
		a.finSlots = make([]int32, n)
		for j := range a.finSlots {
			a.finSlots[j] = int32(j)
		}
		a.after = make([]bool, n)
	}
	rows := a.finSlots[:n]
	a.fin.Merge(rec, rows)
	rec.Release()
	a.release()
	a.last = a.fin.Build(mem, rows, a.after[:n])
	for _, s := range rows {
		a.fin.Reset(s)
	}
	// The column is copied out of the view before the next result call.
	if err := out.load(a.last); err != nil && a.err == nil {
		a.err = err
	}
}

func (a *mergeWindowAcc) release() {
	if a.last != nil {
		a.last.Release()
		a.last = nil
	}
}

func (a *mergeWindowAcc) encode(w *wbuf, slot int32) { w.b = a.st.AppendState(w.b, slot) }

func (a *mergeWindowAcc) decode(r *rbuf, slot int32) {
	if r.err != nil {
		return
	}
	rest, err := a.st.ReadState(r.b, slot)
	if err != nil {
		r.err = errs.Wrap(errs.InternalError, err, "global window state")
		r.b = nil
		return
	}
	r.b = rest
}
