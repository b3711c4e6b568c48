package table

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
)

// AggregateFunction is a Go aggregate function of one argument, Flink's
// AggregateFunction in Go: CreateFunction(name, AggregateFunction{…})
// makes it callable from SQL (SELECT name(x) … GROUP BY …) and from the
// Table API (Aggregate(name, …)), in group aggregations, OVER windows and
// window aggregations (TUMBLE, HOP, CUMULATE; SESSION with Merge; not
// with a time.Time argument).
//
// In is the argument's Go type and Out the result's, among int64, int32,
// float64, string, bool, []byte and time.Time; an int64 argument accepts
// any integer column and a float64 argument any integer or approximate
// numeric column. Rows whose argument is NULL are skipped, as SQL's
// built-in aggregates do. Acc is the accumulator, one per group; it is
// saved in snapshots with encoding/json, so its state must be in exported
// fields.
type AggregateFunction[In, Acc, Out any] struct {
	// CreateAccumulator returns an empty accumulator (nil: Acc's zero value).
	CreateAccumulator func() Acc
	// Accumulate adds a value to the accumulator.
	Accumulate func(acc *Acc, v In)
	// Retract removes a value added before; without it the function cannot
	// aggregate an updating input (a retraction fails the plan's job).
	Retract func(acc *Acc, v In)
	// GetValue returns the result; false means NULL.
	GetValue func(acc *Acc) (Out, bool)
	// Merge folds other into acc, as Flink's merge: session windows need it
	// to combine two sessions that a late-arriving row bridges; without it
	// the function cannot aggregate session windows.
	Merge func(acc *Acc, other *Acc)
}

func (f AggregateFunction[In, Acc, Out]) userAggregate() (agg.UserAggregate, error) {
	if f.Accumulate == nil || f.GetValue == nil {
		return nil, fmt.Errorf("an AggregateFunction needs Accumulate and GetValue")
	}
	in, ok := udfTypes[reflect.TypeFor[In]()]
	if !ok {
		return nil, fmt.Errorf("argument type %s is not supported", reflect.TypeFor[In]())
	}
	out, ok := udfTypes[reflect.TypeFor[Out]()]
	if !ok {
		return nil, fmt.Errorf("result type %s is not supported", reflect.TypeFor[Out]())
	}
	return &userAgg[In, Acc, Out]{f: f, in: in, out: out}, nil
}

// aggregateFunction is implemented by every AggregateFunction
// instantiation, so that CreateFunction can accept them all.
type aggregateFunction interface {
	userAggregate() (agg.UserAggregate, error)
}

type userAgg[In, Acc, Out any] struct {
	f       AggregateFunction[In, Acc, Out]
	in, out types.DataType
}

func (u *userAgg[In, Acc, Out]) Retracts() bool { return u.f.Retract != nil }

func (u *userAgg[In, Acc, Out]) Merges() bool { return u.f.Merge != nil }

func (u *userAgg[In, Acc, Out]) ParamType() types.DataType { return u.in }

// NewWindowAccumulators makes accumulators reading arguments of the
// function's own parameter type, which window aggregates supply.
func (u *userAgg[In, Acc, Out]) NewWindowAccumulators() (agg.UserWindowAccumulators, error) {
	if u.in.Kind == types.Timestamp {
		// Window aggregates carry timestamps without their precision.
		return nil, fmt.Errorf("time.Time arguments are not supported in window aggregates")
	}
	accs, err := u.NewAccumulators([]arrow.DataType{u.in.Arrow()})
	if err != nil {
		return nil, err
	}
	return accs.(*userAccs[In, Acc, Out]), nil
}

func (u *userAgg[In, Acc, Out]) ResultType(args []types.DataType) (types.DataType, error) {
	if len(args) != 1 {
		return types.DataType{}, fmt.Errorf("takes one argument, got %d", len(args))
	}
	if !accepts(u.in, args[0]) {
		return types.DataType{}, fmt.Errorf("takes %s, not %s", u.in, args[0])
	}
	return u.out.WithNullable(true), nil
}

// accepts reports whether an argument of type arg can be read as want's
// Go type: integers widen to int64, numbers to float64.
func accepts(want, arg types.DataType) bool {
	switch want.Kind {
	case types.BigInt:
		return arg.IsInteger()
	case types.Double:
		return arg.IsInteger() || arg.Kind == types.Float || arg.Kind == types.Double
	case types.Timestamp:
		return arg.Kind == types.Timestamp
	}
	return arg.Arrow().ID() == want.Arrow().ID()
}

func (u *userAgg[In, Acc, Out]) NewAccumulators(args []arrow.DataType) (agg.UserAccumulators, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("takes one argument, got %d", len(args))
	}
	read, err := argReader[In](args[0])
	if err != nil {
		return nil, err
	}
	return &userAccs[In, Acc, Out]{u: u, read: read, same: sameFunc[Out]()}, nil
}

// userAccs holds the accumulators of one operator, one per group slot,
// and the results each row of the last Update saw.
type userAccs[In, Acc, Out any] struct {
	u    *userAgg[In, Acc, Out]
	read func(col arrow.Array) reader[In]
	same func(a, b Out) bool
	accs []Acc

	before, after []Out
	bOK, aOK      []bool
}

func (a *userAccs[In, Acc, Out]) fresh() Acc {
	if a.u.f.CreateAccumulator == nil {
		var zero Acc
		return zero
	}
	return a.u.f.CreateAccumulator()
}

func (a *userAccs[In, Acc, Out]) Grow(n int) {
	for len(a.accs) < n {
		a.accs = append(a.accs, a.fresh())
	}
}

func (a *userAccs[In, Acc, Out]) Reset(slot int32) { a.accs[slot] = a.fresh() }

func (a *userAccs[In, Acc, Out]) Update(cols []arrow.Array, slots []int32, retract, act []bool) {
	n := len(slots)
	if cap(a.before) < n {
		a.before, a.after = make([]Out, n), make([]Out, n)
		a.bOK, a.aOK = make([]bool, n), make([]bool, n)
	}
	a.before, a.after, a.bOK, a.aOK = a.before[:n], a.after[:n], a.bOK[:n], a.aOK[:n]
	col := cols[0]
	vals := a.read(col)
	for i, s := range slots {
		if s < 0 {
			continue
		}
		acc := &a.accs[s]
		a.before[i], a.bOK[i] = a.u.f.GetValue(acc)
		if (act == nil || act[i]) && col.IsValid(i) {
			if retract != nil && retract[i] {
				a.u.f.Retract(acc, vals.at(i))
			} else {
				a.u.f.Accumulate(acc, vals.at(i))
			}
		}
		a.after[i], a.aOK[i] = a.u.f.GetValue(acc)
	}
}

// Accumulate is Update for windows, which do not read results row by
// row.
func (a *userAccs[In, Acc, Out]) Accumulate(cols []arrow.Array, slots []int32) {
	col := cols[0]
	vals := a.read(col)
	for i, s := range slots {
		if s >= 0 && col.IsValid(i) {
			a.u.f.Accumulate(&a.accs[s], vals.at(i))
		}
	}
}

// Retract is Accumulate's undo for windows over an updating input, with
// the function's Retract, which the planner checks exists (Retracts).
func (a *userAccs[In, Acc, Out]) Retract(cols []arrow.Array, slots []int32) {
	col := cols[0]
	vals := a.read(col)
	for i, s := range slots {
		if s >= 0 && col.IsValid(i) {
			a.u.f.Retract(&a.accs[s], vals.at(i))
		}
	}
}

// Merge folds slot src into dst with the function's Merge, which
// NewWindowAccumulators' callers check exists (Merges).
func (a *userAccs[In, Acc, Out]) Merge(dst, src int32) {
	a.u.f.Merge(&a.accs[dst], &a.accs[src])
}

// Results builds the current result of each of slots.
func (a *userAccs[In, Acc, Out]) Results(mem memory.Allocator, dt arrow.DataType, slots []int32) arrow.Array {
	w := newWriter[Out](mem, dt, len(slots))
	for j, s := range slots {
		if v, ok := a.u.f.GetValue(&a.accs[s]); ok {
			w.put(j, v)
		} else {
			w.null(j)
		}
	}
	return w.finish()
}

func (a *userAccs[In, Acc, Out]) Changed(changed []bool) {
	for i := range changed {
		if a.bOK[i] != a.aOK[i] || (a.aOK[i] && !a.same(a.before[i], a.after[i])) {
			changed[i] = true
		}
	}
}

func (a *userAccs[In, Acc, Out]) Build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	w := newWriter[Out](mem, dt, len(rows))
	for j, i := range rows {
		v, ok := a.after[i], a.aOK[i]
		if before[j] {
			v, ok = a.before[i], a.bOK[i]
		}
		if ok {
			w.put(j, v)
		} else {
			w.null(j)
		}
	}
	return w.finish()
}

// AppendState writes the slot's accumulator as length-prefixed JSON.
func (a *userAccs[In, Acc, Out]) AppendState(dst []byte, slot int32) []byte {
	b, err := json.Marshal(a.accs[slot])
	if err != nil {
		// An accumulator that JSON cannot encode restores empty rather
		// than failing the snapshot of every other group.
		b = []byte("null")
	}
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func (a *userAccs[In, Acc, Out]) ReadState(src []byte, slot int32) ([]byte, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || uint64(len(src)-k) < n {
		return nil, fmt.Errorf("aggregate state: truncated accumulator")
	}
	acc := a.fresh()
	if err := json.Unmarshal(src[k:k+int(n)], &acc); err != nil {
		return nil, fmt.Errorf("aggregate state: %v", err)
	}
	a.accs[slot] = acc
	return src[k+int(n):], nil
}

// argReader returns how to read a column of Arrow type dt as In, widening
// integers (and, for float64, numbers) to the Go type.
func argReader[In any](dt arrow.DataType) (func(arrow.Array) reader[In], error) {
	var zero In
	switch any(zero).(type) {
	case int64:
		if dt.ID() == arrow.INT64 {
			break
		}
		var scratch []int64
		return func(col arrow.Array) reader[In] {
			scratch = widen(col, scratch)
			return any(reader[int64]{fixed: scratch}).(reader[In])
		}, nil
	case float64:
		if dt.ID() == arrow.FLOAT64 {
			break
		}
		var scratch []float64
		return func(col arrow.Array) reader[In] {
			scratch = widenFloat(col, scratch)
			return any(reader[float64]{fixed: scratch}).(reader[In])
		}, nil
	}
	return newReader[In], nil
}

// widen copies an integer column's values into scratch as int64.
func widen(col arrow.Array, scratch []int64) []int64 {
	scratch = scratch[:0]
	switch c := col.(type) {
	case *array.Int8:
		for _, v := range c.Int8Values() {
			scratch = append(scratch, int64(v))
		}
	case *array.Int16:
		for _, v := range c.Int16Values() {
			scratch = append(scratch, int64(v))
		}
	case *array.Int32:
		for _, v := range c.Int32Values() {
			scratch = append(scratch, int64(v))
		}
	case *array.Int64:
		scratch = append(scratch, c.Int64Values()...)
	}
	return scratch
}

// widenFloat copies a numeric column's values into scratch as float64.
func widenFloat(col arrow.Array, scratch []float64) []float64 {
	scratch = scratch[:0]
	switch c := col.(type) {
	case *array.Float32:
		for _, v := range c.Float32Values() {
			scratch = append(scratch, float64(v))
		}
	case *array.Float64:
		scratch = append(scratch, c.Float64Values()...)
	default:
		for _, v := range widen(col, nil) {
			scratch = append(scratch, float64(v))
		}
	}
	return scratch
}

// sameFunc returns equality for a result type, without boxing.
func sameFunc[Out any]() func(a, b Out) bool {
	var f func(a, b Out) bool
	switch p := any(&f).(type) {
	case *func(a, b []byte) bool:
		*p = bytes.Equal
	case *func(a, b time.Time) bool:
		*p = time.Time.Equal
	case *func(a, b int64) bool:
		*p = func(a, b int64) bool { return a == b }
	case *func(a, b int32) bool:
		*p = func(a, b int32) bool { return a == b }
	case *func(a, b float64) bool:
		*p = func(a, b float64) bool { return a == b }
	case *func(a, b string) bool:
		*p = func(a, b string) bool { return a == b }
	case *func(a, b bool) bool:
		*p = func(a, b bool) bool { return a == b }
	}
	return f
}

func registerAggregate(name string, f aggregateFunction) error {
	u, err := f.userAggregate()
	if err != nil {
		return errs.New(errs.InvalidPlan, "CreateFunction %s: %v", name, err)
	}
	if err := agg.RegisterUser(name, u); err != nil {
		return errs.New(errs.InvalidPlan, "CreateFunction: %v", err)
	}
	return nil
}

var (
	_ agg.UserWindowAggregate = (*userAgg[int64, int64, int64])(nil)
	_ agg.UserWindowRetractor = (*userAccs[int64, int64, int64])(nil)
)
