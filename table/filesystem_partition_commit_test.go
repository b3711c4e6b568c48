package table_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// successFiles lists the partition directories below dir (relative, as
// written) that hold a _SUCCESS file.
func successFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "_SUCCESS"))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(filepath.Dir(f)))
	}
	slices.Sort(out)
	return out
}

// TestFilesystemPartitionCommitSQL: a streaming job with checkpoints
// writes hourly partitions of event time with the partition-time trigger
// and a delay of an hour: a partition gets its success file once the
// watermark passes its end, while the job still writes later ones, and
// every partition has one when the job ends, with all its rows.
func TestFilesystemPartitionCommitSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
		exec.CheckpointingIntervalKey: "20 ms", "table.local-time-zone": "UTC", "parallelism.default": "2"}})
	require.NoError(t, err)
	const rows = 600 // a row a minute: ten hours
	for _, stmt := range []string{
		fmt.Sprintf(`CREATE TABLE src (id BIGINT, ts AS TO_TIMESTAMP_LTZ(id * 60000, 3), WATERMARK FOR ts AS ts)
			WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0',
			'fields.id.end' = '%d', 'rows-per-second' = '150')`, rows-1),
		fmt.Sprintf(`CREATE TABLE out (id BIGINT, dt STRING) PARTITIONED BY (dt) WITH ('connector' = 'filesystem',
			'path' = '%s', 'format' = 'csv', 'sink.partition-commit.trigger' = 'partition-time',
			'sink.partition-commit.delay' = '1 h', 'sink.partition-commit.policy.kind' = 'success-file')`, dir),
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	r, err := env.ExecuteSQL(ctx, "INSERT INTO out SELECT id, DATE_FORMAT(ts, 'yyyy-MM-dd HH:00:00') FROM src")
	require.NoError(t, err)
	defer r.Job.Cancel()
	require.Eventually(t, func() bool { return len(successFiles(t, dir)) > 0 }, time.Minute, 10*time.Millisecond)
	committed := successFiles(t, dir)
	select {
	case <-r.Job.Done():
		t.Fatal("the job ended before a partition committed")
	default:
	}
	require.Equal(t, "dt=1970-01-01 00%3A00%3A00", committed[0])
	require.NoError(t, r.Job.Wait(ctx))
	var want []string
	for h := range rows / 60 {
		want = append(want, fmt.Sprintf("dt=1970-01-01 %02d%%3A00%%3A00", h))
	}
	require.Equal(t, want, successFiles(t, dir))
	require.Equal(t, []string{fmt.Sprint(rows)}, runRows(t, ctx, nil,
		fmt.Sprintf("CREATE TABLE back (id BIGINT, dt STRING) PARTITIONED BY (dt) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');", dir),
		"SELECT COUNT(DISTINCT id) FROM back WHERE id / 60 = CAST(SUBSTRING(dt, 12, 2) AS BIGINT)"))
}

// TestFilesystemInsertOverwriteSQL: in batch mode INSERT OVERWRITE
// replaces the partitions it writes (or names), or the whole table, and a
// batch job with the success-file policy commits every partition it wrote;
// in streaming mode INSERT OVERWRITE is refused, as in Flink.
func TestFilesystemInsertOverwriteSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, plain := t.TempDir(), t.TempDir()
	batch := map[string]string{"execution.runtime-mode": "batch", "parallelism.default": "2", table.DMLSync: "true"}
	ddl := fmt.Sprintf(`CREATE TABLE pt (n INT, dt STRING) PARTITIONED BY (dt) WITH ('connector' = 'filesystem', 'path' = '%s',
		'format' = 'csv', 'sink.partition-commit.policy.kind' = 'success-file');
		CREATE TABLE u (n INT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');`, dir, plain)
	run := func(cfg map[string]string, stmt string) error {
		_, err := finalRows(ctx, cfg, ddl, stmt)
		return err
	}
	// read gives the sorted final rows of query.
	read := func(query string) []string { return runRows(t, ctx, batch, ddl, query) }

	require.NoError(t, run(batch, "INSERT INTO pt VALUES (1, 'a'), (2, 'b'), (3, 'c')"))
	require.Equal(t, []string{"dt=a", "dt=b", "dt=c"}, successFiles(t, dir))
	require.NoError(t, run(batch, "INSERT OVERWRITE pt VALUES (4, 'a'), (5, 'a')"))
	require.Equal(t, []string{"2 | b", "3 | c", "4 | a", "5 | a"}, read("SELECT n, dt FROM pt"))
	require.NoError(t, run(batch, "INSERT OVERWRITE pt PARTITION (dt = 'b') SELECT n FROM pt WHERE n > 100"))
	require.Equal(t, []string{"3 | c", "4 | a", "5 | a"}, read("SELECT n, dt FROM pt"))
	require.Equal(t, []string{"dt=a", "dt=c"}, successFiles(t, dir), "the emptied partition b has no success file")

	require.NoError(t, run(batch, "INSERT INTO u VALUES (1), (2)"))
	require.NoError(t, run(batch, "INSERT OVERWRITE u VALUES (3)"))
	require.Equal(t, []string{"3"}, read("SELECT n FROM u"))

	err := run(nil, "INSERT OVERWRITE u VALUES (4)")
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "Streaming mode not support overwrite"), err.Error())
	entries, err := os.ReadDir(plain)
	require.NoError(t, err)
	require.Len(t, entries, 1, "the refused overwrite changed nothing")
}
