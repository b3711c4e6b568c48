package kafka_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
)

// TestDebeziumAvroThroughAggregation reads Debezium Avro change events (a
// snapshot read, creates, an update, deletes and a tombstone) through a
// GROUP BY into a debezium-avro-confluent table, reads that one back by a
// second query into upsert-kafka, and compares the final rows with the
// aggregate of the final source rows.
func TestDebeziumAvroThroughAggregation(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	addr := fakeCluster(t, 1, "cdc", "by_region_dbz", "by_region")
	envelope := `{"type":"record","name":"Envelope","namespace":"shop.public.orders","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
	    {"name":"id","type":"long"},{"name":"region","type":["null","string"],"default":null},{"name":"amount","type":"long"}]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","fields":[{"name":"table","type":"string"}]}},
	  {"name":"op","type":"string"},{"name":"ts_ms","type":["null","long"],"default":null}]}`
	id, _, err := reg.RegisterSchema("cdc-value", sr.Schema{Schema: envelope, Type: sr.TypeAvro})
	require.NoError(t, err)
	sch := avro.MustParse(envelope)
	order := func(id int64, region string, amount int64) map[string]any {
		return map[string]any{"id": id, "region": region, "amount": amount}
	}
	event := func(op string, before, after map[string]any) *kgo.Record {
		v := map[string]any{"before": nil, "after": nil, "op": op, "source": map[string]any{"table": "orders"}, "ts_ms": nil}
		if before != nil {
			v["before"] = before
		}
		if after != nil {
			v["after"] = after
		}
		b := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(id))
		b, err := sch.AppendEncode(b, v)
		require.NoError(t, err)
		return &kgo.Record{Topic: "cdc", Value: b}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(context.Background(),
		event("c", nil, order(1, "eu", 10)),
		event("r", nil, order(2, "eu", 20)),
		event("c", nil, order(3, "us", 5)),
		event("u", order(1, "eu", 10), order(1, "us", 11)),
		event("d", order(2, "eu", 20), nil),
		&kgo.Record{Topic: "cdc"}, // the tombstone Debezium writes after a delete
		event("c", nil, order(4, "ap", 7)),
		event("d", order(4, "ap", 7), nil),
	).FirstErr())

	bounded := `'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'`
	dbz := fmt.Sprintf(`'format' = 'debezium-avro-confluent', 'debezium-avro-confluent.url' = '%s'`, reg.URL())
	produceAndRun(t, addr, nil,
		fmt.Sprintf(`CREATE TABLE orders (id BIGINT, region STRING, amount BIGINT)
		  WITH ('connector' = 'kafka', 'topic' = 'cdc', 'properties.bootstrap.servers' = '%s', %s, %s)`, addr, bounded, dbz),
		fmt.Sprintf(`CREATE TABLE by_region_dbz (region STRING, n BIGINT, total BIGINT, PRIMARY KEY (region) NOT ENFORCED) WITH ('connector' = 'kafka',
		  'topic' = 'by_region_dbz', 'properties.bootstrap.servers' = '%s', %s, %s)`, addr, bounded, dbz),
		fmt.Sprintf(`CREATE TABLE by_region (region STRING, n BIGINT, total BIGINT, PRIMARY KEY (region) NOT ENFORCED) WITH (
		  'connector' = 'upsert-kafka', 'topic' = 'by_region', 'properties.bootstrap.servers' = '%s',
		  'key.format' = 'json', 'value.format' = 'json')`, addr),
		`INSERT INTO by_region_dbz SELECT region, COUNT(*), SUM(amount) FROM orders GROUP BY region`,
		`INSERT INTO by_region SELECT * FROM by_region_dbz`,
	)
	// eu: only id 2 remained, then was deleted; ap: inserted and deleted.
	want := map[string]string{`{"region":"us"}`: `{"region":"us","n":2,"total":16}`}
	require.Equal(t, want, finalValues(t, addr, "by_region", want))

	src, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	subjects, err := src.Subjects(context.Background())
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"cdc-value", "by_region_dbz-value"}, subjects)
}

// TestDebeziumAvroMissingURL: the registry URL is required, an invalid
// parameter value (SQLSTATE 22023) reported at CREATE TABLE.
func TestDebeziumAvroMissingURL(t *testing.T) {
	env, err := table.NewEnvironment(table.Settings{})
	require.NoError(t, err)
	_, err = env.ExecuteSQL(context.Background(), `CREATE TABLE t (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 't',
	  'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'debezium-avro-confluent')`)
	require.ErrorContains(t, err, "option 'debezium-avro-confluent.url' is required")
	require.Equal(t, errs.InvalidOption.SQLState, errs.State(err), "%v", err)
}
