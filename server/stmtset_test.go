package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
)

// TestStatementSetAcrossQueries sends a statement set one statement per
// Query, as psql does with a script: the pieces are collected, a piece
// that is no INSERT is refused while the set stays open, and the END runs
// the set as one job writing both sinks.
func TestStatementSetAcrossQueries(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, ordersDDL+`;
CREATE TABLE sink_a (id BIGINT) WITH ('connector' = 'blackhole');
CREATE TABLE sink_b (id BIGINT) WITH ('connector' = 'blackhole')`)
	require.NoError(t, err)

	var notices []string
	cfg := conn.Config().Config
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	pc, err := pgconn.ConnectConfig(ctx, &cfg)
	require.NoError(t, err)
	defer pc.Close(ctx)
	run := func(q string) (string, error) {
		results, err := pc.Exec(ctx, q).ReadAll()
		if err != nil {
			return "", err
		}
		require.Len(t, results, 1)
		return results[0].CommandTag.String(), nil
	}
	for _, form := range [][]string{
		{"EXECUTE STATEMENT SET BEGIN INSERT INTO sink_a SELECT id FROM orders;", "INSERT INTO sink_b SELECT id FROM orders;"},
		{"BEGIN STATEMENT SET;", "INSERT INTO sink_a SELECT id FROM orders;", "INSERT INTO sink_b SELECT id FROM orders;"},
	} {
		notices = nil
		for _, q := range form {
			tag, err := run(q)
			require.NoError(t, err, q)
			require.Equal(t, stmtSetTag, tag)
		}
		_, err = run("SELECT 1;")
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%v", err)
		require.Equal(t, "42601", pe.Code)
		require.Equal(t, int32(1), pe.Position)
		require.Contains(t, pe.Message, "a STATEMENT SET may only contain INSERT statements")

		tag, err := run("END;")
		require.NoError(t, err)
		require.Equal(t, "INSERT 0 0", tag)
		require.Len(t, notices, 1)
		id := strings.Fields(strings.TrimPrefix(notices[0], "submitted job "))[0]
		results, err := pc.Exec(ctx, "DESCRIBE JOB '"+id+"'").ReadAll()
		require.NoError(t, err)
		var ops []string
		for _, r := range results[0].Rows {
			ops = append(ops, string(r[0]))
		}
		require.Contains(t, strings.Join(ops, "\n"), "sink_a")
		require.Contains(t, strings.Join(ops, "\n"), "sink_b")
	}

	// With the set ended the session is back to normal.
	tag, err := run("SELECT 1")
	require.NoError(t, err)
	require.Equal(t, "SELECT 1", tag)
}

// TestUnboundedSelectLimit: a SELECT over an unbounded source ends at its
// LIMIT, and its job with it.
func TestUnboundedSelectLimit(t *testing.T) {
	srv, addr, _ := testServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000000')")
	require.NoError(t, err)
	rows, err := conn.Query(ctx, "SELECT id FROM endless WHERE id % 2 = 0 LIMIT 5")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{2, 4, 6, 8, 10}, ids)
	require.Eventually(t, func() bool {
		for _, e := range srv.jobs.list() {
			if e.job.Status() == exec.JobRunning {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond)
}
