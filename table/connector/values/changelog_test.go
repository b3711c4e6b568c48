package values

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

func changelogTestTable(opts map[string]string, key ...string) connector.TableInfo {
	return connector.TableInfo{
		Name: "t",
		Schema: types.Schema{Columns: []types.Column{
			{Name: "id", Type: types.IntType}, {Name: "v", Type: types.StringType},
		}},
		Options:    opts,
		PrimaryKey: key,
	}
}

// TestSourceChangelog checks the changelog modes the source declares: from
// 'changelog-mode', or from the data when no mode is given (Flink's source
// emits every row with its kind), and deletes by key only with an upsert
// mode.
func TestSourceChangelog(t *testing.T) {
	inserts := Register(&Data{Before: []Row{{Kind: connector.Insert, Values: []any{1, "a"}}}})
	defer Unregister(inserts)
	updates := Register(&Data{
		Before: []Row{{Kind: connector.Insert, Values: []any{1, "a"}}},
		After:  []Row{{Kind: connector.Delete, Values: []any{1, "a"}}},
	})
	defer Unregister(updates)

	for _, tc := range []struct {
		opts map[string]string
		want connector.ChangelogMode
		err  string
	}{
		{opts: map[string]string{"data-id": inserts}, want: connector.InsertOnlyChangelog},
		{opts: map[string]string{"data-id": updates}, want: connector.RetractChangelog},
		{opts: map[string]string{"data-id": updates, "changelog-mode": "I"}, want: connector.InsertOnlyChangelog},
		{opts: map[string]string{"data-id": inserts, "changelog-mode": "I,UA,D", "source.produces-delete-by-key": "true"},
			want: connector.UpsertChangelog},
		{opts: map[string]string{"data-id": inserts, "changelog-mode": "I,UB,UA,D", "source.produces-delete-by-key": "true"},
			err: "'source.produces-delete-by-key' = 'true' needs a 'changelog-mode' without UB"},
	} {
		props, err := Factory{}.ValidateSource(changelogTestTable(tc.opts, "id"))
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%v", tc.opts)
			continue
		}
		require.NoError(t, err, "%v", tc.opts)
		require.Equal(t, tc.want, props.Changelog, "%v", tc.opts)
	}
}

// TestSinkProperties checks what the sink declares to the planner: upsert
// or retract mode, and deletes by key only with a primary key.
func TestSinkProperties(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		key  []string
		want connector.SinkProperties
	}{
		{opts: map[string]string{}, key: []string{"id"},
			want: connector.SinkProperties{AcceptsUpdates: true}},
		{opts: map[string]string{}, want: connector.SinkProperties{AcceptsUpdates: true, RequiresUpdateBefore: true}},
		{opts: map[string]string{"sink-changelog-mode-enforced": "I"}, want: connector.SinkProperties{}},
		{opts: map[string]string{"sink.supports-delete-by-key": "true"}, key: []string{"id"},
			want: connector.SinkProperties{AcceptsUpdates: true, DeletesByKey: true}},
		{opts: map[string]string{"sink.supports-delete-by-key": "true"},
			want: connector.SinkProperties{AcceptsUpdates: true, RequiresUpdateBefore: true}},
	} {
		tc.opts["data-id"] = "none"
		props, err := Factory{}.ValidateSink(changelogTestTable(tc.opts, tc.key...))
		require.NoError(t, err, "%v", tc.opts)
		got := connector.SinkProperties{AcceptsUpdates: props.AcceptsUpdates,
			RequiresUpdateBefore: props.RequiresUpdateBefore, DeletesByKey: props.DeletesByKey}
		require.Equal(t, tc.want, got, "%v", tc.opts)
	}
}
