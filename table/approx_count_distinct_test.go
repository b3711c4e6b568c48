package table_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// approxBound is the largest difference from the true count n an
// APPROX_COUNT_DISTINCT estimate may show: 3 standard deviations of
// HLL++ at p = 14 (1.04/sqrt(16384)), and at least 1.
func approxBound(n int64) float64 { return math.Max(1, 3*1.04/128*float64(n)) }

// checkApprox checks rows of fields split by sep: after the first skip
// fields, every (approx, exact) pair of columns within approxBound.
func checkApprox(t *testing.T, rows []string, sep string, skip int) {
	t.Helper()
	for _, r := range rows {
		f := strings.Split(r, sep)
		require.Greater(t, len(f), skip+1, r)
		for c := skip; c+1 < len(f); c += 2 {
			approx, err1 := strconv.ParseInt(f[c], 10, 64)
			exact, err2 := strconv.ParseInt(f[c+1], 10, 64)
			require.NoError(t, err1, r)
			require.NoError(t, err2, r)
			require.InDelta(t, float64(exact), float64(approx), approxBound(exact), r)
		}
	}
}

// TestApproxCountDistinctGroupBy runs APPROX_COUNT_DISTINCT over BIGINT,
// STRING, DOUBLE and DECIMAL columns in a streaming group aggregate into
// an upsert sink, stopped with a savepoint in the middle and restored,
// with random batch sizes, in one phase with and without mini-batch and
// in local and global phases, at parallelism 1 and 2: the final estimates are
// within the error bound of COUNT(DISTINCT), and the same in every run
// (a sketch does not depend on the order or grouping of its input).
func TestApproxCountDistinctGroupBy(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	var before, after []values.Row
	for i := range 12000 {
		// Key k has about 10^(k+1) distinct values; some values NULL.
		k := i % 4
		v := rng.Int63n(int64(math.Pow(10, float64(k+1))) + 1)
		var vs any = json.Number(strconv.FormatInt(v, 10))
		if i%17 == 0 {
			vs = nil
		}
		row := values.Row{Kind: connector.Insert, Values: []any{json.Number(strconv.Itoa(k)), vs,
			fmt.Sprintf("s%d", v%997), json.Number(fmt.Sprintf("%d.5", v%3001)), json.Number(fmt.Sprintf("%d.25", v))}}
		if i < 7000 {
			before = append(before, row)
		} else {
			after = append(after, row)
		}
	}
	const insert = `INSERT INTO snk SELECT k,
		APPROX_COUNT_DISTINCT(v), COUNT(DISTINCT v),
		APPROX_COUNT_DISTINCT(s), COUNT(DISTINCT s),
		APPROX_COUNT_DISTINCT(d), COUNT(DISTINCT d),
		APPROX_COUNT_DISTINCT(m), COUNT(DISTINCT m)
		FROM src GROUP BY k`
	var first []string
	// MINI_BATCH is one phase under mini-batch.
	for _, strategy := range []string{"ONE_PHASE", "MINI_BATCH", "TWO_PHASE"} {
		for _, par := range []string{"1", "2"} {
			t.Run(strategy+"/parallelism="+par, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				src := &values.Data{Before: before, After: after, Pause: true}
				srcID := values.Register(src)
				defer values.Unregister(srcID)
				out := &values.Data{}
				snkID := values.Register(out)
				defer values.Unregister(snkID)
				config := map[string]string{"parallelism.default": par, "table.dml-sync": "false",
					"table.exec.batch-size": fmt.Sprint(1 + rng.Intn(300))}
				if strategy != "ONE_PHASE" {
					config["table.exec.mini-batch.enabled"] = "true"
					config["table.exec.mini-batch.size"] = "100"
					config["table.exec.mini-batch.allow-latency"] = "1 s"
					config["table.optimizer.agg-phase-strategy"] = strings.Replace(strategy, "MINI_BATCH", "ONE_PHASE", 1)
				}
				env, err := table.NewEnvironment(table.Settings{Config: config})
				require.NoError(t, err)
				for _, s := range []string{
					"CREATE TABLE src (k INT, v BIGINT, s STRING, d DOUBLE, m DECIMAL(20, 2)) WITH ('connector' = 'values', 'data-id' = '" + srcID + "')",
					"CREATE TABLE snk (k INT PRIMARY KEY NOT ENFORCED, av BIGINT, ev BIGINT, as_ BIGINT, es BIGINT, ad BIGINT, ed BIGINT, am BIGINT, em BIGINT) WITH ('connector' = 'values', 'data-id' = '" + snkID + "')",
				} {
					_, err := env.ExecuteSQL(ctx, s)
					require.NoError(t, err, s)
				}
				explain, err := env.ExecuteSQL(ctx, "EXPLAIN "+insert)
				require.NoError(t, err)
				plan := readAll(t, explain)
				require.Equal(t, strategy == "TWO_PHASE", strings.Contains(plan, "LocalGroupAggregate"), plan)

				res, err := env.ExecuteSQL(ctx, insert)
				require.NoError(t, err)
				restartAtPause(ctx, t, env, src, res, insert)

				recs, _ := out.Sink()
				final := map[string]string{}
				for _, r := range recs {
					if r.Kind.IsRetraction() {
						delete(final, r.Fields[0])
					} else {
						final[r.Fields[0]] = strings.Join(r.Fields, ", ")
					}
				}
				var got []string
				for _, r := range final {
					got = append(got, r)
				}
				sort.Strings(got)
				require.Len(t, got, 4)
				checkApprox(t, got, ", ", 1)
				if first == nil {
					first = got
				}
				require.Equal(t, first, got)
			})
		}
	}
}

// TestApproxCountDistinctWindows runs APPROX_COUNT_DISTINCT in TUMBLE,
// HOP, CUMULATE and SESSION window aggregates over INT, STRING and
// TIMESTAMP arguments: in batch mode next to COUNT(DISTINCT), within the
// error bound of it, and in streaming mode (one phase, and local and
// global phases where the window allows them, at parallelism 1 and 2 with
// random batch sizes) with the same estimates as batch mode.
func TestApproxCountDistinctWindows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var csv strings.Builder
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(5))
	for i := range 3000 {
		// Times mostly increase, a few rows late within the watermark's
		// delay; gaps now and then close sessions.
		ms := int64(i)*20 + int64(rng.Intn(900)) + int64(i/500)*20000
		k := fmt.Sprintf("k%d", rng.Intn(3))
		a := fmt.Sprint(rng.Intn(1 + i))
		if rng.Intn(20) == 0 {
			a = ""
		}
		ts := base.Add(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(&csv, "%s,%s,u%d,%s\n", k, a, rng.Intn(200), ts.Format("2006-01-02 15:04:05.000"))
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part-0.csv"), []byte(csv.String()), 0o644))

	// Rows print as k, the window's start and the calls' results, split
	// by spaces.
	const (
		approx = "APPROX_COUNT_DISTINCT(a), APPROX_COUNT_DISTINCT(u), APPROX_COUNT_DISTINCT(ts)"
		both   = "APPROX_COUNT_DISTINCT(a), COUNT(DISTINCT a), APPROX_COUNT_DISTINCT(u), COUNT(DISTINCT u), APPROX_COUNT_DISTINCT(ts), COUNT(DISTINCT ts)"
		key    = 2
	)
	windows := map[string]string{
		"tumble":   "TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)",
		"hop":      "HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)",
		"cumulate": "CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)",
		"session":  "SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '3' SECOND)",
	}
	run := func(t *testing.T, mode table.Mode, par int, batch, strategy string, q string) []string {
		env, err := table.NewEnvironment(table.Settings{Mode: mode, Config: map[string]string{
			"parallelism.default": fmt.Sprint(par), "table.exec.batch-size": batch,
			"table.optimizer.agg-phase-strategy": strategy}})
		require.NoError(t, err)
		require.NoError(t, env.CreateTable("t", table.NewTableDescriptor("filesystem").
			Schema(table.Column("k", "STRING"), table.Column("a", "INT"), table.Column("u", "STRING"), table.Column("ts", "TIMESTAMP(3)")).
			Watermark("ts", "ts - INTERVAL '1' SECOND").
			Option("path", dir).Option("format", "csv")))
		if mode == table.Streaming {
			explain, err := env.ExecuteSQL(ctx, "EXPLAIN "+q)
			require.NoError(t, err)
			twoPhase := strategy == "TWO_PHASE" && !strings.Contains(q, "SESSION")
			require.Equal(t, twoPhase, strings.Contains(readAll(t, explain), "LocalWindowAggregate"))
		}
		return rowsOf(t, ctx, env.SQLQuery(q))
	}
	for name, w := range windows {
		t.Run(name, func(t *testing.T) {
			query := func(calls string) string {
				return "SELECT k, DATE_FORMAT(window_start, 'MMdd-HHmmss.SSS'), " + calls + " FROM TABLE(" + w + ") GROUP BY k, window_start, window_end"
			}
			exact := run(t, table.Batch, 1, "1024", "ONE_PHASE", query(both))
			require.NotEmpty(t, exact)
			checkApprox(t, exact, " ", key)
			// The estimates alone, as the approximate query prints them.
			var want []string
			for _, r := range exact {
				f := strings.Split(r, " ")
				keep := f[:key]
				for c := key; c < len(f); c += 2 {
					keep = append(keep, f[c])
				}
				want = append(want, strings.Join(keep, " "))
			}
			for _, strategy := range []string{"ONE_PHASE", "TWO_PHASE"} {
				for _, par := range []int{1, 2} {
					batch := fmt.Sprint(1 + rng.Intn(50))
					got := run(t, table.Streaming, par, batch, strategy, query(approx))
					require.Equal(t, want, got, "streaming, %s, parallelism %d, batch size %s", strategy, par, batch)
				}
			}
		})
	}
}

// TestApproxCountDistinctErrors checks the planning errors, positioned at
// the call: an updating input (Flink rejects retraction in non-windowed
// streaming aggregates), a bounded OVER frame, and an argument type Flink
// does not accept. An unbounded OVER frame only accumulates.
func TestApproxCountDistinctErrors(t *testing.T) {
	ctx := context.Background()
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	_, err = env.ExecuteSQL(ctx, `CREATE TABLE gen (id BIGINT, b BOOLEAN, pt AS PROCTIME()) WITH ('connector' = 'datagen',
		'number-of-rows' = '10', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '10')`)
	require.NoError(t, err)
	// A bounded OVER frame retracts the rows leaving it.
	_, err = env.ExecuteSQL(ctx, "SELECT id, APPROX_COUNT_DISTINCT(id % 3) OVER (ORDER BY pt ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM gen")
	require.ErrorContains(t, err, "APPROX_COUNT_DISTINCT aggregate function does not support retraction")
	require.ErrorContains(t, err, "column 12")
	require.Equal(t, []string{"1 1", "2 2", "3 3", "4 3", "5 3"}, rowsOf(t, ctx, env.SQLQuery(
		"SELECT id, APPROX_COUNT_DISTINCT(id % 3) OVER (ORDER BY pt ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM gen WHERE id <= 5")))
	_, err = env.ExecuteSQL(ctx, "SELECT APPROX_COUNT_DISTINCT(c) FROM (SELECT id % 3 AS k, COUNT(*) AS c FROM gen GROUP BY id % 3)")
	require.ErrorContains(t, err, "APPROX_COUNT_DISTINCT aggregate function does not support retraction")
	require.ErrorContains(t, err, "column 8")
	_, err = env.ExecuteSQL(ctx, "SELECT APPROX_COUNT_DISTINCT(b) FROM gen")
	require.ErrorContains(t, err, "APPROX_COUNT_DISTINCT aggregate function does not support type: 'BOOLEAN'")

	// The Table API calls it by name, over an insert-only input only.
	require.Equal(t, []string{"10"}, rowsOf(t, ctx, env.From("gen").Select(table.Aggregate("APPROX_COUNT_DISTINCT", table.Col("id")))))
	counts := env.From("gen").GroupBy(table.Col("b")).Select(table.Col("b"), table.CountStar().As("c"))
	_, err = counts.Select(table.Aggregate("approx_count_distinct", table.Col("c"))).Execute(ctx)
	require.ErrorContains(t, err, "APPROX_COUNT_DISTINCT aggregate function does not support retraction")
}

// TestApproxCountDistinctBatch runs a batch group aggregate: its final
// estimates are within the error bound of COUNT(DISTINCT), with the
// bias-corrected range (50,000 to 80,000 values) included.
func TestApproxCountDistinctBatch(t *testing.T) {
	ctx := context.Background()
	env, err := table.NewEnvironment(table.Settings{Mode: table.Batch, Config: map[string]string{"parallelism.default": "2"}})
	require.NoError(t, err)
	_, err = env.ExecuteSQL(ctx, `CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen',
		'rows-per-second' = '1000000000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '200000')`)
	require.NoError(t, err)
	rows := rowsOf(t, ctx, env.SQLQuery(`SELECT id % 3, APPROX_COUNT_DISTINCT(id), COUNT(DISTINCT id),
		APPROX_COUNT_DISTINCT(CAST(id % 1000 AS STRING)), COUNT(DISTINCT CAST(id % 1000 AS STRING))
		FROM gen WHERE id % 3 <> 0 OR id < 120000 GROUP BY id % 3`))
	require.Len(t, rows, 3)
	checkApprox(t, rows, " ", 1)
}
