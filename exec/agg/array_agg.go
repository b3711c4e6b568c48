package agg

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// ARRAY_AGG collects a group's values, NULLs included (Flink's default
// RESPECT NULLS), into an ARRAY in arrival order. The planner uses it for
// PostgreSQL's ARRAY(query) too, whose rows psql's describe commands read.

func arrayAggType(args []types.DataType) (types.DataType, error) {
	switch args[0].Kind {
	case types.Array, types.Map, types.Multiset, types.Row, types.Null:
		return types.DataType{}, fmt.Errorf("ARRAY_AGG of %s is not supported", args[0])
	}
	return types.ArrayType(args[0].WithNullable(true).WithTimeAttr(types.NoTimeAttr)), nil
}

// newArrayAgg picks the typed ARRAY_AGG kernel of an element type, or
// with collect COLLECT's (collect.go).
func newArrayAgg(dt arrow.DataType, collect bool) (kernel, error) {
	switch physicalOf(dt) {
	case physInt8:
		return &arrayAggK[int8, intOps[int8]]{collect: collect}, nil
	case physInt16:
		return &arrayAggK[int16, intOps[int16]]{collect: collect}, nil
	case physInt32:
		return &arrayAggK[int32, intOps[int32]]{collect: collect}, nil
	case physInt64:
		return &arrayAggK[int64, intOps[int64]]{collect: collect}, nil
	case physFloat32:
		return &arrayAggK[float32, floatOps[float32]]{collect: collect}, nil
	case physFloat64:
		return &arrayAggK[float64, floatOps[float64]]{collect: collect}, nil
	case physDecimal:
		return &arrayAggK[decimal128.Num, decOps]{collect: collect}, nil
	case physBool:
		return &arrayAggK[bool, boolOps]{collect: collect}, nil
	case physString:
		return &arrayAggK[string, strOps]{collect: collect}, nil
	}
	return nil, unsupported("ARRAY_AGG", dt)
}

// aggList is one group's collected values; ok[i] is false for a NULL.
type aggList[T comparable] struct {
	vals []T
	ok   []bool
}

func (l aggList[T]) clone() aggList[T] {
	return aggList[T]{vals: slices.Clone(l.vals), ok: slices.Clone(l.ok)}
}

func sameList[T comparable, O ops[T]](a, b aggList[T]) bool {
	var o O
	if len(a.vals) != len(b.vals) || !slices.Equal(a.ok, b.ok) {
		return false
	}
	for i := range a.vals {
		if a.ok[i] && !o.same(a.vals[i], b.vals[i]) {
			return false
		}
	}
	return true
}

// arrayAggK keeps each group's list; a retraction removes the first
// occurrence of its value (as Flink's ArrayAggFunction.retract does). A
// group whose list empties has no value (NULL), as a group without rows.
// With collect (COLLECT) NULL values are ignored and an empty list is an
// empty multiset, not NULL.
type arrayAggK[T comparable, O ops[T]] struct {
	collect       bool
	lists         []aggList[T]
	vw            viewer[T]
	before, after []aggList[T]
	bOK, aOK      []bool
	// elems and rows are build's scratch: the output's elements, gathered
	// into a results so that its typed column builder makes the child.
	elems results[T]
	rows  []int32
}

func (k *arrayAggK[T, O]) grow(n int)    { k.lists = growTo(k.lists, n) }
func (k *arrayAggK[T, O]) reset(s int32) { k.lists[s] = aggList[T]{} }

func (k *arrayAggK[T, O]) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	var o O
	n := len(slots)
	k.before, k.after = growTo(k.before[:0], n), growTo(k.after[:0], n)
	k.bOK, k.aOK = growTo(k.bOK[:0], n), growTo(k.aOK[:0], n)
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		k.bOK[i], k.aOK[i] = false, false
		if s < 0 {
			continue
		}
		l := k.lists[s]
		k.before[i], k.bOK[i] = l.clone(), len(l.vals) > 0 || k.collect
		if active(act, i) && (v.ok(i) || !k.collect) {
			var val T
			ok := v.ok(i)
			if ok {
				val = o.own(vals[i])
			}
			if !retract[i] {
				l.vals, l.ok = append(l.vals, val), append(l.ok, ok)
			} else {
				for j := range l.vals {
					if l.ok[j] == ok && (!ok || o.same(l.vals[j], val)) {
						// Into new arrays: the lists k.after holds for
						// earlier rows of this batch may share these, and
						// an in-place delete would shift (and clear) the
						// elements their changes are still to emit.
						l.vals, l.ok = slices.Concat(l.vals[:j], l.vals[j+1:]), slices.Concat(l.ok[:j], l.ok[j+1:])
						break
					}
				}
			}
			k.lists[s] = l
		}
		k.after[i], k.aOK[i] = l, len(l.vals) > 0 || k.collect
	}
}

func (k *arrayAggK[T, O]) changed(c []bool) {
	for i := range c {
		if k.bOK[i] != k.aOK[i] || (k.aOK[i] && !sameList[T, O](k.before[i], k.after[i])) {
			c[i] = true
		}
	}
}

// build makes the list column of rows: the offsets and validity here, the
// elements gathered into one typed child column.
func (k *arrayAggK[T, O]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	n := len(rows)
	offBuf := memory.NewResizableBuffer(mem)
	defer offBuf.Release()
	offBuf.Resize((n + 1) * arrow.Int32SizeBytes)
	offs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	valid := make([]bool, n)
	e := &k.elems
	e.after, e.aOK = e.after[:0], e.aOK[:0]
	for j, r := range rows {
		l, ok := k.after[r], k.aOK[r]
		if before[j] {
			l, ok = k.before[r], k.bOK[r]
		}
		offs[j] = int32(len(e.after))
		valid[j] = ok
		e.after, e.aOK = append(e.after, l.vals...), append(e.aOK, l.ok...)
	}
	m := len(e.after)
	offs[n] = int32(m)
	k.rows = growTo(k.rows[:0], m)
	for i := range k.rows {
		k.rows[i] = int32(i)
	}
	e.before, e.bOK = growTo(e.before[:0], m), growTo(e.bOK[:0], m)
	child := e.build(mem, dt.(*arrow.ListType).Elem(), k.rows, make([]bool, m))
	defer child.Release()
	clear(e.after) // drop references to strings of dropped groups
	bm, nulls := validityBitmap(mem, valid)
	data := array.NewData(dt, n, []*memory.Buffer{bm, offBuf}, []arrow.ArrayData{child.Data()}, nulls, 0)
	if bm != nil {
		bm.Release()
	}
	defer data.Release()
	return array.MakeFromData(data)
}

func (k *arrayAggK[T, O]) appendState(dst []byte, s int32) []byte {
	var o O
	l := k.lists[s]
	dst = putValues[bool, boolOps](dst, l.ok)
	for i, v := range l.vals {
		if l.ok[i] {
			dst = o.put(dst, v)
		}
	}
	return dst
}

func (k *arrayAggK[T, O]) readState(src []byte, s int32) ([]byte, error) {
	var o O
	ok, src, err := getValues[bool, boolOps](src)
	if err != nil {
		return nil, err
	}
	l := aggList[T]{vals: make([]T, len(ok)), ok: ok}
	for i := range ok {
		if ok[i] {
			if l.vals[i], src, err = o.get(src); err != nil {
				return nil, err
			}
		}
	}
	k.lists[s] = l
	return src, nil
}

// validityBitmap is the validity buffer of valid, nil when every entry is
// valid, and the number of NULLs.
func validityBitmap(mem memory.Allocator, valid []bool) (*memory.Buffer, int) {
	nulls := 0
	for _, ok := range valid {
		if !ok {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	bm := memory.NewResizableBuffer(mem)
	bm.Resize(int(bitutil.BytesForBits(int64(len(valid)))))
	bits := bm.Bytes()
	clear(bits)
	for i, ok := range valid {
		if ok {
			bitutil.SetBit(bits, i)
		}
	}
	return bm, nulls
}
