package table_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
)

// ckptFailed is set when ckpt_fail_once failed; the test functions share
// it, so these tests do not run in parallel.
var ckptFailed atomic.Bool

const ckptRows, ckptFailAt = 3000, 2000

// ckptFailOnce is a Go scalar function that fails the first time it sees
// row ckptFailAt (and always with always set).
func ckptFailOnce(always bool) func(int64) (int64, error) {
	return func(id int64) (int64, error) {
		if id == ckptFailAt && (always || ckptFailed.CompareAndSwap(false, true)) {
			return 0, fmt.Errorf("injected failure at row %d", id)
		}
		return id, nil
	}
}

// ckptEnv is a session whose datagen table src emits ids 0..ckptRows-1
// at a rate that lets checkpoints fall mid-stream, with the options opts.
func ckptEnv(t *testing.T, always bool, opts map[string]string) *table.Environment {
	t.Helper()
	ckptFailed.Store(false)
	env, err := table.NewEnvironment(table.Settings{Config: opts})
	require.NoError(t, err)
	require.NoError(t, env.CreateFunction("ckpt_fail_once", ckptFailOnce(always)))
	ctx := context.Background()
	for _, stmt := range []string{
		"SET 'parallelism.default' = '2'",
		"SET 'table.exec.batch-size' = '50'",
		fmt.Sprintf(`CREATE TABLE src (id BIGINT) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence',
			'fields.id.start' = '0', 'fields.id.end' = '%d', 'rows-per-second' = '20000')`, ckptRows-1),
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	return env
}

// failoverOptions are the options of a job that checkpoints every 10 ms
// and restarts 10 ms after a failure, and the key/value pairs kv.
func failoverOptions(kv ...string) map[string]string {
	opts := map[string]string{
		exec.CheckpointingIntervalKey: "10 ms",
		exec.RestartStrategyKey:       "fixed-delay",
		exec.FixedDelayDelayKey:       "10 ms",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		opts[kv[i]] = kv[i+1]
	}
	return opts
}

const ckptQuery = "SELECT id % 7 AS k, COUNT(*) AS c, SUM(id) AS s FROM (SELECT ckpt_fail_once(id) AS id FROM src) GROUP BY id % 7"

type ckptAgg struct{ c, s int64 }

// materialize applies a query's changelog to its end, by key, and fails
// on a -U/-D that does not retract the key's current row: with
// checkpointing on, a query's result has every change exactly once, also
// across a failover.
func materialize(ctx context.Context, r *table.TableResult) (map[int64]ckptAgg, error) {
	return applyChanges(ctx, r, true)
}

// latest keeps the last +I/+U of each key: a job restored from another
// job's checkpoint retracts rows its own client never saw.
func latest(ctx context.Context, r *table.TableResult) (map[int64]ckptAgg, error) {
	return applyChanges(ctx, r, false)
}

func applyChanges(ctx context.Context, r *table.TableResult, strict bool) (map[int64]ckptAgg, error) {
	out := map[int64]ckptAgg{}
	for {
		b, err := r.Next(ctx)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		kinds := b.Column(3).(*array.Int8).Int8Values()
		for i := range int(b.NumRows()) {
			k := b.Column(0).(*array.Int64).Value(i)
			row := ckptAgg{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)}
			cur, ok := out[k]
			switch kind := connector.RowKind(kinds[i]); {
			case !strict:
				if kind == connector.Insert || kind == connector.UpdateAfter {
					out[k] = row
				}
			case kind == connector.Insert || kind == connector.UpdateAfter:
				if ok {
					b.Release()
					return out, fmt.Errorf("key %d: %v added over %v", k, row, cur)
				}
				out[k] = row
			default:
				if !ok || cur != row {
					b.Release()
					return out, fmt.Errorf("key %d: %v retracted, current %v", k, row, cur)
				}
				delete(out, k)
			}
		}
		b.Release()
	}
}

func ckptWant() map[int64]ckptAgg {
	want := map[int64]ckptAgg{}
	for id := range int64(ckptRows) {
		a := want[id%7]
		want[id%7] = ckptAgg{a.c + 1, a.s + id}
	}
	return want
}

// TestCheckpointFailoverQuery: a keyed aggregate checkpointing every 10 ms
// whose Go function fails once mid-stream restarts from its latest
// checkpoint (the datagen sources resume from their positions) and ends
// with the results of a run without failure, after one restart.
func TestCheckpointFailoverQuery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := ckptEnv(t, false, failoverOptions())
	r, err := env.ExecuteSQL(ctx, ckptQuery)
	require.NoError(t, err)
	got, err := materialize(ctx, r)
	require.NoError(t, err)
	require.NoError(t, r.Job.Wait(ctx))
	require.True(t, ckptFailed.Load(), "the function failed once")
	require.Equal(t, ckptWant(), got)
	stats := r.Job.CheckpointStats()
	require.EqualValues(t, 1, stats.Restarts)
	require.Positive(t, stats.Completed)
}

// TestCheckpointFailoverNoRestart: with restart-strategy.type none the
// failure fails the query's job.
func TestCheckpointFailoverNoRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := ckptEnv(t, false, map[string]string{
		exec.CheckpointingIntervalKey: "10 ms",
		exec.RestartStrategyKey:       "none",
	})
	r, err := env.ExecuteSQL(ctx, ckptQuery)
	require.NoError(t, err)
	_, err = materialize(ctx, r)
	require.ErrorContains(t, err, "injected failure at row 2000")
	require.ErrorContains(t, r.Job.Wait(ctx), "injected failure at row 2000")
	require.Equal(t, exec.JobFailed, r.Job.Status())
	require.Zero(t, r.Job.CheckpointStats().Restarts)
}

// TestCheckpointRestoreFromDir: a checkpoint written to
// execution.checkpointing.dir while the job runs restores a new submission
// through execution.savepoint.path, which completes the results.
func TestCheckpointRestoreFromDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	// The function fails at every attempt and restarts are off: the
	// first job can only end by failing, after its checkpoints.
	env := ckptEnv(t, true, map[string]string{
		exec.CheckpointingIntervalKey: "10 ms",
		exec.CheckpointingDirKey:      dir,
		exec.RestartStrategyKey:       "none",
	})
	r, err := env.ExecuteSQL(ctx, ckptQuery)
	require.NoError(t, err)
	_, err = materialize(ctx, r)
	require.ErrorContains(t, err, "injected failure")
	require.Error(t, r.Job.Wait(ctx))
	stats := r.Job.CheckpointStats()
	require.NotEmpty(t, stats.LatestPath, "a checkpoint completed before the failure")
	require.Equal(t, filepath.Join(dir, r.Job.ID(), fmt.Sprintf("chk-%d", stats.LatestID), exec.CheckpointMetadataFile), stats.LatestPath)

	// The checkpoint's rows are in the restored aggregate; the new job
	// reads the rest, without the failing row (the function lets it pass).
	require.NoError(t, env.CreateFunction("ckpt_fail_once", func(id int64) (int64, error) { return id, nil }))
	_, err = env.ExecuteSQL(ctx, fmt.Sprintf("SET '%s' = '%s'", table.SavepointPath, filepath.Dir(stats.LatestPath)))
	require.NoError(t, err)
	r2, err := env.ExecuteSQL(ctx, ckptQuery)
	require.NoError(t, err)
	got, err := latest(ctx, r2)
	require.NoError(t, err)
	require.NoError(t, r2.Job.Wait(ctx))
	require.Equal(t, ckptWant(), got)

	_, err = env.ExecuteSQL(ctx, fmt.Sprintf("SET '%s' = '%s'", table.SavepointPath, filepath.Join(dir, "missing")))
	require.NoError(t, err)
	_, err = env.ExecuteSQL(ctx, ckptQuery)
	require.ErrorContains(t, err, table.SavepointPath)
}

// TestCheckpointOptionsSet: SET refuses invalid checkpointing and restart
// options by name.
func TestCheckpointOptionsSet(t *testing.T) {
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	ctx := context.Background()
	for stmt, want := range map[string]string{
		"SET 'execution.checkpointing.interval' = 'often'":                      "execution.checkpointing.interval",
		"SET 'execution.checkpointing.max-concurrent-checkpoints' = '3'":        "not supported",
		"SET 'restart-strategy.type' = 'always'":                                "restart-strategy.type",
		"SET 'restart-strategy.exponential-delay.backoff-multiplier' = 'big'":   "backoff-multiplier",
		"SET 'restart-strategy.fixed-delay.attempts' = '-1'":                    "attempts",
		"SET 'state.checkpoints.dir' = 'hdfs://namenode/checkpoints'":           "local",
		"SET 'state.checkpoints.num-retained' = '0'":                            "num-retained",
		"SET 'restart-strategy.exponential-delay.jitter-factor' = '1.5'":        "jitter-factor",
		"SET 'restart-strategy.failure-rate.failure-rate-interval' = 'an hour'": "failure-rate-interval",
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.ErrorContains(t, err, want, stmt)
	}
	for _, stmt := range []string{
		"SET 'execution.checkpointing.interval' = '10s'",
		"SET 'restart-strategy.type' = 'exponential-delay'",
		"SET 'restart-strategy.exponential-delay.initial-backoff' = '10 min'",
	} {
		_, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
	}
}

// TestCheckpointFailoverAppendExactlyOnce: with checkpointing on, an
// append-only query that fails once mid-stream and restarts delivers
// every row exactly once (the collect operator holds rows until their
// checkpoint completed and restores the ones it held).
func TestCheckpointFailoverAppendExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := ckptEnv(t, false, failoverOptions())
	r, err := env.ExecuteSQL(ctx, "SELECT ckpt_fail_once(id) AS id FROM src")
	require.NoError(t, err)
	seen := make([]int, ckptRows)
	for {
		b, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		for _, id := range b.Column(0).(*array.Int64).Int64Values() {
			seen[id]++
		}
		b.Release()
	}
	require.NoError(t, r.Job.Wait(ctx))
	require.True(t, ckptFailed.Load(), "the function failed once")
	require.EqualValues(t, 1, r.Job.CheckpointStats().Restarts)
	for id, n := range seen {
		require.Equal(t, 1, n, "row %d", id)
	}
}
