package optimizer

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// StreamChangelogNormalize turns the upsert stream of a source (upsert-
// kafka) into a retract stream keyed by the table's primary key, as
// Flink's ChangelogNormalize does, so that operators downstream see
// -U/+U pairs and full deleted rows.
type StreamChangelogNormalize struct {
	Input          PhysicalNode
	Keys           []int
	StateTTLMillis int64
}

var _ operatorNode = (*StreamChangelogNormalize)(nil)

func (n *StreamChangelogNormalize) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamChangelogNormalize) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamChangelogNormalize) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamChangelogNormalize) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamChangelogNormalize) Describe() string {
	return fmt.Sprintf("ChangelogNormalize(key=[%s])", keyNames(n.Schema(), n.Keys))
}

func (n *StreamChangelogNormalize) operatorSpec() (exec.OperatorSpec, error) {
	s, err := spec(exec.KindChangelogNormalize, n.Describe(), n.Schema(), exec.ChangelogNormalizeSpec{
		Keys: n.Keys, StateTTLMillis: n.StateTTLMillis,
	})
	s.Changelog = true
	return s, err
}

// physicalizeScan runs a scan, normalizing an upsert source's changelog.
func physicalizeScan(l *planner.Scan, cfg Config) (PhysicalNode, error) {
	scan := &StreamScan{Logical: l, parallelism: cfg.Parallelism}
	if l.Mode != planner.Upsert {
		return scan, nil
	}
	out := l.Schema()
	var keys []int
	for _, k := range l.Table.PrimaryKey {
		i := out.Index(k)
		if i < 0 {
			return nil, errs.New(errs.InvalidPlan, "the upsert source %s does not produce its primary key column %s", l.Path, k)
		}
		keys = append(keys, i)
	}
	if len(keys) == 0 {
		return nil, errs.New(errs.InvalidPlan, "the upsert source %s needs a PRIMARY KEY (%s)", l.Path, strings.Join(out.Names(), ", "))
	}
	return &StreamChangelogNormalize{
		Input: hashExchange(scan, keys, cfg.Parallelism), Keys: keys, StateTTLMillis: cfg.StateTTLMillis,
	}, nil
}
