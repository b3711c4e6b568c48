package jdbc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/connectortest"
	"github.com/eddysql/eddy/table/connector/jdbc"
)

// postgresURLEnv names the PostgreSQL the tests write to and compare
// with, as for table's differential suite.
const postgresURLEnv = "EDDY_TEST_POSTGRES"

// pgEnv is a test's PostgreSQL: a connection and a schema of its own,
// dropped when the test ends.
type pgEnv struct {
	conn   *pgx.Conn
	schema string
	url    string // the JDBC url of the database
}

// postgres skips the test without a PostgreSQL, except in CI, which must
// provide one.
func postgres(t testing.TB) *pgEnv {
	t.Helper()
	dsn := os.Getenv(postgresURLEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set: .ci/run must start PostgreSQL", postgresURLEnv)
		}
		t.Skipf("%s is not set; the jdbc connector's tests need a PostgreSQL", postgresURLEnv)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	e := &pgEnv{conn: conn, schema: fmt.Sprintf("eddy_jdbc_%d_%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))}
	e.exec(t, "CREATE SCHEMA "+e.schema)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+e.schema+" CASCADE")
		conn.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	q := u.Query()
	if u.User != nil {
		q.Set("user", u.User.Username())
		if p, ok := u.User.Password(); ok {
			q.Set("password", p)
		}
	}
	e.url = "jdbc:postgresql://" + u.Host + u.Path + "?" + q.Encode()
	return e
}

func (e *pgEnv) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	_, err := e.conn.Exec(context.Background(), sql, args...)
	require.NoError(t, err, sql)
}

func (e *pgEnv) count(t testing.TB, query string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, e.conn.QueryRow(context.Background(), "SELECT count(*) FROM ("+query+") q").Scan(&n), query)
	return n
}

// same checks that two queries return the same multiset of rows, by
// EXCEPT ALL both ways in PostgreSQL, and that they return rows.
func (e *pgEnv) same(t testing.TB, a, b string) {
	t.Helper()
	require.Zero(t, e.count(t, fmt.Sprintf("(%s) EXCEPT ALL (%s)", a, b)), "rows of %s missing from %s", a, b)
	require.Zero(t, e.count(t, fmt.Sprintf("(%s) EXCEPT ALL (%s)", b, a)), "rows of %s missing from %s", b, a)
	require.NotZero(t, e.count(t, a))
}

// with is the WITH clause of a jdbc table of the test's schema.
func (e *pgEnv) with(tbl string, opts ...string) string {
	s := fmt.Sprintf("'connector' = 'jdbc', 'url' = '%s', 'table-name' = '%s.%s'", e.url, e.schema, tbl)
	for i := 0; i < len(opts); i += 2 {
		s += fmt.Sprintf(", '%s' = '%s'", opts[i], opts[i+1])
	}
	return s
}

// environment is an Eddy session whose INSERTs wait for their jobs.
func environment(t *testing.T, parallelism int) *table.Environment {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{
		"parallelism.default": fmt.Sprint(parallelism), "table.dml-sync": "true",
	}})
	require.NoError(t, err)
	return env
}

func run(t *testing.T, env *table.Environment, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		require.NoError(t, runErr(env, s), s)
	}
}

func runErr(env *table.Environment, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := env.ExecuteSQL(ctx, stmt)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b.Release()
	}
}

// allTypes are PostgreSQL columns of every type the connector maps and
// their Flink declarations.
var allTypes = [][2]string{
	{"c_small smallint", "c_small SMALLINT"},
	{"c_int integer", "c_int INT"},
	{"c_big bigint", "c_big BIGINT"},
	{"c_real real", "c_real FLOAT"},
	{"c_double double precision", "c_double DOUBLE"},
	{"c_num numeric(20, 5)", "c_num DECIMAL(20, 5)"},
	{"c_bool boolean", "c_bool BOOLEAN"},
	{"c_date date", "c_date DATE"},
	{"c_time time(6)", "c_time TIME(6)"},
	{"c_ts timestamp(6)", "c_ts TIMESTAMP(6)"},
	{"c_tstz timestamptz(6)", "c_tstz TIMESTAMP_LTZ(6)"},
	{"c_varchar varchar(20)", "c_varchar VARCHAR(20)"},
	{"c_text text", "c_text STRING"},
	{"c_char char(5)", "c_char CHAR(5)"},
	{"c_bytea bytea", "c_bytea BYTES"},
	{"c_ints integer[]", "c_ints ARRAY<INT>"},
	{"c_bigs bigint[]", "c_bigs ARRAY<BIGINT>"},
	{"c_texts text[]", "c_texts ARRAY<STRING>"},
	{"c_nums numeric(10, 2)[]", "c_nums ARRAY<DECIMAL(10, 2)>"},
	{"c_tss timestamp[]", "c_tss ARRAY<TIMESTAMP(6)>"},
	{"c_bools boolean[]", "c_bools ARRAY<BOOLEAN>"},
	{"c_doubles float8[]", "c_doubles ARRAY<DOUBLE>"},
	{"c_dates date[]", "c_dates ARRAY<DATE>"},
}

func columns(i int) string {
	var cs []string
	for _, c := range allTypes {
		cs = append(cs, c[i])
	}
	return strings.Join(cs, ", ")
}

// TestTypesRoundTrip reads a row of edge values of every mapped type from
// PostgreSQL and writes it back through Eddy: the copy equals the original.
func TestTypesRoundTrip(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.src (%s)", pg.schema, columns(0)))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.dst (LIKE %s.src)", pg.schema, pg.schema))
	pg.exec(t, fmt.Sprintf(`INSERT INTO %s.src VALUES
	  (1, 2, 3, 1.5, 2.25, 12345.67891, true, '2024-02-29', '13:45:01.123456', '2024-02-29 13:45:01.123456', '2024-02-29 13:45:01.123456+02',
	   'héllo', 'long text ✓', 'ab', '\x00ff10', '{1,2,3}', '{10000000000}', '{"a","b c"}', '{1.25,-3.50}', '{"2020-01-01 00:00:00.000001"}', '{t,f}', '{0.5}', '{2000-01-01}'),
	  (-32768, -2147483648, -9223372036854775808, -3.4e38, 1e308, -999999999999999.99999, false, '1900-01-01', '00:00:00', '1950-06-15 23:59:59.999999', '1969-12-31 23:59:59.5+00',
	   '', '', '', '\x', '{}', '{}', '{NULL,"x"}', '{}', '{}', '{}', '{}', '{}'),
	  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	  (32767, 2147483647, 9223372036854775807, 'NaN', '-0', 0, true, '9999-12-31', '23:59:59.999999', '2262-04-11 00:00:00', '2100-01-01 00:00:00+00',
	   'x', 'y', 'abcde', '\xdeadbeef', '{NULL}', '{-1,NULL}', '{""}', '{NULL,0.01}', '{NULL}', '{NULL,t}', '{Infinity,-1e-300}', '{1969-07-20,NULL}'),
	  (0, 0, 0, 1e-45, 5e-324, 0.00001, false, '0001-01-01', '12:00:00.000001', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00.000001+00',
	   'ünïcödé ∑', E'tab\tnewline\n', 'a b', '\x00', '{-1}', '{0}', '{"quote\"d","back\\slash"}', '{99999999.99}', '{"1970-01-01 00:00:00"}', '{f}', '{-0}', '{0001-01-01}')`, pg.schema))
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprint("parallelism=", par), func(t *testing.T) {
			pg.exec(t, fmt.Sprintf("TRUNCATE %s.dst", pg.schema))
			env := environment(t, par)
			run(t, env,
				fmt.Sprintf("CREATE TABLE src (%s) WITH (%s)", columns(1), pg.with("src")),
				fmt.Sprintf("CREATE TABLE dst (%s) WITH (%s)", columns(1), pg.with("dst")),
				"INSERT INTO dst SELECT * FROM src")
			pg.same(t, "TABLE "+pg.schema+".src", "TABLE "+pg.schema+".dst")
			require.EqualValues(t, 5, pg.count(t, "TABLE "+pg.schema+".dst"))
		})
	}
}

// TestPartitionedScan reads a table split into 7 partitions by 3 subtasks:
// every row within the bounds is read exactly once, and rows outside them
// (or with a NULL partition column) are not read, as in Flink.
func TestPartitionedScan(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.big AS SELECT g::bigint AS id, md5(g::text) AS payload FROM generate_series(1, 10000) g", pg.schema))
	pg.exec(t, fmt.Sprintf("INSERT INTO %s.big VALUES (NULL, 'null id'), (0, 'below'), (10001, 'above')", pg.schema))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.out (id bigint, payload text)", pg.schema))
	env := environment(t, 3)
	run(t, env,
		fmt.Sprintf("CREATE TABLE big (id BIGINT, payload STRING) WITH (%s)", pg.with("big",
			"scan.partition.column", "id", "scan.partition.num", "7",
			"scan.partition.lower-bound", "1", "scan.partition.upper-bound", "10000",
			"scan.auto-commit", "false", "scan.fetch-size", "500")),
		fmt.Sprintf("CREATE TABLE out (id BIGINT, payload STRING) WITH (%s)", pg.with("out", "sink.parallelism", "2")),
		"INSERT INTO out SELECT * FROM big")
	pg.same(t, "SELECT * FROM "+pg.schema+".big WHERE id BETWEEN 1 AND 10000", "TABLE "+pg.schema+".out")
	require.EqualValues(t, 10000, pg.count(t, "SELECT DISTINCT id FROM "+pg.schema+".out"))

	// A partition column PostgreSQL holds as text would split the rows
	// by string order: refused when the job starts.
	run(t, env, fmt.Sprintf("CREATE TABLE by_text (id BIGINT) WITH (%s)", pg.with("big",
		"scan.partition.column", "payload", "scan.partition.num", "2",
		"scan.partition.lower-bound", "1", "scan.partition.upper-bound", "10")))
	err := runErr(env, "INSERT INTO out SELECT id, 'x' FROM by_text")
	require.ErrorContains(t, err, "names column \"payload\" of \""+pg.schema+"\".\"big\", of type text; a partitioned scan needs a numeric column")
}

// TestFilterAndProjectionPushdown reads two columns of a wider table with
// an integer filter the scan applies.
func TestFilterAndProjectionPushdown(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.t AS SELECT g::smallint AS id, g %% 3 = 0 AS fizz, 'n' || g AS name, g * 1.5 AS x FROM generate_series(1, 500) g", pg.schema))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.out (name text, id int)", pg.schema))
	env := environment(t, 1)
	run(t, env,
		fmt.Sprintf("CREATE TABLE t (id INT, fizz BOOLEAN, name STRING, x DECIMAL(20, 1)) WITH (%s)", pg.with("t")),
		fmt.Sprintf("CREATE TABLE out (name STRING, id INT) WITH (%s)", pg.with("out")))
	ctx := context.Background()
	r, err := env.ExecuteSQL(ctx, "EXPLAIN INSERT INTO out SELECT name, id FROM t WHERE id > 100 AND fizz = TRUE AND name <> 'n300'")
	require.NoError(t, err)
	b, err := r.Next(ctx)
	require.NoError(t, err)
	plan := fmt.Sprint(b.Column(0).(*array.String).Value(0))
	b.Release()
	r.Close()
	require.Contains(t, plan, "project=[id, name], filter=[id > 100, fizz = TRUE]", plan)
	run(t, env, "INSERT INTO out SELECT name, id FROM t WHERE id > 100 AND fizz = TRUE AND name <> 'n300'")
	pg.same(t, fmt.Sprintf("SELECT name, id FROM %s.t WHERE id > 100 AND fizz AND name <> 'n300'", pg.schema), "TABLE "+pg.schema+".out")
	// The smallint column is declared INT: a literal beyond smallint's
	// range still compares.
	pg.exec(t, fmt.Sprintf("TRUNCATE %s.out", pg.schema))
	run(t, env, "INSERT INTO out SELECT name, id FROM t WHERE id < 100000 AND id <> 7")
	pg.same(t, fmt.Sprintf("SELECT name, id FROM %s.t WHERE id <> 7", pg.schema), "TABLE "+pg.schema+".out")
}

// TestUpsertAggregates writes GROUP BY aggregates over datagen into upsert
// sinks, flushing every 25 rows: the tables end as PostgreSQL's own GROUP
// BY of the same rows. The second aggregate's groups disappear as keys
// move to higher counts, so its sink applies deletes.
func TestUpsertAggregates(t *testing.T) {
	pg := postgres(t)
	s := pg.schema
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.raw (k int, v bigint)", s))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.agg (k int PRIMARY KEY, total bigint, cnt bigint)", s))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.hist (cnt bigint PRIMARY KEY, keys bigint)", s))
	env := environment(t, 2)
	flush := []string{"sink.buffer-flush.max-rows", "25", "sink.buffer-flush.interval", "50ms"}
	run(t, env,
		`CREATE TABLE gen (k INT, v BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '20000', 'rows-per-second' = '100000000',
		  'seed' = '7', 'fields.k.min' = '0', 'fields.k.max' = '300', 'fields.v.min' = '1', 'fields.v.max' = '100')`,
		fmt.Sprintf("CREATE TABLE raw (k INT, v BIGINT) WITH (%s)", pg.with("raw")),
		fmt.Sprintf("CREATE TABLE agg (k INT, total BIGINT, cnt BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH (%s)", pg.with("agg", flush...)),
		fmt.Sprintf("CREATE TABLE hist (cnt BIGINT, keys BIGINT, PRIMARY KEY (cnt) NOT ENFORCED) WITH (%s)", pg.with("hist", flush...)),
		"INSERT INTO raw SELECT * FROM gen",
		"INSERT INTO agg SELECT k, SUM(v), COUNT(*) FROM gen GROUP BY k",
		"INSERT INTO hist SELECT cnt, COUNT(*) FROM (SELECT k, COUNT(*) AS cnt FROM gen GROUP BY k) GROUP BY cnt")
	require.EqualValues(t, 20000, pg.count(t, "TABLE "+s+".raw"))
	pg.same(t, "SELECT k, sum(v), count(*) FROM "+s+".raw GROUP BY k", "TABLE "+s+".agg")
	pg.same(t, "SELECT cnt, count(*) FROM (SELECT k, count(*) AS cnt FROM "+s+".raw GROUP BY k) x GROUP BY cnt", "TABLE "+s+".hist")

	// An append sink (no primary key) refuses the updating query at
	// planning time, as Flink does.
	err := runErr(env, "INSERT INTO raw SELECT k, COUNT(*) FROM gen GROUP BY k")
	require.Error(t, err)
	require.Contains(t, err.Error(), "raw")
}

// TestLookupJoin joins datagen rows with a jdbc dimension table FOR
// SYSTEM_TIME AS OF their processing time: the result is PostgreSQL's
// join of the same rows.
func TestLookupJoin(t *testing.T) {
	pg := postgres(t)
	s := pg.schema
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.dim (id int PRIMARY KEY, name text)", s))
	pg.exec(t, fmt.Sprintf("INSERT INTO %s.dim SELECT g, 'name-' || g FROM generate_series(1, 100) g", s))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.probes (id int)", s))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.joined (id int, name text)", s))
	env := environment(t, 2)
	run(t, env,
		`CREATE TABLE probe (id INT, pt AS PROCTIME()) WITH ('connector' = 'datagen', 'number-of-rows' = '1000', 'rows-per-second' = '100000000',
		  'seed' = '3', 'fields.id.min' = '0', 'fields.id.max' = '120')`,
		fmt.Sprintf("CREATE TABLE dim (id INT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (%s)", pg.with("dim", "lookup.max-retries", "2")),
		fmt.Sprintf("CREATE TABLE probes (id INT) WITH (%s)", pg.with("probes")),
		fmt.Sprintf("CREATE TABLE joined (id INT, name STRING) WITH (%s)", pg.with("joined")),
		"INSERT INTO probes SELECT id FROM probe",
		"INSERT INTO joined SELECT p.id, d.name FROM probe AS p LEFT JOIN dim FOR SYSTEM_TIME AS OF p.pt AS d ON p.id = d.id")
	pg.same(t, fmt.Sprintf("SELECT p.id, d.name FROM %s.probes p LEFT JOIN %s.dim d ON p.id = d.id", s, s), "TABLE "+s+".joined")
	require.EqualValues(t, 1000, pg.count(t, "TABLE "+s+".joined"))
}

// TestErrors checks that a wrong type, a missing table and an unreachable
// server fail the job with a clear message, the last within
// connection.max-retry-timeout.
func TestErrors(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.t (id int, name text)", pg.schema))
	pg.exec(t, fmt.Sprintf("INSERT INTO %s.t VALUES (1, 'a')", pg.schema))
	env := environment(t, 1)
	run(t, env,
		"CREATE TABLE sink (id INT, name STRING) WITH ('connector' = 'blackhole')",
		fmt.Sprintf("CREATE TABLE wrong (id INT, name INT) WITH (%s)", pg.with("t")),
		fmt.Sprintf("CREATE TABLE missing (id INT, name STRING) WITH (%s)", pg.with("nope")),
		fmt.Sprintf("CREATE TABLE down (id INT, name STRING) WITH ('connector' = 'jdbc', 'url' = 'jdbc:postgresql://127.0.0.1:1/db', 'table-name' = 't', 'connection.max-retry-timeout' = '1s')"),
		fmt.Sprintf("CREATE TABLE down_sink (id INT, name STRING) WITH ('connector' = 'jdbc', 'url' = 'jdbc:postgresql://127.0.0.1:1/db', 'table-name' = 't', 'connection.max-retry-timeout' = '1s')"),
		fmt.Sprintf("CREATE TABLE missing_sink (id INT, name STRING) WITH (%s)", pg.with("nope")),
		fmt.Sprintf("CREATE TABLE wrong_sink (id INT, name BOOLEAN) WITH (%s)", pg.with("t")),
		fmt.Sprintf("CREATE TABLE nokey (id INT, name STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (%s)", pg.with("t")),
	)
	err := runErr(env, "INSERT INTO sink SELECT id, CAST(name AS STRING) FROM wrong")
	require.ErrorContains(t, err, "column 'name' of table")
	require.ErrorContains(t, err, "is declared INT, but PostgreSQL's column \"name\" of \""+pg.schema+"\".\"t\" has type text")
	err = runErr(env, "INSERT INTO sink SELECT * FROM missing")
	require.ErrorContains(t, err, "\"nope\" of")
	require.ErrorContains(t, err, "does not exist")
	start := time.Now()
	err = runErr(env, "INSERT INTO sink SELECT * FROM down")
	require.ErrorContains(t, err, "cannot connect to jdbc:postgresql://127.0.0.1:1/db within 1s")
	err = runErr(env, "INSERT INTO down_sink VALUES (1, 'a')")
	require.ErrorContains(t, err, "cannot connect")
	require.Less(t, time.Since(start), 15*time.Second)
	err = runErr(env, "INSERT INTO missing_sink VALUES (1, 'a')")
	require.ErrorContains(t, err, "does not exist")
	err = runErr(env, "INSERT INTO wrong_sink VALUES (1, true)")
	require.ErrorContains(t, err, "is declared BOOLEAN, but PostgreSQL's column \"name\"")
	require.ErrorContains(t, err, "has type text, which cannot store it")
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.n (id int, x numeric(20, 5))", pg.schema))
	pg.exec(t, fmt.Sprintf("INSERT INTO %s.n VALUES (1, 1.5)", pg.schema))
	run(t, env, fmt.Sprintf("CREATE TABLE n (id INT, x INT) WITH (%s)", pg.with("n")))
	err = runErr(env, "INSERT INTO sink SELECT id, CAST(x AS STRING) FROM n")
	require.ErrorContains(t, err, "is declared INT, but PostgreSQL's column \"x\" of \""+pg.schema+"\".\"n\" has type numeric(20,5), which does not convert to it")
	err = runErr(env, "INSERT INTO nokey SELECT id, MAX(name) FROM (VALUES (1, 'a')) AS v(id, name) GROUP BY id")
	require.ErrorContains(t, err, "has no primary key or unique constraint on those columns in PostgreSQL")
}

func tableInfo(pg *pgEnv, name string, s types.Schema, pk []string, opts ...string) connector.TableInfo {
	o := map[string]string{"connector": "jdbc", "url": pg.url, "table-name": pg.schema + "." + name}
	for i := 0; i < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return connector.TableInfo{Name: name, Schema: s, Options: o, PrimaryKey: pk}
}

var idName = types.Schema{Columns: []types.Column{
	{Name: "id", Type: types.DataType{Kind: types.BigInt, NotNull: true}},
	{Name: "name", Type: types.VarcharType(types.MaxLength)},
}}

func ids(bs []arrow.RecordBatch) []int64 {
	var out []int64
	for _, b := range bs {
		out = append(out, b.Column(0).(*array.Int64).Int64Values()...)
		b.Release()
	}
	return out
}

// TestScanSnapshotRestore stops a partitioned scan in the middle of a
// partition, restores a new reader from its snapshot, and checks that the
// two read every row once; the connector conformance suite reads it too,
// interrupting every other Next.
func TestScanSnapshotRestore(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.t AS SELECT g::bigint AS id, 'n' || g AS name FROM generate_series(1, 1000) g", pg.schema))
	for _, part := range [][]string{nil, {"scan.partition.column", "id", "scan.partition.num", "4", "scan.partition.lower-bound", "1", "scan.partition.upper-bound", "1000"}} {
		t.Run(fmt.Sprint("partitioned=", part != nil), func(t *testing.T) {
			spec := connector.ScanSpec{Table: tableInfo(pg, "t", idName, nil, part...)}
			require.EqualValues(t, 1000, connectortest.CheckSource(t, jdbc.Factory{}, spec, 3, 64))
			for _, stopAfter := range []int{0, 1, 3, 7, 15} {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				rc := connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 70}
				r, err := jdbc.Factory{}.CreateReader(spec, rc)
				require.NoError(t, err)
				var got []arrow.RecordBatch
				for range stopAfter {
					b, err := r.Next(context.Background())
					require.NoError(t, err)
					got = append(got, b)
				}
				state, err := r.Snapshot()
				require.NoError(t, err)
				// The reader goes on past its snapshot; those rows are
				// lost with it, as a failed task's are.
				if b, err := r.Next(context.Background()); err == nil {
					b.Release()
				}
				require.NoError(t, r.Close())
				r, err = jdbc.Factory{}.CreateReader(spec, rc)
				require.NoError(t, err)
				require.NoError(t, r.Restore(state))
				for {
					b, err := r.Next(context.Background())
					if errors.Is(err, io.EOF) {
						break
					}
					require.NoError(t, err)
					got = append(got, b)
				}
				require.NoError(t, r.Close())
				all := ids(got)
				sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
				require.Len(t, all, 1000, "stopped after %d batches", stopAfter)
				for i, v := range all {
					require.EqualValues(t, i+1, v)
				}
				mem.AssertSize(t, 0)
			}
		})
	}
}

// TestSinkFlushAtCheckpoint checks that buffered rows reach PostgreSQL at
// a checkpoint's Flush, and that replaying the rows after the checkpoint
// into a new writer (a restart) leaves an upsert table as one run would.
func TestSinkFlushAtCheckpoint(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.u (id bigint PRIMARY KEY, name text)", pg.schema))
	spec := connector.SinkSpec{Table: tableInfo(pg, "u", idName, []string{"id"},
		"sink.buffer-flush.max-rows", "0", "sink.buffer-flush.interval", "0")}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rc := connector.ReaderContext{Parallelism: 1, Mem: mem}
	changelog := arrow.NewSchema(append(idName.Arrow().Fields(), arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8}), nil)
	batch := func(js string) arrow.RecordBatch {
		b, _, err := array.RecordFromJSON(mem, changelog, strings.NewReader(js))
		require.NoError(t, err)
		return b
	}
	before := batch(`[{"id": 1, "name": "a", "$rowkind": 0}, {"id": 2, "name": "b", "$rowkind": 0}, {"id": 1, "name": "a", "$rowkind": 1}, {"id": 1, "name": "a2", "$rowkind": 2}]`)
	after := batch(`[{"id": 2, "name": "b", "$rowkind": 3}, {"id": 3, "name": "c", "$rowkind": 0}, {"id": 3, "name": "c", "$rowkind": 1}, {"id": 3, "name": "c2", "$rowkind": 2}]`)
	defer before.Release()
	defer after.Release()

	w, err := jdbc.Factory{}.CreateWriter(spec, rc)
	require.NoError(t, err)
	require.NoError(t, w.Write(before))
	require.Zero(t, pg.count(t, "TABLE "+pg.schema+".u"), "rows are buffered until the checkpoint")
	require.NoError(t, w.(connector.SinkFlusher).Flush())
	pg.same(t, "VALUES (1::bigint, 'a2'), (2, 'b')", "TABLE "+pg.schema+".u")
	// The task fails after writing more rows, some flushed by chance.
	require.NoError(t, w.Write(after))
	require.NoError(t, w.(connector.SinkFlusher).Flush())
	require.NoError(t, w.Close())

	// The job restarts from the checkpoint and replays the rows after it.
	w, err = jdbc.Factory{}.CreateWriter(spec, rc)
	require.NoError(t, err)
	require.NoError(t, w.Write(after))
	require.NoError(t, w.Finish())
	require.NoError(t, w.Close())
	require.NoError(t, w.Close())
	pg.same(t, "VALUES (1::bigint, 'a2'), (3, 'c2')", "TABLE "+pg.schema+".u")

	// The conformance suite's sink checks, in append mode.
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.a (id bigint, name text)", pg.schema))
	ins := batch(`[{"id": 5, "name": "e", "$rowkind": 0}]`)
	defer ins.Release()
	plain, err := array.NewRecordBatch(idName.Arrow(), ins.Columns()[:2], 1), error(nil)
	require.NoError(t, err)
	defer plain.Release()
	connectortest.CheckSink(t, jdbc.Factory{}, connector.SinkSpec{Table: tableInfo(pg, "a", idName, nil)}, rc, plain)
	pg.same(t, "VALUES (5::bigint, 'e')", "TABLE "+pg.schema+".a")
}

// terminate ends the server sessions of an application name, as a
// restarting server or a network failure would.
func (e *pgEnv) terminate(t testing.TB, app string) {
	t.Helper()
	require.Positive(t, e.count(t, fmt.Sprintf("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '%s'", app)))
}

// TestRetries kills the connections of a scan in the middle of its read
// and of a sink between two flushes: the scan resumes where it was
// (lookup.max-retries) and the sink retries its flush (sink.max-retries);
// without retries both fail.
func TestRetries(t *testing.T) {
	pg := postgres(t)
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.t AS SELECT g::bigint AS id, repeat('x', 100) AS name FROM generate_series(1, 100000) g", pg.schema))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.u (id bigint PRIMARY KEY, name text)", pg.schema))
	for _, retries := range []int{0, 1} {
		t.Run(fmt.Sprint("retries=", retries), func(t *testing.T) {
			app := fmt.Sprintf("eddy_retry_%s_%d", pg.schema, retries)
			spec := connector.ScanSpec{Table: tableInfo(pg, "t", idName, nil, "lookup.max-retries", fmt.Sprint(retries))}
			spec.Table.Options["url"] += "&ApplicationName=" + app
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r, err := jdbc.Factory{}.CreateReader(spec, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 100})
			require.NoError(t, err)
			defer r.Close()
			b, err := r.Next(context.Background())
			require.NoError(t, err)
			got := []arrow.RecordBatch{b}
			pg.terminate(t, app)
			for {
				b, err := r.Next(context.Background())
				if errors.Is(err, io.EOF) {
					break
				}
				if retries == 0 && err != nil {
					require.ErrorContains(t, err, "jdbc: reading")
					ids(got)
					return
				}
				require.NoError(t, err)
				got = append(got, b)
			}
			require.NotZero(t, retries, "the read survived its connection")
			all := ids(got)
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			require.Len(t, all, 100000)
			for i, v := range all {
				require.EqualValues(t, i+1, v)
			}

			sink := connector.SinkSpec{Table: tableInfo(pg, "u", idName, []string{"id"},
				"sink.max-retries", fmt.Sprint(retries), "sink.buffer-flush.interval", "0")}
			sink.Table.Options["url"] += "&ApplicationName=" + app
			w, err := jdbc.Factory{}.CreateWriter(sink, connector.ReaderContext{Parallelism: 1, Mem: mem})
			require.NoError(t, err)
			defer w.Close()
			rows, _, err := array.RecordFromJSON(mem, idName.Arrow(), strings.NewReader(`[{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]`))
			require.NoError(t, err)
			defer rows.Release()
			require.NoError(t, w.Write(rows))
			pg.terminate(t, app)
			require.NoError(t, w.Finish())
			pg.same(t, "VALUES (1::bigint, 'a'), (2, 'b')", "TABLE "+pg.schema+".u")
		})
	}
}

// TestStringsOfOtherTypes reads uuid, jsonb, inet and enum columns as
// STRING (their text form, as Flink's driver reads them) and writes
// strings into json and jsonb columns.
func TestStringsOfOtherTypes(t *testing.T) {
	pg := postgres(t)
	s := pg.schema
	pg.exec(t, fmt.Sprintf("CREATE TYPE %s.mood AS ENUM ('sad', 'happy')", s))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.src (id uuid, doc jsonb, addr inet, m %s.mood)", s, s))
	pg.exec(t, fmt.Sprintf(`INSERT INTO %s.src VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2], "a": null}', '10.0.0.1/8', 'happy'),
	  (NULL, NULL, NULL, NULL), ('00000000-0000-0000-0000-000000000000', '"x"', '::1', 'sad')`, s))
	pg.exec(t, fmt.Sprintf("CREATE TABLE %s.dst (id text, doc jsonb, addr json, m varchar(10))", s))
	env := environment(t, 1)
	run(t, env,
		fmt.Sprintf("CREATE TABLE src (id STRING, doc STRING, addr STRING, m STRING) WITH (%s)", pg.with("src")),
		fmt.Sprintf("CREATE TABLE dst (id STRING, doc STRING, addr STRING, m STRING) WITH (%s)", pg.with("dst")),
		"INSERT INTO dst SELECT id, doc, '\"' || addr || '\"', m FROM src")
	// format's %s is the type's output function (inet's text() would add
	// the netmask of host addresses), and '' for NULL.
	pg.same(t, fmt.Sprintf("SELECT id::text, doc, to_json(nullif(format('%%s', addr), ''))::text, m::text FROM %s.src", s),
		fmt.Sprintf("SELECT id, doc, addr::text, m FROM %s.dst", s))
}
