package parquet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/eddysql/eddy/catalog/types"
)

func defaultConfig() Config {
	return Config{UTC: true, Unit: arrow.Microsecond, BlockSize: 128 << 20, PageSize: 1 << 20, DictPageSize: 1 << 20, Dictionary: true}
}

func ptr(t types.DataType) *types.DataType { return &t }

// allTypes is a schema with a column of every type the format supports.
var allTypes = types.Schema{Columns: []types.Column{
	{Name: "b", Type: types.BooleanType},
	{Name: "ti", Type: types.TinyIntType},
	{Name: "si", Type: types.SmallIntType},
	{Name: "i", Type: types.IntType},
	{Name: "bi", Type: types.BigIntType},
	{Name: "f", Type: types.FloatType},
	{Name: "d", Type: types.DoubleType},
	{Name: "dec", Type: types.DecimalType(10, 2)},
	{Name: "s", Type: types.StringType},
	{Name: "bin", Type: types.BytesType},
	{Name: "dt", Type: types.DateType},
	{Name: "tm", Type: types.DataType{Kind: types.Time}},
	{Name: "ts", Type: types.DataType{Kind: types.Timestamp, Precision: 3}},
	{Name: "ts6", Type: types.DataType{Kind: types.Timestamp, Precision: 6}},
	{Name: "ltz", Type: types.DataType{Kind: types.TimestampLTZ, Precision: 3}},
	{Name: "arr", Type: types.DataType{Kind: types.Array, Elem: ptr(types.IntType)}},
	{Name: "m", Type: types.DataType{Kind: types.Map, Key: ptr(types.StringType), Value: ptr(types.BigIntType)}},
	{Name: "r", Type: types.RowType(types.Field{Name: "x", Type: types.IntType}, types.Field{Name: "y", Type: types.DataType{Kind: types.Array, Elem: ptr(types.StringType)}})},
	{Name: "am", Type: types.DataType{Kind: types.Array, Elem: ptr(types.DataType{Kind: types.Map, Key: ptr(types.IntType), Value: ptr(types.StringType)})}},
}}

const allRows = `[
{"b": true, "ti": 1, "si": 2, "i": 3, "bi": 4, "f": 1.5, "d": 2.25, "dec": "12.34", "s": "héllo", "bin": "AQI=", "dt": 19000, "tm": 3723004,
 "ts": 1700000000123, "ts6": 1700000000123456, "ltz": -86400001, "arr": [1, null, 3], "m": [{"key": "a", "value": 1}, {"key": "b", "value": null}],
 "r": {"x": 7, "y": ["p", null]}, "am": [[{"key": 1, "value": "one"}], null, []]},
{"b": null, "ti": null, "si": null, "i": null, "bi": null, "f": null, "d": null, "dec": null, "s": null, "bin": null, "dt": null, "tm": null,
 "ts": null, "ts6": null, "ltz": null, "arr": null, "m": null, "r": null, "am": null},
{"b": false, "ti": -128, "si": -32768, "i": -2147483648, "bi": -9223372036854775808, "f": -0.0, "d": 1e300, "dec": "-99999999.99", "s": "", "bin": "", "dt": -1, "tm": 0,
 "ts": -1, "ts6": -1, "ltz": 0, "arr": [], "m": [], "r": {"x": null, "y": null}, "am": []}
]`

func batchFromJSON(t *testing.T, s types.Schema, js string) arrow.RecordBatch {
	t.Helper()
	b, _, err := array.RecordFromJSON(memory.DefaultAllocator, s.Arrow(), strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, cfg Config, s types.Schema, batches ...arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(cfg, &buf, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range batches {
		k, err := w.Write(b)
		if err != nil {
			t.Fatal(err)
		}
		n += k
	}
	k, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n+k != buf.Len() {
		t.Fatalf("writer reported %d bytes, wrote %d", n+k, buf.Len())
	}
	return buf.Bytes()
}

func readAll(t *testing.T, cfg Config, data []byte, s types.Schema, proj []int, batchSize int, skip int64) []arrow.RecordBatch {
	t.Helper()
	r, err := NewReader(cfg, bytes.NewReader(data), "f.parquet", s, proj, batchSize, skip, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []arrow.RecordBatch
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

func concat(t *testing.T, bs []arrow.RecordBatch) arrow.Table {
	t.Helper()
	return array.NewTableFromRecords(bs[0].Schema(), bs)
}

func TestRoundTripAllTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := batchFromJSON(t, allTypes, allRows)
	defer in.Release()
	for _, int64ts := range []bool{false, true} {
		cfg := defaultConfig()
		cfg.Int64 = int64ts
		data := writeFile(t, cfg, allTypes, in)
		r, err := NewReader(cfg, bytes.NewReader(data), "f.parquet", allTypes, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, 2, 0, mem)
		if err != nil {
			t.Fatal(err)
		}
		var got []arrow.RecordBatch
		for {
			b, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			got = append(got, b)
		}
		r.Close()
		if len(got) != 2 {
			t.Fatalf("int64=%v: %d batches, want 2 of at most 2 rows", int64ts, len(got))
		}
		for i := range allTypes.Columns {
			want := in.Column(i)
			a0, a1 := got[0].Column(i), got[1].Column(i)
			if !array.Equal(array.NewSlice(want, 0, 2), a0) || !array.Equal(array.NewSlice(want, 2, 3), a1) {
				t.Errorf("int64=%v: column %s:\n got %v %v\nwant %v", int64ts, allTypes.Columns[i].Name, a0, a1, want)
			}
		}
		for _, b := range got {
			b.Release()
		}
	}
}

func TestNullMapKeyIsAnError(t *testing.T) {
	s := types.Schema{Columns: []types.Column{{Name: "m", Type: types.DataType{Kind: types.Map, Key: ptr(types.IntType), Value: ptr(types.IntType)}}}}
	in := batchFromJSON(t, s, `[{"m": [{"key": null, "value": 1}]}]`)
	defer in.Release()
	w, err := NewWriter(defaultConfig(), io.Discard, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(in); err == nil || !strings.Contains(err.Error(), "column 'm': a MAP key is NULL") {
		t.Fatalf("got %v", err)
	}
}

// A file written by another tool, with other Arrow types than the table's:
// they are cast, missing columns and ROW fields read as NULL, and columns
// not projected are not read, even when their type does not fit.
func TestForeignFile(t *testing.T) {
	fs := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "name", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int16, ValueType: arrow.BinaryTypes.String}, Nullable: true},
		{Name: "bad", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "r", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int16, Nullable: true}), Nullable: true},
		{Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true},
	}, nil)
	in, _, err := array.RecordFromJSON(memory.DefaultAllocator, fs, strings.NewReader(`[
		{"id": 1, "ts": 1700000000123000, "name": "x", "bad": "not a number", "r": {"a": 5}, "raw": "aGk="},
		{"id": null, "ts": null, "name": null, "bad": null, "r": null, "raw": null}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Release()
	var buf bytes.Buffer
	if err := pqarrow.WriteTable(array.NewTableFromRecords(fs, []arrow.RecordBatch{in}), &buf, 1024, nil,
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())); err != nil {
		t.Fatal(err)
	}
	table := types.Schema{Columns: []types.Column{
		{Name: "id", Type: types.BigIntType},
		{Name: "ts", Type: types.DataType{Kind: types.Timestamp, Precision: 3}},
		{Name: "name", Type: types.StringType},
		{Name: "bad", Type: types.IntType},
		{Name: "r", Type: types.RowType(types.Field{Name: "a", Type: types.IntType}, types.Field{Name: "b", Type: types.StringType})},
		{Name: "missing", Type: types.DoubleType},
		{Name: "raw", Type: types.StringType},
	}}
	got := readAll(t, defaultConfig(), buf.Bytes(), table, []int{5, 0, 1, 2, 4, 6}, 10, 0)
	if len(got) != 1 {
		t.Fatalf("%d batches", len(got))
	}
	want := batchFromJSON(t, types.Schema{Columns: []types.Column{table.Columns[5], table.Columns[0], table.Columns[1], table.Columns[2], table.Columns[4], table.Columns[6]}}, `[
		{"missing": null, "id": 1, "ts": 1700000000123, "name": "x", "r": {"a": 5, "b": null}, "raw": "hi"},
		{"missing": null, "id": null, "ts": null, "name": null, "r": null, "raw": null}]`)
	defer want.Release()
	if !array.RecordEqual(want, got[0]) {
		t.Fatalf("got\n%v\nwant\n%v", got[0], want)
	}
	_, err = NewReader(defaultConfig(), bytes.NewReader(buf.Bytes()), "f.parquet", table, []int{3}, 10, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "f.parquet: column 'bad' of type utf8 cannot be read as INT") {
		t.Fatalf("got %v", err)
	}
}

// Skipping rows, as a restored reader does, starts in the right row group.
func TestSkip(t *testing.T) {
	s := types.Schema{Columns: []types.Column{{Name: "n", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}}
	cfg := defaultConfig()
	cfg.BlockSize = 1 // a row group per batch written
	var bs []arrow.RecordBatch
	for i := 0; i < 5; i++ {
		var sb strings.Builder
		sb.WriteString("[")
		for j := 0; j < 10; j++ {
			if j > 0 {
				sb.WriteString(",")
			}
			n := i*10 + j
			sb.WriteString(`{"n": ` + itoa(n) + `, "s": "v` + itoa(n) + `"}`)
		}
		sb.WriteString("]")
		bs = append(bs, batchFromJSON(t, s, sb.String()))
	}
	data := writeFile(t, cfg, s, bs...)
	for _, skip := range []int64{0, 1, 10, 23, 49, 50} {
		got := readAll(t, cfg, data, s, []int{1, 0}, 7, skip)
		next := skip
		for _, b := range got {
			ns := b.Column(1).(*array.Int64)
			for i := 0; i < ns.Len(); i++ {
				if ns.Value(i) != next || b.Column(0).(*array.String).Value(i) != "v"+itoa(int(next)) {
					t.Fatalf("skip %d: row %d is %v", skip, next, b)
				}
				next++
			}
		}
		if next != 50 {
			t.Fatalf("skip %d: read up to %d", skip, next)
		}
	}
	if _, err := NewReader(cfg, bytes.NewReader(data), "f.parquet", s, []int{0}, 7, 51, nil); err == nil {
		t.Fatal("skipping past the end succeeded")
	}
	// Without a projected column the rows are counted from the metadata.
	got := readAll(t, cfg, data, s, nil, 16, 3)
	rows := 0
	for _, b := range got {
		rows += int(b.NumRows())
	}
	if rows != 47 {
		t.Fatalf("%d rows", rows)
	}
}

func TestNotParquet(t *testing.T) {
	_, err := NewReader(defaultConfig(), bytes.NewReader([]byte("a,b\n1,2\n")), "data.csv", allTypes, []int{0}, 10, 0, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "parquet: data.csv: ") {
		t.Fatalf("got %v", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// With parquet.utc-timezone false (Flink's default) a TIMESTAMP is written
// as the INT96 instant its wall clock denotes in the local time zone, and
// read back as that wall clock; INT64 timestamps and TIMESTAMP_LTZ values
// are never shifted.
func TestLocalTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	saved := time.Local
	time.Local = ny
	defer func() { time.Local = saved }()
	s := types.Schema{Columns: []types.Column{
		{Name: "ts", Type: types.DataType{Kind: types.Timestamp, Precision: 3}},
		{Name: "ltz", Type: types.DataType{Kind: types.TimestampLTZ, Precision: 3}},
	}}
	// 2024-07-01 12:00 (EDT, -4h), 2024-01-01 12:00 (EST, -5h), NULL.
	const summer, winter = 1719835200000, 1704110400000
	in := batchFromJSON(t, s, fmt.Sprintf(`[{"ts": %d, "ltz": %d}, {"ts": %d, "ltz": null}, {"ts": null, "ltz": 0}]`, summer, summer, winter))
	defer in.Release()
	for _, tc := range []struct {
		cfg   func(*Config)
		shift []int64 // hours added to the stored ts values
	}{
		{func(c *Config) { c.UTC = false }, []int64{4, 5}},
		{func(c *Config) { c.UTC = true }, []int64{0, 0}},
		{func(c *Config) { c.UTC = false; c.Int64 = true }, []int64{0, 0}},
	} {
		cfg := defaultConfig()
		tc.cfg(&cfg)
		data := writeFile(t, cfg, s, in)
		raw, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		stored := raw.Column(0).Data().Chunk(0).(*array.Timestamp)
		unit := stored.DataType().(*arrow.TimestampType).Unit
		for i, base := range []int64{summer, winter} {
			want := (base + tc.shift[i]*3600_000) * int64(time.Millisecond/unit.Multiplier())
			if got := int64(stored.Value(i)); got != want {
				t.Errorf("%+v: stored ts %d is %d, want %d", cfg, i, got, want)
			}
		}
		if ltz := raw.Column(1).Data().Chunk(0).(*array.Timestamp); int64(ltz.Value(0)) != summer*int64(time.Millisecond/ltz.DataType().(*arrow.TimestampType).Unit.Multiplier()) {
			t.Errorf("%+v: stored ltz %d", cfg, ltz.Value(0))
		}
		raw.Release()
		got := readAll(t, cfg, data, s, []int{0, 1}, 10, 0)
		if !array.RecordEqual(in, got[0]) {
			t.Errorf("%+v: read back\n%v\nwant\n%v", cfg, got[0], in)
		}
	}
}
