package expr

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
)

// ErrUnknownFunction is wrapped by Resolve and Compile errors for a function
// name that is not registered; test it with errors.Is.
var ErrUnknownFunction = errors.New("unknown function")

// funcDef is one registered scalar function or operator: its Flink name,
// how a call is type-checked (argument checks, implicit casts, return type),
// and how it is compiled into a vectorized evaluator.
type funcDef struct {
	name string
	// nondeterministic functions (RAND, NOW, PROCTIME...) are never folded.
	nondeterministic bool
	// nondeterministicNoArgs marks functions whose call without arguments
	// reads the clock while their other forms are pure: UNIX_TIMESTAMP().
	nondeterministicNoArgs bool
	// mayFail marks functions that can raise a runtime error for some
	// inputs (integer division by zero, CAST of a malformed string). Lazy
	// constructs (CASE, AND, OR, COALESCE) evaluate such arguments only on
	// the rows that reach them, as Flink's generated code does.
	mayFail bool
	// resolve type-checks a call with already-typed args and returns the
	// typed expression (usually a *Call, possibly a rewrite).
	resolve func(name string, args []Expr) (Expr, error)
	compile func(c *compiler, call *Call) (Evaluator, error)
	// table marks a user-defined table function (udtf.go), whose calls
	// resolve only through ResolveTableFunction.
	table bool
}

var registry = map[string]*funcDef{}

// register adds a definition under its name and any aliases.
func register(d *funcDef, aliases ...string) {
	for _, n := range append([]string{d.name}, aliases...) {
		if _, dup := registry[n]; dup {
			panic("expr: duplicate function " + n)
		}
		registry[n] = d
	}
}

func lookup(name string) *funcDef {
	n := stripPGCatalog(strings.ToUpper(name))
	if d := registry[n]; d != nil {
		return d
	}
	return lookupUser(n) // functions registered at run time (udf.go)
}

// Lookup reports whether a function or operator of that name exists.
func Lookup(name string) bool { return lookup(name) != nil }

// Names lists the registered function names in order, for SHOW FUNCTIONS.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	names = append(names, userNames()...)
	sort.Strings(names)
	return names
}

// Resolve type-checks a call of the function or operator name (Flink's
// spelling, case-insensitive) on typed arguments. It inserts the implicit
// casts Flink would (numeric widening to a common type, DECIMAL result
// types) and returns the typed expression. Errors are plain messages
// without a position; unknown names wrap ErrUnknownFunction.
//
// Argument layouts that are not obvious from SQL syntax:
//   - CASE: cond1, res1, cond2, res2, ..., [else] (searched form only).
//   - IN: value, item1, item2, ...
//   - BETWEEN / NOT BETWEEN: value, low, high (rewritten to >= AND <=).
//   - LIKE / NOT LIKE: string, pattern, [escape].
//   - EXTRACT: unit (a string literal such as 'YEAR'), temporal value.
//   - POSITION(a IN b): a, b.
//   - TRIM(s) / TRIM(s, chars), LTRIM, RTRIM: remove chars (default ' ')
//     from both ends, the start, or the end.
//   - Unary minus is "-" with one argument.
//
// CAST and TRY_CAST are built with NewCast.
func Resolve(name string, args []Expr) (Expr, error) {
	d := lookup(name)
	if d == nil || d.resolve == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownFunction, name)
	}
	if d.table {
		return nil, fmt.Errorf("%s is %w; call it in FROM as LATERAL TABLE(%s(...))", d.name, ErrTableFunctionCall, d.name)
	}
	return d.resolve(d.name, args) // aliases resolve under the canonical name
}

// arity checks the argument count of a call.
func arity(name string, args []Expr, lo, hi int) error {
	n := len(args)
	if n >= lo && (hi < 0 || n <= hi) {
		return nil
	}
	var want string
	switch {
	case lo == hi:
		want = fmt.Sprintf("%d argument%s", lo, plural(lo))
	case hi < 0:
		want = fmt.Sprintf("at least %d argument%s", lo, plural(lo))
	default:
		want = fmt.Sprintf("%d to %d arguments", lo, hi)
	}
	return fmt.Errorf("function %s expects %s, got %d", name, want, n)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// typeError is the message for arguments a function cannot take.
func typeError(name string, args []Expr) error {
	ts := make([]string, len(args))
	for i, a := range args {
		ts[i] = a.Type().WithNullable(true).WithTimeAttr(types.NoTimeAttr).String()
	}
	var list string
	switch len(ts) {
	case 1:
		list = "type " + ts[0]
	case 2:
		list = "types " + ts[0] + " and " + ts[1]
	default:
		list = "types " + strings.Join(ts, ", ")
	}
	if isInfix(name) || strings.HasPrefix(name, "IS ") || name == "NOT" || len(name) == 1 {
		return fmt.Errorf("cannot apply '%s' to arguments of %s", name, list)
	}
	return fmt.Errorf("cannot apply %s to arguments of %s", name, list)
}

// anyNullable reports whether any argument is nullable: the result of a
// strict (NULL-in, NULL-out) function is nullable exactly then.
func anyNullable(args []Expr) bool {
	for _, a := range args {
		if a.Type().Nullable() {
			return true
		}
	}
	return false
}

// strict types a NULL-propagating function's result: t, nullable iff some
// argument is.
func strict(t types.DataType, args []Expr) types.DataType {
	return t.WithNullable(anyNullable(args)).WithTimeAttr(types.NoTimeAttr)
}

// implicitCast converts e to t (keeping e's nullability), folding the cast
// of a literal right away so kernels see a constant of the right type.
func implicitCast(e Expr, t types.DataType) (Expr, error) {
	t = t.WithNullable(e.Type().Nullable()).WithTimeAttr(types.NoTimeAttr)
	if e.Type().WithTimeAttr(types.NoTimeAttr).Equal(t) {
		return e, nil
	}
	if e.Type().EqualIgnoringNull(t) && e.Type().Kind != types.Null {
		return e, nil
	}
	c := &Call{Func: "CAST", Args: []Expr{e}, T: t}
	if l, ok := e.(*Literal); ok {
		if l.Value == nil {
			return &Literal{T: t.WithNullable(true)}, nil
		}
		return Fold(c)
	}
	return c, nil
}

// castAll casts every arg to t.
func castAll(args []Expr, t types.DataType) ([]Expr, error) {
	out := make([]Expr, len(args))
	for i, a := range args {
		c, err := implicitCast(a, t)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// commonType folds types.CommonType over the arguments.
func commonType(args []Expr) (types.DataType, bool) {
	t := types.NullType
	for _, a := range args {
		c, ok := types.CommonType(t, a.Type())
		if !ok {
			return types.DataType{}, false
		}
		t = c
	}
	return t, true
}

// NewCast builds CAST(e AS to), or TRY_CAST when try is set. The result
// is nullable iff e is, except that TRY_CAST is always nullable (a failed
// conversion yields NULL); the nullability of to is ignored. It fails when Flink
// does not support the conversion.
func NewCast(e Expr, to types.DataType, try bool) (Expr, error) {
	fn := "CAST"
	// CAST keeps the operand's nullability; TRY_CAST can always fail to NULL.
	to = to.WithNullable(e.Type().Nullable())
	if try {
		fn = "TRY_CAST"
		to = to.WithNullable(true)
	}
	if !types.CanCast(e.Type(), to) || !castSupported(e.Type(), to) {
		return nil, fmt.Errorf("cannot cast %s to %s", e.Type().WithNullable(true), to.WithNullable(true))
	}
	return &Call{Func: fn, Args: []Expr{e}, T: to}, nil
}

// canFail reports whether evaluating e may raise a runtime error.
func canFail(e Expr) bool {
	fails := false
	Walk(e, func(n Expr) bool {
		if c, ok := n.(*Call); ok {
			if d := lookup(c.Func); d != nil && d.mayFail {
				if c.Func != "CAST" || castMayFail(c.Args[0].Type(), c.T) {
					fails = true
				}
			}
		}
		return !fails
	})
	return fails
}

// literalString returns the value of a non-NULL string literal argument.
func literalString(e Expr) (string, bool) {
	l, ok := e.(*Literal)
	if !ok {
		return "", false
	}
	s, ok := l.Value.(string)
	return s, ok
}

// literalInt returns the value of a non-NULL integer literal argument.
func literalInt(e Expr) (int64, bool) {
	l, ok := e.(*Literal)
	if !ok {
		return 0, false
	}
	v, ok := l.Value.(int64)
	return v, ok && l.T.IsInteger()
}

// coerceParams coerces each argument of name to its parameter's type.
func coerceParams(name string, args []Expr, params []types.DataType) ([]Expr, error) {
	out := make([]Expr, len(args))
	for i, a := range args {
		c, err := coerceParam(name, args, a, params[i])
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// fixedSig is a resolver for functions with fixed parameter kinds: each
// argument is implicitly cast to params[i] (a NULL literal is accepted
// anywhere) and the result is ret, nullable iff an argument is (or always
// when alwaysNull).
func fixedSig(ret types.DataType, alwaysNull bool, params ...types.DataType) func(string, []Expr) (Expr, error) {
	return func(name string, args []Expr) (Expr, error) {
		if err := arity(name, args, len(params), len(params)); err != nil {
			return nil, err
		}
		out, err := coerceParams(name, args, params)
		if err != nil {
			return nil, err
		}
		t := strict(ret, args)
		if alwaysNull {
			t = t.WithNullable(true)
		}
		return &Call{Func: name, Args: out, T: t}, nil
	}
}

// coerceParam casts a to the parameter family p: string parameters accept
// any CHAR/VARCHAR, integer parameters any integer (cast to p), DOUBLE
// parameters any numeric.
func coerceParam(name string, all []Expr, a Expr, p types.DataType) (Expr, error) {
	at := a.Type()
	switch {
	case at.Kind == types.Null:
		return implicitCast(a, p)
	case p.IsString() && at.IsString():
		return a, nil
	case p.IsInteger() && at.IsInteger(), p.IsApprox() && at.IsNumeric(),
		p.Kind == types.Decimal && at.IsNumeric() && !at.IsApprox():
		return implicitCast(a, p)
	case p.IsTimestamp() && (at.IsTimestamp() || at.Kind == types.Date):
		return implicitCast(a, p)
	case at.EqualIgnoringNull(p) || (p.Kind == at.Kind && p.Kind != types.Decimal):
		return a, nil
	}
	return nil, typeError(name, all)
}
