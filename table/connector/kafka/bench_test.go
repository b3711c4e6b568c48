package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// nexmarkBids is the Nexmark bid schema.
var nexmarkBids = schema(col("auction", types.BigIntType), col("bidder", types.BigIntType), col("price", types.BigIntType),
	col("channel", types.StringType), col("url", types.StringType), col("dateTime", types.TimestampType(3)), col("extra", types.StringType))

func bidJSON(i int) []byte {
	return fmt.Appendf(nil, `{"auction":%d,"bidder":%d,"price":%d,"channel":"channel-%d","url":"https://www.nexmark.com/%d/item.htm?query=1","dateTime":"2026-01-01 12:%02d:%02d.%03d","extra":""}`,
		1000+i%5000, 2000+i%10000, 100+i%100000, i%10000, i, i/60%60, i%60, i%1000)
}

// cpuTime is the CPU time (user and system) of the whole process: the
// reader or writer, franz-go and the in-process kfake broker.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConsumeJSONBids reads and decodes 200,000 JSON bids from 4
// kfake partitions at parallelism 1 and reports records per CPU-second of
// the process, broker included: all seven columns, and with the projection
// of a query that reads two of them (auction, price), which the decoder
// alone builds.
func BenchmarkConsumeJSONBids(b *testing.B) {
	const n = 200_000
	_, addr := cluster(b, 4, "bids")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(10*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "bids", Value: bidJSON(i)}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	cl.Close()
	tbl := table(addr, nexmarkBids, "topic", "bids", "format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	f, _ := connector.Source("kafka")
	for _, bc := range []struct {
		name string
		proj []int
	}{{"columns=all", nil}, {"columns=auction,price", []int{0, 2}}} {
		b.Run(bc.name, func(b *testing.B) {
			var cpu time.Duration
			var total int64
			for range b.N {
				start := cpuTime()
				r, err := f.CreateReader(connector.ScanSpec{Table: tbl, Projection: bc.proj}, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator})
				if err != nil {
					b.Fatal(err)
				}
				for {
					batch, err := r.Next(context.Background())
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					total += batch.NumRows()
					batch.Release()
				}
				r.Close()
				cpu += cpuTime() - start
			}
			if total != int64(b.N)*n {
				b.Fatalf("read %d records, want %d", total, int64(b.N)*n)
			}
			b.ReportMetric(float64(total)/cpu.Seconds(), "records/cpu-s")
		})
	}
}

// BenchmarkProduceJSONBids writes 100,000 bids as JSON through the sink
// (batches of 8192 rows, default partitioner, at-least-once) and reports
// records per CPU-second of the process, broker included.
func BenchmarkProduceJSONBids(b *testing.B) {
	const n = 100_000
	_, addr := cluster(b, 4, "bids")
	rb := array.NewRecordBuilder(memory.DefaultAllocator, nexmarkBids.Arrow())
	var batches []arrow.RecordBatch
	for i := range n {
		rb.Field(0).(*array.Int64Builder).Append(int64(1000 + i%5000))
		rb.Field(1).(*array.Int64Builder).Append(int64(2000 + i%10000))
		rb.Field(2).(*array.Int64Builder).Append(int64(100 + i%100000))
		rb.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("channel-%d", i%10000))
		rb.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("https://www.nexmark.com/%d/item.htm?query=1", i))
		rb.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(1767268800000 + int64(i)))
		rb.Field(6).(*array.StringBuilder).Append("")
		if (i+1)%8192 == 0 || i == n-1 {
			batches = append(batches, rb.NewRecordBatch())
		}
	}
	rb.Release()
	defer func() {
		for _, bt := range batches {
			bt.Release()
		}
	}()
	tbl := table(addr, nexmarkBids, "topic", "bids", "format", "json")
	f, _ := connector.Sink("kafka")
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		start := cpuTime()
		w, err := f.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator})
		if err != nil {
			b.Fatal(err)
		}
		for _, bt := range batches {
			if err := w.Write(bt); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Finish(); err != nil {
			b.Fatal(err)
		}
		w.Close()
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(b.N*n)/cpu.Seconds(), "records/cpu-s")
}
