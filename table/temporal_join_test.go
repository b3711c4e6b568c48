package table_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVersionedViewTemporalJoin joins orders with a versioned view of
// their large orders (a deduplication keeping the last row per customer by
// rowtime), written in a WITH clause and as a CREATE VIEW, at batch sizes
// 1, 7 and the default and at parallelism 1 and 2. Every row of the view's
// input is a version, so each probe row must join the large order of its
// customer valid at its time, however many versions arrive in one batch;
// the expected rows come from a plain loop over the data.
func TestVersionedViewTemporalJoin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type order struct {
		id, customer, qty int
		product           string
		ts                time.Time
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var orders []order
	var csv strings.Builder
	for i := 1; i <= 200; i++ {
		// A customer's orders are 14 s apart; neighbours are out of order
		// by up to 3 s, within the watermark delay.
		o := order{id: i, customer: i % 7, qty: (i * 13) % 9, product: "p" + strconv.Itoa(i),
			ts: base.Add(time.Duration(i*2000+(i%3)*1500) * time.Millisecond)}
		orders = append(orders, o)
		customer := strconv.Itoa(o.customer)
		if i%11 == 0 {
			o.customer, customer = -1, "" // NULL: never matches
			orders[len(orders)-1] = o
		}
		fmt.Fprintf(&csv, "%d,%s,%s,%d,%s\n", i, customer, o.product, o.qty, o.ts.Format("2006-01-02 15:04:05.000"))
	}
	var want []string
	for _, o := range orders {
		if o.qty > 5 || o.customer < 0 {
			continue
		}
		var version *order
		for k, v := range orders {
			if v.qty > 5 && v.customer == o.customer && !v.ts.After(o.ts) && (version == nil || v.ts.After(version.ts)) {
				version = &orders[k]
			}
		}
		if version != nil {
			want = append(want, fmt.Sprintf("%d | %d | %s", o.id, o.customer, version.product))
		}
	}
	slices.Sort(want)
	if len(want) < 50 {
		t.Fatalf("the data gives %d joined rows; it should exercise many versions", len(want))
	}
	dir := filepath.Join(t.TempDir(), "orders")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part-0.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ddl := fmt.Sprintf(`
CREATE TABLE orders (id BIGINT, customer INT, product STRING, qty INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TEMPORARY VIEW big AS SELECT customer, product, ts FROM (
  SELECT customer, product, ts, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY ts DESC) AS rn
  FROM orders WHERE qty > 5) WHERE rn = 1;`, dir)
	queries := map[string]string{
		"with": `WITH b AS (SELECT customer, product, ts FROM (
    SELECT customer, product, ts, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY ts DESC) AS rn
    FROM (SELECT * FROM orders WHERE qty > 5)) WHERE rn = 1)
SELECT o.id, o.customer, v.product
FROM (SELECT * FROM orders WHERE qty <= 5) AS o
JOIN b FOR SYSTEM_TIME AS OF o.ts AS v ON o.customer = v.customer`,
		"view": `SELECT o.id, o.customer, v.product
FROM (SELECT * FROM orders WHERE qty <= 5) AS o
JOIN big FOR SYSTEM_TIME AS OF o.ts AS v ON o.customer = v.customer`,
	}
	for name, query := range queries {
		for _, batch := range []string{"1", "7", ""} {
			for _, par := range []string{"1", "2"} {
				t.Run(fmt.Sprintf("%s/batch=%s/parallelism=%s", name, batch, par), func(t *testing.T) {
					cfg := map[string]string{"parallelism.default": par}
					if batch != "" {
						cfg["table.exec.batch-size"] = batch
					}
					got, err := finalRows(ctx, cfg, ddl, query)
					if err != nil {
						t.Fatal(err)
					}
					if diff := diffRows(want, got); diff != "" {
						t.Errorf("%d rows, want %d:\n%s", len(got), len(want), diff)
					}
				})
			}
		}
	}
}
