package optimizer_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/optimizer"
)

// TestDistinctAggSplitBuckets reads Flink's distinct-aggregate split
// options: off by default, 1024 buckets when enabled, off again under
// mini-batch, and invalid values rejected.
func TestDistinctAggSplitBuckets(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		want int
		err  string
	}{
		{opts: nil, want: 0},
		{opts: map[string]string{optimizer.DistinctAggSplitKey: "false"}, want: 0},
		{opts: map[string]string{optimizer.DistinctAggSplitKey: "TRUE"}, want: 1024},
		{opts: map[string]string{optimizer.DistinctAggSplitKey: "true", optimizer.DistinctAggSplitBucketKey: "16"}, want: 16},
		{opts: map[string]string{optimizer.DistinctAggSplitKey: "true",
			"table.exec.mini-batch.enabled": "true", "table.exec.mini-batch.allow-latency": "1 s", "table.exec.mini-batch.size": "5"}, want: 0},
		{opts: map[string]string{optimizer.DistinctAggSplitKey: "yes"}, err: "must be 'true' or 'false'"},
		{opts: map[string]string{optimizer.DistinctAggSplitKey: "true", optimizer.DistinctAggSplitBucketKey: "0"}, err: "must be a positive integer"},
	} {
		got, err := optimizer.DistinctAggSplitBuckets(tc.opts)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, "%v", tc.opts)
			continue
		}
		require.NoError(t, err, "%v", tc.opts)
		require.Equal(t, tc.want, got, "%v", tc.opts)
	}
}
