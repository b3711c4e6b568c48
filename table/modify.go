package table

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/planner"
	"github.com/eddysql/eddy/sql"
)

// RowsAffectedColumn is the column of a DELETE's or UPDATE's result, as
// Flink's TableResult of a DELETE pushed into its connector names it.
const RowsAffectedColumn = "rows affected"

// pushedModification is a DELETE or UPDATE its connector has accepted to
// run itself: what runModification executes and EXPLAIN prints.
type pushedModification struct {
	m       *planner.RowLevelModification
	filters []connector.Predicate
	// deleter runs a DELETE, updater an UPDATE: the table's connector.
	deleter connector.SupportsDeletePushDown
	updater connector.SupportsUpdatePushDown
	// values is UPDATE's one-row batch of SET values (nil for DELETE);
	// the caller releases it.
	values arrow.RecordBatch
}

// release frees the SET values batch.
func (p *pushedModification) release() {
	if p.values != nil {
		p.values.Release()
	}
}

// planModification binds DELETE or UPDATE and offers it to its connector.
// Flink allows both in batch mode only; it runs a DELETE whose WHERE the
// table's sink accepts (SupportsDeletePushDown) in the client and every
// other one as a job into a sink implementing SupportsRowLevelDelete or
// SupportsRowLevelUpdate. Eddy has the push-down path only, for UPDATE too
// (connector.SupportsUpdatePushDown); a statement its connector cannot run
// fails with Flink's message for a sink without row-level support.
func (e *Environment) planModification(src string, stmt sql.Statement) (*pushedModification, error) {
	var m *planner.RowLevelModification
	var err error
	switch s := stmt.(type) {
	case *sql.Delete:
		m, err = e.planner.PlanDelete(src, s)
	case *sql.Update:
		m, err = e.planner.PlanUpdate(src, s)
	default:
		return nil, errs.Internalf("row-level modification of %T", stmt)
	}
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(e.Config()[RuntimeMode], "batch") {
		return nil, positioned(src, stmt, errs.New(errs.NotSupported, "%s statement is not supported for streaming mode now.", m.Kind))
	}
	filters, pushable := optimizer.ModificationPredicates(m.Condition)
	f, _ := connector.Lookup(m.Connector)
	if m.Kind == "DELETE" {
		d, ok := f.(connector.SupportsDeletePushDown)
		switch {
		case !ok:
			return nil, positioned(src, stmt, unsupportedModification(m, "does not implement SupportsDeletePushDown either"))
		case !pushable || !d.ApplyDeleteFilters(m.Info, filters):
			return nil, positioned(src, stmt, unsupportedModification(m, "cannot delete the rows of this WHERE clause itself (SupportsDeletePushDown takes comparisons of a column with a literal that it accepts)"))
		}
		return &pushedModification{m: m, filters: filters, deleter: d}, nil
	}
	u, ok := f.(connector.SupportsUpdatePushDown)
	if !ok {
		return nil, positioned(src, stmt, unsupportedModification(m, "does not implement Eddy's SupportsUpdatePushDown either"))
	}
	values, constant, err := e.updateValues(m)
	if err != nil {
		return nil, positioned(src, stmt, err)
	}
	if !constant || !pushable || !u.ApplyUpdate(m.Info, m.Columns, filters) {
		if values != nil {
			values.Release()
		}
		return nil, positioned(src, stmt, unsupportedModification(m, "cannot run this UPDATE itself (SupportsUpdatePushDown takes constant SET values and comparisons of a column with a literal that it accepts)"))
	}
	return &pushedModification{m: m, filters: filters, updater: u, values: values}, nil
}

// runModification runs DELETE or UPDATE through its connector, without a
// job (see planModification).
func (e *Environment) runModification(ctx context.Context, src string, stmt sql.Statement) (*TableResult, error) {
	pm, err := e.planModification(src, stmt)
	if err != nil {
		return nil, err
	}
	defer pm.release()
	m := pm.m
	var n int64
	if pm.deleter != nil {
		n, err = pm.deleter.ExecuteDeletion(ctx, m.Info, pm.filters)
	} else {
		n, err = pm.updater.ExecuteUpdate(ctx, m.Info, connector.UpdatePushDown{Columns: m.Columns, Values: pm.values, Filters: pm.filters})
	}
	if err != nil {
		var ee *errs.Error
		if errors.As(err, &ee) {
			return nil, err
		}
		return nil, errs.Wrap(errs.ConnectorFailure, err, "%s of table %s: %v", m.Kind, m.Path, err)
	}
	return rowsAffected(e, n), nil
}

// explainModification prints the plan of a DELETE or UPDATE in EXPLAIN's
// sections. Flink's abstract syntax tree of a DELETE is a LogicalTableModify
// over the filtered scan of its table; what runs is the statement pushed
// into the connector, Flink's DeleteFromFilter (Eddy's UpdateFromFilter for
// UPDATE), in the client and without a job, so the optimized and physical
// plans are that one node with the predicates and SET values the connector
// accepted. The checks are the ones running the statement makes, so EXPLAIN
// fails where running it would.
func (e *Environment) explainModification(src string, stmt sql.Statement) (string, error) {
	pm, err := e.planModification(src, stmt)
	if err != nil {
		return "", err
	}
	defer pm.release()
	m := pm.m
	schema := m.Info.Schema
	table := fmt.Sprintf("%s.%s.%s", m.Path.Catalog, m.Path.Database, m.Path.Name)
	var set []string
	for i, c := range m.Columns {
		set = append(set, schema.Columns[c].Name+" = "+m.Values[i].String())
	}
	var b strings.Builder
	b.WriteString("== Abstract Syntax Tree ==\n")
	fmt.Fprintf(&b, "TableModify(table=[%s], operation=[%s]", table, m.Kind)
	if len(set) > 0 {
		fmt.Fprintf(&b, ", set=[%s]", strings.Join(set, ", "))
	}
	b.WriteString(")\n")
	indent := "  "
	if m.Condition != nil {
		fmt.Fprintf(&b, "%s+- Filter(condition=[%s])\n", indent, m.Condition.String())
		indent += "  "
	}
	names := make([]string, len(schema.Columns))
	for i, c := range schema.Columns {
		names[i] = c.Name
	}
	fmt.Fprintf(&b, "%s+- TableSourceScan(table=[[%s, %s, %s]], fields=[%s])\n", indent, m.Path.Catalog, m.Path.Database, m.Path.Name, strings.Join(names, ", "))
	node := "DeleteFromFilter"
	if m.Kind == "UPDATE" {
		node = "UpdateFromFilter"
	}
	preds := make([]string, len(pm.filters))
	for i, f := range pm.filters {
		preds[i] = f.String(schema)
	}
	pushed := fmt.Sprintf("%s(table=[%s]", node, table)
	if pm.values != nil {
		// What the connector is handed: the SET values evaluated.
		vals := make([]string, len(m.Columns))
		for i, c := range m.Columns {
			vals[i] = schema.Columns[c].Name + " = " + setValueString(pm.values.Column(i))
		}
		pushed += fmt.Sprintf(", set=[%s]", strings.Join(vals, ", "))
	}
	pushed += fmt.Sprintf(", filters=[%s])", strings.Join(preds, ", "))
	b.WriteString("\n== Optimized Logical Plan ==\n" + pushed + "\n")
	fmt.Fprintf(&b, "\n== Physical Plan ==\n%s, connector=[%s], job=[none]\n", pushed, m.Connector)
	return b.String(), nil
}

// setValueString prints the one value of an evaluated SET column as a SQL
// literal: NULL, a quoted string, or the value as Arrow prints it.
func setValueString(a arrow.Array) string {
	switch {
	case a.IsNull(0):
		return "NULL"
	case a.DataType().ID() == arrow.STRING || a.DataType().ID() == arrow.LARGE_STRING:
		return "'" + strings.ReplaceAll(a.ValueStr(0), "'", "''") + "'"
	}
	return a.ValueStr(0)
}

// unsupportedModification is Flink's error for a DELETE or UPDATE of a
// table whose sink has no row-level support, with Eddy's reason.
func unsupportedModification(m *planner.RowLevelModification, reason string) error {
	iface := "SupportsRowLevelDelete"
	if m.Kind == "UPDATE" {
		iface = "SupportsRowLevelUpdate"
	}
	return errs.New(errs.NotSupported, "Can't perform %s operation of the table %s because the corresponding dynamic table sink has not yet implemented %s; connector '%s' %s",
		strings.ToLower(m.Kind), m.Info.Name, iface, m.Connector, reason)
}

// updateValues evaluates UPDATE's SET values into the one-row batch
// connector.UpdatePushDown carries. It reports false, without a batch,
// when a value is not constant (reads a column, or calls a
// non-deterministic function, which would differ from row to row), and
// fails when a constant NULL goes into a NOT NULL column, as Flink's sink
// NOT NULL enforcer does.
func (e *Environment) updateValues(m *planner.RowLevelModification) (arrow.RecordBatch, bool, error) {
	for _, v := range m.Values {
		if len(expr.InputColumns(v)) > 0 || !expr.IsDeterministic(v) {
			return nil, false, nil
		}
	}
	var schema types.Schema
	cols := make([]arrow.Array, 0, len(m.Values))
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	empty := array.NewRecordBatch(arrow.NewSchema(nil, nil), nil, 1)
	defer empty.Release()
	for i, v := range m.Values {
		col := m.Info.Schema.Columns[m.Columns[i]]
		ev, err := expr.Compile(v, e.mem)
		if err != nil {
			return nil, false, errs.Wrap(errs.DataException, err, "SET %s: %v", col.Name, err)
		}
		a, err := ev.Eval(empty)
		if err != nil {
			return nil, false, errs.Wrap(errs.DataException, err, "SET %s: %v", col.Name, err)
		}
		cols = append(cols, a)
		if a.IsNull(0) && !col.Type.Nullable() {
			return nil, false, errs.New(errs.NotNullViolation, "Column '%s' is NOT NULL, however, a null value is being written into it. You can set job configuration '%s'='%s' to suppress this exception and drop such records silently.",
				col.Name, exec.NotNullEnforcerKey, exec.EnforceDrop)
		}
		schema.Columns = append(schema.Columns, col)
	}
	return array.NewRecordBatch(schema.Arrow(), cols, 1), true, nil
}

// rowsAffected is the result of a DELETE or UPDATE that changed n rows.
func rowsAffected(e *Environment, n int64) *TableResult {
	schema := types.Schema{Columns: []types.Column{{Name: RowsAffectedColumn, Type: types.BigIntType}}}
	b := array.NewInt64Builder(e.mem)
	defer b.Release()
	b.Append(n)
	a := b.NewArray()
	defer a.Release()
	return &TableResult{Kind: SuccessWithContent, Schema: schema, RowsAffected: n,
		static: []arrow.RecordBatch{array.NewRecordBatch(schema.Arrow(), []arrow.Array{a}, 1)}}
}
