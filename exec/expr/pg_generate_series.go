package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// GenerateSeries is the value behind PostgreSQL's generate_series(start,
// stop [, step]) in FROM, which the binder plans as an UNNEST of
// $GENERATE_SERIES(start, stop, step): the array start, start + step, ...
// up to stop (down to it for a negative step), empty when the bounds are
// the wrong way round, NULL (no rows) when an argument is NULL, as
// PostgreSQL gives no rows then. The arguments share an integer type,
// INT or BIGINT, which the elements have; a zero step is an error, as in
// PostgreSQL.
const GenerateSeries = "$GENERATE_SERIES"

// maxSeriesElements bounds the elements one batch of series may hold: the
// series are materialized as arrays before they are unnested, so a runaway
// bound fails the query instead of exhausting memory.
const maxSeriesElements = 1 << 27

func init() {
	register(&funcDef{name: GenerateSeries, resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 3, 3); err != nil {
			return nil, err
		}
		t := args[0].Type()
		if t.Kind != types.Int && t.Kind != types.BigInt {
			return nil, typeError(name, args)
		}
		nullable := false
		for _, a := range args {
			if !a.Type().EqualIgnoringNull(t) {
				return nil, typeError(name, args)
			}
			nullable = nullable || a.Type().Nullable()
		}
		return &Call{Func: name, Args: args, T: types.ArrayType(t.WithNullable(false)).WithNullable(nullable)}, nil
	}, compile: compileGenerateSeries})
}

func compileGenerateSeries(c *compiler, call *Call) (Evaluator, error) {
	dt := call.T.Arrow()
	if call.Args[0].Type().Kind == types.Int {
		return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
			return generateSeries[int32](c.mem, dt, arrow.PrimitiveTypes.Int32, args, n)
		})
	}
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		return generateSeries[int64](c.mem, dt, arrow.PrimitiveTypes.Int64, args, n)
	})
}

// generateSeries builds the series of n rows in two passes: the lengths
// (into the list offsets), then the values, written straight into one
// buffer.
func generateSeries[T int32 | int64](mem memory.Allocator, dt, elem arrow.DataType, args []arrow.Array, n int) (arrow.Array, error) {
	start, stop, step := valuesOf[T](args[0]), valuesOf[T](args[1]), valuesOf[T](args[2])
	offBuf, offs := fixedOut[int32](mem, n+1)
	defer offBuf.Release()
	valid := memory.NewResizableBuffer(mem)
	defer valid.Release()
	valid.Resize(int(bitutil.BytesForBits(int64(n))))
	bits := valid.Bytes()
	clear(bits)
	nulls := 0
	total := int64(0)
	for i := 0; i < n; i++ {
		offs[i] = int32(total)
		if args[0].IsNull(i) || args[1].IsNull(i) || args[2].IsNull(i) {
			nulls++
			continue
		}
		if step[i] == 0 {
			return nil, fmt.Errorf("step size cannot equal zero")
		}
		bitutil.SetBit(bits, i)
		total += seriesLen(int64(start[i]), int64(stop[i]), int64(step[i]))
		if total > maxSeriesElements {
			return nil, fmt.Errorf("generate_series would produce more than %d rows for one batch", maxSeriesElements)
		}
	}
	offs[n] = int32(total)
	valBuf, vals := fixedOut[T](mem, int(total))
	defer valBuf.Release()
	for i := 0; i < n; i++ {
		v := start[i]
		for j := offs[i]; j < offs[i+1]; j++ {
			vals[j] = v
			v += step[i]
		}
	}
	values := array.NewData(elem, int(total), []*memory.Buffer{nil, valBuf}, nil, 0, 0)
	defer values.Release()
	var validity *memory.Buffer
	if nulls > 0 {
		validity = valid
	}
	data := array.NewData(dt, n, []*memory.Buffer{validity, offBuf}, []arrow.ArrayData{values}, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// seriesLen is the number of elements from start to stop by step, 0 when
// step is 0 or points away from stop, and above maxSeriesElements when
// there are more. It computes in unsigned arithmetic so that bounds at the
// ends of the type's range do not overflow.
func seriesLen(start, stop, step int64) int64 {
	var span, by uint64
	switch {
	case step > 0 && start <= stop:
		span, by = uint64(stop)-uint64(start), uint64(step)
	case step < 0 && start >= stop:
		span, by = uint64(start)-uint64(stop), uint64(-(step+1))+1
	default:
		return 0
	}
	if q := span / by; q < maxSeriesElements {
		return int64(q) + 1
	}
	return maxSeriesElements + 1
}
