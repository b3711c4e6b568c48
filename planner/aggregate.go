package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// Aggregate groups its input by the Keys columns and computes Calls per
// group (GROUP BY, DISTINCT). Over an unbounded stream its result changes
// as rows arrive, so it emits a retract changelog.
type Aggregate struct {
	Input Node
	// Keys are input column indexes; the output starts with them.
	Keys  []int
	Calls []agg.Call
	// Names are the output column names: keys, then calls.
	Names []string
	// StateTTLMillis, when HasStateTTL, is the idle state retention a
	// STATE_TTL hint sets for this aggregate, in place of
	// table.exec.state.ttl.
	StateTTLMillis int64
	HasStateTTL    bool
	// TimeAttrKeys are the positions in Keys of the window_time of a window
	// aggregation (see windowTimeKeys): unlike other keys they keep their
	// time attribute, as Flink's window_time is a rowtime that can feed
	// another window (cascading window aggregation).
	TimeAttrKeys []int
}

var _ Node = (*Aggregate)(nil)

func (a *Aggregate) Schema() types.Schema {
	in := a.Input.Schema()
	s := types.Schema{}
	for i, k := range a.Keys {
		t := in.Columns[k].Type
		if !slices.Contains(a.TimeAttrKeys, i) {
			t = t.WithTimeAttr(types.NoTimeAttr)
		}
		s.Columns = append(s.Columns, types.Column{Name: a.Names[i], Type: t})
	}
	for i, c := range a.Calls {
		s.Columns = append(s.Columns, types.Column{Name: a.Names[len(a.Keys)+i], Type: c.Type})
	}
	return s
}

func (a *Aggregate) Children() []Node         { return []Node{a.Input} }
func (a *Aggregate) Changelog() ChangelogMode { return Retract }
func (a *Aggregate) Bounded() bool            { return a.Input.Bounded() }
func (a *Aggregate) WithChildren(c ...Node) Node {
	mustChildren("Aggregate", c, 1)
	cp := *a
	cp.Input = c[0]
	return &cp
}

func (a *Aggregate) Describe() string {
	in := a.Input.Schema()
	keys := make([]string, len(a.Keys))
	for i, k := range a.Keys {
		keys[i] = in.Columns[k].Name
	}
	calls := make([]string, len(a.Calls))
	for i, c := range a.Calls {
		calls[i] = DescribeCall(c, in) + " AS " + a.Names[len(a.Keys)+i]
	}
	return fmt.Sprintf("GroupAggregate(groupBy=[%s], select=[%s])", strings.Join(keys, ", "),
		strings.Join(append(keys, calls...), ", "))
}

// DescribeCall prints an aggregate call over in with its argument names,
// as EXPLAIN shows it.
func DescribeCall(c agg.Call, in types.Schema) string {
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = in.Columns[a].Name
	}
	s := c.Func + "("
	if c.Distinct {
		s += "DISTINCT "
	}
	if len(args) == 0 {
		s += "*"
	}
	s += strings.Join(args, ", ") + ")"
	if c.Filter >= 0 {
		s += " FILTER " + in.Columns[c.Filter].Name
	}
	return s
}
