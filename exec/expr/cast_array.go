package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// rowCastSupported reports a ROW to ROW conversion between as many
// fields, each of which converts, as Flink's RowToRowCastRule casts field
// by field (the result has the target's field names).
func rowCastSupported(from, to types.DataType) bool {
	if from.Kind != types.Row || to.Kind != types.Row || len(from.Fields) != len(to.Fields) {
		return false
	}
	for i := range from.Fields {
		if !castSupported(from.Fields[i].Type, to.Fields[i].Type) {
			return false
		}
	}
	return true
}

// rowCastKernel converts each field's whole child array and keeps the
// rows' validity and offset.
func rowCastKernel(mem memory.Allocator, from, to types.DataType, try bool) (kernel, error) {
	if try {
		return tryConstructed(mem, from, to, rowCastKernel)
	}
	fields := make([]kernel, len(from.Fields))
	for i := range from.Fields {
		k, err := castKernel(mem, from.Fields[i].Type, to.Fields[i].Type, try)
		if err != nil {
			return nil, err
		}
		fields[i] = k
	}
	dt := to.Arrow()
	return func(args []arrow.Array, _ int) (arrow.Array, error) {
		d := args[0].Data()
		children := make([]arrow.ArrayData, len(fields))
		defer func() {
			for _, c := range children {
				if c != nil {
					c.Release()
				}
			}
		}()
		for i, k := range fields {
			child := array.MakeFromData(d.Children()[i])
			conv, err := k([]arrow.Array{child}, child.Len())
			child.Release()
			if err != nil {
				return nil, err
			}
			children[i] = conv.Data()
			children[i].Retain()
			conv.Release()
		}
		out := array.NewData(dt, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
		defer out.Release()
		return array.MakeFromData(out), nil
	}, nil
}

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
	if try {
		return tryConstructed(mem, from, to, arrayCastKernel)
	}
	elem, err := castKernel(mem, *from.Elem, *to.Elem, try)
	if err != nil {
		return nil, err
	}
	return listCastKernel(elem, to.Arrow()), nil
}

// mapCastSupported reports a MAP to MAP conversion whose keys and values
// convert, as Flink's MapToMapAndMultisetToMultisetCastRule casts them.
func mapCastSupported(from, to types.DataType) bool {
	return from.Kind == types.Map && to.Kind == types.Map && castSupported(*from.Key, *to.Key) && castSupported(*from.Value, *to.Value)
}

// mapCastKernel converts the entries of every map at once: a MAP column
// is a list of ROW<key, value> entries, converted as rows.
func mapCastKernel(mem memory.Allocator, from, to types.DataType, try bool) (kernel, error) {
	if try {
		return tryConstructed(mem, from, to, mapCastKernel)
	}
	entry := func(t types.DataType) types.DataType {
		return types.RowType(types.Field{Name: "key", Type: *t.Key}, types.Field{Name: "value", Type: *t.Value}).WithNullable(false)
	}
	entries, err := rowCastKernel(mem, entry(from), entry(to), try)
	if err != nil {
		return nil, err
	}
	return listCastKernel(entries, to.Arrow()), nil
}

// listCastKernel converts the values of list columns with elem and keeps
// the lists' validity and offsets, giving lists of type dt.
func listCastKernel(elem kernel, dt arrow.DataType) kernel {
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
	}
}

// tryConstructed is TRY_CAST to a constructed type (ARRAY, MAP, ROW): a
// value one of whose parts fails to convert is NULL as a whole, as in
// Flink (FLINK-31300), not a value with a NULL part. The strict conversion
// runs over the batch; only a batch in which it fails is converted again
// row by row, to find the rows that fail.
func tryConstructed(mem memory.Allocator, from, to types.DataType,
	cast func(memory.Allocator, types.DataType, types.DataType, bool) (kernel, error)) (kernel, error) {
	strict, err := cast(mem, from, to, false)
	if err != nil || !castMayFail(from, to) {
		return strict, err
	}
	dt := to.Arrow()
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		if out, err := strict(args, n); err == nil {
			return out, nil
		}
		src, rows := make([]int32, n), make([]int32, n)
		var converted []arrow.Array
		defer func() {
			for _, a := range converted {
				a.Release()
			}
		}()
		for i := 0; i < n; i++ {
			row := array.NewSlice(args[0], int64(i), int64(i+1))
			out, err := strict([]arrow.Array{row}, 1)
			row.Release()
			if err != nil {
				src[i] = -1
				continue
			}
			src[i] = int32(len(converted))
			converted = append(converted, out)
		}
		return gather(mem, dt, n, src, rows, converted)
	}, nil
}
