package exec

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/model"
)

// gatedProvider answers a STRING input with its upper-cased text twice
// when it starts with "two", not at all for "none", and holds an input
// until its gate is closed (or the request's context ends). It counts the
// calls per input.
type gatedProvider struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
	calls map[string]int
}

var testProvider = &gatedProvider{gates: map[string]chan struct{}{}, calls: map[string]int{}}

func init() { model.Register(testProvider) }

func (*gatedProvider) Identifier() string          { return "test-gated" }
func (*gatedProvider) Options() []connector.Option { return nil }
func (*gatedProvider) Validate(model.Info, connector.Options) error {
	return nil
}
func (p *gatedProvider) Open(model.Info, connector.Options) (model.Predictor, error) {
	return p, nil
}
func (*gatedProvider) Close() error { return nil }

func (p *gatedProvider) Predict(ctx context.Context, input []any) ([][]any, error) {
	s, ok := input[0].(string)
	if !ok {
		return nil, nil
	}
	p.mu.Lock()
	p.calls[s]++
	gate := p.gates[s]
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch {
	case s == "none":
		return nil, nil
	case strings.HasPrefix(s, "two"):
		return [][]any{{strings.ToUpper(s)}, {strings.ToUpper(s) + "!"}}, nil
	}
	return [][]any{{strings.ToUpper(s)}}, nil
}

// hold forgets the calls counted so far and holds the requests of s.
func (p *gatedProvider) hold(s string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := make(chan struct{})
	p.gates[s] = g
	clear(p.calls)
	return g
}

func (p *gatedProvider) callsOf(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[s]
}

var mlIn = types.Schema{Columns: []types.Column{{Name: "id", Type: types.BigIntType}, {Name: "txt", Type: types.StringType}}}

func mlPredictSpec(t *testing.T, config map[string]string) OperatorSpec {
	out := types.Schema{Columns: append(append([]types.Column(nil), mlIn.Columns...), types.Column{Name: "answer", Type: types.StringType})}
	info := model.Info{Name: "m", Options: map[string]string{"provider": "test-gated"},
		Input:  types.Schema{Columns: []types.Column{{Name: "q", Type: types.StringType}}},
		Output: types.Schema{Columns: []types.Column{{Name: "answer", Type: types.StringType}}}}
	return OperatorSpec{Kind: KindMLPredict, Schema: out, Spec: mustJSON(t, MLPredictSpec{
		Model: info, InputColumns: []int{1}, InputWidth: 2, Config: config})}
}

// TestMLPredictOperator: each row joins its model outputs (none, one or
// several), NULL inputs included; ordered output waits for a held batch,
// unordered output passes it; a watermark waits for the batches before
// it, and no batch after it passes it. Arrow buffers are all released.
func TestMLPredictOperator(t *testing.T) {
	for _, ordered := range []bool{true, false} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Config: map[string]string{}}
		cfg := map[string]string{}
		if !ordered {
			cfg["output-mode"] = "ALLOW_UNORDERED"
		}
		op := openOperator(t, mlPredictSpec(t, cfg), ctx)
		var o rowsOutput
		gate := testProvider.hold("held")
		first := vsBatch(t, mem, mlIn, `[{"id": 1, "txt": "held"}, {"id": 2, "txt": "two"}]`)
		second := vsBatch(t, mem, mlIn, `[{"id": 3, "txt": "none"}, {"id": 4, "txt": null}, {"id": 5, "txt": "b"}]`)
		require.NoError(t, op.ProcessBatch(0, first, &o))
		require.NoError(t, op.ProcessBatch(0, second, &o))
		first.Release()
		second.Release()
		require.Eventually(t, func() bool {
			require.NoError(t, op.(ProcessingTimeOperator).OnProcessingTime(&o))
			return !ordered && o.log.Len() > 0 || ordered && testProvider.callsOf("b") == 1
		}, 5*time.Second, time.Millisecond)
		require.NoError(t, op.(ProcessingTimeOperator).OnProcessingTime(&o))
		if ordered {
			require.Empty(t, o.log.String(), "the second batch waits for the first")
		} else {
			require.Equal(t, "[5, b, B]\n", o.log.String(), "the second batch overtakes the held one")
		}
		require.NoError(t, op.ProcessWatermark(0, 1000, &o))
		third := vsBatch(t, mem, mlIn, `[{"id": 6, "txt": "c"}]`)
		require.NoError(t, op.ProcessBatch(0, third, &o))
		third.Release()
		require.Eventually(t, func() bool { return testProvider.callsOf("c") == 1 }, 5*time.Second, time.Millisecond)
		time.Sleep(5 * time.Millisecond)
		require.NoError(t, op.(ProcessingTimeOperator).OnProcessingTime(&o))
		before := ""
		if !ordered {
			before = "[5, b, B]\n"
		}
		require.Equal(t, before, o.log.String(), "nothing passes the held batch's watermark")
		close(gate)
		require.NoError(t, op.EndInput(0, &o))
		want := "[1, held, HELD]\n[2, two, TWO]\n[2, two, TWO!]\n[5, b, B]\nwatermark 1000\n[6, c, C]\n"
		if !ordered {
			want = "[5, b, B]\n[1, held, HELD]\n[2, two, TWO]\n[2, two, TWO!]\nwatermark 1000\n[6, c, C]\n"
		}
		require.Equal(t, want, o.log.String())
		require.NoError(t, op.Close())
		require.NoError(t, op.Close(), "Close is idempotent")
		mem.AssertSize(t, 0)
	}
}

// TestMLPredictOperatorRestore snapshots the operator while a batch's
// request is held, with a watermark behind it: the restored instance
// requests the batch's rows again and emits them once, after the batches
// emitted before the snapshot, which are not requested again, and then
// the watermark.
func TestMLPredictOperatorRestore(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Config: map[string]string{}}
	spec := mlPredictSpec(t, map[string]string{"max-concurrent-operations": "2"})
	op := openOperator(t, spec, ctx)
	var o rowsOutput
	testProvider.hold("pending")
	done := vsBatch(t, mem, mlIn, `[{"id": 1, "txt": "a"}]`)
	require.NoError(t, op.ProcessBatch(0, done, &o))
	require.NoError(t, op.ProcessWatermark(0, 10, &o))
	held := vsBatch(t, mem, mlIn, `[{"id": 2, "txt": "pending"}, {"id": 3, "txt": "c"}]`)
	require.NoError(t, op.ProcessBatch(0, held, &o))
	require.NoError(t, op.ProcessWatermark(0, 20, &o))
	done.Release()
	held.Release()
	require.Eventually(t, func() bool {
		require.NoError(t, op.(ProcessingTimeOperator).OnProcessingTime(&o))
		return testProvider.callsOf("pending") == 1 && o.log.String() == "[1, a, A]\nwatermark 10\n"
	}, 5*time.Second, time.Millisecond)

	restored := reopen(t, op, spec, ctx)
	defer restored.Close()
	require.Equal(t, "[1, a, A]\nwatermark 10\n", o.log.String())
	testProvider.mu.Lock()
	close(testProvider.gates["pending"])
	delete(testProvider.gates, "pending")
	calls := testProvider.calls["a"]
	testProvider.mu.Unlock()
	require.NoError(t, restored.EndInput(0, &o))
	require.Equal(t, "[1, a, A]\nwatermark 10\n[2, pending, PENDING]\n[3, c, C]\nwatermark 20\n", o.log.String())
	require.Equal(t, 2, testProvider.callsOf("pending"), "the held request is sent again")
	require.Equal(t, calls, testProvider.callsOf("a"), "an emitted row is not requested again")

	// A snapshot with nothing in flight is empty.
	state, err := restored.Snapshot()
	require.NoError(t, err)
	require.Nil(t, state)
}

// TestMLPredictOptions: the call's config overrides the session's
// options; async = false runs one ordered request at a time.
func TestMLPredictOptions(t *testing.T) {
	rt, err := MLPredictOptions(map[string]string{MLPredictMaxConcurrentKey: "7", MLPredictTimeoutKey: "5 s"}, nil)
	require.NoError(t, err)
	require.Equal(t, MLPredictRuntime{MaxConcurrent: 7, Timeout: 5 * time.Second, Ordered: true}, rt)
	rt, err = MLPredictOptions(map[string]string{MLPredictMaxConcurrentKey: "7", MLPredictOutputModeKey: "allow_unordered"},
		map[string]string{"max-concurrent-operations": "2", "timeout": "1min"})
	require.NoError(t, err)
	require.Equal(t, MLPredictRuntime{MaxConcurrent: 2, Timeout: time.Minute, Ordered: false}, rt)
	rt, err = MLPredictOptions(map[string]string{MLPredictOutputModeKey: "ALLOW_UNORDERED"}, map[string]string{"async": "false"})
	require.NoError(t, err)
	require.Equal(t, MLPredictRuntime{MaxConcurrent: 1, Timeout: 3 * time.Minute, Ordered: true}, rt)
	_, err = MLPredictOptions(nil, map[string]string{"timeout": "soon"})
	require.EqualError(t, err, "Failed to parse the config. Could not parse value 'soon' for key 'timeout'.")
}

// TestMLPredictOperatorBackpressure: with max-concurrent-operations rows
// held (the oldest in flight, the next answered but waiting behind it in
// order) a further batch is held up until the oldest is answered.
func TestMLPredictOperatorBackpressure(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Config: map[string]string{}}
	op := openOperator(t, mlPredictSpec(t, map[string]string{"max-concurrent-operations": "2"}), ctx)
	defer op.Close()
	var o rowsOutput
	gate := testProvider.hold("slow")
	for _, rows := range []string{`[{"id": 1, "txt": "slow"}]`, `[{"id": 2, "txt": "fast"}]`} {
		b := vsBatch(t, mem, mlIn, rows)
		require.NoError(t, op.ProcessBatch(0, b, &o))
		b.Release()
	}
	third := vsBatch(t, mem, mlIn, `[{"id": 3, "txt": "later"}]`)
	defer third.Release()
	returned := make(chan error, 1)
	go func() { returned <- op.ProcessBatch(0, third, &o) }()
	select {
	case err := <-returned:
		t.Fatalf("the third batch was taken while two rows were held: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	require.Zero(t, testProvider.callsOf("later"))
	close(gate)
	require.NoError(t, <-returned)
	require.NoError(t, op.EndInput(0, &o))
	require.Equal(t, "[1, slow, SLOW]\n[2, fast, FAST]\n[3, later, LATER]\n", o.log.String())
}
