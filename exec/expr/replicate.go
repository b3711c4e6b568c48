package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// ReplicateRows is the internal function behind INTERSECT ALL and EXCEPT
// ALL, Flink's REPLICATE_ROWS table function in array form:
// $REPLICATE_ROWS(n) is an ARRAY of n elements (none when n is NULL or
// not positive), so that a correlate over it (UNNEST) emits its input row
// n times. The elements are NULL BOOLEANs: only their number matters. The
// array is built from its offsets alone, one pass over the counts. The
// name starts with '$' so SQL cannot call it.
const ReplicateRows = "$REPLICATE_ROWS"

func init() {
	register(&funcDef{name: ReplicateRows,
		resolve: func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 1, 1); err != nil {
				return nil, err
			}
			if args[0].Type().Kind != types.BigInt {
				return nil, fmt.Errorf("%s counts rows as BIGINT, not %s", name, args[0].Type())
			}
			return &Call{Func: name, Args: args, T: types.ArrayType(types.BooleanType).WithNullable(false)}, nil
		},
		compile: func(c *compiler, call *Call) (Evaluator, error) {
			dt := call.T.Arrow().(*arrow.ListType)
			return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
				counts, ok := args[0].(*array.Int64)
				if !ok {
					return nil, fmt.Errorf("%s: counts are %s, not int64", ReplicateRows, args[0].DataType())
				}
				offs := memory.NewResizableBuffer(c.mem)
				offs.Resize(arrow.Int32Traits.BytesRequired(n + 1))
				o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
				total := int64(0)
				for i, k := range counts.Int64Values() {
					o[i] = int32(total)
					if k > 0 && counts.IsValid(i) {
						total += k
					}
				}
				if total > 1<<31-1 {
					offs.Release()
					return nil, fmt.Errorf("%s: %d rows exceed the array capacity", ReplicateRows, total)
				}
				o[n] = int32(total)
				elems := array.MakeArrayOfNull(c.mem, dt.Elem(), int(total))
				defer elems.Release()
				data := array.NewData(dt, n, []*memory.Buffer{nil, offs}, []arrow.ArrayData{elems.Data()}, 0, 0)
				offs.Release()
				defer data.Release()
				return array.MakeFromData(data), nil
			})
		},
	})
}
