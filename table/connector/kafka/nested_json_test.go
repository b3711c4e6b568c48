package kafka_test

import (
	"context"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestNestedJSONEndToEnd reads JSON messages with nested objects and
// arrays into ROW, ARRAY and MAP columns, queries into them, and writes
// nested values back as JSON objects and arrays, as Flink's json format
// does.
func TestNestedJSONEndToEnd(t *testing.T) {
	addr := fakeCluster(t, 2, "orders", "out")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	for i := range 20 {
		v := fmt.Sprintf(`{"id": %d, "customer": {"name": "c%d", "address": {"city": "city%d"}},
			"items": [{"sku": "a", "qty": %d}, {"sku": "b", "qty": 1}], "attrs": {"prio": "p%d"}}`, i, i%3, i%2, i, i%2)
		recs = append(recs, &kgo.Record{Topic: "orders", Value: []byte(v)})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())

	runStatements(t, map[string]string{"parallelism.default": "2"},
		fmt.Sprintf(`CREATE TABLE orders (
		  id BIGINT, customer ROW<name STRING, address ROW<city STRING>>,
		  items ARRAY<ROW<sku STRING, qty INT>>, attrs MAP<STRING, STRING>
		) WITH ('connector' = 'kafka', 'topic' = 'orders', 'properties.bootstrap.servers' = '%s',
		  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json')`, addr),
		fmt.Sprintf(`CREATE TABLE out (id BIGINT, who ROW<name STRING, city STRING>, qty ARRAY<INT>) WITH (
		  'connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = '%s', 'format' = 'json')`, addr),
		`INSERT INTO out SELECT id, ROW(customer.name, customer.address.city), ARRAY[items[1].qty, items[2].qty]
		   FROM orders WHERE attrs['prio'] = 'p1'`)
	var want []string
	for i := 1; i < 20; i += 2 {
		want = append(want, fmt.Sprintf(`{"id":%d,"who":{"name":"c%d","city":"city1"},"qty":[%d,1]}`, i, i%3, i))
	}
	got := consumeTopic(t, cl, "out", len(want))
	sort.Strings(got)
	sort.Strings(want)
	require.Equal(t, want, got)
}
