package planner

import (
	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// RowLevelModification is a bound DELETE or UPDATE (Flink's row-level
// modifications, FLIP-294). It is no plan node: the statement runs in the
// client through the table's connector (connector.SupportsDeletePushDown,
// connector.SupportsUpdatePushDown), without a job.
type RowLevelModification struct {
	// Kind is "DELETE" or "UPDATE", as Flink's messages name them.
	Kind string
	Path catalog.Path
	// Connector is the table's 'connector' option.
	Connector string
	Info      connector.TableInfo
	// Condition is the WHERE clause over the table's physical columns
	// (Info.Schema); nil without WHERE.
	Condition expr.Expr
	// Columns and Values are UPDATE's SET: physical column Columns[i]
	// becomes Values[i], an expression over the physical columns of the
	// column's type.
	Columns []int
	Values  []expr.Expr
}

// PlanDelete binds DELETE FROM t [WHERE cond].
func (p *Planner) PlanDelete(src string, s *sql.Delete) (*RowLevelModification, error) {
	b := p.binder(src)
	m, _, sc, err := b.modifiedTable("DELETE", s.Table, s.Alias)
	if err != nil {
		return nil, err
	}
	if m.Condition, err = b.modifyCondition(sc, s.Where); err != nil {
		return nil, err
	}
	return m, nil
}

// PlanUpdate binds UPDATE t SET c = v, ... [WHERE cond]: each value is
// cast to its column's type as INSERT casts a query's columns.
func (p *Planner) PlanUpdate(src string, s *sql.Update) (*RowLevelModification, error) {
	b := p.binder(src)
	m, tbl, sc, err := b.modifiedTable("UPDATE", s.Table, s.Alias)
	if err != nil {
		return nil, err
	}
	schema := m.Info.Schema
	for _, a := range s.Set {
		i := schema.Index(a.Column)
		if i < 0 {
			for _, c := range tbl.Columns {
				if c.Name == a.Column {
					return nil, b.errAt(errs.WrongObjectType, a, "column '%s' of table %s is a %s column; UPDATE can only set physical columns", a.Column, m.Path, columnKind(c))
				}
			}
			return nil, b.errAt(errs.UndefinedColumn, a, "column '%s' not found in table %s", a.Column, m.Path)
		}
		for _, done := range m.Columns {
			if done == i {
				return nil, b.errAt(errs.DuplicateColumn, a, "column '%s' is set more than once", a.Column)
			}
		}
		col := schema.Columns[i]
		var v expr.Expr
		if param, ok := a.Value.(*sql.Param); ok {
			// A placeholder takes its column's type, as in PostgreSQL.
			v, err = b.bindParam(param, col.Type)
		} else {
			v, err = b.bindExpr(sc, a.Value)
		}
		if err != nil {
			return nil, err
		}
		if !v.Type().EqualIgnoringNull(col.Type) {
			if !types.CanImplicitCast(v.Type().WithNullable(true), col.Type.WithNullable(true)) && !sameFamily(v.Type(), col.Type) {
				return nil, b.errAt(errs.DatatypeMismatch, a.Value, "cannot assign %s to column '%s' of type %s", v.Type(), col.Name, col.Type)
			}
			if v, err = expr.NewCast(v, col.Type, false); err != nil {
				return nil, b.errAt(errs.DatatypeMismatch, a.Value, "%v", err)
			}
		}
		m.Columns = append(m.Columns, i)
		m.Values = append(m.Values, v)
	}
	if m.Condition, err = b.modifyCondition(sc, s.Where); err != nil {
		return nil, err
	}
	return m, nil
}

// columnKind names a non-physical column's kind.
func columnKind(c catalog.Column) string {
	if c.Kind == catalog.Metadata {
		return "metadata"
	}
	return "computed"
}

// modifiedTable resolves the table a DELETE or UPDATE modifies and the
// scope of its physical columns, qualified by the alias or the table's
// name.
func (b *binder) modifiedTable(kind string, name sql.ObjectName, alias string) (*RowLevelModification, *catalog.Table, *scope, error) {
	path, err := b.qualify(name)
	if err != nil {
		return nil, nil, nil, err
	}
	obj, err := b.cat.Get(path)
	if err != nil {
		return nil, nil, nil, b.positioned(err, name)
	}
	tbl, ok := obj.(*catalog.Table)
	if !ok {
		return nil, nil, nil, b.errAt(errs.WrongObjectType, name, "%s is a view; %s needs a table", path, kind)
	}
	info := tableInfo(path, tbl)
	if alias == "" {
		alias = path.Name
	}
	m := &RowLevelModification{Kind: kind, Path: path, Connector: tbl.Connector(), Info: info}
	return m, tbl, newScope(alias, info.Schema), nil
}

// modifyCondition binds a DELETE's or UPDATE's WHERE clause.
func (b *binder) modifyCondition(sc *scope, where sql.Expr) (expr.Expr, error) {
	if where == nil {
		return nil, nil
	}
	cond, err := b.bindExpr(sc, where)
	if err != nil {
		return nil, err
	}
	if k := cond.Type().Kind; k != types.Boolean && k != types.Null {
		return nil, b.errAt(errs.DatatypeMismatch, where, "WHERE condition must be BOOLEAN, not %s", cond.Type())
	}
	return cond, nil
}
