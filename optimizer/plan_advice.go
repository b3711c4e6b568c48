package optimizer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
)

// PlanAdvice is what EXPLAIN PLAN_ADVICE adds to a streaming physical
// plan, as Flink's plan analyzers find it: data-correctness warnings and
// tuning advice, numbered in the order found, identical advice sharing a
// number. Node-level advice tags its nodes with advice=[n]; query-level
// advice (the non-deterministic update warning) tags none.
type PlanAdvice struct {
	// Items are the numbered advice, item i being advice[i+1].
	Items []AdviceItem
	// tags maps an advised node to its advice numbers.
	tags map[PhysicalNode][]int
}

// AdviceItem is one piece of advice (Flink's PlanAdvice): Kind is
// "WARNING" (a potential correctness risk) or "ADVICE" (tuning).
type AdviceItem struct {
	Kind    string
	Content string
}

// Kinds of advice.
const (
	AdviceWarning = "WARNING"
	AdviceTuning  = "ADVICE"
)

// AdvisePlan runs Flink's two stream plan analyzers over the physical plans
// of a statement (one root per sink), in Flink's order:
//
//   - NonDeterministicUpdateAnalyzer: a column computed by a
//     non-deterministic function over an updating input, where the update
//     messages reach an operator or sink that needs that column to be
//     deterministic to apply them (see nduVisitor);
//   - GroupAggregationAnalyzer: streaming group aggregates that the
//     two-phase rule could split into local and global phases, if the
//     session's options allowed it.
//
// opts are the session's options, for the mini-batch settings the advice
// names. Advice is for streaming plans only: Flink rejects EXPLAIN
// PLAN_ADVICE in batch mode, and so does the caller.
func AdvisePlan(cfg Config, opts map[string]string, roots ...PhysicalNode) *PlanAdvice {
	a := &PlanAdvice{tags: map[PhysicalNode][]int{}}
	for _, root := range roots {
		v := nduVisitor{}
		v.visit(root, nil)
		if v.warning != "" {
			a.add(AdviceWarning, v.warning)
			break // Flink's visitor stops at its first finding
		}
	}
	var aggs []PhysicalNode
	for _, root := range roots {
		walkPhysical(root, func(n PhysicalNode) {
			if g, ok := n.(*StreamGroupAggregate); ok && couldRunTwoPhase(g, cfg) {
				aggs = append(aggs, n)
			}
		})
	}
	if tuning := twoPhaseTuning(cfg, opts); len(aggs) > 0 && len(tuning) > 0 {
		id := a.add(AdviceTuning, "You might want to enable local-global two-phase optimization by configuring ("+strings.Join(tuning, ", ")+").")
		for _, n := range aggs {
			if !slices.Contains(a.tags[n], id) {
				a.tags[n] = append(a.tags[n], id)
			}
		}
	}
	return a
}

// add numbers an advice, reusing the number of an identical one.
func (a *PlanAdvice) add(kind, content string) int {
	it := AdviceItem{Kind: kind, Content: content}
	if i := slices.Index(a.Items, it); i >= 0 {
		return i + 1
	}
	a.Items = append(a.Items, it)
	return len(a.Items)
}

// Explain prints the physical plan rooted at n as ExplainPhysical does,
// with advice=[n, ...] as the first attribute of each advised node.
func (a *PlanAdvice) Explain(n PhysicalNode) string {
	return explainPhysicalWith(n, func(n PhysicalNode) string {
		ids := a.tags[n]
		if len(ids) == 0 {
			return ""
		}
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = strconv.Itoa(id)
		}
		return "advice=[" + strings.Join(s, ", ") + "]"
	})
}

// String prints the advice lines that follow the plan, as Flink does:
// "advice[1]: [ADVICE] ..." one per advice, or "No available advice..."
func (a *PlanAdvice) String() string {
	if len(a.Items) == 0 {
		return "No available advice...\n"
	}
	var b strings.Builder
	for i, it := range a.Items {
		fmt.Fprintf(&b, "advice[%d]: [%s] %s\n", i+1, it.Kind, it.Content)
	}
	return b.String()
}

func walkPhysical(n PhysicalNode, fn func(PhysicalNode)) {
	fn(n)
	for _, in := range n.Inputs() {
		walkPhysical(in, fn)
	}
}

// couldRunTwoPhase is Flink's TwoStageOptimizedAggregateRule.matchesTwoStage
// for an aggregate that runs in one phase: whether it would be split were
// mini-batch on and the strategy AUTO. It asks twoPhaseAggregate itself,
// the rule Physicalize applies, so that the advice and the rule cannot
// disagree on which aggregates merge their accumulators.
func couldRunTwoPhase(g *StreamGroupAggregate, cfg Config) bool {
	if cfg.Batch || g.Batch {
		return false
	}
	cfg.MiniBatch, cfg.AggPhaseStrategy = true, AggPhaseAuto
	in := g.Input
	if ex, ok := in.(*StreamExchange); ok {
		in = ex.Input // the aggregate's own hash exchange
	}
	_, ok := twoPhaseAggregate(g.Logical, in, g.Parallelism(), g.StateTTLMillis, cfg, g.DropUpdateBefore)
	return ok
}

// twoPhaseTuning lists, in Flink's order, the settings that keep group
// aggregates in one phase (GroupAggregationAnalyzer.getAdviceContent): a
// ONE_PHASE strategy, mini-batch off, and a mini-batch latency or size
// that is not positive (Flink's defaults, 0 ms and -1, are not).
func twoPhaseTuning(cfg Config, opts map[string]string) []string {
	var t []string
	if cfg.AggPhaseStrategy == AggPhaseOnePhase {
		t = append(t, fmt.Sprintf("'%s' to '%s'", AggPhaseStrategyKey, AggPhaseAuto))
	}
	if !strings.EqualFold(strings.TrimSpace(opts[exec.MiniBatchEnabledKey]), "true") {
		t = append(t, fmt.Sprintf("'%s' to 'true'", exec.MiniBatchEnabledKey))
	}
	if d, err := connector.ParseDuration(strings.TrimSpace(opts[exec.MiniBatchLatencyKey])); err != nil || d.Milliseconds() <= 0 {
		t = append(t, fmt.Sprintf("'%s' to a positive long value", exec.MiniBatchLatencyKey))
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(opts[exec.MiniBatchSizeKey]), 10, 64); err != nil || n <= 0 {
		t = append(t, fmt.Sprintf("'%s' to a positive long value", exec.MiniBatchSizeKey))
	}
	return t
}
