package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

var compareFns = map[string]string{
	"=": "equal", "<>": "not_equal", "<": "less", "<=": "less_equal", ">": "greater", ">=": "greater_equal",
}

func init() {
	for op := range compareFns {
		register(&funcDef{name: op, resolve: resolveCompare, compile: compileCompare})
	}
	register(&funcDef{name: "AND", resolve: resolveLogic, compile: compileLogic})
	register(&funcDef{name: "OR", resolve: resolveLogic, compile: compileLogic})
	register(&funcDef{name: "NOT", resolve: resolveLogic, compile: compileNot})
	for _, fn := range []string{"IS NULL", "IS NOT NULL"} {
		register(&funcDef{name: fn, resolve: resolveIs, compile: compileIsNull})
	}
	for _, fn := range []string{"IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE"} {
		register(&funcDef{name: fn, resolve: resolveIs, compile: compileIsBool})
	}
	register(&funcDef{name: "IN", resolve: resolveIn, compile: compileIn})
	register(&funcDef{name: "BETWEEN", resolve: resolveBetween})
	register(&funcDef{name: "NOT BETWEEN", resolve: resolveBetween})
}

// resolveCompare casts both sides of a comparison to their common type.
func resolveCompare(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	t, ok := commonType(args)
	arrayEq := t.Kind == types.Array && (name == "=" || name == "<>" || name == "IS DISTINCT FROM" || name == "IS NOT DISTINCT FROM")
	if !ok || (t.Kind == types.Array && !arrayEq) || t.Kind == types.Map || t.Kind == types.Row || t.Kind == types.Multiset {
		return nil, typeError(name, args)
	}
	if arrayEq && args[0].Type().Elem.EqualIgnoringNull(*args[1].Type().Elem) {
		// Arrays whose elements differ only in nullability compare as
		// they are: their element columns have one Arrow type.
		return &Call{Func: name, Args: args, T: strict(types.BooleanType, args)}, nil
	}
	out, err := castAll(args, t)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: out, T: strict(types.BooleanType, args)}, nil
}

func compileCompare(c *compiler, call *Call) (Evaluator, error) {
	if call.Args[0].Type().Kind == types.Null || call.Args[1].Type().Kind == types.Null {
		return nullEval(c, call)
	}
	if call.Args[0].Type().Kind == types.Array {
		return compileArrayCompare(c, call)
	}
	return newComputeEval(c, compareFns[call.Func], nil, call.Args)
}

// boolArgs casts NULL literals to BOOLEAN and rejects non-boolean args.
func boolArgs(name string, args []Expr) ([]Expr, error) {
	out := make([]Expr, len(args))
	for i, a := range args {
		switch a.Type().Kind {
		case types.Boolean:
			out[i] = a
		case types.Null:
			out[i] = &Literal{T: types.BooleanType}
		default:
			return nil, typeError(name, args)
		}
	}
	return out, nil
}

func resolveLogic(name string, args []Expr) (Expr, error) {
	lo, hi := 2, -1
	if name == "NOT" {
		lo, hi = 1, 1
	}
	if err := arity(name, args, lo, hi); err != nil {
		return nil, err
	}
	out, err := boolArgs(name, args)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: out, T: strict(types.BooleanType, args)}, nil
}

// compileNot flips the value bits and keeps the validity bitmap.
func compileNot(c *compiler, call *Call) (Evaluator, error) {
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0].(*array.Boolean)
		valid, nulls := validity(c.mem, n, a)
		return boolOut(c.mem, n, valid, nulls, func(bits []byte) {
			bitutil.CopyBitmap(a.Data().Buffers()[1].Bytes(), a.Data().Offset(), n, bits, 0)
			for i := range bits {
				bits[i] = ^bits[i]
			}
		}), nil
	})
}

// compileLogic builds n-ary AND/OR as a left-deep chain of binary nodes.
// When the right operand can raise an error it is evaluated only on rows
// the left operand leaves undecided, matching Flink's short-circuit code;
// otherwise both sides run over the whole batch and arrow's Kleene kernels
// combine them.
func compileLogic(c *compiler, call *Call) (Evaluator, error) {
	if len(call.Args) > 2 {
		left := &Call{Func: call.Func, Args: call.Args[:len(call.Args)-1], T: call.T}
		call = &Call{Func: call.Func, Args: []Expr{left, call.Args[len(call.Args)-1]}, T: call.T}
	}
	isAnd := call.Func == "AND"
	if !canFail(call.Args[1]) {
		fn := "or_kleene"
		if isAnd {
			fn = "and_kleene"
		}
		return newComputeEval(c, fn, nil, call.Args)
	}
	args, err := c.compileArgs(call.Args)
	if err != nil {
		return nil, err
	}
	return &shortCircuit{c: c, isAnd: isAnd, left: args[0], right: args[1], rightCols: InputColumns(call.Args[1])}, nil
}

type shortCircuit struct {
	c           *compiler
	isAnd       bool
	left, right Evaluator
	rightCols   []int
	rows        []int32
}

func (e *shortCircuit) Eval(b arrow.RecordBatch) (arrow.Array, error) {
	la, err := e.left.Eval(b)
	if err != nil {
		return nil, err
	}
	defer la.Release()
	l := la.(*array.Boolean)
	n := l.Len()
	// Rows whose outcome the left side decides: FALSE for AND, TRUE for OR.
	decided := func(i int) bool { return l.IsValid(i) && l.Value(i) != e.isAnd }
	e.rows = e.rows[:0]
	for i := 0; i < n; i++ {
		if !decided(i) {
			e.rows = append(e.rows, int32(i))
		}
	}
	var r *array.Boolean
	if len(e.rows) > 0 {
		ra, err := takeRows(e.c, e.right, e.rightCols, b, e.rows)
		if err != nil {
			return nil, err
		}
		defer ra.Release()
		r = ra.(*array.Boolean)
	}
	bld := array.NewBooleanBuilder(e.c.mem)
	defer bld.Release()
	bld.Reserve(n)
	j := 0
	for i := 0; i < n; i++ {
		if decided(i) {
			bld.UnsafeAppend(!e.isAnd)
			continue
		}
		lNull, rNull := l.IsNull(i), r.IsNull(j)
		lv, rv := !lNull && l.Value(i), !rNull && r.Value(j)
		j++
		switch {
		case !rNull && rv != e.isAnd: // right decides
			bld.UnsafeAppend(rv)
		case lNull || rNull:
			bld.UnsafeAppendBoolToBitmap(false)
		default:
			bld.UnsafeAppend(lv && rv)
		}
	}
	return bld.NewArray(), nil
}

func resolveIs(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	out := args
	if name != "IS NULL" && name != "IS NOT NULL" {
		var err error
		if out, err = boolArgs(name, args); err != nil {
			return nil, err
		}
	}
	return &Call{Func: name, Args: out, T: types.BooleanType.WithNullable(false)}, nil
}

// compileIsNull reads the validity bitmap directly.
func compileIsNull(c *compiler, call *Call) (Evaluator, error) {
	want := call.Func == "IS NOT NULL"
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0]
		return boolOut(c.mem, n, nil, 0, func(bits []byte) {
			switch {
			case a.DataType().ID() == arrow.NULL:
				bitutil.SetBitsTo(bits, 0, int64(n), !want)
			case a.NullN() == 0:
				bitutil.SetBitsTo(bits, 0, int64(n), want)
			default:
				bitutil.CopyBitmap(a.NullBitmapBytes(), a.Data().Offset(), n, bits, 0)
				if !want {
					for i := range bits {
						bits[i] = ^bits[i]
					}
				}
			}
		}), nil
	})
}

func compileIsBool(c *compiler, call *Call) (Evaluator, error) {
	var want, negate bool
	switch call.Func {
	case "IS TRUE":
		want = true
	case "IS NOT TRUE":
		want, negate = true, true
	case "IS FALSE":
	case "IS NOT FALSE":
		negate = true
	}
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0].(*array.Boolean)
		return boolOut(c.mem, n, nil, 0, func(bits []byte) {
			for i := 0; i < n; i++ {
				v := a.IsValid(i) && a.Value(i) == want
				bitutil.SetBitTo(bits, i, v != negate)
			}
		}), nil
	})
}

// resolveIn types `value IN (item, ...)`: all operands are cast to their
// common type. SQL semantics: TRUE on a match, else NULL if the value or
// any item is NULL, else FALSE.
func resolveIn(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, -1); err != nil {
		return nil, err
	}
	t, ok := commonType(args)
	if !ok {
		return nil, typeError(name, args)
	}
	out, err := castAll(args, t)
	if err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: out, T: strict(types.BooleanType, args)}, nil
}

// compileIn probes a hash set when every item is a literal of an integer,
// temporal or string type; otherwise it evaluates the equivalent OR chain
// of equalities, which has the same three-valued result.
func compileIn(c *compiler, call *Call) (Evaluator, error) {
	if ev := inSetEval(c, call); ev != nil {
		return ev, nil
	}
	var or Expr
	for _, item := range call.Args[1:] {
		eq := &Call{Func: "=", Args: []Expr{call.Args[0], item}, T: types.BooleanType}
		if or == nil {
			or = eq
		} else {
			or = &Call{Func: "OR", Args: []Expr{or, eq}, T: types.BooleanType}
		}
	}
	return c.compile(or)
}

func inSetEval(c *compiler, call *Call) Evaluator {
	t := call.Args[0].Type()
	hasNull := false
	var ints map[int64]struct{}
	var strs map[string]struct{}
	switch {
	case t.IsInteger() || t.Kind == types.Date || t.IsTimestamp() || t.Kind == types.Time:
		ints = map[int64]struct{}{}
	case t.IsString():
		strs = map[string]struct{}{}
	default:
		return nil
	}
	for _, item := range call.Args[1:] {
		l, ok := item.(*Literal)
		if !ok {
			return nil
		}
		switch v := l.Value.(type) {
		case nil:
			hasNull = true
		case int64:
			ints[v] = struct{}{}
		case int32:
			ints[int64(v)] = struct{}{}
		case string:
			strs[v] = struct{}{}
		default:
			return nil
		}
	}
	// A short list of strings is scanned rather than hashed: comparing
	// lengths first rejects most items without reading a byte (q21's
	// IN ('apple', 'google', 'facebook', 'baidu')).
	const maxScanned = 8
	var small []string
	if strs != nil && len(strs) <= maxScanned {
		small = make([]string, 0, len(strs))
		for item := range strs {
			small = append(small, item)
		}
	}
	ev, err := c.compile(call.Args[0])
	if err != nil {
		return nil
	}
	k := func(args []arrow.Array, n int) (arrow.Array, error) {
		a := args[0]
		valid := outValidity(c.mem, n, a)
		vb := valid.Bytes()
		var key func(i int) bool
		switch v := a.(type) {
		case *array.String:
			if small != nil {
				key = func(i int) bool {
					s := v.Value(i)
					for _, item := range small {
						if len(item) == len(s) && item == s {
							return true
						}
					}
					return false
				}
				break
			}
			key = func(i int) bool { _, ok := strs[v.Value(i)]; return ok }
		default:
			get := int64Getter(a)
			key = func(i int) bool { _, ok := ints[get(i)]; return ok }
		}
		buf := memory.NewResizableBuffer(c.mem)
		buf.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := buf.Bytes()
		for i := 0; i < n; i++ {
			if !bitutil.BitIsSet(vb, i) {
				continue
			}
			if key(i) {
				bitutil.SetBit(bits, i)
			} else if hasNull {
				bitutil.ClearBit(vb, i)
			}
		}
		return makeArray(arrow.FixedWidthTypes.Boolean, n, valid, buf, n-bitutil.CountSetBits(vb, 0, n)), nil
	}
	return &callEval{args: []Evaluator{ev}, k: k, vals: make([]arrow.Array, 1)}
}

// int64Getter reads an integer-like fixed-width array as int64.
func int64Getter(a arrow.Array) func(int) int64 {
	switch a.DataType().(arrow.FixedWidthDataType).BitWidth() {
	case 8:
		v := valuesOf[int8](a)
		return func(i int) int64 { return int64(v[i]) }
	case 16:
		v := valuesOf[int16](a)
		return func(i int) int64 { return int64(v[i]) }
	case 32:
		v := valuesOf[int32](a)
		return func(i int) int64 { return int64(v[i]) }
	}
	v := valuesOf[int64](a)
	return func(i int) int64 { return v[i] }
}

// resolveBetween rewrites BETWEEN into comparisons (ASYMMETRIC, Flink's
// default): v BETWEEN lo AND hi is v >= lo AND v <= hi.
func resolveBetween(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 3, 3); err != nil {
		return nil, err
	}
	lop, hop, join := ">=", "<=", "AND"
	if name == "NOT BETWEEN" {
		lop, hop, join = "<", ">", "OR"
	}
	lo, err := Resolve(lop, args[:2])
	if err != nil {
		return nil, fmt.Errorf("cannot apply %s to arguments of types %s, %s and %s", name,
			args[0].Type().WithNullable(true), args[1].Type().WithNullable(true), args[2].Type().WithNullable(true))
	}
	hi, err := Resolve(hop, []Expr{args[0], args[2]})
	if err != nil {
		return nil, fmt.Errorf("cannot apply %s to arguments of types %s, %s and %s", name,
			args[0].Type().WithNullable(true), args[1].Type().WithNullable(true), args[2].Type().WithNullable(true))
	}
	return Resolve(join, []Expr{lo, hi})
}

// IS [NOT] DISTINCT FROM compares like = and <> but treats NULL as an
// ordinary value: NULL IS NOT DISTINCT FROM NULL is TRUE. The result is
// never NULL.
func init() {
	register(&funcDef{name: "IS DISTINCT FROM", resolve: resolveDistinct, compile: compileDistinct})
	register(&funcDef{name: "IS NOT DISTINCT FROM", resolve: resolveDistinct, compile: compileDistinct})
	// TYPEOF(x[, forceSerializable]) is the summary string of x's type,
	// known at planning time.
	register(&funcDef{name: "TYPEOF", resolve: func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, 1, 2); err != nil {
			return nil, err
		}
		s := args[0].Type().String()
		return NewLiteral(s, types.VarcharType(len(s)).WithNullable(false)), nil
	}})
}

func resolveDistinct(name string, args []Expr) (Expr, error) {
	e, err := resolveCompare(name, args)
	if err != nil {
		return nil, err
	}
	c := e.(*Call)
	c.T = types.BooleanType.WithNullable(false)
	return c, nil
}

func compileDistinct(c *compiler, call *Call) (Evaluator, error) {
	distinct := call.Func == "IS DISTINCT FROM"
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		a, b := args[0], args[1]
		var eq func(i, j int) bool
		if a.DataType().ID() != arrow.NULL && b.DataType().ID() != arrow.NULL {
			var err error
			if eq, err = equalAt(a, b); err != nil {
				return nil, err
			}
		}
		return boolOut(c.mem, n, nil, 0, func(bits []byte) {
			for i := 0; i < n; i++ {
				va, vb := isValid(a, i), isValid(b, i)
				same := va == vb && (!va || eq(i, i))
				bitutil.SetBitTo(bits, i, same != distinct)
			}
		}), nil
	})
}
