package planner

import (
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// vectorSearchParams are the parameters of Flink's VECTOR_SEARCH, in
// positional order.
var vectorSearchParams = []string{"SEARCH_TABLE", "COLUMN_TO_SEARCH", "COLUMN_TO_QUERY", "TOP_K", "CONFIG"}

// isVectorSearch reports whether a FROM item is LATERAL
// TABLE(VECTOR_SEARCH(...)).
func isVectorSearch(t sql.TableExpr) bool {
	fn, ok := t.(*sql.TableFunctionRef)
	return ok && fn.Lateral && fn.Name == "VECTOR_SEARCH"
}

// bindVectorSearchJoin plans input, LATERAL TABLE(VECTOR_SEARCH(TABLE t,
// DESCRIPTOR(c), q, k [, config])) [AS alias [(cols)]]: a comma, CROSS
// JOIN or INNER JOIN ... ON TRUE. The scope is the input's columns followed
// by t's and score, qualified by the alias.
func (b *binder) bindVectorSearchJoin(n *sql.Join) (Node, *scope, error) {
	fn := n.Right.(*sql.TableFunctionRef)
	if n.Kind != sql.CrossJoin && n.Kind != sql.InnerJoin || len(n.Using) > 0 {
		return nil, nil, b.errAt(errs.NotSupported, n, "VECTOR_SEARCH is only supported as a comma, CROSS JOIN or INNER JOIN ... ON TRUE, not %s JOIN", n.Kind)
	}
	left, ls, err := b.bindFrom(n.Left)
	if err != nil {
		return nil, nil, err
	}
	vs, err := b.bindVectorSearch(fn, left, ls)
	if err != nil {
		return nil, nil, err
	}
	out := vs.Schema()
	names := out.Names()[len(ls.cols):]
	if len(fn.ColumnAliases) > 0 {
		if len(fn.ColumnAliases) != len(names) {
			return nil, nil, b.errAt(errs.DatatypeMismatch, fn, "%d column aliases given for the %d columns of VECTOR_SEARCH", len(fn.ColumnAliases), len(names))
		}
		names = fn.ColumnAliases
	}
	sc := &scope{cols: append([]scopeColumn(nil), ls.cols...)}
	for i, name := range names {
		sc.cols = append(sc.cols, scopeColumn{qualifier: fn.Alias, name: name, typ: out.Columns[len(ls.cols)+i].Type})
	}
	if n.On != nil {
		cond, err := b.bindExpr(sc, n.On)
		if err != nil {
			return nil, nil, err
		}
		folded, err := expr.Fold(cond)
		if lit, ok := folded.(*expr.Literal); err != nil || !ok || lit.Value != true {
			return nil, nil, b.errAt(errs.NotSupported, n.On, "a join with VECTOR_SEARCH needs the condition ON TRUE")
		}
	}
	return vs, sc, nil
}

// bindVectorSearch checks VECTOR_SEARCH's arguments, as Flink's
// SqlVectorSearchTableFunction: the search table is a table of a
// connector that supports vector search, the searched column and the
// query vector are ARRAY<FLOAT> or ARRAY<DOUBLE>, top k is a positive
// integer literal and the config a MAP of string literals.
func (b *binder) bindVectorSearch(fn *sql.TableFunctionRef, left Node, ls *scope) (*VectorSearch, error) {
	if left.Changelog() != InsertOnly {
		return nil, b.errAt(errs.NotSupported, fn, "VECTOR_SEARCH needs an insert-only input, not an updating one")
	}
	args, err := b.ptfArgs(fn, vectorSearchParams)
	if err != nil {
		return nil, err
	}
	for _, p := range vectorSearchParams[:4] {
		if _, ok := args[p]; !ok {
			return nil, b.errAt(errs.DatatypeMismatch, fn, "VECTOR_SEARCH needs the argument '%s'", strings.ToLower(p))
		}
	}
	table := args["SEARCH_TABLE"]
	if table.Table == nil {
		return nil, b.errAt(errs.DatatypeMismatch, fn, "the argument 'search_table' of VECTOR_SEARCH must be a table: TABLE name")
	}
	search, _, err := b.bindTableArg(fn, table, "SEARCH_TABLE")
	if err != nil {
		return nil, err
	}
	if search.Changelog() != InsertOnly {
		return nil, b.errAt(errs.NotSupported, fn, "the search table of VECTOR_SEARCH must be insert-only, not an updating table")
	}
	scan := scanUnder(search)
	if scan == nil {
		return nil, b.errAt(errs.WrongObjectType, fn, "the search table of VECTOR_SEARCH must be a table, not a view")
	}

	desc := args["COLUMN_TO_SEARCH"].Descriptor
	if len(desc) != 1 {
		return nil, b.errAt(errs.DatatypeMismatch, fn, "the argument 'column_to_search' of VECTOR_SEARCH must be a DESCRIPTOR of one column")
	}
	ss := search.Schema()
	col := ss.Index(desc[0])
	if col < 0 {
		return nil, b.errAt(errs.UndefinedColumn, fn, "unknown column '%s' of the search table of VECTOR_SEARCH", desc[0])
	}
	if !isVector(ss.Columns[col].Type) {
		return nil, b.errAt(errs.DatatypeMismatch, fn, "the searched column '%s' of VECTOR_SEARCH must be ARRAY<FLOAT> or ARRAY<DOUBLE>, not %s", desc[0], ss.Columns[col].Type)
	}

	qarg := args["COLUMN_TO_QUERY"]
	if qarg.Expr == nil {
		return nil, b.errAt(errs.DatatypeMismatch, fn, "the argument 'column_to_query' of VECTOR_SEARCH must be an expression")
	}
	query, err := b.bindExpr(ls, qarg.Expr)
	if err != nil {
		return nil, err
	}
	if !isVector(query.Type()) {
		return nil, b.errAt(errs.DatatypeMismatch, qarg.Expr, "the query vector of VECTOR_SEARCH must be ARRAY<FLOAT> or ARRAY<DOUBLE>, not %s", query.Type())
	}

	k, err := b.literalArg(fn, args["TOP_K"], "top_k", sql.IntLit, "INT")
	if err != nil {
		return nil, err
	}
	topK, err := strconv.Atoi(k)
	if err != nil || topK <= 0 {
		return nil, b.errAt(errs.InvalidOption, fn, "the argument 'top_k' of VECTOR_SEARCH must be a positive INT, not %s", k)
	}

	vs := &VectorSearch{Input: left, Search: search, Table: scan.Path.Catalog + "." + scan.Path.Database + "." + scan.Path.Name, SearchColumn: col, Query: query, TopK: topK}
	if a, ok := args["CONFIG"]; ok {
		if vs.ConfigKeys, vs.ConfigValues, err = b.stringMapArg(fn, a, "config"); err != nil {
			return nil, err
		}
		if err := b.checkVectorSearchConfig(fn, vs.ConfigKeys, vs.ConfigValues); err != nil {
			return nil, err
		}
	}
	// As in Flink, the connector's capability is checked after the
	// arguments (Flink's planner finds the VectorSearchTableSource once the
	// call has been validated).
	f, _ := connector.Lookup(scan.Table.Options["connector"])
	vsf, ok := f.(connector.SupportsVectorSearch)
	if !ok {
		return nil, b.errAt(errs.NotSupported, fn, "table %s does not support vector search: connector '%s' cannot search vectors", scan.Path, scan.Table.Options["connector"])
	}
	if err := vsf.SupportsVectorSearch(scan.Table); err != nil {
		return nil, b.errAt(errs.NotSupported, fn, "%v", err)
	}
	return vs, nil
}

// checkVectorSearchConfig checks the runtime options Flink reads itself
// (VectorSearchRuntimeConfigOptions). They choose between the connector's
// sync and async search and tune the async one; Eddy searches in the
// operator, so they do not change what it does. Other keys are the
// connector's, which Flink passes on unchecked.
func (b *binder) checkVectorSearchConfig(fn *sql.TableFunctionRef, keys, values []string) error {
	for i, k := range keys {
		v := values[i]
		var ok bool
		switch k {
		case "async":
			ok = strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
		case "max-concurrent-operations":
			n, err := strconv.Atoi(v)
			ok = err == nil && n > 0
		case "output-mode":
			ok = strings.EqualFold(v, "ORDERED") || strings.EqualFold(v, "ALLOW_UNORDERED")
		default:
			ok = true
		}
		if !ok {
			return b.errAt(errs.InvalidOption, fn, "invalid value '%s' for the VECTOR_SEARCH config option '%s'", v, k)
		}
	}
	return nil
}

// isVector reports whether t is ARRAY<FLOAT> or ARRAY<DOUBLE>.
func isVector(t types.DataType) bool {
	return t.Kind == types.Array && (t.Elem.Kind == types.Float || t.Elem.Kind == types.Double)
}

// scanUnder finds the scan of a catalog table under the nodes the binder
// plans over it (computed columns, watermark); nil for a view or query.
func scanUnder(n Node) *Scan {
	for {
		switch x := n.(type) {
		case *Scan:
			return x
		case *Project, *Calc, *Filter, *WatermarkAssigner:
			n = x.Children()[0]
		default:
			return nil
		}
	}
}
