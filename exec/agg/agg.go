// Package agg holds Eddy's aggregate functions: their signatures (which
// argument types each accepts and what it returns, following Flink) and
// their vectorized accumulators with retraction, used by the group and
// window aggregate operators, and the window functions computed over
// whole sorted partitions in batch mode (EvalSorted).
package agg

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
)

// Call is one aggregate call of an aggregate operator, over columns of the
// operator's input.
type Call struct {
	// Func is the upper-case Flink name: COUNT, SUM, AVG, MIN, MAX,
	// FIRST_VALUE, LAST_VALUE, LISTAGG, STDDEV_POP, STDDEV_SAMP, STDDEV,
	// VAR_POP, VAR_SAMP, VARIANCE, ARRAY_AGG, COLLECT, PERCENTILE,
	// APPROX_COUNT_DISTINCT, or Flink's internal names
	// of the JSON aggregates (JSON_ARRAYAGG_ABSENT_ON_NULL, ...).
	Func string `json:"func"`
	// Args are input column indexes; COUNT(*) has none. LISTAGG's optional
	// separator is the second argument and must be a constant column.
	Args []int `json:"args,omitempty"`
	// Distinct aggregates each distinct argument value once.
	Distinct bool `json:"distinct,omitempty"`
	// Filter is the input column of a FILTER (WHERE ...) condition, or -1.
	Filter int `json:"filter"`
	// Type is the result type.
	Type types.DataType `json:"type"`
	// Name is the output column's name, for EXPLAIN.
	Name string `json:"name"`
}

// String prints the call the way EXPLAIN shows it, e.g. COUNT(DISTINCT $1).
func (c Call) String() string {
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = fmt.Sprintf("$%d", a)
	}
	s := c.Func + "("
	if c.Distinct {
		s += "DISTINCT "
	}
	if len(args) == 0 && c.Func == "COUNT" {
		s += "*"
	}
	s += strings.Join(args, ", ") + ")"
	if c.Filter >= 0 {
		s += fmt.Sprintf(" FILTER $%d", c.Filter)
	}
	return s
}

type signature struct {
	minArgs, maxArgs int
	result           func(args []types.DataType) (types.DataType, error)
}

var signatures = map[string]signature{
	"COUNT":       {0, 1, func([]types.DataType) (types.DataType, error) { return types.BigIntType.WithNullable(false), nil }},
	"SUM":         {1, 1, sumType},
	"AVG":         {1, 1, avgType},
	"MIN":         {1, 1, sameType},
	"MAX":         {1, 1, sameType},
	"FIRST_VALUE": {1, 1, sameType},
	"LAST_VALUE":  {1, 1, sameType},
	"LISTAGG":     {1, 2, listaggType},
	"ARRAY_AGG":   {1, 1, arrayAggType},
	// STRING_AGG(value, separator) is PostgreSQL's LISTAGG, whose
	// separator is not optional (psql's describe queries call it).
	"STRING_AGG":  {2, 2, listaggType},
	"STDDEV_POP":  {1, 1, avgType},
	"STDDEV_SAMP": {1, 1, avgType},
	"STDDEV":      {1, 1, avgType},
	"VAR_POP":     {1, 1, avgType},
	"VAR_SAMP":    {1, 1, avgType},
	"VARIANCE":    {1, 1, avgType},
}

// IsAggregate reports whether name is an aggregate function.
func IsAggregate(name string) bool {
	if _, ok := signatures[strings.ToUpper(name)]; ok {
		return true
	}
	_, ok := User(name)
	return ok
}

// Names lists the aggregate functions, sorted.
func Names() []string {
	names := make([]string, 0, len(signatures))
	for n := range signatures {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ResultType derives an aggregate's result type from its argument types,
// as Flink does: COUNT is BIGINT NOT NULL; SUM keeps integer and
// approximate types and widens DECIMAL to precision 38; AVG and the
// variance family keep the argument's type (integer AVG is integer, as in
// Flink); everything but COUNT is nullable, since a group may have no
// non-NULL value.
func ResultType(name string, args []types.DataType) (types.DataType, error) {
	sig, ok := signatures[strings.ToUpper(name)]
	if !ok {
		sig, ok = overOnly[strings.ToUpper(name)]
	}
	if !ok {
		if f, user := User(name); user {
			return f.ResultType(args)
		}
		return types.DataType{}, fmt.Errorf("unknown aggregate function %s", name)
	}
	if len(args) < sig.minArgs || len(args) > sig.maxArgs {
		return types.DataType{}, fmt.Errorf("aggregate %s expects %d to %d arguments, got %d", name, sig.minArgs, sig.maxArgs, len(args))
	}
	return sig.result(args)
}

func sumType(args []types.DataType) (types.DataType, error) {
	t := args[0]
	switch {
	case t.Kind == types.Decimal:
		return types.DecimalType(types.MaxDecimalPrecision, t.Scale), nil
	case t.IsNumeric():
		return types.DataType{Kind: t.Kind}, nil
	}
	return types.DataType{}, fmt.Errorf("SUM does not accept %s", t)
}

func avgType(args []types.DataType) (types.DataType, error) {
	t := args[0]
	switch {
	case t.Kind == types.Decimal:
		return types.DecimalType(types.MaxDecimalPrecision, max(6, t.Scale)), nil
	case t.IsNumeric():
		return types.DataType{Kind: t.Kind}, nil
	}
	return types.DataType{}, fmt.Errorf("aggregate does not accept %s", t)
}

func sameType(args []types.DataType) (types.DataType, error) {
	t := args[0]
	if t.Kind == types.Array || t.Kind == types.Map || t.Kind == types.Multiset || t.Kind == types.Row {
		return types.DataType{}, fmt.Errorf("aggregate does not accept %s", t)
	}
	return t.WithNullable(true).WithTimeAttr(types.NoTimeAttr), nil
}

func listaggType(args []types.DataType) (types.DataType, error) {
	for _, a := range args {
		if !a.IsString() {
			return types.DataType{}, fmt.Errorf("LISTAGG expects strings, got %s", a)
		}
	}
	return types.StringType, nil
}
