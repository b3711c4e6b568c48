package table_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckpointFailoverCorrelatedSubquery: correlated scalar subqueries
// restore their state from the latest checkpoint after a failure
// mid-stream and end with the results of a run without failure: keyed by
// an expression of the inner rows (an aggregate with the COUNT marker, a
// grouped body), and over the domain of the outer values (a
// non-equality correlation, HAVING without GROUP BY); LATERAL subqueries
// (an aggregate per outer row, a Top-N of groups per outer row); an
// aggregate of the outer grouped query inside its subquery.
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
		"lateral_aggregate": `SELECT d.k, s.c, s.s FROM (SELECT DISTINCT id % 7 AS k FROM src) d,
			LATERAL (SELECT COUNT(*) AS c, SUM(x.id) AS s FROM (SELECT ckpt_fail_once(id) AS id FROM src) x
			WHERE x.id % 7 = d.k) s`,
		"lateral_top_n": `SELECT d.k, s.c, s.s FROM (SELECT DISTINCT id % 7 AS k FROM src) d
			CROSS JOIN LATERAL (SELECT x.id % 7 AS g, COUNT(*) AS c, SUM(x.id) AS s
			FROM (SELECT ckpt_fail_once(id) AS id FROM src) x WHERE x.id % 7 = d.k
			GROUP BY x.id % 7 ORDER BY c DESC LIMIT 1) s`,
		"outer_aggregate": `SELECT x.k, COUNT(*) AS c,
			(SELECT SUM(y.id) FROM src y WHERE y.id % 7 = MIN(x.id) % 7) AS s
			FROM (SELECT id % 7 AS k, id FROM (SELECT ckpt_fail_once(id) AS id FROM src)) x GROUP BY x.k`,
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env := ckptEnv(t, false, failoverOptions())
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
