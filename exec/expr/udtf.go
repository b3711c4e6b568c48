package expr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// TableFunction is a user-defined table function registered at run time
// (Flink's TableFunction, from the Table API's Environment.CreateFunction):
// each input row yields zero or more rows of Columns. SQL calls it in FROM
// as LATERAL TABLE(f(args)), which the binder plans as a Correlate.
//
// A call resolves like a UserFunction's (arguments implicitly cast to the
// parameters' type families) and has type ARRAY<ROW<Columns...> NOT NULL>
// NOT NULL: the rows of each input row as one collection, which the
// correlate operator unnests exactly as it unnests an UNNEST's array. Such
// a call is only valid as a Correlate's argument; Resolve refuses it
// elsewhere.
type TableFunction struct {
	// Name is the SQL name; lookups are case-insensitive.
	Name    string
	Params  []types.DataType
	Columns []types.Field
	// Nondeterministic functions are never constant-folded. Over an
	// updating input the correlate recomputes a retracted row's rows, which
	// matches the rows first produced only for deterministic functions.
	Nondeterministic bool
	// Eval computes the rows of n input rows at once: args[i] holds the
	// values of parameter i as Params[i].Arrow() arrays of n values
	// (literals broadcast). It returns one array per column, of
	// Columns[i].Type.Arrow() and of equal length m, and parent, m indexes
	// in [0, n), non-decreasing: parent[k] is the input row of output row
	// k. The arrays are allocated from mem and owned by the caller; parent
	// is only read during the call. Eval must not retain or release args
	// and must be safe for concurrent use.
	Eval func(args []arrow.Array, n int, mem memory.Allocator) (cols []arrow.Array, parent []int32, err error)
}

// ErrNotTableFunction is returned by ResolveTableFunction for a function
// that exists but is not a table function.
var ErrNotTableFunction = errors.New("not a table function")

// ErrTableFunctionCall is returned by Resolve for a call of a table
// function outside FROM.
var ErrTableFunctionCall = errors.New("a table function")

// RegisterTableFunction adds f to the registry of user functions,
// replacing a user function of the same name (plans already compiled keep
// the old one). It fails for the name of a built-in function.
func RegisterTableFunction(f TableFunction) error {
	name := strings.ToUpper(f.Name)
	if name == "" || f.Eval == nil {
		return fmt.Errorf("a table function needs a name and an Eval")
	}
	if _, builtin := registry[name]; builtin {
		return fmt.Errorf("function %s is built in and cannot be replaced", name)
	}
	if len(f.Columns) == 0 {
		return fmt.Errorf("table function %s needs at least one column", name)
	}
	for _, p := range f.Params {
		if p.Kind == types.Null {
			return fmt.Errorf("function %s: NULL is not a parameter type", name)
		}
	}
	cols := append([]types.Field(nil), f.Columns...)
	for _, c := range cols {
		if c.Name == "" || c.Type.Kind == types.Null {
			return fmt.Errorf("table function %s: every column needs a name and a type", name)
		}
	}
	params := append([]types.DataType(nil), f.Params...)
	rowsType := types.ArrayType(types.RowType(cols...).WithNullable(false)).WithNullable(false)
	eval := f.Eval
	d := &funcDef{
		name:             name,
		table:            true,
		nondeterministic: f.Nondeterministic,
		mayFail:          true,
		resolve: func(name string, args []Expr) (Expr, error) {
			if err := arity(name, args, len(params), len(params)); err != nil {
				return nil, err
			}
			out, err := coerceParams(name, args, params)
			if err != nil {
				return nil, err
			}
			return &Call{Func: name, Args: out, T: rowsType}, nil
		},
		compile: func(c *compiler, call *Call) (Evaluator, error) {
			mem := c.mem
			dt := call.T.Arrow().(*arrow.ListType)
			return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
				out, parent, err := eval(args, n, mem)
				if err != nil {
					releaseAll(out)
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				return tableRows(name, dt, out, parent, n, mem)
			})
		},
	}
	users.Lock()
	defer users.Unlock()
	users.defs[name] = d
	return nil
}

// tableRows checks a table function's output and wraps it, without copying
// the columns, as a list of n rows (one per input row) over a struct of
// the columns: the offsets count the output rows of each parent. It takes
// over cols.
func tableRows(name string, dt *arrow.ListType, cols []arrow.Array, parent []int32, n int, mem memory.Allocator) (arrow.Array, error) {
	defer releaseAll(cols)
	st := dt.Elem().(*arrow.StructType)
	if len(cols) != st.NumFields() {
		return nil, fmt.Errorf("%s returned %d columns, not %d", name, len(cols), st.NumFields())
	}
	m := len(parent)
	for i, col := range cols {
		if col == nil || !arrow.TypeEqual(col.DataType(), st.Field(i).Type) {
			return nil, fmt.Errorf("%s: column %s is not of Arrow type %s", name, st.Field(i).Name, st.Field(i).Type)
		}
		if col.Len() != m {
			return nil, fmt.Errorf("%s returned %d values in column %s for %d rows", name, col.Len(), st.Field(i).Name, m)
		}
		// Operators above trust a NOT NULL column's type and may read
		// its values without looking at a validity bitmap.
		if !st.Field(i).Nullable && col.NullN() > 0 {
			return nil, fmt.Errorf("%s returned NULL in column %s, declared NOT NULL", name, st.Field(i).Name)
		}
	}
	offBuf, offs := fixedOut[int32](mem, n+1)
	defer offBuf.Release()
	k := 0
	for i := 0; i < n; i++ {
		offs[i] = int32(k)
		for k < m && parent[k] == int32(i) {
			k++
		}
	}
	if k != m {
		// Rows left over: an index out of range or out of order.
		return nil, fmt.Errorf("%s: parent[%d] = %d is not a non-decreasing input row index below %d", name, k, parent[k], n)
	}
	offs[n] = int32(m)
	children := make([]arrow.ArrayData, len(cols))
	for i, col := range cols {
		children[i] = col.Data()
	}
	values := array.NewData(st, m, []*memory.Buffer{nil}, children, 0, 0)
	defer values.Release()
	data := array.NewData(dt, n, []*memory.Buffer{nil, offBuf}, []arrow.ArrayData{values}, 0, 0)
	defer data.Release()
	return array.MakeFromData(data), nil
}

// ResolveTableFunction resolves a call of a table function, as Resolve
// does a scalar one: the result's type is the ARRAY<ROW> of its rows.
func ResolveTableFunction(name string, args []Expr) (Expr, error) {
	d := lookup(name)
	switch {
	case d == nil || d.resolve == nil:
		return nil, fmt.Errorf("%w: %s", ErrUnknownFunction, name)
	case !d.table:
		return nil, fmt.Errorf("%s is %w; LATERAL TABLE needs one", d.name, ErrNotTableFunction)
	}
	return d.resolve(d.name, args)
}

// IsTableFunction reports whether name is a table function registered
// with RegisterTableFunction.
func IsTableFunction(name string) bool {
	d := lookupUser(strings.ToUpper(name))
	return d != nil && d.table
}
