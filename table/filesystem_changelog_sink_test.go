package table_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
)

// TestFilesystemChangelogSinkSQL inserts a GROUP BY into filesystem
// tables in changelog formats, with checkpointing on and a failure
// mid-stream restarting the job from its latest checkpoint: the sink
// writes the aggregate's updates as change events, commits them on
// checkpoints, and the source reading the directory back in the same
// format materializes the aggregate's result, each change exactly once.
// Partitioned or not, at parallelism 2.
func TestFilesystemChangelogSinkSQL(t *testing.T) {
	var want []string
	for k := range int64(7) {
		var c, s int64
		for id := k; id < ckptRows; id += 7 {
			c, s = c+1, s+id
		}
		want = append(want, fmt.Sprintf("%d | %d | %d", k, c, s))
	}
	for _, tc := range []struct {
		format      string
		partitioned bool
	}{{"debezium-json", false}, {"canal-json", true}, {"maxwell-json", false}, {"ogg-json", true}} {
		t.Run(fmt.Sprintf("%s/partitioned=%v", tc.format, tc.partitioned), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			dir := t.TempDir()
			env := ckptEnv(t, false, failoverOptions(table.DMLSync, "true"))
			part, p := "", ""
			if tc.partitioned {
				part, p = ", p INT) PARTITIONED BY (p", ", CAST(id % 7 % 2 AS INT)"
			}
			ddl := fmt.Sprintf(`CREATE TABLE cdc_out (k BIGINT, c BIGINT, s BIGINT%s) WITH ('connector' = 'filesystem', 'path' = '%s',
				'format' = '%s', 'sink.rolling-policy.file-size' = '1kb')`, part, dir, tc.format)
			execAll(t, ctx, env, ddl)
			r, err := env.ExecuteSQL(ctx, "INSERT INTO cdc_out SELECT id % 7, COUNT(*), SUM(id)"+p+
				" FROM (SELECT ckpt_fail_once(id) AS id FROM src) GROUP BY id % 7"+p)
			require.NoError(t, err)
			require.True(t, ckptFailed.Load(), "the function failed once")
			require.EqualValues(t, 1, r.Job.CheckpointStats().Restarts)
			hidden, err := filepath.Glob(filepath.Join(dir, "*", ".part-*"))
			require.NoError(t, err)
			top, err := filepath.Glob(filepath.Join(dir, ".part-*"))
			require.NoError(t, err)
			require.Empty(t, append(hidden, top...), "in-progress and pending files left behind")
			require.Equal(t, want, runRows(t, ctx, nil, ddl, "SELECT k, c, s FROM cdc_out"))
		})
	}
}
