package table_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
)

// TestCountDistinctTuplesPhases runs COUNT(DISTINCT a, b) in group
// aggregates over skewed data in one phase, in local and global phases,
// and split into buckets (table.optimizer.distinct-agg.split.enabled) in
// one and in two phases, at parallelism 1 and 4, with and without FILTER
// and over an updating input: the final rows must be the same, and the
// first query's those a direct count gives.
func TestCountDistinctTuplesPhases(t *testing.T) {
	split := map[string]string{"table.optimizer.distinct-agg.split.enabled": "true",
		"table.optimizer.distinct-agg.split.bucket-num": "8"}
	queries := []string{
		"SELECT k, COUNT(DISTINCT v, w), COUNT(DISTINCT w, k) FILTER (WHERE v > 500), COUNT(DISTINCT v), COUNT(*) FROM src GROUP BY k",
		"SELECT c, COUNT(DISTINCT s, k), COUNT(DISTINCT c, s) FILTER (WHERE k > 3), COUNT(*) FROM (SELECT k, COUNT(*) AS c, SUM(v) AS s FROM src GROUP BY k) GROUP BY c",
		"SELECT COUNT(DISTINCT v, w), COUNT(DISTINCT k, w) FROM src",
	}
	// The first query's rows, counted directly over src (see runAggPhases).
	type acc struct {
		vw, wk, v map[string]bool
		n         int
	}
	groups := map[int64]*acc{}
	for id := int64(1); id <= 5000; id++ {
		k := id % 37
		if id%10 < 7 {
			k = 0
		}
		v, w := id*7919%1000, float64(id%13)
		g := groups[k]
		if g == nil {
			g = &acc{vw: map[string]bool{}, wk: map[string]bool{}, v: map[string]bool{}}
			groups[k] = g
		}
		g.vw[fmt.Sprint(v, w)] = true
		if v > 500 {
			g.wk[fmt.Sprint(w, k)] = true
		}
		g.v[fmt.Sprint(v)] = true
		g.n++
	}
	var want []string
	for k, g := range groups {
		want = append(want, fmt.Sprintf("%d, %d, %d, %d, %d", k, len(g.vw), len(g.wk), len(g.v), g.n))
	}
	sort.Strings(want)
	for _, par := range []string{"1", "4"} {
		for qi, q := range queries {
			t.Run(fmt.Sprintf("parallelism=%s/query=%d", par, qi), func(t *testing.T) {
				one := runAggPhases(t, par, "ONE_PHASE", q, nil)
				require.NotEmpty(t, one)
				if qi == 0 {
					require.Equal(t, want, one)
				}
				require.Equal(t, one, runAggPhases(t, par, "TWO_PHASE", q, nil))
				require.Equal(t, one, runAggPhases(t, par, "ONE_PHASE", q, split))
				require.Equal(t, one, runAggPhases(t, par, "TWO_PHASE", q, split))
			})
		}
	}
}

// TestCountDistinctTuplesWindows runs COUNT(DISTINCT a, b) in window
// aggregates (TUMBLE, HOP, CUMULATE and SESSION) and in OVER windows in
// streaming mode at parallelism 1 and 2 with batches of random sizes,
// and compares the rows with batch mode's; the TUMBLE query's also with
// a direct count.
func TestCountDistinctTuplesWindows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var csv strings.Builder
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewSource(7))
	type key struct {
		k      string
		window int64
	}
	tumble := map[key]map[string]bool{}
	for i := range 400 {
		// Times mostly increase (a few rows late within the watermark's
		// delay); gaps now and then close sessions.
		ms := int64(i)*250 + int64(rng.Intn(900)) + int64(i/50)*20000
		k := fmt.Sprintf("k%d", rng.Intn(3))
		a, b := fmt.Sprint(rng.Intn(4)), []string{"x", "y", "z"}[rng.Intn(3)]
		if rng.Intn(10) == 0 {
			a = ""
		}
		if a != "" {
			w := key{k, ms / 10000}
			if tumble[w] == nil {
				tumble[w] = map[string]bool{}
			}
			tumble[w][a+"|"+b] = true
		} else if tumble[key{k, ms / 10000}] == nil {
			tumble[key{k, ms / 10000}] = map[string]bool{}
		}
		ts := base.Add(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(&csv, "%s,%s,%s,%s\n", k, a, b, ts.Format("2006-01-02 15:04:05.000"))
	}
	var wantTumble []string
	for w, set := range tumble {
		start := base.Add(time.Duration(w.window*10) * time.Second)
		wantTumble = append(wantTumble, fmt.Sprintf("%s %s %d", w.k, start.Format("2006-01-02 15:04:05"), len(set)))
	}
	sort.Strings(wantTumble)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "part-0.csv"), []byte(csv.String()), 0o644))

	queries := map[string]string{
		"tumble": `SELECT k, DATE_FORMAT(window_start, 'yyyy-MM-dd HH:mm:ss'), COUNT(DISTINCT a, b)
			FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end`,
		"hop": `SELECT k, window_start, COUNT(DISTINCT a, b), COUNT(DISTINCT b, a) FILTER (WHERE b <> 'x')
			FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '15' SECOND)) GROUP BY k, window_start, window_end`,
		"cumulate": `SELECT k, window_start, window_end, COUNT(DISTINCT a, b, k)
			FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY k, window_start, window_end`,
		"session": `SELECT k, window_start, window_end, COUNT(DISTINCT a, b), COUNT(*)
			FROM TABLE(SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '3' SECOND)) GROUP BY k, window_start, window_end`,
		"over": `SELECT k, ts, a, b, COUNT(DISTINCT a, b) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '5' SECOND PRECEDING AND CURRENT ROW)
			FROM t`,
	}
	run := func(t *testing.T, mode table.Mode, par int, batch string, q string) []string {
		env, err := table.NewEnvironment(table.Settings{Mode: mode, Config: map[string]string{
			"parallelism.default": fmt.Sprint(par), "table.exec.batch-size": batch}})
		require.NoError(t, err)
		require.NoError(t, env.CreateTable("t", table.NewTableDescriptor("filesystem").
			Schema(table.Column("k", "STRING"), table.Column("a", "INT"), table.Column("b", "STRING"), table.Column("ts", "TIMESTAMP(3)")).
			Watermark("ts", "ts - INTERVAL '1' SECOND").
			Option("path", dir).Option("format", "csv")))
		return rowsOf(t, ctx, env.SQLQuery(q))
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			want := run(t, table.Batch, 1, "1024", q)
			require.NotEmpty(t, want)
			if name == "tumble" {
				require.Equal(t, wantTumble, want)
			}
			for _, par := range []int{1, 2} {
				batch := fmt.Sprint(1 + rng.Intn(20))
				got := run(t, table.Streaming, par, batch, q)
				require.Equal(t, want, got, "streaming, parallelism %d, batch size %s", par, batch)
			}
		})
	}
}
