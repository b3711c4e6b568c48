package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// arrayCat is arr1 || arr2 over two arrays, PostgreSQL's array_cat (psql's
// \d+ appends a table's toast options to its options so): the elements of
// both in order, a NULL array counting as empty, NULL only when both are.
const arrayCat = "$ARRAY_CAT"

func init() {
	register(&funcDef{name: arrayCat, resolve: func(name string, args []Expr) (Expr, error) {
		return resolveArrayCat(args)
	}, compile: compileArrayCat})
}

func resolveArrayCat(args []Expr) (Expr, error) {
	if err := arity("||", args, 2, 2); err != nil {
		return nil, err
	}
	l, r := args[0].Type(), args[1].Type()
	if !l.Elem.EqualIgnoringNull(*r.Elem) {
		return nil, fmt.Errorf("cannot concatenate %s and %s", l, r)
	}
	t := types.ArrayType(l.Elem.WithNullable(l.Elem.Nullable() || r.Elem.Nullable()))
	return &Call{Func: arrayCat, Args: args, T: t.WithNullable(l.Nullable() && r.Nullable())}, nil
}

// compileArrayCat gathers, for every row, the left array's elements and
// then the right's out of the two element columns put end to end.
func compileArrayCat(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	var idx []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		l, lok := args[0].(array.ListLike)
		r, rok := args[1].(array.ListLike)
		if !lok || !rok {
			return nil, fmt.Errorf("||: expected list columns, got %s and %s", args[0].DataType(), args[1].DataType())
		}
		both, err := array.Concatenate([]arrow.Array{l.ListValues(), r.ListValues()}, c.mem)
		if err != nil {
			return nil, err
		}
		defer both.Release()
		shift := int64(l.ListValues().Len())
		offBuf, offs := fixedOut[int32](c.mem, n+1)
		defer offBuf.Release()
		valid, nulls := make([]bool, n), 0
		idx = idx[:0]
		for i := 0; i < n; i++ {
			offs[i] = int32(len(idx))
			valid[i] = l.IsValid(i) || r.IsValid(i)
			if !valid[i] {
				nulls++
				continue
			}
			if l.IsValid(i) {
				lo, hi := l.ValueOffsets(i)
				for j := lo; j < hi; j++ {
					idx = append(idx, int32(j))
				}
			}
			if r.IsValid(i) {
				lo, hi := r.ValueOffsets(i)
				for j := lo; j < hi; j++ {
					idx = append(idx, int32(shift+j))
				}
			}
		}
		offs[n] = int32(len(idx))
		child, err := takeIdx(c, both, idx)
		if err != nil {
			return nil, err
		}
		defer child.Release()
		var bm *memory.Buffer
		if nulls > 0 {
			bm = boolBitmap(c.mem, valid)
			defer bm.Release()
		}
		data := array.NewData(dt, n, []*memory.Buffer{bm, offBuf}, []arrow.ArrayData{child.Data()}, nulls, 0)
		defer data.Release()
		return array.MakeFromData(data), nil
	})
}

// boolBitmap packs valid into a validity bitmap.
func boolBitmap(mem memory.Allocator, valid []bool) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize((len(valid) + 7) / 8)
	bits := buf.Bytes()
	clear(bits)
	for i, ok := range valid {
		if ok {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return buf
}
