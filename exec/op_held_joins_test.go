package exec

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// heldProbe configures a "test-held-join-probe" operator, by operator
// name: the join it wraps, whether it passes the join's HeldInput on to
// the task, and where it records the most rows input side ever held in
// state.
type heldProbe struct {
	kind string
	hold bool
	side int
	peak *atomic.Int64
}

var heldProbes = map[string]heldProbe{}

// stateProbe wraps a join and records its peak state after every batch.
// Embedding the Operator interface hides the join's HeldInput, so the task
// reads both inputs as they come; heldStateProbe passes it on.
type stateProbe struct {
	Operator
	rows func() [2]int
	cfg  heldProbe
}

func (p stateProbe) ProcessBatch(in int, b arrow.RecordBatch, out Output) error {
	err := p.Operator.ProcessBatch(in, b, out)
	if n := int64(p.rows()[p.cfg.side]); n > p.cfg.peak.Load() {
		p.cfg.peak.Store(n)
	}
	return err
}

type heldStateProbe struct {
	stateProbe
	sel InputSelectingOperator
}

func (p heldStateProbe) HeldInput() int { return p.sel.HeldInput() }

func init() {
	RegisterOperator("test-held-join-probe", func(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
		cfg := heldProbes[spec.Name]
		var (
			op   Operator
			rows func() [2]int
			err  error
		)
		switch cfg.kind {
		case KindIntervalJoin:
			op, err = newIntervalJoin(spec, ctx)
			if err == nil {
				rows = op.(*intervalJoin).stateRows
			}
		case KindTemporalJoin:
			op, err = newTemporalJoin(spec, ctx)
			if err == nil {
				rows = op.(*temporalJoin).stateRows
			}
		default:
			return nil, fmt.Errorf("no held join probe %q", spec.Name)
		}
		if err != nil {
			return nil, err
		}
		p := stateProbe{Operator: op, rows: rows, cfg: cfg}
		if cfg.hold {
			return heldStateProbe{stateProbe: p, sel: op.(InputSelectingOperator)}, nil
		}
		return p, nil
	})
}

// TestJoinsHoldLeadingInput joins a fast source with a slow one (each row
// i has key i % 100 and time i ms, and joins the other input's row i) in
// an interval join and an event-time temporal join, with the fast source
// on either side. Holding the input whose watermark is ahead keeps the
// fast side's state to a few batches, where reading both inputs as they
// come buffers most of the fast input; every row joins either way.
func TestJoinsHoldLeadingInput(t *testing.T) {
	interval := mustJSON(t, IntervalJoinSpec{Type: "inner", LeftKeys: []int{1}, RightKeys: []int{1},
		LeftTimeCol: 2, RightTimeCol: 2, LowerBound: -10, UpperBound: 10})
	temporal := mustJSON(t, TemporalJoinSpec{Type: "inner", LeftKeys: []int{1}, RightKeys: []int{1},
		LeftTimeCol: 2, RightTimeCol: 2})
	for _, tc := range []struct {
		kind string
		spec json.RawMessage
		fast int
	}{
		{KindIntervalJoin, interval, 0},
		{KindIntervalJoin, interval, 1},
		{KindTemporalJoin, temporal, 0},
		{KindTemporalJoin, temporal, 1},
	} {
		for _, hold := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/fast=%d/hold=%v", tc.kind, tc.fast, hold), func(t *testing.T) {
				const rows = 20000
				peak := runHeldJoin(t, heldProbe{kind: tc.kind, hold: hold, side: tc.fast, peak: &atomic.Int64{}}, tc.spec, rows)
				t.Logf("peak rows of input %d in state: %d of %d", tc.fast, peak, rows)
				if hold {
					// The channels hold a few 64-row batches.
					require.Less(t, peak, int64(2000))
				} else {
					require.Greater(t, peak, int64(rows/4))
				}
			})
		}
	}
}

// runHeldJoin runs the join of cfg between a fast and a slow test-seq
// source (the fast one on input cfg.side), checks that every left row
// joined, and returns the peak state of the fast input.
func runHeldJoin(t *testing.T, cfg heldProbe, spec json.RawMessage, rows int) int64 {
	name, store := newStore(t)
	both := types.Schema{Columns: append(slicesClone(seqSchema.Columns), seqSchema.Columns...)}
	bigint := types.BigIntType.WithNullable(false)
	sinkSchema := types.Schema{Columns: []types.Column{{Name: "id", Type: bigint}, {Name: "k", Type: bigint}}}
	sink := sinkOp(t, name, nil)
	sink.Schema = sinkSchema
	probe := t.Name()
	heldProbes[probe] = cfg
	opts := func(connector string) map[string]string {
		o := map[string]string{"rows": fmt.Sprint(rows), "mod": "100"}
		if connector != "" {
			o["connector"], o["delay"] = connector, "1ms"
		}
		return o
	}
	fast := sourceOp(t, opts(""))
	slow := fast
	slow.Spec = mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "seq", Schema: seqSchema, Options: opts("test-seq-slow")}})
	input := func(src OperatorSpec) []OperatorSpec {
		return []OperatorSpec{src,
			{Kind: KindWatermarkAssigner, Name: "WM", Schema: seqSchema, Spec: mustJSON(t,
				WatermarkAssignerSpec{RowtimeIndex: 2, Watermark: marshal(t, col(2))})}}
	}
	sources := [2]OperatorSpec{slow, slow}
	sources[cfg.side] = fast
	g := &JobGraph{
		Name:   "held-join",
		Config: map[string]string{BatchSizeKey: "64"},
		Vertices: []Vertex{
			{ID: 1, Name: "Left", Parallelism: 1, Operators: input(sources[0])},
			{ID: 2, Name: "Right", Parallelism: 1, Operators: input(sources[1])},
			{ID: 3, Name: "Join", Parallelism: 1, Operators: []OperatorSpec{
				{Kind: "test-held-join-probe", Name: probe, Schema: both, Spec: spec},
				{Kind: KindCalc, Name: "Calc", Schema: sinkSchema, Spec: mustJSON(t, CalcSpec{
					Projections: []json.RawMessage{marshal(t, col(0)), marshal(t, col(1))}})},
				sink}},
		},
		Edges: []Edge{
			{Source: 1, Target: 3, TargetInput: 0, Partitioning: Hash, Keys: []int{1}},
			{Source: 2, Target: 3, TargetInput: 1, Partitioning: Hash, Keys: []int{1}},
		},
	}
	_, err := runJob(t, g, 3)
	require.NoError(t, err)
	require.Equal(t, seq(0, int64(rows)), store.all())
	return cfg.peak.Load()
}

// TestHeldInputFollowsBounds checks which input each join asks to hold as
// the watermarks move, before and after a snapshot/restore: the interval
// join lets an input lead by as much as its rows need no buffering for
// (LowerBound for the left, -UpperBound for the right), and never holds
// when nothing waits for a watermark.
func TestHeldInputFollowsBounds(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	side := slicesClone(seqSchema.Columns)
	schema := types.Schema{Columns: append(slicesClone(side), side...)}
	start := func(kind string, spec any) Operator {
		newOp := newIntervalJoin
		if kind == KindTemporalJoin {
			newOp = newTemporalJoin
		}
		ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
		op, err := newOp(OperatorSpec{Kind: kind, Name: kind, Schema: schema, Spec: mustJSON(t, spec)}, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		return op
	}
	interval := func(lower, upper int64, procTime bool) IntervalJoinSpec {
		return IntervalJoinSpec{Type: "inner", LeftKeys: []int{1}, RightKeys: []int{1}, LeftTimeCol: 2, RightTimeCol: 2,
			LowerBound: lower, UpperBound: upper, ProcTime: procTime}
	}
	type step struct {
		in   int
		wm   Watermark
		held int
	}
	for _, tc := range []struct {
		name  string
		kind  string
		spec  any
		steps []step
	}{
		{"interval around zero", KindIntervalJoin, interval(-5, 10, false), []step{
			{0, 100, 0}, {1, 100, -1}, {1, 101, 1}, {0, 150, 0}, {1, 150, -1}}},
		// Left rows wait for the right watermark to pass t - 20: a lead of
		// up to 20 keeps none of them. Right rows wait for t + 30.
		{"interval left later", KindIntervalJoin, interval(20, 30, false), []step{
			{1, 100, 1}, {0, 100, -1}, {0, 120, -1}, {0, 121, 0}, {1, 121, -1}, {1, 200, 1}}},
		// Right rows wait for the left watermark to pass t - 20.
		{"interval right later", KindIntervalJoin, interval(-30, -20, false), []step{
			{0, 100, 0}, {1, 120, -1}, {1, 121, 1}, {0, 121, -1}}},
		{"interval proctime", KindIntervalJoin, interval(-5, 10, true), []step{{0, 100, -1}, {1, 50, -1}}},
		{"interval empty", KindIntervalJoin, interval(10, 5, false), []step{{0, 100, -1}, {1, 50, -1}}},
		{"temporal", KindTemporalJoin, TemporalJoinSpec{Type: "left", LeftKeys: []int{1}, RightKeys: []int{1},
			LeftTimeCol: 2, RightTimeCol: 2}, []step{{0, 100, 0}, {1, 100, -1}, {1, 101, 1}, {0, 150, 0}, {1, 150, -1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := start(tc.kind, tc.spec)
			var out countingOutput
			for i, s := range tc.steps {
				require.NoError(t, op.ProcessWatermark(s.in, s.wm, &out))
				require.Equal(t, s.held, op.(InputSelectingOperator).HeldInput(), "step %d", i)
				if i == len(tc.steps)/2 {
					state, err := op.Snapshot()
					require.NoError(t, err)
					require.NoError(t, op.Close())
					op = start(tc.kind, tc.spec)
					require.NoError(t, op.Restore(state))
					require.Equal(t, s.held, op.(InputSelectingOperator).HeldInput(), "restored at step %d", i)
				}
			}
			require.NoError(t, op.Close())
		})
	}
	mem.AssertSize(t, 0)
}
