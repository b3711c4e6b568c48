package agg

import (
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// UserAggregate is an aggregate function written outside the engine, in
// Go through the Table API (table.AggregateFunction), and registered by
// name with RegisterUser. Like Flink's AggregateFunction it may or may not
// support retraction; without it, it cannot aggregate an updating input.
type UserAggregate interface {
	// ResultType checks the argument types and derives the result type.
	ResultType(args []types.DataType) (types.DataType, error)
	// Retracts reports whether the function can undo a row (Flink's
	// retract method).
	Retracts() bool
	// NewAccumulators makes the accumulators of one operator's groups for
	// arguments of the given Arrow types.
	NewAccumulators(args []arrow.DataType) (UserAccumulators, error)
}

// UserAccumulators are a user aggregate's accumulators for every group
// slot of an operator. The methods follow the contract of the built-in
// kernels (see kernel): Update applies a batch in order, recording every
// row's group result before and after the row; Changed and Build read
// those results for the rows the operator emits.
type UserAccumulators interface {
	Grow(n int)
	Reset(slot int32)
	Update(cols []arrow.Array, slots []int32, retract, act []bool)
	Changed(changed []bool)
	Build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array
	AppendState(dst []byte, slot int32) []byte
	ReadState(src []byte, slot int32) ([]byte, error)
}

// UserWindowAggregate is a UserAggregate that window aggregates can run.
// Over an insert-only input windows only accumulate; over an updating one
// they also retract, through UserWindowRetractor. Session windows merge
// two windows' accumulators when a row bridges them, as Flink calls
// AggregateFunction.merge; a function without Merge cannot aggregate
// session windows.
type UserWindowAggregate interface {
	UserAggregate
	// ParamType is the function's declared argument type: window
	// aggregates hand it arguments of this type's Arrow type.
	ParamType() types.DataType
	// Merges reports whether the function can merge accumulators.
	Merges() bool
	NewWindowAccumulators() (UserWindowAccumulators, error)
}

// UserWindowAccumulators are a user aggregate's accumulators in a window
// aggregate: slot by slot as UserAccumulators (Grow, Reset, AppendState,
// ReadState), without the before/after results of Update.
type UserWindowAccumulators interface {
	Grow(n int)
	Reset(slot int32)
	AppendState(dst []byte, slot int32) []byte
	ReadState(src []byte, slot int32) ([]byte, error)
	// Accumulate adds row i of cols to slot slots[i], skipping rows whose
	// slot is negative and NULL arguments.
	Accumulate(cols []arrow.Array, slots []int32)
	// Merge folds slot src into dst; the caller resets src afterwards.
	Merge(dst, src int32)
	// Results builds the result of each of slots, of Arrow type dt.
	Results(mem memory.Allocator, dt arrow.DataType, slots []int32) arrow.Array
}

// UserWindowRetractor is implemented by the UserWindowAccumulators of a
// function that Retracts: window aggregates over an updating input undo
// their -U/-D rows with it, as Flink calls AggregateFunction.retract.
type UserWindowRetractor interface {
	// Retract removes row i of cols from slot slots[i], skipping rows
	// whose slot is negative and NULL arguments.
	Retract(cols []arrow.Array, slots []int32)
}

var (
	userMu   sync.RWMutex
	userAggs = map[string]UserAggregate{}
)

// RegisterUser registers (or replaces) a user aggregate function. Names of
// built-in functions are refused.
func RegisterUser(name string, f UserAggregate) error {
	up := strings.ToUpper(name)
	if _, builtin := signatures[up]; builtin {
		return fmt.Errorf("%s is a built-in aggregate function", up)
	}
	if _, builtin := overOnly[up]; builtin {
		return fmt.Errorf("%s is a built-in function", up)
	}
	userMu.Lock()
	defer userMu.Unlock()
	userAggs[up] = f
	return nil
}

// DropUser removes a user aggregate function; it reports whether one was
// registered.
func DropUser(name string) bool {
	up := strings.ToUpper(name)
	userMu.Lock()
	defer userMu.Unlock()
	_, ok := userAggs[up]
	delete(userAggs, up)
	return ok
}

// User returns the user aggregate registered under name.
func User(name string) (UserAggregate, bool) {
	userMu.RLock()
	defer userMu.RUnlock()
	f, ok := userAggs[strings.ToUpper(name)]
	return f, ok
}

// userKernel adapts UserAccumulators to the kernel contract.
type userKernel struct{ UserAccumulators }

func (k userKernel) grow(n int)       { k.Grow(n) }
func (k userKernel) reset(s int32)    { k.Reset(s) }
func (k userKernel) changed(c []bool) { k.Changed(c) }
func (k userKernel) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	k.Update(cols, slots, retract, act)
}
func (k userKernel) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.Build(mem, dt, rows, before)
}
func (k userKernel) appendState(dst []byte, s int32) []byte { return k.AppendState(dst, s) }
func (k userKernel) readState(src []byte, s int32) ([]byte, error) {
	return k.ReadState(src, s)
}

func newUserKernel(fn string, args []arrow.DataType, retract bool) (kernel, error) {
	f, ok := User(fn)
	if !ok {
		return nil, fmt.Errorf("unknown aggregate function %s", fn)
	}
	if retract && !f.Retracts() {
		return nil, fmt.Errorf("aggregate function %s cannot aggregate an updating input: it has no Retract", fn)
	}
	accs, err := f.NewAccumulators(args)
	if err != nil {
		return nil, fmt.Errorf("aggregate function %s: %v", fn, err)
	}
	return userKernel{accs}, nil
}
