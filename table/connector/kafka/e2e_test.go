package kafka_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/table"
)

// fakeCluster starts a kfake cluster (the real Kafka protocol, in
// process) seeded with topics of n partitions, closed when the test ends,
// and returns its bootstrap address.
func fakeCluster(t *testing.T, partitions int32, topics ...string) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

// TestEndToEnd runs INSERT INTO kafka_sink SELECT ... FROM kafka_source
// WHERE ... over kfake topics at parallelism 1 and 3, with a bounded read,
// and compares the records in the output topic.
func TestEndToEnd(t *testing.T) {
	addr := fakeCluster(t, 4, "bids", "out1", "out3")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	var want []string
	for i := range 200 {
		v := fmt.Sprintf(`{"auction": %d, "bidder": %d, "price": %d, "channel": "ch%d", "url": "https://x/%d", "dateTime": "2026-01-01 00:00:%02d.%03d", "extra": ""}`,
			i, i%13, i*7%1000, i%5, i, i%60, i)
		recs = append(recs, &kgo.Record{Topic: "bids", Key: fmt.Appendf(nil, "%d", i%17), Value: []byte(v)})
		if i*7%1000 > 500 {
			want = append(want, fmt.Sprintf("ch%d|%d|%d", i%5, i, i*7%1000*2))
		}
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	sort.Strings(want)

	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprint("parallelism=", par), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{
				"parallelism.default": fmt.Sprint(par), "table.dml-sync": "true",
			}})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			out := fmt.Sprint("out", par)
			for _, stmt := range []string{
				fmt.Sprintf(`CREATE TABLE bids (
				  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, dateTime TIMESTAMP(3), extra STRING
				) WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = '%s',
				  'properties.group.id' = 'e2e', 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
				  'format' = 'json')`, addr),
				fmt.Sprintf(`CREATE TABLE out (channel STRING, auction BIGINT, doubled BIGINT) WITH (
				  'connector' = 'kafka', 'topic' = '%s', 'properties.bootstrap.servers' = '%s',
				  'key.format' = 'raw', 'key.fields' = 'channel', 'value.format' = 'csv', 'value.csv.field-delimiter' = '|',
				  'sink.partitioner' = 'round-robin')`, out, addr),
				`INSERT INTO out SELECT channel, auction, price * 2 FROM bids WHERE price > 500`,
			} {
				r, err := env.ExecuteSQL(ctx, stmt)
				require.NoError(t, err, stmt)
				r.Close()
			}
			got := consumeTopic(t, cl, out, len(want))
			sort.Strings(got)
			require.Equal(t, want, got)
		})
	}
}

// runStatements runs stmts, each to its end (table.dml-sync), in a fresh
// environment with the configuration cfg and a leak-checked allocator.
func runStatements(t *testing.T, cfg map[string]string, stmts ...string) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	conf := map[string]string{"table.dml-sync": "true"}
	for k, v := range cfg {
		conf[k] = v
	}
	env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: conf})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, stmt := range stmts {
		r, err := env.ExecuteSQL(ctx, stmt)
		require.NoError(t, err, stmt)
		r.Close()
	}
}

// newConsumer reads topic from its start. A fetch waits at most 100 ms
// for data: with kgo's default of 5 s, partitions whose start offsets
// load after the first fetch went out wait for that fetch, and a loaded
// machine can take longer than a test's patience.
func newConsumer(t *testing.T, addr, topic string) *kgo.Client {
	t.Helper()
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(cons.Close)
	return cons
}

// consumeTopic reads n records of a topic and renders their values,
// checking each key is the value's first field.
func consumeTopic(t *testing.T, cl *kgo.Client, topic string, n int) []string {
	t.Helper()
	cons := newConsumer(t, strings.Join(cl.OptValue(kgo.SeedBrokers).([]string), ","), topic)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []string
	for len(got) < n {
		fs := cons.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d", len(got), n)
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if r.Key != nil {
				require.True(t, strings.HasPrefix(v, string(r.Key)+"|"), "key %s value %s", r.Key, v)
			}
			got = append(got, v)
		})
	}
	return got
}

// TestMetadataEndToEnd declares METADATA columns in SQL, reads them through
// a query, writes the timestamp and headers of records and reads them back,
// rejects writing a read-only key, and shows them in SHOW CREATE TABLE.
func TestMetadataEndToEnd(t *testing.T) {
	addr := fakeCluster(t, 2, "in", "out", "meta", "out2")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	for i := range 6 {
		r := &kgo.Record{Topic: "in", Partition: int32(i % 2), Value: fmt.Appendf(nil, `{"id": %d}`, i),
			Timestamp: time.UnixMilli(int64(1000 * i))}
		if i != 3 {
			r.Headers = []kgo.RecordHeader{{Key: "src", Value: []byte("kaf")}, {Key: "none"}}
		}
		recs = append(recs, r)
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{"table.dml-sync": "true"}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := func(stmt string) error {
		r, err := env.ExecuteSQL(ctx, stmt)
		if err == nil {
			r.Close()
		}
		return err
	}
	require.NoError(t, run(fmt.Sprintf(`CREATE TABLE src (
	  part INT METADATA FROM 'partition' VIRTUAL,
	  id BIGINT,
	  `+"`offset`"+` BIGINT METADATA VIRTUAL,
	  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'
	) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = '%s',
	  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json')`, addr)))
	require.NoError(t, run(fmt.Sprintf(`CREATE TABLE dst (id BIGINT, part INT, off BIGINT, secs BIGINT) WITH (
	  'connector' = 'kafka', 'topic' = 'out', 'properties.bootstrap.servers' = '%s', 'format' = 'csv')`, addr)))
	require.NoError(t, run("INSERT INTO dst SELECT id, part, `offset`, UNIX_TIMESTAMP(CAST(ts AS STRING)) FROM src WHERE id > 0"))
	got := consumeTopic(t, cl, "out", 5)
	sort.Strings(got)
	require.Equal(t, []string{"1,1,0,1", "2,0,1,2", "3,1,1,3", "4,0,2,4", "5,1,2,5"}, got)

	// Writing: the sink sets each record's timestamp and headers from the
	// persisted metadata columns; INSERT lists them in declaration order
	// and skips the VIRTUAL one. A header without a value is a NULL in the
	// map and written back as one.
	require.NoError(t, run(fmt.Sprintf(`CREATE TABLE src2 (id BIGINT, ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp',
	  hdrs MAP<STRING, BYTES> METADATA FROM 'headers') WITH ('connector' = 'kafka', 'topic' = 'in',
	  'properties.bootstrap.servers' = '%s', 'scan.startup.mode' = 'earliest-offset',
	  'scan.bounded.mode' = 'latest-offset', 'format' = 'json')`, addr)))
	require.NoError(t, run(fmt.Sprintf(`CREATE TABLE msink (
	  id BIGINT,
	  hdrs MAP<STRING, BYTES> METADATA FROM 'headers',
	  `+"`offset`"+` BIGINT METADATA VIRTUAL,
	  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'
	) WITH ('connector' = 'kafka', 'topic' = 'meta', 'properties.bootstrap.servers' = '%s',
	  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset', 'format' = 'json')`, addr)))
	require.NoError(t, run(`INSERT INTO msink SELECT id, hdrs, ts + INTERVAL '1' HOUR FROM src2 WHERE id > 1`))
	cons := newConsumer(t, addr, "meta")
	var written []string
	for len(written) < 4 && ctx.Err() == nil {
		cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			hs := ""
			for _, h := range r.Headers {
				if h.Value == nil {
					hs += " " + h.Key + "=<nil>"
				} else {
					hs += fmt.Sprintf(" %s=%q", h.Key, h.Value)
				}
			}
			written = append(written, fmt.Sprintf("%s %d%s", r.Value, r.Timestamp.UnixMilli(), hs))
		})
	}
	sort.Strings(written)
	require.Equal(t, []string{
		`{"id":2} 3602000 src="kaf" none=<nil>`,
		`{"id":3} 3603000`,
		`{"id":4} 3604000 src="kaf" none=<nil>`,
		`{"id":5} 3605000 src="kaf" none=<nil>`,
	}, written)
	// Reading them back through the same table.
	require.NoError(t, run(fmt.Sprintf(`CREATE TABLE mout (id BIGINT, secs BIGINT, src STRING) WITH (
	  'connector' = 'kafka', 'topic' = 'out2', 'properties.bootstrap.servers' = '%s', 'format' = 'csv')`, addr)))
	require.NoError(t, run("INSERT INTO mout SELECT id, UNIX_TIMESTAMP(CAST(ts AS STRING)), CAST(hdrs['src'] AS STRING) FROM msink"))
	got = consumeTopic(t, cl, "out2", 4)
	sort.Strings(got)
	require.Equal(t, []string{"2,3602,kaf", "3,3603,", "4,3604,kaf", "5,3605,kaf"}, got)
	// A MAP may hold a NULL key; a Kafka header key may not.
	err = run(`INSERT INTO msink SELECT 9, MAP[CAST(NULL AS STRING), CAST('v' AS BYTES)], CAST(NULL AS TIMESTAMP_LTZ(3))`)
	require.ErrorContains(t, err, "a NULL key in the 'headers' metadata column: Kafka header keys cannot be NULL")
	// Only headers and timestamp are written; other keys are read-only.
	require.NoError(t, run(fmt.Sprintf(`CREATE TABLE offs (id BIGINT, off BIGINT METADATA FROM 'offset') WITH (
	  'connector' = 'kafka', 'topic' = 'meta', 'properties.bootstrap.servers' = '%s', 'format' = 'json')`, addr)))
	err = run(`INSERT INTO offs SELECT 1, 2`)
	require.ErrorContains(t, err, "metadata key 'offset' of column 'off' is not writable; writable keys: headers, timestamp")
	err = run(fmt.Sprintf(`CREATE TABLE bad (x INT METADATA FROM 'nope') WITH ('connector' = 'kafka', 'topic' = 'in',
	  'properties.bootstrap.servers' = '%s', 'format' = 'json')`, addr))
	require.ErrorContains(t, err, "metadata key 'nope' of column 'x' is not available from connector 'kafka'; available keys: headers, leader-epoch, offset, partition, timestamp, timestamp-type, topic")
	err = run(`CREATE TABLE bad2 (x INT METADATA) WITH ('connector' = 'datagen')`)
	require.ErrorContains(t, err, "connector 'datagen' does not support METADATA columns")
	r, err := env.ExecuteSQL(ctx, "SHOW CREATE TABLE src")
	require.NoError(t, err)
	defer r.Close()
	b, err := r.Next(ctx)
	require.NoError(t, err)
	defer b.Release()
	require.Contains(t, b.Column(0).ValueStr(0), "`part` INT METADATA FROM 'partition' VIRTUAL,\n  `id` BIGINT,\n  `offset` BIGINT METADATA FROM 'offset' VIRTUAL,\n  `ts` TIMESTAMP_LTZ(3) METADATA FROM 'timestamp'\n)")
}

// TestAggregateToUpsertKafka aggregates JSON bids per channel into an
// upsert-kafka topic, then reads the topic back through upsert-kafka and
// through a consumer: the final value of each key is the expected total.
func TestAggregateToUpsertKafka(t *testing.T) {
	addr := fakeCluster(t, 3, "bids", "totals1", "totals2")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	totals := map[string]int64{}
	counts := map[string]int64{}
	for i := range 300 {
		ch := fmt.Sprint("ch", i%4)
		recs = append(recs, &kgo.Record{Topic: "bids", Value: fmt.Appendf(nil, `{"channel": "%s", "price": %d}`, ch, i)})
		totals[ch] += int64(i)
		counts[ch]++
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	for _, par := range []int{1, 2} {
		t.Run(fmt.Sprint("parallelism=", par), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{
				"parallelism.default": fmt.Sprint(par), "table.dml-sync": "true"}})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			topic := fmt.Sprint("totals", par)
			for _, stmt := range []string{
				fmt.Sprintf(`CREATE TABLE bids (channel STRING, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'bids',
				  'properties.bootstrap.servers' = '%s', 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
				  'format' = 'json')`, addr),
				fmt.Sprintf(`CREATE TABLE totals (channel STRING, n BIGINT, total BIGINT, PRIMARY KEY (channel) NOT ENFORCED) WITH (
				  'connector' = 'upsert-kafka', 'topic' = '%s', 'properties.bootstrap.servers' = '%s',
				  'key.format' = 'json', 'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset')`, topic, addr),
				`INSERT INTO totals SELECT channel, COUNT(*), SUM(price) FROM bids GROUP BY channel`,
			} {
				r, err := env.ExecuteSQL(ctx, stmt)
				require.NoError(t, err, stmt)
				r.Close()
			}
			want := map[string]string{}
			for ch, tot := range totals {
				want[fmt.Sprintf(`{"channel":"%s"}`, ch)] = fmt.Sprintf(`{"channel":"%s","n":%d,"total":%d}`, ch, counts[ch], tot)
			}
			require.Equal(t, want, finalValues(t, addr, topic, want))
		})
	}
}

// finalValues consumes a topic until the last value of each key equals want
// or a few seconds pass, and returns the last values; a tombstone removes
// its key.
func finalValues(t *testing.T, addr, topic string, want map[string]string) map[string]string {
	t.Helper()
	cons := newConsumer(t, addr, topic)
	final := map[string]string{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil && !reflect.DeepEqual(final, want) {
		cons.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				delete(final, string(r.Key))
			} else {
				final[string(r.Key)] = string(r.Value)
			}
		})
	}
	return final
}

// TestProjectionPushdown reads some columns of tables whose values are
// JSON, CSV and Avro: the optimizer pushes the projection into the kafka
// scan (EXPLAIN shows it), the decoders build only those columns, and the
// results are those of the unprojected read. The key column comes from the
// raw key format.
func TestProjectionPushdown(t *testing.T) {
	formats := []string{"json", "csv", "avro"}
	var topics []string
	for _, f := range formats {
		topics = append(topics, "p_"+f, "o_"+f)
	}
	addr := fakeCluster(t, 2, topics...)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{"table.dml-sync": "true"}})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, stmt := range []string{
				fmt.Sprintf(`CREATE TABLE t (k STRING, a BIGINT, b STRING, c DOUBLE) WITH ('connector' = 'kafka',
				  'topic' = 'p_%s', 'properties.bootstrap.servers' = '%s', 'scan.startup.mode' = 'earliest-offset',
				  'scan.bounded.mode' = 'latest-offset', 'key.format' = 'raw', 'key.fields' = 'k', 'value.format' = '%s')`, f, addr, f),
				fmt.Sprintf(`CREATE TABLE o (k STRING, c DOUBLE) WITH ('connector' = 'kafka', 'topic' = 'o_%s',
				  'properties.bootstrap.servers' = '%s', 'format' = 'csv')`, f, addr),
				`INSERT INTO t VALUES ('k1', 1, 'x', 1.5), ('k2', 2, 'y', 2.5), ('k3', 3, CAST(NULL AS STRING), 3.5)`,
			} {
				r, err := env.ExecuteSQL(ctx, stmt)
				require.NoError(t, err, stmt)
				r.Close()
			}
			query := `SELECT k, c FROM t WHERE a > 1`
			r, err := env.ExecuteSQL(ctx, "EXPLAIN "+query)
			require.NoError(t, err)
			b, err := r.Next(ctx)
			require.NoError(t, err)
			plan := b.Column(0).ValueStr(0)
			b.Release()
			r.Close()
			require.Contains(t, plan, "TableSourceScan(table=[[default_catalog, default_database, t]], project=[k, a, c], fields=[k, a, c])")
			r, err = env.ExecuteSQL(ctx, "INSERT INTO o "+query)
			require.NoError(t, err)
			r.Close()
			got := consumeTopic(t, cl, "o_"+f, 2)
			sort.Strings(got)
			require.Equal(t, []string{"k2,2.5", "k3,3.5"}, got)
		})
	}
}

// TestWindowToUpsertKafka writes bids as JSON and as Avro into a topic,
// counts and sums them per channel in 10-second tumbling windows, and
// writes the windows into an upsert-kafka topic: the last value of each
// key read back is the expected window.
func TestWindowToUpsertKafka(t *testing.T) {
	formats := []string{"json", "avro"}
	var topics []string
	for _, f := range formats {
		topics = append(topics, "w_"+f, "win_"+f)
	}
	addr := fakeCluster(t, 3, topics...)
	var values []string
	want := map[string]string{}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 40 {
		values = append(values, fmt.Sprintf("('ch%d', %d, TIMESTAMP '2026-01-01 00:00:%02d')", i%2, i, i))
	}
	for w := range 4 {
		for ch := range 2 {
			var n, sum int
			for i := 10 * w; i < 10*w+10; i++ {
				if i%2 == ch {
					n, sum = n+1, sum+i
				}
			}
			start := base.Add(time.Duration(10*w) * time.Second).Unix()
			want[fmt.Sprintf("%d,ch%d", start, ch)] = fmt.Sprintf("%d,ch%d,%d,%d", start, ch, n, sum)
		}
	}
	for _, f := range formats {
		t.Run(f, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			env, err := table.NewEnvironment(table.Settings{Mem: mem, Config: map[string]string{
				"table.dml-sync": "true", "parallelism.default": "2"}})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, stmt := range []string{
				fmt.Sprintf(`CREATE TABLE bids (channel STRING, price BIGINT, ts TIMESTAMP(3),
				  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = 'kafka', 'topic' = 'w_%s',
				  'properties.bootstrap.servers' = '%s', 'scan.startup.mode' = 'earliest-offset',
				  'scan.bounded.mode' = 'latest-offset', 'format' = '%s')`, f, addr, f),
				fmt.Sprintf(`CREATE TABLE windows (w BIGINT, channel STRING, n BIGINT, total BIGINT,
				  PRIMARY KEY (w, channel) NOT ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'win_%s',
				  'properties.bootstrap.servers' = '%s', 'key.format' = 'csv', 'value.format' = 'csv')`, f, addr),
				"INSERT INTO bids VALUES " + strings.Join(values, ", "),
				// w is computed from window_start, so the query has no upsert
				// key and Flink 2.3 wants ON CONFLICT; each (w, channel) comes
				// once, so keeping the first row keeps them all.
				`INSERT INTO windows SELECT UNIX_TIMESTAMP(CAST(window_start AS STRING)), channel, COUNT(*), SUM(price)
				  FROM TABLE(TUMBLE(TABLE bids, DESCRIPTOR(ts), INTERVAL '10' SECOND))
				  GROUP BY window_start, window_end, channel
				  ON CONFLICT DO NOTHING`,
			} {
				r, err := env.ExecuteSQL(ctx, stmt)
				require.NoError(t, err, stmt)
				r.Close()
			}
			cons := newConsumer(t, addr, "win_"+f)
			got := map[string]string{}
			for !reflect.DeepEqual(got, want) && ctx.Err() == nil {
				pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
				cons.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
					got[strings.TrimSpace(string(r.Key))] = strings.TrimSpace(string(r.Value))
				})
				pcancel()
			}
			require.Equal(t, want, got)
		})
	}
}
