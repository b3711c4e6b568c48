package table

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkUDF compares, per 4096-row batch, a Go func registered with
// CreateFunction through the typed adapter, the same func through the
// reflection fallback (reflect.Value.Call per row), and a hand-vectorized
// VectorizedFunction computing the same thing.
func BenchmarkUDF(b *testing.B) {
	const n = 4096
	mem := memory.NewGoAllocator()
	ib := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	for i := 0; i < n; i++ {
		ib.Append(int64(i))
		sb.Append(fmt.Sprintf("user-%d", i%97))
	}
	ints, strs := ib.NewArray(), sb.NewArray()
	defer ints.Release()
	defer strs.Release()

	scale := func(x int64) int64 { return x*3 + 1 }
	handScale := func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		in := args[0].(*array.Int64)
		vals := memory.NewResizableBuffer(mem)
		vals.Resize(in.Len() * 8)
		out := arrow.Int64Traits.CastFromBytes(vals.Bytes())
		for i, x := range in.Int64Values() {
			out[i] = x*3 + 1
		}
		var valid *memory.Buffer
		if in.NullN() > 0 {
			valid = memory.NewResizableBuffer(mem)
			valid.Resize(int(bitutil.BytesForBits(int64(in.Len()))))
			copy(valid.Bytes(), in.NullBitmapBytes())
		}
		data := array.NewData(arrow.PrimitiveTypes.Int64, in.Len(), []*memory.Buffer{valid, vals}, nil, in.NullN(), 0)
		defer data.Release()
		vals.Release()
		return array.MakeFromData(data), nil
	}
	label := func(id int64, s string) string { return strings.ToUpper(s) + "#" + fmt.Sprint(id%10) }
	handLabel := func(args []arrow.Array, mem memory.Allocator) (arrow.Array, error) {
		ids, ss := args[0].(*array.Int64), args[1].(*array.String)
		out := array.NewStringBuilder(mem)
		defer out.Release()
		out.Reserve(ids.Len())
		for i := 0; i < ids.Len(); i++ {
			if ids.IsNull(i) || ss.IsNull(i) {
				out.AppendNull()
				continue
			}
			out.Append(strings.ToUpper(ss.Value(i)) + "#" + fmt.Sprint(ids.Value(i)%10))
		}
		return out.NewArray(), nil
	}
	cases := []struct {
		name string
		fn   any
		hand func([]arrow.Array, memory.Allocator) (arrow.Array, error)
		args []arrow.Array
	}{
		{"int64->int64", scale, handScale, []arrow.Array{ints}},
		{"int64,string->string", label, handLabel, []arrow.Array{ints, strs}},
	}
	for _, c := range cases {
		uf, err := userFunction("f", c.fn)
		if err != nil {
			b.Fatal(err)
		}
		ft := reflect.TypeOf(c.fn)
		slow := reflectKernel(c.fn, ft)
		dt := uf.Result.Arrow()
		run := func(b *testing.B, eval func() (arrow.Array, error)) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := eval()
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
		}
		b.Run(c.name+"/typed-adapter", func(b *testing.B) {
			run(b, func() (arrow.Array, error) { return uf.Eval(c.args, n, mem) })
		})
		b.Run(c.name+"/hand-vectorized", func(b *testing.B) {
			run(b, func() (arrow.Array, error) { return c.hand(c.args, mem) })
		})
		b.Run(c.name+"/reflect-call", func(b *testing.B) {
			run(b, func() (arrow.Array, error) { return slow(c.args, n, mem, dt) })
		})
	}
}

// TestTypedAdapterNulls checks NULL-in, NULL-out through the typed
// adapters' fixed-width fast path, their general loop and the builder
// path, against a checked allocator.
func TestTypedAdapterNulls(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{1, 0, 3, 4}, []bool{true, false, true, true})
	ints := ib.NewArray()
	ib.Release()
	defer ints.Release()
	for _, c := range []struct {
		fn   any
		want string
	}{
		{func(x int64) int64 { return x * 10 }, "[10 (null) 30 40]"},
		{func(x int64) (int64, error) { return x + 1, nil }, "[2 (null) 4 5]"},
		{func(x int64) string { return fmt.Sprint("n", x) }, `["n1" (null) "n3" "n4"]`},
		{func(x, y int64) int64 { return x * y }, "[1 (null) 9 16]"},
	} {
		uf, err := userFunction("f", c.fn)
		if err != nil {
			t.Fatal(err)
		}
		args := []arrow.Array{ints}
		if reflect.TypeOf(c.fn).NumIn() == 2 {
			args = append(args, ints)
		}
		out, err := uf.Eval(args, ints.Len(), mem)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(out); got != c.want {
			t.Errorf("%T: got %s, want %s", c.fn, got, c.want)
		}
		out.Release()
	}
	// Without NULLs the result has no validity bitmap.
	full := array.NewInt64Builder(mem)
	full.AppendValues([]int64{1, 2}, nil)
	in := full.NewArray()
	full.Release()
	defer in.Release()
	uf, _ := userFunction("f", func(x int64) int64 { return -x })
	out, err := uf.Eval([]arrow.Array{in}, 2, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.NullN() != 0 || out.Data().Buffers()[0] != nil || fmt.Sprint(out) != "[-1 -2]" {
		t.Fatalf("got %v with %d nulls", out, out.NullN())
	}
}
