package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// PostgreSQL's array_upper(arr, dim), the upper bound of dimension dim
// (psql's publications query reads it): Eddy's arrays are
// one-dimensional with lower bound 1, so it is the length for dim 1, and
// NULL for an empty or NULL array, a NULL dim or any other dim.
func init() {
	register(&funcDef{name: "ARRAY_UPPER", resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		if args[0].Type().Kind != types.Array || !args[1].Type().IsInteger() {
			return nil, typeError(name, args)
		}
		dim, err := NewCast(args[1], types.IntType.WithNullable(args[1].Type().Nullable()), false)
		if err != nil {
			return nil, err
		}
		return &Call{Func: name, Args: []Expr{args[0], dim}, T: types.IntType}, nil
	}, compile: compileArrayUpper})
}

func compileArrayUpper(c *compiler, call *Call) (Evaluator, error) {
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, ok := args[0].(array.ListLike)
		if !ok {
			return nil, fmt.Errorf("ARRAY_UPPER: expected a list column, got %s", args[0].DataType())
		}
		dims, ok := args[1].(*array.Int32)
		if !ok {
			return nil, fmt.Errorf("ARRAY_UPPER: expected an INT dimension, got %s", args[1].DataType())
		}
		buf, out := fixedOut[int32](c.mem, n)
		valid := memory.NewResizableBuffer(c.mem)
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := valid.Bytes()
		clear(bits)
		nulls := 0
		for i := 0; i < n; i++ {
			if l.IsValid(i) && dims.IsValid(i) && dims.Value(i) == 1 {
				lo, hi := l.ValueOffsets(i)
				if hi > lo {
					out[i] = int32(hi - lo)
					bitutil.SetBit(bits, i)
					continue
				}
			}
			out[i] = 0
			nulls++
		}
		return makeArray(arrow.PrimitiveTypes.Int32, n, valid, buf, nulls), nil
	})
}
