package table

import (
	"slices"
	"testing"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/internal/errs"
)

// TestPartitionAndAlterCatalogErrorCodes checks the SQLSTATE-bearing
// codes of the partition statements' and ALTER CATALOG's errors, and that
// ADD PARTITION keeps the partitions it added before one that fails, as
// Flink's AddPartitionsOperation.
func TestPartitionAndAlterCatalogErrorCodes(t *testing.T) {
	env, run := ddlEnv(t)
	for _, stmt := range []string{
		`CREATE TABLE t (a INT, dt STRING) PARTITIONED BY (dt) WITH ('connector' = 'blackhole')`,
		`CREATE TABLE plain (a INT) WITH ('connector' = 'blackhole')`,
		`CREATE CATALOG c WITH ('type' = 'generic_in_memory')`,
		`ALTER TABLE t ADD PARTITION (dt = 'a')`,
	} {
		if err := run(stmt); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		stmt string
		code errs.Code
		msg  string
	}{
		{`ALTER TABLE t ADD PARTITION (dt = 'b') PARTITION (dt = 'a')`, errs.DuplicateObject, "already exists"},
		{`ALTER TABLE t DROP PARTITION (dt = 'x')`, errs.UndefinedObject, "does not exist"},
		{`ALTER TABLE t ADD PARTITION (x = 'a')`, errs.UndefinedColumn, "does not match partition keys [dt]"},
		{`ALTER TABLE plain ADD PARTITION (a = 1)`, errs.WrongObjectType, "is not partitioned"},
		{`SHOW PARTITIONS plain`, errs.WrongObjectType, "is not partitioned"},
		{`SHOW PARTITIONS nope`, errs.UndefinedTable, "does not exist"},
		{`ALTER CATALOG c RESET ('type')`, errs.InvalidOption, "does not support changing 'type'"},
		{`ALTER CATALOG c SET ('k' = 'v')`, errs.InvalidOption, "unsupported option 'k'"},
		{`ALTER CATALOG nope COMMENT 'x'`, errs.UndefinedDatabase, "does not exist"},
		{`ALTER CATALOG default_catalog COMMENT 'x'`, errs.NotSupported, "not created by CREATE CATALOG"},
	} {
		wantErr(t, run(c.stmt), c.code, c.msg)
	}
	cat, err := env.Catalog().Catalog(catalog.DefaultCatalog)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := cat.ListPartitions(catalog.Path{Catalog: catalog.DefaultCatalog, Database: catalog.DefaultDatabase, Name: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range parts {
		names = append(names, p.Spec.Name())
	}
	if !slices.Equal(names, []string{"dt=a", "dt=b"}) {
		t.Fatalf("partitions %v, want dt=a and dt=b, added before the failing one", names)
	}
}
