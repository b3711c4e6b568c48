package filesystem

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// rowFormats are the formats whose part files stay in progress across
// checkpoints: a plain row format of each encoder and a changelog one.
var rowFormats = []string{"csv", "json", "debezium-json"}

// rowTable is a table of n (and p = n % 2 when partitioned) in format f.
func rowTable(t *testing.T, f string, partitioned bool, opts ...string) connector.TableInfo {
	s := nSchema
	if partitioned {
		s.Columns = append(slices.Clone(s.Columns), col("p", types.IntType))
	}
	tbl := table(t.TempDir(), s, append([]string{"format", f}, opts...)...)
	if partitioned {
		tbl.PartitionKeys = []string{"p"}
	}
	return tbl
}

// subtaskWriter is the checkpointing writer of subtask sub of sink sinkID.
func (h *sinkHarness) subtaskWriter(sinkID string, sub, par int) *writer {
	h.t.Helper()
	w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: h.tbl}, connector.ReaderContext{
		Subtask: sub, Parallelism: par, Mem: h.mem, Checkpointing: true, NowMillis: func() int64 { return h.clock }, SinkID: sinkID})
	must(h.t, err)
	return w.(*writer)
}

// expectRows is expect for any format: a changelog format's reader adds
// the rows' kind (all inserts here).
func (h *sinkHarness) expectRows(what string, ns ...int) {
	h.t.Helper()
	var want []string
	for _, n := range ns {
		r := fmt.Sprint(n)
		if len(h.tbl.PartitionKeys) > 0 {
			r += fmt.Sprintf("|%d", n%2)
		}
		if h.tbl.Options[Format] != "csv" && h.tbl.Options[Format] != "json" {
			r += fmt.Sprintf("|%d", connector.Insert)
		}
		want = append(want, r)
	}
	slices.Sort(want)
	var got []string
	if h.tbl.Options[Format] == "csv" || h.tbl.Options[Format] == "json" {
		got = h.visible()
	} else {
		got = readResumed(h.t, connector.ScanSpec{Table: h.tbl}, connector.ReaderContext{Parallelism: 1, Mem: h.mem, BatchSize: 2}, 0)
		slices.Sort(got)
	}
	if !slices.Equal(got, want) {
		h.t.Fatalf("%s: readers see %v, want %v", what, got, want)
	}
}

// crash makes the rows buffered in w's open part files reach them, as a
// full buffer does, and closes it as a failed attempt.
func crash(t *testing.T, w *writer) {
	t.Helper()
	for _, p := range w.files {
		must(t, p.bw.Flush())
	}
	must(t, w.Close())
}

// committedFiles counts the visible part files below the table's path.
func (h *sinkHarness) committedFiles() int {
	h.t.Helper()
	files, err := ListFiles(h.tbl.Options[Path])
	must(h.t, err)
	return len(files)
}

func decodeState(t *testing.T, b []byte) sinkState {
	t.Helper()
	s, err := decodeSinkState(b)
	must(t, err)
	return s
}

func partitionsOf(partitioned bool) int {
	if partitioned {
		return 2
	}
	return 1
}

// TestInProgressAcrossCheckpoints: a row format's part file survives
// checkpoint barriers, as under Flink's TableRollingPolicy for row
// formats: each checkpoint persists it (its state records the file and a
// growing length), it stays hidden, and it rolls by the rollover interval
// (then commits with the next checkpoint) and at the end of the input.
// One file per partition for three checkpoints, where rolling at every
// barrier made three.
func TestInProgressAcrossCheckpoints(t *testing.T) {
	for _, f := range rowFormats {
		for _, partitioned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/partitioned=%v", f, partitioned), func(t *testing.T) {
				tbl := rowTable(t, f, partitioned, RolloverInterval, "10 s", InactivityInterval, "1 h", CheckInterval, "1 s")
				h := newSinkHarness(t, tbl)
				w := h.writer(true)
				defer w.Close()
				var written []int
				var paths []string
				var last int64
				for id := int64(1); id <= 3; id++ {
					ns := []int{int(id) * 10, int(id)*10 + 1}
					h.write(w, ns...)
					written = append(written, ns...)
					s := decodeState(t, preCommit(t, w, id))
					must(t, w.NotifyCheckpointComplete(id))
					if len(s.Pending) != 0 || len(s.InProgress) != partitionsOf(partitioned) {
						t.Fatalf("checkpoint %d: state %+v, want one file in progress per partition, none pending", id, s)
					}
					var ps []string
					for _, ip := range s.InProgress {
						ps = append(ps, ip.Path)
					}
					if paths != nil && !slices.Equal(ps, paths) {
						t.Fatalf("checkpoint %d: files in progress %v, at checkpoint 1 %v", id, ps, paths)
					}
					paths = ps
					if s.InProgress[0].Length <= last {
						t.Fatalf("checkpoint %d: persisted %d bytes, %d at the checkpoint before", id, s.InProgress[0].Length, last)
					}
					last = s.InProgress[0].Length
					h.expectRows(fmt.Sprintf("checkpoint %d complete", id))
					h.clock += 1000
					must(t, w.OnProcessingTime(h.clock))
				}
				if got := len(h.hidden()); got != partitionsOf(partitioned) {
					t.Fatalf("%d hidden files, want one per partition: %v", got, h.hidden())
				}
				// Open for the rollover interval: it rolls, and commits
				// with the next checkpoint.
				h.clock = 10000
				must(t, w.OnProcessingTime(h.clock))
				h.expectRows("rolled by time")
				preCommit(t, w, 4)
				must(t, w.NotifyCheckpointComplete(4))
				h.expectRows("checkpoint 4 complete", written...)
				if got := h.committedFiles(); got != partitionsOf(partitioned) {
					t.Fatalf("%d part files after three checkpoints, want one per partition", got)
				}
				h.write(w, 40, 41)
				written = append(written, 40, 41)
				must(t, w.Finish())
				final := preCommit(t, w, connector.EndOfInput)
				must(t, Factory{}.CommitFinished(connector.SinkSpec{Table: tbl}, final))
				h.expectRows("finished", written...)
				if got := h.committedFiles(); got != 2*partitionsOf(partitioned) {
					t.Fatalf("%d part files at the end, want two per partition", got)
				}
				if left := h.hidden(); len(left) != 0 {
					t.Fatalf("hidden files left: %v", left)
				}
			})
		}
	}
}

// TestRecoverTruncatesInProgress: a writer that fails after checkpoint 2
// with rows written after it is restored from it: its files in progress
// are cut back to the lengths checkpoint 2 persisted and written on, so
// the rows after the checkpoint, which the source replays, are in no
// file, and each row is committed once, in one file per partition.
func TestRecoverTruncatesInProgress(t *testing.T) {
	for _, f := range rowFormats {
		for _, partitioned := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/partitioned=%v", f, partitioned), func(t *testing.T) {
				tbl := rowTable(t, f, partitioned)
				h := newSinkHarness(t, tbl)
				w := h.sinkWriter(true, "job")
				h.write(w, 1, 2)
				preCommit(t, w, 1)
				must(t, w.NotifyCheckpointComplete(1))
				h.write(w, 3, 4)
				s2 := preCommit(t, w, 2)
				h.write(w, 5, 6) // after the barrier: lost with the failure
				crash(t, w)
				h.expectRows("after the failure")
				st := decodeState(t, s2)
				for _, ip := range st.InProgress {
					fi, err := os.Stat(hiddenPath(tbl.Options[Path], ip.Path))
					must(t, err)
					if fi.Size() <= ip.Length {
						t.Fatalf("%s: %d bytes, want more than the %d persisted: the failed attempt wrote after the barrier", ip.Path, fi.Size(), ip.Length)
					}
				}

				// Restored twice: the first restored attempt fails too.
				for attempt := range 2 {
					r := h.sinkWriter(true, "job")
					must(t, r.Recover(s2))
					for _, ip := range st.InProgress {
						fi, err := os.Stat(hiddenPath(tbl.Options[Path], ip.Path))
						must(t, err)
						if fi.Size() != ip.Length {
							t.Fatalf("attempt %d: %s has %d bytes after Recover, want the %d persisted", attempt, ip.Path, fi.Size(), ip.Length)
						}
						dir := filepath.Dir(ip.Path)
						if dir == "." {
							dir = ""
						}
						if p := r.files[dir]; p == nil || p.rel != ip.Path {
							t.Fatalf("attempt %d: the restored writer does not write on %s", attempt, ip.Path)
						}
					}
					h.write(r, 7, 8)
					if attempt == 0 {
						crash(t, r)
						continue
					}
					must(t, r.Finish())
					final := preCommit(t, r, connector.EndOfInput)
					must(t, r.Close())
					must(t, Factory{}.CommitFinished(connector.SinkSpec{Table: tbl}, final))
				}
				h.expectRows("finished", 1, 2, 3, 4, 7, 8)
				if got := h.committedFiles(); got != partitionsOf(partitioned) {
					t.Fatalf("%d part files, want one per partition", got)
				}
				if left := h.hidden(); len(left) != 0 {
					t.Fatalf("hidden files left: %v", left)
				}
			})
		}
	}
}

// TestRecoverInProgressErrors: a file in progress that a checkpoint
// recorded and that is gone, or shorter than persisted, would lose rows:
// restoring fails, as Flink's recoverable writers do.
func TestRecoverInProgressErrors(t *testing.T) {
	tbl := rowTable(t, "csv", false)
	h := newSinkHarness(t, tbl)
	w := h.writer(true)
	h.write(w, 1, 2, 3)
	s := preCommit(t, w, 1)
	must(t, w.Close())
	ip := decodeState(t, s).InProgress[0]
	tmp := hiddenPath(tbl.Options[Path], ip.Path)
	must(t, os.Truncate(tmp, ip.Length-1))
	if err := h.writer(true).Recover(s); err == nil || !strings.Contains(err.Error(), "the checkpoint persisted") {
		t.Errorf("shorter file in progress: %v", err)
	}
	must(t, os.Remove(tmp))
	if err := h.writer(true).Recover(s); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Errorf("missing file in progress: %v", err)
	}
	bad := `{"uuid": "u", "inProgress": [{"path": "x", "length": -1}]}`
	if err := h.writer(true).Recover([]byte(bad)); err == nil || !strings.Contains(err.Error(), "bad sink state") {
		t.Errorf("state %s: %v", bad, err)
	}
}

// TestRescaleInProgress: states of two subtasks with files in progress
// restored at parallelism 1 and 3: a writer resumes the files of the
// state of its own index and commits, truncated, those of the others', so
// no row before the checkpoint is lost and none after it is kept; a
// restore from the same states again (the rescaled job fails before a
// checkpoint) finds those files committed already.
func TestRescaleInProgress(t *testing.T) {
	for _, f := range rowFormats {
		for _, par := range []int{1, 3} {
			for _, partitioned := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/2-to-%d/partitioned=%v", f, par, partitioned), func(t *testing.T) {
					tbl := rowTable(t, f, partitioned)
					h := newSinkHarness(t, tbl)
					var states [][]byte
					for sub := range 2 {
						w := h.subtaskWriter("job", sub, 2)
						h.write(w, 100*sub+1, 100*sub+2)
						states = append(states, preCommit(t, w, 1))
						h.write(w, 100*sub+50) // after the barrier
						crash(t, w)
					}
					for attempt := range 2 {
						var ws []*writer
						for sub := range par {
							ws = append(ws, h.subtaskWriter("job2", sub, par))
						}
						for old, st := range states {
							must(t, ws[old%par].Recover(st))
						}
						if par == 1 {
							// Subtask 1's files, not resumed, are committed.
							h.expectRows("restored at 1", 101, 102)
						}
						for sub, w := range ws {
							h.write(w, 1000+sub)
						}
						if attempt == 0 {
							for _, w := range ws {
								crash(t, w)
							}
							continue
						}
						for _, w := range ws {
							must(t, w.Finish())
							final := preCommit(t, w, connector.EndOfInput)
							must(t, w.Close())
							if final != nil {
								must(t, Factory{}.CommitFinished(connector.SinkSpec{Table: tbl}, final))
							}
						}
					}
					want := []int{1, 2, 101, 102}
					for sub := range par {
						want = append(want, 1000+sub)
					}
					h.expectRows("finished", want...)
					if left := h.hidden(); len(left) != 0 {
						t.Fatalf("hidden files left: %v", left)
					}
				})
			}
		}
	}
}

// TestSavepointInProgress: a savepoint persists the files in progress as
// a checkpoint does; a new job restored from it resumes them in the
// writer of the same index (going on with the old uuid), another index
// commits them, and the rows written after the savepoint are gone.
func TestSavepointInProgress(t *testing.T) {
	for _, sub := range []int{0, 1} {
		t.Run(fmt.Sprintf("restored-by-subtask-%d", sub), func(t *testing.T) {
			tbl := rowTable(t, "json", false)
			h := newSinkHarness(t, tbl)
			w := h.subtaskWriter("job", 0, 1)
			h.write(w, 1, 2)
			sp := preCommit(t, w, 0)
			h.write(w, 3)
			crash(t, w) // stopped after the savepoint
			h.expectRows("stopped with a savepoint")
			r := h.subtaskWriter("job2", sub, 2)
			must(t, r.Recover(sp))
			if resumed := len(r.files) == 1; resumed != (sub == 0) || (sub == 0) != (r.uuid == w.uuid) {
				t.Fatalf("subtask %d resumed %d files with uuid %s, the savepoint's %s", sub, len(r.files), r.uuid, w.uuid)
			}
			h.write(r, 4)
			must(t, r.Finish())
			final := preCommit(t, r, connector.EndOfInput)
			must(t, r.Close())
			must(t, Factory{}.CommitFinished(connector.SinkSpec{Table: tbl}, final))
			h.expectRows("restored job finished", 1, 2, 4)
			want := 1
			if sub != 0 {
				want = 2
			}
			if got := h.committedFiles(); got != want {
				t.Fatalf("%d part files, want %d", got, want)
			}
		})
	}
}

// TestPartitionCommitWaitsForInProgress: a success file never precedes
// its partition's data: at a checkpoint the writer rolls the file in
// progress of a partition whose trigger fires, as Flink's
// StreamingFileWriter, and CommitJob commits no partition that a state
// records a file in progress of, even when its own clock says it is due.
func TestPartitionCommitWaitsForInProgress(t *testing.T) {
	tbl := dtTable(t, CommitPolicyKind, "success-file", CommitDelay, "1 h")
	spec := connector.SinkSpec{Table: tbl}
	h := newSinkHarness(t, tbl)
	w := h.writer(true)
	defer w.Close()
	h.writeDT(w, "1@2020-01-01", "2@2020-01-02")
	// The writer's clock is at 0: not due, the files stay in progress.
	// CommitJob's wall clock is long past 0 + 1 h, yet commits nothing.
	s1 := preCommit(t, w, 1)
	if st := decodeState(t, s1); len(st.InProgress) != 2 {
		t.Fatalf("state at checkpoint 1: %s, want two files in progress", s1)
	}
	h.commitJob(spec, 1, s1)
	must(t, w.NotifyCheckpointComplete(1))
	if got := h.committed(); len(got) != 0 {
		t.Fatalf("committed %v with their files in progress", got)
	}
	// Due at the next checkpoint: both roll, commit, then the partitions.
	h.clock = 3600_001
	h.writeDT(w, "3@2020-01-01")
	s2 := preCommit(t, w, 2)
	if st := decodeState(t, s2); len(st.InProgress) != 0 || len(st.Pending) != 2 {
		t.Fatalf("state at checkpoint 2: %s, want the due partitions' files rolled", s2)
	}
	h.commitJob(spec, 2, s2)
	must(t, w.NotifyCheckpointComplete(2))
	if got := h.committed(); !slices.Equal(got, []string{"dt=2020-01-01", "dt=2020-01-02"}) {
		t.Fatalf("committed %v, want both partitions", got)
	}
	h.expect2(t, "1@2020-01-01", "2@2020-01-02", "3@2020-01-01")
	if len(w.partitions) != 0 {
		t.Fatalf("the writer still tracks %v", mapKeys(w.partitions))
	}
}

// TestParquetRollsAtBarriers: parquet, a bulk format, still rolls every
// part file at each barrier (Flink's OnCheckpointRollingPolicy): nothing
// is in progress across a checkpoint.
func TestParquetRollsAtBarriers(t *testing.T) {
	tbl := rowTable(t, "parquet", false)
	h := newSinkHarness(t, tbl)
	w := h.writer(true)
	defer w.Close()
	for id := int64(1); id <= 2; id++ {
		h.write(w, int(id))
		st := decodeState(t, preCommit(t, w, id))
		if len(st.InProgress) != 0 || len(w.files) != 0 {
			t.Fatalf("checkpoint %d: %d files in progress", id, len(w.files))
		}
		must(t, w.NotifyCheckpointComplete(id))
	}
	h.expect("two checkpoints", 1, 2)
	if got := h.committedFiles(); got != 2 {
		t.Fatalf("%d part files, want one per checkpoint", got)
	}
}
