package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

var bids = schema(col("auction", types.BigIntType), col("price", types.BigIntType), col("channel", types.StringType))

func TestSourceJSONBounded(t *testing.T) {
	_, addr := cluster(t, 1, "bids")
	produce(t, addr, "bids",
		rec{val: `{"auction": 1, "price": 10, "channel": "a"}`},
		rec{val: `{"channel": "b\"q", "price": 20, "auction": 2, "extra": {"x": [1, "}"]}}`},
		rec{val: `{"auction": 3}`},
	)
	tbl := table(addr, bids, "topic", "bids", "format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	require.Equal(t, []string{`1,10,a`, `2,20,b"q`, `3,NULL,NULL`}, readAll(t, tbl, 0, 1, 0))
	f, _ := connector.Source("kafka")
	require.EqualValues(t, 3, connectortest.CheckSource(t, f, connector.ScanSpec{Table: tbl}, 1, 2))
}

// TestParallelism reads 7 partitions of two topics at parallelism 1 and 3:
// every record is read exactly once.
func TestParallelism(t *testing.T) {
	_, addr := cluster(t, 7, "t1", "t2")
	var want []string
	for _, topic := range []string{"t1", "t2"} {
		var recs []rec
		for i := range 70 {
			v := fmt.Sprintf(`{"auction": %d, "price": %d, "channel": "%s"}`, i, i%7, topic)
			recs = append(recs, rec{partition: int32(i % 7), val: v})
			want = append(want, fmt.Sprintf("%d,%d,%s", i, i%7, topic))
		}
		produce(t, addr, topic, recs...)
	}
	sort.Strings(want)
	for _, par := range []int{1, 3} {
		tbl := table(addr, bids, "topic", "t1;t2", "format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
		var got []string
		for sub := range par {
			part := readAll(t, tbl, sub, par, 16)
			if par > 1 {
				require.NotEmpty(t, part, "subtask %d", sub)
			}
			got = append(got, part...)
		}
		sort.Strings(got)
		require.Equal(t, want, got, "parallelism %d", par)
	}
	// topic-pattern finds both topics
	tbl := table(addr, bids, "topic-pattern", "t[0-9]", "format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	got := readAll(t, tbl, 0, 1, 0)
	sort.Strings(got)
	require.Equal(t, want, got)
}

func TestMalformedRecord(t *testing.T) {
	_, addr := cluster(t, 2, "bids")
	produce(t, addr, "bids",
		rec{partition: 1, val: `{"auction": 1, "price": 10, "channel": "a"}`},
		rec{partition: 1, val: `{"auction": "x"}`},
		rec{partition: 1, val: `not json`},
		rec{partition: 1, val: `{"auction": 2, "price": 10, "channel": "a"}`},
	)
	tbl := table(addr, bids, "topic", "bids", "format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	_, err := readErr(t, tbl)
	require.ErrorContains(t, err, "cannot decode the value of the record at topic 'bids' partition 1 offset 1 with format 'json': field 'auction': cannot parse 'x' as BIGINT")

	tbl.Options["json.ignore-parse-errors"] = "true"
	got, err := readErr(t, tbl)
	require.NoError(t, err)
	require.Equal(t, []string{"1,10,a", "2,10,a"}, got)
}

// readErr reads a bounded scan at parallelism 1 until its end or error and
// checks the skipped count is reported.
func readErr(t *testing.T, tbl connector.TableInfo) ([]string, error) {
	t.Helper()
	f, _ := connector.Source("kafka")
	r, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator})
	require.NoError(t, err)
	defer r.Close()
	var out []string
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			if tbl.Options["json.ignore-parse-errors"] == "true" {
				require.EqualValues(t, 2, r.(*reader).RecordsInErrors())
			}
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rows(b)...)
		b.Release()
	}
}

func TestStartupAndBoundedModes(t *testing.T) {
	_, addr := cluster(t, 2, "bids")
	var recs []rec
	for i := range 10 {
		// partition i%2, timestamps 1000, 2000, ... 10000
		recs = append(recs, rec{partition: int32(i % 2), ts: int64(i+1) * 1000, val: fmt.Sprintf(`{"auction": %d}`, i)})
	}
	produce(t, addr, "bids", recs...)
	// commit offsets 2 (partition 0) and 3 (partition 1) for group g
	commit(t, addr, "g", "bids", map[int32]int64{0: 2, 1: 3})
	base := []string{"topic", "bids", "format", "json", "properties.group.id", "g"}
	for _, tc := range []struct {
		opts []string
		want string // auctions read, sorted
	}{
		{[]string{"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset"}, "0 1 2 3 4 5 6 7 8 9"},
		{[]string{"scan.startup.mode", "latest-offset", "scan.bounded.mode", "latest-offset"}, ""},
		{[]string{"scan.startup.mode", "timestamp", "scan.startup.timestamp-millis", "7000", "scan.bounded.mode", "latest-offset"}, "6 7 8 9"},
		{[]string{"scan.startup.mode", "timestamp", "scan.startup.timestamp-millis", "99000", "scan.bounded.mode", "latest-offset"}, ""},
		{[]string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0,offset:3", "scan.bounded.mode", "latest-offset"}, "1 3 5 6 7 8 9"},
		{[]string{"scan.startup.mode", "group-offsets", "scan.bounded.mode", "latest-offset"}, "4 6 7 8 9"},
		{[]string{"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "group-offsets"}, "0 1 2 3 5"},
		{[]string{"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "timestamp", "scan.bounded.timestamp-millis", "4000"}, "0 1 2"},
		{[]string{"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "specific-offsets", "scan.bounded.specific-offsets", "partition:0,offset:1;partition:1,offset:2"}, "0 1 3"},
		{[]string{"scan.startup.mode", "specific-offsets", "scan.startup.specific-offsets", "partition:0,offset:2;partition:1,offset:4", "scan.bounded.mode", "specific-offsets", "scan.bounded.specific-offsets", "partition:0,offset:4;partition:1,offset:5"}, "4 6 9"},
	} {
		tbl := table(addr, schema(col("auction", types.BigIntType)), append(append([]string{}, base...), tc.opts...)...)
		got := readAll(t, tbl, 0, 1, 3)
		sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
		require.Equal(t, tc.want, strings.Join(got, " "), "%v", tc.opts)
	}
	// group-offsets without a committed offset
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json", "properties.group.id", "nogroup",
		"scan.startup.mode", "group-offsets", "scan.bounded.mode", "latest-offset")
	_, err := readErr(t, tbl)
	require.ErrorContains(t, err, "group 'nogroup' has no committed offset for bids-0 and 'properties.auto.offset.reset' is none")
	tbl.Options["properties.auto.offset.reset"] = "earliest"
	require.Len(t, readAll(t, tbl, 0, 1, 0), 10)
	tbl.Options["properties.auto.offset.reset"] = "latest"
	require.Empty(t, readAll(t, tbl, 0, 1, 0))
}

// commit stores a group's committed offsets.
func commit(t *testing.T, addr, group, topic string, offs map[int32]int64) {
	t.Helper()
	// OffsetCommit v10+ names topics by id; the test pins an older version
	// rather than resolving ids.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MaxVersions(kversion.V3_0_0()))
	require.NoError(t, err)
	defer cl.Close()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	for p, o := range offs {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = p, o
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	require.NoError(t, err)
	for _, t2 := range resp.Topics {
		for _, p := range t2.Partitions {
			require.NoError(t, kerr.ErrorForCode(p.ErrorCode))
		}
	}
}

// TestSnapshotRestore stops a read after each batch, snapshots, and
// continues in a new reader: the rows are each read exactly once.
func TestSnapshotRestore(t *testing.T) {
	_, addr := cluster(t, 3, "bids")
	var recs []rec
	var want []string
	for i := range 30 {
		recs = append(recs, rec{partition: int32(i % 3), val: fmt.Sprintf(`{"auction": %d}`, i)})
		want = append(want, fmt.Sprint(i))
	}
	produce(t, addr, "bids", recs...)
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	got, snap := readWithRestores(t, tbl, 4)
	sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
	require.Equal(t, want, got)
	require.JSONEq(t, `{"offsets":{"bids":{"0":10,"1":10,"2":10}},"stops":{"bids":{"0":10,"1":10,"2":10}}}`, string(snap))
}

func TestUnreachableBrokers(t *testing.T) {
	tbl := table("127.0.0.1:1", bids, "topic", "bids", "format", "json", "scan.bounded.mode", "latest-offset",
		"scan.startup.mode", "earliest-offset", "properties.default.api.timeout.ms", "1500")
	start := time.Now()
	_, err := readErr(t, tbl)
	require.ErrorContains(t, err, "kafka: listing partitions (brokers 127.0.0.1:1): unable to dial")
	require.Less(t, time.Since(start), 10*time.Second)

	// a broker that accepts connections and never answers
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tbl.Options["properties.bootstrap.servers"] = ln.Addr().String()
	start = time.Now()
	_, err = readErr(t, tbl)
	require.ErrorContains(t, err, "kafka: listing partitions: brokers "+ln.Addr().String()+" did not answer within 1.5s (properties.default.api.timeout.ms)")
	require.Less(t, time.Since(start), 10*time.Second)

	// a missing topic is an error too, not a hang
	_, addr := cluster(t, 1, "bids")
	tbl = table(addr, bids, "topic", "nope", "format", "json", "scan.bounded.mode", "latest-offset", "scan.startup.mode", "earliest-offset")
	_, err = readErr(t, tbl)
	require.ErrorContains(t, err, "topic 'nope' does not exist")
}

// TestUnboundedAndDiscovery reads an unbounded topic: the reader blocks
// until records arrive, and finds a partition added while it runs.
func TestUnboundedAndDiscovery(t *testing.T) {
	_, addr := cluster(t, 1, "bids")
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json",
		"scan.startup.mode", "latest-offset", "scan.topic-partition-discovery.interval", "100 ms",
		// a fetch in flight when a partition is found holds its successor
		// back for up to the fetch wait
		"properties.fetch.max.wait.ms", "100")
	produce(t, addr, "bids", rec{val: `{"auction": 0}`}) // before the start: not read
	f, _ := connector.Source("kafka")
	props, err := f.ValidateSource(tbl)
	require.NoError(t, err)
	require.False(t, props.Bounded)
	r, err := f.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator})
	require.NoError(t, err)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = r.Next(ctx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)

	produce(t, addr, "bids", rec{val: `{"auction": 1}`})
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	req := kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "bids", 2
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	require.NoError(t, err)
	require.NoError(t, kerr.ErrorForCode(resp.Topics[0].ErrorCode))
	produce(t, addr, "bids", rec{partition: 1, val: `{"auction": 2}`})

	var got []string
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < 2 {
		b, err := r.Next(ctx)
		require.NoError(t, err)
		got = append(got, rows(b)...)
		b.Release()
	}
	sort.Strings(got)
	require.Equal(t, []string{"1", "2"}, got)
}

// TestDebezium reads Debezium events as a changelog: c/r → +I, u → -U +U,
// d → -D; tombstones make no row.
func TestDebezium(t *testing.T) {
	_, addr := cluster(t, 1, "cdc", "cdc-schema")
	produce(t, addr, "cdc",
		rec{val: `{"before": null, "after": {"id": 1, "name": "a", "balance": 10}, "op": "r", "source": {}}`},
		rec{val: `{"before": null, "after": {"id": 2, "name": "b", "balance": 20}, "op": "c"}`},
		rec{val: `{"before": {"id": 1, "name": "a", "balance": 10}, "after": {"id": 1, "name": "a", "balance": 15}, "op": "u"}`},
		rec{val: `{"before": {"id": 2, "name": "b", "balance": 20}, "after": null, "op": "d"}`},
		rec{nilVal: true},
	)
	tbl := table(addr, accounts, "topic", "cdc", "format", "debezium-json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	f, _ := connector.Source("kafka")
	p, err := f.ValidateSource(tbl)
	require.NoError(t, err)
	require.Equal(t, connector.RetractChangelog, p.Changelog)
	want := []string{"1,a,10,0", "2,b,20,0", "1,a,10,1", "1,a,15,2", "2,b,20,3"}
	require.Equal(t, want, readAll(t, tbl, 0, 1, 0))
	require.Equal(t, want, readAll(t, tbl, 0, 1, 2))
	require.Equal(t, want, readAll(t, tbl, 0, 1, 3))

	produce(t, addr, "cdc-schema",
		rec{val: `{"schema": {}, "payload": {"before": null, "after": {"id": 1, "name": "a", "balance": 10}, "op": "c"}}`},
		rec{val: `{"schema": {}, "payload": {"before": {"id": 1}, "after": {"id": 1, "name": "z"}, "op": "x"}}`},
	)
	tbl = table(addr, accounts, "topic", "cdc-schema", "format", "debezium-json", "debezium-json.schema-include", "true",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	_, err = readErr(t, tbl)
	require.ErrorContains(t, err, "offset 1 with format 'debezium-json': unknown Debezium operation 'x'")
	tbl.Options["debezium-json.ignore-parse-errors"] = "true"
	require.Equal(t, []string{"1,a,10,0"}, readAll(t, tbl, 0, 1, 0))

	_, err = Factory{}.ValidateSink(tbl)
	require.ErrorContains(t, err, "value format 'debezium-json': 'debezium-json.schema-include' applies to reading only")
	tbl.Options["key.format"], tbl.Options["key.fields"] = "json", "id"
	_, err = Factory{}.ValidateSource(tbl)
	require.ErrorContains(t, err, "cannot be combined with 'key.format'")
}

// TestMetadataColumns reads every metadata key after the physical columns.
func TestMetadataColumns(t *testing.T) {
	_, addr := cluster(t, 2, "bids")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	require.NoError(t, cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "bids", Partition: 1, Value: []byte(`{"auction": 1}`), Timestamp: time.UnixMilli(1700000000123),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}, {Key: "h", Value: []byte("y")}, {Key: "g", Value: nil}}},
	).FirstErr())
	tbl := table(addr, schema(col("auction", types.BigIntType)), "topic", "bids", "format", "json",
		"scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	tbl.Metadata = []connector.MetadataColumn{
		{Name: "t", Key: "topic", Type: types.StringType},
		{Name: "p", Key: "partition", Type: types.IntType},
		{Name: "o", Key: "offset", Type: types.BigIntType},
		{Name: "ts", Key: "timestamp", Type: types.TimestampLTZType(3)},
		{Name: "ts_ntz", Key: "timestamp", Type: types.TimestampType(6)},
		{Name: "tt", Key: "timestamp-type", Type: types.StringType, Virtual: true},
		{Name: "hs", Key: "headers", Type: types.MapType(types.StringType, types.BytesType)},
		{Name: "le", Key: "leader-epoch", Type: types.IntType},
	}
	f, _ := connector.Source("kafka")
	require.EqualValues(t, 1, connectortest.CheckSource(t, f, connector.ScanSpec{Table: tbl}, 1, 0))
	require.Equal(t, []string{`1,bids,1,0,2023-11-14T22:13:20.123Z,2023-11-14T22:13:20.123,CreateTime,[{"key":"h","value":"eQ=="},{"key":"g","value":null}],0`},
		readAll(t, tbl, 0, 1, 0))

	tbl.Metadata = []connector.MetadataColumn{{Name: "o", Key: "offset", Type: types.IntType}}
	_, err = f.ValidateSource(tbl)
	require.ErrorContains(t, err, "metadata column 'o' cannot have type INT; 'offset' is BIGINT")
}

// TestFaults injects broker faults while reading and writing: dropped
// connections on fetch and produce, and a retriable error response. The
// read still sees every record exactly once and the sink loses none.
func TestFaults(t *testing.T) {
	c, addr := cluster(t, 3, "bids", "out")
	var recs []rec
	var want []string
	for i := range 60 {
		recs = append(recs, rec{partition: int32(i % 3), val: fmt.Sprintf(`{"auction": %d}`, i)})
		want = append(want, fmt.Sprint(i))
	}
	produce(t, addr, "bids", recs...)
	fetches := 0
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		fetches++
		switch fetches {
		case 1, 3: // drop the connection on the first and third fetch
			c.KeepControl()
			return nil, errors.New("injected connection drop"), true
		case 5:
			return nil, nil, false
		}
		c.KeepControl()
		return nil, nil, false
	})
	s := schema(col("auction", types.BigIntType))
	tbl := table(addr, s, "topic", "bids", "format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	start := time.Now()
	got := readAll(t, tbl, 0, 1, 7)
	require.Less(t, time.Since(start), 3*time.Second)
	sort.Slice(got, func(i, j int) bool { return len(got[i]) < len(got[j]) || len(got[i]) == len(got[j]) && got[i] < got[j] })
	require.Equal(t, want, got)
	require.GreaterOrEqual(t, fetches, 3)

	// produce: the first produce request's connection drops, the second
	// gets NOT_LEADER_FOR_PARTITION; the idempotent producer retries both
	produces := 0
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		produces++
		switch produces {
		case 1:
			c.KeepControl()
			return nil, errors.New("injected connection drop"), true
		case 2:
			preq := req.(*kmsg.ProduceRequest)
			resp := preq.ResponseKind().(*kmsg.ProduceResponse)
			for _, rt := range preq.Topics {
				st := kmsg.NewProduceResponseTopic()
				st.Topic = rt.Topic
				st.TopicID = rt.TopicID
				for _, rp := range rt.Partitions {
					sp := kmsg.NewProduceResponseTopicPartition()
					sp.Partition = rp.Partition
					sp.ErrorCode = kerr.NotLeaderForPartition.Code
					st.Partitions = append(st.Partitions, sp)
				}
				resp.Topics = append(resp.Topics, st)
			}
			return resp, nil, true
		}
		return nil, nil, false
	})
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := batch(t, mem, s.Arrow(), `[{"auction": 1}, {"auction": 2}, {"auction": 3}]`)
	defer b.Release()
	start = time.Now()
	write(t, table(addr, s, "topic", "out", "format", "json", "properties.retry.backoff.ms", "100"), 0, b)
	require.Less(t, time.Since(start), 3*time.Second)
	require.Len(t, consumeAll(t, addr, "out"), 3)
	require.GreaterOrEqual(t, produces, 3)
}

// TestProjectedRead reads some columns of a table: a column in both the
// key and the value (value.fields-include = ALL) comes from the key; a
// part none of whose columns is read is still parsed, so a malformed value
// fails the read as without a projection; an upsert tombstone yields the
// key and NULLs.
func TestProjectedRead(t *testing.T) {
	_, addr := cluster(t, 1, "p", "u")
	produce(t, addr, "p",
		rec{key: `{"id": 1}`, val: "1;a;1.5"},
		rec{key: `{"id": 2}`, val: "2;b;2.5"})
	s := schema(col("id", types.BigIntType), col("name", types.StringType), col("score", types.DoubleType))
	tbl := table(addr, s, "topic", "p", "key.format", "json", "key.fields", "id", "value.format", "csv",
		"value.csv.field-delimiter", ";", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	require.Equal(t, []string{"1.5,1", "2.5,2"}, readSpec(t, connector.ScanSpec{Table: tbl, Projection: []int{2, 0}}, 0, 1, 0))
	require.Equal(t, []string{"a", "b"}, readSpec(t, connector.ScanSpec{Table: tbl, Projection: []int{1}}, 0, 1, 0))
	require.Equal(t, []string{"1", "2"}, readSpec(t, connector.ScanSpec{Table: tbl, Projection: []int{0}}, 0, 1, 0))

	produce(t, addr, "p", rec{key: `{"id": 3}`, val: "3;c"})
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f, _ := connector.Source("kafka")
	r, err := f.CreateReader(connector.ScanSpec{Table: tbl, Projection: []int{0}}, connector.ReaderContext{Parallelism: 1, Mem: mem})
	require.NoError(t, err)
	defer r.Close()
	var got int64
	for {
		b, err := r.Next(context.Background())
		if err != nil {
			require.ErrorContains(t, err, "cannot decode the value of the record at topic 'p' partition 0 offset 2 with format 'csv'")
			break
		}
		got += b.NumRows()
		b.Release()
	}
	require.LessOrEqual(t, got, int64(2))

	produce(t, addr, "u",
		rec{key: `{"id": 1}`, val: `{"name": "a", "score": 1.5}`},
		rec{key: `{"id": 1}`, nilVal: true})
	up := table(addr, s, "topic", "u", "key.format", "json", "value.format", "json", "value.fields-include", "EXCEPT_KEY")
	up.Options["connector"] = "upsert-kafka"
	up.Options["scan.bounded.mode"] = "latest-offset"
	up.PrimaryKey = []string{"id"}
	require.Equal(t, []string{"1.5,1,0", "NULL,1,3"}, readSpec(t, connector.ScanSpec{Table: up, Projection: []int{2, 0}}, 0, 1, 0))
}
