package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// compileArrayCompare evaluates ARRAY = ARRAY and ARRAY <> ARRAY: two
// arrays are equal when they have the same length and equal elements in
// order, a NULL element equal to a NULL one (as Calcite's and
// PostgreSQL's array equality treat them); a NULL array gives NULL. Each
// row compares its two ranges of the element columns with Arrow's
// SliceEqual, without materializing the elements.
func compileArrayCompare(c *compiler, call *Call) (Evaluator, error) {
	ne := call.Func == "<>"
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, r := args[0].(array.ListLike), args[1].(array.ListLike)
		lv, rv := l.ListValues(), r.ListValues()
		valid, nulls := validity(c.mem, n, args[0], args[1])
		return boolOut(c.mem, n, valid, nulls, func(bits []byte) {
			for i := 0; i < n; i++ {
				eq := false
				if l.IsValid(i) && r.IsValid(i) {
					lb, le := l.ValueOffsets(i)
					rb, re := r.ValueOffsets(i)
					eq = le-lb == re-rb && array.SliceEqual(lv, lb, le, rv, rb, re)
				}
				bitutil.SetBitTo(bits, i, eq != ne)
			}
		}), nil
	})
}
