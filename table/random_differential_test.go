package table_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	randomQueries     = flag.Int("random.queries", 800, "number of queries TestRandomDifferential generates")
	randomFrom        = flag.Int("random.from", 0, "index of the first query TestRandomDifferential generates")
	randomSeed        = flag.Uint64("random.seed", 0, "seed of TestRandomDifferential (0: a fixed default)")
	randomMaxFailures = flag.Int("random.max-failures", 10, "failures after which TestRandomDifferential stops")
	randomTrace       = flag.Bool("random.trace", false, "log every query TestRandomDifferential runs")
)

// flagSet reports whether the flag name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// defaultRandomSeed keeps the default run reproducible; -random.seed
// explores others.
const defaultRandomSeed = 20260101

// TestRandomDifferential generates random, type-correct queries over the
// differential data (orders, customers) and checks that Eddy, streaming at
// a random parallelism and batch size and in batch mode, gives
// PostgreSQL's rows. Query i of seed S, and the configurations it runs
// under, come from PCG(S, i) alone, so a failure reproduces with
// -random.seed S -random.from i -random.queries 1.
//
// The grammar leaves out what Flink defines differently from PostgreSQL:
// AVG of integers (Flink truncates), integer overflow, decimal division,
// casts that round in PostgreSQL and truncate in Flink, CONCAT with NULL
// arguments (written as || for PostgreSQL, which Flink's CONCAT equals),
// global aggregates and uncorrelated COUNT subqueries over a possibly
// empty input (a Flink streaming aggregate emits no row for no input) and
// ORDER BY ... LIMIT, ROW_NUMBER or ROWS frames over orders with ties. It
// writes PostgreSQL's spelling where types differ (AVG of a DECIMAL
// rounded to Flink's scale, a SUM of BIGINTs cast back from NUMERIC) and
// keeps doubles exact, so no result depends on the order of addition.
func TestRandomDifferential(t *testing.T) {
	skipWithoutPostgres(t)
	seed := *randomSeed
	if seed == 0 {
		seed = defaultRandomSeed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	pg := connectPostgres(t, ctx)
	// A schema of its own: TestDifferential, in this or another process,
	// drops and reloads the tables of the default one.
	schema := fmt.Sprintf("eddy_random_%d", os.Getpid())
	if _, err := pg.Exec(ctx, fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS %s; SET search_path TO %s; SET statement_timeout = '20s'", schema, schema)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	ddl := loadDifferentialData(t, ctx, pg, t.TempDir())

	start := time.Now()
	failures, empty := 0, 0
	queries := *randomQueries
	if raceEnabled && !flagSet("random.queries") {
		// Ten times slower under the race detector: its concurrency is
		// what the run checks there, not the breadth of the grammar.
		queries = 100
	}
	for i := *randomFrom; i < *randomFrom+queries; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		g := &queryGen{r: r}
		q := g.query()
		want, err := runPostgres(ctx, pg, q.pg)
		if err != nil {
			failures++
			t.Errorf("seed %d query %d (-random.seed %d -random.from %d -random.queries 1): the generator wrote SQL PostgreSQL rejects: %v\neddy:     %s\npostgres: %s",
				seed, i, seed, i, err, q.eddy, q.pg)
			continue
		}
		if len(want) == 0 {
			empty++
		}
		if *randomTrace {
			t.Logf("query %d (%d rows): %s", i, len(want), q.eddy)
		}
		for _, run := range randomRuns(r) {
			got, err := finalRows(ctx, run.cfg, ddl, q.eddy)
			if err == nil {
				if diff := diffRows(want, got); diff != "" {
					err = fmt.Errorf("differs from PostgreSQL (%d rows):\n%s", len(want), firstLines(diff, 20))
				}
			}
			if err != nil {
				failures++
				t.Errorf("seed %d query %d (-random.seed %d -random.from %d -random.queries 1), %s: %v\neddy:     %s\npostgres: %s",
					seed, i, seed, i, run.desc, err, q.eddy, q.pg)
				break
			}
		}
		if failures >= *randomMaxFailures {
			t.Fatalf("stopping after %d failures", failures)
		}
	}
	t.Logf("seed %d: %d queries (%d with no rows) in %v", seed, queries, empty, time.Since(start).Round(time.Millisecond))
}

type randomRun struct {
	cfg  map[string]string
	desc string
}

// randomRuns picks the configurations a query runs under: streaming at a
// random parallelism and batch size, and batch mode.
func randomRuns(r *rand.Rand) []randomRun {
	var runs []randomRun
	for _, mode := range []string{"streaming", "batch"} {
		par := strconv.Itoa(1 + r.IntN(4))
		cfg := map[string]string{"execution.runtime-mode": mode, "parallelism.default": par}
		size := []string{"1", "3", "7", "default"}[r.IntN(4)]
		if size != "default" {
			cfg["table.exec.batch-size"] = size
		}
		runs = append(runs, randomRun{cfg, fmt.Sprintf("%s, parallelism %s, batch size %s", mode, par, size)})
	}
	return runs
}

// class is the type family of a generated expression. Integers mix INT
// and BIGINT freely; both dialects widen them alike.
type class int

const (
	clsInt class = iota
	clsDec
	clsDbl
	clsStr
	clsBool
	clsTs // TIMESTAMP(3): orders.ts, a rowtime attribute in Eddy
)

// anyClass is any class; valueClass any but BOOLEAN.
func (g *queryGen) anyClass() class { return class(g.pick(6)) }

func (g *queryGen) valueClass() class {
	return []class{clsInt, clsDec, clsDbl, clsStr, clsTs}[g.pick(5)]
}

// sqlText is a fragment in both dialects.
type sqlText struct{ eddy, pg string }

func same(s string) sqlText { return sqlText{s, s} }

// fmtBoth formats a template in both dialects: each %s argument
// contributes its own dialect's text.
func fmtBoth(format string, args ...sqlText) sqlText {
	e, p := make([]any, len(args)), make([]any, len(args))
	for i, a := range args {
		e[i], p[i] = a.eddy, a.pg
	}
	return sqlText{fmt.Sprintf(format, e...), fmt.Sprintf(format, p...)}
}

func joinBoth(parts []sqlText, sep string) sqlText {
	e, p := make([]string, len(parts)), make([]string, len(parts))
	for i, a := range parts {
		e[i], p[i] = a.eddy, a.pg
	}
	return sqlText{strings.Join(e, sep), strings.Join(p, sep)}
}

type column struct {
	name string // qualified
	cls  class
}

// relation is a FROM item: its columns and the columns that together
// identify each of its rows (for a total order).
type relation struct {
	from sqlText
	cols []column
	key  []string
}

// queryGen generates one query. aliases numbers the table aliases so a
// correlated subquery can name the columns of every enclosing query.
type queryGen struct {
	r       *rand.Rand
	aliases int
	// subqueries allows scalar subqueries in expressions: Flink plans
	// them in projections and WHERE, not in aggregate arguments, GROUP BY
	// or join conditions.
	subqueries bool
}

// withSubqueries generates f's fragment with scalar subqueries allowed.
func (g *queryGen) withSubqueries(allow bool, f func() sqlText) sqlText {
	old := g.subqueries
	g.subqueries = allow
	defer func() { g.subqueries = old }()
	return f()
}

func (g *queryGen) alias() string {
	g.aliases++
	return "t" + strconv.Itoa(g.aliases)
}

func (g *queryGen) pick(n int) int { return g.r.IntN(n) }

func (g *queryGen) chance(p float64) bool { return g.r.Float64() < p }

// query picks the shape of the top-level query.
func (g *queryGen) query() sqlText {
	switch g.pick(9) {
	case 0, 1:
		q, _ := g.plainSelect(g.randomClasses(), 2)
		return q
	case 7:
		return g.overAggregate()
	case 2:
		return g.aggregateSelect()
	case 3:
		return g.setOperation()
	case 4:
		return g.orderByLimit()
	case 5:
		return g.topN()
	case 6:
		return g.globalAggregate()
	default:
		q, _ := g.plainSelect(g.randomClasses(), 3)
		return q
	}
}

func (g *queryGen) randomClasses() []class {
	cls := make([]class, 1+g.pick(4))
	for i := range cls {
		cls[i] = g.anyClass()
	}
	return cls
}

// --- FROM items ---

// The columns of the tables, unqualified.
var (
	ordersCols    = []column{{"id", clsInt}, {"customer", clsInt}, {"product", clsStr}, {"amount", clsDec}, {"qty", clsInt}, {"price", clsDbl}, {"ts", clsTs}}
	customersCols = []column{{"id", clsInt}, {"name", clsStr}, {"city", clsStr}}
)

func (g *queryGen) table(name string) relation {
	a := g.alias()
	rel := relation{from: same(name + " " + a), key: []string{a + ".id"}}
	cols := ordersCols
	if name == "customers" {
		cols = customersCols
	}
	for _, c := range cols {
		rel.cols = append(rel.cols, column{a + "." + c.name, c.cls})
	}
	return rel
}

func (g *queryGen) anyTable() relation {
	if g.chance(0.6) {
		return g.table("orders")
	}
	return g.table("customers")
}

// fromItem picks a table, a join, a derived table or a grouped one.
func (g *queryGen) fromItem(depth int) relation {
	switch {
	case depth > 0 && g.chance(0.35):
		return g.join(depth)
	case depth > 0 && g.chance(0.2):
		return g.derivedTable(depth)
	case depth > 0 && g.chance(0.15):
		return g.derivedAggregate()
	}
	return g.anyTable()
}

// derivedAggregate is a grouped subquery in FROM, an updating input in
// streaming mode; its grouping column is its key.
func (g *queryGen) derivedAggregate() relation {
	inner := g.anyTable()
	a := g.alias()
	kc := []class{clsInt, clsStr, clsDec}[g.pick(3)]
	key := g.nonConstant(inner.cols, kc, g.pick(2))
	items := []sqlText{fmtBoth("%s AS k", key)}
	rel := relation{cols: []column{{a + ".k", kc}}, key: []string{a + ".k"}}
	for i := range 1 + g.pick(3) {
		c := []class{clsInt, clsDec, clsDbl}[g.pick(3)]
		if i == 0 {
			c = clsInt // every FROM item has an integer column (nonConstant)
		}
		items = append(items, fmtBoth("%s AS c%s", g.typedAggregate(inner.cols, c), same(strconv.Itoa(i))))
		rel.cols = append(rel.cols, column{fmt.Sprintf("%s.c%d", a, i), c})
	}
	q := fmtBoth("SELECT %s FROM %s", joinBoth(items, ", "), inner.from)
	if g.chance(0.4) {
		q = fmtBoth("%s WHERE %s", q, g.boolExpr(inner.cols, 1))
	}
	q = fmtBoth("%s GROUP BY %s", q, key)
	if g.chance(0.3) {
		q = fmtBoth("%s HAVING %s", q, g.having(inner.cols))
	}
	rel.from = fmtBoth("(%s) "+a, q)
	return rel
}

// typedAggregate is an aggregate call whose result has class c.
func (g *queryGen) typedAggregate(cols []column, c class) sqlText {
	switch c {
	case clsInt:
		switch g.pick(4) {
		case 0:
			return same("COUNT(*)")
		case 1:
			return fmtBoth("COUNT(DISTINCT %s)", g.expr(cols, g.valueClass(), 1))
		}
		fn := []string{"SUM", "MIN", "MAX"}[g.pick(3)]
		x := fmtBoth(fn+"(%s)", g.expr(cols, clsInt, 1))
		if fn == "SUM" {
			// PostgreSQL sums BIGINTs to NUMERIC, Flink to BIGINT, which
			// an outer integer division tells apart.
			x.pg = "CAST(" + x.pg + " AS BIGINT)"
		}
		return x
	case clsDec:
		return fmtBoth([]string{"SUM", "MIN", "MAX"}[g.pick(3)]+"(%s)", g.expr(cols, clsDec, 1))
	case clsDbl:
		// Not AVG: an outer query summing inexact averages would depend
		// on the order of addition.
		return fmtBoth([]string{"SUM", "MIN", "MAX"}[g.pick(3)]+"(%s)", g.expr(cols, clsDbl, 1))
	case clsStr, clsTs:
		return fmtBoth([]string{"MIN", "MAX"}[g.pick(2)]+"(%s)", g.expr(cols, c, 1))
	}
	return fmtBoth("COUNT(*) > %s", same(strconv.Itoa(g.pick(15))))
}

// join joins a table and a table, derived table or grouped derived table
// on an equality of integer columns plus, at times, an extra predicate
// over both sides.
func (g *queryGen) join(depth int) relation {
	left, right := g.anyTable(), g.anyTable()
	switch {
	case depth > 1 && g.chance(0.2):
		right = g.derivedTable(depth - 1)
	case depth > 0 && g.chance(0.2):
		right = g.derivedAggregate()
	}
	l, r := g.columnOf(left, clsInt), g.columnOf(right, clsInt)
	on := fmtBoth("%s = %s", same(l), same(r))
	both := relation{cols: append(append([]column(nil), left.cols...), right.cols...)}
	if depth > 0 && g.chance(0.4) {
		on = fmtBoth("%s AND %s", on, g.boolExpr(both.cols, 1))
	}
	kind := []string{"JOIN", "INNER JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "LEFT OUTER JOIN"}[g.pick(6)]
	both.from = fmtBoth("%s "+kind+" %s ON %s", left.from, right.from, on)
	both.key = append(append([]string(nil), left.key...), right.key...)
	return both
}

// derivedTable selects expressions and the key of a FROM item (a table,
// or a join or grouped subquery, nested) in a subquery in FROM.
func (g *queryGen) derivedTable(depth int) relation {
	inner := g.anyTable()
	if depth > 1 && g.chance(0.4) {
		inner = g.fromItem(depth - 2)
	}
	var items []sqlText
	a := g.alias()
	rel := relation{}
	n := 1 + g.pick(3)
	for i := range n {
		c := g.anyClass()
		items = append(items, fmtBoth("%s AS c%s", g.expr(inner.cols, c, 1), same(strconv.Itoa(i))))
		rel.cols = append(rel.cols, column{fmt.Sprintf("%s.c%d", a, i), c})
	}
	for i, k := range inner.key {
		items = append(items, same(fmt.Sprintf("%s AS k%d", k, i)))
		name := fmt.Sprintf("%s.k%d", a, i)
		rel.cols = append(rel.cols, column{name, classOf(inner.cols, k)})
		rel.key = append(rel.key, name)
	}
	q := fmtBoth("SELECT %s FROM %s", joinBoth(items, ", "), inner.from)
	if g.chance(0.5) {
		q = fmtBoth("%s WHERE %s", q, g.where(inner.cols, depth-1))
	}
	rel.from = fmtBoth("(%s) "+a, q)
	return rel
}

// columnOf is a random column of class c of rel, or "" if it has none.
func (g *queryGen) columnOf(rel relation, c class) string {
	names := columnsOf(rel.cols, c)
	if len(names) == 0 {
		return ""
	}
	return names[g.pick(len(names))]
}

// classOf is the class of the column named name.
func classOf(cols []column, name string) class {
	for _, c := range cols {
		if c.name == name {
			return c.cls
		}
	}
	panic("no column " + name)
}

func columnsOf(cols []column, c class) []string {
	var names []string
	for _, col := range cols {
		if col.cls == c {
			names = append(names, col.name)
		}
	}
	return names
}

// --- query shapes ---

// plainSelect selects expressions of the classes cls, at times DISTINCT,
// from a FROM item with an optional WHERE.
func (g *queryGen) plainSelect(cls []class, depth int) (sqlText, relation) {
	from := g.fromItem(depth - 1)
	items := make([]sqlText, len(cls))
	for i, c := range cls {
		items[i] = fmtBoth("%s AS x%s", g.withSubqueries(true, func() sqlText { return g.expr(from.cols, c, 2) }), same(strconv.Itoa(i)))
	}
	distinct := ""
	if g.chance(0.2) {
		distinct = "DISTINCT "
	}
	q := fmtBoth("SELECT "+distinct+"%s FROM %s", joinBoth(items, ", "), from.from)
	if g.chance(0.7) {
		q = fmtBoth("%s WHERE %s", q, g.where(from.cols, depth))
	}
	return q, from
}

// where is a predicate with, at times, a subquery conjunct: Flink turns
// IN and EXISTS into semi and anti joins in conjunctions of WHERE.
func (g *queryGen) where(cols []column, depth int) sqlText {
	p := g.withSubqueries(depth > 0, func() sqlText { return g.boolExpr(cols, 2) })
	if depth > 0 && g.chance(0.4) {
		sub := g.subqueryPredicate(cols, depth-1)
		if g.chance(0.5) {
			return sub
		}
		return fmtBoth("%s AND %s", sub, p)
	}
	return p
}

// aggregateSelect groups by one or two expressions and selects them with
// aggregates, at times filtered by HAVING.
func (g *queryGen) aggregateSelect() sqlText {
	from := g.fromItem(1)
	var keys, items []sqlText
	for i := range 1 + g.pick(2) {
		k := g.groupKey(from.cols)
		keys = append(keys, k)
		items = append(items, fmtBoth("%s AS k%s", k, same(strconv.Itoa(i))))
	}
	for i := range 1 + g.pick(3) {
		items = append(items, fmtBoth("%s AS a%s", g.aggregate(from.cols), same(strconv.Itoa(i))))
	}
	q := fmtBoth("SELECT %s FROM %s", joinBoth(items, ", "), from.from)
	if g.chance(0.5) {
		q = fmtBoth("%s WHERE %s", q, g.where(from.cols, 1))
	}
	q = fmtBoth("%s GROUP BY %s", q, joinBoth(keys, ", "))
	if g.chance(0.4) {
		q = fmtBoth("%s HAVING %s", q, g.having(from.cols))
	}
	return q
}

// globalAggregate aggregates a whole table or join without a filter, so
// its input is never empty.
func (g *queryGen) globalAggregate() sqlText {
	from := g.anyTable()
	if g.chance(0.3) {
		from = g.join(0)
	}
	var items []sqlText
	for i := range 1 + g.pick(3) {
		items = append(items, fmtBoth("%s AS a%s", g.aggregate(from.cols), same(strconv.Itoa(i))))
	}
	return fmtBoth("SELECT %s FROM %s", joinBoth(items, ", "), from.from)
}

// groupKey is a column or a simple expression of one.
func (g *queryGen) groupKey(cols []column) sqlText {
	c := []class{clsInt, clsInt, clsStr, clsDec, clsBool}[g.pick(5)]
	return g.nonConstant(cols, c, g.pick(2))
}

var columnRef = regexp.MustCompile(`\bt\d+\.`)

// nonConstant is an expression that refers to a column: PostgreSQL
// takes a constant in GROUP BY or ORDER BY for a position or rejects it.
func (g *queryGen) nonConstant(cols []column, c class, depth int) sqlText {
	for range 10 {
		if e := g.expr(cols, c, depth); columnRef.MatchString(e.eddy) {
			return e
		}
	}
	if names := columnsOf(cols, c); len(names) > 0 {
		return same(names[0])
	}
	// Every FROM item has an integer column.
	i := same(columnsOf(cols, clsInt)[0])
	switch c {
	case clsTs:
		return fmtBoth("CASE WHEN %s IS NULL THEN %s ELSE %s END", i, g.literal(clsTs), g.literal(clsTs))
	case clsBool:
		return fmtBoth("%s IS NOT NULL", i)
	case clsDec:
		return sqlText{"CAST(" + i.eddy + " AS DECIMAL(12, 2))", "CAST(" + i.pg + " AS NUMERIC(12, 2))"}
	case clsDbl:
		return sqlText{"CAST(" + i.eddy + " AS DOUBLE)", "CAST(" + i.pg + " AS DOUBLE PRECISION)"}
	}
	return sqlText{"CAST(" + i.eddy + " AS STRING)", "CAST(" + i.pg + " AS TEXT)"}
}

// aggregate is one aggregate call over an expression of the input.
func (g *queryGen) aggregate(cols []column) sqlText {
	var call sqlText
	switch g.pick(9) {
	case 0:
		call = same("COUNT(*)")
	case 1:
		call = fmtBoth("COUNT(%s)", g.expr(cols, g.valueClass(), 1))
	case 2:
		call = fmtBoth("COUNT(DISTINCT %s)", g.expr(cols, g.valueClass(), 1))
	case 3:
		call = fmtBoth("SUM(%s)", g.expr(cols, []class{clsInt, clsDec, clsDbl}[g.pick(3)], 1))
	case 4:
		call = fmtBoth("SUM(DISTINCT %s)", g.expr(cols, []class{clsInt, clsDec}[g.pick(2)], 1))
	case 5, 6:
		fn := []string{"MIN", "MAX"}[g.pick(2)]
		call = fmtBoth(fn+"(%s)", g.expr(cols, g.valueClass(), 1))
	case 7:
		call = fmtBoth("AVG(%s)", g.expr(cols, clsDbl, 1))
	default:
		// Flink's AVG of DECIMAL(p, s) has scale max(6, s), rounded half up.
		x := fmtBoth("AVG(%s)", g.expr(cols, clsDec, 1))
		f := g.aggregateFilter(cols)
		return sqlText{x.eddy + f.eddy, "ROUND(" + x.pg + f.pg + ", 6)"}
	}
	f := g.aggregateFilter(cols)
	return sqlText{call.eddy + f.eddy, call.pg + f.pg}
}

// aggregateFilter is, at times, a FILTER (WHERE ...) clause.
func (g *queryGen) aggregateFilter(cols []column) sqlText {
	if !g.chance(0.15) {
		return sqlText{}
	}
	return fmtBoth(" FILTER (WHERE %s)", g.boolExpr(cols, 1))
}

// having compares aggregates with literals.
func (g *queryGen) having(cols []column) sqlText {
	p := fmtBoth("%s "+g.comparison()+" %s", same("COUNT(*)"), same(strconv.Itoa(g.pick(15))))
	switch g.pick(3) {
	case 0:
		return p
	case 1:
		return fmtBoth("%s "+[]string{"AND", "OR"}[g.pick(2)]+" %s", p,
			fmtBoth("SUM(%s) > %s", g.expr(cols, clsInt, 1), same(strconv.Itoa(g.pick(200)))))
	}
	return fmtBoth("MAX(%s) "+g.comparison()+" %s", g.expr(cols, clsDec, 0), g.literal(clsDec))
}

// setOperation combines two selects of the same column classes.
func (g *queryGen) setOperation() sqlText {
	cls := g.randomClasses()
	l, r := g.setOperand(cls), g.setOperand(cls)
	op := []string{"UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"}[g.pick(6)]
	return fmtBoth("(%s) "+op+" (%s)", l, r)
}

// setOperand is a select of the classes cls, at times grouped (an
// updating input in streaming mode).
func (g *queryGen) setOperand(cls []class) sqlText {
	if g.chance(0.7) {
		q, _ := g.plainSelect(cls, 1)
		return q
	}
	from := g.anyTable()
	key := g.nonConstant(from.cols, cls[0], g.pick(2))
	items := []sqlText{fmtBoth("%s AS x0", key)}
	for i, c := range cls[1:] {
		items = append(items, fmtBoth("%s AS x%s", g.typedAggregate(from.cols, c), same(strconv.Itoa(i+1))))
	}
	q := fmtBoth("SELECT %s FROM %s", joinBoth(items, ", "), from.from)
	if g.chance(0.4) {
		q = fmtBoth("%s WHERE %s", q, g.boolExpr(from.cols, 1))
	}
	return fmtBoth("%s GROUP BY %s", q, key)
}

// orderByLimit orders by random expressions and then the FROM item's
// key, so the order is total and the first rows are well defined.
func (g *queryGen) orderByLimit() sqlText {
	from := g.fromItem(1)
	var items, order []sqlText
	for i := range 1 + g.pick(3) {
		e := g.nonConstant(from.cols, g.anyClass(), 1)
		items = append(items, fmtBoth("%s AS x%s", e, same(strconv.Itoa(i))))
		if g.chance(0.5) {
			order = append(order, fmtBoth("%s"+g.direction(), e))
		}
	}
	for i, k := range from.key {
		items = append(items, same(fmt.Sprintf("%s AS k%d", k, i)))
		order = append(order, same(k+g.direction()))
	}
	q := fmtBoth("SELECT %s FROM %s", joinBoth(items, ", "), from.from)
	if g.chance(0.6) {
		q = fmtBoth("%s WHERE %s", q, g.where(from.cols, 1))
	}
	q = fmtBoth("%s ORDER BY %s LIMIT %s", q, joinBoth(order, ", "), same(strconv.Itoa(1+g.pick(20))))
	if g.chance(0.2) {
		q = fmtBoth("%s OFFSET %s", q, same(strconv.Itoa(g.pick(10))))
	}
	return q
}

// direction is an explicit order: Flink puts NULLs first ascending,
// PostgreSQL last.
func (g *queryGen) direction() string {
	return []string{" ASC", " DESC"}[g.pick(2)] + []string{" NULLS FIRST", " NULLS LAST"}[g.pick(2)]
}

// topN keeps the first rows per partition by ROW_NUMBER over a total
// order, or by RANK or DENSE_RANK, which ties do not make ambiguous.
func (g *queryGen) topN() sqlText {
	from := g.anyTable()
	if g.chance(0.25) {
		from = g.derivedAggregate()
	}
	part := g.expr(from.cols, []class{clsInt, clsStr, clsBool}[g.pick(3)], g.pick(2))
	fn := []string{"ROW_NUMBER", "RANK", "DENSE_RANK"}[g.pick(3)]
	var order []sqlText
	if fn != "ROW_NUMBER" || g.chance(0.5) {
		order = append(order, fmtBoth("%s"+g.direction(), g.nonConstant(from.cols, g.valueClass(), 1)))
	}
	if fn == "ROW_NUMBER" || g.chance(0.3) {
		order = append(order, same(from.key[0]+g.direction()))
	}
	var items []sqlText
	for i := range 1 + g.pick(3) {
		items = append(items, fmtBoth("%s AS x%s", g.expr(from.cols, g.anyClass(), 1), same(strconv.Itoa(i))))
	}
	inner := fmtBoth("SELECT %s, "+fn+"() OVER (PARTITION BY %s ORDER BY %s) AS rn FROM %s",
		joinBoth(items, ", "), part, joinBoth(order, ", "), from.from)
	if g.chance(0.4) {
		inner = fmtBoth("%s WHERE %s", inner, g.boolExpr(from.cols, 1))
	}
	a := g.alias()
	outer := "*"
	if g.chance(0.4) {
		outer = a + ".x0"
	}
	// Not rn < 1: Flink rejects a rank end below 1 (FlinkLogicalRankRule).
	op := []string{"<=", "<", "="}[g.pick(3)]
	n := 1 + g.pick(4)
	if op == "<" {
		n++
	}
	bound := fmt.Sprintf("rn %s %d", op, n)
	return fmtBoth("SELECT "+outer+" FROM (%s) "+a+" WHERE "+bound, inner)
}

// overAggregate computes aggregates over a RANGE frame of the orders'
// event time, as Flink's OVER aggregates require in streaming mode.
// RANGE frames include an order's peers (equal times) in both dialects,
// where a ROWS frame would depend on the order of ties.
func (g *queryGen) overAggregate() sqlText {
	t := g.table("orders")
	// t.cols holds id, customer, product, amount, qty, price, ts.
	part := [][]column{{t.cols[1]}, {t.cols[2]}, {t.cols[4]}, {t.cols[1], t.cols[4]}}[g.pick(4)]
	names := make([]string, len(part))
	for i, c := range part {
		names[i] = c.name
	}
	frame := sqlText{"UNBOUNDED", "UNBOUNDED"}
	if g.chance(0.6) {
		n := strconv.Itoa(1 + g.pick(30))
		frame = sqlText{"INTERVAL '" + n + "' SECOND", "INTERVAL '" + n + " seconds'"}
	}
	over := fmtBoth("OVER (PARTITION BY "+strings.Join(names, ", ")+" ORDER BY "+t.cols[6].name+" ASC RANGE BETWEEN %s PRECEDING AND CURRENT ROW)", frame)
	items := []sqlText{same(t.key[0] + " AS k")}
	for i := range 1 + g.pick(3) {
		var call sqlText
		switch g.pick(5) {
		case 0:
			call = same("COUNT(*)")
		case 1:
			call = fmtBoth("COUNT(%s)", g.expr(t.cols, g.valueClass(), 1))
		case 2:
			call = fmtBoth([]string{"SUM", "MIN", "MAX"}[g.pick(3)]+"(%s)", g.expr(t.cols, []class{clsInt, clsDec, clsDbl}[g.pick(3)], 1))
		case 3:
			call = fmtBoth([]string{"MIN", "MAX"}[g.pick(2)]+"(%s)", g.expr(t.cols, []class{clsStr, clsTs}[g.pick(2)], 1))
		default:
			call = fmtBoth("AVG(%s)", g.expr(t.cols, clsDbl, 1))
		}
		items = append(items, fmtBoth("%s %s AS w%s", call, over, same(strconv.Itoa(i))))
	}
	q := fmtBoth("SELECT %s FROM %s", joinBoth(items, ", "), t.from)
	if g.chance(0.5) {
		q = fmtBoth("%s WHERE %s", q, g.boolExpr(t.cols, 1))
	}
	return q
}

// --- subqueries ---

// subqueryPredicate is an IN, NOT IN, EXISTS or NOT EXISTS subquery,
// correlated with the outer columns or not.
func (g *queryGen) subqueryPredicate(outer []column, depth int) sqlText {
	defer func(old bool) { g.subqueries = old }(g.subqueries)
	g.subqueries = false
	inner := g.anyTable()
	corr := g.correlation(outer, inner.cols)
	switch g.pick(5) {
	case 0, 1:
		c := []class{clsInt, clsInt, clsStr}[g.pick(3)]
		x := g.expr(outer, c, 1)
		q := fmtBoth("SELECT %s FROM %s", g.expr(inner.cols, c, 0), inner.from)
		if conds := g.subqueryConditions(inner.cols, corr, depth); conds.eddy != "" {
			q = fmtBoth("%s WHERE %s", q, conds)
		}
		op := []string{"IN", "NOT IN"}[g.pick(2)]
		return fmtBoth("%s "+op+" (%s)", x, q)
	case 2:
		c := []class{clsInt, clsStr}[g.pick(2)]
		op := []string{"IN", "NOT IN"}[g.pick(2)]
		return fmtBoth("%s "+op+" (%s)", g.expr(outer, c, 1), g.uncorrelatedColumn(c))
	default:
		q := fmtBoth("SELECT 1 FROM %s", inner.from)
		if conds := g.subqueryConditions(inner.cols, corr, depth); conds.eddy != "" {
			q = fmtBoth("%s WHERE %s", q, conds)
		}
		op := []string{"EXISTS", "NOT EXISTS"}[g.pick(2)]
		return fmtBoth(op+" (%s)", q)
	}
}

// uncorrelatedColumn is a one-column query of class c that is grouped or
// a set operation.
func (g *queryGen) uncorrelatedColumn(c class) sqlText {
	side := func() sqlText {
		t := g.anyTable()
		q := fmtBoth("SELECT %s FROM %s", g.nonConstant(t.cols, c, 1), t.from)
		if g.chance(0.5) {
			q = fmtBoth("%s WHERE %s", q, g.boolExpr(t.cols, 1))
		}
		return q
	}
	if g.chance(0.5) {
		op := []string{"UNION", "UNION ALL", "INTERSECT", "EXCEPT"}[g.pick(4)]
		return fmtBoth("(%s) "+op+" (%s)", side(), side())
	}
	t := g.anyTable()
	key := g.nonConstant(t.cols, c, 1)
	return fmtBoth("SELECT %s FROM %s GROUP BY %s HAVING %s", key, t.from, key, g.having(t.cols))
}

// correlation is an equality between an outer and an inner column, or
// nothing (an uncorrelated subquery).
func (g *queryGen) correlation(outer, inner []column) sqlText {
	if g.chance(0.3) {
		return sqlText{}
	}
	c := []class{clsInt, clsInt, clsStr}[g.pick(3)]
	o, i := columnsOf(outer, c), columnsOf(inner, c)
	if len(o) == 0 || len(i) == 0 {
		return sqlText{}
	}
	return same(i[g.pick(len(i))] + " = " + o[g.pick(len(o))])
}

func (g *queryGen) subqueryConditions(inner []column, corr sqlText, depth int) sqlText {
	var conds []sqlText
	if corr.eddy != "" {
		conds = append(conds, corr)
	}
	if g.chance(0.6) {
		conds = append(conds, g.boolExpr(inner, 1))
	}
	if depth > 0 && g.chance(0.2) {
		conds = append(conds, g.subqueryPredicate(inner, depth-1))
	}
	return joinBoth(conds, " AND ")
}

// scalarSubquery returns at most one row: an aggregate, or a customer
// looked up by its unique id.
func (g *queryGen) scalarSubquery(outer []column, c class) (sqlText, bool) {
	if !g.subqueries {
		return sqlText{}, false
	}
	defer func(old bool) { g.subqueries = old }(g.subqueries)
	g.subqueries = false
	if c == clsStr {
		o := columnsOf(outer, clsInt)
		if len(o) == 0 {
			return sqlText{}, false
		}
		a := g.alias()
		col := []string{"name", "city"}[g.pick(2)]
		return same(fmt.Sprintf("(SELECT %s.%s FROM customers %s WHERE %s.id = %s)", a, col, a, a, o[g.pick(len(o))])), true
	}
	inner := g.table("orders")
	var agg sqlText
	switch c {
	case clsInt:
		agg = []sqlText{same("COUNT(*)"), fmtBoth("MAX(%s)", same(g.columnOf(inner, clsInt))), fmtBoth("COUNT(%s)", same(g.columnOf(inner, clsStr)))}[g.pick(3)]
	case clsDec:
		agg = fmtBoth([]string{"MIN", "MAX", "SUM"}[g.pick(3)]+"(%s)", same(g.columnOf(inner, clsDec)))
	case clsDbl:
		agg = fmtBoth([]string{"MIN", "MAX", "SUM", "AVG"}[g.pick(4)]+"(%s)", same(g.columnOf(inner, clsDbl)))
	default:
		return sqlText{}, false
	}
	q := fmtBoth("SELECT %s FROM %s", agg, inner.from)
	conds := []sqlText{}
	corr := g.correlation(outer, inner.cols)
	if corr.eddy != "" {
		conds = append(conds, corr)
	}
	// An uncorrelated COUNT over no rows is NULL in Flink streaming (its
	// global aggregate emits no row for no input), 0 in PostgreSQL: it
	// counts the whole table.
	if g.chance(0.5) && (corr.eddy != "" || !strings.HasPrefix(agg.eddy, "COUNT")) {
		conds = append(conds, g.boolExpr(inner.cols, 1))
	}
	if len(conds) > 0 {
		q = fmtBoth("%s WHERE %s", q, joinBoth(conds, " AND "))
	}
	return fmtBoth("(%s)", q), true
}

// --- expressions ---

// expr is an expression of class c over cols, nested at most depth deep.
func (g *queryGen) expr(cols []column, c class, depth int) sqlText {
	if depth <= 0 || g.chance(0.3) {
		return g.leaf(cols, c)
	}
	switch c {
	case clsInt:
		return g.intExpr(cols, depth)
	case clsDec:
		return g.decExpr(cols, depth)
	case clsDbl:
		return g.dblExpr(cols, depth)
	case clsStr:
		return g.strExpr(cols, depth)
	case clsTs:
		return g.common(cols, clsTs, depth)
	}
	return g.boolExpr(cols, depth)
}

// leaf is a column of class c or, for want of one or at times, a literal.
func (g *queryGen) leaf(cols []column, c class) sqlText {
	names := columnsOf(cols, c)
	if len(names) > 0 && g.chance(0.8) {
		return same(names[g.pick(len(names))])
	}
	return g.literal(c)
}

func (g *queryGen) literal(c class) sqlText {
	if g.chance(0.05) {
		return sqlText{"CAST(NULL AS " + eddyTypeName[c] + ")", "CAST(NULL AS " + pgTypeName[c] + ")"}
	}
	switch c {
	case clsInt:
		if n := g.pick(40) - 5; n < 0 {
			return same("(" + strconv.Itoa(n) + ")")
		} else {
			return same(strconv.Itoa(n))
		}
	case clsDec:
		return same(fmt.Sprintf("%d.%02d", g.pick(500), g.pick(100)))
	case clsDbl:
		v := strconv.FormatFloat(float64(g.pick(1000))/8, 'f', -1, 64)
		return sqlText{"CAST(" + v + " AS DOUBLE)", "CAST(" + v + " AS DOUBLE PRECISION)"}
	case clsStr:
		return same("'" + []string{"apple", "banana", "", "c05", "Oslo", "an", "x", "cherry", "Berlin"}[g.pick(9)] + "'")
	case clsTs:
		// Within the orders' times (2026-01-01 00:00:03 to 00:15:04).
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.pick(920)) * time.Second)
		return same("TIMESTAMP '" + at.Format("2006-01-02 15:04:05.000") + "'")
	}
	return same([]string{"TRUE", "FALSE"}[g.pick(2)])
}

var (
	eddyTypeName = map[class]string{clsInt: "INT", clsDec: "DECIMAL(10, 2)", clsDbl: "DOUBLE", clsStr: "STRING", clsBool: "BOOLEAN", clsTs: "TIMESTAMP(3)"}
	pgTypeName   = map[class]string{clsInt: "INT", clsDec: "NUMERIC(10, 2)", clsDbl: "DOUBLE PRECISION", clsStr: "TEXT", clsBool: "BOOLEAN", clsTs: "TIMESTAMP(3)"}
)

// common are the forms every class has: CASE, COALESCE, NULLIF.
func (g *queryGen) common(cols []column, c class, depth int) sqlText {
	switch g.pick(3) {
	case 0:
		return g.caseExpr(cols, c, depth)
	case 1:
		return fmtBoth("COALESCE(%s, %s)", g.expr(cols, c, depth-1), g.expr(cols, c, depth-1))
	}
	return fmtBoth("NULLIF(%s, %s)", g.expr(cols, c, depth-1), g.expr(cols, c, depth-1))
}

func (g *queryGen) caseExpr(cols []column, c class, depth int) sqlText {
	var arms []sqlText
	for range 1 + g.pick(2) {
		arms = append(arms, fmtBoth("WHEN %s THEN %s", g.boolExpr(cols, depth-1), g.expr(cols, c, depth-1)))
	}
	q := fmtBoth("CASE %s", joinBoth(arms, " "))
	if g.chance(0.7) {
		q = fmtBoth("%s ELSE %s", q, g.expr(cols, c, depth-1))
	}
	return fmtBoth("%s END", q)
}

// intExpr keeps integers far from overflow: products and quotients only
// with small positive literals (both dialects truncate toward zero).
func (g *queryGen) intExpr(cols []column, depth int) sqlText {
	x := func() sqlText { return g.expr(cols, clsInt, depth-1) }
	switch g.pick(10) {
	case 0:
		return fmtBoth("%s + %s", x(), x())
	case 1:
		return fmtBoth("(%s - %s)", x(), x())
	case 2:
		return fmtBoth("%s * %s", x(), same(strconv.Itoa(1+g.pick(9))))
	case 3:
		return fmtBoth("%s / %s", x(), same(strconv.Itoa(1+g.pick(9))))
	case 4:
		return fmtBoth("MOD(%s, %s)", x(), same(strconv.Itoa(1+g.pick(9))))
	case 5:
		return fmtBoth("ABS(%s)", x())
	case 6:
		if g.chance(0.5) {
			return fmtBoth("POSITION(%s IN %s)", g.expr(cols, clsStr, depth-1), g.expr(cols, clsStr, depth-1))
		}
		return fmtBoth("CHAR_LENGTH(%s)", g.expr(cols, clsStr, depth-1))
	case 7:
		if s, ok := g.scalarSubquery(cols, clsInt); ok {
			return s
		}
		return x()
	}
	return g.common(cols, clsInt, depth)
}

// decExpr adds, subtracts and multiplies decimals exactly; division is
// out (Flink's result scale is not PostgreSQL's).
func (g *queryGen) decExpr(cols []column, depth int) sqlText {
	x := func() sqlText { return g.expr(cols, clsDec, depth-1) }
	switch g.pick(8) {
	case 0:
		return fmtBoth("%s + %s", x(), x())
	case 1:
		return fmtBoth("(%s - %s)", x(), g.expr(cols, clsInt, depth-1))
	case 2:
		return fmtBoth("%s * %s", x(), same(strconv.Itoa(1+g.pick(9))))
	case 3:
		return fmtBoth("ABS(%s)", x())
	case 4:
		i := g.expr(cols, clsInt, depth-1)
		return sqlText{"CAST(" + i.eddy + " AS DECIMAL(12, 2))", "CAST(" + i.pg + " AS NUMERIC(12, 2))"}
	case 5:
		if s, ok := g.scalarSubquery(cols, clsDec); ok {
			return s
		}
		return x()
	}
	return g.common(cols, clsDec, depth)
}

// dblExpr keeps doubles exact (multiples of small powers of two): it
// divides only by powers of two and converts no decimals, so sums do not
// depend on the order in which the engines add.
func (g *queryGen) dblExpr(cols []column, depth int) sqlText {
	x := func() sqlText { return g.expr(cols, clsDbl, depth-1) }
	switch g.pick(8) {
	case 0:
		return fmtBoth("%s + %s", x(), g.expr(cols, []class{clsDbl, clsInt}[g.pick(2)], depth-1))
	case 1:
		return fmtBoth("(%s - %s)", x(), x())
	case 2:
		return fmtBoth("%s * %s", x(), g.expr(cols, clsInt, depth-1))
	case 3:
		return fmtBoth("%s / %s", x(), same([]string{"2", "4", "8"}[g.pick(3)]))
	case 4:
		src := g.expr(cols, clsInt, depth-1)
		return sqlText{"CAST(" + src.eddy + " AS DOUBLE)", "CAST(" + src.pg + " AS DOUBLE PRECISION)"}
	case 5:
		if s, ok := g.scalarSubquery(cols, clsDbl); ok {
			return s
		}
		return x()
	}
	return g.common(cols, clsDbl, depth)
}

func (g *queryGen) strExpr(cols []column, depth int) sqlText {
	x := func() sqlText { return g.expr(cols, clsStr, depth-1) }
	switch g.pick(13) {
	case 0:
		return fmtBoth("UPPER(%s)", x())
	case 1:
		return fmtBoth("LOWER(%s)", x())
	case 2:
		return fmtBoth("SUBSTRING(%s FROM %s FOR %s)", x(), same(strconv.Itoa(1+g.pick(4))), same(strconv.Itoa(g.pick(5))))
	case 3:
		return fmtBoth("TRIM(%s)", x())
	case 4:
		return fmtBoth("(%s || %s)", x(), x())
	case 5:
		// Flink's CONCAT is NULL when an argument is, as || is.
		a, b := x(), x()
		return sqlText{"CONCAT(" + a.eddy + ", " + b.eddy + ")", "(" + a.pg + " || " + b.pg + ")"}
	case 6:
		i := g.expr(cols, clsInt, depth-1)
		return sqlText{"CAST(" + i.eddy + " AS STRING)", "CAST(" + i.pg + " AS TEXT)"}
	case 7:
		if s, ok := g.scalarSubquery(cols, clsStr); ok {
			return s
		}
		return x()
	case 8:
		return fmtBoth("REPLACE(%s, %s, %s)", x(), g.literal(clsStr), g.literal(clsStr))
	case 9:
		d := g.expr(cols, clsDec, depth-1)
		return sqlText{"CAST(" + d.eddy + " AS STRING)", "CAST(" + d.pg + " AS TEXT)"}
	}
	return g.common(cols, clsStr, depth)
}

// boolExpr is a predicate. Strings compare in byte order on both sides
// (PostgreSQL's database uses the C collation).
func (g *queryGen) boolExpr(cols []column, depth int) sqlText {
	if depth <= 0 {
		return g.comparisonOf(cols, 0)
	}
	x := func() sqlText { return g.boolExpr(cols, depth-1) }
	switch g.pick(12) {
	case 0:
		return fmtBoth("(%s AND %s)", x(), x())
	case 1, 2:
		return fmtBoth("(%s OR %s)", x(), x())
	case 3:
		return fmtBoth("NOT (%s)", x())
	case 4:
		return fmtBoth("%s IS "+[]string{"", "NOT "}[g.pick(2)]+"NULL", g.expr(cols, g.anyClass(), depth-1))
	case 5:
		c := g.valueClass()
		return fmtBoth("%s "+[]string{"", "NOT "}[g.pick(2)]+"BETWEEN %s AND %s", g.expr(cols, c, depth-1), g.literal(c), g.literal(c))
	case 6:
		return g.inList(cols, depth)
	case 7:
		pat := []string{"%a%", "a%", "%e", "_a%", "c0_", "%", "", "B%", "%an%a%"}[g.pick(9)]
		return fmtBoth("%s "+[]string{"", "NOT "}[g.pick(2)]+"LIKE %s", g.expr(cols, clsStr, depth-1), same("'"+pat+"'"))
	case 8:
		if g.chance(0.3) {
			return g.common(cols, clsBool, depth)
		}
	}
	return g.comparisonOf(cols, depth)
}

func (g *queryGen) comparison() string {
	return []string{"=", "<>", "<", "<=", ">", ">="}[g.pick(6)]
}

// comparisonOf compares two expressions of one class; numbers of
// different classes compare too.
func (g *queryGen) comparisonOf(cols []column, depth int) sqlText {
	c := g.valueClass()
	rc := c
	if c <= clsDbl && g.chance(0.3) {
		rc = class(g.pick(3))
	}
	return fmtBoth("%s "+g.comparison()+" %s", g.expr(cols, c, depth-1), g.expr(cols, rc, depth-1))
}

func (g *queryGen) inList(cols []column, depth int) sqlText {
	c := g.valueClass()
	var vals []sqlText
	for range 1 + g.pick(4) {
		vals = append(vals, g.literal(c))
	}
	return fmtBoth("%s "+[]string{"", "NOT "}[g.pick(2)]+"IN (%s)", g.expr(cols, c, depth-1), joinBoth(vals, ", "))
}
