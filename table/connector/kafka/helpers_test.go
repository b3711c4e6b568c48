package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

func col(name string, t types.DataType) types.Column { return types.Column{Name: name, Type: t} }

func schema(cols ...types.Column) types.Schema { return types.Schema{Columns: cols} }

// cluster starts a kfake cluster seeded with topics of n partitions and
// returns its bootstrap address.
func cluster(t testing.TB, partitions int32, topics ...string) (*kfake.Cluster, string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, strings.Join(c.ListenAddrs(), ",")
}

func table(addr string, s types.Schema, opts ...string) connector.TableInfo {
	m := map[string]string{"connector": "kafka", "properties.bootstrap.servers": addr}
	for i := 0; i+1 < len(opts); i += 2 {
		m[opts[i]] = opts[i+1]
	}
	return connector.TableInfo{Name: "default_catalog.default_database.t", Schema: s, Options: m}
}

// rec is a record to produce.
type rec struct {
	partition int32
	key, val  string
	nilVal    bool
	ts        int64 // epoch millis; 0 = now
}

func produce(t testing.TB, addr, topic string, recs ...rec) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		kr := &kgo.Record{Topic: topic, Partition: r.partition}
		if r.key != "" {
			kr.Key = []byte(r.key)
		}
		if !r.nilVal {
			kr.Value = []byte(r.val)
		}
		if r.ts != 0 {
			kr.Timestamp = time.UnixMilli(r.ts)
		}
		rs[i] = kr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// consumed is a record read back from a topic.
type consumed struct {
	partition int32
	offset    int64
	key, val  []byte
}

func (c consumed) String() string {
	v := "<nil>"
	if c.val != nil {
		v = string(c.val)
	}
	k := "<nil>"
	if c.key != nil {
		k = string(c.key)
	}
	return fmt.Sprintf("p%d@%d %s=%s", c.partition, c.offset, k, v)
}

// consumeAll reads every record of a topic, ordered by partition and offset.
func consumeAll(t testing.TB, addr, topic string) []consumed {
	t.Helper()
	cfg := &config{topics: []string{topic}, client: clientConfig{apiTimeout: 10 * time.Second, brokers: []string{addr},
		opts: []kgo.Opt{kgo.SeedBrokers(addr)}}}
	adm, err := newClient(cfg, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	cl := adm.cl
	defer cl.Close()
	ctx := context.Background()
	tps, err := adm.listPartitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.listOffsets(ctx, tps, latestTS)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, e := range ends {
		want += e
	}
	var out []consumed
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for int64(len(out)) < want {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatalf("consumed %d of %d records", len(out), want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, consumed{r.Partition, r.Offset, r.Key, r.Value})
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].partition != out[j].partition {
			return out[i].partition < out[j].partition
		}
		return out[i].offset < out[j].offset
	})
	return out
}

// rows renders batches as lines of comma-separated values.
func rows(bs ...arrow.RecordBatch) []string {
	var out []string
	for _, b := range bs {
		for i := 0; i < int(b.NumRows()); i++ {
			var f []string
			for c := 0; c < int(b.NumCols()); c++ {
				a := b.Column(c)
				if a.IsNull(i) {
					f = append(f, "NULL")
				} else {
					f = append(f, a.ValueStr(i))
				}
			}
			out = append(out, strings.Join(f, ","))
		}
	}
	return out
}

// readAll reads one subtask of a bounded scan to the end, releasing every
// batch; the rows come back rendered (with the row kind last for
// changelog sources).
func readAll(t testing.TB, tbl connector.TableInfo, sub, par, batch int) []string {
	t.Helper()
	return readSpec(t, connector.ScanSpec{Table: tbl}, sub, par, batch)
}

// readSpec is readAll of a scan with a projection.
func readSpec(t testing.TB, spec connector.ScanSpec, sub, par, batch int) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	f, _ := connector.Source(spec.Table.Options["connector"])
	r, err := f.CreateReader(spec, connector.ReaderContext{Subtask: sub, Parallelism: par, Mem: mem, BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if batch > 0 && b.NumRows() > int64(batch) {
			t.Errorf("batch of %d rows > %d", b.NumRows(), batch)
		}
		out = append(out, rows(b)...)
		b.Release()
	}
}

// batch builds a batch of s from JSON rows.
func batch(t testing.TB, mem memory.Allocator, s *arrow.Schema, js string) arrow.RecordBatch {
	t.Helper()
	b, _, err := array.RecordFromJSON(mem, s, strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// write writes batches through one sink subtask and finishes.
func write(t testing.TB, tbl connector.TableInfo, sub int, bs ...arrow.RecordBatch) {
	t.Helper()
	f, _ := connector.Sink(tbl.Options["connector"])
	if _, err := f.ValidateSink(tbl); err != nil {
		t.Fatal(err)
	}
	w, err := f.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Subtask: sub, Parallelism: 1, Mem: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// memoryChecked is a checked allocator asserted empty at the end of the test.
func memoryChecked(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}
