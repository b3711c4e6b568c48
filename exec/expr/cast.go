package expr

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

func init() {
	register(&funcDef{name: "CAST", resolve: resolveCast, compile: compileCast, mayFail: true})
	register(&funcDef{name: "TRY_CAST", resolve: resolveCast, compile: compileCast})
}

func resolveCast(name string, _ []Expr) (Expr, error) {
	return nil, fmt.Errorf("%s needs a target type: build it with NewCast", name)
}

// castMayFail reports whether CAST (not TRY_CAST) from -> to can raise an
// error: only parsing a string into a non-string type can, also as the
// elements of arrays.
func castMayFail(from, to types.DataType) bool {
	if from.Kind == types.Array && to.Kind == types.Array {
		return castMayFail(*from.Elem, *to.Elem)
	}
	if from.Kind == types.Map && to.Kind == types.Map {
		return castMayFail(*from.Key, *to.Key) || castMayFail(*from.Value, *to.Value)
	}
	if from.Kind == types.Row && to.Kind == types.Row && len(from.Fields) == len(to.Fields) {
		for i := range from.Fields {
			if castMayFail(from.Fields[i].Type, to.Fields[i].Type) {
				return true
			}
		}
		return false
	}
	return from.IsString() && !to.IsString() && !to.IsBinary() || from.Kind == types.Variant
}

// castSupported narrows types.CanCast to the conversions with a kernel.
func castSupported(from, to types.DataType) bool {
	if from.Kind == types.Null || from.EqualIgnoringNull(to) {
		return true
	}
	scalarKind := func(t types.DataType) bool {
		return t.Kind <= types.IntervalYearMonth
	}
	return scalarKind(from) && scalarKind(to) || isComposite(from) && to.IsString() || sameNestedLayout(from, to) ||
		from.Kind == types.Variant && variantCastTarget(to) || arrayCastSupported(from, to) || rowCastSupported(from, to) || mapCastSupported(from, to)
}

// parse outcomes of string conversions.
const (
	parsedOK = iota
	parsedNull
	parsedInvalid
)

func compileCast(c *compiler, call *Call) (Evaluator, error) {
	from, to := call.Args[0].Type(), call.T
	k, err := castKernel(c.mem, from, to, call.Func == "TRY_CAST")
	if err != nil {
		return nil, err
	}
	return newCallEval(c, call, k)
}

func identity(args []arrow.Array, _ int) (arrow.Array, error) {
	args[0].Retain()
	return args[0], nil
}

// castKernel returns the conversion from -> to. Flink's rules: integer
// narrowing wraps, floating to integer truncates (saturating like Java),
// DECIMAL targets round HALF_UP and yield NULL when the value does not fit,
// DECIMAL to integer truncates, malformed strings fail CAST and give NULL
// under TRY_CAST, numbers print as Java does (1.0E10), timestamps print
// with exactly their precision's fractional digits.
func castKernel(mem memory.Allocator, from, to types.DataType, try bool) (kernel, error) {
	dt := to.Arrow()
	switch {
	case from.Kind == types.Null:
		return func(_ []arrow.Array, n int) (arrow.Array, error) { return allNullArray(to, n, mem) }, nil
	case from.Kind == types.Variant && to.Kind != types.Variant:
		return fromVariantKernel(mem, to, try)
	case to.IsString():
		return toStringKernel(mem, from, to)
	case from.EqualIgnoringNull(to) || (from.IsBinary() && to.IsBinary()):
		return identity, nil
	case sameNestedLayout(from, to):
		return relabelKernel(to), nil
	case from.Kind == types.Array && to.Kind == types.Array:
		return arrayCastKernel(mem, from, to, try)
	case from.Kind == types.Row && to.Kind == types.Row:
		return rowCastKernel(mem, from, to, try)
	case from.Kind == types.Map && to.Kind == types.Map:
		return mapCastKernel(mem, from, to, try)
	case from.IsString():
		return fromStringKernel(mem, from, to, try)
	case to.Kind == types.Boolean && from.IsNumeric():
		return viaFloat64(mem, from, func(a arrow.Array) (arrow.Array, error) {
			f := valuesOf[float64](a)
			valid, nulls := validity(mem, a.Len(), a)
			return boolOut(mem, a.Len(), valid, nulls, func(bits []byte) {
				for i, v := range f {
					if v != 0 {
						bits[i/8] |= 1 << (i % 8)
					}
				}
			}), nil
		}), nil
	case to.IsNumeric() && from.Kind == types.Boolean:
		toNum, err := castKernel(mem, types.IntType, to, try)
		if err != nil {
			return nil, err
		}
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			b := args[0].(*array.Boolean)
			valid, nulls := validity(mem, n, b)
			buf, out := fixedOut[int32](mem, n)
			for i := range out {
				out[i] = int32(boolInt(b.Value(i)))
			}
			ia := makeArray(arrow.PrimitiveTypes.Int32, n, valid, buf, nulls)
			defer ia.Release()
			return toNum([]arrow.Array{ia}, n)
		}, nil
	case to.IsNumeric() && from.IsNumeric():
		return numericCast(mem, from, to)
	case to.IsInteger() && from.IsTimestamp():
		// Epoch seconds, as Flink's CAST(TIMESTAMP_LTZ AS BIGINT).
		ups := unitsPerSecond(types.TimeUnitFor(from.Precision))
		return chain(mem, func(a arrow.Array) (arrow.Array, error) {
			return map1(mem, arrow.PrimitiveTypes.Int64, a, func(v int64) (int64, bool, error) {
				return floorDiv(v, ups), true, nil
			})
		}, types.BigIntType, to)
	case to.IsTimestamp() && from.IsInteger():
		ups := unitsPerSecond(types.TimeUnitFor(to.Precision))
		return numericKernel(mem, from, types.BigIntType, func(a arrow.Array) (arrow.Array, error) {
			return map1(mem, dt, a, func(v int64) (int64, bool, error) { return v * ups, true, nil })
		})
	case to.IsTimestamp() && from.IsTimestamp():
		fu, tu := types.TimeUnitFor(from.Precision), types.TimeUnitFor(to.Precision)
		fups, tups := unitsPerSecond(fu), unitsPerSecond(tu)
		trunc := tups / int64(math.Pow10(min(to.Precision, 9)))
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			return map1(mem, dt, args[0], func(v int64) (int64, bool, error) {
				if tups >= fups {
					v *= tups / fups
				} else {
					v = floorDiv(v, fups/tups)
				}
				return v - (v-floorDiv(v, trunc)*trunc)*boolInt(trunc > 1), true, nil
			})
		}, nil
	case to.IsTimestamp() && from.Kind == types.Date:
		perDay := secPerDay * unitsPerSecond(types.TimeUnitFor(to.Precision))
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			return map1(mem, dt, args[0], func(d int32) (int64, bool, error) { return int64(d) * perDay, true, nil })
		}, nil
	case to.Kind == types.Date && from.IsTimestamp():
		perDay := secPerDay * unitsPerSecond(types.TimeUnitFor(from.Precision))
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			return map1(mem, dt, args[0], func(v int64) (int32, bool, error) { return int32(floorDiv(v, perDay)), true, nil })
		}, nil
	case to.Kind == types.Time && (from.IsTimestamp() || from.Kind == types.Time):
		fu, tu := types.TimeUnitFor(from.Precision), types.TimeUnitFor(to.Precision)
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			get := int64Getter(args[0])
			return timeOut(mem, to, n, args[0], func(i int) int64 {
				ns := get(i) * (1e9 / unitsPerSecond(fu))
				if from.IsTimestamp() {
					ns -= floorDiv(ns, secPerDay*1e9) * secPerDay * 1e9
				}
				return ns / (1e9 / unitsPerSecond(tu))
			}), nil
		}, nil
	}
	return nil, fmt.Errorf("cannot cast %s to %s", from.WithNullable(true), to.WithNullable(true))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// timeOut builds a TIME array (TIME32 for millisecond precision, TIME64
// otherwise) from a per-row function.
func timeOut(mem memory.Allocator, t types.DataType, n int, in arrow.Array, fn func(int) int64) arrow.Array {
	valid, nulls := validity(mem, n, in)
	dt := t.Arrow()
	if dt.ID() == arrow.TIME32 {
		buf, out := fixedOut[int32](mem, n)
		for i := range out {
			out[i] = int32(fn(i))
		}
		return makeArray(dt, n, valid, buf, nulls)
	}
	buf, out := fixedOut[int64](mem, n)
	for i := range out {
		out[i] = fn(i)
	}
	return makeArray(dt, n, valid, buf, nulls)
}

// chain applies k and then casts its result from mid to to.
func chain(mem memory.Allocator, k func(arrow.Array) (arrow.Array, error), mid, to types.DataType) (kernel, error) {
	next, err := castKernel(mem, mid, to, false)
	if err != nil {
		return nil, err
	}
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		a, err := k(args[0])
		if err != nil {
			return nil, err
		}
		defer a.Release()
		return next([]arrow.Array{a}, n)
	}, nil
}

// numericKernel first widens a numeric input to mid (BIGINT or DOUBLE),
// then applies k.
func numericKernel(mem memory.Allocator, from, mid types.DataType, k func(arrow.Array) (arrow.Array, error)) (kernel, error) {
	widen, err := numericCast(mem, from, mid)
	if err != nil {
		return nil, err
	}
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		a, err := widen(args, n)
		if err != nil {
			return nil, err
		}
		defer a.Release()
		return k(a)
	}, nil
}

// numericCast converts between numeric types.
func numericCast(mem memory.Allocator, from, to types.DataType) (kernel, error) {
	if from.EqualIgnoringNull(to) {
		return identity, nil
	}
	dt := to.Arrow()
	switch {
	case to.Kind == types.Decimal:
		prec, scale := int32(to.Precision), to.Scale
		switch {
		case from.Kind == types.Decimal:
			fs := from.Scale
			var v big.Int
			return func(args []arrow.Array, n int) (arrow.Array, error) {
				return map1(mem, dt, args[0], func(x decimal128.Num) (decimal128.Num, bool, error) {
					if fs == scale {
						return x, x.FitsInPrecision(prec), nil
					}
					v.Set(x.BigInt())
					rescaleHalfUp(&v, fs, scale)
					return bigToDecimal(&v, prec)
				})
			}, nil
		case from.IsInteger():
			mul := decimal128.GetScaleMultiplier(scale)
			return viaInt64(mem, from, func(a arrow.Array) (arrow.Array, error) {
				return map1(mem, dt, a, func(x int64) (decimal128.Num, bool, error) {
					if scale > 18 {
						v := new(big.Int).Mul(big.NewInt(x), mul.BigInt())
						return bigToDecimal(v, prec)
					}
					r := decimal128.FromI64(x).Mul(mul)
					return r, r.FitsInPrecision(prec), nil
				})
			})
		default:
			return viaFloat64(mem, from, func(a arrow.Array) (arrow.Array, error) {
				return map1(mem, dt, a, func(f float64) (decimal128.Num, bool, error) {
					if math.IsNaN(f) || math.IsInf(f, 0) {
						return decimal128.Num{}, false, nil
					}
					// BigDecimal.valueOf(double): the shortest decimal form.
					return parseDecimal(strconv.FormatFloat(f, 'g', -1, 64), prec, int32(scale))
				})
			}), nil
		}
	case from.Kind == types.Decimal:
		fs := int32(from.Scale)
		if to.IsApprox() {
			return viaFloat64Out(mem, to, func(a arrow.Array) (arrow.Array, error) {
				return map1(mem, arrow.PrimitiveTypes.Float64, a, func(x decimal128.Num) (float64, bool, error) {
					return x.ToFloat64(fs), true, nil
				})
			})
		}
		// Truncate toward zero, then narrow with wrap-around.
		return chain(mem, func(a arrow.Array) (arrow.Array, error) {
			return map1(mem, arrow.PrimitiveTypes.Int64, a, func(x decimal128.Num) (int64, bool, error) {
				q, _ := x.Div(decimal128.GetScaleMultiplier(int(fs)))
				return int64(q.LowBits()), true, nil
			})
		}, types.BigIntType, to)
	case to.IsApprox():
		return viaFloat64Out(mem, to, func(a arrow.Array) (arrow.Array, error) {
			return viaFloat64(mem, from, func(f arrow.Array) (arrow.Array, error) {
				f.Retain()
				return f, nil
			})([]arrow.Array{a}, a.Len())
		})
	case from.IsApprox():
		// Java: (long) d saturates and maps NaN to 0; narrower integers
		// go through int first ((byte)(int) d).
		sat := func(f float64, lo, hi float64) int64 {
			switch {
			case math.IsNaN(f):
				return 0
			case f <= lo:
				return int64(lo)
			case f >= hi:
				return int64(hi)
			}
			return int64(f)
		}
		return viaFloat64(mem, from, func(a arrow.Array) (arrow.Array, error) {
			switch to.Kind {
			case types.BigInt:
				return map1(mem, dt, a, func(f float64) (int64, bool, error) { return sat(f, math.MinInt64, math.MaxInt64), true, nil })
			case types.Int:
				return map1(mem, dt, a, func(f float64) (int32, bool, error) { return int32(sat(f, math.MinInt32, math.MaxInt32)), true, nil })
			case types.SmallInt:
				return map1(mem, dt, a, func(f float64) (int16, bool, error) { return int16(sat(f, math.MinInt32, math.MaxInt32)), true, nil })
			default:
				return map1(mem, dt, a, func(f float64) (int8, bool, error) { return int8(sat(f, math.MinInt32, math.MaxInt32)), true, nil })
			}
		}), nil
	default: // integer -> integer wraps like a Java narrowing cast
		return viaInt64(mem, from, func(a arrow.Array) (arrow.Array, error) {
			switch to.Kind {
			case types.TinyInt:
				return map1(mem, dt, a, func(x int64) (int8, bool, error) { return int8(x), true, nil })
			case types.SmallInt:
				return map1(mem, dt, a, func(x int64) (int16, bool, error) { return int16(x), true, nil })
			case types.Int:
				return map1(mem, dt, a, func(x int64) (int32, bool, error) { return int32(x), true, nil })
			}
			a.Retain()
			return a, nil
		})
	}
}

// bigToDecimal converts an unscaled big value, NULL if it overflows prec.
func bigToDecimal(v *big.Int, prec int32) (decimal128.Num, bool, error) {
	if v.BitLen() > 127 {
		return decimal128.Num{}, false, nil
	}
	r := decimal128.FromBigInt(v)
	return r, r.FitsInPrecision(prec), nil
}

// parseDecimal parses a decimal or scientific string, rounding HALF_UP to
// scale. ok=false means the value overflows prec; an error means the text
// is not a number.
func parseDecimal(s string, prec, scale int32) (decimal128.Num, bool, error) {
	s = strings.TrimSpace(s)
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return decimal128.Num{}, false, errInvalid
		}
		mant, exp = s[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	neg := false
	if digits != "" && (digits[0] == '-' || digits[0] == '+') {
		neg = digits[0] == '-'
		digits = digits[1:]
		intPart = intPart[1:]
	}
	if digits == "" || (intPart == "" && frac == "") {
		return decimal128.Num{}, false, errInvalid
	}
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return decimal128.Num{}, false, errInvalid
		}
	}
	var v big.Int
	v.SetString(digits, 10)
	if neg {
		v.Neg(&v)
	}
	rescaleHalfUp(&v, len(frac)-exp, int(scale))
	return bigToDecimal(&v, prec)
}

var errInvalid = fmt.Errorf("invalid value")

func viaInt64(mem memory.Allocator, from types.DataType, k func(arrow.Array) (arrow.Array, error)) (kernel, error) {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0]
		if from.Kind != types.BigInt {
			get := int64Getter(a)
			valid, nulls := validity(mem, a.Len(), a)
			buf, out := fixedOut[int64](mem, a.Len())
			for i := range out {
				out[i] = get(i)
			}
			a = makeArray(arrow.PrimitiveTypes.Int64, len(out), valid, buf, nulls)
			defer a.Release()
		}
		return k(a)
	}, nil
}

// viaFloat64 returns a kernel-like function that widens FLOAT/DOUBLE or
// integer input to float64 and applies k. It is used with an argument
// bound at call time.
func viaFloat64(mem memory.Allocator, from types.DataType, k func(arrow.Array) (arrow.Array, error)) kernel {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0]
		switch from.Kind {
		case types.Double:
		case types.Float:
			a = mapTotal(mem, arrow.PrimitiveTypes.Float64, a, func(f float32) float64 { return float64(f) })
			defer a.Release()
		case types.Decimal:
			s := int32(from.Scale)
			a = mapTotal(mem, arrow.PrimitiveTypes.Float64, a, func(x decimal128.Num) float64 { return x.ToFloat64(s) })
			defer a.Release()
		default:
			get := int64Getter(a)
			valid, nulls := validity(mem, a.Len(), a)
			buf, out := fixedOut[float64](mem, a.Len())
			for i := range out {
				out[i] = float64(get(i))
			}
			a = makeArray(arrow.PrimitiveTypes.Float64, len(out), valid, buf, nulls)
			defer a.Release()
		}
		return k(a)
	}
}

// viaFloat64Out applies k (which yields float64) and narrows to FLOAT when
// to is FLOAT.
func viaFloat64Out(mem memory.Allocator, to types.DataType, k func(arrow.Array) (arrow.Array, error)) (kernel, error) {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		a, err := k(args[0])
		if err != nil || to.Kind == types.Double {
			return a, err
		}
		defer a.Release()
		return mapTotal(mem, arrow.PrimitiveTypes.Float32, a, func(f float64) float32 { return float32(f) }), nil
	}, nil
}
