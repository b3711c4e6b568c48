package optimizer

import (
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// NonDeterministicUpdateKey is table.optimizer.non-deterministic-update.strategy:
// IGNORE (the default) or TRY_RESOLVE, which makes a lookup join over an
// updating stream keep what each key joined, so its retractions retract
// exactly that (Flink's materialized lookup join).
const NonDeterministicUpdateKey = "table.optimizer.non-deterministic-update.strategy"

// TryResolveNonDeterministicUpdates reads
// table.optimizer.non-deterministic-update.strategy from session options.
func TryResolveNonDeterministicUpdates(opts map[string]string) (bool, error) {
	switch v := opts[NonDeterministicUpdateKey]; {
	case v == "" || strings.EqualFold(v, "IGNORE"):
		return false, nil
	case strings.EqualFold(v, "TRY_RESOLVE"):
		return true, nil
	default:
		return false, errs.New(errs.InvalidOption, "%s must be IGNORE or TRY_RESOLVE, not '%s'", NonDeterministicUpdateKey, v)
	}
}

// StreamLookupJoin is a processing-time lookup join against a bounded
// table: both inputs hash partitioned by the equi-join keys (one instance
// without keys), the table loaded into the operator, the probe rows
// joined against it (exec.KindLookupJoin).
type StreamLookupJoin struct {
	Logical               *planner.Join
	Probe, Lookup         PhysicalNode
	ProbeKeys, LookupKeys []int
	// PrimaryKey is the lookup table's primary key in the lookup input's
	// columns; nil when it has none or does not reach the join.
	PrimaryKey []int
	// Materialize: the probe stream is updating and TRY_RESOLVE is set;
	// ProbeUpsertKey is the probe's primary key (nil: the whole row).
	Materialize    bool
	ProbeUpsertKey []int
}

var _ operatorNode = (*StreamLookupJoin)(nil)

func physicalizeLookupJoin(j *planner.Join, probe, lookup PhysicalNode, cfg Config) *StreamLookupJoin {
	pk, lk, _ := splitEquiConditions(j.Condition, j.Left.Schema().Len())
	par := cfg.Parallelism
	if len(pk) == 0 {
		par = 1
	}
	n := &StreamLookupJoin{Logical: j, Probe: hashExchange(probe, pk, par), Lookup: hashExchange(lookup, lk, par),
		ProbeKeys: pk, LookupKeys: lk, PrimaryKey: primaryKeyOf(j.Right)}
	if cfg.TryResolveNonDeterministicUpdates && j.Left.Changelog() != planner.InsertOnly {
		n.Materialize, n.ProbeUpsertKey = true, primaryKeyOf(j.Left)
	}
	return n
}

// primaryKeyOf finds the primary key of the table scanned under n through
// the calcs that keep its columns; nil if it is lost on the way.
func primaryKeyOf(n planner.Node) []int {
	switch x := n.(type) {
	case *planner.Scan:
		out := x.Schema()
		var keys []int
		for _, k := range x.Table.PrimaryKey {
			i := out.Index(k)
			if i < 0 {
				return nil
			}
			keys = append(keys, i)
		}
		return keys
	case *planner.Calc:
		return mapKeys(primaryKeyOf(x.Input), x.Exprs)
	case *planner.Project:
		return mapKeys(primaryKeyOf(x.Input), x.Exprs)
	case *planner.Filter:
		return primaryKeyOf(x.Input)
	case *planner.WatermarkAssigner:
		return primaryKeyOf(x.Input)
	}
	return nil
}

// mapKeys maps input key columns to the projection's output columns that
// pass them through unchanged.
func mapKeys(keys []int, exprs []expr.Expr) []int {
	if len(keys) == 0 {
		return nil
	}
	out := make([]int, 0, len(keys))
	for _, k := range keys {
		found := -1
		for i, e := range exprs {
			if ref, ok := e.(*expr.ColumnRef); ok && ref.Index == k {
				found = i
				break
			}
		}
		if found < 0 {
			return nil
		}
		out = append(out, found)
	}
	return out
}

func (n *StreamLookupJoin) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamLookupJoin) Inputs() []PhysicalNode { return []PhysicalNode{n.Probe, n.Lookup} }
func (n *StreamLookupJoin) Parallelism() int       { return n.Probe.Parallelism() }
func (n *StreamLookupJoin) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamLookupJoin) Describe() string {
	d := n.Logical.Describe()
	if n.Materialize {
		d = strings.TrimSuffix(d, ")") + ", upsertMaterialize=[true])"
	}
	return d
}

func (n *StreamLookupJoin) operatorSpec() (exec.OperatorSpec, error) {
	cond, err := marshalOptional(n.Logical.Condition)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	s, err := spec(exec.KindLookupJoin, n.Describe(), n.Schema(), exec.LookupJoinSpec{
		Type: string(n.Logical.Type), ProbeKeys: n.ProbeKeys, LookupKeys: n.LookupKeys, Condition: cond,
		ProbeWidth: n.Logical.Left.Schema().Len(), PrimaryKey: n.PrimaryKey,
		Materialize: n.Materialize, ProbeUpsertKey: n.ProbeUpsertKey,
	})
	s.Changelog = n.Logical.Left.Changelog() != planner.InsertOnly
	return s, err
}
