package optimizer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// StreamGroupAggregate runs an unbounded GROUP BY: its input is hash
// partitioned by the group keys (or gathered into one instance for a global
// aggregate) and it emits a retract changelog.
type StreamGroupAggregate struct {
	Logical *planner.Aggregate
	Input   PhysicalNode
	// StateTTLMillis is table.exec.state.ttl.
	StateTTLMillis int64
	// Batch: execution.runtime-mode = batch (exec.GroupAggregateSpec.EmptyInputRow).
	Batch bool
	// DropUpdateBefore: updates go out as +U alone (updateBeforeDroppers).
	DropUpdateBefore bool
}

var _ operatorNode = (*StreamGroupAggregate)(nil)

func (n *StreamGroupAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamGroupAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamGroupAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamGroupAggregate) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamGroupAggregate) Describe() string       { return n.Logical.Describe() }

func (n *StreamGroupAggregate) operatorSpec() (exec.OperatorSpec, error) {
	s, err := spec(exec.KindGroupAggregate, n.Describe(), n.Schema(), exec.GroupAggregateSpec{
		Keys:             n.Logical.Keys,
		Calls:            n.Logical.Calls,
		InputChangelog:   n.Logical.Input.Changelog() != planner.InsertOnly,
		StateTTLMillis:   n.StateTTLMillis,
		EmptyInputRow:    n.Batch && len(n.Logical.Keys) == 0,
		DropUpdateBefore: n.DropUpdateBefore,
	})
	s.Changelog = true
	return s, err
}

// hashExchange partitions in by keys across parallelism instances; with no
// keys everything goes to one instance.
func hashExchange(in PhysicalNode, keys []int, parallelism int) PhysicalNode {
	if len(keys) == 0 {
		return exchangeTo(in, 1)
	}
	return &StreamExchange{Input: in, Partitioning: exec.Hash, Keys: keys, Target: parallelism}
}

func keyNames(s types.Schema, keys []int) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = s.Columns[k].Name
	}
	return strings.Join(names, ", ")
}

func describeHash(s types.Schema, keys []int) string {
	return fmt.Sprintf("Exchange(distribution=[hash[%s]])", keyNames(s, keys))
}

// Flink's options for splitting distinct aggregates.
const (
	DistinctAggSplitKey       = "table.optimizer.distinct-agg.split.enabled"
	DistinctAggSplitBucketKey = "table.optimizer.distinct-agg.split.bucket-num"
)

// DistinctAggSplitBuckets reads table.optimizer.distinct-agg.split.enabled
// and .bucket-num (Flink's default 1024): the number of buckets a split
// distinct aggregate spreads each group over, or 0 when splitting is off.
// It is off under mini-batch too: there Flink runs the split's partial
// level as local and global aggregates merged with the final one
// (table.optimizer.incremental-agg-enabled), which fold a row's
// projections before the final result changes, so the results are those
// of the unsplit mini-batch aggregate Eddy runs.
func DistinctAggSplitBuckets(opts map[string]string) (int, error) {
	on := strings.TrimSpace(opts[DistinctAggSplitKey])
	if on == "" || strings.EqualFold(on, "false") {
		return 0, nil
	}
	if !strings.EqualFold(on, "true") {
		return 0, errs.New(errs.InvalidOption, "%s must be 'true' or 'false', not '%s'", DistinctAggSplitKey, on)
	}
	if size, _, err := exec.MiniBatchOptions(opts); err != nil || size > 0 {
		return 0, err
	}
	v := strings.TrimSpace(opts[DistinctAggSplitBucketKey])
	if v == "" {
		return 1024, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, errs.New(errs.InvalidOption, "%s must be a positive integer, not '%s'", DistinctAggSplitBucketKey, v)
	}
	return n, nil
}

// physicalizeAggregate runs a group aggregate partitioned by its keys,
// split in two levels (splitDistinctAggregate) when distinct aggregates
// are to be split; under mini-batch the aggregate, or each level, runs in
// local and global phases when it can (twoPhaseAggregate).
func physicalizeAggregate(l *planner.Aggregate, cfg Config) (PhysicalNode, error) {
	in, err := Physicalize(l.Input, cfg)
	if err != nil {
		return nil, err
	}
	ttl := cfg.StateTTLMillis
	if l.HasStateTTL {
		ttl = l.StateTTLMillis // a STATE_TTL hint
	}
	group := func(a *planner.Aggregate, in PhysicalNode, top bool) PhysicalNode {
		par := cfg.Parallelism
		if len(a.Keys) == 0 {
			par = 1
		}
		// Only the aggregate emitting l's results may leave its -U out: a
		// split's final level consumes its partial level's.
		return &StreamGroupAggregate{Logical: a, Input: hashExchange(in, a.Keys, par), StateTTLMillis: ttl, Batch: cfg.Batch,
			DropUpdateBefore: top && cfg.dropUpdateBefore[l]}
	}
	// level plans one aggregate, in local and global phases when it can.
	level := func(a *planner.Aggregate, in PhysicalNode, top bool) PhysicalNode {
		par := cfg.Parallelism
		if len(a.Keys) == 0 {
			par = 1
		}
		if two, ok := twoPhaseAggregate(a, in, par, ttl, cfg, top && cfg.dropUpdateBefore[l]); ok {
			return two
		}
		return group(a, in, top)
	}
	if !cfg.Batch && cfg.DistinctAggSplitBuckets > 0 {
		if ex, partial, final, ok := splitDistinctAggregate(l, cfg.DistinctAggSplitBuckets); ok {
			// As in Flink, each level of the split may run in two phases.
			return level(final, level(partial, &StreamExpand{Logical: ex, Input: in}, false), true), nil
		}
	}
	return level(l, in, true), nil
}

// mergeFuncs maps the aggregate functions a split aggregate computes per
// bucket to the function that combines the buckets' results per group.
var mergeFuncs = map[string]string{
	"COUNT": "SUM", "SUM": "SUM", "MIN": "MIN", "MAX": "MAX",
	"FIRST_VALUE": "FIRST_VALUE", "LAST_VALUE": "LAST_VALUE",
}

// splitDistinctAggregate is Flink's SplitAggregateRule
// (table.optimizer.distinct-agg.split.enabled), which spreads the
// distinct values of a hot group over buckets so that no single instance
// keeps them all:
//
//   - an Expand emits each row once per distinct argument list (with
//     its arguments' buckets, MOD(HASH_CODE(arg), buckets), and NULL for
//     the other buckets) and once more for the non-distinct calls (all
//     buckets NULL), with a flag per call marking the projection that
//     feeds it (AND its own FILTER);
//   - a partial aggregate groups by the keys and buckets and computes
//     every call over the rows its flag marks; equal values share a
//     bucket, so a distinct call still sees each value once;
//   - a final aggregate groups by the keys and combines the buckets'
//     results (COUNT by SUM, the others by themselves).
//
// As in Flink, the final aggregate sees a row's projections one after
// another, so its changelog shows the intermediate results. It applies
// to distinct calls of the functions mergeFuncs knows (COUNT(DISTINCT a,
// b) too: its projection sets the buckets of a and of b);
// other aggregates stay whole, and so do aggregates over a window table
// function (session windows, which Eddy aggregates as a group aggregate),
// which Flink plans as window aggregates, whose distinct calls it does not
// split.
func splitDistinctAggregate(l *planner.Aggregate, buckets int) (*planner.Expand, *planner.Aggregate, *planner.Aggregate, bool) {
	if overWindowTableFunction(l.Input) {
		return nil, nil, nil, false
	}
	in := l.Input.Schema()
	n := in.Len()
	// group[i] is the projection that feeds call i: one per distinct
	// argument list (a COUNT(DISTINCT a, b) has two), then one for every
	// non-distinct call. Each argument column has one bucket column
	// (Flink's hash fields); a projection sets the buckets of its
	// arguments, so the rows of one tuple share their buckets.
	group := make([]int, len(l.Calls))
	var distinctArgs [][]int
	var bucketCols []int
	hasPlain, hasDistinct := false, false
	for _, c := range l.Calls {
		if _, ok := mergeFuncs[c.Func]; !ok || (c.Distinct && len(c.Args) == 0) {
			return nil, nil, nil, false
		}
		hasDistinct = hasDistinct || c.Distinct
	}
	if !hasDistinct {
		return nil, nil, nil, false
	}
	for i, c := range l.Calls {
		if !c.Distinct {
			hasPlain = true
			continue
		}
		g := slices.IndexFunc(distinctArgs, func(args []int) bool { return slices.Equal(args, c.Args) })
		if g < 0 {
			g = len(distinctArgs)
			distinctArgs = append(distinctArgs, c.Args)
			for _, a := range c.Args {
				if !slices.Contains(bucketCols, a) {
					bucketCols = append(bucketCols, a)
				}
			}
		}
		group[i] = g
	}
	nd, nb := len(distinctArgs), len(bucketCols)
	nProj := nd
	if hasPlain {
		for i, c := range l.Calls {
			if !c.Distinct {
				group[i] = nd
			}
		}
		nProj++
	}
	ex := &planner.Expand{Input: l.Input}
	ex.Names = append(ex.Names, in.Names()...)
	for j, col := range bucketCols {
		ex.Buckets = append(ex.Buckets, planner.Bucket{Col: col, Num: buckets})
		ex.Names = append(ex.Names, "$b_"+strconv.Itoa(j))
	}
	for i := range l.Calls {
		ex.Names = append(ex.Names, "$g_"+strconv.Itoa(i))
	}
	flag := func(v bool) expr.Expr { return expr.NewLiteral(v, types.BooleanType.WithNullable(false)) }
	for k := 0; k < nProj; k++ {
		p := columnRefs(in, nil)
		for j, col := range bucketCols {
			if k < nd && slices.Contains(distinctArgs[k], col) {
				p = append(p, &expr.ColumnRef{Index: n + j, Name: ex.Names[n+j], T: planner.BucketType})
			} else {
				p = append(p, expr.NewLiteral(nil, planner.BucketType))
			}
		}
		for i, c := range l.Calls {
			switch {
			case group[i] != k:
				p = append(p, flag(false))
			case c.Filter >= 0:
				p = append(p, &expr.ColumnRef{Index: c.Filter, Name: in.Columns[c.Filter].Name, T: in.Columns[c.Filter].Type})
			default:
				p = append(p, flag(true))
			}
		}
		ex.Projections = append(ex.Projections, p)
	}
	partial := &planner.Aggregate{Input: ex, StateTTLMillis: l.StateTTLMillis, HasStateTTL: l.HasStateTTL}
	final := &planner.Aggregate{Input: partial, Names: l.Names, StateTTLMillis: l.StateTTLMillis, HasStateTTL: l.HasStateTTL}
	for i, k := range l.Keys {
		partial.Keys = append(partial.Keys, k)
		partial.Names = append(partial.Names, l.Names[i])
		final.Keys = append(final.Keys, i)
	}
	for j := range bucketCols {
		partial.Keys = append(partial.Keys, n+j)
		partial.Names = append(partial.Names, ex.Names[n+j])
	}
	nk := len(partial.Keys)
	for i, c := range l.Calls {
		pc := c
		pc.Filter = n + nb + i
		pc.Name = "$p_" + strconv.Itoa(i)
		partial.Calls = append(partial.Calls, pc)
		partial.Names = append(partial.Names, pc.Name)
		final.Calls = append(final.Calls, agg.Call{Func: mergeFuncs[c.Func], Args: []int{nk + i}, Filter: -1, Type: c.Type, Name: c.Name})
	}
	return ex, partial, final, true
}

// overWindowTableFunction reports whether n reads a window table function
// through projections and filters only.
func overWindowTableFunction(n planner.Node) bool {
	for {
		switch x := n.(type) {
		case *planner.WindowTableFunction:
			return true
		case *planner.Calc, *planner.Project, *planner.Filter:
			n = x.Children()[0]
		default:
			return false
		}
	}
}
