package table

import (
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// TableFunction is a vectorized table function for CreateFunction,
// Flink's TableFunction: every input row yields zero or more rows of the
// Result columns. SQL calls it in FROM,
//
//	SELECT id, word FROM t, LATERAL TABLE(split(line)) AS w(word)
//	SELECT id, word FROM t LEFT JOIN LATERAL TABLE(split(line)) AS w(word) ON TRUE
//	SELECT * FROM TABLE(split('a b c'))
//
// and the Table API with Table.JoinLateral and Table.LeftOuterJoinLateral.
// The inner forms drop input rows without rows; the left form keeps them
// once, with NULL columns. Without an alias list the columns are named as
// in Result. A correlated scalar subquery may call one too: (SELECT
// COUNT(*) FROM LATERAL TABLE(split(line))).
//
// Eval is called once per batch of n input rows: args[i] holds the values
// of parameter i as Params[i].Arrow() arrays (implicitly cast as for
// built-in functions; NULL arguments included). It returns one array per
// Result column, all of one length m, allocated from mem, and parent, for
// each of the m output rows the index of the input row it belongs to, in
// non-decreasing order (the rows of input row 0 first). Eval must be safe
// for concurrent use and must not retain or release its arguments; parent
// is only read during the call.
//
// Over an updating input (a changelog) the rows of a retracted row are
// recomputed and retracted, which is right for deterministic functions
// only, as in Flink.
type TableFunction struct {
	Params []types.DataType
	Result []types.Field
	Eval   func(args []arrow.Array, n int, mem memory.Allocator) (cols []arrow.Array, parent []int32, err error)
}

// isTableFunc reports whether fn is to be registered as a table function:
// a TableFunction, or a Go func returning a slice (other than []byte).
func isTableFunc(fn any) bool {
	if _, ok := fn.(TableFunction); ok {
		return true
	}
	ft := reflect.TypeOf(fn)
	return ft != nil && ft.Kind() == reflect.Func && ft.NumOut() > 0 &&
		ft.Out(0).Kind() == reflect.Slice && ft.Out(0) != tBytes
}

func registerTableFunction(name string, fn any) error {
	tf, ok := fn.(TableFunction)
	if !ok {
		var err error
		if tf, err = goTableFunction(fn); err != nil {
			return errs.New(errs.InvalidPlan, "CreateFunction %s: %v", name, err)
		}
	}
	if tf.Eval == nil {
		return errs.New(errs.InvalidPlan, "CreateFunction %s: a TableFunction needs Eval", name)
	}
	err := expr.RegisterTableFunction(expr.TableFunction{Name: name, Params: tf.Params, Columns: tf.Result, Eval: tf.Eval})
	if err != nil {
		return errs.New(errs.InvalidPlan, "CreateFunction: %v", err)
	}
	return nil
}

// goTableFunction adapts a Go func returning the rows of one input row as
// a slice, optionally with an error: func(string) []string,
// func(string, int64) ([]Word, error). Parameters are of the scalar
// function types (see CreateFunction). A slice of a scalar type gives one
// column, f0 (Flink's name for an atomic result); a slice of structs gives
// one column per exported field, of a scalar type, named by the field's
// `eddy:"name"` tag or else its name. The func is not called for rows
// with a NULL argument, which yield no rows.
//
// Funcs of one argument returning a slice of a scalar type run through a
// typed loop appending each call's slice to the column in bulk; other
// shapes call the func through reflection per input row.
func goTableFunction(fn any) (TableFunction, error) {
	ft := reflect.TypeOf(fn)
	if ft.IsVariadic() || ft.NumOut() > 2 || (ft.NumOut() == 2 && ft.Out(1) != errorType) {
		return TableFunction{}, fmt.Errorf("%s must return a slice of rows, optionally with an error", ft)
	}
	var tf TableFunction
	for i := 0; i < ft.NumIn(); i++ {
		t, ok := udfTypes[ft.In(i)]
		if !ok {
			return tf, fmt.Errorf("parameter %d has Go type %s; supported: int64, int32, float64, string, bool, []byte, time.Time", i+1, ft.In(i))
		}
		tf.Params = append(tf.Params, t)
	}
	elem := ft.Out(0).Elem()
	fields, err := rowFields(elem)
	if err != nil {
		return tf, err
	}
	tf.Result = fields
	if ft.NumIn() == 1 && elem.Kind() != reflect.Struct {
		// Unnamed func types let the typed loops type-assert fn.
		fn = reflect.ValueOf(fn).Convert(reflect.FuncOf([]reflect.Type{ft.In(0)}, outTypes(ft), false)).Interface()
		if eval := bindT1(fn, ft); eval != nil {
			tf.Eval = eval
			return tf, nil
		}
	}
	tf.Eval = reflectTableKernel(fn, ft, fields)
	return tf, nil
}

func outTypes(ft reflect.Type) []reflect.Type {
	outs := make([]reflect.Type, ft.NumOut())
	for i := range outs {
		outs[i] = ft.Out(i)
	}
	return outs
}

// rowFields returns the columns of a table function whose rows are of Go
// type elem.
func rowFields(elem reflect.Type) ([]types.Field, error) {
	if t, ok := udfTypes[elem]; ok {
		return []types.Field{{Name: "f0", Type: t}}, nil
	}
	if elem.Kind() != reflect.Struct {
		return nil, fmt.Errorf("rows of Go type %s are not supported; use a slice of int64, int32, float64, string, bool, []byte, time.Time or of structs of them", elem)
	}
	var fields []types.Field
	for i := 0; i < elem.NumField(); i++ {
		f := elem.Field(i)
		if !f.IsExported() {
			return nil, fmt.Errorf("field %s of %s is not exported", f.Name, elem)
		}
		t, ok := udfTypes[f.Type]
		if !ok {
			return nil, fmt.Errorf("field %s of %s has Go type %s; supported: int64, int32, float64, string, bool, []byte, time.Time", f.Name, elem, f.Type)
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("eddy"); ok && tag != "" {
			name = tag
		}
		fields = append(fields, types.Field{Name: name, Type: t})
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%s has no fields", elem)
	}
	return fields, nil
}

// bindT1 and bindT1R pick, once per registration, the instantiation of
// the typed loop for a func of one argument returning a slice of a
// scalar type.
func bindT1(fn any, ft reflect.Type) func([]arrow.Array, int, memory.Allocator) ([]arrow.Array, []int32, error) {
	switch ft.In(0) {
	case tInt64:
		return bindT1R[int64](fn, ft)
	case tInt32:
		return bindT1R[int32](fn, ft)
	case tFloat64:
		return bindT1R[float64](fn, ft)
	case tString:
		return bindT1R[string](fn, ft)
	case tBool:
		return bindT1R[bool](fn, ft)
	case tBytes:
		return bindT1R[[]byte](fn, ft)
	case tTime:
		return bindT1R[time.Time](fn, ft)
	}
	return nil
}

func bindT1R[A any](fn any, ft reflect.Type) func([]arrow.Array, int, memory.Allocator) ([]arrow.Array, []int32, error) {
	switch ft.Out(0).Elem() {
	case tInt64:
		return makeT1[A, int64](fn)
	case tInt32:
		return makeT1[A, int32](fn)
	case tFloat64:
		return makeT1[A, float64](fn)
	case tString:
		return makeT1[A, string](fn)
	case tBool:
		return makeT1[A, bool](fn)
	case tBytes:
		return makeT1[A, []byte](fn)
	case tTime:
		return makeT1[A, time.Time](fn)
	}
	return nil
}

func makeT1[A, R any](fn any) func([]arrow.Array, int, memory.Allocator) ([]arrow.Array, []int32, error) {
	var f func(A) []R
	var fe func(A) ([]R, error)
	switch x := fn.(type) {
	case func(A) []R:
		f = x
	case func(A) ([]R, error):
		fe = x
	default:
		return nil
	}
	dt := udfTypes[reflect.TypeFor[R]()].Arrow()
	return func(args []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
		a := newReader[A](args[0])
		b := array.NewBuilder(mem, dt)
		defer b.Release()
		add := appendSlice[R](b)
		nulls := args[0].NullN() > 0
		parent := make([]int32, 0, n)
		for i := 0; i < n; i++ {
			if nulls && args[0].IsNull(i) {
				continue
			}
			var rows []R
			if f != nil {
				rows = f(a.at(i))
			} else {
				var err error
				if rows, err = fe(a.at(i)); err != nil {
					return nil, nil, err
				}
			}
			add(rows)
			for range rows {
				parent = append(parent, int32(i))
			}
		}
		return []arrow.Array{b.NewArray()}, parent, nil
	}
}

// appendSlice returns the bulk append of b's Go type R.
func appendSlice[R any](b array.Builder) func([]R) {
	var add func([]R)
	switch p := any(&add).(type) {
	case *func([]int64):
		*p = func(v []int64) { b.(*array.Int64Builder).AppendValues(v, nil) }
	case *func([]int32):
		*p = func(v []int32) { b.(*array.Int32Builder).AppendValues(v, nil) }
	case *func([]float64):
		*p = func(v []float64) { b.(*array.Float64Builder).AppendValues(v, nil) }
	case *func([]string):
		*p = func(v []string) { b.(*array.StringBuilder).AppendValues(v, nil) }
	case *func([]bool):
		*p = func(v []bool) { b.(*array.BooleanBuilder).AppendValues(v, nil) }
	case *func([][]byte):
		*p = func(v [][]byte) { b.(*array.BinaryBuilder).AppendValues(v, nil) }
	case *func([]time.Time):
		tb := b.(*array.TimestampBuilder)
		unit := tb.Type().(*arrow.TimestampType).Unit
		*p = func(v []time.Time) {
			for _, t := range v {
				tb.Append(arrow.Timestamp(unitValue(t, unit)))
			}
		}
	}
	return add
}

// reflectTableKernel calls fn through reflection once per input row: the
// fallback for the shapes the typed loop does not cover. The rows it
// returns are read in place, each column's values at their offset in the
// slice's elements, so that reading a row allocates nothing.
func reflectTableKernel(fn any, ft reflect.Type, fields []types.Field) func([]arrow.Array, int, memory.Allocator) ([]arrow.Array, []int32, error) {
	fv := reflect.ValueOf(fn)
	elem := ft.Out(0).Elem()
	size := elem.Size()
	offsets := []uintptr{0}
	appenders := []func(array.Builder, unsafe.Pointer){fieldAppender(elem)}
	if elem.Kind() == reflect.Struct {
		offsets, appenders = offsets[:0], appenders[:0]
		for j := 0; j < elem.NumField(); j++ {
			offsets = append(offsets, elem.Field(j).Offset)
			appenders = append(appenders, fieldAppender(elem.Field(j).Type))
		}
	}
	return func(args []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
		bs := make([]array.Builder, len(fields))
		for j, f := range fields {
			bs[j] = array.NewBuilder(mem, f.Type.Arrow())
		}
		defer func() {
			for _, b := range bs {
				b.Release()
			}
		}()
		in := make([]reflect.Value, len(args))
		var parent []int32
	rows:
		for i := 0; i < n; i++ {
			for j, a := range args {
				if a.IsNull(i) {
					continue rows
				}
				in[j] = reflect.ValueOf(goValue(a, i, types.DataType{}))
				if in[j].Type() != ft.In(j) {
					in[j] = in[j].Convert(ft.In(j))
				}
			}
			out := fv.Call(in)
			if len(out) == 2 && !out[1].IsNil() {
				return nil, nil, out[1].Interface().(error)
			}
			rows := out[0]
			base := rows.UnsafePointer() // the slice's elements, kept alive by rows
			for k := 0; k < rows.Len(); k++ {
				row := unsafe.Add(base, uintptr(k)*size)
				for j, b := range bs {
					appenders[j](b, unsafe.Add(row, offsets[j]))
				}
				parent = append(parent, int32(i))
			}
		}
		cols := make([]arrow.Array, len(bs))
		for j, b := range bs {
			cols[j] = b.NewArray()
		}
		return cols, parent, nil
	}
}

// fieldAppender appends the value of Go type t (one of udfTypes) at p to a
// builder of its Arrow type.
func fieldAppender(t reflect.Type) func(array.Builder, unsafe.Pointer) {
	switch t {
	case tInt64:
		return func(b array.Builder, p unsafe.Pointer) { b.(*array.Int64Builder).Append(*(*int64)(p)) }
	case tInt32:
		return func(b array.Builder, p unsafe.Pointer) { b.(*array.Int32Builder).Append(*(*int32)(p)) }
	case tFloat64:
		return func(b array.Builder, p unsafe.Pointer) { b.(*array.Float64Builder).Append(*(*float64)(p)) }
	case tString:
		return func(b array.Builder, p unsafe.Pointer) { b.(*array.StringBuilder).Append(*(*string)(p)) }
	case tBool:
		return func(b array.Builder, p unsafe.Pointer) { b.(*array.BooleanBuilder).Append(*(*bool)(p)) }
	case tBytes:
		return func(b array.Builder, p unsafe.Pointer) { b.(*array.BinaryBuilder).Append(*(*[]byte)(p)) }
	}
	return func(b array.Builder, p unsafe.Pointer) {
		tb := b.(*array.TimestampBuilder)
		tb.Append(arrow.Timestamp(unitValue(*(*time.Time)(p), tb.Type().(*arrow.TimestampType).Unit)))
	}
}

// lateralCall splits the argument of JoinLateral into the table
// function's call and its column names (Call("f", ...).As("a", "b")).
func lateralCall(e Expression) (Expression, []string) {
	if e.n.kind != kAlias {
		return e, nil
	}
	return e.n.args[0], append([]string{e.n.name}, e.n.more...)
}

// joinLateral plans t joined with the rows the table function call
// produces for each of its rows, as SQL's LATERAL TABLE: a Correlate
// (under a Filter for the conditions of an inner join).
func (t *Table) joinLateral(op string, left bool, fn Expression, conds []any) *Table {
	fnCall, names := lateralCall(fn)
	es := toExprs(conds)
	return t.derive(op, func(in planner.Node) (planner.Node, error) {
		if fnCall.n.kind != kCall {
			return nil, exprError(errs.InvalidPlan, fn, "%s needs a table function call, Call(name, args...)", op)
		}
		sc := newScope(in.Schema())
		args, err := sc.resolveAll(fnCall.n.args)
		if err != nil {
			return nil, err
		}
		c, err := expr.ResolveTableFunction(fnCall.n.name, args)
		if err != nil {
			return nil, exprError(resolveErrorCode(err), fnCall, "%v", err)
		}
		row := *c.Type().Elem
		elems := make([]types.Column, len(row.Fields))
		for i, f := range row.Fields {
			elems[i] = types.Column{Name: f.Name, Type: f.Type}
		}
		if len(names) > 0 {
			if len(names) != len(elems) {
				return nil, exprError(errs.DatatypeMismatch, fn, "%d column names given for the %d columns of table function %s", len(names), len(elems), fnCall.n.name)
			}
			for i, name := range planner.UniqueNames(names) {
				elems[i].Name = name
			}
		}
		var out planner.Node = &planner.Correlate{Input: in, Arg: c, Left: left, TableFunction: true, Elems: elems}
		osc := newScope(out.Schema())
		var cond expr.Expr
		for _, e := range es {
			r, err := osc.resolve(e)
			if err != nil {
				return nil, err
			}
			if r.Type().Kind != types.Boolean {
				return nil, exprError(errs.DatatypeMismatch, e, "join condition must be BOOLEAN, not %s", r.Type())
			}
			if folded, err := expr.Fold(r); err == nil {
				if lit, ok := folded.(*expr.Literal); ok && lit.Value == true {
					continue
				}
			}
			if left {
				// Flink accepts no other condition for a left outer
				// lateral join, as SQL's LEFT JOIN ... ON TRUE.
				return nil, exprError(errs.NotSupported, e, "%s takes only the condition TRUE", op)
			}
			if cond == nil {
				cond = r
			} else if cond, err = call(e, "AND", cond, r); err != nil {
				return nil, err
			}
		}
		if cond == nil {
			return out, nil
		}
		return &planner.Filter{Input: out, Condition: cond}, nil
	})
}
