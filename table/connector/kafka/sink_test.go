package kafka

import (
	"fmt"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func TestSinkPartitioners(t *testing.T) {
	_, addr := cluster(t, 3, "fixed", "rr", "keyed")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var js []byte
	js = append(js, '[')
	for i := range 30 {
		if i > 0 {
			js = append(js, ',')
		}
		js = fmt.Appendf(js, `{"auction": %d, "price": %d, "channel": "c%d"}`, i, i, i%4)
	}
	js = append(js, ']')
	b := batch(t, mem, bids.Arrow(), string(js))
	defer b.Release()

	// fixed: subtask 2 writes to partition 2 only
	tbl := table(addr, bids, "topic", "fixed", "format", "json", "sink.partitioner", "fixed")
	write(t, tbl, 2, b)
	got := consumeAll(t, addr, "fixed")
	require.Len(t, got, 30)
	for _, c := range got {
		require.EqualValues(t, 2, c.partition)
	}
	require.Equal(t, `p2@0 <nil>={"auction":0,"price":0,"channel":"c0"}`, got[0].String())

	// round-robin spreads evenly
	tbl = table(addr, bids, "topic", "rr", "format", "json", "sink.partitioner", "round-robin", "sink.delivery-guarantee", "none")
	write(t, tbl, 0, b)
	count := map[int32]int{}
	for _, c := range consumeAll(t, addr, "rr") {
		count[c.partition]++
	}
	require.Equal(t, map[int32]int{0: 10, 1: 10, 2: 10}, count)

	// default: records of one key land in one partition; the key is the
	// csv of key.fields, and EXCEPT_KEY leaves it out of the value
	tbl = table(addr, bids, "topic", "keyed", "value.format", "json", "key.format", "csv", "key.fields", "channel",
		"value.fields-include", "EXCEPT_KEY")
	f, _ := connector.Sink("kafka")
	connectortest.CheckSink(t, f, connector.SinkSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1}, b)
	byKey := map[string]map[int32]bool{}
	got = consumeAll(t, addr, "keyed")
	require.Len(t, got, 30)
	for _, c := range got {
		if byKey[string(c.key)] == nil {
			byKey[string(c.key)] = map[int32]bool{}
		}
		byKey[string(c.key)][c.partition] = true
	}
	require.Len(t, byKey, 4)
	for k, ps := range byKey {
		require.Len(t, ps, 1, "key %s", k)
	}
	require.Equal(t, `{"auction":0,"price":0}`, string(got[0].val))

	// and reads back
	tbl.Options["scan.startup.mode"] = "earliest-offset"
	tbl.Options["scan.bounded.mode"] = "latest-offset"
	rs := readAll(t, tbl, 0, 1, 0)
	sort.Strings(rs)
	require.Len(t, rs, 30)
	require.Equal(t, "0,0,c0", rs[0])
}

// allTypes covers every scalar type the text and avro formats carry.
var allTypes = schema(
	col("b", types.BooleanType), col("ti", types.TinyIntType), col("si", types.SmallIntType), col("i", types.IntType),
	col("bi", types.BigIntType), col("f", types.FloatType), col("d", types.DoubleType), col("dec", types.DecimalType(10, 2)),
	col("s", types.StringType), col("by", types.BytesType), col("dt", types.DateType), col("tm", types.TimeType(3)),
	col("ts", types.TimestampType(3)), col("ts6", types.TimestampType(6)), col("ltz", types.TimestampLTZType(3)),
)

const allTypesRows = `[
{"b": true, "ti": -128, "si": 32767, "i": -2147483648, "bi": 9223372036854775807, "f": 1.5, "d": 1e300, "dec": "12345678.91",
 "s": "a,b \"q\"\nline2", "by": "Af8=", "dt": 18262, "tm": 3723004, "ts": 1577836800123, "ts6": 1577836800000001, "ltz": 1577836800120},
{"b": false, "ti": 0, "si": -1, "i": 0, "bi": -1, "f": -0.25, "d": 1e-7, "dec": "-0.01",
 "s": "", "by": "", "dt": -719162, "tm": 0, "ts": -1, "ts6": 0, "ltz": 0},
{"b": null, "ti": null, "si": null, "i": null, "bi": null, "f": null, "d": null, "dec": null,
 "s": null, "by": null, "dt": null, "tm": null, "ts": null, "ts6": null, "ltz": null}
]`

// TestFormatRoundTrips writes every scalar type through each format and
// reads it back unchanged.
func TestFormatRoundTrips(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	_, addr := cluster(t, 2, "json", "csv", "avro", "avro-confluent")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := batch(t, mem, allTypes.Arrow(), allTypesRows)
	defer b.Release()
	want := rows(b)
	sort.Strings(want)
	for _, f := range []string{"json", "csv", "avro", "avro-confluent"} {
		opts := []string{"topic", f, "format", f, "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset"}
		if f == "avro-confluent" {
			opts = append(opts, "avro-confluent.url", reg.URL())
		}
		tbl := table(addr, allTypes, opts...)
		write(t, tbl, 0, b)
		got := readAll(t, tbl, 0, 1, 0)
		sort.Strings(got)
		require.Equal(t, want, got, f)
	}
	// the registry holds the derived schema under <topic>-value
	ss, err := sr.NewClient(sr.URLs(reg.URL()))
	require.NoError(t, err)
	s, err := ss.SchemaByVersion(t.Context(), "avro-confluent-value", -1)
	require.NoError(t, err)
	require.Contains(t, s.Schema.Schema, `{"name":"bi","type":["null","long"],"default":null}`)
}

func TestRaw(t *testing.T) {
	_, addr := cluster(t, 1, "raw")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := schema(col("line", types.StringType))
	b := batch(t, mem, s.Arrow(), `[{"line": "a,b{"}, {"line": ""}, {"line": null}]`)
	defer b.Release()
	tbl := table(addr, s, "topic", "raw", "format", "raw", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	write(t, tbl, 0, b)
	got := consumeAll(t, addr, "raw")
	require.Equal(t, "[p0@0 <nil>=a,b{ p0@1 <nil>= p0@2 <nil>=<nil>]", fmt.Sprint(got))
	require.Equal(t, []string{"a,b{", "", "NULL"}, readAll(t, tbl, 0, 1, 0))
	_, err := Factory{}.ValidateSource(table(addr, bids, "topic", "raw", "format", "raw"))
	require.ErrorContains(t, err, "the raw format needs exactly one column, got 3")
}

var accounts = schema(col("id", types.BigIntType), col("name", types.StringType), col("balance", types.BigIntType))

func upsertTable(addr, topic string, opts ...string) connector.TableInfo {
	tbl := table(addr, accounts, append([]string{"connector", "upsert-kafka", "topic", topic, "key.format", "json", "value.format", "json"}, opts...)...)
	tbl.PrimaryKey = []string{"id"}
	return tbl
}

// accountChanges is a changelog of accounts: two inserts, an update of
// id 1 (-U, +U) and a delete of id 2.
func accountChanges(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	withKind := arrow.NewSchema(append(accounts.Arrow().Fields(), arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8}), nil)
	return batch(t, mem, withKind, `[
		{"id": 1, "name": "a", "balance": 10, "$rowkind": 0},
		{"id": 2, "name": "b", "balance": 20, "$rowkind": 0},
		{"id": 1, "name": "a", "balance": 10, "$rowkind": 1},
		{"id": 1, "name": "a", "balance": 15, "$rowkind": 2},
		{"id": 2, "name": "b", "balance": 20, "$rowkind": 3}
	]`)
}

// TestUpsertRoundTrip writes a changelog to upsert-kafka and reads it back:
// +I/+U become keyed records, -D tombstones, -U nothing; the source turns
// tombstones into -D rows.
func TestUpsertRoundTrip(t *testing.T) {
	_, addr := cluster(t, 2, "accounts")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := accountChanges(t, mem)
	defer b.Release()
	tbl := upsertTable(addr, "accounts", "scan.bounded.mode", "latest-offset")
	f, _ := connector.Sink("upsert-kafka")
	props, err := f.ValidateSink(tbl)
	require.NoError(t, err)
	require.True(t, props.AcceptsUpdates)
	write(t, tbl, 0, b)

	var got []string
	for _, c := range consumeAll(t, addr, "accounts") {
		got = append(got, fmt.Sprintf("%s=%s", c.key, c.val))
	}
	sort.Strings(got)
	require.Equal(t, []string{
		`{"id":1}={"id":1,"name":"a","balance":10}`,
		`{"id":1}={"id":1,"name":"a","balance":15}`,
		`{"id":2}=`,
		`{"id":2}={"id":2,"name":"b","balance":20}`,
	}, got)

	src, _ := connector.Source("upsert-kafka")
	sp, err := src.ValidateSource(tbl)
	require.NoError(t, err)
	require.Equal(t, connector.ScanProperties{Bounded: true, Changelog: connector.UpsertChangelog}, sp)
	rs := readAll(t, tbl, 0, 1, 0)
	sort.Strings(rs)
	require.Equal(t, []string{"1,a,10,0", "1,a,15,0", "2,NULL,NULL,3", "2,b,20,0"}, rs)

	// a primary key is required
	tbl.PrimaryKey = nil
	_, err = src.ValidateSource(tbl)
	require.ErrorContains(t, err, "'upsert-kafka' tables require a PRIMARY KEY constraint")
}
