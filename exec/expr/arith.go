package expr

import (
	"errors"
	"math"
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// errDivZero mirrors Java's ArithmeticException, which Flink raises for an
// exact (integer or DECIMAL) division or modulo by zero. DOUBLE and FLOAT
// division follow IEEE 754 instead (Infinity, NaN).
var errDivZero = errors.New("division by zero")

func init() {
	for _, op := range []string{"+", "-", "*", "/", "%"} {
		register(&funcDef{name: op, resolve: resolveArith, compile: compileArith, mayFail: op == "/" || op == "%"})
	}
	register(&funcDef{name: "MOD", resolve: resolveArith, compile: compileArith, mayFail: true})
}

// resolveArith types + - * / % and MOD. Integers of different widths widen
// to the wider type and the result keeps it (INT / INT is INT, overflow
// wraps as in Java); exact operands with a DECIMAL follow
// types.DecimalArithmetic; an approximate operand makes the result
// FLOAT/DOUBLE. + and - also take TIMESTAMP/DATE with intervals and
// intervals of one kind with each other; "-" and "+" with one argument are
// the unary operators.
func resolveArith(name string, args []Expr) (Expr, error) {
	if len(args) == 1 && (name == "-" || name == "+") {
		t := args[0].Type()
		if !t.IsNumeric() && !t.IsInterval() && t.Kind != types.Null {
			return nil, typeError(name, args)
		}
		if name == "+" {
			return args[0], nil
		}
		return &Call{Func: "-", Args: args, T: t.WithTimeAttr(types.NoTimeAttr)}, nil
	}
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	a, b := args[0].Type(), args[1].Type()
	// A NULL literal takes the other side's type.
	if a.Kind == types.Null {
		a = b
	}
	if b.Kind == types.Null {
		b = a
	}
	op := name
	if op == "MOD" {
		op = "%"
	}
	switch {
	case a.IsNumeric() && b.IsNumeric():
		if (a.Kind == types.Decimal || b.Kind == types.Decimal) && !a.IsApprox() && !b.IsApprox() {
			r := types.DecimalArithmetic(op[0], a, b)
			var err error
			var out []Expr
			if op == "+" || op == "-" {
				out, err = castAll(args, r)
			} else {
				out = make([]Expr, 2)
				for i, arg := range args {
					if out[i], err = implicitCast(arg, types.AsDecimal(arg.Type().WithNullable(true))); err != nil {
						break
					}
				}
				if args[0].Type().Kind == types.Null {
					out[0], err = implicitCast(args[0], types.AsDecimal(b))
				}
				if args[1].Type().Kind == types.Null {
					out[1], err = implicitCast(args[1], types.AsDecimal(a))
				}
			}
			if err != nil {
				return nil, err
			}
			return &Call{Func: name, Args: out, T: strict(r, args)}, nil
		}
		t, _ := types.CommonType(a, b)
		out, err := castAll(args, t)
		if err != nil {
			return nil, err
		}
		return &Call{Func: name, Args: out, T: strict(t, args)}, nil
	case op == "+" && a.IsInterval() && (b.IsTimestamp() || b.Kind == types.Date || b.Kind == types.Time && a.Kind != types.IntervalYearMonth):
		// Normalize to temporal + interval.
		return resolveArith(name, []Expr{args[1], args[0]})
	case (op == "+" || op == "-") && a.Kind == types.Time && (b.Kind == types.IntervalDayTime || b.Kind == types.Null):
		out := []Expr{args[0], args[1]}
		if args[1].Type().Kind == types.Null {
			out[1] = &Literal{T: types.IntervalDayTimeType()}
		}
		return &Call{Func: name, Args: out, T: strict(a, args)}, nil
	case (op == "+" || op == "-") && (a.IsTimestamp() || a.Kind == types.Date) && b.IsInterval():
		out := []Expr{args[0], args[1]}
		if args[1].Type().Kind == types.Null {
			out[1] = &Literal{T: types.IntervalDayTimeType()}
		}
		return &Call{Func: name, Args: out, T: strict(a, args)}, nil
	case (op == "+" || op == "-") && a.IsInterval() && a.Kind == b.Kind:
		out, err := castAll(args, a)
		if err != nil {
			return nil, err
		}
		return &Call{Func: name, Args: out, T: strict(a, args)}, nil
	}
	return nil, typeError(name, args)
}

func compileArith(c *compiler, call *Call) (Evaluator, error) {
	op := call.Func
	if op == "MOD" {
		op = "%"
	}
	rt := call.T
	if len(call.Args) == 1 {
		return newCallEval(c, call, negateKernel(c.mem, rt))
	}
	at := call.Args[0].Type()
	switch {
	case at.Kind == types.Null || call.Args[1].Type().Kind == types.Null:
		return nullEval(c, call)
	case rt.Kind == types.Decimal:
		return newCallEval(c, call, decimalArith(c.mem, op, at, call.Args[1].Type(), rt))
	case at.IsTemporal():
		if k := temporalShiftByConst(c.mem, op, at, call.Args[1]); k != nil {
			return newCallEval(c, call, k)
		}
		return newCallEval(c, call, temporalArith(c.mem, op, at, call.Args[1].Type()))
	case rt.IsInterval():
		dt := rt.Arrow()
		sign := int64(1)
		if op == "-" {
			sign = -1
		}
		if rt.Kind == types.IntervalYearMonth {
			return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
				return zip2(c.mem, dt, args[0], args[1], func(x, y int32) (int32, bool, error) { return x + int32(sign)*y, true, nil })
			})
		}
		return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
			return zip2(c.mem, dt, args[0], args[1], func(x, y int64) (int64, bool, error) { return x + sign*y, true, nil })
		})
	case op == "+":
		return newComputeEval(c, "add_unchecked", compute.ArithmeticOptions{NoCheckOverflow: true}, call.Args)
	case op == "-":
		return newComputeEval(c, "subtract_unchecked", compute.ArithmeticOptions{NoCheckOverflow: true}, call.Args)
	case op == "*":
		return newComputeEval(c, "multiply_unchecked", compute.ArithmeticOptions{NoCheckOverflow: true}, call.Args)
	case op == "/":
		dt := rt.Arrow()
		return newCallEval(c, call, byKind(rt.Kind,
			divKernel[int8](c.mem, dt), divKernel[int16](c.mem, dt), divKernel[int32](c.mem, dt),
			divKernel[int64](c.mem, dt), fdivKernel[float32](c.mem, dt), fdivKernel[float64](c.mem, dt)))
	default:
		dt := rt.Arrow()
		if d, ok := literalInt(call.Args[1]); ok && d != 0 && rt.Kind != types.Float && rt.Kind != types.Double {
			return newCallEval(c, call, byKind(rt.Kind,
				modByConst[int8](c.mem, dt, d), modByConst[int16](c.mem, dt, d), modByConst[int32](c.mem, dt, d),
				modByConst[int64](c.mem, dt, d), nil, nil))
		}
		return newCallEval(c, call, byKind(rt.Kind,
			modKernel[int8](c.mem, dt), modKernel[int16](c.mem, dt), modKernel[int32](c.mem, dt),
			modKernel[int64](c.mem, dt), fmodKernel[float32](c.mem, dt), fmodKernel[float64](c.mem, dt)))
	}
}

// modByConst is MOD(x, d) for a literal d other than 0: it cannot fail,
// so one branch-free loop over every slot (NULLs stay masked) replaces the
// per-row checks of modKernel. MOD(a, 123) is Nexmark q2's filter.
func modByConst[T integer](mem memory.Allocator, dt arrow.DataType, d int64) kernel {
	c := T(d)
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return mapTotal(mem, dt, args[0], func(x T) T { return x % c }), nil
	}
}

// nullEval yields all NULLs of the call's type (an operand was a NULL literal).
func nullEval(c *compiler, call *Call) (Evaluator, error) {
	t := call.T
	return newCallEval(c, &Call{Func: call.Func, T: t}, func(_ []arrow.Array, n int) (arrow.Array, error) {
		return allNullArray(t, n, c.mem)
	})
}

func divKernel[T integer](mem memory.Allocator, dt arrow.DataType) kernel {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return zip2(mem, dt, args[0], args[1], func(x, y T) (T, bool, error) {
			if y == 0 {
				return 0, false, errDivZero
			}
			return x / y, true, nil // Go, like Java, wraps MinValue / -1
		})
	}
}

func modKernel[T integer](mem memory.Allocator, dt arrow.DataType) kernel {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return zip2(mem, dt, args[0], args[1], func(x, y T) (T, bool, error) {
			if y == 0 {
				return 0, false, errDivZero
			}
			return x % y, true, nil // sign of the dividend, as Java's %
		})
	}
}

func fdivKernel[T ~float32 | ~float64](mem memory.Allocator, dt arrow.DataType) kernel {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return zip2(mem, dt, args[0], args[1], func(x, y T) (T, bool, error) { return x / y, true, nil })
	}
}

func fmodKernel[T ~float32 | ~float64](mem memory.Allocator, dt arrow.DataType) kernel {
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return zip2(mem, dt, args[0], args[1], func(x, y T) (T, bool, error) {
			return T(math.Mod(float64(x), float64(y))), true, nil
		})
	}
}

func negateKernel(mem memory.Allocator, t types.DataType) kernel {
	dt := t.Arrow()
	neg := func(fn func(a arrow.Array) arrow.Array) kernel {
		return func(args []arrow.Array, n int) (arrow.Array, error) { return fn(args[0]), nil }
	}
	switch t.Kind {
	case types.TinyInt:
		return neg(func(a arrow.Array) arrow.Array { return mapTotal(mem, dt, a, func(x int8) int8 { return -x }) })
	case types.SmallInt:
		return neg(func(a arrow.Array) arrow.Array { return mapTotal(mem, dt, a, func(x int16) int16 { return -x }) })
	case types.Int, types.IntervalYearMonth:
		return neg(func(a arrow.Array) arrow.Array { return mapTotal(mem, dt, a, func(x int32) int32 { return -x }) })
	case types.BigInt, types.IntervalDayTime:
		return neg(func(a arrow.Array) arrow.Array { return mapTotal(mem, dt, a, func(x int64) int64 { return -x }) })
	case types.Float:
		return neg(func(a arrow.Array) arrow.Array { return mapTotal(mem, dt, a, func(x float32) float32 { return -x }) })
	case types.Double:
		return neg(func(a arrow.Array) arrow.Array { return mapTotal(mem, dt, a, func(x float64) float64 { return -x }) })
	case types.Decimal:
		return neg(func(a arrow.Array) arrow.Array {
			return mapTotal(mem, dt, a, func(x decimal128.Num) decimal128.Num { return x.Negate() })
		})
	}
	return func(_ []arrow.Array, n int) (arrow.Array, error) { return allNullArray(t, n, mem) }
}

// decimalArith computes DECIMAL + - * / %. For + and - Resolve has cast
// both operands to the result type, so the kernel is a plain 128-bit add.
// Results that overflow the result precision are NULL, as Flink's
// DecimalData does; * / % round HALF_UP, through math/big except for
// products of operands that fit in int64 (decimalMulFast).
func decimalArith(mem memory.Allocator, op string, at, bt, rt types.DataType) kernel {
	dt := rt.Arrow()
	prec := int32(rt.Precision)
	switch op {
	case "+", "-":
		sub := op == "-"
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			return zip2(mem, dt, args[0], args[1], func(x, y decimal128.Num) (decimal128.Num, bool, error) {
				if sub {
					y = y.Negate()
				}
				r := x.Add(y)
				return r, r.FitsInPrecision(prec), nil
			})
		}
	}
	s1, s2, rs := at.Scale, bt.Scale, rt.Scale
	var q, r, scaleA, scaleB big.Int
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return zip2(mem, dt, args[0], args[1], func(x, y decimal128.Num) (decimal128.Num, bool, error) {
			if op == "*" {
				if res, ok := decimalMulFast(x, y, s1+s2-rs); ok {
					return res, res.FitsInPrecision(prec), nil
				}
			}
			xb, yb := x.BigInt(), y.BigInt()
			switch op {
			case "*":
				q.Mul(xb, yb)
				rescaleHalfUp(&q, s1+s2, rs)
			case "/":
				if yb.Sign() == 0 {
					return decimal128.Num{}, false, errDivZero
				}
				// x/10^s1 / (y/10^s2) at scale rs = x*10^(rs-s1+s2) / y.
				shift := rs - s1 + s2
				if shift >= 0 {
					xb.Mul(xb, pow10(&scaleA, shift))
				} else {
					yb.Mul(yb, pow10(&scaleA, -shift))
				}
				divHalfUp(&q, &r, xb, yb)
			default: // %: align scales, remainder takes the dividend's sign
				if yb.Sign() == 0 {
					return decimal128.Num{}, false, errDivZero
				}
				s := max(s1, s2)
				xb.Mul(xb, pow10(&scaleA, s-s1))
				yb.Mul(yb, pow10(&scaleB, s-s2))
				q.Rem(xb, yb)
				rescaleHalfUp(&q, s, rs)
			}
			if q.BitLen() > 127 {
				return decimal128.Num{}, false, nil
			}
			res := decimal128.FromBigInt(&q)
			return res, res.FitsInPrecision(prec), nil
		})
	}
}

func pow10(z *big.Int, n int) *big.Int {
	return z.Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// divHalfUp sets q = x/y rounded half away from zero (Java's HALF_UP).
func divHalfUp(q, r, x, y *big.Int) {
	q.QuoRem(x, y, r)
	r.Abs(r)
	r.Lsh(r, 1)
	if r.CmpAbs(y) >= 0 {
		if (x.Sign() < 0) != (y.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
}

// rescaleHalfUp changes the scale of the unscaled value v from -> to.
func rescaleHalfUp(v *big.Int, from, to int) {
	switch {
	case to > from:
		v.Mul(v, pow10(new(big.Int), to-from))
	case to < from:
		var r big.Int
		x := new(big.Int).Set(v)
		divHalfUp(v, &r, x, pow10(new(big.Int), from-to))
	}
}

// temporalArith adds (or subtracts) an interval to a TIMESTAMP or DATE.
// Day-time intervals are exact milliseconds; year-month intervals move the
// calendar month and clamp the day to the month's end (Java's plusMonths).
func temporalArith(mem memory.Allocator, op string, at, it types.DataType) kernel {
	dt := at.Arrow()
	sign := int64(1)
	if op == "-" {
		sign = -1
	}
	if at.Kind == types.Time {
		// TIME ± a day-time interval wraps around midnight, as in Flink.
		if dt.ID() == arrow.TIME32 {
			return func(args []arrow.Array, n int) (arrow.Array, error) {
				return zip2(mem, dt, args[0], args[1], func(t arrow.Time32, ms int64) (arrow.Time32, bool, error) {
					return arrow.Time32(floorMod(int64(t)+sign*ms, msPerDay)), true, nil
				})
			}
		}
		per := unitsPerSecond(types.TimeUnitFor(at.Precision)) / 1000
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			return zip2(mem, dt, args[0], args[1], func(t arrow.Time64, ms int64) (arrow.Time64, bool, error) {
				return arrow.Time64(floorMod(int64(t)+sign*ms*per, msPerDay*per)), true, nil
			})
		}
	}
	if at.Kind == types.Date {
		if it.Kind == types.IntervalYearMonth {
			return func(args []arrow.Array, n int) (arrow.Array, error) {
				return zip2(mem, dt, args[0], args[1], func(d arrow.Date32, m int32) (arrow.Date32, bool, error) {
					t := addMonths(time.Unix(int64(d)*secPerDay, 0).UTC(), int(sign)*int(m))
					return arrow.Date32(t.Unix() / secPerDay), true, nil
				})
			}
		}
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			return zip2(mem, dt, args[0], args[1], func(d arrow.Date32, ms int64) (arrow.Date32, bool, error) {
				return d + arrow.Date32(floorDiv(sign*ms, msPerDay)), true, nil
			})
		}
	}
	unit := types.TimeUnitFor(at.Precision)
	if it.Kind == types.IntervalYearMonth {
		return func(args []arrow.Array, n int) (arrow.Array, error) {
			return zip2(mem, dt, args[0], args[1], func(ts int64, m int32) (int64, bool, error) {
				return fromTime(addMonths(toTime(ts, unit), int(sign)*int(m)), unit), true, nil
			})
		}
	}
	mul := unitsPerSecond(unit) / 1000
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return zip2(mem, dt, args[0], args[1], func(ts int64, ms int64) (int64, bool, error) {
			return ts + sign*ms*mul, true, nil
		})
	}
}

// temporalShiftByConst is TIMESTAMP ± a literal DAY-TIME interval (the
// WATERMARK expressions' rowtime - INTERVAL 'n' SECOND): a constant shift
// of every slot in one branch-free loop. It returns nil for other shapes.
func temporalShiftByConst(mem memory.Allocator, op string, at types.DataType, iv Expr) kernel {
	l, ok := iv.(*Literal)
	if !ok || l.T.Kind != types.IntervalDayTime || (at.Kind != types.Timestamp && at.Kind != types.TimestampLTZ) {
		return nil
	}
	ms, ok := l.Value.(int64)
	if !ok {
		return nil
	}
	if op == "-" {
		ms = -ms
	}
	delta := ms * (unitsPerSecond(types.TimeUnitFor(at.Precision)) / 1000)
	dt := at.Arrow()
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		return mapTotal(mem, dt, args[0], func(ts int64) int64 { return ts + delta }), nil
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorMod is a - floorDiv(a, b)*b: in [0, b) for a positive b.
func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// addMonths adds months, clamping the day of month like Java's plusMonths.
func addMonths(t time.Time, months int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + months
	ny, nm := y+floorDivInt(total, 12), time.Month(total-12*floorDivInt(total, 12)+1)
	last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if d > last {
		d = last
	}
	h, mi, s := t.Clock()
	return time.Date(ny, nm, d, h, mi, s, t.Nanosecond(), time.UTC)
}

func floorDivInt(a, b int) int { return int(floorDiv(int64(a), int64(b))) }
