package table_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// TestCheckpointFailoverFilesystemSink: with checkpointing on, a
// filesystem sink whose job fails once mid-stream and restarts from its
// latest checkpoint holds every row exactly once in its committed part
// files: a file rolled after the checkpoint was pending (hidden) when the
// job failed, and the restored writer deleted it with the failed
// attempt's other files. At parallelism 1 and 2, partitioned or not.
func TestCheckpointFailoverFilesystemSink(t *testing.T) {
	for _, par := range []int{1, 2} {
		for _, partitioned := range []bool{false, true} {
			t.Run(fmt.Sprintf("p=%d/partitioned=%v", par, partitioned), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				dir := t.TempDir()
				env := ckptEnv(t, false, failoverOptions(table.DMLSync, "true"))
				ddl := fmt.Sprintf(`CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv',
					'sink.rolling-policy.file-size' = '100b')`, dir)
				insert := "INSERT INTO out SELECT ckpt_fail_once(id) FROM src"
				if partitioned {
					ddl = fmt.Sprintf(`CREATE TABLE out (id BIGINT, p INT) PARTITIONED BY (p) WITH ('connector' = 'filesystem',
						'path' = '%s', 'format' = 'csv', 'sink.rolling-policy.file-size' = '100b')`, dir)
					insert = "INSERT INTO out SELECT ckpt_fail_once(id), CAST(id % 3 AS INT) FROM src"
				}
				for _, stmt := range []string{fmt.Sprintf("SET 'parallelism.default' = '%d'", par), ddl} {
					_, err := env.ExecuteSQL(ctx, stmt)
					require.NoError(t, err, stmt)
				}
				r, err := env.ExecuteSQL(ctx, insert)
				require.NoError(t, err)
				require.True(t, ckptFailed.Load(), "the function failed once")
				require.EqualValues(t, 1, r.Job.CheckpointStats().Restarts)

				requireOnceEach(t, dir, ckptRows, partitioned)
			})
		}
	}
}

// requireOnceEach checks that the committed csv part files below dir
// hold every id 0..rows-1 once, each in the directory p=id%3 when
// partitioned, and that no in-progress or pending file is left.
func requireOnceEach(t *testing.T, dir string, rows int, partitioned bool) {
	t.Helper()
	requireOnceEachIn(t, dir, "csv", rows, partitioned)
}

// requireOnceEachIn is requireOnceEach for files in format f (csv, or a
// JSON format whose lines hold "id":<n> once) and returns the number of
// committed part files.
func requireOnceEachIn(t *testing.T, dir, f string, rows int, partitioned bool) int {
	t.Helper()
	seen := make([]int, rows)
	var hidden []string
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			hidden = append(hidden, path)
			return nil
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Fields(string(data)) {
			if f != "csv" {
				_, after, ok := strings.Cut(line, `"id":`)
				if !ok {
					return fmt.Errorf("%s: no id in %s", path, line)
				}
				line = after[:strings.IndexFunc(after+"}", func(r rune) bool { return r < '0' || r > '9' })]
			}
			id, err := strconv.ParseInt(line, 10, 64)
			if err != nil {
				return err
			}
			if partitioned {
				require.Equal(t, fmt.Sprintf("p=%d", id%3), filepath.Base(filepath.Dir(path)), "row %d", id)
			}
			seen[id]++
		}
		return nil
	})
	require.NoError(t, err)
	for id, n := range seen {
		require.Equal(t, 1, n, "row %d", id)
	}
	require.Empty(t, hidden, "in-progress and pending files left behind")
	return files
}

// TestCheckpointFailoverFilesystemInProgress: with the default rolling
// policy a row format's part file stays in progress across the 10 ms
// checkpoints, as in Flink (only parquet rolls at every barrier): a
// failover truncates it back to the restored checkpoint and the restored
// writer goes on writing it, so the job ends with at most one part file
// per sink subtask and partition, every row in them once, and nothing
// hidden left. In csv, json and debezium-json, at parallelism 1 and 2,
// partitioned or not.
func TestCheckpointFailoverFilesystemInProgress(t *testing.T) {
	for _, f := range []string{"csv", "json", "debezium-json"} {
		for _, par := range []int{1, 2} {
			for _, partitioned := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/p=%d/partitioned=%v", f, par, partitioned), func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					dir := t.TempDir()
					env := ckptEnv(t, false, failoverOptions(table.DMLSync, "true"))
					ddl := fmt.Sprintf(`CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = '%s')`, dir, f)
					insert := "INSERT INTO out SELECT ckpt_fail_once(id) FROM src"
					parts := 1
					if partitioned {
						ddl = fmt.Sprintf(`CREATE TABLE out (id BIGINT, p INT) PARTITIONED BY (p) WITH ('connector' = 'filesystem',
							'path' = '%s', 'format' = '%s')`, dir, f)
						insert = "INSERT INTO out SELECT ckpt_fail_once(id), CAST(id % 3 AS INT) FROM src"
						parts = 3
					}
					execAll(t, ctx, env, fmt.Sprintf("SET 'parallelism.default' = '%d'", par), ddl)
					r, err := env.ExecuteSQL(ctx, insert)
					require.NoError(t, err)
					require.True(t, ckptFailed.Load(), "the function failed once")
					stats := r.Job.CheckpointStats()
					require.EqualValues(t, 1, stats.Restarts)
					files := requireOnceEachIn(t, dir, f, ckptRows, partitioned)
					require.LessOrEqual(t, files, par*parts, "part files after %d checkpoints", stats.Completed)
				})
			}
		}
	}
}

// TestRescaleFilesystemSinkSQL: a job writing a filesystem sink with
// checkpointing on, stopped with a savepoint at parallelism 2 while its
// sinks hold pending part files (csv rolled every 100 bytes) or files in
// progress (json, the default rolling policy), restores at 1 and at 3:
// the sink subtasks' states are dealt to the new ones
// (connector.SupportsRescaledRecovery), which commit the savepoint's
// pending files, resume the files in progress of their own index, cut
// back to the savepoint, and commit the others', and the committed files
// hold every row once.
func TestRescaleFilesystemSinkSQL(t *testing.T) {
	for _, f := range []string{"csv", "json"} {
		for _, par := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/2-to-%d", f, par), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				dir := t.TempDir()
				env := ckptEnv(t, false, map[string]string{exec.CheckpointingIntervalKey: "20 ms", table.DMLSync: "false"})
				const insert = "INSERT INTO out SELECT id FROM src"
				size := ""
				if f == "csv" {
					size = ", 'sink.rolling-policy.file-size' = '100b'"
				}
				execAll(t, ctx, env, fmt.Sprintf(`CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s',
					'format' = '%s'%s)`, dir, f, size))
				r, err := env.ExecuteSQL(ctx, insert)
				require.NoError(t, err)
				time.Sleep(100 * time.Millisecond)
				sp, err := r.Job.StopWithSavepoint(ctx)
				require.NoError(t, err)
				r.Close()
				pending, err := filepath.Glob(filepath.Join(dir, ".part-*"))
				require.NoError(t, err)
				require.NotEmpty(t, pending, "the savepoint's part files wait for the restored job")
				rerunRestored(t, ctx, env, insert, par, sp)
				requireOnceEachIn(t, dir, f, ckptRows, false)
			})
		}
	}
}

// TestFilesystemSinkRollsOnTime: the sink operator wakes the filesystem
// writer on processing time, so an unbounded job makes its part files
// visible after sink.rolling-policy.rollover-interval without more rows
// or the end of the input: without checkpointing at once, with it at the
// checkpoint after the roll. Checkpoints (every 20 ms) do not roll a csv
// file, so there are far fewer files than checkpoints.
func TestFilesystemSinkRollsOnTime(t *testing.T) {
	for _, checkpointing := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkpointing=%v", checkpointing), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dir := t.TempDir()
			var cfg map[string]string
			if checkpointing {
				cfg = map[string]string{exec.CheckpointingIntervalKey: "20 ms"}
			}
			env, err := table.NewEnvironment(table.Settings{Config: cfg})
			require.NoError(t, err)
			execAll(t, ctx, env,
				"CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100')",
				fmt.Sprintf(`CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv',
					'sink.rolling-policy.rollover-interval' = '200 ms', 'sink.rolling-policy.check-interval' = '50 ms')`, dir))
			r, err := env.ExecuteSQL(ctx, "INSERT INTO out SELECT id FROM src")
			require.NoError(t, err)
			defer r.Job.Cancel()
			var files []string
			require.Eventually(t, func() bool {
				files, err = filepath.Glob(filepath.Join(dir, "part-*"))
				return err == nil && len(files) >= 2
			}, 20*time.Second, 20*time.Millisecond, "part files rolled by time")
			if checkpointing {
				completed := r.Job.CheckpointStats().Completed
				require.Less(t, int64(len(files))*3, completed, "%d part files after %d checkpoints", len(files), completed)
			}
		})
	}
}
