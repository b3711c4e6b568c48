package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestModelOverPgwire: models created over the wire protocol persist in
// the data directory with the tables (temporary ones do not), and
// ML_PREDICT answers a query through a local server speaking the OpenAI
// chat completions API; a model error carries its SQLSTATE.
func TestModelOverPgwire(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Messages []struct{ Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Messages) != 2 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, `{"id": "chatcmpl-1", "object": "chat.completion", "choices": [{"index": 0,
			"message": {"role": "assistant", "content": %q}, "finish_reason": "stop"}]}`, strings.ToUpper(body.Messages[1].Content))
	}))
	defer api.Close()
	dir := t.TempDir()
	srv, addr, _ := testServer(t, Config{DataDir: dir})
	ctx := context.Background()
	conn := connect(t, addr)
	model := "CREATE MODEL %s INPUT (q STRING) OUTPUT (a STRING) WITH ('provider' = 'openai', 'endpoint' = '" +
		api.URL + "/v1/chat/completions', 'api-key' = 'k', 'model' = 'gpt-4o-mini')"
	for _, stmt := range []string{
		fmt.Sprintf(model, "m"),
		fmt.Sprintf(model, "gone"),
		"DROP MODEL gone",
		fmt.Sprintf(model, "renamed"),
		"ALTER MODEL renamed RENAME TO kept",
		"ALTER MODEL kept SET ('system-prompt' = 'Be brief.')",
		"CREATE TEMPORARY MODEL tmp INPUT (q STRING) OUTPUT (a STRING) WITH ('provider' = 'openai')",
		"CREATE VIEW src AS SELECT * FROM (VALUES (1, 'hello'), (2, 'world')) AS t(id, txt)",
	} {
		tag, err := conn.Exec(ctx, stmt)
		require.NoError(t, err, stmt)
		if strings.HasPrefix(stmt, "CREATE MODEL") {
			require.Equal(t, "CREATE MODEL", tag.String())
		}
	}
	rows, err := conn.Query(ctx, "SELECT id, a FROM ML_PREDICT(TABLE src, MODEL m, DESCRIPTOR(txt))")
	require.NoError(t, err)
	answers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var id int32
		var a string
		err := r.Scan(&id, &a)
		return fmt.Sprint(id, " ", a), err
	})
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"1 HELLO", "2 WORLD"}, answers)
	_, err = conn.Exec(ctx, "SELECT * FROM ML_PREDICT(TABLE src, MODEL tmp, DESCRIPTOR(txt))")
	require.ErrorContains(t, err, "Missing required options are")
	var pe *pgconn.PgError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "22023", pe.Code)
	conn.Close(ctx)
	require.NoError(t, srv.Close(ctx))

	_, addr2, _ := testServer(t, Config{DataDir: dir})
	conn2 := connect(t, addr2)
	rows, err = conn2.Query(ctx, "SHOW MODELS")
	require.NoError(t, err)
	models, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"kept", "m"}, models)
	var ddl string
	require.NoError(t, conn2.QueryRow(ctx, "SHOW CREATE MODEL kept").Scan(&ddl))
	require.Contains(t, ddl, "'system-prompt' = 'Be brief.'")
}
