package csv

import (
	"fmt"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// BenchmarkEncode measures the csv encoder over 8192-row batches of
// Nexmark q10's sink columns: three BIGINTs, a TIMESTAMP(3) and strings,
// one with a NULL every 10 rows.
func BenchmarkEncode(b *testing.B) {
	const n = 8192
	mem := memory.NewGoAllocator()
	s := types.Schema{Columns: []types.Column{
		{Name: "auction", Type: types.BigIntType}, {Name: "bidder", Type: types.BigIntType},
		{Name: "price", Type: types.BigIntType}, {Name: "dateTime", Type: types.TimestampType(3)},
		{Name: "extra", Type: types.StringType}, {Name: "dt", Type: types.StringType},
	}}
	rb := array.NewRecordBuilder(mem, s.Arrow())
	defer rb.Release()
	for i := 0; i < n; i++ {
		rb.Field(0).(*array.Int64Builder).Append(int64(1000 + i%97))
		rb.Field(1).(*array.Int64Builder).Append(int64(2000 + i*13))
		rb.Field(2).(*array.Int64Builder).Append(int64(i * 1234567 % 100000000))
		rb.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000 + int64(i)*7))
		if i%10 == 0 {
			rb.Field(4).(*array.StringBuilder).AppendNull()
		} else {
			rb.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("extra%dxyz", i))
		}
		rb.Field(5).(*array.StringBuilder).Append("2023-11-14")
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	enc := NewEncoder(Config{Delimiter: ',', Quote: '"'}, s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := enc.Encode(io.Discard, rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
