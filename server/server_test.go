package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// testServer starts a server on loopback ports and returns its pgwire and
// HTTP addresses.
func testServer(t *testing.T, cfg Config) (*Server, string, string) {
	t.Helper()
	if cfg.Mem == nil {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		cfg.Mem = mem
		t.Cleanup(func() { mem.AssertSize(t, 0) })
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.ServePG(pl) }()
	go func() { _ = srv.ServeHTTP(hl) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, srv.Close(ctx))
	})
	return srv, pl.Addr().String(), hl.Addr().String()
}

func connect(t *testing.T, addr string, opts ...string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dsn := fmt.Sprintf("postgres://eddy@%s/eddy?sslmode=disable", addr)
	for _, o := range opts {
		dsn += "&" + o
	}
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

const ordersDDL = `CREATE TABLE orders (
  id BIGINT, amount DOUBLE, name STRING, ok BOOLEAN, n INT, d DECIMAL(10, 2), ts TIMESTAMP(3)
) WITH ('connector' = 'datagen', 'number-of-rows' = '100',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100')`

func TestPgxDDLQueryParams(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := connect(t, addr)

	// Simple protocol (Exec without arguments) for DDL.
	tag, err := conn.Exec(ctx, ordersDDL)
	require.NoError(t, err)
	require.Equal(t, "CREATE TABLE", tag.String())

	// Extended protocol with parameters of inferred types (binary int8).
	rows, err := conn.Query(ctx, "SELECT id, name, ok, n, d, ts FROM orders WHERE id > $1 AND id <= $2", 10, int64(13))
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		var name string
		var ok bool
		var n int32
		var d pgtype.Numeric
		var ts time.Time
		require.NoError(t, rows.Scan(&id, &name, &ok, &n, &d, &ts))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int64{11, 12, 13}, ids)
	require.Equal(t, "SELECT 3", rows.CommandTag().String())
	fds := rows.FieldDescriptions()
	oids := []uint32{}
	for _, f := range fds {
		oids = append(oids, f.DataTypeOID)
	}
	require.Equal(t, []uint32{oidInt8, oidText, oidBool, oidInt4, oidNumeric, oidTimestamp}, oids)

	// The same statement again reuses pgx's prepared statement.
	var count int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT id FROM orders WHERE id = $1", 42).Scan(&count))
	require.Equal(t, int64(42), count)

	// Text parameters and results through the simple protocol.
	var s string
	require.NoError(t, conn.QueryRow(ctx, "SELECT name FROM orders WHERE id = CAST($1 AS BIGINT)", pgx.QueryExecModeSimpleProtocol, 7).Scan(&s))
	require.NotEmpty(t, s)

	// Values in text format as PostgreSQL prints them.
	vals := textValues(t, conn, "SELECT TRUE, FALSE, 1.5, CAST(2.25 AS DOUBLE), CAST(NULL AS INT), TIMESTAMP '2020-01-01 00:00:00.123', DATE '2020-02-03', 'x'")
	require.Equal(t, []string{"t", "f", "1.5", "2.25", "NULL", "2020-01-01 00:00:00.123", "2020-02-03", "x"}, vals)

	// Other sessions see the shared catalog; SET stays per session.
	other := connect(t, addr)
	require.NoError(t, other.QueryRow(ctx, "SELECT id FROM orders WHERE id = 5").Scan(&count))
	_, err = other.Exec(ctx, "SET 'parallelism.default' = '2'")
	require.NoError(t, err)
}

// textValues runs a query over the simple protocol and returns its first
// row as the text the server sent.
func textValues(t *testing.T, conn *pgx.Conn, q string) []string {
	t.Helper()
	res := conn.PgConn().Exec(context.Background(), q)
	results, err := res.ReadAll()
	require.NoError(t, err)
	require.Len(t, results, 1)
	require.Len(t, results[0].Rows, 1)
	var out []string
	for _, v := range results[0].Rows[0] {
		if v == nil {
			out = append(out, "NULL")
		} else {
			out = append(out, string(v))
		}
	}
	return out
}

func TestPgxErrors(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)

	_, err := conn.Exec(ctx, "SELECT x FROM nowhere")
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "42P01", pe.Code)
	require.Equal(t, int32(15), pe.Position)

	_, err = conn.Exec(ctx, "SELEC 1")
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "42601", pe.Code)
	require.Equal(t, int32(1), pe.Position)

	// An error in the extended protocol, then the connection still works.
	_, err = conn.Query(ctx, "SELECT $1 + nope", 1)
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "42703", pe.Code)
	var one int32
	require.NoError(t, conn.QueryRow(ctx, "SELECT 1").Scan(&one))
	require.Equal(t, int32(1), one)

	// Several statements in one Query stop at the first error.
	results, err := conn.PgConn().Exec(ctx, "SET 'a.b' = 'c'; SELECT nope; SET 'd.e' = 'f'").ReadAll()
	require.Error(t, err)
	require.Len(t, results, 1)

	// An empty query and a transaction block.
	_, err = conn.Exec(ctx, "-- ping")
	require.NoError(t, err)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, tx.QueryRow(ctx, "SELECT 2").Scan(&one))
	require.NoError(t, tx.Commit(ctx))
}

func TestInsertJobAndHTTP(t *testing.T) {
	_, addr, httpAddr := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	var notices []string
	conn.PgConn().Exec(ctx, "").ReadAll()
	_, err := conn.Exec(ctx, ordersDDL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole')")
	require.NoError(t, err)

	cfg := conn.Config().Config
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices = append(notices, n.Message) }
	pc, err := pgconn.ConnectConfig(ctx, &cfg)
	require.NoError(t, err)
	defer pc.Close(ctx)
	results, err := pc.Exec(ctx, "INSERT INTO sink SELECT id FROM orders").ReadAll()
	require.NoError(t, err)
	require.Equal(t, "INSERT 0 0", results[0].CommandTag.String())
	require.Len(t, notices, 1)
	require.Contains(t, notices[0], "submitted job ")
	id := strings.Fields(strings.TrimPrefix(notices[0], "submitted job "))[0]

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + httpAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	require.Equal(t, 200, code)
	code, _ = get("/readyz")
	require.Equal(t, 200, code)
	code, body = get("/v1/jobs")
	require.Equal(t, 200, code)
	require.Contains(t, body, id)
	require.Eventually(t, func() bool {
		_, body = get("/v1/jobs/" + id)
		return strings.Contains(body, `"FINISHED"`)
	}, 10*time.Second, 20*time.Millisecond)
	require.Contains(t, body, `"recordsOut": 100`)
	code, _ = get("/v1/jobs/nope")
	require.Equal(t, 404, code)
	code, body = get("/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, "eddy_sessions 2")
}

func TestCancelStreamingQuery(t *testing.T) {
	srv, addr, httpAddr := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000')")
	require.NoError(t, err)

	// Rows of an unbounded query stream until the client cancels.
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := conn.Query(qctx, "SELECT id FROM endless")
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		n++
		if n == 50 {
			cancel() // pgx sends a CancelRequest on a new connection
		}
	}
	err = rows.Err()
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		require.Equal(t, "57014", pe.Code)
	} else {
		require.ErrorIs(t, err, context.Canceled)
	}
	require.GreaterOrEqual(t, n, 50)

	// A simple-protocol statement cancelled through the server's cancel key.
	conn2 := connect(t, addr)
	pc := conn2.PgConn()
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = pc.CancelRequest(context.Background())
	}()
	_, err = pc.Exec(ctx, "SELECT id FROM endless").ReadAll()
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "57014", pe.Code)
	require.Equal(t, "canceling statement due to user request", pe.Message)
	var one int32
	require.NoError(t, conn2.QueryRow(ctx, "SELECT 1").Scan(&one))
	_ = srv
	_ = httpAddr
}

func TestPortalSuspended(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, ordersDDL)
	require.NoError(t, err)
	pc := conn.PgConn()
	sd, err := pc.Prepare(ctx, "s1", "SELECT id FROM orders WHERE id <= $1", nil)
	require.NoError(t, err)
	require.Equal(t, []uint32{oidInt8}, sd.ParamOIDs)
	// Execute with a row limit through the raw protocol: Bind, Execute 2,
	// Execute 0, Sync.
	fe := pc.Frontend()
	fe.SendBind(&pgproto3.Bind{DestinationPortal: "p", PreparedStatement: "s1", Parameters: [][]byte{[]byte("5")}})
	fe.SendExecute(&pgproto3.Execute{Portal: "p", MaxRows: 2})
	fe.SendExecute(&pgproto3.Execute{Portal: "p"})
	fe.SendSync(&pgproto3.Sync{})
	require.NoError(t, fe.Flush())
	var kinds []string
	rows := 0
	for {
		msg, err := fe.Receive()
		require.NoError(t, err)
		name := fmt.Sprintf("%T", msg)
		switch name {
		case "*pgproto3.DataRow":
			rows++
			continue
		case "*pgproto3.CommandComplete":
			kinds = append(kinds, name+" "+string(msg.(*pgproto3.CommandComplete).CommandTag))
		default:
			kinds = append(kinds, name)
		}
		if name == "*pgproto3.ReadyForQuery" {
			break
		}
	}
	require.Equal(t, 5, rows)
	require.Equal(t, []string{"*pgproto3.BindComplete", "*pgproto3.PortalSuspended", "*pgproto3.CommandComplete SELECT 5", "*pgproto3.ReadyForQuery"}, kinds)
}

func TestAuthentication(t *testing.T) {
	for _, method := range []AuthMethod{AuthSCRAM, AuthMD5, AuthCleartext} {
		t.Run(string(method), func(t *testing.T) {
			_, addr, _ := testServer(t, Config{Users: map[string]string{"alice": "s3cret"}, Auth: method})
			ctx := context.Background()
			c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://alice:s3cret@%s/eddy?sslmode=disable", addr))
			require.NoError(t, err)
			var one int32
			require.NoError(t, c.QueryRow(ctx, "SELECT 1").Scan(&one))
			c.Close(ctx)
			_, err = pgx.Connect(ctx, fmt.Sprintf("postgres://alice:wrong@%s/eddy?sslmode=disable", addr))
			var pe *pgconn.PgError
			require.True(t, errors.As(err, &pe), "%v", err)
			require.Equal(t, "28P01", pe.Code)
		})
	}
}

func TestCatalogPersists(t *testing.T) {
	dir := t.TempDir()
	srv, addr, _ := testServer(t, Config{DataDir: dir})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, ordersDDL+"; CREATE VIEW v AS SELECT id FROM orders WHERE id < 3; CREATE TEMPORARY VIEW tmp AS SELECT 1")
	require.NoError(t, err)
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	_, addr2, _ := testServer(t, Config{DataDir: dir})
	conn2 := connect(t, addr2)
	rows, err := conn2.Query(ctx, "SELECT id FROM v")
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Equal(t, []int64{1, 2}, ids)
	_, err = conn2.Exec(ctx, "SELECT * FROM tmp")
	require.Error(t, err)
}

// TestPsql drives the machine's psql (15) when it is installed.
func TestPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	_, addr, _ := testServer(t, Config{})
	host, port, _ := net.SplitHostPort(addr)
	run := func(sql string) (string, error) {
		cmd := exec.Command(psql, "-X", "-h", host, "-p", port, "-U", "eddy", "-d", "eddy", "-c", sql)
		cmd.Env = append(os.Environ(), "PGCONNECT_TIMEOUT=5")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(ordersDDL)
	require.NoError(t, err, out)
	require.Equal(t, "CREATE TABLE\n", out)
	out, err = run("SELECT id, id * 2 AS twice, id > 1 AS big FROM orders WHERE id <= 2")
	require.NoError(t, err, out)
	require.Equal(t, ` id | twice | big 
----+-------+-----
  1 |     2 | f
  2 |     4 | t
(2 rows)

`, out)
	out, err = run("SELECT nope FROM orders")
	require.Error(t, err)
	require.Equal(t, `ERROR:  column 'nope' not found in any table (near "nope")
LINE 1: SELECT nope FROM orders
               ^
`, out)
}

// BenchmarkConcurrentSessions runs small bounded queries on 200
// connections at once and reports queries per second and p99 latency:
// alternately a parameterized SELECT over VALUES and a pg_catalog lookup,
// both through pgx's extended protocol (prepared once per connection).
func BenchmarkConcurrentSessions(b *testing.B) {
	const conns = 200
	// Each bounded query runs as a job holding one slot while it runs;
	// with fewer slots than connections jobs would wait for slots
	// (slot.request.timeout), so give the cluster a slot per connection to
	// measure the sessions, not the queue.
	srv, err := New(Config{Slots: conns})
	require.NoError(b, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go func() { _ = srv.ServePG(l) }()
	defer func() { require.NoError(b, srv.Close(context.Background())) }()
	ctx := context.Background()
	pool := make([]*pgx.Conn, conns)
	for i := range pool {
		pool[i], err = pgx.Connect(ctx, fmt.Sprintf("postgres://eddy@%s/eddy?sslmode=disable", l.Addr()))
		require.NoError(b, err)
		defer pool[i].Close(ctx)
	}
	var mu sync.Mutex
	var lat []time.Duration
	next := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		next <- struct{}{}
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range pool {
		wg.Add(1)
		go func(c *pgx.Conn) {
			defer wg.Done()
			i := 0
			for range next {
				i++
				t0 := time.Now()
				var err error
				if i%2 == 0 {
					var n int64
					err = c.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname <> $1", "x").Scan(&n)
				} else {
					var s string
					err = c.QueryRow(ctx, "SELECT name FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) AS t (id, name) WHERE id = $1", int32(i%3+1)).Scan(&s)
				}
				if err != nil {
					b.Error(err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
