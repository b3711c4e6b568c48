package expr

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// ArraySubquery is the binder's finishing step of PostgreSQL's
// ARRAY(query), planned as a LEFT JOIN against the query's ARRAY_AGG:
// $ARRAY_SUBQUERY(agg, order) turns the NULL of an outer row without
// subquery rows into the empty array PostgreSQL gives, and with order 1
// (-1) sorts the elements ascending (descending), for ARRAY(SELECT x ...
// ORDER BY x), since the aggregate collects in arrival order. order is a
// literal INT, 0 for none.
const ArraySubquery = "$ARRAY_SUBQUERY"

func init() {
	register(&funcDef{name: ArraySubquery, resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 2, 2); err != nil {
			return nil, err
		}
		t := args[0].Type()
		if t.Kind != types.Array {
			return nil, fmt.Errorf("%s expects an array, got %s", name, t)
		}
		lit, ok := args[1].(*Literal)
		if !ok || args[1].Type().Kind != types.Int {
			return nil, fmt.Errorf("%s expects a literal INT order", name)
		}
		if v, _ := lit.Value.(int64); v != 0 && !t.Elem.IsString() {
			return nil, fmt.Errorf("ordering ARRAY(query) of %s is not supported yet (only strings)", *t.Elem)
		}
		return &Call{Func: name, Args: args, T: t.WithNullable(false)}, nil
	}, compile: compileArraySubquery})
}

func compileArraySubquery(c *compiler, call *Call) (Evaluator, error) {
	order := 0
	if v, ok := call.Args[1].(*Literal).Value.(int64); ok {
		order = int(v)
	}
	dt := call.T.Arrow()
	var idx []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, ok := args[0].(*array.List)
		if !ok {
			return nil, fmt.Errorf("%s: expected a list column, got %s", ArraySubquery, args[0].DataType())
		}
		if order == 0 && l.NullN() == 0 {
			l.Retain()
			return l, nil
		}
		// Gather the elements of the non-NULL lists, each list's sorted
		// when asked, and give a NULL list no elements.
		var vals *array.String
		if order != 0 {
			if vals, ok = l.ListValues().(*array.String); !ok {
				return nil, fmt.Errorf("%s: expected string elements, got %s", ArraySubquery, l.ListValues().DataType())
			}
		}
		offBuf, offs := fixedOut[int32](c.mem, n+1)
		defer offBuf.Release()
		idx = idx[:0]
		for i := 0; i < n; i++ {
			offs[i] = int32(len(idx))
			if !l.IsValid(i) {
				continue
			}
			lo, hi := l.ValueOffsets(i)
			from := len(idx)
			for j := lo; j < hi; j++ {
				idx = append(idx, int32(j))
			}
			if vals != nil {
				slices.SortStableFunc(idx[from:], func(x, y int32) int { return order * compareStrings(vals, int(x), int(y)) })
			}
		}
		offs[n] = int32(len(idx))
		child, err := takeIdx(c, l.ListValues(), idx)
		if err != nil {
			return nil, err
		}
		defer child.Release()
		data := array.NewData(dt, n, []*memory.Buffer{nil, offBuf}, []arrow.ArrayData{child.Data()}, 0, 0)
		defer data.Release()
		return array.MakeFromData(data), nil
	})
}

// compareStrings orders elements x and y of vals with NULL greatest, so
// that NULLs sort last ascending and first descending, as in PostgreSQL.
func compareStrings(vals *array.String, x, y int) int {
	xn, yn := vals.IsNull(x), vals.IsNull(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	}
	return strings.Compare(vals.Value(x), vals.Value(y))
}
