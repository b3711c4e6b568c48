package table_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// TestRescaleRefusedSQL: a values source keeps one position per subtask,
// not per split, so a savepoint of its job does not restore at another
// parallelism.default (whether or not its second reader, with no rows, had
// finished); the error names the vertex, both parallelisms and the reason. The same parallelism restores; another
// pipeline.max-parallelism does not.
func TestRescaleRefusedSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows := &values.Data{Pause: true}
	for i := range 5 {
		rows.Before = append(rows.Before, values.Row{Kind: connector.Insert, Values: []any{json.Number(strconv.Itoa(i))}})
	}
	id, out := values.Register(rows), values.Register(&values.Data{})
	defer values.Unregister(id)
	defer values.Unregister(out)
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{"table.dml-sync": "false"}})
	require.NoError(t, err)
	for _, stmt := range []string{
		"SET 'parallelism.default' = '2'",
		"CREATE TABLE src (auction BIGINT) WITH ('connector' = 'values', 'data-id' = '" + id + "')",
		"CREATE TABLE snk (k BIGINT PRIMARY KEY NOT ENFORCED, c BIGINT) WITH ('connector' = 'values', 'data-id' = '" + out + "')",
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	const query = "INSERT INTO snk SELECT auction % 7 AS k, COUNT(*) AS c FROM src GROUP BY auction % 7"
	r, err := env.ExecuteSQL(ctx, query)
	require.NoError(t, err)
	waitPaused(ctx, t, rows)
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
	require.ErrorContains(t, err, "cannot restore at parallelism 4 from a savepoint taken at 2")
	require.ErrorContains(t, err, "its values reader's position is not kept per split")

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
