package table_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cockroachdb/datadriven"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
)

// postgresURLEnv names the PostgreSQL the differential suite compares
// against; .ci/run installs and starts one.
const postgresURLEnv = "EDDY_TEST_POSTGRES"

// skipWithoutPostgres skips a differential test when postgresURLEnv
// names no PostgreSQL to compare with, except in CI, which must provide
// one.
func skipWithoutPostgres(t *testing.T) {
	t.Helper()
	if os.Getenv(postgresURLEnv) != "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set: .ci/run must start PostgreSQL for the differential suite", postgresURLEnv)
	}
	t.Skipf("%s is not set; the differential suite needs a PostgreSQL to compare with", postgresURLEnv)
}

// connectPostgres connects to the PostgreSQL postgresURLEnv names (see
// skipWithoutPostgres), closed when the test ends.
func connectPostgres(t *testing.T, ctx context.Context) *pgx.Conn {
	t.Helper()
	pg, err := pgx.Connect(ctx, os.Getenv(postgresURLEnv))
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	t.Cleanup(func() { pg.Close(context.Background()) })
	return pg
}

// TestDifferential runs each query of testdata/differential three ways
// over the same bounded data: in streaming mode (its changelog materialized
// into final rows), in batch mode, and on PostgreSQL. All three must give
// the same multiset of rows, which the test file records. The input of a
// query may hold a line "-- postgres" after which comes the PostgreSQL
// spelling of the query, for syntax PostgreSQL lacks (window TVFs).
//
// Commands: query [parallelism=N] (default 2) [matrix] [batch]. With
// matrix the query also runs in both modes at batch sizes 1 and 7 and
// parallelism 1 and 4, each of which must give PostgreSQL's rows too.
// With batch it runs in batch mode only: for window functions Flink
// computes only there (LEAD, NTILE, PERCENT_RANK, CUME_DIST).
func TestDifferential(t *testing.T) {
	skipWithoutPostgres(t)
	// Generous: go test ./... runs the packages side by side, and under
	// -race the matrix queries of the subquery files take minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	pg := connectPostgres(t, ctx)
	dir := t.TempDir()
	ddl := loadDifferentialData(t, ctx, pg, dir)

	datadriven.Walk(t, "testdata/differential", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "query" {
				t.Fatalf("unknown command %s", d.Cmd)
			}
			par := 2
			if d.HasArg("parallelism") {
				d.ScanArgs(t, "parallelism", &par)
			}
			eddySQL, pgSQL, _ := strings.Cut(d.Input, "-- postgres")
			if strings.TrimSpace(pgSQL) == "" {
				pgSQL = eddySQL
			}
			modes := []string{"streaming", "batch"}
			if d.HasArg("batch") {
				modes = modes[1:]
			}
			return differentialQuery(t, ctx, d, ddl, eddySQL, pgSQL, par, pg, modes)
		})
	})
}

// differentialQuery runs a query of TestDifferential in each of modes
// ("streaming", "batch") and compares every result with PostgreSQL's
// answer; it returns the first mode's rows or error.
func differentialQuery(t *testing.T, ctx context.Context, d *datadriven.TestData, ddl, eddySQL, pgSQL string, par int, pg *pgx.Conn, modes []string) string {
	results := make([][]string, len(modes))
	for i, mode := range modes {
		rows, err := runEddy(ctx, ddl, eddySQL, par, mode == "batch")
		if err != nil {
			if mode == "batch" {
				return "batch error: " + err.Error() + "\n"
			}
			return "error: " + err.Error() + "\n"
		}
		results[i] = rows
	}
	want, err := runPostgres(ctx, pg, pgSQL)
	if err != nil {
		t.Fatalf("%s: PostgreSQL: %v", d.Pos, err)
	}
	for i, mode := range modes {
		if diff := diffRows(want, results[i]); diff != "" {
			t.Errorf("%s: %s result differs from PostgreSQL:\n%s", d.Pos, mode, diff)
		}
	}
	if d.HasArg("matrix") {
		differentialMatrix(t, ctx, d.Pos, ddl, eddySQL, want, modes...)
	}
	return strings.Join(results[0], "\n") + "\n"
}

// differentialMatrix runs query in the modes (streaming, batch) at batch
// sizes 1 and 7 and parallelism 1 and 4 (house style 4: small batches
// interleave the changes of different inputs, and of different rows of
// one group within a batch, as the default size over this data does not)
// and reports each run whose rows are not want.
func differentialMatrix(t *testing.T, ctx context.Context, pos, ddl, query string, want []string, modes ...string) {
	for _, size := range []string{"1", "7"} {
		for _, par := range []string{"1", "4"} {
			for _, mode := range modes {
				got, err := finalRows(ctx, map[string]string{
					"parallelism.default": par, "execution.runtime-mode": mode, "table.exec.batch-size": size,
				}, ddl, query)
				if err == nil {
					if diff := diffRows(want, got); diff != "" {
						err = fmt.Errorf("differs from PostgreSQL:\n%s", diff)
					}
				}
				if err != nil {
					t.Errorf("%s: %s, batch size %s, parallelism %s: %v", pos, mode, size, par, err)
				}
			}
		}
	}
}

// The data: orders with NULLs, duplicates and a time column; customers
// referenced by some orders and not others; orders_p, orders with a
// processing-time attribute; big_orders, a versioned view of orders.
const differentialDDL = `
CREATE TABLE orders (
  id BIGINT, customer INT, product STRING, amount DECIMAL(10, 2), qty INT, price DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '10' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE customers (id INT, name STRING, city STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
-- orders with a processing-time attribute, the probe side of lookup joins.
CREATE TEMPORARY VIEW orders_p AS SELECT *, PROCTIME() AS proc FROM orders;
-- a versioned view: the last order with qty > 5 per customer by rowtime.
CREATE TEMPORARY VIEW big_orders AS SELECT customer, product, ts FROM (
  SELECT customer, product, ts, ROW_NUMBER() OVER (PARTITION BY customer ORDER BY ts DESC) AS rn
  FROM orders WHERE qty > 5) WHERE rn = 1;
`

const postgresDDL = `
DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS customers;
CREATE TABLE orders (id BIGINT, customer INT, product TEXT, amount NUMERIC(10, 2), qty INT, price DOUBLE PRECISION, ts TIMESTAMP(3));
CREATE TABLE customers (id INT, name TEXT, city TEXT);
`

func loadDifferentialData(t *testing.T, ctx context.Context, pg *pgx.Conn, dir string) string {
	products := []string{"apple", "banana", "cherry", "durian", ""}
	cities := []string{"Berlin", "Lisbon", "Oslo"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var orders, customers [][]any
	var ocsv, ccsv strings.Builder
	csvField := func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return `"` + strings.ReplaceAll(x, `"`, `""`) + `"`
		case time.Time:
			return x.Format("2006-01-02 15:04:05.000")
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return fmt.Sprint(v)
	}
	for i := 1; i <= 300; i++ {
		var customer, qty any = (i*7)%23 + 1, (i * 13) % 9
		if i%17 == 0 {
			customer = nil
		}
		if i%29 == 0 {
			qty = nil
		}
		var product any = products[(i*3)%len(products)]
		if i%31 == 0 {
			product = nil
		}
		amount := fmt.Sprintf("%d.%02d", (i*37)%500, (i*11)%100)
		price := float64((i*53)%1000) / 8
		// Mostly increasing time with some disorder within the watermark delay.
		ts := base.Add(time.Duration(i*3000+((i*7919)%5)*1000) * time.Millisecond)
		row := []any{int64(i), customer, product, amount, qty, price, ts}
		orders = append(orders, row)
		for j, v := range row {
			if j > 0 {
				ocsv.WriteString(",")
			}
			ocsv.WriteString(csvField(v))
		}
		ocsv.WriteString("\n")
	}
	for i := 1; i <= 20; i++ {
		var city any = cities[i%len(cities)]
		if i%7 == 0 {
			city = nil
		}
		row := []any{i, fmt.Sprintf("c%02d", i), city}
		customers = append(customers, row)
		fmt.Fprintf(&ccsv, "%d,%s,%s\n", i, csvField(row[1]), csvField(city))
	}
	odir, cdir := filepath.Join(dir, "orders"), filepath.Join(dir, "customers")
	for _, f := range []struct{ dir, data string }{{odir, ocsv.String()}, {cdir, ccsv.String()}} {
		if err := os.MkdirAll(f.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dir, "part-0.csv"), []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pg.Exec(ctx, postgresDDL); err != nil {
		t.Fatalf("PostgreSQL DDL: %v", err)
	}
	if _, err := pg.CopyFrom(ctx, pgx.Identifier{"orders"}, []string{"id", "customer", "product", "amount", "qty", "price", "ts"}, pgx.CopyFromRows(pgRows(orders))); err != nil {
		t.Fatalf("loading orders: %v", err)
	}
	if _, err := pg.CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "name", "city"}, pgx.CopyFromRows(customers)); err != nil {
		t.Fatalf("loading customers: %v", err)
	}
	return fmt.Sprintf(differentialDDL, odir, cdir)
}

// pgRows converts the amount text to a numeric PostgreSQL accepts.
func pgRows(rows [][]any) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		c := append([]any(nil), r...)
		var n pgtype.Numeric
		if err := n.Scan(c[3].(string)); err != nil {
			panic(err)
		}
		c[3] = n
		out[i] = c
	}
	return out
}

// runEddy runs the query in a fresh environment and returns its final rows
// in canonical text, sorted.
func runEddy(ctx context.Context, ddl, query string, par int, batch bool) ([]string, error) {
	mode := "streaming"
	if batch {
		mode = "batch"
	}
	return finalRows(ctx, map[string]string{
		"parallelism.default": strconv.Itoa(par), "execution.runtime-mode": mode,
	}, ddl, query)
}

// finalRows runs query after the script ddl in a fresh environment with
// the configuration cfg and returns its final rows (its changelog
// applied) in canonical text, sorted.
func finalRows(ctx context.Context, cfg map[string]string, ddl, query string) ([]string, error) {
	live := map[string]int{}
	_, err := queryBatches(ctx, cfg, ddl, query, func(r *table.TableResult, b arrow.RecordBatch) error {
		for i := range int(b.NumRows()) {
			vals := make([]string, r.Schema.Len())
			for c := range vals {
				vals[c] = canonArrow(b.Column(c), i, r.Schema.Columns[c].Type)
			}
			row := strings.Join(vals, " | ")
			if r.Changelog && connector.RowKind(b.Column(int(b.NumCols())-1).(*array.Int8).Value(i)).IsRetraction() {
				live[row]--
			} else {
				live[row]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rows []string
	for row, n := range live {
		if n < 0 {
			return nil, fmt.Errorf("row retracted more often than added: %s", row)
		}
		for ; n > 0; n-- {
			rows = append(rows, row)
		}
	}
	sort.Strings(rows)
	return rows, nil
}

// queryBatches runs query after the script ddl in a fresh environment
// with the configuration cfg, calls each with every batch of its result,
// which it releases after each returns, and returns the result's schema.
func queryBatches(ctx context.Context, cfg map[string]string, ddl, query string, each func(r *table.TableResult, b arrow.RecordBatch) error) (types.Schema, error) {
	env, err := table.NewEnvironment(table.Settings{Config: cfg})
	if err != nil {
		return types.Schema{}, err
	}
	if err := env.ExecuteScript(ctx, ddl, func(string, *table.TableResult) error { return nil }); err != nil {
		return types.Schema{}, err
	}
	r, err := env.ExecuteSQL(ctx, query)
	if err != nil {
		return types.Schema{}, err
	}
	defer r.Close()
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return r.Schema, nil
		}
		if err != nil {
			return types.Schema{}, err
		}
		err = each(r, b)
		b.Release()
		if err != nil {
			return types.Schema{}, err
		}
	}
}

func runPostgres(ctx context.Context, pg *pgx.Conn, query string) ([]string, error) {
	rows, err := pg.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = canonGo(v)
		}
		out = append(out, strings.Join(parts, " | "))
	}
	sort.Strings(out)
	return out, rows.Err()
}

// Both sides print values the same way: integers and decimals in plain
// decimal notation without trailing fractional zeros, floats to 9
// significant digits, timestamps to milliseconds, NULL as NULL.
func canonArrow(a arrow.Array, i int, t types.DataType) string {
	if a.IsNull(i) {
		return "NULL"
	}
	switch c := a.(type) {
	case *array.Float32:
		return canonFloat(float64(c.Value(i)))
	case *array.Float64:
		return canonFloat(c.Value(i))
	case *array.Decimal128:
		return canonDecimal(c.Value(i).ToString(int32(t.Scale)))
	case *array.Boolean:
		return strconv.FormatBool(c.Value(i))
	case *array.Timestamp:
		return c.Value(i).ToTime(c.DataType().(*arrow.TimestampType).Unit).UTC().Format("2006-01-02 15:04:05.000")
	}
	return canonDecimal(table.FormatValue(a, i, t))
}

func canonGo(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		return canonFloat(x)
	case float32:
		return canonFloat(float64(x))
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.000")
	case pgtype.Numeric:
		if !x.Valid {
			return "NULL"
		}
		s := x.Int.String()
		if x.Exp < 0 {
			neg := strings.HasPrefix(s, "-")
			s = strings.TrimPrefix(s, "-")
			for len(s) <= int(-x.Exp) {
				s = "0" + s
			}
			s = s[:len(s)+int(x.Exp)] + "." + s[len(s)+int(x.Exp):]
			if neg {
				s = "-" + s
			}
		} else if x.Exp > 0 {
			s += strings.Repeat("0", int(x.Exp))
		}
		return canonDecimal(s)
	case bool:
		return strconv.FormatBool(x)
	}
	return canonDecimal(fmt.Sprint(v))
}

func canonFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	if f == 0 {
		// -0 = 0 in SQL: a set operation or DISTINCT keeps either.
		f = 0
	}
	return strconv.FormatFloat(f, 'g', 9, 64)
}

// canonDecimal strips trailing fractional zeros from plain decimal text;
// any other text is returned as it is.
func canonDecimal(s string) string {
	body := strings.TrimPrefix(s, "-")
	if body == "" || strings.Trim(body, "0123456789.") != "" || strings.Count(body, ".") > 1 {
		return s
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func diffRows(want, got []string) string {
	wm, gm := map[string]int{}, map[string]int{}
	for _, r := range want {
		wm[r]++
	}
	for _, r := range got {
		gm[r]++
	}
	var b strings.Builder
	for r, n := range wm {
		if gm[r] < n {
			fmt.Fprintf(&b, "  missing (%d×): %s\n", n-gm[r], r)
		}
	}
	for r, n := range gm {
		if wm[r] < n {
			fmt.Fprintf(&b, "  extra   (%d×): %s\n", n-wm[r], r)
		}
	}
	return b.String()
}
