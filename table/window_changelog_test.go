package table_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
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

// TestWindowAggregateChangelogDifferential generates a random changelog
// of inserts, updates (moving rows between keys, values and windows) and
// deletes (some emptying whole windows), as debezium-json files, and
// checks that window aggregates over it (TUMBLE, HOP, CUMULATE and the
// legacy GROUP BY TUMBLE/HOP) give, window by window, the results of the
// same queries over an insert-only table of the rows the changelog
// leaves, at parallelism 1 and 3 (a reader per file), with a checkpoint
// every few milliseconds, and in batch mode. The watermark lags by an
// hour, so no change is late.
func TestWindowAggregateChangelogDifferential(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	cdcDir, finalDir := filepath.Join(dir, "cdc"), filepath.Join(dir, "final")
	require.NoError(t, os.Mkdir(cdcDir, 0o755))
	require.NoError(t, os.Mkdir(finalDir, 0o755))

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
	const files, ids = 3, 120
	var final []*row
	for f := range files {
		var events strings.Builder
		write := func(before, after *row, op string) {
			b, err := json.Marshal(map[string]any{"before": before, "after": after, "op": op})
			require.NoError(t, err)
			events.Write(b)
			events.WriteByte('\n')
		}
		for id := f; id < ids; id += files {
			cur := newRow(id)
			write(nil, cur, "c")
			for range rng.Intn(4) {
				next := newRow(id)
				if rng.Intn(2) == 0 {
					next.TS = cur.TS // same window, new value or key
				}
				write(cur, next, "u")
				cur = next
			}
			// Every row of the seconds 40 to 44 is deleted: those windows
			// empty.
			if rng.Intn(4) == 0 || strings.HasPrefix(cur.TS, "2024-01-01 00:00:4") && cur.TS < "2024-01-01 00:00:45" {
				write(cur, nil, "d")
				continue
			}
			final = append(final, cur)
		}
		require.NoError(t, os.WriteFile(filepath.Join(cdcDir, fmt.Sprintf("part-%d.json", f)), []byte(events.String()), 0o644))
	}
	var ins strings.Builder
	for _, r := range final {
		b, err := json.Marshal(r)
		require.NoError(t, err)
		ins.Write(b)
		ins.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(filepath.Join(finalDir, "part-0.json"), []byte(ins.String()), 0o644))
	ddl := fmt.Sprintf(`
CREATE TABLE cdc (id INT, k STRING, v BIGINT, ts TIMESTAMP(3), f DOUBLE, WATERMARK FOR ts AS ts - INTERVAL '1' HOUR)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'debezium-json');
CREATE TABLE fin (id INT, k STRING, v BIGINT, ts TIMESTAMP(3), f DOUBLE, WATERMARK FOR ts AS ts - INTERVAL '1' HOUR)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');`, cdcDir, finalDir)

	aggs := "SUM(v), COUNT(*), COUNT(v), AVG(v), MIN(v), MAX(v), COUNT(DISTINCT v), MAX(k), SUM(f), STDDEV_POP(f)"
	queries := []string{
		"SELECT k, window_start, window_end, " + aggs + " FROM TABLE(TUMBLE(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY k, window_start, window_end",
		"SELECT window_start, window_end, " + aggs + " FROM TABLE(HOP(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)) GROUP BY window_start, window_end",
		"SELECT k, window_start, window_end, " + aggs + " FROM TABLE(CUMULATE(TABLE %s, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY k, window_start, window_end",
		"SELECT k, TUMBLE_START(ts, INTERVAL '10' SECOND), " + aggs + " FROM %s GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND)",
		"SELECT HOP_END(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND), " + aggs + " FROM %s GROUP BY HOP(ts, INTERVAL '5' SECOND, INTERVAL '10' SECOND)",
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
