package expr

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
)

// Expr is a resolved, typed scalar expression over the columns of one input
// batch. It is an immutable value: three node kinds cover everything, as in
// Calcite's RexNode — a column reference, a literal, and a call of a named
// function or operator. Operators such as AND, =, CASE, IN, LIKE, IS NULL and
// CAST are calls too, so planning, folding, printing and serialization treat
// them uniformly; only the function registry knows what each one computes.
type Expr interface {
	// Type is the result type of the expression.
	Type() types.DataType
	// String prints the expression for EXPLAIN: columns as $i or their name.
	String() string
	exprNode()
}

// ColumnRef reads column Index of the input batch.
type ColumnRef struct {
	Index int
	// Name is the column's name, kept for EXPLAIN output only.
	Name string
	T    types.DataType
}

// Literal is a constant. Value holds the Arrow physical representation of T:
// nil for NULL, bool, int64 for every integer kind, float64 for FLOAT and
// DOUBLE, decimal128.Num (scaled by T.Scale) for DECIMAL, string for
// CHAR/VARCHAR, []byte for binary types, int32 days for DATE, int64 in the
// type's Arrow unit for TIME, TIMESTAMP and TIMESTAMP_LTZ, int64 milliseconds
// for DAY-TIME intervals and int32 months for YEAR-MONTH intervals.
type Literal struct {
	Value any
	T     types.DataType
}

// Call applies the registered function or operator Func (Flink's name,
// upper-case, e.g. "UPPER", "+", "=", "AND", "CASE", "CAST", "TRY_CAST") to
// Args. T is the resolved result type; for CAST and TRY_CAST it is the
// target type. Args are already implicitly cast to the types the function's
// kernel expects (see Resolve).
type Call struct {
	Func string
	Args []Expr
	T    types.DataType
}

var (
	_ Expr = (*ColumnRef)(nil)
	_ Expr = (*Literal)(nil)
	_ Expr = (*Call)(nil)
)

func (*ColumnRef) exprNode() {}
func (*Literal) exprNode()   {}
func (*Call) exprNode()      {}

func (c *ColumnRef) Type() types.DataType { return c.T }
func (l *Literal) Type() types.DataType   { return l.T }
func (c *Call) Type() types.DataType      { return c.T }

func (c *ColumnRef) String() string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("$%d", c.Index)
}

func (l *Literal) String() string { return FormatLiteral(l) }

func (c *Call) String() string {
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = a.String()
	}
	if isInfix(c.Func) && len(args) == 2 {
		return "(" + args[0] + " " + c.Func + " " + args[1] + ")"
	}
	switch c.Func {
	case "CAST", "TRY_CAST":
		return fmt.Sprintf("%s(%s AS %s)", c.Func, args[0], c.T.WithTimeAttr(types.NoTimeAttr))
	case "NOT":
		return "NOT(" + args[0] + ")"
	case "ARRAY", "MAP":
		return c.Func + "[" + strings.Join(args, ", ") + "]"
	case "ITEM":
		return args[0] + "[" + args[1] + "]"
	case "IS NULL", "IS NOT NULL", "IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE":
		return "(" + args[0] + " " + c.Func + ")"
	}
	return c.Func + "(" + strings.Join(args, ", ") + ")"
}

func isInfix(fn string) bool {
	switch fn {
	case "+", "-", "*", "/", "%", "||", "=", "<>", "<", "<=", ">", ">=", "AND", "OR", "LIKE", "NOT LIKE":
		return true
	}
	return false
}

// Walk calls fn for e and every sub-expression, parents first, stopping a
// branch when fn returns false.
func Walk(e Expr, fn func(Expr) bool) {
	if !fn(e) {
		return
	}
	if c, ok := e.(*Call); ok {
		for _, a := range c.Args {
			Walk(a, fn)
		}
	}
}

// Rewrite rebuilds e bottom-up, replacing each node by fn's result.
func Rewrite(e Expr, fn func(Expr) Expr) Expr {
	if c, ok := e.(*Call); ok {
		args := make([]Expr, len(c.Args))
		for i, a := range c.Args {
			args[i] = Rewrite(a, fn)
		}
		e = &Call{Func: c.Func, Args: args, T: c.T}
	}
	return fn(e)
}

// InputColumns returns the distinct column indexes e reads, in first-use order.
func InputColumns(e Expr) []int {
	var cols []int
	seen := map[int]bool{}
	Walk(e, func(n Expr) bool {
		if c, ok := n.(*ColumnRef); ok && !seen[c.Index] {
			seen[c.Index] = true
			cols = append(cols, c.Index)
		}
		return true
	})
	return cols
}

// jsonExpr is the serialized form used in task descriptors.
type jsonExpr struct {
	Col  *int              `json:"col,omitempty"`
	Name string            `json:"name,omitempty"`
	Lit  json.RawMessage   `json:"lit,omitempty"`
	Null bool              `json:"null,omitempty"`
	Func string            `json:"func,omitempty"`
	Args []json.RawMessage `json:"args,omitempty"`
	Type types.DataType    `json:"type"`
}

// Marshal serializes an expression for a task descriptor.
func Marshal(e Expr) (json.RawMessage, error) {
	var j jsonExpr
	switch n := e.(type) {
	case *ColumnRef:
		idx := n.Index
		j = jsonExpr{Col: &idx, Name: n.Name, Type: n.T}
	case *Literal:
		j = jsonExpr{Type: n.T}
		if n.Value == nil {
			j.Null = true
		} else {
			raw, err := marshalValue(n)
			if err != nil {
				return nil, err
			}
			j.Lit = raw
		}
	case *Call:
		j = jsonExpr{Func: n.Func, Type: n.T}
		for _, a := range n.Args {
			raw, err := Marshal(a)
			if err != nil {
				return nil, err
			}
			j.Args = append(j.Args, raw)
		}
	default:
		return nil, fmt.Errorf("expr: cannot marshal %T", e)
	}
	return json.Marshal(j)
}

// Unmarshal is the inverse of Marshal.
func Unmarshal(data []byte) (Expr, error) {
	var j jsonExpr
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("expr: %w", err)
	}
	switch {
	case j.Col != nil:
		return &ColumnRef{Index: *j.Col, Name: j.Name, T: j.Type}, nil
	case j.Func != "":
		c := &Call{Func: j.Func, T: j.Type}
		for _, raw := range j.Args {
			a, err := Unmarshal(raw)
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, a)
		}
		return c, nil
	case j.Null:
		return &Literal{T: j.Type}, nil
	default:
		return unmarshalValue(j.Lit, j.Type)
	}
}
