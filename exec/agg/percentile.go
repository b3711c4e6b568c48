package agg

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// PERCENTILE(value, percentage [, frequency]) is Flink 2.0's exact
// percentile: the group's non-NULL values (each counted frequency times, 1
// by default; rows with a NULL or non-positive frequency are skipped) are
// sorted, and the percentile at position percentage * (count - 1) is
// interpolated linearly between its neighbours. percentage is a DOUBLE
// between 0 and 1, or an ARRAY<DOUBLE> of them for an ARRAY<DOUBLE> of
// percentiles; the group's first row fixes it. A group without values is
// NULL. Retraction subtracts counts, so the function runs on changelogs.
// A percentage outside [0, 1] (or a NULL element of an array of them)
// fails the job, as in Flink; until then the group's result is NULL.

func init() {
	signatures["PERCENTILE"] = signature{2, 3, percentileType}
}

func percentileType(args []types.DataType) (types.DataType, error) {
	if !args[0].IsNumeric() {
		return types.DataType{}, fmt.Errorf("PERCENTILE expects a numeric value, got %s", args[0])
	}
	if len(args) == 3 && !args[2].IsInteger() {
		return types.DataType{}, fmt.Errorf("PERCENTILE expects an integer frequency, got %s", args[2])
	}
	p := args[1]
	switch {
	case p.IsNumeric():
		return types.DoubleType, nil
	case p.Kind == types.Array && p.Elem.IsNumeric():
		return types.ArrayType(types.DoubleType), nil
	}
	return types.DataType{}, fmt.Errorf("PERCENTILE expects a numeric percentage or an array of them, got %s", p)
}

// numberReader returns row i of a numeric column as a float64.
func numberReader(a arrow.Array) (func(i int) float64, error) {
	switch c := a.(type) {
	case *array.Int8:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Int16:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Int32:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Int64:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Float32:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Float64:
		return c.Value, nil
	case *array.Decimal128:
		scale := c.DataType().(*arrow.Decimal128Type).Scale
		return func(i int) float64 { return c.Value(i).ToFloat64(scale) }, nil
	}
	return nil, unsupported("PERCENTILE", a.DataType())
}

// newPercentile checks the argument columns' types.
func newPercentile(args []arrow.DataType) (kernel, error) {
	numeric := func(dt arrow.DataType) bool {
		switch dt.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128:
			return true
		}
		return false
	}
	k := &percentileK{}
	p := args[1]
	if l, ok := p.(*arrow.ListType); ok {
		k.multi, p = true, l.Elem()
	}
	for _, dt := range append([]arrow.DataType{args[0], p}, args[2:]...) {
		if !numeric(dt) {
			return nil, unsupported("PERCENTILE", dt)
		}
	}
	return k, nil
}

// percentileGroup is one group's percentages and its distinct values,
// sorted, with their counts.
type percentileGroup struct {
	pcts   []float64
	vals   []float64
	counts []int64
}

func (g *percentileGroup) add(v float64, n int64) {
	j := sort.SearchFloat64s(g.vals, v)
	if j < len(g.vals) && g.vals[j] == v {
		if g.counts[j] += n; g.counts[j] == 0 {
			g.vals, g.counts = slices.Delete(g.vals, j, j+1), slices.Delete(g.counts, j, j+1)
		}
		return
	}
	g.vals, g.counts = slices.Insert(g.vals, j, v), slices.Insert(g.counts, j, n)
}

// percentiles computes the group's results into out (one per percentage),
// false when the group has no values or a percentage is out of range.
func (g *percentileGroup) percentiles(out []float64) bool {
	var total int64
	for _, c := range g.counts {
		total += c
	}
	if total <= 0 || len(g.pcts) == 0 {
		return false
	}
	for k, p := range g.pcts {
		if p < 0 || p > 1 || math.IsNaN(p) {
			return false
		}
		pos := p*float64(total-1) + 1
		lower, higher := int64(math.Floor(pos)), int64(math.Ceil(pos))
		j, pre := 0, g.counts[0]
		for pre < lower {
			j++
			pre += g.counts[j]
		}
		if pre >= higher {
			out[k] = g.vals[j]
		} else {
			out[k] = (float64(higher)-pos)*g.vals[j] + (pos-float64(lower))*g.vals[j+1]
		}
	}
	return true
}

// percentileK keeps each group's values; results are recomputed after
// every row that changes them.
type percentileK struct {
	multi  bool
	err    error // the first invalid percentage (State.Err)
	groups []percentileGroup
	// before/after hold each batch row's results, pcts values per row.
	before, after [][]float64
	bOK, aOK      []bool
	res           results[float64] // single percentage
}

func (k *percentileK) grow(n int) { k.groups = growTo(k.groups, n) }

func (k *percentileK) takeErr() error {
	err := k.err
	k.err = nil
	return err
}

func (k *percentileK) reset(s int32) { k.groups[s] = percentileGroup{} }

// result is a group's current results, fresh slice.
func (k *percentileK) result(s int32) ([]float64, bool) {
	g := &k.groups[s]
	out := make([]float64, len(g.pcts))
	if !g.percentiles(out) {
		return nil, false
	}
	return out, true
}

func (k *percentileK) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	n := len(slots)
	k.before, k.after = growTo(k.before[:0], n), growTo(k.after[:0], n)
	k.bOK, k.aOK = growTo(k.bOK[:0], n), growTo(k.aOK[:0], n)
	val, _ := numberReader(cols[0]) // newPercentile checked the types
	vv := validityOf(cols[0])
	pv := validityOf(cols[1])
	pcts := k.percentageReader(cols[1])
	freq := func(int) (int64, bool) { return 1, true }
	if len(cols) == 3 {
		f, fv := cols[2], validityOf(cols[2])
		read, _ := numberReader(f)
		freq = func(i int) (int64, bool) { return int64(read(i)), fv.ok(i) }
	}
	for i, s := range slots {
		k.bOK[i], k.aOK[i] = false, false
		if s < 0 {
			continue
		}
		k.before[i], k.bOK[i] = k.result(s)
		g := &k.groups[s]
		if active(act, i) {
			if g.pcts == nil && pv.ok(i) {
				g.pcts = pcts(i)
				for _, p := range g.pcts {
					if !(p >= 0 && p <= 1) && k.err == nil {
						k.err = fmt.Errorf("percentage of PERCENTILE must be between 0.0 and 1.0, got %v", p)
					}
				}
			}
			if f, ok := freq(i); ok && f > 0 && vv.ok(i) {
				if retract[i] {
					f = -f
				}
				g.add(val(i), f)
			}
		}
		k.after[i], k.aOK[i] = k.result(s)
	}
	if !k.multi {
		r := &k.res
		r.reset(n)
		for i := range slots {
			r.bOK[i], r.aOK[i] = k.bOK[i], k.aOK[i]
			if k.bOK[i] {
				r.before[i] = k.before[i][0]
			}
			if k.aOK[i] {
				r.after[i] = k.after[i][0]
			}
		}
	}
}

// percentageReader returns the percentages of row i: one, or the elements
// of an ARRAY (a NULL element making the group's result NULL, as a value
// outside [0, 1] does).
func (k *percentileK) percentageReader(a arrow.Array) func(i int) []float64 {
	if !k.multi {
		read, err := numberReader(a)
		if err != nil {
			return func(int) []float64 { return []float64{math.NaN()} }
		}
		return func(i int) []float64 { return []float64{read(i)} }
	}
	l := a.(*array.List)
	elems := l.ListValues()
	read, err := numberReader(elems)
	return func(i int) []float64 {
		s, e := l.ValueOffsets(i)
		out := make([]float64, 0, e-s)
		for j := int(s); j < int(e); j++ {
			if err != nil || !elems.IsValid(j) {
				out = append(out, math.NaN())
				continue
			}
			out = append(out, read(j))
		}
		return out
	}
}

func (k *percentileK) changed(c []bool) {
	for i := range c {
		if k.bOK[i] != k.aOK[i] || k.aOK[i] && !slices.Equal(k.before[i], k.after[i]) {
			c[i] = true
		}
	}
}

func (k *percentileK) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	if !k.multi {
		return k.res.build(mem, dt, rows, before)
	}
	b := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float64)
	defer b.Release()
	vb := b.ValueBuilder().(*array.Float64Builder)
	for j, r := range rows {
		vals, ok := k.after[r], k.aOK[r]
		if before[j] {
			vals, ok = k.before[r], k.bOK[r]
		}
		if !ok {
			b.AppendNull()
			continue
		}
		b.Append(true)
		vb.AppendValues(vals, nil)
	}
	out := b.NewArray()
	defer out.Release()
	d := out.Data()
	data := array.NewData(dt, d.Len(), d.Buffers(), d.Children(), d.NullN(), d.Offset())
	defer data.Release()
	return array.MakeFromData(data)
}

func (k *percentileK) appendState(dst []byte, s int32) []byte {
	g := k.groups[s]
	dst = putBool(dst, g.pcts != nil)
	dst = putValues[float64, floatOps[float64]](dst, g.pcts)
	dst = putValues[float64, floatOps[float64]](dst, g.vals)
	return putValues[int64, intOps[int64]](dst, g.counts)
}

func (k *percentileK) readState(src []byte, s int32) ([]byte, error) {
	var g percentileGroup
	set, src, err := getBool(src)
	if err != nil {
		return nil, err
	}
	if g.pcts, src, err = getValues[float64, floatOps[float64]](src); err != nil {
		return nil, err
	}
	if set && g.pcts == nil {
		g.pcts = []float64{}
	}
	if g.vals, src, err = getValues[float64, floatOps[float64]](src); err != nil {
		return nil, err
	}
	if g.counts, src, err = getValues[int64, intOps[int64]](src); err != nil {
		return nil, err
	}
	if len(g.vals) != len(g.counts) {
		return nil, fmt.Errorf("corrupt PERCENTILE state: %d values, %d counts", len(g.vals), len(g.counts))
	}
	k.groups[s] = g
	return src, nil
}
