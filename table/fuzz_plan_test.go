package table

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table/connector/values"
)

// fuzzPlanPreamble declares the tables every FuzzPlan input can use: every
// type family, a watermark on TIMESTAMP and on TIMESTAMP_LTZ, a processing
// time column, a primary key, a CDC (retract) and an upsert source, sinks
// and a view. %[1]s is the data set of the values tables.
const fuzzPlanPreamble = `
CREATE TABLE t (
  i TINYINT, s SMALLINT, n INT, b BIGINT, f FLOAT, d DOUBLE,
  d10 DECIMAL(10, 2), d38 DECIMAL(38, 18), ok BOOLEAN,
  c CHAR(3), vc VARCHAR(10), str STRING, bin BINARY(2), vb VARBINARY(4), bys BYTES,
  dt DATE, tm TIME, ts TIMESTAMP(3), ltz TIMESTAMP_LTZ(3),
  r ROW<a INT, b STRING, c ROW<x DOUBLE>>, arr ARRAY<INT>, sarr ARRAY<ROW<k STRING, v BIGINT>>,
  m MAP<STRING, INT>, ms MULTISET<STRING>,
  n2 AS n * 2,
  pt AS PROCTIME(),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'datagen', 'number-of-rows' = '10');
CREATE TABLE l (id BIGINT, name STRING, ltz TIMESTAMP_LTZ(3),
  WATERMARK FOR ltz AS ltz - INTERVAL '5' SECOND,
  PRIMARY KEY (id) NOT ENFORCED
) WITH ('connector' = 'values', 'data-id' = '%[1]s');
CREATE TABLE cdc (id BIGINT, name STRING, amount DECIMAL(10, 2), ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts,
  PRIMARY KEY (id) NOT ENFORCED
) WITH ('connector' = 'values', 'data-id' = '%[1]s', 'changelog-mode' = 'I,UB,UA,D');
CREATE TABLE ups (id BIGINT, name STRING, amount DECIMAL(10, 2),
  PRIMARY KEY (id) NOT ENFORCED
) WITH ('connector' = 'values', 'data-id' = '%[1]s', 'changelog-mode' = 'I,UA,D');
CREATE TABLE sink (id BIGINT, name STRING, amount DECIMAL(10, 2))
  WITH ('connector' = 'blackhole');
CREATE TABLE ksink (id BIGINT, name STRING, amount DECIMAL(10, 2), PRIMARY KEY (id) NOT ENFORCED)
  WITH ('connector' = 'blackhole');
CREATE VIEW v AS SELECT b AS id, str AS name, d10 AS amount, ts FROM t WHERE n > 0;
`

// fuzzPlanTimeout bounds one input: planning never runs a job, so an
// input that takes longer hangs.
const fuzzPlanTimeout = 30 * time.Second

var fuzzPlanData = sync.OnceValue(func() string { return values.Register(&values.Data{}) })

// FuzzPlan drives the front end past the parser: each input is a script
// run after fuzzPlanPreamble, its DDL executed and its queries, INSERTs and
// modifications EXPLAINed (never run). No input may panic, hang or fail
// with an error that is neither the parser's *sql.Error nor an
// *errs.Error of a catalog code other than internal_error.
func FuzzPlan(f *testing.F) {
	for _, seed := range fuzzPlanSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if err := fuzzPlanCheck(src); err != nil {
			t.Fatalf("%v\ninput:\n%s", err, src)
		}
	})
}

// FuzzPlanExpr is FuzzPlan for one expression over the preamble's table
// t: a mutation of it still parses more often than one of a whole
// script, so more inputs reach binding, type inference and folding.
func FuzzPlanExpr(f *testing.F) {
	for _, e := range []string{
		"n + b * d10 / d38", "CAST(str AS INT)", "TRY_CAST(vc AS DATE)", "CAST(r AS STRING)",
		"r.c.x", "arr[1] + m['a']", "sarr[1].k", "CARDINALITY(ms)", "ELEMENT(arr)",
		"ARRAY[n, 2]", "MAP['a', n]", "ROW(n, str)", "CASE WHEN ok THEN n ELSE b END",
		"COALESCE(n, i, s)", "NULLIF(str, 'x')", "IF(ok, str, c)", "n BETWEEN 1 AND 5",
		"str LIKE 'a%' ESCAPE '!'", "str SIMILAR TO 'a|b'", "REGEXP_EXTRACT(str, '(a+)', 1)",
		"SUBSTRING(str FROM 2 FOR 3)", "OVERLAY(str PLACING 'x' FROM 2)", "POSITION('a' IN str)",
		"TRIM(BOTH 'x' FROM str)", "LPAD(str, 5, '-')", "REPEAT(str, 3)", "SPLIT_INDEX(str, ',', 1)",
		"ROUND(d10, 1)", "TRUNCATE(d, 2)", "POWER(d, 2)", "MOD(n, 3)", "ABS(i)", "SIGN(f)",
		"ts + INTERVAL '1' DAY", "ltz - INTERVAL '1' HOUR", "EXTRACT(YEAR FROM ts)", "FLOOR(ts TO HOUR)",
		"TIMESTAMPDIFF(SECOND, ts, TIMESTAMP '2020-01-01 00:00:00')", "DATE_FORMAT(ts, 'yyyy-MM-dd')",
		"TO_TIMESTAMP_LTZ(b, 3)", "CONVERT_TZ('2020-01-01 00:00:00', 'UTC', 'Asia/Tokyo')",
		"JSON_VALUE(str, '$.a' RETURNING INT)", "JSON_OBJECT(KEY 'a' VALUE n)", "JSON_ARRAY(n, str)",
		"PRINTF('%5d %s', n, str)", "HEX(bys)", "MD5(str)", "ARRAY_CONTAINS(arr, 1)",
		"ARRAY_SLICE(arr, 1, 2)", "MAP_KEYS(m)", "CURRENT_WATERMARK(ts)", "n IN (1, 2, 3)",
		"(n, b) IN ((1, 2))", "n IN (SELECT id FROM l)", "EXISTS (SELECT 1 FROM l WHERE l.id = t.b)",
		"(SELECT MAX(id) FROM l)", "PROCTIME()", "ts IS NOT DISTINCT FROM ts",
	} {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, e string) {
		src := "SELECT " + e + " FROM t WHERE " + e + " IS NOT NULL"
		if err := fuzzPlanCheck(src); err != nil {
			t.Fatalf("%v\ninput:\n%s", err, src)
		}
	})
}

// TestPlanRobustness holds the inputs FuzzPlan found, minimized: each
// must fail cleanly or plan, quickly.
func TestPlanRobustness(t *testing.T) {
	for _, src := range []string{
		// Constant folding built these strings while planning (minutes,
		// gigabytes).
		"SELECT REPEAT('a', 2000000000) FROM t",
		"SELECT REPEAT(REPEAT('ab', 50000), 50000) FROM t",
		"SELECT LPAD('a', 2000000000, 'b'), RPAD('a', 2000000000, 'b') FROM t",
		"SELECT PRINTF('%2000000000d', 1) FROM t",
		// ROUND computed 10^|digits| while folding.
		"SELECT ROUND(CAST(1.5 AS DOUBLE), 2147483647), ROUND(CAST(1.5 AS DOUBLE), -2147483648) FROM t",
		"SELECT ROUND(d38, -2147483648), TRUNCATE(d10, -2147483648) FROM t",
	} {
		start := time.Now()
		if err := fuzzPlanCheck(src); err != nil {
			t.Errorf("%v\ninput: %s", err, src)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("planning took %v: %s", d, src)
		}
	}
}

// fuzzPlanCheck plans src and returns what is wrong with how it failed, or
// nil.
func fuzzPlanCheck(src string) error {
	script, err := sql.ParseScript(src)
	if err != nil {
		// FuzzParseScript holds the parser to its contract.
		return nil
	}
	env, err := NewEnvironment(Settings{TaskManagers: 1, SlotsPerTaskManager: 1})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := env.ExecuteScript(ctx, fmt.Sprintf(fuzzPlanPreamble, fuzzPlanData()), func(string, *TableResult) error { return nil }); err != nil {
		return fmt.Errorf("preamble: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		done <- func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
				}
			}()
			for _, st := range script.Stmts {
				stmt := fuzzPlanStatement(st.Stmt)
				if stmt == nil {
					continue
				}
				_, err := env.execute(ctx, script.Source, stmt)
				if err == nil {
					continue
				}
				if bad := fuzzPlanBadError(err); bad != "" {
					return fmt.Errorf("%s: %v (%T)", bad, err, err)
				}
			}
			return nil
		}()
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(fuzzPlanTimeout):
		return fmt.Errorf("planning took over %v", fuzzPlanTimeout)
	}
}

// fuzzPlanStatement is the statement to run for st: st itself when it
// only changes the session or reads the catalog, an EXPLAIN of it when it
// would run a job or write, nil when it would touch anything outside the
// session (files, jobs, models' services).
func fuzzPlanStatement(st sql.Statement) sql.Statement {
	switch s := st.(type) {
	case *sql.QueryStatement, *sql.Insert, *sql.StatementSet, *sql.Delete, *sql.Update:
		return &sql.Explain{Stmt: s, Pos: s.Position()}
	case *sql.CreateTable:
		if s.Query != nil {
			return &sql.Explain{Stmt: s, Pos: s.Position()}
		}
		return s
	case *sql.Explain:
		return s
	case *sql.CreateView, *sql.DropTable, *sql.DropView, *sql.Set, *sql.Show:
		return s
	}
	return nil
}

// fuzzPlanBadError says what is wrong with err as the answer to bad SQL,
// or "".
func fuzzPlanBadError(err error) string {
	var se *sql.Error
	if errors.As(err, &se) {
		return ""
	}
	var e *errs.Error
	switch {
	case !errors.As(err, &e):
		return "error is not an *errs.Error"
	case e.Code == errs.InternalError || e.Code.Name == "":
		return "error has code " + e.Code.Name
	case strings.Contains(strings.ToLower(e.Msg), "internal"):
		return "error says internal"
	}
	return ""
}

// fuzzPlanSeeds collects the SQL of the repository's test files, each
// query with the DDL of its file ahead of it so that mutations start from
// plannable scripts.
func fuzzPlanSeeds(f *testing.F) []string {
	var seeds []string
	add := func(s string) {
		if strings.TrimSpace(s) != "" {
			seeds = append(seeds, s)
		}
	}
	glob := func(patterns ...string) []string {
		var out []string
		for _, p := range patterns {
			m, err := filepath.Glob(p)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, m...)
		}
		return out
	}
	read := func(path string) string {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		return string(data)
	}
	// Data-driven files: "command\ninput\n----\noutput" blocks; the inputs
	// of DDL commands prefix the file's other inputs.
	for _, path := range glob("testdata/differential/*/*", "testdata/differential/*",
		"../optimizer/testdata/*", "../sql/testdata/*", "../planner/testdata/*", "../testdata/scripts/*") {
		if info, err := os.Stat(path); err != nil || info.IsDir() {
			continue
		}
		var ddl, inputs []string
		for _, block := range strings.Split(read(path), "\n\n") {
			input, _, _ := strings.Cut(block, "\n----\n")
			cmd, body, ok := strings.Cut(strings.TrimLeft(input, "\n"), "\n")
			for ok && strings.HasPrefix(cmd, "#") {
				cmd, body, ok = strings.Cut(body, "\n")
			}
			if !ok {
				continue
			}
			if strings.HasPrefix(cmd, "exec-ddl") || strings.HasPrefix(cmd, "ddl") || strings.HasPrefix(cmd, "setup") {
				ddl = append(ddl, strings.TrimRight(body, "; \n")+";")
				continue
			}
			inputs = append(inputs, body)
		}
		prefix := strings.Join(ddl, "\n")
		for _, in := range inputs {
			add(prefix + "\n" + in)
		}
	}
	for _, path := range glob("../testdata/nexmark/*.sql", "../testdata/examples/*.sql") {
		add(read(path))
	}
	readme := regexp.MustCompile("(?s)```sql\n(.*?)```")
	for _, m := range readme.FindAllStringSubmatch(read("../README.md"), -1) {
		add(m[1])
	}
	seeds = append(seeds, fuzzPlanConformanceSeeds(f, glob("conformance/testdata/flink/*/*.json"))...)
	return seeds
}

// fuzzPlanConformanceSeeds turns Flink's test programs into scripts: their
// sources and sinks as values and blackhole tables, then their SQL.
func fuzzPlanConformanceSeeds(f *testing.F, paths []string) []string {
	type table struct {
		Name   string   `json:"name"`
		Schema []string `json:"schema"`
	}
	var seeds []string
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		var group struct {
			Programs []struct {
				Sources []table           `json:"sources"`
				Sinks   []table           `json:"sinks"`
				SQL     json.RawMessage   `json:"sql"`
				Setup   []json.RawMessage `json:"setup"`
			} `json:"programs"`
		}
		if err := json.Unmarshal(data, &group); err != nil {
			f.Fatalf("%s: %v", path, err)
		}
		for _, p := range group.Programs {
			var stmts []string
			if json.Unmarshal(p.SQL, &stmts) != nil {
				var one string
				if json.Unmarshal(p.SQL, &one) != nil {
					continue
				}
				stmts = []string{one}
			}
			var b strings.Builder
			for _, s := range p.Sources {
				fmt.Fprintf(&b, "CREATE TABLE %s (%s) WITH ('connector' = 'values', 'data-id' = '%s');\n",
					s.Name, strings.Join(s.Schema, ", "), fuzzPlanData())
			}
			for _, s := range p.Sinks {
				fmt.Fprintf(&b, "CREATE TABLE %s (%s) WITH ('connector' = 'blackhole');\n", s.Name, strings.Join(s.Schema, ", "))
			}
			for _, s := range stmts {
				b.WriteString(strings.TrimRight(s, "; \n") + ";\n")
			}
			seeds = append(seeds, b.String())
		}
	}
	return seeds
}
