package server

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func queryInts(t *testing.T, conn *pgx.Conn, q string) [][]int64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	require.NoError(t, err)
	var out [][]int64
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		row := make([]int64, len(vals))
		for i, v := range vals {
			switch n := v.(type) {
			case int64:
				row[i] = n
			case int32:
				row[i] = int64(n)
			default:
				t.Fatalf("value %v (%T) is not an integer", v, v)
			}
		}
		out = append(out, row)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestMaterializedView maintains a view over a bounded and an unbounded
// input, reads it with queries on top (planned in batch mode), subscribes
// to it through a cursor, finds it in pg_class, restarts the server and
// drops it.
func TestMaterializedView(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv, addr, _ := testServer(t, Config{DataDir: dir})
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, `CREATE TABLE seq (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '7',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '7');
CREATE TABLE endless (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '500', 'fields.k.min' = '1', 'fields.k.max' = '3');
CREATE MATERIALIZED VIEW parities (parity, n) AS SELECT id % 2, count(*) FROM seq GROUP BY id % 2;
CREATE MATERIALIZED VIEW live AS SELECT k, count(*) AS n FROM endless GROUP BY k`)
	require.NoError(t, err)

	want := [][]int64{{0, 3}, {1, 4}}
	require.Eventually(t, func() bool {
		got := queryInts(t, conn, "SELECT parity, n FROM parities ORDER BY parity")
		return len(got) == 2 && got[0][1] == 3 && got[1][1] == 4
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, want, queryInts(t, conn, "SELECT parity, n FROM parities ORDER BY parity"))
	require.Equal(t, [][]int64{{7}}, queryInts(t, conn, "SELECT sum(n) FROM parities"))
	require.Equal(t, [][]int64{{1, 4}}, queryInts(t, conn, "SELECT p.parity, p.n FROM parities p JOIN parities q ON p.n > q.n"))

	// The unbounded view grows while it is read. Its global sum is NULL
	// while the view is still empty, which queryInts would reject.
	var first int64
	require.Eventually(t, func() bool {
		first = queryInts(t, conn, "SELECT coalesce(sum(n), 0) FROM live")[0][0]
		return first > 0
	}, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return queryInts(t, conn, "SELECT coalesce(sum(n), 0) FROM live")[0][0] > first
	}, 30*time.Second, 20*time.Millisecond)
	require.Len(t, queryInts(t, conn, "SELECT k, n FROM live"), 3)

	var kind string
	require.NoError(t, conn.QueryRow(ctx, "SELECT relkind FROM pg_catalog.pg_class WHERE relname = 'parities'").Scan(&kind))
	require.Equal(t, "m", kind)

	// SUBSCRIBE TO a view: its contents as inserts, then its changes.
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "DECLARE c CURSOR FOR SUBSCRIBE TO live")
	require.NoError(t, err)
	rows, err := tx.Query(ctx, "FETCH 5 FROM c", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	var ops []string
	for rows.Next() {
		var op string
		var k int32
		var n int64
		require.NoError(t, rows.Scan(&op, &k, &n))
		ops = append(ops, op)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"+I", "+I", "+I"}, ops[:3])
	require.Contains(t, []string{"-U", "+U"}, ops[3])
	require.NoError(t, tx.Commit(ctx))

	_, err = conn.Exec(ctx, "DROP MATERIALIZED VIEW live")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SELECT * FROM live")
	require.Error(t, err)
	_, err = conn.Exec(ctx, "DROP MATERIALIZED VIEW seq")
	require.ErrorContains(t, err, "is not a materialized view")
	_, err = conn.Exec(ctx, "DROP MATERIALIZED VIEW IF EXISTS nope")
	require.NoError(t, err)
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	// After a restart the remaining view is computed again.
	_, addr2, _ := testServer(t, Config{DataDir: dir})
	conn2 := connect(t, addr2)
	require.Eventually(t, func() bool {
		got := queryInts(t, conn2, "SELECT parity, n FROM parities ORDER BY parity")
		return len(got) == 2 && got[0][1] == 3 && got[1][1] == 4
	}, 10*time.Second, 20*time.Millisecond)
	_, err = conn2.Exec(ctx, "SELECT * FROM live")
	require.Error(t, err)
}

// TestPsycopg2MaterializedView reads a materialized view, SHOW JOBS and a
// subscription (through a named cursor) with Debian's python3-psycopg2.
func TestPsycopg2MaterializedView(t *testing.T) {
	script := `
import sys, time, psycopg2
conn = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user="eddy", dbname="eddy")
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '5', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5')")
cur.execute("CREATE MATERIALIZED VIEW big AS SELECT id > 2 AS big, count(*) AS n FROM s GROUP BY id > 2")
for _ in range(500):
    cur.execute("SELECT big, n FROM big ORDER BY big")
    rows = cur.fetchall()
    if rows == [(False, 2), (True, 3)]:
        break
    time.sleep(0.02)
print(rows)
cur.execute("SHOW JOBS")
print([(r[1], r[2]) for r in cur.fetchall() if r[1] != "collect"])
conn.autocommit = False
sub = conn.cursor("sub")
sub.execute("SUBSCRIBE TO big")
print(sorted(sub.fetchmany(2)))
sub.close()
conn.commit()
`
	require.Equal(t, `[(False, 2), (True, 3)]
[('materialized-view_default_catalog.default_database.big', 'FINISHED')]
[('+I', False, 2), ('+I', True, 3)]
`, runPsycopg2(t, script))
}
