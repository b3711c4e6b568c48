package server

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestExplainDetails: EXPLAIN's PLAN_ADVICE and JSON_EXECUTION_PLAN reach
// a PostgreSQL client as text, and ESTIMATED_COST fails with
// feature_not_supported at the detail's position.
func TestExplainDetails(t *testing.T) {
	_, addr, _ := testServer(t, Config{})
	ctx := context.Background()
	conn := connect(t, addr)
	_, err := conn.Exec(ctx, "CREATE TABLE l (k INT, v BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '3')")
	require.NoError(t, err)

	rows, err := conn.Query(ctx, "EXPLAIN PLAN_ADVICE, JSON_EXECUTION_PLAN SELECT k, COUNT(*) FROM l GROUP BY k")
	require.NoError(t, err)
	var plan strings.Builder
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	require.NoError(t, rows.Err())
	require.Contains(t, plan.String(), "== Physical Plan With Advice ==")
	require.Contains(t, plan.String(), "GroupAggregate(advice=[1], groupBy=[k]")
	require.Contains(t, plan.String(), "advice[1]: [ADVICE] You might want to enable local-global two-phase optimization")
	require.Contains(t, plan.String(), "== Physical Execution Plan ==")
	require.Contains(t, plan.String(), `"ship_strategy": "HASH"`)

	_, err = conn.Exec(ctx, "EXPLAIN ESTIMATED_COST SELECT * FROM l")
	var pe *pgconn.PgError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.Equal(t, "0A000", pe.Code)
	require.Equal(t, int32(9), pe.Position)
	require.Contains(t, pe.Message, "EXPLAIN ESTIMATED_COST is not supported")
}
