package table

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// Expression is an unresolved expression of the Table API: a column
// named, a literal, a function or operator call, an aggregate, an alias.
// Expressions are immutable values built with Col, Lit, Call and their
// methods; a Table operation resolves them against its input's columns
// through the same function registry (exec/expr.Resolve) the SQL binder
// uses, so implicit casts and result types are those of the equivalent
// SQL. Methods taking `any` accept an Expression or a Go value, which
// becomes a literal as Lit makes it.
type Expression struct{ n *exprNode }

type exprKind uint8

const (
	kCol     exprKind = iota // column by name
	kStar                    // Col("*")
	kLit                     // a typed literal
	kCall                    // a scalar function or operator
	kBetween                 // value, low, high
	kCast                    // CAST / TRY_CAST
	kAgg                     // an aggregate call
	kOver                    // an aggregate over a named over window
	kAlias                   // AS name
	kWinProp                 // start, end or rowtime of a group window
	kSort                    // ASC / DESC for OrderBy
	kBound                   // an over window's preceding bound
	kErr                     // a construction error, reported on resolution
)

type exprNode struct {
	kind exprKind
	// name is the column, function, alias, window or bound name.
	name     string
	lit      *expr.Literal
	args     []Expression
	distinct bool
	desc     bool
	try      bool
	to       types.DataType
	rows     int64 // kBound ROWS n
	err      string
	// more are a kAlias's further names, for the columns of a table
	// function call (JoinLateral).
	more []string
}

func mk(n exprNode) Expression { return Expression{n: &n} }

// Col names a column of the table an operation applies to. Col("*") is
// every column (in Select) or COUNT(*) (Col("*").Count()).
func Col(name string) Expression {
	if name == "*" {
		return mk(exprNode{kind: kStar, name: "*"})
	}
	return mk(exprNode{kind: kCol, name: name})
}

// Lit makes a literal of a Go value, typed as SQL types the equivalent
// literal: int is INT (BIGINT beyond 32 bits), int8/16/32/64 are
// TINYINT/SMALLINT/INT/BIGINT, float32 and float64 are FLOAT and DOUBLE,
// string is CHAR(n), bool BOOLEAN, []byte BINARY(n), time.Time
// TIMESTAMP(3) (its UTC wall clock), time.Duration a DAY-TIME interval, nil
// NULL. All but nil are NOT NULL. An Expression is returned as is.
func Lit(v any) Expression {
	if e, ok := v.(Expression); ok {
		return e
	}
	l, err := literalOf(v)
	if err != nil {
		return mk(exprNode{kind: kErr, err: err.Error(), name: fmt.Sprint(v)})
	}
	return mk(exprNode{kind: kLit, lit: l})
}

func literalOf(v any) (*expr.Literal, error) {
	nn := func(val any, t types.DataType) (*expr.Literal, error) {
		return &expr.Literal{Value: val, T: t.WithNullable(false)}, nil
	}
	switch x := v.(type) {
	case nil:
		return &expr.Literal{T: types.NullType}, nil
	case bool:
		return nn(x, types.BooleanType)
	case int:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return nn(int64(x), types.IntType)
		}
		return nn(int64(x), types.BigIntType)
	case int8:
		return nn(int64(x), types.TinyIntType)
	case int16:
		return nn(int64(x), types.SmallIntType)
	case int32:
		return nn(int64(x), types.IntType)
	case int64:
		return nn(x, types.BigIntType)
	case float32:
		return nn(float64(x), types.FloatType)
	case float64:
		return nn(x, types.DoubleType)
	case string:
		return nn(x, types.CharType(max(1, len([]rune(x)))))
	case []byte:
		return nn(append([]byte(nil), x...), types.BinaryType(max(1, len(x))))
	case time.Time:
		return nn(x.UnixMilli(), types.TimestampType(3))
	case time.Duration:
		return nn(x.Milliseconds(), types.IntervalDayTimeType())
	}
	return nil, fmt.Errorf("cannot make a literal of Go type %T", v)
}

// toExpr turns a method argument into an Expression.
func toExpr(v any) Expression {
	if e, ok := v.(Expression); ok {
		return e
	}
	return Lit(v)
}

func toExprs(vs []any) []Expression {
	out := make([]Expression, len(vs))
	for i, v := range vs {
		out[i] = toExpr(v)
	}
	return out
}

// Call calls a scalar function registered in exec/expr by name (any
// built-in function SQL knows, or a Go function of CreateFunction).
func Call(name string, args ...any) Expression {
	return mk(exprNode{kind: kCall, name: strings.ToUpper(name), args: toExprs(args)})
}

func (e Expression) call(fn string, others ...any) Expression {
	return mk(exprNode{kind: kCall, name: fn, args: append([]Expression{e}, toExprs(others)...)})
}

// As names the expression's output column. A table function call of
// JoinLateral takes one name per column of its rows: As("word", "length").
func (e Expression) As(name string, more ...string) Expression {
	return mk(exprNode{kind: kAlias, name: name, more: more, args: []Expression{e}})
}

// Arithmetic.
func (e Expression) Plus(o any) Expression  { return e.call("+", o) }
func (e Expression) Minus(o any) Expression { return e.call("-", o) }
func (e Expression) Times(o any) Expression { return e.call("*", o) }
func (e Expression) Div(o any) Expression   { return e.call("/", o) }
func (e Expression) Mod(o any) Expression   { return e.call("%", o) }

// Negate is unary minus.
func (e Expression) Negate() Expression { return e.call("-") }

// Comparisons.
func (e Expression) Eq(o any) Expression { return e.call("=", o) }
func (e Expression) Ne(o any) Expression { return e.call("<>", o) }
func (e Expression) Gt(o any) Expression { return e.call(">", o) }
func (e Expression) Ge(o any) Expression { return e.call(">=", o) }
func (e Expression) Lt(o any) Expression { return e.call("<", o) }
func (e Expression) Le(o any) Expression { return e.call("<=", o) }

// Logic.
func (e Expression) And(o any) Expression { return e.call("AND", o) }
func (e Expression) Or(o any) Expression  { return e.call("OR", o) }
func (e Expression) Not() Expression      { return e.call("NOT") }

// Not negates a condition.
func Not(e Expression) Expression { return e.Not() }

// If is IF(cond, then, otherwise).
func If(cond, then, otherwise any) Expression {
	return Call("IF", cond, then, otherwise)
}

// Predicates.
func (e Expression) IsNull() Expression    { return e.call("IS NULL") }
func (e Expression) IsNotNull() Expression { return e.call("IS NOT NULL") }
func (e Expression) In(values ...any) Expression {
	return e.call("IN", values...)
}
func (e Expression) Like(pattern any) Expression { return e.call("LIKE", pattern) }

// Between is e BETWEEN low AND high (e >= low AND e <= high).
func (e Expression) Between(low, high any) Expression {
	return mk(exprNode{kind: kBetween, args: []Expression{e, toExpr(low), toExpr(high)}})
}

// Concat is e || o.
func (e Expression) Concat(o any) Expression { return e.call("||", o) }

// Cast is CAST(e AS t); TryCast gives NULL where the conversion fails.
func (e Expression) Cast(t types.DataType) Expression {
	return mk(exprNode{kind: kCast, to: t, args: []Expression{e}})
}
func (e Expression) TryCast(t types.DataType) Expression {
	return mk(exprNode{kind: kCast, to: t, try: true, args: []Expression{e}})
}

// Aggregates, allowed in the Select of GroupBy, of a group window, or of a
// whole table (a global aggregate), and with Over in an OverWindow Select.
func (e Expression) Sum() Expression           { return e.agg("SUM", false) }
func (e Expression) Count() Expression         { return e.agg("COUNT", false) }
func (e Expression) Avg() Expression           { return e.agg("AVG", false) }
func (e Expression) Min() Expression           { return e.agg("MIN", false) }
func (e Expression) Max() Expression           { return e.agg("MAX", false) }
func (e Expression) CountDistinct() Expression { return e.agg("COUNT", true) }
func (e Expression) SumDistinct() Expression   { return e.agg("SUM", true) }

// CountStar is COUNT(*).
func CountStar() Expression { return Col("*").Count() }

// CountDistinct is COUNT(DISTINCT a, b, ...): the number of distinct
// tuples of its arguments whose fields are all non-NULL, as SQL's COUNT
// over several DISTINCT arguments counts them.
func CountDistinct(args ...any) Expression {
	return mk(exprNode{kind: kAgg, name: "COUNT", args: toExprs(args), distinct: true})
}

// Distinct makes an aggregate call a DISTINCT one, as Flink's
// $("a").sum().distinct(): Aggregate("COUNT", Col("a"), Col("b")).Distinct()
// is COUNT(DISTINCT a, b).
func (e Expression) Distinct() Expression {
	if e.n == nil || e.n.kind != kAgg {
		return mk(exprNode{kind: kErr, name: e.String() + ".distinct()",
			err: "Distinct applies to an aggregate call, as in Col(\"a\").Sum().Distinct()"})
	}
	n := *e.n
	n.distinct = true
	return mk(n)
}

// Aggregate calls any aggregate function by name (agg.IsAggregate).
func Aggregate(name string, args ...any) Expression {
	return mk(exprNode{kind: kAgg, name: strings.ToUpper(name), args: toExprs(args)})
}

func (e Expression) agg(fn string, distinct bool) Expression {
	args := []Expression{e}
	if e.n.kind == kStar {
		args = nil
	}
	return mk(exprNode{kind: kAgg, name: fn, args: args, distinct: distinct})
}

// Over applies an aggregate to the over window named window (see
// Table.OverWindow).
func (e Expression) Over(window string) Expression {
	return mk(exprNode{kind: kOver, name: window, args: []Expression{e}})
}

// Group window properties of Col(alias) in a windowed GroupBy's Select:
// the window's start, end, and rowtime (window_time, a time attribute).
func (e Expression) Start() Expression   { return e.winProp("window_start") }
func (e Expression) End() Expression     { return e.winProp("window_end") }
func (e Expression) Rowtime() Expression { return e.winProp("window_time") }

func (e Expression) winProp(col string) Expression {
	return mk(exprNode{kind: kWinProp, name: col, args: []Expression{e}})
}

// Asc and Desc order OrderBy keys (nulls first ascending, last
// descending, as in SQL).
func (e Expression) Asc() Expression { return mk(exprNode{kind: kSort, args: []Expression{e}}) }
func (e Expression) Desc() Expression {
	return mk(exprNode{kind: kSort, desc: true, args: []Expression{e}})
}

// Interval literals from an integer literal: Lit(10).Seconds() is
// INTERVAL '10' SECOND.
func (e Expression) Millis() Expression  { return e.interval(1, false, "MILLISECOND") }
func (e Expression) Seconds() Expression { return e.interval(1000, false, "SECOND") }
func (e Expression) Minutes() Expression { return e.interval(60e3, false, "MINUTE") }
func (e Expression) Hours() Expression   { return e.interval(3600e3, false, "HOUR") }
func (e Expression) Days() Expression    { return e.interval(86400e3, false, "DAY") }
func (e Expression) Months() Expression  { return e.interval(1, true, "MONTH") }
func (e Expression) Years() Expression   { return e.interval(12, true, "YEAR") }

func (e Expression) interval(factor int64, months bool, unit string) Expression {
	if e.n.kind != kLit || e.n.lit.Value == nil || !e.n.lit.T.IsInteger() {
		return mk(exprNode{kind: kErr, name: e.String() + "." + strings.ToLower(unit) + "s",
			err: "intervals are made from integer literals, as in Lit(10).Seconds()"})
	}
	v := e.n.lit.Value.(int64) * factor
	if months {
		return mk(exprNode{kind: kLit, lit: &expr.Literal{Value: int32(v), T: types.IntervalYearMonthType().WithNullable(false)}})
	}
	return mk(exprNode{kind: kLit, lit: &expr.Literal{Value: v, T: types.IntervalDayTimeType().WithNullable(false)}})
}

// String prints the expression in SQL syntax; errors quote it.
func (e Expression) String() string {
	n := e.n
	if n == nil {
		return "<nil expression>"
	}
	args := make([]string, len(n.args))
	for i, a := range n.args {
		args[i] = a.String()
	}
	switch n.kind {
	case kCol, kStar:
		return n.name
	case kLit:
		return n.lit.String()
	case kCall:
		switch {
		case len(args) == 2 && isInfix(n.name):
			return "(" + args[0] + " " + n.name + " " + args[1] + ")"
		case len(args) == 1 && n.name == "-":
			return "-" + args[0]
		case strings.HasPrefix(n.name, "IS "):
			return "(" + args[0] + " " + n.name + ")"
		case n.name == "IN":
			return "(" + args[0] + " IN (" + strings.Join(args[1:], ", ") + "))"
		}
		return n.name + "(" + strings.Join(args, ", ") + ")"
	case kBetween:
		return "(" + args[0] + " BETWEEN " + args[1] + " AND " + args[2] + ")"
	case kCast:
		fn := "CAST"
		if n.try {
			fn = "TRY_CAST"
		}
		return fmt.Sprintf("%s(%s AS %s)", fn, args[0], n.to)
	case kAgg:
		if len(args) == 0 {
			return n.name + "(*)"
		}
		if n.distinct {
			return n.name + "(DISTINCT " + strings.Join(args, ", ") + ")"
		}
		return n.name + "(" + strings.Join(args, ", ") + ")"
	case kOver:
		return args[0] + " OVER " + n.name
	case kAlias:
		if len(n.more) > 0 {
			return args[0] + " AS (" + strings.Join(append([]string{n.name}, n.more...), ", ") + ")"
		}
		return args[0] + " AS " + n.name
	case kWinProp:
		return args[0] + "." + strings.TrimPrefix(n.name, "window_")
	case kSort:
		if n.desc {
			return args[0] + " DESC"
		}
		return args[0] + " ASC"
	case kBound:
		if n.name == "ROWS" {
			return fmt.Sprintf("%d ROWS", n.rows)
		}
		return n.name
	}
	return n.name
}

func isInfix(fn string) bool {
	switch fn {
	case "+", "-", "*", "/", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "LIKE":
		return true
	}
	return false
}

// walk visits e and its sub-expressions, parents first, descending while
// fn returns true.
func (e Expression) walk(fn func(Expression) bool) {
	if !fn(e) {
		return
	}
	for _, a := range e.n.args {
		a.walk(fn)
	}
}

// has reports whether e contains a node of kind k outside over windows
// (for kAgg) or anywhere.
func (e Expression) has(k exprKind) bool {
	found := false
	e.walk(func(x Expression) bool {
		if x.n.kind == k {
			found = true
		}
		return !found && !(k == kAgg && x.n.kind == kOver)
	})
	return found
}

// outputName is the column name SQL gives a select item: its alias, the
// column it names, or EXPR$i.
func (e Expression) outputName(i int) string {
	switch e.n.kind {
	case kAlias:
		return e.n.name
	case kCol:
		return e.n.name
	}
	return fmt.Sprintf("EXPR$%d", i)
}

// unalias strips a top-level alias.
func (e Expression) unalias() Expression {
	if e.n.kind == kAlias {
		return e.n.args[0]
	}
	return e
}

// scope is the columns visible to expressions over one input, with the
// grouping and over-window context of a Select above an aggregation.
type scope struct {
	cols []types.Column
	// agg, when set, binds grouped expressions and aggregate calls to the
	// Aggregate's output (see groupScope).
	agg *aggScope
	// over maps the text of each over-window call to its column.
	over map[string]int
	// hidden columns (an Over node's calls) are not found by name.
	hidden map[int]bool
}

func newScope(s types.Schema) *scope {
	return &scope{cols: append([]types.Column(nil), s.Columns...)}
}

// exprError is an error about expression e; its Near names e.
func exprError(code errs.Code, e Expression, format string, args ...any) *errs.Error {
	err := errs.New(code, format, args...)
	err.Near = e.String()
	return err
}

// column finds a column by name.
func (sc *scope) column(e Expression) (int, error) {
	found := -1
	for i, c := range sc.cols {
		if c.Name == e.n.name && !sc.hidden[i] {
			if found >= 0 {
				return 0, exprError(errs.AmbiguousColumn, e, "column '%s' is ambiguous; rename one side with As or RenameColumns", e.n.name)
			}
			found = i
		}
	}
	if found < 0 {
		return 0, exprError(errs.UndefinedColumn, e, "column '%s' not found; the table has columns %s", e.n.name, strings.Join(names(sc.cols), ", "))
	}
	return found, nil
}

func names(cols []types.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

func (sc *scope) ref(i int) expr.Expr {
	return &expr.ColumnRef{Index: i, Name: sc.cols[i].Name, T: sc.cols[i].Type}
}

// resolve types e over the scope's columns, as the binder's bindExpr does.
func (sc *scope) resolve(e Expression) (expr.Expr, error) {
	if sc.agg != nil {
		if r, ok, err := sc.agg.lookup(e); ok || err != nil {
			return r, err
		}
	}
	n := e.n
	if n.kind == kOver && sc.over != nil {
		if i, ok := sc.over[e.String()]; ok {
			return sc.ref(i), nil
		}
	}
	switch n.kind {
	case kCol:
		i, err := sc.column(e)
		if err != nil {
			return nil, err
		}
		return sc.ref(i), nil
	case kLit:
		return &expr.Literal{Value: n.lit.Value, T: n.lit.T}, nil
	case kAlias:
		if len(n.more) > 0 {
			return nil, exprError(errs.InvalidPlan, e, "only the table function call of JoinLateral takes several names")
		}
		return sc.resolve(n.args[0])
	case kCall:
		args, err := sc.resolveAll(n.args)
		if err != nil {
			return nil, err
		}
		return call(e, n.name, args...)
	case kBetween:
		args, err := sc.resolveAll(n.args)
		if err != nil {
			return nil, err
		}
		ge, err := call(e, ">=", args[0], args[1])
		if err != nil {
			return nil, err
		}
		le, err := call(e, "<=", args[0], args[2])
		if err != nil {
			return nil, err
		}
		return call(e, "AND", ge, le)
	case kCast:
		arg, err := sc.resolve(n.args[0])
		if err != nil {
			return nil, err
		}
		c, err := expr.NewCast(arg, n.to, n.try)
		if err != nil {
			return nil, exprError(errs.DatatypeMismatch, e, "%v", err)
		}
		return c, nil
	case kAgg:
		return nil, exprError(errs.GroupingError, e, "aggregate function %s is not allowed here; aggregate in Select (of GroupBy, a window or the whole table)", n.name)
	case kOver:
		return nil, exprError(errs.GroupingError, e, "over window '%s' is not defined; define it with OverWindow", n.name)
	case kWinProp:
		return nil, exprError(errs.GroupingError, e, "window properties are only allowed in the Select of a windowed GroupBy")
	case kSort:
		return nil, exprError(errs.InvalidPlan, e, "Asc and Desc are only allowed in OrderBy")
	case kStar:
		return nil, exprError(errs.InvalidPlan, e, "* is only allowed as a Select item or in Count")
	case kBound:
		return nil, exprError(errs.InvalidPlan, e, "%s is only allowed as an over window bound", n.name)
	case kErr:
		return nil, exprError(errs.InvalidPlan, e, "%s", n.err)
	}
	return nil, errs.Internalf("unknown expression kind %d", n.kind)
}

func (sc *scope) resolveAll(es []Expression) ([]expr.Expr, error) {
	out := make([]expr.Expr, len(es))
	for i, a := range es {
		r, err := sc.resolve(a)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// call resolves a function through the registry, as the binder's call.
func call(at Expression, name string, args ...expr.Expr) (expr.Expr, error) {
	r, err := expr.Resolve(name, args)
	if err != nil {
		return nil, exprError(resolveErrorCode(err), at, "%v", err)
	}
	return r, nil
}

// resolveErrorCode is the error catalog's code for an error of resolving
// a function call.
func resolveErrorCode(err error) errs.Code {
	switch {
	case errors.Is(err, expr.ErrUnknownFunction):
		return errs.UndefinedFunction
	case errors.Is(err, expr.ErrTableFunctionCall), errors.Is(err, expr.ErrNotTableFunction):
		return errs.WrongObjectType
	}
	return errs.DatatypeMismatch
}

// aggScope resolves expressions above an Aggregate, like the binder's
// aggContext: grouped expressions and aggregate calls become references
// to the Aggregate's output; other column references are grouping errors.
type aggScope struct {
	input     *scope
	groupText []string
	groupCol  []int
	callText  []string
	out       *scope
}

func (ac *aggScope) lookup(e Expression) (expr.Expr, bool, error) {
	text := e.String()
	for i, g := range ac.groupText {
		if g == text {
			return ac.out.ref(i), true, nil
		}
	}
	if e.n.kind == kAgg {
		for i, c := range ac.callText {
			if c == text {
				return ac.out.ref(len(ac.groupText) + i), true, nil
			}
		}
		return nil, true, errs.Internalf("aggregate call %s was not collected", text)
	}
	if e.n.kind == kCol {
		col, err := ac.input.column(e)
		if err != nil {
			return nil, true, err
		}
		for i, g := range ac.groupCol {
			if g == col {
				return ac.out.ref(i), true, nil
			}
		}
		return nil, true, exprError(errs.GroupingError, e, "expression '%s' is not being grouped", text)
	}
	return nil, false, nil
}

// collectAggregates appends the aggregate calls in e (outside over
// windows) by text, rejecting nested aggregates.
func collectAggregates(e Expression, calls *[]Expression, texts *[]string) error {
	var err error
	e.walk(func(x Expression) bool {
		if err != nil || x.n.kind == kOver {
			return false
		}
		if x.n.kind != kAgg {
			return true
		}
		if !agg.IsAggregate(x.n.name) {
			err = exprError(errs.UndefinedFunction, x, "%s is not an aggregate function", x.n.name)
			return false
		}
		for _, a := range x.n.args {
			if a.has(kAgg) {
				err = exprError(errs.GroupingError, x, "aggregate function calls cannot be nested")
				return false
			}
		}
		text := x.String()
		for _, t := range *texts {
			if t == text {
				return false
			}
		}
		*calls = append(*calls, x)
		*texts = append(*texts, text)
		return false
	})
	return err
}
