package table_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// TestSinkConstraints runs INSERTs through the sink's constraint enforcer:
// a NULL into a NOT NULL column fails the job, or drops the row under
// table.exec.sink.not-null-enforcer = DROP; a value too long for its
// VARCHAR is written under IGNORE (the default), fails the job under ERROR
// and is trimmed under TRIM_PAD. The source declares the sink's type, so
// no cast (which would trim) comes between; its connector does not check
// lengths.
func TestSinkConstraints(t *testing.T) {
	n := func(s string) json.Number { return json.Number(s) }
	rows := []values.Row{{Values: []any{n("1"), "abc"}}, {Values: []any{nil, "x"}}, {Values: []any{n("3"), "abcdef"}}}
	for _, tc := range []struct {
		name   string
		config map[string]string
		err    string
		want   []string
	}{
		{name: "default", err: "Column 'id' is NOT NULL, however, a null value is being written into it."},
		{name: "drop", config: map[string]string{"table.exec.sink.not-null-enforcer": "drop"}, want: []string{"+I[1, abc]", "+I[3, abcdef]"}},
		{name: "length error", config: map[string]string{"table.exec.sink.not-null-enforcer": "DROP", "table.exec.sink.type-length-enforcer": "ERROR"},
			err: "Column 's' is VARCHAR(4), however, a string of length 6 is being written into it."},
		{name: "trim", config: map[string]string{"table.exec.sink.not-null-enforcer": "DROP", "table.exec.sink.type-length-enforcer": "TRIM_PAD"},
			want: []string{"+I[1, abc]", "+I[3, abcd]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := map[string]string{"table.dml-sync": "true"}
			for k, v := range tc.config {
				cfg[k] = v
			}
			env, err := table.NewEnvironment(table.Settings{Config: cfg})
			require.NoError(t, err)
			src := values.Register(&values.Data{Before: rows})
			defer values.Unregister(src)
			out := &values.Data{}
			snk := values.Register(out)
			defer values.Unregister(snk)
			for _, s := range []string{
				"CREATE TABLE src (id INT, s VARCHAR(4)) WITH ('connector' = 'values', 'data-id' = '" + src + "')",
				"CREATE TABLE snk (id INT NOT NULL, s VARCHAR(4)) WITH ('connector' = 'values', 'data-id' = '" + snk + "')",
			} {
				_, err := env.ExecuteSQL(ctx, s)
				require.NoError(t, err)
			}
			_, err = env.ExecuteSQL(ctx, "INSERT INTO snk SELECT id, s FROM src")
			if tc.err != "" {
				// The job's error carries the task's message (task errors
				// cross to the JobManager as text).
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			recs, _ := out.Sink()
			var got []string
			for _, r := range recs {
				got = append(got, r.String())
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}

	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	require.ErrorContains(t, env.Set("table.exec.sink.type-length-enforcer", "PAD"),
		"table.exec.sink.type-length-enforcer must be one of IGNORE, ERROR, TRIM_PAD, not 'PAD'")
}
