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

// requireOnceEach checks that the committed part files below dir hold
// every id 0..rows-1 once, each in the directory p=id%3 when partitioned,
// and that no in-progress or pending file is left.
func requireOnceEach(t *testing.T, dir string, rows int, partitioned bool) {
	t.Helper()
	seen := make([]int, rows)
	var hidden []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") {
			hidden = append(hidden, path)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Fields(string(data)) {
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
}

// TestRescaleFilesystemSinkSQL: a job writing a filesystem sink with
// checkpointing on, stopped with a savepoint at parallelism 2 while its
// sinks hold pending part files, restores at 1 and at 3: the sink
// subtasks' states are dealt to the new ones
// (connector.SupportsRescaledRecovery), which commit the savepoint's
// files, and the committed files hold every row once.
func TestRescaleFilesystemSinkSQL(t *testing.T) {
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("2-to-%d", par), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dir := t.TempDir()
			env := ckptEnv(t, false, map[string]string{exec.CheckpointingIntervalKey: "20 ms", table.DMLSync: "false"})
			const insert = "INSERT INTO out SELECT id FROM src"
			execAll(t, ctx, env, fmt.Sprintf(`CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s',
				'format' = 'csv', 'sink.rolling-policy.file-size' = '100b')`, dir))
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
			requireOnceEach(t, dir, ckptRows, false)
		})
	}
}

// TestFilesystemSinkRollsOnTime: the sink operator wakes the filesystem
// writer on processing time, so an unbounded job without checkpointing
// makes its part files visible after sink.rolling-policy.rollover-interval
// without more rows or the end of the input.
func TestFilesystemSinkRollsOnTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	for _, stmt := range []string{
		"CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100')",
		fmt.Sprintf(`CREATE TABLE out (id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv',
			'sink.rolling-policy.rollover-interval' = '200 ms', 'sink.rolling-policy.check-interval' = '50 ms')`, dir),
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	r, err := env.ExecuteSQL(ctx, "INSERT INTO out SELECT id FROM src")
	require.NoError(t, err)
	defer r.Job.Cancel()
	require.Eventually(t, func() bool {
		files, err := filepath.Glob(filepath.Join(dir, "part-*"))
		return err == nil && len(files) >= 2
	}, 20*time.Second, 20*time.Millisecond, "part files rolled by time")
}
