package optimizer

import "github.com/eddysql/eddy/planner"

// Rule rewrites one node of a logical plan. Apply returns the replacement
// and whether anything changed; rules must not change a node's schema.
type Rule struct {
	// Name is the rule's stable identifier, used in tests (expect=, disable=).
	Name  string
	Apply func(n planner.Node) (planner.Node, bool)
}

// Phases lists the rules in the order they run. Each phase repeats its
// rules, in order, until a whole pass changes nothing; then the next phase
// starts. The order matters:
//
// Rewrite phase, over Filter and Project nodes:
//  0. ConvertWindowAggregate, ConvertCascadedWindowAggregate, ConvertTopN
//     and ConvertWindowRank recognize window aggregations (also over the
//     output of another one) and (window) Top-N while their nodes still
//     sit right above each other.
//  1. FoldConstants first, so later rules see literals (TRUE conditions).
//  2. RemoveTrueFilter drops filters folded to TRUE.
//  3. MergeFilters, PushFilterBelowProject,
//     PushFilterBelowWindowTableFunction, PushFilterBelowVectorSearch,
//     PushFilterBelowMLPredict, PushFilterIntoJoin and
//     PushJoinConditionIntoInputs move filtering down (ComputeJoinKeys
//     turns equalities of expressions into column keys on the way) to the scans (and
//     join conditions into joins, where the physical planner finds
//     equi-keys and interval bounds), so that projections can be merged and
//     pushed.
//  4. MergeProjects collapses stacked projections (views, computed columns,
//     INSERT casts) into one.
//  5. PushProjectBelowWatermarkAssigner, PushProjectBelowChangelogFunction,
//     PushProjectBelowCorrelate, PushProjectBelowVectorSearch,
//     PushProjectBelowMLPredict, PushProjectIntoScan,
//     PruneJoinInputs, ReplaceConstantRankNumber, DropUnusedRankNumber,
//     PushProjectBelowRank (after the two before it, which decide whether
//     the rank number stays) and PushProjectBelowOver prune the columns
//     each operator must carry (and the ROW fields, which the assigner's rule
//     turns into columns so that connectors with nested projection
//     pushdown build only those). PushFilterIntoScan then hands what is
//     left of a filter over a scan (below the computed columns, and below
//     the watermark assigner when the connector allows) to connectors with
//     filter pushdown; it runs after the projection rules so that the
//     scan's computed columns and the pruning have been merged into the one
//     projection it looks through.
//  6. RemoveIdentityProject drops projections that pass their input through.
//
// Calc phase, once the rewrites are done (a Calc hides the Filter/Project
// shapes the rewrite rules match, and join conditions are complete):
//  6. ConvertWindowJoin turns joins of windowed inputs on equal window
//     start and end into window joins; ConvertIntervalJoin marks joins
//     bounded by time attributes (a window aggregate's window_end counting
//     as one).
//  7. MergeFilterAndProjectIntoCalc turns every Filter/Project into the Calc
//     the runtime executes, and MergeCalcs fuses adjacent Calcs.
//  8. FoldConstantsInCalc folds what merging brought together.
var Phases = [][]Rule{
	{
		ConvertWindowAggregate,
		ConvertCascadedWindowAggregate,
		ConvertTopN,
		ConvertWindowRank,
		FoldConstants,
		RemoveTrueFilter,
		MergeFilters,
		PushFilterBelowProject,
		PushFilterBelowWindowTableFunction,
		PushFilterBelowVectorSearch,
		PushFilterBelowMLPredict,
		PushFilterIntoJoin,
		PushJoinConditionIntoInputs,
		ComputeJoinKeys,
		MergeProjects,
		PushProjectBelowWatermarkAssigner,
		PushProjectBelowChangelogFunction,
		PushProjectBelowCorrelate,
		PushProjectBelowVectorSearch,
		PushProjectBelowMLPredict,
		PushProjectIntoScan,
		PushFilterIntoScan,
		PruneJoinInputs,
		ReplaceConstantRankNumber,
		DropUnusedRankNumber,
		PushProjectBelowRank,
		PushProjectBelowOver,
		RemoveIdentityProject,
	},
	{
		ConvertWindowJoin,
		ConvertIntervalJoin,
		MergeFilterAndProjectIntoCalc,
		MergeCalcs,
		FoldConstantsInCalc,
	},
}
