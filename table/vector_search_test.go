package table_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// TestVectorSearch runs VECTOR_SEARCH end to end in streaming mode at
// parallelism 1 and 4 (where the table's rows are broadcast to every
// instance) and in batch mode: each query
// row joins its 2 nearest documents by cosine similarity, best first, a
// tie going to the document read first; a NULL query vector finds
// nothing.
func TestVectorSearch(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	vec := func(xs ...string) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = n(x)
		}
		return out
	}
	docs := []values.Row{
		{Values: []any{"a", vec("1", "0")}}, {Values: []any{"b", vec("0", "1")}},
		{Values: []any{"c", vec("1", "1")}}, {Values: []any{"d", vec("-1", "0")}},
	}
	queries := []values.Row{
		{Values: []any{n("1"), vec("1", "0")}}, {Values: []any{n("2"), vec("0", "2")}},
		{Values: []any{n("3"), vec("-1", "-1")}}, {Values: []any{n("4"), nil}},
	}
	for _, tc := range []struct {
		name string
		mode table.Mode
		par  string
	}{{"stream parallelism=1", table.Streaming, "1"}, {"stream parallelism=4", table.Streaming, "4"}, {"batch", table.Batch, "2"}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			env, err := table.NewEnvironment(table.Settings{Mode: tc.mode,
				Config: map[string]string{"table.dml-sync": "true", "parallelism.default": tc.par}})
			require.NoError(t, err)
			src := values.Register(&values.Data{Before: queries})
			defer values.Unregister(src)
			doc := values.Register(&values.Data{Before: docs})
			defer values.Unregister(doc)
			out := &values.Data{}
			snk := values.Register(out)
			defer values.Unregister(snk)
			for _, s := range []string{
				"CREATE TABLE q (id INT, v ARRAY<FLOAT>) WITH ('connector' = 'values', 'data-id' = '" + src + "')",
				"CREATE TABLE docs (name STRING, v ARRAY<FLOAT>) WITH ('connector' = 'values', 'data-id' = '" + doc + "', 'enable-vector-search' = 'true')",
				"CREATE TABLE snk (id INT, name STRING, score DOUBLE) WITH ('connector' = 'values', 'data-id' = '" + snk + "')",
				"INSERT INTO snk SELECT q.id, s.name, ROUND(s.score, 4) FROM q, LATERAL TABLE(VECTOR_SEARCH(TABLE docs, DESCRIPTOR(v), q.v, 2)) AS s",
			} {
				_, err := env.ExecuteSQL(ctx, s)
				require.NoError(t, err)
			}
			recs, _ := out.Sink()
			var got []string
			for _, r := range recs {
				got = append(got, r.String())
			}
			require.Equal(t, []string{
				"+I[1, a, 1.0]", "+I[1, c, 0.7071]",
				"+I[2, b, 1.0]", "+I[2, c, 0.7071]",
				"+I[3, d, 0.7071]", "+I[3, a, -0.7071]",
			}, got)
		})
	}
}
