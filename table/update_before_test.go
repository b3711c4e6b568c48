package table_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// TestUpsertSinkWithoutUpdateBefore runs queries whose producers of
// updates leave their -U out before an upsert sink keyed by the query's
// upsert key (UPDATE_BEFORE elimination) and checks that the sink, which
// applies the changelog by key, ends with the same rows as the query's
// final result, with and without mini-batch and at parallelism 1 and 2.
func TestUpsertSinkWithoutUpdateBefore(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	var rows []values.Row
	for i, k := range []string{"a", "b", "a", "c", "b", "a", "c", "a", "d", "b"} {
		rows = append(rows, values.Row{Values: []any{k, n(string(rune('1' + i%9)))}})
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"aggregate", "SELECT k, SUM(v) FROM src GROUP BY k",
			[]string{"a[a, 18]", "b[b, 8]", "c[c, 11]", "d[d, 9]"}},
		{"top1", "SELECT k, v FROM (SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM src) WHERE rn = 1",
			[]string{"a[a, 8]", "b[b, 5]", "c[c, 7]", "d[d, 9]"}},
		// The join keeps each aggregate keyed by the join key, so both
		// send +U alone.
		{"join", "SELECT x.k, x.s + y.m FROM (SELECT k, SUM(v) AS s FROM src GROUP BY k) x JOIN (SELECT k, MAX(v) AS m FROM src GROUP BY k) y ON x.k = y.k",
			[]string{"a[a, 26]", "b[b, 13]", "c[c, 18]", "d[d, 18]"}},
		{"left-join", "SELECT x.k, y.m FROM (SELECT k, SUM(v) AS s FROM src GROUP BY k) x LEFT JOIN (SELECT k, MAX(v) AS m FROM src WHERE v > 5 GROUP BY k) y ON x.k = y.k",
			[]string{"a[a, 8]", "b[b, null]", "c[c, 7]", "d[d, 9]"}},
	} {
		for _, cfg := range []map[string]string{
			{"parallelism.default": "1"},
			{"parallelism.default": "2"},
			{"parallelism.default": "2", "table.exec.mini-batch.enabled": "true",
				"table.exec.mini-batch.size": "3", "table.exec.mini-batch.allow-latency": "1 s"},
		} {
			t.Run(tc.name+"/"+cfg["parallelism.default"]+"/"+cfg["table.exec.mini-batch.enabled"], func(t *testing.T) {
				ctx := context.Background()
				cfg["table.dml-sync"] = "true"
				env, err := table.NewEnvironment(table.Settings{Config: cfg})
				require.NoError(t, err)
				src := values.Register(&values.Data{Before: rows})
				defer values.Unregister(src)
				out := &values.Data{}
				snk := values.Register(out)
				defer values.Unregister(snk)
				for _, s := range []string{
					"CREATE TABLE src (k STRING, v BIGINT) WITH ('connector' = 'values', 'data-id' = '" + src + "')",
					"CREATE TABLE snk (k STRING PRIMARY KEY NOT ENFORCED, v BIGINT) WITH ('connector' = 'values', 'data-id' = '" + snk + "')",
					"INSERT INTO snk " + tc.query,
				} {
					_, err := env.ExecuteSQL(ctx, s)
					require.NoError(t, err, s)
				}
				recs, _ := out.Sink()
				final := map[string]string{}
				for _, r := range recs {
					if r.Kind.IsRetraction() {
						delete(final, r.Fields[0])
					} else {
						final[r.Fields[0]] = "[" + strings.Join(r.Fields, ", ") + "]"
					}
				}
				var got []string
				for k, v := range final {
					got = append(got, k+v)
				}
				sort.Strings(got)
				require.Equal(t, tc.want, got)
			})
		}
	}
}
