package table_test

import (
	"context"
	"testing"
	"time"

	"github.com/eddysql/eddy/table"
)

// BenchmarkTwoPhaseAggregate runs a skewed GROUP BY (90% of the rows
// share one key, the rest spread over 1000 keys) at parallelism 2 with
// mini-batch on, in one phase and in local and global phases
// (table.optimizer.agg-phase-strategy), and reports input rows per
// second of process CPU time (user + system) and of wall time. In one
// phase the hot key's rows all go to one aggregate instance; the local
// phase folds them per mini-batch before the exchange.
func BenchmarkTwoPhaseAggregate(b *testing.B) {
	benchAggPhases(b, `INSERT INTO out SELECT k, COUNT(*), SUM(v), MAX(v) FROM (
		SELECT CASE WHEN MOD(id, 10) < 9 THEN 0 ELSE MOD(id * 7919, 1000) + 1 END AS k,
			MOD(id, 1000) AS v FROM gen) GROUP BY k`)
}

// BenchmarkTwoPhaseDistinctAggregate is BenchmarkTwoPhaseAggregate with
// COUNT(DISTINCT v) (1000 values) next to COUNT(*) and SUM(DISTINCT):
// in two phases the local phase ships each group's distinct values of a
// mini-batch once, and the global phase merges them into its distinct
// state.
func BenchmarkTwoPhaseDistinctAggregate(b *testing.B) {
	benchAggPhases(b, `INSERT INTO out SELECT k, COUNT(*), COUNT(DISTINCT v), SUM(DISTINCT v) FROM (
		SELECT CASE WHEN MOD(id, 10) < 9 THEN 0 ELSE MOD(id * 7919, 1000) + 1 END AS k,
			MOD(id, 1000) AS v FROM gen) GROUP BY k`)
}

// benchAggPhases runs insert, which reads gen's 2,000,000 rows into
// out(k, c, s, m), in one phase and in two.
func benchAggPhases(b *testing.B, insert string) {
	const rows = 2_000_000
	for _, strategy := range []string{"ONE_PHASE", "TWO_PHASE"} {
		b.Run(strategy, func(b *testing.B) {
			ctx := context.Background()
			env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
				"parallelism.default":                 "2",
				"table.dml-sync":                      "true",
				"table.exec.mini-batch.enabled":       "true",
				"table.exec.mini-batch.size":          "5000",
				"table.exec.mini-batch.allow-latency": "1 s",
				"table.optimizer.agg-phase-strategy":  strategy,
			}})
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range []string{
				`CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '1000000000',
					'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '2000000')`,
				`CREATE TABLE out (k BIGINT, c BIGINT, s BIGINT, m BIGINT) WITH ('connector' = 'blackhole')`,
			} {
				if _, err := env.ExecuteSQL(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
			cpu0, start := cpuTime(), time.Now()
			b.ResetTimer()
			for range b.N {
				if _, err := env.ExecuteSQL(ctx, insert); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			n := float64(b.N) * rows
			b.ReportMetric(n/(cpuTime()-cpu0).Seconds(), "rows/cpu-s")
			b.ReportMetric(n/time.Since(start).Seconds(), "rows/s")
		})
	}
}
