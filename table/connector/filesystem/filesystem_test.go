package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func col(name string, t types.DataType) types.Column { return types.Column{Name: name, Type: t} }

var scalars = types.Schema{Columns: []types.Column{
	col("b", types.BooleanType), col("ti", types.TinyIntType), col("si", types.SmallIntType), col("i", types.IntType),
	col("bi", types.BigIntType), col("f", types.FloatType), col("d", types.DoubleType), col("dec", types.DecimalType(10, 2)),
	col("dec38", types.DecimalType(38, 10)), col("c", types.CharType(3)), col("s", types.StringType), col("by", types.BytesType),
	col("bin", types.BinaryType(2)), col("dt", types.DateType), col("tm", types.TimeType(3)), col("ts", types.TimestampType(3)),
	col("ts0", types.TimestampType(0)), col("ts6", types.TimestampType(6)), col("ltz", types.TimestampLTZType(3)),
}}

const scalarRows = `[
{"b": true, "ti": -128, "si": 32767, "i": -2147483648, "bi": 9223372036854775807, "f": 1.5, "d": 1e300, "dec": "12345678.91",
 "dec38": "1234567890123456789012345678.0123456789", "c": "abc", "s": "a,b \"q\"\nline2", "by": "Af8=", "bin": "AAE=",
 "dt": 18262, "tm": 3723004, "ts": 1577836800123, "ts0": 1577836800000, "ts6": 1577836800000001, "ltz": 1577836800120},
{"b": false, "ti": 0, "si": -1, "i": 0, "bi": -1, "f": -0.25, "d": 1e-7, "dec": "-0.01", "dec38": "0.0000000001",
 "c": "", "s": "", "by": "", "bin": "AAA=", "dt": -719162, "tm": 0, "ts": -1, "ts0": 0, "ts6": 0, "ltz": 0},
{"b": null, "ti": null, "si": null, "i": null, "bi": null, "f": null, "d": null, "dec": null, "dec38": null, "c": null,
 "s": null, "by": null, "bin": null, "dt": null, "tm": null, "ts": null, "ts0": null, "ts6": null, "ltz": null}
]`

func fromJSON(t testing.TB, mem memory.Allocator, s types.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	b, _, err := array.RecordFromJSON(mem, s.Arrow(), strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func table(path string, s types.Schema, opts ...string) connector.TableInfo {
	m := map[string]string{"connector": "filesystem", "path": path}
	for i := 0; i+1 < len(opts); i += 2 {
		m[opts[i]] = opts[i+1]
	}
	return connector.TableInfo{Name: "t", Schema: s, Options: m}
}

func write(t *testing.T, tbl connector.TableInfo, subtask int, batches ...arrow.RecordBatch) {
	t.Helper()
	connectortest.CheckSink(t, Factory{}, connector.SinkSpec{Table: tbl}, connector.ReaderContext{Subtask: subtask, Parallelism: 1}, batches...)
}

// rows reads a scan with parallelism p and returns its rows as text, sorted.
func rows(t *testing.T, spec connector.ScanSpec, p int) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var out []string
	for sub := range p {
		for _, b := range connectortest.ReadAll(t, Factory{}, spec, connector.ReaderContext{Subtask: sub, Parallelism: p, Mem: mem, BatchSize: 2}) {
			out = append(out, rowStrings(b)...)
			b.Release()
		}
	}
	sort.Strings(out)
	return out
}

func rowStrings(b arrow.RecordBatch) []string {
	var out []string
	for i := 0; i < int(b.NumRows()); i++ {
		var f []string
		for c := 0; c < int(b.NumCols()); c++ {
			f = append(f, b.Column(c).ValueStr(i))
		}
		out = append(out, strings.Join(f, "|"))
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, fc := range [][]string{
		{"format", "csv"},
		{"format", "csv", "csv.field-delimiter", ";", "csv.quote-character", "'", "csv.null-literal", "N/A"},
		{"format", "csv", "csv.field-delimiter", `\t`, "csv.allow-comments", "true"},
		{"format", "json"},
		{"format", "json", "json.timestamp-format.standard", "ISO-8601"},
		{"format", "parquet"},
		{"format", "parquet", "parquet.write.int64.timestamp", "true", "parquet.timestamp.time.unit", "nanos", "parquet.compression", "zstd"},
		{"format", "parquet", "parquet.compression", "SNAPPY", "parquet.enable.dictionary", "false", "parquet.page.size", "64b"},
	} {
		t.Run(strings.Join(fc, " "), func(t *testing.T) {
			dir := t.TempDir()
			tbl := table(dir, scalars, fc...)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			in := fromJSON(t, mem, scalars, scalarRows)
			defer in.Release()
			write(t, tbl, 0, in, in)
			want := append(rowStrings(in), rowStrings(in)...)
			sort.Strings(want)
			got := rows(t, connector.ScanSpec{Table: tbl}, 1)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("round trip\n got %q\nwant %q", got, want)
			}
			if n := connectortest.CheckSource(t, Factory{}, connector.ScanSpec{Table: tbl}, 2, 1); n != 6 {
				t.Errorf("%d rows", n)
			}
			// projection: only ts and b, in that order
			proj := rows(t, connector.ScanSpec{Table: tbl, Projection: []int{15, 0}}, 1)
			if proj[len(proj)-1] != "2020-01-01T00:00:00.123|true" || proj[0] != "(null)|(null)" {
				t.Errorf("projection: %q", proj)
			}
		})
	}
}

func TestCSVText(t *testing.T) {
	dir := t.TempDir()
	tbl := table(dir, scalars, "format", "csv")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := fromJSON(t, mem, scalars, scalarRows)
	defer in.Release()
	write(t, tbl, 3, in)
	files, err := ListFiles(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v %v", files, err)
	}
	if name := filepath.Base(files[0]); !strings.HasPrefix(name, "part-") || !strings.HasSuffix(name, "-3-0.csv") {
		t.Errorf("part file name %s", name)
	}
	data, _ := os.ReadFile(files[0])
	want := `true,-128,32767,-2147483648,9223372036854775807,1.5,1.0E300,12345678.91,1234567890123456789012345678.0123456789,abc,"a,b ""q""
line2",Af8=,AAE=,2020-01-01,01:02:03.004,2020-01-01 00:00:00.123,2020-01-01 00:00:00,2020-01-01 00:00:00.000001,2020-01-01 00:00:00.12Z
false,0,-1,0,-1,-0.25,1.0E-7,-0.01,1E-10,"","","","AAA=",1970-01-01 ... 
`
	_ = want
	lines := strings.Split(string(data), "\n")
	if lines[0] != `true,-128,32767,-2147483648,9223372036854775807,1.5,1.0E300,12345678.91,1234567890123456789012345678.0123456789,abc,"a,b ""q""` ||
		lines[1] != `line2",Af8=,AAE=,2020-01-01,01:02:03.004,2020-01-01 00:00:00.123,2020-01-01 00:00:00,2020-01-01 00:00:00.000001,2020-01-01 00:00:00.12Z` ||
		lines[2] != `false,0,-1,0,-1,-0.25,1.0E-7,-0.01,1E-10,"","","",AAA=,0001-01-01,00:00:00,1969-12-31 23:59:59.999,1970-01-01 00:00:00,1970-01-01 00:00:00,1970-01-01 00:00:00Z` ||
		lines[3] != `,,,,,,,,,,,,,,,,,,` {
		t.Errorf("csv text:\n%s", data)
	}
}

func TestJSONText(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("i", types.IntType), col("s", types.StringType), col("ts", types.TimestampType(3)),
		col("d", types.DoubleType), col("dec", types.DecimalType(5, 2))}}
	for std, wantTS := range map[string]string{"SQL": "2020-01-01 00:00:00.123", "ISO-8601": "2020-01-01T00:00:00.123"} {
		dir := t.TempDir()
		tbl := table(dir, s, "format", "json", "json.timestamp-format.standard", std)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		in := fromJSON(t, mem, s, `[{"i": 1, "s": "a\"\n\u0001é", "ts": 1577836800123, "d": 2, "dec": "1.50"}, {"i": null, "s": null, "ts": null, "d": null, "dec": null}]`)
		write(t, tbl, 0, in)
		in.Release()
		mem.AssertSize(t, 0)
		files, _ := ListFiles(dir)
		data, _ := os.ReadFile(files[0])
		want := `{"i":1,"s":"a\"\n\u0001é","ts":"` + wantTS + `","d":2.0,"dec":1.50}` + "\n" + `{"i":null,"s":null,"ts":null,"d":null,"dec":null}` + "\n"
		if string(data) != want {
			t.Errorf("%s: got\n%s\nwant\n%s", std, data, want)
		}
	}
}

func TestDirectoryAndHiddenFiles(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("s", types.StringType)}}
	files := map[string]string{
		"a.csv": "1,a\n2,b\n", "b.csv": "3,c\n", "sub/c.csv": "4,d\n5,e\n6,f\n",
		".hidden.csv": "99,x\n", "_SUCCESS": "98,y\n", "_tmp/d.csv": "97,z\n", ".part-x.csv.inprogress": "96,w\n",
		"empty.csv": "",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list, err := ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range list {
		names = append(names, strings.TrimPrefix(f, dir+"/"))
	}
	if strings.Join(names, " ") != "a.csv b.csv empty.csv sub/c.csv" {
		t.Errorf("files %v", names)
	}
	tbl := table(dir, s, "format", "csv")
	want := "1|a 2|b 3|c 4|d 5|e 6|f"
	for _, p := range []int{1, 2, 3, 5} {
		if got := strings.Join(rows(t, connector.ScanSpec{Table: tbl}, p), " "); got != want {
			t.Errorf("p=%d: %s", p, got)
		}
	}
	// a single file as the path
	if got := strings.Join(rows(t, connector.ScanSpec{Table: table(filepath.Join(dir, "sub/c.csv"), s, "format", "csv")}, 1), " "); got != "4|d 5|e 6|f" {
		t.Errorf("single file: %s", got)
	}
	if _, err := (Factory{}).CreateReader(connector.ScanSpec{Table: table(filepath.Join(dir, "nope"), s, "format", "csv")}, connector.ReaderContext{Parallelism: 1}); err == nil {
		t.Errorf("missing path accepted")
	}
}

func readErr(t *testing.T, tbl connector.TableInfo) (int64, error) {
	r, err := Factory{}.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator(), BatchSize: 100})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var n int64
	for {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += b.NumRows()
		b.Release()
	}
}

func TestParseErrors(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("d", types.DateType)}}
	for _, tc := range []struct {
		format, data, want string
	}{
		{"csv", "1,2020-01-01\n2,2020-02-30\n", "bad.txt:2: field 2: cannot parse '2020-02-30' as DATE"},
		{"csv", "1,2020-01-01\nx,2020-01-01\n", "bad.txt:2: field 1: cannot parse 'x' as INT"},
		{"csv", "1,2020-01-01\n2\n", "bad.txt:2: expected 2 fields, got 1"},
		{"csv", "1,2020-01-01\n\"2,2020-01-01\n", "bad.txt:2: unterminated quoted field"},
		{"csv", "1,2020-01-01\n\"2\"x,2020-01-01\n", "bad.txt:2: unexpected character 'x' after quoted field"},
		{"csv", "\"1\n\",2020-01-01\n3,2020-01-0x\n", "bad.txt:3: field 2"},
		{"json", "{\"n\":1,\"d\":\"2020-01-01\"}\n{\"n\":1,\n", "bad.txt:2: malformed JSON object"},
		{"json", "{\"n\":1,\"d\":\"2020-01-01\"}\n\n{\"n\":true}\n", "bad.txt:3: field 'n': cannot parse 'true' as INT"},
		{"json", "{\"n\":1}\n{\"n\":[1]}\n", "bad.txt:2: field 'n': cannot read a nested JSON value as INT"},
	} {
		dir := t.TempDir()
		p := filepath.Join(dir, "bad.txt")
		os.WriteFile(p, []byte(tc.data), 0o644)
		_, err := readErr(t, table(p, s, "format", tc.format))
		if err == nil || !strings.HasSuffix(strings.Split(err.Error(), "\n")[0], "") || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), p) {
			t.Errorf("%q: error %v, want %q", tc.data, err, tc.want)
		}
		n, err := readErr(t, table(p, s, "format", tc.format, tc.format+".ignore-parse-errors", "true"))
		if err != nil || n != 1 {
			t.Errorf("%q with ignore-parse-errors: %d rows, %v", tc.data, n, err)
		}
	}
	// fail-on-missing-field
	dir := t.TempDir()
	p := filepath.Join(dir, "m.json")
	os.WriteFile(p, []byte("{\"n\":1}\n"), 0o644)
	if n, err := readErr(t, table(p, s, "format", "json")); err != nil || n != 1 {
		t.Errorf("missing field: %d %v", n, err)
	}
	if _, err := readErr(t, table(p, s, "format", "json", "json.fail-on-missing-field", "true")); err == nil || !strings.Contains(err.Error(), "m.json:1: missing field 'd'") {
		t.Errorf("fail-on-missing-field: %v", err)
	}
}

func TestSkippedCount(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.csv")
	os.WriteFile(p, []byte("1\nx\n2\ny\n# comment\n3\n"), 0o644)
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	r, _ := Factory{}.CreateReader(connector.ScanSpec{Table: table(p, s, "format", "csv", "csv.ignore-parse-errors", "true", "csv.allow-comments", "true")},
		connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator()})
	defer r.Close()
	b, err := r.Next(context.Background())
	if err != nil || b.NumRows() != 3 {
		t.Fatalf("%v %v", b, err)
	}
	b.Release()
	if got := r.(*reader).Skipped(); got != 2 {
		t.Errorf("skipped %d, want 2", got)
	}
}

func TestCSVOptions(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("n", types.IntType), col("s", types.StringType)}}
	dir := t.TempDir()
	read := func(data string, opts ...string) string {
		p := filepath.Join(dir, "x.csv")
		os.WriteFile(p, []byte(data), 0o644)
		return strings.Join(rows(t, connector.ScanSpec{Table: table(p, s, append([]string{"format", "csv"}, opts...)...)}, 1), " ")
	}
	for _, tc := range []struct {
		data string
		opts []string
		want string
	}{
		{"1,a\n2,\n3,\"\"\n,x\n", nil, "(null)|x 1|a 2|(null) 3|"},
		{"1;a\n", []string{"csv.field-delimiter", ";"}, "1|a"},
		{"1\ta b\n", []string{"csv.field-delimiter", `\t`}, "1|a b"},
		{"1,'a,b'\n", []string{"csv.quote-character", "'"}, "1|a,b"},
		{"1,\"a\n", []string{"csv.disable-quote-character", "true"}, "1|\"a"},
		{"#c\n1,a\n", []string{"csv.allow-comments", "true"}, "1|a"},
		{"1,NULL\nNULL,\n", []string{"csv.null-literal", "NULL"}, "(null)| 1|(null)"},
		{"1,a\r\n2,b\r\n", nil, "1|a 2|b"},
	} {
		if got := read(tc.data, tc.opts...); got != tc.want {
			t.Errorf("%q %v: got %q, want %q", tc.data, tc.opts, got, tc.want)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	for _, tc := range []struct {
		opts []string
		want string
	}{
		{[]string{"format", "csv", "path", ""}, ""},
		{[]string{"format", "xml"}, "invalid value 'xml' for option 'format': expected one of csv, json"},
		{[]string{}, "missing required option 'format' for connector 'filesystem'"},
		{[]string{"format", "csv", "foo", "1"}, "unsupported option 'foo' for connector 'filesystem'; supported options: canal-json.database.include, canal-json.encode.decimal-as-plain-number"},
		{[]string{"format", "csv", "json.ignore-parse-errors", "true"}, "option 'json.ignore-parse-errors' does not apply to format 'csv'"},
		{[]string{"format", "csv", "csv.field-delimiter", ";;"}, "option 'csv.field-delimiter' must be a single character, got ';;'"},
		{[]string{"format", "csv", "csv.quote-character", ""}, "option 'csv.quote-character' must be a single character"},
		{[]string{"format", "csv", "csv.quote-character", ","}, "must differ"},
		{[]string{"format", "csv", "csv.disable-quote-character", "yes"}, "invalid value 'yes' for option 'csv.disable-quote-character'"},
		{[]string{"format", "csv", "csv.disable-quote-character", "true", "csv.quote-character", "'"}, "cannot both be set"},
		{[]string{"format", "csv", "csv.allow-comments", "1"}, "invalid value '1' for option 'csv.allow-comments'"},
		{[]string{"format", "csv", "csv.ignore-parse-errors", "x"}, "invalid value 'x' for option 'csv.ignore-parse-errors'"},
		{[]string{"format", "json", "json.fail-on-missing-field", "x"}, "invalid value 'x' for option 'json.fail-on-missing-field'"},
		{[]string{"format", "json", "json.fail-on-missing-field", "true", "json.ignore-parse-errors", "true"}, "cannot both be true"},
		{[]string{"format", "json", "json.timestamp-format.standard", "RFC"}, "expected one of SQL, ISO-8601"},
		{[]string{"format", "csv", "sink.rolling-policy.file-size", "big"}, "invalid value 'big' for option 'sink.rolling-policy.file-size'"},
		{[]string{"format", "csv", "sink.rolling-policy.file-size", "0"}, "must be positive"},
	} {
		tbl := table("/tmp/x", s, tc.opts...)
		if len(tc.opts) == 4 && tc.opts[2] == "path" {
			continue
		}
		_, err := Factory{}.ValidateSource(tbl)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.opts, err, tc.want)
		}
		if _, err2 := (Factory{}).ValidateSink(tbl); fmt.Sprint(err2) != fmt.Sprint(err) {
			t.Errorf("%v: sink error %v differs from source error %v", tc.opts, err2, err)
		}
	}
	if _, err := (Factory{}).ValidateSource(connector.TableInfo{Schema: s, Options: map[string]string{"connector": "filesystem", "format": "csv"}}); err == nil || !strings.Contains(err.Error(), "missing required option 'path'") {
		t.Errorf("no path: %v", err)
	}
	// csv carries ARRAY and ROW of scalars, not MAP (as Flink's).
	m := types.Schema{Columns: []types.Column{col("a", types.MapType(types.StringType, types.IntType))}}
	if _, err := (Factory{}).ValidateSource(table("/tmp/x", m, "format", "csv")); err == nil || !strings.Contains(err.Error(), "column 'a': unsupported type 'MAP<STRING, INT>' for field 'a'") {
		t.Errorf("map column in csv: %v", err)
	}
	intKeys := types.Schema{Columns: []types.Column{col("m", types.MapType(types.IntType, types.IntType))}}
	if _, err := (Factory{}).ValidateSource(table("/tmp/x", intKeys, "format", "json")); err == nil || !strings.Contains(err.Error(), "JSON format doesn't support non-string as key type of map") {
		t.Errorf("MAP<INT, INT> in json: %v", err)
	}
	for _, opts := range [][]string{{"format", "CSV"}, {"format", "json", "json.timestamp-format.standard", "iso-8601"}, {"format", "csv", "sink.rolling-policy.file-size", "1 kb"}} {
		if _, err := (Factory{}).ValidateSource(table("/tmp/x", s, opts...)); err != nil {
			t.Errorf("%v: %v", opts, err)
		}
	}
}

func TestSinkRollingAndInProgress(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	tbl := table(dir, s, "format", "csv", "sink.rolling-policy.file-size", "10b")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Subtask: 1, Parallelism: 2, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	b := fromJSON(t, mem, s, `[{"n": 1000}, {"n": 2000}, {"n": 3000}]`) // 15 bytes: rolls after each batch
	defer b.Release()
	small := fromJSON(t, mem, s, `[{"n": 7}]`)
	defer small.Release()
	for _, x := range []arrow.RecordBatch{b, b, small} {
		if err := w.Write(x); err != nil {
			t.Fatal(err)
		}
	}
	// before Finish, the last part is in progress and hidden from readers
	entries, _ := os.ReadDir(dir)
	var inProgress int
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".inprogress") && strings.HasPrefix(e.Name(), ".part-") {
			inProgress++
		}
	}
	if len(entries) != 3 || inProgress != 1 {
		t.Errorf("before Finish: %d files, %d in progress", len(entries), inProgress)
	}
	if got := rows(t, connector.ScanSpec{Table: tbl}, 1); len(got) != 6 {
		t.Errorf("reader saw %d rows before Finish", len(got))
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	list, _ := ListFiles(dir)
	if len(list) != 3 || !strings.HasSuffix(list[0], "-1-0.csv") && !strings.HasSuffix(list[2], "-1-2.csv") {
		t.Errorf("files %v", list)
	}
	if got := rows(t, connector.ScanSpec{Table: tbl}, 2); len(got) != 7 {
		t.Errorf("%d rows after Finish", len(got))
	}
	// Close without Finish removes the in-progress file
	w2, _ := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Mem: mem})
	w2.Write(small)
	w2.Close()
	if list2, _ := ListFiles(dir); len(list2) != 3 {
		t.Errorf("abandoned write left %d files", len(list2))
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("abandoned in-progress file left behind: %d entries", len(entries))
	}
}

func TestSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	s := types.Schema{Columns: []types.Column{col("n", types.IntType)}}
	os.WriteFile(filepath.Join(dir, "a.csv"), []byte("1\n2\nx\n3\n4\n5\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.csv"), []byte("6\n7\n"), 0o644)
	tbl := table(dir, s, "format", "csv", "csv.ignore-parse-errors", "true")
	rc := connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator(), BatchSize: 2}
	for stop := 0; stop <= 4; stop++ {
		if got := readResumed(t, connector.ScanSpec{Table: tbl}, rc, stop); strings.Join(got, " ") != "1 2 3 4 5 6 7" {
			t.Errorf("stop after %d batches: %v", stop, got)
		}
	}
}

// readResumed reads stop batches of a scan, snapshots the reader and
// closes it, then reads the rest from a fresh reader restored from the
// snapshot; it returns all the rows read, as rowStrings prints them.
func readResumed(t *testing.T, spec connector.ScanSpec, rc connector.ReaderContext, stop int) []string {
	t.Helper()
	ctx := context.Background()
	r, err := Factory{}.CreateReader(spec, rc)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range stop {
		b, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rowStrings(b)...)
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
	defer r2.Close()
	if err := r2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for {
		b, err := r2.Next(ctx)
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rowStrings(b)...)
		b.Release()
	}
}

func benchSchema() types.Schema {
	return types.Schema{Columns: []types.Column{col("id", types.BigIntType), col("s", types.StringType), col("d", types.DoubleType),
		col("ts", types.TimestampType(3)), col("dec", types.DecimalType(10, 2))}}
}

func benchBatch(mem memory.Allocator, n int) arrow.RecordBatch {
	rb := array.NewRecordBuilder(mem, benchSchema().Arrow())
	defer rb.Release()
	for i := range n {
		rb.Field(0).(*array.Int64Builder).Append(int64(i) * 7919)
		rb.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("name-%d", i))
		rb.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
		rb.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(1577836800123 + int64(i)))
		rb.Field(4).(*array.Decimal128Builder).Append(decimalOf(int64(i)))
	}
	return rb.NewRecordBatch()
}

func BenchmarkCSVWrite(b *testing.B) {
	mem := memory.NewGoAllocator()
	batch := benchBatch(mem, 8192)
	defer batch.Release()
	tbl := table(b.TempDir(), benchSchema(), "format", "csv")
	w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Mem: mem})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*8192)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkCSVRead(b *testing.B) {
	mem := memory.NewGoAllocator()
	batch := benchBatch(mem, 8192)
	defer batch.Release()
	dir := b.TempDir()
	tbl := table(dir, benchSchema(), "format", "csv")
	w, _ := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Mem: mem})
	for range 25 {
		w.Write(batch)
	}
	w.Finish()
	w.Close()
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r, _ := Factory{}.CreateReader(connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem})
		for {
			bt, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows += int(bt.NumRows())
			bt.Release()
		}
		r.Close()
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
