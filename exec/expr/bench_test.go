package expr

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// BenchmarkEval measures a * 2 + 1 > 100 AND s LIKE 'ab%' over 8192-row
// batches.
func BenchmarkEval(b *testing.B) {
	const n = 8192
	mem := memory.NewGoAllocator()
	ib := array.NewInt32Builder(mem)
	sb := array.NewStringBuilder(mem)
	for i := 0; i < n; i++ {
		if i%17 == 0 {
			ib.AppendNull()
		} else {
			ib.Append(int32(i % 200))
		}
		sb.Append(fmt.Sprintf("%s%d", []string{"ab", "xy", "abc"}[i%3], i))
	}
	cols := []arrow.Array{ib.NewArray(), sb.NewArray()}
	schema := types.Schema{Columns: []types.Column{{Name: "a", Type: types.IntType}, {Name: "s", Type: types.StringType}}}
	batch := array.NewRecordBatch(schema.Arrow(), cols, n)
	defer batch.Release()
	benchEval(b, "(AND (> (+ (* $0 2) 1) 100) (LIKE $1 'ab%'))", schema, batch, mem)
}

// benchEval measures the expression src over batch, reporting rows/s.
func benchEval(b *testing.B, src string, schema types.Schema, batch arrow.RecordBatch, mem memory.Allocator) {
	e, err := parseExpr(src, schema)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := Compile(e, mem)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := ev.Eval(batch)
		if err != nil {
			b.Fatal(err)
		}
		res.Release()
	}
	b.ReportMetric(float64(batch.NumRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkFunctions measures some of the heavier built-ins over
// 8192-row batches of JSON documents.
func BenchmarkFunctions(b *testing.B) {
	const n = 8192
	mem := memory.NewGoAllocator()
	sb := array.NewStringBuilder(mem)
	ib := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond})
	for i := 0; i < n; i++ {
		sb.Append(fmt.Sprintf(`{"id": %d, "user": {"name": "u%d", "tags": ["a", "b", "c"]}, "url": "http://h/p?k=%d"}`, i, i, i))
		ib.Append(arrow.Timestamp(int64(i) * 60000))
	}
	cols := []arrow.Array{sb.NewArray(), ib.NewArray()}
	schema := types.Schema{Columns: []types.Column{{Name: "j", Type: types.StringType}, {Name: "t", Type: types.TimestampType(3)}}}
	batch := array.NewRecordBatch(schema.Arrow(), cols, n)
	defer batch.Release()
	for _, c := range []struct{ name, expr string }{
		{"json_value", "(JSON_VALUE $0 '$.user.name')"},
		{"json_query", "(JSON_QUERY $0 '$.user.tags')"},
		{"array_item", "(ITEM (ARRAY $0 $0 'x') 2)"},
		{"floor_to_hour", "(FLOOR $1 'HOUR')"},
		{"md5", "(MD5 $0)"},
	} {
		b.Run(c.name, func(b *testing.B) { benchEval(b, c.expr, schema, batch, mem) })
	}
}
