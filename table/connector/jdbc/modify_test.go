package jdbc_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
)

// rowsAffected runs a DELETE or UPDATE and returns the count of its
// result's one row.
func rowsAffected(t *testing.T, env *table.Environment, stmt string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := env.ExecuteSQL(ctx, stmt)
	require.NoError(t, err, stmt)
	defer r.Close()
	require.Equal(t, table.RowsAffectedColumn, r.Schema.Columns[0].Name)
	b, err := r.Next(ctx)
	require.NoError(t, err)
	defer b.Release()
	n := b.Column(0).(*array.Int64).Value(0)
	require.Equal(t, r.RowsAffected, n)
	_, err = r.Next(ctx)
	require.ErrorIs(t, err, io.EOF)
	return n
}

// TestDeleteAndUpdate runs DELETE and UPDATE in batch mode against a
// PostgreSQL table and checks its rows with PostgreSQL afterwards.
func TestDeleteAndUpdate(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf(`CREATE TABLE %s.items (id bigint PRIMARY KEY, qty integer, name text, price numeric(10, 2),
		seen timestamp(3), tags text[], flag boolean)`, pg.schema))
	pg.exec(t, fmt.Sprintf(`INSERT INTO %s.items SELECT i, i * 10, 'item ' || i, i + 0.5, TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '1 hour',
		ARRAY['a'], i %% 2 = 0 FROM generate_series(1, 10) i`, pg.schema))
	env := environment(t, 1)
	run(t, env, "SET 'execution.runtime-mode' = 'batch'", fmt.Sprintf(`CREATE TABLE items (id BIGINT, qty INT, name STRING, price DECIMAL(10, 2),
		seen TIMESTAMP(3), tags ARRAY<STRING>, flag BOOLEAN, PRIMARY KEY (id) NOT ENFORCED) WITH (%s)`, pg.with("items")))
	items := pg.schema + ".items"

	require.EqualValues(t, 2, rowsAffected(t, env, "DELETE FROM items WHERE id >= 9"))
	require.EqualValues(t, 0, pg.count(t, "SELECT * FROM "+items+" WHERE id >= 9"))
	require.EqualValues(t, 8, pg.count(t, "SELECT * FROM "+items))

	// Several conjuncts, constants folded, a literal on the left.
	require.EqualValues(t, 1, rowsAffected(t, env, "DELETE FROM items AS i WHERE i.qty < 20 + 5 AND 1 < id AND flag = TRUE"))
	require.EqualValues(t, 0, pg.count(t, "SELECT * FROM "+items+" WHERE id = 2"))

	// Every value type the sink writes, a NULL, and a value cast to its
	// column's type (INT into BIGINT, a string into TIMESTAMP(3)).
	require.EqualValues(t, 2, rowsAffected(t, env, `UPDATE items SET qty = 7, name = 'it''s', price = 3.25, seen = TIMESTAMP '2025-06-01 12:30:00.125',
		tags = ARRAY['x', CAST(NULL AS STRING)], flag = NULL WHERE id <= 3`))
	pg.same(t, "SELECT id, qty, name, price, seen, tags, flag FROM "+items+" WHERE id <= 3",
		`VALUES (1::bigint, 7, 'it''s', 3.25::numeric, TIMESTAMP '2025-06-01 12:30:00.125', ARRAY['x', NULL], NULL::boolean),
			(3, 7, 'it''s', 3.25, TIMESTAMP '2025-06-01 12:30:00.125', ARRAY['x', NULL], NULL)`)
	// The other rows are as they were.
	require.EqualValues(t, 5, pg.count(t, "SELECT * FROM "+items+" WHERE id > 3 AND qty = id * 10 AND name = 'item ' || id"))

	// A primary key column can be set: Flink leaves that to the connector.
	require.EqualValues(t, 1, rowsAffected(t, env, "UPDATE items SET id = 100 WHERE id = 8"))
	require.EqualValues(t, 1, pg.count(t, "SELECT * FROM "+items+" WHERE id = 100 AND qty = 80"))

	// No row matches.
	require.EqualValues(t, 0, rowsAffected(t, env, "UPDATE items SET qty = 0 WHERE id = 42"))

	// Statements the connector cannot run itself fail without changing
	// anything: a string comparison (PostgreSQL compares by collation), a
	// disjunction, a SET value that reads a column.
	before := pg.count(t, "SELECT * FROM "+items+" WHERE qty = 7")
	for _, stmt := range []string{
		"DELETE FROM items WHERE name = 'item 4'",
		"DELETE FROM items WHERE id = 4 OR id = 5",
		"UPDATE items SET qty = qty + 1 WHERE id = 4",
		"UPDATE items SET qty = 1 WHERE name = 'item 4'",
	} {
		err := runErr(env, stmt)
		require.Error(t, err, stmt)
		require.True(t, errs.Is(err, errs.NotSupported), "%s: %v", stmt, err)
		require.ErrorContains(t, err, "because the corresponding dynamic table sink has not yet implemented SupportsRowLevel")
	}
	require.Equal(t, before, pg.count(t, "SELECT * FROM "+items+" WHERE qty = 7"))
	require.EqualValues(t, 7, pg.count(t, "SELECT * FROM "+items))

	// Without WHERE: every row.
	require.EqualValues(t, 7, rowsAffected(t, env, "UPDATE items SET qty = 0"))
	require.EqualValues(t, 7, pg.count(t, "SELECT * FROM "+items+" WHERE qty = 0"))
	require.EqualValues(t, 7, rowsAffected(t, env, "DELETE FROM items"))
	require.EqualValues(t, 0, pg.count(t, "SELECT * FROM "+items))

	// A constant NULL for a NOT NULL column fails as Flink's sink NOT
	// NULL enforcer does.
	run(t, env, fmt.Sprintf("CREATE TABLE strict (id BIGINT, qty INT NOT NULL) WITH (%s)", pg.with("items")))
	err := runErr(env, "UPDATE strict SET qty = CAST(NULL AS INT) WHERE id = 1")
	require.True(t, errs.Is(err, errs.NotNullViolation), "%v", err)

	// A PostgreSQL table that does not exist is named.
	run(t, env, fmt.Sprintf("CREATE TABLE gone (id BIGINT) WITH (%s)", pg.with("missing")))
	err = runErr(env, "DELETE FROM gone WHERE id = 1")
	require.True(t, errs.Is(err, errs.UndefinedTable), "%v", err)

	// Streaming mode refuses both, as Flink does.
	run(t, env, "SET 'execution.runtime-mode' = 'streaming'")
	require.ErrorContains(t, runErr(env, "DELETE FROM items WHERE id = 1"), "DELETE statement is not supported for streaming mode now.")
	require.ErrorContains(t, runErr(env, "UPDATE items SET qty = 1"), "UPDATE statement is not supported for streaming mode now.")
}
