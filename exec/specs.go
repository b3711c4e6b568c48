package exec

import (
	"encoding/json"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// The group aggregate's spec is declared here, apart from the operator,
// because two sides build on it: the optimizer emits it and
// op_group_agg.go implements it. (The window operators declare theirs in
// op_window_*.go.)

// KindGroupAggregate is the unbounded GROUP BY operator; its spec is
// GroupAggregateSpec. Output: the key columns, then one column per call,
// as a retract changelog (OperatorSpec.Changelog is true).
const KindGroupAggregate = "group-aggregate"

// GroupAggregateSpec configures a group aggregate.
type GroupAggregateSpec struct {
	// Keys are the group key columns of the input; empty means one global
	// group.
	Keys  []int      `json:"keys"`
	Calls []agg.Call `json:"calls"`
	// InputChangelog: the input batches carry the trailing row kind column
	// and retractions arrive as -U/-D rows.
	InputChangelog bool `json:"inputChangelog,omitempty"`
	// StateTTLMillis is table.exec.state.ttl: a group not updated for that
	// long (processing time) is dropped; 0 keeps groups forever.
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
	// EmptyInputRow, for a global aggregate (no Keys) in batch mode, emits
	// at the end of an input that had no rows the one row SQL defines for
	// it (COUNT 0, every other aggregate NULL). A streaming aggregate emits
	// nothing for an empty input, as in Flink.
	EmptyInputRow bool `json:"emptyInputRow,omitempty"`
	// DropUpdateBefore: the consumer applies updates by key (an upsert
	// sink keyed by the query's upsert key), so updates are emitted as the
	// +U alone and no -U row is built (Flink's generateUpdateBefore =
	// false, after UPDATE_BEFORE elimination).
	DropUpdateBefore bool `json:"dropUpdateBefore,omitempty"`
}

// KindLocalGroupAggregate is the local phase of a two-phase group
// aggregate (table.optimizer.agg-phase-strategy, Flink's
// LocalGroupAggregate); its spec is LocalGroupAggregateSpec. Chained
// before the hash exchange, it folds each mini-batch per group and emits,
// per group the bundle touched, the key columns, then each call's
// accumulator fields (agg.Accumulators), then with InputChangelog the
// change of the group's input row count (Flink's count1). Its output is
// insert-only and it keeps no state across checkpoints.
const KindLocalGroupAggregate = "local-group-aggregate"

// LocalGroupAggregateSpec configures a local group aggregate.
type LocalGroupAggregateSpec struct {
	Keys  []int      `json:"keys"`
	Calls []agg.Call `json:"calls"`
	// ArgTypes are the types of each call's arguments, which decide its
	// accumulator fields.
	ArgTypes [][]types.DataType `json:"argTypes"`
	// InputChangelog: the input carries the row kind column; -U/-D rows
	// retract from the accumulators and the row count.
	InputChangelog bool `json:"inputChangelog,omitempty"`
}

// KindGlobalGroupAggregate is the global phase of a two-phase group
// aggregate (Flink's GlobalGroupAggregate); its spec is
// GlobalGroupAggregateSpec. It merges the local phases' accumulators into
// its keyed state and emits the changelog a one-phase mini-batch group
// aggregate emits (KindGroupAggregate's output).
const KindGlobalGroupAggregate = "global-group-aggregate"

// GlobalGroupAggregateSpec configures a global group aggregate. Keys index
// the local phase's key columns; each call's Args index its accumulator
// columns, in agg.Accumulators order; InputChangelog is false.
type GlobalGroupAggregateSpec struct {
	GroupAggregateSpec
	// ArgTypes are the types of each call's arguments in the local
	// phase's input.
	ArgTypes [][]types.DataType `json:"argTypes"`
	// RowCount is the column of the local phase's row count, -1 when its
	// input is insert-only (every accumulator row then counts one).
	RowCount int `json:"rowCount"`
}

// KindLocalWindowAggregate is the local phase of a two-phase window
// aggregate (table.optimizer.agg-phase-strategy, Flink's
// LocalWindowAggregate); its spec is LocalWindowAggregateSpec. Chained
// before the hash exchange, it folds its input per key and slice (the
// rows sharing all their windows; a window for TUMBLE and for attached
// windows) and emits the key columns, each call's accumulator fields
// (agg.Accumulators), over an updating input the change of the row count,
// and the slice's end ($slice_end, TIMESTAMP(3)). Its output is
// insert-only and it keeps no state across checkpoints.
const KindLocalWindowAggregate = "local-window-aggregate"

// LocalWindowAggregateSpec configures a local window aggregate: Window,
// TimeCol, Keys, Calls and Attached as in WindowAggregateSpec (event time
// only, no SESSION).
type LocalWindowAggregateSpec struct {
	Window   WindowSpec `json:"window"`
	TimeCol  int        `json:"timeCol"`
	Keys     []int      `json:"keys,omitempty"`
	Calls    []agg.Call `json:"calls"`
	Attached bool       `json:"attached,omitempty"`
	// ArgTypes are the types of each call's arguments, which decide its
	// accumulator fields.
	ArgTypes [][]types.DataType `json:"argTypes"`
	// InputChangelog: the input carries the row kind column; -U/-D rows
	// retract from the accumulators, and each output row has, before
	// $slice_end, the change of its (key, slice)'s row count (Flink's
	// count1).
	InputChangelog bool `json:"inputChangelog,omitempty"`
}

// KindGlobalWindowAggregate is the global phase of a two-phase window
// aggregate (Flink's GlobalWindowAggregate); its spec is
// GlobalWindowAggregateSpec. It merges the local phases' accumulators into
// its keyed window state and fires windows as KindWindowAggregate does,
// with the same output.
const KindGlobalWindowAggregate = "global-window-aggregate"

// GlobalWindowAggregateSpec configures a global window aggregate. Keys
// index the local phase's key columns, TimeCol its $slice_end column and
// each call's Args its accumulator columns, in agg.Accumulators order.
type GlobalWindowAggregateSpec struct {
	WindowAggregateSpec
	// ArgTypes are the types of each call's arguments in the local
	// phase's input.
	ArgTypes [][]types.DataType `json:"argTypes"`
	// RowCounts: the local phase read an updating input, and the column
	// before $slice_end (TimeCol) is each row's change of row count; the
	// global phase counts each (key, window)'s rows and fires none whose
	// rows were all retracted, as the one-phase aggregate over the
	// changelog (Flink's RecordCounter).
	RowCounts bool `json:"rowCounts,omitempty"`
}

// KindJoin is the regular streaming join: both inputs are kept in state,
// keyed by their equi-join keys, and every arriving row (or retraction) is
// matched against the other side's state. Its spec is JoinSpec. Output:
// the left columns then the right columns (semi and anti joins: the left
// columns only). An inner join of two insert-only inputs is insert-only;
// every other join emits a retract changelog (OperatorSpec.Changelog).
const KindJoin = "join"

// JoinSpec configures a regular join.
type JoinSpec struct {
	// Type is "inner", "left", "right", "full", "semi" or "anti".
	Type string `json:"type"`
	// LeftKeys[i] = RightKeys[i] are the equi-join conditions, as column
	// indexes of each input. Both inputs arrive hash partitioned by them.
	LeftKeys  []int `json:"leftKeys"`
	RightKeys []int `json:"rightKeys"`
	// Condition is the rest of the ON condition (expr.Marshal'ed), over the
	// left columns followed by the right columns; absent when none.
	Condition json.RawMessage `json:"condition,omitempty"`
	// LeftChangelog and RightChangelog: that input's batches carry the
	// trailing row kind column.
	LeftChangelog  bool `json:"leftChangelog,omitempty"`
	RightChangelog bool `json:"rightChangelog,omitempty"`
	// StateTTLMillis is table.exec.state.ttl (0: keep state forever).
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
	// InputStateTTLMillis, when set, is the retention of each input's
	// rows (left, right; 0 keeps them forever) in place of StateTTLMillis:
	// a STATE_TTL hint naming either input (Flink's leftStateRetentionTime
	// and rightStateRetentionTime).
	InputStateTTLMillis []int64 `json:"inputStateTtlMillis,omitempty"`
	// LeftUniqueKey and RightUniqueKey, when set, are an upsert key of
	// that input (column indexes): its state then holds one row per key,
	// replaced by +U and removed by -U/-D of the key, as Flink's
	// JoinRecordStateViews (a key its input inserts twice, violating a
	// NOT ENFORCED primary key, keeps its rows as a multiset). A key within the join keys keeps one row per
	// join key (JoinKeyContainsUniqueKey), any other one row per key
	// within each join key (HasUniqueKey); without one the input's rows
	// are kept as a multiset (NoUniqueKey). Only keyed inputs may send
	// +U without its -U.
	LeftUniqueKey  []int `json:"leftUniqueKey,omitempty"`
	RightUniqueKey []int `json:"rightUniqueKey,omitempty"`
}

// KindIntervalJoin joins rows whose time attributes are within bounds of
// each other (l.ts BETWEEN r.ts - INTERVAL ... AND r.ts + INTERVAL ...),
// and drops state once the watermark makes further matches impossible. Its
// spec is IntervalJoinSpec. Output: left then right columns, insert-only;
// outer joins emit the unmatched row padded with NULLs once the watermark
// passes the end of its interval.
const KindIntervalJoin = "interval-join"

// IntervalJoinSpec configures an interval join: a left row l and a right
// row r join when their keys are equal, LowerBound <= l.time - r.time <=
// UpperBound (milliseconds; bounds inclusive) and Condition holds.
type IntervalJoinSpec struct {
	// Type is "inner", "left", "right" or "full".
	Type         string          `json:"type"`
	LeftKeys     []int           `json:"leftKeys"`
	RightKeys    []int           `json:"rightKeys"`
	LeftTimeCol  int             `json:"leftTimeCol"`
	RightTimeCol int             `json:"rightTimeCol"`
	LowerBound   int64           `json:"lowerBound"`
	UpperBound   int64           `json:"upperBound"`
	Condition    json.RawMessage `json:"condition,omitempty"`
	// ProcTime: the time columns are processing-time attributes.
	ProcTime bool `json:"procTime,omitempty"`
	// LeftTimeGrid and RightTimeGrid, when set, say that every time of
	// that input lies on a grid (a window aggregate's window_end), so that
	// a row of the other input expires once the watermark passes the last
	// grid time it can join, not the end of its whole interval.
	LeftTimeGrid  *TimeGrid `json:"leftTimeGrid,omitempty"`
	RightTimeGrid *TimeGrid `json:"rightTimeGrid,omitempty"`
}

// TimeGrid are the times Offset + k*Step (milliseconds), for every integer
// k.
type TimeGrid struct {
	Step   int64 `json:"step"`
	Offset int64 `json:"offset,omitempty"`
}

// KindTemporalJoin is the event-time temporal join `FOR SYSTEM_TIME AS OF
// l.ts` against a versioned table (the right input, a changelog keyed by
// its primary key): each left row joins the version of the right row that
// was valid at the left row's time, emitted once the watermark passes it.
// Its spec is TemporalJoinSpec. Output: left then right columns,
// insert-only.
const KindTemporalJoin = "temporal-join"

// TemporalJoinSpec configures a temporal join.
type TemporalJoinSpec struct {
	// Type is "inner" or "left".
	Type      string `json:"type"`
	LeftKeys  []int  `json:"leftKeys"`
	RightKeys []int  `json:"rightKeys"`
	// LeftTimeCol is the left rowtime; RightTimeCol the versioned table's.
	LeftTimeCol    int             `json:"leftTimeCol"`
	RightTimeCol   int             `json:"rightTimeCol"`
	RightChangelog bool            `json:"rightChangelog,omitempty"`
	Condition      json.RawMessage `json:"condition,omitempty"`
}

// SortKey is one ORDER BY key: a column and its direction.
type SortKey struct {
	Col        int  `json:"col"`
	Desc       bool `json:"desc,omitempty"`
	NullsFirst bool `json:"nullsFirst,omitempty"`
}

// KindRank keeps, per partition, the rows ranked Start..End by OrderKeys:
// Top-N from ROW_NUMBER(), RANK() or DENSE_RANK() OVER (PARTITION BY ...
// ORDER BY ...) <= N. Its spec is RankSpec. Output: the input columns
// (then the rank, BIGINT NOT NULL, when OutputRank) as a retract
// changelog: rows entering the range are +I, rows leaving it -D, and with
// OutputRank rows whose rank changes are updated (-U/+U), as Flink's Top-N
// operators do (a ROW_NUMBER Top-1 over insert-only input updates its row,
// -U/+U, as Flink's FastTop1Function).
const KindRank = "rank"

// RankSpec configures a Top-N.
type RankSpec struct {
	PartitionKeys []int     `json:"partitionKeys,omitempty"`
	OrderKeys     []SortKey `json:"orderKeys"`
	// RankType is "row_number", "rank" or "dense_rank".
	RankType string `json:"rankType"`
	// Start and End bound the kept ranks, inclusive, from 1.
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	// OutputRank appends the rank number as the last column.
	OutputRank     bool  `json:"outputRank,omitempty"`
	InputChangelog bool  `json:"inputChangelog,omitempty"`
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
	// DropUpdateBefore: the consumer applies updates by key (an upsert
	// sink keyed by the query's upsert key), so updates are emitted as the
	// +U alone and no -U row is built (Flink's generateUpdateBefore =
	// false, after UPDATE_BEFORE elimination).
	DropUpdateBefore bool `json:"dropUpdateBefore,omitempty"`
}

// KindDeduplicate keeps the first or the last row per key by a time
// attribute: ROW_NUMBER() OVER (PARTITION BY k ORDER BY time ASC|DESC) = 1.
// Its spec is DeduplicateSpec. Keeping the first row by processing time
// emits insert-only; every other variant may replace the kept row and
// emits a retract changelog (OperatorSpec.Changelog), as in Flink.
const KindDeduplicate = "deduplicate"

// DeduplicateSpec configures a deduplication.
type DeduplicateSpec struct {
	Keys     []int `json:"keys"`
	TimeCol  int   `json:"timeCol"`
	KeepLast bool  `json:"keepLast,omitempty"`
	ProcTime bool  `json:"procTime,omitempty"`
	// OutputRank appends the constant rank 1 (BIGINT NOT NULL).
	OutputRank     bool  `json:"outputRank,omitempty"`
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
	// DropUpdateBefore: the consumer applies updates by key (an upsert
	// sink keyed by the query's upsert key), so updates are emitted as the
	// +U alone and no -U row is built (Flink's generateUpdateBefore =
	// false, after UPDATE_BEFORE elimination).
	DropUpdateBefore bool `json:"dropUpdateBefore,omitempty"`
}

// KindOverAggregate computes aggregates over a window of preceding rows
// per partition, ordered by a time attribute (OVER (PARTITION BY ...
// ORDER BY time ROWS|RANGE BETWEEN ... PRECEDING AND CURRENT ROW)). Its spec
// is OverAggregateSpec. Output: the input columns then one column per
// call, insert-only; with event time, rows are emitted in time order once
// the watermark passes them (late rows are dropped and counted).
const KindOverAggregate = "over-aggregate"

// OverAggregateSpec configures an OVER aggregation.
type OverAggregateSpec struct {
	PartitionKeys []int `json:"partitionKeys,omitempty"`
	TimeCol       int   `json:"timeCol"`
	ProcTime      bool  `json:"procTime,omitempty"`
	// Rows selects a ROWS frame (Preceding counts rows) over a RANGE frame
	// (Preceding is milliseconds); Preceding -1 is UNBOUNDED PRECEDING.
	Rows      bool       `json:"rows,omitempty"`
	Preceding int64      `json:"preceding"`
	Calls     []agg.Call `json:"calls"`
}

// KindNonTimeOverAggregate computes aggregates over the rows of each
// partition up to the current row, ordered by columns that are not a time
// attribute (OVER (PARTITION BY ... ORDER BY col ROWS|RANGE BETWEEN
// UNBOUNDED PRECEDING AND CURRENT ROW), or ROWS BETWEEN n PRECEDING),
// over an insert-only or updating input. Its spec is
// NonTimeOverAggregateSpec. Output: the input columns then one column per
// call, a retract changelog: a row arriving or retracted before others
// updates their results (-U/+U).
const KindNonTimeOverAggregate = "non-time-over-aggregate"

// NonTimeOverAggregateSpec configures a non-time OVER aggregation.
type NonTimeOverAggregateSpec struct {
	PartitionKeys []int     `json:"partitionKeys,omitempty"`
	OrderKeys     []SortKey `json:"orderKeys"`
	// Rows selects a ROWS frame (every row its own result) over a RANGE
	// frame (rows with equal order keys share theirs).
	Rows bool `json:"rows,omitempty"`
	// Preceding is -1 for UNBOUNDED PRECEDING, else the rows of a ROWS
	// frame before the current one.
	Preceding      int64      `json:"preceding"`
	Calls          []agg.Call `json:"calls"`
	InputChangelog bool       `json:"inputChangelog,omitempty"`
	// StateTTLMillis > 0 drops a partition not written for that long
	// (processing time), as Flink's state retention does.
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
	// DropUpdateBefore: the consumer applies updates by key (an upsert
	// sink keyed by the query's upsert key), so updates are emitted as the
	// +U alone and no -U row is built (Flink's generateUpdateBefore =
	// false, after UPDATE_BEFORE elimination).
	DropUpdateBefore bool `json:"dropUpdateBefore,omitempty"`
}

// KindBatchOverAggregate computes window functions over whole
// partitions of a bounded, insert-only input (batch mode, Flink's
// BatchExecOverAggregate): LEAD, LAG, NTILE, PERCENT_RANK, CUME_DIST,
// ROW_NUMBER, RANK and DENSE_RANK. At end of input it sorts its rows by
// the partition keys, then the order keys, and emits them in that order
// with one column per call. Its spec is BatchOverAggregateSpec.
const KindBatchOverAggregate = "batch-over-aggregate"

// BatchOverAggregateSpec configures a batch over-aggregate: its calls
// share one partitioning and ordering (frames do not apply to them).
type BatchOverAggregateSpec struct {
	PartitionKeys []int      `json:"partitionKeys,omitempty"`
	OrderKeys     []SortKey  `json:"orderKeys"`
	Calls         []agg.Call `json:"calls"`
}

// KindSort sorts its whole bounded input at end of input and emits the
// rows Offset.. up to Limit of them (-1: no limit): ORDER BY in batch
// mode. Its spec is SortSpec. It runs with parallelism 1.
const KindSort = "sort"

// SortSpec configures a sort.
type SortSpec struct {
	Keys   []SortKey `json:"keys"`
	Offset int64     `json:"offset,omitempty"`
	Limit  int64     `json:"limit"`
}

// KindLimit passes the first Offset+Limit rows of its input through,
// dropping the first Offset, then ignores the rest: LIMIT without ORDER BY.
// Its spec is LimitSpec. It runs with parallelism 1; insert-only.
const KindLimit = "limit"

// LimitSpec configures a limit.
type LimitSpec struct {
	Offset int64 `json:"offset,omitempty"`
	Limit  int64 `json:"limit"`
}

// KindWindowRank is the window Top-N and window deduplication: a Rank
// whose partition includes a window's start and end, over input whose rows
// belong to windows (the output of a window aggregate or a window table
// function). It keeps each window's best rows and emits them, insert-only,
// when the watermark passes the window's end (watermark >= end - 1), then
// drops the window's state. Its spec is WindowRankSpec; output: the input
// columns, then the rank (BIGINT NOT NULL) when OutputRank.
const KindWindowRank = "window-rank"

// WindowRankSpec configures a window Top-N.
type WindowRankSpec struct {
	// PartitionKeys are the partition columns besides the window.
	PartitionKeys []int `json:"partitionKeys,omitempty"`
	// WindowStart and WindowEnd are the input's window columns.
	WindowStart int       `json:"windowStart"`
	WindowEnd   int       `json:"windowEnd"`
	OrderKeys   []SortKey `json:"orderKeys"`
	// RankType is "row_number", "rank" or "dense_rank".
	RankType   string `json:"rankType"`
	Start      int64  `json:"start"`
	End        int64  `json:"end"`
	OutputRank bool   `json:"outputRank,omitempty"`
}

// KindChangelogNormalize turns an upsert stream (+I/+U by key, -D by key,
// as upsert-kafka produces) into a retract stream: it keeps the last row
// per key and emits +I for a new key, -U (the kept row) and +U for an
// update, -D (the kept row) for a delete; an update equal to the kept row
// emits nothing, and -U rows and deletes of unknown keys are dropped. With
// a condition, only rows passing it are kept, and an update failing it
// deletes the kept row. Its spec is ChangelogNormalizeSpec; input and
// output carry the row kind column, and the output schema is the input's.
const KindChangelogNormalize = "changelog-normalize"

// ChangelogNormalizeSpec configures a changelog normalization.
type ChangelogNormalizeSpec struct {
	// Keys are the primary key columns the input is partitioned by.
	Keys           []int `json:"keys"`
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
	// Condition is an optional filter (a serialized expr.Expr over the
	// input columns) applied inside the normalization, as Flink pushes a
	// Calc's condition into ChangelogNormalize: only rows that pass are
	// kept, and a kept row whose update fails it is deleted.
	Condition json.RawMessage `json:"condition,omitempty"`
	// DropUpdateBefore: the consumer applies updates by key (an upsert
	// sink keyed by the query's upsert key), so updates are emitted as the
	// +U alone and no -U row is built (Flink's generateUpdateBefore =
	// false, after UPDATE_BEFORE elimination).
	DropUpdateBefore bool `json:"dropUpdateBefore,omitempty"`
}

// KindSinkUpsertMaterializer keeps, per sink primary key, the rows of a
// query not yet retracted, so that an upsert sink whose key is not a key
// of the query shows the key's latest remaining row (Flink's
// SinkUpsertMaterializer), or, for ON CONFLICT DO NOTHING and DO ERROR,
// compacts each key's changes as the watermark advances and keeps its
// first row or fails on a conflict (Flink's
// WatermarkCompactingSinkMaterializer). Its spec is
// SinkUpsertMaterializerSpec; the output carries the row kind column, the
// input does unless InsertOnlyInput, and the output schema is the input's.
const KindSinkUpsertMaterializer = "sink-upsert-materializer"

// SinkUpsertMaterializerSpec configures a sink upsert materializer.
type SinkUpsertMaterializerSpec struct {
	// Keys are the sink's primary key columns, which the input is
	// partitioned by.
	Keys []int `json:"keys"`
	// StateTTLMillis is table.exec.state.ttl (0: keep keys forever).
	StateTTLMillis int64 `json:"stateTtlMillis,omitempty"`
	// Conflict is the ON CONFLICT strategy: "" (DEDUPLICATE), "NOTHING"
	// or "ERROR".
	Conflict string `json:"conflict,omitempty"`
	// UpsertKey, for NOTHING and ERROR, are the input columns that tell
	// the rows of one upsert key from another's; empty compares whole
	// rows.
	UpsertKey []int `json:"upsertKey,omitempty"`
	// InsertOnlyInput is set when the input rows carry no row kind column
	// (all are inserts).
	InsertOnlyInput bool `json:"insertOnlyInput,omitempty"`
}
