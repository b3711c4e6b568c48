package expr

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// BenchmarkDateFormat measures DATE_FORMAT with constant patterns over
// 8192-row batches of TIMESTAMP(3) values a few milliseconds apart, as
// Nexmark q10 formats its bids' event times.
func BenchmarkDateFormat(b *testing.B) {
	const n = 8192
	mem := memory.NewGoAllocator()
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	for i := 0; i < n; i++ {
		tb.Append(arrow.Timestamp(1_700_000_000_000 + int64(i)*7))
	}
	cols := []arrow.Array{tb.NewArray()}
	schema := types.Schema{Columns: []types.Column{{Name: "t", Type: types.TimestampType(3)}}}
	batch := array.NewRecordBatch(schema.Arrow(), cols, n)
	defer batch.Release()
	for _, c := range []struct{ name, pattern string }{
		{"date", "yyyy-MM-dd"},
		{"minute", "HH:mm"},
		{"full", "yyyy-MM-dd HH:mm:ss.SSS"},
	} {
		b.Run(c.name, func(b *testing.B) { benchEval(b, "(DATE_FORMAT $0 '"+c.pattern+"')", schema, batch, mem) })
	}
}
