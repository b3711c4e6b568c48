package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/server"
)

// sqlServer starts a server for `eddy sql` to talk to.
func sqlServer(t *testing.T) string {
	t.Helper()
	srv, err := server.New(server.Config{})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.ServePG(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, srv.Close(ctx))
	})
	return l.Addr().String()
}

// `eddy sql --server … -f FILE` runs the script in one session and
// reports each statement's outcome, the id of a submitted job, and the
// line and column of an error.
func TestSQLFile(t *testing.T) {
	addr := sqlServer(t)
	file := filepath.Join(t.TempDir(), "job.sql")
	require.NoError(t, os.WriteFile(file, []byte(`CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '3',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO snk SELECT id FROM src;
SELECT id, id * 2 AS twice FROM src;
SELECT nope
  FROM src;
`), 0o600))
	var out bytes.Buffer
	cmd := sqlCommand()
	cmd.SetOut(&out)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetArgs([]string{"--server", addr, "-f", file})
	err := cmd.ExecuteContext(context.Background())
	require.EqualError(t, err, "line 6, column 8: column 'nope' not found in any table (near \"nope\") (SQLSTATE 42703)")
	got := out.String()
	require.Regexp(t, `^CREATE TABLE\nCREATE TABLE\n\[NOTICE\] submitted job [0-9a-f]+ \(insert-into_default_catalog.default_database.snk\)\nINSERT 0 0\n`, got)
	require.Contains(t, got, ` id | twice
----+-------
 1  | 2
 2  | 4
 3  | 6
(3 rows)
SELECT 3
`)
}

// The interactive shell over piped input: statements run as their ';'
// arrives (one may span lines, a ';' in quotes or comments does not end
// it), an error is printed and the shell goes on, the history file gets
// every statement, and \q leaves.
func TestSQLShell(t *testing.T) {
	addr := sqlServer(t)
	hist := filepath.Join(t.TempDir(), "history")
	in := strings.NewReader(`SET 'x.y' = 'z';
SELECT 'a;b' AS s, -- not; the end
  1 AS n;
SELECT nope; SELECT 2 AS two;
\q
SELECT 'never run';
`)
	var out bytes.Buffer
	require.NoError(t, runShell(context.Background(), in, &out, addr, "eddy", "eddy", hist))
	require.Equal(t, `SET
 s   | n
-----+---
 a;b | 1
(1 row)
SELECT 1
ERROR: column 'nope' not found in any table (near "nope") (SQLSTATE 42703)
 two
-----
 2
(1 row)
SELECT 1
`, strings.ReplaceAll(out.String(), "ERROR: line 1, column 8: ", "ERROR: "))
	b, err := os.ReadFile(hist)
	require.NoError(t, err)
	require.Equal(t, "SET 'x.y' = 'z';\nSELECT 'a;b' AS s, -- not; the end 1 AS n;\nSELECT nope;\nSELECT 2 AS two;\n", string(b))
}

func TestStatementEnd(t *testing.T) {
	for text, want := range map[string]int{
		"SELECT 1;":            9,
		"SELECT 1":             -1,
		"SELECT ';'":           -1,
		"SELECT 'it''s'; x":    15,
		"SELECT \"a;\" FROM t": -1,
		"-- a;\nSELECT 1;":     15,
		"-- a;":                -1,
		"/* ; */ SELECT 1;":    17,
		"/* ; ":                -1,
		"SELECT `;`;":          11,
	} {
		require.Equal(t, want, statementEnd(text), "%q", text)
	}
}

// keys feeds the line editor.
type keys struct{ b []byte }

func (k *keys) next() (byte, error) {
	if len(k.b) == 0 {
		return 0, io.EOF
	}
	b := k.b[0]
	k.b = k.b[1:]
	return b, nil
}

// The line editor: editing keys, the history under the arrows (with the
// line being typed kept while walking it), Ctrl-C dropping a line and
// Ctrl-D leaving.
func TestLineEditor(t *testing.T) {
	h := &history{entries: []string{"SELECT 1;", "SELECT 2;"}}
	var out bytes.Buffer
	e := &lineEditor{keys: &keys{[]byte(
		"SELEXT\x7f\x7fCT 3\x1b[D\x1b[D\x1b[3~\x1b[H-- \x1b[F;\r" + // edit: -- SELECT3;
			"\x1b[A\x1b[A\x1b[A\r" + // the oldest entry
			"draft\x1b[A\x1b[B\r" + // back down to the draft
			"gone\x03" + "é\x1b[D\x1b[D\x01x\x05y\x17\x17\r" + // Ctrl-C, UTF-8, Ctrl-A/E/W
			"\x04")}, out: &out, hist: h}
	var lines []string
	for {
		line, err := e.readLine("> ")
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		lines = append(lines, line)
	}
	require.Equal(t, []string{"-- SELECT3;", "SELECT 1;", "draft", ""}, lines)
}

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// An unbounded SELECT's rows are printed as they arrive, not when the
// statement ends (issue #5): the header and rows show up while the query
// still runs, and cancelling it (Ctrl-C) ends the command.
func TestSQLStreamsRows(t *testing.T) {
	addr := sqlServer(t)
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		cmd := sqlCommand()
		cmd.SetOut(&out)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		cmd.SetArgs([]string{"--server", addr, "-c", `CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen',
  'rows-per-second' = '20', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000');
SELECT id FROM src;`})
		done <- cmd.ExecuteContext(ctx)
	}()
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "\n 3\n") }, 30*time.Second, 20*time.Millisecond)
	require.True(t, strings.HasPrefix(out.String(), "CREATE TABLE\n id\n----\n 1\n 2\n"), out.String())
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled SELECT did not end")
	}
}
