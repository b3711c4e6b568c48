package datagen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func nestedCols() []types.Column {
	return []types.Column{
		col("id", types.BigIntType),
		col("a", types.ArrayType(types.IntType)),
		col("m", types.MapType(types.StringType, types.IntType)),
		col("ms", types.MultisetType(types.SmallIntType)),
		col("r", types.RowType(types.Field{Name: "x", Type: types.IntType}, types.Field{Name: "s", Type: types.VarcharType(4)},
			types.Field{Name: "inner", Type: types.ArrayType(types.BooleanType.WithNullable(false))})),
		col("am", types.ArrayType(types.MapType(types.TinyIntType, types.DateType))),
	}
}

// readAll reads one subtask to the end and concatenates each column over
// the batches.
func readAll(t *testing.T, spec connector.ScanSpec, rc connector.ReaderContext) []arrow.Array {
	t.Helper()
	parts := map[int][]arrow.Array{}
	var batches []arrow.RecordBatch
	for _, b := range connectortest.ReadAll(t, Factory{}, spec, rc) {
		for c := range int(b.NumCols()) {
			parts[c] = append(parts[c], b.Column(c))
		}
		batches = append(batches, b)
	}
	out := make([]arrow.Array, len(parts))
	for c := range out {
		a, err := array.Concatenate(parts[c], rc.Mem)
		require.NoError(t, err)
		out[c] = a
	}
	for _, b := range batches {
		b.Release()
	}
	return out
}

func sizes(a arrow.Array) []int {
	l := a.(array.ListLike)
	out := make([]int, a.Len())
	for i := range out {
		s, e := l.ValueOffsets(i)
		out[i] = int(e - s)
	}
	return out
}

// TestNestedTypes: ARRAY, MAP, MULTISET and ROW columns, nested in one
// another, have their declared Arrow types, 'length' elements (3 by
// default), unique MAP keys and MULTISET counts of at most 10 per element.
func TestNestedTypes(t *testing.T) {
	cols := nestedCols()
	spec := connector.ScanSpec{Table: tbl(cols, "number-of-rows", "300", "seed", "11", "fields.a.length", "5", "fields.ms.length", "4")}
	props, err := Factory{}.ValidateSource(spec.Table)
	require.NoError(t, err)
	require.True(t, props.Bounded)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	got := readAll(t, spec, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 7})
	defer releaseAll(got)
	for i, c := range cols {
		require.True(t, arrow.TypeEqual(c.Type.Arrow(), got[i].DataType()), "column %s: %s", c.Name, got[i].DataType())
		require.Equal(t, 300, got[i].Len())
		require.Zero(t, got[i].NullN(), c.Name)
	}
	for _, n := range sizes(got[1]) {
		require.Equal(t, 5, n)
	}
	// 100 hex digits: three keys never collide.
	for _, n := range sizes(got[2]) {
		require.Equal(t, 3, n)
	}
	_, keys, _ := types.MapEntries(got[2])
	require.Len(t, keys.(*array.String).Value(0), 100)
	elems := got[3].(*array.List).ListValues().(*array.Int16)
	total := 0
	for i, n := range sizes(got[3]) {
		require.LessOrEqual(t, n, 40)
		total += n
		// Repeats of one element are adjacent: a distinct element's count.
		s, e := got[3].(*array.List).ValueOffsets(i)
		seen := map[int16]bool{}
		for k := s; k < e; k++ {
			v := elems.Value(int(k))
			require.False(t, seen[v] && elems.Value(int(k-1)) != v, "row %d: element %d not contiguous", i, v)
			seen[v] = true
		}
	}
	// Four elements with counts 0..10, 5 on average: about 20 per row.
	require.InDelta(t, 20, float64(total)/300, 3)
	row := got[4].(*array.Struct)
	require.Len(t, row.Field(1).(*array.String).Value(0), 4)
	for _, n := range sizes(row.Field(2)) {
		require.Equal(t, 3, n)
	}
	// MAP<TINYINT, DATE>: few distinct keys, so some maps have fewer than
	// three entries, never a key twice.
	inner := got[5].(*array.List).ListValues()
	_, ik, _ := types.MapEntries(inner)
	short := 0
	for i, n := range sizes(inner) {
		s, _ := inner.(*array.List).ValueOffsets(i)
		ks := ik.(*array.Int8).Int8Values()[s : int(s)+n]
		require.Equal(t, n, len(slices.Compact(slices.Sorted(slices.Values(ks)))), "duplicate key in %v", ks)
		if n < 3 {
			short++
		}
	}
	require.Less(t, short, 30)
}

// TestNestedUniqueKeys: keys of a small domain collapse as in Flink's
// HashMap: MAP<BOOLEAN, ...> has at most two entries, MAP<DATE, ...> with
// the default max-past (every date is today) one, MULTISET<BOOLEAN> at
// most two distinct elements.
func TestNestedUniqueKeys(t *testing.T) {
	cols := []types.Column{col("b", types.MapType(types.BooleanType, types.IntType)), col("d", types.MapType(types.DateType, types.StringType)),
		col("mb", types.MultisetType(types.BooleanType))}
	spec := connector.ScanSpec{Table: tbl(cols, "number-of-rows", "200", "seed", "2", "fields.b.length", "5", "fields.mb.length", "6")}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	got := readAll(t, spec, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 64})
	defer releaseAll(got)
	hist := map[int]int{}
	_, bk, _ := types.MapEntries(got[0])
	for i, n := range sizes(got[0]) {
		hist[n]++
		if n == 2 {
			s, _ := got[0].(*array.List).ValueOffsets(i)
			require.NotEqual(t, bk.(*array.Boolean).Value(int(s)), bk.(*array.Boolean).Value(int(s+1)))
		}
	}
	require.Equal(t, 200, hist[1]+hist[2])
	require.Positive(t, hist[1])
	require.Positive(t, hist[2])
	for _, n := range sizes(got[1]) {
		require.Equal(t, 1, n)
	}
	for _, n := range sizes(got[2]) {
		require.LessOrEqual(t, n, 20)
	}
}

// TestDistinct: a repeated key keeps its first place and its last value,
// and a NULL is one value, whether a row's parts are compared pairwise or
// looked up by key (rows longer than pairwiseMax).
func TestDistinct(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	each := func(d *distinctParts, base, n int) [][2]int {
		var got [][2]int
		d.each(base, n, func(first, last int) { got = append(got, [2]int{first, last}) })
		return got
	}
	b := array.NewInt64Builder(mem)
	defer b.Release()
	b.AppendValues([]int64{7, 1, 2, 1, 3, 2, 9}, nil)
	small := b.NewInt64Array()
	defer small.Release()
	require.Equal(t, [][2]int{{1, 3}, {2, 5}, {4, 4}}, each(newDistinctParts(small), 1, 5))

	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{pairwiseMax + 1, 200} {
		sb := array.NewStringBuilder(mem)
		for range n {
			if rng.IntN(10) == 0 {
				sb.AppendNull()
			} else {
				sb.Append(strconv.Itoa(rng.IntN(n / 3)))
			}
		}
		strs := sb.NewStringArray()
		sb.Release()
		d := newDistinctParts(strs)
		byKey := each(d, 0, n)
		var pairwise [][2]int
		d.pairwise(0, n, func(first, last int) { pairwise = append(pairwise, [2]int{first, last}) })
		require.Equal(t, pairwise, byKey, "%d parts", n)
		require.Less(t, len(byKey), n)
		strs.Release()
	}
}

// TestNestedNullRate: 'null-rate' makes whole collections and rows NULL;
// their parts are never NULL.
func TestNestedNullRate(t *testing.T) {
	cols := nestedCols()
	o := []string{"number-of-rows", "2000", "seed", "4"}
	for _, c := range cols[1:] {
		o = append(o, "fields."+c.Name+".null-rate", "0.25")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	got := readAll(t, connector.ScanSpec{Table: tbl(cols, o...)}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 100})
	defer releaseAll(got)
	for i, a := range got[1:] {
		require.InDelta(t, 500, a.NullN(), 80, cols[i+1].Name)
		if l, ok := a.(*array.List); ok {
			require.Zero(t, l.ListValues().NullN())
			for k, n := range sizes(a) {
				if a.IsNull(k) {
					require.Zero(t, n)
				}
			}
		}
	}
	row := got[4].(*array.Struct)
	for f := range row.NumField() {
		require.Zero(t, row.Field(f).NullN())
	}
}

// TestNestedDeterministic: with a seed, the values do not depend on the
// batch size, and projection keeps each column's values.
func TestNestedDeterministic(t *testing.T) {
	cols := nestedCols()
	table := tbl(cols, "number-of-rows", "50", "seed", "8", "fields.m.null-rate", "0.3", "fields.r.null-rate", "0.3")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	str := func(proj []int, bs int) []string {
		got := readAll(t, connector.ScanSpec{Table: table, Projection: proj}, connector.ReaderContext{Subtask: 1, Parallelism: 2, Mem: mem, BatchSize: bs})
		defer releaseAll(got)
		var out []string
		for _, a := range got {
			out = append(out, a.String())
		}
		return out
	}
	want := str(nil, 25)
	for _, bs := range []int{1, 7} {
		require.Equal(t, want, str(nil, bs), "batch size %d", bs)
	}
	require.Equal(t, []string{want[4], want[2]}, str([]int{4, 2}, 3))
	other := readAll(t, connector.ScanSpec{Table: tbl(cols, "number-of-rows", "50", "seed", "9")}, connector.ReaderContext{Subtask: 1, Parallelism: 2, Mem: mem})
	defer releaseAll(other)
	require.NotEqual(t, want[1], other[1].String())
}

// TestNestedSnapshotRestore: a reader restored from a snapshot taken in
// the middle emits the rows the original would have, nested values
// included; a rescaled one keeps the row count.
func TestNestedSnapshotRestore(t *testing.T) {
	cols := nestedCols()
	table := tbl(cols, "seed", "3", "fields.id.kind", "sequence", "fields.id.start", "0", "fields.id.end", "99",
		"fields.m.null-rate", "0.3", "fields.ms.length", "2")
	for _, proj := range [][]int{nil, {5, 3, 0}} {
		t.Run(fmt.Sprint(proj), func(t *testing.T) {
			spec := connector.ScanSpec{Table: table, Projection: proj}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			rc := connector.ReaderContext{Subtask: 1, Parallelism: 3, Mem: mem, BatchSize: 4}
			want := batchStrings(t, spec, rc)
			ncols := len(spec.OutputSchema().Columns)

			r, err := Factory{}.CreateReader(spec, rc)
			require.NoError(t, err)
			for range 3 {
				b, err := r.Next(context.Background())
				require.NoError(t, err)
				b.Release()
			}
			snap, err := r.Snapshot()
			require.NoError(t, err)
			require.NoError(t, r.Close())
			r2, err := Factory{}.CreateReader(spec, rc)
			require.NoError(t, err)
			defer r2.Close()
			require.NoError(t, r2.Restore(snap))
			var got []string
			for {
				b, err := r2.Next(context.Background())
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				for c := range int(b.NumCols()) {
					got = append(got, b.Column(c).String())
				}
				b.Release()
			}
			require.Equal(t, strings.Join(want[3*ncols:], "|"), strings.Join(got, "|"))
			// The snapshot of a projection with the columns in another
			// order has other streams in each column.
			if proj != nil {
				swapped, err := Factory{}.CreateReader(connector.ScanSpec{Table: table, Projection: []int{3, 5, 0}}, rc)
				require.NoError(t, err)
				defer swapped.Close()
				other, err := swapped.Snapshot()
				require.NoError(t, err)
				require.NoError(t, r2.Restore(other))
				_, err = r2.Next(context.Background())
				require.ErrorContains(t, err, "bytes of random state for a column with 4 random streams")
			}
		})
	}
	// Rescaled 2 → 3: every sequence value once, nested columns intact.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := &rescaler{t: t, spec: connector.ScanSpec{Table: table}, mem: mem}
	s.step(2, func(sub int) int { return sub + 1 })
	s.step(3, func(int) int { return -1 })
	slices.Sort(s.got)
	require.Equal(t, upTo(100), s.got)
}

func TestNestedOptionErrors(t *testing.T) {
	cols := nestedCols()
	for _, tc := range []struct {
		opts []string
		want string
	}{
		{[]string{"fields.a.length", "-1"}, "option 'fields.a.length' must not be negative"},
		{[]string{"fields.r.length", "2"}, "applies to string, binary and collection columns, but column 'r' is ROW"},
		{[]string{"fields.a.min", "2"}, "applies to numeric columns"},
		{[]string{"fields.m.kind", "sequence", "fields.m.start", "1", "fields.m.end", "2"}, "column 'm' of type MAP<STRING, INT> cannot be a sequence"},
	} {
		_, err := Factory{}.ValidateSource(tbl(cols, tc.opts...))
		require.ErrorContains(t, err, tc.want, "%v", tc.opts)
	}
	// Empty collections.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o := []string{"number-of-rows", "20", "fields.m.null-rate", "0.5"}
	for _, c := range []string{"a", "m", "ms", "am"} {
		o = append(o, "fields."+c+".length", "0")
	}
	got := readAll(t, connector.ScanSpec{Table: tbl(cols, o...)}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 6})
	defer releaseAll(got)
	for _, c := range []int{1, 2, 3, 5} {
		require.Equal(t, make([]int, 20), sizes(got[c]), cols[c].Name)
	}
}

func BenchmarkNested(b *testing.B) {
	spec := connector.ScanSpec{Table: tbl([]types.Column{col("a", types.ArrayType(types.BigIntType)),
		col("m", types.MapType(types.IntType, types.DoubleType)), col("r", types.RowType(types.Field{Name: "x", Type: types.IntType}))},
		"seed", "1")}
	benchRead(b, spec)
}
