package server

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog"
)

// TestPsqlScripts drives the machine's psql (15) against a server, one
// psql process per test case, and compares its output (stdout and stderr)
// with what testdata/psql holds. Arguments of a case are extra psql
// options (e.g. "-v FETCH_COUNT=2"); each input line is one -c command.
func TestPsqlScripts(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	_, addr, _ := testServer(t, Config{})
	host, port, _ := net.SplitHostPort(addr)
	datadriven.RunTest(t, "testdata/psql", func(t *testing.T, d *datadriven.TestData) string {
		args := []string{"-X", "-h", host, "-p", port, "-U", "eddy", "-d", "eddy"}
		for _, a := range d.CmdArgs {
			args = append(args, "-v", a.String())
		}
		for _, c := range strings.Split(d.Input, "\n") {
			args = append(args, "-c", c)
		}
		cmd := exec.Command(psql, args...)
		cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5", "PAGER=", "PSQL_PAGER=")
		out, _ := cmd.CombinedOutput()
		return string(out)
	})
}

// TestPGCatalogPgx reads the pg_catalog views through pgx's extended
// protocol, as drivers' metadata calls do, whether or not psql is here.
func TestPGCatalogPgx(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	conn := connect(t, addr)
	ctx := context.Background()
	_, err := conn.Exec(ctx, ordersDDL)
	require.NoError(t, err)
	var name, kind, ns string
	var oid int64
	err = conn.QueryRow(ctx, `SELECT c.oid, c.relname, c.relkind, n.nspname
FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) $1 COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2`, "^(orders)$").Scan(&oid, &name, &kind, &ns)
	require.NoError(t, err)
	require.Equal(t, []any{catalog.OID("default_catalog", "default_database", "orders"), "orders", "r", "default_database"},
		[]any{oid, name, kind, ns})
	var v string
	require.NoError(t, conn.QueryRow(ctx, "SELECT version()").Scan(&v))
	require.True(t, strings.HasPrefix(v, "PostgreSQL 15.0 "), v)
}

// TestPsycopg2 runs a small script with Debian's python3-psycopg2 (simple
// protocol, BEGIN before the first statement, a named cursor), skipped
// when it is not installed.
func TestPsycopg2(t *testing.T) {
	script := `
import sys, psycopg2
conn = psycopg2.connect(host=sys.argv[1], port=sys.argv[2], user="eddy", dbname="eddy")
cur = conn.cursor()
cur.execute("CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '5', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5')")
cur.execute("SELECT id, %s AS tag FROM s WHERE id > %s", ("x", 2))
print(sorted(cur.fetchall()))
cur.execute("SHOW TRANSACTION ISOLATION LEVEL")
print(cur.fetchone()[0])
cur.execute("SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r'")
print(cur.fetchall())
named = conn.cursor("big")
named.itersize = 2
named.execute("SELECT id FROM s")
print([r[0] for r in named])
named.close()
conn.commit()
`
	require.Equal(t, `[(3, 'x'), (4, 'x'), (5, 'x')]
read committed
[('s',)]
[1, 2, 3, 4, 5]
`, runPsycopg2(t, script))
}

// runPsycopg2 runs a Python script with Debian's python3-psycopg2 against
// a fresh server (host and port are sys.argv[1:3]) and returns what it
// printed; the test is skipped when psycopg2 is not installed.
func runPsycopg2(t *testing.T, script string) string {
	t.Helper()
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import psycopg2").Run() != nil {
		t.Skip("python3-psycopg2 is not installed")
	}
	_, addr, _ := testServer(t, Config{})
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(py, "-c", script, host, port).CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}
