package filesystem

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

var dtSchema = types.Schema{Columns: []types.Column{col("n", types.IntType), col("dt", types.StringType)}}

// dtTable is a csv table partitioned by dt, with the given options.
func dtTable(t *testing.T, opts ...string) connector.TableInfo {
	o := map[string]string{"connector": "filesystem", Path: t.TempDir(), Format: "csv"}
	for i := 0; i+1 < len(opts); i += 2 {
		o[opts[i]] = opts[i+1]
	}
	return connector.TableInfo{Name: "t", Schema: dtSchema, Options: o, PartitionKeys: []string{"dt"}}
}

// writeDT writes row n into partition dt for each "n@dt".
func (h *sinkHarness) writeDT(w *writer, rows ...string) {
	h.t.Helper()
	var js []string
	for _, r := range rows {
		n, dt, _ := strings.Cut(r, "@")
		js = append(js, fmt.Sprintf(`{"n": %s, "dt": %q}`, n, dt))
	}
	b := fromJSON(h.t, h.mem, dtSchema, "["+strings.Join(js, ",")+"]")
	defer b.Release()
	must(h.t, w.Write(b))
}

// committed lists the partition directories holding a success file.
func (h *sinkHarness) committed() []string {
	h.t.Helper()
	var out []string
	root := h.tbl.Options[Path]
	must(h.t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "_SUCCESS" {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			out = append(out, unescapePathName(rel))
		}
		return err
	}))
	slices.Sort(out)
	return out
}

func (h *sinkHarness) commitJob(spec connector.SinkSpec, checkpoint int64, states ...[]byte) {
	h.t.Helper()
	must(h.t, Factory{}.CommitJob(spec, checkpoint, states))
}

func ms(s string) int64 {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// TestPartitionCommitByWatermark: a partition commits once the least
// watermark of the writers passes its time plus the delay, after its part
// files; each writer forgets the committed partitions; a late row reopens
// a partition, which commits again; the end of the job commits the rest.
func TestPartitionCommitByWatermark(t *testing.T) {
	tbl := dtTable(t, CommitPolicyKind, "success-file", CommitTrigger, "partition-time", CommitDelay, "30 min")
	spec := connector.SinkSpec{Table: tbl}
	h := newSinkHarness(t, tbl)
	w0, w1 := h.writer(true), h.writer(true)
	w1.subtask = 1
	defer w0.Close()
	defer w1.Close()
	h.writeDT(w0, "1@2020-01-01 00:00:00", "2@2020-01-01 01:00:00")
	h.writeDT(w1, "3@2020-01-01 00:00:00")
	must(t, w0.OnWatermark(ms("2020-01-01 02:00:00")))
	must(t, w1.OnWatermark(ms("2020-01-01 00:31:00")))
	s0, s1 := preCommit(t, w0, 1), preCommit(t, w1, 1)
	h.commitJob(spec, 1, s0, s1)
	if got := h.committed(); !slices.Equal(got, []string{"dt=2020-01-01 00:00:00"}) {
		t.Fatalf("after checkpoint 1 committed %v, want only 00:00 (the least watermark 00:31 is before 01:00 + 30 min)", got)
	}
	// The success file comes after the partition's files.
	h.expect2(t, "1@2020-01-01 00:00:00", "2@2020-01-01 01:00:00", "3@2020-01-01 00:00:00")
	must(t, w0.NotifyCheckpointComplete(1))
	must(t, w1.NotifyCheckpointComplete(1))
	if got := mapKeys(w0.partitions); !slices.Equal(got, []string{"dt=2020-01-01 01%3A00%3A00"}) {
		t.Fatalf("writer 0 tracks %v after checkpoint 1, want the uncommitted 01:00 only", got)
	}
	if len(w1.partitions) != 0 {
		t.Fatalf("writer 1 tracks %v after checkpoint 1, want none", mapKeys(w1.partitions))
	}

	// Writer 1's watermark passes 01:30: 01:00 commits, though writer 1
	// never wrote it. A late row reopens 00:00 in writer 1.
	must(t, w1.OnWatermark(ms("2020-01-01 01:31:00")))
	h.writeDT(w1, "4@2020-01-01 00:00:00")
	success := filepath.Join(tbl.Options[Path], "dt=2020-01-01 00%3A00%3A00", "_SUCCESS")
	must(t, os.Remove(success))
	s0, s1 = preCommit(t, w0, 2), preCommit(t, w1, 2)
	h.commitJob(spec, 2, s0, s1)
	if got := h.committed(); !slices.Equal(got, []string{"dt=2020-01-01 00:00:00", "dt=2020-01-01 01:00:00"}) {
		t.Fatalf("after checkpoint 2 committed %v, want 00:00 again and 01:00", got)
	}
	must(t, w0.NotifyCheckpointComplete(2))
	must(t, w1.NotifyCheckpointComplete(2))
	if len(w0.partitions)+len(w1.partitions) != 0 {
		t.Fatalf("writers track %v and %v after checkpoint 2, want none", mapKeys(w0.partitions), mapKeys(w1.partitions))
	}

	// The end of input commits a partition whose time has not come.
	h.writeDT(w0, "5@2020-01-02 00:00:00")
	must(t, w0.Finish())
	must(t, w1.Finish())
	s0, s1 = preCommit(t, w0, connector.EndOfInput), preCommit(t, w1, connector.EndOfInput)
	must(t, Factory{}.CommitFinished(spec, s0))
	h.commitJob(spec, connector.EndOfInput, s0, s1)
	if got := h.committed(); len(got) != 3 || got[2] != "dt=2020-01-02 00:00:00" {
		t.Fatalf("at the end committed %v, want the three partitions", got)
	}
}

// expect2 checks the rows readers see, as "n@dt".
func (h *sinkHarness) expect2(t *testing.T, want ...string) {
	t.Helper()
	var w []string
	for _, r := range want {
		n, dt, _ := strings.Cut(r, "@")
		w = append(w, n+"|"+dt)
	}
	slices.Sort(w)
	if got := h.visible(); !slices.Equal(got, w) {
		t.Fatalf("readers see %v, want %v", got, w)
	}
}

// mapKeys lists the keys of m, sorted.
func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestPartitionCommitByProcessTime: a partition commits once the
// processing time passes the time a writer first wrote to it plus the
// delay, and a restored writer goes on tracking the partitions of its
// state.
func TestPartitionCommitByProcessTime(t *testing.T) {
	tbl := dtTable(t, CommitPolicyKind, "success-file", CommitDelay, "1 h", SuccessFileName, "_DONE")
	spec := connector.SinkSpec{Table: tbl}
	h := newSinkHarness(t, tbl)
	now := time.Now().UnixMilli()
	h.clock = now - 2*time.Hour.Milliseconds()
	w := h.writer(true)
	h.writeDT(w, "1@a")
	h.clock = now
	h.writeDT(w, "2@b")
	s := preCommit(t, w, 1)
	h.commitJob(spec, 1, s)
	done := func(dt string) bool {
		_, err := os.Stat(filepath.Join(tbl.Options[Path], "dt="+dt, "_DONE"))
		return err == nil
	}
	if !done("a") || done("b") {
		t.Fatalf("committed a: %v, b: %v; want a only (b was first written less than the 1 h delay ago)", done("a"), done("b"))
	}
	must(t, w.NotifyCheckpointComplete(1))
	if got := mapKeys(w.partitions); !slices.Equal(got, []string{"dt=b"}) {
		t.Fatalf("writer tracks %v, want b", got)
	}
	// A late row reopens the committed a: its old success file does not
	// make the writer forget it before it commits again.
	h.writeDT(w, "3@a")
	h.commitJob(spec, 2, preCommit(t, w, 2))
	must(t, w.NotifyCheckpointComplete(2))
	if got := mapKeys(w.partitions); !slices.Equal(got, []string{"dt=a", "dt=b"}) {
		t.Fatalf("writer tracks %v after a late row into a, want a and b", got)
	}
	must(t, w.Close())

	// A job restored from checkpoint 1 tracks b from its first write.
	r := h.writer(true)
	defer r.Close()
	must(t, r.Recover(s))
	if p := r.partitions["dt=b"]; p == nil || p.created != now {
		t.Fatalf("restored writer tracks %v, want b created at %d", r.partitions, now)
	}
}

// TestPartitionCommitOptions: the policies and extractors Flink offers
// that cannot run here are errors, and a partition time is extracted by
// pattern and formatter in the watermark time zone.
func TestPartitionCommitOptions(t *testing.T) {
	for _, c := range []struct {
		opts []string
		want string
	}{
		{[]string{CommitPolicyKind, "metastore"}, "'metastore' partition commit policy for a file system table"},
		{[]string{CommitPolicyKind, "success-file,custom", CommitPolicyClass, "a.B"}, "names a Java class (a.B)"},
		{[]string{CommitPolicyKind, "custom"}, "needs a Java class"},
		{[]string{CommitPolicyKind, "done-file"}, "unknown partition commit policy 'done-file'"},
		{[]string{TimeExtractorKind, "custom"}, "needs a Java class"},
		{[]string{CommitWatermarkZone, "Mars/Base"}, "sink.partition-commit.watermark-time-zone"},
		{[]string{CommitPolicyKind, "success-file", SuccessFileName, "../x"}, "must be a file name"},
	} {
		_, err := Factory{}.ValidateSink(dtTable(t, c.opts...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("options %v: error %v, want %q", c.opts, err, c.want)
		}
	}

	tbl := dtTable(t, TimestampPattern, "$dt 10:00", TimestampFormatter, "yyyyMMdd HH:mm", CommitWatermarkZone, "Asia/Shanghai")
	c, err := parseConfig(tbl)
	must(t, err)
	got, err := c.partitionTime("dt=20200102")
	must(t, err)
	if want := ms("2020-01-02 02:00:00"); got != want {
		t.Fatalf("partition time %d, want %d (10:00 in Shanghai is 02:00 UTC)", got, want)
	}
	c, err = parseConfig(dtTable(t))
	must(t, err)
	if got, err := c.partitionTime("dt=2020-01-02"); err != nil || got != ms("2020-01-02 00:00:00") {
		t.Fatalf("a date alone: %d, %v; want its midnight", got, err)
	}
	if _, err := c.partitionTime("dt=yesterday"); err == nil {
		t.Fatal("a partition value that is no time: no error")
	}
}

// TestInsertOverwrite: an overwrite's part files stay hidden until the
// job ends; then what they replace is removed (the partitions written,
// the static partition even without rows, or the whole table) and they
// commit; the partitions not written stay.
func TestInsertOverwrite(t *testing.T) {
	tbl := dtTable(t)
	h := newSinkHarness(t, tbl)
	old := h.writer(false)
	h.writeDT(old, "1@a", "2@b", "3@c")
	must(t, old.Finish())
	must(t, old.Close())

	run := func(spec connector.SinkSpec, rows ...string) {
		t.Helper()
		w, err := Factory{}.CreateWriter(spec, connector.ReaderContext{Mem: h.mem, NowMillis: func() int64 { return 0 }})
		must(t, err)
		defer w.Close()
		if len(rows) > 0 {
			h.writeDT(w.(*writer), rows...)
		}
		must(t, w.Finish())
		s := preCommit(t, w.(*writer), connector.EndOfInput)
		must(t, Factory{}.CommitFinished(spec, s))
		if len(rows) > 0 && len(h.hidden()) == 0 {
			t.Fatal("an overwrite's files are visible before the job ends")
		}
		h.commitJob(spec, connector.EndOfInput, s)
	}
	run(connector.SinkSpec{Table: tbl, Overwrite: true}, "4@a", "5@a")
	h.expect2(t, "4@a", "5@a", "2@b", "3@c")
	run(connector.SinkSpec{Table: tbl, Overwrite: true, StaticPartition: map[string]string{"dt": "b"}})
	h.expect2(t, "4@a", "5@a", "3@c")

	plain := connector.TableInfo{Name: "u", Schema: nSchema, Options: map[string]string{"connector": "filesystem", Path: t.TempDir(), Format: "csv"}}
	must(t, os.MkdirAll(filepath.Join(plain.Options[Path], "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(plain.Options[Path], "sub", "x.csv"), []byte("9\n"), 0o644))
	p := newSinkHarness(t, plain)
	w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: plain, Overwrite: true}, connector.ReaderContext{Mem: p.mem})
	must(t, err)
	p.write(w.(*writer), 7)
	must(t, w.Finish())
	s := preCommit(t, w.(*writer), connector.EndOfInput)
	must(t, w.Close())
	must(t, Factory{}.CommitJob(connector.SinkSpec{Table: plain, Overwrite: true}, connector.EndOfInput, [][]byte{s}))
	p.expect("an unpartitioned overwrite", 7)
	if _, err := os.Stat(filepath.Join(plain.Options[Path], "sub")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the overwritten table's subdirectory remains: %v", err)
	}
}
