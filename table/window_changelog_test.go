package table_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
)

// TestWindowAggregateChangelogExample is the case of FLINK-20281: a
// TUMBLE window aggregate over a debezium-json table whose row 1 is
// updated (10 -> 15) and row 2 deleted sees one row, 15, where adding up
// every change as an insert would give 75 and 5; the legacy group window
// and SESSION windows likewise.
func TestWindowAggregateChangelogExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part-0.json"), []byte(
		`{"before":null,"after":{"id":1,"v":10,"ts":"2024-01-01 00:00:01"},"op":"c"}
{"before":null,"after":{"id":2,"v":20,"ts":"2024-01-01 00:00:02"},"op":"c"}
{"before":{"id":1,"v":10,"ts":"2024-01-01 00:00:01"},"after":{"id":1,"v":15,"ts":"2024-01-01 00:00:01"},"op":"u"}
{"before":{"id":2,"v":20,"ts":"2024-01-01 00:00:02"},"after":null,"op":"d"}
{"before":null,"after":{"id":3,"v":7,"ts":"2024-01-01 00:00:13"},"op":"c"}
{"before":{"id":3,"v":7,"ts":"2024-01-01 00:00:13"},"after":null,"op":"d"}
`), 0o644))
	ddl := fmt.Sprintf(`CREATE TABLE t (id INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'debezium-json');`, dir)
	for _, q := range []string{
		`SELECT window_start, window_end, SUM(v), COUNT(*) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))
		 GROUP BY window_start, window_end`,
		`SELECT TUMBLE_START(ts, INTERVAL '10' SECOND), TUMBLE_END(ts, INTERVAL '10' SECOND), SUM(v), COUNT(*) FROM t
		 GROUP BY TUMBLE(ts, INTERVAL '10' SECOND)`,
	} {
		// The window [10s, 20s) lost its only row: it emits nothing.
		require.Equal(t, []string{"2024-01-01 00:00:00.000 | 2024-01-01 00:00:10.000 | 15 | 1"}, runRows(t, ctx, nil, ddl, q), q)
	}
	// FIRST_VALUE, LAST_VALUE and LISTAGG retract too (Flink's
	// *WithRetractAggFunction): the window keeps 15 alone.
	q := `SELECT window_start, FIRST_VALUE(v), LAST_VALUE(v), LISTAGG(CAST(v AS STRING)), LISTAGG(CAST(id AS STRING), ';')
		 FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end`
	require.Equal(t, []string{"2024-01-01 00:00:00.000 | 15 | 15 | 15 | 1"}, runRows(t, ctx, nil, ddl, q), q)
	// A session keeps the extent its retracted rows gave it (row 2 made it
	// [1s, 7s)); the session of row 3 alone lost it and emits nothing.
	for _, q := range []string{
		`SELECT window_start, window_end, SUM(v), COUNT(*) FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND))
		 GROUP BY window_start, window_end`,
		`SELECT SESSION_START(ts, INTERVAL '5' SECOND), SESSION_END(ts, INTERVAL '5' SECOND), SUM(v), COUNT(*) FROM t
		 GROUP BY SESSION(ts, INTERVAL '5' SECOND)`,
	} {
		require.Equal(t, []string{"2024-01-01 00:00:01.000 | 2024-01-01 00:00:07.000 | 15 | 1"}, runRows(t, ctx, nil, ddl, q), q)
	}
}

// sumSquares is a Go aggregate with Retract and Merge: the sum of the
// squares of its values, NULL over none.
type sumSqAcc struct{ Sum, N int64 }

var sumSquares = table.AggregateFunction[int64, sumSqAcc, int64]{
	Accumulate: func(a *sumSqAcc, v int64) { a.Sum += v * v; a.N++ },
	Retract:    func(a *sumSqAcc, v int64) { a.Sum -= v * v; a.N-- },
	GetValue:   func(a *sumSqAcc) (int64, bool) { return a.Sum, a.N > 0 },
	Merge:      func(a, o *sumSqAcc) { a.Sum += o.Sum; a.N += o.N },
}

// TestWindowAggregateChangelogDifferential generates a random changelog
// of inserts, updates (moving rows between keys, values and windows) and
// deletes (some emptying whole windows), as debezium-json files, and
// checks that window aggregates over it (TUMBLE, HOP, CUMULATE and the
// legacy GROUP BY TUMBLE/HOP) give, window by window, the results of the
// same queries over an insert-only table of the rows the changelog
// leaves, at parallelism 1 and 3 (a reader per file), with a checkpoint
// every few milliseconds, and in batch mode. The watermark lags by an
// hour, so no change is late.
//
// Rows reach the windows in an order that differs between the runs, so
// FIRST_VALUE, LAST_VALUE and LISTAGG, whose results follow arrival, are
// compared through what does not: that the value is one of the window's
// (between its MIN and MAX), whether it is NULL, the length of the list.
func TestWindowAggregateChangelogDifferential(t *testing.T) {
	// Go aggregate functions are registered process-wide: the fresh
	// environments of runRows see it.
	if err := checkedEnv(t, 1).CreateFunction("sum_squares_retract", sumSquares); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cdcDir, finalDir := filepath.Join(dir, "cdc"), filepath.Join(dir, "final")

	type row struct {
		ID int     `json:"id"`
		K  string  `json:"k"`
		V  *int64  `json:"v"`
		TS string  `json:"ts"`
		F  float64 `json:"f"`
	}
	rng := rand.New(rand.NewSource(20281))
	newRow := func(id int) *row {
		r := &row{ID: id, K: string(rune('a' + rng.Intn(3))), TS: fmt.Sprintf("2024-01-01 00:00:%02d.%03d", rng.Intn(60), rng.Intn(1000)),
			F: float64(rng.Intn(1000)) / 8}
		if rng.Intn(8) > 0 {
			v := int64(rng.Intn(40) - 10)
			r.V = &v
		}
		return r
	}
	writeDebeziumHistory(t, rng, cdcDir, finalDir, 3, 120, newRow,
		func(id int, cur *row) *row {
			next := newRow(id)
			if rng.Intn(2) == 0 {
				next.TS = cur.TS // same window, new value or key
			}
			return next
		},
		// Every row of the seconds 40 to 44 is deleted: those windows
		// empty.
		func(cur *row) bool {
			return rng.Intn(4) == 0 || strings.HasPrefix(cur.TS, "2024-01-01 00:00:4") && cur.TS < "2024-01-01 00:00:45"
		})
	ddl := fmt.Sprintf(`
CREATE TABLE cdc (id INT, k STRING, v BIGINT, ts TIMESTAMP(3), f DOUBLE, WATERMARK FOR ts AS ts - INTERVAL '1' HOUR)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'debezium-json');
CREATE TABLE fin (id INT, k STRING, v BIGINT, ts TIMESTAMP(3), f DOUBLE, WATERMARK FOR ts AS ts - INTERVAL '1' HOUR)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');`, cdcDir, finalDir)

	aggs := "SUM(v), COUNT(*), COUNT(v), AVG(v), MIN(v), MAX(v), COUNT(DISTINCT v), MAX(k), SUM(f), STDDEV_POP(f), " +
		"FIRST_VALUE(v) BETWEEN MIN(v) AND MAX(v), LAST_VALUE(f) BETWEEN MIN(f) AND MAX(f), FIRST_VALUE(v) IS NULL, " +
		"LAST_VALUE(k) BETWEEN MIN(k) AND MAX(k), CHAR_LENGTH(LISTAGG(k)), CHAR_LENGTH(LISTAGG(CAST(v AS STRING), '; ')), " +
		"sum_squares_retract(v)"
	twoPhase := "SUM(v), COUNT(*), COUNT(v), AVG(v), SUM(f), AVG(f)"
	queries := []string{
		"SELECT k, window_start, window_end, " + aggs + " FROM TABLE(TUMBLE(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY k, window_start, window_end",
		"SELECT window_start, window_end, " + aggs + " FROM TABLE(HOP(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)) GROUP BY window_start, window_end",
		"SELECT k, window_start, window_end, " + aggs + " FROM TABLE(CUMULATE(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY k, window_start, window_end",
		"SELECT k, TUMBLE_START(ts, INTERVAL '10' SECOND), " + aggs + " FROM %s GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND)",
		"SELECT HOP_END(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND), " + aggs + " FROM %s GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND)",
		// COUNT, SUM and AVG alone split into local and global phases.
		"SELECT k, window_start, window_end, " + twoPhase + " FROM TABLE(HOP(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)) GROUP BY k, window_start, window_end",
		"SELECT window_start, window_end, " + twoPhase + " FROM TABLE(CUMULATE(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY window_start, window_end",
	}
	for _, q := range queries {
		want := runRows(t, ctx, nil, ddl, fmt.Sprintf(q, "fin"))
		require.NotEmpty(t, want)
		for _, cfg := range []map[string]string{
			{"parallelism.default": "1"},
			{"parallelism.default": "3", "table.exec.resource.default-parallelism": "3"},
			{"parallelism.default": "2", "execution.checkpointing.interval": "5ms"},
			{"parallelism.default": "2", "execution.runtime-mode": "batch"},
		} {
			got := runRows(t, ctx, cfg, ddl, fmt.Sprintf(q, "cdc"))
			require.Equal(t, want, got, "%s with %v", q, cfg)
		}
	}
}

// TestWindowAggregateChangelogUserFunction: a Go aggregate function with
// Retract aggregates windows over an updating input; one without is
// refused at planning, naming the function, as Flink requires retract()
// of an aggregate over updates.
func TestWindowAggregateChangelogUserFunction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := checkedEnv(t, 1)
	noRetract := sumSquares
	noRetract.Retract = nil
	require.NoError(t, env.CreateFunction("sum_squares_w", sumSquares))
	require.NoError(t, env.CreateFunction("sum_squares_append", noRetract))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part-0.json"), []byte(
		`{"before":null,"after":{"id":1,"v":3,"ts":"2024-01-01 00:00:01"},"op":"c"}
{"before":null,"after":{"id":2,"v":4,"ts":"2024-01-01 00:00:02"},"op":"c"}
{"before":{"id":1,"v":3,"ts":"2024-01-01 00:00:01"},"after":{"id":1,"v":5,"ts":"2024-01-01 00:00:01"},"op":"u"}
{"before":{"id":2,"v":4,"ts":"2024-01-01 00:00:02"},"after":null,"op":"d"}
`), 0o644))
	ddl := fmt.Sprintf(`CREATE TABLE t (id INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'debezium-json');`, dir)
	q := `SELECT window_start, %s(v) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end`
	require.Equal(t, []string{"2024-01-01 00:00:00.000 | 25"}, runRows(t, ctx, nil, ddl, fmt.Sprintf(q, "sum_squares_w")))
	_, err := finalRows(ctx, nil, ddl, fmt.Sprintf(q, "sum_squares_append"))
	require.ErrorContains(t, err, "aggregate function SUM_SQUARES_APPEND is not supported in a window aggregate over an updating input: it has no Retract")
}
