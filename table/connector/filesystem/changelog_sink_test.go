package filesystem

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
)

// change is one row of an updating stream: k, total (and partition p).
type change struct {
	kind  connector.RowKind
	k     string
	total int64
}

func (c change) p() string { return fmt.Sprint(len(c.k) % 2) }

// aggChanges is the changelog of SELECT k, SUM(v) ... GROUP BY k over n
// pseudo-random values, deleting a key whose value is 0 (as a HAVING
// would), and its final result, "k|total" per key. Keys need escaping in
// JSON.
func aggChanges(n int) ([]change, map[string]int64) {
	keys := []string{"a", `q"uote`, "ü,é", "back\\slash", "nl\nx", "long key"}
	sums := map[string]int64{}
	var out []change
	seed := uint32(7)
	for range n {
		seed = seed*1103515245 + 12345
		k := keys[(seed>>8)%uint32(len(keys))]
		v := int64((seed>>16)%9) - 2
		old, ok := sums[k]
		switch {
		case v == 0 && ok:
			out = append(out, change{connector.Delete, k, old})
			delete(sums, k)
		case v == 0:
		case ok:
			out = append(out, change{connector.UpdateBefore, k, old}, change{connector.UpdateAfter, k, old + v})
			sums[k] = old + v
		default:
			out = append(out, change{connector.Insert, k, v})
			sums[k] = v
		}
	}
	return out, sums
}

// changeBatch is the batch of cs in schema s (k, total and maybe p),
// ending in the row kind column.
func changeBatch(mem memory.Allocator, s types.Schema, cs []change) arrow.RecordBatch {
	fields := append(s.Arrow().Fields(), arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8})
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, c := range cs {
		b.Field(0).(*array.StringBuilder).Append(c.k)
		b.Field(1).(*array.Int64Builder).Append(c.total)
		if s.Len() == 3 {
			b.Field(2).(*array.StringBuilder).Append(c.p())
		}
		b.Field(len(fields) - 1).(*array.Int8Builder).Append(int8(c.kind))
	}
	return b.NewRecordBatch()
}

// materialize applies a changelog read back, rows "k|total[|p]|kind" in
// any order, to a multiset of rows: a row's inserts and retractions
// cancel out, whatever order the files were read in.
func materialize(t *testing.T, rows []string) []string {
	t.Helper()
	count := map[string]int{}
	for _, r := range rows {
		i := strings.LastIndexByte(r, '|')
		switch connector.RowKind(r[i+1] - '0') {
		case connector.Insert, connector.UpdateAfter:
			count[r[:i]]++
		default:
			count[r[:i]]--
		}
	}
	var out []string
	for r, n := range count {
		if n < 0 || n > 1 {
			t.Errorf("row %q: %d more inserts than retractions", r, n)
		}
		if n == 1 {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out
}

// readChanges reads the table's rows with their kinds, restoring the
// reader from a snapshot after its first batch.
func readChanges(t *testing.T, tbl connector.TableInfo, mem memory.Allocator) []string {
	t.Helper()
	return readResumed(t, connector.ScanSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 16}, 1)
}

// direct is the aggregate's result, rows as materialize prints them.
func direct(sums map[string]int64, partitioned bool) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(sums)) {
		r := fmt.Sprintf("%s|%d", k, sums[k])
		if partitioned {
			r += "|" + change{k: k}.p()
		}
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

func aggSchema(partitioned bool) types.Schema {
	s := types.Schema{Columns: []types.Column{col("k", types.StringType), col("total", types.BigIntType)}}
	if partitioned {
		s.Columns = append(s.Columns, col("p", types.StringType))
	}
	return s
}

// TestChangelogSinkRoundTrip writes the changelog of a GROUP BY with the
// sink in each changelog format, with checkpoints, a failure restored
// from a checkpoint and a rescale from two writers to one in the middle,
// and reads the directory back with the source in the same format: the
// materialized result is the aggregate's.
func TestChangelogSinkRoundTrip(t *testing.T) {
	changes, sums := aggChanges(300)
	for _, f := range cdcjson.Names() {
		for _, partitioned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/partitioned=%v", f, partitioned), func(t *testing.T) {
				s := aggSchema(partitioned)
				tbl := table(t.TempDir(), s, "format", f, RollingFileSize, "1kb")
				if partitioned {
					tbl.PartitionKeys = []string{"p"}
				}
				p, err := Factory{}.ValidateSink(tbl)
				if err != nil || !p.AcceptsUpdates || !p.RequiresUpdateBefore {
					t.Fatalf("ValidateSink = %+v, %v; want a sink of -U/+U updates", p, err)
				}
				h := newSinkHarness(t, tbl)
				// Two subtasks, each writing the changes of its keys, as
				// after a hash exchange by k.
				bySub := [2][]change{}
				for _, c := range changes {
					sub := len(c.k) % 2
					bySub[sub] = append(bySub[sub], c)
				}
				write := func(w *writer, cs []change) {
					for len(cs) > 0 {
						n := min(len(cs), 7)
						b := changeBatch(h.mem, s, cs[:n])
						must(t, w.Write(b))
						b.Release()
						cs = cs[n:]
					}
				}
				var states [][]byte
				var rest [][]change
				for sub := range 2 {
					w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{
						Subtask: sub, Parallelism: 2, Mem: h.mem, Checkpointing: true, NowMillis: func() int64 { return 0 }})
					must(t, err)
					cs := bySub[sub]
					third := len(cs) / 3
					write(w.(*writer), cs[:third])
					preCommit(t, w.(*writer), 1)
					must(t, w.(*writer).NotifyCheckpointComplete(1))
					write(w.(*writer), cs[third:2*third])
					states = append(states, preCommit(t, w.(*writer), 2))
					// Written after the barrier and lost with the failure.
					write(w.(*writer), cs[2*third:])
					must(t, w.Close())
					rest = append(rest, cs[2*third:])
				}
				// Restored at parallelism 1 from checkpoint 2, which never
				// completed: the restored writer commits its files.
				r := h.writer(true)
				for _, st := range states {
					must(t, r.Recover(st))
				}
				write(r, rest[0])
				write(r, rest[1])
				must(t, r.Finish())
				preCommit(t, r, 3)
				must(t, r.NotifyCheckpointComplete(3))
				must(t, r.Close())
				if left := h.hidden(); len(left) != 0 {
					t.Errorf("hidden files left: %v", left)
				}
				got := materialize(t, readChanges(t, tbl, h.mem))
				if want := direct(sums, partitioned); !slices.Equal(got, want) {
					t.Errorf("materialized:\n got %q\nwant %q", got, want)
				}
			})
		}
	}
}

// TestChangelogSinkEvents checks the events written, one a line: an
// update is a delete of the old row and an insert of the new one, as the
// kafka sink writes them; an insert-only input (no kind column) writes
// inserts.
func TestChangelogSinkEvents(t *testing.T) {
	cs := []change{{connector.Insert, "a", 1}, {connector.UpdateBefore, "a", 1}, {connector.UpdateAfter, "a", 3}, {connector.Delete, "a", 3}}
	for _, tc := range []struct{ format, want string }{
		{"debezium-json", `{"before":null,"after":{"k":"a","total":1},"op":"c"}
{"before":{"k":"a","total":1},"after":null,"op":"d"}
{"before":null,"after":{"k":"a","total":3},"op":"c"}
{"before":{"k":"a","total":3},"after":null,"op":"d"}
{"before":null,"after":{"k":"b","total":9},"op":"c"}
`},
		{"canal-json", `{"data":[{"k":"a","total":1}],"type":"INSERT"}
{"data":[{"k":"a","total":1}],"type":"DELETE"}
{"data":[{"k":"a","total":3}],"type":"INSERT"}
{"data":[{"k":"a","total":3}],"type":"DELETE"}
{"data":[{"k":"b","total":9}],"type":"INSERT"}
`},
	} {
		dir := t.TempDir()
		s := aggSchema(false)
		tbl := table(dir, s, "format", tc.format)
		h := newSinkHarness(t, tbl)
		w := h.writer(false)
		b := changeBatch(h.mem, s, cs)
		must(t, w.Write(b))
		b.Release()
		ins := fromJSON(t, h.mem, s, `[{"k": "b", "total": 9}]`)
		must(t, w.Write(ins))
		ins.Release()
		must(t, w.Finish())
		must(t, w.Close())
		files, err := ListFiles(dir)
		must(t, err)
		if len(files) != 1 || filepath.Ext(files[0]) != "."+tc.format {
			t.Fatalf("%s: files %v, want one part file", tc.format, files)
		}
		data, err := os.ReadFile(files[0])
		must(t, err)
		if string(data) != tc.want {
			t.Errorf("%s: wrote\n%s\nwant\n%s", tc.format, data, tc.want)
		}
		if got := materialize(t, readChanges(t, tbl, h.mem)); !slices.Equal(got, []string{"b|9"}) {
			t.Errorf("%s: read back %v", tc.format, got)
		}
	}
}
