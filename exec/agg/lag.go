package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// overOnly lists the functions that are valid only in an OVER window, not
// as group aggregates, with their signatures: Flink's LAG(value [,
// offset]).
var overOnly = map[string]signature{
	"LAG": {1, 2, lagType},
}

// IsOverFunction reports whether name is a function computed only in OVER
// windows, such as LAG.
func IsOverFunction(name string) bool {
	_, ok := overOnly[name]
	return ok
}

// lagType is LAG's result: its value's type, NULL when the partition has
// fewer rows before the current one than the offset.
func lagType(args []types.DataType) (types.DataType, error) {
	if len(args) > 1 && !args[1].IsInteger() {
		return types.DataType{}, fmt.Errorf("the offset of LAG must be an integer, not %s", args[1])
	}
	return args[0].WithNullable(true), nil
}

// lagK is LAG(value [, offset]) (offset 1 by default, a constant column):
// per group (an OVER window's partition) the values of the last offset+1
// rows accumulated, NULLs included, oldest first. The result after a row
// is the value offset rows before it. Retractions, rows leaving a bounded
// frame, change nothing: the rows before the current one do not depend
// on the frame.
type lagK[T comparable, O ops[T]] struct {
	offset int
	vals   [][]T
	valid  [][]bool
	vw     viewer[T]
	res    results[T]
}

func (k *lagK[T, O]) grow(n int) { k.vals, k.valid = growTo(k.vals, n), growTo(k.valid, n) }
func (k *lagK[T, O]) reset(s int32) {
	k.vals[s], k.valid[s] = k.vals[s][:0], k.valid[s][:0]
}
func (k *lagK[T, O]) changed(c []bool) { markChanged[T, O](&k.res, c) }
func (k *lagK[T, O]) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

func (k *lagK[T, O]) value(s int32) (T, bool) {
	j := len(k.vals[s]) - 1 - k.offset
	if j < 0 {
		var zero T
		return zero, false
	}
	return k.vals[s][j], k.valid[s][j]
}

func (k *lagK[T, O]) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	var o O
	r := &k.res
	r.reset(len(slots))
	if len(cols) > 1 && cols[1].Len() > 0 {
		k.offset = constantInt(cols[1])
	}
	vals := k.vw.view(cols[0])
	v := validityOf(cols[0])
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s)
		if active(act, i) && !retract[i] {
			var x T
			if v.ok(i) {
				x = o.own(vals[i])
			}
			k.vals[s], k.valid[s] = append(k.vals[s], x), append(k.valid[s], v.ok(i))
			if n := len(k.vals[s]); n > k.offset+1 {
				k.vals[s] = append(k.vals[s][:0], k.vals[s][n-k.offset-1:]...)
				k.valid[s] = append(k.valid[s][:0], k.valid[s][n-k.offset-1:]...)
			}
		}
		r.after[i], r.aOK[i] = k.value(s)
	}
}

// constantInt reads the first value of an integer column of constants; a
// negative or NULL offset counts as 0.
func constantInt(a arrow.Array) int {
	if a.IsNull(0) {
		return 0
	}
	var v int64
	switch c := a.(type) {
	case *array.Int8:
		v = int64(c.Value(0))
	case *array.Int16:
		v = int64(c.Value(0))
	case *array.Int32:
		v = int64(c.Value(0))
	case *array.Int64:
		v = c.Value(0)
	}
	return int(max(v, 0))
}

func (k *lagK[T, O]) appendState(dst []byte, s int32) []byte {
	var o O
	dst = putInt(dst, int64(len(k.vals[s])))
	for j, x := range k.vals[s] {
		dst = putBool(dst, k.valid[s][j])
		if k.valid[s][j] {
			dst = o.put(dst, x)
		}
	}
	return dst
}

func (k *lagK[T, O]) readState(src []byte, s int32) ([]byte, error) {
	var o O
	n, src, err := getInt(src)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(src)) {
		return nil, fmt.Errorf("LAG state: %d values", n)
	}
	k.vals[s], k.valid[s] = make([]T, n), make([]bool, n)
	for j := range n {
		if k.valid[s][j], src, err = getBool(src); err != nil {
			return nil, err
		}
		if k.valid[s][j] {
			if k.vals[s][j], src, err = o.get(src); err != nil {
				return nil, err
			}
		}
	}
	return src, nil
}
