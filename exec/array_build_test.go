package exec

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestBuildDirect checks that the direct array building of buildArray
// produces the arrays Arrow's builders do, NULLs included (whose slots in
// the view may hold stale values), and leaks no buffer.
func TestBuildDirect(t *testing.T) {
	types := []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32,
		arrow.PrimitiveTypes.Int64, arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Timestamp_ms,
		arrow.FixedWidthTypes.Time64us, arrow.PrimitiveTypes.Float64, arrow.BinaryTypes.String,
		arrow.BinaryTypes.Binary,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dt := range types {
		for _, n := range []int{0, 1, 7, 100} {
			for _, withNulls := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%d/%v", dt, n, withNulls), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					k, err := kindOf(dt)
					if err != nil {
						t.Fatal(err)
					}
					v := &colView{kind: k}
					// One spare value beyond n: only the first n are built.
					v.ints = make([]int64, n+1)
					v.floats = make([]float64, n+1)
					v.strs = make([]string, n+1)
					for i := range n + 1 {
						v.ints[i] = int64(rng.IntN(200) - 100)
						v.floats[i] = rng.Float64()
						v.strs[i] = fmt.Sprint("value", rng.IntN(1000))
					}
					if withNulls {
						v.valid = make([]bool, n+1)
						for i := range v.valid {
							v.valid[i] = rng.IntN(3) > 0
						}
					}
					got := buildDirect(mem, dt, v, n)
					if got == nil {
						t.Fatalf("no direct path for %s", dt)
					}
					defer got.Release()
					want := buildWithBuilder(mem, dt, v, n)
					defer want.Release()
					if !array.Equal(got, want) {
						t.Fatalf("direct build\n%v\nbuilder\n%v", got, want)
					}
					if got.NullN() != want.NullN() {
						t.Fatalf("direct build has %d NULLs, builder %d", got.NullN(), want.NullN())
					}
				})
			}
		}
	}
}

// TestTakeDirect checks that takeDirect gathers what Arrow's Take does,
// from sliced columns with and without NULLs, repeating rows as the group
// aggregate's -U/+U pairs do, and leaks no buffer; types without a direct
// path return nil.
func TestTakeDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dt := range []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32,
		arrow.PrimitiveTypes.Int64, arrow.FixedWidthTypes.Timestamp_ms, arrow.PrimitiveTypes.Float64,
		arrow.BinaryTypes.String, arrow.BinaryTypes.Binary,
	} {
		for _, withNulls := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%v", dt, withNulls), func(t *testing.T) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				const n = 50
				v := &colView{ints: make([]int64, n), floats: make([]float64, n), strs: make([]string, n)}
				var err error
				if v.kind, err = kindOf(dt); err != nil {
					t.Fatal(err)
				}
				for i := range n {
					v.ints[i] = int64(rng.IntN(200) - 100)
					v.floats[i] = rng.Float64()
					v.strs[i] = fmt.Sprint("value", rng.IntN(1000))
				}
				if withNulls {
					v.valid = make([]bool, n)
					for i := range v.valid {
						v.valid[i] = rng.IntN(3) > 0
					}
				}
				full := buildWithBuilder(mem, dt, v, n)
				defer full.Release()
				col := array.NewSlice(full, 5, n)
				defer col.Release()
				var rows []int32
				for range 30 {
					r := int32(rng.IntN(col.Len()))
					rows = append(rows, r, r)
				}
				got := takeDirect(mem, col, rows)
				if got == nil {
					t.Fatalf("no direct path for %s", dt)
				}
				defer got.Release()
				idx := array.NewInt32Data(array.NewData(arrow.PrimitiveTypes.Int32, len(rows),
					[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(rows))}, nil, 0, 0))
				defer idx.Release()
				want, err := compute.TakeArray(compute.WithAllocator(context.Background(), mem), col, idx)
				if err != nil {
					t.Fatal(err)
				}
				defer want.Release()
				if !array.Equal(got, want) || got.NullN() != want.NullN() {
					t.Fatalf("takeDirect\n%v\nTake\n%v", got, want)
				}
			})
		}
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewBooleanBuilder(mem)
	b.AppendValues([]bool{true, false}, nil)
	col := b.NewArray()
	b.Release()
	defer col.Release()
	if got := takeDirect(mem, col, []int32{1, 0}); got != nil {
		got.Release()
		t.Fatal("takeDirect took a BOOLEAN column, which has no direct path")
	}
}

// buildWithBuilder is the reference: the first n values of v appended one
// by one to dt's builder.
func buildWithBuilder(mem memory.Allocator, dt arrow.DataType, v *colView, n int) arrow.Array {
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for i := range n {
		if !v.isValid(i) {
			b.AppendNull()
			continue
		}
		switch b := b.(type) {
		case *array.Int8Builder:
			b.Append(int8(v.ints[i]))
		case *array.Int16Builder:
			b.Append(int16(v.ints[i]))
		case *array.Int32Builder:
			b.Append(int32(v.ints[i]))
		case *array.Int64Builder:
			b.Append(v.ints[i])
		case *array.Date32Builder:
			b.Append(arrow.Date32(v.ints[i]))
		case *array.TimestampBuilder:
			b.Append(arrow.Timestamp(v.ints[i]))
		case *array.Time64Builder:
			b.Append(arrow.Time64(v.ints[i]))
		case *array.Float64Builder:
			b.Append(v.floats[i])
		case *array.StringBuilder:
			b.Append(v.strs[i])
		case *array.BinaryBuilder:
			b.Append([]byte(v.strs[i]))
		}
	}
	return b.NewArray()
}

// TestSlotValuesArena replaces and frees stored strings at random, as a
// Top-N's state does, and checks that every slot keeps its value through
// the arena's compactions, that strings read before a compaction stay
// intact, and that the arena's bytes stay within its bound.
func TestSlotValuesArena(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const slots = 1000
	s := slotValues{kind: vkStr}
	s.grow(slots)
	want := make([]string, slots)
	var held []string // strings read earlier, with their expected values
	var heldWant []string
	for step := range 200000 {
		sl := int32(rng.IntN(slots))
		switch rng.IntN(10) {
		case 0:
			s.clearSlot(sl)
			s.valid[sl] = false
			want[sl] = ""
		case 1:
			// Now and then a string too large for a shared chunk.
			x := fmt.Sprintf("%d-%s", step, make([]byte, arenaLarge+rng.IntN(10)))
			s.setStr(sl, x)
			s.valid[sl] = true
			want[sl] = x
		default:
			x := fmt.Sprintf("value %d %d", step, rng.Uint64())
			v := colView{kind: vkStr, strs: []string{x}}
			s.setRow(sl, &v, 0)
			want[sl] = x
		}
		if step%1000 == 0 {
			held = append(held, s.str(sl))
			heldWant = append(heldWant, want[sl])
		}
	}
	for sl := range int32(slots) {
		if got := s.str(sl); got != want[sl] {
			t.Fatalf("slot %d holds %q, want %q", sl, got, want[sl])
		}
	}
	for i := range held {
		if held[i] != heldWant[i] {
			t.Fatalf("a string read earlier changed: %q, want %q", held[i], heldWant[i])
		}
	}
	var live, chunks int64
	for _, x := range want {
		live += int64(len(x))
	}
	for _, c := range s.arena.chunks {
		chunks += int64(cap(c))
	}
	if s.arena.live != live {
		t.Fatalf("arena counts %d live bytes, slots hold %d", s.arena.live, live)
	}
	if limit := 2*live + arenaSlack + 2*arenaChunk; chunks > limit {
		t.Fatalf("arena holds %d bytes for %d live ones (limit %d)", chunks, live, limit)
	}
}
