package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// evenCond is id % 2 = 0.
func evenCond(t testing.TB) expr.Expr {
	two := &expr.Literal{Value: int64(2), T: types.BigIntType.WithNullable(false)}
	zero := &expr.Literal{Value: int64(0), T: types.BigIntType.WithNullable(false)}
	mod, err := expr.Resolve("%", []expr.Expr{col(0), two})
	require.NoError(t, err)
	eq, err := expr.Resolve("=", []expr.Expr{mod, zero})
	require.NoError(t, err)
	return eq
}

func TestPipeline(t *testing.T) {
	for _, par := range []int{1, 4} {
		for _, batch := range []int{7, DefaultBatchSize} {
			t.Run(fmt.Sprintf("p=%d/batch=%d", par, batch), func(t *testing.T) {
				rows := 20000
				if batch < 100 {
					rows = 2000 // keep the race detector's run short
				}
				name, store := newStore(t)
				g := &JobGraph{
					Name:   "pipeline",
					Config: map[string]string{BatchSizeKey: strconv.Itoa(batch)},
					Vertices: []Vertex{
						{ID: 1, Name: "Source", Parallelism: par, Operators: []OperatorSpec{
							sourceOp(t, map[string]string{"rows": strconv.Itoa(rows)}), calcOp(t, evenCond(t))}},
						{ID: 2, Name: "Sink", Parallelism: par, Operators: []OperatorSpec{sinkOp(t, name, nil)}},
					},
					Edges: []Edge{{Source: 1, Target: 2, Partitioning: Forward}},
				}
				j, err := runJob(t, g, par)
				require.NoError(t, err)
				require.Equal(t, JobFinished, j.Status())
				var want []int64
				for i := int64(0); i < int64(rows); i += 2 {
					want = append(want, i)
				}
				require.Equal(t, want, store.all())
				require.Len(t, store.finished, par)

				src, calc, sink := opStats(j, 1, 0), opStats(j, 1, 1), opStats(j, 2, 0)
				require.Equal(t, int64(rows), src.RecordsOut)
				require.Equal(t, int64(rows), calc.RecordsIn)
				require.Equal(t, int64(rows/2), calc.RecordsOut)
				require.Equal(t, int64(rows/2), sink.RecordsIn)
				require.Equal(t, par, sink.Subtasks)
				require.Equal(t, MaxWatermark, calc.Watermark)
			})
		}
	}
}

func TestHashExchange(t *testing.T) {
	const rows, mod = 10000, 37
	name, store := newStore(t)
	g := &JobGraph{
		Name:   "hash",
		Config: map[string]string{BatchSizeKey: "100"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 3, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": strconv.Itoa(rows), "mod": strconv.Itoa(mod)})}},
			{ID: 2, Name: "Sink", Parallelism: 4, Operators: []OperatorSpec{sinkOp(t, name, nil)}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
	}
	_, err := runJob(t, g, 4)
	require.NoError(t, err)
	require.Equal(t, seq(0, rows), store.all())
	owner := map[int64]int{}
	for sub, ks := range store.ks {
		for _, k := range ks {
			if o, ok := owner[k]; ok && o != sub {
				t.Fatalf("key %d went to subtasks %d and %d", k, o, sub)
			}
			owner[k] = sub
		}
	}
	require.Len(t, owner, mod)
	require.Len(t, store.ks, 4, "every subtask owns some of %d keys", mod)
}

func TestRebalanceAndBroadcast(t *testing.T) {
	const rows = 8000
	for _, part := range []Partitioning{Rebalance, Broadcast, Global} {
		t.Run(string(part), func(t *testing.T) {
			name, store := newStore(t)
			g := &JobGraph{
				Name:   string(part),
				Config: map[string]string{BatchSizeKey: "500"},
				Vertices: []Vertex{
					{ID: 1, Name: "Source", Parallelism: 1, Operators: []OperatorSpec{
						sourceOp(t, map[string]string{"rows": strconv.Itoa(rows)})}},
					{ID: 2, Name: "Sink", Parallelism: 4, Operators: []OperatorSpec{sinkOp(t, name, nil)}},
				},
				Edges: []Edge{{Source: 1, Target: 2, Partitioning: part}},
			}
			_, err := runJob(t, g, 4)
			require.NoError(t, err)
			require.Len(t, store.finished, 4, "every sink subtask ends")
			switch part {
			case Rebalance: // 16 batches round-robin: 4 each
				require.Equal(t, seq(0, rows), store.all())
				for sub := 0; sub < 4; sub++ {
					require.Len(t, store.ids[sub], rows/4)
				}
			case Broadcast:
				for sub := 0; sub < 4; sub++ {
					require.Equal(t, seq(0, rows), store.ids[sub])
				}
			case Global:
				require.Equal(t, seq(0, rows), store.ids[0])
				require.Len(t, store.ids, 1)
			}
		})
	}
}

func TestCollect(t *testing.T) {
	const rows = 5000
	before := runtime.NumGoroutine()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	c := NewEmbeddedCluster(2, 1, mem)
	g := collectEvenGraph(t, rows)
	ctx := context.Background()
	j, err := c.Submit(ctx, g)
	require.NoError(t, err)
	got := collectSeqs(ctx, t, j)
	require.NoError(t, j.Wait(ctx))
	require.Len(t, got, rows/2)
	checkGoroutines(t, before)
}

// collectEvenGraph is a job of two parallel sources of rows sequence
// numbers that keeps the even ones and collects them as result "out".
func collectEvenGraph(t *testing.T, rows int) *JobGraph {
	return &JobGraph{
		Name:   "collect",
		Config: map[string]string{BatchSizeKey: "64"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": strconv.Itoa(rows)}),
				calcOp(t, evenCond(t)),
				{Kind: KindCollect, Name: "Collect", Schema: seqSchema, Spec: mustJSON(t, CollectSpec{ID: "out"})}}},
		},
	}
}

// collectSeqs reads j's result "out" to its end and returns the set of
// sequence numbers it held.
func collectSeqs(ctx context.Context, t *testing.T, j *Job) map[int64]bool {
	res, err := j.Results("out")
	require.NoError(t, err)
	got := map[int64]bool{}
	for {
		b, err := res.Next(ctx)
		if err == io.EOF {
			return got
		}
		require.NoError(t, err)
		for _, v := range b.Column(0).(*array.Int64).Int64Values() {
			got[v] = true
		}
		b.Release()
	}
}

func TestFailureCancelsJob(t *testing.T) {
	g := failingGraph(t)
	j, err := runJob(t, g, 2)
	require.Error(t, err)
	require.Contains(t, err.Error(), `operator test-fail "Fail": boom`)
	require.Contains(t, err.Error(), "Work (")
	require.Equal(t, JobFailed, j.Status())
}

// failingGraph is an unbounded job whose operator "Fail" in vertex "Work"
// fails with "boom" after 5 batches.
func failingGraph(t *testing.T) *JobGraph {
	name, _ := newStore(t)
	return &JobGraph{
		Name:   "fail",
		Config: map[string]string{BatchSizeKey: "100"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"unbounded": "true"})}},
			{ID: 2, Name: "Work", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: "test-fail", Name: "Fail", Schema: seqSchema, Spec: mustJSON(t, 5)},
				sinkOp(t, name, nil)}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Rebalance}},
	}
}

// unboundedGraph is a job of two parallel unbounded sources of sequence
// numbers writing to the test sink name until it is cancelled.
func unboundedGraph(t *testing.T, name string) *JobGraph {
	return &JobGraph{
		Name: "unbounded",
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"unbounded": "true"})}},
			{ID: 2, Name: "Sink", Parallelism: 1, Operators: []OperatorSpec{sinkOp(t, name, nil)}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{0}}},
	}
}

func TestCancelUnboundedJob(t *testing.T) {
	before := runtime.NumGoroutine()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	name, store := newStore(t)
	c := NewEmbeddedCluster(1, 2, mem)
	g := unboundedGraph(t, name)
	ctx := context.Background()
	j, err := c.Submit(ctx, g)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(store.all()) > 0 }, 10*time.Second, time.Millisecond)
	require.Equal(t, JobRunning, j.Status())
	j.Cancel()
	require.ErrorIs(t, j.Wait(ctx), ErrJobCanceled)
	require.Equal(t, JobCanceled, j.Status())
	mem.AssertSize(t, 0)
	checkGoroutines(t, before)

	// The slots are free again.
	j, err = c.Submit(ctx, g)
	require.NoError(t, err)
	require.NoError(t, c.Close(ctx))
	require.ErrorIs(t, j.Wait(ctx), ErrJobCanceled)
	mem.AssertSize(t, 0)
}

// TestBackpressure runs an unbounded source into a slow sink: bounded
// channels must stop the source, so neither the rows in flight nor the
// memory grow while the sink lags.
func TestBackpressure(t *testing.T) {
	const batch = 1000
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	name, _ := newStore(t)
	c := NewEmbeddedCluster(1, 1, mem)
	g := &JobGraph{
		Name:   "backpressure",
		Config: map[string]string{BatchSizeKey: strconv.Itoa(batch)},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 1, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"unbounded": "true"})}},
			{ID: 2, Name: "Sink", Parallelism: 1, Operators: []OperatorSpec{
				sinkOp(t, name, map[string]string{"delay": "2ms"})}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Rebalance}},
	}
	ctx := context.Background()
	j, err := c.Submit(ctx, g)
	require.NoError(t, err)
	// In flight: the channel's batches, one being sent, one in the sink.
	const maxInFlight = (ChannelCapacity + 2) * batch
	var peak int
	for i := 0; i < 30; i++ {
		time.Sleep(10 * time.Millisecond)
		out, in := opStats(j, 1, 0).RecordsOut, opStats(j, 2, 0).RecordsIn
		require.LessOrEqual(t, out-in, int64(maxInFlight))
		peak = max(peak, mem.CurrentAlloc())
	}
	require.Greater(t, opStats(j, 2, 0).RecordsIn, int64(0))
	// 3 columns of 8 bytes a row, with slack for buffer rounding.
	require.Less(t, peak, 2*maxInFlight*3*8)
	j.Cancel()
	require.ErrorIs(t, j.Wait(ctx), ErrJobCanceled)
	mem.AssertSize(t, 0)
}

func TestNotEnoughSlots(t *testing.T) {
	c := NewEmbeddedCluster(2, 1, nil)
	g := &JobGraph{
		Name: "wide",
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 3, Operators: []OperatorSpec{sourceOp(t, map[string]string{})}},
		},
	}
	_, err := c.Submit(context.Background(), g)
	require.ErrorIs(t, err, ErrNotEnoughSlots)
	require.Contains(t, err.Error(), "job needs 3, 2 of 2 free")
}

// TestSlotRequestWaits checks that a job which does not fit waits for a
// running job to free its slots (slot.request.timeout), and fails with
// ErrNotEnoughSlots when the wait times out.
func TestSlotRequestWaits(t *testing.T) {
	c := NewEmbeddedCluster(1, 2, nil)
	ctx := context.Background()
	graph := func(name string, par int, unbounded bool) *JobGraph {
		opts := map[string]string{"rows": "10"}
		if unbounded {
			opts["unbounded"] = "true"
		}
		store, _ := newStore(t)
		return &JobGraph{Name: name, Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: par, Operators: []OperatorSpec{sourceOp(t, opts), sinkOp(t, store, nil)}},
		}}
	}
	running, err := c.Submit(ctx, graph("running", 2, true))
	require.NoError(t, err)
	_, err = c.JobManager().SubmitWithOptions(ctx, graph("late", 1, false), SubmitOptions{SlotRequestTimeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, ErrNotEnoughSlots)
	require.Contains(t, err.Error(), "slot.request.timeout")
	submitted := make(chan error, 1)
	go func() {
		j, err := c.JobManager().SubmitWithOptions(ctx, graph("waiting", 1, false), SubmitOptions{SlotRequestTimeout: time.Minute})
		if err == nil {
			err = j.Wait(ctx)
		}
		submitted <- err
	}()
	select {
	case err := <-submitted:
		t.Fatalf("the job ran while every slot was taken: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	running.Cancel()
	require.ErrorIs(t, running.Wait(ctx), ErrJobCanceled)
	select {
	case err := <-submitted:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the waiting job did not start after slots were freed")
	}
	// A job wider than the cluster fails at once, whatever the timeout.
	start := time.Now()
	_, err = c.JobManager().SubmitWithOptions(ctx, graph("wide", 3, false), SubmitOptions{SlotRequestTimeout: time.Minute})
	require.ErrorIs(t, err, ErrNotEnoughSlots)
	require.Less(t, time.Since(start), 10*time.Second)
}

func TestValidate(t *testing.T) {
	src := func(p int) Vertex {
		return Vertex{ID: 1, Name: "S", Parallelism: p, Operators: []OperatorSpec{sourceOp(t, map[string]string{})}}
	}
	sink := func(p int) Vertex {
		return Vertex{ID: 2, Name: "K", Parallelism: p, Operators: []OperatorSpec{sinkOp(t, "x", nil)}}
	}
	for _, tc := range []struct {
		g    JobGraph
		want string
	}{
		{JobGraph{}, "has no vertices"},
		{JobGraph{Vertices: []Vertex{src(0)}}, "parallelism 0"},
		{JobGraph{Vertices: []Vertex{src(2), sink(3)}, Edges: []Edge{{Source: 1, Target: 2, Partitioning: Forward}}},
			"forward edge 0"},
		{JobGraph{Vertices: []Vertex{src(1), sink(1)}, Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash}}},
			"hash edge 0 has no keys"},
		{JobGraph{Vertices: []Vertex{src(1), sink(1)}}, `starts with "sink", not a source`},
		{JobGraph{Vertices: []Vertex{{ID: 1, Name: "S", Parallelism: 1, Operators: []OperatorSpec{{Kind: "nope"}}}}},
			`unknown operator kind "nope"`},
		{JobGraph{Vertices: []Vertex{src(1), sink(1)}, Edges: []Edge{
			{Source: 1, Target: 2, Partitioning: Rebalance}, {Source: 2, Target: 2, TargetInput: 1, Partitioning: Rebalance}}},
			"has a cycle"},
	} {
		err := tc.g.Validate()
		require.Error(t, err)
		require.Contains(t, err.Error(), tc.want)
	}
}

func TestDescriptorRoundTrip(t *testing.T) {
	g := &JobGraph{
		Name:   "rt",
		Config: map[string]string{BatchSizeKey: "7"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": "10"}), calcOp(t, evenCond(t))}},
			{ID: 2, Name: "Sink", Parallelism: 3, Operators: []OperatorSpec{sinkOp(t, "x", nil)}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1, 0}}},
	}
	j := &Job{id: "job", graph: g, slots: []slotRef{{0, 4}, {0, 5}, {1, 0}}}
	ds := j.descriptors()
	require.Len(t, ds, 5)
	for _, d := range ds {
		data, err := EncodeDescriptor(d)
		require.NoError(t, err)
		back, err := DecodeDescriptor(data)
		require.NoError(t, err)
		require.Equal(t, d, back)
	}
	require.Equal(t, []OutputDescriptor{{Edge: 0, Partitioning: Hash, Keys: []int{1, 0},
		DownstreamVertex: 2, DownstreamParallelism: 3, Consumers: []int{0, 1, 2}}}, ds[1].Outputs)
	require.Equal(t, []InputGateDescriptor{{Edge: 0, Input: 0, UpstreamVertex: 1, Producers: []int{0, 1}}}, ds[4].Inputs)
	require.Equal(t, 0, ds[4].Slot)
	require.Equal(t, 5, ds[3].Slot)

	// Calc expressions survive the trip and still compile.
	var cs CalcSpec
	require.NoError(t, json.Unmarshal(ds[0].Operators[1].Spec, &cs))
	e, err := expr.Unmarshal(cs.Condition)
	require.NoError(t, err)
	require.Equal(t, evenCond(t).String(), e.String())
}

func TestDeployFailureFailsJob(t *testing.T) {
	name, _ := newStore(t)
	bad := sourceOp(t, map[string]string{})
	bad.Spec = json.RawMessage(`{"table": 5}`)
	g := &JobGraph{
		Name: "bad",
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{bad}},
			{ID: 2, Name: "Sink", Parallelism: 2, Operators: []OperatorSpec{sinkOp(t, name, nil)}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Forward}},
	}
	_, err := runJob(t, g, 2)
	require.Error(t, err)
	require.Contains(t, err.Error(), "source spec")
	var oe *OperatorError
	require.False(t, errors.As(err, &oe), "the error crossed the TaskManager boundary as text")
}

// unionOp is the "test-union" operator: it forwards the batches of all its
// inputs and counts, per input, the watermarks and ends it receives.
type unionOp struct {
	ends, maxWMs map[int]int
	log          *sync.Map
	subtask      int
}

func (u *unionOp) Open(*OperatorContext) error { return nil }
func (u *unionOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	return out.Emit(b)
}
func (u *unionOp) ProcessWatermark(in int, wm Watermark, _ Output) error {
	if wm == MaxWatermark {
		u.maxWMs[in]++
	}
	return nil
}
func (u *unionOp) EndInput(in int, _ Output) error {
	if u.maxWMs[in] != 1 {
		return fmt.Errorf("input %d ended after %d MaxWatermarks", in, u.maxWMs[in])
	}
	u.ends[in]++
	u.log.Store(u.subtask, fmt.Sprint(u.ends))
	return nil
}
func (u *unionOp) Snapshot() ([]byte, error) { return nil, nil }
func (u *unionOp) Restore([]byte) error      { return nil }
func (u *unionOp) Close() error              { return nil }

var unionLog sync.Map // subtask -> ends per input, printed

func init() {
	RegisterOperator("test-union", func(_ OperatorSpec, ctx *OperatorContext) (Operator, error) {
		return &unionOp{ends: map[int]int{}, maxWMs: map[int]int{}, log: &unionLog, subtask: ctx.Subtask}, nil
	})
}

// TestTwoInputs feeds a two-input operator from two source vertices over
// different edges (so the task selects over channels of both inputs): all
// rows arrive, and each input gets exactly one MaxWatermark and one end.
func TestTwoInputs(t *testing.T) {
	name, store := newStore(t)
	g := &JobGraph{
		Name:   "union",
		Config: map[string]string{BatchSizeKey: "50"},
		Vertices: []Vertex{
			{ID: 1, Name: "Left", Parallelism: 2, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": "1000"})}},
			{ID: 2, Name: "Right", Parallelism: 3, Operators: []OperatorSpec{
				sourceOp(t, map[string]string{"rows": "600"})}},
			{ID: 3, Name: "Union", Parallelism: 2, Operators: []OperatorSpec{
				{Kind: "test-union", Name: "Union", Schema: seqSchema}, sinkOp(t, name, nil)}},
		},
		Edges: []Edge{
			{Source: 1, Target: 3, TargetInput: 0, Partitioning: Forward},
			{Source: 2, Target: 3, TargetInput: 1, Partitioning: Hash, Keys: []int{0}},
		},
	}
	_, err := runJob(t, g, 3)
	require.NoError(t, err)
	want := append(seq(0, 600), seq(0, 1000)...)
	sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
	require.Equal(t, want, store.all())
	for sub := 0; sub < 2; sub++ {
		ends, _ := unionLog.Load(sub)
		require.Equal(t, "map[0:1 1:1]", ends)
	}
}

// TestCollectAbandoned checks that result batches are released however a
// client stops reading: the job fails while the stream is full, or the
// client closes the stream of a running job (which then finishes).
func TestCollectAbandoned(t *testing.T) {
	for _, failing := range []bool{true, false} {
		t.Run(fmt.Sprintf("failing=%v", failing), func(t *testing.T) {
			before := runtime.NumGoroutine()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			c := NewEmbeddedCluster(1, 2, mem)
			failAfter := 1 << 30
			if failing {
				failAfter = 1 // each subtask buffers a batch in the stream, then fails
			}
			g := &JobGraph{
				Name:   "collect",
				Config: map[string]string{BatchSizeKey: "10"},
				Vertices: []Vertex{
					{ID: 1, Name: "Source", Parallelism: 2, Operators: []OperatorSpec{
						sourceOp(t, map[string]string{"rows": "2000"}),
						{Kind: "test-fail", Name: "Fail", Schema: seqSchema, Spec: mustJSON(t, failAfter)},
						{Kind: KindCollect, Name: "Collect", Schema: seqSchema, Spec: mustJSON(t, CollectSpec{ID: "out"})}}},
				},
			}
			ctx := context.Background()
			j, err := c.Submit(ctx, g)
			require.NoError(t, err)
			res, err := j.Results("out")
			require.NoError(t, err)
			if failing {
				// Nobody reads; the job fails with batches in the stream.
				require.ErrorContains(t, j.Wait(ctx), "boom")
				_, err := res.Next(ctx)
				require.ErrorContains(t, err, "boom")
			} else {
				b, err := res.Next(ctx)
				require.NoError(t, err)
				b.Release()
				res.Close()
				require.NoError(t, j.Wait(ctx))
				_, err = res.Next(ctx)
				require.ErrorIs(t, err, ErrResultClosed)
			}
			mem.AssertSize(t, 0)
			checkGoroutines(t, before)
		})
	}
}
