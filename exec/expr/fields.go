package expr

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// GET_FIELD(row, 'name') reads a field of a ROW value: the binder's form of
// nested field access (bid.price). The field's column is shared with the
// ROW column without copying; only rows whose ROW is NULL need a new
// validity bitmap.
func init() {
	register(&funcDef{name: "GET_FIELD", resolve: resolveGetField, compile: compileGetField})
}

func resolveGetField(_ string, args []Expr) (Expr, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("GET_FIELD expects a row and a field name")
	}
	rt := args[0].Type()
	name, ok := literalString(args[1])
	if rt.Kind != types.Row || !ok {
		return nil, fmt.Errorf("cannot access field of a value of type %s", rt)
	}
	i := fieldIndex(rt, name)
	if i < 0 {
		return nil, fmt.Errorf("field '%s' not found in %s", name, rt)
	}
	t := rt.Fields[i].Type
	if rt.Nullable() {
		t = t.WithNullable(true)
	}
	return &Call{Func: "GET_FIELD", Args: args, T: t}, nil
}

// fieldIndex finds a ROW field by name, exactly or else ignoring case.
func fieldIndex(rt types.DataType, name string) int {
	for i, f := range rt.Fields {
		if f.Name == name {
			return i
		}
	}
	for i, f := range rt.Fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

func compileGetField(c *compiler, call *Call) (Evaluator, error) {
	name, _ := literalString(call.Args[1])
	idx := fieldIndex(call.Args[0].Type(), name)
	mem := c.mem
	return newCallEval(c, &Call{Func: call.Func, Args: call.Args[:1], T: call.T}, func(args []arrow.Array, n int) (arrow.Array, error) {
		s, ok := args[0].(*array.Struct)
		if !ok {
			return nil, fmt.Errorf("GET_FIELD: %s is not a ROW column", args[0].DataType())
		}
		child := s.Field(idx)
		if s.NullN() == 0 {
			child.Retain()
			return child, nil
		}
		return withParentNulls(child, s, mem), nil
	})
}

// withParentNulls returns child with the rows where parent is NULL made
// NULL as well, sharing child's value buffers.
func withParentNulls(child arrow.Array, parent arrow.Array, mem memory.Allocator) arrow.Array {
	d := child.Data()
	off, n := d.Offset(), d.Len()
	bits := memory.NewResizableBuffer(mem)
	bits.Resize(int(bitutil.BytesForBits(int64(off + n))))
	bm := bits.Bytes()
	for i := 0; i < n; i++ {
		bitutil.SetBitTo(bm, off+i, parent.IsValid(i) && child.IsValid(i))
	}
	buffers := append([]*memory.Buffer{bits}, d.Buffers()[1:]...)
	nd := array.NewData(d.DataType(), n, buffers, d.Children(), array.UnknownNullCount, off)
	bits.Release()
	defer nd.Release()
	return array.MakeFromData(nd)
}
