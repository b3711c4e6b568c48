package table_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// TestRescaleDatagenSQL stops a job reading a rate-limited datagen table
// at parallelism 2 with a savepoint once some rows went through, and
// restores it from 'execution.savepoint.path' at parallelism 1 and 3
// (the rate raised by ALTER TABLE, which does not move positions): the
// datagen readers hand the rows they still owed to the new ones (as
// Flink's datagen source redistributes its sequence's remaining values)
// and the keyed COUNT and SUM move by key group, so the final totals are
// exact: every sequence value, and every row of number-of-rows, counted
// once.
func TestRescaleDatagenSQL(t *testing.T) {
	for _, tc := range []struct {
		name, with string
		// want is the final count and sum per key k of 0..9.
		want func(k int) string
	}{
		{"sequence", `'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '1999'`,
			// id = 10j + k for j < 200
			func(k int) string { return fmt.Sprintf("[%d, 200, %d]", k, 10*199*200/2+200*k) }},
		{"number-of-rows", `'number-of-rows' = '2000', 'fields.id.min' = '0', 'fields.id.max' = '0'`,
			// every id is 0: key 0 holds all rows.
			func(k int) string {
				if k == 0 {
					return "[0, 2000, 0]"
				}
				return ""
			}},
	} {
		for _, par := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/2-to-%d", tc.name, par), func(t *testing.T) {
				testRescaleDatagen(t, tc.with, par, tc.want)
			})
		}
	}
}

func testRescaleDatagen(t *testing.T, with string, par int, want func(int) string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, out, snk := rescaleSession(t, false)
	execAll(t, ctx, env,
		"CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '400', "+with+")",
		"CREATE TABLE snk (k BIGINT PRIMARY KEY NOT ENFORCED, c BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snk+"')",
	)
	const insert = "INSERT INTO snk SELECT id % 10, COUNT(*), SUM(id) FROM src GROUP BY id % 10"
	r, err := env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	// 200 rows per second and subtask: the first rows pass at once, the
	// last would come after 5 s.
	require.Eventually(t, func() bool { recs, _ := out.Sink(); return len(recs) > 0 }, 30*time.Second, 5*time.Millisecond)
	sp, err := r.Job.StopWithSavepoint(ctx)
	require.NoError(t, err)
	r.Close()
	before := lastPerKey(out)
	recs, _ := out.Sink()
	n := len(recs)
	require.NotEmpty(t, before)
	rerunRestored(t, ctx, env, insert, par, sp, "ALTER TABLE src SET ('rows-per-second' = '1000000')")
	// The restored job's aggregate went on from the counts of the first:
	// its first row per key counts more.
	recs, _ = out.Sink()
	seen := map[string]bool{}
	for _, rec := range recs[n:] {
		k := rec.Fields[0]
		if b, ok := before[k]; ok && !seen[k] && !rec.Kind.IsRetraction() {
			seen[k] = true
			require.Greater(t, count(rec.Fields[1]), count(strings.Split(b, ", ")[1]), "key %s: %v after %s", k, rec, b)
		}
	}
	got := lastPerKey(out)
	for k := range 10 {
		require.Equal(t, want(k), got[strconv.Itoa(k)], "key %d; before the savepoint %v", k, before)
	}
}

// lastPerKey is the last row the upsert sink received per key (its first
// field).
func lastPerKey(d *values.Data) map[string]string {
	recs, _ := d.Sink()
	m := map[string]string{}
	for _, r := range recs {
		if r.Kind.IsRetraction() {
			delete(m, r.Fields[0])
		} else {
			m[r.Fields[0]] = "[" + r.Fields[0] + ", " + r.Fields[1] + ", " + r.Fields[2] + "]"
		}
	}
	return m
}

func count(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// saveSavepoint writes sp where 'execution.savepoint.path' can name it.
func saveSavepoint(t *testing.T, sp *exec.Savepoint) string {
	data, err := exec.EncodeSavepoint(sp)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), exec.CheckpointMetadataFile)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// rescaleSession is a session at parallelism 2 submitting its INSERTs
// without waiting (with batches of 10 rows when smallBatches is set), and a
// values sink registered as snk, its received rows out.
func rescaleSession(t *testing.T, smallBatches bool) (env *table.Environment, out *values.Data, snk string) {
	t.Helper()
	out = &values.Data{}
	snk = values.Register(out)
	t.Cleanup(func() { values.Unregister(snk) })
	cfg := map[string]string{"parallelism.default": "2", "table.dml-sync": "false"}
	if smallBatches {
		cfg[exec.BatchSizeKey] = "10"
	}
	env, err := table.NewEnvironment(table.Settings{Config: cfg})
	require.NoError(t, err)
	return env, out, snk
}

// execAll runs the statements in env, each to success.
func execAll(t *testing.T, ctx context.Context, env *table.Environment, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
}

// rerunRestored runs insert to its end at parallelism par, restored from
// sp, after the statements extra.
func rerunRestored(t *testing.T, ctx context.Context, env *table.Environment, insert string, par int, sp *exec.Savepoint, extra ...string) {
	t.Helper()
	execAll(t, ctx, env, append([]string{
		"SET 'parallelism.default' = '" + strconv.Itoa(par) + "'",
		"SET '" + table.SavepointPath + "' = '" + saveSavepoint(t, sp) + "'",
	}, extra...)...)
	r, err := env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	require.NoError(t, r.Job.Wait(ctx))
	r.Close()
}

// requireFileTotals checks the sink's count and sum per n % 10 of the
// values n = 1..2000 the file tests read.
func requireFileTotals(t *testing.T, out *values.Data) {
	t.Helper()
	got := lastPerKey(out)
	for k := range 10 {
		// n = 10j + k for j < 200 (k > 0), 10j for 0 < j <= 200 (k = 0)
		s := 10*199*200/2 + 200*k
		if k == 0 {
			s = 10 * 200 * 201 / 2
		}
		require.Equal(t, fmt.Sprintf("[%d, 200, %d]", k, s), got[strconv.Itoa(k)], "key %d", k)
	}
}

// countedRows is the sum of the counts (the second field) of the sink's
// rows, the rows the job had counted.
func countedRows(d *values.Data) int64 {
	var n int64
	for _, row := range lastPerKey(d) {
		n += count(strings.Split(row, ", ")[1])
	}
	return n
}

// gateFunction registers name(n BIGINT), which returns n once gate is
// closed and, until then, blocks, telling called that a row waits.
func gateFunction(t *testing.T, env *table.Environment, name string) (gate, called chan struct{}) {
	t.Helper()
	gate, called = make(chan struct{}), make(chan struct{}, 2)
	require.NoError(t, env.CreateFunction(name, func(n int64) int64 {
		select {
		case <-gate:
		default:
			select {
			case called <- struct{}{}:
			default:
			}
			<-gate
		}
		return n
	}))
	return gate, called
}

// stopWhileGated stops job with a savepoint while its sources wait on
// gate, and opens the gate once the stop had time to reach them, so that
// the savepoint falls at the rows the sources had read by then.
func stopWhileGated(t *testing.T, ctx context.Context, job *exec.Job, gate chan struct{}) *exec.Savepoint {
	t.Helper()
	stopped := make(chan error, 1)
	var sp *exec.Savepoint
	go func() {
		var err error
		sp, err = job.StopWithSavepoint(ctx)
		stopped <- err
	}()
	time.Sleep(50 * time.Millisecond)
	close(gate)
	require.NoError(t, <-stopped)
	return sp
}

// TestRescaleUnboundedDatagenSQL: an unbounded datagen table with a
// watermark, stopped with a savepoint at parallelism 2, restores at 3 and
// goes on counting from the restored counts.
func TestRescaleUnboundedDatagenSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, out, snk := rescaleSession(t, false)
	execAll(t, ctx, env,
		`CREATE TABLE src (id BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'datagen',
			'rows-per-second' = '400', 'fields.id.min' = '0', 'fields.id.max' = '0', 'fields.ts.max-past' = '1 s')`,
		"CREATE TABLE snk (k BIGINT PRIMARY KEY NOT ENFORCED, c BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snk+"')",
	)
	const insert = "INSERT INTO snk SELECT id, COUNT(*), SUM(id) FROM src GROUP BY id"
	r, err := env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	require.Eventually(t, func() bool { recs, _ := out.Sink(); return len(recs) > 0 }, 30*time.Second, 5*time.Millisecond)
	sp, err := r.Job.StopWithSavepoint(ctx)
	require.NoError(t, err)
	r.Close()
	before := count(strings.Split(lastPerKey(out)["0"], ", ")[1])
	require.Positive(t, before)

	_, err = env.ExecuteSQL(ctx, "SET 'parallelism.default' = '3'")
	require.NoError(t, err)
	env.RestoreNextJob(sp)
	r, err = env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	defer r.Close()
	require.Eventually(t, func() bool {
		return count(strings.Split(lastPerKey(out)["0"], ", ")[1]) >= before+400
	}, 30*time.Second, 10*time.Millisecond)
	r.Job.Cancel()
}

// TestRescaleFilesystemSQL stops a job reading four files at parallelism
// 2 with a savepoint while its readers are inside their first files (a
// UDF holds them after their first batch), and restores it at parallelism
// 1 and 3: the files and rows the old readers had left go to the new ones
// (as Flink's FileSource reassigns its splits), so the keyed COUNT and SUM
// count every row once.
func TestRescaleFilesystemSQL(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for f := range 4 {
		var b strings.Builder
		for range 500 {
			n++
			fmt.Fprintln(&b, n)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.csv", f)), []byte(b.String()), 0o644))
	}
	rescaleFileSQL(t, dir, "csv")
}

// rescaleFileSQL runs a job counting and summing the values n of the
// files in dir (in format) by n % 10 at parallelism 2, stops it with a
// savepoint while its readers are inside their files, and restores it at
// 1 and at 3: the totals are those of n = 1..2000 (requireFileTotals).
func rescaleFileSQL(t *testing.T, dir, format string) {
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("2-to-%d", par), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env, out, snk := rescaleSession(t, true)
			name := fmt.Sprintf("fs_gate_%d", par)
			gate, called := gateFunction(t, env, name)
			execAll(t, ctx, env,
				"CREATE TABLE src (n BIGINT) WITH ('connector' = 'filesystem', 'path' = '"+dir+"', 'format' = '"+format+"')",
				"CREATE TABLE snk (k BIGINT PRIMARY KEY NOT ENFORCED, c BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snk+"')",
			)
			insert := "INSERT INTO snk SELECT n % 10, COUNT(*), SUM(" + name + "(n)) FROM src GROUP BY n % 10"
			r, err := env.ExecuteSQL(ctx, insert)
			require.NoError(t, err)
			<-called
			sp := stopWhileGated(t, ctx, r.Job, gate)
			r.Close()
			// The readers stopped inside their files.
			require.Less(t, countedRows(out), int64(2000))
			for _, st := range sp.Subtasks {
				require.False(t, st.Finished, "subtask %d of vertex %d finished", st.Subtask, st.Vertex)
			}
			rerunRestored(t, ctx, env, insert, par, sp)
			requireFileTotals(t, out)
		})
	}
}
