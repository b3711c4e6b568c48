package planner

import (
	"slices"
	"strings"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// ptfArgs matches the arguments of a process table function call to its
// parameters (upper-case names in Flink's positional order): positional
// arguments take the parameters in order, named ones (name => value) the
// parameter they name. A parameter given twice, or one the function does
// not have, is an error.
func (b *binder) ptfArgs(f *sql.TableFunctionRef, params []string) (map[string]sql.TableFuncArg, error) {
	args := map[string]sql.TableFuncArg{}
	for i, a := range f.Args {
		name := a.Name
		if name == "" {
			if i >= len(params) {
				return nil, b.errAt(errs.DatatypeMismatch, f, "%s takes at most %d arguments", f.Name, len(params))
			}
			name = params[i]
		}
		if !contains(params, name) {
			return nil, b.errAt(errs.DatatypeMismatch, f, "%s has no argument '%s'", f.Name, strings.ToLower(name))
		}
		if _, dup := args[name]; dup {
			return nil, b.errAt(errs.DatatypeMismatch, f, "argument '%s' of %s is given twice", strings.ToLower(name), f.Name)
		}
		args[name] = a
	}
	return args, nil
}

// bindTableArg binds a table argument, TABLE name or TABLE (query), with
// the input columns its PARTITION BY names.
func (b *binder) bindTableArg(f *sql.TableFunctionRef, a sql.TableFuncArg, param string) (Node, []int, error) {
	var input Node
	var err error
	switch {
	case a.Table != nil:
		input, err = b.bindTableRef(&sql.TableRef{Pos: a.Pos, Name: *a.Table})
	case a.Query != nil:
		input, err = b.bindQuery(a.Query)
	default:
		return nil, nil, b.errAt(errs.DatatypeMismatch, f, "argument '%s' of %s must be a table: TABLE name", strings.ToLower(param), f.Name)
	}
	if err != nil {
		return nil, nil, err
	}
	in := input.Schema()
	var partition []int
	for _, p := range a.PartitionBy {
		id, ok := p.(*sql.Ident)
		if !ok || len(id.Parts) != 1 || in.Index(id.Parts[0]) < 0 {
			return nil, nil, b.errAt(errs.UndefinedColumn, p, "PARTITION BY of %s must name columns of its table", f.Name)
		}
		if slices.Contains(partition, in.Index(id.Parts[0])) {
			return nil, nil, b.errAt(errs.DuplicateColumn, p, "PARTITION BY of %s lists column '%s' twice", f.Name, id.Parts[0])
		}
		partition = append(partition, in.Index(id.Parts[0]))
	}
	return input, partition, nil
}

// stringMapArg reads a constant MAP['k', 'v', ...] argument of string
// literals, keeping its entries in the order written.
func (b *binder) stringMapArg(f *sql.TableFunctionRef, a sql.TableFuncArg, param string) (keys, values []string, err error) {
	m, ok := a.Expr.(*sql.MapCtor)
	if !ok {
		return nil, nil, b.errAt(errs.DatatypeMismatch, f, "The '%s' argument must be a constant MAP literal.", param)
	}
	lit := func(e sql.Expr) (string, bool) {
		if l, ok := e.(*sql.Literal); ok && l.Kind == sql.StringLit {
			return l.Text, true
		}
		return "", false
	}
	for i, k := range m.Keys {
		ks, ok1 := lit(k)
		vs, ok2 := lit(m.Values[i])
		if !ok1 || !ok2 {
			return nil, nil, b.errAt(errs.DatatypeMismatch, f, "The '%s' argument must be a constant MAP literal of strings.", param)
		}
		keys, values = append(keys, ks), append(values, vs)
	}
	return keys, values, nil
}

// literalArg reads a constant argument of the given literal kind.
func (b *binder) literalArg(f *sql.TableFunctionRef, a sql.TableFuncArg, param string, kind sql.LiteralKind, typeName string) (string, error) {
	if l, ok := a.Expr.(*sql.Literal); ok && l.Kind == kind {
		return l.Text, nil
	}
	return "", b.errAt(errs.DatatypeMismatch, f, "The '%s' argument must be a constant %s literal.", param, typeName)
}
