package planner

import (
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// This file plans ALTER TABLE's changes to a table's definition, with the
// checks of Flink's AlterSchemaConverter: a column added twice, modified
// or dropped without existing, a primary key or watermark added twice,
// a column dropped or renamed while a key, a computed column or the
// watermark still refers to it. RENAME TO, which only renames, is the
// catalog's.

// AlterTable returns the definition of table old at path after ALTER
// TABLE's action s.Action, validated as CREATE TABLE validates.
func (p *Planner) AlterTable(src string, s *sql.AlterTable, path catalog.Path, old *catalog.Table) (*catalog.Table, error) {
	b := p.binder(src)
	t := copyTable(old)
	var err error
	switch a := s.Action.(type) {
	case *sql.AlterTableSchema:
		err = b.alterSchema(path, t, a)
	case *sql.AlterTableDrop:
		err = b.alterDrop(path, t, a)
	case *sql.AlterTableRenameColumn:
		err = b.alterRenameColumn(path, t, a)
	case *sql.AlterTableSet:
		for _, o := range a.Options {
			t.Options[o.Key] = o.Value
		}
	case *sql.AlterTableReset:
		for _, k := range a.Keys {
			if k.Key == "connector" {
				return nil, b.errAt(errs.InvalidOption, posNode(k.Pos), "ALTER TABLE RESET does not support changing 'connector'")
			}
			delete(t.Options, k.Key)
		}
	default:
		return nil, b.errAt(errs.NotSupported, s, "ALTER TABLE %T is not supported", s.Action)
	}
	if err != nil {
		return nil, err
	}
	if err := b.rebindTable(path, t); err != nil {
		// A stored computed column or watermark that no longer binds
		// over the changed columns: the error is the ALTER's, whatever
		// position it had in the stored text.
		if e, ok := err.(*errs.Error); ok {
			return nil, b.errAt(e.Code, s.Action, "%s", e.Msg)
		}
		return nil, err
	}
	if err := b.validateTable(path, t, s.Name); err != nil {
		return nil, err
	}
	return t, nil
}

func copyTable(t *catalog.Table) *catalog.Table {
	c := *t
	c.Columns = slices.Clone(t.Columns)
	c.PrimaryKey = slices.Clone(t.PrimaryKey)
	c.PartitionKeys = slices.Clone(t.PartitionKeys)
	c.Options = make(map[string]string, len(t.Options))
	for k, v := range t.Options {
		c.Options[k] = v
	}
	if t.Watermark != nil {
		w := *t.Watermark
		c.Watermark = &w
	}
	if t.Distribution != nil {
		d := *t.Distribution
		d.Keys = slices.Clone(d.Keys)
		c.Distribution = &d
	}
	return &c
}

// alterSchema applies ADD or MODIFY.
func (b *binder) alterSchema(path catalog.Path, t *catalog.Table, a *sql.AlterTableSchema) error {
	if d := a.Distribution; d != nil {
		switch {
		case !a.Modify && t.Distribution != nil:
			return b.errAt(errs.InvalidPlan, d, "the table has already defined a distribution; you might want to modify it or drop it before adding a new one")
		case a.Modify && t.Distribution == nil:
			return b.errAt(errs.InvalidPlan, d, "the table does not define any distribution; you might want to add a new one")
		}
		return b.setDistribution(t, d)
	}
	for _, ac := range a.Columns {
		c := ac.Def
		col, err := b.columnDef(c)
		if err != nil {
			return err
		}
		i := columnIndex(t.Columns, c.Name)
		switch {
		case !a.Modify && i >= 0:
			return b.errAt(errs.DuplicateColumn, c, "try to add a column '%s' which already exists in the table", c.Name)
		case a.Modify && i < 0:
			return b.errAt(errs.UndefinedColumn, c, "try to modify a column '%s' which does not exist in the table", c.Name)
		case a.Modify:
			if t.Columns[i].Type.TimeAttr == types.RowtimeAttr {
				col.Type = col.Type.WithTimeAttr(types.RowtimeAttr)
			}
			t.Columns[i] = col
			if !ac.First && ac.After.Name == "" {
				continue
			}
			t.Columns = slices.Delete(t.Columns, i, i+1)
		}
		at := len(t.Columns)
		switch {
		case ac.First:
			at = 0
		case ac.After.Name != "":
			j := columnIndex(t.Columns, ac.After.Name)
			if j < 0 {
				return b.errAt(errs.UndefinedColumn, ac.After, "referenced column '%s' by 'AFTER' does not exist in the table", ac.After.Name)
			}
			at = j + 1
		}
		t.Columns = slices.Insert(t.Columns, at, col)
	}
	// New and modified computed columns are bound here for errors at
	// their text; rebindTable then types every computed column over the
	// new physical columns.
	phys := newScope("", t.PhysicalSchema())
	for _, ac := range a.Columns {
		if ac.Def.Kind == sql.ComputedColumn {
			if _, err := b.bindExpr(phys, ac.Def.Expr); err != nil {
				return err
			}
		}
	}
	if a.PrimaryKey != nil {
		pos := posNode(a.PrimaryKeyPos)
		switch {
		case !a.Modify && t.PrimaryKey != nil:
			return b.errAt(errs.InvalidPlan, pos, "the table has already defined the primary key constraint (%s); you might want to drop it before adding a new one",
				strings.Join(t.PrimaryKey, ", "))
		case a.Modify && t.PrimaryKey == nil:
			return b.errAt(errs.InvalidPlan, pos, "the table does not define any primary key constraint; you might want to add a new one")
		}
		for _, k := range a.PrimaryKey {
			i := columnIndex(t.Columns, k)
			if i < 0 {
				return b.errAt(errs.UndefinedColumn, pos, "primary key column '%s' is not a column of the table", k)
			}
			if t.Columns[i].Kind != catalog.Physical {
				return b.errAt(errs.InvalidPlan, pos, "primary key column '%s' must be a physical column", k)
			}
		}
		t.PrimaryKey = a.PrimaryKey
	}
	if w := a.Watermark; w != nil {
		switch {
		case !a.Modify && t.Watermark != nil:
			return b.errAt(errs.InvalidPlan, w, "the table has already defined the watermark strategy '%s' AS %s; you might want to drop it before adding a new one",
				t.Watermark.Column, t.Watermark.Expr)
		case a.Modify && t.Watermark == nil:
			return b.errAt(errs.InvalidPlan, w, "the table does not define any watermark; you might want to add a new one")
		}
		if err := b.rebindComputed(path, t); err != nil {
			return err
		}
		clearRowtime(t)
		return b.bindWatermark(t, w)
	}
	return nil
}

// alterDrop applies DROP of columns, the primary key, the watermark or the
// distribution.
func (b *binder) alterDrop(path catalog.Path, t *catalog.Table, a *sql.AlterTableDrop) error {
	switch {
	case a.PrimaryKey:
		if t.PrimaryKey == nil {
			return b.errAt(errs.UndefinedObject, a, "the table does not define any primary key")
		}
		t.PrimaryKey = nil
		return nil
	case a.Distribution:
		if t.Distribution == nil {
			return b.errAt(errs.UndefinedObject, a, "the table does not define any distribution")
		}
		t.Distribution = nil
		return nil
	case a.Constraint != "":
		return b.errAt(errs.NotSupported, a, "constraint names are not kept; use ALTER TABLE ... DROP PRIMARY KEY")
	case a.Watermark:
		if t.Watermark == nil {
			return b.errAt(errs.UndefinedObject, a, "the table does not define any watermark strategy")
		}
		clearRowtime(t)
		return nil
	}
	dropped := map[string]bool{}
	for _, c := range a.Columns {
		if dropped[c.Name] {
			return b.errAt(errs.DuplicateColumn, c, "the column '%s' is dropped twice", c.Name)
		}
		dropped[c.Name] = true
	}
	for _, c := range a.Columns {
		if columnIndex(t.Columns, c.Name) < 0 {
			return b.errAt(errs.UndefinedColumn, c, "the column '%s' does not exist in the table", c.Name)
		}
		if err := b.checkUnreferenced(path, t, c, dropped); err != nil {
			return err
		}
	}
	for _, c := range a.Columns {
		t.Columns = slices.Delete(t.Columns, columnIndex(t.Columns, c.Name), columnIndex(t.Columns, c.Name)+1)
	}
	if len(t.Columns) == 0 {
		return b.errAt(errs.InvalidPlan, a, "a table must keep at least one column")
	}
	return nil
}

// alterRenameColumn applies RENAME old TO new. Keys follow the column;
// computed columns and the watermark, stored as SQL text, would not, so
// Flink refuses to rename a column they read.
func (b *binder) alterRenameColumn(path catalog.Path, t *catalog.Table, a *sql.AlterTableRenameColumn) error {
	i := columnIndex(t.Columns, a.Old.Name)
	if i < 0 {
		return b.errAt(errs.UndefinedColumn, a.Old, "the column '%s' does not exist in the table", a.Old.Name)
	}
	if columnIndex(t.Columns, a.New.Name) >= 0 {
		return b.errAt(errs.DuplicateColumn, a.New, "the column '%s' already exists in the table", a.New.Name)
	}
	if err := b.checkUnreferenced(path, t, a.Old, nil); err != nil {
		return err
	}
	t.Columns[i].Name = a.New.Name
	rename := func(keys []string) {
		for j, k := range keys {
			if k == a.Old.Name {
				keys[j] = a.New.Name
			}
		}
	}
	rename(t.PrimaryKey)
	rename(t.PartitionKeys)
	if t.Distribution != nil {
		rename(t.Distribution.Keys)
	}
	return nil
}

// checkUnreferenced refuses to drop (dropped: the columns dropped
// together) or rename (dropped nil) column c while the watermark or a
// computed column not dropped with it reads it; dropping a key column is
// refused as well.
func (b *binder) checkUnreferenced(path catalog.Path, t *catalog.Table, c sql.ColumnName, dropped map[string]bool) error {
	verb := "rename"
	if dropped != nil {
		verb = "drop"
		if slices.Contains(t.PrimaryKey, c.Name) {
			return b.errAt(errs.DependentObjects, c, "the column '%s' is used as the primary key", c.Name)
		}
		if slices.Contains(t.PartitionKeys, c.Name) {
			return b.errAt(errs.DependentObjects, c, "the column '%s' is used as a partition key", c.Name)
		}
		if t.Distribution != nil && slices.Contains(t.Distribution.Keys, c.Name) {
			return b.errAt(errs.DependentObjects, c, "the column '%s' is used as a distribution key", c.Name)
		}
	}
	phys := t.PhysicalSchema()
	for _, col := range t.Columns {
		if col.Kind != catalog.Computed || col.Name == c.Name || dropped[col.Name] {
			continue
		}
		e, err := b.storedExpr(path, "computed column "+col.Name, col.Expr, newScope("", phys))
		if err != nil {
			return err
		}
		for _, in := range expr.InputColumns(e) {
			if phys.Columns[in].Name == c.Name {
				return b.errAt(errs.DependentObjects, c, "cannot %s column '%s': computed column '%s' AS %s reads it", verb, c.Name, col.Name, col.Expr)
			}
		}
	}
	if w := t.Watermark; w != nil {
		if w.Column == c.Name {
			return b.errAt(errs.DependentObjects, c, "cannot %s column '%s': it is the rowtime column of the watermark", verb, c.Name)
		}
		if w.Expr != sourceWatermark {
			all := t.Schema()
			e, err := b.storedExpr(path, "watermark", w.Expr, newScope("", all))
			if err != nil {
				return err
			}
			for _, in := range expr.InputColumns(e) {
				if all.Columns[in].Name == c.Name {
					return b.errAt(errs.DependentObjects, c, "cannot %s column '%s': the watermark expression %s reads it", verb, c.Name, w.Expr)
				}
			}
		}
	}
	return nil
}

// rebindTable types a changed table again: computed columns over the
// physical columns, the watermark over all, primary key columns NOT NULL.
func (b *binder) rebindTable(path catalog.Path, t *catalog.Table) error {
	for _, k := range t.PrimaryKey {
		if i := columnIndex(t.Columns, k); i >= 0 {
			t.Columns[i].Type = t.Columns[i].Type.WithNullable(false)
		}
	}
	if err := b.rebindComputed(path, t); err != nil {
		return err
	}
	return b.rebindWatermark(path, t)
}

func (b *binder) rebindComputed(path catalog.Path, t *catalog.Table) error {
	phys := newScope("", t.PhysicalSchema())
	for i, c := range t.Columns {
		if c.Kind != catalog.Computed {
			continue
		}
		e, err := b.storedExpr(path, "computed column "+c.Name, c.Expr, phys)
		if err != nil {
			return err
		}
		dt := e.Type()
		if isProctimeCall(e) {
			dt = dt.WithTimeAttr(types.ProctimeAttr)
		} else if c.Type.TimeAttr == types.RowtimeAttr {
			dt = dt.WithTimeAttr(types.RowtimeAttr)
		}
		t.Columns[i].Type = dt
	}
	return nil
}

// rebindWatermark checks a stored watermark against the table's columns
// as they now are and marks its rowtime column.
func (b *binder) rebindWatermark(path catalog.Path, t *catalog.Table) error {
	w := t.Watermark
	if w == nil {
		return nil
	}
	clearRowtime(t)
	i := columnIndex(t.Columns, w.Column)
	if i < 0 {
		return errs.New(errs.UndefinedColumn, "the watermark's rowtime column '%s' is not a column of table %s", w.Column, path)
	}
	ct := t.Columns[i].Type
	if !ct.IsTimestamp() || ct.Precision > 3 {
		return errs.New(errs.DatatypeMismatch, "the rowtime attribute '%s' must be TIMESTAMP or TIMESTAMP_LTZ with precision 0 to 3, but is %s", w.Column, ct)
	}
	et := ct
	if w.Expr != sourceWatermark {
		e, err := b.storedExpr(path, "watermark", w.Expr, newScope("", t.Schema()))
		if err != nil {
			return err
		}
		if et = e.Type(); !et.IsTimestamp() || et.Precision > 3 || et.Kind != ct.Kind {
			return errs.New(errs.DatatypeMismatch, "the watermark expression %s must return %s with precision 0 to 3, but returns %s", w.Expr, ct.Kind, et)
		}
	}
	t.Columns[i].Type = ct.WithTimeAttr(types.RowtimeAttr)
	t.Watermark = &catalog.Watermark{Column: w.Column, Expr: w.Expr, Type: et.WithTimeAttr(types.NoTimeAttr)}
	return nil
}

// AlterView plans ALTER VIEW v AS query: the view's new definition.
func (p *Planner) AlterView(src string, s *sql.AlterView, old *catalog.View) (*catalog.View, error) {
	if old.Plan != nil {
		return nil, p.binder(src).errAt(errs.NotSupported, s, "a view built with the Table API cannot be altered with SQL")
	}
	cv := &sql.CreateView{Pos: s.Pos, Name: s.Name, Columns: old.ColumnAliases, Query: s.Query, QueryText: s.QueryText}
	_, v, err := p.CreateView(src, cv)
	return v, err
}

// TableInfo is what table t's connector sees of it, for the statements
// that call a connector outside a job (TRUNCATE TABLE).
func TableInfo(path catalog.Path, t *catalog.Table) connector.TableInfo {
	return tableInfo(path, t)
}
