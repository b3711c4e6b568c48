package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
)

// TestChangelogFormatsThroughAggregation drives each format's changelog
// (with a format metadata column) through a GROUP BY into a table of the
// same format, reads that one back by a second query into upsert-kafka,
// and compares the final rows with the aggregate of the final source rows.
func TestChangelogFormatsThroughAggregation(t *testing.T) {
	events := map[string][]string{
		"debezium-json": {
			`{"before": null, "after": {"id": 1, "region": "eu", "amount": 10}, "op": "c", "source": {"table": "orders"}}`,
			`{"before": null, "after": {"id": 2, "region": "eu", "amount": 20}, "op": "r", "source": {"table": "orders"}}`,
			`{"before": null, "after": {"id": 3, "region": "us", "amount": 5}, "op": "c", "source": {"table": "orders"}}`,
			`{"before": {"id": 1, "region": "eu", "amount": 10}, "after": {"id": 1, "region": "us", "amount": 11}, "op": "u", "source": {"table": "orders"}}`,
			`{"before": {"id": 2, "region": "eu", "amount": 20}, "after": null, "op": "d", "source": {"table": "orders"}}`,
			`{"before": null, "after": {"id": 4, "region": "ap", "amount": 7}, "op": "c", "source": {"table": "orders"}}`,
			`{"before": {"id": 4, "region": "ap", "amount": 7}, "after": null, "op": "d", "source": {"table": "orders"}}`,
		},
		"canal-json": {
			`{"data":[{"id":1,"region":"eu","amount":10},{"id":2,"region":"eu","amount":20},{"id":3,"region":"us","amount":5}],"database":"shop","table":"orders","type":"INSERT"}`,
			`{"data":[{"id":9,"region":"eu","amount":99}],"database":"shop","table":"orders_archive","type":"INSERT"}`,
			`{"data":[{"id":1,"region":"us","amount":11}],"old":[{"region":"eu","amount":10}],"database":"shop","table":"orders","type":"UPDATE"}`,
			`{"data":[{"id":2,"region":"eu","amount":20}],"database":"shop","table":"orders","type":"DELETE"}`,
			`{"data":[{"id":4,"region":"ap","amount":7}],"database":"shop","table":"orders","type":"INSERT"}`,
			`{"data":[{"id":4,"region":"ap","amount":7}],"database":"shop","table":"orders","type":"DELETE"}`,
		},
		"maxwell-json": {
			`{"database":"shop","table":"orders","type":"insert","data":{"id":1,"region":"eu","amount":10}}`,
			`{"database":"shop","table":"orders","type":"insert","data":{"id":2,"region":"eu","amount":20}}`,
			`{"database":"shop","table":"orders","type":"insert","data":{"id":3,"region":"us","amount":5}}`,
			`{"database":"shop","table":"orders","type":"update","data":{"id":1,"region":"us","amount":11},"old":{"region":"eu","amount":10}}`,
			`{"database":"shop","table":"orders","type":"delete","data":{"id":2,"region":"eu","amount":20}}`,
			`{"database":"shop","table":"orders","type":"insert","data":{"id":4,"region":"ap","amount":7}}`,
			`{"database":"shop","table":"orders","type":"delete","data":{"id":4,"region":"ap","amount":7}}`,
		},
		"ogg-json": {
			`{"table":"SHOP.ORDERS","op_type":"I","after":{"id":1,"region":"eu","amount":10}}`,
			`{"table":"SHOP.ORDERS","op_type":"I","after":{"id":2,"region":"eu","amount":20}}`,
			`{"table":"SHOP.ORDERS","op_type":"I","after":{"id":3,"region":"us","amount":5}}`,
			`{"table":"SHOP.ORDERS","op_type":"U","before":{"id":1,"region":"eu","amount":10},"after":{"id":1,"region":"us","amount":11}}`,
			`{"table":"SHOP.ORDERS","op_type":"D","before":{"id":2,"region":"eu","amount":20}}`,
			`{"table":"SHOP.ORDERS","op_type":"I","after":{"id":4,"region":"ap","amount":7}}`,
			`{"table":"SHOP.ORDERS","op_type":"D","before":{"id":4,"region":"ap","amount":7}}`,
		},
	}
	for f, evs := range events {
		t.Run(f, func(t *testing.T) {
			addr := fakeCluster(t, 1, "cdc", "by_region_cdc", "by_region")
			bounded := `'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'`
			filter, srcKey := "", "value.table"
			switch f {
			case "canal-json":
				filter = `, 'canal-json.table.include' = 'orders'`
			case "debezium-json":
				srcKey = "value.source.table"
			}
			produceAndRun(t, addr, evs,
				fmt.Sprintf(`CREATE TABLE orders (id BIGINT, region STRING, amount BIGINT, src STRING METADATA FROM '%s' VIRTUAL)
				  WITH ('connector' = 'kafka', 'topic' = 'cdc', 'properties.bootstrap.servers' = '%s', %s, 'format' = '%s'%s)`, srcKey, addr, bounded, f, filter),
				fmt.Sprintf(`CREATE TABLE by_region_cdc (region STRING, n BIGINT, total BIGINT, src STRING, PRIMARY KEY (region) NOT ENFORCED) WITH ('connector' = 'kafka',
				  'topic' = 'by_region_cdc', 'properties.bootstrap.servers' = '%s', %s, 'format' = '%s')`, addr, bounded, f),
				fmt.Sprintf(`CREATE TABLE by_region (region STRING, n BIGINT, total BIGINT, src STRING, PRIMARY KEY (region) NOT ENFORCED) WITH (
				  'connector' = 'upsert-kafka', 'topic' = 'by_region', 'properties.bootstrap.servers' = '%s',
				  'key.format' = 'json', 'value.format' = 'json')`, addr),
				`INSERT INTO by_region_cdc SELECT region, COUNT(*), SUM(amount), MAX(src) FROM orders GROUP BY region`,
				`INSERT INTO by_region SELECT * FROM by_region_cdc`,
			)
			src := map[string]string{"debezium-json": "orders", "canal-json": "orders", "maxwell-json": "orders", "ogg-json": "SHOP.ORDERS"}[f]
			// eu: only id 2 remained, then was deleted; ap: inserted and deleted.
			want := map[string]string{`{"region":"us"}`: fmt.Sprintf(`{"region":"us","n":2,"total":16,"src":"%s"}`, src)}
			require.Equal(t, want, finalValues(t, addr, "by_region", want))
		})
	}
}

// TestChangelogFormatErrors: bad format options and metadata columns are
// invalid parameter values (SQLSTATE 22023), reported at CREATE TABLE.
func TestChangelogFormatErrors(t *testing.T) {
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	ctx := context.Background()
	for _, tc := range []struct{ ddl, err string }{
		{`CREATE TABLE t (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'localhost:9092',
		  'format' = 'canal-json', 'canal-json.database.include' = '[')`, "invalid regular expression in 'canal-json.database.include'"},
		{`CREATE TABLE t (id BIGINT, pk ARRAY<STRING> METADATA FROM 'value.pk-names' VIRTUAL) WITH ('connector' = 'kafka', 'topic' = 't',
		  'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'maxwell-json')`, "metadata key 'value.pk-names' of column 'pk' is not available"},
		{`CREATE TABLE t (id BIGINT, ts STRING METADATA FROM 'value.event-timestamp' VIRTUAL) WITH ('connector' = 'kafka', 'topic' = 't',
		  'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'ogg-json')`, "metadata column 'ts': cannot have type STRING"},
	} {
		_, err := env.ExecuteSQL(ctx, tc.ddl)
		require.ErrorContains(t, err, tc.err)
		require.Equal(t, errs.InvalidOption.SQLState, errs.State(err), "%v", err)
	}
}

// produceAndRun produces events to the topic 'cdc' of the cluster at addr
// and runs stmts, each to its end, in one environment.
func produceAndRun(t *testing.T, addr string, events []string, stmts ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	for _, e := range events {
		recs = append(recs, &kgo.Record{Topic: "cdc", Value: []byte(e)})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{"table.dml-sync": "true"}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, stmt := range stmts {
		r, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
		r.Close()
	}
}
