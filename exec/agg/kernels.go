package agg

import (
	"math"
	"math/big"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// kernel is one aggregate function's accumulators for every group slot of
// an operator, stored column-wise (one typed slice per accumulator field,
// indexed by slot). update applies a whole batch in one typed loop.
//
// Contract of update: rows are applied in order; row i goes to group
// slots[i], retracting when retract[i]; rows with slots[i] < 0 are skipped
// and their results left undefined; act (nil = all) excludes rows from
// the aggregate (FILTER, DISTINCT duplicates) while still recording their
// results. NULL arguments are skipped by the kernel, as SQL aggregates do.
// For every row it records its group's result before and after the row.
type kernel interface {
	grow(n int)
	reset(s int32)
	update(cols []arrow.Array, slots []int32, retract, act []bool)
	changed(changed []bool)
	build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array
	appendState(dst []byte, s int32) []byte
	readState(src []byte, s int32) ([]byte, error)
}

func active(act []bool, i int) bool { return act == nil || act[i] }

// ---- COUNT ----

type countK struct {
	star bool
	n    []int64
	res  results[int64]
}

func (k *countK) grow(n int)       { k.n = growTo(k.n, n) }
func (k *countK) reset(s int32)    { k.n[s] = 0 }
func (k *countK) changed(c []bool) { markChanged[int64, intOps[int64]](&k.res, c) }
func (k *countK) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *countK) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	r := &k.res
	r.reset(len(slots))
	var v validity
	if !k.star {
		v = validityOf(cols[0])
	}
	if act != nil && v.bits == nil {
		// FILTER and DISTINCT masks flip from row to row unpredictably:
		// add each row's flags rather than branch on them.
		for i, s := range slots {
			if s < 0 {
				continue
			}
			n := k.n[s]
			r.before[i], r.bOK[i] = n, true
			n += boolInt(act[i]) * (1 - 2*boolInt(retract[i]))
			k.n[s] = n
			r.after[i], r.aOK[i] = n, true
		}
		return
	}
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.n[s], true
		if active(act, i) && v.ok(i) {
			if retract[i] {
				k.n[s]--
			} else {
				k.n[s]++
			}
		}
		r.after[i], r.aOK[i] = k.n[s], true
	}
}

// boolInt is 1 for true and 0 for false, without a branch (a bool is one
// byte holding 0 or 1).
func boolInt(b bool) int64 { return int64(*(*uint8)(unsafe.Pointer(&b))) }

func (k *countK) appendState(dst []byte, s int32) []byte { return putInt(dst, k.n[s]) }
func (k *countK) readState(src []byte, s int32) ([]byte, error) {
	v, rest, err := getInt(src)
	k.n[s] = v
	return rest, err
}

// ---- SUM and AVG over integers and floats ----

// sumK keeps a sum in S (int64 for integers, so that integer sums wrap
// like Java's, the argument's own float type for floats) and the count of
// non-NULL values: the result is NULL when no value remains. With avg it
// divides: integer AVG truncates like Flink's integer division.
type sumK[T number, S number, O ops[T]] struct {
	avg bool
	sum []S
	cnt []int64
	vw  viewer[T]
	res results[T]
}

func (k *sumK[T, S, O]) grow(n int)       { k.sum, k.cnt = growTo(k.sum, n), growTo(k.cnt, n) }
func (k *sumK[T, S, O]) reset(s int32)    { k.sum[s], k.cnt[s] = 0, 0 }
func (k *sumK[T, S, O]) changed(c []bool) { markChanged[T, O](&k.res, c) }
func (k *sumK[T, S, O]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *sumK[T, S, O]) value(s int32) (T, bool) {
	c := k.cnt[s]
	if c == 0 {
		return 0, false
	}
	if k.avg {
		return T(k.sum[s] / S(c)), true
	}
	return T(k.sum[s]), true
}

func (k *sumK[T, S, O]) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		if i > 0 && slots[i-1] == s {
			// The slot's value is the one the previous row left: AVG
			// divides once per row, not twice, over runs of rows of one
			// slot (an OVER window's frames replayed into one slot).
			r.before[i], r.bOK[i] = r.after[i-1], r.aOK[i-1]
		} else {
			r.before[i], r.bOK[i] = k.value(s)
		}
		if active(act, i) && v.ok(i) {
			if retract[i] {
				k.sum[s] -= S(vals[i])
				k.cnt[s]--
			} else {
				k.sum[s] += S(vals[i])
				k.cnt[s]++
			}
		}
		r.after[i], r.aOK[i] = k.value(s)
	}
}

func (k *sumK[T, S, O]) appendState(dst []byte, s int32) []byte {
	dst = floatOps[float64]{}.put(dst, float64(k.sum[s]))
	if isInt[S]() {
		dst = putInt(dst, int64(k.sum[s]))
	}
	return putInt(dst, k.cnt[s])
}

func (k *sumK[T, S, O]) readState(src []byte, s int32) ([]byte, error) {
	f, src, err := floatOps[float64]{}.get(src)
	if err != nil {
		return nil, err
	}
	k.sum[s] = S(f)
	if isInt[S]() {
		var v int64
		if v, src, err = getInt(src); err != nil {
			return nil, err
		}
		k.sum[s] = S(v)
	}
	k.cnt[s], src, err = getInt(src)
	return src, err
}

// isInt reports whether S is an integer type (S(1)/2 truncates to 0).
func isInt[S number]() bool { return S(1)/S(2) == 0 }

// ---- SUM and AVG over DECIMAL ----

// decSumK sums decimals exactly at the argument's scale; AVG divides by
// the count into the result's scale, rounding half up like BigDecimal.
type decSumK struct {
	avg           bool
	scale, rScale int32
	sum           []decimal128.Num
	cnt           []int64
	vw            viewer[decimal128.Num]
	res           results[decimal128.Num]
}

func (k *decSumK) grow(n int)       { k.sum, k.cnt = growTo(k.sum, n), growTo(k.cnt, n) }
func (k *decSumK) reset(s int32)    { k.sum[s], k.cnt[s] = decimal128.Num{}, 0 }
func (k *decSumK) changed(c []bool) { markChanged[decimal128.Num, decOps](&k.res, c) }
func (k *decSumK) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *decSumK) value(s int32) (decimal128.Num, bool) {
	c := k.cnt[s]
	if c == 0 {
		return decimal128.Num{}, false
	}
	if !k.avg {
		return k.sum[s], true
	}
	num := k.sum[s].BigInt()
	num.Mul(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k.rScale-k.scale)), nil))
	return decimal128.FromBigInt(divHalfUp(num, big.NewInt(c))), true
}

// divHalfUp divides rounding half away from zero (Java's HALF_UP).
func divHalfUp(a, b *big.Int) *big.Int {
	q, m := new(big.Int).QuoRem(a, b, new(big.Int))
	if m.Sign() != 0 {
		m2 := new(big.Int).Abs(m)
		m2.Lsh(m2, 1)
		if m2.Cmp(new(big.Int).Abs(b)) >= 0 {
			if (a.Sign() < 0) != (b.Sign() < 0) {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	return q
}

func (k *decSumK) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		if active(act, i) && v.ok(i) {
			if retract[i] {
				k.sum[s] = k.sum[s].Sub(vals[i])
				k.cnt[s]--
			} else {
				k.sum[s] = k.sum[s].Add(vals[i])
				k.cnt[s]++
			}
		}
		r.after[i], r.aOK[i] = k.value(s)
	}
}

func (k *decSumK) appendState(dst []byte, s int32) []byte {
	return putInt(decOps{}.put(dst, k.sum[s]), k.cnt[s])
}

func (k *decSumK) readState(src []byte, s int32) ([]byte, error) {
	v, src, err := decOps{}.get(src)
	if err != nil {
		return nil, err
	}
	k.sum[s] = v
	k.cnt[s], src, err = getInt(src)
	return src, err
}

// ---- MIN and MAX ----

// oneValue is the state of the kernels keeping one value per group
// (extremeK, firstK); each keeps its own update loop.
type oneValue[T comparable, O ops[T]] struct {
	v   []T
	has []bool
	vw  viewer[T]
	res results[T]
}

func (k *oneValue[T, O]) grow(n int) { k.v, k.has = growTo(k.v, n), growTo(k.has, n) }
func (k *oneValue[T, O]) reset(s int32) {
	var zero T
	k.v[s], k.has[s] = zero, false
}
func (k *oneValue[T, O]) changed(c []bool) { markChanged[T, O](&k.res, c) }
func (k *oneValue[T, O]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *oneValue[T, O]) appendState(dst []byte, s int32) []byte {
	return putMaybe[T, O](dst, k.v[s], k.has[s])
}

func (k *oneValue[T, O]) readState(src []byte, s int32) ([]byte, error) {
	v, has, src, err := getMaybe[T, O](src)
	if has || err != nil {
		k.v[s], k.has[s] = v, has
	}
	return src, err
}

// extremeK is MIN/MAX over an insert-only input: one value per group.
type extremeK[T comparable, O ops[T]] struct {
	oneValue[T, O]
	max bool
}

func (k *extremeK[T, O]) update(cols []arrow.Array, slots []int32, _, act []bool) {
	var o O
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.v[s], k.has[s]
		if active(act, i) && v.ok(i) {
			x := vals[i]
			if !k.has[s] || (k.max && o.less(k.v[s], x)) || (!k.max && o.less(x, k.v[s])) {
				k.v[s], k.has[s] = o.own(x), true
			}
		}
		r.after[i], r.aOK[i] = k.v[s], k.has[s]
	}
}

// multisetK is MIN/MAX under retraction: per group, the distinct values
// in ascending order with their counts, so retracting the current extreme
// finds the next one. Retracting a value the group does not hold is
// ignored.
type multisetK[T comparable, O ops[T]] struct {
	max  bool
	vals [][]T
	cnts [][]int64
	vw   viewer[T]
	res  results[T]
}

func (k *multisetK[T, O]) grow(n int) { k.vals, k.cnts = growTo(k.vals, n), growTo(k.cnts, n) }
func (k *multisetK[T, O]) reset(s int32) {
	k.vals[s], k.cnts[s] = nil, nil
}
func (k *multisetK[T, O]) changed(c []bool) { markChanged[T, O](&k.res, c) }
func (k *multisetK[T, O]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *multisetK[T, O]) value(s int32) (T, bool) {
	vs := k.vals[s]
	if len(vs) == 0 {
		var zero T
		return zero, false
	}
	if k.max {
		return vs[len(vs)-1], true
	}
	return vs[0], true
}

func (k *multisetK[T, O]) find(s int32, x T) (int, bool) {
	var o O
	return slices.BinarySearchFunc(k.vals[s], x, func(a, b T) int {
		switch {
		case o.less(a, b):
			return -1
		case o.less(b, a):
			return 1
		}
		return 0
	})
}

func (k *multisetK[T, O]) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	var o O
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		if active(act, i) && v.ok(i) {
			x := vals[i]
			pos, found := k.find(s, x)
			switch {
			case !retract[i] && found:
				k.cnts[s][pos]++
			case !retract[i]:
				k.vals[s] = slices.Insert(k.vals[s], pos, o.own(x))
				k.cnts[s] = slices.Insert(k.cnts[s], pos, 1)
			case found:
				if k.cnts[s][pos]--; k.cnts[s][pos] == 0 {
					k.vals[s] = slices.Delete(k.vals[s], pos, pos+1)
					k.cnts[s] = slices.Delete(k.cnts[s], pos, pos+1)
				}
			}
		}
		r.after[i], r.aOK[i] = k.value(s)
	}
}

func (k *multisetK[T, O]) appendState(dst []byte, s int32) []byte {
	var o O
	dst = putInt(dst, int64(len(k.vals[s])))
	for j, x := range k.vals[s] {
		dst = putInt(o.put(dst, x), k.cnts[s][j])
	}
	return dst
}

func (k *multisetK[T, O]) readState(src []byte, s int32) ([]byte, error) {
	var o O
	n, src, err := getLen(src)
	if err != nil {
		return nil, err
	}
	k.vals[s], k.cnts[s] = make([]T, n), make([]int64, n)
	for j := range n {
		if k.vals[s][j], src, err = o.get(src); err != nil {
			return nil, err
		}
		if k.cnts[s][j], src, err = getInt(src); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// ---- FIRST_VALUE and LAST_VALUE ----

// firstK keeps the first (or, with last, the latest) non-NULL value of an
// insert-only input.
type firstK[T comparable, O ops[T]] struct {
	oneValue[T, O]
	last bool
}

func (k *firstK[T, O]) update(cols []arrow.Array, slots []int32, _, act []bool) {
	var o O
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.v[s], k.has[s]
		if active(act, i) && v.ok(i) && (k.last || !k.has[s]) {
			k.v[s], k.has[s] = o.own(vals[i]), true
		}
		r.after[i], r.aOK[i] = k.v[s], k.has[s]
	}
}

// seqK is FIRST_VALUE/LAST_VALUE under retraction: per group, the
// non-NULL values in arrival order (Flink orders them by arrival time).
// A retraction removes the earliest occurrence of its value, as Flink's
// FirstLastValueWithRetractAggFunctionBase does.
type seqK[T comparable, O ops[T]] struct {
	last bool
	seq  [][]T
	vw   viewer[T]
	res  results[T]
}

func (k *seqK[T, O]) grow(n int)       { k.seq = growTo(k.seq, n) }
func (k *seqK[T, O]) reset(s int32)    { k.seq[s] = nil }
func (k *seqK[T, O]) changed(c []bool) { markChanged[T, O](&k.res, c) }
func (k *seqK[T, O]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *seqK[T, O]) value(s int32) (T, bool) {
	q := k.seq[s]
	if len(q) == 0 {
		var zero T
		return zero, false
	}
	if k.last {
		return q[len(q)-1], true
	}
	return q[0], true
}

func (k *seqK[T, O]) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	var o O
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		if active(act, i) && v.ok(i) {
			if !retract[i] {
				k.seq[s] = append(k.seq[s], o.own(vals[i]))
			} else if j := slices.IndexFunc(k.seq[s], func(x T) bool { return o.same(x, vals[i]) }); j >= 0 {
				k.seq[s] = slices.Delete(k.seq[s], j, j+1)
			}
		}
		r.after[i], r.aOK[i] = k.value(s)
	}
}

func (k *seqK[T, O]) appendState(dst []byte, s int32) []byte {
	return putValues[T, O](dst, k.seq[s])
}

func (k *seqK[T, O]) readState(src []byte, s int32) ([]byte, error) {
	seq, src, err := getValues[T, O](src)
	if err != nil {
		return nil, err
	}
	k.seq[s] = seq
	return src, nil
}

// ---- LISTAGG ----

// listaggK concatenates the non-NULL strings of a group with the
// separator (the second argument, ',' by default). The joined string is
// kept per group and extended on accumulation; under retraction the
// values are kept too, a retraction removes the first occurrence of its
// value (Flink's ListView.remove) and the string is joined again.
type listaggK struct {
	retract bool
	cur     []string
	has     []bool
	list    [][]string
	vw, sw  viewer[string]
	res     results[string]
}

func (k *listaggK) grow(n int) {
	k.cur, k.has = growTo(k.cur, n), growTo(k.has, n)
	if k.retract {
		k.list = growTo(k.list, n)
	}
}

func (k *listaggK) reset(s int32) {
	k.cur[s], k.has[s] = "", false
	if k.retract {
		k.list[s] = nil
	}
}

func (k *listaggK) changed(c []bool) { markChanged[string, strOps](&k.res, c) }
func (k *listaggK) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *listaggK) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	var seps []string
	var sv validity
	if len(cols) > 1 {
		seps = k.sw.view(cols[1])
		sv = validityOf(cols[1])
	}
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.cur[s], k.has[s]
		if active(act, i) && v.ok(i) {
			sep := ","
			if seps != nil && sv.ok(i) {
				sep = seps[i]
			}
			switch {
			case !retract[i]:
				if k.has[s] {
					k.cur[s] = k.cur[s] + sep + vals[i]
				} else {
					k.cur[s], k.has[s] = strings.Clone(vals[i]), true
				}
				if k.retract {
					k.list[s] = append(k.list[s], strings.Clone(vals[i]))
				}
			case k.retract:
				if j := slices.Index(k.list[s], vals[i]); j >= 0 {
					k.list[s] = slices.Delete(k.list[s], j, j+1)
					k.cur[s], k.has[s] = strings.Join(k.list[s], sep), len(k.list[s]) > 0
				}
			}
		}
		r.after[i], r.aOK[i] = k.cur[s], k.has[s]
	}
}

func (k *listaggK) appendState(dst []byte, s int32) []byte {
	dst = putBool(dst, k.has[s])
	dst = strOps{}.put(dst, k.cur[s])
	if k.retract {
		dst = putValues[string, strOps](dst, k.list[s])
	}
	return dst
}

func (k *listaggK) readState(src []byte, s int32) ([]byte, error) {
	var err error
	if k.has[s], src, err = getBool(src); err != nil {
		return nil, err
	}
	if k.cur[s], src, err = (strOps{}).get(src); err != nil {
		return nil, err
	}
	if !k.retract {
		return src, nil
	}
	list, src, err := getValues[string, strOps](src)
	if err != nil {
		return nil, err
	}
	k.list[s] = list
	return src, nil
}

// ---- STDDEV and VAR ----

type varKind uint8

const (
	varPop varKind = iota
	varSamp
	stddevPop
	stddevSamp
)

// varianceK computes the variance family as Flink does after Calcite's
// AggregateReduceFunctionsRule: from SUM(x*x), SUM(x) and COUNT(x),
// VAR_POP = (SUM(x*x) - SUM(x)*SUM(x)/COUNT(x)) / COUNT(x), the sample
// forms divide by COUNT(x)-1 (NULL for one value), STDDEV is its square
// root, all in the argument's type: integer arguments use integer
// division and truncate the square root. Sums are kept in S (int64 for
// integers, float64 otherwise). DECIMAL arguments go through float64
// (toF/fromF convert), an approximation of Flink's decimal arithmetic.
type varianceK[T comparable, S number, O ops[T]] struct {
	kind    varKind
	sum, sq []S
	cnt     []int64
	toS     func(T) S
	fromF   func(float64) T
	fromS   func(S) T
	vw      viewer[T]
	res     results[T]
}

func (k *varianceK[T, S, O]) grow(n int) {
	k.sum, k.sq, k.cnt = growTo(k.sum, n), growTo(k.sq, n), growTo(k.cnt, n)
}
func (k *varianceK[T, S, O]) reset(s int32)    { k.sum[s], k.sq[s], k.cnt[s] = 0, 0, 0 }
func (k *varianceK[T, S, O]) changed(c []bool) { markChanged[T, O](&k.res, c) }
func (k *varianceK[T, S, O]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *varianceK[T, S, O]) value(s int32) (T, bool) {
	var zero T
	n := k.cnt[s]
	den := n
	if k.kind == varSamp || k.kind == stddevSamp {
		den = n - 1
	}
	if n == 0 || den == 0 {
		return zero, false
	}
	sum := k.sum[s]
	v := (k.sq[s] - sum*sum/S(n)) / S(den)
	if k.kind == varPop || k.kind == varSamp {
		return k.fromS(v), true
	}
	return k.fromF(math.Sqrt(float64(v))), true
}

func (k *varianceK[T, S, O]) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	r := &k.res
	r.reset(len(slots))
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		if active(act, i) && v.ok(i) {
			x := k.toS(vals[i])
			if retract[i] {
				k.sum[s] -= x
				k.sq[s] -= x * x
				k.cnt[s]--
			} else {
				k.sum[s] += x
				k.sq[s] += x * x
				k.cnt[s]++
			}
		}
		r.after[i], r.aOK[i] = k.value(s)
	}
}

func (k *varianceK[T, S, O]) appendState(dst []byte, s int32) []byte {
	f := floatOps[float64]{}
	if isInt[S]() {
		dst = putInt(putInt(dst, int64(k.sum[s])), int64(k.sq[s]))
	} else {
		dst = f.put(f.put(dst, float64(k.sum[s])), float64(k.sq[s]))
	}
	return putInt(dst, k.cnt[s])
}

func (k *varianceK[T, S, O]) readState(src []byte, s int32) ([]byte, error) {
	var err error
	if isInt[S]() {
		var a, b int64
		if a, src, err = getInt(src); err != nil {
			return nil, err
		}
		if b, src, err = getInt(src); err != nil {
			return nil, err
		}
		k.sum[s], k.sq[s] = S(a), S(b)
	} else {
		f := floatOps[float64]{}
		var a, b float64
		if a, src, err = f.get(src); err != nil {
			return nil, err
		}
		if b, src, err = f.get(src); err != nil {
			return nil, err
		}
		k.sum[s], k.sq[s] = S(a), S(b)
	}
	k.cnt[s], src, err = getInt(src)
	return src, err
}

// javaInt converts a double to an integer type as Java's narrowing cast
// does: NaN is 0, out-of-range values saturate.
func javaInt[T integer](f float64) T {
	if f != f {
		return 0
	}
	lo, hi := minOf[T](), maxOf[T]()
	switch {
	case f <= float64(lo):
		return lo
	case f >= float64(hi):
		return hi
	}
	return T(f)
}

func maxOf[T integer]() T {
	var z T
	bits := unsafe.Sizeof(z) * 8
	return T(uint64(1)<<(bits-1) - 1)
}

func minOf[T integer]() T { return -maxOf[T]() - 1 }

// decimal conversions of the variance family.
func decToF(scale int32) func(decimal128.Num) float64 {
	return func(v decimal128.Num) float64 { return v.ToFloat64(scale) }
}

func decFromF(prec, scale int32) func(float64) decimal128.Num {
	return func(f float64) decimal128.Num {
		v, err := decimal128.FromFloat64(f, prec, scale)
		if err != nil {
			return decimal128.Num{}
		}
		return v
	}
}
