package agg

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// State is one aggregate call's accumulators for all groups of an
// operator. Groups are addressed by slot, a dense index the operator's
// hash table assigns; the accumulators are typed slices indexed by slot,
// so one batch is applied with one typed loop per call (see Update), not
// with a lookup or an interface call per row.
//
// Usage per batch: Update applies the rows and records, per row, the
// group's result before and after the row; MarkChanged and Build then read
// those per-row results to emit the changelog. The State is not safe for
// concurrent use.
type State struct {
	call Call
	out  arrow.DataType
	k    kernel
	act  []bool
	cols []arrow.Array

	// With DISTINCT: the distinct state and its argument type, the call's
	// consumer index in it and the states of all its consumers
	// (ShareDistinct), peers[distC] being this one; acts and distCols are
	// scratch for the consumers' masks and argument columns.
	dist     distinct
	distType arrow.DataType
	distC    int
	peers    []*State
	acts     [][]bool
	distCols []arrow.Array

	// view is a local aggregate's distinct view of a DISTINCT call, which
	// then has no kernel (NewLocalState), shared with its peers as dist
	// is, distC being its consumer index; dm is the scratch of a global
	// aggregate's DISTINCT call merging such views (MergeGroup).
	view distinctView
	dm   *distinctMerge

	// tuple encodes the arguments of a DISTINCT call over several into
	// the one key column its distinct state keeps (filter puts it in
	// cols[0]); nil otherwise.
	tuple *TupleKeys
}

// NewState builds the accumulators of call over an input whose columns
// have the Arrow types input (the operator learns them from its first
// batch). With retract the input is a changelog: MIN/MAX,
// FIRST_VALUE/LAST_VALUE and LISTAGG then keep the values they need to
// undo a row (Flink's *WithRetract functions); without it they keep only
// their current result. call.Type must be the type ResultType derives.
func NewState(call Call, input []arrow.DataType, retract bool) (*State, error) {
	fn := strings.ToUpper(call.Func)
	args := make([]arrow.DataType, len(call.Args))
	for i, a := range call.Args {
		if a < 0 || a >= len(input) {
			return nil, fmt.Errorf("aggregate %s: argument column %d out of range", call, a)
		}
		args[i] = input[a]
	}
	if call.Filter >= len(input) || (call.Filter >= 0 && input[call.Filter].ID() != arrow.BOOL) {
		return nil, fmt.Errorf("aggregate %s: filter column %d is not a BOOLEAN input column", call, call.Filter)
	}
	out := call.Type.Arrow()
	s := &State{call: call, out: out, cols: make([]arrow.Array, len(call.Args))}
	var err error
	if _, user := User(fn); user {
		if s.k, err = newUserKernel(fn, args, retract); err != nil {
			return nil, err
		}
	} else if s.k, err = newKernel(fn, args, call.Type, retract); err != nil {
		return nil, err
	} else if want := resultPhysical(fn, args); physicalOf(out) != want {
		return nil, fmt.Errorf("aggregate %s: result type %s does not fit its argument", call, call.Type)
	}
	if call.Distinct {
		if s.tuple, err = newTuple(call, args); err != nil {
			return nil, err
		}
		dt := distinctArgType(args)
		if s.dist, err = newDistinct(dt, 1); err != nil {
			return nil, err
		}
		s.distType, s.peers = dt, []*State{s}
	}
	return s, nil
}

// newTuple is the encoder of a DISTINCT call's tuples when it has several
// arguments (distinct_tuple.go), nil for one argument.
func newTuple(call Call, args []arrow.DataType) (*TupleKeys, error) {
	switch {
	case len(args) == 0:
		return nil, fmt.Errorf("aggregate %s: DISTINCT needs an argument", call)
	case len(args) == 1:
		return nil, nil
	case !strings.EqualFold(call.Func, "COUNT"):
		return nil, fmt.Errorf("aggregate %s: DISTINCT takes one argument", call)
	}
	t, err := NewTupleKeys(args)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", call, err)
	}
	return t, nil
}

// resultPhysical is the class of values a kernel produces: COUNT counts,
// LISTAGG concatenates, every other function returns values of its
// argument's class.
func resultPhysical(fn string, args []arrow.DataType) physical {
	switch fn {
	case "COUNT", approxCountDistinct:
		return physInt64
	case "LISTAGG", "STRING_AGG", jsonArrayAggNull, jsonArrayAggAbsent, jsonObjectAggNull, jsonObjectAggAbsent:
		return physString
	case "ARRAY_AGG", "COLLECT":
		return physInvalid
	case "PERCENTILE":
		if args[1].ID() == arrow.LIST {
			return physInvalid
		}
		return physFloat64
	}
	return physicalOf(args[0])
}

// Type is the Arrow type of the call's result column.
func (s *State) Type() arrow.DataType { return s.out }

// Grow makes slots [0, n) addressable; new slots are empty.
func (s *State) Grow(n int) {
	if s.view != nil {
		s.view.grow(n)
		return
	}
	s.k.grow(n)
	if s.dist != nil {
		s.dist.grow(n)
	}
}

// Reset empties slot, for a group that was dropped or is reused.
func (s *State) Reset(slot int32) {
	if s.view != nil {
		s.view.reset(s.distC, slot)
		return
	}
	s.k.reset(slot)
	if s.dist != nil {
		s.dist.reset(s.distC, slot)
	}
}

// Update applies the rows of b in order: row i accumulates into group
// slots[i], or retracts from it when retract[i]; rows with slots[i] < 0
// are skipped. Only rows whose FILTER column is TRUE take part, and with
// DISTINCT only a value's first arrival in (last departure from) its group.
// Afterwards the results of every row before and after it are available
// to MarkChanged and Build until the next Update.
func (s *State) Update(b arrow.RecordBatch, slots []int32, retract []bool) {
	act := s.prepare(b, slots, retract)
	s.k.update(s.cols, slots, retract, act)
	clear(s.cols)
}

// failingKernel is a kernel that can refuse a row (JSON_OBJECTAGG a key
// its group already has): it keeps its state without the row and reports
// the first such error.
type failingKernel interface {
	takeErr() error
}

// Err returns, and forgets, the first row the last Updates refused. Flink
// fails the job on such a row, so operators check Err after Update.
func (s *State) Err() error {
	if f, ok := s.k.(failingKernel); ok {
		return f.takeErr()
	}
	return nil
}

// prepare points s.cols at the call's argument columns of b and returns
// the rows that take part (nil: all): FILTER and DISTINCT.
func (s *State) prepare(b arrow.RecordBatch, slots []int32, retract []bool) []bool {
	act := s.filter(b, len(slots))
	if s.dist != nil {
		acts, cols := s.consumerActs()
		acts[s.distC], cols[s.distC] = act, s.cols[0]
		s.dist.mask(cols, slots, retract, acts)
		clear(cols)
	}
	return act
}

// filter points s.cols at the call's argument columns of b and returns
// the rows its FILTER lets through (nil: all; never nil with DISTINCT).
func (s *State) filter(b arrow.RecordBatch, n int) []bool {
	for i, a := range s.call.Args {
		s.cols[i] = b.Column(a)
	}
	if s.tuple != nil {
		// The kernel (COUNT) and the distinct state read the tuples; a
		// tuple with a NULL is NULL, so COUNT skips it.
		key := s.tuple.Encode(s.cols)
		clear(s.cols)
		s.cols[0] = key
	}
	if s.call.Filter < 0 && s.dist == nil {
		return nil
	}
	if cap(s.act) < n {
		s.act = make([]bool, n)
	}
	act := s.act[:n]
	for i := range act {
		act[i] = true
	}
	if s.call.Filter >= 0 {
		filterMask(b.Column(s.call.Filter), act)
	}
	return act
}

// consumerActs returns the scratch of one mask and argument column per
// consumer of s.dist, all nil (a nil mask leaves its consumer out).
func (s *State) consumerActs() ([][]bool, []arrow.Array) {
	if len(s.acts) != len(s.peers) {
		s.acts, s.distCols = make([][]bool, len(s.peers)), make([]arrow.Array, len(s.peers))
	}
	clear(s.acts)
	clear(s.distCols)
	return s.acts, s.distCols
}

// MarkChanged sets changed[i] for the rows whose group result differs
// before and after the row.
func (s *State) MarkChanged(changed []bool) { s.k.changed(changed) }

// Build makes the result column of the emitted rows: row j of the column
// is the result before (before[j]) or after input row rows[j] of the last
// Update.
func (s *State) Build(mem memory.Allocator, rows []int32, before []bool) arrow.Array {
	if s.dm != nil {
		return s.buildMerged(mem, rows, before)
	}
	return s.k.build(mem, s.out, rows, before)
}

// AppendState appends slot's accumulators in the binary form ReadState
// reads; the format belongs to the call's function and argument type.
func (s *State) AppendState(dst []byte, slot int32) []byte {
	dst = s.k.appendState(dst, slot)
	if s.dist != nil {
		dst = s.dist.appendState(dst, s.distC, slot)
	}
	return dst
}

// ReadState loads slot's accumulators from src and returns the rest.
func (s *State) ReadState(src []byte, slot int32) ([]byte, error) {
	src, err := s.k.readState(src, slot)
	if err != nil {
		return nil, err
	}
	if s.dist != nil {
		return s.dist.readState(src, s.distC, slot)
	}
	return src, nil
}

// filterMask clears act where the BOOLEAN FILTER column col is FALSE or
// NULL, ANDing its value and validity bitmaps into act (andBits).
func filterMask(col arrow.Array, act []bool) {
	d := col.Data()
	if col.NullN() > 0 {
		andBits(act, d.Buffers()[0].Bytes(), d.Offset())
	}
	if buf := d.Buffers()[1]; buf != nil {
		andBits(act, buf.Bytes(), d.Offset())
	} else {
		clear(act) // no values: an empty or all-NULL column
	}
}

// newKernel picks the accumulators of fn for its argument's physical type.
func newKernel(fn string, args []arrow.DataType, res types.DataType, retract bool) (kernel, error) {
	if fn == "COUNT" {
		return &countK{star: len(args) == 0}, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("aggregate %s needs an argument", fn)
	}
	dt := args[0]
	if fn == "LISTAGG" || fn == "STRING_AGG" {
		for _, a := range args {
			if a.ID() != arrow.STRING {
				return nil, unsupported(fn, a)
			}
		}
		return &listaggK{retract: retract}, nil
	}
	if fn == "ARRAY_AGG" || fn == "COLLECT" {
		return newArrayAgg(dt, fn == "COLLECT")
	}
	if fn == "PERCENTILE" {
		return newPercentile(args)
	}
	if fn == approxCountDistinct {
		return newApproxCountDistinct(dt, retract)
	}
	if isJSONAgg(fn) {
		for _, a := range args {
			if a.ID() != arrow.STRING {
				return nil, unsupported(fn, a)
			}
		}
		return newJSONAgg(fn), nil
	}
	if fn == "LAG" && physicalOf(dt) == physInvalid {
		return &lagAnyK{dt: dt, offset: 1}, nil
	}
	switch physicalOf(dt) {
	case physInt8:
		return intKernel[int8](fn, retract)
	case physInt16:
		return intKernel[int16](fn, retract)
	case physInt32:
		return intKernel[int32](fn, retract)
	case physInt64:
		return intKernel[int64](fn, retract)
	case physFloat32:
		return floatKernel[float32](fn, retract)
	case physFloat64:
		return floatKernel[float64](fn, retract)
	case physDecimal:
		return decKernel(fn, args[0], res, retract)
	case physBool:
		return orderedKernel[bool, boolOps](fn, retract)
	case physString:
		return orderedKernel[string, strOps](fn, retract)
	}
	return nil, unsupported(fn, dt)
}

func intKernel[T integer](fn string, retract bool) (kernel, error) {
	switch fn {
	case "SUM", "AVG":
		return &sumK[T, int64, intOps[T]]{avg: fn == "AVG"}, nil
	case "STDDEV_POP", "STDDEV_SAMP", "STDDEV", "VAR_POP", "VAR_SAMP", "VARIANCE":
		return &varianceK[T, int64, intOps[T]]{kind: varKindOf(fn),
			toS:   func(x T) int64 { return int64(x) },
			fromS: func(v int64) T { return T(v) },
			fromF: javaInt[T]}, nil
	}
	return orderedKernel[T, intOps[T]](fn, retract)
}

func floatKernel[T ~float32 | ~float64](fn string, retract bool) (kernel, error) {
	switch fn {
	case "SUM", "AVG":
		return &sumK[T, T, floatOps[T]]{avg: fn == "AVG"}, nil
	case "STDDEV_POP", "STDDEV_SAMP", "STDDEV", "VAR_POP", "VAR_SAMP", "VARIANCE":
		return &varianceK[T, float64, floatOps[T]]{kind: varKindOf(fn),
			toS:   func(x T) float64 { return float64(x) },
			fromS: func(v float64) T { return T(v) },
			fromF: func(v float64) T { return T(v) }}, nil
	}
	return orderedKernel[T, floatOps[T]](fn, retract)
}

func decKernel(fn string, argType arrow.DataType, res types.DataType, retract bool) (kernel, error) {
	arg := argType.(*arrow.Decimal128Type)
	switch fn {
	case "SUM", "AVG":
		return &decSumK{avg: fn == "AVG", scale: arg.Scale, rScale: int32(res.Scale)}, nil
	case "STDDEV_POP", "STDDEV_SAMP", "STDDEV", "VAR_POP", "VAR_SAMP", "VARIANCE":
		from := decFromF(int32(res.Precision), int32(res.Scale))
		return &varianceK[decimal128.Num, float64, decOps]{kind: varKindOf(fn),
			toS: decToF(arg.Scale), fromS: from, fromF: from}, nil
	}
	return orderedKernel[decimal128.Num, decOps](fn, retract)
}

func orderedKernel[T comparable, O ops[T]](fn string, retract bool) (kernel, error) {
	switch fn {
	case "MIN", "MAX":
		if retract {
			return &multisetK[T, O]{max: fn == "MAX"}, nil
		}
		return &extremeK[T, O]{max: fn == "MAX"}, nil
	case "FIRST_VALUE", "LAST_VALUE":
		if retract {
			return &seqK[T, O]{last: fn == "LAST_VALUE"}, nil
		}
		return &firstK[T, O]{last: fn == "LAST_VALUE"}, nil
	case "LAG":
		return &lagK[T, O]{offset: 1}, nil
	}
	return nil, fmt.Errorf("aggregate %s is not supported for this argument type", fn)
}

func varKindOf(fn string) varKind {
	switch fn {
	case "VAR_POP":
		return varPop
	case "VAR_SAMP", "VARIANCE":
		return varSamp
	case "STDDEV_POP":
		return stddevPop
	}
	return stddevSamp
}
