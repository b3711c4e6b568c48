package table_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// changelogDifferentialQuery is a query of TestChangelogDifferential.
type changelogDifferentialQuery struct {
	name, sql string
	// agg runs the query also with two-phase aggregation and split
	// distinct aggregates.
	agg bool
	// notPostgres leaves PostgreSQL out (which lacks FIRST_VALUE as an
	// aggregate); otherwise the batch result is compared with
	// PostgreSQL's for pgSQL, or sql when PostgreSQL spells it the same.
	notPostgres bool
	pgSQL       string
	// refused is the error Eddy gives the streaming query at planning,
	// as Flink does; the query then runs nowhere else.
	refused string
}

// changelogDifferentialQueries cover the operators that consume updates.
// The join keys (cust, cid), group keys (item, region, cust) and
// partition keys change in updates, so -U/+U pairs move rows between
// groups, join partners and partitions. Order-dependent aggregates
// (LISTAGG, FIRST_VALUE, LAST_VALUE) are checked where their result does
// not depend on the order of the rows: per id, which holds one row at a
// time but retracts it on every update, and LISTAGG's length.
var changelogDifferentialQueries = []changelogDifferentialQuery{
	{name: "calc", sql: `SELECT id, CASE WHEN qty IS NULL THEN 'none' WHEN qty > 5 THEN 'big' ELSE 'small' END, price * 2, UPPER(item)
		FROM orders WHERE price > 20 OR cust IS NULL`},
	{name: "group", agg: true, sql: `SELECT item, COUNT(*), COUNT(qty), SUM(qty), AVG(price), MIN(qty), MAX(price), COUNT(DISTINCT cust),
		COUNT(*) FILTER (WHERE qty > 3), SUM(qty) FILTER (WHERE price > 50)
		FROM orders GROUP BY item HAVING COUNT(*) > 2`},
	{name: "group_nokey", agg: true, sql: `SELECT COUNT(*), SUM(qty), MIN(price), MAX(qty), COUNT(DISTINCT item) FROM orders`},
	{name: "cascade", agg: true, sql: `SELECT n, COUNT(*), SUM(s) FROM (SELECT cust, COUNT(*) AS n, SUM(qty) AS s FROM orders GROUP BY cust) a GROUP BY n`},
	{name: "distinct", sql: `SELECT DISTINCT item, cust FROM orders`},
	{name: "inner_join", sql: `SELECT o.id, c.id, c.name FROM orders o JOIN custs c ON o.cust = c.cid AND o.qty < c.tier`},
	{name: "left_join", sql: `SELECT o.id, c.id, c.region FROM orders o LEFT JOIN custs c ON o.cust = c.cid AND o.price > c.tier * 10`},
	{name: "right_join", sql: `SELECT o.id, c.id FROM orders o RIGHT JOIN custs c ON o.cust = c.cid AND o.item <> c.region`},
	{name: "full_join", sql: `SELECT o.id, o.item, c.id FROM orders o FULL JOIN custs c ON o.cust = c.cid AND o.qty > c.tier`},
	{name: "join_agg", agg: true, sql: `SELECT c.region, COUNT(*), SUM(o.qty) FROM orders o JOIN custs c ON o.cust = c.cid GROUP BY c.region`},
	{name: "in", sql: `SELECT id, item FROM orders WHERE cust IN (SELECT cid FROM custs WHERE tier > 2)`},
	{name: "exists_corr", sql: `SELECT id FROM orders o WHERE EXISTS (SELECT 1 FROM custs c WHERE c.cid = o.cust AND c.tier < o.qty)`},
	{name: "not_in", sql: `SELECT id FROM orders WHERE cust NOT IN (SELECT cid FROM custs WHERE region = 'north')`},
	{name: "not_in_nonnull", sql: `SELECT id FROM orders WHERE cust NOT IN (SELECT cid FROM custs WHERE cid IS NOT NULL AND tier > 1)`},
	{name: "not_exists_corr", sql: `SELECT id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM custs c WHERE c.cid = o.cust AND c.region = o.item)`},
	// True only once the last order of customer 7 is deleted.
	{name: "not_exists", sql: `SELECT cid FROM custs WHERE NOT EXISTS (SELECT 1 FROM orders WHERE cust = 7)`},
	{name: "anti_left_join", sql: `SELECT o.id FROM orders o LEFT JOIN custs c ON o.cust = c.cid WHERE c.id IS NULL`},
	{name: "above_average", sql: `SELECT id, price FROM orders WHERE price > (SELECT AVG(price) FROM orders)`},
	{name: "join_of_aggregates", sql: `SELECT a.cust, a.n, b.m FROM (SELECT cust, COUNT(*) AS n FROM orders GROUP BY cust) a
		JOIN (SELECT cid, MAX(tier) AS m FROM custs GROUP BY cid) b ON a.cust = b.cid AND a.n >= b.m`},
	{name: "join_chain", sql: `SELECT o.id, c.name, o2.id FROM orders o LEFT JOIN custs c ON o.cust = c.cid
		LEFT JOIN orders o2 ON c.tier = o2.qty AND o2.item = 'bolt'`},
	{name: "distinct_join", sql: `SELECT DISTINCT c.region, o.item FROM orders o JOIN custs c ON o.cust = c.cid`},
	{name: "min_max_retract", agg: true, sql: `SELECT cust, MIN(item), MAX(item), MIN(qty), MAX(qty), MIN(price) FROM orders GROUP BY cust`},
	{name: "topn", sql: `SELECT item, id, price, rn FROM (
		SELECT item, id, price, ROW_NUMBER() OVER (PARTITION BY item ORDER BY price DESC, id) AS rn FROM orders) a WHERE rn <= 3`},
	// COALESCE: Flink sorts NULLs first in ascending order, PostgreSQL last.
	{name: "topn_norn", sql: `SELECT cust, id FROM (
		SELECT cust, id, ROW_NUMBER() OVER (PARTITION BY cust ORDER BY COALESCE(qty, -1), id DESC) AS rn FROM orders) a WHERE rn <= 2`},
	{name: "top1", sql: `SELECT region, id, tier FROM (
		SELECT region, id, tier, ROW_NUMBER() OVER (PARTITION BY region ORDER BY tier DESC, id) AS rn FROM custs) a WHERE rn = 1`},
	{name: "topn_over_aggregate", sql: `SELECT item, cust, n, rn FROM (
		SELECT item, cust, n, ROW_NUMBER() OVER (PARTITION BY item ORDER BY n DESC, cust) AS rn
		FROM (SELECT item, cust, COUNT(*) AS n FROM orders WHERE cust IS NOT NULL GROUP BY item, cust) a) b WHERE rn <= 2`},
	{name: "aggregate_over_topn", agg: true, sql: `SELECT item, COUNT(*), SUM(qty) FROM (
		SELECT item, qty, ROW_NUMBER() OVER (PARTITION BY item ORDER BY price, id) AS rn FROM orders) a WHERE rn <= 5 GROUP BY item`},
	// Flink's non-time OVER aggregation (ORDER BY a column that is not a
	// time attribute), which consumes updates.
	{name: "over", sql: `SELECT id, SUM(qty) OVER (PARTITION BY item ORDER BY id), COUNT(*) OVER (PARTITION BY item ORDER BY id) FROM orders`},
	{name: "over_nopartition", sql: `SELECT id, MAX(qty) OVER (ORDER BY price, id) FROM orders`},
	{name: "over_rows1", sql: `SELECT id, SUM(qty) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM orders`},
	{name: "over_rows", sql: `SELECT id, SUM(qty) OVER (PARTITION BY cust ORDER BY price, id ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM orders`},
	{name: "over_time", refused: "OVER aggregates ordered by a time attribute do not support consuming update and delete changes",
		sql: `SELECT id, COUNT(*) OVER (PARTITION BY item ORDER BY proc) FROM orders`},
	{name: "union_all", sql: `SELECT cust FROM orders UNION ALL SELECT cid FROM custs`},
	{name: "union", sql: `SELECT cust, item FROM orders UNION SELECT cid, region FROM custs`},
	{name: "intersect", sql: `SELECT cust FROM orders INTERSECT SELECT cid FROM custs`},
	{name: "except", sql: `SELECT cid FROM custs EXCEPT SELECT cust FROM orders`},
	{name: "intersect_all", sql: `SELECT cust FROM orders INTERSECT ALL SELECT cid FROM custs`},
	{name: "except_all", sql: `SELECT cust FROM orders EXCEPT ALL SELECT cid FROM custs`},
	{name: "unnest", sql: `SELECT o.id, t.tag FROM orders o CROSS JOIN UNNEST(o.tags) AS t(tag)`},
	{name: "unnest_agg", agg: true, sql: `SELECT t.tag, COUNT(*), SUM(o.qty) FROM orders o CROSS JOIN UNNEST(o.tags) AS t(tag) GROUP BY t.tag`},
	{name: "scalar_subquery", sql: `SELECT id, (SELECT COUNT(*) FROM custs c WHERE c.cid = o.cust), (SELECT MAX(tier) FROM custs) FROM orders o`},
	{name: "grouping_sets", agg: true, sql: `SELECT item, cust, COUNT(*), SUM(qty) FROM orders GROUP BY GROUPING SETS ((item), (cust), ())`},
	{name: "rollup", agg: true, sql: `SELECT item, cust, COUNT(*), MAX(price) FROM orders GROUP BY ROLLUP (item, cust)`},
	{name: "listagg_first_last", agg: true, notPostgres: true, sql: `SELECT id, LISTAGG(item), FIRST_VALUE(item), LAST_VALUE(qty), FIRST_VALUE(price) FROM orders GROUP BY id`},
	{name: "listagg_length", agg: true, sql: `SELECT cust, CHAR_LENGTH(LISTAGG(item, ',')) FROM orders GROUP BY cust`,
		pgSQL: `SELECT cust, CHAR_LENGTH(STRING_AGG(item, ',')) FROM orders GROUP BY cust`},
	{name: "distinct_aggs", agg: true, sql: `SELECT cust, COUNT(DISTINCT item), SUM(DISTINCT qty), COUNT(*) FROM orders GROUP BY cust`},
}

// changelogOrder and changelogCust are the rows of the two tables of
// TestChangelogDifferential.
type changelogOrder struct {
	ID    int      `json:"id"`
	Cust  *int     `json:"cust"`
	Item  string   `json:"item"`
	Qty   *int     `json:"qty"`
	Price float64  `json:"price"`
	Tags  []string `json:"tags"`
}

type changelogCust struct {
	ID     int     `json:"id"`
	CID    *int    `json:"cid"`
	Name   string  `json:"name"`
	Region *string `json:"region"`
	Tier   int     `json:"tier"`
}

// changelogDifferentialDDL declares the tables over the histories (or the
// final rows) with an optional primary key. The PROCTIME() column is read
// by over_time only: every other query must prune it, as an operator that
// retracts whole rows would otherwise compare the retraction's new
// processing time with the stored row's.
const changelogDifferentialDDL = `
CREATE TABLE orders (id INT, cust INT, item STRING, qty INT, price DOUBLE, tags ARRAY<STRING>, proc AS PROCTIME()%[5]s)
  WITH ('connector' = 'filesystem', 'path' = '%[1]s', 'format' = '%[2]s');
CREATE TABLE custs (id INT, cid INT, name STRING, region STRING, tier INT%[5]s)
  WITH ('connector' = 'filesystem', 'path' = '%[3]s', 'format' = '%[4]s');`

const changelogDifferentialPostgresDDL = `
CREATE SCHEMA IF NOT EXISTS changelog_differential;
SET search_path TO changelog_differential;
DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS custs;
CREATE TABLE orders (id INT, cust INT, item TEXT, qty INT, price DOUBLE PRECISION, tags TEXT[]);
CREATE TABLE custs (id INT, cid INT, name TEXT, region TEXT, tier INT);`

// TestChangelogDifferential checks that the operators consuming updates
// handle -U/+U/-D rows: it generates a random history of inserts,
// updates (changing join, group and partition keys) and deletes (some
// of every row of a key) of two debezium-json tables, and runs each query
// streaming over the histories (its changelog materialized as a bag) at
// parallelism 1 and 3, with mini-batch off and on (and, for aggregates,
// in two phases and with split distinct aggregates), and in batch mode
// over insert-only tables of the rows the histories leave. All results
// must be the same multiset; with PostgreSQL (EDDY_TEST_POSTGRES) the
// batch result must also be PostgreSQL's.
func TestChangelogDifferential(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	orders, custs := 200, 40
	if testing.Short() || raceEnabled {
		orders, custs = 60, 15
	}
	rng := rand.New(rand.NewSource(7077))
	items := []string{"north", "south", "east", "west", "bolt", "nut"}
	intp := func(v int) *int { return &v }
	newOrder := func(id int) changelogOrder {
		o := changelogOrder{ID: id, Item: items[rng.Intn(len(items))], Price: float64(rng.Intn(800)) / 8}
		if rng.Intn(10) > 0 {
			o.Cust = intp(rng.Intn(30))
		}
		if rng.Intn(8) > 0 {
			o.Qty = intp(rng.Intn(10))
		}
		for range rng.Intn(3) {
			o.Tags = append(o.Tags, "t"+strconv.Itoa(rng.Intn(5)))
		}
		return o
	}
	finalOrders := writeDebeziumHistory(t, rng, filepath.Join(dir, "orders_cdc"), filepath.Join(dir, "orders_fin"), 3, orders, newOrder,
		func(id int, cur changelogOrder) changelogOrder {
			next := newOrder(id)
			if rng.Intn(3) == 0 {
				next.Cust = cur.Cust // keep the join key, change the rest
			}
			return next
		},
		// Every order of customer 7 is deleted: its groups and join
		// partners go away entirely.
		func(cur changelogOrder) bool { return rng.Intn(5) == 0 || cur.Cust != nil && *cur.Cust == 7 })
	regions := []string{"north", "south", "east", "west"}
	newCust := func(id int) changelogCust {
		c := changelogCust{ID: id, Name: fmt.Sprintf("c%d", rng.Intn(100)), Tier: rng.Intn(6)}
		// A NULL cid makes NOT IN over custs UNKNOWN for every order.
		if rng.Intn(12) > 0 {
			c.CID = intp(rng.Intn(30))
		}
		if rng.Intn(8) > 0 {
			c.Region = &regions[rng.Intn(len(regions))]
		}
		return c
	}
	finalCusts := writeDebeziumHistory(t, rng, filepath.Join(dir, "custs_cdc"), filepath.Join(dir, "custs_fin"), 2, custs, newCust,
		func(id int, _ changelogCust) changelogCust { return newCust(id) },
		func(changelogCust) bool { return rng.Intn(4) == 0 })
	ddl := func(kind, format, pk string) string {
		return fmt.Sprintf(changelogDifferentialDDL, filepath.Join(dir, "orders_"+kind), format, filepath.Join(dir, "custs_"+kind), format, pk)
	}
	finDDL := ddl("fin", "json", "")
	// Without a primary key the sources are retract streams; with one,
	// joins keep their inputs by it and updates may go out without -U
	// (upsert keys), and cdc-events-duplicate normalizes the sources.
	cdcDDL, cdcPKDDL := ddl("cdc", "debezium-json", ""), ddl("cdc", "debezium-json", ", PRIMARY KEY (id) NOT ENFORCED")

	// PostgreSQL is optional here, as the streaming and batch runs compare
	// with each other; CI must provide it.
	var pg *pgx.Conn
	if os.Getenv(postgresURLEnv) != "" || os.Getenv("CI") != "" {
		skipWithoutPostgres(t)
		pg = connectPostgres(t, ctx)
		loadChangelogDifferentialPostgres(t, ctx, pg, finalOrders, finalCusts)
	}

	type run struct {
		ddl string
		cfg map[string]string
	}
	miniBatch := map[string]string{"table.exec.mini-batch.enabled": "true", "table.exec.mini-batch.size": "20",
		"table.exec.mini-batch.allow-latency": "1 s"}
	p1, p3 := map[string]string{"parallelism.default": "1"}, map[string]string{"parallelism.default": "3"}
	// Small batches put a row's -U and +U, and the changes of one group,
	// in different batches and bundles.
	small := map[string]string{"table.exec.batch-size": "3"}
	runs := map[string]run{
		"p1":                       {cdcDDL, p1},
		"p3":                       {cdcDDL, p3},
		"p1_minibatch":             {cdcDDL, with(p1, miniBatch)},
		"p3_minibatch_checkpoints": {cdcDDL, with(p3, miniBatch, small, map[string]string{"execution.checkpointing.interval": "5ms"})},
		"pk_p3":                    {cdcPKDDL, with(p3, small)},
		"pk_p1_minibatch":          {cdcPKDDL, with(p1, miniBatch)},
		"pk_p3_cdc_duplicate":      {cdcPKDDL, with(p3, map[string]string{"table.exec.source.cdc-events-duplicate": "true"})},
	}
	aggRuns := map[string]run{
		"p3_two_phase": {cdcDDL, with(p3, miniBatch, small, map[string]string{"table.optimizer.agg-phase-strategy": "TWO_PHASE"})},
		"pk_p3_split_distinct_two_phase": {cdcPKDDL, with(p3, miniBatch, map[string]string{"table.optimizer.agg-phase-strategy": "TWO_PHASE",
			"table.optimizer.distinct-agg.split.enabled": "true", "table.optimizer.distinct-agg.split.bucket-num": "4"})},
		"p1_split_distinct": {cdcDDL, with(p1, small, map[string]string{"table.optimizer.distinct-agg.split.enabled": "true"})},
	}
	for _, q := range changelogDifferentialQueries {
		t.Run(q.name, func(t *testing.T) {
			if q.refused != "" {
				_, err := finalRows(ctx, p1, cdcDDL, q.sql)
				require.ErrorContains(t, err, q.refused)
				return
			}
			want, err := finalRows(ctx, map[string]string{"execution.runtime-mode": "batch", "parallelism.default": "2"}, finDDL, q.sql)
			require.NoError(t, err, "batch over the final rows")
			want = roundFloats(want)
			if pg != nil && !q.notPostgres {
				pgSQL := q.pgSQL
				if pgSQL == "" {
					pgSQL = q.sql
				}
				pgRows, err := runPostgres(ctx, pg, pgSQL)
				require.NoError(t, err, "PostgreSQL")
				if diff := diffRows(roundFloats(pgRows), want); diff != "" {
					t.Errorf("batch result differs from PostgreSQL's:\n%s", diff)
				}
			}
			all := maps.Clone(runs)
			if q.agg {
				maps.Copy(all, aggRuns)
			}
			for _, name := range slices.Sorted(maps.Keys(all)) {
				got, err := finalRows(ctx, all[name].cfg, all[name].ddl, q.sql)
				require.NoError(t, err, name)
				if diff := diffRows(want, roundFloats(got)); diff != "" {
					t.Errorf("%s: streaming over the changelog differs from batch over the final rows:\n%s", name, diff)
				}
			}
		})
	}
}

// loadChangelogDifferentialPostgres loads the final rows into the
// tables of changelogDifferentialPostgresDDL, in a schema of their own
// (TestDifferential's tables share the database), which the connection
// keeps on its search path.
func loadChangelogDifferentialPostgres(t *testing.T, ctx context.Context, pg *pgx.Conn, orders []changelogOrder, custs []changelogCust) {
	_, err := pg.Exec(ctx, changelogDifferentialPostgresDDL)
	require.NoError(t, err, "PostgreSQL DDL")
	rows := make([][]any, len(orders))
	for i, o := range orders {
		rows[i] = []any{o.ID, o.Cust, o.Item, o.Qty, o.Price, o.Tags}
	}
	_, err = pg.CopyFrom(ctx, pgx.Identifier{"orders"}, []string{"id", "cust", "item", "qty", "price", "tags"}, pgx.CopyFromRows(rows))
	require.NoError(t, err, "loading orders")
	rows = make([][]any, len(custs))
	for i, c := range custs {
		rows[i] = []any{c.ID, c.CID, c.Name, c.Region, c.Tier}
	}
	_, err = pg.CopyFrom(ctx, pgx.Identifier{"custs"}, []string{"id", "cid", "name", "region", "tier"}, pgx.CopyFromRows(rows))
	require.NoError(t, err, "loading custs")
}

// roundFloats rounds the fractional numbers of rows in canonical text
// (see canonArrow) to 6 significant digits, as sums of DOUBLEs added in
// another order differ in their last digits.
func roundFloats(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		fields := strings.Split(r, " | ")
		for j, f := range fields {
			if !strings.ContainsAny(f, ".e") {
				continue
			}
			if v, err := strconv.ParseFloat(f, 64); err == nil {
				fields[j] = strconv.FormatFloat(v, 'g', 6, 64)
			}
		}
		out[i] = strings.Join(fields, " | ")
	}
	sort.Strings(out)
	return out
}

// with returns the union of the configurations cfgs, later ones winning.
func with(cfgs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, c := range cfgs {
		maps.Copy(out, c)
	}
	return out
}
