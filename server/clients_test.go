package server

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/internal/testutil"
)

// TestPsqlScenario is the psql column of the client matrix (see also
// TestJDBC): DDL, a bounded SELECT with a psql variable as parameter, a
// streaming job, a materialized view read while it updates, SHOW JOBS,
// and Ctrl-C (SIGINT, which makes psql send a CancelRequest) during an
// unbounded query.
func TestPsqlScenario(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	_, addr, _ := testServer(t, Config{})
	host, port, _ := net.SplitHostPort(addr)
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(psql, append([]string{"-X", "-A", "-t", "-h", host, "-p", port, "-U", "eddy", "-d", "eddy"}, args...)...)
		c.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQL_PAGER=")
		return c
	}
	run := func(args ...string) string {
		out, err := cmd(args...).CombinedOutput()
		require.NoError(t, err, string(out))
		return string(out)
	}
	require.Equal(t, "CREATE TABLE\nCREATE TABLE\nCREATE TABLE\n", run(
		"-c", ordersDDL,
		"-c", "CREATE TABLE endless (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '500', 'fields.k.min' = '1', 'fields.k.max' = '3')",
		"-c", "CREATE TABLE sink (k INT) WITH ('connector' = 'blackhole')"))
	// psql interpolates variables only in input it reads, not in -c.
	bounded := cmd("-v", "lo=10", "-v", "tag=x")
	bounded.Stdin = strings.NewReader("SELECT id, :'tag' AS tag FROM orders WHERE id > :lo AND id <= :lo + 3;\n")
	out, err := bounded.CombinedOutput()
	require.NoError(t, err, string(out))
	require.ElementsMatch(t, []string{"11|x", "12|x", "13|x"}, strings.Fields(string(out)))

	require.Contains(t, run("-c", "INSERT INTO sink SELECT k FROM endless"), "submitted job ")
	run("-c", "CREATE MATERIALIZED VIEW live AS SELECT k, count(*) AS n FROM endless GROUP BY k")
	// A global aggregate over the still empty view is NULL, which psql
	// prints as an empty line: count that as 0.
	sum := func() int {
		out := strings.TrimSpace(run("-c", "SELECT sum(n) FROM live"))
		if out == "" {
			return 0
		}
		n, err := strconv.Atoi(out)
		require.NoError(t, err)
		return n
	}
	var first int
	require.Eventually(t, func() bool { first = sum(); return first > 0 }, 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool { return sum() > first }, 10*time.Second, 50*time.Millisecond)
	var running []string
	for _, line := range strings.Split(run("-c", "SHOW JOBS"), "\n") {
		if f := strings.Split(line, "|"); len(f) > 2 && f[2] == "RUNNING" {
			running = append(running, f[1])
		}
	}
	require.ElementsMatch(t, []string{"insert-into_default_catalog.default_database.sink",
		"materialized-view_default_catalog.default_database.live"}, running)

	// psql echoes once it has connected, right before it sends the
	// query; interrupting earlier would stop psql, not the statement.
	c := cmd("-c", `\echo connected`, "-c", "SELECT k FROM endless")
	var stream testutil.SyncBuffer
	c.Stdout, c.Stderr = &stream, &stream
	require.NoError(t, c.Start())
	require.Eventually(t, func() bool { return strings.Contains(stream.String(), "connected") }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, c.Process.Signal(os.Interrupt))
	require.Error(t, c.Wait())
	require.Contains(t, stream.String(), "ERROR:  canceling statement due to user request")
}

// TestPsycopg2Scenario completes psycopg2's column of the client matrix
// (TestPsycopg2 and TestPsycopg2MaterializedView cover DDL, parameters,
// the materialized view and SHOW JOBS): a streaming job, a materialized
// view read while it updates, and connection.cancel() from another thread
// during an unbounded query.
func TestPsycopg2Scenario(t *testing.T) {
	script := `
import sys, threading, time, psycopg2
conn = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user="eddy", dbname="eddy")
conn.autocommit = True
cur = conn.cursor()
cur.execute("CREATE TABLE endless (k INT) WITH ('connector' = 'datagen', 'rows-per-second' = '500', 'fields.k.min' = '1', 'fields.k.max' = '3')")
cur.execute("CREATE TABLE sink (k INT) WITH ('connector' = 'blackhole')")
cur.execute("INSERT INTO sink SELECT k FROM endless WHERE k > %s", (0,))
print([n.strip().startswith("NOTICE:  submitted job ") for n in conn.notices])
cur.execute("CREATE MATERIALIZED VIEW live AS SELECT k, count(*) AS n FROM endless GROUP BY k")
def total():
    # A global aggregate over the still empty view is NULL.
    cur.execute("SELECT sum(n) FROM live")
    return cur.fetchone()[0] or 0
first = 0
for _ in range(500):
    first = total()
    if first > 0:
        break
    time.sleep(0.02)
for _ in range(500):
    if total() > first:
        print("view grows")
        break
    time.sleep(0.02)
cur.execute("SHOW JOBS")
print(sorted(r[1] for r in cur.fetchall() if r[2] == "RUNNING"))
threading.Timer(0.3, conn.cancel).start()
try:
    cur.execute("SELECT k FROM endless")
    print("not cancelled")
except psycopg2.errors.QueryCanceled as e:
    print("cancelled", e.pgcode)
cur.execute("SELECT 1")
print(cur.fetchone()[0])
`
	require.Equal(t, `[True]
view grows
['insert-into_default_catalog.default_database.sink', 'materialized-view_default_catalog.default_database.live']
cancelled 57014
1
`, runPsycopg2(t, script))
}

// TestShowSettingExtended reads PostgreSQL settings that are not Flink SQL
// through the extended protocol (Parse, Describe, Bind, Execute), as JDBC
// and pgx send them, including a value the session SET.
func TestShowSettingExtended(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	conn := connect(t, addr)
	ctx := context.Background()
	_, err := conn.Exec(ctx, "SET application_name = 'matrix'")
	require.NoError(t, err)
	for q, want := range map[string]string{
		"SHOW server_version_num":          "150000",
		"SHOW TRANSACTION ISOLATION LEVEL": "read committed",
		"show server_version":              ServerVersion,
		"SHOW application_name":            "matrix",
	} {
		var got string
		require.NoError(t, conn.QueryRow(ctx, q).Scan(&got), q)
		require.Equal(t, want, got, q)
	}
	_, err = conn.Exec(ctx, "SHOW no_such_setting")
	require.Error(t, err)
}
