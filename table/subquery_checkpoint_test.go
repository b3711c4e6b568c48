package table_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
)

// TestCheckpointFailoverCorrelatedSubquery: correlated scalar subqueries
// restore their state from the latest checkpoint after a failure
// mid-stream and end with the results of a run without failure: keyed by
// an expression of the inner rows (an aggregate with the COUNT marker, a
// grouped body), and over the domain of the outer values (a
// non-equality correlation, HAVING without GROUP BY).
func TestCheckpointFailoverCorrelatedSubquery(t *testing.T) {
	for name, query := range map[string]string{
		"keyed": `SELECT d.k,
			(SELECT COUNT(*) FROM (SELECT ckpt_fail_once(id) AS id FROM src) x WHERE x.id % 7 = d.k) AS c,
			(SELECT SUM(x.id) FROM src x WHERE x.id % 7 = d.k GROUP BY x.id % 7) AS s
			FROM (SELECT DISTINCT id % 7 AS k FROM src) d`,
		"domain": `SELECT d.k,
			(SELECT COUNT(*) FROM src x WHERE x.id % 7 = d.k GROUP BY x.id % 7) AS c,
			(SELECT SUM(x.id) FROM (SELECT ckpt_fail_once(id) AS id FROM src) x
			 WHERE x.id % 7 <= d.k AND x.id % 7 >= d.k HAVING COUNT(*) > 0) AS s
			FROM (SELECT DISTINCT id % 7 AS k FROM src) d`,
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env := ckptEnv(t, false, map[string]string{
				exec.CheckpointingIntervalKey: "10 ms",
				exec.RestartStrategyKey:       "fixed-delay",
				exec.FixedDelayDelayKey:       "10 ms",
			})
			r, err := env.ExecuteSQL(ctx, query)
			require.NoError(t, err)
			got, err := materialize(ctx, r)
			require.NoError(t, err)
			require.NoError(t, r.Job.Wait(ctx))
			require.True(t, ckptFailed.Load(), "the function failed once")
			require.Equal(t, ckptWant(), got)
			stats := r.Job.CheckpointStats()
			require.EqualValues(t, 1, stats.Restarts)
			require.Positive(t, stats.Completed)
		})
	}
}
