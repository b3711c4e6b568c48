package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec/connector"
)

// The failover tests run one job at a time: these flags are the job's.
var (
	// checkpointSeen is set by the test-fail-once operator when it is told
	// a checkpoint completed; it releases the test-ckpt sources' pause.
	checkpointSeen atomic.Bool
	// failedOnce is set when test-fail-once failed; it fails only once.
	failedOnce atomic.Bool
	// failAlways makes test-fail-once fail at every attempt.
	failAlways atomic.Bool
	// snapshotHold, when set, blocks test-fail-once's Snapshot until it
	// is closed.
	snapshotHold atomic.Pointer[chan struct{}]
)

func resetFailover() {
	checkpointSeen.Store(false)
	failedOnce.Store(false)
	failAlways.Store(false)
	snapshotHold.Store(nil)
}

// "test-ckpt" is test-pos whose readers, paused, wait for a checkpoint to
// complete (checkpointSeen) and then go on, so that a checkpoint falls
// mid-stream at a known position and rows follow it.
type ckptFactory struct{ posFactory }

func (ckptFactory) Identifier() string { return "test-ckpt" }

func (f ckptFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	r, err := f.posFactory.CreateReader(spec, ctx)
	if err != nil {
		return nil, err
	}
	return &ckptReader{r.(*posReader)}, nil
}

type ckptReader struct{ *posReader }

func (r *ckptReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.next == r.pauseAt && checkpointSeen.Load() {
		r.pauseAt = -1
	}
	return r.posReader.Next(ctx)
}

// failOnce is a pass-through operator that fails when it sees the row
// whose id is spec "at" (once, or always with failAlways), and records
// the checkpoints it is told completed.
type failOnce struct {
	at int64
}

func (f *failOnce) Open(*OperatorContext) error { return nil }
func (f *failOnce) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	for _, id := range b.Column(0).(*array.Int64).Int64Values() {
		if id == f.at && (failAlways.Load() || failedOnce.CompareAndSwap(false, true)) {
			return fmt.Errorf("injected failure at row %d", id)
		}
	}
	return out.Emit(b)
}
func (f *failOnce) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}
func (f *failOnce) EndInput(int, Output) error { return nil }
func (f *failOnce) Snapshot() ([]byte, error) {
	if hold := snapshotHold.Load(); hold != nil {
		<-*hold
	}
	return nil, nil
}
func (f *failOnce) Restore([]byte) error { return nil }
func (f *failOnce) Close() error         { return nil }
func (f *failOnce) NotifyCheckpointComplete(id int64) error {
	if id <= 0 {
		return fmt.Errorf("bad checkpoint id %d", id)
	}
	checkpointSeen.Store(true)
	return nil
}

// timedFailOnce is failOnce woken on processing time, which makes its
// source task pull the reader in a goroutine of its own (pullSourceAsync).
type timedFailOnce struct{ failOnce }

func (*timedFailOnce) OnProcessingTime(Output) error { return nil }

const (
	kindFailOnce      = "test-fail-once"
	kindTimedFailOnce = "test-fail-once-timed"
)

func init() {
	connector.Register(ckptFactory{})
	RegisterOperator(kindFailOnce, func(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
		var s struct{ At int64 }
		if err := json.Unmarshal(spec.Spec, &s); err != nil {
			return nil, err
		}
		return &failOnce{at: s.At}, nil
	})
	RegisterOperator(kindTimedFailOnce, func(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
		var s struct{ At int64 }
		if err := json.Unmarshal(spec.Spec, &s); err != nil {
			return nil, err
		}
		return &timedFailOnce{failOnce{at: s.At}}, nil
	})
}

// failoverGraph is aggGraph over test-ckpt sources that pause after pause
// rows each until a checkpoint completed, with test-fail-once (failing at
// row failAt, -1: never) chained after the source, and the job options
// cfg.
func failoverGraph(t *testing.T, rows, mod, pause, par int, failAt int64, cfg map[string]string) *JobGraph {
	g := aggGraph(t, rows, mod, pause, par)
	src := &g.Vertices[0].Operators[0]
	var spec connector.ScanSpec
	require.NoError(t, json.Unmarshal(src.Spec, &spec))
	spec.Table.Options["connector"] = "test-ckpt"
	src.Spec = mustJSON(t, spec)
	g.Vertices[0].Operators[1] = OperatorSpec{Kind: kindFailOnce, Name: "FailOnce", Schema: seqSchema,
		Spec: mustJSON(t, map[string]int64{"At": failAt})}
	for k, v := range cfg {
		g.Config[k] = v
	}
	return g
}

// collectUpsert applies the aggregate's changelog by key and fails on a
// -U/-D that does not retract the key's current row: with checkpointing
// the collect operator delivers every change exactly once, also across
// a failover.
func collectUpsert(t *testing.T, j *Job, final map[int64]aggResult) error {
	return collectChanges(t, j, final, true)
}

// collectLatest keeps the last +I/+U of each key: a job restored from
// another job's checkpoint retracts rows its own client never saw.
func collectLatest(t *testing.T, j *Job, final map[int64]aggResult) error {
	return collectChanges(t, j, final, false)
}

func collectChanges(t *testing.T, j *Job, final map[int64]aggResult, strict bool) error {
	ctx := context.Background()
	res, err := j.Results("out")
	require.NoError(t, err)
	for {
		b, err := res.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		kinds := b.Column(3).(*array.Int8).Int8Values()
		for i, k := range b.Column(0).(*array.Int64).Int64Values() {
			row := aggResult{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)}
			switch kind := connector.RowKind(kinds[i]); {
			case !strict:
				if kind == connector.Insert || kind == connector.UpdateAfter {
					final[k] = row
				}
			case kind == connector.Insert || kind == connector.UpdateAfter:
				if cur, ok := final[k]; ok {
					b.Release()
					return fmt.Errorf("key %d: %v added over %v", k, row, cur)
				}
				final[k] = row
			default:
				if cur, ok := final[k]; !ok || cur != row {
					b.Release()
					return fmt.Errorf("key %d: %v retracted, current %v", k, row, cur)
				}
				delete(final, k)
			}
		}
		b.Release()
	}
}

func wantAgg(rows, mod int) map[int64]aggResult {
	want := map[int64]aggResult{}
	for id := range int64(rows) {
		r := want[id%int64(mod)]
		want[id%int64(mod)] = aggResult{r.c + 1, r.s + id}
	}
	return want
}

// TestCheckpointFailoverRestart: a job checkpointing every few
// milliseconds fails once mid-stream, after a checkpoint completed and
// rows were processed past it; it restarts from the checkpoint and its
// final aggregate equals a run without failure, with one restart. The
// checkpoint is in the savepoint format, also on disk.
func TestCheckpointFailoverRestart(t *testing.T) {
	const rows, mod = 3000, 7
	for _, tc := range []struct {
		par   int
		timed bool
	}{{1, false}, {3, false}, {1, true}, {3, true}} {
		par := tc.par
		t.Run(fmt.Sprintf("parallelism=%d/timed=%t", par, tc.timed), func(t *testing.T) {
			resetFailover()
			before := runtime.NumGoroutine()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dir := t.TempDir()
			c := NewEmbeddedCluster(1, 4, mem)
			g := failoverGraph(t, rows, mod, 200, par, 2500, map[string]string{
				CheckpointingIntervalKey: "5 ms",
				RestartStrategyKey:       "fixed-delay",
				FixedDelayDelayKey:       "10 ms",
				CheckpointsDirKey:        "file://" + dir,
			})
			retained := 1
			if tc.timed {
				g.Vertices[0].Operators[1].Kind = kindTimedFailOnce
				retained = 2
				g.Config[CheckpointingNumRetainedKey] = "2"
			}
			j, err := c.Submit(ctx, g)
			require.NoError(t, err)
			final := map[int64]aggResult{}
			require.NoError(t, collectUpsert(t, j, final))
			require.NoError(t, j.Wait(ctx))
			require.Equal(t, JobFinished, j.Status())
			require.True(t, failedOnce.Load())
			require.Equal(t, wantAgg(rows, mod), final)

			stats := j.CheckpointStats()
			require.EqualValues(t, 1, stats.Restarts)
			require.GreaterOrEqual(t, stats.Completed, int64(1))
			require.NotNil(t, j.LatestCheckpoint())
			require.Nil(t, j.ckpt.latest, "a checkpoint written to a directory is not held in memory too; the restart read it back")
			require.FileExists(t, stats.LatestPath)
			require.Equal(t, filepath.Join(dir, j.ID(), fmt.Sprintf("chk-%d", stats.LatestID), CheckpointMetadataFile), stats.LatestPath)
			entries, err := os.ReadDir(filepath.Join(dir, j.ID()))
			require.NoError(t, err)
			require.Len(t, entries, min(retained, int(stats.Completed)), "only the latest checkpoints are retained")
			sp, err := ReadSavepointFile(filepath.Dir(stats.LatestPath))
			require.NoError(t, err)
			require.Len(t, sp.Subtasks, 2*par)
			checkGoroutines(t, before)
		})
	}
}

// TestCheckpointRestartStrategyNone: with restart-strategy.type none the
// first failure fails the job with the task's error, checkpoints or not.
func TestCheckpointRestartStrategyNone(t *testing.T) {
	resetFailover()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, failoverGraph(t, 3000, 7, 200, 2, 2500, map[string]string{
		CheckpointingIntervalKey: "5ms",
		RestartStrategyKey:       "none",
	}))
	require.NoError(t, err)
	err = collectUpsert(t, j, map[int64]aggResult{})
	require.ErrorContains(t, err, "injected failure at row 2500")
	err = j.Wait(ctx)
	require.ErrorContains(t, err, "injected failure at row 2500")
	require.Equal(t, JobFailed, j.Status())
	require.Zero(t, j.CheckpointStats().Restarts)
}

// TestCheckpointRestartAttemptsExhausted: a failure at every attempt fails
// the job with the task's error once fixed-delay's attempts ran out.
func TestCheckpointRestartAttemptsExhausted(t *testing.T) {
	resetFailover()
	failAlways.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, failoverGraph(t, 3000, 7, 200, 2, 2500, map[string]string{
		CheckpointingIntervalKey: "5ms",
		RestartStrategyKey:       "fixed-delay",
		FixedDelayAttemptsKey:    "2",
		FixedDelayDelayKey:       "1ms",
	}))
	require.NoError(t, err)
	_ = collectUpsert(t, j, map[int64]aggResult{})
	require.ErrorContains(t, j.Wait(ctx), "injected failure at row 2500")
	require.Equal(t, JobFailed, j.Status())
	require.EqualValues(t, 2, j.CheckpointStats().Restarts)
}

// TestCheckpointCancelWhileRestarting: Cancel during a restart's delay
// ends the job as CANCELED.
func TestCheckpointCancelWhileRestarting(t *testing.T) {
	resetFailover()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, failoverGraph(t, 3000, 7, 200, 1, 2500, map[string]string{
		CheckpointingIntervalKey: "5ms",
		RestartStrategyKey:       "fixed-delay",
		FixedDelayDelayKey:       "1h",
	}))
	require.NoError(t, err)
	go func() { _ = collectUpsert(t, j, map[int64]aggResult{}) }()
	for j.Status() != JobRestarting {
		require.NoError(t, ctx.Err(), "%s %v %v", j.Status(), j.CheckpointStats(), j.Metrics())
		time.Sleep(time.Millisecond)
	}
	j.Cancel()
	require.ErrorIs(t, j.Wait(ctx), ErrJobCanceled)
	require.Equal(t, JobCanceled, j.Status())
}

// TestCheckpointRestoreNewSubmission: a checkpoint taken while the job
// runs (its sources paused) restores a new submission, which completes the
// computation; the first job is cancelled without ever failing.
func TestCheckpointRestoreNewSubmission(t *testing.T) {
	resetFailover()
	const rows, mod = 2000, 5
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	// The sources pause for good (test-pos): rows 0..299 of each
	// subtask's range are in every checkpoint after the pause.
	g := aggGraph(t, rows, mod, 300, 2)
	g.Config[CheckpointingIntervalKey] = "5ms"
	j1, err := c.Submit(ctx, g)
	require.NoError(t, err)
	final := map[int64]aggResult{}
	collected := make(chan error, 1)
	go func() { collected <- collectUpsert(t, j1, final) }()
	var cp *Savepoint
	for {
		require.NoError(t, ctx.Err())
		if cp = j1.LatestCheckpoint(); cp != nil && j1.Metrics()[0].RecordsOut == 600 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	j1.Cancel()
	require.ErrorIs(t, <-collected, ErrJobCanceled)
	require.ErrorIs(t, j1.Wait(ctx), ErrJobCanceled)

	data, err := EncodeSavepoint(cp)
	require.NoError(t, err)
	cp, err = DecodeSavepoint(data)
	require.NoError(t, err)
	j2, err := c.JobManager().SubmitWithOptions(ctx, aggGraph(t, rows, mod, 300, 2), SubmitOptions{Restore: cp})
	require.NoError(t, err)
	final = map[int64]aggResult{}
	require.NoError(t, collectLatest(t, j2, final))
	require.NoError(t, j2.Wait(ctx))
	require.Equal(t, wantAgg(rows, mod), final)
}

// TestCheckpointOptions: invalid checkpointing and restart options fail
// the submission with an error naming the option; without the interval
// nothing is checkpointed.
func TestCheckpointOptions(t *testing.T) {
	for _, tc := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{CheckpointingIntervalKey: "soon"}, CheckpointingIntervalKey},
		{map[string]string{CheckpointingIntervalKey: "0"}, "positive"},
		{map[string]string{CheckpointingTimeoutKey: "-1s"}, CheckpointingTimeoutKey},
		{map[string]string{CheckpointingMaxConcurrentKey: "2"}, "not supported"},
		{map[string]string{CheckpointingDirKey: "s3://bucket/x"}, "local"},
		{map[string]string{CheckpointingNumRetainedKey: "0"}, CheckpointingNumRetainedKey},
		{map[string]string{RestartStrategyKey: "sometimes"}, RestartStrategyKey},
		{map[string]string{RestartStrategyKey: "fixed-delay", FixedDelayAttemptsKey: "x"}, FixedDelayAttemptsKey},
		{map[string]string{CheckpointingIntervalKey: "1s", ExponentialJitterKey: "2"}, ExponentialJitterKey},
	} {
		require.ErrorContains(t, ValidateJobConfig(tc.cfg), tc.want, "%v", tc.cfg)
	}
	require.ErrorContains(t, ValidateJobOption(ExponentialMultiplierKey, "0.5"), ExponentialMultiplierKey)
	require.ErrorContains(t, ValidateJobOption(FailureRateDelayKey, "later"), FailureRateDelayKey)
	require.NoError(t, ValidateJobOption(ExponentialInitialBackoffKey, "10 min"))
	require.NoError(t, ValidateJobOption("pipeline.name", "x"))
	c := NewEmbeddedCluster(1, 4, nil)
	g := aggGraph(t, 10, 3, -1, 1)
	g.Config[CheckpointingIntervalKey] = "x"
	_, err := c.Submit(context.Background(), g)
	require.ErrorContains(t, err, CheckpointingIntervalKey)

	cc, err := CheckpointConfigFrom(map[string]string{CheckpointingIntervalKey: "1s", "execution.runtime-mode": "BATCH"})
	require.NoError(t, err)
	require.False(t, cc.Enabled(), "batch jobs take no checkpoints")

	// Checkpointing enables exponential-delay by default, as in Flink.
	s, err := RestartStrategyFrom(map[string]string{}, true)
	require.NoError(t, err)
	require.Contains(t, s.String(), "exponential-delay")
	s, err = RestartStrategyFrom(map[string]string{}, false)
	require.NoError(t, err)
	require.Equal(t, "none", s.String())
}

// TestExponentialDelayBackoff follows Flink's exponential-delay: the delay
// grows by the multiplier up to the maximum and starts over after the
// reset threshold without failure.
func TestExponentialDelayBackoff(t *testing.T) {
	s, err := RestartStrategyFrom(map[string]string{
		RestartStrategyKey:           "exponential-delay",
		ExponentialInitialBackoffKey: "1 s",
		ExponentialMaxBackoffKey:     "5 s",
		ExponentialMultiplierKey:     "2",
		ExponentialJitterKey:         "0",
		ExponentialResetThresholdKey: "1 min",
		ExponentialAttemptsKey:       "4",
	}, true)
	require.NoError(t, err)
	now := time.Unix(0, 0)
	var delays []time.Duration
	for range 5 {
		ok, d := s.OnFailure(now)
		if !ok {
			delays = append(delays, -1)
			continue
		}
		delays = append(delays, d)
		now = now.Add(time.Second)
	}
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, -1}, delays)
	ok, d := s.OnFailure(now.Add(2 * time.Minute))
	require.True(t, ok)
	require.Equal(t, time.Second, d)

	fr, err := RestartStrategyFrom(map[string]string{RestartStrategyKey: "failure-rate",
		FailureRateMaxFailuresKey: "2", FailureRateIntervalKey: "1 min", FailureRateDelayKey: "0"}, false)
	require.NoError(t, err)
	for i, want := range []bool{true, true, false} {
		ok, _ := fr.OnFailure(time.Unix(int64(i), 0))
		require.Equal(t, want, ok, "failure %d", i)
	}
	ok, _ = fr.OnFailure(time.Unix(600, 0))
	require.True(t, ok)
}

// TestCheckpointBarrierAlignment: a task blocks the channels that
// delivered a barrier until it arrived on all open ones; a later barrier
// abandons an alignment, an earlier one is ignored.
func TestCheckpointBarrierAlignment(t *testing.T) {
	ctx := context.Background()
	chans := make([]chan Element, 3)
	recv := make([]<-chan Element, 3)
	for i := range chans {
		chans[i] = make(chan Element, 4)
		recv[i] = chans[i]
	}
	g := newInputGate(ctx, recv, nil)
	var a barrierAligner
	a.barrier(g, 0, 1)
	require.Zero(t, a.aligned(g))
	chans[0] <- Element{Kind: ElementWatermark, Watermark: 5}
	chans[1] <- Element{Kind: ElementCheckpointBarrier, Checkpoint: 1}
	c, e, err := g.next(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, c, "channel 0 is blocked")
	a.barrier(g, c, e.Checkpoint)
	g.remove(2) // channel 2 ended
	require.EqualValues(t, 1, a.aligned(g))
	g.unblockAll()
	c, _, err = g.next(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, c)

	// Checkpoint 3 abandons 2; a stale barrier of 2 is ignored.
	a.barrier(g, 0, 2)
	a.barrier(g, 1, 3)
	a.barrier(g, 0, 2)
	require.Zero(t, a.aligned(g))
	a.barrier(g, 0, 3)
	require.EqualValues(t, 3, a.aligned(g))
}

// TestCheckpointFailoverRemote: the checkpointing and restart options
// travel with the graph to a remote JobManager, which restarts the job
// there; the client reads the results and the counters.
func TestCheckpointFailoverRemote(t *testing.T) {
	resetFailover()
	const rows, mod = 3000, 7
	rm, _ := rpcCluster(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := rm.SubmitWithOptions(ctx, failoverGraph(t, rows, mod, 200, 2, 2500, map[string]string{
		CheckpointingIntervalKey: "5 ms",
		RestartStrategyKey:       "fixed-delay",
		FixedDelayDelayKey:       "10 ms",
	}), SubmitOptions{})
	require.NoError(t, err)
	final := map[int64]aggResult{}
	require.NoError(t, collectUpsert(t, j, final))
	require.NoError(t, j.Wait(ctx))
	require.Equal(t, wantAgg(rows, mod), final)
	stats := j.CheckpointStats()
	require.EqualValues(t, 1, stats.Restarts)
	require.Positive(t, stats.Completed)
}

// TestCheckpointThenStopWithSavepoint: stop-with-savepoint works on a job
// taking checkpoints (a checkpoint in flight is abandoned), and the
// savepoint restores the job to the uninterrupted result.
func TestCheckpointThenStopWithSavepoint(t *testing.T) {
	const rows, mod = 2000, 7
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	g := aggGraph(t, rows, mod, 300, 3)
	g.Config[CheckpointingIntervalKey] = "1ms"
	j, err := c.Submit(ctx, g)
	require.NoError(t, err)
	final := map[int64]aggResult{}
	collected := make(chan error, 1)
	go func() { collected <- collectUpsert(t, j, final) }()
	for j.CheckpointStats().Completed < 3 {
		require.NoError(t, ctx.Err())
		time.Sleep(time.Millisecond)
	}
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)
	require.NoError(t, <-collected)
	j2, err := c.JobManager().SubmitWithOptions(ctx, aggGraph(t, rows, mod, 300, 3), SubmitOptions{Restore: sp})
	require.NoError(t, err)
	require.NoError(t, collectUpsert(t, j2, final))
	require.NoError(t, j2.Wait(ctx))
	require.Equal(t, wantAgg(rows, mod), final)
}

// TestCheckpointTimeout: a checkpoint a task does not acknowledge in
// execution.checkpointing.timeout is aborted (counted as failed); the
// next one is triggered and completes once the task goes on, and the job
// ends with the right results.
func TestCheckpointTimeout(t *testing.T) {
	resetFailover()
	const rows, mod = 3000, 7
	hold := make(chan struct{})
	snapshotHold.Store(&hold)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, failoverGraph(t, rows, mod, 200, 2, -1, map[string]string{
		CheckpointingIntervalKey: "5ms",
		CheckpointingTimeoutKey:  "30ms",
	}))
	require.NoError(t, err)
	final := map[int64]aggResult{}
	collected := make(chan error, 1)
	go func() { collected <- collectUpsert(t, j, final) }()
	for j.CheckpointStats().Failed == 0 {
		require.NoError(t, ctx.Err())
		time.Sleep(time.Millisecond)
	}
	require.Zero(t, j.CheckpointStats().Completed)
	close(hold)
	require.NoError(t, <-collected)
	require.NoError(t, j.Wait(ctx))
	require.Equal(t, wantAgg(rows, mod), final)
	stats := j.CheckpointStats()
	require.Positive(t, stats.Completed)
	require.Zero(t, stats.Restarts)
}
