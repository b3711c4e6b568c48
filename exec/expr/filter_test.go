package expr

import (
	"context"
	"math/rand"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/compute/exec"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestFilterBatchMatchesCompute checks FilterBatch's gathering (takeColumn)
// against arrow's compute.FilterRecordBatch on random batches of every
// layout it gathers itself, with NULLs, sliced inputs, and a nested column
// that takes the fallback.
func TestFilterBatchMatchesCompute(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rnd := rand.New(rand.NewSource(1))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 23, Scale: 3}, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond}, Nullable: true},
		{Name: "list", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	}, nil)
	ctx := exec.WithAllocator(context.Background(), mem)
	for round := range 300 {
		n := 1 + rnd.Intn(100)
		rb := array.NewRecordBuilder(mem, schema)
		for i := 0; i < n; i++ {
			null := func() bool { return rnd.Intn(4) == 0 }
			appendOrNull(rb.Field(0), null(), func() { rb.Field(0).(*array.Int64Builder).Append(rnd.Int63()) })
			appendOrNull(rb.Field(1), null(), func() { rb.Field(1).(*array.Int32Builder).Append(rnd.Int31()) })
			appendOrNull(rb.Field(2), null(), func() { rb.Field(2).(*array.Int8Builder).Append(int8(rnd.Intn(256) - 128)) })
			appendOrNull(rb.Field(3), null(), func() { rb.Field(3).(*array.Float64Builder).Append(rnd.NormFloat64()) })
			appendOrNull(rb.Field(4), null(), func() { rb.Field(4).(*array.BooleanBuilder).Append(rnd.Intn(2) == 0) })
			word := string([]byte("abcdéfghij")[:rnd.Intn(11)])
			appendOrNull(rb.Field(5), null(), func() { rb.Field(5).(*array.StringBuilder).Append(word) })
			appendOrNull(rb.Field(6), null(), func() { rb.Field(6).(*array.BinaryBuilder).Append([]byte(word)) })
			appendOrNull(rb.Field(7), null(), func() {
				rb.Field(7).(*array.Decimal128Builder).Append(decimal128.FromI64(rnd.Int63() - rnd.Int63()))
			})
			appendOrNull(rb.Field(8), null(), func() { rb.Field(8).(*array.TimestampBuilder).Append(arrow.Timestamp(rnd.Int63())) })
			lb := rb.Field(9).(*array.ListBuilder)
			appendOrNull(lb, null(), func() {
				lb.Append(true)
				lb.ValueBuilder().(*array.Int64Builder).Append(int64(i))
			})
		}
		full := rb.NewRecordBatch()
		rb.Release()
		// Half the rounds filter a slice, whose arrays have an offset.
		batch := full
		if round%2 == 1 && n > 2 {
			batch = full.NewSlice(1, int64(n-1))
			full.Release()
		}
		// Predicates from sparse to dense, so rows are kept one by one
		// and in long runs.
		density := []int{2, 10, 100}[round%3]
		// Some predicates are slices too, with an offset that is not a
		// whole byte.
		lead := 3 * (round / 2 % 2)
		pb := array.NewBooleanBuilder(mem)
		for i := 0; i < lead+int(batch.NumRows()); i++ {
			appendOrNull(pb, rnd.Intn(5*density) == 0, func() { pb.Append(rnd.Intn(density) > 0) })
		}
		whole := pb.NewArray()
		pb.Release()
		pred := array.NewSlice(whole, int64(lead), int64(whole.Len()))
		whole.Release()

		// Without the nested column every column is gathered directly.
		flat := array.NewRecordBatch(arrow.NewSchema(schema.Fields()[:9], nil), batch.Columns()[:9], batch.NumRows())
		for _, b := range []arrow.RecordBatch{batch, flat} {
			got, err := FilterBatch(b, pred, mem)
			if err != nil {
				t.Fatal(err)
			}
			want, err := compute.FilterRecordBatch(ctx, b, pred, compute.DefaultFilterOptions())
			if err != nil {
				t.Fatal(err)
			}
			if !array.RecordEqual(got, want) {
				t.Fatalf("round %d: FilterBatch\n%v\ncompute.Filter\n%v", round, got, want)
			}
			got.Release()
			want.Release()
		}
		flat.Release()
		pred.Release()
		batch.Release()
	}
}

func appendOrNull(b array.Builder, null bool, appendValue func()) {
	if null {
		b.AppendNull()
		return
	}
	appendValue()
}
