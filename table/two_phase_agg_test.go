package table_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
)

// TestTwoPhaseAggregate runs group aggregates over skewed data (most rows
// share one key) with mini-batch on, in one phase and in local and global
// phases (table.optimizer.agg-phase-strategy), at parallelism 1 and 4,
// and checks that the final rows are the same and that TWO_PHASE planned
// the local and global aggregates. The nested queries' outer aggregates
// read the inner one's retract changelog (MIN and MAX then ship their
// multisets of values, DISTINCT calls retract values from their views).
func TestTwoPhaseAggregate(t *testing.T) {
	queries := []string{
		"SELECT k, COUNT(*), SUM(v), AVG(v), MIN(v), MAX(w), COUNT(w) FILTER (WHERE v > 500), VAR_POP(v) FROM src GROUP BY k",
		"SELECT c, COUNT(*), SUM(s), AVG(s), MIN(s), MAX(k) FROM (SELECT k, COUNT(*) AS c, SUM(v) AS s FROM src GROUP BY k) GROUP BY c",
		"SELECT COUNT(*), SUM(v), MAX(v) FROM src",
		// DISTINCT calls ship distinct views, with and without FILTER;
		// over the inner aggregate's changelog their values are retracted.
		"SELECT k, COUNT(DISTINCT v), SUM(DISTINCT w), COUNT(DISTINCT w) FILTER (WHERE v > 500), AVG(DISTINCT v), COUNT(*) FROM src GROUP BY k",
		"SELECT c, COUNT(DISTINCT s), SUM(DISTINCT k), MAX(DISTINCT s) FILTER (WHERE k > 3), COUNT(*) FROM (SELECT k, COUNT(*) AS c, SUM(v) AS s FROM src GROUP BY k) GROUP BY c",
		"SELECT COUNT(DISTINCT v), SUM(DISTINCT w) FILTER (WHERE k = 0) FROM src",
	}
	for _, par := range []string{"1", "4"} {
		for qi, q := range queries {
			t.Run(fmt.Sprintf("parallelism=%s/query=%d", par, qi), func(t *testing.T) {
				one := runAggPhases(t, par, "ONE_PHASE", q, nil)
				two := runAggPhases(t, par, "TWO_PHASE", q, nil)
				require.NotEmpty(t, one)
				require.Equal(t, one, two)
			})
		}
	}
}

// TestTwoPhaseSplitDistinctAggregate is TestTwoPhaseAggregate with the
// distinct split on (table.optimizer.distinct-agg.split.enabled): the
// split plan is used, and with TWO_PHASE each of its levels runs in local
// and global phases, as in Flink.
func TestTwoPhaseSplitDistinctAggregate(t *testing.T) {
	split := map[string]string{"table.optimizer.distinct-agg.split.enabled": "true",
		"table.optimizer.distinct-agg.split.bucket-num": "8"}
	q := "SELECT k, COUNT(DISTINCT v), SUM(DISTINCT w) FILTER (WHERE v > 500), COUNT(*), MAX(v) FROM src GROUP BY k"
	for _, par := range []string{"1", "4"} {
		t.Run("parallelism="+par, func(t *testing.T) {
			one := runAggPhases(t, par, "ONE_PHASE", q, split)
			two := runAggPhases(t, par, "TWO_PHASE", q, split)
			require.NotEmpty(t, one)
			require.Equal(t, one, two)
		})
	}
}

// runAggPhases runs q with the given parallelism, agg-phase strategy and
// extra options and returns its final rows, sorted.
func runAggPhases(t *testing.T, par, strategy, q string, extra map[string]string) []string {
	ctx := context.Background()
	config := map[string]string{
		"parallelism.default":                 par,
		"table.exec.mini-batch.enabled":       "true",
		"table.exec.mini-batch.size":          "50",
		"table.exec.mini-batch.allow-latency": "1 s",
		"table.optimizer.agg-phase-strategy":  strategy,
	}
	maps.Copy(config, extra)
	env, err := table.NewEnvironment(table.Settings{Config: config})
	require.NoError(t, err)
	_, err = env.ExecuteSQL(ctx, `CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen',
		'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5000')`)
	require.NoError(t, err)
	// 70% of the rows have key 0.
	_, err = env.ExecuteSQL(ctx, `CREATE VIEW src AS SELECT
		CASE WHEN MOD(id, 10) < 7 THEN 0 ELSE MOD(id, 37) END AS k,
		MOD(id * 7919, 1000) AS v, CAST(MOD(id, 13) AS DOUBLE) AS w FROM gen`)
	require.NoError(t, err)

	explain, err := env.ExecuteSQL(ctx, "EXPLAIN "+q)
	require.NoError(t, err)
	plan := readAll(t, explain)
	require.Equal(t, strategy == "TWO_PHASE", strings.Contains(plan, "LocalGroupAggregate"), plan)

	res, err := env.ExecuteSQL(ctx, q)
	require.NoError(t, err)
	defer res.Close()
	final := map[string]int{}
	for {
		b, err := res.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		nc := int(b.NumCols())
		var kinds []int8
		if res.Changelog {
			nc--
			kinds = b.Column(nc).(*array.Int8).Int8Values()
		}
		for i := range int(b.NumRows()) {
			vals := make([]string, nc)
			for c := range nc {
				vals[c] = b.Column(c).ValueStr(i)
			}
			row := strings.Join(vals, ", ")
			if kinds != nil && connector.RowKind(kinds[i]).IsRetraction() {
				final[row]--
				if final[row] == 0 {
					delete(final, row)
				}
				continue
			}
			final[row]++
		}
		b.Release()
	}
	var rows []string
	for r, n := range final {
		require.Positive(t, n, "row %s retracted more often than inserted", r)
		for range n {
			rows = append(rows, r)
		}
	}
	sort.Strings(rows)
	return rows
}

// readAll concatenates a text result's rows (EXPLAIN's plan).
func readAll(t *testing.T, res *table.TableResult) string {
	var b strings.Builder
	for {
		batch, err := res.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return b.String()
		}
		require.NoError(t, err)
		for i := range int(batch.NumRows()) {
			b.WriteString(batch.Column(0).ValueStr(i))
			b.WriteString("\n")
		}
		batch.Release()
	}
}
