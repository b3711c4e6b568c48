package filesystem

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

var partSchema = types.Schema{Columns: []types.Column{
	col("a", types.BigIntType), col("dt", types.StringType), col("s", types.StringType), col("hm", types.StringType),
}}

// TestPartitionedSink writes rows into key=value directories without the
// partition columns, and reads them back with the partition values from
// the directories.
func TestPartitionedSink(t *testing.T) {
	for _, format := range []string{"csv", "json", "parquet"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			// q10's options: the partition-commit and rolling ones are
			// accepted and ignored.
			tbl := table(dir, partSchema, "format", format,
				"sink.partition-commit.trigger", "partition-time", "sink.partition-commit.delay", "1 min",
				"sink.partition-commit.policy.kind", "success-file", "partition.time-extractor.timestamp-pattern", "$dt $hm:00",
				"sink.rolling-policy.rollover-interval", "1min", "sink.rolling-policy.check-interval", "1min")
			tbl.PartitionKeys = []string{"dt", "hm"}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b1 := fromJSON(t, mem, partSchema, `[
				{"a": 1, "dt": "2015-07-15", "s": "x", "hm": "00:00"},
				{"a": 2, "dt": "2015-07-15", "s": "y", "hm": "00:00"},
				{"a": 3, "dt": "2015-07-15", "s": null, "hm": "00:01"},
				{"a": 4, "dt": null, "s": "z", "hm": " "},
				{"a": 5, "dt": "2015-07-15", "s": "w", "hm": "00:00"}]`)
			defer b1.Release()
			b2 := fromJSON(t, mem, partSchema, `[{"a": 6, "dt": "a/b=c", "s": "v", "hm": "00:01"}]`)
			defer b2.Release()
			write(t, tbl, 0, b1, b2)

			files, err := ListFiles(dir)
			if err != nil {
				t.Fatal(err)
			}
			var dirs []string
			for _, f := range files {
				rel, _ := filepath.Rel(dir, filepath.Dir(f))
				dirs = append(dirs, filepath.ToSlash(rel))
			}
			sort.Strings(dirs)
			want := []string{
				"dt=2015-07-15/hm=00%3A00", "dt=2015-07-15/hm=00%3A01",
				"dt=__DEFAULT_PARTITION__/hm=__DEFAULT_PARTITION__", "dt=a%2Fb%3Dc/hm=00%3A01",
			}
			if strings.Join(dirs, "\n") != strings.Join(want, "\n") {
				t.Errorf("partition directories\n got %q\nwant %q", dirs, want)
			}
			// The files hold the data columns only.
			data, err := os.ReadFile(filepath.Join(dir, "dt=2015-07-15", "hm=00%3A01", filepath.Base(files[1])))
			if err != nil {
				t.Fatal(err)
			}
			if format == "csv" && strings.TrimSpace(string(data)) != "3," {
				t.Errorf("file content %q", data)
			}
			if format == "json" && strings.TrimSpace(string(data)) != `{"a":3,"s":null}` {
				t.Errorf("file content %q", data)
			}

			got := rows(t, connector.ScanSpec{Table: tbl}, 2)
			wantRows := []string{
				"1|2015-07-15|x|00:00", "2|2015-07-15|y|00:00", "3|2015-07-15|(null)|00:01",
				"4|(null)|z|(null)", "5|2015-07-15|w|00:00", "6|a/b=c|v|00:01",
			}
			if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
				t.Errorf("read back\n got %q\nwant %q", got, wantRows)
			}
			// A writer closed without Finish leaves no file behind in any
			// partition.
			w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Subtask: 1, Parallelism: 2, Mem: mem})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(b1); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var left int
			filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
				if !d.IsDir() {
					left++
				}
				return nil
			})
			if left != len(files) {
				t.Errorf("%d files after an abandoned write, want %d", left, len(files))
			}
			// A projection mixing partition and data columns.
			got = rows(t, connector.ScanSpec{Table: tbl, Projection: []int{3, 0}}, 1)
			if strings.Join(got, ",") != "(null)|4,00:00|1,00:00|2,00:00|5,00:01|3,00:01|6" {
				t.Errorf("projection: %q", got)
			}
		})
	}
}

// TestPartitionTypes partitions by integer, DATE and BOOLEAN columns.
func TestPartitionTypes(t *testing.T) {
	s := types.Schema{Columns: []types.Column{
		col("i", types.IntType), col("d", types.DateType), col("b", types.BooleanType), col("v", types.StringType),
	}}
	dir := t.TempDir()
	tbl := table(dir, s, "format", "csv", "partition.default-name", "none")
	tbl.PartitionKeys = []string{"b", "i", "d"}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := fromJSON(t, mem, s, `[{"i": -3, "d": 16631, "b": true, "v": "p"}, {"i": null, "d": 0, "b": false, "v": "q"}]`)
	defer in.Release()
	write(t, tbl, 0, in)
	for _, d := range []string{"b=true/i=-3/d=2015-07-15", "b=false/i=none/d=1970-01-01"} {
		if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(d))); err != nil || !st.IsDir() {
			t.Errorf("no directory %s: %v", d, err)
		}
	}
	got := rows(t, connector.ScanSpec{Table: tbl}, 1)
	want := append(rowStrings(in), []string{}...)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("read back\n got %q\nwant %q", got, want)
	}
}

func TestPartitionErrors(t *testing.T) {
	for _, tc := range []struct {
		schema types.Schema
		keys   []string
		want   string
	}{
		{partSchema, []string{"nope"}, "not a column"},
		{types.Schema{Columns: []types.Column{col("x", types.DoubleType), col("y", types.IntType)}}, []string{"x"}, "partitions by CHAR"},
		{types.Schema{Columns: []types.Column{col("x", types.IntType)}}, []string{"x"}, "only partition columns"},
	} {
		tbl := table(t.TempDir(), tc.schema, "format", "csv")
		tbl.PartitionKeys = tc.keys
		if _, err := (Factory{}).ValidateSink(tbl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.keys, err, tc.want)
		}
	}
}

func TestEscapePathName(t *testing.T) {
	for in, want := range map[string]string{"10:05": "10%3A05", "a b": "a b", "x%y": "x%25y", "\x01#": "%01%23", "ok": "ok"} {
		if got := escapePathName(in); got != want {
			t.Errorf("escape %q = %q, want %q", in, got, want)
		}
		if back := unescapePathName(want); back != in {
			t.Errorf("unescape %q = %q, want %q", want, back, in)
		}
	}
	if got := unescapePathName("100%"); got != "100%" {
		t.Errorf("unescape of a lone %%: %q", got)
	}
}

// TestOpenPartitionsBounded writes to more partitions than a writer keeps
// open: the least recently written part files are committed early, and
// every row is still written once.
func TestOpenPartitionsBounded(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("v", types.IntType), col("p", types.IntType)}}
	dir := t.TempDir()
	tbl := table(dir, s, "format", "csv")
	tbl.PartitionKeys = []string{"p"}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const parts = maxOpenPartitions + 8
	for round := range 2 {
		var rows []string
		for p := range parts {
			rows = append(rows, fmt.Sprintf(`{"v": %d, "p": %d}`, round*parts+p, p))
		}
		b := fromJSON(t, mem, s, "["+strings.Join(rows, ",")+"]")
		err := w.Write(b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	var inProgress int
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if strings.HasSuffix(d.Name(), ".inprogress") {
			inProgress++
		}
		return nil
	})
	if inProgress > maxOpenPartitions {
		t.Errorf("%d part files open, at most %d allowed", inProgress, maxOpenPartitions)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	if got := rows(t, connector.ScanSpec{Table: tbl}, 1); len(got) != 2*parts {
		t.Errorf("%d rows read back, want %d", len(got), 2*parts)
	}
}

// TestPartitionedSnapshotRestore restores a reader of a partitioned table
// in the middle of its files: it continues with the same rows and
// partition values.
func TestPartitionedSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("p", types.StringType)}}
	for _, d := range []string{"p=a", "p=b"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "p=a", "1.csv"), []byte("1\n2\n3\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p=b", "2.csv"), []byte("4\n5\n"), 0o644)
	tbl := table(dir, s, "format", "csv")
	tbl.PartitionKeys = []string{"p"}
	spec := connector.ScanSpec{Table: tbl, Projection: []int{1, 0}}
	rc := connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator(), BatchSize: 2}
	for stop := 0; stop <= 3; stop++ {
		if got := readResumed(t, spec, rc, stop); strings.Join(got, " ") != "a|1 a|2 a|3 b|4 b|5" {
			t.Errorf("stop after %d batches: %v", stop, got)
		}
	}
}
