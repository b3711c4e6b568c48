package optimizer

import (
	"strings"

	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// CheckInsertOnlyInputs refuses a plan in which an operator that consumes
// only inserts is fed updates or deletes, with the message Flink's
// FlinkChangelogModeInferenceProgram throws ("StreamPhysicalWindowRank
// doesn't support consuming update and delete changes which is produced by
// node ..."), naming Flink's physical node as the consumer and Eddy's
// description of the node that produces the changes. The consumers are
// Flink's: window Top-N and window deduplication, window joins, interval
// joins, temporal sorts and ML_PREDICT (whose planning rules, as Flink's, do not look
// at the inputs' changelogs). As in Flink the producer is found by passing
// through the nodes that forward their input's changes (calcs,
// projections, filters, watermark assigners, window table functions,
// correlates, lookup joins, and the updating inputs of unions).
//
// Not checked here: window aggregates (which consume changelogs, as in
// Flink 1.19+) and MATCH_RECOGNIZE (refused by the binder).
func CheckInsertOnlyInputs(root planner.Node) error {
	inf := &changelogInference{kinds: map[planner.Node]ChangelogMode{}}
	inf.modifyKinds(root)
	var check func(n planner.Node) error
	check = func(n planner.Node) error {
		for _, c := range n.Children() {
			if err := check(c); err != nil {
				return err
			}
		}
		var consumer string
		switch x := n.(type) {
		case *planner.WindowRank:
			consumer = "StreamPhysicalWindowRank"
			if isWindowDeduplicate(x) {
				consumer = "StreamPhysicalWindowDeduplicate"
			}
		case *planner.WindowJoin:
			consumer = "StreamPhysicalWindowJoin"
		case *planner.TemporalSort:
			consumer = "StreamPhysicalTemporalSort"
		case *planner.MLPredict:
			if x.Batch {
				return nil
			}
			consumer = "StreamPhysicalMLPredictTableFunction"
		case *planner.Join:
			if !x.Interval {
				return nil
			}
			consumer = "StreamPhysicalIntervalJoin"
		default:
			return nil
		}
		for _, in := range n.Children() {
			if m := inf.kinds[in]; m.Update || m.Delete {
				p := changeProducer(in, inf.kinds)
				return errs.New(errs.NotSupported, "%s doesn't support consuming %s changes which is produced by node %s",
					consumer, changeKinds(inf.kinds[p]), p.Describe())
			}
		}
		return nil
	}
	return check(root)
}

// changeProducer walks down from n, which emits updates or deletes,
// through the nodes that only forward their input's changes, to the node
// that produces them, as Flink's trait requirement travels down to the
// node whose changes fail it.
func changeProducer(n planner.Node, kinds map[planner.Node]ChangelogMode) planner.Node {
	for {
		switch x := n.(type) {
		case *planner.Calc, *planner.Project, *planner.Filter, *planner.WatermarkAssigner,
			*planner.WindowTableFunction, *planner.Correlate:
			n = n.Children()[0]
			continue
		case *planner.Join:
			if x.Lookup {
				n = x.Left
				continue
			}
		case *planner.UnionAll:
			for _, c := range x.Inputs {
				if m := kinds[c]; m.Update || m.Delete {
					n = c
					break
				}
			}
			if n != planner.Node(x) {
				continue
			}
		}
		return n
	}
}

// changeKinds names the kinds of change beyond inserts that m holds, as
// Flink's message does ("update and delete").
func changeKinds(m ChangelogMode) string {
	var k []string
	if m.Update {
		k = append(k, "update")
	}
	if m.Delete {
		k = append(k, "delete")
	}
	return strings.Join(k, " and ")
}

// isWindowDeduplicate reports whether a window Top-N is what Flink plans
// as a window deduplication: ROW_NUMBER of the first row only, ordered by
// one time column (a time attribute, or the time column of the window
// table function, which the TVF makes a plain timestamp). Whether the rank
// is output does not matter: Flink's RankNumberColumnRemoveRule replaces a
// constant rank by a literal first.
func isWindowDeduplicate(r *planner.WindowRank) bool {
	if r.RankType != "ROW_NUMBER" || r.Start != 1 || r.End != 1 || len(r.Order) != 1 {
		return false
	}
	col := r.Order[0].Col
	return isTimeAttr(r.Input.Schema(), col) || isWindowTimeColumn(r.Input, col)
}

// isWindowTimeColumn reports whether column col of n is, through
// projections and filters, the time column of a window table function.
func isWindowTimeColumn(n planner.Node, col int) bool {
	for {
		var exprs []expr.Expr
		switch x := n.(type) {
		case *planner.WindowTableFunction:
			return col == x.TimeCol
		case *planner.Filter:
			n = x.Input
			continue
		case *planner.Project:
			exprs, n = x.Exprs, x.Input
		case *planner.Calc:
			exprs, n = x.Exprs, x.Input
		default:
			return false
		}
		ref, ok := exprs[col].(*expr.ColumnRef)
		if !ok {
			return false
		}
		col = ref.Index
	}
}
