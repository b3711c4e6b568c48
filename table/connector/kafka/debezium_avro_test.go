package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/eddysql/eddy/exec/connector"
	avrofmt "github.com/eddysql/eddy/table/connector/format/avro"
)

// debeziumEnvelope is the writer schema of a Debezium connector's change
// events on a table like accounts (the Avro converter's shape: one named
// row record used by before and after, a source block, ts_ms), with extra
// row fields added.
func debeziumEnvelope(extra string) string {
	return `{"type":"record","name":"Envelope","namespace":"dbserver1.bank.accounts","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
	    {"name":"id","type":"long"},{"name":"name","type":["null","string"],"default":null},
	    {"name":"balance","type":["null","long"],"default":null}` + extra + `]}],"default":null},
	  {"name":"after","type":["null","Value"],"default":null},
	  {"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.mysql","fields":[
	    {"name":"db","type":"string"},{"name":"table","type":["null","string"],"default":null}]}},
	  {"name":"op","type":"string"},
	  {"name":"ts_ms","type":["null","long"],"default":null}]}`
}

// debeziumEvent frames one event written with the schema registered as id.
func debeziumEvent(t *testing.T, id int, schema, op string, before, after map[string]any) string {
	t.Helper()
	b := []byte{0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(id))
	var bv, av any
	if before != nil {
		bv = before
	}
	if after != nil {
		av = after
	}
	b, err := avro.MustParse(schema).AppendEncode(b, map[string]any{"before": bv, "after": av, "op": op,
		"source": map[string]any{"db": "bank", "table": "accounts"}, "ts_ms": int64(1700000000000)})
	require.NoError(t, err)
	return string(b)
}

func account(id int64, name string, balance int64) map[string]any {
	return map[string]any{"id": id, "name": name, "balance": balance}
}

// TestDebeziumAvroRead reads Debezium Avro events written with two
// versions of the envelope (each writer schema fetched by its id) as a
// retract changelog: r and c are +I, u a -U and a +U, d a -D, a tombstone
// nothing. It reads at several batch sizes, with a projection, and with a
// snapshot and restore after every batch; then the malformed events.
func TestDebeziumAvroRead(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	_, addr := cluster(t, 1, "dbz", "bad")
	v1, v2 := debeziumEnvelope(""), debeziumEnvelope(`,{"name":"note","type":["null","string"],"default":null}`)
	id1, _, err := reg.RegisterSchema("dbz-value", sr.Schema{Schema: v1, Type: sr.TypeAvro})
	require.NoError(t, err)
	id2, _, err := reg.RegisterSchema("dbz-value", sr.Schema{Schema: v2, Type: sr.TypeAvro})
	require.NoError(t, err)
	produce(t, addr, "dbz",
		rec{val: debeziumEvent(t, id1, v1, "r", nil, account(1, "a", 10))},
		rec{val: debeziumEvent(t, id1, v1, "c", nil, account(2, "b", 20))},
		rec{nilVal: true},
		rec{val: debeziumEvent(t, id2, v2, "u", account(1, "a", 10), map[string]any{"id": int64(1), "name": "a", "balance": int64(15), "note": "x"})},
		rec{val: debeziumEvent(t, id2, v2, "d", account(2, "b", 20), nil)},
	)
	tbl := table(addr, accounts, "topic", "dbz", "format", "debezium-avro-confluent", "debezium-avro-confluent.url", reg.URL(),
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	p, err := Factory{}.ValidateSource(tbl)
	require.NoError(t, err)
	require.Equal(t, connector.RetractChangelog, p.Changelog)
	for _, size := range []int{0, 2, 3} {
		require.Equal(t, changelogRows, readAll(t, tbl, 0, 1, size), "batch size %d", size)
	}
	require.Equal(t, []string{"10,a,0", "20,b,0", "10,a,1", "15,a,2", "20,b,3"},
		readSpec(t, connector.ScanSpec{Table: tbl, Projection: []int{2, 1}}, 0, 1, 0))
	got, _ := readWithRestores(t, tbl, 1)
	require.Equal(t, changelogRows, got)

	id, _, err := reg.RegisterSchema("bad-value", sr.Schema{Schema: v1, Type: sr.TypeAvro})
	require.NoError(t, err)
	cases := []struct{ val, err string }{
		{debeziumEvent(t, id, v1, "u", nil, account(1, "a", 1)), `offset 0 with format 'debezium-avro-confluent': the "before" field of a Debezium Avro event of op 'u' is null; with the Debezium Postgres connector, set the table's REPLICA IDENTITY to FULL`},
		{debeziumEvent(t, id, v1, "x", nil, account(1, "a", 1)), `offset 1 with format 'debezium-avro-confluent': unknown "op" value "x"`},
		{`{"before":null}`, "offset 2 with format 'debezium-avro-confluent': not a Confluent Avro record: expected magic byte 0 and a schema id"},
	}
	for _, tc := range cases {
		produce(t, addr, "bad", rec{val: tc.val})
	}
	for i, tc := range cases {
		bad := table(addr, accounts, "topic", "bad", "format", "debezium-avro-confluent", "debezium-avro-confluent.url", reg.URL(),
			"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", fmt.Sprintf("partition:0,offset:%d", i),
			"scan.bounded.mode", "latest-offset")
		_, err := readErr(t, bad)
		require.ErrorContains(t, err, tc.err)
	}
}

// readWithRestores reads tbl in batches of batchSize records, snapshotting
// after every batch and restoring a new reader from the snapshot, and
// returns the rows and the last snapshot.
func readWithRestores(t *testing.T, tbl connector.TableInfo, batchSize int) ([]string, []byte) {
	t.Helper()
	f, _ := connector.Source("kafka")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var got []string
	var snap []byte
	for range 100 {
		r, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: batchSize})
		require.NoError(t, err)
		if snap != nil {
			require.NoError(t, r.Restore(snap))
		}
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			require.NoError(t, r.Close())
			return got, snap
		}
		require.NoError(t, err)
		got = append(got, rows(b)...)
		b.Release()
		snap, err = r.Snapshot()
		require.NoError(t, err)
		require.NoError(t, r.Close())
	}
	t.Fatal("the read did not end")
	return nil, nil
}

// TestDebeziumAvroRoundTrip writes a changelog as Flink does (+I and +U
// as 'c' events with the row after, -U and -D as 'd' events with the row
// before), registering Flink's envelope schema under '<topic>-value', and
// reads it back.
func TestDebeziumAvroRoundTrip(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	_, addr := cluster(t, 1, "out")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := accountChanges(t, mem)
	defer b.Release()
	tbl := table(addr, accounts, "topic", "out", "format", "debezium-avro-confluent", "debezium-avro-confluent.url", reg.URL(),
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	props, err := Factory{}.ValidateSink(tbl)
	require.NoError(t, err)
	require.Equal(t, connector.SinkProperties{AcceptsUpdates: true, RequiresUpdateBefore: true}, props)
	write(t, tbl, 0, b)

	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	ss, err := cl.SchemaByVersion(t.Context(), "out-value", -1)
	require.NoError(t, err)
	want, err := avrofmt.DebeziumSchemaFor(accounts)
	require.NoError(t, err)
	require.Equal(t, want, ss.Schema.Schema)
	require.Equal(t, `["null",{"type":"record","name":"org.apache.flink.avro.generated.record","fields":[`+
		`{"name":"before","type":["null",{"type":"record","name":"org.apache.flink.avro.generated.record_before","fields":[{"name":"id","type":["null","long"],"default":null},{"name":"name","type":["null","string"],"default":null},{"name":"balance","type":["null","long"],"default":null}]}],"default":null},`+
		`{"name":"after","type":["null",{"type":"record","name":"org.apache.flink.avro.generated.record_after","fields":[{"name":"id","type":["null","long"],"default":null},{"name":"name","type":["null","string"],"default":null},{"name":"balance","type":["null","long"],"default":null}]}],"default":null},`+
		`{"name":"op","type":["null","string"],"default":null}]}]`, want)

	got := consumeAll(t, addr, "out")
	require.Len(t, got, 5)
	ops := make([]string, len(got))
	for i, r := range got {
		require.Equal(t, byte(0), r.val[0])
		require.EqualValues(t, ss.ID, binary.BigEndian.Uint32(r.val[1:5]))
		var env map[string]any
		_, err := avro.MustParse(want).Decode(r.val[5:], &env)
		require.NoError(t, err)
		ops[i] = env["op"].(string)
		if ops[i] == "c" {
			require.Nil(t, env["before"])
		} else {
			require.Nil(t, env["after"])
		}
	}
	require.Equal(t, []string{"c", "c", "d", "c", "d"}, ops)
	require.Equal(t, []string{"1,a,10,0", "2,b,20,0", "1,a,10,3", "1,a,15,0", "2,b,20,3"}, readAll(t, tbl, 0, 1, 0))
}

// TestDebeziumAvroOptions: the registry URL is required, the format is
// the kafka connector's only (not upsert-kafka's) and carries no key.
func TestDebeziumAvroOptions(t *testing.T) {
	tbl := table("localhost:9092", accounts, "topic", "t", "format", "debezium-avro-confluent")
	_, err := Factory{}.ValidateSource(tbl)
	require.ErrorContains(t, err, "value format 'debezium-avro-confluent': option 'debezium-avro-confluent.url' is required")
	tbl = table("localhost:9092", accounts, "topic", "t", "value.format", "debezium-avro-confluent", "value.debezium-avro-confluent.url", "http://localhost:8081",
		"key.format", "json", "key.fields", "id")
	_, err = Factory{}.ValidateSource(tbl)
	require.ErrorContains(t, err, "the 'debezium-avro-confluent' value format carries whole rows")
	tbl = upsertTable("localhost:9092", "t")
	tbl.Options["value.format"] = "debezium-avro-confluent"
	_, err = Factory{Upsert: true}.ValidateSource(tbl)
	require.ErrorContains(t, err, "debezium-avro-confluent")
}
