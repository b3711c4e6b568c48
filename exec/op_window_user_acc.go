package exec

import (
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
)

// userWindowAcc runs a Go aggregate function (agg.UserWindowAggregate,
// table.AggregateFunction) as a window accumulator. The window operator
// holds argument values as colViews, so each batch's arguments are built
// back into one Arrow array of the function's parameter type for its
// typed loop; results come back as an array loaded into the output view.
type userWindowAcc struct {
	accs agg.UserWindowAccumulators
	// retractor undoes rows over an updating input; nil otherwise.
	retractor  agg.UserWindowRetractor
	param, res arrow.DataType
	// floats is scratch for integer arguments of a DOUBLE parameter.
	floats []float64
}

// newUserWindowAcc builds the accumulator of a call to a user aggregate;
// session windows need the function to merge, and an updating input
// (retract) needs it to retract, as Flink requires retract() then.
func newUserWindowAcc(call agg.Call, u agg.UserAggregate, res arrow.DataType, session, retract bool) (windowAcc, error) {
	wu, ok := u.(agg.UserWindowAggregate)
	if !ok {
		return nil, errs.New(errs.NotSupported, "window aggregate: aggregate function %s cannot run in windows", call.Func)
	}
	if call.Distinct {
		return nil, errs.New(errs.NotSupported, "window aggregate: DISTINCT is not supported with aggregate function %s", call.Func)
	}
	if session && !wu.Merges() {
		return nil, errs.New(errs.NotSupported, "window aggregate: aggregate function %s cannot aggregate session windows: it has no Merge", call.Func)
	}
	param := wu.ParamType().Arrow()
	switch param.ID() {
	case arrow.INT64, arrow.INT32, arrow.FLOAT64, arrow.BOOL, arrow.STRING, arrow.BINARY:
	default:
		return nil, errs.New(errs.NotSupported, "window aggregate: aggregate function %s takes %s, which window aggregates do not support", call.Func, param)
	}
	if _, err := storeKindOf(res); err != nil {
		return nil, err
	}
	if retract && !wu.Retracts() {
		return nil, userRetractError(call.Func)
	}
	accs, err := wu.NewWindowAccumulators()
	if err != nil {
		return nil, errs.New(errs.NotSupported, "window aggregate: aggregate function %s: %v", call.Func, err)
	}
	a := &userWindowAcc{accs: accs, param: param, res: res}
	if retract {
		r, ok := accs.(agg.UserWindowRetractor)
		if !ok {
			return nil, userRetractError(call.Func)
		}
		a.retractor = r
	}
	return a, nil
}

func userRetractError(fn string) error {
	return errs.New(errs.NotSupported,
		"window aggregate over an updating input: aggregate function %s cannot retract rows: it has no Retract", fn)
}

func (a *userWindowAcc) grow(n int) { a.accs.Grow(n) }

func (a *userWindowAcc) update(slots []int32, v *colView, _ int64) {
	arg := a.argArray(v, len(slots))
	defer arg.Release()
	a.accs.Accumulate([]arrow.Array{arg}, slots)
}

// retract undoes rows with the function's Retract; newUserWindowAcc
// admits an updating input only with one.
func (a *userWindowAcc) retract(slots []int32, v *colView) {
	if a.retractor == nil {
		return
	}
	arg := a.argArray(v, len(slots))
	defer arg.Release()
	a.retractor.Retract([]arrow.Array{arg}, slots)
}

// argArray is the first n values of v as an array of the parameter type:
// the view's own buffer for BIGINT and DOUBLE parameters (integers
// widened for DOUBLE, as the function's group aggregates widen them),
// built values otherwise.
func (a *userWindowAcc) argArray(v *colView, n int) arrow.Array {
	var valid *memory.Buffer
	nulls := 0
	if v.valid != nil {
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		for i, ok := range v.valid[:n] {
			if ok {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
		valid = memory.NewBufferBytes(bits)
	}
	switch a.param.ID() {
	case arrow.INT64:
		vals := memory.NewBufferBytes(arrow.Int64Traits.CastToBytes(v.ints[:n]))
		return array.NewInt64Data(array.NewData(a.param, n, []*memory.Buffer{valid, vals}, nil, nulls, 0))
	case arrow.FLOAT64:
		if v.kind == vkInt {
			a.floats = resize(a.floats, n)
			for i, x := range v.ints[:n] {
				a.floats[i] = float64(x)
			}
			vals := memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(a.floats))
			return array.NewFloat64Data(array.NewData(a.param, n, []*memory.Buffer{valid, vals}, nil, nulls, 0))
		}
		vals := memory.NewBufferBytes(arrow.Float64Traits.CastToBytes(v.floats[:n]))
		return array.NewFloat64Data(array.NewData(a.param, n, []*memory.Buffer{valid, vals}, nil, nulls, 0))
	}
	// INT, BOOLEAN, STRING, BYTES: buildArray covers each of them
	// (newUserWindowAcc admits no other parameter type), so it cannot fail.
	arr, err := buildArray(memory.DefaultAllocator, a.param, v, n)
	if err != nil {
		return array.MakeArrayOfNull(memory.DefaultAllocator, a.param, n)
	}
	return arr
}

func (a *userWindowAcc) merge(dst, src int32) { a.accs.Merge(dst, src) }

func (a *userWindowAcc) reset(slot int32) { a.accs.Reset(slot) }

func (a *userWindowAcc) result(slots []int32, out *colView) {
	arr := a.accs.Results(memory.DefaultAllocator, a.res, slots)
	defer arr.Release()
	if err := out.load(arr); err != nil {
		// newUserWindowAcc checked that views hold results of type res,
		// so this cannot happen; NULLs rather than a stale view if it did.
		k, _ := storeKindOf(a.res)
		out.reset(k, len(slots))
		return
	}
	if out.kind == vkStr {
		// The view outlives the array.
		for i, s := range out.strs {
			out.strs[i] = strings.Clone(s)
		}
	}
}

func (a *userWindowAcc) encode(w *wbuf, slot int32) { w.b = a.accs.AppendState(w.b, slot) }

func (a *userWindowAcc) decode(r *rbuf, slot int32) {
	rest, err := a.accs.ReadState(r.b, slot)
	if err != nil {
		r.err, r.b = errs.Wrap(errs.InvalidPlan, err, "window state"), nil
		return
	}
	r.b = rest
}
