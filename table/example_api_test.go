package table_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table"
)

type Order struct {
	ID       int64   `eddy:"id"`
	Customer string  `eddy:"customer"`
	Amount   float64 `eddy:"amount"`
}

var sampleOrders = []Order{
	{1, "ann", 12.5}, {2, "bob", 5}, {3, "ann", 30}, {4, "cid", 99.5}, {5, "bob", 41},
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A pipeline over Go values: filter, group, aggregate, and scan the
// result into structs; the same data registered as a view answers SQL.
func Example() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	t := env.FromSlice(sampleOrders).
		Filter(table.Col("amount").Gt(table.Lit(10))).
		GroupBy(table.Col("customer")).
		Select(table.Col("customer"), table.Col("amount").Sum().As("total"), table.Col("amount").Count().As("n"))
	type Total struct {
		Customer string  `eddy:"customer"`
		Total    float64 `eddy:"total"`
		N        int64   `eddy:"n"`
	}
	totals := must(table.Collect[Total](ctx, t))
	sort.Slice(totals, func(i, j int) bool { return totals[i].Customer < totals[j].Customer })
	fmt.Println(totals)

	if err := env.CreateTemporaryView("orders", env.FromSlice(sampleOrders)); err != nil {
		panic(err)
	}
	t2 := env.SQLQuery("SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer").
		Filter(table.Col("total").Gt(50)) // SQL and Go operations mix
	totals = must(table.Collect[Total](ctx, t2))
	sort.Slice(totals, func(i, j int) bool { return totals[i].Customer < totals[j].Customer })
	fmt.Println(totals)
	// Output:
	// [{ann 42.5 2} {bob 41 1} {cid 99.5 1}]
	// [{cid 99.5 0}]
}

// Projections: Select with expressions, AddColumns, DropColumns,
// RenameColumns and Filter.
func ExampleTable_Select() {
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	t := env.FromSlice(sampleOrders).
		Select(table.Col("id"), table.Col("customer"), table.Col("amount").Times(table.Lit(0.908)).As("euros")).
		AddColumns(table.If(table.Col("euros").Ge(20), "big", "small").As("size")).
		DropColumns(table.Col("customer")).
		RenameColumns(table.Col("id").As("order_id")).
		Where(table.Col("order_id").In(1, 3, 4))
	fmt.Println(t.Schema())
	rows := must(must(t.Execute(context.Background())).All(context.Background()))
	for _, r := range rows {
		fmt.Println(r)
	}
	// Output:
	// ROW<`order_id` BIGINT NOT NULL, `euros` DOUBLE NOT NULL, `size` CHAR(5) NOT NULL>
	// +I[1 11.35 small]
	// +I[3 27.240000000000002 big]
	// +I[4 90.346 big]
}

// Grouping: GroupBy with aggregates, a global aggregate, and Distinct.
func ExampleGroupedTable_Select() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	orders := env.FromSlice(sampleOrders)
	byCustomer := orders.GroupBy(table.Col("customer")).
		Select(table.Col("customer"), table.Col("amount").Max().As("biggest"), table.CountStar().As("n")).
		OrderBy(table.Col("customer"))
	fmt.Println(must(must(byCustomer.Execute(ctx)).All(ctx)))
	all := orders.Select(table.Col("amount").Avg().As("avg"), table.Col("customer").CountDistinct().As("customers"))
	fmt.Println(must(must(all.Execute(ctx)).All(ctx)))
	distinct := orders.Select(table.Col("customer")).Distinct().OrderBy(table.Col("customer").Desc())
	fmt.Println(must(must(distinct.Execute(ctx)).All(ctx)))
	// Output:
	// [+I[ann 30 2] +I[bob 41 2] +I[cid 99.5 1]]
	// [+I[37.6 3]]
	// [+I[cid] +I[bob] +I[ann]]
}

// clicksTable creates a CSV-backed table with an event-time attribute.
func clicksTable(env *table.Environment) (dir string) {
	dir = must(os.MkdirTemp("", "eddy-example"))
	data := "alice,2026-01-01 10:00:01.000\nbob,2026-01-01 10:00:20.000\nalice,2026-01-01 10:00:40.000\n" +
		"alice,2026-01-01 10:01:05.000\nbob,2026-01-01 10:01:30.000\nbob,2026-01-01 10:01:31.000\n"
	if err := os.WriteFile(filepath.Join(dir, "part-0.csv"), []byte(data), 0o644); err != nil {
		panic(err)
	}
	err := env.CreateTable("clicks", table.NewTableDescriptor("filesystem").
		Schema(table.Column("user", "STRING"), table.Column("ts", "TIMESTAMP(3)")).
		Watermark("ts", "ts - INTERVAL '5' SECOND").
		Option("path", dir).Option("format", "csv"))
	if err != nil {
		panic(err)
	}
	return dir
}

// Group windows: tumbling, sliding, session and cumulating windows on an
// event-time attribute, grouped by the window's alias.
func ExampleTable_Window() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Streaming}))
	defer os.RemoveAll(clicksTable(env))
	perMinute := env.From("clicks").
		Window(table.Tumble(table.Lit(1).Minutes()).On(table.Col("ts")).As("w")).
		GroupBy(table.Col("w"), table.Col("user")).
		Select(table.Col("user"), table.Col("w").Start().As("minute"), table.CountStar().As("clicks"))
	rows := must(must(perMinute.Execute(ctx)).All(ctx))
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = fmt.Sprint(r.Values[0], " ", r.Values[1].(interface{ Format(string) string }).Format("15:04"), " ", r.Values[2])
	}
	sort.Strings(lines)
	fmt.Println(strings.Join(lines, "\n"))
	sessions := env.From("clicks").
		Window(table.Session(table.Lit(30).Seconds()).On(table.Col("ts")).As("s")).
		GroupBy(table.Col("s"), table.Col("user")).
		Select(table.Col("user"), table.CountStar().As("clicks"))
	type session struct {
		User   string `eddy:"user"`
		Clicks int64  `eddy:"clicks"`
	}
	got := must(table.Collect[session](ctx, sessions))
	sort.Slice(got, func(i, j int) bool { return fmt.Sprint(got[i]) < fmt.Sprint(got[j]) })
	fmt.Println(got)
	// Output:
	// alice 10:00 2
	// alice 10:01 1
	// bob 10:00 1
	// bob 10:01 2
	// [{alice 1} {alice 2} {bob 1} {bob 2}]
}

// Over windows: a running aggregate per partition, ordered by time.
func ExampleTable_OverWindow() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Streaming}))
	defer os.RemoveAll(clicksTable(env))
	running := env.From("clicks").
		OverWindow(table.Over().PartitionBy(table.Col("user")).OrderBy(table.Col("ts")).Preceding(table.UnboundedRange).As("w")).
		Select(table.Col("user"), table.Col("ts"), table.CountStar().Over("w").As("so_far"))
	type click struct {
		User  string `eddy:"user"`
		SoFar int64  `eddy:"so_far"`
	}
	got := must(table.Collect[click](ctx, running))
	sort.Slice(got, func(i, j int) bool { return fmt.Sprint(got[i]) < fmt.Sprint(got[j]) })
	fmt.Println(got)
	// Output:
	// [{alice 1} {alice 2} {alice 3} {bob 1} {bob 2} {bob 3}]
}

// Joins: inner and outer joins on predicates; columns are named by
// unique names (rename a side with As or RenameColumns).
func ExampleTable_Join() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	orders := env.FromSlice(sampleOrders)
	customers := env.FromValues([]any{"ann", "Berlin"}, []any{"bob", "Oslo"}, []any{"dee", "Rome"}).As("name", "city")
	joined := orders.Join(customers, table.Col("customer").Eq(table.Col("name"))).
		Select(table.Col("id"), table.Col("city")).OrderBy(table.Col("id"))
	fmt.Println(must(must(joined.Execute(ctx)).All(ctx)))
	outer := customers.LeftOuterJoin(orders, table.Col("name").Eq(table.Col("customer"))).
		GroupBy(table.Col("name")).Select(table.Col("name"), table.Col("id").Count().As("orders")).
		OrderBy(table.Col("name"))
	fmt.Println(must(must(outer.Execute(ctx)).All(ctx)))
	// Output:
	// [+I[1 Berlin] +I[2 Oslo] +I[3 Berlin] +I[5 Oslo]]
	// [+I[ann 2] +I[bob 2] +I[dee 0]]
}

// Set operations: UnionAll, Union, Intersect and Minus.
func ExampleTable_UnionAll() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	a := env.FromValues([]any{1}, []any{2}, []any{2}, []any{3}).As("x")
	b := env.FromValues([]any{2}, []any{4}).As("x")
	for _, t := range []*table.Table{a.UnionAll(b), a.Union(b), a.Intersect(b), a.Minus(b)} {
		fmt.Println(must(must(t.OrderBy(table.Col("x")).Execute(ctx)).All(ctx)))
	}
	// Output:
	// [+I[1] +I[2] +I[2] +I[2] +I[3] +I[4]]
	// [+I[1] +I[2] +I[3] +I[4]]
	// [+I[2]]
	// [+I[1] +I[3]]
}

// Sorting and paging in batch mode; in streaming mode OrderBy with Fetch
// is a Top-N.
func ExampleTable_OrderBy() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	page := env.FromSlice(sampleOrders).Select(table.Col("id"), table.Col("amount")).
		OrderBy(table.Col("amount").Desc()).Offset(1).Fetch(2)
	fmt.Println(must(must(page.Execute(ctx)).All(ctx)))
	// Output:
	// [+I[5 41] +I[3 30]]
}

// Explain prints the plans as SQL's EXPLAIN does; errors are kept on the
// table and name the expression that caused them.
func ExampleTable_Explain() {
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	t := env.FromValues([]any{1, "a"}, []any{2, "b"}).As("id", "name").
		Filter(table.Col("id").Gt(1)).Select(table.Col("name"))
	fmt.Print(must(t.OptimizedPlan()))
	_, err := t.Select(table.Col("nme")).Explain()
	fmt.Println(err)
	// Output:
	// Collect(fields=[name])
	//   +- Calc(select=[f1 AS name], where=[(f0 > 1)])
	//     +- Values(tuples=[[{ 1, 'a' }, { 2, 'b' }]], fields=[f0, f1])
	// Select: column 'nme' not found; the table has columns name (near "nme")
}

// Execute streams changelog rows; NextBatch hands out Arrow record
// batches without copying.
func ExampleTable_Execute() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	res := must(env.FromSlice(sampleOrders).Select(table.Col("id"), table.Col("customer")).Execute(ctx))
	defer res.Close()
	first := must(res.Next(ctx))
	fmt.Println(first.Kind, first.Values)
	batch := must(res.NextBatch(ctx)) // the rest of the batch
	fmt.Println(batch.NumRows(), batch.Column(1).(*array.String).Value(0))
	batch.Release()
	_, err := res.NextBatch(ctx)
	fmt.Println(err == io.EOF)
	// Output:
	// +I [1 ann]
	// 4 bob
	// true
}

// ExecuteInsert writes a table into a sink table and returns the job.
func ExampleTable_ExecuteInsert() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	dir := must(os.MkdirTemp("", "eddy-example"))
	defer os.RemoveAll(dir)
	err := env.CreateTable("big_orders", table.NewTableDescriptor("filesystem").
		Schema(table.Column("id", "BIGINT"), table.Column("amount", types.DoubleType)).
		Option("path", dir).Option("format", "csv"))
	if err != nil {
		panic(err)
	}
	job := must(env.FromSlice(sampleOrders).Filter(table.Col("amount").Gt(40)).
		Select(table.Col("id"), table.Col("amount")).ExecuteInsert(ctx, "big_orders"))
	fmt.Println(job.Wait(ctx), job.Status())
	files := must(os.ReadDir(dir))
	fmt.Print(string(must(os.ReadFile(filepath.Join(dir, files[0].Name())))))
	// Output:
	// <nil> FINISHED
	// 4,99.5
	// 5,41.0
}

// Go functions become SQL functions: plain typed funcs are adapted to
// Arrow batches; VectorizedFunction works on the arrays directly.
func ExampleEnvironment_CreateFunction() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	err := env.CreateFunction("discount", func(amount float64, customer string) float64 {
		if customer == "ann" {
			return amount * 0.9
		}
		return amount
	})
	if err != nil {
		panic(err)
	}
	err = env.CreateFunction("twice", table.VectorizedFunction{
		Params: []types.DataType{types.BigIntType},
		Result: types.BigIntType,
		Eval: func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
			in := args[0].(*array.Int64)
			b := array.NewInt64Builder(mem)
			defer b.Release()
			for i := 0; i < in.Len(); i++ {
				b.Append(in.Value(i) * 2)
			}
			return b.NewArray(), nil
		},
	})
	if err != nil {
		panic(err)
	}
	if err := env.CreateTemporaryView("orders", env.FromSlice(sampleOrders)); err != nil {
		panic(err)
	}
	fromSQL := env.SQLQuery("SELECT twice(id) AS id2, discount(amount, customer) AS price FROM orders WHERE customer = 'ann'")
	fmt.Println(must(must(fromSQL.Execute(ctx)).All(ctx)))
	fromGo := env.From("orders").Select(table.Call("discount", table.Col("amount"), "ann").As("price")).Fetch(1)
	fmt.Println(must(must(fromGo.Execute(ctx)).All(ctx)))
	// Output:
	// [+I[2 11.25] +I[6 27]]
	// [+I[11.25]]
}

// Rows is the typed iterator: rows scanned into structs with their row
// kinds as they arrive. Over an unbounded source the query streams until
// the loop stops, which cancels its job. Set takes the options SQL's SET
// takes.
func ExampleRows() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Streaming}))
	if err := env.Set("parallelism.default", "1"); err != nil {
		panic(err)
	}
	err := env.CreateTable("ticks", table.NewTableDescriptor("datagen").
		Schema(table.Column("v", "INT")).
		Option("fields.v.min", "7").Option("fields.v.max", "7")) // no number-of-rows: unbounded
	if err != nil {
		panic(err)
	}
	type tick struct {
		V      int64 `eddy:"v"`
		Double int64 `eddy:"double"`
	}
	n := 0
	for row, err := range table.Rows[tick](ctx, env.From("ticks").AddColumns(table.Col("v").Times(2).As("double"))) {
		if err != nil {
			panic(err)
		}
		fmt.Println(row.Kind, row.Value)
		if n++; n == 3 {
			break
		}
	}
	// Output:
	// +I {7 14}
	// +I {7 14}
	// +I {7 14}
}
