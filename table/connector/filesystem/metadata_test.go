package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// allMetadata declares every metadata key, in an order other than
// metadataKeys' listing.
var allMetadata = []connector.MetadataColumn{
	{Name: "mtime", Key: "file.modification-time", Type: types.TimestampLTZType(3), Virtual: true},
	{Name: "fpath", Key: "file.path", Type: types.StringType, Virtual: true},
	{Name: "fsize", Key: "file.size", Type: types.BigIntType, Virtual: true},
	{Name: "fname", Key: "file.name", Type: types.StringType, Virtual: true},
}

// metaRows reads a scan and renders its rows as rowStrings does, but a
// timestamp as its raw value (milliseconds for TIMESTAMP_LTZ(3)).
func metaRows(t *testing.T, spec connector.ScanSpec) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	// Read directly, not by connectortest.ReadAll: a changelog format's
	// batches end in the row kind column, which OutputSchema omits.
	r, err := Factory{}.CreateReader(spec, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 2})
	require.NoError(t, err)
	defer r.Close()
	var out []string
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for i := range int(b.NumRows()) {
			var f []string
			for _, c := range b.Columns() {
				if ts, ok := c.(*array.Timestamp); ok {
					f = append(f, fmt.Sprint(int64(ts.Value(i))))
				} else {
					f = append(f, c.ValueStr(i))
				}
			}
			out = append(out, strings.Join(f, "|"))
		}
		b.Release()
	}
	slices.Sort(out)
	return out
}

// stampFiles gives each file under dir its own modification time and
// returns, by file, the metadata text metaRows prints for allMetadata.
func stampFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := ListFiles(dir)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := map[string]string{}
	for i, f := range files {
		mtime := time.UnixMilli(1577836800123 + int64(i)*1001)
		require.NoError(t, os.Chtimes(f, mtime, mtime))
		st, err := os.Stat(f)
		require.NoError(t, err)
		abs, err := filepath.Abs(f)
		require.NoError(t, err)
		out[f] = fmt.Sprintf("%d|%s|%d|%s", st.ModTime().UnixMilli(), abs, st.Size(), filepath.Base(f))
	}
	return out
}

// TestMetadataColumns reads two files in every format with the four
// metadata columns, with and without projected columns, and through a
// snapshot and restore after each batch: every row carries the path,
// name, size and modification time of its own file.
func TestMetadataColumns(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	for _, format := range []string{"csv", "json", "parquet", "debezium-json"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			tbl := table(dir, s, "format", format)
			// The values of n in each file.
			values := map[string][]int{}
			switch format {
			case "parquet":
				write(t, tbl, 0, fromJSON(t, memory.DefaultAllocator, s, `[{"n": 1}, {"n": 2}, {"n": 3}]`))
				write(t, tbl, 1, fromJSON(t, memory.DefaultAllocator, s, `[{"n": 4}, {"n": 5}]`))
				files, err := ListFiles(dir)
				require.NoError(t, err)
				require.Len(t, files, 2)
				// Part files are named by a random uuid, then the subtask.
				for _, f := range files {
					if strings.Contains(filepath.Base(f), "-0-") {
						values[f] = []int{1, 2, 3}
					} else {
						values[f] = []int{4, 5}
					}
				}
			default:
				line := map[string]string{"csv": "%d", "json": `{"n": %d}`, "debezium-json": `{"before":null,"after":{"n":%d},"op":"c"}`}[format]
				for name, ns := range map[string][]int{"a.txt": {1, 2, 3}, "b.txt": {4, 5}} {
					var text string
					for _, n := range ns {
						text += fmt.Sprintf(line, n) + "\n"
					}
					writeFile(t, dir, name, text)
					values[filepath.Join(dir, name)] = ns
				}
			}
			meta := stampFiles(t, dir)
			kind := ""
			if format == "debezium-json" {
				kind = fmt.Sprintf("|%d", connector.Insert)
			}
			var want, wantMeta []string
			for f, ns := range values {
				for _, n := range ns {
					want = append(want, fmt.Sprintf("%d|%s%s", n, meta[f], kind))
					wantMeta = append(wantMeta, meta[f]+kind)
				}
			}
			slices.Sort(want)
			slices.Sort(wantMeta)
			tbl.Metadata = allMetadata
			require.Equal(t, want, metaRows(t, connector.ScanSpec{Table: tbl}))
			// Only metadata columns (SELECT fname, COUNT(*) ... GROUP BY fname).
			require.Equal(t, wantMeta, metaRows(t, connector.ScanSpec{Table: tbl, Projection: []int{}}))

			// A restored reader gives the rows of the file it resumes in that
			// file's metadata (rowStrings prints the path, size and name
			// after the timestamp).
			fileOf := map[string]string{}
			for f, ns := range values {
				for _, n := range ns {
					fileOf[fmt.Sprint(n)] = meta[f][strings.Index(meta[f], "|"):] + kind
				}
			}
			rc := connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator(), BatchSize: 2}
			for stop := 0; stop <= 3; stop++ {
				got := readResumed(t, connector.ScanSpec{Table: tbl}, rc, stop)
				require.Len(t, got, len(want), "stop after %d batches", stop)
				for _, row := range got {
					n, rest, _ := strings.Cut(row, "|")
					_, rest, _ = strings.Cut(rest, "|")
					require.Equal(t, fileOf[n], "|"+rest, "stop after %d batches", stop)
				}
			}
		})
	}
}

// TestMetadataPartitioned reads a partitioned table: the metadata columns
// follow the data and partition columns, projected or not.
func TestMetadataPartitioned(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("p", types.StringType)}}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "p=x"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "p=y"), 0o755))
	writeFile(t, dir, "p=x/a.csv", "1\n2\n")
	writeFile(t, dir, "p=y/b.csv", "3\n")
	meta := stampFiles(t, dir)
	a, b := meta[filepath.Join(dir, "p=x", "a.csv")], meta[filepath.Join(dir, "p=y", "b.csv")]
	tbl := table(dir, s, "format", "csv")
	tbl.PartitionKeys = []string{"p"}
	tbl.Metadata = allMetadata
	want := []string{"1|x|" + a, "2|x|" + a, "3|y|" + b}
	require.Equal(t, want, metaRows(t, connector.ScanSpec{Table: tbl}))
	want = []string{"x|" + a, "x|" + a, "y|" + b}
	require.Equal(t, want, metaRows(t, connector.ScanSpec{Table: tbl, Projection: []int{1}}))
	// Only the size: the metadata a scan asks for is all it produces.
	tbl.Metadata = allMetadata[2:3]
	size := func(m string) string { return strings.Split(m, "|")[2] }
	want = []string{size(a), size(a), size(b)}
	slices.Sort(want)
	require.Equal(t, want, metaRows(t, connector.ScanSpec{Table: tbl, Projection: []int{}}))
}

// TestMetadataErrors checks the declared metadata columns: unknown keys
// and types other than a key's are rejected.
func TestMetadataErrors(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	for _, c := range []struct {
		m    connector.MetadataColumn
		want string
	}{
		{connector.MetadataColumn{Name: "x", Key: "file.owner", Type: types.StringType}, "unknown metadata key 'file.owner' of column 'x'"},
		{connector.MetadataColumn{Name: "x", Key: "file.size", Type: types.IntType}, "metadata column 'x' cannot have type INT; 'file.size' is BIGINT NOT NULL"},
		{connector.MetadataColumn{Name: "x", Key: "file.modification-time", Type: types.StringType}, "'file.modification-time' is TIMESTAMP_LTZ(3) NOT NULL"},
		{connector.MetadataColumn{Name: "x", Key: "file.path", Type: types.BigIntType}, "'file.path' is STRING NOT NULL"},
	} {
		tbl := table(t.TempDir(), s, "format", "csv")
		tbl.Metadata = []connector.MetadataColumn{c.m}
		_, err := Factory{}.ValidateSource(tbl)
		require.ErrorContains(t, err, c.want)
	}
}
