package optimizer

import (
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// StreamRank runs a Top-N, partitioned by its partition keys.
type StreamRank struct {
	Logical        *planner.Rank
	Input          PhysicalNode
	StateTTLMillis int64
	// DropUpdateBefore: updates go out as +U alone (updateBeforeDroppers).
	DropUpdateBefore bool
}

// StreamDeduplicate keeps the first or last row per key by a time
// attribute: a Rank of ROW_NUMBER = 1 ordered by time.
type StreamDeduplicate struct {
	Logical        *planner.Rank
	Input          PhysicalNode
	KeepLast       bool
	ProcTime       bool
	StateTTLMillis int64
	// DropUpdateBefore: updates go out as +U alone (updateBeforeDroppers).
	DropUpdateBefore bool
}

// StreamOverAggregate computes OVER aggregates.
type StreamOverAggregate struct {
	Logical *planner.Over
	Input   PhysicalNode
}

// StreamSort sorts a bounded input in one instance (batch mode).
type StreamSort struct {
	Logical *planner.Sort
	Input   PhysicalNode
}

// StreamTemporalSort sorts a stream by an ascending time attribute (then
// more keys) as time passes, in one instance.
type StreamTemporalSort struct {
	Logical *planner.TemporalSort
	Input   PhysicalNode
}

var _ operatorNode = (*StreamTemporalSort)(nil)

func (n *StreamTemporalSort) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamTemporalSort) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamTemporalSort) Parallelism() int       { return 1 }
func (n *StreamTemporalSort) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamTemporalSort) Describe() string       { return n.Logical.Describe() }

func (n *StreamTemporalSort) operatorSpec() (exec.OperatorSpec, error) {
	in := n.Logical.Input.Schema()
	return spec(exec.KindTemporalSort, n.Describe(), n.Schema(), exec.TemporalSortSpec{
		Keys:     n.Logical.Keys,
		ProcTime: in.Columns[n.Logical.Keys[0].Col].Type.TimeAttr == types.ProctimeAttr,
	})
}

// StreamLimit passes the first rows, in one instance. Its input and
// output are both a changelog or both final rows (Physicalize materializes
// a batch limit's updating input).
type StreamLimit struct {
	Logical *planner.Limit
	Input   PhysicalNode
}

// StreamMaterialize turns a changelog into its final rows at end of input:
// batch mode's answer to updating operators, which must produce final
// results only.
type StreamMaterialize struct {
	Input PhysicalNode
}

var (
	_ operatorNode = (*StreamRank)(nil)
	_ operatorNode = (*StreamDeduplicate)(nil)
	_ operatorNode = (*StreamOverAggregate)(nil)
	_ operatorNode = (*StreamSort)(nil)
	_ operatorNode = (*StreamLimit)(nil)
	_ operatorNode = (*StreamMaterialize)(nil)
)

func (n *StreamRank) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamRank) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamRank) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamRank) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamRank) Describe() string       { return n.Logical.Describe() }

func (n *StreamDeduplicate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamDeduplicate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamDeduplicate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamDeduplicate) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamDeduplicate) Describe() string {
	keep := "FirstRow"
	if n.KeepLast {
		keep = "LastRow"
	}
	in := n.Logical.Input.Schema()
	return "Deduplicate(keep=[" + keep + "], key=[" + keyNames(in, n.Logical.Partition) + "], order=[" +
		in.Columns[n.Logical.Order[0].Col].Name + "])"
}

func (n *StreamOverAggregate) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamOverAggregate) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamOverAggregate) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamOverAggregate) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamOverAggregate) Describe() string       { return n.Logical.Describe() }

func (n *StreamSort) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamSort) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamSort) Parallelism() int       { return 1 }
func (n *StreamSort) Bounded() bool          { return true }
func (n *StreamSort) Describe() string       { return n.Logical.Describe() }

func (n *StreamLimit) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamLimit) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamLimit) Parallelism() int       { return 1 }
func (n *StreamLimit) Bounded() bool          { return true }
func (n *StreamLimit) Describe() string       { return n.Logical.Describe() }

func (n *StreamMaterialize) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamMaterialize) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamMaterialize) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamMaterialize) Bounded() bool          { return true }
func (n *StreamMaterialize) Describe() string {
	return "ChangelogMaterialize(fields=[" + strings.Join(n.Schema().Names(), ", ") + "])"
}

func (n *StreamRank) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	s, err := spec(exec.KindRank, n.Describe(), n.Schema(), exec.RankSpec{
		PartitionKeys: l.Partition, OrderKeys: l.Order, RankType: strings.ToLower(l.RankType),
		Start: l.Start, End: l.End, OutputRank: l.OutputRank,
		InputChangelog: l.Input.Changelog() != planner.InsertOnly, StateTTLMillis: n.StateTTLMillis,
		DropUpdateBefore: n.DropUpdateBefore,
	})
	s.Changelog = true
	return s, err
}

func (n *StreamDeduplicate) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	s, err := spec(exec.KindDeduplicate, n.Describe(), n.Schema(), exec.DeduplicateSpec{
		Keys: l.Partition, TimeCol: l.Order[0].Col, KeepLast: n.KeepLast, ProcTime: n.ProcTime,
		OutputRank: l.OutputRank, StateTTLMillis: n.StateTTLMillis, DropUpdateBefore: n.DropUpdateBefore,
	})
	// Keeping the first row by processing time only inserts, but the
	// batches carry the row kind column when the plan declares the rank
	// updating, as the operators after it expect.
	s.Changelog = n.KeepLast || !n.ProcTime || n.Logical.Changelog() != planner.InsertOnly
	return s, err
}

func (n *StreamOverAggregate) operatorSpec() (exec.OperatorSpec, error) {
	c := n.Logical.Calls[0]
	in := n.Logical.Input.Schema()
	calls := make([]agg.Call, len(n.Logical.Calls))
	for i, oc := range n.Logical.Calls {
		calls[i] = oc.AggCall()
	}
	return spec(exec.KindOverAggregate, n.Describe(), n.Schema(), exec.OverAggregateSpec{
		PartitionKeys: c.Partition, TimeCol: c.Order[0].Col,
		ProcTime: in.Columns[c.Order[0].Col].Type.TimeAttr == types.ProctimeAttr,
		Rows:     c.Rows, Preceding: c.Preceding, Calls: calls,
	})
}

func (n *StreamSort) operatorSpec() (exec.OperatorSpec, error) {
	return spec(exec.KindSort, n.Describe(), n.Schema(), exec.SortSpec{Keys: n.Logical.Keys, Offset: n.Logical.Offset, Limit: n.Logical.Limit})
}

func (n *StreamLimit) operatorSpec() (exec.OperatorSpec, error) {
	s, err := spec(exec.KindLimit, n.Describe(), n.Schema(), exec.LimitSpec{Offset: n.Logical.Offset, Limit: n.Logical.Limit})
	s.Changelog = changelogOf(n.Input, n.Logical.Input)
	return s, err
}

func (n *StreamMaterialize) operatorSpec() (exec.OperatorSpec, error) {
	return spec(exec.KindMaterialize, n.Describe(), n.Schema(), struct{}{})
}

// physicalizeRank runs ROW_NUMBER() = 1 ordered by a time attribute as a
// deduplication, and every other Top-N as a rank operator.
func physicalizeRank(r *planner.Rank, in PhysicalNode, cfg Config) (PhysicalNode, error) {
	par := cfg.Parallelism
	if len(r.Partition) == 0 {
		par = 1
	}
	input := hashExchange(in, r.Partition, par)
	s := r.Input.Schema()
	if r.RankType == "ROW_NUMBER" && r.Start == 1 && r.End == 1 && len(r.Order) == 1 &&
		len(r.Partition) > 0 && isTimeAttr(s, r.Order[0].Col) && r.Input.Changelog() == planner.InsertOnly {
		return &StreamDeduplicate{
			Logical: r, Input: input, KeepLast: r.Order[0].Desc,
			ProcTime:       s.Columns[r.Order[0].Col].Type.TimeAttr == types.ProctimeAttr,
			StateTTLMillis: cfg.StateTTLMillis, DropUpdateBefore: cfg.dropUpdateBefore[r],
		}, nil
	}
	return &StreamRank{Logical: r, Input: input, StateTTLMillis: cfg.StateTTLMillis, DropUpdateBefore: cfg.dropUpdateBefore[r]}, nil
}

// physicalizeOver checks that the OVER calls can run together: aggregates
// over one window, ordered by an ascending time attribute over an
// insert-only input, or else by any columns (non-time OVER).
func physicalizeOver(o *planner.Over, in PhysicalNode, cfg Config) (PhysicalNode, error) {
	if o.Batch {
		return physicalizeBatchOver(o, in, cfg)
	}
	first := o.Calls[0]
	for _, c := range o.Calls {
		if c.IsRanking() {
			return nil, errs.New(errs.NotSupported, "%s is only supported in a Top-N query, filtered on the rank (WHERE rn <= N)", c.Func)
		}
		if !sameWindow(c, first) {
			return nil, errs.New(errs.NotSupported, "OVER aggregates with different windows in one SELECT are not supported yet")
		}
	}
	par := cfg.Parallelism
	if len(first.Partition) == 0 {
		par = 1
	}
	input := hashExchange(in, first.Partition, par)
	if o.NonTimeOrdered() {
		return physicalizeNonTimeOver(o, input, cfg)
	}
	if first.Order[0].Desc {
		return nil, errs.New(errs.NotSupported, "the ordering of an OVER window on a time attribute must be ascending")
	}
	if o.Input.Changelog() != planner.InsertOnly {
		return nil, errs.New(errs.NotSupported, "OVER aggregates ordered by a time attribute do not support consuming update and delete changes, as in Flink; an OVER ordered by a non-time column from UNBOUNDED PRECEDING does")
	}
	return &StreamOverAggregate{Logical: o, Input: input}, nil
}

func sameWindow(a, b planner.OverCall) bool {
	if a.Rows != b.Rows || a.Preceding != b.Preceding || len(a.Partition) != len(b.Partition) || len(a.Order) != len(b.Order) {
		return false
	}
	for i := range a.Partition {
		if a.Partition[i] != b.Partition[i] {
			return false
		}
	}
	for i := range a.Order {
		if a.Order[i] != b.Order[i] {
			return false
		}
	}
	return true
}

// StreamWindowRank runs a window Top-N, partitioned by its keys.
type StreamWindowRank struct {
	Logical *planner.WindowRank
	Input   PhysicalNode
}

var _ operatorNode = (*StreamWindowRank)(nil)

func (n *StreamWindowRank) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamWindowRank) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamWindowRank) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamWindowRank) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamWindowRank) Describe() string       { return n.Logical.Describe() }

// partitionKeys are a window rank's partition columns besides the window.
func partitionKeys(l *planner.WindowRank) []int {
	var keys []int
	for _, k := range l.Partition {
		if k != l.WindowStart && k != l.WindowEnd {
			keys = append(keys, k)
		}
	}
	return keys
}

// windowRankKeys are the columns a window rank's input is hashed by.
func windowRankKeys(l *planner.WindowRank) []int {
	return append(partitionKeys(l), l.WindowStart, l.WindowEnd)
}

func (n *StreamWindowRank) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	return spec(exec.KindWindowRank, n.Describe(), n.Schema(), exec.WindowRankSpec{
		PartitionKeys: partitionKeys(l), WindowStart: l.WindowStart, WindowEnd: l.WindowEnd, OrderKeys: l.Order,
		RankType: strings.ToLower(l.RankType), Start: l.Start, End: l.End, OutputRank: l.OutputRank,
	})
}
