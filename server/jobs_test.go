package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// showJobs reads SHOW JOBS over pgx as rows of id, name, status and start
// time.
func showJobs(t *testing.T, conn *pgx.Conn) [][]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SHOW JOBS")
	require.NoError(t, err)
	var out [][]string
	for rows.Next() {
		var id, name, status, start, written string
		require.NoError(t, rows.Scan(&id, &name, &status, &start, &written))
		out = append(out, []string{id, name, status, start})
	}
	require.NoError(t, rows.Err())
	return out
}

// TestJobsRestartWithServer submits a continuous job, restarts the server
// on the same data directory and finds the job running again; a job
// stopped by STOP JOB is not restarted.
func TestJobsRestartWithServer(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv, addr, _ := testServer(t, Config{DataDir: dir})
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, `CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '50');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'blackhole')`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SET 'pipeline.name' = 'copy'")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "INSERT INTO snk SELECT id FROM src")
	require.NoError(t, err)
	// A second session sees the first one's job, with its start time.
	jobs := showJobs(t, connect(t, addr))
	require.Len(t, jobs, 1)
	require.Equal(t, []string{"copy", "RUNNING"}, jobs[0][1:3])
	started, err := time.Parse("2006-01-02T15:04:05.000Z", jobs[0][3])
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), started, time.Minute)
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	srv2, addr2, _ := testServer(t, Config{DataDir: dir})
	conn2 := connect(t, addr2)
	jobs2 := showJobs(t, conn2)
	require.Len(t, jobs2, 1)
	require.Equal(t, []string{"copy", "RUNNING"}, jobs2[0][1:3], "the job runs again under the name it was planned with")
	require.NotEqual(t, jobs[0][0], jobs2[0][0])
	_, err = conn2.Exec(ctx, "STOP JOB '"+jobs2[0][0]+"'")
	require.NoError(t, err)
	e := srv2.jobs.get(jobs2[0][0])
	<-e.job.Done()
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(filepath.Join(dir, "jobs.json"))
		return err == nil && !strings.Contains(string(data), jobs2[0][0])
	}, 5*time.Second, 10*time.Millisecond)
	conn2.Close(ctx)
	require.NoError(t, srv2.Close(ctx))

	_, addr3, _ := testServer(t, Config{DataDir: dir})
	require.Empty(t, showJobs(t, connect(t, addr3)))
}

// TestHTTPStatements runs scripts through POST /v1/statements: DDL, a
// bounded query with typed JSON values, an INSERT answering its job id,
// a query over unbounded input cut at max_rows, and an error.
func TestHTTPStatements(t *testing.T) {
	_, _, httpAddr := testServer(t, Config{})
	post := func(contentType, body string) (int, map[string]any) {
		resp, err := http.Post("http://"+httpAddr+"/v1/statements", contentType, strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(data, &out), string(data))
		return resp.StatusCode, out
	}
	code, out := post("text/plain", `CREATE TABLE nums (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '3', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3');
CREATE TABLE snk (id BIGINT) WITH ('connector' = 'blackhole');
SELECT id, id > 1 AS big, CAST(id AS STRING) AS s, CAST(NULL AS INT) AS n FROM nums;
INSERT INTO snk SELECT id FROM nums`)
	require.Equal(t, http.StatusOK, code, out)
	results := out["results"].([]any)
	require.Len(t, results, 4)
	require.Equal(t, "ok", results[0].(map[string]any)["kind"])
	sel := results[2].(map[string]any)
	require.Equal(t, "rows", sel["kind"])
	require.Equal(t, []any{[]any{1.0, false, "1", nil}, []any{2.0, true, "2", nil}, []any{3.0, true, "3", nil}}, sel["rows"])
	require.Equal(t, map[string]any{"name": "big", "type": "BOOLEAN"}, sel["columns"].([]any)[1])
	ins := results[3].(map[string]any)
	require.NotEmpty(t, ins["job_id"])

	code, out = post("application/json", `{"sql": "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000'); SELECT id FROM endless", "max_rows": 5}`)
	require.Equal(t, http.StatusOK, code, out)
	sel = out["results"].([]any)[1].(map[string]any)
	require.Len(t, sel["rows"], 5)
	require.Equal(t, true, sel["truncated"])

	code, out = post("text/plain", "SUBSCRIBE (SELECT id FROM nums WHERE id < 3)")
	require.Equal(t, http.StatusOK, code, out)
	sel = out["results"].([]any)[0].(map[string]any)
	require.Equal(t, true, sel["changelog"])
	require.Equal(t, []any{[]any{"+I", 1.0}, []any{"+I", 2.0}}, sel["rows"])

	code, out = post("text/plain", "CREATE TABLE t2 (id BIGINT) WITH ('connector' = 'datagen'); SELECT nope FROM t2")
	require.Equal(t, http.StatusBadRequest, code)
	require.Len(t, out["results"], 1)
	e := out["error"].(map[string]any)
	require.Equal(t, "42703", e["code"])
	require.Equal(t, "SELECT nope FROM t2", e["statement"])
	require.NotZero(t, e["position"])
}
