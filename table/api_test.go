package table_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
)

// apiEnv starts an environment with an orders table (CSV, rowtime ts) and
// a customers table, both bounded.
func apiEnv(t testing.TB, mode table.Mode, par int) *table.Environment {
	t.Helper()
	dir := t.TempDir()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var orders, customers, rates strings.Builder
	for i := 1; i <= 60; i++ {
		ts := base.Add(time.Duration(i*1500+(i*7919%3)*1000) * time.Millisecond)
		fmt.Fprintf(&orders, "%d,%d,p%d,%d.5,%s\n", i, i*7%5+1, i%3, i*37%100, ts.Format("2006-01-02 15:04:05.000"))
	}
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&customers, "%d,c%d\n", i, i)
	}
	// Each customer's rate changes every 30 seconds.
	for v := 0; v < 4; v++ {
		for c := 1; c <= 5; c++ {
			ts := base.Add(time.Duration(v*30+c) * time.Second)
			fmt.Fprintf(&rates, "%d,%d.25,%s\n", c, c*10+v, ts.Format("2006-01-02 15:04:05.000"))
		}
	}
	for name, data := range map[string]string{"orders": orders.String(), "customers": customers.String(), "rates": rates.String()} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "part-0.csv"), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, err := table.NewEnvironment(table.Settings{Mode: mode, Config: map[string]string{"parallelism.default": fmt.Sprint(par)}})
	if err != nil {
		t.Fatal(err)
	}
	err = env.CreateTable("orders", table.NewTableDescriptor("filesystem").
		Schema(table.Column("id", "BIGINT"), table.Column("customer", "BIGINT"), table.Column("product", "STRING"),
			table.Column("amount", "DOUBLE"), table.Column("ts", "TIMESTAMP(3)")).
		Watermark("ts", "ts - INTERVAL '1' SECOND").
		Option("path", filepath.Join(dir, "orders")).Option("format", "csv"))
	if err != nil {
		t.Fatal(err)
	}
	err = env.CreateTable("rates", table.NewTableDescriptor("filesystem").
		Schema(table.Column("rcid", "BIGINT NOT NULL"), table.Column("rate", "DOUBLE"), table.Column("rts", "TIMESTAMP(3)")).
		Watermark("rts", "rts").PrimaryKey("rcid").
		Option("path", filepath.Join(dir, "rates")).Option("format", "csv"))
	if err != nil {
		t.Fatal(err)
	}
	err = env.CreateTable("customers", table.NewTableDescriptor("filesystem").
		Schema(table.Column("cid", "BIGINT"), table.Column("name", "STRING")).
		Option("path", filepath.Join(dir, "customers")).Option("format", "csv"))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// equivalences pairs SQL queries with the same query in the Table API.
var equivalences = []struct {
	name      string
	sql       string
	api       func(env *table.Environment) *table.Table
	batchOnly bool
}{
	{"select-filter", "SELECT id, amount * 2 AS dbl FROM orders WHERE amount > 10 AND product <> 'p1'",
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				Filter(table.Col("amount").Gt(10).And(table.Col("product").Ne("p1"))).
				Select(table.Col("id"), table.Col("amount").Times(2).As("dbl"))
		}, false},
	{"add-drop-rename", "SELECT id, customer AS cust, amount, amount + 1 AS more FROM orders",
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				AddColumns(table.Col("amount").Plus(1).As("more")).
				DropColumns(table.Col("product"), table.Col("ts")).
				RenameColumns(table.Col("customer").As("cust"))
		}, false},
	{"group-by", "SELECT customer, SUM(amount) AS total, COUNT(*) AS n, MAX(id) + 1 AS m FROM orders WHERE id BETWEEN 5 AND 50 GROUP BY customer",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Where(table.Col("id").Between(5, 50)).
				GroupBy(table.Col("customer")).
				Select(table.Col("customer"), table.Col("amount").Sum().As("total"), table.CountStar().As("n"),
					table.Col("id").Max().Plus(1).As("m"))
		}, false},
	{"global-agg", "SELECT COUNT(DISTINCT product) AS products, AVG(amount) AS a FROM orders",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Select(table.Col("product").CountDistinct().As("products"), table.Col("amount").Avg().As("a"))
		}, false},
	{"distinct", "SELECT DISTINCT customer, product FROM orders",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Select(table.Col("customer"), table.Col("product")).Distinct()
		}, false},
	{"tumble", `SELECT window_start, window_end, customer, SUM(amount) AS s, COUNT(*) AS n
		FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND))
		GROUP BY window_start, window_end, customer`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				Window(table.Tumble(table.Lit(10).Seconds()).On(table.Col("ts")).As("w")).
				GroupBy(table.Col("w"), table.Col("customer")).
				Select(table.Col("w").Start(), table.Col("w").End(), table.Col("customer"),
					table.Col("amount").Sum().As("s"), table.CountStar().As("n"))
		}, false},
	{"hop", `SELECT window_start, MAX(amount) AS m
		FROM TABLE(HOP(TABLE orders, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND))
		GROUP BY window_start, window_end`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				Window(table.Slide(table.Lit(20).Seconds()).Every(table.Lit(5).Seconds()).On(table.Col("ts")).As("w")).
				GroupBy(table.Col("w")).
				Select(table.Col("w").Start(), table.Col("amount").Max().As("m"))
		}, false},
	{"join", "SELECT id, name, amount FROM orders JOIN customers ON customer = cid WHERE amount > 20",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Join(env.From("customers"), table.Col("customer").Eq(table.Col("cid"))).
				Where(table.Col("amount").Gt(20)).
				Select(table.Col("id"), table.Col("name"), table.Col("amount"))
		}, false},
	{"left-join", "SELECT id, name FROM orders LEFT JOIN customers ON customer = cid AND name <> 'c2'",
		func(env *table.Environment) *table.Table {
			return env.From("orders").LeftOuterJoin(env.From("customers"),
				table.Col("customer").Eq(table.Col("cid")), table.Col("name").Ne("c2")).
				Select(table.Col("id"), table.Col("name"))
		}, false},
	{"temporal-join", "SELECT id, amount * rate AS v FROM orders JOIN rates FOR SYSTEM_TIME AS OF orders.ts ON customer = rcid",
		func(env *table.Environment) *table.Table {
			return env.From("orders").TemporalJoin(env.From("rates"), table.Col("ts"), table.Col("customer").Eq(table.Col("rcid"))).
				Select(table.Col("id"), table.Col("amount").Times(table.Col("rate")).As("v"))
		}, false},
	{"left-temporal-join", "SELECT id, rate FROM orders LEFT JOIN rates FOR SYSTEM_TIME AS OF orders.ts ON customer = rcid AND rate > 30",
		func(env *table.Environment) *table.Table {
			return env.From("orders").LeftOuterTemporalJoin(env.From("rates"), table.Col("ts"),
				table.Col("customer").Eq(table.Col("rcid")), table.Col("rate").Gt(30)).
				Select(table.Col("id"), table.Col("rate"))
		}, false},
	{"interval-join", `SELECT id, bid FROM orders JOIN (SELECT id AS bid, customer AS bc, ts AS bts FROM orders)
		ON customer = bc AND ts BETWEEN bts - INTERVAL '3' SECOND AND bts`,
		func(env *table.Environment) *table.Table {
			b := env.From("orders").Select(table.Col("id").As("bid"), table.Col("customer").As("bc"), table.Col("ts").As("bts"))
			return env.From("orders").Join(b, table.Col("customer").Eq(table.Col("bc")),
				table.Col("ts").Between(table.Col("bts").Minus(table.Lit(3).Seconds()), table.Col("bts"))).
				Select(table.Col("id"), table.Col("bid"))
		}, false},
	{"right-join", "SELECT id, name FROM orders RIGHT JOIN customers ON customer = cid AND amount > 50",
		func(env *table.Environment) *table.Table {
			return env.From("orders").RightOuterJoin(env.From("customers"),
				table.Col("customer").Eq(table.Col("cid")), table.Col("amount").Gt(50)).
				Select(table.Col("id"), table.Col("name"))
		}, false},
	{"full-join", "SELECT id, name FROM orders FULL JOIN customers ON customer = cid AND amount > 50",
		func(env *table.Environment) *table.Table {
			return env.From("orders").FullOuterJoin(env.From("customers"),
				table.Col("customer").Eq(table.Col("cid")), table.Col("amount").Gt(50)).
				Select(table.Col("id"), table.Col("name"))
		}, false},
	{"cumulate", `SELECT window_start, window_end, COUNT(*) AS n, MIN(amount) AS lo
		FROM TABLE(CUMULATE(TABLE orders, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND))
		GROUP BY window_start, window_end`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				Window(table.Cumulate(table.Lit(20).Seconds()).Step(table.Lit(5).Seconds()).On(table.Col("ts")).As("w")).
				GroupBy(table.Col("w")).
				Select(table.Col("w").Start(), table.Col("w").End(), table.CountStar().As("n"), table.Col("amount").Min().As("lo"))
		}, false},
	{"session", `SELECT window_start, window_end, customer, COUNT(*) AS n
		FROM TABLE(SESSION(TABLE orders PARTITION BY customer, DESCRIPTOR(ts), INTERVAL '8' SECOND))
		GROUP BY window_start, window_end, customer`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				Window(table.Session(table.Lit(8).Seconds()).On(table.Col("ts")).As("w")).
				GroupBy(table.Col("w"), table.Col("customer")).
				Select(table.Col("w").Start(), table.Col("w").End(), table.Col("customer"), table.CountStar().As("n"))
		}, false},
	{"union", "SELECT customer FROM orders UNION SELECT cid FROM customers",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Select(table.Col("customer")).Union(env.From("customers").Select(table.Col("cid")))
		}, false},
	{"operators", "SELECT id, amount / 2 AS half, id % 4 AS m, amount - 1 AS less, product IS NULL AS nop FROM orders WHERE amount <= 30 OR NOT (customer = 2)",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Where(table.Col("amount").Le(30).Or(table.Not(table.Col("customer").Eq(2)))).
				Select(table.Col("id"), table.Col("amount").Div(2).As("half"), table.Col("id").Mod(4).As("m"),
					table.Col("amount").Minus(1).As("less"), table.Col("product").IsNull().As("nop"))
		}, false},
	{"union-all", "SELECT customer FROM orders WHERE id < 5 UNION ALL SELECT cid FROM customers",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Filter(table.Col("id").Lt(5)).Select(table.Col("customer")).
				UnionAll(env.From("customers").Select(table.Col("cid")))
		}, false},
	{"minus", "SELECT customer FROM orders EXCEPT SELECT cid FROM customers WHERE cid > 2",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Select(table.Col("customer")).
				Minus(env.From("customers").Filter(table.Col("cid").Gt(2)).Select(table.Col("cid")))
		}, false},
	{"intersect", "SELECT customer FROM orders INTERSECT SELECT cid FROM customers",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Select(table.Col("customer")).Intersect(env.From("customers").Select(table.Col("cid")))
		}, false},
	{"over", `SELECT id, SUM(amount) OVER (PARTITION BY customer ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s FROM orders`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				OverWindow(table.Over().PartitionBy(table.Col("customer")).OrderBy(table.Col("ts")).Preceding(table.RowInterval(2)).As("w")).
				Select(table.Col("id"), table.Col("amount").Sum().Over("w").As("s"))
		}, false},
	{"over-distinct", `SELECT id, COUNT(DISTINCT amount) OVER w AS c, SUM(DISTINCT amount) OVER w AS s FROM orders
		WINDOW w AS (PARTITION BY customer ORDER BY ts RANGE BETWEEN INTERVAL '5' SECOND PRECEDING AND CURRENT ROW)`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				OverWindow(table.Over().PartitionBy(table.Col("customer")).OrderBy(table.Col("ts")).Preceding(table.Lit(5).Seconds()).As("w")).
				Select(table.Col("id"), table.Col("amount").CountDistinct().Over("w").As("c"), table.Col("amount").SumDistinct().Over("w").As("s"))
		}, false},
	{"over-distinct-tuple", `SELECT id, COUNT(DISTINCT customer, product) OVER w AS c FROM orders
		WINDOW w AS (ORDER BY ts RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW)`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				OverWindow(table.Over().OrderBy(table.Col("ts")).Preceding(table.Lit(10).Seconds()).As("w")).
				Select(table.Col("id"), table.CountDistinct(table.Col("customer"), table.Col("product")).Over("w").As("c"))
		}, false},
	{"group-by-distinct-tuple", "SELECT customer, COUNT(DISTINCT product, amount) AS c, COUNT(DISTINCT product) AS p FROM orders GROUP BY customer",
		func(env *table.Environment) *table.Table {
			return env.From("orders").GroupBy(table.Col("customer")).
				Select(table.Col("customer"), table.Aggregate("COUNT", table.Col("product"), table.Col("amount")).Distinct().As("c"),
					table.Col("product").Count().Distinct().As("p"))
		}, false},
	{"tumble-distinct-tuple", `SELECT window_start, COUNT(DISTINCT customer, product) AS c
		FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '20' SECOND))
		GROUP BY window_start, window_end`,
		func(env *table.Environment) *table.Table {
			return env.From("orders").
				Window(table.Tumble(table.Lit(20).Seconds()).On(table.Col("ts")).As("w")).
				GroupBy(table.Col("w")).
				Select(table.Col("w").Start(), table.CountDistinct(table.Col("customer"), table.Col("product")).As("c"))
		}, false},
	{"order-fetch", "SELECT id, amount FROM orders ORDER BY amount DESC, id LIMIT 5 OFFSET 2",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Select(table.Col("id"), table.Col("amount")).
				OrderBy(table.Col("amount").Desc(), table.Col("id")).Offset(2).Fetch(5)
		}, true},
	{"functions", "SELECT id, IF(amount > 50, UPPER(product), 'small') AS label, CAST(amount AS INT) AS a, customer IN (1, 2) AS few FROM orders WHERE product IS NOT NULL",
		func(env *table.Environment) *table.Table {
			return env.From("orders").Filter(table.Col("product").IsNotNull()).
				Select(table.Col("id"),
					table.If(table.Col("amount").Gt(50), table.Call("UPPER", table.Col("product")), "small").As("label"),
					table.Col("amount").Cast(intType).As("a"),
					table.Col("customer").In(1, 2).As("few"))
		}, false},
}

// TestTableAPIMatchesSQL checks that each Table API query plans exactly as
// its SQL twin (the optimized logical plans print the same) and returns
// the same rows, in streaming and batch mode.
func TestTableAPIMatchesSQL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, mode := range []table.Mode{table.Streaming, table.Batch} {
		env := apiEnv(t, mode, 2)
		for _, q := range equivalences {
			if q.batchOnly && mode != table.Batch {
				continue
			}
			t.Run(fmt.Sprintf("%s/mode=%d", q.name, mode), func(t *testing.T) {
				fromSQL, fromAPI := env.SQLQuery(q.sql), q.api(env)
				want, err := fromSQL.OptimizedPlan()
				if err != nil {
					t.Fatalf("SQL: %v", err)
				}
				got, err := fromAPI.OptimizedPlan()
				if err != nil {
					t.Fatalf("Table API: %v", err)
				}
				if got != want {
					t.Fatalf("plans differ\nSQL:\n%s\nTable API:\n%s", want, got)
				}
				wantRows, gotRows := rowsOf(t, ctx, fromSQL), rowsOf(t, ctx, fromAPI)
				if len(wantRows) == 0 {
					t.Fatal("the query returned no rows")
				}
				if strings.Join(gotRows, "\n") != strings.Join(wantRows, "\n") {
					t.Fatalf("results differ\nSQL:\n%s\nTable API:\n%s", strings.Join(wantRows, "\n"), strings.Join(gotRows, "\n"))
				}
			})
		}
	}
}

// rowsOf runs tb and returns its final rows, their values separated by
// spaces, sorted.
func rowsOf(t *testing.T, ctx context.Context, tb *table.Table) []string {
	t.Helper()
	res, err := tb.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := res.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range table.Materialize(rows) {
		vals := make([]string, len(r.Values))
		for i, v := range r.Values {
			vals[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(vals, " "))
	}
	sort.Strings(out)
	return out
}

// TestTableAPIErrors checks that errors are kept on the Table, name the
// operation and the expression, and carry the error catalog's codes.
func TestTableAPIErrors(t *testing.T) {
	env := apiEnv(t, table.Batch, 1)
	ctx := context.Background()
	for _, tc := range []struct {
		tbl  *table.Table
		code errs.Code
		msg  string
	}{
		{env.From("orders").Select(table.Col("amout").Plus(1)), errs.UndefinedColumn,
			`Select: column 'amout' not found; the table has columns id, customer, product, amount, ts (near "amout")`},
		{env.From("orders").Filter(table.Col("product").Times(2)).Select(table.Col("id")), errs.DatatypeMismatch,
			`Filter: cannot apply '*' to arguments of types STRING and INT (near "(product * 2)")`},
		{env.From("orders").Filter(table.Col("id")), errs.DatatypeMismatch,
			`Filter: condition must be BOOLEAN, not BIGINT (near "id")`},
		{env.From("orders").GroupBy(table.Col("customer")).Select(table.Col("id")), errs.GroupingError,
			`GroupBy.Select: expression 'id' is not being grouped (near "id")`},
		{env.From("orders").Select(table.Call("NO_SUCH_FN", table.Col("id"))), errs.UndefinedFunction,
			`Select: unknown function: NO_SUCH_FN (near "NO_SUCH_FN(id)")`},
		{env.From("nope"), errs.UndefinedTable, ""},
		{env.From("orders").Window(table.Tumble(table.Lit(1).Minutes()).On(table.Col("id")).As("w")).GroupBy(table.Col("w")).Select(table.CountStar()),
			errs.DatatypeMismatch, `Window.GroupBy.Select: the window requires a time attribute, but 'id' is BIGINT (near "id")`},
		{env.SQLQuery("SELECT nope FROM orders"), errs.UndefinedColumn, ""},
		{env.From("orders").Select(table.Aggregate("SUM", table.Col("id"), table.Col("amount")).Distinct()), errs.NotSupported,
			`GroupBy.Select: DISTINCT SUM takes one argument (near "SUM(DISTINCT id, amount)")`},
		{env.From("orders").Select(table.Col("id").Plus(1).Distinct()), errs.InvalidPlan,
			`Select: Distinct applies to an aggregate call, as in Col("a").Sum().Distinct() (near "(id + 1).distinct()")`},
		{env.From("orders").TemporalJoin(env.From("rates"), table.Col("id"), table.Col("customer").Eq(table.Col("rcid"))),
			errs.DatatypeMismatch, `TemporalJoin: FOR SYSTEM_TIME AS OF needs a time attribute of the left table, not id (near "id")`},
		{env.From("orders").TemporalJoin(env.From("customers"), table.Col("ts"), table.Col("customer").Eq(table.Col("cid"))),
			errs.InvalidPlan, `TemporalJoin: the versioned table of an event-time temporal join needs a rowtime attribute (WATERMARK) and a PRIMARY KEY (near "ts")`},
	} {
		// The first error survives later operations.
		tb := tc.tbl.Select(table.Col("*")).Filter(table.Lit(true))
		for _, err := range []error{tb.Err(), errOf(tb.Explain()), errOf(tb.Execute(ctx)), errOf(table.Collect[struct{ X int }](ctx, tb))} {
			if !errs.Is(err, tc.code) {
				t.Fatalf("got %v, want code %s", err, tc.code.Name)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Fatalf("got %q\nwant %q", err.Error(), tc.msg)
			}
		}
	}
}

func errOf[T any](_ T, err error) error { return err }

// checkedEnv starts a streaming environment at parallelism par whose
// allocator must be empty when the test ends, after its jobs have ended.
func checkedEnv(t *testing.T, par int) *table.Environment {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{"parallelism.default": fmt.Sprint(par)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Jobs release their buffers as they end; a failed job's other
		// subtasks may still be stopping when its error arrives.
		for _, j := range env.Jobs() {
			_ = j.Wait(context.Background())
		}
		mem.AssertSize(t, 0)
	})
	return env
}

// TestUDFFromSQLParallel runs a Go function from SQL and from the Table
// API at parallelism 2 over 2,000 generated rows.
func TestUDFFromSQLParallel(t *testing.T) {
	env := checkedEnv(t, 2)
	if err := env.CreateFunction("tag", func(id int64, s string) string { return fmt.Sprintf("%s-%d", s, id*2) }); err != nil {
		t.Fatal(err)
	}
	if err := env.CreateFunction("half", func(x int64) (float64, error) {
		if x < 0 {
			return 0, fmt.Errorf("negative %d", x)
		}
		return float64(x) / 2, nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := env.ExecuteSQL(ctx, `CREATE TABLE gen (id BIGINT, v STRING) WITH ('connector' = 'datagen',
		'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '2000',
		'fields.v.kind' = 'sequence', 'fields.v.start' = '1', 'fields.v.end' = '2000')`)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	type out struct {
		ID   int64   `eddy:"id"`
		Tag  string  `eddy:"t"`
		Half float64 `eddy:"h"`
	}
	check := func(rows []out) {
		t.Helper()
		if len(rows) != 2000 {
			t.Fatalf("got %d rows", len(rows))
		}
		for _, r := range rows {
			if r.Tag != fmt.Sprintf("%d-%d", r.ID, r.ID*2) || r.Half != float64(r.ID)/2 {
				t.Fatalf("bad row %+v", r)
			}
		}
	}
	rows, err := table.Collect[out](ctx, env.SQLQuery("SELECT id, tag(id, v) AS t, HALF(id) AS h FROM gen"))
	if err != nil {
		t.Fatal(err)
	}
	check(rows)
	rows, err = table.Collect[out](ctx, env.From("gen").Select(table.Col("id"),
		table.Call("tag", table.Col("id"), table.Col("v")).As("t"), table.Call("half", table.Col("id")).As("h")))
	if err != nil {
		t.Fatal(err)
	}
	check(rows)
	// A Go error fails the job with the function's name.
	_, err = table.Collect[out](ctx, env.SQLQuery("SELECT id, HALF(-id) AS h FROM gen"))
	// Either subtask may fail first, each at its first (negative) id.
	if err == nil || !strings.Contains(err.Error(), "HALF: negative -") {
		t.Fatalf("got %v", err)
	}
}

var intType = types.IntType

// TestExecuteInsertCancel runs an unbounded Table API insert job, whose
// handle reports it RUNNING until Cancel, after which Wait returns
// exec.ErrJobCanceled and the status is CANCELED.
func TestExecuteInsertCancel(t *testing.T) {
	env := checkedEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ddl := range []*struct{ name, connector string }{{"ticks", "datagen"}, {"sink", "blackhole"}} {
		if err := env.CreateTable(ddl.name, table.NewTableDescriptor(ddl.connector).Schema(table.Column("v", "BIGINT"))); err != nil {
			t.Fatal(err)
		}
	}
	job, err := env.From("ticks").Filter(table.Col("v").IsNotNull()).ExecuteInsert(ctx, "sink")
	if err != nil {
		t.Fatal(err)
	}
	if s := job.Status(); s != exec.JobRunning {
		t.Fatalf("status %s before Cancel", s)
	}
	job.Cancel()
	if err := job.Wait(ctx); !errors.Is(err, exec.ErrJobCanceled) {
		t.Fatalf("Wait after Cancel: %v", err)
	}
	if s := job.Status(); s != exec.JobCanceled {
		t.Fatalf("status %s after Cancel", s)
	}
}
