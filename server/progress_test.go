package server

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestProgressNotices: a statement whose result takes a while reports its
// job's progress in NOTICEs (here every 100 ms), between which the result
// still arrives whole; a quick statement sends none.
func TestProgressNotices(t *testing.T) {
	_, addr, _ := testServer(t, Config{ProgressInterval: 100 * time.Millisecond})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, `CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '20', 'rows-per-second' = '10',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '20')`)
	require.NoError(t, err)

	var mu sync.Mutex
	var notices []string
	cfg := conn.Config().Config
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		defer mu.Unlock()
		notices = append(notices, n.Severity+" "+n.Message)
	}
	pc, err := pgconn.ConnectConfig(ctx, &cfg)
	require.NoError(t, err)
	defer pc.Close(ctx)

	results, err := pc.Exec(ctx, "SELECT count(*) AS n, max(id) AS top FROM slow").ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("20"), []byte("20")}, results[0].Rows[len(results[0].Rows)-1])
	mu.Lock()
	got := append([]string{}, notices...)
	notices = nil
	mu.Unlock()
	require.NotEmpty(t, got)
	re := regexp.MustCompile(`^NOTICE job [0-9a-f]+ has read \d+ records in \d+s$`)
	for _, n := range got {
		require.Regexp(t, re, n)
	}

	_, err = pc.Exec(ctx, "SELECT 1").ReadAll()
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, notices)
}
