package planner

import (
	"fmt"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
)

// Rank keeps the rows ranked Start..End within their partition (Top-N),
// optionally appending the rank. Over a stream the kept set changes as
// rows arrive, so it emits a retract changelog.
type Rank struct {
	Input      Node
	Partition  []int
	Order      []exec.SortKey
	RankType   string // ROW_NUMBER, RANK or DENSE_RANK
	Start, End int64
	OutputRank bool
	RankName   string
}

var _ Node = (*Rank)(nil)

func (r *Rank) Schema() types.Schema {
	in := r.Input.Schema()
	out := types.Schema{Columns: append([]types.Column(nil), in.Columns...)}
	if r.OutputRank {
		out.Columns = append(out.Columns, types.Column{Name: r.RankName, Type: types.BigIntType.WithNullable(false)})
	}
	return out
}

func (r *Rank) Children() []Node         { return []Node{r.Input} }
func (r *Rank) Changelog() ChangelogMode { return Retract }
func (r *Rank) Bounded() bool            { return r.Input.Bounded() }
func (r *Rank) WithChildren(c ...Node) Node {
	mustChildren("Rank", c, 1)
	cp := *r
	cp.Input = c[0]
	return &cp
}
func (r *Rank) Describe() string {
	in := r.Input.Schema()
	return fmt.Sprintf("Rank(rankType=[%s], rankRange=[rankStart=%d, rankEnd=%d], partitionBy=[%s], orderBy=[%s], select=[%s])",
		r.RankType, r.Start, r.End, columnNames(in, r.Partition), sortKeys(in, r.Order), fieldList(r.Schema()))
}

// Sort orders a bounded input (batch mode), keeping rows Offset.. up to
// Limit of them (-1: all).
type Sort struct {
	Input  Node
	Keys   []exec.SortKey
	Offset int64
	Limit  int64
}

var _ Node = (*Sort)(nil)

func (s *Sort) Schema() types.Schema     { return s.Input.Schema() }
func (s *Sort) Children() []Node         { return []Node{s.Input} }
func (s *Sort) Changelog() ChangelogMode { return InsertOnly }
func (s *Sort) Bounded() bool            { return true }
func (s *Sort) WithChildren(c ...Node) Node {
	mustChildren("Sort", c, 1)
	cp := *s
	cp.Input = c[0]
	return &cp
}
func (s *Sort) Describe() string {
	return fmt.Sprintf("Sort(orderBy=[%s], offset=[%d], fetch=[%d])", sortKeys(s.Input.Schema(), s.Keys), s.Offset, s.Limit)
}

// TemporalSort is ORDER BY over a stream whose first key is an ascending
// time attribute (Flink's temporal sort; its input must be insert-only,
// optimizer.CheckInsertOnlyInputs): rows are buffered
// and emitted in key order once time passes them, by the watermark for
// a rowtime, by the processing-time clock for a proctime.
type TemporalSort struct {
	Input Node
	Keys  []exec.SortKey
}

var _ Node = (*TemporalSort)(nil)

func (s *TemporalSort) Schema() types.Schema     { return s.Input.Schema() }
func (s *TemporalSort) Children() []Node         { return []Node{s.Input} }
func (s *TemporalSort) Changelog() ChangelogMode { return InsertOnly }
func (s *TemporalSort) Bounded() bool            { return s.Input.Bounded() }
func (s *TemporalSort) WithChildren(c ...Node) Node {
	mustChildren("TemporalSort", c, 1)
	cp := *s
	cp.Input = c[0]
	return &cp
}
func (s *TemporalSort) Describe() string {
	return fmt.Sprintf("TemporalSort(orderBy=[%s])", sortKeys(s.Input.Schema(), s.Keys))
}

// isTemporalSort reports whether ORDER BY keys over node make a temporal
// sort: an ascending time attribute first. As Flink's
// StreamPhysicalTemporalSortRule it does not look at the input's
// changelog: a temporal sort over updates is refused by the optimizer
// (optimizer.CheckInsertOnlyInputs) with Flink's message.
func isTemporalSort(node Node, keys []exec.SortKey) bool {
	if len(keys) == 0 || keys[0].Desc {
		return false
	}
	return node.Schema().Columns[keys[0].Col].Type.TimeAttr != types.NoTimeAttr
}

// Limit passes the first rows of its input (LIMIT without ORDER BY).
type Limit struct {
	Input  Node
	Offset int64
	Limit  int64
	// Batch: the limit runs in batch mode, over its input's final rows
	// (the physical plan materializes an updating input first), so, as a
	// batch Sort, it emits final rows: insert-only whatever its input's
	// changelog mode.
	Batch bool
}

var _ Node = (*Limit)(nil)

func (l *Limit) Schema() types.Schema { return l.Input.Schema() }
func (l *Limit) Children() []Node     { return []Node{l.Input} }
func (l *Limit) Changelog() ChangelogMode {
	if l.Batch {
		return InsertOnly
	}
	return l.Input.Changelog()
}
func (l *Limit) Bounded() bool { return true }
func (l *Limit) WithChildren(c ...Node) Node {
	mustChildren("Limit", c, 1)
	cp := *l
	cp.Input = c[0]
	return &cp
}
func (l *Limit) Describe() string {
	return fmt.Sprintf("Limit(offset=[%d], fetch=[%d])", l.Offset, l.Limit)
}

// WindowRank is a Rank partitioned by a window (its WindowStart and
// WindowEnd input columns among the partition keys), over rows that belong
// to windows: Flink's window Top-N. Each window's result is final once the
// watermark passes its end, so it is emitted then, insert-only.
type WindowRank struct {
	Rank
	WindowStart, WindowEnd int
}

var _ Node = (*WindowRank)(nil)

func (r *WindowRank) Changelog() ChangelogMode { return InsertOnly }
func (r *WindowRank) WithChildren(c ...Node) Node {
	mustChildren("WindowRank", c, 1)
	cp := *r
	cp.Input = c[0]
	return &cp
}
func (r *WindowRank) Describe() string { return "Window" + r.Rank.Describe() }
