package server

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestCatalogPersistsAlterAndCtas: ALTER TABLE, CREATE TABLE AS SELECT
// and the DATABASE statements survive a restart; the CTAS query does not
// run again on replay, and statements on temporary tables are not
// recorded (ALTER TABLE IF EXISTS of a temporary table does nothing, as in
// Flink).
func TestCatalogPersistsAlterAndCtas(t *testing.T) {
	dir := t.TempDir()
	srv, addr, _ := testServer(t, Config{DataDir: dir})
	ctx := context.Background()
	conn := connect(t, addr)
	for _, stmt := range []string{
		ordersDDL,
		"ALTER TABLE orders ADD note STRING AFTER id",
		"ALTER TABLE orders DROP (amount, d)",
		"ALTER TABLE orders RENAME TO orders2",
		"CREATE TABLE copied WITH ('connector' = 'blackhole') AS SELECT id, name FROM orders2",
		"CREATE OR REPLACE TABLE copied WITH ('connector' = 'blackhole') AS SELECT id FROM orders2",
		"CREATE DATABASE db1 COMMENT 'first'",
		"CREATE TEMPORARY TABLE tmp (a INT) WITH ('connector' = 'datagen')",
		"ALTER TABLE IF EXISTS tmp ADD b INT",
	} {
		_, err := conn.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	_, addr2, _ := testServer(t, Config{DataDir: dir})
	conn2 := connect(t, addr2)
	rows, err := conn2.Query(ctx, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'default_database' ORDER BY table_name, ordinal_position")
	require.NoError(t, err)
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var tbl, col string
		err := r.Scan(&tbl, &col)
		return tbl + "." + col, err
	})
	require.NoError(t, err)
	require.Equal(t, []string{"copied.id", "orders2.id", "orders2.note", "orders2.name", "orders2.ok", "orders2.n", "orders2.ts"}, cols)
	var dbs []string
	rows, err = conn2.Query(ctx, "SHOW DATABASES")
	require.NoError(t, err)
	dbs, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"db1", "default_database"}, dbs)
}
