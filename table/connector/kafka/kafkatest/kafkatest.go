// Package kafkatest holds what the kafka connector's internal and external
// tests share.
package kafkatest

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadValues reads every record of a topic visible at an isolation level
// (kgo.ReadCommitted or kgo.ReadUncommitted) and returns their values
// sorted. It stops once no record came for a while: an open transaction
// holds back what read_committed sees, so there is no end offset to wait
// for.
func ReadValues(t testing.TB, addr, topic string, level kgo.IsolationLevel) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(level),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	var out []string
	deadline := time.Now().Add(20 * time.Second)
	for idle := 0; idle < 4 && time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, string(r.Value))
			n++
		})
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	sort.Strings(out)
	return out
}
