package agg

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// overOnly lists the functions that are valid only in an OVER window, not
// as group aggregates, with their signatures: Flink's LAG(value [, offset
// [, default]]).
var overOnly = map[string]signature{
	"LAG": {1, 3, lagType},
}

// IsOverFunction reports whether name is a function computed only in OVER
// windows, such as LAG.
func IsOverFunction(name string) bool {
	_, ok := overOnly[name]
	return ok
}

// lagType is LAG's result: its value's type, the default (or NULL) when
// the partition has fewer rows before the current one than the offset.
// The planner casts the default to the value's type.
func lagType(args []types.DataType) (types.DataType, error) {
	if len(args) > 1 && !args[1].IsInteger() {
		return types.DataType{}, fmt.Errorf("the offset of LAG must be an integer, not %s", args[1])
	}
	if len(args) > 2 && !args[2].EqualIgnoringNull(args[0]) {
		return types.DataType{}, fmt.Errorf("the default of LAG must have its value's type %s, not %s", args[0], args[2])
	}
	return args[0].WithNullable(true), nil
}

// lagK is LAG(value [, offset [, default]]) (offset 1 by default, a
// constant column): per group (an OVER window's partition) the values of
// the last offset+1 rows accumulated, NULLs included, oldest first. The
// result after a row is the value offset rows before it, or the row's
// default (NULL without one) while the partition has fewer rows.
// Retractions, rows leaving a bounded frame, change nothing: the rows
// before the current one do not depend on the frame.
type lagK[T comparable, O ops[T]] struct {
	offset int
	vals   [][]T
	valid  [][]bool
	vw, dw viewer[T]
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

// value is the result for group s at row i: the value offset rows back,
// else row i's default (defs nil: none).
func (k *lagK[T, O]) value(s int32, i int, defs []T, dv validity) (T, bool) {
	j := len(k.vals[s]) - 1 - k.offset
	if j >= 0 {
		return k.vals[s][j], k.valid[s][j]
	}
	if defs != nil && dv.ok(i) {
		var o O
		return o.own(defs[i]), true
	}
	var zero T
	return zero, false
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
	var defs []T
	var dv validity
	if len(cols) > 2 {
		defs, dv = k.dw.view(cols[2]), validityOf(cols[2])
	}
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.value(s, i, defs, dv)
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
		r.after[i], r.aOK[i] = k.value(s, i, defs, dv)
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
	dst = putInt(dst, int64(len(k.vals[s])))
	for j, x := range k.vals[s] {
		dst = putMaybe[T, O](dst, x, k.valid[s][j])
	}
	return dst
}

func (k *lagK[T, O]) readState(src []byte, s int32) ([]byte, error) {
	n, src, err := getLen(src)
	if err != nil {
		return nil, err
	}
	k.vals[s], k.valid[s] = make([]T, n), make([]bool, n)
	for j := range n {
		if k.vals[s][j], k.valid[s][j], src, err = getMaybe[T, O](src); err != nil {
			return nil, err
		}
	}
	return src, nil
}

// lagAnyK is LAG over values of the types lagK has no typed slices for
// (ROW, ARRAY, MAP, MULTISET...): the same window of the last offset+1
// values per group, kept as a small Arrow array (NULLs included, oldest
// first, copied out of the input batch), and per-row results that refer
// into those arrays. Nested values are rare in LAG, so the window is
// rebuilt by concatenation per row instead of with typed loops; the state
// is the window in Arrow IPC form.
type lagAnyK struct {
	dt     arrow.DataType
	offset int
	wins   []arrow.Array // per group; nil while empty
	// results of the last update per row: a one-value array, nil for NULL
	before, after []arrow.Array
}

func (k *lagAnyK) grow(n int) { k.wins = growTo(k.wins, n) }
func (k *lagAnyK) reset(s int32) {
	if k.wins[s] != nil {
		k.wins[s].Release()
		k.wins[s] = nil
	}
}

// value is group s's result at row i: the value offset rows back, else
// row i's default.
func (k *lagAnyK) value(s int32, i int, def arrow.Array) (arrow.Array, error) {
	if w := k.wins[s]; w != nil {
		if j := w.Len() - 1 - k.offset; j >= 0 {
			if w.IsNull(j) {
				return nil, nil
			}
			return array.NewSlice(w, int64(j), int64(j+1)), nil
		}
	}
	if def != nil && def.IsValid(i) {
		return ownValue(def, i)
	}
	return nil, nil
}

// ownValue copies value i of a into an array of its own, off the input
// batch's buffers.
func ownValue(a arrow.Array, i int) (arrow.Array, error) {
	s := array.NewSlice(a, int64(i), int64(i+1))
	defer s.Release()
	return array.Concatenate([]arrow.Array{s}, memory.DefaultAllocator)
}

func (k *lagAnyK) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	k.releaseResults()
	n := len(slots)
	k.before, k.after = growTo(k.before, n)[:n], growTo(k.after, n)[:n]
	if len(cols) > 1 && cols[1].Len() > 0 {
		k.offset = constantInt(cols[1])
	}
	var def arrow.Array
	if len(cols) > 2 {
		def = cols[2]
	}
	for i, s := range slots {
		if s < 0 {
			continue
		}
		// Errors cannot happen here: the arrays share one type, and
		// Concatenate fails only on mismatched types or overflow.
		k.before[i], _ = k.value(s, i, def)
		if active(act, i) && !retract[i] {
			k.push(s, cols[0], i)
		}
		k.after[i], _ = k.value(s, i, def)
	}
}

// push appends value i of col to group s's window, keeping offset+1.
func (k *lagAnyK) push(s int32, col arrow.Array, i int) {
	parts := make([]arrow.Array, 0, 2)
	if w := k.wins[s]; w != nil {
		from := max(0, w.Len()-k.offset)
		parts = append(parts, array.NewSlice(w, int64(from), int64(w.Len())))
	}
	parts = append(parts, array.NewSlice(col, int64(i), int64(i+1)))
	win, err := array.Concatenate(parts, memory.DefaultAllocator)
	for _, p := range parts {
		p.Release()
	}
	if err != nil {
		// Unreachable: both parts have the window's type and one row
		// more than offset cannot overflow. The kernel contract has no
		// error to return; the window stays as it was.
		return
	}
	k.reset(s)
	k.wins[s] = win
}

func (k *lagAnyK) releaseResults() {
	for i, a := range k.before {
		if a != nil {
			a.Release()
			k.before[i] = nil
		}
	}
	for i, a := range k.after {
		if a != nil {
			a.Release()
			k.after[i] = nil
		}
	}
}

func (k *lagAnyK) changed(c []bool) {
	for i := range c {
		b, a := k.before[i], k.after[i]
		if (b == nil) != (a == nil) || (a != nil && !array.Equal(a, b)) {
			c[i] = true
		}
	}
}

func (k *lagAnyK) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	if len(rows) == 0 {
		return array.MakeArrayOfNull(mem, dt, 0)
	}
	parts := make([]arrow.Array, len(rows))
	for j, r := range rows {
		v := k.after[r]
		if before[j] {
			v = k.before[r]
		}
		if v == nil {
			parts[j] = array.MakeArrayOfNull(memory.DefaultAllocator, dt, 1)
		} else {
			v.Retain()
			parts[j] = v
		}
	}
	out, err := array.Concatenate(parts, mem)
	for _, p := range parts {
		p.Release()
	}
	if err != nil {
		// Unreachable: every part has type dt (see push).
		return array.MakeArrayOfNull(mem, dt, len(rows))
	}
	return out
}

// appendState writes group s's window as an Arrow IPC stream of one
// batch, length-prefixed; an empty window is a zero length.
func (k *lagAnyK) appendState(dst []byte, s int32) []byte {
	w := k.wins[s]
	if w == nil {
		return putInt(dst, 0)
	}
	var buf bytes.Buffer
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: k.dt, Nullable: true}}, nil)
	wr := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	rec := array.NewRecordBatch(schema, []arrow.Array{w}, int64(w.Len()))
	err := wr.Write(rec)
	rec.Release()
	if cerr := wr.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The window's type is the schema's: writing to memory does not
		// fail. Keep the state readable: an empty window.
		return putInt(dst, 0)
	}
	dst = putInt(dst, int64(buf.Len()))
	return append(dst, buf.Bytes()...)
}

func (k *lagAnyK) readState(src []byte, s int32) ([]byte, error) {
	n, src, err := getInt(src)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(len(src)) {
		return nil, fmt.Errorf("LAG state: %d bytes", n)
	}
	k.reset(s)
	if n == 0 {
		return src, nil
	}
	rd, err := ipc.NewReader(bytes.NewReader(src[:n]))
	if err != nil {
		return nil, fmt.Errorf("LAG state: %w", err)
	}
	defer rd.Release()
	if !rd.Next() {
		return nil, fmt.Errorf("LAG state: no values")
	}
	col := rd.RecordBatch().Column(0)
	if !arrow.TypeEqual(col.DataType(), k.dt) {
		return nil, fmt.Errorf("LAG state: values of type %s, want %s", col.DataType(), k.dt)
	}
	w, err := array.Concatenate([]arrow.Array{col}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("LAG state: %w", err)
	}
	k.wins[s] = w
	return src[n:], nil
}
