package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
)

// SingleValue is the internal function that ends a scalar subquery's
// plan: SINGLE_VALUE(n, v) is v, the subquery's value for a group, where n
// counts the group's rows, and fails when n is above 1, as Flink's
// SINGLE_VALUE aggregate does ("more than one row returned by a subquery
// used as an expression", in PostgreSQL's words). The planner computes n
// and v with COUNT(*) and FIRST_VALUE, so this check is a vectorized pass
// over the count column instead of a new accumulator. The name starts
// with '$' so SQL cannot call it.
const SingleValue = "$SINGLE_VALUE"

func init() {
	register(&funcDef{name: SingleValue, mayFail: true,
		resolve: func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, 2, 2); err != nil {
				return nil, err
			}
			if args[0].Type().Kind != types.BigInt {
				return nil, fmt.Errorf("%s counts rows as BIGINT, not %s", name, args[0].Type())
			}
			return &Call{Func: name, Args: args, T: args[1].Type().WithNullable(true)}, nil
		},
		compile: func(c *compiler, call *Call) (Evaluator, error) {
			return newCallEval(c, call, func(args []arrow.Array, _ int) (arrow.Array, error) {
				if counts, ok := args[0].(*array.Int64); ok {
					for i, n := range counts.Int64Values() {
						if n > 1 && counts.IsValid(i) {
							return nil, fmt.Errorf("more than one row returned by a subquery used as an expression")
						}
					}
				}
				args[1].Retain()
				return args[1], nil
			})
		},
	})
}
