package table

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
	"github.com/eddysql/eddy/sql"
)

// syncPlannerMode gives the planner the session's runtime mode before a
// Table operation binds anything (scans of unbounded tables are errors in
// batch mode; ORDER BY plans differ).
func (e *Environment) syncPlannerMode() {
	e.planner.Batch = strings.EqualFold(e.Config()[RuntimeMode], "batch")
	e.planner.NonTemporalSort = strings.EqualFold(e.Config()[planner.NonTemporalSortKey], "true")
}

// SQLQuery plans a SELECT query into a Table, which Table operations can
// extend. Errors (syntax, unknown names) come back from the Table's
// terminal operations, positioned in query.
func (e *Environment) SQLQuery(query string) *Table {
	stmt, err := sql.ParseStatement(query)
	if err != nil {
		return e.newTable(nil, err)
	}
	q, ok := stmt.(*sql.QueryStatement)
	if !ok {
		return e.newTable(nil, errs.New(errs.WrongObjectType, "SQLQuery takes a query, not %T; run other statements with ExecuteSQL", stmt))
	}
	e.syncPlannerMode()
	root, err := e.planner.PlanQuery(query, q.Query)
	if err != nil {
		return e.newTable(nil, err)
	}
	return e.newTable(root.(*planner.Collect).Input, nil)
}

// From reads a catalog table or view by name ("orders", "db.orders",
// "cat.db.orders"), as FROM name in SQL.
func (e *Environment) From(path string) *Table {
	e.syncPlannerMode()
	n, err := e.planner.PlanTable(splitPath(path))
	return e.newTable(n, opError("From", err))
}

func splitPath(path string) []string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(p, "`")
	}
	return parts
}

// FromValues makes a constant table of rows; each row lists Go values or
// constant Expressions. Columns are named f0, f1, ... (rename with As) and
// typed as SQL VALUES types them: each column gets the common type of its
// values.
func (e *Environment) FromValues(rows ...[]any) *Table {
	var out types.Schema
	lits := make([][]*expr.Literal, len(rows))
	for ri, row := range rows {
		if ri > 0 && len(row) != len(rows[0]) {
			return e.newTable(nil, errs.New(errs.DatatypeMismatch, "FromValues: rows have different numbers of columns"))
		}
		lits[ri] = make([]*expr.Literal, len(row))
		for i, v := range row {
			x := toExpr(v)
			r, err := (&scope{}).resolve(x)
			if err == nil {
				r, err = expr.Fold(r)
			}
			if err != nil {
				return e.newTable(nil, opError("FromValues", err))
			}
			lit, ok := r.(*expr.Literal)
			if !ok {
				return e.newTable(nil, opError("FromValues", exprError(errs.NotSupported, x, "FromValues accepts only constants")))
			}
			lits[ri][i] = lit
			if ri == 0 {
				out.Columns = append(out.Columns, types.Column{Name: fmt.Sprintf("f%d", i), Type: lit.T})
				continue
			}
			t, ok := types.CommonType(out.Columns[i].Type, lit.T)
			if !ok {
				return e.newTable(nil, opError("FromValues", exprError(errs.DatatypeMismatch, x, "column %d mixes types %s and %s", i, out.Columns[i].Type, lit.T)))
			}
			out.Columns[i].Type = t
		}
	}
	for _, row := range lits {
		for i, l := range row {
			if l.T.Equal(out.Columns[i].Type) {
				continue
			}
			c, err := expr.NewCast(l, out.Columns[i].Type, false)
			if err == nil {
				c, err = expr.Fold(c)
			}
			if err != nil {
				return e.newTable(nil, errs.New(errs.DatatypeMismatch, "FromValues: %v", err))
			}
			row[i] = c.(*expr.Literal)
		}
	}
	return e.newTable(&planner.Values{Rows: lits, Out: out}, nil)
}

// FromSlice makes a constant table of a slice of structs: one column per
// exported field, named by its `eddy:"name"` tag or the field name
// (`eddy:"-"` skips a field). Go types map to SQL types: int64 and int
// BIGINT, int32 INT, int16 SMALLINT, int8 TINYINT, float64 DOUBLE, float32
// FLOAT, string STRING, bool BOOLEAN, time.Time TIMESTAMP(3), []byte BYTES,
// time.Duration INTERVAL DAY TO SECOND; fields are NOT NULL, pointer
// fields nullable. The rows become a VALUES plan, so FromSlice suits
// modest amounts of data.
func (e *Environment) FromSlice(slice any) *Table {
	v := reflect.ValueOf(slice)
	if v.Kind() != reflect.Slice {
		return e.newTable(nil, errs.New(errs.DatatypeMismatch, "FromSlice takes a slice of structs, not %T", slice))
	}
	st := v.Type().Elem()
	ptrElem := st.Kind() == reflect.Pointer
	if ptrElem {
		st = st.Elem()
	}
	fields, err := structColumns(st)
	if err != nil {
		return e.newTable(nil, opError("FromSlice", err))
	}
	var out types.Schema
	for _, f := range fields {
		out.Columns = append(out.Columns, types.Column{Name: f.name, Type: f.typ})
	}
	rows := make([][]*expr.Literal, v.Len())
	for i := range rows {
		sv := v.Index(i)
		if ptrElem {
			if sv.IsNil() {
				return e.newTable(nil, errs.New(errs.DatatypeMismatch, "FromSlice: element %d is nil", i))
			}
			sv = sv.Elem()
		}
		row := make([]*expr.Literal, len(fields))
		for j, f := range fields {
			row[j] = &expr.Literal{Value: literalValue(sv.FieldByIndex(f.index)), T: f.typ}
			if row[j].Value == nil {
				row[j].T = f.typ.WithNullable(true)
			}
		}
		rows[i] = row
	}
	return e.newTable(&planner.Values{Rows: rows, Out: out}, nil)
}

// structField is a struct field mapped to a column.
type structField struct {
	name  string
	index []int
	typ   types.DataType
}

var (
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
	bytesType    = reflect.TypeOf([]byte(nil))
)

// goSQLType maps a Go type to its SQL type (pointers: nullable).
func goSQLType(t reflect.Type) (types.DataType, bool) {
	nullable := false
	if t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	var dt types.DataType
	switch {
	case t == timeType:
		dt = types.TimestampType(3)
	case t == durationType:
		dt = types.IntervalDayTimeType()
	case t == bytesType:
		dt = types.BytesType
	default:
		switch t.Kind() {
		case reflect.Int64, reflect.Int:
			dt = types.BigIntType
		case reflect.Int32:
			dt = types.IntType
		case reflect.Int16:
			dt = types.SmallIntType
		case reflect.Int8:
			dt = types.TinyIntType
		case reflect.Float64:
			dt = types.DoubleType
		case reflect.Float32:
			dt = types.FloatType
		case reflect.String:
			dt = types.StringType
		case reflect.Bool:
			dt = types.BooleanType
		default:
			return dt, false
		}
	}
	return dt.WithNullable(nullable), true
}

// structColumns lists the columns of a struct type, by tag or name.
func structColumns(st reflect.Type) ([]structField, error) {
	if st.Kind() != reflect.Struct {
		return nil, errs.New(errs.DatatypeMismatch, "%s is not a struct", st)
	}
	var out []structField
	for _, f := range reflect.VisibleFields(st) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("eddy"); ok {
			if tag == "-" {
				continue
			}
			name = tag
		}
		dt, ok := goSQLType(f.Type)
		if !ok {
			return nil, errs.New(errs.DatatypeMismatch, "field %s has Go type %s, which has no SQL type", f.Name, f.Type)
		}
		out = append(out, structField{name: name, index: f.Index, typ: dt})
	}
	return out, nil
}

// literalValue is the Literal representation of a field's value.
func literalValue(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Type() {
	case timeType:
		return v.Interface().(time.Time).UnixMilli()
	case durationType:
		return v.Interface().(time.Duration).Milliseconds()
	case bytesType:
		return append([]byte(nil), v.Bytes()...)
	}
	switch v.Kind() {
	case reflect.Int64, reflect.Int, reflect.Int32, reflect.Int16, reflect.Int8:
		return v.Int()
	case reflect.Float64, reflect.Float32:
		return v.Float()
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	}
	return nil
}

// CreateTemporaryView registers t under name so SQL (and From) can read
// it. The view keeps t's plan, a catalog.View whose Plan the planner
// expands in place of query text; like every temporary object it lives as
// long as the session.
func (e *Environment) CreateTemporaryView(name string, t *Table) error {
	if err := t.Err(); err != nil {
		return err
	}
	path, err := e.catalog.Qualify(splitPath(name))
	if err != nil {
		return err
	}
	v := &catalog.View{
		Query:   "-- a view built with the Go Table API; its plan:\n" + planner.Explain(t.node, false),
		Columns: t.node.Schema(),
		Plan:    t.node,
	}
	return e.catalog.Create(path, v, true, false)
}

// TableDescriptor describes a connector-backed table for CreateTable: a
// builder of what CREATE TABLE declares.
type TableDescriptor struct {
	connector string
	columns   []string
	watermark string
	pk        []string
	options   map[string]string
	comment   string
}

// NewTableDescriptor starts a descriptor for a connector ('connector'
// option).
func NewTableDescriptor(connector string) *TableDescriptor {
	return &TableDescriptor{connector: connector, options: map[string]string{}}
}

// ColumnSpec is one column of a descriptor's schema.
type ColumnSpec struct{ ddl string }

// Column is a physical column; typ is a SQL type ("BIGINT",
// "TIMESTAMP(3)") or a types.DataType.
func Column(name string, typ any) ColumnSpec {
	var t string
	switch x := typ.(type) {
	case types.DataType:
		t = x.String()
	default:
		t = fmt.Sprint(x)
	}
	return ColumnSpec{ddl: quoteIdent(name) + " " + t}
}

// ComputedColumn is a column computed by a SQL expression over the
// physical columns (`name AS expr`).
func ComputedColumn(name, sqlExpr string) ColumnSpec {
	return ColumnSpec{ddl: quoteIdent(name) + " AS " + sqlExpr}
}

// Schema sets the columns.
func (d *TableDescriptor) Schema(cols ...ColumnSpec) *TableDescriptor {
	for _, c := range cols {
		d.columns = append(d.columns, c.ddl)
	}
	return d
}

// Option sets a connector option.
func (d *TableDescriptor) Option(key, value string) *TableDescriptor {
	d.options[key] = value
	return d
}

// Watermark declares col the rowtime attribute, bounded by the SQL
// expression ("ts - INTERVAL '5' SECOND").
func (d *TableDescriptor) Watermark(col, sqlExpr string) *TableDescriptor {
	d.watermark = "WATERMARK FOR " + quoteIdent(col) + " AS " + sqlExpr
	return d
}

// PrimaryKey declares the primary key (NOT ENFORCED, as in Flink).
func (d *TableDescriptor) PrimaryKey(cols ...string) *TableDescriptor {
	d.pk = cols
	return d
}

// Comment sets the table's comment.
func (d *TableDescriptor) Comment(c string) *TableDescriptor { d.comment = c; return d }

// DDL is the CREATE TABLE statement the descriptor stands for.
func (d *TableDescriptor) DDL(name string, temporary bool) string {
	var b strings.Builder
	b.WriteString("CREATE ")
	if temporary {
		b.WriteString("TEMPORARY ")
	}
	b.WriteString("TABLE " + name + " (\n  ")
	lines := append([]string(nil), d.columns...)
	if d.watermark != "" {
		lines = append(lines, d.watermark)
	}
	if len(d.pk) > 0 {
		q := make([]string, len(d.pk))
		for i, k := range d.pk {
			q[i] = quoteIdent(k)
		}
		lines = append(lines, "PRIMARY KEY ("+strings.Join(q, ", ")+") NOT ENFORCED")
	}
	b.WriteString(strings.Join(lines, ",\n  "))
	b.WriteString("\n)")
	if d.comment != "" {
		b.WriteString(" COMMENT " + quoteString(d.comment))
	}
	opts := map[string]string{"connector": d.connector}
	for k, v := range d.options {
		opts[k] = v
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString(" WITH (\n")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  " + quoteString(k) + " = " + quoteString(opts[k]))
	}
	b.WriteString("\n)")
	return b.String()
}

func quoteIdent(s string) string  { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// CreateTable creates a catalog table from a descriptor, as CREATE TABLE
// name (...) WITH (...) does; name may be qualified.
func (e *Environment) CreateTable(name string, d *TableDescriptor) error {
	return e.createTable(name, d, false)
}

// CreateTemporaryTable creates a temporary table from a descriptor.
func (e *Environment) CreateTemporaryTable(name string, d *TableDescriptor) error {
	return e.createTable(name, d, true)
}

func (e *Environment) createTable(name string, d *TableDescriptor, temporary bool) error {
	return e.runDescriptorDDL(name, temporary, d.DDL)
}

// runDescriptorDDL runs the DDL a descriptor writes (ddl) for name, whose
// parts it quotes.
func (e *Environment) runDescriptorDDL(name string, temporary bool, ddl func(name string, temporary bool) string) error {
	parts := splitPath(name)
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = quoteIdent(p)
	}
	r, err := e.ExecuteSQL(context.Background(), ddl(strings.Join(q, "."), temporary))
	if err != nil {
		return err
	}
	r.Close()
	return nil
}
