package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// arrayCastSupported reports an ARRAY to ARRAY conversion whose elements
// convert, as Flink's ArrayToArrayCastRule casts element by element
// (PostgreSQL's ARRAY[1, 2]::int2[] is CAST(... AS ARRAY<SMALLINT>)).
func arrayCastSupported(from, to types.DataType) bool {
	return from.Kind == types.Array && to.Kind == types.Array && castSupported(*from.Elem, *to.Elem)
}

// arrayCastKernel converts the elements of every list at once, with the
// element conversion over the lists' values array, and keeps the lists'
// validity and offsets.
func arrayCastKernel(mem memory.Allocator, from, to types.DataType, try bool) (kernel, error) {
	elem, err := castKernel(mem, *from.Elem, *to.Elem, try)
	if err != nil {
		return nil, err
	}
	dt := to.Arrow()
	return func(args []arrow.Array, _ int) (arrow.Array, error) {
		l, ok := args[0].(*array.List)
		if !ok {
			return nil, fmt.Errorf("CAST: expected a list column, got %s", args[0].DataType())
		}
		vals := l.ListValues()
		conv, err := elem([]arrow.Array{vals}, vals.Len())
		if err != nil {
			return nil, err
		}
		defer conv.Release()
		d := l.Data()
		out := array.NewData(dt, d.Len(), d.Buffers(), []arrow.ArrayData{conv.Data()}, d.NullN(), d.Offset())
		defer out.Release()
		return array.MakeFromData(out), nil
	}, nil
}
