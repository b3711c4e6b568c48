package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/internal/testutil"
	"github.com/eddysql/eddy/server"
	"github.com/eddysql/eddy/table"
)

// loggedAddr waits up to timeout for logs to hold the message msg with an
// addr attribute, the address a listener took, and returns that address.
func loggedAddr(t *testing.T, logs *testutil.SyncBuffer, msg string, timeout time.Duration) string {
	t.Helper()
	served := regexp.MustCompile(`msg="` + regexp.QuoteMeta(msg) + `" addr=(\S+)`)
	var addr string
	require.Eventually(t, func() bool {
		m := served.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, timeout, 5*time.Millisecond, "%s", logs.String())
	return addr
}

// `eddy server --rpc-addr` serves the JobManager to remote Environments.
func TestServerRPCAddr(t *testing.T) {
	var logs testutil.SyncBuffer
	cfg := server.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, "127.0.0.1:0", "", "127.0.0.1:0", 10*time.Second) }()
	defer func() {
		stop()
		require.NoError(t, <-done)
	}()

	addr := loggedAddr(t, &logs, "serving JobManager RPC", 10*time.Second)

	env, err := table.NewEnvironment(table.Settings{Mode: table.Batch, JobManagerAddress: addr})
	require.NoError(t, err)
	defer env.Close()
	qctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := env.SQLQuery("SELECT x * 2 AS y FROM (VALUES (1), (2), (3)) AS v(x)").Execute(qctx)
	require.NoError(t, err)
	rows, err := r.All(qctx)
	require.NoError(t, err)
	require.Len(t, rows, 3)
}

// `eddy server` stops cleanly on SIGTERM: the test binary runs main as
// the server in a child process, which must exit 0 after logging its
// shutdown, and a restart on the same data directory has the catalog.
func TestServerSIGTERM(t *testing.T) {
	if dir := os.Getenv("EDDY_TEST_SERVER_DATA"); dir != "" {
		os.Args = []string{"eddy", "server", "--data-dir", dir, "--pg-addr", "127.0.0.1:0", "--http-addr", "", "--rpc-addr", ""}
		main()
		return
	}
	dir := t.TempDir()
	start := func() (*exec.Cmd, *testutil.SyncBuffer, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServerSIGTERM$")
		cmd.Env = append(os.Environ(), "EDDY_TEST_SERVER_DATA="+dir)
		var logs testutil.SyncBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		require.NoError(t, cmd.Start())
		addr := loggedAddr(t, &logs, "serving PostgreSQL wire protocol", 20*time.Second)
		return cmd, &logs, addr
	}
	stop := func(cmd *exec.Cmd, logs *testutil.SyncBuffer) {
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err, logs.String())
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("the server did not stop on SIGTERM:\n%s", logs.String())
		}
		require.Contains(t, logs.String(), `msg="shutting down"`)
	}
	ctx := context.Background()
	cmd, logs, addr := start()
	conn, err := pgx.Connect(ctx, "postgres://eddy@"+addr+"/eddy?sslmode=disable")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE kept (id INT) WITH ('connector' = 'datagen', 'number-of-rows' = '2')")
	require.NoError(t, err)
	stop(cmd, logs)
	require.Error(t, conn.Ping(ctx), "the session ends with the server")

	cmd, logs, addr = start()
	conn, err = pgx.Connect(ctx, "postgres://eddy@"+addr+"/eddy?sslmode=disable")
	require.NoError(t, err)
	var n int64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM kept").Scan(&n))
	require.Equal(t, int64(2), n)
	conn.Close(ctx)
	stop(cmd, logs)
}
