package table_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// windowRows are rows of (k, v, ts) for stopWindowInsert: the first five
// fire the windows [0 s, 10 s) and [10 s, 20 s) as their watermark passes,
// the rest leave [20 s, 30 s), [30 s, 40 s) and [40 s, 50 s) open until
// the end of event time.
func windowRows() (before, after []values.Row) {
	row := func(k string, v int, sec int) values.Row {
		return values.Row{Kind: connector.Insert, Values: []any{k, json.Number(fmt.Sprint(v)),
			fmt.Sprintf("2026-01-01T00:00:%02d", sec)}}
	}
	before = []values.Row{row("a", 1, 1), row("b", 2, 2), row("a", 3, 11), row("a", 4, 12), row("b", 5, 21)}
	after = []values.Row{row("b", 6, 22), row("a", 7, 25), row("a", 8, 31), row("b", 9, 41), row("a", 10, 42)}
	return before, after
}

const stopWindowInsert = `INSERT INTO snk SELECT k, window_start, COUNT(*), SUM(v)
FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end`

// stopWindowSession is a session over source data src and sink data snk
// running stopWindowInsert's tables, with cfg's options.
func stopWindowSession(t *testing.T, ctx context.Context, src, snk string, cfg map[string]string) *table.Environment {
	t.Helper()
	cfg["table.dml-sync"] = "false"
	return sessionWith(t, ctx, cfg,
		"CREATE TABLE src (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'values', 'data-id' = '"+src+"')",
		"CREATE TABLE snk (k STRING, w TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snk+"')")
}

// sessionWith is a session with cfg's options that has run ddl.
func sessionWith(t *testing.T, ctx context.Context, cfg map[string]string, ddl ...string) *table.Environment {
	t.Helper()
	env, err := table.NewEnvironment(table.Settings{Config: cfg})
	require.NoError(t, err)
	for _, s := range ddl {
		_, err := env.ExecuteSQL(ctx, s)
		require.NoError(t, err, s)
	}
	return env
}

// sortedSinkRows are the rows the sink of data set d received, sorted.
func sortedSinkRows(d *values.Data) []string {
	recs, _ := d.Sink()
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.String()
	}
	sort.Strings(out)
	return out
}

// stopWithSavepoint runs STOP JOB 'id' WITH SAVEPOINT (with drain: WITH
// DRAIN) in env and returns the one value of its one row, checking that
// its column is Flink's `savepoint path`.
func stopWithSavepoint(t *testing.T, ctx context.Context, env *table.Environment, id string, drain bool) string {
	t.Helper()
	stmt := "STOP JOB '" + id + "' WITH SAVEPOINT"
	if drain {
		stmt += " WITH DRAIN"
	}
	res, err := env.ExecuteSQL(ctx, stmt)
	require.NoError(t, err, stmt)
	require.Equal(t, []string{"savepoint path"}, res.Schema.Names())
	rows := strings.Split(strings.TrimSuffix(readAll(t, res), "\n"), "\n")
	require.Len(t, rows, 1)
	return rows[0]
}

// TestStopJobWithSavepoint runs a TUMBLE window aggregate over a source
// that stays open: STOP JOB ... WITH SAVEPOINT stops it mid-stream (its
// open windows do not fire) into state.savepoints.dir, Flink's layout; a
// new session resumes it with execution.savepoint.path and STOP JOB ...
// WITH SAVEPOINT WITH DRAIN fires the window the watermark left open
// before it ends. The
// sink's rows over both runs equal those of one uninterrupted run over
// the same rows, at parallelism 1 and 2.
func TestStopJobWithSavepoint(t *testing.T) {
	before, after := windowRows()
	for _, par := range []string{"1", "2"} {
		t.Run("p="+par, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			// The uninterrupted run: a bounded source fires every window
			// at its end.
			whole := values.Register(&values.Data{Before: append(append([]values.Row(nil), before...), after...)})
			defer values.Unregister(whole)
			wholeOut := &values.Data{}
			wholeSnk := values.Register(wholeOut)
			defer values.Unregister(wholeSnk)
			env := stopWindowSession(t, ctx, whole, wholeSnk, map[string]string{"parallelism.default": par})
			res, err := env.ExecuteSQL(ctx, stopWindowInsert)
			require.NoError(t, err)
			require.NoError(t, res.Job.Wait(ctx))
			want := sortedSinkRows(wholeOut)
			require.Len(t, want, 8)

			src := &values.Data{Before: before, After: after, Pause: true, KeepOpen: true}
			srcID := values.Register(src)
			defer values.Unregister(srcID)
			out := &values.Data{}
			snkID := values.Register(out)
			defer values.Unregister(snkID)
			dir := t.TempDir()

			// First run: stopped once the source waits after its first rows.
			env1 := stopWindowSession(t, ctx, srcID, snkID, map[string]string{"parallelism.default": par, "state.savepoints.dir": dir})
			res, err = env1.ExecuteSQL(ctx, stopWindowInsert)
			require.NoError(t, err)
			waitPaused(ctx, t, src)
			path := stopWithSavepoint(t, ctx, env1, res.Job.ID(), false)
			require.Equal(t, exec.JobFinished, res.Job.Status())
			require.Equal(t, dir, filepath.Dir(path))
			require.Regexp(t, regexp.MustCompile(`^savepoint-`+res.Job.ID()[:6]+`-[0-9a-f]{12}$`), filepath.Base(path))
			sp, err := exec.ReadSavepointFile(path)
			require.NoError(t, err)
			require.NotEmpty(t, sp.Subtasks)
			entries, err := os.ReadDir(path)
			require.NoError(t, err)
			for _, e := range entries {
				require.False(t, strings.HasSuffix(e.Name(), ".inprogress"), "no temporary file is left: %s", e.Name())
			}
			first := sortedSinkRows(out)
			require.Len(t, first, 3, "only the windows the watermark passed fired: %v", first)

			// Second run, in a new session, resumed from the savepoint
			// through its file:// URI; Flink 2.x's key names the directory.
			env2 := stopWindowSession(t, ctx, srcID, snkID, map[string]string{"parallelism.default": par,
				"execution.checkpointing.savepoint-dir": "file://" + dir})
			_, err = env2.ExecuteSQL(ctx, "SET 'execution.savepoint.path' = 'file://"+path+"'")
			require.NoError(t, err)
			res, err = env2.ExecuteSQL(ctx, stopWindowInsert)
			require.NoError(t, err)
			waitPaused(ctx, t, src)
			// The watermark (42 s) fires [20 s, 30 s) and [30 s, 40 s);
			// [40 s, 50 s) waits for the end of event time, which only
			// the drain brings.
			require.Eventually(t, func() bool { return len(sortedSinkRows(out)) == 6 }, 10*time.Second, 5*time.Millisecond)
			require.NotContains(t, strings.Join(sortedSinkRows(out), " "), "00:00:40")
			drained := stopWithSavepoint(t, ctx, env2, res.Job.ID(), true)
			require.True(t, strings.HasPrefix(drained, "file://"+dir+"/savepoint-"), drained)
			_, err = exec.ReadSavepointFile(strings.TrimPrefix(drained, "file://"))
			require.NoError(t, err)
			require.Equal(t, want, sortedSinkRows(out), "both runs together wrote what one run writes, each row once")
		})
	}
}

// TestStopJobWithSavepointErrors: without a savepoint directory the job
// keeps running and the error names Flink's key; an unknown job and one
// that has ended are refused with their SQLSTATEs.
func TestStopJobWithSavepointErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before, after := windowRows()
	src := &values.Data{Before: before, After: after, Pause: true}
	srcID := values.Register(src)
	defer values.Unregister(srcID)
	snkID := values.Register(&values.Data{})
	defer values.Unregister(snkID)
	env := stopWindowSession(t, ctx, srcID, snkID, map[string]string{})
	res, err := env.ExecuteSQL(ctx, stopWindowInsert)
	require.NoError(t, err)
	waitPaused(ctx, t, src)
	id := res.Job.ID()

	_, err = env.ExecuteSQL(ctx, "STOP JOB '"+id+"' WITH SAVEPOINT")
	require.True(t, errs.Is(err, errs.ObjectNotInState), "%v", err)
	require.Equal(t, "55000", errs.State(err))
	require.ErrorContains(t, err, "No savepoint directory configured")
	require.ErrorContains(t, err, "'state.savepoints.dir'")
	require.Equal(t, exec.JobRunning, res.Job.Status(), "a refused stop leaves the job running")

	_, err = env.ExecuteSQL(ctx, "STOP JOB 'ffffffffffffffff' WITH SAVEPOINT")
	require.True(t, errs.Is(err, errs.UndefinedObject), "%v", err)
	require.ErrorContains(t, err, "line 1, column 1")

	_, err = env.ExecuteSQL(ctx, "STOP JOB '"+id+"' WITH DRAIN")
	require.Equal(t, "42601", errs.State(err), "%v", err)
	require.ErrorContains(t, err, "WITH DRAIN could only be used after WITH SAVEPOINT.")

	_, err = env.ExecuteSQL(ctx, "SET 'state.savepoints.dir' = '"+t.TempDir()+"'")
	require.NoError(t, err)
	stopWithSavepoint(t, ctx, env, id, false)
	_, err = env.ExecuteSQL(ctx, "STOP JOB '"+id+"' WITH SAVEPOINT")
	require.True(t, errs.Is(err, errs.ObjectNotInState), "%v", err)
	require.ErrorContains(t, err, "the job has already reached the terminal state FINISHED")

	// A batch job takes no savepoint, as in Flink.
	batchSrc := &values.Data{Before: before, Pause: true}
	batchID := values.Register(batchSrc)
	defer values.Unregister(batchID)
	benv := stopWindowSession(t, ctx, batchID, snkID, map[string]string{
		"execution.runtime-mode": "batch", "state.savepoints.dir": t.TempDir()})
	res, err = benv.ExecuteSQL(ctx, stopWindowInsert)
	require.NoError(t, err)
	waitPaused(ctx, t, batchSrc)
	_, err = benv.ExecuteSQL(ctx, "STOP JOB '"+res.Job.ID()+"' WITH SAVEPOINT")
	require.True(t, errs.Is(err, errs.ObjectNotInState), "%v", err)
	require.ErrorContains(t, err, "Job "+res.Job.ID()+" is not a streaming job.")
	require.Equal(t, exec.JobRunning, res.Job.Status(), "a refused stop leaves the job running")
	res.Job.Cancel()
}

// TestStopJobWithSavepointIntoJDBC stops a job whose jdbc sink buffers
// its rows (flushed every 1000 rows or hour): the savepoint flushes the
// buffer, as Flink's sink writers flush at every barrier, so the rows read
// before it are in PostgreSQL when STOP JOB returns, and the run resumed
// from the savepoint adds the rest, each row once.
func TestStopJobWithSavepointIntoJDBC(t *testing.T) {
	skipWithoutPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg := connectPostgres(t, ctx)
	tbl := fmt.Sprintf("eddy_stop_sp_%d", time.Now().UnixNano())
	_, err := pg.Exec(ctx, "CREATE TABLE "+tbl+" (k TEXT, v BIGINT)")
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = pg.Exec(context.Background(), "DROP TABLE "+tbl) })
	u, err := url.Parse(os.Getenv(postgresURLEnv))
	require.NoError(t, err)
	q := u.Query()
	if u.User != nil {
		q.Set("user", u.User.Username())
		if p, ok := u.User.Password(); ok {
			q.Set("password", p)
		}
	}
	jdbcURL := "jdbc:postgresql://" + u.Host + u.Path + "?" + q.Encode()
	rows := func() []string {
		r, err := pg.Query(ctx, "SELECT k || ':' || v FROM "+tbl+" ORDER BY 1")
		require.NoError(t, err)
		out, err := pgx.CollectRows(r, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}

	before, after := windowRows()
	src := &values.Data{Before: before, After: after, Pause: true}
	srcID := values.Register(src)
	defer values.Unregister(srcID)
	dir := t.TempDir()
	session := func() *table.Environment {
		env, err := table.NewEnvironment(table.Settings{Config: map[string]string{"state.savepoints.dir": dir}})
		require.NoError(t, err)
		for _, s := range []string{
			"CREATE TABLE src (k STRING, v BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'values', 'data-id' = '" + srcID + "')",
			"CREATE TABLE pg (k STRING, v BIGINT) WITH ('connector' = 'jdbc', 'url' = '" + jdbcURL + "', 'table-name' = '" + tbl + "', " +
				"'sink.buffer-flush.max-rows' = '1000', 'sink.buffer-flush.interval' = '1h')",
		} {
			_, err := env.ExecuteSQL(ctx, s)
			require.NoError(t, err, s)
		}
		return env
	}
	const insert = "INSERT INTO pg SELECT k, v FROM src"
	env := session()
	res, err := env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	waitPaused(ctx, t, src)
	path := stopWithSavepoint(t, ctx, env, res.Job.ID(), false)
	require.Len(t, rows(), len(before), "the rows read before the savepoint were flushed")

	env = session()
	_, err = env.ExecuteSQL(ctx, "SET 'execution.savepoint.path' = '"+path+"'")
	require.NoError(t, err)
	res, err = env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	require.NoError(t, res.Job.Wait(ctx))
	var want []string
	for _, r := range append(append([]values.Row(nil), before...), after...) {
		want = append(want, fmt.Sprintf("%s:%s", r.Values[0], r.Values[1]))
	}
	sort.Strings(want)
	require.Equal(t, want, rows())
}

// TestStopJobWithSavepointCommitsFiles stops a job writing Parquet files
// between checkpoints: as Flink completes a savepoint like a checkpoint,
// the part files rolled at its barrier are committed once it is written,
// so a reader sees the rows read before the stop without the job being
// resumed; resumed, the job adds the rest, each row once.
func TestStopJobWithSavepointCommitsFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before, after := windowRows()
	src := &values.Data{Before: before, After: after, Pause: true}
	srcID := values.Register(src)
	defer values.Unregister(srcID)
	out, spDir := t.TempDir(), t.TempDir()
	session := func(cfg map[string]string) *table.Environment {
		return sessionWith(t, ctx, cfg,
			"CREATE TABLE src (k STRING, v BIGINT, ts TIMESTAMP(3)) WITH ('connector' = 'values', 'data-id' = '"+srcID+"')",
			"CREATE TABLE files (k STRING, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '"+out+"', 'format' = 'parquet')")
	}
	count := func() string {
		env := session(map[string]string{"execution.runtime-mode": "batch"})
		res, err := env.ExecuteSQL(ctx, "SELECT CAST(COUNT(*) AS STRING) || ' | ' || CAST(COALESCE(SUM(v), 0) AS STRING) FROM files")
		require.NoError(t, err)
		return strings.TrimSpace(readAll(t, res))
	}

	// No checkpoint completes within the test: only the savepoint commits.
	env := session(map[string]string{"table.dml-sync": "false", "execution.checkpointing.interval": "1 h", "state.savepoints.dir": spDir})
	res, err := env.ExecuteSQL(ctx, "INSERT INTO files SELECT k, v FROM src")
	require.NoError(t, err)
	waitPaused(ctx, t, src)
	path := stopWithSavepoint(t, ctx, env, res.Job.ID(), false)
	require.Equal(t, "5 | 15", count(), "the rows before the savepoint are committed when it completes")

	env2 := session(map[string]string{"execution.savepoint.path": path})
	res, err = env2.ExecuteSQL(ctx, "INSERT INTO files SELECT k, v FROM src")
	require.NoError(t, err)
	require.NoError(t, res.Job.Wait(ctx))
	require.Equal(t, "10 | 55", count(), "resumed, the rest is added and nothing twice")
}
