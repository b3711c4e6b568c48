package filesystem

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

var nSchema = types.Schema{Columns: []types.Column{col("n", types.IntType)}}

// sinkHarness drives writers of one table by hand, as the runtime does,
// with a manual clock.
type sinkHarness struct {
	t     *testing.T
	tbl   connector.TableInfo
	mem   *memory.CheckedAllocator
	clock int64
}

func newSinkHarness(t *testing.T, tbl connector.TableInfo) *sinkHarness {
	h := &sinkHarness{t: t, tbl: tbl, mem: memory.NewCheckedAllocator(memory.NewGoAllocator())}
	t.Cleanup(func() { h.mem.AssertSize(t, 0) })
	return h
}

func (h *sinkHarness) writer(checkpointing bool) *writer {
	return h.sinkWriter(checkpointing, "")
}

// sinkWriter is writer for the sink sinkID of a job.
func (h *sinkHarness) sinkWriter(checkpointing bool, sinkID string) *writer {
	h.t.Helper()
	w, err := Factory{}.CreateWriter(connector.SinkSpec{Table: h.tbl}, connector.ReaderContext{
		Mem: h.mem, Checkpointing: checkpointing, NowMillis: func() int64 { return h.clock }, SinkID: sinkID})
	if err != nil {
		h.t.Fatal(err)
	}
	return w.(*writer)
}

// write writes the rows n (and partition p = n % 2 for a partitioned
// table) for each n in ns.
func (h *sinkHarness) write(w *writer, ns ...int) {
	h.t.Helper()
	var rows []string
	for _, n := range ns {
		rows = append(rows, fmt.Sprintf(`{"n": %d, "p": %d}`, n, n%2))
	}
	b := fromJSON(h.t, h.mem, h.tbl.Schema, "["+strings.Join(rows, ",")+"]")
	defer b.Release()
	if err := w.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

// visible is the rows a reader of the table sees, sorted.
func (h *sinkHarness) visible() []string {
	h.t.Helper()
	return rows(h.t, connector.ScanSpec{Table: h.tbl}, 1)
}

func (h *sinkHarness) expect(what string, ns ...int) {
	h.t.Helper()
	var want []string
	for _, n := range ns {
		if len(h.tbl.PartitionKeys) > 0 {
			want = append(want, fmt.Sprintf("%d|%d", n, n%2))
		} else {
			want = append(want, fmt.Sprint(n))
		}
	}
	slices.Sort(want)
	if got := h.visible(); !slices.Equal(got, want) {
		h.t.Fatalf("%s: readers see %v, want %v", what, got, want)
	}
}

// hidden lists the hidden part files below the table's path.
func (h *sinkHarness) hidden() []string {
	var out []string
	filepath.WalkDir(h.tbl.Options[Path], func(p string, d fs.DirEntry, _ error) error {
		if strings.HasPrefix(d.Name(), ".part-") {
			out = append(out, d.Name())
		}
		return nil
	})
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func preCommit(t *testing.T, w *writer, id int64) []byte {
	t.Helper()
	s, err := w.PreCommit(id)
	must(t, err)
	return s
}

// TestTwoPhaseCommitLifecycle: with checkpointing, part files rolled by
// size are pending (hidden) from their roll until a checkpoint whose
// barrier came after it completes; a csv file in progress stays open
// across barriers, hidden, and a finished subtask's last files wait for
// CommitFinished, which may run twice.
func TestTwoPhaseCommitLifecycle(t *testing.T) {
	for _, partitioned := range []bool{false, true} {
		t.Run(fmt.Sprintf("partitioned=%v", partitioned), func(t *testing.T) {
			s := nSchema
			if partitioned {
				s.Columns = append(slices.Clone(s.Columns), col("p", types.IntType))
			}
			tbl := table(t.TempDir(), s, "format", "csv", RollingFileSize, "8b")
			if partitioned {
				tbl.PartitionKeys = []string{"p"}
			}
			// Which rows the 8-byte size policy rolled by each point:
			// unpartitioned, "1\n2\n1000\n..." rolls at once and "3\n4\n"
			// never; partitioned, p=0's "2\n1000\n1002\n" rolls before
			// checkpoint 1 and p=1's "1\n1001\n3\n" before checkpoint 2.
			first, third, open2 := []int{1, 2, 1000, 1001, 1002}, []int{1, 2, 1000, 1001, 1002}, 1
			if partitioned {
				first, third, open2 = []int{2, 1000, 1002}, []int{1, 2, 3, 1000, 1001, 1002}, 0
			}
			h := newSinkHarness(t, tbl)
			w := h.writer(true)
			defer w.Close()
			h.write(w, 1, 2)
			h.write(w, 1000, 1001, 1002)
			h.expect("before any checkpoint")
			s1 := preCommit(t, w, 1)
			if len(s1) == 0 {
				t.Fatal("no state at checkpoint 1")
			}
			h.write(w, 3)
			s2 := preCommit(t, w, 2)
			h.write(w, 4)
			h.expect("checkpoints 1 and 2 pre-committed")
			must(t, w.NotifyCheckpointComplete(1))
			h.expect("checkpoint 1 complete", first...)
			// A notification skipped: the next one commits both.
			preCommit(t, w, 3)
			must(t, w.NotifyCheckpointComplete(3))
			h.expect("checkpoint 3 complete", third...)
			if st, err := decodeSinkState(s2); err != nil || len(st.Pending) == 0 || st.Pending[0].Checkpoint != 1 || len(st.InProgress) != open2 {
				t.Errorf("state at checkpoint 2: %s (%v): want the files of checkpoint 1 still pending, %d in progress", s2, err, open2)
			}
			h.write(w, 5)
			must(t, w.Finish())
			final := preCommit(t, w, connector.EndOfInput)
			h.expect("finished, not committed", third...)
			must(t, w.Close())
			for range 2 {
				must(t, Factory{}.CommitFinished(connector.SinkSpec{Table: tbl}, final))
				h.expect("final files committed", 1, 2, 1000, 1001, 1002, 3, 4, 5)
			}
			if left := h.hidden(); len(left) != 0 {
				t.Errorf("hidden files left: %v", left)
			}
		})
	}
}

// TestRecoverAfterCrash: a writer that failed after a barrier and before
// its checkpoint's notification is restored from the checkpoint: the
// restored writer commits the checkpoint's pending files, resumes its
// file in progress cut back to the checkpoint, and deletes what the
// failed attempts wrote after it (twice: the first restored attempt fails
// too), and no other writer's files.
func TestRecoverAfterCrash(t *testing.T) {
	for _, partitioned := range []bool{false, true} {
		t.Run(fmt.Sprintf("partitioned=%v", partitioned), func(t *testing.T) {
			s := nSchema
			if partitioned {
				s.Columns = append(slices.Clone(s.Columns), col("p", types.IntType))
			}
			dir := t.TempDir()
			tbl := table(dir, s, "format", "csv", RollingFileSize, "8b")
			if partitioned {
				tbl.PartitionKeys = []string{"p"}
			}
			h := newSinkHarness(t, tbl)
			// Another job's writer on the same directory.
			other := h.writer(true)
			h.write(other, 100, 101)
			preCommit(t, other, 7)
			h.write(other, 102)

			w := h.writer(true)
			h.write(w, 1000, 1001, 1002) // rolls by size: pending at the barrier
			h.write(w, 1, 2)             // in progress at the barrier
			state := preCommit(t, w, 1)
			h.write(w, 7000, 7001, 7002) // after the barrier: rolls, pending
			h.write(w, 3)                // in progress
			w.Close()                    // the attempt fails
			h.expect("after the failure")
			// Unpartitioned, 1000..1002 rolled; partitioned, p=0's
			// "1000\n1002\n" did, p=1's "1001\n" was in progress.
			atCheckpoint := []int{1000, 1001, 1002}
			if partitioned {
				atCheckpoint = []int{1000, 1002}
			}

			for attempt := range 2 {
				r := h.writer(true)
				must(t, r.Recover(state))
				h.expect("recovered", atCheckpoint...)
				if r.uuid != w.uuid {
					t.Errorf("restored writer uses uuid %s, the state's is %s", r.uuid, w.uuid)
				}
				own := 0
				for _, f := range h.hidden() {
					if strings.Contains(f, w.uuid) {
						own++
					}
				}
				if own != len(r.files) || len(r.files) == 0 {
					t.Errorf("attempt %d: %d hidden files of the writer, want the %d it resumed: %v", attempt, own, len(r.files), h.hidden())
				}
				h.write(r, 4000, 4001, 4002)
				h.write(r, 5)
				if attempt == 0 {
					r.Close() // fails again before a checkpoint
					continue
				}
				preCommit(t, r, 2)
				must(t, r.NotifyCheckpointComplete(2))
				must(t, r.Finish())
				final := preCommit(t, r, connector.EndOfInput)
				must(t, r.Close())
				must(t, Factory{}.CommitFinished(connector.SinkSpec{Table: tbl}, final))
			}
			h.expect("after the restored writer finished", 1, 2, 1000, 1001, 1002, 4000, 4001, 4002, 5)
			var others int
			for _, f := range h.hidden() {
				if strings.Contains(f, other.uuid) {
					others++
				} else {
					t.Errorf("left behind: %s", f)
				}
			}
			if want := len(other.pending) + len(other.files); others != want {
				t.Errorf("the other writer has %d hidden files left, want its %d pending and in progress: %v", others, want, h.hidden())
			}
			other.Close()
		})
	}
}

// TestRestartWithoutCheckpoint: a job that fails before any checkpoint
// completed restarts its sink afresh, with the same part file names: the
// new attempt deletes the hidden files of its failed attempts (pending
// after a barrier and in progress), not another sink's, and, without
// checkpointing, numbers its files after those the failed attempt
// committed.
func TestRestartWithoutCheckpoint(t *testing.T) {
	for _, checkpointing := range []bool{true, false} {
		t.Run(fmt.Sprintf("checkpointing=%v", checkpointing), func(t *testing.T) {
			tbl := table(t.TempDir(), nSchema, "format", "csv", RollingFileSize, "8b")
			h := newSinkHarness(t, tbl)
			other := h.sinkWriter(checkpointing, "job/2")
			h.write(other, 100)
			failed := h.sinkWriter(checkpointing, "job/1")
			h.write(failed, 1, 2)
			if checkpointing {
				preCommit(t, failed, 1) // checkpoint 1 never completes
			}
			h.write(failed, 1000, 1001, 1002)
			h.write(failed, 3)
			must(t, failed.Close())
			var committed []int
			if !checkpointing {
				committed = []int{1, 2, 1000, 1001, 1002}
			}
			h.expect("after the failure", committed...)

			r := h.sinkWriter(checkpointing, "job/1")
			if r.uuid != failed.uuid {
				t.Fatalf("the restarted sink's uuid is %s, the failed attempt's %s", r.uuid, failed.uuid)
			}
			h.write(r, 1, 2, 3)
			own := 0
			for _, f := range h.hidden() {
				if strings.Contains(f, r.uuid) {
					own++
				}
			}
			if want := len(r.files) + len(r.pending); own != want {
				t.Errorf("%d hidden files of the sink, want the restarted attempt's %d: %v", own, want, h.hidden())
			}
			if !slices.ContainsFunc(h.hidden(), func(f string) bool { return strings.Contains(f, other.uuid) }) {
				t.Errorf("the other sink's in-progress file was removed: %v", h.hidden())
			}
			must(t, r.Finish())
			if checkpointing {
				final := preCommit(t, r, connector.EndOfInput)
				must(t, Factory{}.CommitFinished(connector.SinkSpec{Table: tbl}, final))
			}
			must(t, r.Close())
			h.expect("after the restarted attempt", append(committed, 1, 2, 3)...)
			must(t, other.Close())
		})
	}
}

// TestRecoverIdempotent: restoring from a checkpoint whose files were
// committed before the failure commits nothing again, and numbers new
// part files after every file of the writer, including files committed
// after the checkpoint (a restore from an older checkpoint), so none is
// overwritten.
func TestRecoverIdempotent(t *testing.T) {
	// Every write rolls: each checkpoint's rows are pending at its
	// barrier.
	tbl := table(t.TempDir(), nSchema, "format", "csv", RollingFileSize, "1b")
	h := newSinkHarness(t, tbl)
	w := h.writer(true)
	h.write(w, 1)
	s1 := preCommit(t, w, 1)
	must(t, w.NotifyCheckpointComplete(1))
	h.write(w, 2)
	preCommit(t, w, 2)
	must(t, w.NotifyCheckpointComplete(2))
	w.Close()
	h.expect("committed", 1, 2)

	r := h.writer(true)
	must(t, r.Recover(s1))
	must(t, r.Recover(s1))
	h.expect("recovered from checkpoint 1", 1, 2)
	h.write(r, 3)
	preCommit(t, r, 3)
	must(t, r.NotifyCheckpointComplete(3))
	must(t, r.Close())
	h.expect("rows after the older checkpoint again, nothing overwritten", 1, 2, 3)

	// A pending file that is gone loses rows: an error, as in Flink.
	w2 := h.writer(true)
	h.write(w2, 9)
	s := preCommit(t, w2, 1)
	w2.Close()
	for _, f := range h.hidden() {
		must(t, os.Remove(filepath.Join(tbl.Options[Path], f)))
	}
	if err := h.writer(true).Recover(s); err == nil || !strings.Contains(err.Error(), "neither it nor its pending file") {
		t.Errorf("missing pending file: %v", err)
	}
	for _, bad := range []string{`garbage`, `{"next": 1}`, `{"uuid": "u", "pending": [{"checkpoint": 1, "path": "../x"}]}`} {
		if err := h.writer(true).Recover([]byte(bad)); err == nil || !strings.Contains(err.Error(), "bad sink state") {
			t.Errorf("state %s: %v", bad, err)
		}
	}
}

// TestSavepointPending: the files a savepoint's barrier rolls are
// committed by a job restored from the savepoint, not by the
// notification of a later checkpoint; without checkpointing a savepoint
// commits them at once.
func TestSavepointPending(t *testing.T) {
	tbl := table(t.TempDir(), nSchema, "format", "csv", RollingFileSize, "1b")
	h := newSinkHarness(t, tbl)
	w := h.writer(true)
	h.write(w, 1)
	sp := preCommit(t, w, 0)
	must(t, w.NotifyCheckpointComplete(5))
	h.expect("savepoint taken")
	must(t, w.Close())
	r := h.writer(true)
	must(t, r.Recover(sp))
	h.expect("restored from the savepoint", 1)
	r.Close()

	plain := h.writer(false)
	h.write(plain, 2)
	if s := preCommit(t, plain, 0); s != nil {
		t.Errorf("state without checkpointing: %s", s)
	}
	must(t, plain.Close())
	h.expect("savepoint without checkpointing", 1, 2)
}

// TestRollingByTime: with a manual clock, part files roll when open for
// the rollover interval or idle for the inactivity interval, checked
// every check interval; without checkpointing they are visible at once,
// with it at the next completed checkpoint.
func TestRollingByTime(t *testing.T) {
	tbl := table(t.TempDir(), nSchema, "format", "csv",
		RolloverInterval, "10 s", InactivityInterval, "4 s", CheckInterval, "1 s")
	h := newSinkHarness(t, tbl)
	w := h.writer(false)
	defer w.Close()
	h.write(w, 1)
	h.clock = 3900
	must(t, w.OnProcessingTime(h.clock))
	h.clock = 4000
	must(t, w.OnProcessingTime(h.clock))
	h.expect("idle for 4 s, checked 100 ms ago: not checked again yet")
	h.clock = 4900
	must(t, w.OnProcessingTime(h.clock))
	h.expect("idle for 4.9 s", 1)

	// Written every 3 s (never inactive): it rolls at the first check
	// 10 s after it was opened.
	for h.clock = 5000; h.clock < 15000; h.clock += 3000 {
		h.write(w, int(h.clock))
		must(t, w.OnProcessingTime(h.clock))
	}
	h.expect("open for 9 s", 1)
	h.clock = 15000
	must(t, w.OnProcessingTime(h.clock))
	h.expect("open for 10 s", 1, 5000, 8000, 11000, 14000)

	c := h.writer(true)
	defer c.Close()
	h.write(c, 2)
	h.clock = 20000
	must(t, c.OnProcessingTime(h.clock))
	if len(c.files) != 0 || len(c.pending) != 1 {
		t.Fatalf("rolled by time with checkpointing: %d open, %d pending", len(c.files), len(c.pending))
	}
	h.expect("rolled, pending", 1, 5000, 8000, 11000, 14000)
	preCommit(t, c, 1)
	must(t, c.NotifyCheckpointComplete(1))
	h.expect("checkpoint complete", 1, 2, 5000, 8000, 11000, 14000)

	for _, opt := range []string{RolloverInterval, InactivityInterval, CheckInterval} {
		_, err := Factory{}.ValidateSink(table(t.TempDir(), nSchema, "format", "csv", opt, "0 s"))
		if err == nil || !strings.Contains(err.Error(), opt) {
			t.Errorf("%s = 0: %v", opt, err)
		}
	}
}
