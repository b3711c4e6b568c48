package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
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
}

var (
	txnLogMu sync.Mutex
	txnLogs  = map[string]*txnLog{}
)

func newTxnLog(t *testing.T) (string, *txnLog) {
	txnLogMu.Lock()
	defer txnLogMu.Unlock()
	l := &txnLog{committed: map[string][]int64{}}
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
	return &twoPCWriter{log: l, subtask: ctx.Subtask, seq: 1}, nil
}

type fakeTxn struct {
	Checkpoint int64
	ID         string
	Rows       []int64
}

type twoPCState struct {
	Next    int
	Pending []fakeTxn
}

type twoPCWriter struct {
	log     *txnLog
	subtask int
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
		w.pending = append(w.pending, fakeTxn{Checkpoint: id, ID: fmt.Sprintf("%d-%d", w.subtask, w.seq), Rows: w.open})
		w.seq, w.open = w.seq+1, nil
	}
	return json.Marshal(twoPCState{Next: w.seq, Pending: w.pending})
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

func (w *twoPCWriter) Finish() error {
	for _, t := range w.pending {
		w.log.commit(t)
	}
	w.log.commit(fakeTxn{ID: fmt.Sprintf("%d-%d", w.subtask, w.seq), Rows: w.open})
	w.pending, w.open = nil, nil
	return nil
}

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

func init() {
	connector.Register(twoPCFactory{})
	connector.Register(listenFactory{})
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
			// One subtask: a sink subtask that ends commits at once
			// (TwoPhaseCommitWriter.Finish), so one ending before another
			// fails would write its rows after the checkpoint twice.
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
