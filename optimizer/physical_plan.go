package optimizer

import (
	"strconv"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// Config is what physical planning reads from the session's options.
type Config struct {
	// Parallelism is parallelism.default: the parallelism of sources and
	// sinks, which the operators between them inherit.
	Parallelism int
	// CollectID names the result stream of a query's Collect node.
	CollectID string
	// StateTTLMillis is table.exec.state.ttl in milliseconds (0: keep
	// state forever).
	StateTTLMillis int64
	// Batch is execution.runtime-mode = batch: results are final rows.
	Batch bool
	// SinkConstraints is how sinks enforce their tables' NOT NULL and
	// length constraints (table.exec.sink.not-null-enforcer and friends).
	SinkConstraints exec.ConstraintEnforcerSpec
	// CDCEventsDuplicate is table.exec.source.cdc-events-duplicate: retract
	// sources with a primary key may repeat events, so their changelog is
	// normalized by key as an upsert source's is.
	CDCEventsDuplicate bool
	// UpsertMaterialize is table.exec.sink.upsert-materialize: AUTO (the
	// default, also for ""), FORCE or NONE.
	UpsertMaterialize string
	// SinkKeyedShuffle is table.exec.sink.keyed-shuffle: AUTO (the
	// default, also for ""), FORCE or NONE.
	SinkKeyedShuffle string
	// RequireOnConflict is table.exec.sink.require-on-conflict (the
	// session default is true; see RequireOnConflict).
	RequireOnConflict bool
	// TryResolveNonDeterministicUpdates is
	// table.optimizer.non-deterministic-update.strategy = TRY_RESOLVE.
	TryResolveNonDeterministicUpdates bool
	// DistinctAggSplitBuckets is table.optimizer.distinct-agg.split
	// .bucket-num when table.optimizer.distinct-agg.split.enabled is
	// true, else 0 (see DistinctAggSplitBuckets).
	DistinctAggSplitBuckets int
	// AggPhaseStrategy is table.optimizer.agg-phase-strategy (AUTO,
	// ONE_PHASE or TWO_PHASE; "" is AUTO) and MiniBatch whether
	// table.exec.mini-batch.enabled is true: group aggregates run in local
	// and global phases when both allow it (twoPhaseAggregate).
	AggPhaseStrategy string
	MiniBatch        bool

	// dropUpdateBefore marks, while the plan under a sink or collect is
	// physicalized, the producers of updates that leave their -U out for
	// an upsert sink or a temporal join's versioned input, and
	// updateBeforeDropped the nodes whose output passes a DropUpdateBefore
	// for them instead (updateBeforeDroppers).
	dropUpdateBefore    map[planner.Node]bool
	updateBeforeDropped map[planner.Node]bool
}

// finalRows materializes an updating input in batch mode, where sinks,
// clients and sorts see final results only.
func finalRows(in PhysicalNode, logical planner.Node, cfg Config) PhysicalNode {
	if !cfg.Batch || !changelogOf(in, logical) {
		return in
	}
	return &StreamMaterialize{Input: in}
}

// changelogOf reports whether in, which implements logical, emits a
// changelog (rows followed by their row kind column). A materialize emits
// final rows whatever the logical plan's changelog mode, and an exchange
// passes them on; every other node emits what its logical node declares,
// so the operators above it, which read their input's logical mode, agree
// with it. (A batch LIMIT declares itself insert-only, planner.Limit.Batch,
// and reads materialized rows: see the Limit case of Physicalize.)
func changelogOf(in PhysicalNode, logical planner.Node) bool {
	switch n := in.(type) {
	case *StreamMaterialize:
		return false
	case *StreamExchange:
		return changelogOf(n.Input, logical)
	}
	return logical.Changelog() != planner.InsertOnly
}

// ParallelismFromOptions reads Flink's parallelism.default (default 1).
func ParallelismFromOptions(opts map[string]string) (int, error) {
	v, ok := opts["parallelism.default"]
	if !ok {
		return 1, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 {
		return 0, errs.New(errs.InvalidOption, "parallelism.default must be a positive integer, not '%s'", v)
	}
	return p, nil
}

// Physicalize turns an optimized logical plan into a physical plan:
// operators get a parallelism, and an exchange is inserted wherever the
// data must move between differently parallel or differently partitioned
// instances. A node whose -U rows no consumer takes but which emits them
// is followed by a DropUpdateBefore (updateBeforeDroppers).
func Physicalize(n planner.Node, cfg Config) (PhysicalNode, error) {
	p, err := physicalize(n, cfg)
	if err != nil || !cfg.updateBeforeDropped[n] {
		return p, err
	}
	return &StreamDropUpdateBefore{Input: p}, nil
}

func physicalize(n planner.Node, cfg Config) (PhysicalNode, error) {
	switch l := n.(type) {
	case *planner.Scan:
		return physicalizeScan(l, cfg)
	case *planner.Values:
		return &StreamValues{Logical: l}, nil
	case *planner.Calc:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return pushCalcIntoNormalize(l, in), nil
	case *planner.SnapshotJoin:
		return physicalizeSnapshotJoin(l, cfg)
	case *planner.VectorSearch:
		return physicalizeVectorSearch(l, cfg)
	case *planner.MLPredict:
		return physicalizeMLPredict(l, cfg)
	case *planner.Correlate:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return &StreamCorrelate{Logical: l, Input: in}, nil
	case *planner.WatermarkAssigner:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return assignWatermarks(l, in), nil
	case *planner.UnionAll:
		u := &StreamUnion{Out: l.Out}
		updating := make([]bool, len(l.Inputs))
		for i, c := range l.Inputs {
			in, err := Physicalize(c, cfg)
			if err != nil {
				return nil, err
			}
			updating[i] = changelogOf(in, c)
			in = asChangelog(in, c, l)
			u.parallelism = max(u.parallelism, in.Parallelism())
			u.In = append(u.In, in)
		}
		for i, in := range u.In {
			if updating[i] && in.Parallelism() != u.parallelism {
				// A rebalance would part a row's changes over subtasks, so
				// a consumer could see a retraction before its row: hashing
				// every column keeps them on one subtask, in order.
				u.In[i] = hashExchange(in, allColumns(in), u.parallelism)
				continue
			}
			u.In[i] = exchangeTo(in, u.parallelism)
		}
		return u, nil
	case *planner.Sink:
		if err := CheckInsertOnlyInputs(l); err != nil {
			return nil, err
		}
		cfg.dropUpdateBefore, cfg.updateBeforeDropped = updateBeforeDroppers(l, SinkTakesUpdateAfterOnly(cfg), cfg.CDCEventsDuplicate)
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		if !cfg.Batch {
			// Batch runs materialize final rows, which needs full deletes.
			in = elideNormalizeForKeyedDeletes(in, l)
		}
		par := cfg.Parallelism
		if l.Parallelism > 0 {
			par = l.Parallelism
		}
		sinkIn, err := sinkInput(l, in, cfg, par)
		if err != nil {
			return nil, err
		}
		sink := &StreamSink{Logical: l, Input: sinkIn, parallelism: par}
		needed, err := cfg.SinkConstraints.Check(l.Table.Schema)
		if err != nil {
			return nil, err
		}
		if needed {
			c := cfg.SinkConstraints
			sink.Constraints = &c
		}
		return sink, nil
	case *planner.Collect:
		if err := CheckInsertOnlyInputs(l); err != nil {
			return nil, err
		}
		cfg.dropUpdateBefore, cfg.updateBeforeDropped = updateBeforeDroppers(l, false, cfg.CDCEventsDuplicate)
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		in = finalRows(in, l.Input, cfg)
		return &StreamCollect{Input: exchangeTo(in, 1), ID: cfg.CollectID, Changelog: changelogOf(in, l.Input)}, nil
	case *planner.WindowTableFunction:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		if l.Window.Kind == "SESSION" {
			if l.Input.Schema().Columns[l.TimeCol].Type.TimeAttr == types.ProctimeAttr {
				return nil, errs.New(errs.NotSupported, "SESSION windows on a processing-time attribute are supported only in window aggregations grouped by the window and exactly the PARTITION BY columns")
			}
			// Sessions are per PARTITION BY key: the operator buffers them,
			// so its input is partitioned by those keys (one instance
			// without them).
			par := cfg.Parallelism
			if len(l.Window.Partition) == 0 {
				par = 1
			}
			in = hashExchange(in, l.Window.Partition, par)
		}
		return &StreamWindowTableFunction{Logical: l, Input: in}, nil
	case *planner.WindowAggregate:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		par := cfg.Parallelism
		if len(l.Keys) == 0 {
			par = 1
		}
		if two, ok := twoPhaseWindowAggregate(l, in, par, cfg); ok {
			return two, nil
		}
		return &StreamWindowAggregate{Logical: l, Input: hashExchange(in, l.Keys, par)}, nil
	case *planner.ToChangelog:
		return physicalizeToChangelog(l, cfg)
	case *planner.FromChangelog:
		return physicalizeFromChangelog(l, cfg)
	case *planner.Join:
		return physicalizeJoin(l, cfg)
	case *planner.WindowJoin:
		return physicalizeWindowJoin(l, cfg)
	case *planner.WindowRank:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		// The operator's key groups hash the partition keys, then the
		// window start and end; the exchange must route by the same hash.
		return &StreamWindowRank{Logical: l, Input: hashExchange(in, windowRankKeys(l), cfg.Parallelism)}, nil
	case *planner.Rank:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return physicalizeRank(l, in, cfg)
	case *planner.Over:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return physicalizeOver(l, in, cfg)
	case *planner.Sort:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return &StreamSort{Logical: l, Input: exchangeTo(finalRows(in, l.Input, cfg), 1)}, nil
	case *planner.MatchRecognize:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return physicalizeMatch(l, in, cfg), nil
	case *planner.TemporalSort:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		return &StreamTemporalSort{Logical: l, Input: exchangeTo(in, 1)}, nil
	case *planner.Limit:
		in, err := Physicalize(l.Input, cfg)
		if err != nil {
			return nil, err
		}
		// A limit passes its input's rows as they come, so its output is
		// a changelog exactly when its input is. A batch limit declares
		// final rows (planner.Limit.Batch): over an updating query (psql's
		// tab completion runs one over a UNION ALL with a join) it reads
		// the query's materialized final rows.
		if l.Changelog() == planner.InsertOnly && changelogOf(in, l.Input) {
			in = &StreamMaterialize{Input: in}
		}
		return &StreamLimit{Logical: l, Input: exchangeTo(in, 1)}, nil
	case *planner.Aggregate:
		return physicalizeAggregate(l, cfg)
	}
	return nil, errs.New(errs.NotSupported, "no physical operator for %s", n.Describe())
}

// exchangeTo connects in to a consumer of the given parallelism: directly
// when they match, else through a rebalance (or a global exchange into a
// single instance).
func exchangeTo(in PhysicalNode, parallelism int) PhysicalNode {
	if in.Parallelism() == parallelism {
		return in
	}
	p := exec.Rebalance
	if parallelism == 1 {
		p = exec.Global
	}
	return &StreamExchange{Input: in, Partitioning: p, Target: parallelism}
}
