package planner

import (
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// changelogParams are the parameters of Flink's built-in changelog process
// table functions, in positional order.
var changelogParams = map[string][]string{
	"TO_CHANGELOG":   {"INPUT", "OP", "OP_MAPPING", "PRODUCES_FULL_DELETES"},
	"FROM_CHANGELOG": {"INPUT", "OP", "OP_MAPPING", "ERROR_HANDLING"},
}

// validRowKindNames is how Flink lists the names op_mapping accepts.
const validRowKindNames = "[INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE]"

func rowKindOf(name string) (connector.RowKind, bool) {
	i := slices.Index(RowKindNames[:], name)
	return connector.RowKind(i), i >= 0
}

// bindChangelogFunction plans TO_CHANGELOG(input => TABLE t [PARTITION BY
// k], op => DESCRIPTOR(c), op_mapping => MAP[...], ...) and FROM_CHANGELOG
// likewise. Error messages follow Flink's type strategies for the two
// functions.
func (b *binder) bindChangelogFunction(f *sql.TableFunctionRef) (Node, error) {
	args, err := b.ptfArgs(f, changelogParams[f.Name])
	if err != nil {
		return nil, err
	}
	in, ok := args["INPUT"]
	if !ok {
		return nil, b.errAt(errs.DatatypeMismatch, f, "First argument must be a table for %s.", f.Name)
	}
	input, partition, err := b.bindTableArg(f, in, "INPUT")
	if err != nil {
		return nil, err
	}
	op := "op"
	if a, ok := args["OP"]; ok {
		if len(a.Descriptor) != 1 {
			return nil, b.errAt(errs.DatatypeMismatch, f, "The descriptor for argument 'op' must contain exactly one column name.")
		}
		op = a.Descriptor[0]
	}
	if f.Name == "TO_CHANGELOG" {
		return b.bindToChangelog(f, args, input, partition, op)
	}
	return b.bindFromChangelog(f, args, input, partition, op)
}

func (b *binder) bindToChangelog(f *sql.TableFunctionRef, args map[string]sql.TableFuncArg, input Node, partition []int, op string) (Node, error) {
	t := &ToChangelog{Input: input, Partition: partition, Op: op}
	if a, ok := args["OP_MAPPING"]; ok {
		keys, values, err := b.stringMapArg(f, a, "op_mapping")
		if err != nil {
			return nil, err
		}
		// A key may name several change operations: 'INSERT, UPDATE_AFTER'.
		for i, key := range keys {
			for _, name := range strings.Split(key, ",") {
				name = strings.TrimSpace(name)
				k, ok := rowKindOf(name)
				if !ok {
					return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid target mapping for argument 'op_mapping'. Unknown change operation: '%s'. Operations are case-sensitive. Valid values are: %s.", name, validRowKindNames)
				}
				if t.Mapped[k] {
					return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid target mapping for argument 'op_mapping'. Duplicate change operation: '%s'.", name)
				}
				t.Codes[k], t.Mapped[k] = values[i], true
			}
		}
	} else {
		for k, name := range RowKindNames {
			t.Codes[k], t.Mapped[k] = name, true
		}
	}
	if a, ok := args["PRODUCES_FULL_DELETES"]; ok {
		v, err := b.literalArg(f, a, "produces_full_deletes", sql.BoolLit, "BOOLEAN")
		if err != nil {
			return nil, err
		}
		t.PartialDeletes = strings.EqualFold(v, "FALSE")
	}
	if t.PartialDeletes {
		// A partial delete keeps what identifies the row: the partition
		// columns and the input's upsert key.
		key := upsertKey(input)
		if len(partition) == 0 && len(key) == 0 {
			return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid 'produces_full_deletes=false' for TO_CHANGELOG: the input has no upsert key and the call has no PARTITION BY, so the function has no identifying columns to preserve on DELETE rows. Remove the argument (the default emits full DELETE rows) or add a PARTITION BY.")
		}
		t.Keep = append(append([]int(nil), partition...), key...)
		slices.Sort(t.Keep)
		t.Keep = slices.Compact(t.Keep)
	}
	if input.Schema().Index(op) >= 0 {
		return nil, b.errAt(errs.DuplicateColumn, f, "The op column '%s' of TO_CHANGELOG clashes with a column of the input table; name it with op => DESCRIPTOR(name).", op)
	}
	return t, nil
}

func (b *binder) bindFromChangelog(f *sql.TableFunctionRef, args map[string]sql.TableFuncArg, input Node, partition []int, op string) (Node, error) {
	if input.Changelog() != InsertOnly {
		return nil, b.errAt(errs.DatatypeMismatch, f, "The input table of FROM_CHANGELOG must be append-only, but it produces updates (changelog mode [%s]).", input.Changelog())
	}
	in := input.Schema()
	opCol := in.Index(op)
	if opCol < 0 {
		return nil, b.errAt(errs.UndefinedColumn, f, "The op column '%s' does not exist in the input schema.", op)
	}
	if t := in.Columns[opCol].Type; t.Kind != types.Char && t.Kind != types.Varchar {
		return nil, b.errAt(errs.DatatypeMismatch, f, "The op column '%s' must be of STRING type, but was '%s'.", op, t)
	}
	if slices.Contains(partition, opCol) {
		return nil, b.errAt(errs.DatatypeMismatch, f, "The op column '%s' of FROM_CHANGELOG cannot be a PARTITION BY column.", op)
	}
	fc := &FromChangelog{Input: input, Partition: partition, OpCol: opCol, Kinds: map[string]connector.RowKind{}}
	var mapped [4]bool
	if a, ok := args["OP_MAPPING"]; ok {
		keys, values, err := b.stringMapArg(f, a, "op_mapping")
		if err != nil {
			return nil, err
		}
		for i, key := range keys {
			name := strings.TrimSpace(values[i])
			k, ok := rowKindOf(name)
			if !ok {
				return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid target mapping for argument 'op_mapping'. Unknown change operation: '%s'. Valid values are: %s.", name, validRowKindNames)
			}
			if mapped[k] {
				return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid target mapping for argument 'op_mapping'. Duplicate change operation: '%s'. Use comma-separated keys to map multiple codes to the same operation (e.g., MAP['c, r', 'INSERT']).", name)
			}
			mapped[k] = true
			// A key may list several codes: 'c, r'.
			for _, code := range strings.Split(key, ",") {
				code = strings.TrimSpace(code)
				if _, dup := fc.Kinds[code]; dup {
					return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid source mapping for argument 'op_mapping'. Duplicate op code: '%s'.", code)
				}
				fc.Kinds[code] = k
			}
		}
		if mapped[connector.UpdateAfter] && !mapped[connector.UpdateBefore] {
			if len(partition) == 0 {
				return nil, b.errAt(errs.DatatypeMismatch, f, "An 'op_mapping' that produces UPDATE_AFTER without UPDATE_BEFORE describes an upsert changelog and requires a key. Add PARTITION BY to the input table to define the upsert key, or include UPDATE_BEFORE in the mapping for retract semantics.")
			}
			fc.Upsert = true
		}
	} else {
		for k, name := range RowKindNames {
			fc.Kinds[name] = connector.RowKind(k)
		}
	}
	if a, ok := args["ERROR_HANDLING"]; ok {
		v, err := b.literalArg(f, a, "error_handling", sql.StringLit, "STRING")
		if err != nil {
			return nil, err
		}
		switch v {
		case "FAIL":
		case "SKIP":
			fc.SkipInvalid = true
		default:
			return nil, b.errAt(errs.DatatypeMismatch, f, "Invalid value for argument 'error_handling': '%s'. Valid values are: [FAIL, SKIP].", v)
		}
	}
	return fc, nil
}

// upsertKey returns the input columns that identify a row of n's
// changelog, as far as the binder knows them: a table's primary key,
// carried through projections, filters and watermark assigners. nil when
// unknown.
func upsertKey(n Node) []int {
	switch x := n.(type) {
	case *Scan:
		out := x.Schema()
		var key []int
		for _, k := range x.Table.PrimaryKey {
			i := out.Index(k)
			if i < 0 {
				return nil
			}
			key = append(key, i)
		}
		return key
	case *WatermarkAssigner:
		return upsertKey(x.Input)
	case *Filter:
		return upsertKey(x.Input)
	case *Project:
		inKey := upsertKey(x.Input)
		var key []int
		for _, k := range inKey {
			i := slices.IndexFunc(x.Exprs, func(e expr.Expr) bool {
				c, ok := e.(*expr.ColumnRef)
				return ok && c.Index == k
			})
			if i < 0 {
				return nil
			}
			key = append(key, i)
		}
		return key
	}
	return nil
}

// isChangelogFunction reports whether a FROM item calls TO_CHANGELOG or
// FROM_CHANGELOG.
func isChangelogFunction(name string) bool {
	_, ok := changelogParams[name]
	return ok
}
