package agg

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Keys stores the group keys of an operator's groups column-wise by slot:
// one typed slice (and validity) per key column. The operator's hash
// table keeps slots; Keys answers whether rows of a batch carry the key
// of candidate slots, one typed loop per key column and batch.
//
// Equality is SQL grouping equality: NULL equals NULL, -0 equals 0 and
// NaN equals NaN (the exchange's row hash treats them alike).
type Keys struct {
	cols []keyCol
}

type keyCol interface {
	grow(n int)
	reset(s int32)
	set(col arrow.Array, rows, slots []int32)
	match(col arrow.Array, rows, cand []int32, eq []bool)
	appendKey(dst []byte, s int32) []byte
	readKey(src []byte, s int32) ([]byte, error)
}

// NewKeys makes the storage of key columns of the given Arrow types.
func NewKeys(types []arrow.DataType) (*Keys, error) {
	k := &Keys{cols: make([]keyCol, len(types))}
	for i, dt := range types {
		switch physicalOf(dt) {
		case physInt8:
			k.cols[i] = &keyColT[int8, intOps[int8]]{}
		case physInt16:
			k.cols[i] = &keyColT[int16, intOps[int16]]{}
		case physInt32:
			k.cols[i] = &keyColT[int32, intOps[int32]]{}
		case physInt64:
			k.cols[i] = &keyColT[int64, intOps[int64]]{}
		case physFloat32:
			k.cols[i] = &keyColT[float32, floatOps[float32]]{}
		case physFloat64:
			k.cols[i] = &keyColT[float64, floatOps[float64]]{}
		case physDecimal:
			k.cols[i] = &keyColT[decimal128.Num, decOps]{}
		case physBool:
			k.cols[i] = &keyColT[bool, boolOps]{}
		case physString:
			k.cols[i] = &keyColT[string, strOps]{}
		case physInvalid:
			lc, err := newListKeyCol(dt)
			if err != nil {
				return nil, err
			}
			k.cols[i] = lc
		default:
			return nil, fmt.Errorf("cannot group by values of type %s", dt)
		}
	}
	return k, nil
}

// Grow makes slots [0, n) addressable.
func (k *Keys) Grow(n int) {
	for _, c := range k.cols {
		c.grow(n)
	}
}

// Reset forgets slot's key (so state does not pin strings of dead keys).
func (k *Keys) Reset(slot int32) {
	for _, c := range k.cols {
		c.reset(slot)
	}
}

// Set stores the key of row rows[j] of cols (the key columns of a batch)
// as the key of slots[j].
func (k *Keys) Set(cols []arrow.Array, rows, slots []int32) {
	for i, c := range k.cols {
		c.set(cols[i], rows, slots)
	}
}

// Match sets eq[j] to whether row rows[j] of cols has the key of slot
// cand[j].
func (k *Keys) Match(cols []arrow.Array, rows, cand []int32, eq []bool) {
	for j := range eq {
		eq[j] = true
	}
	for i, c := range k.cols {
		c.match(cols[i], rows, cand, eq)
	}
}

// AppendKey appends slot's key in the form ReadKey reads.
func (k *Keys) AppendKey(dst []byte, slot int32) []byte {
	for _, c := range k.cols {
		dst = c.appendKey(dst, slot)
	}
	return dst
}

// ReadKey loads slot's key from src and returns the rest.
func (k *Keys) ReadKey(src []byte, slot int32) ([]byte, error) {
	var err error
	for _, c := range k.cols {
		if src, err = c.readKey(src, slot); err != nil {
			return nil, err
		}
	}
	return src, nil
}

type keyColT[T comparable, O ops[T]] struct {
	vals []T
	ok   []bool
	vw   viewer[T]
}

func (c *keyColT[T, O]) grow(n int) { c.vals, c.ok = growTo(c.vals, n), growTo(c.ok, n) }
func (c *keyColT[T, O]) reset(s int32) {
	var zero T
	c.vals[s], c.ok[s] = zero, false
}

func (c *keyColT[T, O]) set(col arrow.Array, rows, slots []int32) {
	var o O
	vals := c.vw.view(col)
	v := validityOf(col)
	for j, i := range rows {
		s := slots[j]
		if v.ok(int(i)) {
			c.vals[s], c.ok[s] = o.own(vals[i]), true
		} else {
			var zero T
			c.vals[s], c.ok[s] = zero, false
		}
	}
}

func (c *keyColT[T, O]) match(col arrow.Array, rows, cand []int32, eq []bool) {
	if sc, ok := col.(*array.String); ok {
		if stored, ok := any(c.vals).([]string); ok {
			matchStrings(sc, rows, cand, eq, stored, c.ok)
			return
		}
	}
	var o O
	vals := c.vw.view(col)
	v := validityOf(col)
	for j, i := range rows {
		s := cand[j]
		ok := v.ok(int(i))
		eq[j] = eq[j] && ok == c.ok[s] && (!ok || o.same(vals[i], c.vals[s]))
	}
}

// matchStrings is match for STRING keys, reading each row's value from
// the column: viewing the column as a []string would write a string
// header per row into the viewer's scratch, each under the GC's write
// barrier while it marks.
func matchStrings(col *array.String, rows, cand []int32, eq []bool, stored []string, storedOK []bool) {
	v := validityOf(col)
	for j, i := range rows {
		s := cand[j]
		ok := v.ok(int(i))
		eq[j] = eq[j] && ok == storedOK[s] && (!ok || col.Value(int(i)) == stored[s])
	}
}

func (c *keyColT[T, O]) appendKey(dst []byte, s int32) []byte {
	var o O
	dst = putBool(dst, c.ok[s])
	if c.ok[s] {
		dst = o.put(dst, c.vals[s])
	}
	return dst
}

func (c *keyColT[T, O]) readKey(src []byte, s int32) ([]byte, error) {
	var o O
	ok, src, err := getBool(src)
	if err != nil {
		return nil, err
	}
	c.ok[s] = ok
	if ok {
		c.vals[s], src, err = o.get(src)
	}
	return src, err
}
