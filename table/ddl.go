package table

import (
	"context"
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/planner"
	"github.com/eddysql/eddy/sql"
)

// This file executes Flink's catalog statements beyond CREATE/DROP TABLE
// and VIEW: CREATE|REPLACE TABLE AS SELECT, ALTER TABLE|VIEW|DATABASE,
// CREATE|DROP DATABASE and CATALOG, TRUNCATE TABLE (ALTER TABLE's
// partitions and ALTER CATALOG: partitions.go).

// createTableAs runs CREATE TABLE ... AS SELECT and [CREATE OR] REPLACE
// TABLE ... AS SELECT as Flink does: the table is created from the
// query's schema, then the INSERT job runs (and is waited for with
// table.dml-sync). If the INSERT cannot be planned, the catalog is left
// as it was.
func (e *Environment) createTableAs(ctx context.Context, src string, s *sql.CreateTable) (*TableResult, error) {
	e.syncPlannerMode()
	path, t, ins, err := e.planner.CreateTableAs(src, s)
	if err != nil {
		return nil, err
	}
	old, err := e.catalog.Get(path)
	exists := err == nil
	if !exists && !errs.Is(err, errs.UndefinedTable) {
		return nil, positioned(src, s.Name, err)
	}
	if exists && (s.Replace || s.OrReplace) {
		if e.catalog.IsTemporary(path) {
			return nil, positioned(src, s.Name, errs.New(errs.NotSupported, "REPLACE TABLE AS SELECT cannot replace the temporary table %s", path))
		}
		if _, isView := old.(*catalog.View); isView {
			return nil, positioned(src, s.Name, errs.New(errs.WrongObjectType, "%s is a view; REPLACE TABLE replaces tables", path))
		}
	}
	switch {
	case s.Replace && !exists:
		return nil, positioned(src, s.Name, errs.New(errs.UndefinedTable,
			"the table %s to be replaced doesn't exist; you can try to use CREATE TABLE AS statement or CREATE OR REPLACE TABLE AS statement", path))
	case exists && (s.Replace || s.OrReplace):
		if err := e.catalog.Alter(path, t); err != nil {
			return nil, positioned(src, s.Name, err)
		}
	case exists && !s.IfNotExists:
		return nil, positioned(src, s.Name, errs.New(errs.DuplicateTable, "table or view %s already exists", path))
	case !exists:
		if err := e.catalog.Create(path, t, false, false); err != nil {
			return nil, positioned(src, s.Name, err)
		}
	}
	g, _, _, _, err := e.planInserts(src, []*sql.Insert{ins})
	if err != nil {
		// Undo: a failed CTAS creates nothing, a failed RTAS replaces
		// nothing.
		switch {
		case !exists:
			_ = e.catalog.Drop(path, false, true)
		case s.Replace || s.OrReplace:
			_ = e.catalog.Alter(path, old)
		}
		return nil, err
	}
	return e.runInsertJob(ctx, g)
}

// planCreateTableAs plans the INSERT of CREATE|REPLACE TABLE ... AS
// SELECT into the table the statement defines, which it does not create:
// EXPLAIN shows that plan, as Flink's EXPLAIN CREATE TABLE AS SELECT.
func (e *Environment) planCreateTableAs(src string, s *sql.CreateTable) (*exec.JobGraph, []planner.Node, []planner.Node, []optimizer.PhysicalNode, error) {
	e.syncPlannerMode()
	path, t, ins, err := e.planner.CreateTableAs(src, s)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	bind := func(src string, ins *sql.Insert) (*planner.Sink, error) {
		return e.planner.PlanInsertInto(src, ins, path, t)
	}
	return e.planInsertsWith(src, []*sql.Insert{ins}, bind)
}

// executeDDL runs the ALTER, DATABASE, CATALOG and TRUNCATE statements.
func (e *Environment) executeDDL(src string, stmt sql.Statement) (*TableResult, error) {
	var err error
	switch s := stmt.(type) {
	case *sql.AlterTable:
		err = e.alterTable(src, s)
	case *sql.AlterView:
		err = e.alterView(src, s)
	case *sql.CreateDatabase:
		var c catalog.Catalog
		var db string
		if c, db, err = e.databaseOf(s.Name); err == nil {
			err = c.CreateDatabase(db, &catalog.Database{Comment: s.Comment, Properties: optionMap(s.Options)}, s.IfNotExists)
		}
		err = positioned(src, s.Name, err)
	case *sql.DropDatabase:
		err = positioned(src, s.Name, e.dropDatabase(s))
	case *sql.AlterDatabase:
		err = positioned(src, s.Name, e.alterDatabase(s))
	case *sql.CreateCatalog:
		name := s.Name.Parts[0]
		opts := optionMap(s.Options)
		var c catalog.Catalog
		if c, err = catalog.NewCatalog(name, opts); err == nil {
			err = e.catalog.CreateCatalog(c, catalog.CatalogDescriptor{Options: opts, Comment: s.Comment}, s.IfNotExists)
		}
		err = positioned(src, s.Name, err)
	case *sql.DropCatalog:
		err = positioned(src, s.Name, e.catalog.DropCatalog(s.Name.Parts[0], s.IfExists))
	case *sql.AlterCatalog:
		err = e.alterCatalog(src, s)
	case *sql.Truncate:
		err = e.truncate(src, s)
	default:
		err = errs.New(errs.NotSupported, "statement %T is not supported yet", stmt)
	}
	if err != nil {
		return nil, err
	}
	return okResult(), nil
}

// optionMap turns a WITH clause into a map; the parser keeps duplicates,
// the last one wins as in Flink's SqlNodeList conversion.
func optionMap(opts []sql.Option) map[string]string {
	m := make(map[string]string, len(opts))
	for _, o := range opts {
		m[o.Key] = o.Value
	}
	return m
}

// object finds the table or view that name names.
func (e *Environment) object(src string, name sql.ObjectName) (catalog.Path, catalog.Object, error) {
	path, err := e.catalog.Qualify(name.Parts)
	if err != nil {
		return path, nil, positioned(src, name, err)
	}
	obj, err := e.catalog.Get(path)
	return path, obj, positioned(src, name, err)
}

func (e *Environment) alterTable(src string, s *sql.AlterTable) error {
	path, obj, err := e.object(src, s.Name)
	if err != nil {
		if s.IfExists && errs.Is(err, errs.UndefinedTable) {
			return nil
		}
		return err
	}
	if e.catalog.IsTemporary(path) {
		// Flink alters catalog tables only; IF EXISTS makes a temporary
		// table, like a missing one, a no-op.
		if s.IfExists {
			return nil
		}
		return positioned(src, s.Name, errs.New(errs.UndefinedTable, "table %s doesn't exist or is a temporary table", path))
	}
	t, ok := obj.(*catalog.Table)
	if !ok {
		return positioned(src, s.Name, errs.New(errs.WrongObjectType, "ALTER TABLE cannot alter %s, which is a view; use ALTER VIEW", path))
	}
	switch a := s.Action.(type) {
	case *sql.AlterTableRename:
		return e.rename(src, path, a.NewName)
	case *sql.AlterTableAddPartitions:
		return e.addPartitions(src, path, a)
	case *sql.AlterTableDropPartitions:
		return e.dropPartitions(src, path, a)
	}
	nt, err := e.planner.AlterTable(src, s, path, t)
	if err != nil {
		return err
	}
	return positioned(src, s.Name, e.catalog.Alter(path, nt))
}

// rename renames the object at path to the name newName gives.
func (e *Environment) rename(src string, path catalog.Path, newName sql.ObjectName) error {
	to, err := e.catalog.Qualify(newName.Parts)
	if err != nil {
		return positioned(src, newName, err)
	}
	if _, err := e.catalog.Get(to); err == nil {
		return positioned(src, newName, errs.New(errs.DuplicateTable, "table or view %s already exists", to))
	}
	return positioned(src, newName, e.catalog.Rename(path, to))
}

func (e *Environment) alterView(src string, s *sql.AlterView) error {
	path, obj, err := e.object(src, s.Name)
	if err != nil {
		return err
	}
	if e.catalog.IsTemporary(path) {
		return positioned(src, s.Name, errs.New(errs.UndefinedTable, "view %s doesn't exist or is a temporary view", path))
	}
	v, ok := obj.(*catalog.View)
	if !ok {
		return positioned(src, s.Name, errs.New(errs.WrongObjectType, "ALTER VIEW cannot alter %s, which is a table; use ALTER TABLE", path))
	}
	if s.Query == nil {
		return e.rename(src, path, s.NewName)
	}
	nv, err := e.planner.AlterView(src, s, v)
	if err != nil {
		return err
	}
	return positioned(src, s.Name, e.catalog.Alter(path, nv))
}

// databaseOf resolves [catalog.]database against the current catalog.
func (e *Environment) databaseOf(name sql.ObjectName) (catalog.Catalog, string, error) {
	cat, _ := e.catalog.Current()
	if len(name.Parts) == 2 {
		cat = name.Parts[0]
	}
	c, err := e.catalog.Catalog(cat)
	return c, name.Parts[len(name.Parts)-1], err
}

func (e *Environment) dropDatabase(s *sql.DropDatabase) error {
	c, db, err := e.databaseOf(s.Name)
	if err != nil {
		return err
	}
	if cat, cur := e.catalog.Current(); cat == c.Name() && cur == db {
		return errs.New(errs.InvalidOption, "cannot drop database %s, which is the current database", quoteName(db))
	}
	return c.DropDatabase(db, s.IfExists, s.Cascade)
}

// alterDatabase merges ALTER DATABASE's properties into the database's.
func (e *Environment) alterDatabase(s *sql.AlterDatabase) error {
	c, db, err := e.databaseOf(s.Name)
	if err != nil {
		return err
	}
	d, err := c.GetDatabase(db)
	if err != nil {
		return err
	}
	for _, o := range s.Options {
		d.Properties[o.Key] = o.Value
	}
	return c.AlterDatabase(db, d, false)
}

// truncate runs TRUNCATE TABLE, which Flink allows in batch mode only and
// delegates to the table's sink (SupportsTruncate).
func (e *Environment) truncate(src string, s *sql.Truncate) error {
	if !strings.EqualFold(e.Config()[RuntimeMode], "batch") {
		return positioned(src, s, errs.New(errs.NotSupported, "TRUNCATE TABLE statement is not supported in streaming mode"))
	}
	path, obj, err := e.object(src, s.Name)
	if err != nil {
		return err
	}
	t, ok := obj.(*catalog.Table)
	if !ok {
		return positioned(src, s.Name, errs.New(errs.WrongObjectType, "TRUNCATE TABLE cannot truncate %s, which is a view", path))
	}
	f, _ := connector.Lookup(t.Connector())
	tr, ok := f.(connector.SupportsTruncate)
	if !ok {
		return positioned(src, s.Name, errs.New(errs.NotSupported,
			"TRUNCATE TABLE statement is not supported for the table %s since connector '%s' cannot truncate (it does not implement SupportsTruncate)",
			path, t.Connector()))
	}
	if err := tr.Truncate(planner.TableInfo(path, t)); err != nil {
		return errs.Wrap(errs.ConnectorFailure, err, "TRUNCATE TABLE %s: %v", path, err)
	}
	return nil
}

// quoteName quotes one name the way Flink prints paths.
func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// catalogDescriptor returns what CREATE CATALOG said of catalog name, for
// SHOW CREATE CATALOG and DESCRIBE CATALOG. Like Flink, which keeps no
// descriptor of its built-in catalog, it has none for catalogs registered
// otherwise.
func (e *Environment) catalogDescriptor(src string, name sql.ObjectName) (catalog.CatalogDescriptor, error) {
	if _, err := e.catalog.Catalog(name.Parts[0]); err != nil {
		return catalog.CatalogDescriptor{}, positioned(src, name, err)
	}
	d, ok := e.catalog.CatalogDescriptor(name.Parts[0])
	if !ok {
		return d, positioned(src, name, errs.New(errs.NotSupported,
			"cannot obtain metadata information from catalog %s: it was not created by CREATE CATALOG", quoteName(name.Parts[0])))
	}
	return d, nil
}

// describeCatalog runs DESCRIBE CATALOG [EXTENDED] as Flink's
// DescribeCatalogOperation: name, type and comment, and with EXTENDED the
// other options, sorted, as option:key.
func (e *Environment) describeCatalog(src string, s *sql.Describe) (*TableResult, error) {
	d, err := e.catalogDescriptor(src, s.Name)
	if err != nil {
		return nil, err
	}
	// Flink prints a catalog without a comment with a NULL comment.
	comment := strs("comment", d.Comment)
	if d.Comment == "" {
		comment[1] = nil
	}
	rows := [][]*string{strs("name", s.Name.Parts[0]), strs("type", d.Options["type"]), comment}
	if s.Extended {
		for _, k := range sortedKeys(d.Options) {
			if k != "type" {
				rows = append(rows, strs("option:"+k, d.Options[k]))
			}
		}
	}
	return stringRows(e.mem, []string{"info name", "info value"}, rows), nil
}

// showCreateCatalog prints CREATE CATALOG as Flink's SHOW CREATE CATALOG
// (ShowCreateUtil.buildShowCreateCatalogRow): each clause on a line of its
// own.
func showCreateCatalog(name string, d catalog.CatalogDescriptor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE CATALOG %s\n", quoteName(name))
	if d.Comment != "" {
		fmt.Fprintf(&b, "COMMENT '%s'\n", strings.ReplaceAll(d.Comment, "'", "''"))
	}
	var opts []string
	for _, k := range sortedKeys(d.Options) {
		opts = append(opts, fmt.Sprintf("  '%s' = '%s'", k, strings.ReplaceAll(d.Options[k], "'", "''")))
	}
	fmt.Fprintf(&b, "WITH (\n%s\n)\n", strings.Join(opts, ",\n"))
	return b.String()
}

// CreateTableDDL returns the CREATE TABLE statement that defines the
// table name names now, as SHOW CREATE TABLE prints it: a server records
// it for CREATE TABLE AS SELECT, whose replay must not run the query
// again.
func (e *Environment) CreateTableDDL(name []string) (string, error) {
	path, err := e.catalog.Qualify(name)
	if err != nil {
		return "", err
	}
	obj, err := e.catalog.Get(path)
	if err != nil {
		return "", err
	}
	if _, ok := obj.(*catalog.Table); !ok {
		return "", errs.New(errs.WrongObjectType, "%s is not a table", path)
	}
	return showCreate(path, obj), nil
}
