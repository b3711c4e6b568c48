package optimizer_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/optimizer"
)

// TestAggPhaseStrategy reads table.optimizer.agg-phase-strategy: AUTO by
// default, Flink's three values in any case, anything else rejected.
func TestAggPhaseStrategy(t *testing.T) {
	for v, want := range map[string]string{"": "AUTO", "auto": "AUTO", "ONE_PHASE": "ONE_PHASE", " two_phase ": "TWO_PHASE"} {
		got, err := optimizer.AggPhaseStrategy(map[string]string{optimizer.AggPhaseStrategyKey: v})
		require.NoError(t, err, v)
		require.Equal(t, want, got, v)
	}
	_, err := optimizer.AggPhaseStrategy(map[string]string{optimizer.AggPhaseStrategyKey: "THREE_PHASE"})
	require.ErrorContains(t, err, "must be AUTO, ONE_PHASE or TWO_PHASE")
}
