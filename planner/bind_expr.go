package planner

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// windowFunctions are recognized so that their use gives a clear
// "not supported yet" instead of "unknown function".
var windowFunctions = map[string]bool{"ROW_NUMBER": true, "RANK": true, "DENSE_RANK": true}

var binaryFuncs = map[sql.BinaryOp]string{
	sql.Add: "+", sql.Sub: "-", sql.Mul: "*", sql.Div: "/", sql.Mod: "%", sql.Concat: "||",
	sql.Eq: "=", sql.NotEq: "<>", sql.Lt: "<", sql.LtEq: "<=", sql.Gt: ">", sql.GtEq: ">=",
	sql.And: "AND", sql.Or: "OR", sql.IsDistinctFrom: "IS DISTINCT FROM",
	sql.IsNotDistinctFrom: "IS NOT DISTINCT FROM",
}

// bindExpr resolves a syntax expression against the columns in sc into a
// typed expression.
func (s source) bindExpr(sc *scope, e sql.Expr) (expr.Expr, error) {
	if sc.agg != nil {
		if bound, ok, err := s.aggLookup(sc.agg, e); ok || err != nil {
			return bound, err
		}
	}
	if f, ok := e.(*sql.FuncCall); ok && sc.over != nil && (f.Over != nil || f.OverName != "") {
		if i, ok := sc.over[sql.FormatExpr(f)]; ok {
			c := sc.cols[i]
			return &expr.ColumnRef{Index: i, Name: c.name, T: c.typ}, nil
		}
	}
	switch n := e.(type) {
	case *sql.Ident:
		i, fields, err := s.resolve(sc, n)
		if err != nil {
			return nil, err
		}
		c := sc.cols[i]
		return s.fieldAccess(n, &expr.ColumnRef{Index: i, Name: c.name, T: c.typ}, fields)
	case *sql.Literal:
		return s.bindLiteral(n)
	case *sql.IntervalLit:
		return s.bindInterval(n)
	case *sql.Unary:
		arg, err := s.bindExpr(sc, n.Expr)
		if err != nil {
			return nil, err
		}
		switch n.Op {
		case sql.Plus:
			return arg, nil
		case sql.Not:
			return s.call(n, "NOT", arg)
		default:
			return s.call(n, "-", arg)
		}
	case *sql.Binary:
		if q, ok := n.Right.(*sql.Quantified); ok {
			return s.bindQuantified(sc, n, q)
		}
		args, err := s.bindOperands(sc, n.Left, n.Right)
		if err != nil {
			return nil, err
		}
		if s.unknownLiterals && isComparison(n.Op) {
			if args[0], args[1], err = s.resolveUnknownLiterals(n, args[0], args[1]); err != nil {
				return nil, err
			}
		}
		if isComparison(n.Op) && isRow(args[0]) && isRow(args[1]) {
			return s.rowCompare(n, n.Op, args[0], args[1])
		}
		return s.call(n, binaryFuncs[n.Op], args[0], args[1])
	case *sql.Param:
		return s.bindParam(n, types.NullType)
	case *sql.FuncCall:
		return s.bindCall(sc, n)
	case *sql.Cast:
		param, isParam := n.Expr.(*sql.Param)
		var arg expr.Expr
		var err error
		if !isParam {
			if arg, err = s.bindExpr(sc, n.Expr); err != nil {
				return nil, err
			}
		}
		t, err := s.resolveType(n.Type)
		if err != nil {
			return nil, err
		}
		if n.Type.Name == "VARCHAR" && !n.Type.HasParams() {
			// Flink reads CAST(x AS VARCHAR) as a cast to STRING; only a
			// column declared VARCHAR has length 1.
			t = types.StringType.WithNullable(t.Nullable())
		}
		if isParam {
			// A placeholder of unknown type takes the type it is cast to,
			// as PostgreSQL infers CAST($1 AS BOOLEAN) and $1::boolean, so
			// clients send the value in that type.
			if arg, err = s.bindParam(param, t); err != nil {
				return nil, err
			}
		}
		c, err := expr.NewCast(arg, t, n.Try)
		if err != nil {
			return nil, s.errAt(errs.DatatypeMismatch, n, "%v", err)
		}
		return c, nil
	case *sql.Case:
		return s.bindCase(sc, n)
	case *sql.InList:
		args, err := s.bindOperands(sc, append([]sql.Expr{n.Expr}, n.List...)...)
		if err != nil {
			return nil, err
		}
		if isRow(args[0]) {
			return s.rowIn(n, args)
		}
		in, err := s.call(n, "IN", args...)
		if err != nil || !n.Not {
			return in, err
		}
		return s.call(n, "NOT", in)
	case *sql.Between:
		args, err := s.bindOperands(sc, n.Expr, n.Low, n.High)
		if err != nil {
			return nil, err
		}
		// x BETWEEN lo AND hi is x >= lo AND x <= hi; SYMMETRIC also
		// accepts the bounds swapped, (x >= hi AND x <= lo), as Calcite
		// expands it.
		within := func(lo, hi expr.Expr) (expr.Expr, error) {
			ge, err := s.call(n, ">=", args[0], lo)
			if err != nil {
				return nil, err
			}
			le, err := s.call(n, "<=", args[0], hi)
			if err != nil {
				return nil, err
			}
			return s.call(n, "AND", ge, le)
		}
		between, err := within(args[1], args[2])
		if err == nil && n.Symmetric {
			var swapped expr.Expr
			if swapped, err = within(args[2], args[1]); err == nil {
				between, err = s.call(n, "OR", between, swapped)
			}
		}
		if err != nil || !n.Not {
			return between, err
		}
		return s.call(n, "NOT", between)
	case *sql.Like:
		parts := []sql.Expr{n.Expr, n.Pattern}
		if n.Escape != nil {
			parts = append(parts, n.Escape)
		}
		args, err := s.bindExprs(sc, parts)
		if err != nil {
			return nil, err
		}
		if n.SimilarTo {
			similar, err := s.call(n, "SIMILAR TO", args...)
			if err != nil || !n.Not {
				return similar, err
			}
			return s.call(n, "NOT", similar)
		}
		if n.Not {
			return s.call(n, "NOT LIKE", args...)
		}
		return s.call(n, "LIKE", args...)
	case *sql.IsNull:
		arg, err := s.bindExpr(sc, n.Expr)
		if err != nil {
			return nil, err
		}
		if n.Not {
			return s.call(n, "IS NOT NULL", arg)
		}
		return s.call(n, "IS NULL", arg)
	case *sql.IsBool:
		arg, err := s.bindExpr(sc, n.Expr)
		if err != nil {
			return nil, err
		}
		fn := "IS "
		if n.Not {
			fn += "NOT "
		}
		if n.Value {
			fn += "TRUE"
		} else {
			fn += "FALSE"
		}
		return s.call(n, fn, arg)
	case *sql.Extract:
		arg, err := s.bindExpr(sc, n.Expr)
		if err != nil {
			return nil, err
		}
		unit := &expr.Literal{Value: n.Unit, T: types.VarcharType(len(n.Unit)).WithNullable(false)}
		return s.call(n, "EXTRACT", unit, arg)
	case *sql.InSubquery:
		if m, ok := sc.marks[n]; ok {
			return s.markPredicate(n, sc, m)
		}
		if i, ok := sc.scalars[n]; ok {
			// A correlated IN's value, computed (correlatedMark).
			c := sc.cols[i]
			return &expr.ColumnRef{Index: i, Name: c.name, T: c.typ}, nil
		}
	case *sql.Exists:
		if i, ok := sc.scalars[n]; ok {
			return s.existsValue(n, sc, i)
		}
	case *sql.SubqueryExpr:
		if i, ok := sc.scalars[n]; ok {
			c := sc.cols[i]
			ref := &expr.ColumnRef{Index: i, Name: c.name, T: c.typ}
			if n.Array {
				return s.bindArraySubquery(n, ref)
			}
			return ref, nil
		}
	case *sql.Index:
		args, err := s.bindExprs(sc, []sql.Expr{n.Expr, n.Index})
		if err != nil {
			return nil, err
		}
		return s.call(n, "ITEM", args...)
	case *sql.FieldAccess:
		e, err := s.bindExpr(sc, n.Expr)
		if err != nil {
			return nil, err
		}
		return s.fieldAccess(n, e, n.Fields)
	case *sql.ArrayCtor:
		args, err := s.bindExprs(sc, n.Elems)
		if err != nil {
			return nil, err
		}
		return s.call(n, "ARRAY", args...)
	case *sql.MapCtor:
		var kv []sql.Expr
		for i := range n.Keys {
			kv = append(kv, n.Keys[i], n.Values[i])
		}
		args, err := s.bindExprs(sc, kv)
		if err != nil {
			return nil, err
		}
		return s.call(n, "MAP", args...)
	case *sql.RowCtor:
		args, err := s.bindExprs(sc, n.Fields)
		if err != nil {
			return nil, err
		}
		return s.call(n, "ROW", args...)
	}
	return nil, s.errAt(errs.NotSupported, e, "expression %s is not supported yet", e)
}

func isComparison(op sql.BinaryOp) bool {
	switch op {
	case sql.Eq, sql.NotEq, sql.Lt, sql.LtEq, sql.Gt, sql.GtEq, sql.IsDistinctFrom, sql.IsNotDistinctFrom:
		return true
	}
	return false
}

// resolveUnknownLiterals types a string literal compared with a numeric
// operand as that operand's type, PostgreSQL's resolution of an untyped
// literal (Planner.UnknownLiterals): the literal is cast, so text that is
// not a number fails as PostgreSQL's "invalid input syntax" does.
func (s source) resolveUnknownLiterals(n *sql.Binary, l, r expr.Expr) (expr.Expr, expr.Expr, error) {
	resolve := func(syn sql.Expr, e, other expr.Expr) (expr.Expr, error) {
		lit, ok := syn.(*sql.Literal)
		if ok && lit.Kind == sql.StringLit && other.Type().Kind == types.Array {
			return s.pgArrayLiteral(lit, *other.Type().Elem)
		}
		if !ok || lit.Kind != sql.StringLit || !other.Type().IsNumeric() {
			return e, nil
		}
		// PostgreSQL reads the literal when it plans the statement, so
		// text that is no number fails then, not when rows arrive.
		text := strings.TrimSpace(lit.Text)
		_, ierr := strconv.ParseInt(text, 10, 64)
		_, ferr := strconv.ParseFloat(text, 64)
		if ierr != nil && (other.Type().IsInteger() || ferr != nil) {
			return nil, s.errAt(errs.InvalidCast, syn, "invalid input syntax for type %s: \"%s\"", other.Type().WithNullable(true), lit.Text)
		}
		c, err := expr.NewCast(e, other.Type().WithTimeAttr(types.NoTimeAttr).WithNullable(false), false)
		if err != nil {
			return nil, s.errAt(errs.DatatypeMismatch, n, "%v", err)
		}
		return c, nil
	}
	l2, err := resolve(n.Left, l, r)
	if err != nil {
		return nil, nil, err
	}
	r2, err := resolve(n.Right, r, l)
	return l2, r2, err
}

// bindOperands binds the operands of one operator. Placeholders among them
// take the type of the first operand that is not a placeholder, as
// PostgreSQL infers `col = $1`.
func (s source) bindOperands(sc *scope, es ...sql.Expr) ([]expr.Expr, error) {
	out := make([]expr.Expr, len(es))
	hint := types.NullType
	for i, e := range es {
		if _, ok := e.(*sql.Param); ok {
			continue
		}
		var err error
		if out[i], err = s.bindExpr(sc, e); err != nil {
			return nil, err
		}
		if hint.Kind == types.Null {
			hint = out[i].Type()
		}
	}
	for i, e := range es {
		if p, ok := e.(*sql.Param); ok {
			var err error
			if out[i], err = s.bindParam(p, hint); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// bindParam binds placeholder n to its value in s.params, first typing a
// value of unknown type with hint (STRING without one, CHAR(n) widened).
func (s source) bindParam(n *sql.Param, hint types.DataType) (expr.Expr, error) {
	if n.Index < 1 || n.Index > len(s.params) {
		return nil, s.errAt(errs.UndefinedParam, n, "there is no parameter $%d", n.Index)
	}
	lit := s.params[n.Index-1]
	if lit.T.Kind == types.Null {
		switch {
		case hint.Kind == types.Null, hint.IsString():
			hint = types.StringType
		}
		lit.T = hint.WithTimeAttr(types.NoTimeAttr).WithNullable(true)
	}
	return &expr.Literal{Value: lit.Value, T: lit.T}, nil
}

func (s source) bindExprs(sc *scope, es []sql.Expr) ([]expr.Expr, error) {
	out := make([]expr.Expr, len(es))
	for i, e := range es {
		b, err := s.bindExpr(sc, e)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// call resolves a function or operator through the function registry and
// positions its error at n.
func (s source) call(n sql.Node, name string, args ...expr.Expr) (expr.Expr, error) {
	e, err := expr.Resolve(name, args)
	if err != nil {
		return nil, s.errAt(resolveErrorCode(err), n, "%v", err)
	}
	return e, nil
}

func (s source) bindCall(sc *scope, n *sql.FuncCall) (expr.Expr, error) {
	if n.Over != nil || n.OverName != "" || windowFunctions[n.Name] {
		return nil, s.errAt(errs.GroupingError, n, "window function %s is only allowed in the SELECT list", n.Name)
	}
	if agg.IsAggregate(n.Name) {
		if e, ok := outerAggregate(sc, n); ok {
			return e, nil
		}
		// A call naming columns this scope does not have may belong to an
		// enclosing grouped query (bind_outer_aggregate.go): say so as
		// for any outer column, which decorrelates the subquery.
		for _, a := range n.Args {
			if _, err := s.bindExpr(sc, a); namesOutside(err) {
				return nil, err
			}
		}
		return nil, s.errAt(errs.GroupingError, n, "aggregate function %s is not allowed here", n.Name)
	}
	if n.Distinct || n.Star || n.Filter != nil {
		return nil, s.errAt(errs.InvalidPlan, n, "DISTINCT, * and FILTER apply only to aggregate functions, not %s", n.Name)
	}
	args, err := s.bindExprs(sc, n.Args)
	if err != nil {
		// Flink validates the calls of a grouped query before it checks
		// that their columns are grouped: an unknown function is reported
		// as such, not as its argument's column not being grouped.
		if errs.Is(err, errs.GroupingError) && !expr.Lookup(n.Name) && !isPGObjectDef(n.Name) {
			return nil, s.errAt(errs.UndefinedFunction, n, "%v: %s", expr.ErrUnknownFunction, n.Name)
		}
		return nil, err
	}
	if n.Name == "TRIM" && len(args) == 3 {
		return s.bindTrim(n, args)
	}
	if e, ok, err := s.bindPGObjectDef(n, args); ok {
		return e, err
	}
	return s.call(n, n.Name, args...)
}

// bindTrim maps the parser's TRIM(mode, chars, s) onto the registry's
// TRIM/LTRIM/RTRIM(s, chars).
func (s source) bindTrim(n *sql.FuncCall, args []expr.Expr) (expr.Expr, error) {
	mode, ok := args[0].(*expr.Literal)
	if !ok {
		return nil, s.errAt(errs.InternalError, n, "TRIM mode is not a literal")
	}
	fn := map[string]string{"BOTH": "TRIM", "LEADING": "LTRIM", "TRAILING": "RTRIM"}[fmt.Sprint(mode.Value)]
	if fn == "" {
		return nil, s.errAt(errs.InternalError, n, "unknown TRIM mode %v", mode.Value)
	}
	return s.call(n, fn, args[2], args[1])
}

// bindCase rewrites a simple CASE into a searched one and resolves CASE with
// arguments cond1, result1, ..., [else].
func (s source) bindCase(sc *scope, n *sql.Case) (expr.Expr, error) {
	var operand expr.Expr
	if n.Operand != nil {
		var err error
		if operand, err = s.bindExpr(sc, n.Operand); err != nil {
			return nil, err
		}
	}
	var args []expr.Expr
	for _, w := range n.Whens {
		cond, err := s.bindExpr(sc, w.Cond)
		if err != nil {
			return nil, err
		}
		if operand != nil {
			if cond, err = s.call(w.Cond, "=", operand, cond); err != nil {
				return nil, err
			}
		}
		res, err := s.bindExpr(sc, w.Result)
		if err != nil {
			return nil, err
		}
		args = append(args, cond, res)
	}
	if n.Else != nil {
		e, err := s.bindExpr(sc, n.Else)
		if err != nil {
			return nil, err
		}
		args = append(args, e)
	}
	return s.call(n, "CASE", args...)
}

// bindLiteral types literals as Flink does: integers are INT, or BIGINT
// when they do not fit, or DECIMAL beyond that; numbers with a point are
// exact DECIMALs; strings are CHAR(n); all are NOT NULL except NULL.
func (s source) bindLiteral(n *sql.Literal) (expr.Expr, error) {
	lit := func(v any, t types.DataType) (expr.Expr, error) {
		return &expr.Literal{Value: v, T: t.WithNullable(false)}, nil
	}
	bad := func(what string) (expr.Expr, error) {
		return nil, s.errAt(errs.InvalidCast, n, "invalid %s literal '%s'", what, n.Text)
	}
	switch n.Kind {
	case sql.NullLit:
		return &expr.Literal{T: types.NullType}, nil
	case sql.BoolLit:
		return lit(strings.EqualFold(n.Text, "TRUE"), types.BooleanType)
	case sql.IntLit:
		v, err := strconv.ParseInt(n.Text, 10, 64)
		if err != nil {
			return s.decimalLiteral(n)
		}
		if v >= math.MinInt32 && v <= math.MaxInt32 {
			return lit(v, types.IntType)
		}
		return lit(v, types.BigIntType)
	case sql.DecimalLit:
		return s.decimalLiteral(n)
	case sql.FloatLit:
		v, err := strconv.ParseFloat(n.Text, 64)
		if err != nil {
			return bad("DOUBLE")
		}
		return lit(v, types.DoubleType)
	case sql.StringLit:
		return lit(n.Text, types.CharType(max(1, len([]rune(n.Text)))))
	case sql.BinaryLit:
		b, ok := new(big.Int).SetString("1"+n.Text, 16)
		if !ok || len(n.Text)%2 != 0 {
			return bad("binary")
		}
		return lit(b.Bytes()[1:], types.BinaryType(max(1, len(n.Text)/2)))
	case sql.DateLit:
		t, err := time.Parse("2006-01-02", n.Text)
		if err != nil {
			return bad("DATE")
		}
		return lit(int32(t.Unix()/86400), types.DateType)
	case sql.TimeLit:
		t, err := time.Parse("15:04:05.999999999", n.Text)
		if err != nil {
			return bad("TIME")
		}
		p := fractionDigits(n.Text)
		since := t.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))
		return lit(scaleNanos(since.Nanoseconds(), p), types.TimeType(p))
	case sql.TimestampLit:
		t, err := time.Parse("2006-01-02 15:04:05.999999999", n.Text)
		if err != nil {
			return bad("TIMESTAMP")
		}
		p := fractionDigits(n.Text)
		return lit(scaleNanos(t.UnixNano(), p), types.TimestampType(p))
	}
	return nil, s.errAt(errs.NotSupported, n, "literal %s is not supported", n)
}

func (s source) decimalLiteral(n *sql.Literal) (expr.Expr, error) {
	digits := strings.TrimLeft(strings.Replace(strings.TrimPrefix(n.Text, "-"), ".", "", 1), "0")
	scale := 0
	if i := strings.IndexByte(n.Text, '.'); i >= 0 {
		scale = len(n.Text) - i - 1
	}
	prec := max(len(digits), scale, 1)
	if prec > types.MaxDecimalPrecision {
		return nil, s.errAt(errs.NumericOutOfRange, n, "numeric literal '%s' is out of range", n.Text)
	}
	num, err := decimal128.FromString(n.Text, int32(prec), int32(scale))
	if err != nil {
		return nil, s.errAt(errs.InvalidCast, n, "invalid DECIMAL literal '%s'", n.Text)
	}
	return &expr.Literal{Value: num, T: types.DecimalType(prec, scale).WithNullable(false)}, nil
}

// fractionDigits is the number of fractional-second digits in a time text,
// which is the precision Flink gives the literal.
func fractionDigits(text string) int {
	i := strings.LastIndexByte(text, '.')
	if i < 0 {
		return 0
	}
	return len(text) - i - 1
}

// scaleNanos converts nanoseconds to the Arrow unit for precision p.
func scaleNanos(nanos int64, p int) int64 {
	return nanos / int64(types.TimeUnitFor(p).Multiplier())
}

// bindInterval types interval literals as Flink does: DAY-TIME intervals
// are millisecond counts, YEAR-MONTH intervals are month counts.
func (s source) bindInterval(n *sql.IntervalLit) (expr.Expr, error) {
	bad := func() (expr.Expr, error) {
		return nil, s.errAt(errs.InvalidCast, n, "invalid interval literal '%s' for %s", n.Value, intervalQualifier(n))
	}
	v := strings.TrimSpace(n.Value)
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(strings.TrimPrefix(v, "-"), "+")
	sign := int64(1)
	if neg {
		sign = -1
	}
	switch n.Unit {
	case "YEAR", "MONTH":
		var months int64
		switch {
		case n.Unit == "YEAR" && n.ToUnit == "MONTH":
			y, m, ok := strings.Cut(v, "-")
			yi, err1 := strconv.ParseInt(y, 10, 32)
			mi, err2 := strconv.ParseInt(m, 10, 32)
			if !ok || err1 != nil || err2 != nil || mi >= 12 {
				return bad()
			}
			months = yi*12 + mi
		case n.ToUnit == "":
			x, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return bad()
			}
			months = x
			if n.Unit == "YEAR" {
				months *= 12
			}
		default:
			return bad()
		}
		if months*sign > math.MaxInt32 || months*sign < math.MinInt32 {
			return bad()
		}
		return &expr.Literal{Value: int32(months * sign), T: types.IntervalYearMonthType().WithNullable(false)}, nil
	}
	ms, ok := parseDayTime(v, n.Unit, n.ToUnit)
	if !ok {
		return bad()
	}
	return &expr.Literal{Value: ms * sign, T: types.IntervalDayTimeType().WithNullable(false)}, nil
}

var unitMillis = map[string]float64{"DAY": 86400e3, "HOUR": 3600e3, "MINUTE": 60e3, "SECOND": 1e3}

// parseDayTime parses the text of a DAY-TIME interval with the given leading
// and trailing units ("1 10:30:00.5" for DAY TO SECOND) into milliseconds.
func parseDayTime(v, unit, to string) (int64, bool) {
	units := []string{"DAY", "HOUR", "MINUTE", "SECOND"}
	start, end := -1, -1
	for i, u := range units {
		if u == unit {
			start = i
		}
		if u == to {
			end = i
		}
	}
	if start < 0 {
		return 0, false
	}
	if to == "" {
		end = start
	}
	if end < start {
		return 0, false
	}
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ':' })
	if len(fields) != end-start+1 {
		return 0, false
	}
	var total float64
	for i, f := range fields {
		u := units[start+i]
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || (u != "SECOND" && strings.Contains(f, ".")) {
			return 0, false
		}
		total += x * unitMillis[u]
	}
	return int64(math.Round(total)), true
}

func intervalQualifier(n *sql.IntervalLit) string {
	if n.ToUnit != "" {
		return n.Unit + " TO " + n.ToUnit
	}
	return n.Unit
}

// fieldAccess applies nested field accesses (bid.price) to e.
func (s source) fieldAccess(n sql.Expr, e expr.Expr, fields []string) (expr.Expr, error) {
	for _, f := range fields {
		var err error
		name := &expr.Literal{Value: f, T: types.VarcharType(max(1, len(f))).WithNullable(false)}
		if e, err = s.call(n, "GET_FIELD", e, name); err != nil {
			return nil, err
		}
	}
	return e, nil
}
