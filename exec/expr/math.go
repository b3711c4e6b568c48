package expr

import (
	"fmt"
	"math"
	"math/big"
	"math/rand"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

func init() {
	d := types.DoubleType
	for name, f := range map[string]func(float64) float64{
		"SQRT": math.Sqrt, "EXP": math.Exp, "LN": math.Log, "LOG10": math.Log10, "LOG2": math.Log2,
		"SIN": math.Sin, "COS": math.Cos, "TAN": math.Tan, "ASIN": math.Asin, "ACOS": math.Acos,
		"ATAN": math.Atan, "DEGREES": func(x float64) float64 { return x * 180 / math.Pi },
		"RADIANS": func(x float64) float64 { return x * math.Pi / 180 },
	} {
		register(&funcDef{name: name, resolve: fixedSig(d, false, d), compile: doubleFn1(f)})
	}
	register(&funcDef{name: "POWER", resolve: fixedSig(d, false, d, d), compile: doubleFn2(math.Pow)}, "POW")
	register(&funcDef{name: "ATAN2", resolve: fixedSig(d, false, d, d), compile: doubleFn2(math.Atan2)})
	// LOG(x) is the natural logarithm; LOG(base, x) as in Flink.
	register(&funcDef{name: "LOG", resolve: optionalSig(d, false, []types.DataType{d}, d), compile: func(c *compiler, call *Call) (Evaluator, error) {
		if len(call.Args) == 1 {
			return doubleFn1(math.Log)(c, call)
		}
		return doubleFn2(func(b, x float64) float64 { return math.Log(x) / math.Log(b) })(c, call)
	}})
	register(&funcDef{name: "PI", resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 0, 0); err != nil {
			return nil, err
		}
		return NewLiteral(math.Pi, types.DoubleType.WithNullable(false)), nil
	}})
	register(&funcDef{name: "ABS", resolve: resolveSameNumeric(1, 1), compile: compileAbsSign})
	register(&funcDef{name: "SIGN", resolve: resolveSameNumeric(1, 1), compile: compileAbsSign})
	register(&funcDef{name: "FLOOR", resolve: resolveFloorCeil, compile: compileFloorCeil})
	register(&funcDef{name: "CEIL", resolve: resolveFloorCeil, compile: compileFloorCeil}, "CEILING")
	register(&funcDef{name: "ROUND", resolve: resolveRound, compile: compileRound})
	register(&funcDef{name: "TRUNCATE", resolve: resolveRound, compile: compileRound})
	register(&funcDef{name: "RAND", nondeterministic: true, resolve: resolveRand, compile: compileRand})
	register(&funcDef{name: "RAND_INTEGER", nondeterministic: true, mayFail: true, resolve: resolveRandInteger, compile: compileRandInteger})
}

func doubleFn1(f func(float64) float64) func(*compiler, *Call) (Evaluator, error) {
	return func(c *compiler, call *Call) (Evaluator, error) {
		return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
			return mapTotal(c.mem, arrow.PrimitiveTypes.Float64, args[0], f), nil
		})
	}
}

func doubleFn2(f func(a, b float64) float64) func(*compiler, *Call) (Evaluator, error) {
	return func(c *compiler, call *Call) (Evaluator, error) {
		return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
			return zip2(c.mem, arrow.PrimitiveTypes.Float64, args[0], args[1], func(a, b float64) (float64, bool, error) {
				return f(a, b), true, nil
			})
		})
	}
}

func resolveSameNumeric(lo, hi int) func(string, []Expr) (Expr, error) {
	return func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, lo, hi); err != nil {
			return nil, err
		}
		if !args[0].Type().IsNumeric() {
			return nil, typeError(name, args)
		}
		return &Call{Func: name, Args: args, T: strict(args[0].Type(), args)}, nil
	}
}

// compileAbsSign: ABS wraps at the minimum integer (Java's Math.abs); SIGN
// returns -1, 0 or 1 in the argument's type.
func compileAbsSign(c *compiler, call *Call) (Evaluator, error) {
	t := call.T
	dt := t.Arrow()
	abs := call.Func == "ABS"
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0]
		switch t.Kind {
		case types.TinyInt:
			return mapTotal(c.mem, dt, a, absSign[int8](abs)), nil
		case types.SmallInt:
			return mapTotal(c.mem, dt, a, absSign[int16](abs)), nil
		case types.Int:
			return mapTotal(c.mem, dt, a, absSign[int32](abs)), nil
		case types.BigInt:
			return mapTotal(c.mem, dt, a, absSign[int64](abs)), nil
		case types.Float:
			return mapTotal(c.mem, dt, a, absSign[float32](abs)), nil
		case types.Double:
			return mapTotal(c.mem, dt, a, absSign[float64](abs)), nil
		}
		one := decimal128.GetScaleMultiplier(t.Scale)
		return mapTotal(c.mem, dt, a, func(x decimal128.Num) decimal128.Num {
			if abs {
				return x.Abs()
			}
			switch x.Sign() {
			case 1:
				return one
			case -1:
				return one.Negate()
			}
			return x
		}), nil
	})
}

func absSign[T number](abs bool) func(T) T {
	return func(x T) T {
		switch {
		case abs && x < 0:
			return -x
		case abs:
			return x
		case x > 0:
			return 1
		case x < 0:
			return T(0) - 1
		}
		return x
	}
}

// resolveFloorCeil: integers and floats keep their type; DECIMAL(p, s)
// becomes DECIMAL(p - s + 1, 0) (Flink's findFloorCeilDecimalType).
// FLOOR|CEIL(t, 'UNIT') is the parser's form of FLOOR|CEIL(t TO unit).
func resolveFloorCeil(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 2); err != nil {
		return nil, err
	}
	if len(args) == 2 {
		return resolveFloorCeilTo(name, args)
	}
	t := args[0].Type()
	if !t.IsNumeric() {
		return nil, typeError(name, args)
	}
	if t.Kind == types.Decimal && t.Scale > 0 {
		t = types.DecimalType(min(types.MaxDecimalPrecision, t.Precision-t.Scale+1), 0).WithNullable(t.Nullable())
	}
	return &Call{Func: name, Args: args, T: strict(t, args)}, nil
}

// resolveRound types ROUND and TRUNCATE (x[, d]); d must be an integer
// literal for DECIMAL inputs because it decides the result scale (Flink's
// findRoundDecimalType).
func resolveRound(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 2); err != nil {
		return nil, err
	}
	t := args[0].Type()
	if !t.IsNumeric() || (len(args) == 2 && !args[1].Type().IsInteger()) {
		return nil, typeError(name, args)
	}
	out := append([]Expr(nil), args...)
	if len(args) == 2 {
		c, err := implicitCast(args[1], types.IntType)
		if err != nil {
			return nil, err
		}
		out[1] = c
	}
	if t.Kind == types.Decimal {
		r := int64(0)
		if len(args) == 2 {
			v, ok := literalInt(out[1])
			if !ok {
				return nil, fmt.Errorf("%s of a DECIMAL needs a literal number of digits", name)
			}
			r = v
		}
		switch {
		case int(r) >= t.Scale:
		case r < 0:
			t = types.DecimalType(min(types.MaxDecimalPrecision, 1+t.Precision-t.Scale), 0)
		default:
			t = types.DecimalType(min(types.MaxDecimalPrecision, 1+t.Precision-t.Scale+int(r)), int(r))
		}
	}
	return &Call{Func: name, Args: out, T: strict(t, args)}, nil
}

// roundMode: HALF_UP for ROUND, DOWN (toward zero) for TRUNCATE, FLOOR,
// CEILING.
type roundMode byte

const (
	halfUp roundMode = iota
	towardZero
	floorMode
	ceilMode
)

func compileFloorCeil(c *compiler, call *Call) (Evaluator, error) {
	if len(call.Args) == 2 {
		return compileFloorCeilTo(c, call)
	}
	return compileRound(c, call)
}

// compileRound implements ROUND, TRUNCATE, FLOOR and CEIL.
func compileRound(c *compiler, call *Call) (Evaluator, error) {
	mode := map[string]roundMode{"ROUND": halfUp, "TRUNCATE": towardZero, "FLOOR": floorMode, "CEIL": ceilMode, "CEILING": ceilMode}[call.Func]
	in, t := call.Args[0].Type(), call.T
	dt := t.Arrow()
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		digits := func(int) int64 { return 0 }
		if len(args) == 2 {
			digits = intAt(args[1])
		}
		a := args[0]
		switch in.Kind {
		case types.Float, types.Double:
			f := func(x float64, i int) float64 { return roundFloat(x, int(digits(i)), mode) }
			if in.Kind == types.Float {
				return mapIdx(c.mem, dt, a, valuesOf[float32](a), func(x float32, i int) float32 { return float32(f(float64(x), i)) }), nil
			}
			return mapIdx(c.mem, dt, a, valuesOf[float64](a), f), nil
		case types.Decimal:
			return roundDecimal(c.mem, a, in, t, int(digits(0)), mode), nil
		}
		get := int64Getter(a)
		round := func(i int) int64 { return roundInt(get(i), digits(i), mode) }
		switch in.Kind {
		case types.TinyInt:
			return mapIdx(c.mem, dt, a, valuesOf[int8](a), func(_ int8, i int) int8 { return int8(round(i)) }), nil
		case types.SmallInt:
			return mapIdx(c.mem, dt, a, valuesOf[int16](a), func(_ int16, i int) int16 { return int16(round(i)) }), nil
		case types.Int:
			return mapIdx(c.mem, dt, a, valuesOf[int32](a), func(_ int32, i int) int32 { return int32(round(i)) }), nil
		}
		return mapIdx(c.mem, dt, a, valuesOf[int64](a), func(_ int64, i int) int64 { return round(i) }), nil
	})
}

// mapIdx is mapTotal with the row index.
func mapIdx[A, O arrow.FixedWidthType](mem memory.Allocator, dt arrow.DataType, a arrow.Array, in []A, fn func(A, int) O) arrow.Array {
	n := a.Len()
	valid, nulls := validity(mem, n, a)
	buf, out := fixedOut[O](mem, n)
	for i, v := range in {
		out[i] = fn(v, i)
	}
	return makeArray(dt, n, valid, buf, nulls)
}

func roundInt(v, d int64, mode roundMode) int64 {
	if d >= 0 {
		return v
	}
	if d < -18 {
		// 10^|d| is past every int64: ROUND and TRUNCATE give 0, as
		// Flink's BigDecimal does (FLOOR and CEIL have d = 0).
		return 0
	}
	p := int64(math.Pow10(int(-d)))
	q, r := v/p, v%p
	switch mode {
	case halfUp:
		if 2*abs64(r) >= p {
			q += sign64(v)
		}
	case floorMode:
		if r < 0 {
			q--
		}
	case ceilMode:
		if r > 0 {
			q++
		}
	}
	return q * p
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func sign64(v int64) int64 {
	if v < 0 {
		return -1
	}
	return 1
}

// roundFloat rounds through the shortest decimal representation (as
// Flink does via BigDecimal), so ROUND(2.675, 2) is 2.68, not 2.67.
func roundFloat(x float64, d int, mode roundMode) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	switch mode {
	case floorMode:
		return math.Floor(x)
	case ceilMode:
		return math.Ceil(x)
	}
	// Past a double's exponent range the answer is known; computing it
	// would take 10^|d| (ROUND(x, 2147483647) would never finish).
	switch {
	case d > 308:
		return x
	case d < -308:
		return 0
	}
	v, ok, err := parseDecimal(fmt.Sprint(x), 38, 18)
	if err != nil || !ok {
		p := math.Pow10(d)
		if mode == towardZero {
			return math.Trunc(x*p) / p
		}
		return math.Round(x*p) / p
	}
	b := v.BigInt()
	scaleTo(b, 18, d, mode)
	f, _ := new(big.Float).SetInt(b).Float64()
	if d >= 0 {
		return f / math.Pow10(d)
	}
	return f * math.Pow10(-d)
}

// scaleTo changes v's scale from -> to (to may be negative) with rounding.
func scaleTo(v *big.Int, from, to int, mode roundMode) {
	if to >= from {
		v.Mul(v, pow10(new(big.Int), to-from))
		return
	}
	div := pow10(new(big.Int), from-to)
	var r big.Int
	x := new(big.Int).Set(v)
	v.QuoRem(x, div, &r)
	switch mode {
	case halfUp:
		r.Abs(&r)
		r.Lsh(&r, 1)
		if r.Cmp(div) >= 0 {
			v.Add(v, big.NewInt(int64(x.Sign())))
		}
	case floorMode:
		if r.Sign() < 0 {
			v.Sub(v, big.NewInt(1))
		}
	case ceilMode:
		if r.Sign() > 0 {
			v.Add(v, big.NewInt(1))
		}
	}
}

func roundDecimal(mem memory.Allocator, a arrow.Array, in, out types.DataType, d int, mode roundMode) arrow.Array {
	s := in.Scale
	if mode == floorMode || mode == ceilMode {
		d = 0
	}
	// Rounding to a place above the largest DECIMAL gives 0 at any d past
	// it; clamping keeps 10^-d small.
	d = max(d, -(types.MaxDecimalPrecision + 1))
	prec := int32(out.Precision)
	var v big.Int
	arr, _ := map1(mem, out.Arrow(), a, func(x decimal128.Num) (decimal128.Num, bool, error) {
		if d >= s {
			return x, true, nil
		}
		v.Set(x.BigInt())
		scaleTo(&v, s, d, mode)
		if d < 0 { // back to scale 0
			v.Mul(&v, pow10(new(big.Int), -d))
		}
		return bigToDecimal(&v, prec)
	})
	return arr
}

func resolveRand(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 0, 1); err != nil {
		return nil, err
	}
	if len(args) == 1 {
		if _, ok := literalInt(args[0]); !ok {
			return nil, fmt.Errorf("RAND seed must be an integer literal")
		}
	}
	return &Call{Func: name, Args: args, T: types.DoubleType.WithNullable(false)}, nil
}

// compileRand draws uniformly from [0, 1); with a seed, each evaluator
// replays the same sequence.
func compileRand(c *compiler, call *Call) (Evaluator, error) {
	var src *rand.Rand
	if len(call.Args) == 1 {
		seed, _ := literalInt(call.Args[0])
		src = rand.New(rand.NewSource(seed))
	} else {
		src = rand.New(rand.NewSource(rand.Int63()))
	}
	return newCallEval(c, &Call{Func: call.Func, T: call.T}, func(_ []arrow.Array, n int) (arrow.Array, error) {
		buf, out := fixedOut[float64](c.mem, n)
		for i := range out {
			out[i] = src.Float64()
		}
		return makeArray(arrow.PrimitiveTypes.Float64, n, nil, buf, 0), nil
	})
}

// resolveRandInteger: RAND_INTEGER([seed,] bound) draws an INT from [0,
// bound); as for RAND, a seed must be an integer literal. The result is
// NULL when bound is.
func resolveRandInteger(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 2); err != nil {
		return nil, err
	}
	if len(args) == 2 {
		if _, ok := literalInt(args[0]); !ok {
			return nil, fmt.Errorf("RAND_INTEGER seed must be an integer literal")
		}
	}
	bound := args[len(args)-1]
	if t := bound.Type(); !t.IsInteger() && t.Kind != types.Null {
		return nil, typeError(name, args)
	}
	b, err := implicitCast(bound, types.IntType)
	if err != nil {
		return nil, err
	}
	out := append(append([]Expr{}, args[:len(args)-1]...), b)
	return &Call{Func: name, Args: out, T: types.IntType.WithNullable(bound.Type().Nullable())}, nil
}

// compileRandInteger draws from one source per evaluator, seeded like
// RAND's; a bound that is not positive is an error, as in Java's
// Random.nextInt.
func compileRandInteger(c *compiler, call *Call) (Evaluator, error) {
	var src *rand.Rand
	if len(call.Args) == 2 {
		seed, _ := literalInt(call.Args[0])
		src = rand.New(rand.NewSource(seed))
	} else {
		src = rand.New(rand.NewSource(rand.Int63()))
	}
	bound := call.Args[len(call.Args)-1]
	return newCallEval(c, &Call{Func: call.Func, Args: []Expr{bound}, T: call.T}, func(args []arrow.Array, n int) (arrow.Array, error) {
		b := intAt(args[0])
		return map1idx(c.mem, arrow.PrimitiveTypes.Int32, args[0], func(i int) (int32, bool, error) {
			if b(i) <= 0 {
				return 0, false, fmt.Errorf("RAND_INTEGER: bound must be positive, got %d", b(i))
			}
			return int32(src.Int63n(b(i))), true, nil
		})
	})
}
