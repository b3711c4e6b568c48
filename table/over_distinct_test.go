package table_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eddysql/eddy/table"
)

// overDistinctRow is one row of the orders the DISTINCT OVER test reads.
type overDistinctRow struct {
	id, v int64
	k, s  string
	ms    int64 // ts, in milliseconds after the base time
}

// TestOverDistinctAggregates runs COUNT/SUM/MAX(DISTINCT ...) OVER
// windows (event-time RANGE and ROWS frames, bounded and unbounded, and
// a non-time ORDER BY) in streaming mode at parallelism 1 and 2, with
// small batches, and in batch mode, and compares the final rows with the
// frames' aggregates computed row at a time in Go. PostgreSQL, the usual
// oracle, has no DISTINCT in window aggregates.
func TestOverDistinctAggregates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rows []overDistinctRow
	var csv strings.Builder
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := int64(1); i <= 90; i++ {
		// Times increase, so that no row is late and ROWS frames have
		// one order; values repeat within a partition's frames.
		r := overDistinctRow{id: i, k: fmt.Sprintf("k%d", i*7%3), v: i * 13 % 5, s: string(rune('x' + i*5%3)), ms: i*700 + i%4*100}
		rows = append(rows, r)
		ts := base.Add(time.Duration(r.ms) * time.Millisecond)
		fmt.Fprintf(&csv, "%d,%s,%d,%s,%s\n", r.id, r.k, r.v, r.s, ts.Format("2006-01-02 15:04:05.000"))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "part-0.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// frame returns the rows of r's frame within its partition part (in
	// time order).
	type frameFn func(part []overDistinctRow, j int) []overDistinctRow
	rangeFrame := func(ms int64) frameFn {
		return func(part []overDistinctRow, j int) []overDistinctRow {
			var out []overDistinctRow
			for _, o := range part[:j+1] {
				if ms < 0 || part[j].ms-o.ms <= ms {
					out = append(out, o)
				}
			}
			return out
		}
	}
	rowsFrame := func(n int) frameFn {
		return func(part []overDistinctRow, j int) []overDistinctRow { return part[max(0, j-n) : j+1] }
	}
	for _, q := range []struct {
		name, window string
		frame        frameFn
	}{
		{"range", "PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW", rangeFrame(3000)},
		{"rows", "PARTITION BY k ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW", rowsFrame(4)},
		{"unbounded", "PARTITION BY k ORDER BY ts", rangeFrame(-1)},
		// Ordered by a non-time column: the non-time OVER aggregation,
		// whose updates the final rows fold.
		{"non-time", "PARTITION BY k ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW", rangeFrame(-1)},
	} {
		var want []string
		for _, k := range []string{"k0", "k1", "k2"} {
			var part []overDistinctRow
			for _, r := range rows {
				if r.k == k {
					part = append(part, r)
				}
			}
			for j, r := range part {
				vs, ss := map[int64]bool{}, map[string]bool{}
				var sum int64
				for _, o := range q.frame(part, j) {
					if !vs[o.v] {
						vs[o.v] = true
						sum += o.v
					}
					ss[o.s] = true
				}
				strs := slices.Sorted(maps.Keys(ss))
				want = append(want, fmt.Sprintf("%d %s %d %d %d %s", r.id, r.k, len(vs), sum, len(ss), strs[len(strs)-1]))
			}
		}
		sort.Strings(want)
		query := `SELECT id, k, COUNT(DISTINCT v) OVER w, SUM(DISTINCT v) OVER w, COUNT(DISTINCT s) OVER w, MAX(DISTINCT s) OVER w
			FROM orders WINDOW w AS (` + q.window + `)`
		for _, run := range []struct {
			name string
			mode table.Mode
			par  int
		}{{"streaming/1", table.Streaming, 1}, {"streaming/2", table.Streaming, 2}, {"batch/2", table.Batch, 2}} {
			t.Run(q.name+"/"+run.name, func(t *testing.T) {
				env, err := table.NewEnvironment(table.Settings{Mode: run.mode, Config: map[string]string{
					"parallelism.default": fmt.Sprint(run.par), "table.exec.batch-size": "7"}})
				if err != nil {
					t.Fatal(err)
				}
				err = env.CreateTable("orders", table.NewTableDescriptor("filesystem").
					Schema(table.Column("id", "BIGINT"), table.Column("k", "STRING"), table.Column("v", "BIGINT"),
						table.Column("s", "STRING"), table.Column("ts", "TIMESTAMP(3)")).
					Watermark("ts", "ts - INTERVAL '1' SECOND").
					Option("path", dir).Option("format", "csv"))
				if err != nil {
					t.Fatal(err)
				}
				got := rowsOf(t, ctx, env.SQLQuery(query))
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("results differ\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		}
	}
}
