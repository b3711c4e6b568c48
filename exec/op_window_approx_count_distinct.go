package exec

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
)

// APPROX_COUNT_DISTINCT in window aggregates. The operator's column views
// widen values (FLOAT to DOUBLE, every integer to int64), which would
// lose what Flink hashes (a FLOAT's 4 bytes, an INT as an int), so the
// call's argument is loaded as the hashes of its values
// (loadApproxCountDistinctHashes, agg.HashApproxCountDistinct) and the
// accumulator folds those. HOP and CUMULATE repeat and slice the hashes
// as any integer column; SESSION windows merge sketches.

// isApproxCountDistinct reports whether the window operator loads call's
// argument as hashes.
func isApproxCountDistinct(c agg.Call) bool { return c.Func == "APPROX_COUNT_DISTINCT" }

// loadApproxCountDistinctHashes loads v with the hashes of a's values,
// NULL where a is.
func (v *colView) loadApproxCountDistinctHashes(a arrow.Array) error {
	n := a.Len()
	v.kind = vkInt
	v.ints = resize(v.ints, n)
	if err := agg.HashApproxCountDistinct(a, unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(v.ints))), n)); err != nil {
		return errs.Wrap(errs.NotSupported, err, "window aggregate")
	}
	v.loadValid(a)
	return nil
}

// approxCountDistinctAcc is APPROX_COUNT_DISTINCT's window accumulator.
type approxCountDistinctAcc struct {
	sk agg.ApproxCountDistinctSketches
}

func (a *approxCountDistinctAcc) grow(n int)           { a.sk.Grow(n) }
func (a *approxCountDistinctAcc) reset(s int32)        { a.sk.Reset(s) }
func (a *approxCountDistinctAcc) merge(dst, src int32) { a.sk.Merge(dst, src) }

func (a *approxCountDistinctAcc) update(slots []int32, v *colView, _ int64) {
	hs := v.ints[:len(slots)]
	a.sk.Add(slots, unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(hs))), len(hs)), v.valid)
}

func (a *approxCountDistinctAcc) result(slots []int32, out *colView) {
	out.reset(vkInt, len(slots))
	for i, s := range slots {
		out.ints[i], out.valid[i] = a.sk.Estimate(s), true
	}
}

func (a *approxCountDistinctAcc) encode(w *wbuf, s int32) { w.b = a.sk.AppendState(w.b, s) }

func (a *approxCountDistinctAcc) decode(r *rbuf, s int32) {
	if r.err != nil {
		return
	}
	rest, err := a.sk.ReadState(r.b, s)
	if err != nil {
		r.err = errs.Wrap(errs.InternalError, err, "window APPROX_COUNT_DISTINCT state")
		r.b = nil
		return
	}
	r.b = rest
}
