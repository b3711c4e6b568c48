package table_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/internal/errs"
)

// cdcWindowDDL declares t, debezium-json change events with a rowtime ts:
// 1 is inserted at 00:01 and updated to 00:12, 2 inserted and deleted, 3
// inserted at 00:05; its final rows are (1, 11, 00:12) and (3, 30, 00:05).
// The watermark lags a minute, so every window closes at the end of the
// input and no row is late. Also: rates, a versioned debezium-json table
// keyed by id, dim, a CSV table to look ids up in, and tp, t with a
// processing-time attribute.
func cdcWindowDDL(t *testing.T) string {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.Mkdir(p, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(p, "part-0"), []byte(data), 0o644))
		return p
	}
	cdc := write("cdc", `{"before":null,"after":{"id":1,"v":10,"ts":"2024-01-01 00:00:01"},"op":"c"}
{"before":null,"after":{"id":2,"v":20,"ts":"2024-01-01 00:00:03"},"op":"c"}
{"before":{"id":1,"v":10,"ts":"2024-01-01 00:00:01"},"after":{"id":1,"v":11,"ts":"2024-01-01 00:00:12"},"op":"u"}
{"before":null,"after":{"id":3,"v":30,"ts":"2024-01-01 00:00:05"},"op":"c"}
{"before":{"id":2,"v":20,"ts":"2024-01-01 00:00:03"},"after":null,"op":"d"}
`)
	rates := write("rates", `{"before":null,"after":{"id":1,"rate":100,"ts":"2024-01-01 00:00:00"},"op":"c"}
{"before":null,"after":{"id":2,"rate":200,"ts":"2024-01-01 00:00:00"},"op":"c"}
{"before":null,"after":{"id":3,"rate":300,"ts":"2024-01-01 00:00:00"},"op":"c"}
`)
	dim := write("dim", "1,one\n2,two\n3,three\n")
	return fmt.Sprintf(`
		CREATE TABLE t (id INT, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE)
		  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'debezium-json');
		CREATE TABLE rates (id INT, rate BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' MINUTE,
		  PRIMARY KEY (id) NOT ENFORCED)
		  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'debezium-json');
		CREATE TABLE dim (id INT, name STRING) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
		CREATE TEMPORARY VIEW tp AS SELECT *, PROCTIME() AS proc FROM t;`, cdc, rates, dim)
}

// TestWindowTVFOverChangelog: a window table function over an updating
// input keeps each row's kind (Flink 1.19+), so the rows it emits
// materialize to the windows of t's final rows. SESSION windows take
// every row, retractions too, into the sessions at its time, as Flink's
// operator does: without PARTITION BY, the deleted row 2 and the old
// version of 1 still span the session of 3.
func TestWindowTVFOverChangelog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ddl := cdcWindowDDL(t)
	const day = "2024-01-01 00:00:"
	row := func(id, v, ts, start, end string) string {
		return fmt.Sprintf("%s | %s | %s | %s | %s", id, v, day+ts, day+start, day+end)
	}
	for _, tc := range []struct {
		tvf  string
		want []string
	}{
		{"TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)",
			[]string{row("1", "11", "12.000", "10.000", "20.000"), row("3", "30", "05.000", "00.000", "10.000")}},
		{"HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)",
			[]string{row("1", "11", "12.000", "05.000", "15.000"), row("1", "11", "12.000", "10.000", "20.000"),
				row("3", "30", "05.000", "00.000", "10.000"), row("3", "30", "05.000", "05.000", "15.000")}},
		{"CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)",
			[]string{row("1", "11", "12.000", "10.000", "15.000"), row("1", "11", "12.000", "10.000", "20.000"),
				row("3", "30", "05.000", "00.000", "10.000")}},
		{"SESSION(TABLE t PARTITION BY id, DESCRIPTOR(ts), INTERVAL '5' SECOND)",
			[]string{row("1", "11", "12.000", "12.000", "17.000"), row("3", "30", "05.000", "05.000", "10.000")}},
		{"SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND)",
			[]string{row("1", "11", "12.000", "12.000", "17.000"), row("3", "30", "05.000", "01.000", "10.000")}},
	} {
		for _, par := range []string{"1", "2"} {
			got := runRows(t, ctx, map[string]string{"parallelism.default": par}, ddl,
				"SELECT id, v, ts, window_start, window_end FROM TABLE("+tc.tvf+")")
			require.Equal(t, tc.want, got, "%s at parallelism %s", tc.tvf, par)
		}
	}
}

// TestWindowChangelogRefusals: the operators Flink feeds inserts only
// (window Top-N and deduplication, window joins, temporal sorts, interval
// joins) are refused at planning time over an updating input, with
// Flink's message naming the node that produces the changes and SQLSTATE
// 0A000, not failed at run time.
func TestWindowChangelogRefusals(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ddl := cdcWindowDDL(t)
	const scan = "TableSourceScan(table=[[default_catalog, default_database, t]], "
	for _, tc := range []struct{ query, consumer string }{
		{`SELECT * FROM (
		    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY v DESC) AS rn
		    FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))) WHERE rn <= 2`, "StreamPhysicalWindowRank"},
		{`SELECT id, v, window_start FROM (
		    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY ts DESC) AS rn
		    FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))) WHERE rn <= 1`, "StreamPhysicalWindowDeduplicate"},
		{`SELECT l.id, r.id FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) l
		    JOIN TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) r
		    ON l.id = r.id AND l.window_start = r.window_start AND l.window_end = r.window_end`, "StreamPhysicalWindowJoin"},
		{`SELECT * FROM t ORDER BY ts`, "StreamPhysicalTemporalSort"},
		{`SELECT x.id, y.id FROM t x JOIN t y
		    ON x.id = y.id AND y.ts BETWEEN x.ts - INTERVAL '5' SECOND AND x.ts + INTERVAL '5' SECOND`, "StreamPhysicalIntervalJoin"},
	} {
		_, err := finalRows(ctx, nil, ddl, tc.query)
		require.Error(t, err, tc.query)
		require.True(t, errs.Is(err, errs.NotSupported), "%v", err)
		require.Equal(t, "0A000", errs.State(err))
		require.ErrorContains(t, err, tc.consumer+" doesn't support consuming update and delete changes which is produced by node "+scan)
	}
	// MATCH_RECOGNIZE is refused by the binder, with the position.
	_, err := finalRows(ctx, nil, ddl, `SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts MEASURES A.id AS aid
	  ONE ROW PER MATCH PATTERN (A) DEFINE A AS A.v > 0)`)
	require.True(t, errs.Is(err, errs.NotSupported), "%v", err)
	require.ErrorContains(t, err, "MATCH_RECOGNIZE needs an insert-only input")
}

// TestChangelogInputsOfTimeOperators: the probe side of event-time
// temporal joins and of lookup joins, and TO_CHANGELOG, consume updates as
// in Flink; over t each runs to the rows of t's final state (TO_CHANGELOG:
// one row per change).
func TestChangelogInputsOfTimeOperators(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ddl := cdcWindowDDL(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{`SELECT t.id, t.v, r.rate FROM t JOIN rates FOR SYSTEM_TIME AS OF t.ts AS r ON t.id = r.id`,
			[]string{"1 | 11 | 100", "3 | 30 | 300"}},
		{`SELECT tp.id, tp.v, d.name FROM tp JOIN dim FOR SYSTEM_TIME AS OF tp.proc AS d ON tp.id = d.id`,
			[]string{"1 | 11 | one", "3 | 30 | three"}},
		{`SELECT op, id, v FROM TO_CHANGELOG(input => TABLE t)`,
			[]string{"DELETE | 2 | 20", "INSERT | 1 | 10", "INSERT | 2 | 20", "INSERT | 3 | 30",
				"UPDATE_AFTER | 1 | 11", "UPDATE_BEFORE | 1 | 10"}},
	} {
		for _, par := range []string{"1", "2"} {
			require.Equal(t, tc.want, runRows(t, ctx, map[string]string{"parallelism.default": par}, ddl, tc.query),
				"%s at parallelism %s", tc.query, par)
		}
	}
}
