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

// TestRescaleNexmarkSQL stops a job reading 3000 rate-limited nexmark
// events at parallelism 2 with a savepoint, and restores it from
// 'execution.savepoint.path' at parallelism 1 and 3: the readers hand the
// event numbers they still owed to the new ones, so the keyed counts and
// sums per event type equal those of one uninterrupted run: every event
// counted once.
func TestRescaleNexmarkSQL(t *testing.T) {
	const ddl = `CREATE TABLE events (event_type INT, person ROW<id BIGINT>, auction ROW<id BIGINT>, bid ROW<auction BIGINT, price BIGINT>)
		WITH ('connector' = 'nexmark', 'events.num' = '3000', 'first-event.rate' = '1000', 'rate.limited' = 'true')`
	const insert = `INSERT INTO snk SELECT event_type, COUNT(*), SUM(COALESCE(person.id, auction.id, bid.price)) FROM events GROUP BY event_type`
	setup := func(t *testing.T, ctx context.Context, par int) (*table.Environment, *values.Data) {
		out := &values.Data{}
		snk := values.Register(out)
		t.Cleanup(func() { values.Unregister(snk) })
		env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
			"parallelism.default": strconv.Itoa(par), "table.dml-sync": "false", exec.BatchSizeKey: "10"}})
		require.NoError(t, err)
		execAll(t, ctx, env, ddl,
			"CREATE TABLE snk (k INT PRIMARY KEY NOT ENFORCED, c BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snk+"')")
		return env, out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The uninterrupted run, unpaced.
	env, out := setup(t, ctx, 1)
	_, err := env.ExecuteSQL(ctx, "ALTER TABLE events SET ('rate.limited' = 'false')")
	require.NoError(t, err)
	r, err := env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	require.NoError(t, r.Job.Wait(ctx))
	r.Close()
	want := lastPerKey(out)
	require.Len(t, want, 3)

	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("2-to-%d", par), func(t *testing.T) {
			env, out := setup(t, ctx, 2)
			r, err := env.ExecuteSQL(ctx, insert)
			require.NoError(t, err)
			// 1000 events a second: the first pass at once, the last
			// would come after 3 s.
			require.Eventually(t, func() bool { return len(lastPerKey(out)) == 3 }, 30*time.Second, 5*time.Millisecond)
			sp, err := r.Job.StopWithSavepoint(ctx)
			require.NoError(t, err)
			r.Close()
			before := countedRows(out)
			require.Less(t, before, int64(3000))
			// Pacing does not change the events.
			rerunRestored(t, ctx, env, insert, par, sp, "ALTER TABLE events SET ('rate.limited' = 'false')")
			require.Equal(t, want, lastPerKey(out), "%d events before the savepoint", before)
		})
	}
}

// TestRescaleFilesystemFinishedReaderSQL reads uneven files at
// parallelism 2: reader 0 has two files of 10 rows and finishes before the
// savepoint, while a UDF holds reader 1 in its first big file. Restored
// at parallelism 1 and 3 the vertex rescales although one of its
// subtasks had finished, as in Flink: the finished reader's files are not
// read again, the others' rest is reassigned, and every row is counted
// once.
func TestRescaleFilesystemFinishedReaderSQL(t *testing.T) {
	dir := t.TempDir()
	// Files are dealt to the readers in listing order: reader 0 reads
	// part-0 (1..10) and part-2 (1001..1010), reader 1 part-1 (11..1000)
	// and part-3 (1011..2000).
	bounds := [][2]int{{1, 10}, {11, 1000}, {1001, 1010}, {1011, 2000}}
	for f, b := range bounds {
		var sb strings.Builder
		for n := b[0]; n <= b[1]; n++ {
			fmt.Fprintln(&sb, n)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.csv", f)), []byte(sb.String()), 0o644))
	}
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("2-to-%d", par), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env, out, snk := rescaleSession(t, true)
			// fs_hold(n) is n; for reader 1's rows, once the gate opens.
			gate := make(chan struct{})
			name := fmt.Sprintf("fs_hold_%d", par)
			require.NoError(t, env.CreateFunction(name, func(n int64) int64 {
				if n > 10 && (n <= 1000 || n > 1010) {
					<-gate
				}
				return n
			}))
			execAll(t, ctx, env,
				"CREATE TABLE src (n BIGINT) WITH ('connector' = 'filesystem', 'path' = '"+dir+"', 'format' = 'csv')",
				"CREATE TABLE snk (k BIGINT PRIMARY KEY NOT ENFORCED, c BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snk+"')",
			)
			insert := "INSERT INTO snk SELECT n % 10, COUNT(*), SUM(" + name + "(n)) FROM src GROUP BY n % 10"
			r, err := env.ExecuteSQL(ctx, insert)
			require.NoError(t, err)
			// Reader 0's 20 rows went through: two per key.
			require.Eventually(t, func() bool { return countedRows(out) == 20 }, 30*time.Second, 5*time.Millisecond)
			// Let reader 0 report its end.
			time.Sleep(100 * time.Millisecond)
			sp := stopWhileGated(t, ctx, r.Job, gate)
			r.Close()
			before := countedRows(out)
			require.Less(t, before, int64(2000))
			var finished []int
			for _, st := range sp.Subtasks {
				if st.Finished {
					finished = append(finished, st.Subtask)
				}
			}
			require.Equal(t, []int{0}, finished, "the finished subtasks")
			rerunRestored(t, ctx, env, insert, par, sp)
			requireFileTotals(t, out)
		})
	}
}

// TestRescaleUnboundedNexmarkSQL: an unbounded rate-limited nexmark table
// with its WATERMARK, stopped with a savepoint at parallelism 2, restores
// at 3 and goes on counting from the restored count (the connector's
// TestRescaleUnbounded checks that each event number comes once).
func TestRescaleUnboundedNexmarkSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, out, snk := rescaleSession(t, true)
	execAll(t, ctx, env,
		`CREATE TABLE events (event_type INT, bid ROW<dateTime TIMESTAMP(3)>,
			dateTime AS bid.dateTime, WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND)
			WITH ('connector' = 'nexmark', 'first-event.rate' = '2000', 'rate.limited' = 'true')`,
		"CREATE TABLE snk (k INT PRIMARY KEY NOT ENFORCED, c BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snk+"')",
	)
	const insert = "INSERT INTO snk SELECT 0, COUNT(*), CAST(SUM(event_type) AS BIGINT) FROM events"
	total := func() int64 {
		row, ok := lastPerKey(out)["0"]
		if !ok {
			return 0
		}
		return count(strings.Split(row, ", ")[1])
	}
	r, err := env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return total() > 0 }, 30*time.Second, 5*time.Millisecond)
	sp, err := r.Job.StopWithSavepoint(ctx)
	require.NoError(t, err)
	r.Close()
	before := total()

	_, err = env.ExecuteSQL(ctx, "SET 'parallelism.default' = '3'")
	require.NoError(t, err)
	env.RestoreNextJob(sp)
	r, err = env.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	defer r.Close()
	require.Eventually(t, func() bool { return total() >= before+1000 }, 30*time.Second, 10*time.Millisecond)
	r.Job.Cancel()
}
