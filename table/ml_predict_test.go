package table_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// fakeOpenAI is a local server speaking the OpenAI API's chat completions
// and embeddings JSON as documented: a chat answers each choice with the
// user message upper-cased (and "#i" after it when n > 1), an embedding
// is [len(input), 0.5, ...] of the requested dimensions (2 by default).
// fail says, per input and attempt (from 1), which HTTP status to fail
// with (0: answer); gates hold the requests of an input until closed.
type fakeOpenAI struct {
	srv   *httptest.Server
	delay time.Duration
	fail  func(input string, attempt int) int

	mu       sync.Mutex
	attempts map[string]int
	bodies   []map[string]any
	gates    map[string]chan struct{}

	inflight, maxInflight atomic.Int32
}

func newFakeOpenAI(t testing.TB) *fakeOpenAI {
	f := &fakeOpenAI{attempts: map[string]int{}, gates: map[string]chan struct{}{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOpenAI) apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("retry-after-ms", "1")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error": {"message": %q, "type": "invalid_request_error", "param": null, "code": null}}`, msg)
}

func (f *fakeOpenAI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer sk-test" {
		f.apiError(w, http.StatusUnauthorized, "Incorrect API key provided")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	chat := strings.HasSuffix(r.URL.Path, "/v1/chat/completions")
	var input string
	if chat {
		msgs, _ := body["messages"].([]any)
		if len(msgs) != 2 {
			f.apiError(w, http.StatusBadRequest, "expected a system and a user message")
			return
		}
		input, _ = msgs[1].(map[string]any)["content"].(string)
	} else if strings.HasSuffix(r.URL.Path, "/v1/embeddings") {
		input, _ = body["input"].(string)
	} else {
		f.apiError(w, http.StatusNotFound, "unknown path "+r.URL.Path)
		return
	}
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxInflight.Load()
		if n <= m || f.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.attempts[input]++
	attempt := f.attempts[input]
	f.bodies = append(f.bodies, body)
	gate := f.gates[input]
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	time.Sleep(f.delay)
	if f.fail != nil {
		if status := f.fail(input, attempt); status != 0 {
			f.apiError(w, status, "the model failed on "+input)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if chat {
		choices := 1
		if v, ok := body["n"].(float64); ok {
			choices = int(v)
		}
		var cs []string
		for i := range choices {
			content := strings.ToUpper(input)
			if choices > 1 {
				content += fmt.Sprintf("#%d", i)
			}
			cs = append(cs, fmt.Sprintf(`{"index": %d, "message": {"role": "assistant", "content": %q, "refusal": null}, "logprobs": null, "finish_reason": "stop"}`, i, content))
		}
		fmt.Fprintf(w, `{"id": "chatcmpl-1", "object": "chat.completion", "created": 1741569952, "model": %q, "choices": [%s],
			"usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29}}`, body["model"], strings.Join(cs, ", "))
		return
	}
	dims := 2
	if v, ok := body["dimensions"].(float64); ok {
		dims = int(v)
	}
	vec := []string{fmt.Sprint(len(input))}
	for len(vec) < dims {
		vec = append(vec, "0.5")
	}
	fmt.Fprintf(w, `{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [%s]}], "model": %q,
		"usage": {"prompt_tokens": 8, "total_tokens": 8}}`, strings.Join(vec, ", "), body["model"])
}

func (f *fakeOpenAI) attemptsOf(input string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[input]
}

// mlSession is a session with table src over rows (id INT, txt STRING)
// and sink snk, and cfg's options.
func mlSession(t *testing.T, mode table.Mode, cfg map[string]string, src *values.Data, snkCols string) (*table.Environment, *values.Data) {
	t.Helper()
	if cfg["table.dml-sync"] == "" {
		cfg["table.dml-sync"] = "true"
	}
	env, err := table.NewEnvironment(table.Settings{Mode: mode, Config: cfg})
	require.NoError(t, err)
	srcID := values.Register(src)
	t.Cleanup(func() { values.Unregister(srcID) })
	out := &values.Data{}
	snkID := values.Register(out)
	t.Cleanup(func() { values.Unregister(snkID) })
	mlExec(t, env,
		"CREATE TABLE src (id INT, txt STRING) WITH ('connector' = 'values', 'data-id' = '"+srcID+"')",
		"CREATE TABLE snk ("+snkCols+") WITH ('connector' = 'values', 'data-id' = '"+snkID+"')")
	return env, out
}

func mlExec(t *testing.T, env *table.Environment, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := env.ExecuteSQL(context.Background(), s)
		require.NoError(t, err, s)
	}
}

func textRows(words ...string) []values.Row {
	rows := make([]values.Row, len(words))
	for i, w := range words {
		rows[i] = values.Row{Values: []any{json.Number(fmt.Sprint(i + 1)), w}}
	}
	return rows
}

// chatModel declares model m on f's chat completions endpoint with the
// given extra options.
func chatModel(f *fakeOpenAI, extra string) string {
	return `CREATE MODEL m INPUT (prompt STRING) OUTPUT (answer STRING) WITH ('provider' = 'openai',
		'endpoint' = '` + f.srv.URL + `/v1/chat/completions', 'api-key' = 'sk-test', 'model' = 'gpt-4o-mini'` + extra + `)`
}

// TestMLPredictChat runs ML_PREDICT over a chat model in streaming mode at
// parallelism 1 and 3 and in batch mode: every row joins its answer, a
// NULL input has none (Flink skips it), and the requests carry the
// model's options as the OpenAI API names them.
func TestMLPredictChat(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode table.Mode
		par  string
	}{{"stream p=1", table.Streaming, "1"}, {"stream p=3", table.Streaming, "3"}, {"batch", table.Batch, "2"}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeOpenAI(t)
			rows := textRows("hello", "machine learning", "good morning", "x")
			rows[3].Values[1] = nil
			env, out := mlSession(t, tc.mode, map[string]string{"parallelism.default": tc.par},
				&values.Data{Before: rows}, "id INT, txt STRING, answer STRING")
			mlExec(t, env, chatModel(f, `, 'system-prompt' = 'Shout.', 'temperature' = '0.2', 'max-tokens' = '16', 'stop' = 'a,b'`),
				"INSERT INTO snk SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt))")
			require.Equal(t, []string{"+I[1, hello, HELLO]", "+I[2, machine learning, MACHINE LEARNING]", "+I[3, good morning, GOOD MORNING]"},
				sortedSinkRows(out))
			require.Len(t, f.bodies, 3)
			b := f.bodies[0]
			require.Equal(t, "gpt-4o-mini", b["model"])
			require.Equal(t, map[string]any{"role": "system", "content": "Shout."}, b["messages"].([]any)[0])
			require.Equal(t, 0.2, b["temperature"])
			require.Equal(t, 16.0, b["max_tokens"])
			require.Equal(t, []any{"a", "b"}, b["stop"])
			require.NotContains(t, b, "top_p")
		})
	}
	t.Run("deprecated keys", func(t *testing.T) {
		f := newFakeOpenAI(t)
		env, out := mlSession(t, table.Streaming, map[string]string{}, &values.Data{Before: textRows("hi")}, "id INT, txt STRING, answer STRING")
		mlExec(t, env, chatModel(f, `, 'systemPrompt' = 'Old.', 'topP' = '0.9', 'maxTokens' = '5'`),
			"INSERT INTO snk SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt))")
		require.Equal(t, []string{"+I[1, hi, HI]"}, sortedSinkRows(out))
		b := f.bodies[0]
		require.Equal(t, map[string]any{"role": "system", "content": "Old."}, b["messages"].([]any)[0])
		require.Equal(t, 0.9, b["top_p"])
		require.Equal(t, 5.0, b["max_tokens"])
	})
}

// TestMLPredictChoicesAndQuery: n = 2 choices give two rows per input;
// ML_PREDICT works under a query's projection and filter, over a view,
// and an output column named as an input column is renamed as Flink's
// makeOutputUnique does.
func TestMLPredictChoicesAndQuery(t *testing.T) {
	f := newFakeOpenAI(t)
	env, out := mlSession(t, table.Streaming, map[string]string{}, &values.Data{Before: textRows("a", "bb", "ccc")},
		"id INT, answer STRING")
	mlExec(t, env,
		`CREATE MODEL m INPUT (txt STRING) OUTPUT (txt STRING) WITH ('provider' = 'openai',
		'endpoint' = '`+f.srv.URL+`/v1/chat/completions/', 'api-key' = 'sk-test', 'model' = 'gpt-4o-mini', 'n' = '2')`,
		"CREATE VIEW v AS SELECT id, txt FROM src WHERE id > 1",
		"INSERT INTO snk SELECT id, txt0 FROM ML_PREDICT(TABLE v, MODEL m, DESCRIPTOR(txt)) WHERE txt0 LIKE '%#1'")
	require.Equal(t, []string{"+I[2, BB#1]", "+I[3, CCC#1]"}, sortedSinkRows(out))
	require.EqualValues(t, 2, f.bodies[0]["n"])
}

// TestMLPredictEmbedding: an endpoint ending in embeddings outputs
// ARRAY<FLOAT> vectors of the requested dimension, in streaming and
// batch mode.
func TestMLPredictEmbedding(t *testing.T) {
	for _, mode := range []table.Mode{table.Streaming, table.Batch} {
		f := newFakeOpenAI(t)
		env, out := mlSession(t, mode, map[string]string{}, &values.Data{Before: textRows("abc", "hello")},
			"id INT, v ARRAY<FLOAT>")
		mlExec(t, env,
			`CREATE MODEL emb INPUT (s STRING) OUTPUT (v ARRAY<FLOAT>) WITH ('provider' = 'openai',
			'endpoint' = '`+f.srv.URL+`/v1/embeddings', 'api-key' = 'sk-test', 'model' = 'text-embedding-3-small', 'dimension' = '3')`,
			"INSERT INTO snk SELECT id, v FROM ML_PREDICT(TABLE src, MODEL emb, DESCRIPTOR(txt))")
		require.Equal(t, []string{"+I[1, [3.0, 0.5, 0.5]]", "+I[2, [5.0, 0.5, 0.5]]"}, sortedSinkRows(out))
		require.Equal(t, "float", f.bodies[0]["encoding_format"])
		require.EqualValues(t, 3, f.bodies[0]["dimensions"])
	}
}

// TestMLPredictConcurrency: the requests of one subtask run concurrently
// up to 'max-concurrent-operations' (the call's config over the session's
// table.exec.async-ml-predict.max-concurrent-operations), one at a time
// with 'async' = 'false'; ordered output keeps the input order.
func TestMLPredictConcurrency(t *testing.T) {
	words := make([]string, 24)
	for i := range words {
		words[i] = fmt.Sprintf("w%02d", i)
	}
	for _, tc := range []struct {
		config  string
		session map[string]string
		max     int32
	}{
		{"", map[string]string{}, 10},
		{"", map[string]string{"table.exec.async-ml-predict.max-concurrent-operations": "3"}, 3},
		{", MAP['max-concurrent-operations', '5', 'output-mode', 'ALLOW_UNORDERED']", map[string]string{}, 5},
		{", MAP['async', 'false']", map[string]string{}, 1},
	} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			f := newFakeOpenAI(t)
			f.delay = 20 * time.Millisecond
			env, out := mlSession(t, table.Streaming, tc.session, &values.Data{Before: textRows(words...)}, "id INT, answer STRING")
			start := time.Now()
			mlExec(t, env, chatModel(f, ""),
				"INSERT INTO snk SELECT id, answer FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt)"+tc.config+")")
			t.Logf("max-concurrent %d: %d requests of 20 ms in %v", tc.max, len(words), time.Since(start))
			require.Equal(t, tc.max, f.maxInflight.Load())
			recs, _ := out.Sink()
			require.Len(t, recs, len(words))
			if tc.max != 5 {
				for i, r := range recs {
					require.Equal(t, fmt.Sprintf("+I[%d, W%02d]", i+1, i), r.String())
				}
			}
		})
	}
}

// TestMLPredictErrorHandling: retryable failures (5xx, 429) are retried
// with the server's retry-after-ms; a 400 is not retried; what is left
// after the retries is handled by 'error-handling-strategy' and
// 'retry-fallback-strategy', as Flink's: failover fails the job with the
// API's message, ignore drops the row.
func TestMLPredictErrorHandling(t *testing.T) {
	fail := func(input string, attempt int) int {
		switch {
		case input == "flaky" && attempt <= 2:
			return http.StatusServiceUnavailable
		case input == "limited" && attempt == 1:
			return http.StatusTooManyRequests
		case input == "broken":
			return http.StatusInternalServerError
		case input == "bad":
			return http.StatusBadRequest
		}
		return 0
	}
	for _, tc := range []struct {
		name, options string
		words         []string
		want          []string
		err           string
		attempts      map[string]int
	}{
		{name: "retry", words: []string{"ok", "flaky", "limited"},
			want:     []string{"+I[1, OK]", "+I[2, FLAKY]", "+I[3, LIMITED]"},
			attempts: map[string]int{"ok": 1, "flaky": 3, "limited": 2}},
		{name: "retry then failover", options: `, 'retry-num' = '2'`, words: []string{"ok", "broken"},
			err: "failed with status 500: the model failed on broken", attempts: map[string]int{"broken": 3}},
		{name: "retry then ignore", options: `, 'retry-num' = '1', 'retry-fallback-strategy' = 'ignore'`, words: []string{"ok", "broken", "bad"},
			want: []string{"+I[1, OK]"}, attempts: map[string]int{"broken": 2, "bad": 1}},
		{name: "failover", options: `, 'error-handling-strategy' = 'failover'`, words: []string{"ok", "flaky"},
			err: "failed with status 503: the model failed on flaky", attempts: map[string]int{"flaky": 1}},
		{name: "ignore", options: `, 'error-handling-strategy' = 'ignore'`, words: []string{"ok", "flaky", "bad", "fine"},
			want: []string{"+I[1, OK]", "+I[4, FINE]"}, attempts: map[string]int{"flaky": 1, "bad": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeOpenAI(t)
			f.fail = fail
			env, out := mlSession(t, table.Streaming, map[string]string{}, &values.Data{Before: textRows(tc.words...)}, "id INT, answer STRING")
			mlExec(t, env, chatModel(f, tc.options))
			_, err := env.ExecuteSQL(context.Background(), "INSERT INTO snk SELECT id, answer FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt))")
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.want, sortedSinkRows(out))
			}
			for in, n := range tc.attempts {
				require.Equal(t, n, f.attemptsOf(in), "attempts of %s", in)
			}
		})
	}
}

// TestMLPredictTimeout: a request that outlives the call's 'timeout'
// fails the job with Flink's AsyncWaitOperator message.
func TestMLPredictTimeout(t *testing.T) {
	f := newFakeOpenAI(t)
	f.gates["slow"] = make(chan struct{})
	defer close(f.gates["slow"])
	env, _ := mlSession(t, table.Streaming, map[string]string{}, &values.Data{Before: textRows("slow")}, "id INT, answer STRING")
	mlExec(t, env, chatModel(f, ""))
	_, err := env.ExecuteSQL(context.Background(), "INSERT INTO snk SELECT id, answer FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt), MAP['timeout', '100ms'])")
	require.ErrorContains(t, err, "Async function call has timed out.")
}

// TestMLPredictRestore stops a job with a savepoint while requests are
// in flight (the server holds them) and resumes it: the rows whose
// answers had not been emitted are requested again, and the sink holds
// every row's answer exactly once.
func TestMLPredictRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := newFakeOpenAI(t)
	gate := make(chan struct{})
	f.gates["held"] = gate
	before := textRows("a", "b", "c")
	before = append(before, values.Row{Values: []any{json.Number("4"), "held"}})
	after := []values.Row{{Values: []any{json.Number("5"), "e"}}, {Values: []any{json.Number("6"), "f"}}}
	src := &values.Data{Before: before, After: after, Pause: true}
	dir := t.TempDir()
	env1, out := mlSession(t, table.Streaming, map[string]string{"table.dml-sync": "false", "state.savepoints.dir": dir},
		src, "id INT, answer STRING")
	insert := "INSERT INTO snk SELECT id, answer FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt))"
	mlExec(t, env1, chatModel(f, ""))
	res, err := env1.ExecuteSQL(ctx, insert)
	require.NoError(t, err)
	waitPaused(ctx, t, src)
	require.Eventually(t, func() bool { return f.attemptsOf("held") == 1 }, 10*time.Second, 5*time.Millisecond)
	path := stopWithSavepoint(t, ctx, env1, res.Job.ID(), false)
	require.Equal(t, exec.JobFinished, res.Job.Status())
	first := sortedSinkRows(out)
	require.NotContains(t, strings.Join(first, " "), "HELD", "the held row was not answered before the savepoint")

	close(gate)
	delete(f.gates, "held")
	env2, err := table.NewEnvironment(table.Settings{Config: map[string]string{"table.dml-sync": "true"}})
	require.NoError(t, err)
	srcID, snkID := dataIDs(t, env1)
	mlExec(t, env2,
		"CREATE TABLE src (id INT, txt STRING) WITH ('connector' = 'values', 'data-id' = '"+srcID+"')",
		"CREATE TABLE snk (id INT, answer STRING) WITH ('connector' = 'values', 'data-id' = '"+snkID+"')",
		chatModel(f, ""),
		"SET 'execution.savepoint.path' = '"+path+"'",
		insert)
	require.Equal(t, []string{"+I[1, A]", "+I[2, B]", "+I[3, C]", "+I[4, HELD]", "+I[5, E]", "+I[6, F]"}, sortedSinkRows(out))
	require.Equal(t, 2, f.attemptsOf("held"), "the request in flight at the savepoint is sent again")
	require.Equal(t, 1, f.attemptsOf("e"))
}

// dataIDs reads the data-id options of src and snk from env's catalog.
func dataIDs(t *testing.T, env *table.Environment) (string, string) {
	t.Helper()
	id := func(name string) string {
		res, err := env.ExecuteSQL(context.Background(), "SHOW CREATE TABLE "+name)
		require.NoError(t, err)
		ddl := readAll(t, res)
		_, rest, ok := strings.Cut(ddl, "'data-id' = '")
		require.True(t, ok, ddl)
		v, _, _ := strings.Cut(rest, "'")
		return v
	}
	return id("src"), id("snk")
}

// resultRows reads every row of res, its columns joined by " | ".
func resultRows(t *testing.T, res *table.TableResult) []string {
	t.Helper()
	var out []string
	for {
		batch, err := res.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		for i := range int(batch.NumRows()) {
			var cols []string
			for c := range int(batch.NumCols()) {
				if batch.Column(c).IsNull(i) {
					cols = append(cols, "NULL")
				} else {
					cols = append(cols, batch.Column(c).ValueStr(i))
				}
			}
			out = append(out, strings.Join(cols, " | "))
		}
		batch.Release()
	}
}

func query(t *testing.T, env *table.Environment, q string) []string {
	t.Helper()
	res, err := env.ExecuteSQL(context.Background(), q)
	require.NoError(t, err, q)
	return resultRows(t, res)
}

// TestModelDDL: CREATE, SHOW, DESCRIBE, SHOW CREATE, ALTER and DROP MODEL,
// temporary models shadowing catalog ones, and models beside a table of
// the same name.
func TestModelDDL(t *testing.T) {
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	mlExec(t, env,
		"CREATE TABLE m (a INT) WITH ('connector' = 'datagen')",
		`CREATE MODEL m INPUT (prompt STRING COMMENT 'the question') OUTPUT (answer STRING) COMMENT 'a chat'
		WITH ('provider' = 'openai', 'endpoint' = 'http://localhost/v1/chat/completions', 'api-key' = 'k', 'model' = 'gpt')`,
		"CREATE MODEL IF NOT EXISTS m INPUT (x INT) OUTPUT (y INT) WITH ('provider' = 'openai')",
		"CREATE DATABASE other",
		"CREATE MODEL other.e INPUT (s STRING) OUTPUT (v ARRAY<FLOAT>) WITH ('provider' = 'openai')")
	require.Equal(t, []string{"m"}, query(t, env, "SHOW MODELS"))
	require.Equal(t, []string{"e"}, query(t, env, "SHOW MODELS FROM other LIKE 'e%'"))
	require.Equal(t, []string{"m"}, query(t, env, "SHOW TABLES"), "models are not tables")
	require.Equal(t, []string{
		"prompt | STRING | TRUE | TRUE | the question",
		"answer | STRING | TRUE | FALSE | NULL",
	}, query(t, env, "DESCRIBE MODEL m"))
	require.Equal(t, []string{"s | STRING | TRUE | TRUE", "v | ARRAY<FLOAT> | TRUE | FALSE"}, query(t, env, "DESC MODEL other.e"))
	require.Equal(t, []string{"CREATE MODEL `default_catalog`.`default_database`.`m`\n" +
		"INPUT (`prompt` STRING COMMENT 'the question')\n" +
		"OUTPUT (`answer` STRING)\n" +
		"COMMENT 'a chat'\n" +
		"WITH (\n  'api-key' = 'k',\n  'endpoint' = 'http://localhost/v1/chat/completions',\n  'model' = 'gpt',\n  'provider' = 'openai'\n)\n"},
		query(t, env, "SHOW CREATE MODEL m"))

	mlExec(t, env, "ALTER MODEL m SET ('model' = 'gpt-4o', 'temperature' = '0.5')", "ALTER MODEL m RESET ('api-key')")
	ddl := query(t, env, "SHOW CREATE MODEL m")[0]
	require.Contains(t, ddl, "'model' = 'gpt-4o'")
	require.Contains(t, ddl, "'temperature' = '0.5'")
	require.NotContains(t, ddl, "api-key")

	mlExec(t, env, "ALTER MODEL m RENAME TO m2", "ALTER MODEL IF EXISTS nope SET ('a' = 'b')")
	require.Equal(t, []string{"m2"}, query(t, env, "SHOW MODELS"))

	mlExec(t, env, "CREATE TEMPORARY MODEL m2 INPUT (q STRING) OUTPUT (r STRING) WITH ('provider' = 'openai')")
	require.Equal(t, []string{"q | STRING | TRUE | TRUE", "r | STRING | TRUE | FALSE"}, query(t, env, "DESCRIBE MODEL m2"))
	require.True(t, strings.HasPrefix(query(t, env, "SHOW CREATE MODEL m2")[0], "CREATE TEMPORARY MODEL"))
	_, err = env.ExecuteSQL(context.Background(), "ALTER MODEL m2 SET ('a' = 'b')")
	require.ErrorContains(t, err, "temporary model")
	mlExec(t, env, "DROP TEMPORARY MODEL m2")
	require.Equal(t, []string{"prompt | STRING | TRUE | TRUE | the question", "answer | STRING | TRUE | FALSE | NULL"},
		query(t, env, "DESCRIBE MODEL m2"), "the catalog model shows again")

	mlExec(t, env, "DROP MODEL m2", "DROP MODEL IF EXISTS m2", "DROP TEMPORARY MODEL IF EXISTS m2")
	require.Empty(t, query(t, env, "SHOW MODELS"))
	_, err = env.ExecuteSQL(context.Background(), "DROP MODEL m2")
	require.True(t, errs.Is(err, errs.UndefinedObject), "%v", err)
	require.ErrorContains(t, err, "line 1, column 12")
	require.ErrorContains(t, err, "Model '`default_catalog`.`default_database`.`m2`' does not exist in Catalog default_catalog.")
	_, err = env.ExecuteSQL(context.Background(), "CREATE MODEL other.e INPUT (s STRING) OUTPUT (v STRING) WITH ('provider' = 'openai')")
	require.True(t, errs.Is(err, errs.DuplicateObject), "%v", err)
	_, err = env.ExecuteSQL(context.Background(), "CREATE MODEL q INPUT (s STRING, s INT) OUTPUT (v STRING) WITH ('provider' = 'openai')")
	require.ErrorContains(t, err, "line 1, column 33: column 's' is declared twice")
}

// TestMLPredictErrors: what Flink refuses when it plans ML_PREDICT, with
// its messages, positioned at line and column.
func TestMLPredictErrors(t *testing.T) {
	f := newFakeOpenAI(t)
	env, _ := mlSession(t, table.Streaming, map[string]string{}, &values.Data{Before: textRows("a")}, "id INT, answer STRING")
	ep := f.srv.URL + "/v1/chat/completions"
	mlExec(t, env, chatModel(f, ""),
		"CREATE MODEL two INPUT (a STRING, b STRING) OUTPUT (r STRING) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"', 'api-key' = 'k', 'model' = 'x')",
		"CREATE MODEL bad_opt INPUT (a STRING) OUTPUT (r STRING) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"', 'api-key' = 'k', 'model' = 'x', 'topk' = '1')",
		"CREATE MODEL missing INPUT (a STRING) OUTPUT (r STRING) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"')",
		"CREATE MODEL unknown INPUT (a STRING) OUTPUT (r STRING) WITH ('provider' = 'nope')",
		"CREATE MODEL ep INPUT (a STRING) OUTPUT (r STRING) WITH ('provider' = 'openai', 'endpoint' = 'http://h/v1/images', 'api-key' = 'k', 'model' = 'x')",
		"CREATE MODEL out_type INPUT (a STRING) OUTPUT (r INT) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"', 'api-key' = 'k', 'model' = 'x')",
		"CREATE MODEL ctx INPUT (a STRING) OUTPUT (r STRING) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"', 'api-key' = 'k', 'model' = 'x', 'max-context-size' = '10')",
		"CREATE MODEL int_in INPUT (a INT) OUTPUT (r STRING) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"', 'api-key' = 'k', 'model' = 'x')",
		"CREATE TABLE nums (id INT, n INT, s STRING) WITH ('connector' = 'datagen')",
	)
	for _, tc := range []struct {
		q, err string
		code   errs.Code
	}{
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL nope, DESCRIPTOR(txt))",
			"line 1, column 43: Model '`default_catalog`.`default_database`.`nope`' does not exist in Catalog default_catalog.", errs.UndefinedObject},
		{"SELECT * FROM ML_PREDICT(TABLE src, m, DESCRIPTOR(txt))", "line 1, column 15: Second operand must be a model identifier.", errs.DatatypeMismatch},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL two, DESCRIPTOR(txt))",
			"line 1, column 15: Number of descriptor input columns (1) does not match model input size (2)", errs.DatatypeMismatch},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(nope))",
			"line 1, column 15: Column 'nope' of the DESCRIPTOR is not a column of the input table of ML_PREDICT", errs.UndefinedColumn},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(id))",
			"line 1, column 15: Descriptor column type INT cannot be assigned to model input type STRING at position 0", errs.DatatypeMismatch},
		{"SELECT * FROM\nML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt), 'x')", "line 2, column 1: Config param should be a MAP.", errs.DatatypeMismatch},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt), MAP['async', 'maybe'])",
			"Failed to parse the config. Could not parse value 'maybe' for key 'async'.", errs.InvalidOption},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt), MAP['max-concurrent-operations', '0'])",
			"Invalid runtime config option 'max-concurrent-operations'. Its value should be positive integer but was 0.", errs.InvalidOption},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL bad_opt, DESCRIPTOR(txt))",
			"line 1, column 43: Unsupported options found for 'openai'.\n\nUnsupported options:\n\ntopk", errs.InvalidOption},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL missing, DESCRIPTOR(txt))",
			"Missing required options are:\n\napi-key\nmodel", errs.InvalidOption},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL unknown, DESCRIPTOR(txt))",
			"Could not find any factory for identifier 'nope' that implements 'org.apache.flink.table.factories.ModelProviderFactory'", errs.InvalidOption},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL ep, DESCRIPTOR(txt))", "Unsupported endpoint: http://h/v1/images", errs.NotSupported},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL out_type, DESCRIPTOR(txt))",
			"output column r should be VARCHAR(2147483647), but is a INT.", errs.DatatypeMismatch},
		{"SELECT * FROM ML_PREDICT(TABLE nums, MODEL int_in, DESCRIPTOR(n))",
			"input column a should be VARCHAR(2147483647), but is a INT.", errs.DatatypeMismatch},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL ctx, DESCRIPTOR(txt))",
			"No proper tokenizer found for model x. Context size cannot be set.", errs.NotSupported},
		{"SELECT * FROM ML_PREDICT(TABLE (SELECT txt, COUNT(*) AS n FROM src GROUP BY txt), MODEL m, DESCRIPTOR(txt))",
			"StreamPhysicalMLPredictTableFunction doesn't support consuming update changes which is produced by node", errs.NotSupported},
		{"SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt), MAP['a', 'b'], 1)", "ML_PREDICT takes at most 4 arguments", errs.DatatypeMismatch},
	} {
		_, err := env.ExecuteSQL(context.Background(), tc.q)
		require.Error(t, err, tc.q)
		require.ErrorContains(t, err, tc.err, tc.q)
		require.True(t, errs.Is(err, tc.code), "%s: %v", tc.q, err)
	}
	_, err := env.ExecuteSQL(context.Background(), "SET 'table.exec.async-ml-predict.output-mode' = 'SOMETIMES'")
	require.ErrorContains(t, err, "Failed to parse the config. Could not parse value 'SOMETIMES' for key 'table.exec.async-ml-predict.output-mode'.")
	_, err = env.ExecuteSQL(context.Background(), "CREATE MODEL x INPUT (a STRING)\nOUTPUT (b STRING)")
	require.ErrorContains(t, err, "line 2, column 18")
	require.Equal(t, "42601", errs.State(err), "%v", err)
}

// TestMLPredictTableAPI runs a model through the Go Table API, Flink's
// createModel / fromModel(...).predict(table, columns, config).
func TestMLPredictTableAPI(t *testing.T) {
	ctx := context.Background()
	f := newFakeOpenAI(t)
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	require.NoError(t, env.CreateTemporaryModel("m", table.NewModelDescriptor("openai").
		InputSchema(table.Column("input", "STRING")).
		OutputSchema(table.Column("output", "STRING")).
		Option("endpoint", f.srv.URL+"/v1/chat/completions").
		Option("api-key", "sk-test").
		Option("model", "gpt-4o-mini")))
	src := env.FromValues([]any{"Hello"}, []any{"Machine Learning"}, []any{"Good morning"}).As("text")
	res, err := env.FromModel("m").Predict(src, []string{"text"}, map[string]string{"max-concurrent-operations": "2"}).Execute(ctx)
	require.NoError(t, err)
	defer res.Close()
	rows, err := res.All(ctx)
	require.NoError(t, err)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprint(r.Values...))
	}
	require.ElementsMatch(t, []string{"HelloHELLO", "Machine LearningMACHINE LEARNING", "Good morningGOOD MORNING"}, got)
	require.Equal(t, []string{"text", "output"}, res.Schema().Names())

	bad := env.FromModel("m").Predict(src, []string{"nope"}, nil)
	require.ErrorContains(t, bad.Err(), "Predict: Column 'nope' of the DESCRIPTOR is not a column of the input table of ML_PREDICT")
	require.True(t, errs.Is(bad.Err(), errs.UndefinedColumn))
}

// TestMLPredictOverAggregateInBatch: in batch mode an aggregate's result
// is final rows, which ML_PREDICT accepts (streaming refuses the updates,
// TestMLPredictErrors).
func TestMLPredictOverAggregateInBatch(t *testing.T) {
	f := newFakeOpenAI(t)
	env, out := mlSession(t, table.Batch, map[string]string{}, &values.Data{Before: textRows("a", "b", "a")}, "txt STRING, n BIGINT, answer STRING")
	mlExec(t, env, chatModel(f, ""),
		"INSERT INTO snk SELECT * FROM ML_PREDICT(TABLE (SELECT txt, COUNT(*) AS n FROM src GROUP BY txt), MODEL m, DESCRIPTOR(txt))")
	require.Equal(t, []string{"+I[a, 2, A]", "+I[b, 1, B]"}, sortedSinkRows(out))
}

// TestMLPredictKeepsEventTime: the input's rowtime stays a time attribute
// through ML_PREDICT and its watermarks follow the predictions, so a
// TUMBLE window over the predictions fires as over the input, at
// parallelism 1 and 2.
func TestMLPredictKeepsEventTime(t *testing.T) {
	before, after := windowRows()
	for _, par := range []string{"1", "2"} {
		f := newFakeOpenAI(t)
		f.delay = time.Millisecond
		env, err := table.NewEnvironment(table.Settings{Config: map[string]string{"table.dml-sync": "true", "parallelism.default": par}})
		require.NoError(t, err)
		srcID := values.Register(&values.Data{Before: append(append([]values.Row(nil), before...), after...)})
		defer values.Unregister(srcID)
		out := &values.Data{}
		snkID := values.Register(out)
		defer values.Unregister(snkID)
		mlExec(t, env,
			"CREATE TABLE src (k STRING, v BIGINT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = 'values', 'data-id' = '"+srcID+"')",
			"CREATE TABLE snk (answer STRING, w TIMESTAMP(3), n BIGINT, s BIGINT) WITH ('connector' = 'values', 'data-id' = '"+snkID+"')",
			chatModel(f, ""),
			`INSERT INTO snk SELECT answer, window_start, COUNT(*), SUM(v)
			FROM TABLE(TUMBLE(TABLE (SELECT * FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(k))), DESCRIPTOR(ts), INTERVAL '10' SECOND))
			GROUP BY answer, window_start, window_end`)
		require.Equal(t, []string{
			"+I[A, 2026-01-01T00:00, 1, 1]", "+I[A, 2026-01-01T00:00:10, 2, 7]", "+I[A, 2026-01-01T00:00:20, 1, 7]",
			"+I[A, 2026-01-01T00:00:30, 1, 8]", "+I[A, 2026-01-01T00:00:40, 1, 10]",
			"+I[B, 2026-01-01T00:00, 1, 2]", "+I[B, 2026-01-01T00:00:20, 2, 11]", "+I[B, 2026-01-01T00:00:40, 1, 9]",
		}, sortedSinkRows(out), "p=%s", par)
	}
}

// BenchmarkMLPredict measures the rows a second one subtask predicts
// through a local OpenAI-compatible server answering at once, with 32
// requests in flight.
func BenchmarkMLPredict(b *testing.B) {
	const rows = 2000
	words := make([]string, rows)
	for i := range words {
		words[i] = fmt.Sprintf("row %d", i)
	}
	f := newFakeOpenAI(b)
	b.ResetTimer()
	for range b.N {
		env, err := table.NewEnvironment(table.Settings{Config: map[string]string{"table.dml-sync": "true"}})
		require.NoError(b, err)
		srcID := values.Register(&values.Data{Before: textRows(words...)})
		out := &values.Data{}
		snkID := values.Register(out)
		for _, s := range []string{
			"CREATE TABLE src (id INT, txt STRING) WITH ('connector' = 'values', 'data-id' = '" + srcID + "')",
			"CREATE TABLE snk (id INT, answer STRING) WITH ('connector' = 'values', 'data-id' = '" + snkID + "')",
			chatModel(f, ""),
			"INSERT INTO snk SELECT id, answer FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt), MAP['max-concurrent-operations', '32', 'output-mode', 'ALLOW_UNORDERED'])",
		} {
			_, err := env.ExecuteSQL(context.Background(), s)
			require.NoError(b, err)
		}
		recs, _ := out.Sink()
		require.Len(b, recs, rows)
		values.Unregister(srcID)
		values.Unregister(snkID)
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestMLPredictErrorMetadata: an output declaring Flink's error METADATA
// columns gets, under the 'ignore' error handling, a row for a failed
// request with NULL output and the error's message, HTTP status and
// headers; an answered row has them NULL. Metadata columns are checked
// by name and type as Flink's provider checks them.
func TestMLPredictErrorMetadata(t *testing.T) {
	f := newFakeOpenAI(t)
	f.fail = func(input string, _ int) int {
		if input == "bad" {
			return http.StatusBadRequest
		}
		return 0
	}
	env, out := mlSession(t, table.Streaming, map[string]string{}, &values.Data{Before: textRows("ok", "bad")},
		"id INT, answer STRING, err STRING, status INT, retry ARRAY<STRING>")
	ep := f.srv.URL + "/v1/chat/completions"
	mlExec(t, env,
		"CREATE MODEL m INPUT (prompt STRING) OUTPUT (answer STRING, `error-string` STRING METADATA, `http-status-code` INT METADATA,"+
			" `http-headers-map` MAP<STRING, ARRAY<STRING>> METADATA) WITH ('provider' = 'openai', 'endpoint' = '"+ep+
			"', 'api-key' = 'sk-test', 'model' = 'gpt-4o-mini', 'error-handling-strategy' = 'ignore')",
		"INSERT INTO snk SELECT id, answer, `error-string`, `http-status-code`, `http-headers-map`['retry-after-ms']"+
			" FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt))")
	require.Equal(t, []string{
		"+I[1, OK, null, null, null]",
		"+I[2, null, OpenAI API request to " + ep + " failed with status 400: the model failed on bad, 400, [1]]",
	}, sortedSinkRows(out))
	ddl := query(t, env, "SHOW CREATE MODEL m")[0]
	require.Contains(t, ddl, "`http-status-code` INT METADATA")

	mlExec(t, env,
		"CREATE MODEL odd INPUT (prompt STRING) OUTPUT (answer STRING, `trace` STRING METADATA) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"', 'api-key' = 'k', 'model' = 'x')",
		"CREATE MODEL typed INPUT (prompt STRING) OUTPUT (answer STRING, `http-status-code` BIGINT METADATA) WITH ('provider' = 'openai', 'endpoint' = '"+ep+"', 'api-key' = 'k', 'model' = 'x')")
	_, err := env.ExecuteSQL(context.Background(), "SELECT * FROM ML_PREDICT(TABLE src, MODEL odd, DESCRIPTOR(txt))")
	require.ErrorContains(t, err, "Unexpected metadata column trace. Supported metadata columns:\nerror-string:\tA message associated with the error")
	_, err = env.ExecuteSQL(context.Background(), "SELECT * FROM ML_PREDICT(TABLE src, MODEL typed, DESCRIPTOR(txt))")
	require.ErrorContains(t, err, "Expected metadata column http-status-code to be of type INT, but is of type BIGINT")
}

// TestMLPredictCompiledPlan: a compiled plan keeps the model it was
// compiled with (its options in the job graph), so EXECUTE PLAN runs it
// after the model is dropped.
func TestMLPredictCompiledPlan(t *testing.T) {
	f := newFakeOpenAI(t)
	env, out := mlSession(t, table.Streaming, map[string]string{}, &values.Data{Before: textRows("x", "y")}, "id INT, answer STRING")
	plan := "file://" + t.TempDir() + "/plan.json"
	mlExec(t, env, chatModel(f, ""),
		"COMPILE PLAN '"+plan+"' FOR INSERT INTO snk SELECT id, answer FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt))",
		"DROP MODEL m",
		"EXECUTE PLAN '"+plan+"'")
	require.Equal(t, []string{"+I[1, X]", "+I[2, Y]"}, sortedSinkRows(out))
}
