package table_test

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestDifferentialNexmarkTwoPhaseWindows checks the Nexmark queries with
// window aggregates (q5 HOP, q7 TUMBLE, q8 TUMBLE in a window join) with
// their window aggregates split into local and global phases
// (table.optimizer.agg-phase-strategy TWO_PHASE) at parallelism 1 and 2:
// their final rows must equal PostgreSQL's answer, as in
// TestDifferentialNexmark.
func TestDifferentialNexmarkTwoPhaseWindows(t *testing.T) {
	skipWithoutPostgres(t)
	const events = 10000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pg := connectPostgres(t, ctx)
	loadNexmark(t, ctx, pg, events)

	for _, q := range []string{"q5", "q7", "q8"} {
		t.Run(q, func(t *testing.T) {
			ddl, query := nexmarkScript(t, q, events)
			pgSQL := nexmarkPostgres[q]
			if pgSQL == "" {
				pgSQL = rewritePostgres.Replace(query)
			}
			want, err := runPostgres(ctx, pg, pgSQL)
			if err != nil {
				t.Fatalf("PostgreSQL: %v\n%s", err, pgSQL)
			}
			if len(want) == 0 {
				t.Fatalf("PostgreSQL returns no rows: the stream is too short to test %s", q)
			}
			for _, par := range []int{1, 2} {
				got, err := finalRows(ctx, map[string]string{
					"parallelism.default":                strconv.Itoa(par),
					"table.optimizer.agg-phase-strategy": "TWO_PHASE",
				}, ddl, query)
				if err != nil {
					t.Fatalf("parallelism=%d: %v", par, err)
				}
				if diff := diffRows(want, got); diff != "" {
					t.Errorf("parallelism=%d: %d rows, PostgreSQL %d; differences:\n%s", par, len(got), len(want), firstLines(diff, 10))
				}
			}
		})
	}
}
