package optimizer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// nduVisitor finds non-deterministic updates (NDU) as Flink's
// StreamNonDeterministicUpdatePlanVisitor does for EXPLAIN PLAN_ADVICE:
// from each root it passes down the set of columns whose values must be
// deterministic for the updates that carry them to be applied correctly,
// and reports the first node that computes such a column with a
// non-deterministic function.
//
// The requirement starts at a root that receives updates: an upsert sink
// needs its primary key deterministic (all columns when a
// SinkUpsertMaterializer compares whole rows), a sink without a primary
// key or a query's result all columns, since they retract whole rows. An
// aggregate or a join side without a unique key over an updating input
// retracts whole input rows, so it requires all of its input's columns.
// Columns of an upsert key of the input are deterministic by definition
// and leave the requirement, and an insert-only input needs nothing.
// A Calc over an updating input fails the requirement when a required
// column, or its condition, calls a non-deterministic function (NOW,
// CURRENT_TIMESTAMP, RAND, UUID, ..., expr.IsDeterministic); otherwise it
// passes the requirement on to the input columns its projections read. A
// regular join whose output updates fails on a non-deterministic
// condition.
//
// Operators the visitor does not model (correlates, lookup, interval and
// temporal joins, ranks, deduplications, OVER and window operators,
// MATCH_RECOGNIZE, ...) pass no requirement on, and neither does a node
// whose upsert keys are unknown: the analysis may miss a problem there,
// rather than report one that is not there.
type nduVisitor struct {
	warning string
}

func (v *nduVisitor) visit(n PhysicalNode, req []int) {
	if v.warning != "" {
		return
	}
	switch x := n.(type) {
	case *StreamSink:
		if !emitsUpdates(x.Input) {
			v.inputs(n, nil)
			return
		}
		pk := make([]int, len(x.Logical.Table.PrimaryKey))
		for i, k := range x.Logical.Table.PrimaryKey {
			pk[i] = x.Logical.Table.Schema.Index(k)
		}
		if len(pk) == 0 || hasUpsertMaterializer(x.Input) {
			pk = allColumns(x.Input)
		}
		v.inputs(n, pk)
	case *StreamCollect:
		if !emitsUpdates(x.Input) {
			v.inputs(n, nil)
			return
		}
		v.inputs(n, allColumns(x.Input))
	case *StreamCalc:
		if !emitsUpdates(x.Input) || len(req) == 0 {
			v.inputs(n, nil)
			return
		}
		if v.warning = calcNDU(x, req); v.warning != "" {
			return
		}
		var in []int
		for _, o := range req {
			in = append(in, expr.InputColumns(x.Logical.Exprs[o])...)
		}
		slices.Sort(in)
		v.inputs(n, slices.Compact(in))
	case *StreamExchange, *StreamUnion, *StreamWatermarkAssigner, *StreamDropUpdateBefore,
		*StreamChangelogNormalize, *StreamSinkUpsertMaterializer, *StreamSort, *StreamLimit:
		// Rows pass with their columns unchanged.
		v.inputs(n, req)
	case *StreamGroupAggregate, *StreamLocalGroupAggregate:
		// Over updates the aggregate retracts whole input rows; its own
		// results are deterministic (Eddy has no non-deterministic
		// aggregate function).
		in := n.Inputs()[0]
		if emitsUpdates(in) {
			v.inputs(n, allColumns(in))
		} else {
			v.inputs(n, nil)
		}
	case *StreamJoin:
		// A join whose output updates (updating inputs, or an outer or
		// anti join) retracts the rows its condition matched: the
		// condition must match them again.
		updates := emitsUpdates(x.Left) || emitsUpdates(x.Right) ||
			x.Logical.Type != planner.InnerJoin && x.Logical.Type != planner.SemiJoin
		if x.Logical.Condition != nil && updates {
			if v.warning = conditionNDU(x.Logical.Condition, x.Logical); v.warning != "" {
				return
			}
		}
		nl := x.Left.Schema().Len()
		var left, right []int
		if emitsUpdates(x.Left) {
			if x.LeftUniqueKey == nil {
				left = allColumns(x.Left)
			} else {
				for _, c := range req {
					if c < nl {
						left = append(left, c)
					}
				}
			}
		}
		if emitsUpdates(x.Right) {
			if x.RightUniqueKey == nil {
				right = allColumns(x.Right)
			} else {
				for _, c := range req {
					if c >= nl {
						right = append(right, c-nl)
					}
				}
			}
		}
		v.visit(x.Left, excludeUpsertKeys(x.Left, left))
		v.visit(x.Right, excludeUpsertKeys(x.Right, right))
	default:
		v.inputs(n, nil)
	}
}

// inputs visits each input of n with the requirement req, less the
// columns of the input's upsert keys (Flink's
// requireDeterminismExcludeUpsertKey).
func (v *nduVisitor) inputs(n PhysicalNode, req []int) {
	for _, in := range n.Inputs() {
		v.visit(in, excludeUpsertKeys(in, req))
	}
}

// calcNDU checks a Calc over an updating input: its condition must be
// deterministic, and so must the projections of the required columns.
// It returns Flink's message for the first failure, or "".
func calcNDU(c *StreamCalc, req []int) string {
	if c.Logical.Condition != nil {
		if w := conditionNDU(c.Logical.Condition, c.Logical); w != "" {
			return w
		}
	}
	var b strings.Builder
	for _, o := range req {
		if fn, ok := nonDeterministicCall(c.Logical.Exprs[o]); ok {
			fmt.Fprintf(&b, "%s(generated by non-deterministic function: %s ) ", c.Logical.Names[o], fn)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "The column(s): " + b.String() + "can not satisfy the determinism requirement for correctly processing update message(" +
		"'UB'/'UA'/'D' in changelogMode, not 'I' only), this usually happens when input node has no upsertKey(upsertKeys=[{}]) " +
		"or current node outputs non-deterministic update messages. Please consider removing these non-deterministic columns " +
		"or making them deterministic by using deterministic functions.\n\nrelated rel plan:\n" + relatedPlan(c.Logical)
}

// conditionNDU is Flink's message for a non-deterministic condition of
// node n, or "" when cond is deterministic.
func conditionNDU(cond expr.Expr, n planner.Node) string {
	fn, ok := nonDeterministicCall(cond)
	if !ok {
		return ""
	}
	return fmt.Sprintf("There exists non deterministic function: '%s' in condition: '%s' which may cause wrong result in update pipeline.\n"+
		"related rel plan:\n%s", fn, cond, relatedPlan(n))
}

// relatedPlan prints the subtree of a failing node with the changelog
// mode of each node, as Flink's warning shows it.
func relatedPlan(n planner.Node) string {
	modes := ChangelogModes(n, false)
	return strings.TrimSuffix(planner.ExplainWith(n, func(n planner.Node) string { return modes[n].String() }), "\n")
}

// nonDeterministicCall names the innermost non-deterministic call of e
// (Flink's FlinkRexUtil.getNonDeterministicCallName): CURRENT_TIMESTAMP
// in DATE_FORMAT(CURRENT_TIMESTAMP, 'yyMMdd').
func nonDeterministicCall(e expr.Expr) (string, bool) {
	name := ""
	expr.Walk(e, func(n expr.Expr) bool {
		c, ok := n.(*expr.Call)
		if name != "" || !ok || expr.IsDeterministic(c) {
			return false
		}
		for _, a := range c.Args {
			if !expr.IsDeterministic(a) {
				return true // the culprit is below
			}
		}
		name = c.Func
		return false
	})
	return name, name != ""
}

// excludeUpsertKeys removes from req the columns an upsert key of in
// makes deterministic: nothing remains when one key holds all of req,
// else req less the key that leaves the fewest columns. It returns nil
// when the upsert keys of in are unknown.
func excludeUpsertKeys(in PhysicalNode, req []int) []int {
	if len(req) == 0 {
		return nil
	}
	keys, known := upsertKeysOf(in)
	if !known {
		return nil
	}
	best := req
	for _, k := range keys {
		var left []int
		for _, c := range req {
			if !slices.Contains(k, c) {
				left = append(left, c)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if len(left) < len(best) {
			best = left
		}
	}
	return best
}

// upsertKeysOf is UpsertKeys of the logical node n implements; known is
// false for nodes whose keys the optimizer does not derive.
func upsertKeysOf(n PhysicalNode) (keys [][]int, known bool) {
	var l planner.Node
	switch x := n.(type) {
	case *StreamExchange:
		return upsertKeysOf(x.Input)
	case *StreamDropUpdateBefore:
		return upsertKeysOf(x.Input)
	case *StreamSinkUpsertMaterializer:
		// It compares whole rows: its key is no upsert key of the query.
		return upsertKeysOf(x.Input)
	case *StreamChangelogNormalize:
		return [][]int{normalizeKeys([][]int{x.Keys})[0]}, true
	case *StreamValues, *StreamUnion:
		return nil, true
	case *StreamScan:
		l = x.Logical
	case *StreamCalc:
		l = x.Logical
	case *StreamWatermarkAssigner:
		l = x.Logical
	case *StreamGroupAggregate:
		l = x.Logical
	case *StreamGlobalGroupAggregate:
		l = x.Logical
	case *StreamJoin:
		l = x.Logical
	case *StreamRank:
		l = x.Logical
	case *StreamDeduplicate:
		l = x.Logical
	case *StreamSort:
		l = x.Logical
	case *StreamLimit:
		l = x.Logical
	default:
		return nil, false
	}
	return UpsertKeys(l), true
}

// emitsUpdates reports whether n's output carries updates (its batches
// the row kind column). An upsert materializer counts as its input, as
// Flink's sink with upsertMaterialize=[true] sees its query.
func emitsUpdates(n PhysicalNode) bool {
	switch x := n.(type) {
	case *StreamExchange:
		return emitsUpdates(x.Input)
	case *StreamSinkUpsertMaterializer:
		return emitsUpdates(x.Input)
	case *StreamUnion:
		return slices.ContainsFunc(x.In, emitsUpdates)
	case operatorNode:
		s, err := x.operatorSpec()
		return err == nil && s.Changelog
	}
	return false
}

func hasUpsertMaterializer(n PhysicalNode) bool {
	for {
		switch x := n.(type) {
		case *StreamExchange:
			n = x.Input
		case *StreamSinkUpsertMaterializer:
			return true
		default:
			return false
		}
	}
}

func allColumns(n PhysicalNode) []int {
	cols := make([]int, n.Schema().Len())
	for i := range cols {
		cols[i] = i
	}
	return cols
}
