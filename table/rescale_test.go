package table_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// TestRescaleRefusedSQL: a nexmark source keeps one position per subtask,
// not per split, so a savepoint of its job does not restore at another
// parallelism.default; the error names the operator, the vertex and both
// parallelisms. The same parallelism restores; another
// pipeline.max-parallelism does not.
func TestRescaleRefusedSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	for _, stmt := range []string{
		"SET 'parallelism.default' = '2'",
		`CREATE TABLE src (auction BIGINT) WITH ('connector' = 'nexmark', 'table' = 'bid',
			'first-event.rate' = '1000', 'rate.limited' = 'true')`,
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	const query = "SELECT auction % 7 AS k, COUNT(*) AS c FROM src GROUP BY auction % 7"
	r, err := env.ExecuteSQL(ctx, query)
	require.NoError(t, err)
	sp, err := r.Job.StopWithSavepoint(ctx)
	require.NoError(t, err)
	r.Close()
	data, err := exec.EncodeSavepoint(sp)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), exec.CheckpointMetadataFile)
	require.NoError(t, os.WriteFile(path, data, 0o644))

	for _, stmt := range []string{"SET 'parallelism.default' = '4'", "SET '" + table.SavepointPath + "' = '" + path + "'"} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	_, err = env.ExecuteSQL(ctx, query)
	require.ErrorIs(t, err, exec.ErrSavepointIncompatible)
	require.ErrorContains(t, err, "cannot restore at parallelism 4 from a savepoint taken at 2: its nexmark reader's position is not kept per split")

	// pipeline.max-parallelism fixes the key groups: 128 only.
	for _, stmt := range []string{"SET 'parallelism.default' = '2'", "SET 'pipeline.max-parallelism' = '64'"} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	_, err = env.ExecuteSQL(ctx, query)
	require.ErrorContains(t, err, "pipeline.max-parallelism is 64, but this runtime keeps keyed state in 128 key groups")
	_, err = env.ExecuteSQL(ctx, "SET 'pipeline.max-parallelism' = '128'")
	require.NoError(t, err)
	r, err = env.ExecuteSQL(ctx, query)
	require.NoError(t, err)
	r.Job.Cancel()
	r.Close()
}
