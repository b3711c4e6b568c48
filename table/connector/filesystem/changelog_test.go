package filesystem

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

var changeSchema = types.Schema{Columns: []types.Column{col("id", types.IntType), col("name", types.StringType), col("weight", types.DoubleType)}}

const debeziumEvents = `{"before":null,"after":{"id":1,"name":"scooter","weight":5.18},"op":"r"}
{"before":null,"after":{"id":2,"name":"car","weight":1.5},"op":"c"}

{"before":{"id":1,"name":"scooter","weight":5.18},"after":{"id":1,"name":"scooter","weight":5.15},"op":"u"}
{"before":{"id":2,"name":"car","weight":1.5},"after":null,"op":"d"}
{"before":null,"after":{"id":3,"name":"bike","weight":9},"op":"c"}
`

// canalEvents has events of several rows, a DDL event (no rows) and
// events of other tables, which canal-json.table.include skips.
const canalEvents = `{"data":[{"id":"1","name":"scooter","weight":"5.18"},{"id":"2","name":"car","weight":"1.5"}],"database":"inv","table":"products","type":"INSERT"}
{"data":null,"database":"inv","table":"products","type":"ALTER","isDdl":true,"sql":"ALTER TABLE products ADD c INT"}
{"data":[{"id":"9","name":"other","weight":"1"}],"database":"inv","table":"orders","type":"INSERT"}
{"data":[{"id":"1","name":"scooter","weight":"5.15"},{"id":"2","name":"truck","weight":"1.5"}],"old":[{"weight":"5.18"},{"name":"car"}],"database":"inv","table":"products","type":"UPDATE"}
{"data":[{"id":"3","name":"bike","weight":"9"}],"database":"inv","table":"products","type":"INSERT"}
{"data":[{"id":"1","name":"scooter","weight":"5.15"},{"id":"3","name":"bike","weight":"9"}],"database":"inv","table":"products","type":"DELETE"}
`

// kindRows renders rows as Flink's print sink does, "+I[1, scooter]",
// from rowStrings' text of batches whose last column is the row kind.
func kindRows(t *testing.T, rows []string) []string {
	t.Helper()
	out := make([]string, len(rows))
	for i, r := range rows {
		f := strings.Split(r, "|")
		k, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			t.Fatalf("row kind of %q: %v", r, err)
		}
		out[i] = connector.RowKind(k).String() + "[" + strings.Join(f[:len(f)-1], ", ") + "]"
	}
	return out
}

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestChangelogFormats reads files of change events back with their row
// kinds, snapshotting and restoring after every number of batches at
// several batch sizes: a restored reader neither loses nor repeats rows,
// though an event (canal's) may make several rows or none.
func TestChangelogFormats(t *testing.T) {
	for _, tc := range []struct {
		format, data string
		opts         []string
		proj         []int
		want         string
	}{
		{format: "debezium-json", data: debeziumEvents,
			want: "+I[1, scooter, 5.18] +I[2, car, 1.5] -U[1, scooter, 5.18] +U[1, scooter, 5.15] -D[2, car, 1.5] +I[3, bike, 9]"},
		{format: "debezium-json", data: debeziumEvents, proj: []int{2, 0},
			want: "+I[5.18, 1] +I[1.5, 2] -U[5.18, 1] +U[5.15, 1] -D[1.5, 2] +I[9, 3]"},
		{format: "canal-json", data: canalEvents, opts: []string{"canal-json.table.include", "products"},
			want: "+I[1, scooter, 5.18] +I[2, car, 1.5] -U[1, scooter, 5.18] +U[1, scooter, 5.15] -U[2, car, 1.5] +U[2, truck, 1.5] " +
				"+I[3, bike, 9] -D[1, scooter, 5.15] -D[3, bike, 9]"},
		{format: "maxwell-json", data: `{"database":"inv","table":"p","type":"insert","data":{"id":1,"name":"a","weight":1}}
{"database":"inv","table":"p","type":"update","data":{"id":1,"name":"b","weight":1},"old":{"name":"a"}}
{"database":"inv","table":"p","type":"delete","data":{"id":1,"name":"b","weight":1}}
`, want: "+I[1, a, 1] -U[1, a, 1] +U[1, b, 1] -D[1, b, 1]"},
		{format: "ogg-json", data: `{"table":"inv.p","op_type":"I","after":{"id":1,"name":"a","weight":1}}
{"table":"inv.p","op_type":"U","before":{"id":1,"name":"a","weight":1},"after":{"id":1,"name":"b","weight":1}}
{"table":"inv.p","op_type":"D","before":{"id":1,"name":"b","weight":1}}
`, want: "+I[1, a, 1] -U[1, a, 1] +U[1, b, 1] -D[1, b, 1]"},
	} {
		dir := t.TempDir()
		writeFile(t, dir, "events.json", tc.data)
		tbl := table(dir, changeSchema, append([]string{"format", tc.format}, tc.opts...)...)
		if p, err := (Factory{}).ValidateSource(tbl); err != nil || p.Changelog != connector.RetractChangelog || !p.Bounded {
			t.Fatalf("%s: ValidateSource = %+v, %v; want a bounded retract changelog", tc.format, p, err)
		}
		spec := connector.ScanSpec{Table: tbl, Projection: tc.proj}
		for _, size := range []int{1, 2, 3, 100} {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			rc := connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: size}
			for stop := range countBatches(t, spec, rc) + 1 {
				got := readResumed(t, spec, rc, stop)
				if s := strings.Join(kindRows(t, got), " "); s != tc.want {
					t.Errorf("%s proj %v, batch size %d, restored after %d batches:\n got %s\nwant %s", tc.format, tc.proj, size, stop, s, tc.want)
				}
			}
			mem.AssertSize(t, 0)
		}
	}
}

// countBatches is the number of batches a full read of the scan makes.
func countBatches(t *testing.T, spec connector.ScanSpec, rc connector.ReaderContext) int {
	t.Helper()
	r, err := Factory{}.CreateReader(spec, rc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for n := 0; ; n++ {
		b, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
}

// TestChangelogErrors: a malformed event fails the scan with its file and
// line unless ignore-parse-errors is set; the sink refuses options that
// apply to reading only; another format's options are refused.
func TestChangelogErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.json")
	writeFile(t, dir, "bad.json", `{"before":null,"after":{"id":1},"op":"c"}

{"before":null,"after":{"id":"x"},"op":"c"}
{"before":null,"after":{"id":2},"op":"c"}
{"op":"c","after":
`)
	_, err := readErr(t, table(p, changeSchema, "format", "debezium-json"))
	if err == nil || !strings.HasPrefix(err.Error(), p+":3: cannot decode the event with format 'debezium-json'") {
		t.Errorf("malformed event: %v", err)
	}
	r, err := Factory{}.CreateReader(connector.ScanSpec{Table: table(p, changeSchema, "format", "debezium-json", "debezium-json.ignore-parse-errors", "true")},
		connector.ReaderContext{Parallelism: 1, Mem: memory.NewGoAllocator()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := r.Next(context.Background())
	if err != nil || b.NumRows() != 2 {
		t.Fatalf("ignore-parse-errors: %v %v", b, err)
	}
	b.Release()
	if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("ignore-parse-errors: %v, want EOF", err)
	}
	if got := r.(*reader).Skipped(); got != 2 {
		t.Errorf("skipped %d, want 2", got)
	}

	if _, err := (Factory{}).ValidateSink(table(dir, changeSchema, "format", "debezium-json", "debezium-json.schema-include", "true")); err == nil ||
		err.Error() != "format 'debezium-json': 'debezium-json.schema-include' applies to reading only: the format writes no schema" {
		t.Errorf("sink: %v", err)
	}
	if _, err := (Factory{}).ValidateSource(table(dir, changeSchema, "format", "debezium-json", "canal-json.table.include", "t")); err == nil ||
		!strings.Contains(err.Error(), "option 'canal-json.table.include' does not apply to format 'debezium-json'") {
		t.Errorf("other format's option: %v", err)
	}
	if _, err := (Factory{}).ValidateSource(table(dir, changeSchema, "format", "canal-json", "canal-json.database.include", "(")); err == nil ||
		!strings.Contains(err.Error(), "invalid regular expression in 'canal-json.database.include'") {
		t.Errorf("bad include filter: %v", err)
	}
}

// TestChangelogPartitionedRescale reads change events of a partitioned
// table, whose partition column comes from the directories, with a
// restore at another parallelism in the middle.
func TestChangelogPartitionedRescale(t *testing.T) {
	dir := t.TempDir()
	for _, part := range []string{"a", "b"} {
		sub := filepath.Join(dir, "p="+part)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, sub, "events.json", debeziumEvents)
	}
	s := types.Schema{Columns: append(slices.Clone(changeSchema.Columns), col("p", types.StringType))}
	tbl := table(dir, s, "format", "debezium-json")
	tbl.PartitionKeys = []string{"p"}
	spec := connector.ScanSpec{Table: tbl, Projection: []int{3, 0}}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := context.Background()
	// Two readers read one batch each, then their snapshots restore one.
	var got, snaps []string
	var states [][]byte
	for sub := range 2 {
		r, err := Factory{}.CreateReader(spec, connector.ReaderContext{Subtask: sub, Parallelism: 2, Mem: mem, BatchSize: 3})
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rowStrings(b)...)
		b.Release()
		st, err := r.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, st)
		snaps = append(snaps, string(st))
		r.Close()
	}
	r, err := Factory{}.CreateReader(spec, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, st := range states {
		if err := r.Restore(st); err != nil {
			t.Fatal(err)
		}
	}
	for {
		b, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rowStrings(b)...)
		b.Release()
	}
	slices.Sort(got)
	want := []string{}
	for _, part := range []string{"a", "b"} {
		for _, r := range []string{"+I|1", "+I|2", "-U|1", "+U|1", "-D|2", "+I|3"} {
			k, id, _ := strings.Cut(r, "|")
			want = append(want, part+"|"+id+"|"+strconv.Itoa(int(kindOf(k))))
		}
	}
	slices.Sort(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("snapshots %v:\n got %v\nwant %v", snaps, got, want)
	}
}

func kindOf(s string) connector.RowKind {
	for k := connector.Insert; k <= connector.Delete; k++ {
		if k.String() == s {
			return k
		}
	}
	return 0
}

// TestChangelogPartitionColumnsOnly projects only the partition column:
// the batches have the events' rows, though no column is decoded.
func TestChangelogPartitionColumnsOnly(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "p=a")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, sub, "events.json", debeziumEvents)
	s := types.Schema{Columns: append(slices.Clone(changeSchema.Columns), col("p", types.StringType))}
	tbl := table(dir, s, "format", "debezium-json")
	tbl.PartitionKeys = []string{"p"}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	got := kindRows(t, readResumed(t, connector.ScanSpec{Table: tbl, Projection: []int{3}}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 4}, 1))
	if s := strings.Join(got, " "); s != "+I[a] +I[a] -U[a] +U[a] -D[a] +I[a]" {
		t.Errorf("got %s", s)
	}
}
