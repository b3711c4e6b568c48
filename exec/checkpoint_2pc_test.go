package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
)

// txnLog is what the "test-2pc" writers of one test committed, by
// transaction id, and what the "test-ckpt-listen" readers were told.
type txnLog struct {
	mu        sync.Mutex
	committed map[string][]int64
	errs      []error
	recovered int     // Recover calls
	notified  []int64 // checkpoint ids the readers were notified of
	writers   int     // writers created, which name their transactions
	// finalCommits counts the transactions committed through
	// connector.FinishedCommitter; ended marks the subtasks whose writer
	// pre-committed at the end of input.
	finalCommits int
	ended        map[int]bool
	// job is the test's job; the "test-2pc-gated" readers wait for it.
	job atomic.Pointer[Job]
	// gate, when set, holds subtask 1 of a "test-2pc-gated" source at its
	// pause position until it returns true.
	gate func() bool
	// check, when set, vets a commit of subtask's final state.
	check func(subtask int) error
	// commitErr, when set, fails every commit of a final state.
	commitErr error
}

var (
	txnLogMu sync.Mutex
	txnLogs  = map[string]*txnLog{}
)

func newTxnLog(t *testing.T) (string, *txnLog) {
	txnLogMu.Lock()
	defer txnLogMu.Unlock()
	l := &txnLog{committed: map[string][]int64{}, ended: map[int]bool{}}
	txnLogs[t.Name()] = l
	return t.Name(), l
}

func txnLogOf(name string) (*txnLog, error) {
	txnLogMu.Lock()
	defer txnLogMu.Unlock()
	if l := txnLogs[name]; l != nil {
		return l, nil
	}
	return nil, fmt.Errorf("no transaction log %q", name)
}

// commit makes a transaction's rows visible; committing it again must
// bring the same rows (a restored writer commits its state's
// transactions, which may have been committed before the failure).
func (l *txnLog) commit(t fakeTxn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.committed[t.ID]; ok {
		if !slices.Equal(prev, t.Rows) {
			l.errs = append(l.errs, fmt.Errorf("transaction %s committed twice with different rows", t.ID))
		}
		return
	}
	l.committed[t.ID] = t.Rows
}

// rows are the ids of every committed row, sorted.
func (l *txnLog) rows() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int64
	for _, r := range l.committed {
		out = append(out, r...)
	}
	slices.Sort(out)
	return out
}

// twoPCFactory is "test-2pc": a sink whose writers keep rows in
// transactions, as connector.TwoPhaseCommitWriter describes; rows of a
// transaction never committed are lost, as an aborted Kafka transaction's.
type twoPCFactory struct{}

func (twoPCFactory) Identifier() string { return "test-2pc" }
func (twoPCFactory) Options() []connector.Option {
	return []connector.Option{{Key: "name", Type: connector.String}}
}
func (twoPCFactory) ValidateSink(connector.TableInfo) (connector.SinkProperties, error) {
	return connector.SinkProperties{}, nil
}
func (twoPCFactory) CreateWriter(spec connector.SinkSpec, ctx connector.ReaderContext) (connector.SinkWriter, error) {
	if !ctx.Checkpointing {
		return nil, fmt.Errorf("test-2pc needs checkpointing")
	}
	l, err := txnLogOf(spec.Table.Options["name"])
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.writers++
	w := &twoPCWriter{log: l, subtask: ctx.Subtask, seq: 1, writer: l.writers}
	l.mu.Unlock()
	return w, nil
}

// CommitFinished implements connector.FinishedCommitter: it commits the
// transactions of a finished subtask's final state, after the test's
// check.
func (twoPCFactory) CommitFinished(spec connector.SinkSpec, state []byte) error {
	l, err := txnLogOf(spec.Table.Options["name"])
	if err != nil {
		return err
	}
	var s twoPCState
	if err := json.Unmarshal(state, &s); err != nil {
		return err
	}
	if l.commitErr != nil {
		return l.commitErr
	}
	if l.check != nil {
		if err := l.check(s.Subtask); err != nil {
			l.mu.Lock()
			l.errs = append(l.errs, err)
			l.mu.Unlock()
		}
	}
	for _, t := range s.Pending {
		l.commit(t)
	}
	l.mu.Lock()
	l.finalCommits += len(s.Pending)
	l.mu.Unlock()
	return nil
}

type fakeTxn struct {
	Checkpoint int64
	ID         string
	Rows       []int64
}

type twoPCState struct {
	Subtask int
	Next    int
	Pending []fakeTxn
}

// twoPCWriter names its transactions by subtask, number and writer, so
// that the transactions of a subtask run again from its start differ from
// the first run's.
type twoPCWriter struct {
	log     *txnLog
	subtask int
	writer  int
	seq     int
	open    []int64
	pending []fakeTxn
}

var _ connector.TwoPhaseCommitWriter = (*twoPCWriter)(nil)

func (w *twoPCWriter) Write(b arrow.RecordBatch) error {
	w.open = append(w.open, b.Column(0).(*array.Int64).Int64Values()...)
	return nil
}

func (w *twoPCWriter) PreCommit(id int64) ([]byte, error) {
	if len(w.open) > 0 {
		w.pending = append(w.pending, fakeTxn{Checkpoint: id, ID: fmt.Sprintf("%d-%d-w%d", w.subtask, w.seq, w.writer), Rows: w.open})
		w.seq, w.open = w.seq+1, nil
	}
	if id == connector.EndOfInput {
		w.log.mu.Lock()
		w.log.ended[w.subtask] = true
		w.log.mu.Unlock()
	}
	return json.Marshal(twoPCState{Subtask: w.subtask, Next: w.seq, Pending: w.pending})
}

func (w *twoPCWriter) NotifyCheckpointComplete(id int64) error {
	keep := w.pending[:0]
	for _, t := range w.pending {
		if t.Checkpoint == 0 || t.Checkpoint > id {
			keep = append(keep, t)
			continue
		}
		w.log.commit(t)
	}
	w.pending = keep
	return nil
}

func (w *twoPCWriter) Recover(state []byte) error {
	var s twoPCState
	if err := json.Unmarshal(state, &s); err != nil {
		return err
	}
	for _, t := range s.Pending {
		w.log.commit(t)
	}
	w.seq = s.Next
	w.log.mu.Lock()
	w.log.recovered++
	w.log.mu.Unlock()
	return nil
}

// Finish commits nothing: PreCommit(EndOfInput) follows.
func (w *twoPCWriter) Finish() error { return nil }

func (w *twoPCWriter) Close() error { return nil }

// listenFactory is "test-ckpt-listen": test-ckpt whose readers snapshot
// with the checkpoint's id (connector.CheckpointSnapshotter) and check
// that a completion notification names a checkpoint they snapshotted.
type listenFactory struct{ ckptFactory }

func (listenFactory) Identifier() string { return "test-ckpt-listen" }
func (f listenFactory) Options() []connector.Option {
	return append(f.ckptFactory.Options(), connector.Option{Key: "name", Type: connector.String})
}

func (f listenFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	l, err := txnLogOf(spec.Table.Options["name"])
	if err != nil {
		return nil, err
	}
	r, err := f.ckptFactory.CreateReader(spec, ctx)
	if err != nil {
		return nil, err
	}
	return &listenReader{ckptReader: r.(*ckptReader), log: l}, nil
}

type listenReader struct {
	*ckptReader
	log         *txnLog
	snapshotted []int64
}

func (r *listenReader) SnapshotCheckpoint(id int64) ([]byte, error) {
	r.snapshotted = append(r.snapshotted, id)
	return r.Snapshot()
}

func (r *listenReader) NotifyCheckpointComplete(id int64) error {
	if !slices.Contains(r.snapshotted, id) {
		return fmt.Errorf("notified of checkpoint %d, snapshotted %v", id, r.snapshotted)
	}
	r.log.mu.Lock()
	r.log.notified = append(r.log.notified, id)
	r.log.mu.Unlock()
	return nil
}

// gatedFactory is "test-2pc-gated": test-pos whose readers start once the
// test's job is known (txnLog.job), and whose subtask 1 waits at its pause
// position until the test's gate opens, polling, so that it also waits
// without checkpoints. A restored reader does not wait at the gate.
type gatedFactory struct{ posFactory }

func (gatedFactory) Identifier() string { return "test-2pc-gated" }
func (f gatedFactory) Options() []connector.Option {
	return append(f.posFactory.Options(), connector.Option{Key: "name", Type: connector.String})
}

func (f gatedFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	l, err := txnLogOf(spec.Table.Options["name"])
	if err != nil {
		return nil, err
	}
	r, err := f.posFactory.CreateReader(spec, ctx)
	if err != nil {
		return nil, err
	}
	p := r.(*posReader)
	if ctx.Subtask != 1 {
		p.pauseAt = -1
	}
	return &gatedReader{posReader: p, log: l}, nil
}

type gatedReader struct {
	*posReader
	log *txnLog
}

func (r *gatedReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	for r.log.job.Load() == nil || (r.next == r.pauseAt && (r.log.gate == nil || !r.log.gate())) {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	if r.next == r.pauseAt {
		r.pauseAt = -1
	}
	return r.posReader.Next(ctx)
}

func init() {
	connector.Register(twoPCFactory{})
	connector.Register(listenFactory{})
	connector.Register(gatedFactory{})
}

// TestTwoPhaseCommitSinkFailover: a job checkpointing every few
// milliseconds writes through a connector.TwoPhaseCommitWriter and fails
// once mid-stream, after a checkpoint completed. The sink operator
// pre-commits at every barrier, hands the writer's state to the
// checkpoint, passes completions on and gives the restored writer its
// state, so the committed rows are every row exactly once; the source
// reader snapshots with checkpoint ids and is notified of completions.
func TestTwoPhaseCommitSinkFailover(t *testing.T) {
	const rows = 3000
	for _, timed := range []bool{false, true} {
		t.Run(fmt.Sprintf("timed=%t", timed), func(t *testing.T) {
			resetFailover()
			name, log := newTxnLog(t)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// One subtask, so that every writer is restored with a state
			// (TestTwoPhaseCommitSinkFinishedSubtask has subtasks that end
			// before others fail).
			const par = 1
			opts := map[string]string{"connector": "test-ckpt-listen", "name": name, "rows": fmt.Sprint(rows), "mod": "7", "pause": "200"}
			fail := OperatorSpec{Kind: kindFailOnce, Name: "FailOnce", Schema: seqSchema, Spec: mustJSON(t, map[string]int64{"At": 2500})}
			if timed {
				fail.Kind = kindTimedFailOnce
			}
			snk := OperatorSpec{Kind: KindSink, Name: "Sink", Schema: seqSchema,
				Spec: mustJSON(t, connector.SinkSpec{Table: connector.TableInfo{Name: name, Schema: seqSchema,
					Options: map[string]string{"connector": "test-2pc", "name": name}}})}
			g := &JobGraph{
				Name: "two-phase-commit",
				Config: map[string]string{BatchSizeKey: "16", CheckpointingIntervalKey: "5 ms",
					RestartStrategyKey: "fixed-delay", FixedDelayDelayKey: "10 ms"},
				Vertices: []Vertex{{ID: 1, Name: "Source", Parallelism: par, Operators: []OperatorSpec{
					{Kind: KindSource, Name: "Scan", Schema: seqSchema,
						Spec: mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "pos", Schema: seqSchema, Options: opts}})},
					fail, snk}}},
			}
			c := NewEmbeddedCluster(1, 4, mem)
			j, err := c.Submit(ctx, g)
			require.NoError(t, err)
			require.NoError(t, j.Wait(ctx))
			require.True(t, failedOnce.Load())
			require.EqualValues(t, 1, j.CheckpointStats().Restarts)

			want := make([]int64, rows)
			for i := range want {
				want[i] = int64(i)
			}
			require.Empty(t, log.errs)
			require.Equal(t, want, log.rows(), "every row committed exactly once")
			require.Greater(t, len(log.committed), 1, "transactions rotate at barriers")
			require.Equal(t, par, log.recovered, "each restored writer got its state")
			require.NotEmpty(t, log.notified, "readers are notified of completed checkpoints")
		})
	}
}

// TestTwoPhaseCommitSinkSavepoint: a savepoint's barrier pre-commits the
// open transaction (checkpoint id 0) and no checkpoint completion commits
// it; the job restored from the savepoint commits it and goes on, so every
// row is committed once.
func TestTwoPhaseCommitSinkSavepoint(t *testing.T) {
	resetFailover()
	const rows = 1000
	name, log := newTxnLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	graph := func() *JobGraph {
		// The source pauses after 300 rows (no checkpoint completes to
		// release it: the interval is an hour).
		opts := map[string]string{"connector": "test-ckpt-listen", "name": name, "rows": fmt.Sprint(rows), "mod": "7", "pause": "300"}
		return &JobGraph{
			Name:   "two-phase-commit-savepoint",
			Config: map[string]string{BatchSizeKey: "16", CheckpointingIntervalKey: "1 h"},
			Vertices: []Vertex{{ID: 1, Name: "Source", Parallelism: 1, Operators: []OperatorSpec{
				{Kind: KindSource, Name: "Scan", Schema: seqSchema,
					Spec: mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "pos", Schema: seqSchema, Options: opts}})},
				{Kind: KindSink, Name: "Sink", Schema: seqSchema,
					Spec: mustJSON(t, connector.SinkSpec{Table: connector.TableInfo{Name: name, Schema: seqSchema,
						Options: map[string]string{"connector": "test-2pc", "name": name}}})}}}},
		}
	}
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, graph())
	require.NoError(t, err)
	for j.Metrics()[0].RecordsOut < 300 {
		require.NoError(t, ctx.Err())
		time.Sleep(time.Millisecond)
	}
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)
	require.Empty(t, log.rows(), "nothing committed before the restore")

	j, err = c.JobManager().SubmitWithOptions(ctx, graph(), SubmitOptions{Restore: sp})
	require.NoError(t, err)
	require.NoError(t, j.Wait(ctx))
	want := make([]int64, rows)
	for i := range want {
		want[i] = int64(i)
	}
	require.Empty(t, log.errs)
	require.Equal(t, want, log.rows())
	require.Equal(t, 1, log.recovered)
}

// gatedGraph is a "test-2pc-gated" source of rows at parallelism 2 whose
// subtask 1 waits at its 200th row for the log's gate, test-fail-once
// (failing at row failAt, -1: never) and a "test-2pc" sink, chained, with
// checkpoints every interval.
func gatedGraph(t *testing.T, name string, rows int, failAt int64, interval string) *JobGraph {
	opts := map[string]string{"connector": "test-2pc-gated", "name": name, "rows": fmt.Sprint(rows), "mod": "7", "pause": "200"}
	return &JobGraph{
		Name: "two-phase-commit-finished",
		Config: map[string]string{BatchSizeKey: "16", CheckpointingIntervalKey: interval,
			RestartStrategyKey: "fixed-delay", FixedDelayDelayKey: "10 ms"},
		Vertices: []Vertex{{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
			{Kind: KindSource, Name: "Scan", Schema: seqSchema,
				Spec: mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "gated", Schema: seqSchema, Options: opts}})},
			{Kind: kindFailOnce, Name: "FailOnce", Schema: seqSchema, Spec: mustJSON(t, map[string]int64{"At": failAt})},
			{Kind: KindSink, Name: "Sink", Schema: seqSchema,
				Spec: mustJSON(t, connector.SinkSpec{Table: connector.TableInfo{Name: name, Schema: seqSchema,
					Options: map[string]string{"connector": "test-2pc", "name": name}}})}}}},
	}
}

// recordedFinished reports whether cp records subtask i of vertex 1 as
// finished.
func recordedFinished(cp *Savepoint, i int) bool {
	if cp == nil {
		return false
	}
	for _, st := range cp.Subtasks {
		if st.Vertex == 1 && st.Subtask == i {
			return st.Finished
		}
	}
	return false
}

// checkFinalCommit is a txnLog check: a finished subtask's final state is
// committed only once the job's latest checkpoint records the subtask as
// finished or every task of the job has stopped (FLIP-147).
func checkFinalCommit(l *txnLog) func(int) error {
	return func(subtask int) error {
		j := l.job.Load()
		if j == nil {
			return fmt.Errorf("subtask %d committed before the job was submitted", subtask)
		}
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.pending == 0 || recordedFinished(j.ckpt.latest, subtask) {
			return nil
		}
		return fmt.Errorf("subtask %d committed its final transactions before it was recorded as finished", subtask)
	}
}

func seqRows(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

// TestTwoPhaseCommitSinkFinishedSubtask: at parallelism 2, sink subtask 0
// ends its input while subtask 1 still runs, and subtask 1 then fails
// once. Subtask 0's last transaction is pre-committed at the end of its
// input and committed only once a checkpoint recorded the subtask as
// finished or the job finished (FLIP-147), so every row is committed
// exactly once:
//   - without a checkpoint after subtask 0 finished (none completes at
//     all), the restart runs subtask 0 again from its start: the first
//     run's final transaction is never committed;
//   - with a checkpoint that recorded subtask 0 as finished before the
//     failure, its completion commits subtask 0's final state, and the
//     restart keeps subtask 0 finished (committing its state again).
func TestTwoPhaseCommitSinkFinishedSubtask(t *testing.T) {
	const rows = 2000
	for _, tc := range []struct {
		name     string
		interval string
		// gate opens subtask 1 once subtask 0 ended, or once a
		// checkpoint recorded it as finished.
		afterCheckpoint bool
	}{
		{name: "no-checkpoint-after-finish", interval: "1 h"},
		{name: "checkpoint-after-finish", interval: "5 ms", afterCheckpoint: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resetFailover()
			name, log := newTxnLog(t)
			log.check = checkFinalCommit(log)
			log.gate = func() bool {
				if tc.afterCheckpoint {
					return recordedFinished(log.job.Load().LatestCheckpoint(), 0)
				}
				log.mu.Lock()
				defer log.mu.Unlock()
				return log.ended[0]
			}
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := NewEmbeddedCluster(1, 2, mem)
			j, err := c.Submit(ctx, gatedGraph(t, name, rows, 1500, tc.interval))
			require.NoError(t, err)
			log.job.Store(j)
			require.NoError(t, j.Wait(ctx))
			require.True(t, failedOnce.Load())
			stats := j.CheckpointStats()
			require.EqualValues(t, 1, stats.Restarts)

			require.Empty(t, log.errs)
			require.Equal(t, seqRows(rows), log.rows(), "every row committed exactly once")
			require.Positive(t, log.finalCommits, "final transactions committed by the JobManager")
			if tc.afterCheckpoint {
				require.Positive(t, stats.Completed)
				require.Equal(t, 1, log.recovered, "subtask 0 stays finished, subtask 1 recovers")
			} else {
				require.Zero(t, stats.Completed)
			}
		})
	}
}

// TestTwoPhaseCommitSinkFinishedSavepoint: a savepoint taken after sink
// subtask 0 finished records it as finished with its final state; the
// stopped job commits that state (the savepoint completed), the job
// restored from the savepoint keeps subtask 0 finished and commits it
// again, harmlessly, and subtask 1's rows pre-committed at the savepoint
// commit once the job resumes. Every row is committed once.
func TestTwoPhaseCommitSinkFinishedSavepoint(t *testing.T) {
	resetFailover()
	const rows = 1000
	name, log := newTxnLog(t)
	log.check = checkFinalCommit(log)
	log.gate = func() bool { return false }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 2, nil)
	j, err := c.Submit(ctx, gatedGraph(t, name, rows, -1, "1 h"))
	require.NoError(t, err)
	log.job.Store(j)
	for {
		j.mu.Lock()
		done := j.states[subtaskKey{1, 0}] == TaskFinished && j.states[subtaskKey{1, 1}] == TaskRunning
		j.mu.Unlock()
		if done && j.Metrics()[0].RecordsOut >= rows/2+200 {
			break
		}
		require.NoError(t, ctx.Err())
		time.Sleep(time.Millisecond)
	}
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)
	require.True(t, recordedFinished(sp, 0))
	require.Equal(t, seqRows(rows/2), log.rows(), "the finished subtask's rows, committed as the job stopped")

	j2, err := c.JobManager().SubmitWithOptions(ctx, gatedGraph(t, name, rows, -1, "1 h"), SubmitOptions{Restore: sp})
	require.NoError(t, err)
	require.NoError(t, j2.Wait(ctx))
	require.Empty(t, log.errs)
	require.Equal(t, seqRows(rows), log.rows())
	require.Equal(t, 1, log.recovered, "only subtask 1 recovers a writer")
}

// TestTwoPhaseCommitSinkFinalCommitFails: a final state that cannot be
// committed when the job finishes fails the job, naming the sink.
func TestTwoPhaseCommitSinkFinalCommitFails(t *testing.T) {
	resetFailover()
	name, log := newTxnLog(t)
	log.commitErr = fmt.Errorf("broker unreachable")
	log.gate = func() bool { return true }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 2, nil)
	j, err := c.Submit(ctx, gatedGraph(t, name, 100, -1, "1 h"))
	require.NoError(t, err)
	log.job.Store(j)
	err = j.Wait(ctx)
	require.ErrorContains(t, err, "committing the final transactions of subtask 0 of \"Source\" into table "+name+": broker unreachable")
	require.Equal(t, JobFailed, j.Status())
	require.Empty(t, log.rows())
}
