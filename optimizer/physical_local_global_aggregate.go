package optimizer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// AggPhaseStrategyKey is Flink's table.optimizer.agg-phase-strategy:
// AUTO (the default) and TWO_PHASE split a streaming group aggregate into
// local and global phases when mini-batch is on and every call can merge
// accumulators, and an event-time window aggregate whenever its calls
// merge (twoPhaseWindowAggregate); ONE_PHASE never does.
const AggPhaseStrategyKey = "table.optimizer.agg-phase-strategy"

// Values of table.optimizer.agg-phase-strategy.
const (
	AggPhaseAuto     = "AUTO"
	AggPhaseOnePhase = "ONE_PHASE"
	AggPhaseTwoPhase = "TWO_PHASE"
)

// AggPhaseStrategy reads table.optimizer.agg-phase-strategy (AUTO when
// unset).
func AggPhaseStrategy(opts map[string]string) (string, error) {
	v := strings.ToUpper(strings.TrimSpace(opts[AggPhaseStrategyKey]))
	switch v {
	case "":
		return AggPhaseAuto, nil
	case AggPhaseAuto, AggPhaseOnePhase, AggPhaseTwoPhase:
		return v, nil
	}
	return "", errs.New(errs.InvalidOption, "%s must be AUTO, ONE_PHASE or TWO_PHASE, not '%s'", AggPhaseStrategyKey, opts[AggPhaseStrategyKey])
}

// StreamLocalGroupAggregate is the local phase of a two-phase group
// aggregate (Flink's StreamPhysicalLocalGroupAggregate): chained to its
// input, before the hash exchange, it folds each mini-batch per group
// into accumulator rows (exec.KindLocalGroupAggregate).
type StreamLocalGroupAggregate struct {
	Logical *planner.Aggregate
	Input   PhysicalNode
	// ArgTypes are each call's argument types; Accs its accumulator
	// fields, named with their output column (sum$0, count$1, ...), a
	// DISTINCT call's with its view (distinct$0, distinctcount$0).
	ArgTypes [][]types.DataType
	Accs     [][]agg.AccField
	// RowCount: the input is a changelog and the last column is the
	// change of each group's row count (count1$n).
	RowCount bool
	schema   types.Schema
}

// StreamGlobalGroupAggregate is the global phase of a two-phase group
// aggregate (Flink's StreamPhysicalGlobalGroupAggregate): after the hash
// exchange it merges the local phases' accumulators into its keyed state
// and emits the aggregate's changelog (exec.KindGlobalGroupAggregate).
type StreamGlobalGroupAggregate struct {
	Logical *planner.Aggregate
	Local   *StreamLocalGroupAggregate
	// Input is the exchange over Local.
	Input            PhysicalNode
	StateTTLMillis   int64
	DropUpdateBefore bool
}

var (
	_ operatorNode = (*StreamLocalGroupAggregate)(nil)
	_ operatorNode = (*StreamGlobalGroupAggregate)(nil)
)

// twoPhaseAggregate splits l into local and global phases, Flink's
// TwoStageOptimizedAggregateRule: in streaming mode, with mini-batch on,
// a strategy other than ONE_PHASE, and accumulators that merge for every
// call (agg.GroupAccumulators: COUNT, SUM, AVG, MIN, MAX and the variance
// family, with or without FILTER; a DISTINCT call ships its distinct
// view, the values of its bundle with the change of their counts, as
// Flink's distinct$0). The global phase leaves its -U out when
// dropUpdateBefore. It reports false when l stays one aggregate.
func twoPhaseAggregate(l *planner.Aggregate, in PhysicalNode, par int, ttl int64, cfg Config, dropUpdateBefore bool) (PhysicalNode, bool) {
	if cfg.Batch || !cfg.MiniBatch || cfg.AggPhaseStrategy == AggPhaseOnePhase {
		return nil, false
	}
	inSchema := l.Input.Schema()
	retract := l.Input.Changelog() != planner.InsertOnly
	local := &StreamLocalGroupAggregate{Logical: l, Input: in, RowCount: retract}
	out := l.Schema()
	local.schema.Columns = append(local.schema.Columns, out.Columns[:len(l.Keys)]...)
	views := 0
	for _, c := range l.Calls {
		args := make([]types.DataType, len(c.Args))
		for j, a := range c.Args {
			args[j] = inSchema.Columns[a].Type
		}
		fields, ok := agg.GroupAccumulators(c, args, retract)
		if !ok {
			return nil, false
		}
		for j := range fields {
			// Accumulators are numbered by column, distinct views by view
			// (Flink's sum$1 and distinct$0).
			n := local.schema.Len() - len(l.Keys)
			if c.Distinct {
				n = views
			}
			fields[j].Name += "$" + strconv.Itoa(n)
			local.schema.Columns = append(local.schema.Columns, types.Column{Name: fields[j].Name, Type: fields[j].Type})
		}
		if c.Distinct {
			views++
		}
		local.ArgTypes = append(local.ArgTypes, args)
		local.Accs = append(local.Accs, fields)
	}
	if retract {
		local.schema.Columns = append(local.schema.Columns, types.Column{
			Name: "count1$" + strconv.Itoa(local.schema.Len()-len(l.Keys)), Type: types.BigIntType.WithNullable(false)})
	}
	keys := make([]int, len(l.Keys))
	for i := range keys {
		keys[i] = i
	}
	return &StreamGlobalGroupAggregate{Logical: l, Local: local, Input: hashExchange(local, keys, par),
		StateTTLMillis: ttl, DropUpdateBefore: dropUpdateBefore}, true
}

func (n *StreamLocalGroupAggregate) Schema() types.Schema   { return n.schema }
func (n *StreamLocalGroupAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamLocalGroupAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamLocalGroupAggregate) Bounded() bool          { return n.Input.Bounded() }

// Describe prints the plan node as Flink does, e.g.
// LocalGroupAggregate(groupBy=[k], select=[k, AVG(v) AS (sum$0, count$1), COUNT(*) AS count1$2]),
// or for a DISTINCT call COUNT(DISTINCT v) AS distinct$0 (Flink prints
// the view apart, DISTINCT(v) AS distinct$0, as it shares it among the
// calls over v).
func (n *StreamLocalGroupAggregate) Describe() string {
	in := n.Logical.Input.Schema()
	keys := strings.Split(keyNames(in, n.Logical.Keys), ", ")
	if len(n.Logical.Keys) == 0 {
		keys = nil
	}
	sel := append([]string(nil), keys...)
	for i, c := range n.Logical.Calls {
		sel = append(sel, planner.DescribeCall(c, in)+" AS "+accNames(n.Accs[i]))
	}
	if n.RowCount {
		sel = append(sel, "COUNT(*) AS "+n.schema.Columns[n.schema.Len()-1].Name)
	}
	return fmt.Sprintf("LocalGroupAggregate(groupBy=[%s], select=[%s])", strings.Join(keys, ", "), strings.Join(sel, ", "))
}

// accNames prints a call's accumulator fields: sum$0, or (sum$0, count$1);
// a distinct view by its name alone (distinct$0), as Flink prints its
// MapView.
func accNames(fs []agg.AccField) string {
	if len(fs) > 0 && strings.HasPrefix(fs[0].Name, "distinct$") {
		return fs[0].Name
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	if len(names) == 1 {
		return names[0]
	}
	return "(" + strings.Join(names, ", ") + ")"
}

func (n *StreamLocalGroupAggregate) operatorSpec() (exec.OperatorSpec, error) {
	return spec(exec.KindLocalGroupAggregate, n.Describe(), n.Schema(), exec.LocalGroupAggregateSpec{
		Keys:           n.Logical.Keys,
		Calls:          n.Logical.Calls,
		ArgTypes:       n.ArgTypes,
		InputChangelog: n.RowCount,
	})
}

func (n *StreamGlobalGroupAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamGlobalGroupAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamGlobalGroupAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamGlobalGroupAggregate) Bounded() bool          { return n.Input.Bounded() }

// Describe prints the plan node as Flink does, e.g.
// GlobalGroupAggregate(groupBy=[k], select=[k, AVG((sum$0, count$1)) AS a, COUNT(distinct$0) AS c]).
func (n *StreamGlobalGroupAggregate) Describe() string {
	l := n.Logical
	out := l.Schema()
	keys := out.Names()[:len(l.Keys)]
	sel := append([]string(nil), keys...)
	for i, c := range l.Calls {
		sel = append(sel, fmt.Sprintf("%s(%s) AS %s", c.Func, accNames(n.Local.Accs[i]), l.Names[len(l.Keys)+i]))
	}
	return fmt.Sprintf("GlobalGroupAggregate(groupBy=[%s], select=[%s])", strings.Join(keys, ", "), strings.Join(sel, ", "))
}

// operatorSpec reads the keys and each call's accumulators at their
// columns of the local phase's output.
func (n *StreamGlobalGroupAggregate) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	nk := len(l.Keys)
	gs := exec.GlobalGroupAggregateSpec{ArgTypes: n.Local.ArgTypes, RowCount: -1}
	gs.Keys = make([]int, nk)
	for i := range gs.Keys {
		gs.Keys[i] = i
	}
	col := nk
	for i, c := range l.Calls {
		gc := agg.Call{Func: c.Func, Distinct: c.Distinct, Filter: -1, Type: c.Type, Name: c.Name}
		for range n.Local.Accs[i] {
			gc.Args = append(gc.Args, col)
			col++
		}
		gs.Calls = append(gs.Calls, gc)
	}
	if n.Local.RowCount {
		gs.RowCount = col
	}
	gs.StateTTLMillis, gs.DropUpdateBefore = n.StateTTLMillis, n.DropUpdateBefore
	s, err := spec(exec.KindGlobalGroupAggregate, n.Describe(), n.Schema(), gs)
	s.Changelog = true
	return s, err
}
