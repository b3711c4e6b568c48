package exec

import (
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// rpcCluster serves an embedded cluster of slots slots through a
// JobManagerService and returns a client of it; both sides allocate from
// checked allocators, asserted empty (and the goroutines gone) at cleanup.
func rpcCluster(t *testing.T, slots int) (*RemoteJobManager, *EmbeddedCluster) {
	t.Helper()
	before := runtime.NumGoroutine()
	serverMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	clientMem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	c := NewEmbeddedCluster(1, slots, serverMem)
	svc := NewJobManagerService(c.JobManager(), nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- svc.Serve(l) }()
	rm, err := DialJobManager(l.Addr().String(), clientMem)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, rm.Close())
		svc.Stop()
		require.NoError(t, <-served)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, c.Close(ctx))
		serverMem.AssertSize(t, 0)
		clientMem.AssertSize(t, 0)
		checkGoroutines(t, before)
	})
	return rm, c
}

func TestRPCCollect(t *testing.T) {
	const rows = 5000
	rm, _ := rpcCluster(t, 2)
	g := collectEvenGraph(t, rows)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := rm.SubmitWithOptions(ctx, g, SubmitOptions{})
	require.NoError(t, err)
	got := collectSeqs(ctx, t, j)
	require.NoError(t, j.Wait(ctx))
	require.Equal(t, JobFinished, j.Status())
	require.Len(t, got, rows/2)
	// The final metrics arrive with the job's end.
	require.Equal(t, int64(rows/2), opStats(j, 1, 2).RecordsIn)
}

// An empty result still carries its schema and ends with io.EOF.
func TestRPCEmptyResult(t *testing.T) {
	rm, _ := rpcCluster(t, 1)
	g := &JobGraph{
		Name: "empty",
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 1, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": "0"}),
				{Kind: KindCollect, Name: "Collect", Schema: seqSchema, Spec: mustJSON(t, CollectSpec{ID: "out"})}}},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := rm.SubmitWithOptions(ctx, g, SubmitOptions{})
	require.NoError(t, err)
	res, err := j.Results("out")
	require.NoError(t, err)
	_, err = res.Next(ctx)
	require.Equal(t, io.EOF, err)
	require.NoError(t, j.Wait(ctx))
}

func TestRPCFailure(t *testing.T) {
	rm, _ := rpcCluster(t, 2)
	g := failingGraph(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := rm.SubmitWithOptions(ctx, g, SubmitOptions{})
	require.NoError(t, err)
	err = j.Wait(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), `operator test-fail "Fail": boom`)
	require.Equal(t, JobFailed, j.Status())
}

// The exec package's sentinel errors survive the trip.
func TestRPCNotEnoughSlots(t *testing.T) {
	rm, _ := rpcCluster(t, 2)
	g := &JobGraph{
		Name: "wide",
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 3, Operators: []OperatorSpec{sourceOp(t, map[string]string{})}},
		},
	}
	_, err := rm.SubmitWithOptions(context.Background(), g, SubmitOptions{})
	require.ErrorIs(t, err, ErrNotEnoughSlots)
	require.Contains(t, err.Error(), "job needs 3, 2 of 2 free")
}

// A running remote job reports live metrics; Cancel stops it remotely.
func TestRPCMetricsAndCancel(t *testing.T) {
	name, store := newStore(t)
	rm, c := rpcCluster(t, 2)
	g := unboundedGraph(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := rm.SubmitWithOptions(ctx, g, SubmitOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(store.all()) > 0 }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return opStats(j, 2, 0).RecordsIn > 0 }, 10*time.Second, time.Millisecond)
	require.Equal(t, 2, opStats(j, 1, 0).Subtasks)
	j.Cancel()
	require.ErrorIs(t, j.Wait(ctx), ErrJobCanceled)
	require.Equal(t, JobCanceled, j.Status())
	// The cluster's slots are free again.
	j2, err := c.Submit(ctx, g)
	require.NoError(t, err)
	j2.Cancel()
	require.ErrorIs(t, j2.Wait(ctx), ErrJobCanceled)
}

// A remote job's status follows the JobManager's: RESTARTING during a
// restart's delay, then CANCELED once cancelled there.
func TestRPCStatusWhileRestarting(t *testing.T) {
	resetFailover()
	rm, _ := rpcCluster(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := rm.SubmitWithOptions(ctx, failoverGraph(t, 3000, 7, 200, 1, 2500, map[string]string{
		CheckpointingIntervalKey: "5ms",
		RestartStrategyKey:       "fixed-delay",
		FixedDelayDelayKey:       "1h",
	}), SubmitOptions{})
	require.NoError(t, err)
	go func() { _ = collectUpsert(t, j, map[int64]aggResult{}) }()
	require.Eventually(t, func() bool { return j.Status() == JobRestarting }, 20*time.Second, time.Millisecond)
	j.Cancel()
	require.ErrorIs(t, j.Wait(ctx), ErrJobCanceled)
	require.Equal(t, JobCanceled, j.Status())
}
