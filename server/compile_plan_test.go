package server

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestCompilePlanOverPgwire compiles an INSERT in one Query and a
// statement set sent one statement per Query (as psql sends a script),
// then runs both plan files with EXECUTE PLAN: each sink receives the
// rows of its compiled INSERTs.
func TestCompilePlanOverPgwire(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, ordersDDL+`;
SET 'table.dml-sync' = 'true';
CREATE TABLE sink_a (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '`+filepath.Join(dir, "a")+`', 'format' = 'csv');
CREATE TABLE sink_b (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '`+filepath.Join(dir, "b")+`', 'format' = 'csv')`)
	require.NoError(t, err)

	single := filepath.Join(dir, "single.json")
	tag, err := conn.Exec(ctx, "COMPILE PLAN '"+single+"' FOR INSERT INTO sink_a SELECT id FROM orders WHERE id <= 10")
	require.NoError(t, err)
	require.Equal(t, "COMPILE PLAN", tag.String())

	set := "file://" + filepath.Join(dir, "set.json")
	pc := conn.PgConn()
	for _, q := range []string{
		"COMPILE PLAN '" + set + "' FOR STATEMENT SET BEGIN INSERT INTO sink_a SELECT id FROM orders WHERE id > 95;",
		"INSERT INTO sink_b SELECT id FROM orders WHERE id <= 3;",
		"END;",
	} {
		results, err := pc.Exec(ctx, q).ReadAll()
		require.NoError(t, err, q)
		require.Len(t, results, 1)
		want := stmtSetTag
		if q == "END;" {
			want = "COMPILE PLAN"
		}
		require.Equal(t, want, results[0].CommandTag.String(), q)
	}

	for _, f := range []string{single, set} {
		tag, err := conn.Exec(ctx, "EXECUTE PLAN '"+f+"'")
		require.NoError(t, err)
		require.Equal(t, "INSERT 0 0", tag.String())
	}
	count := func(table string) int {
		rows, err := conn.Query(ctx, "SELECT id FROM "+table)
		require.NoError(t, err)
		n := 0
		for rows.Next() {
			n++
		}
		require.NoError(t, rows.Err())
		return n
	}
	require.Equal(t, 15, count("sink_a"))
	require.Equal(t, 3, count("sink_b"))

	_, err = conn.Exec(ctx, "EXECUTE PLAN '"+filepath.Join(dir, "missing.json")+"'")
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "42704", pe.Code)
	require.Equal(t, int32(14), pe.Position)
	require.Contains(t, pe.Message, "does not exist")
}

// TestExecutePlanJobRestartsWithServer: a job started by EXECUTE PLAN is
// restarted with the server by running its statement again, which runs
// the plan file as it is: its source table, dropped meanwhile, is not
// needed, where an INSERT could no longer be planned.
func TestExecutePlanJobRestartsWithServer(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv, addr, _ := testServer(t, Config{DataDir: filepath.Join(dir, "data")})
	conn := connect(t, addr)
	plan := filepath.Join(dir, "copy.json")
	_, err := conn.Exec(ctx, `CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '50');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'blackhole');
SET 'pipeline.name' = 'copy';
COMPILE PLAN '`+plan+`' FOR INSERT INTO snk SELECT id FROM src;
EXECUTE PLAN '`+plan+`';
DROP TABLE src`)
	require.NoError(t, err)
	jobs := showJobs(t, conn)
	require.Len(t, jobs, 1)
	require.Equal(t, []string{"copy", "RUNNING"}, jobs[0][1:3])
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	_, addr2, _ := testServer(t, Config{DataDir: filepath.Join(dir, "data")})
	jobs2 := showJobs(t, connect(t, addr2))
	require.Len(t, jobs2, 1)
	require.Equal(t, []string{"copy", "RUNNING"}, jobs2[0][1:3])
	require.NotEqual(t, jobs[0][0], jobs2[0][0])
}
