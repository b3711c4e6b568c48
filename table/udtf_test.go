package table_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
)

// splitWords is a vectorized table function: the words of a line with
// their lengths, one call per batch, the parent vector mapping each word
// to its line.
var splitWords = table.TableFunction{
	Params: []types.DataType{types.StringType},
	Result: []types.Field{{Name: "word", Type: types.StringType}, {Name: "length", Type: types.IntType}},
	Eval: func(args []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
		lines := args[0].(*array.String)
		words := array.NewStringBuilder(mem)
		defer words.Release()
		lens := array.NewInt32Builder(mem)
		defer lens.Release()
		var parent []int32
		for i := 0; i < n; i++ {
			if lines.IsNull(i) {
				continue
			}
			for _, w := range strings.Fields(lines.Value(i)) {
				words.Append(w)
				lens.Append(int32(len(w)))
				parent = append(parent, int32(i))
			}
		}
		return []arrow.Array{words.NewArray(), lens.NewArray()}, parent, nil
	},
}

// token is a row of the struct-returning Go table function tokens.
type token struct {
	Text string `eddy:"text"`
	Pos  int64  `eddy:"pos"`
}

func registerUDTFs(t *testing.T, env *table.Environment) {
	t.Helper()
	fns := map[string]any{
		"split_words": splitWords,
		// A func of one argument returning scalars: the typed loop.
		"letters": func(s string) []string {
			out := make([]string, 0, len(s))
			for _, r := range s {
				if r != ' ' {
					out = append(out, string(r))
				}
			}
			return out
		},
		// Two arguments and structs: the reflection fallback.
		"tokens": func(s string, sep string) ([]token, error) {
			if sep == "" {
				return nil, fmt.Errorf("empty separator")
			}
			var out []token
			for i, p := range strings.Split(s, sep) {
				out = append(out, token{Text: p, Pos: int64(i + 1)})
			}
			return out, nil
		},
		"upper_udf": strings.ToUpper,
	}
	for name, fn := range fns {
		if err := env.CreateFunction(name, fn); err != nil {
			t.Fatal(err)
		}
	}
}

func udtfEnv(t *testing.T, mode table.Mode, par int) *table.Environment {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	env, err := table.NewEnvironment(table.Settings{Mode: mode, Mem: mem, Config: map[string]string{"parallelism.default": fmt.Sprint(par)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, j := range env.Jobs() {
			_ = j.Wait(context.Background())
		}
		mem.AssertSize(t, 0)
	})
	registerUDTFs(t, env)
	ctx := context.Background()
	r, err := env.ExecuteSQL(ctx, `CREATE TEMPORARY VIEW texts AS SELECT * FROM (VALUES
		(1, 'to be or'), (2, ''), (3, CAST(NULL AS STRING)), (4, 'not'), (5, 'to  be')) AS v(id, line)`)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	return env
}

// TestUdtfLateralSQLAndTableAPI runs table functions through SQL's LATERAL
// TABLE and the Table API's JoinLateral in streaming and batch mode: each
// pair plans alike and returns the expected rows.
func TestUdtfLateralSQLAndTableAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, mode := range []table.Mode{table.Streaming, table.Batch} {
		env := udtfEnv(t, mode, 2)
		for _, tc := range []struct {
			name, sql string
			api       func() *table.Table
			want      []string
		}{
			{"inner", "SELECT id, word, length FROM texts, LATERAL TABLE(split_words(line))",
				func() *table.Table {
					return env.From("texts").JoinLateral(table.Call("split_words", table.Col("line"))).
						Select(table.Col("id"), table.Col("word"), table.Col("length"))
				},
				[]string{"1 be 2", "1 or 2", "1 to 2", "4 not 3", "5 be 2", "5 to 2"}},
			{"cross-alias-filter", "SELECT id, w FROM texts CROSS JOIN LATERAL TABLE(split_words(line)) AS T(w, n) WHERE n > 2",
				func() *table.Table {
					return env.From("texts").JoinLateral(table.Call("split_words", table.Col("line")).As("w", "n")).
						Where(table.Col("n").Gt(2)).Select(table.Col("id"), table.Col("w"))
				},
				[]string{"4 not"}},
			{"inner-on", "SELECT id, w FROM texts JOIN LATERAL TABLE(split_words(line)) AS T(w, n) ON n = id + 1",
				func() *table.Table {
					return env.From("texts").JoinLateral(table.Call("split_words", table.Col("line")).As("w", "n"),
						table.Col("n").Eq(table.Col("id").Plus(1))).Select(table.Col("id"), table.Col("w"))
				},
				[]string{"1 be", "1 or", "1 to"}},
			{"left", "SELECT id, f0 FROM texts LEFT JOIN LATERAL TABLE(letters(line)) ON TRUE WHERE id > 1",
				func() *table.Table {
					return env.From("texts").LeftOuterJoinLateral(table.Call("letters", table.Col("line")), table.Lit(true)).
						Where(table.Col("id").Gt(1)).Select(table.Col("id"), table.Col("f0"))
				},
				[]string{"2 <nil>", "3 <nil>", "4 n", "4 o", "4 t", "5 b", "5 e", "5 o", "5 t"}},
			{"struct-expr-args", "SELECT id, t.text, t.pos FROM texts, LATERAL TABLE(tokens(UPPER(line), 'O')) AS t WHERE id IN (1, 4)",
				func() *table.Table {
					return env.From("texts").JoinLateral(table.Call("tokens", table.Call("UPPER", table.Col("line")), "O")).
						Where(table.Col("id").In(1, 4)).Select(table.Col("id"), table.Col("text"), table.Col("pos"))
				},
				[]string{"1 T 1", "1  BE  2", "1 R 3", "4 N 1", "4 T 2"}},
		} {
			t.Run(fmt.Sprintf("%s/mode=%d", tc.name, mode), func(t *testing.T) {
				fromSQL, fromAPI := env.SQLQuery(tc.sql), tc.api()
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
				sort.Strings(tc.want)
				for _, tb := range []*table.Table{fromSQL, fromAPI} {
					if rows := rowsOf(t, ctx, tb); strings.Join(rows, "|") != strings.Join(tc.want, "|") {
						t.Fatalf("got\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(tc.want, "\n"))
					}
				}
			})
		}
	}
}

// TestUdtfConstantArgs calls a table function alone in FROM, as
// TABLE(f(...)) and as LATERAL TABLE(f(...)).
func TestUdtfConstantArgs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := udtfEnv(t, table.Batch, 1)
	for _, q := range []string{
		"SELECT * FROM TABLE(split_words('a bb ccc'))",
		"SELECT word, length FROM LATERAL TABLE(split_words('a bb ccc')) AS t",
		"SELECT w, n FROM TABLE(split_words('a bb ccc')) AS t(w, n)",
	} {
		rows := rowsOf(t, ctx, env.SQLQuery(q))
		if got, want := strings.Join(rows, "|"), "a 1|bb 2|ccc 3"; got != want {
			t.Errorf("%s: got %s, want %s", q, got, want)
		}
	}
	// Without arguments the function still runs once per input row.
	if err := env.CreateFunction("two_rows", func() []int64 { return []int64{1, 2} }); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{
		"SELECT * FROM TABLE(two_rows())":                                  "1|2",
		"SELECT id, f0 FROM texts, LATERAL TABLE(two_rows()) WHERE id < 3": "1 1|1 2|2 1|2 2",
	} {
		if got := strings.Join(rowsOf(t, ctx, env.SQLQuery(q)), "|"); got != want {
			t.Errorf("%s: got %s, want %s", q, got, want)
		}
	}
}

// TestUdtfLateralForms runs the other places a table function may be
// called: after a join's ON in the FROM list, chained over another's
// columns, without LATERAL (as PostgreSQL's functions in FROM), and in a
// correlated scalar subquery.
func TestUdtfLateralForms(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := udtfEnv(t, table.Streaming, 2)
	for _, tc := range []struct{ sql, want string }{
		{"SELECT a.id, w.word FROM texts AS a JOIN texts AS b ON a.id = b.id + 3, LATERAL TABLE(split_words(b.line)) AS w",
			"4 be|4 or|4 to"},
		{"SELECT id, word, f0 FROM texts, LATERAL TABLE(split_words(line)), LATERAL TABLE(letters(word)) WHERE id = 4",
			"4 not n|4 not o|4 not t"},
		{"SELECT id, word FROM texts, TABLE(split_words(line)) WHERE id > 3",
			"4 not|5 be|5 to"},
		{"SELECT id, (SELECT COUNT(*) FROM LATERAL TABLE(split_words(line)) WHERE length = 2) FROM texts",
			"1 3|2 0|3 0|4 0|5 2"},
	} {
		if got := strings.Join(rowsOf(t, ctx, env.SQLQuery(tc.sql)), "|"); got != tc.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.sql, got, tc.want)
		}
	}
}

// TestUdtfLateralChangelog correlates an updating input: the rows a
// retracted row produced are retracted too, so the final rows are those
// of the last versions.
func TestUdtfLateralChangelog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := udtfEnv(t, table.Streaming, 2)
	r, err := env.ExecuteSQL(ctx, `CREATE TEMPORARY VIEW edits AS SELECT * FROM (VALUES
		(1, 'a b'), (2, 'c'), (1, 'd e f'), (2, 'g h'), (3, 'i')) AS v(k, line)`)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	// LAST_VALUE per key is an updating stream: key 1 goes from 'a b' to
	// 'd e f', key 2 from 'c' to 'g h'; had the correlate not retracted
	// the words of the old lines, a, b and c would remain.
	q := `SELECT k, word, COUNT(*) AS c FROM
		(SELECT k, LAST_VALUE(line) AS line FROM edits GROUP BY k) AS latest,
		LATERAL TABLE(split_words(line)) GROUP BY k, word`
	rows := rowsOf(t, ctx, env.SQLQuery(q))
	if got, want := strings.Join(rows, "|"), "1 d 1|1 e 1|1 f 1|2 g 1|2 h 1|3 i 1"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestUdtfErrors checks the errors of table function calls: positioned in
// SQL, naming the expression in the Table API, with the catalog's codes.
func TestUdtfErrors(t *testing.T) {
	env := udtfEnv(t, table.Batch, 1)
	for _, tc := range []struct {
		sql  string
		code errs.Code
		msg  string
	}{
		{"SELECT * FROM texts, LATERAL TABLE(no_such(line))", errs.UndefinedFunction, "line 1, column 22"},
		{"SELECT * FROM texts, LATERAL TABLE(split_words(line, 1))", errs.DatatypeMismatch, "expects 1 argument, got 2"},
		{"SELECT * FROM texts, LATERAL TABLE(upper_udf(line))", errs.WrongObjectType, "UPPER_UDF is not a table function"},
		{"SELECT split_words(line) FROM texts", errs.WrongObjectType, "call it in FROM as LATERAL TABLE(SPLIT_WORDS(...))"},
		{"SELECT * FROM texts, LATERAL TABLE(split_words(line)) AS t(a)", errs.DatatypeMismatch, "1 column aliases given for the 2 columns"},
		{"SELECT * FROM texts LEFT JOIN LATERAL TABLE(split_words(line)) AS t(a, b) ON a = 'x'", errs.NotSupported, "needs the condition ON TRUE"},
		{"SELECT * FROM texts FULL JOIN LATERAL TABLE(split_words(line)) ON TRUE", errs.NotSupported, "FULL JOIN LATERAL TABLE is not supported"},
	} {
		_, err := env.SQLQuery(tc.sql).OptimizedPlan()
		if !errs.Is(err, tc.code) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: got %v, want %s containing %q", tc.sql, err, tc.code.Name, tc.msg)
		}
	}
	for _, tc := range []struct {
		tb   *table.Table
		code errs.Code
		msg  string
	}{
		{env.From("texts").JoinLateral(table.Call("no_such", table.Col("line"))), errs.UndefinedFunction, "JoinLateral: unknown function"},
		{env.From("texts").JoinLateral(table.Call("upper_udf", table.Col("line"))), errs.WrongObjectType, "is not a table function"},
		{env.From("texts").JoinLateral(table.Call("split_words", table.Col("line")).As("a")), errs.DatatypeMismatch, "1 column names given"},
		{env.From("texts").JoinLateral(table.Col("line")), errs.InvalidPlan, "needs a table function call"},
		{env.From("texts").LeftOuterJoinLateral(table.Call("split_words", table.Col("line")), table.Col("length").Gt(1)),
			errs.NotSupported, "LeftOuterJoinLateral takes only the condition TRUE"},
		{env.From("texts").Select(table.Col("line").As("a", "b")), errs.InvalidPlan, "several names"},
		{env.From("texts").Select(table.Call("split_words", table.Col("line"))), errs.WrongObjectType, "SPLIT_WORDS is a table function"},
	} {
		_, err := tc.tb.Plan()
		if !errs.Is(err, tc.code) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("got %v, want %s containing %q", err, tc.code.Name, tc.msg)
		}
	}
	// A failing function fails its job with the function's error.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := env.SQLQuery("SELECT * FROM texts, LATERAL TABLE(tokens(line, ''))").Execute(ctx)
	if err == nil {
		_, err = res.All(ctx)
	}
	if err == nil || !strings.Contains(err.Error(), "TOKENS: empty separator") {
		t.Fatalf("got %v, want the function's error", err)
	}
}

// allKinds has a field of every Go type a table function's rows may have.
type allKinds struct {
	I  int64     `eddy:"i"`
	J  int32     `eddy:"j"`
	F  float64   `eddy:"f"`
	S  string    `eddy:"s"`
	B  bool      `eddy:"b"`
	Bs []byte    `eddy:"bs"`
	T  time.Time `eddy:"t"`
}

// TestUdtfGoTypes runs Go table functions whose rows are structs of every
// supported type (read in place by the reflection fallback) and times
// (the typed loop), checking the values and types that come out.
func TestUdtfGoTypes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := udtfEnv(t, table.Batch, 1)
	base := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(env.CreateFunction("kinds", func(n int64) []allKinds {
		out := make([]allKinds, n)
		for i := range out {
			k := int64(i)
			out[i] = allKinds{k, int32(k * 2), float64(k) / 2, fmt.Sprint("s", k), k%2 == 1, []byte{byte('a' + k)}, base.Add(time.Duration(k) * time.Hour)}
		}
		return out
	}))
	must(env.CreateFunction("hours", func(t time.Time) []time.Time {
		return []time.Time{t, t.Add(time.Hour)}
	}))
	got := rowsOf(t, ctx, env.SQLQuery("SELECT i, j, f, s, b, CAST(bs AS STRING), CAST(t AS STRING) FROM TABLE(kinds(2))"))
	if want := "0 0 0 s0 false a 2026-01-02 03:04:05.006|1 2 0.5 s1 true b 2026-01-02 04:04:05.006"; strings.Join(got, "|") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, "|"), want)
	}
	got = rowsOf(t, ctx, env.SQLQuery("SELECT CAST(f0 AS STRING) FROM TABLE(hours(TIMESTAMP '2026-01-02 03:04:05.006'))"))
	if want := "2026-01-02 03:04:05.006|2026-01-02 04:04:05.006"; strings.Join(got, "|") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, "|"), want)
	}
	if err := env.CreateFunction("bad", func(n int64) []struct{ c complex128 } { return nil }); err == nil {
		t.Fatal("rows of an unsupported type were accepted")
	}
}
