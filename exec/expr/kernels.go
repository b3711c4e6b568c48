package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// Typed loops over Arrow buffers for kernels that arrow compute lacks or
// gets wrong for Flink. fn is called only on rows where every input is
// valid; it returns ok=false to make the row NULL, or an error to fail.

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64
}
type number interface{ integer | ~float32 | ~float64 }

// outValidity starts a result validity bitmap: the AND of the inputs', or
// all valid.
func outValidity(mem memory.Allocator, n int, arrs ...arrow.Array) *memory.Buffer {
	v, _ := validity(mem, n, arrs...)
	if v == nil {
		v = memory.NewResizableBuffer(mem)
		v.Resize(int(bitutil.BytesForBits(int64(n))))
		bitutil.SetBitsTo(v.Bytes(), 0, int64(n), true)
	}
	return v
}

func map1[A, O arrow.FixedWidthType](mem memory.Allocator, dt arrow.DataType, a arrow.Array, fn func(A) (O, bool, error)) (arrow.Array, error) {
	n := a.Len()
	valid := outValidity(mem, n, a)
	vb := valid.Bytes()
	buf, out := fixedOut[O](mem, n)
	in := valuesOf[A](a)
	for i := 0; i < n; i++ {
		if !bitutil.BitIsSet(vb, i) {
			continue
		}
		v, ok, err := fn(in[i])
		if err != nil {
			valid.Release()
			buf.Release()
			return nil, err
		}
		if !ok {
			bitutil.ClearBit(vb, i)
		}
		out[i] = v
	}
	return makeArray(dt, n, valid, buf, n-bitutil.CountSetBits(vb, 0, n)), nil
}

func zip2[A, B, O arrow.FixedWidthType](mem memory.Allocator, dt arrow.DataType, a, b arrow.Array, fn func(A, B) (O, bool, error)) (arrow.Array, error) {
	n := a.Len()
	valid := outValidity(mem, n, a, b)
	vb := valid.Bytes()
	buf, out := fixedOut[O](mem, n)
	x, y := valuesOf[A](a), valuesOf[B](b)
	for i := 0; i < n; i++ {
		if !bitutil.BitIsSet(vb, i) {
			continue
		}
		v, ok, err := fn(x[i], y[i])
		if err != nil {
			valid.Release()
			buf.Release()
			return nil, err
		}
		if !ok {
			bitutil.ClearBit(vb, i)
		}
		out[i] = v
	}
	return makeArray(dt, n, valid, buf, n-bitutil.CountSetBits(vb, 0, n)), nil
}

// mapTotal applies a total function to every slot (including NULL slots,
// whose garbage results stay masked), which keeps the loop branch-free.
func mapTotal[A, O arrow.FixedWidthType](mem memory.Allocator, dt arrow.DataType, a arrow.Array, fn func(A) O) arrow.Array {
	n := a.Len()
	valid, nulls := validity(mem, n, a)
	buf, out := fixedOut[O](mem, n)
	for i, v := range valuesOf[A](a) {
		out[i] = fn(v)
	}
	return makeArray(dt, n, valid, buf, nulls)
}

// byKind picks the instantiation of a generic kernel for a numeric kind.
func byKind(k types.Kind, i8, i16, i32, i64, f32, f64 kernel) kernel {
	switch k {
	case types.TinyInt:
		return i8
	case types.SmallInt:
		return i16
	case types.Int:
		return i32
	case types.BigInt:
		return i64
	case types.Float:
		return f32
	case types.Double:
		return f64
	}
	return nil
}

// map1idx is map1 for inputs read by row index (strings).
func map1idx[O arrow.FixedWidthType](mem memory.Allocator, dt arrow.DataType, a arrow.Array, fn func(int) (O, bool, error)) (arrow.Array, error) {
	n := a.Len()
	valid := outValidity(mem, n, a)
	vb := valid.Bytes()
	buf, out := fixedOut[O](mem, n)
	for i := 0; i < n; i++ {
		if !bitutil.BitIsSet(vb, i) {
			continue
		}
		v, ok, err := fn(i)
		if err != nil {
			valid.Release()
			buf.Release()
			return nil, err
		}
		if !ok {
			bitutil.ClearBit(vb, i)
		}
		out[i] = v
	}
	return makeArray(dt, n, valid, buf, n-bitutil.CountSetBits(vb, 0, n)), nil
}
