package optimizer

import (
	"slices"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/planner"
)

// StreamToChangelog runs TO_CHANGELOG: every input row becomes an insert
// carrying its change operation's op code.
type StreamToChangelog struct {
	Logical *planner.ToChangelog
	Input   PhysicalNode
}

// StreamFromChangelog runs FROM_CHANGELOG: every input row becomes a
// changelog row of the kind its op code maps to.
type StreamFromChangelog struct {
	Logical *planner.FromChangelog
	Input   PhysicalNode
}

var (
	_ operatorNode = (*StreamToChangelog)(nil)
	_ operatorNode = (*StreamFromChangelog)(nil)
)

func (n *StreamToChangelog) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamToChangelog) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamToChangelog) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamToChangelog) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamToChangelog) Describe() string       { return n.Logical.Describe() }

func (n *StreamToChangelog) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	s := exec.ToChangelogSpec{Columns: l.Columns(), InputChangelog: l.Input.Changelog() != planner.InsertOnly}
	for k, code := range l.Codes {
		if l.Mapped[k] {
			c := code
			s.Codes[k] = &c
		}
	}
	if l.PartialDeletes {
		for i, c := range s.Columns {
			if c >= 0 && !slices.Contains(l.Keep, c) {
				s.NullOnDelete = append(s.NullOnDelete, i)
			}
		}
	}
	return spec(exec.KindToChangelog, n.Describe(), n.Schema(), s)
}

func (n *StreamFromChangelog) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamFromChangelog) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamFromChangelog) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamFromChangelog) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamFromChangelog) Describe() string       { return n.Logical.Describe() }

func (n *StreamFromChangelog) operatorSpec() (exec.OperatorSpec, error) {
	l := n.Logical
	s := exec.FromChangelogSpec{Columns: l.Columns(), OpCol: l.OpCol, SkipInvalid: l.SkipInvalid, Kinds: map[string]int8{}}
	for code, k := range l.Kinds {
		s.Kinds[code] = int8(k)
	}
	out, err := spec(exec.KindFromChangelog, n.Describe(), n.Schema(), s)
	out.Changelog = l.Changelog() != planner.InsertOnly
	return out, err
}

// physicalizeToChangelog runs TO_CHANGELOG where its input runs, or, with
// PARTITION BY, behind a hash exchange on the partition columns.
func physicalizeToChangelog(l *planner.ToChangelog, cfg Config) (PhysicalNode, error) {
	in, err := Physicalize(l.Input, cfg)
	if err != nil {
		return nil, err
	}
	if len(l.Partition) > 0 {
		in = hashExchange(in, l.Partition, cfg.Parallelism)
	}
	return &StreamToChangelog{Logical: l, Input: in}, nil
}

// physicalizeFromChangelog runs FROM_CHANGELOG like TO_CHANGELOG. In upsert
// mode its output, keyed by the partition columns that lead it, goes
// through a ChangelogNormalize as an upsert source's does: operators
// downstream see -U/+U pairs and full deleted rows, which the per-key
// state of the normalization provides.
func physicalizeFromChangelog(l *planner.FromChangelog, cfg Config) (PhysicalNode, error) {
	in, err := Physicalize(l.Input, cfg)
	if err != nil {
		return nil, err
	}
	if len(l.Partition) > 0 {
		in = hashExchange(in, l.Partition, cfg.Parallelism)
	}
	var out PhysicalNode = &StreamFromChangelog{Logical: l, Input: in}
	if l.Upsert {
		keys := make([]int, len(l.Partition))
		for i := range keys {
			keys[i] = i
		}
		out = &StreamChangelogNormalize{Input: out, Keys: keys, StateTTLMillis: cfg.StateTTLMillis,
			DropUpdateBefore: cfg.dropUpdateBefore[l]}
	}
	return out, nil
}
