package format

import (
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// TestCivilDate checks civilDate against time.Time's calendar around the
// epoch, across eras (multiples of 400 years) and at the ends of the
// range a DATE spells.
func TestCivilDate(t *testing.T) {
	check := func(days int64) {
		y, m, d := time.Unix(days*86400, 0).UTC().Date()
		gy, gm, gd := civilDate(days)
		if gy != int64(y) || gm != int(m) || gd != d {
			t.Fatalf("day %d: got %d-%d-%d, want %d-%d-%d", days, gy, gm, gd, y, m, d)
		}
	}
	for days := int64(-800_000); days <= 800_000; days++ {
		check(days)
	}
	for _, days := range []int64{math.MinInt32, math.MaxInt32, -719528, -719529, -146097 * 20, 146097*20 - 1, 2_932_896, 2_932_897} {
		check(days)
	}
}

// TestAppendColumn checks that the column-at-a-time rendering spells
// every value as Bind's function does, with NULLs empty.
func TestAppendColumn(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ts := []int64{0, -1, 1_700_000_000_123, 1_700_000_000_999, 1_700_086_400_000, -62_135_596_800_000, 253_402_300_799_999, 1}
	cases := []struct {
		t     types.DataType
		build func(b array.Builder, i int)
	}{
		{types.TinyIntType, func(b array.Builder, i int) { b.(*array.Int8Builder).Append(int8(i*37 - 128)) }},
		{types.SmallIntType, func(b array.Builder, i int) { b.(*array.Int16Builder).Append(int16(i*9001 - 30000)) }},
		{types.IntType, func(b array.Builder, i int) { b.(*array.Int32Builder).Append(int32(i*123456789 - math.MaxInt32)) }},
		{types.BigIntType, func(b array.Builder, i int) { b.(*array.Int64Builder).Append(int64(i-4) * math.MaxInt64 / 4) }},
		{types.StringType, func(b array.Builder, i int) { b.(*array.StringBuilder).Append([]string{"", "a", "b,c", "\"q\""}[i%4]) }},
		{types.DateType, func(b array.Builder, i int) { b.(*array.Date32Builder).Append(arrow.Date32(ts[i] / 86_400_000)) }},
		{types.TimestampType(3), func(b array.Builder, i int) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ts[i])) }},
		{types.TimestampLTZType(3), func(b array.Builder, i int) { b.(*array.TimestampBuilder).Append(arrow.Timestamp(ts[i])) }},
		{types.DoubleType, func(b array.Builder, i int) { b.(*array.Float64Builder).Append(float64(i) / 3) }},
		{types.DecimalType(10, 2), func(b array.Builder, i int) {
			b.(*array.Decimal128Builder).Append(decimal128.FromI64(int64(i*1001 - 3000)))
		}},
		{types.BooleanType, func(b array.Builder, i int) { b.(*array.BooleanBuilder).Append(i%3 == 0) }},
	}
	for _, c := range cases {
		for _, withNulls := range []bool{false, true} {
			b := array.NewBuilder(mem, c.t.Arrow())
			for i := range ts {
				if withNulls && i%3 == 1 {
					b.AppendNull()
				} else {
					c.build(b, i)
				}
			}
			arr := b.NewArray()
			b.Release()
			for _, style := range []Style{{Timestamp: SQL}, {Timestamp: Java}} {
				fn, err := Bind(arr, c.t, style)
				if err != nil {
					t.Fatal(err)
				}
				text, ends, err := AppendColumn(nil, []int{0}, arr, c.t, style)
				if err != nil {
					t.Fatal(err)
				}
				for i := range arr.Len() {
					want := ""
					if arr.IsValid(i) {
						want = string(fn(nil, i))
					}
					if got := string(text[ends[i]:ends[i+1]]); got != want {
						t.Errorf("%s row %d (style %v): got %q, want %q", c.t, i, style.Timestamp, got, want)
					}
				}
			}
			arr.Release()
		}
	}
}
