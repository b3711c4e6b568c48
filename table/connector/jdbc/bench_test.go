package jdbc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/jdbc"
)

const benchRows = 1_000_000

var benchSchema = types.Schema{Columns: []types.Column{
	{Name: "id", Type: types.DataType{Kind: types.BigInt, NotNull: true}},
	{Name: "name", Type: types.VarcharType(types.MaxLength)},
	{Name: "amount", Type: types.DecimalType(12, 2)},
	{Name: "ts", Type: types.TimestampType(6)},
}}

// BenchmarkScan reads a table of a million rows (BIGINT, STRING,
// DECIMAL, TIMESTAMP) with one reader.
func BenchmarkScan(b *testing.B) {
	pg := postgres(b)
	pg.exec(b, fmt.Sprintf(`CREATE TABLE %s.t AS SELECT g::bigint AS id, 'name-' || g AS name, (g %% 100000) / 100.0 AS amount,
	  timestamp '2026-01-01' + g * interval '1 ms' AS ts FROM generate_series(1, %d) g`, pg.schema, benchRows))
	spec := connector.ScanSpec{Table: tableInfo(pg, "t", benchSchema, nil)}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		r, err := jdbc.Factory{}.CreateReader(spec, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator, BatchSize: 1024})
		require.NoError(b, err)
		n := 0
		for {
			rec, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(b, err)
			n += int(rec.NumRows())
			rec.Release()
		}
		require.NoError(b, r.Close())
		require.Equal(b, benchRows, n)
	}
	b.ReportMetric(float64(benchRows*b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkUpsert upserts a million rows into a table with a primary key,
// half of them updates of keys written before, in batches of 1024, with
// Flink's default buffer of 100 rows and with a buffer of 10000.
func BenchmarkUpsert(b *testing.B) {
	for _, buffer := range []int{100, 10000} {
		b.Run(fmt.Sprint("buffer=", buffer), func(b *testing.B) {
			pg := postgres(b)
			pg.exec(b, fmt.Sprintf("CREATE TABLE %s.u (id bigint PRIMARY KEY, name text, amount numeric(12, 2), ts timestamp)", pg.schema))
			spec := connector.SinkSpec{Table: tableInfo(pg, "u", benchSchema, []string{"id"},
				"sink.buffer-flush.max-rows", fmt.Sprint(buffer), "sink.buffer-flush.interval", "0")}
			batches := benchBatches(b)
			defer func() {
				for _, rec := range batches {
					rec.Release()
				}
			}()
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				w, err := jdbc.Factory{}.CreateWriter(spec, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator})
				require.NoError(b, err)
				for _, rec := range batches {
					require.NoError(b, w.Write(rec))
				}
				require.NoError(b, w.Finish())
				require.NoError(b, w.Close())
			}
			b.ReportMetric(float64(benchRows*b.N)/time.Since(start).Seconds(), "rows/s")
			b.StopTimer()
			require.EqualValues(b, benchRows/2, pg.count(b, "TABLE "+pg.schema+".u"))
		})
	}
}

// benchBatches are a million rows whose ids repeat once: the second half
// updates the first.
func benchBatches(b *testing.B) []arrow.RecordBatch {
	mem := memory.DefaultAllocator
	bld := array.NewRecordBuilder(mem, benchSchema.Arrow())
	defer bld.Release()
	var out []arrow.RecordBatch
	for i := range benchRows {
		id := int64(i % (benchRows / 2))
		bld.Field(0).(*array.Int64Builder).Append(id)
		bld.Field(1).(*array.StringBuilder).Append(fmt.Sprint("name-", i))
		bld.Field(2).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i % 100000)))
		bld.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(1767225600000000 + int64(i)*1000))
		if (i+1)%1024 == 0 || i == benchRows-1 {
			out = append(out, bld.NewRecordBatch())
		}
	}
	return out
}
