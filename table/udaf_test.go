package table_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/table"
)

// geoMean is a Go aggregate with retraction: the geometric mean of
// positive values, from the sum of their logarithms and their count.
type geoAcc struct {
	LogSum float64
	N      int64
}

var geoMean = table.AggregateFunction[float64, geoAcc, float64]{
	Accumulate: func(a *geoAcc, v float64) { a.LogSum += math.Log(v); a.N++ },
	Retract:    func(a *geoAcc, v float64) { a.LogSum -= math.Log(v); a.N-- },
	GetValue: func(a *geoAcc) (float64, bool) {
		if a.N == 0 {
			return 0, false
		}
		return math.Round(math.Exp(a.LogSum/float64(a.N))*1e6) / 1e6, true
	},
}

// TestAggregateFunction runs a Go aggregate from SQL at parallelism 2 over
// an append-only input and over an updating one (a two-level aggregation,
// which needs Retract), and checks it against the same result computed
// with built-in functions; a function without Retract is refused on the
// updating input.
func TestAggregateFunction(t *testing.T) {
	env := checkedEnv(t, 2)
	if err := env.CreateFunction("geo_mean", geoMean); err != nil {
		t.Fatal(err)
	}
	noRetract := geoMean
	noRetract.Retract = nil
	if err := env.CreateFunction("geo_mean_append", noRetract); err != nil {
		t.Fatal(err)
	}
	if err := env.CreateFunction("COUNT", noRetract); err == nil {
		t.Fatal("a built-in aggregate's name was accepted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := env.ExecuteSQL(ctx, `CREATE TABLE gen (id BIGINT, k INT) WITH ('connector' = 'datagen',
		'number-of-rows' = '3000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '3000',
		'fields.k.min' = '1', 'fields.k.max' = '20', 'seed' = '3')`)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	type row struct {
		K   int64   `eddy:"k"`
		Geo float64 `eddy:"g"`
		Ref float64 `eddy:"r"`
	}
	check := func(query string) {
		t.Helper()
		rows, err := table.Collect[row](ctx, env.SQLQuery(query))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Fatal("no rows")
		}
		for _, r := range rows {
			if r.Geo <= 1 || math.Abs(r.Geo-r.Ref) > 1e-5*r.Ref {
				t.Fatalf("%s: group %d: geo_mean %v, built-ins %v", query, r.K, r.Geo, r.Ref)
			}
		}
	}
	// Append-only input, integer argument widened to float64.
	check(`SELECT k, geo_mean(id) AS g, EXP(AVG(LN(CAST(id AS DOUBLE)))) AS r FROM gen GROUP BY k`)
	check(`SELECT k, geo_mean_append(id) AS g, EXP(AVG(LN(CAST(id AS DOUBLE)))) AS r FROM gen GROUP BY k`)
	// Updating input: per-id counts change as rows arrive, retracting the
	// earlier count from the outer aggregate.
	inner := `SELECT id % 7 AS k, id % 50 AS b, COUNT(*) AS c FROM gen GROUP BY id % 7, id % 50`
	check(`SELECT k, geo_mean(c) AS g, EXP(AVG(LN(CAST(c AS DOUBLE)))) AS r FROM (` + inner + `) GROUP BY k`)
	_, err = table.Collect[row](ctx, env.SQLQuery(`SELECT k, geo_mean_append(c) AS g FROM (`+inner+`) GROUP BY k`))
	if err == nil || !strings.Contains(err.Error(), "no Retract") {
		t.Fatalf("a function without Retract on an updating input: got %v", err)
	}
	// From the Table API, and as an OVER aggregate.
	rows, err := table.Collect[row](ctx, env.From("gen").GroupBy(table.Col("k")).
		Select(table.Col("k"), table.Aggregate("geo_mean", table.Col("id")).As("g"),
			table.Call("EXP", table.Call("LN", table.Col("id").Cast(types.DoubleType)).Avg()).As("r")))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 20 {
		t.Fatalf("Table API: %d groups", len(rows))
	}
	for _, r := range rows {
		if r.Geo <= 1 || math.Abs(r.Geo-r.Ref) > 1e-5*r.Ref {
			t.Fatalf("Table API: group %d: geo_mean %v, built-ins %v", r.K, r.Geo, r.Ref)
		}
	}
	_, err = env.ExecuteSQL(ctx, `SELECT geo_mean(id) FROM gen GROUP BY k, x`)
	if err == nil {
		t.Fatal("unknown column accepted")
	}
	if !env.DropFunction("geo_mean") || env.DropFunction("geo_mean") {
		t.Fatal("DropFunction")
	}
}

// TestAggregateFunctionSnapshot saves a Go aggregate's accumulators in the
// middle of its input, restores them into fresh accumulators, and checks
// that the rest of the input gives the same results as without the
// restore.
func TestAggregateFunctionSnapshot(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env, err := table.NewEnvironment(table.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.CreateFunction("geo_mean_snap", geoMean); err != nil {
		t.Fatal(err)
	}
	defer env.DropFunction("geo_mean_snap")
	call := agg.Call{Func: "GEO_MEAN_SNAP", Args: []int{0}, Filter: -1, Type: types.DoubleType.WithNullable(true)}
	input := []arrow.DataType{arrow.PrimitiveTypes.Int32}
	newState := func() *agg.State {
		s, err := agg.NewState(call, input, true)
		if err != nil {
			t.Fatal(err)
		}
		s.Grow(3)
		return s
	}
	batch := func(vals []int32, slots []int32, retract []bool) (arrow.RecordBatch, []int32, []bool) {
		b := array.NewInt32Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		b.AppendNull()
		col := b.NewArray()
		defer col.Release()
		schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
		return array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(vals)+1)), append(slots, 0), append(retract, false)
	}
	results := func(s *agg.State, n int) string {
		rows := make([]int32, n)
		for i := range rows {
			rows[i] = int32(i)
		}
		col := s.Build(mem, rows, make([]bool, n))
		defer col.Release()
		return fmt.Sprint(col)
	}
	first, firstSlots, firstRetract := batch([]int32{2, 8, 3, 5, 9}, []int32{0, 0, 1, 2, 1}, []bool{false, false, false, false, false})
	defer first.Release()
	second, secondSlots, secondRetract := batch([]int32{8, 4, 3, 7}, []int32{0, 0, 1, 2}, []bool{true, false, true, false})
	defer second.Release()

	straight := newState()
	straight.Update(first, firstSlots, firstRetract)
	var snap []byte
	for slot := int32(0); slot < 3; slot++ {
		snap = straight.AppendState(snap, slot)
	}
	straight.Update(second, secondSlots, secondRetract)
	want := results(straight, 5)

	restored := newState()
	rest := snap
	for slot := int32(0); slot < 3; slot++ {
		if rest, err = restored.ReadState(rest, slot); err != nil {
			t.Fatal(err)
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left after reading the snapshot", len(rest))
	}
	restored.Update(second, secondSlots, secondRetract)
	if got := results(restored, 5); got != want {
		t.Fatalf("after restore %s, without %s", got, want)
	}
	// Each row's group result after it: slot 0 drops 8 (leaving 2) and
	// gains 4, slot 1 drops 3 (leaving 9), slot 2 gains 7 (with 5); the
	// NULL row changes nothing.
	if want != "[2 2.828427 9 5.91608 2.828427]" {
		t.Fatalf("results %s", want)
	}
}

// A Go aggregate function, used from SQL and from the Table API.
func ExampleAggregateFunction() {
	ctx := context.Background()
	env := must(table.NewEnvironment(table.Settings{Mode: table.Batch}))
	// The spread between a group's largest and smallest amount.
	type span struct{ Lo, Hi float64 }
	err := env.CreateFunction("spread", table.AggregateFunction[float64, span, float64]{
		CreateAccumulator: func() span { return span{Lo: math.Inf(1), Hi: math.Inf(-1)} },
		Accumulate:        func(s *span, v float64) { s.Lo, s.Hi = min(s.Lo, v), max(s.Hi, v) },
		// Merge lets session windows combine two sessions' accumulators.
		Merge: func(s, o *span) { s.Lo, s.Hi = min(s.Lo, o.Lo), max(s.Hi, o.Hi) },
		GetValue: func(s *span) (float64, bool) {
			return s.Hi - s.Lo, s.Hi >= s.Lo
		},
	})
	if err != nil {
		panic(err)
	}
	if err := env.CreateTemporaryView("orders", env.FromSlice(sampleOrders)); err != nil {
		panic(err)
	}
	fromSQL := env.SQLQuery("SELECT customer, spread(amount) AS s FROM orders GROUP BY customer ORDER BY customer")
	fmt.Println(must(must(fromSQL.Execute(ctx)).All(ctx)))
	fromGo := env.From("orders").GroupBy(table.Col("customer")).
		Select(table.Col("customer"), table.Aggregate("spread", table.Col("amount")).As("s")).
		OrderBy(table.Col("customer").Asc())
	fmt.Println(must(must(fromGo.Execute(ctx)).All(ctx)))
	// Output:
	// [+I[ann 17.5] +I[bob 36] +I[cid 0]]
	// [+I[ann 17.5] +I[bob 36] +I[cid 0]]
}

// TestAggregateFunctionWindows runs a Go aggregate in window aggregates,
// from SQL and from the Table API, against the same result computed with
// built-in functions: tumbling windows accumulate only, session windows
// merge accumulators with Merge when a row bridges two sessions (see also
// exec's testdata/window/user), and a function without Merge is refused
// for sessions.
func TestAggregateFunctionWindows(t *testing.T) {
	env := apiEnv(t, table.Streaming, 2)
	merging := geoMean
	merging.Merge = func(a, o *geoAcc) { a.LogSum += o.LogSum; a.N += o.N }
	if err := env.CreateFunction("geo_mean_w", merging); err != nil {
		t.Fatal(err)
	}
	if err := env.CreateFunction("geo_mean_nomerge", geoMean); err != nil {
		t.Fatal(err)
	}
	defer env.DropFunction("geo_mean_w")
	defer env.DropFunction("geo_mean_nomerge")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type row struct {
		Geo float64 `eddy:"g"`
		Ref float64 `eddy:"r"`
	}
	ref := table.Call("EXP", table.Call("LN", table.Col("amount")).Avg()).As("r")
	for name, tb := range map[string]*table.Table{
		"sql-tumble": env.SQLQuery(`SELECT window_start, geo_mean_w(amount) AS g, EXP(AVG(LN(amount))) AS r
			FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end`),
		"api-session": env.From("orders").Window(table.Session(table.Lit(8).Seconds()).On(table.Col("ts")).As("w")).
			GroupBy(table.Col("w"), table.Col("customer")).
			Select(table.Col("customer"), table.Aggregate("geo_mean_w", table.Col("amount")).As("g"), ref),
	} {
		rows, err := table.Collect[row](ctx, tb)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) < 3 {
			t.Fatalf("%s: %d windows", name, len(rows))
		}
		for _, r := range rows {
			if math.Abs(r.Geo-r.Ref) > 1e-5*r.Ref {
				t.Fatalf("%s: geo_mean %v, built-ins %v", name, r.Geo, r.Ref)
			}
		}
	}
	_, err := table.Collect[row](ctx, env.From("orders").Window(table.Session(table.Lit(2).Seconds()).On(table.Col("ts")).As("w")).
		GroupBy(table.Col("w")).Select(table.Aggregate("geo_mean_nomerge", table.Col("amount")).As("g")))
	if err == nil || !strings.Contains(err.Error(), "GEO_MEAN_NOMERGE cannot aggregate session windows: it has no Merge") {
		t.Fatalf("a function without Merge in a session window: got %v", err)
	}
}
