package server

import (
	"strings"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// This file decides what the data directory records of the catalog
// statements: the statement text for most, the created table's DDL for
// CREATE TABLE AS SELECT (whose replay must not run the query again), and
// nothing for statements that touch only the session: temporary objects,
// catalogs created with CREATE CATALOG (session-scoped, as in Flink's
// default in-memory catalog store) and whatever lives in them.

// ddlTarget is what a catalog statement changes, found before it runs
// (ALTER ... RENAME moves it).
type ddlTarget struct {
	// shared is set when the statement changes the server's shared
	// catalog.
	shared bool
	// path is the qualified name of the object of CREATE TABLE AS SELECT.
	path string
}

// target resolves the object st changes.
func (ss *session) target(st sql.Statement) ddlTarget {
	cm := ss.env.Catalog()
	shared := ss.srv.catalog.Name()
	var name sql.ObjectName
	switch s := st.(type) {
	case *sql.CreateTable:
		if s.Temporary {
			return ddlTarget{}
		}
		name = s.Name
	case *sql.CreateView:
		if s.Temporary {
			return ddlTarget{}
		}
		name = s.Name
	case *sql.DropTable:
		if s.Temporary {
			return ddlTarget{}
		}
		name = s.Name
	case *sql.DropView:
		if s.Temporary {
			return ddlTarget{}
		}
		name = s.Name
	case *sql.AlterTable:
		name = s.Name
	case *sql.AlterView:
		name = s.Name
	case *sql.CreateModel:
		if s.Temporary {
			return ddlTarget{}
		}
		name = s.Name
	case *sql.DropModel:
		if s.Temporary {
			return ddlTarget{}
		}
		name = s.Name
	case *sql.AlterModel:
		name = s.Name
	case *sql.CreateDatabase, *sql.DropDatabase, *sql.AlterDatabase:
		var parts []string
		switch s := st.(type) {
		case *sql.CreateDatabase:
			parts = s.Name.Parts
		case *sql.DropDatabase:
			parts = s.Name.Parts
		case *sql.AlterDatabase:
			parts = s.Name.Parts
		}
		cat, _ := cm.Current()
		if len(parts) == 2 {
			cat = parts[0]
		}
		return ddlTarget{shared: cat == shared}
	case *sql.CreateMaterializedView, *sql.DropMaterializedView:
		return ddlTarget{shared: true}
	default:
		return ddlTarget{}
	}
	path, err := cm.Qualify(name.Parts)
	if err != nil || path.Catalog != shared || cm.IsTemporary(path) {
		return ddlTarget{}
	}
	if cur, _ := cm.Current(); cur != shared {
		// The record is replayed with its current catalog, which must
		// exist when the server starts.
		return ddlTarget{}
	}
	return ddlTarget{shared: true, path: path.String()}
}

// records returns the statements to record for st, which ran as text.
func (ss *session) records(st sql.Statement, text string, t ddlTarget) ([]string, error) {
	if !t.shared {
		return nil, nil
	}
	ct, ok := st.(*sql.CreateTable)
	if !ok || ct.Query == nil {
		return []string{text}, nil
	}
	ddl, err := ss.env.CreateTableDDL(ct.Name.Parts)
	if err != nil {
		return nil, err
	}
	ddl = strings.Replace(ddl, "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1)
	if ct.Replace || ct.OrReplace {
		return []string{"DROP TABLE IF EXISTS " + t.path, ddl}, nil
	}
	return []string{ddl}, nil
}

// checkAlterable refuses ALTER TABLE of a materialized view, whose
// columns its job produces.
func (ss *session) checkAlterable(st sql.Statement) error {
	if s, ok := st.(*sql.AlterTable); ok && ss.isMaterializedView(s.Name.Parts) {
		return errs.New(errs.WrongObjectType, "%s is a materialized view; ALTER TABLE cannot change it", strings.Join(s.Name.Parts, "."))
	}
	return nil
}
