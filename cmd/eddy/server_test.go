package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/server"
	"github.com/eddysql/eddy/table"
)

// syncBuffer is a bytes.Buffer safe for the server's log and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// `eddy server --rpc-addr` serves the JobManager to remote Environments.
func TestServerRPCAddr(t *testing.T) {
	var logs syncBuffer
	cfg := server.Config{Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, "127.0.0.1:0", "", "127.0.0.1:0", 10*time.Second) }()
	defer func() {
		stop()
		require.NoError(t, <-done)
	}()

	served := regexp.MustCompile(`msg="serving JobManager RPC" addr=(\S+)`)
	var addr string
	require.Eventually(t, func() bool {
		m := served.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 10*time.Second, 5*time.Millisecond)

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
