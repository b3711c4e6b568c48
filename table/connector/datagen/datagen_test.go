package datagen

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func tbl(cols []types.Column, opts ...string) connector.TableInfo {
	m := map[string]string{"connector": "datagen", "rows-per-second": "1000000000"}
	for i := 0; i+1 < len(opts); i += 2 {
		m[opts[i]] = opts[i+1]
	}
	return connector.TableInfo{Name: "t", Schema: types.Schema{Columns: cols}, Options: m}
}

func col(name string, t types.DataType) types.Column { return types.Column{Name: name, Type: t} }

// readInts reads every subtask and returns column c's values as int64s.
func readInts(t *testing.T, spec connector.ScanSpec, p, batch, c int) []int64 {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var out []int64
	for sub := range p {
		for _, b := range connectortest.ReadAll(t, Factory{}, spec, connector.ReaderContext{Subtask: sub, Parallelism: p, Mem: mem, BatchSize: batch}) {
			out = append(out, ints(b.Column(c))...)
			b.Release()
		}
	}
	return out
}

func ints(a arrow.Array) []int64 {
	var out []int64
	for i := 0; i < a.Len(); i++ {
		switch a := a.(type) {
		case *array.Int64:
			out = append(out, a.Value(i))
		case *array.Int32:
			out = append(out, int64(a.Value(i)))
		case *array.Int16:
			out = append(out, int64(a.Value(i)))
		case *array.Int8:
			out = append(out, int64(a.Value(i)))
		}
	}
	return out
}

func TestConformance(t *testing.T) {
	cols := []types.Column{col("id", types.BigIntType), col("s", types.StringType)}
	spec := connector.ScanSpec{Table: tbl(cols, "fields.id.kind", "sequence", "fields.id.start", "1", "fields.id.end", "1000")}
	for _, p := range []int{1, 3} {
		for _, bs := range []int{1, 7, 0} {
			if n := connectortest.CheckSource(t, Factory{}, spec, p, bs); n != 1000 {
				t.Errorf("p=%d bs=%d: %d rows, want 1000", p, bs, n)
			}
		}
	}
}

func TestSequenceExact(t *testing.T) {
	cols := []types.Column{col("id", types.BigIntType), col("small", types.TinyIntType)}
	spec := connector.ScanSpec{Table: tbl(cols,
		"fields.id.kind", "sequence", "fields.id.start", "-5", "fields.id.end", "94",
		"fields.small.kind", "sequence", "fields.small.start", "0", "fields.small.end", "127")}
	got := readInts(t, spec, 1, 7, 0)
	if len(got) != 100 {
		t.Fatalf("%d rows, want 100", len(got))
	}
	for i, v := range got {
		if v != int64(i)-5 {
			t.Fatalf("row %d = %d", i, v)
		}
	}
	small := readInts(t, spec, 1, 7, 1)
	for i, v := range small {
		if v != int64(i) {
			t.Fatalf("small row %d = %d", i, v)
		}
	}
	// Parallel: each subtask takes start+i, start+i+p, ...; the union is
	// the full range without duplicates.
	for _, p := range []int{2, 3, 4, 7} {
		for sub := range p {
			var part []int64
			mem := memory.NewGoAllocator()
			for _, b := range connectortest.ReadAll(t, Factory{}, spec, connector.ReaderContext{Subtask: sub, Parallelism: p, Mem: mem, BatchSize: 3}) {
				part = append(part, ints(b.Column(0))...)
				b.Release()
			}
			for j, v := range part {
				if v != -5+int64(sub)+int64(j*p) {
					t.Fatalf("p=%d sub=%d row %d = %d", p, sub, j, v)
				}
			}
		}
		all := readInts(t, spec, p, 4, 0)
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		if len(all) != 100 {
			t.Fatalf("p=%d: %d rows", p, len(all))
		}
		for i, v := range all {
			if v != int64(i)-5 {
				t.Fatalf("p=%d: sorted row %d = %d", p, i, v)
			}
		}
	}
}

func TestSequenceTypes(t *testing.T) {
	cols := []types.Column{col("d", types.DoubleType), col("f", types.FloatType), col("dec", types.DecimalType(10, 2)), col("s", types.StringType), col("i", types.IntType)}
	o := []string{}
	for _, c := range cols {
		o = append(o, "fields."+c.Name+".kind", "sequence", "fields."+c.Name+".start", "9", "fields."+c.Name+".end", "11")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	bs := connectortest.ReadAll(t, Factory{}, connector.ScanSpec{Table: tbl(cols, o...)}, connector.ReaderContext{Parallelism: 1, Mem: mem})
	if len(bs) != 1 {
		t.Fatalf("%d batches", len(bs))
	}
	b := bs[0]
	defer b.Release()
	var got []string
	for c := range cols {
		got = append(got, b.Column(c).String())
	}
	dec := b.Column(2).(*array.Decimal128)
	got[2] = dec.Value(0).ToString(2) + " " + dec.Value(2).ToString(2)
	want := []string{"[9 10 11]", "[9 10 11]", "9.00 11.00", `["9" "10" "11"]`, "[9 10 11]"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestNumberOfRows(t *testing.T) {
	cols := []types.Column{col("x", types.IntType)}
	for _, p := range []int{1, 3, 4} {
		spec := connector.ScanSpec{Table: tbl(cols, "number-of-rows", "10", "seed", "1")}
		if n := connectortest.CheckSource(t, Factory{}, spec, p, 3); n != 10 {
			t.Errorf("p=%d: %d rows, want 10", p, n)
		}
		// number-of-rows below the sequence length wins, and vice versa
		spec = connector.ScanSpec{Table: tbl(cols, "number-of-rows", "5", "fields.x.kind", "sequence", "fields.x.start", "1", "fields.x.end", "8")}
		if n := connectortest.CheckSource(t, Factory{}, spec, p, 3); n != 5 {
			t.Errorf("p=%d: %d rows, want 5", p, n)
		}
		spec = connector.ScanSpec{Table: tbl(cols, "number-of-rows", "50", "fields.x.kind", "sequence", "fields.x.start", "1", "fields.x.end", "8")}
		if n := connectortest.CheckSource(t, Factory{}, spec, p, 3); n != 8 {
			t.Errorf("p=%d: %d rows, want 8", p, n)
		}
	}
	props, err := Factory{}.ValidateSource(tbl(cols))
	if err != nil || props.Bounded {
		t.Errorf("no number-of-rows: %v, %v; want unbounded", props, err)
	}
	props, err = Factory{}.ValidateSource(tbl(cols, "number-of-rows", "0"))
	if err != nil || !props.Bounded {
		t.Errorf("number-of-rows 0: %v, %v; want bounded", props, err)
	}
}

func TestRandomRanges(t *testing.T) {
	cols := []types.Column{
		col("b", types.BooleanType), col("ti", types.TinyIntType), col("si", types.SmallIntType),
		col("i", types.IntType), col("bi", types.BigIntType), col("f", types.FloatType), col("d", types.DoubleType),
		col("dec", types.DecimalType(6, 2)), col("c", types.CharType(5)), col("vc", types.VarcharType(10)),
		col("s", types.StringType), col("bin", types.BinaryType(4)), col("by", types.BytesType),
		col("dt", types.DateType), col("tm", types.TimeType(0)), col("ts", types.TimestampType(3)),
		col("ltz", types.TimestampLTZType(6)), col("n", types.IntType),
	}
	spec := connector.ScanSpec{Table: tbl(cols, "number-of-rows", "2000", "seed", "42",
		"fields.ti.min", "-3", "fields.ti.max", "3", "fields.i.min", "10", "fields.i.max", "20",
		"fields.bi.min", "-1000000000000", "fields.bi.max", "-999999999990",
		"fields.f.min", "1.5", "fields.f.max", "2.5", "fields.d.min", "-1", "fields.d.max", "1",
		"fields.dec.min", "-9.5", "fields.dec.max", "9.5", "fields.s.length", "7", "fields.by.length", "3",
		"fields.ts.max-past", "1 h", "fields.dt.max-past", "3 d", "fields.n.null-rate", "0.5")}
	start := time.Now()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	nulls, trues := 0, 0
	for _, b := range connectortest.ReadAll(t, Factory{}, spec, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 333}) {
		for i := 0; i < int(b.NumRows()); i++ {
			if b.Column(0).(*array.Boolean).Value(i) {
				trues++
			}
			check := func(name string, ok bool) {
				if !ok {
					t.Fatalf("%s out of range at row %d", name, i)
				}
			}
			v := b.Column(1).(*array.Int8).Value(i)
			check("ti", v >= -3 && v <= 3)
			iv := b.Column(3).(*array.Int32).Value(i)
			check("i", iv >= 10 && iv <= 20)
			bv := b.Column(4).(*array.Int64).Value(i)
			check("bi", bv >= -1000000000000 && bv <= -999999999990)
			fv := b.Column(5).(*array.Float32).Value(i)
			check("f", fv >= 1.5 && fv <= 2.5)
			dv := b.Column(6).(*array.Float64).Value(i)
			check("d", dv >= -1 && dv <= 1)
			dec := b.Column(7).(*array.Decimal128).Value(i).ToFloat64(2)
			check("dec", dec >= -9.5 && dec <= 9.5)
			check("c", len(b.Column(8).(*array.String).Value(i)) == 5)
			check("vc", len(b.Column(9).(*array.String).Value(i)) == 10)
			check("s", len(b.Column(10).(*array.String).Value(i)) == 7)
			check("bin", len(b.Column(11).(*array.Binary).Value(i)) == 4)
			check("by", len(b.Column(12).(*array.Binary).Value(i)) == 3)
			days := int64(b.Column(13).(*array.Date32).Value(i))
			today := time.Now().Unix() / 86400
			check("dt", days <= today && days >= today-4)
			tm := b.Column(14).(*array.Time32).Value(i)
			check("tm", tm >= 0 && tm < 86400000 && tm%1000 == 0)
			ts := time.UnixMilli(int64(b.Column(15).(*array.Timestamp).Value(i)))
			check("ts", !ts.After(time.Now()) && ts.After(start.Add(-time.Hour-time.Second)))
			ltz := time.UnixMicro(int64(b.Column(16).(*array.Timestamp).Value(i)))
			check("ltz", !ltz.After(time.Now()) && ltz.After(start.Add(-time.Second)))
			if b.Column(17).IsNull(i) {
				nulls++
			}
			for c := 0; c < 17; c++ {
				check("no nulls", b.Column(c).IsValid(i))
			}
		}
		b.Release()
	}
	if nulls < 800 || nulls > 1200 {
		t.Errorf("%d nulls of 2000 at null-rate 0.5", nulls)
	}
	if trues < 800 || trues > 1200 {
		t.Errorf("%d trues of 2000", trues)
	}
}

func batchStrings(t *testing.T, spec connector.ScanSpec, rc connector.ReaderContext) []string {
	var out []string
	for _, b := range connectortest.ReadAll(t, Factory{}, spec, rc) {
		for c := 0; c < int(b.NumCols()); c++ {
			out = append(out, b.Column(c).String())
		}
		b.Release()
	}
	return out
}

func TestSeedDeterministicAndProjection(t *testing.T) {
	cols := []types.Column{col("a", types.BigIntType), col("id", types.IntType), col("s", types.StringType)}
	table := tbl(cols, "number-of-rows", "20", "seed", "7", "fields.id.kind", "sequence", "fields.id.start", "100", "fields.id.end", "200", "fields.s.length", "4")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rc := connector.ReaderContext{Subtask: 1, Parallelism: 2, Mem: mem, BatchSize: 4}
	full := batchStrings(t, connector.ScanSpec{Table: table}, rc)
	again := batchStrings(t, connector.ScanSpec{Table: table}, rc)
	if strings.Join(full, "|") != strings.Join(again, "|") {
		t.Fatalf("same seed, different data:\n%v\n%v", full, again)
	}
	// Projection [s, id]: same values as the full scan's columns.
	proj := batchStrings(t, connector.ScanSpec{Table: table, Projection: []int{2, 1}}, rc)
	for k := 0; k < len(full)/3; k++ {
		if proj[2*k] != full[3*k+2] || proj[2*k+1] != full[3*k+1] {
			t.Fatalf("batch %d: projected %v %v, full %v %v", k, proj[2*k], proj[2*k+1], full[3*k+2], full[3*k+1])
		}
	}
	if !strings.HasPrefix(full[1], "[101 103 105 107]") {
		t.Errorf("subtask 1 of 2 sequence starts %s", full[1])
	}
	other := batchStrings(t, connector.ScanSpec{Table: tbl(cols, "number-of-rows", "20", "seed", "8", "fields.id.kind", "sequence", "fields.id.start", "100", "fields.id.end", "200", "fields.s.length", "4")}, rc)
	if other[0] == full[0] {
		t.Errorf("different seeds, same data")
	}
}

func TestSnapshotRestore(t *testing.T) {
	cols := []types.Column{col("id", types.BigIntType), col("r", types.DoubleType), col("s", types.StringType)}
	table := tbl(cols, "seed", "3", "fields.id.kind", "sequence", "fields.id.start", "0", "fields.id.end", "99", "fields.s.null-rate", "0.3")
	for _, proj := range [][]int{nil, {2, 0}} {
		spec := connector.ScanSpec{Table: table, Projection: proj}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		rc := connector.ReaderContext{Subtask: 2, Parallelism: 3, Mem: mem, BatchSize: 5}
		want := batchStrings(t, spec, rc)
		ncols := len(spec.OutputSchema().Columns)

		r, err := Factory{}.CreateReader(spec, rc)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			b, err := r.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			b.Release()
		}
		snap, err := r.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		r2, err := Factory{}.CreateReader(spec, rc)
		if err != nil {
			t.Fatal(err)
		}
		if err := r2.Restore(snap); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			b, err := r2.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for c := 0; c < int(b.NumCols()); c++ {
				got = append(got, b.Column(c).String())
			}
			b.Release()
		}
		r2.Close()
		if strings.Join(got, "|") != strings.Join(want[2*ncols:], "|") {
			t.Errorf("proj %v: restored\n%v\nwant\n%v", proj, got, want[2*ncols:])
		}
		if err := r2.Restore([]byte{9}); err == nil {
			t.Errorf("bad snapshot accepted")
		}
		mem.AssertSize(t, 0)
	}
}

func TestRateLimit(t *testing.T) {
	cols := []types.Column{col("x", types.IntType)}
	spec := connector.ScanSpec{Table: tbl(cols, "rows-per-second", "200", "number-of-rows", "60")}
	start := time.Now()
	// 2 subtasks at 100 rows/s each, 30 rows each in batches of 10: the
	// first batch is immediate, the next two wait 100ms each.
	n := connectortest.CheckSource(t, Factory{}, spec, 1, 10)
	if n != 60 {
		t.Fatalf("%d rows", n)
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Errorf("60 rows at 200/s took %v", el)
	}
	// Cancelling interrupts the wait.
	r, err := Factory{}.CreateReader(connector.ScanSpec{Table: tbl(cols, "rows-per-second", "1")}, connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := r.Next(context.Background())
	if err != nil || b.NumRows() != 1 {
		t.Fatalf("first batch: %v", err)
	}
	b.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next with cancelled ctx: %v", err)
	}
}

func TestUnbounded(t *testing.T) {
	r, err := Factory{}.CreateReader(connector.ScanSpec{Table: tbl([]types.Column{col("x", types.IntType)})},
		connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator(), BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 50 {
		b, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
}

func TestOptionErrors(t *testing.T) {
	cols := []types.Column{col("i", types.IntType), col("s", types.StringType), col("ts", types.TimestampType(3)),
		col("c", types.CharType(3)), col("arr", types.ArrayType(types.IntType)), col("nn", types.IntType.WithNullable(false))}
	for _, tc := range []struct {
		opts []string
		want string
	}{
		{[]string{"foo", "1"}, "unsupported option 'foo' for connector 'datagen'; supported options: connector, fields.#.end"},
		{[]string{"rows-per-second", "abc"}, "invalid value 'abc' for option 'rows-per-second'"},
		{[]string{"rows-per-second", "0"}, "'rows-per-second' must be positive"},
		{[]string{"number-of-rows", "x"}, "invalid value 'x' for option 'number-of-rows'"},
		{[]string{"number-of-rows", "-1"}, "must not be negative"},
		{[]string{"seed", "x"}, "invalid value 'x' for option 'seed'"},
		{[]string{"fields.i.kind", "counter"}, "invalid value 'counter' for option 'fields.i.kind': expected one of random, sequence"},
		{[]string{"fields.zz.kind", "random"}, "refers to column 'zz'"},
		{[]string{"fields.i.kind", "sequence", "fields.i.start", "1"}, "needs options 'fields.i.start' and 'fields.i.end'"},
		{[]string{"fields.i.kind", "sequence", "fields.i.start", "a", "fields.i.end", "2"}, "invalid value 'a' for option 'fields.i.start'"},
		{[]string{"fields.i.kind", "sequence", "fields.i.start", "5", "fields.i.end", "2"}, "cannot be greater than the end value"},
		{[]string{"fields.i.kind", "sequence", "fields.i.start", "0", "fields.i.end", "3000000000"}, "does not fit its type INT"},
		{[]string{"fields.ts.kind", "sequence", "fields.ts.start", "0", "fields.ts.end", "3"}, "cannot be a sequence"},
		{[]string{"fields.i.kind", "sequence", "fields.i.start", "0", "fields.i.end", "3", "fields.i.min", "1"}, "applies to random columns"},
		{[]string{"fields.i.start", "1"}, "applies to sequence columns"},
		{[]string{"fields.i.min", "x"}, "invalid value 'x' for option 'fields.i.min'"},
		{[]string{"fields.i.max", "3000000000"}, "invalid value '3000000000' for option 'fields.i.max'"},
		{[]string{"fields.i.min", "5", "fields.i.max", "4"}, "greater than its max"},
		{[]string{"fields.s.min", "5"}, "applies to numeric columns"},
		{[]string{"fields.i.max-past", "1 h"}, "applies to timestamp and date columns"},
		{[]string{"fields.ts.max-past", "1 lightyear"}, "invalid value '1 lightyear' for option 'fields.ts.max-past'"},
		{[]string{"fields.i.length", "3"}, "applies to string, binary and collection columns"},
		{[]string{"fields.s.length", "x"}, "invalid value 'x' for option 'fields.s.length'"},
		{[]string{"fields.c.length", "5"}, "cannot differ from the length of fixed-length column"},
		{[]string{"fields.i.null-rate", "2"}, "must be between 0 and 1"},
		{[]string{"fields.i.null-rate", "x"}, "invalid value 'x' for option 'fields.i.null-rate'"},
		{[]string{"fields.nn.null-rate", "0.5"}, "NOT NULL column 'nn'"},
	} {
		c := cols[:3]
		if strings.Contains(strings.Join(tc.opts, " "), "fields.c.") {
			c = cols[:4]
		}
		if strings.Contains(strings.Join(tc.opts, " "), "fields.nn.") {
			c = append(append([]types.Column{}, cols[:3]...), cols[5])
		}
		_, err := Factory{}.ValidateSource(tbl(c, tc.opts...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.opts, err, tc.want)
		}
	}
	for _, ty := range []types.DataType{types.VariantType, types.ArrayType(types.IntervalDayTimeType()),
		types.MapType(types.IntType, types.VariantType), types.RowType(types.Field{Name: "v", Type: types.VariantType})} {
		if _, err := (Factory{}).ValidateSource(tbl([]types.Column{col("v", ty)})); err == nil || !strings.Contains(err.Error(), "not supported by datagen") {
			t.Errorf("%s column: %v", ty, err)
		}
	}
	// valid spellings
	for _, opts := range [][]string{
		{"fields.i.kind", "SEQUENCE", "fields.i.start", "1", "fields.i.end", "1"},
		{"fields.s.length", "0"}, {"fields.ts.max-past", "10 s"}, {"fields.i.null-rate", "0.25"},
		{"number-of-rows", "0"}, {"seed", "-5"}, {"rows-per-second", "1"},
	} {
		if _, err := (Factory{}).ValidateSource(tbl(cols[:3], opts...)); err != nil {
			t.Errorf("%v: %v", opts, err)
		}
	}
}

func BenchmarkSequence(b *testing.B) {
	spec := connector.ScanSpec{Table: tbl([]types.Column{col("id", types.BigIntType), col("s", types.StringType)},
		"fields.id.kind", "sequence", "fields.id.start", "0", "fields.id.end", "9223372036854775806",
		"fields.s.kind", "sequence", "fields.s.start", "0", "fields.s.end", "9223372036854775806")}
	benchRead(b, spec)
}

func BenchmarkRandom(b *testing.B) {
	spec := connector.ScanSpec{Table: tbl([]types.Column{col("i", types.BigIntType), col("d", types.DoubleType),
		col("s", types.StringType), col("ts", types.TimestampType(3))}, "fields.s.length", "16", "seed", "1")}
	benchRead(b, spec)
}

func benchRead(b *testing.B, spec connector.ScanSpec) {
	r, err := Factory{}.CreateReader(spec, connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator(), BatchSize: 8192})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		bt, err := r.Next(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		rows += int(bt.NumRows())
		bt.Release()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
