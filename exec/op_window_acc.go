package exec

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
)

// Window accumulators: columnar over the operator's slots (one slot per
// open (key, window)), with one typed loop per batch and call. Over an
// insert-only input windows never retract, so these are smaller than
// exec/agg's retracting accumulators; session windows need merge instead.
// Over an updating input (WindowAggregateSpec.InputChangelog) the
// accumulators must also be retractingAccs: COUNT, SUM and AVG subtract,
// the variance family undoes Welford's step, MIN and MAX keep each slot's
// multiset of values (Flink's MaxWithRetractAggFunction), FIRST_VALUE,
// LAST_VALUE and LISTAGG keep each slot's values in arrival order (Flink's
// FirstValueWithRetractAggFunction, ListAggWithRetractAggFunction), a Go
// aggregate function calls its Retract, and DISTINCT counts each value's
// rows. These mirror exec/agg's retracting kernels (multisetK, seqK,
// listaggK), which keep the results before and after every row that a
// group aggregate emits and windows do not need.
//
// windowAcc contract: slots[i] is the slot row i of the batch goes to, or
// -1 to skip the row (late, filtered out, or not in this window). update
// ignores NULL arguments, as every SQL aggregate does. seq is the arrival
// number of row 0 of the batch (row i arrived as seq+i); FIRST_VALUE and
// LAST_VALUE keep it so that merging two session windows keeps the value
// that arrived first (last). merge folds slot src into dst, leaving src to
// be reset. reset returns a slot to the empty state for reuse.
type windowAcc interface {
	grow(n int)
	update(slots []int32, v *colView, seq int64)
	merge(dst, src int32)
	reset(slot int32)
	// result writes the aggregate of each of slots into out[i].
	result(slots []int32, out *colView)
	encode(w *wbuf, slot int32)
	decode(r *rbuf, slot int32)
}

// retractingAcc is a windowAcc that can undo rows: retract removes row i
// of v from slots[i] (-1: skip), as update added it. A window aggregate
// over an updating input applies a batch's accumulations before its
// retractions, so a retraction always finds the row it undoes, whether
// that arrived in an earlier batch or in the same one.
type retractingAcc interface {
	windowAcc
	retract(slots []int32, v *colView)
}

// retractable reports whether window aggregates over an updating input can
// run the built-in call: its accumulator can retract. The planner refuses
// the others (APPROX_COUNT_DISTINCT) with the call's position; the
// operator checks again. Go aggregate functions retract when they have
// Retract (newUserWindowAcc).
func retractable(call agg.Call) bool {
	switch call.Func {
	case "COUNT", "SUM", "AVG", "MIN", "MAX", "FIRST_VALUE", "LAST_VALUE", "LISTAGG",
		"STDDEV_POP", "STDDEV_SAMP", "STDDEV", "VAR_POP", "VAR_SAMP", "VARIANCE":
		return true
	}
	return false
}

// newWindowAcc builds the accumulator of call, whose result has Arrow type
// res; with retract it is a retractingAcc (an error for a call that is
// not retractable). Every aggregate but COUNT processes its argument as
// the physical kind of its result (agg.ResultType keeps the argument's
// kind), so the accumulators, and the state they restore, depend on the
// spec alone.
func newWindowAcc(call agg.Call, res arrow.DataType, retract bool) (windowAcc, error) {
	bad := func() error {
		return errs.New(errs.NotSupported, "window aggregate: %s returning %s is not supported", call.Func, res)
	}
	if retract && !retractable(call) {
		return nil, errs.New(errs.NotSupported, "window aggregate over an updating input: %s cannot retract rows", call.Func)
	}
	// A DISTINCT call's own set counts rows; its inner accumulator only
	// ever sees each slot's distinct values, when the window fires.
	multiset := retract && !call.Distinct
	ak, err := kindOf(res)
	if err != nil {
		return nil, err
	}
	var acc windowAcc
	switch call.Func {
	case "COUNT":
		ak = vkInt
		acc = &countAcc{star: len(call.Args) == 0}
	case "SUM", "AVG":
		avg := call.Func == "AVG"
		switch ak {
		case vkInt:
			acc = &sumAcc[int64]{avg: avg}
		case vkFloat:
			acc = &sumAcc[float64]{avg: avg}
		case vkDec:
			acc = &decSumAcc{avg: avg, scale: res.(*arrow.Decimal128Type).Scale}
		default:
			return nil, bad()
		}
	case "MIN", "MAX":
		isMax := call.Func == "MAX"
		if multiset {
			acc = newMinMaxRetractAcc(ak, isMax, decScale(res))
			break
		}
		switch ak {
		case vkInt:
			acc = &minMaxAcc[int64]{isMax: isMax, pick: pickInts}
		case vkFloat:
			acc = &minMaxAcc[float64]{isMax: isMax, pick: pickFloats}
		case vkStr:
			acc = &minMaxAcc[string]{isMax: isMax, pick: pickStrs, clone: strings.Clone}
		case vkDec:
			acc = &decMinMaxAcc{isMax: isMax, scale: decScale(res)}
		}
	case "FIRST_VALUE", "LAST_VALUE":
		last := call.Func == "LAST_VALUE"
		if multiset {
			acc = newFirstLastRetractAcc(ak, last, decScale(res))
			break
		}
		switch ak {
		case vkInt:
			acc = &firstLastAcc[int64]{last: last, pick: pickInts}
		case vkFloat:
			acc = &firstLastAcc[float64]{last: last, pick: pickFloats}
		case vkDec:
			scale := decScale(res)
			acc = &firstLastAcc[decimal128.Num]{last: last, pick: func(v *colView) []decimal128.Num { return v.decsAt(scale) }}
		case vkStr:
			acc = &firstLastAcc[string]{last: last, pick: pickStrs, clone: strings.Clone}
		}
	case "APPROX_COUNT_DISTINCT":
		acc = &approxCountDistinctAcc{}
	case "LISTAGG":
		if ak != vkStr {
			return nil, bad()
		}
		acc = &listaggAcc{sep: ",", retracting: multiset}
	case "STDDEV_POP", "STDDEV_SAMP", "STDDEV", "VAR_POP", "VAR_SAMP", "VARIANCE":
		if ak == vkStr {
			return nil, bad()
		}
		f := call.Func
		acc = &varianceAcc{
			sample: f == "STDDEV_SAMP" || f == "STDDEV" || f == "VAR_SAMP" || f == "VARIANCE",
			sqrt:   strings.HasPrefix(f, "STDDEV"),
		}
	}
	if acc == nil {
		return nil, bad()
	}
	if call.Distinct {
		d := &distinctAcc{inner: acc, kind: ak, seen: map[dkey]int64{}, scale: -1, counted: retract}
		if ak == vkDec && call.Func != "COUNT" {
			d.scale = decScale(res)
		}
		acc = d
	}
	return acc, nil
}

func decScale(t arrow.DataType) int32 {
	if d, ok := t.(*arrow.Decimal128Type); ok {
		return d.Scale
	}
	return 0
}

func pickInts(v *colView) []int64     { return v.ints }
func pickFloats(v *colView) []float64 { return v.floats }
func pickStrs(v *colView) []string    { return v.strs }

// countAcc is COUNT(*) (star) or COUNT(x), which skips NULLs.
type countAcc struct {
	star bool
	n    []int64
}

func (a *countAcc) grow(n int) { a.n = growTo(a.n, n) }
func (a *countAcc) update(slots []int32, v *colView, _ int64) {
	if a.star || v.valid == nil {
		for _, s := range slots {
			if s >= 0 {
				a.n[s]++
			}
		}
		return
	}
	for i, s := range slots {
		if s >= 0 && v.valid[i] {
			a.n[s]++
		}
	}
}
func (a *countAcc) retract(slots []int32, v *colView) {
	if a.star || v.valid == nil {
		for _, s := range slots {
			if s >= 0 {
				a.n[s]--
			}
		}
		return
	}
	for i, s := range slots {
		if s >= 0 && v.valid[i] {
			a.n[s]--
		}
	}
}
func (a *countAcc) merge(dst, src int32) { a.n[dst] += a.n[src] }
func (a *countAcc) reset(s int32)        { a.n[s] = 0 }
func (a *countAcc) result(slots []int32, out *colView) {
	out.reset(vkInt, len(slots))
	for i, s := range slots {
		out.ints[i], out.valid[i] = a.n[s], true
	}
}
func (a *countAcc) encode(w *wbuf, s int32) { w.varint(a.n[s]) }
func (a *countAcc) decode(r *rbuf, s int32) { a.n[s] = r.varint() }

// sumAcc is SUM and AVG over integers (wrapping on overflow as Flink's
// Java arithmetic does; integer AVG truncates) and floats. A window whose
// arguments were all NULL yields NULL.
type sumAcc[T int64 | float64] struct {
	avg bool
	sum []T
	cnt []int64
}

func (a *sumAcc[T]) grow(n int) { a.sum, a.cnt = growTo(a.sum, n), growTo(a.cnt, n) }
func (a *sumAcc[T]) vals(v *colView) []T {
	var zero T
	if _, isInt := any(zero).(int64); isInt {
		return any(v.ints).([]T)
	}
	return any(v.floats).([]T)
}
func (a *sumAcc[T]) update(slots []int32, v *colView, _ int64) {
	vals := a.vals(v)
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.sum[s] += vals[i]
			a.cnt[s]++
		}
	}
}
func (a *sumAcc[T]) retract(slots []int32, v *colView) {
	vals := a.vals(v)
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.sum[s] -= vals[i]
			a.cnt[s]--
		}
	}
}
func (a *sumAcc[T]) merge(dst, src int32) { a.sum[dst] += a.sum[src]; a.cnt[dst] += a.cnt[src] }
func (a *sumAcc[T]) reset(s int32)        { a.sum[s], a.cnt[s] = 0, 0 }
func (a *sumAcc[T]) result(slots []int32, out *colView) {
	var zero T
	_, isInt := any(zero).(int64)
	if isInt {
		out.reset(vkInt, len(slots))
	} else {
		out.reset(vkFloat, len(slots))
	}
	for i, s := range slots {
		if a.cnt[s] == 0 {
			continue
		}
		out.valid[i] = true
		r := a.sum[s]
		if a.avg {
			r /= T(a.cnt[s])
		}
		if isInt {
			out.ints[i] = int64(r)
		} else {
			out.floats[i] = float64(r)
		}
	}
}
func (a *sumAcc[T]) encode(w *wbuf, s int32) {
	w.varint(a.cnt[s])
	switch v := any(a.sum[s]).(type) {
	case int64:
		w.varint(v)
	case float64:
		w.f64(v)
	}
}
func (a *sumAcc[T]) decode(r *rbuf, s int32) {
	a.cnt[s] = r.varint()
	var v any
	switch any(a.sum[s]).(type) {
	case int64:
		v = r.varint()
	case float64:
		v = r.f64()
	}
	a.sum[s] = v.(T)
}

// decSumAcc is SUM and AVG over DECIMAL, summing at the result's scale
// (the argument's for SUM, max(6, s) for AVG, see agg.ResultType). AVG
// rounds half up as Flink's BigDecimal division does.
type decSumAcc struct {
	avg   bool
	scale int32
	sum   []decimal128.Num
	cnt   []int64
}

func (a *decSumAcc) grow(n int) { a.sum, a.cnt = growTo(a.sum, n), growTo(a.cnt, n) }
func (a *decSumAcc) update(slots []int32, v *colView, _ int64) {
	decs := v.decsAt(a.scale)
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.sum[s] = a.sum[s].Add(decs[i])
			a.cnt[s]++
		}
	}
}
func (a *decSumAcc) retract(slots []int32, v *colView) {
	decs := v.decsAt(a.scale)
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.sum[s] = a.sum[s].Sub(decs[i])
			a.cnt[s]--
		}
	}
}
func (a *decSumAcc) merge(dst, src int32) {
	a.sum[dst] = a.sum[dst].Add(a.sum[src])
	a.cnt[dst] += a.cnt[src]
}
func (a *decSumAcc) reset(s int32) { a.sum[s], a.cnt[s] = decimal128.Num{}, 0 }
func (a *decSumAcc) result(slots []int32, out *colView) {
	out.reset(vkDec, len(slots))
	for i, s := range slots {
		if a.cnt[s] == 0 {
			continue
		}
		out.valid[i] = true
		if !a.avg {
			out.decs[i] = a.sum[s]
			continue
		}
		num := a.sum[s]
		n := decimal128.FromI64(a.cnt[s])
		q, rem := num.Div(n)
		if rem.Abs().Add(rem.Abs()).GreaterEqual(n) {
			if num.Sign() < 0 {
				q = q.Sub(decimal128.FromI64(1))
			} else {
				q = q.Add(decimal128.FromI64(1))
			}
		}
		out.decs[i] = q
	}
}
func (a *decSumAcc) encode(w *wbuf, s int32) { w.varint(a.cnt[s]); w.dec(a.sum[s]) }
func (a *decSumAcc) decode(r *rbuf, s int32) { a.cnt[s] = r.varint(); a.sum[s] = r.dec() }

// minMaxAcc is MIN and MAX over integer-like values, floats and strings.
type minMaxAcc[T int64 | float64 | string] struct {
	isMax bool
	pick  func(*colView) []T
	clone func(T) T
	val   []T
	has   []bool
}

func (a *minMaxAcc[T]) grow(n int) { a.val, a.has = growTo(a.val, n), growTo(a.has, n) }
func (a *minMaxAcc[T]) update(slots []int32, v *colView, _ int64) {
	vals := a.pick(v)
	for i, s := range slots {
		if s < 0 || !v.isValid(i) {
			continue
		}
		x := vals[i]
		if !a.has[s] || (a.isMax && x > a.val[s]) || (!a.isMax && x < a.val[s]) {
			if a.clone != nil {
				x = a.clone(x)
			}
			a.val[s], a.has[s] = x, true
		}
	}
}
func (a *minMaxAcc[T]) merge(dst, src int32) {
	if a.has[src] && (!a.has[dst] || (a.isMax && a.val[src] > a.val[dst]) || (!a.isMax && a.val[src] < a.val[dst])) {
		a.val[dst], a.has[dst] = a.val[src], true
	}
}
func (a *minMaxAcc[T]) reset(s int32) {
	var zero T
	a.val[s], a.has[s] = zero, false
}
func (a *minMaxAcc[T]) result(slots []int32, out *colView) { resultOf(a.val, a.has, slots, out) }
func (a *minMaxAcc[T]) encode(w *wbuf, s int32)            { encodeOpt(w, a.val[s], a.has[s]) }
func (a *minMaxAcc[T]) decode(r *rbuf, s int32)            { a.val[s], a.has[s] = decodeOpt[T](r) }

// resultOf copies optional typed values into out.
func resultOf[T any](val []T, has []bool, slots []int32, out *colView) {
	var zero T
	var dst []T
	switch any(zero).(type) {
	case int64:
		out.reset(vkInt, len(slots))
		dst = any(out.ints).([]T)
	case float64:
		out.reset(vkFloat, len(slots))
		dst = any(out.floats).([]T)
	case decimal128.Num:
		out.reset(vkDec, len(slots))
		dst = any(out.decs).([]T)
	case string:
		out.reset(vkStr, len(slots))
		dst = any(out.strs).([]T)
	}
	for i, s := range slots {
		dst[i], out.valid[i] = val[s], has[s]
	}
}

func encodeOpt[T any](w *wbuf, v T, has bool) {
	w.bool(has)
	if !has {
		return
	}
	switch x := any(v).(type) {
	case int64:
		w.varint(x)
	case float64:
		w.f64(x)
	case decimal128.Num:
		w.dec(x)
	case string:
		w.str(x)
	}
}

func decodeOpt[T any](r *rbuf) (T, bool) {
	var zero T
	if !r.bool() {
		return zero, false
	}
	var v any
	switch any(zero).(type) {
	case int64:
		v = r.varint()
	case float64:
		v = r.f64()
	case decimal128.Num:
		v = r.dec()
	case string:
		v = r.str()
	}
	return v.(T), true
}

// decMinMaxAcc is MIN and MAX over DECIMAL.
type decMinMaxAcc struct {
	isMax bool
	scale int32
	val   []decimal128.Num
	has   []bool
}

func (a *decMinMaxAcc) grow(n int) { a.val, a.has = growTo(a.val, n), growTo(a.has, n) }
func (a *decMinMaxAcc) better(x, cur decimal128.Num) bool {
	if a.isMax {
		return x.Greater(cur)
	}
	return x.Less(cur)
}
func (a *decMinMaxAcc) update(slots []int32, v *colView, _ int64) {
	decs := v.decsAt(a.scale)
	for i, s := range slots {
		if s >= 0 && v.isValid(i) && (!a.has[s] || a.better(decs[i], a.val[s])) {
			a.val[s], a.has[s] = decs[i], true
		}
	}
}
func (a *decMinMaxAcc) merge(dst, src int32) {
	if a.has[src] && (!a.has[dst] || a.better(a.val[src], a.val[dst])) {
		a.val[dst], a.has[dst] = a.val[src], true
	}
}
func (a *decMinMaxAcc) reset(s int32)                      { a.val[s], a.has[s] = decimal128.Num{}, false }
func (a *decMinMaxAcc) result(slots []int32, out *colView) { resultOf(a.val, a.has, slots, out) }
func (a *decMinMaxAcc) encode(w *wbuf, s int32)            { encodeOpt(w, a.val[s], a.has[s]) }
func (a *decMinMaxAcc) decode(r *rbuf, s int32)            { a.val[s], a.has[s] = decodeOpt[decimal128.Num](r) }

// firstLastAcc is FIRST_VALUE and LAST_VALUE: the first (last) non-NULL
// value by arrival, as Flink's FirstValueAggFunction.
type firstLastAcc[T int64 | float64 | decimal128.Num | string] struct {
	last  bool
	pick  func(*colView) []T
	clone func(T) T
	val   []T
	has   []bool
	seq   []int64
}

func (a *firstLastAcc[T]) grow(n int) {
	a.val, a.has, a.seq = growTo(a.val, n), growTo(a.has, n), growTo(a.seq, n)
}
func (a *firstLastAcc[T]) update(slots []int32, v *colView, seq int64) {
	vals := a.pick(v)
	for i, s := range slots {
		// Compare arrival numbers, so the result never depends on the
		// order rows are folded in.
		if q := seq + int64(i); s < 0 || !v.isValid(i) || (a.has[s] && (a.last != (q > a.seq[s]))) {
			continue
		}
		x := vals[i]
		if a.clone != nil {
			x = a.clone(x)
		}
		a.val[s], a.has[s], a.seq[s] = x, true, seq+int64(i)
	}
}
func (a *firstLastAcc[T]) merge(dst, src int32) {
	if !a.has[src] {
		return
	}
	if !a.has[dst] || (a.last && a.seq[src] > a.seq[dst]) || (!a.last && a.seq[src] < a.seq[dst]) {
		a.val[dst], a.has[dst], a.seq[dst] = a.val[src], true, a.seq[src]
	}
}
func (a *firstLastAcc[T]) reset(s int32) {
	var zero T
	a.val[s], a.has[s], a.seq[s] = zero, false, 0
}
func (a *firstLastAcc[T]) result(slots []int32, out *colView) { resultOf(a.val, a.has, slots, out) }
func (a *firstLastAcc[T]) encode(w *wbuf, s int32) {
	encodeOpt(w, a.val[s], a.has[s])
	w.varint(a.seq[s])
}
func (a *firstLastAcc[T]) decode(r *rbuf, s int32) {
	a.val[s], a.has[s] = decodeOpt[T](r)
	a.seq[s] = r.varint()
}

// listaggAcc is LISTAGG(x [, sep]): the non-NULL values in arrival order
// joined by the separator (default ","). The separator argument is a
// constant: the operator sets sep from it before each update.
//
// With retract (an updating input) it is Flink's
// ListAggWithRetractAggFunction / ListAggWsWithRetractAggFunction: each
// slot keeps its list of values, a retraction removes the first
// occurrence of its value (Flink's ListView.remove), and the list is
// joined when the window fires. Without it the joined bytes are all it
// keeps.
type listaggAcc struct {
	sep string
	// retracting: keep list, not buf and has.
	retracting bool
	buf        [][]byte
	has        []bool
	list       [][]string
}

func (a *listaggAcc) grow(n int) {
	if a.retracting {
		a.list = growTo(a.list, n)
		return
	}
	a.buf, a.has = growTo(a.buf, n), growTo(a.has, n)
}
func (a *listaggAcc) update(slots []int32, v *colView, _ int64) {
	for i, s := range slots {
		if s < 0 || !v.isValid(i) {
			continue
		}
		if a.retracting {
			a.list[s] = append(a.list[s], strings.Clone(v.strs[i]))
			continue
		}
		if a.has[s] {
			a.buf[s] = append(a.buf[s], a.sep...)
		}
		a.buf[s] = append(a.buf[s], v.strs[i]...)
		a.has[s] = true
	}
}

// retract removes the first occurrence of each retracted value. The
// operator applies a batch's accumulations first, so the value is there
// unless its row never reached this window.
func (a *listaggAcc) retract(slots []int32, v *colView) {
	for i, s := range slots {
		if s < 0 || !v.isValid(i) {
			continue
		}
		if j := slices.Index(a.list[s], v.strs[i]); j >= 0 {
			a.list[s] = slices.Delete(a.list[s], j, j+1)
		}
	}
}

// merge appends src's values after dst's: session windows merge in the
// order of their starts, so this keeps event-time order across them.
func (a *listaggAcc) merge(dst, src int32) {
	if a.retracting {
		a.list[dst] = append(a.list[dst], a.list[src]...)
		return
	}
	if !a.has[src] {
		return
	}
	if a.has[dst] {
		a.buf[dst] = append(a.buf[dst], a.sep...)
	}
	a.buf[dst] = append(a.buf[dst], a.buf[src]...)
	a.has[dst] = true
}
func (a *listaggAcc) reset(s int32) {
	if a.retracting {
		a.list[s] = nil
		return
	}
	a.buf[s], a.has[s] = nil, false
}
func (a *listaggAcc) result(slots []int32, out *colView) {
	out.reset(vkStr, len(slots))
	for i, s := range slots {
		if a.retracting {
			// A window whose values were all retracted is NULL, as
			// Flink's getValue of an empty list.
			out.strs[i], out.valid[i] = strings.Join(a.list[s], a.sep), len(a.list[s]) > 0
			continue
		}
		out.strs[i], out.valid[i] = string(a.buf[s]), a.has[s]
	}
}
func (a *listaggAcc) encode(w *wbuf, s int32) {
	if a.retracting {
		w.uvarint(uint64(len(a.list[s])))
		for _, x := range a.list[s] {
			w.str(x)
		}
		return
	}
	w.bool(a.has[s])
	w.str(string(a.buf[s]))
}
func (a *listaggAcc) decode(r *rbuf, s int32) {
	if a.retracting {
		n := r.uvarint()
		a.list[s] = nil
		for i := uint64(0); i < n && r.err == nil; i++ {
			a.list[s] = append(a.list[s], r.str())
		}
		return
	}
	a.has[s] = r.bool()
	a.buf[s] = []byte(r.str())
}

// firstLastRetractAcc is FIRST_VALUE and LAST_VALUE over an updating
// input, Flink's FirstValueWithRetractAggFunction and
// LastValueWithRetractAggFunction: each slot keeps its non-NULL values
// with their arrival numbers, in arrival order, so that retracting the
// first (last) value brings back the next (previous) one. A retraction
// removes the earliest occurrence of its value, as Flink's retract takes
// the first order of the value's order list (and exec/agg's seqK does in
// group aggregates).
type firstLastRetractAcc[T int64 | float64 | decimal128.Num | string] struct {
	last  bool
	pick  func(*colView) []T
	clone func(T) T
	// eq is Flink's equals of the values: floats by their bits with NaN
	// canonicalized (Double.equals), so a NaN retracts a NaN.
	eq   func(a, b T) bool
	vals [][]seqValue[T]
}

// seqValue is one value of a slot with the arrival number of its row.
type seqValue[T any] struct {
	seq int64
	v   T
}

func newFirstLastRetractAcc(k vkind, last bool, scale int32) windowAcc {
	switch k {
	case vkInt:
		return &firstLastRetractAcc[int64]{last: last, pick: pickInts, eq: func(a, b int64) bool { return a == b }}
	case vkFloat:
		return &firstLastRetractAcc[float64]{last: last, pick: pickFloats,
			eq: func(a, b float64) bool { return javaDoubleBits(a) == javaDoubleBits(b) }}
	case vkDec:
		return &firstLastRetractAcc[decimal128.Num]{last: last,
			pick: func(v *colView) []decimal128.Num { return v.decsAt(scale) },
			eq:   func(a, b decimal128.Num) bool { return a == b }}
	case vkStr:
		return &firstLastRetractAcc[string]{last: last, pick: pickStrs, clone: strings.Clone,
			eq: func(a, b string) bool { return a == b }}
	}
	return nil
}

func (a *firstLastRetractAcc[T]) grow(n int) { a.vals = growTo(a.vals, n) }

// insert adds x to slot s in arrival order: usually at the end, since
// rows reach a slot in arrival order.
func (a *firstLastRetractAcc[T]) insert(s int32, x seqValue[T]) {
	l := a.vals[s]
	if n := len(l); n == 0 || l[n-1].seq <= x.seq {
		a.vals[s] = append(l, x)
		return
	}
	j, _ := slices.BinarySearchFunc(l, x.seq, func(e seqValue[T], q int64) int { return cmp.Compare(e.seq, q) })
	a.vals[s] = slices.Insert(l, j, x)
}

func (a *firstLastRetractAcc[T]) update(slots []int32, v *colView, seq int64) {
	vals := a.pick(v)
	for i, s := range slots {
		if s < 0 || !v.isValid(i) {
			continue
		}
		x := vals[i]
		if a.clone != nil {
			x = a.clone(x)
		}
		a.insert(s, seqValue[T]{seq: seq + int64(i), v: x})
	}
}

func (a *firstLastRetractAcc[T]) retract(slots []int32, v *colView) {
	vals := a.pick(v)
	for i, s := range slots {
		if s < 0 || !v.isValid(i) {
			continue
		}
		x := vals[i]
		if j := slices.IndexFunc(a.vals[s], func(e seqValue[T]) bool { return a.eq(e.v, x) }); j >= 0 {
			a.vals[s] = slices.Delete(a.vals[s], j, j+1)
		}
	}
}

// merge folds src's values into dst's, keeping arrival order.
func (a *firstLastRetractAcc[T]) merge(dst, src int32) {
	for _, x := range a.vals[src] {
		a.insert(dst, x)
	}
}

func (a *firstLastRetractAcc[T]) reset(s int32) { a.vals[s] = nil }

func (a *firstLastRetractAcc[T]) result(slots []int32, out *colView) {
	var zero T
	switch any(zero).(type) {
	case int64:
		out.reset(vkInt, len(slots))
	case float64:
		out.reset(vkFloat, len(slots))
	case decimal128.Num:
		out.reset(vkDec, len(slots))
	case string:
		out.reset(vkStr, len(slots))
	}
	for i, s := range slots {
		l := a.vals[s]
		if len(l) == 0 {
			continue
		}
		x := l[0].v
		if a.last {
			x = l[len(l)-1].v
		}
		switch y := any(x).(type) {
		case int64:
			out.ints[i] = y
		case float64:
			out.floats[i] = y
		case decimal128.Num:
			out.decs[i] = y
		case string:
			out.strs[i] = y
		}
		out.valid[i] = true
	}
}

func (a *firstLastRetractAcc[T]) encode(w *wbuf, s int32) {
	l := a.vals[s]
	w.uvarint(uint64(len(l)))
	for _, x := range l {
		w.varint(x.seq)
		encodeOpt(w, x.v, true)
	}
}

func (a *firstLastRetractAcc[T]) decode(r *rbuf, s int32) {
	n := r.uvarint()
	a.vals[s] = nil
	for i := uint64(0); i < n && r.err == nil; i++ {
		seq := r.varint()
		x, _ := decodeOpt[T](r)
		a.vals[s] = append(a.vals[s], seqValue[T]{seq: seq, v: x})
	}
}

// javaDoubleBits is Java's Double.doubleToLongBits: the bits of f, every
// NaN as the one canonical NaN. Flink's retracting MIN, MAX,
// FIRST_VALUE and LAST_VALUE key their maps on Double objects, whose
// equals compares these bits: NaN equals NaN, -0.0 does not equal 0.0.
func javaDoubleBits(f float64) uint64 {
	if f != f {
		return 0x7ff8000000000000
	}
	return math.Float64bits(f)
}

// javaDoubleLess is Java's Double.compare(a, b) < 0 on the bits of two
// doubles (javaDoubleBits): numbers in order, -0.0 below 0.0 and NaN
// above every number, including +Inf.
func javaDoubleLess(a, b uint64) bool {
	fa, fb := math.Float64frombits(a), math.Float64frombits(b)
	switch {
	case fa < fb:
		return true
	case fa > fb:
		return false
	}
	return int64(a) < int64(b)
}

// varianceAcc is the STDDEV/VAR family with Welford's online algorithm
// (and Chan's formula to merge), in float64; the result is cast to the
// argument's type as Flink's rewrite into SUM/COUNT arithmetic does.
// Sample variants of a single value are NULL.
type varianceAcc struct {
	sample, sqrt bool
	n            []int64
	mean, m2     []float64
}

func (a *varianceAcc) grow(n int) {
	a.n, a.mean, a.m2 = growTo(a.n, n), growTo(a.mean, n), growTo(a.m2, n)
}
func (a *varianceAcc) add(s int32, x float64) {
	a.n[s]++
	d := x - a.mean[s]
	a.mean[s] += d / float64(a.n[s])
	a.m2[s] += d * (x - a.mean[s])
}
func (a *varianceAcc) update(slots []int32, v *colView, _ int64) { a.apply(slots, v, false) }

// apply adds (or, retracting, removes) each row's value to its slot.
func (a *varianceAcc) apply(slots []int32, v *colView, retract bool) {
	for i, s := range slots {
		if s < 0 || !v.isValid(i) {
			continue
		}
		var x float64
		switch v.kind {
		case vkInt:
			x = float64(v.ints[i])
		case vkFloat:
			x = v.floats[i]
		case vkDec:
			x = v.decs[i].ToFloat64(v.scale)
		default:
			continue
		}
		if retract {
			a.remove(s, x)
		} else {
			a.add(s, x)
		}
	}
}

// remove undoes add(s, x): Welford's step backwards. A slot left with
// no value is exactly empty and one left with one value has exactly no
// variance, so no rounding residue outlives the values it came from.
func (a *varianceAcc) remove(s int32, x float64) {
	n := a.n[s] - 1
	if n <= 0 {
		a.n[s], a.mean[s], a.m2[s] = n, 0, 0
		return
	}
	mean := a.mean[s]
	prev := (mean*float64(n+1) - x) / float64(n)
	// Rounding must not leave a negative sum of squares (a NaN STDDEV).
	a.m2[s] = max(0, a.m2[s]-(x-prev)*(x-mean))
	if n == 1 {
		a.m2[s] = 0
	}
	a.mean[s], a.n[s] = prev, n
}
func (a *varianceAcc) retract(slots []int32, v *colView) { a.apply(slots, v, true) }
func (a *varianceAcc) merge(dst, src int32) {
	nb := a.n[src]
	if nb == 0 {
		return
	}
	na := a.n[dst]
	n := na + nb
	d := a.mean[src] - a.mean[dst]
	a.m2[dst] += a.m2[src] + d*d*float64(na)*float64(nb)/float64(n)
	a.mean[dst] += d * float64(nb) / float64(n)
	a.n[dst] = n
}
func (a *varianceAcc) reset(s int32) { a.n[s], a.mean[s], a.m2[s] = 0, 0, 0 }
func (a *varianceAcc) result(slots []int32, out *colView) {
	out.reset(vkFloat, len(slots))
	for i, s := range slots {
		n := a.n[s]
		if n == 0 || (a.sample && n == 1) {
			continue
		}
		d := float64(n)
		if a.sample {
			d--
		}
		r := a.m2[s] / d
		if a.sqrt {
			r = math.Sqrt(r)
		}
		out.floats[i], out.valid[i] = r, true
	}
}
func (a *varianceAcc) encode(w *wbuf, s int32) {
	w.varint(a.n[s])
	w.f64(a.mean[s])
	w.f64(a.m2[s])
}
func (a *varianceAcc) decode(r *rbuf, s int32) {
	a.n[s] = r.varint()
	a.mean[s] = r.f64()
	a.m2[s] = r.f64()
}

// dkey is one distinct argument value of one slot: integer-like values in
// lo, floats as their normalized bits in lo, decimals in hi/lo, strings in
// s.
type dkey struct {
	slot   int32
	hi, lo int64
	s      string
}

// distinctAcc is an aggregate over DISTINCT arguments: it keeps the set of
// distinct non-NULL values per slot (in first-seen order) and runs the
// inner accumulator over them only when the window fires, so merging two
// session windows unites their sets without counting a value twice. With
// counted (an updating input) seen holds each value's number of rows,
// which retract decrements: a value takes part while its count is
// positive. Otherwise counts are 1.
type distinctAcc struct {
	inner windowAcc
	kind  vkind
	// scale is the scale decimals are kept at (the inner accumulator's),
	// or -1 to keep the argument's (COUNT).
	scale   int32
	counted bool
	seen    map[dkey]int64
	// perSlot lists every value seen holds for the slot, once, including
	// those whose count has dropped to 0 (they stay in seen until reset).
	perSlot [][]dkey
	view    colView // scratch for result
	slots   []int32
}

func (a *distinctAcc) grow(n int) { a.inner.grow(n); a.perSlot = growTo(a.perSlot, n) }

func (a *distinctAcc) keyOf(s int32, v *colView, i int) dkey {
	k := dkey{slot: s}
	switch v.kind {
	case vkInt:
		k.lo = v.ints[i]
	case vkFloat:
		k.lo = int64(floatBits(v.floats[i]))
	case vkDec:
		d := v.decs[i]
		if a.scale > v.scale {
			d = d.IncreaseScaleBy(a.scale - v.scale)
		}
		k.hi, k.lo = d.HighBits(), int64(d.LowBits())
	case vkStr:
		k.s = v.strs[i]
	}
	return k
}

func (a *distinctAcc) add(k dkey, n int64) {
	if c, dup := a.seen[k]; dup {
		if a.counted {
			a.seen[k] = c + n
		}
		return
	}
	if k.s != "" {
		k.s = strings.Clone(k.s)
	}
	a.seen[k] = n
	a.perSlot[k.slot] = append(a.perSlot[k.slot], k)
}

func (a *distinctAcc) update(slots []int32, v *colView, _ int64) {
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.add(a.keyOf(s, v, i), 1)
		}
	}
}

func (a *distinctAcc) retract(slots []int32, v *colView) {
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.add(a.keyOf(s, v, i), -1)
		}
	}
}

func (a *distinctAcc) merge(dst, src int32) {
	for _, k := range a.perSlot[src] {
		n := a.seen[k]
		delete(a.seen, k)
		k.slot = dst
		a.add(k, n)
	}
	a.perSlot[src] = nil
}

func (a *distinctAcc) reset(s int32) {
	for _, k := range a.perSlot[s] {
		delete(a.seen, k)
	}
	a.perSlot[s] = nil
	a.inner.reset(s)
}

// live reports whether value k takes part in its slot's result.
func (a *distinctAcc) live(k dkey) bool { return a.seen[k] > 0 }

// result feeds each slot's distinct values to the inner accumulator (its
// slots are empty until now) and reads its results.
func (a *distinctAcc) result(slots []int32, out *colView) {
	v := &a.view
	n := 0
	for _, s := range slots {
		n += len(a.perSlot[s])
	}
	v.reset(a.kind, n)
	v.valid = nil
	v.scale = max(a.scale, 0)
	a.slots = resize(a.slots, n)
	i := 0
	for _, s := range slots {
		for _, k := range a.perSlot[s] {
			if a.counted && !a.live(k) {
				continue
			}
			a.slots[i] = s
			switch a.kind {
			case vkInt:
				v.ints[i] = k.lo
			case vkFloat:
				v.floats[i] = math.Float64frombits(uint64(k.lo))
			case vkDec:
				v.decs[i] = decimal128.New(k.hi, uint64(k.lo))
			case vkStr:
				v.strs[i] = k.s
			}
			i++
		}
	}
	a.inner.update(a.slots[:i], v, 0)
	a.inner.result(slots, out)
}

// encode writes the slot's values, with counted their counts too (values
// whose count is 0 are left out).
func (a *distinctAcc) encode(w *wbuf, s int32) {
	n := 0
	for _, k := range a.perSlot[s] {
		if !a.counted || a.seen[k] != 0 {
			n++
		}
	}
	w.uvarint(uint64(n))
	for _, k := range a.perSlot[s] {
		c := a.seen[k]
		if a.counted && c == 0 {
			continue
		}
		w.varint(k.hi)
		w.varint(k.lo)
		w.str(k.s)
		if a.counted {
			w.varint(c)
		}
	}
}

func (a *distinctAcc) decode(r *rbuf, s int32) {
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		k := dkey{slot: s, hi: r.varint(), lo: r.varint(), s: r.str()}
		c := int64(1)
		if a.counted {
			c = r.varint()
		}
		a.add(k, c)
	}
}

// minMaxRetractAcc is MIN and MAX over an updating input, Flink's
// MinWithRetractAggFunction/MaxWithRetractAggFunction: each slot keeps
// the multiset of its values (value -> number of rows), so that
// retracting the current extreme falls back to the next one. The result
// is found when the window fires, once per slot.
//
// Values of type T are kept as map keys of type K: the values themselves,
// except DOUBLE, whose keys are their javaDoubleBits (a NaN key would
// never be found again, NaN not being equal to itself) compared as Java's
// Double.compareTo does, as Flink's map of Double keys: NaN is above
// every number, so MAX of a window holding a NaN is NaN until the NaN is
// retracted, and -0.0 is below 0.0.
type minMaxRetractAcc[T int64 | float64 | string | decimal128.Num, K comparable] struct {
	isMax bool
	pick  func(*colView) []T
	key   func(T) K
	val   func(K) T
	less  func(a, b K) bool
	clone func(K) K
	vals  []map[K]int64
}

func identity[T any](x T) T { return x }

func newMinMaxRetractAcc(k vkind, isMax bool, scale int32) windowAcc {
	switch k {
	case vkInt:
		return &minMaxRetractAcc[int64, int64]{isMax: isMax, pick: pickInts, key: identity[int64], val: identity[int64],
			less: func(a, b int64) bool { return a < b }}
	case vkFloat:
		return &minMaxRetractAcc[float64, uint64]{isMax: isMax, pick: pickFloats, key: javaDoubleBits,
			val: math.Float64frombits, less: javaDoubleLess}
	case vkStr:
		return &minMaxRetractAcc[string, string]{isMax: isMax, pick: pickStrs, key: identity[string], val: identity[string],
			clone: strings.Clone, less: func(a, b string) bool { return a < b }}
	case vkDec:
		return &minMaxRetractAcc[decimal128.Num, decimal128.Num]{isMax: isMax,
			pick: func(v *colView) []decimal128.Num { return v.decsAt(scale) },
			key:  identity[decimal128.Num], val: identity[decimal128.Num],
			less: func(a, b decimal128.Num) bool { return a.Less(b) }}
	}
	return nil
}

func (a *minMaxRetractAcc[T, K]) grow(n int) { a.vals = growTo(a.vals, n) }

// add changes the count of x in slot s by n, dropping values whose count
// returns to 0.
func (a *minMaxRetractAcc[T, K]) add(s int32, x K, n int64) {
	m := a.vals[s]
	if m == nil {
		m = make(map[K]int64, 1)
		a.vals[s] = m
	}
	c, ok := m[x]
	switch {
	case c+n == 0:
		delete(m, x)
	case ok:
		m[x] = c + n
	default:
		if a.clone != nil {
			x = a.clone(x)
		}
		m[x] = n
	}
}

func (a *minMaxRetractAcc[T, K]) update(slots []int32, v *colView, _ int64) {
	vals := a.pick(v)
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.add(s, a.key(vals[i]), 1)
		}
	}
}

func (a *minMaxRetractAcc[T, K]) retract(slots []int32, v *colView) {
	vals := a.pick(v)
	for i, s := range slots {
		if s >= 0 && v.isValid(i) {
			a.add(s, a.key(vals[i]), -1)
		}
	}
}

func (a *minMaxRetractAcc[T, K]) merge(dst, src int32) {
	for x, n := range a.vals[src] {
		a.add(dst, x, n)
	}
}

func (a *minMaxRetractAcc[T, K]) reset(s int32) { a.vals[s] = nil }

func (a *minMaxRetractAcc[T, K]) result(slots []int32, out *colView) {
	best := make([]T, len(slots))
	has := make([]bool, len(slots))
	for i, s := range slots {
		var b K
		for x, n := range a.vals[s] {
			if n > 0 && (!has[i] || (a.isMax && a.less(b, x)) || (!a.isMax && a.less(x, b))) {
				b, has[i] = x, true
			}
		}
		if has[i] {
			best[i] = a.val(b)
		}
	}
	idx := make([]int32, len(slots))
	for i := range idx {
		idx[i] = int32(i)
	}
	resultOf(best, has, idx, out)
}

func (a *minMaxRetractAcc[T, K]) encode(w *wbuf, s int32) {
	m := a.vals[s]
	w.uvarint(uint64(len(m)))
	for x, n := range m {
		encodeOpt(w, a.val(x), true)
		w.varint(n)
	}
}

func (a *minMaxRetractAcc[T, K]) decode(r *rbuf, s int32) {
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		x, _ := decodeOpt[T](r)
		a.add(s, a.key(x), r.varint())
	}
}
