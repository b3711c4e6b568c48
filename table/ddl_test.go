package table

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table/connector/values"
)

func ddlEnv(t *testing.T) (*Environment, func(string) error) {
	t.Helper()
	env, err := NewEnvironment(Settings{Config: map[string]string{DMLSync: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env, func(stmt string) error {
		r, err := env.ExecuteSQL(context.Background(), stmt)
		if err == nil {
			r.Close()
		}
		return err
	}
}

func wantErr(t *testing.T, err error, code errs.Code, msg string) {
	t.Helper()
	if !errs.Is(err, code) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("got %v, want %s error containing %q", err, code.Name, msg)
	}
}

// TestCtasLeavesCatalogOnFailure: a CREATE TABLE AS SELECT whose INSERT
// cannot be planned creates nothing; a failing REPLACE TABLE AS SELECT
// keeps the table it would have replaced.
func TestCtasLeavesCatalogOnFailure(t *testing.T) {
	env, run := ddlEnv(t)
	wantErr(t, run(`CREATE TABLE t (a INT) WITH ('connector' = 'blackhole') AS SELECT 'x' AS a`), errs.DatatypeMismatch, "cannot write")
	if _, err := env.Catalog().Get(catalog.Path{Catalog: catalog.DefaultCatalog, Database: catalog.DefaultDatabase, Name: "t"}); !errs.Is(err, errs.UndefinedTable) {
		t.Fatalf("failed CTAS left table t: %v", err)
	}
	if err := run(`CREATE TABLE t WITH ('connector' = 'blackhole') AS SELECT 1 AS a`); err != nil {
		t.Fatal(err)
	}
	wantErr(t, run(`REPLACE TABLE t (b INT) WITH ('connector' = 'blackhole') AS SELECT 'x' AS b`), errs.DatatypeMismatch, "cannot write")
	obj, err := env.Catalog().Get(catalog.Path{Catalog: catalog.DefaultCatalog, Database: catalog.DefaultDatabase, Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if cols := obj.(*catalog.Table).Columns; len(cols) != 1 || cols[0].Name != "a" {
		t.Fatalf("failed RTAS changed the table: %+v", cols)
	}
}

// TestAlterDDLErrorCodes checks the SQLSTATE-bearing codes of ALTER,
// DATABASE and CATALOG errors, which pgwire sends.
func TestAlterDDLErrorCodes(t *testing.T) {
	_, run := ddlEnv(t)
	if err := run(`CREATE TABLE t (a INT, b AS a + 1, PRIMARY KEY (a) NOT ENFORCED) WITH ('connector' = 'datagen')`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stmt string
		code errs.Code
		msg  string
	}{
		{`ALTER TABLE t ADD a BIGINT`, errs.DuplicateColumn, "already exists"},
		{`ALTER TABLE t MODIFY z BIGINT`, errs.UndefinedColumn, "does not exist"},
		{`ALTER TABLE t DROP a`, errs.DependentObjects, "primary key"},
		{`ALTER TABLE t RENAME a TO b`, errs.DuplicateColumn, "already exists"},
		{`ALTER TABLE nope ADD c INT`, errs.UndefinedTable, "does not exist"},
		{`ALTER VIEW t RENAME TO v`, errs.WrongObjectType, "is a table"},
		{`CREATE DATABASE default_database`, errs.DuplicateDatabase, "already exists"},
		{`DROP DATABASE nope`, errs.UndefinedDatabase, "does not exist"},
		{`CREATE CATALOG default_catalog WITH ('type' = 'generic_in_memory')`, errs.DuplicateObject, "already exists"},
		{`TRUNCATE TABLE t`, errs.NotSupported, "streaming mode"},
	} {
		wantErr(t, run(c.stmt), c.code, c.msg)
	}
}

// TestTruncateTableValues truncates a values sink in batch mode.
func TestTruncateTableValues(t *testing.T) {
	env, run := ddlEnv(t)
	d := &values.Data{}
	id := values.Register(d)
	defer values.Unregister(id)
	if err := run(fmt.Sprintf(`CREATE TABLE sink (a INT) WITH ('connector' = 'values', 'data-id' = '%s')`, id)); err != nil {
		t.Fatal(err)
	}
	if err := run(`INSERT INTO sink VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	if rows, _ := d.Sink(); len(rows) != 2 {
		t.Fatalf("sink received %v", rows)
	}
	wantErr(t, run(`TRUNCATE TABLE sink`), errs.NotSupported, "streaming mode")
	if err := env.Set(RuntimeMode, "batch"); err != nil {
		t.Fatal(err)
	}
	if err := run(`TRUNCATE TABLE sink`); err != nil {
		t.Fatal(err)
	}
	if rows, _ := d.Sink(); len(rows) != 0 {
		t.Fatalf("TRUNCATE TABLE left %v", rows)
	}
}

// TestShowUserFunctionsAndLike: SHOW USER FUNCTIONS lists only functions
// registered by the user, filtered by LIKE as Flink's SHOW does.
func TestShowUserFunctionsAndLike(t *testing.T) {
	env, _ := ddlEnv(t)
	if err := env.CreateFunction("ddl_test_twice", func(v int64) int64 { return 2 * v }); err != nil {
		t.Fatal(err)
	}
	defer env.DropFunction("ddl_test_twice")
	show := func(stmt string) []string {
		t.Helper()
		r, err := env.ExecuteSQL(context.Background(), stmt)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var names []string
		for {
			b, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				return names
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < int(b.NumRows()); i++ {
				names = append(names, b.Column(0).ValueStr(i))
			}
		}
	}
	if got := show(`SHOW USER FUNCTIONS LIKE 'DDL\_TEST%'`); len(got) != 1 || got[0] != "DDL_TEST_TWICE" {
		t.Fatalf("SHOW USER FUNCTIONS = %v", got)
	}
	if got := show(`SHOW USER FUNCTIONS LIKE 'UPPER'`); len(got) != 0 {
		t.Fatalf("SHOW USER FUNCTIONS lists built-in %v", got)
	}
	if got := show(`SHOW FUNCTIONS ILIKE 'upper'`); len(got) != 1 || got[0] != "UPPER" {
		t.Fatalf("SHOW FUNCTIONS ILIKE = %v", got)
	}
}

// TestCtasWritesByColumnName: the INSERT of CREATE TABLE AS SELECT writes
// the query's columns by name, so a column list that reorders them (t (b,
// a)) or declares new leading columns (NULL in every row) still puts each
// value in its column.
func TestCtasWritesByColumnName(t *testing.T) {
	_, run := ddlEnv(t)
	for i, c := range []struct {
		columns string
		want    string
	}{
		{"(b, a)", "[+I[x, 1] +I[y, 2]]"},
		{"(note STRING, b STRING)", "[+I[null, 1, x] +I[null, 2, y]]"},
	} {
		d := &values.Data{}
		id := values.Register(d)
		stmt := fmt.Sprintf(`CREATE TABLE t%d %s WITH ('connector' = 'values', 'data-id' = '%s') AS SELECT a, b FROM (VALUES (1, 'x'), (2, 'y')) AS v(a, b)`,
			i, c.columns, id)
		err := run(stmt)
		values.Unregister(id)
		if err != nil {
			t.Fatal(err)
		}
		if rows, _ := d.Sink(); fmt.Sprint(rows) != c.want {
			t.Errorf("%s wrote %v, want %s", c.columns, rows, c.want)
		}
	}
}
