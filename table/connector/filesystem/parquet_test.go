package filesystem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

var nested = types.Schema{Columns: []types.Column{
	col("id", types.IntType),
	col("arr", types.ArrayType(types.StringType)),
	col("m", types.MapType(types.StringType, types.ArrayType(types.IntType))),
	col("r", types.RowType(types.Field{Name: "x", Type: types.BigIntType}, types.Field{Name: "ts", Type: types.TimestampType(3)})),
}}

const nestedRows = `[
{"id": 1, "arr": ["a", null, "c"], "m": [{"key": "k", "value": [1, 2]}, {"key": "n", "value": null}], "r": {"x": 5, "ts": 1577836800123}},
{"id": 2, "arr": [], "m": [], "r": {"x": null, "ts": null}},
{"id": null, "arr": null, "m": null, "r": null}
]`

// TestParquetNested writes ARRAY, MAP and ROW columns through the sink as
// Parquet LIST, MAP and groups, and reads them back.
func TestParquetNested(t *testing.T) {
	dir := t.TempDir()
	tbl := table(dir, nested, "format", "parquet")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := fromJSON(t, mem, nested, nestedRows)
	defer in.Release()
	write(t, tbl, 0, in)
	want := rowStrings(in)
	slices.Sort(want)
	require.Equal(t, want, rows(t, connector.ScanSpec{Table: tbl}, 1))
	require.Equal(t, []string{"(null)|(null)", `["a",null,"c"]|1`, "[]|2"},
		rows(t, connector.ScanSpec{Table: tbl, Projection: []int{1, 0}}, 1))
}

// parquetFiles writes n files of rows 1..per, per+1..2per, ... through
// sinks of subtask i, each file with row groups of about one batch of 3.
func parquetFiles(t *testing.T, tbl connector.TableInfo, n, per int) []string {
	s := tbl.Schema
	var want []string
	k := 0
	for i := range n {
		var batches []arrow.RecordBatch
		for start := 0; start < per; start += 3 {
			var js []string
			for j := start; j < min(start+3, per); j++ {
				k++
				js = append(js, fmt.Sprintf(`{"n": %d, "s": "v%d"}`, k, k))
				want = append(want, fmt.Sprintf("%d|v%d", k, k))
			}
			batches = append(batches, fromJSON(t, memory.DefaultAllocator, s, "["+strings.Join(js, ",")+"]"))
		}
		write(t, tbl, i, batches...)
		for _, b := range batches {
			b.Release()
		}
	}
	return want
}

// TestParquetSnapshotRestore stops a reader after each batch, snapshots
// it and reads the rest from a restored reader: the restored reader seeks
// into the row group of its position, and every row is read once.
func TestParquetSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("s", types.StringType)}}
	tbl := table(dir, s, "format", "parquet", "parquet.block.size", "1b")
	want := parquetFiles(t, tbl, 2, 7)
	slices.Sort(want)
	rc := connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator(), BatchSize: 2}
	for stop := 0; stop <= 8; stop++ {
		got := readResumed(t, connector.ScanSpec{Table: tbl}, rc, stop)
		slices.Sort(got)
		require.Equal(t, want, got, "stop after %d batches", stop)
	}
	// The same without any projected column (COUNT(*)): rows are counted
	// from the files' metadata.
	for stop := 0; stop <= 8; stop++ {
		got := readResumed(t, connector.ScanSpec{Table: tbl, Projection: []int{}}, rc, stop)
		require.Len(t, got, 14, "stop after %d batches", stop)
	}
}

// TestParquetRescale reads a partitioned Parquet table through savepoints
// at changing parallelism.
func TestParquetRescale(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("s", types.StringType), col("p", types.StringType)}}
	tbl := table(dir, s, "format", "parquet")
	tbl.PartitionKeys = []string{"p"}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	var want []string
	for i := range 5 {
		var js []string
		for j := range i + 2 {
			n := i*10 + j
			js = append(js, fmt.Sprintf(`{"n": %d, "s": "v%d", "p": "p%d"}`, n, n, j%2))
			want = append(want, fmt.Sprintf("p%d|%d", j%2, n))
		}
		b := fromJSON(t, mem, s, "["+strings.Join(js, ",")+"]")
		write(t, tbl, i, b)
		b.Release()
	}
	mem.AssertSize(t, 0)
	slices.Sort(want)
	spec := connector.ScanSpec{Table: tbl, Projection: []int{2, 0}}
	requireRescaledReads(t, spec, want, [][]int{{2, 1}, {2, 3}, {1, 4, 2}}, func(sub int) int { return sub + 1 })
}

// TestParquetRolling: a part file rolls once its row groups reach the
// rolling size; with a row group per batch, each batch makes a file.
func TestParquetRolling(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("s", types.StringType)}}
	tbl := table(dir, s, "format", "parquet", "parquet.block.size", "1b", "sink.rolling-policy.file-size", "1b")
	want := parquetFiles(t, tbl, 1, 9)
	files, err := ListFiles(dir)
	require.NoError(t, err)
	require.Len(t, files, 3)
	for _, f := range files {
		require.True(t, strings.HasSuffix(f, ".parquet"), f)
	}
	got := rows(t, connector.ScanSpec{Table: tbl}, 2)
	slices.Sort(want)
	require.Equal(t, want, got)
}

// TestParquetForeignFile reads a file another tool wrote with other Arrow
// types; its column of a type that does not fit the table is not read
// unless projected, and then fails naming the file and the column.
func TestParquetForeignFile(t *testing.T) {
	dir := t.TempDir()
	fs := arrow.NewSchema([]arrow.Field{
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "bad", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "name", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, Nullable: true},
	}, nil)
	in, _, err := array.RecordFromJSON(memory.DefaultAllocator, fs, strings.NewReader(
		`[{"ts": 1577836800123456, "n": 7, "bad": "x", "name": "a"}, {"ts": null, "n": null, "bad": null, "name": "a"}]`))
	require.NoError(t, err)
	defer in.Release()
	var buf bytes.Buffer
	require.NoError(t, pqarrow.WriteTable(array.NewTableFromRecords(fs, []arrow.RecordBatch{in}), &buf, 1024, nil,
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())))
	name := filepath.Join(dir, "other.parquet")
	require.NoError(t, os.WriteFile(name, buf.Bytes(), 0o644))
	s := types.Schema{Columns: []types.Column{
		col("n", types.BigIntType), col("name", types.StringType), col("ts", types.TimestampType(3)),
		col("bad", types.IntType), col("extra", types.BooleanType),
	}}
	tbl := table(dir, s, "format", "parquet")
	require.Equal(t, []string{"(null)|a|(null)|(null)", "7|a|2020-01-01T00:00:00.123|(null)"},
		rows(t, connector.ScanSpec{Table: tbl, Projection: []int{0, 1, 2, 4}}, 1))
	_, err = readErr(t, tbl)
	require.ErrorContains(t, err, "parquet: "+name+": column 'bad' of type utf8 cannot be read as INT")
}

func TestParquetBadFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "a.parquet")
	require.NoError(t, os.WriteFile(name, []byte("1,2\n3,4\n"), 0o644))
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	_, err := readErr(t, table(dir, s, "format", "parquet"))
	require.ErrorContains(t, err, "parquet: "+name+": ")
}

func TestParquetOptionErrors(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	for _, tc := range []struct {
		opts []string
		want string
	}{
		{[]string{"format", "parquet", "parquet.foo", "1"}, "unsupported option 'parquet.foo'"},
		{[]string{"format", "parquet", "parquet.compression", "LZO"}, "invalid value 'LZO' for option 'parquet.compression': expected one of UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4_RAW"},
		{[]string{"format", "parquet", "parquet.timestamp.time.unit", "seconds"}, "expected one of nanos, micros, millis"},
		{[]string{"format", "parquet", "parquet.block.size", "0"}, "option 'parquet.block.size' must be positive"},
		{[]string{"format", "parquet", "csv.field-delimiter", ";"}, "option 'csv.field-delimiter' does not apply to format 'parquet'"},
		{[]string{"format", "csv", "parquet.compression", "GZIP"}, "option 'parquet.compression' does not apply to format 'csv'"},
	} {
		_, err := Factory{}.ValidateSink(table("/tmp/x", s, tc.opts...))
		require.ErrorContains(t, err, tc.want, "%v", tc.opts)
	}
	iv := types.Schema{Columns: []types.Column{col("i", types.DataType{Kind: types.IntervalDayTime, Precision: 3})}}
	_, err := Factory{}.ValidateSource(table("/tmp/x", iv, "format", "parquet"))
	require.ErrorContains(t, err, "format 'parquet': column 'i': type INTERVAL")
	_, err = Factory{}.ValidateSource(table("/tmp/x", s, "format", "PARQUET", "parquet.compression", "gzip", "parquet.utc-timezone", "true"))
	require.NoError(t, err)
}

// BenchmarkParquetRead reads 1M rows of five columns through the reader.
func BenchmarkParquetRead(b *testing.B) {
	dir := b.TempDir()
	s := benchSchema()
	tbl := table(dir, s, "format", "parquet", "parquet.compression", "SNAPPY")
	mem := memory.NewGoAllocator()
	w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Mem: mem})
	require.NoError(b, err)
	batch := benchBatch(mem, 8192)
	for range 1 << 20 / 8192 {
		require.NoError(b, w.Write(batch))
	}
	batch.Release()
	require.NoError(b, w.Finish())
	require.NoError(b, w.Close())
	b.ResetTimer()
	for range b.N {
		r, err := Factory{}.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem})
		require.NoError(b, err)
		var n int64
		for {
			batch, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(b, err)
			n += batch.NumRows()
			batch.Release()
		}
		require.NoError(b, r.Close())
		require.Equal(b, int64(1<<20), n)
	}
	b.ReportMetric(float64(b.N)*(1<<20)/b.Elapsed().Seconds(), "rows/s")
}
