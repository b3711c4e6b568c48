package agg

import (
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// Local-global (two-phase) aggregation, Flink's
// table.optimizer.agg-phase-strategy. A local aggregate accumulates a
// mini-batch per group with the ordinary kernels (State.Accumulate, which
// retracts on -U/-D rows and records no per-row results), then drains
// each group's accumulators into columns (State.Drain) and empties them;
// a global aggregate merges such columns into its keyed accumulators
// (State.Merge), kernels built exactly as a one-phase aggregate's for the
// same call, so that its results and snapshots are those of the
// one-phase aggregate.
//
// Accumulators are additive, so what a local aggregate drains is the
// change of the group within its bundle (sums and counts may be
// negative under retraction) and merging adds it. MIN and MAX over an
// insert-only input ship their extreme; under retraction they ship the
// change of their multiset of values (Flink's MapView): each value with
// the change of its count, negative for a value the bundle retracted
// more often than it added. DISTINCT calls ship their distinct views
// (distinct_merge.go); user-defined aggregates stay one-phase.

// AccField is one accumulator field of a call as the local aggregate
// emits it: the field's name prefix (Flink's sum$0, count$1) and type.
type AccField struct {
	Name string
	Type types.DataType
}

// Accumulators returns the accumulator fields of call over arguments of
// the given types, and false when the call cannot be split into local and
// global phases. retract tells whether the input is a changelog.
func Accumulators(call Call, args []types.DataType, retract bool) ([]AccField, bool) {
	if call.Distinct {
		return nil, false
	}
	fn := strings.ToUpper(call.Func)
	if fn == "COUNT" {
		return []AccField{{"count", types.BigIntType.WithNullable(false)}}, true
	}
	if len(args) != 1 {
		return nil, false
	}
	count := AccField{"count", types.BigIntType.WithNullable(false)}
	arg := args[0]
	phys := physicalOf(arg.Arrow())
	switch fn {
	case approxCountDistinct:
		// The sketch, encoded as its state is (Flink's HllBuffer); a
		// sketch cannot retract, so a changelog input stays one-phase
		// and fails there.
		if retract {
			return nil, false
		}
		return []AccField{{"hll", types.BytesType.WithNullable(false)}}, true
	case "SUM", "AVG":
		sum, ok := sumAccType(arg, phys, false)
		if !ok {
			return nil, false
		}
		return []AccField{{"sum", sum}, count}, true
	case "STDDEV_POP", "STDDEV_SAMP", "STDDEV", "VAR_POP", "VAR_SAMP", "VARIANCE":
		sum, ok := sumAccType(arg, phys, true)
		if !ok {
			return nil, false
		}
		return []AccField{{"sum", sum}, {"sumsq", sum}, count}, true
	case "MIN", "MAX":
		if phys == physInvalid {
			return nil, false
		}
		if retract {
			// The multiset of values with their counts (Flink's
			// MinWithRetractAccumulator map), as two parallel arrays.
			return []AccField{
				{"map", types.ArrayType(call.Type.WithNullable(false))},
				{"mapcount", types.ArrayType(types.BigIntType.WithNullable(false))},
			}, true
		}
		return []AccField{{strings.ToLower(fn), call.Type.WithNullable(true)}}, true
	}
	return nil, false
}

// sumAccType is the type of the sum a kernel keeps for arg (sumK's and
// varianceK's S, decSumK's exact decimal at the argument's scale).
func sumAccType(arg types.DataType, phys physical, variance bool) (types.DataType, bool) {
	notNull := func(t types.DataType) types.DataType { return t.WithNullable(false) }
	switch phys {
	case physInt8, physInt16, physInt32, physInt64:
		return notNull(types.BigIntType), arg.IsNumeric()
	case physFloat32:
		if variance {
			return notNull(types.DoubleType), true
		}
		return notNull(types.FloatType), true
	case physFloat64:
		return notNull(types.DoubleType), true
	case physDecimal:
		if variance {
			return notNull(types.DoubleType), true
		}
		return notNull(types.DecimalType(types.MaxDecimalPrecision, arg.Scale)), true
	}
	return types.DataType{}, false
}

// mergeKernel is a kernel whose accumulators split into local and global
// phases.
//
// drain builds, for each of slots, the accumulator fields as columns of
// the types dts (one per field, Accumulators' order) into dst, and
// empties those slots. merge applies rows of accumulator columns: row i
// adds into group slots[i] (rows with slots[i] < 0 are skipped) and, as
// update does, records the group's result before and after the row.
type mergeKernel interface {
	kernel
	// accumulate is update without recording results, for a local
	// aggregate, which only drains its accumulators.
	accumulate(cols []arrow.Array, slots []int32, retract, act []bool)
	drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array)
	merge(cols []arrow.Array, slots []int32)
}

// NewMergeState builds a global aggregate's accumulators for call over
// arguments of the Arrow types args (the local aggregate's input, a
// changelog when retract): the kernels of a one-phase aggregate over the
// same input, which Merge feeds with the accumulator columns call.Args of
// the global's input.
func NewMergeState(call Call, args []arrow.DataType, retract bool) (*State, error) {
	fn := strings.ToUpper(call.Func)
	if call.Filter >= 0 {
		return nil, fmt.Errorf("aggregate %s: a global aggregate merges accumulators without FILTER", call)
	}
	k, err := newMergeKernel(call, fn, args, retract)
	if err != nil {
		return nil, err
	}
	if call.Distinct {
		return newDistinctMergeState(call, k, args)
	}
	return &State{call: call, out: call.Type.Arrow(), k: k, cols: make([]arrow.Array, len(call.Args))}, nil
}

// newMergeKernel is the kernel of call (function fn) over args, which a
// global aggregate merges accumulators into.
func newMergeKernel(call Call, fn string, args []arrow.DataType, retract bool) (kernel, error) {
	k, err := newKernel(fn, args, call.Type, retract)
	if err != nil {
		return nil, err
	}
	if fn != "COUNT" && physicalOf(call.Type.Arrow()) != resultPhysical(fn, args) {
		return nil, fmt.Errorf("aggregate %s: result type %s does not fit its argument", call, call.Type)
	}
	if _, ok := k.(mergeKernel); !ok {
		return nil, fmt.Errorf("aggregate %s cannot merge accumulators", call)
	}
	return k, nil
}

// Mergeable reports whether the state can drain its accumulators for a
// global aggregate (Drain).
func (s *State) Mergeable() bool {
	if s.view != nil {
		return true
	}
	_, ok := s.k.(mergeKernel)
	return ok && s.dist == nil
}

// Drain builds the accumulator columns (of the types dts, Accumulators'
// order) of the groups slots and empties them: a local aggregate's output
// for one bundle.
func (s *State) Drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) error {
	if s.view != nil {
		s.view.drain(s.distC, mem, dts, slots, dst)
		return nil
	}
	mk, ok := s.k.(mergeKernel)
	if !ok || s.dist != nil {
		return fmt.Errorf("aggregate %s cannot be split into local and global phases", s.call)
	}
	mk.drain(mem, dts, slots, dst)
	return nil
}

// Accumulate applies the rows of b as Update does, without recording the
// per-row results (a local aggregate emits accumulators, not results).
// The state must be Mergeable.
func (s *State) Accumulate(b arrow.RecordBatch, slots []int32, retract []bool) {
	if s.view != nil {
		s.accumulateView(b, slots, retract)
		return
	}
	act := s.prepare(b, slots, retract)
	s.k.(mergeKernel).accumulate(s.cols, slots, retract, act)
	clear(s.cols)
}

// Merge adds row i of b's accumulator columns (call.Args) into group
// slots[i], skipping rows with slots[i] < 0; afterwards MarkChanged and
// Build read the results before and after each row, as after Update.
func (s *State) Merge(b arrow.RecordBatch, slots []int32) {
	for i, a := range s.call.Args {
		s.cols[i] = b.Column(a)
	}
	s.k.(mergeKernel).merge(s.cols, slots)
	clear(s.cols)
}

// gather builds a column of type dt from src[s] for each of slots, NULL
// where valid (nil: all valid) is false. Fixed-width values are written
// straight into the column's buffer.
func gather[T comparable](mem memory.Allocator, dt arrow.DataType, src []T, valid []bool, slots []int32) arrow.Array {
	n := len(slots)
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY, arrow.BOOL:
		vals, ok := make([]T, n), make([]bool, n)
		for j, s := range slots {
			vals[j], ok[j] = src[s], valid == nil || valid[s]
		}
		return buildColumn(mem, dt, vals, ok)
	}
	var zero T
	data := memory.NewResizableBuffer(mem)
	data.Resize(n * int(unsafe.Sizeof(zero)))
	vals := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(data.Bytes()))), n)
	nulls := 0
	for j, s := range slots {
		vals[j] = src[s]
		if valid != nil && !valid[s] {
			nulls++
		}
	}
	var bm *memory.Buffer
	if nulls > 0 {
		bm = memory.NewResizableBuffer(mem)
		bm.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := bm.Bytes()
		clear(bits)
		for j, s := range slots {
			if valid[s] {
				bitutil.SetBit(bits, j)
			}
		}
	}
	d := array.NewData(dt, n, []*memory.Buffer{bm, data}, nil, nulls, 0)
	data.Release()
	if bm != nil {
		bm.Release()
	}
	defer d.Release()
	return array.MakeFromData(d)
}

// ---- COUNT ----

func (k *countK) drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) {
	dst[0] = gather(mem, dts[0], k.n, nil, slots)
	for _, s := range slots {
		k.n[s] = 0
	}
}

func (k *countK) accumulate(cols []arrow.Array, slots []int32, retract, act []bool) {
	var v validity
	if !k.star {
		v = validityOf(cols[0])
	}
	for i, s := range slots {
		if s < 0 || !active(act, i) || !v.ok(i) {
			continue
		}
		if retract[i] {
			k.n[s]--
		} else {
			k.n[s]++
		}
	}
}

func (k *countK) merge(cols []arrow.Array, slots []int32) {
	r := &k.res
	r.reset(len(slots))
	acc := fixedView[int64](cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.n[s], true
		k.n[s] += acc[i]
		r.after[i], r.aOK[i] = k.n[s], true
	}
}

// ---- SUM and AVG ----

func (k *sumK[T, S, O]) drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) {
	dst[0] = gather(mem, dts[0], k.sum, nil, slots)
	dst[1] = gather(mem, dts[1], k.cnt, nil, slots)
	for _, s := range slots {
		k.sum[s], k.cnt[s] = 0, 0
	}
}

func (k *sumK[T, S, O]) accumulate(cols []arrow.Array, slots []int32, retract, act []bool) {
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 || !active(act, i) || !v.ok(i) {
			continue
		}
		if retract[i] {
			k.sum[s] -= S(vals[i])
			k.cnt[s]--
		} else {
			k.sum[s] += S(vals[i])
			k.cnt[s]++
		}
	}
}

func (k *sumK[T, S, O]) merge(cols []arrow.Array, slots []int32) {
	r := &k.res
	r.reset(len(slots))
	sums, cnts := fixedView[S](cols[0]), fixedView[int64](cols[1])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		k.sum[s] += sums[i]
		k.cnt[s] += cnts[i]
		r.after[i], r.aOK[i] = k.value(s)
	}
}

func (k *decSumK) drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) {
	dst[0] = gather(mem, dts[0], k.sum, nil, slots)
	dst[1] = gather(mem, dts[1], k.cnt, nil, slots)
	for _, s := range slots {
		k.sum[s], k.cnt[s] = decimal128.Num{}, 0
	}
}

func (k *decSumK) accumulate(cols []arrow.Array, slots []int32, retract, act []bool) {
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 || !active(act, i) || !v.ok(i) {
			continue
		}
		if retract[i] {
			k.sum[s] = k.sum[s].Sub(vals[i])
			k.cnt[s]--
		} else {
			k.sum[s] = k.sum[s].Add(vals[i])
			k.cnt[s]++
		}
	}
}

func (k *decSumK) merge(cols []arrow.Array, slots []int32) {
	r := &k.res
	r.reset(len(slots))
	sums, cnts := fixedView[decimal128.Num](cols[0]), fixedView[int64](cols[1])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		k.sum[s] = k.sum[s].Add(sums[i])
		k.cnt[s] += cnts[i]
		r.after[i], r.aOK[i] = k.value(s)
	}
}

// ---- STDDEV and VAR ----

func (k *varianceK[T, S, O]) drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) {
	dst[0] = gather(mem, dts[0], k.sum, nil, slots)
	dst[1] = gather(mem, dts[1], k.sq, nil, slots)
	dst[2] = gather(mem, dts[2], k.cnt, nil, slots)
	for _, s := range slots {
		k.sum[s], k.sq[s], k.cnt[s] = 0, 0, 0
	}
}

func (k *varianceK[T, S, O]) accumulate(cols []arrow.Array, slots []int32, retract, act []bool) {
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 || !active(act, i) || !v.ok(i) {
			continue
		}
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
}

func (k *varianceK[T, S, O]) merge(cols []arrow.Array, slots []int32) {
	r := &k.res
	r.reset(len(slots))
	sums, sqs, cnts := fixedView[S](cols[0]), fixedView[S](cols[1]), fixedView[int64](cols[2])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		k.sum[s] += sums[i]
		k.sq[s] += sqs[i]
		k.cnt[s] += cnts[i]
		r.after[i], r.aOK[i] = k.value(s)
	}
}

// ---- MIN and MAX over an insert-only input ----

func (k *extremeK[T, O]) drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) {
	dst[0] = gather(mem, dts[0], k.v, k.has, slots)
	for _, s := range slots {
		k.reset(s)
	}
}

// accumulate keeps the extreme of an insert-only input.
func (k *extremeK[T, O]) accumulate(cols []arrow.Array, slots []int32, _, act []bool) {
	var o O
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 || !active(act, i) || !v.ok(i) {
			continue
		}
		if x := vals[i]; !k.has[s] || (k.max && o.less(k.v[s], x)) || (!k.max && o.less(x, k.v[s])) {
			k.v[s], k.has[s] = o.own(x), true
		}
	}
}

// merge is update over the local extremes: NULL (a group without values
// in the bundle) leaves the group as it is.
func (k *extremeK[T, O]) merge(cols []arrow.Array, slots []int32) {
	k.update(cols, slots, nil, nil)
}

// ---- MIN and MAX under retraction ----

// accumulate keeps, per group, the change of each value's count: unlike
// update, a retraction of a value the bundle has not seen is kept as a
// negative count, for the global phase, which holds the value, to apply.
func (k *multisetK[T, O]) accumulate(cols []arrow.Array, slots []int32, retract, act []bool) {
	var o O
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 || !active(act, i) || !v.ok(i) {
			continue
		}
		d := int64(1)
		if retract[i] {
			d = -1
		}
		pos, found := k.find(s, vals[i])
		if !found {
			k.vals[s] = slices.Insert(k.vals[s], pos, o.own(vals[i]))
			k.cnts[s] = slices.Insert(k.cnts[s], pos, d)
		} else if k.cnts[s][pos] += d; k.cnts[s][pos] == 0 {
			k.vals[s] = slices.Delete(k.vals[s], pos, pos+1)
			k.cnts[s] = slices.Delete(k.cnts[s], pos, pos+1)
		}
	}
}

// drain emits each group's values and counts as two list columns.
func (k *multisetK[T, O]) drain(mem memory.Allocator, dts []arrow.DataType, slots []int32, dst []arrow.Array) {
	total := 0
	for _, s := range slots {
		total += len(k.vals[s])
	}
	offsets := make([]int32, 0, len(slots)+1)
	vals, cnts := make([]T, 0, total), make([]int64, 0, total)
	offsets = append(offsets, 0)
	for _, s := range slots {
		vals, cnts = append(vals, k.vals[s]...), append(cnts, k.cnts[s]...)
		offsets = append(offsets, int32(len(vals)))
		k.vals[s], k.cnts[s] = nil, nil
	}
	dst[0] = listColumn(mem, dts[0], offsets, vals)
	dst[1] = listColumn(mem, dts[1], offsets, cnts)
}

// merge applies each row's value count changes to its group's multiset;
// a value whose count falls to 0 (or below: retractions the group never
// had, which a one-phase aggregate ignores too) leaves it.
func (k *multisetK[T, O]) merge(cols []arrow.Array, slots []int32) {
	var o O
	r := &k.res
	r.reset(len(slots))
	valList, cntList := cols[0].(*array.List), cols[1].(*array.List)
	vals := k.vw.view(valList.ListValues())
	cnts := fixedView[int64](cntList.ListValues())
	// Offsets are the unsliced buffers: a sliced list starts at its offset.
	offs, coffs := valList.Offsets()[valList.Data().Offset():], cntList.Offsets()[cntList.Data().Offset():]
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		for j, c := offs[i], coffs[i]; j < offs[i+1]; j, c = j+1, c+1 {
			x, d := vals[j], cnts[c]
			pos, found := k.find(s, x)
			switch {
			case found && k.cnts[s][pos]+d > 0:
				k.cnts[s][pos] += d
			case found:
				k.vals[s] = slices.Delete(k.vals[s], pos, pos+1)
				k.cnts[s] = slices.Delete(k.cnts[s], pos, pos+1)
			case d > 0:
				k.vals[s] = slices.Insert(k.vals[s], pos, o.own(x))
				k.cnts[s] = slices.Insert(k.cnts[s], pos, d)
			}
		}
		r.after[i], r.aOK[i] = k.value(s)
	}
}

// listColumn builds a list column of type dt (a list of non-null values)
// from the flattened values and the offsets of each row's list.
func listColumn[T comparable](mem memory.Allocator, dt arrow.DataType, offsets []int32, vals []T) arrow.Array {
	elem := dt.(*arrow.ListType).Elem()
	idx := make([]int32, len(vals))
	for i := range idx {
		idx[i] = int32(i)
	}
	child := gather(mem, elem, vals, nil, idx)
	defer child.Release()
	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize(len(offsets) * 4)
	copy(arrow.Int32Traits.CastFromBytes(offBuf.Bytes()), offsets)
	defer offBuf.Release()
	d := array.NewData(dt, len(offsets)-1, []*memory.Buffer{nil, offBuf}, []arrow.ArrayData{child.Data()}, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
