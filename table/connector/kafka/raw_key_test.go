package kafka_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRawNumericKeys reads BIGINT keys written as Kafka's LongSerializer
// writes them (8 bytes, big-endian) through 'key.format' = 'raw', and
// writes INT keys little-endian with 'key.raw.endianness'.
func TestRawNumericKeys(t *testing.T) {
	addr := fakeCluster(t, 1, "events", "out")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	for i := range 10 {
		key := binary.BigEndian.AppendUint64(nil, uint64(1_000_000_000_000+i%3))
		recs = append(recs, &kgo.Record{Topic: "events", Key: key, Value: fmt.Appendf(nil, `{"v": %d}`, i)})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())

	runStatements(t, nil,
		fmt.Sprintf(`CREATE TABLE events (k BIGINT, v INT) WITH ('connector' = 'kafka', 'topic' = 'events',
		  'properties.bootstrap.servers' = '%s', 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
		  'key.format' = 'raw', 'key.fields' = 'k', 'value.format' = 'json', 'value.fields-include' = 'EXCEPT_KEY')`, addr),
		fmt.Sprintf(`CREATE TABLE out (k INT, v INT) WITH ('connector' = 'kafka', 'topic' = 'out',
		  'properties.bootstrap.servers' = '%s', 'key.format' = 'raw', 'key.raw.endianness' = 'little-endian',
		  'key.fields' = 'k', 'value.format' = 'json')`, addr),
		`INSERT INTO out SELECT CAST(k - 1000000000000 AS INT), v FROM events WHERE v >= 7`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cons := newConsumer(t, addr, "out")
	got := map[string]string{}
	for len(got) < 3 {
		fs := cons.PollFetches(ctx)
		require.NoError(t, ctx.Err())
		fs.EachRecord(func(r *kgo.Record) { got[fmt.Sprintf("%x", r.Key)] = string(r.Value) })
	}
	require.Equal(t, map[string]string{
		"01000000": `{"k":1,"v":7}`, "02000000": `{"k":2,"v":8}`, "00000000": `{"k":0,"v":9}`,
	}, got)
}
