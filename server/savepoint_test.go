package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/testutil"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// savepointRows are rows of (k, v, ts): before fires the TUMBLE windows
// [0 s, 10 s) and [10 s, 20 s) as its watermark passes them, after the
// windows up to [30 s, 40 s), and the end of the input [40 s, 50 s).
func savepointRows() (before, after []values.Row) {
	row := func(k string, v, sec int) values.Row {
		return values.Row{Kind: connector.Insert, Values: []any{k, json.Number(fmt.Sprint(v)),
			fmt.Sprintf("2026-01-01T00:00:%02d", sec)}}
	}
	before = []values.Row{row("a", 1, 1), row("b", 2, 2), row("a", 3, 11), row("a", 4, 12), row("b", 5, 21)}
	after = []values.Row{row("b", 6, 22), row("a", 7, 25), row("a", 8, 31), row("b", 9, 41), row("a", 10, 42)}
	return before, after
}

const savepointInsert = `INSERT INTO snk SELECT k, window_start, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end`

// createSavepointTables creates src and snk over the values data sets src
// and snk in the session of conn, and the tables whole and whole_snk for
// the uninterrupted run over the data sets whole and wholeSnk.
func createSavepointTables(t *testing.T, conn *pgx.Conn, src, snk, whole, wholeSnk string) {
	t.Helper()
	ddl := func(name, id string) string {
		return "CREATE TABLE " + name + " (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'values', 'data-id' = '" + id + "')"
	}
	sink := func(name, id string) string {
		return "CREATE TABLE " + name + " (k STRING, w TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '" + id + "')"
	}
	for _, s := range []string{ddl("src", src), sink("snk", snk), ddl("whole", whole), sink("whole_snk", wholeSnk)} {
		_, err := conn.Exec(context.Background(), s)
		require.NoError(t, err, s)
	}
}

// uninterrupted runs the window aggregate over all rows at once into
// whole_snk and returns the sink's rows: what one run writes.
func uninterrupted(t *testing.T, conn *pgx.Conn, out *values.Data) []string {
	t.Helper()
	ctx := context.Background()
	_, err := conn.Exec(ctx, "SET 'table.dml-sync' = 'true'")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, strings.NewReplacer("snk", "whole_snk", "TABLE src", "TABLE whole").Replace(savepointInsert))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "RESET 'table.dml-sync'")
	require.NoError(t, err)
	return sortedRecords(out)
}

func sortedRecords(d *values.Data) []string {
	recs, _ := d.Sink()
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.String()
	}
	sort.Strings(out)
	return out
}

// waitSourcePaused waits until the values source waits after its Before
// rows.
func waitSourcePaused(t *testing.T, src *values.Data) {
	t.Helper()
	require.Eventually(t, func() bool { _, paused := src.Readers(); return paused == 1 }, 20*time.Second, 5*time.Millisecond)
}

// singleJob is the id of the one job SHOW JOBS lists.
func singleJob(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	jobs := showJobs(t, conn)
	require.Len(t, jobs, 1)
	return jobs[0][0]
}

// savepointData are the data sets of the savepoint tests: src, the source
// that pauses after its before-restore rows; snk, its sink; whole, the
// sink of one uninterrupted run over all the rows. ids are the data ids of
// src, snk, the uninterrupted run's source and whole, unregistered when
// the test ends.
type savepointData struct {
	src, snk, whole *values.Data
	ids             [4]string
}

func newSavepointData(t *testing.T) savepointData {
	before, after := savepointRows()
	d := savepointData{src: &values.Data{Before: before, After: after, Pause: true}, snk: &values.Data{}, whole: &values.Data{}}
	d.ids = [4]string{values.Register(d.src), values.Register(d.snk),
		values.Register(&values.Data{Before: append(append([]values.Row(nil), before...), after...)}), values.Register(d.whole)}
	t.Cleanup(func() {
		for _, id := range d.ids {
			values.Unregister(id)
		}
	})
	return d
}

// TestStopJobWithSavepointOverPgx stops a job with STOP JOB ... WITH
// SAVEPOINT over pgx, with no SET first: Flink's one-row result (column
// `savepoint path`), the savepoint on disk in the data directory's
// savepoints (the server's default) and in the durable job list, which a
// restarted server does not run again; a new session resumes the job from the savepoint,
// and the sink's rows over both runs are one run's.
func TestStopJobWithSavepointOverPgx(t *testing.T) {
	ctx := context.Background()
	d := newSavepointData(t)
	src, snkOut, wholeOut := d.src, d.snk, d.whole
	srcID, snkID, wholeID, wholeSnkID := d.ids[0], d.ids[1], d.ids[2], d.ids[3]
	dir := t.TempDir()

	srv, addr, _ := testServer(t, Config{DataDir: dir})
	conn := connect(t, addr)
	createSavepointTables(t, conn, srcID, snkID, wholeID, wholeSnkID)
	want := uninterrupted(t, conn, wholeOut)
	require.Len(t, want, 8)

	_, err := conn.Exec(ctx, savepointInsert)
	require.NoError(t, err)
	waitSourcePaused(t, src)
	var id string
	for _, j := range showJobs(t, conn) {
		if j[2] == "RUNNING" {
			id = j[0]
		}
	}
	require.NotEmpty(t, id)

	rows, err := conn.Query(ctx, "STOP JOB '"+id+"' WITH SAVEPOINT")
	require.NoError(t, err)
	var paths []string
	for rows.Next() {
		var p string
		require.NoError(t, rows.Scan(&p))
		paths = append(paths, p)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, "savepoint path", rows.FieldDescriptions()[0].Name)
	require.Len(t, paths, 1)
	path := paths[0]
	require.Equal(t, filepath.Join(dir, "savepoints"), filepath.Dir(path))
	require.True(t, strings.HasPrefix(filepath.Base(path), "savepoint-"+id[:6]+"-"), path)
	_, err = os.Stat(filepath.Join(path, exec.CheckpointMetadataFile))
	require.NoError(t, err)
	require.Len(t, sortedRecords(snkOut), 3, "the windows the watermark passed before the stop")

	var list jobList
	require.NoError(t, readJSONFile(filepath.Join(dir, "jobs.json"), &list))
	require.Len(t, list.Jobs, 1)
	require.Equal(t, id, list.Jobs[0].ID)
	require.Equal(t, path, list.Jobs[0].Savepoint)
	require.False(t, list.Jobs[0].Stopped.IsZero())
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	_, addr2, _ := testServer(t, Config{DataDir: dir})
	conn2 := connect(t, addr2)
	require.Empty(t, showJobs(t, conn2), "a job stopped with a savepoint is not restarted")
	_, err = conn2.Exec(ctx, "SET 'execution.savepoint.path' = '"+path+"'")
	require.NoError(t, err)
	_, err = conn2.Exec(ctx, "SET 'table.dml-sync' = 'true'")
	require.NoError(t, err)
	_, err = conn2.Exec(ctx, savepointInsert)
	require.NoError(t, err, "the resumed job reads the rest of the source and ends")
	require.Equal(t, want, sortedRecords(snkOut), "both runs together wrote what one run writes, each row once")
	// The resumed job left the durable list, which still records the
	// stopped one.
	require.Eventually(t, func() bool {
		var list jobList
		return readJSONFile(filepath.Join(dir, "jobs.json"), &list) == nil && len(list.Jobs) == 1 && list.Jobs[0].Savepoint == path
	}, 5*time.Second, 10*time.Millisecond)
}

// TestServerRestartResumesFromCheckpoint: a window aggregate that
// checkpoints into a directory is running when the server stops; the
// server started again on its data directory resumes it from its latest
// checkpoint (and says so in its log), and the sink ends with one run's
// rows, none twice and none lost. Restarted from scratch, the job would
// write the first windows again. The checkpoint directory is set, or
// left to the server's default under its data directory.
func TestServerRestartResumesFromCheckpoint(t *testing.T) {
	t.Run("set", func(t *testing.T) { testServerRestartResumes(t, true) })
	t.Run("default", func(t *testing.T) { testServerRestartResumes(t, false) })
}

func testServerRestartResumes(t *testing.T, setDir bool) {
	ctx := context.Background()
	d := newSavepointData(t)
	src, snkOut, wholeOut := d.src, d.snk, d.whole
	srcID, snkID, wholeID, wholeSnkID := d.ids[0], d.ids[1], d.ids[2], d.ids[3]
	dir, ckDir := t.TempDir(), t.TempDir()
	stmts := []string{"SET 'execution.checkpointing.interval' = '20 ms'", savepointInsert}
	if setDir {
		stmts = slices.Insert(stmts, 1, "SET 'execution.checkpointing.dir' = 'file://"+ckDir+"'")
	} else {
		ckDir = filepath.Join(dir, "checkpoints")
	}

	srv, addr, _ := testServer(t, Config{DataDir: dir})
	conn := connect(t, addr)
	createSavepointTables(t, conn, srcID, snkID, wholeID, wholeSnkID)
	want := uninterrupted(t, conn, wholeOut)
	for _, s := range stmts {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err, s)
	}
	waitSourcePaused(t, src)
	var job *exec.Job
	for _, e := range srv.jobs.list() {
		if e.job.Status() == exec.JobRunning {
			job = e.job
		}
	}
	require.NotNil(t, job)
	// A checkpoint triggered after the source paused holds every row it
	// read: two more completions guarantee one.
	paused := job.CheckpointStats().Completed
	require.Eventually(t, func() bool { return job.CheckpointStats().Completed >= paused+2 }, 20*time.Second, 5*time.Millisecond)
	require.Len(t, sortedRecords(snkOut), 3)
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	var log testutil.SyncBuffer
	srv2, _, _ := testServer(t, Config{DataDir: dir, Log: slog.New(slog.NewTextHandler(&log, nil))})
	require.Contains(t, log.String(), "restarted job from its latest checkpoint")
	require.Contains(t, log.String(), "previous="+job.ID())
	require.Contains(t, log.String(), filepath.Join(ckDir, job.ID(), "chk-"))
	var restarted *exec.Job
	for _, e := range srv2.jobs.list() {
		restarted = e.job
	}
	require.NotNil(t, restarted)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, restarted.Wait(waitCtx), "the resumed job reads the rest of the source and ends")
	require.Equal(t, want, sortedRecords(snkOut), "no sink row lost or written twice across the restart")
	require.Eventually(t, func() bool {
		var list jobList
		return readJSONFile(filepath.Join(dir, "jobs.json"), &list) == nil && len(list.Jobs) == 0
	}, 5*time.Second, 10*time.Millisecond, "the finished job leaves the durable list")
}

// TestHTTPStopJob stops a job through POST /v1/jobs/{id}/stop with Flink
// REST's body: without a directory it is refused (409), with
// targetDirectory and drain it answers the savepoint's location, and a job
// that has ended is refused.
func TestHTTPStopJob(t *testing.T) {
	ctx := context.Background()
	_, addr, httpAddr := testServer(t, Config{})
	conn := connect(t, addr)
	for _, s := range []string{
		"CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100')",
		"CREATE TABLE sink (id BIGINT) WITH ('connector' = 'blackhole')",
		"INSERT INTO sink SELECT id FROM gen",
	} {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err, s)
	}
	id := singleJob(t, conn)
	post := func(body string) (int, map[string]map[string]string) {
		resp, err := http.Post("http://"+httpAddr+"/v1/jobs/"+id+"/stop", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var out map[string]map[string]string
		require.NoError(t, json.Unmarshal(data, &out), string(data))
		return resp.StatusCode, out
	}
	code, out := post(`{"drain": true}`)
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, out["operation"]["failure-cause"], "No savepoint directory configured")
	require.Equal(t, "55000", out["operation"]["sqlstate"])

	dir := t.TempDir()
	code, out = post(`{"targetDirectory": "` + dir + `", "drain": true}`)
	require.Equal(t, http.StatusOK, code, "%v", out)
	require.Equal(t, "COMPLETED", out["status"]["id"])
	loc := out["operation"]["location"]
	require.Equal(t, dir, filepath.Dir(loc))
	_, err := exec.ReadSavepointFile(loc)
	require.NoError(t, err)
	require.Equal(t, "FINISHED", showJobs(t, conn)[0][2])

	code, out = post(`{"targetDirectory": "` + dir + `"}`)
	require.Equal(t, http.StatusConflict, code)
	require.Contains(t, out["operation"]["failure-cause"], "terminal state FINISHED")
}

// TestRemoteStopJobWithDrain: a session planning for the server's
// JobManager (Settings.JobManagerAddress) stops its job WITH SAVEPOINT
// WITH DRAIN over the RPC endpoint: the window the watermark left open
// fires before the job ends, so the sink holds what a run that reached
// the end of the same rows writes.
func TestRemoteStopJobWithDrain(t *testing.T) {
	_, addr := rpcServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before, _ := savepointRows()
	src := &values.Data{Before: before, Pause: true}
	srcID, snkOut := values.Register(src), &values.Data{}
	snkID := values.Register(snkOut)
	wholeID, wholeOut := values.Register(&values.Data{Before: before}), &values.Data{}
	wholeSnkID := values.Register(wholeOut)
	for _, id := range []string{srcID, snkID, wholeID, wholeSnkID} {
		defer values.Unregister(id)
	}
	dir := t.TempDir()
	env := remoteEnv(t, addr, table.Streaming, map[string]string{"state.savepoints.dir": dir})
	for _, s := range []string{
		"CREATE TABLE src (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'values', 'data-id' = '" + srcID + "')",
		"CREATE TABLE snk (k STRING, w TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '" + snkID + "')",
		"CREATE TABLE whole (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'values', 'data-id' = '" + wholeID + "')",
		"CREATE TABLE whole_snk (k STRING, w TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '" + wholeSnkID + "')",
	} {
		_, err := env.ExecuteSQL(ctx, s)
		require.NoError(t, err, s)
	}
	r, err := env.ExecuteSQL(ctx, strings.NewReplacer("snk", "whole_snk", "TABLE src", "TABLE whole").Replace(savepointInsert))
	require.NoError(t, err)
	require.NoError(t, r.Job.Wait(ctx))
	want := sortedRecords(wholeOut)

	r, err = env.ExecuteSQL(ctx, savepointInsert)
	require.NoError(t, err)
	waitSourcePaused(t, src)
	require.Eventually(t, func() bool { return len(sortedRecords(snkOut)) == len(want)-1 }, 10*time.Second, 5*time.Millisecond)
	res, err := env.ExecuteSQL(ctx, "STOP JOB '"+r.Job.ID()+"' WITH SAVEPOINT WITH DRAIN")
	require.NoError(t, err)
	b, err := res.Next(ctx)
	require.NoError(t, err)
	path := b.Column(0).ValueStr(0)
	b.Release()
	_, err = exec.ReadSavepointFile(path)
	require.NoError(t, err)
	require.Equal(t, want, sortedRecords(snkOut))
}

// TestRestoreCheckpointChoice: a restarted job resumes from the latest
// checkpoint its last run completed in its checkpoint directory, else from
// the one that run resumed from; without checkpointing into a directory
// it starts from scratch, and an unreadable checkpoint is an error rather
// than a silent start from scratch.
func TestRestoreCheckpointChoice(t *testing.T) {
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, env.Close()) })
	ckDir := t.TempDir()
	sp := &exec.Savepoint{Version: exec.SavepointVersion, MaxParallelism: exec.KeyGroups, Graph: &exec.JobGraph{Name: "j"}}
	older, err := exec.WriteSavepoint(filepath.Join(ckDir, "run1"), "run1", sp)
	require.NoError(t, err)
	cfg := map[string]string{"execution.checkpointing.interval": "1 s", "execution.checkpointing.dir": "file://" + ckDir}

	path, err := restoreCheckpoint(env, durableJob{ID: "run2", Config: map[string]string{"execution.checkpointing.dir": ckDir}, Restored: older})
	require.NoError(t, err)
	require.Empty(t, path, "without an interval nothing was checkpointed")
	path, err = restoreCheckpoint(env, durableJob{ID: "run2", Config: cfg, Restored: older})
	require.NoError(t, err)
	require.Equal(t, older, path, "run2 completed no checkpoint: the one it resumed from")

	for _, n := range []string{"chk-3", "chk-12"} {
		require.NoError(t, os.MkdirAll(filepath.Join(ckDir, "run2", n), 0o755))
		data, err := exec.EncodeSavepoint(sp)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(ckDir, "run2", n, exec.CheckpointMetadataFile), data, 0o644))
	}
	path, err = restoreCheckpoint(env, durableJob{ID: "run2", Config: cfg, Restored: older})
	require.NoError(t, err)
	require.Equal(t, filepath.Join(ckDir, "run2", "chk-12", exec.CheckpointMetadataFile), path)

	require.NoError(t, os.WriteFile(filepath.Join(ckDir, "run2", "chk-12", exec.CheckpointMetadataFile), []byte("{"), 0o644))
	_, err = restoreCheckpoint(env, durableJob{ID: "run2", Config: cfg})
	require.ErrorContains(t, err, "bad savepoint")
}
