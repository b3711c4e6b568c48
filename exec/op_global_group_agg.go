package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/agg"
)

// The global group aggregate (KindGlobalGroupAggregate, spec
// GlobalGroupAggregateSpec) is the second phase of a two-phase group
// aggregate, Flink's MiniBatchGlobalGroupAggFunction. Its input is hash
// partitioned by the keys and holds accumulator rows of the local phases
// (op_local_group_agg.go): the keys, each call's accumulator fields and,
// when the query's input is a changelog, the change of the group's input
// row count.
//
// It is the group aggregate (op_group_agg.go) with its hash table, keyed
// state, snapshots, state TTL and mini-batch bundles, except that a
// bundle's rows merge accumulators (agg.State.MergeGroup) instead of
// accumulating values, and a row changes its group's row count by its
// count column (by one without it). A DISTINCT call keeps the one-phase
// aggregate's distinct state (value -> count): the local phases' distinct
// views change the counts, and only values whose count leaves or returns
// to 0 reach the call's accumulator, so the keyed state (and its snapshot
// format) is the one-phase aggregate's. A bundle then emits as a one-phase
// mini-batch aggregate does (op_group_agg_minibatch.go): per group it
// touched, +I for a new group, -D for a group whose row count falls to 0,
// -U/+U for a changed result. As there, a row leaving an absent group
// empty is ignored (it carries retractions of rows the group never had).
// Without mini-batch every input batch is one bundle.
//
// Results equal the one-phase aggregate's for the same rows as long as
// the input is a well-formed changelog: each -U/-D follows its +I/+U
// through the same local instance, so the row counts the global sees
// never drop below zero.

func init() { RegisterOperator(KindGlobalGroupAggregate, newGlobalGroupAgg) }

// globalGroupAgg overrides only how batches arrive; everything else is
// the group aggregate's.
type globalGroupAgg struct{ *groupAgg }

// mergeInput describes the accumulator rows of a global aggregate's input.
type mergeInput struct {
	spec GlobalGroupAggregateSpec
}

func newGlobalGroupAgg(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	var gs GlobalGroupAggregateSpec
	if err := json.Unmarshal(spec.Spec, &gs); err != nil {
		return nil, fmt.Errorf("global-group-aggregate spec: %w", err)
	}
	if gs.InputChangelog {
		return nil, fmt.Errorf("global-group-aggregate: the input holds accumulators, not a changelog")
	}
	if len(gs.ArgTypes) != len(gs.Calls) {
		return nil, fmt.Errorf("global-group-aggregate: %d argument type lists for %d calls", len(gs.ArgTypes), len(gs.Calls))
	}
	g, err := buildGroupAgg(gs.GroupAggregateSpec, spec)
	if err != nil {
		return nil, err
	}
	g.merge = &mergeInput{spec: gs}
	return &globalGroupAgg{g}, nil
}

// state builds call i's merging accumulators after checking that its
// accumulator columns in input have the types the local phase emits.
func (m *mergeInput) state(i int, c agg.Call, input []arrow.DataType) (*agg.State, error) {
	argTypes := m.spec.ArgTypes[i]
	fields, ok := agg.GroupAccumulators(c, argTypes, m.spec.RowCount >= 0)
	if !ok {
		return nil, fmt.Errorf("aggregate %s cannot merge accumulators", c)
	}
	if len(c.Args) != len(fields) {
		return nil, fmt.Errorf("aggregate %s reads %d accumulator columns, its accumulator has %d fields", c, len(c.Args), len(fields))
	}
	for j, a := range c.Args {
		if a < 0 || a >= len(input) || !arrow.TypeEqual(input[a], fields[j].Type.Arrow()) {
			return nil, fmt.Errorf("aggregate %s: accumulator column %d is not a %s", c, a, fields[j].Type)
		}
	}
	if rc := m.spec.RowCount; rc >= len(input) || (rc >= 0 && input[rc].ID() != arrow.INT64) {
		return nil, fmt.Errorf("row count column %d is not a BIGINT input column", rc)
	}
	args := make([]arrow.DataType, len(argTypes))
	for j, t := range argTypes {
		args[j] = t.Arrow()
	}
	return agg.NewMergeState(c, args, m.spec.RowCount >= 0)
}

// ProcessBatch buffers b in the mini-batch bundle, or applies it as a
// bundle of its own without mini-batch.
func (g *globalGroupAgg) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	g.sawRows = g.sawRows || b.NumRows() > 0
	if !g.ready {
		if err := g.init(b.Schema()); err != nil {
			return err
		}
	}
	if g.miniBatch.size > 0 {
		return g.bufferBatch(b, out)
	}
	now := g.clock.NowMillis()
	g.maybeSweep(now)
	return g.applyBundle(b, now, out)
}

// applyMerged is applyBundle for accumulator rows: every row merges into
// its group and changes its row count by the row's count, then one change
// per group touched is emitted.
func (g *groupAgg) applyMerged(b arrow.RecordBatch, now int64, out Output) error {
	m := &g.miniBatch
	n := int(b.NumRows())
	if err := g.mapRows(b, now); err != nil {
		return err
	}
	var counts []int64
	if rc := g.merge.spec.RowCount; rc >= 0 {
		counts = b.Column(rc).(*array.Int64).Int64Values()
	}
	g.accSlots = growLen(g.accSlots, n)[:n]
	touched := m.touched[:0]
	for i, s := range g.slots {
		c, d := g.rows[s], int64(1)
		if counts != nil {
			d = counts[i]
		}
		if c == 0 && d <= 0 {
			g.accSlots[i] = -1
			continue
		}
		g.rows[s] = max(c+d, 0)
		g.accSlots[i] = s
		if m.first[s] == 0 {
			m.first[s], m.existed[s] = int32(i)+1, c > 0
			touched = append(touched, s)
		}
		m.last[s] = int32(i) + 1
	}
	m.touched = touched
	for _, st := range g.states {
		if err := st.MergeGroup(g.mem, b, g.accSlots); err != nil {
			return fmt.Errorf("global-group-aggregate: %w", err)
		}
	}
	return g.emitAndReset(b, touched, now, out)
}
