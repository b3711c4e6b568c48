package expr

import (
	"fmt"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// UserFunction is a scalar function registered at run time (a Go UDF of
// the Table API's Environment.CreateFunction). Calls resolve like the
// built-in fixed-signature functions: each argument is implicitly cast to
// its parameter's type family (any CHAR/VARCHAR for a string parameter,
// any integer for an integer one, any numeric for DOUBLE), and the result
// is nullable iff an argument is, unless NullableResult.
//
// User functions live in one process-wide registry next to the built-in
// ones, because TaskManagers compile expressions by function name: the
// embedded TaskManagers share the process, so they see every registered
// function. A remote TaskManager would have to run a binary that registers
// the same functions at start-up.
type UserFunction struct {
	// Name is the SQL name; lookups are case-insensitive.
	Name   string
	Params []types.DataType
	Result types.DataType
	// NullableResult makes the result nullable even for non-NULL arguments
	// (a Go function returning a pointer may return nil).
	NullableResult bool
	// Nondeterministic functions are never constant-folded at plan time.
	Nondeterministic bool
	// Eval computes the function over n rows: args[i] holds the values of
	// parameter i as Params[i].Arrow() arrays (literals broadcast). It
	// returns a new array of Result.Arrow() allocated from mem, owned by the
	// caller; it must not retain or release args. It is called from many
	// subtasks at once and must be safe for concurrent use.
	Eval func(args []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error)
}

var users = struct {
	sync.RWMutex
	defs map[string]*funcDef
}{defs: map[string]*funcDef{}}

// RegisterUserFunction adds f to the registry, replacing a user function
// of the same name (plans already compiled keep the old one). It fails for
// the name of a built-in function.
func RegisterUserFunction(f UserFunction) error {
	name := strings.ToUpper(f.Name)
	if name == "" || f.Eval == nil {
		return fmt.Errorf("a user function needs a name and an Eval")
	}
	if _, builtin := registry[name]; builtin {
		return fmt.Errorf("function %s is built in and cannot be replaced", name)
	}
	for _, p := range append([]types.DataType{f.Result}, f.Params...) {
		if p.Kind == types.Null {
			return fmt.Errorf("function %s: NULL is not a parameter or result type", name)
		}
	}
	params := append([]types.DataType(nil), f.Params...)
	eval := f.Eval
	sig := fixedSig(f.Result, f.NullableResult, params...)
	d := &funcDef{
		name:             name,
		nondeterministic: f.Nondeterministic,
		// A Go function may fail on any input: evaluate it lazily under
		// CASE, AND and OR like division.
		mayFail: true,
		resolve: sig,
		compile: func(c *compiler, call *Call) (Evaluator, error) {
			mem := c.mem
			return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
				out, err := eval(args, n, mem)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
				if out.Len() != n {
					out.Release()
					return nil, fmt.Errorf("%s returned %d values for %d rows", name, out.Len(), n)
				}
				return out, nil
			})
		},
	}
	users.Lock()
	defer users.Unlock()
	users.defs[name] = d
	return nil
}

// DropUserFunction removes a user function; it reports whether one existed.
func DropUserFunction(name string) bool {
	users.Lock()
	defer users.Unlock()
	n := strings.ToUpper(name)
	_, ok := users.defs[n]
	delete(users.defs, n)
	return ok
}

// IsUserFunction reports whether name is a function registered with
// RegisterUserFunction. Such a function exists in this process only, so a
// job calling it cannot run on a remote cluster.
func IsUserFunction(name string) bool { return lookupUser(strings.ToUpper(name)) != nil }

func lookupUser(name string) *funcDef {
	users.RLock()
	defer users.RUnlock()
	return users.defs[name]
}

func userNames() []string {
	users.RLock()
	defer users.RUnlock()
	names := make([]string, 0, len(users.defs))
	for n := range users.defs {
		names = append(names, n)
	}
	return names
}
