package expr

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
)

// resolveArrayToString types PostgreSQL's array_to_string(arr, sep
// [, null_string]) over an array of strings: the elements joined by sep,
// a NULL element skipped or, with null_string, written as it. NULL when
// arr or sep is NULL.
func resolveArrayToString(name string, args []Expr) (Expr, error) {
	out := append([]Expr(nil), args...)
	for i := 1; i < len(args); i++ {
		switch t := args[i].Type(); {
		case t.Kind == types.Null:
			out[i] = &Literal{T: types.StringType}
		case !t.IsString():
			return nil, fmt.Errorf("%s expects a string separator, got %s", name, t)
		}
	}
	nullable := args[0].Type().Nullable() || args[1].Type().Nullable()
	return &Call{Func: name, Args: out, T: types.StringType.WithNullable(nullable)}, nil
}

// compileArrayToString joins each row's elements straight from the
// element column into one output builder.
func compileArrayToString(c *compiler, call *Call) (Evaluator, error) {
	var sb strings.Builder
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, ok := args[0].(*array.List)
		if !ok {
			return nil, fmt.Errorf("%s: expected a list column, got %s", call.Func, args[0].DataType())
		}
		elems, ok := l.ListValues().(*array.String)
		if !ok {
			return nil, fmt.Errorf("%s: expected string elements, got %s", call.Func, l.ListValues().DataType())
		}
		seps := args[1].(*array.String)
		var nullStr *array.String
		if len(args) > 2 {
			nullStr = args[2].(*array.String)
		}
		b := array.NewStringBuilder(c.mem)
		defer b.Release()
		b.Reserve(n)
		for i := 0; i < n; i++ {
			if l.IsNull(i) || seps.IsNull(i) {
				b.AppendNull()
				continue
			}
			sb.Reset()
			lo, hi := l.ValueOffsets(i)
			first := true
			for j := int(lo); j < int(hi); j++ {
				v := ""
				switch {
				case elems.IsValid(j):
					v = elems.Value(j)
				case nullStr != nil && nullStr.IsValid(i):
					v = nullStr.Value(i)
				default:
					continue
				}
				if !first {
					sb.WriteString(seps.Value(i))
				}
				sb.WriteString(v)
				first = false
			}
			b.Append(sb.String())
		}
		return b.NewArray(), nil
	})
}
