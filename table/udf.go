package table

import (
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// VectorizedFunction is a scalar function over Arrow arrays, for
// CreateFunction: Eval gets one array per parameter (of Params[i].Arrow()
// type, implicitly cast as for built-in functions) and returns n values of
// Result.Arrow() type allocated from mem. It must be safe for concurrent
// use and must not retain or release its arguments. The result is nullable
// iff an argument is, or always with NullableResult.
type VectorizedFunction struct {
	Params         []types.DataType
	Result         types.DataType
	NullableResult bool
	Eval           func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error)
}

// CreateFunction registers a function callable from SQL and from the
// Table API: an aggregate function when fn is an AggregateFunction (see
// there); a table function (LATERAL TABLE, JoinLateral) when fn is a
// TableFunction or a Go func returning a slice of rows, optionally with an
// error: func(string) []string gives one column f0, func(string, int64)
// ([]Word, error) one column per exported field of the struct Word (of
// the types below), named by its `eddy:"name"` tag or else the field's
// name; rows with a NULL argument yield no rows, and funcs of one
// argument returning a slice of a scalar type run through a typed loop,
// others through reflection per row. Otherwise fn is a scalar function
// (Call(name, ...)): either a VectorizedFunction or a plain Go func whose
// parameters and result are among int64, int32,
// float64, string, bool, []byte and time.Time (BIGINT, INT, DOUBLE,
// STRING, BOOLEAN, BYTES, TIMESTAMP(3)), optionally returning an error
// too: func(int64, string) string, func(float64) (float64, error). Such a
// func is NULL-in, NULL-out: rows with a NULL argument yield NULL without
// calling it. string and []byte arguments alias the batch's memory and are
// valid during the call only.
//
// Funcs of one or two arguments run through typed loops chosen once, at
// registration, for their exact signature; other arities fall back to
// reflection per row, which is much slower (see BenchmarkUDF).
//
// Functions are registered process-wide (exec/expr's registry), so every
// Environment and every embedded TaskManager sees them; a later
// CreateFunction of the same name replaces the function for plans made
// afterwards. A remote TaskManager would need a binary registering the
// same functions.
func (e *Environment) CreateFunction(name string, fn any) error {
	if af, ok := fn.(aggregateFunction); ok {
		return registerAggregate(name, af)
	}
	if isTableFunc(fn) {
		return registerTableFunction(name, fn)
	}
	uf, err := userFunction(name, fn)
	if err != nil {
		return errs.New(errs.InvalidPlan, "CreateFunction %s: %v", name, err)
	}
	if err := expr.RegisterUserFunction(uf); err != nil {
		return errs.New(errs.InvalidPlan, "CreateFunction: %v", err)
	}
	return nil
}

// DropFunction removes a function registered with CreateFunction.
func (e *Environment) DropFunction(name string) bool {
	scalar := expr.DropUserFunction(name)
	return agg.DropUser(name) || scalar
}

func userFunction(name string, fn any) (expr.UserFunction, error) {
	if v, ok := fn.(VectorizedFunction); ok {
		eval := v.Eval
		if eval == nil {
			return expr.UserFunction{}, fmt.Errorf("a VectorizedFunction needs Eval")
		}
		return expr.UserFunction{Name: name, Params: v.Params, Result: v.Result, NullableResult: v.NullableResult,
			Eval: func(args []arrow.Array, _ int, mem memory.Allocator) (arrow.Array, error) { return eval(args, mem) }}, nil
	}
	ft := reflect.TypeOf(fn)
	if ft == nil || ft.Kind() != reflect.Func || ft.IsVariadic() {
		return expr.UserFunction{}, fmt.Errorf("want a func or a VectorizedFunction, got %T", fn)
	}
	if ft.NumOut() == 0 || ft.NumOut() > 2 || (ft.NumOut() == 2 && ft.Out(1) != errorType) {
		return expr.UserFunction{}, fmt.Errorf("%s must return a value, optionally with an error", ft)
	}
	uf := expr.UserFunction{Name: name}
	for i := 0; i < ft.NumIn(); i++ {
		t, ok := udfTypes[ft.In(i)]
		if !ok {
			return uf, fmt.Errorf("parameter %d has Go type %s; supported: int64, int32, float64, string, bool, []byte, time.Time", i+1, ft.In(i))
		}
		uf.Params = append(uf.Params, t)
	}
	rt, ok := udfTypes[ft.Out(0)]
	if !ok {
		return uf, fmt.Errorf("result type %s is not supported", ft.Out(0))
	}
	uf.Result = rt
	// Unnamed func types let the typed adapters type-assert fn.
	if ft.Name() != "" {
		ins := make([]reflect.Type, ft.NumIn())
		for i := range ins {
			ins[i] = ft.In(i)
		}
		outs := []reflect.Type{ft.Out(0)}
		if ft.NumOut() == 2 {
			outs = append(outs, errorType)
		}
		fn = reflect.ValueOf(fn).Convert(reflect.FuncOf(ins, outs, false)).Interface()
	}
	dt := rt.Arrow()
	var k kernelFunc
	switch ft.NumIn() {
	case 1:
		k = bind1(fn, ft)
	case 2:
		k = bind2(fn, ft)
	}
	if k == nil {
		k = reflectKernel(fn, ft)
	}
	uf.Eval = func(args []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error) {
		return k(args, n, mem, dt)
	}
	return uf, nil
}

// kernelFunc evaluates an adapted Go func over argument arrays.
type kernelFunc func(args []arrow.Array, n int, mem memory.Allocator, dt arrow.DataType) (arrow.Array, error)

var (
	errorType = reflect.TypeFor[error]()
	tInt64    = reflect.TypeFor[int64]()
	tInt32    = reflect.TypeFor[int32]()
	tFloat64  = reflect.TypeFor[float64]()
	tString   = reflect.TypeFor[string]()
	tBool     = reflect.TypeFor[bool]()
	tBytes    = reflect.TypeFor[[]byte]()
	tTime     = reflect.TypeFor[time.Time]()

	udfTypes = map[reflect.Type]types.DataType{
		tInt64: types.BigIntType, tInt32: types.IntType, tFloat64: types.DoubleType,
		tString: types.StringType, tBool: types.BooleanType, tBytes: types.BytesType,
		tTime: types.TimestampType(3),
	}
)

// The typed adapters: bind1 and bind2 pick, by reflection and once per
// registration, the generic instantiation of the loop for the func's exact
// parameter and result types; the loop then calls the func directly, with
// values read from (and written to) typed Arrow buffers. Each switch
// level fixes one type parameter.

func bind1(fn any, ft reflect.Type) kernelFunc {
	switch ft.In(0) {
	case tInt64:
		return bind1R[int64](fn, ft)
	case tInt32:
		return bind1R[int32](fn, ft)
	case tFloat64:
		return bind1R[float64](fn, ft)
	case tString:
		return bind1R[string](fn, ft)
	case tBool:
		return bind1R[bool](fn, ft)
	case tBytes:
		return bind1R[[]byte](fn, ft)
	case tTime:
		return bind1R[time.Time](fn, ft)
	}
	return nil
}

func bind1R[A any](fn any, ft reflect.Type) kernelFunc {
	switch ft.Out(0) {
	case tInt64:
		return make1[A, int64](fn)
	case tInt32:
		return make1[A, int32](fn)
	case tFloat64:
		return make1[A, float64](fn)
	case tString:
		return make1[A, string](fn)
	case tBool:
		return make1[A, bool](fn)
	case tBytes:
		return make1[A, []byte](fn)
	case tTime:
		return make1[A, time.Time](fn)
	}
	return nil
}

func make1[A, R any](fn any) kernelFunc {
	var f func(A) R
	var fe func(A) (R, error)
	switch x := fn.(type) {
	case func(A) R:
		f = x
	case func(A) (R, error):
		fe = x
	default:
		return nil
	}
	return func(args []arrow.Array, n int, mem memory.Allocator, dt arrow.DataType) (arrow.Array, error) {
		a := newReader[A](args[0])
		w := newWriter[R](mem, dt, n)
		nulls := args[0].NullN() > 0
		if f != nil && a.fixed != nil && w.fixed != nil {
			// Fixed-width in and out: a branch-free loop over the value
			// buffers; NULL rows compute garbage that their validity hides.
			in, out := a.fixed[:n], w.fixed[:n]
			for i, x := range in {
				out[i] = f(x)
			}
			if nulls {
				for i := range n {
					if args[0].IsNull(i) {
						w.null(i)
					}
				}
			}
			return w.finish(), nil
		}
		for i := 0; i < n; i++ {
			if nulls && args[0].IsNull(i) {
				w.null(i)
				continue
			}
			var r R
			if f != nil {
				r = f(a.at(i))
			} else {
				var err error
				if r, err = fe(a.at(i)); err != nil {
					w.release()
					return nil, err
				}
			}
			w.put(i, r)
		}
		return w.finish(), nil
	}
}

func bind2(fn any, ft reflect.Type) kernelFunc {
	switch ft.In(0) {
	case tInt64:
		return bind2B[int64](fn, ft)
	case tInt32:
		return bind2B[int32](fn, ft)
	case tFloat64:
		return bind2B[float64](fn, ft)
	case tString:
		return bind2B[string](fn, ft)
	case tBool:
		return bind2B[bool](fn, ft)
	case tBytes:
		return bind2B[[]byte](fn, ft)
	case tTime:
		return bind2B[time.Time](fn, ft)
	}
	return nil
}

func bind2B[A any](fn any, ft reflect.Type) kernelFunc {
	switch ft.In(1) {
	case tInt64:
		return bind2R[A, int64](fn, ft)
	case tInt32:
		return bind2R[A, int32](fn, ft)
	case tFloat64:
		return bind2R[A, float64](fn, ft)
	case tString:
		return bind2R[A, string](fn, ft)
	case tBool:
		return bind2R[A, bool](fn, ft)
	case tBytes:
		return bind2R[A, []byte](fn, ft)
	case tTime:
		return bind2R[A, time.Time](fn, ft)
	}
	return nil
}

func bind2R[A, B any](fn any, ft reflect.Type) kernelFunc {
	switch ft.Out(0) {
	case tInt64:
		return make2[A, B, int64](fn)
	case tInt32:
		return make2[A, B, int32](fn)
	case tFloat64:
		return make2[A, B, float64](fn)
	case tString:
		return make2[A, B, string](fn)
	case tBool:
		return make2[A, B, bool](fn)
	case tBytes:
		return make2[A, B, []byte](fn)
	case tTime:
		return make2[A, B, time.Time](fn)
	}
	return nil
}

func make2[A, B, R any](fn any) kernelFunc {
	var f func(A, B) R
	var fe func(A, B) (R, error)
	switch x := fn.(type) {
	case func(A, B) R:
		f = x
	case func(A, B) (R, error):
		fe = x
	default:
		return nil
	}
	return func(args []arrow.Array, n int, mem memory.Allocator, dt arrow.DataType) (arrow.Array, error) {
		a, b := newReader[A](args[0]), newReader[B](args[1])
		w := newWriter[R](mem, dt, n)
		nulls := args[0].NullN() > 0 || args[1].NullN() > 0
		for i := 0; i < n; i++ {
			if nulls && (args[0].IsNull(i) || args[1].IsNull(i)) {
				w.null(i)
				continue
			}
			var r R
			if f != nil {
				r = f(a.at(i), b.at(i))
			} else {
				var err error
				if r, err = fe(a.at(i), b.at(i)); err != nil {
					w.release()
					return nil, err
				}
			}
			w.put(i, r)
		}
		return w.finish(), nil
	}
}

// reader reads values of Go type A from an Arrow array: fixed-width
// numbers straight from the value buffer, others through a typed getter.
type reader[A any] struct {
	fixed []A
	get   func(int) A
}

func (r *reader[A]) at(i int) A {
	if r.fixed != nil {
		return r.fixed[i]
	}
	return r.get(i)
}

func newReader[A any](arr arrow.Array) reader[A] {
	var r reader[A]
	switch p := any(&r).(type) {
	case *reader[int64]:
		p.fixed = arr.(*array.Int64).Int64Values()
	case *reader[int32]:
		p.fixed = arr.(*array.Int32).Int32Values()
	case *reader[float64]:
		p.fixed = arr.(*array.Float64).Float64Values()
	case *reader[string]:
		p.get = arr.(*array.String).Value
	case *reader[bool]:
		p.get = arr.(*array.Boolean).Value
	case *reader[[]byte]:
		p.get = arr.(*array.Binary).Value
	case *reader[time.Time]:
		ts := arr.(*array.Timestamp)
		unit := ts.DataType().(*arrow.TimestampType).Unit
		p.get = func(i int) time.Time { return ts.Value(i).ToTime(unit) }
	}
	if r.fixed == nil && r.get == nil {
		// Zero-length fixed-width arrays have empty value slices.
		r.fixed = []A{}
	}
	return r
}

// writer builds the result: fixed-width results in place in a value
// buffer with a validity bitmap, others through a builder.
type writer[R any] struct {
	mem   memory.Allocator
	dt    arrow.DataType
	n     int
	valid *memory.Buffer
	vals  *memory.Buffer
	fixed []R
	nulls int
	b     array.Builder
	add   func(R)
}

func newWriter[R any](mem memory.Allocator, dt arrow.DataType, n int) *writer[R] {
	w := &writer[R]{mem: mem, dt: dt, n: n}
	var zero R
	switch any(zero).(type) {
	case int64, int32, float64:
		size := int(unsafe.Sizeof(zero))
		w.vals = memory.NewResizableBuffer(mem)
		w.vals.Resize(n * size)
		if n > 0 {
			w.fixed = unsafe.Slice((*R)(unsafe.Pointer(&w.vals.Bytes()[0])), n)
		} else {
			w.fixed = []R{}
		}
		// The validity bitmap is made by the first null.
		return w
	}
	w.b = array.NewBuilder(mem, dt)
	w.b.Reserve(n)
	switch p := any(&w.add).(type) {
	case *func(string):
		sb := w.b.(*array.StringBuilder)
		*p = sb.Append
	case *func(bool):
		*p = w.b.(*array.BooleanBuilder).Append
	case *func([]byte):
		*p = w.b.(*array.BinaryBuilder).Append
	case *func(time.Time):
		tb := w.b.(*array.TimestampBuilder)
		unit := dt.(*arrow.TimestampType).Unit
		*p = func(t time.Time) { tb.Append(arrow.Timestamp(unitValue(t, unit))) }
	}
	return w
}

func unitValue(t time.Time, u arrow.TimeUnit) int64 {
	switch u {
	case arrow.Second:
		return t.Unix()
	case arrow.Millisecond:
		return t.UnixMilli()
	case arrow.Microsecond:
		return t.UnixMicro()
	}
	return t.UnixNano()
}

func (w *writer[R]) put(i int, v R) {
	if w.fixed != nil {
		w.fixed[i] = v
		return
	}
	w.add(v)
}

func (w *writer[R]) null(i int) {
	if w.fixed != nil {
		if w.valid == nil {
			w.valid = memory.NewResizableBuffer(w.mem)
			w.valid.Resize(int(bitutil.BytesForBits(int64(w.n))))
			bitutil.SetBitsTo(w.valid.Bytes(), 0, int64(w.n), true)
		}
		bitutil.ClearBit(w.valid.Bytes(), i)
		w.nulls++
		return
	}
	w.b.AppendNull()
}

func (w *writer[R]) release() {
	if w.b != nil {
		w.b.Release()
		return
	}
	w.vals.Release()
	if w.valid != nil {
		w.valid.Release()
	}
}

func (w *writer[R]) finish() arrow.Array {
	if w.b != nil {
		defer w.b.Release()
		return w.b.NewArray()
	}
	valid := w.valid
	data := array.NewData(w.dt, w.n, []*memory.Buffer{valid, w.vals}, nil, w.nulls, 0)
	defer data.Release()
	if valid != nil {
		valid.Release()
	}
	w.vals.Release()
	return array.MakeFromData(data)
}

// reflectKernel calls fn through reflection once per row: the fallback
// for signatures the typed adapters do not cover.
func reflectKernel(fn any, ft reflect.Type) kernelFunc {
	fv := reflect.ValueOf(fn)
	return func(args []arrow.Array, n int, mem memory.Allocator, dt arrow.DataType) (arrow.Array, error) {
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		in := make([]reflect.Value, len(args))
	rows:
		for i := 0; i < n; i++ {
			for j, a := range args {
				if a.IsNull(i) {
					b.AppendNull()
					continue rows
				}
				in[j] = reflect.ValueOf(goValue(a, i, types.DataType{}))
				if in[j].Type() != ft.In(j) {
					in[j] = in[j].Convert(ft.In(j))
				}
			}
			out := fv.Call(in)
			if len(out) == 2 && !out[1].IsNil() {
				return nil, out[1].Interface().(error)
			}
			if err := appendValue(b, out[0].Interface()); err != nil {
				return nil, err
			}
		}
		return b.NewArray(), nil
	}
}

func appendValue(b array.Builder, v any) error {
	switch x := v.(type) {
	case int64:
		b.(*array.Int64Builder).Append(x)
	case int32:
		b.(*array.Int32Builder).Append(x)
	case float64:
		b.(*array.Float64Builder).Append(x)
	case string:
		b.(*array.StringBuilder).Append(x)
	case bool:
		b.(*array.BooleanBuilder).Append(x)
	case []byte:
		b.(*array.BinaryBuilder).Append(x)
	case time.Time:
		tb := b.(*array.TimestampBuilder)
		tb.Append(arrow.Timestamp(unitValue(x, tb.Type().(*arrow.TimestampType).Unit)))
	default:
		return fmt.Errorf("cannot append %T", v)
	}
	return nil
}
