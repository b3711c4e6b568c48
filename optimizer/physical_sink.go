package optimizer

import (
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/planner"
)

// UpsertMaterializeKey is table.exec.sink.upsert-materialize, Flink's
// switch for the SinkUpsertMaterializer: AUTO (the default) materializes
// where the query's changelog is not keyed by the sink's primary key,
// FORCE before every upsert sink fed an updating query, NONE never.
const UpsertMaterializeKey = "table.exec.sink.upsert-materialize"

// The values of table.exec.sink.upsert-materialize and
// table.exec.sink.keyed-shuffle.
const (
	SinkModeAuto  = "AUTO"
	SinkModeForce = "FORCE"
	SinkModeNone  = "NONE"
)

// SinkKeyedShuffleKey is table.exec.sink.keyed-shuffle: whether rows are
// hash-partitioned by a sink's primary key on their way to its writers.
// AUTO (the default) does so where the sink's parallelism differs from its
// input's, FORCE always, NONE never for an insert-only query. An updating
// query is always partitioned by the key there: the updates of a key must
// reach one writer in order.
const SinkKeyedShuffleKey = "table.exec.sink.keyed-shuffle"

// UpsertMaterializeMode reads table.exec.sink.upsert-materialize from
// session options (AUTO when unset).
func UpsertMaterializeMode(opts map[string]string) (string, error) {
	return autoForceNone(opts, UpsertMaterializeKey)
}

// SinkKeyedShuffleMode reads table.exec.sink.keyed-shuffle from session
// options (AUTO when unset).
func SinkKeyedShuffleMode(opts map[string]string) (string, error) {
	return autoForceNone(opts, SinkKeyedShuffleKey)
}

func autoForceNone(opts map[string]string, key string) (string, error) {
	v, ok := opts[key]
	if !ok || v == "" {
		return SinkModeAuto, nil
	}
	for _, m := range []string{SinkModeAuto, SinkModeForce, SinkModeNone} {
		if strings.EqualFold(v, m) {
			return m, nil
		}
	}
	return "", errs.New(errs.InvalidOption, "%s must be AUTO, FORCE or NONE, not '%s'", key, v)
}

// StreamSinkUpsertMaterializer keeps, per sink primary key, the query's
// rows not yet retracted (Flink's SinkUpsertMaterializer), so an upsert
// sink whose key is not a key of the query's changelog shows the latest
// remaining row of each key. Its input is hash-partitioned by the key.
type StreamSinkUpsertMaterializer struct {
	Input          PhysicalNode
	Keys           []int
	StateTTLMillis int64
}

var _ operatorNode = (*StreamSinkUpsertMaterializer)(nil)

func (n *StreamSinkUpsertMaterializer) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamSinkUpsertMaterializer) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamSinkUpsertMaterializer) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamSinkUpsertMaterializer) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamSinkUpsertMaterializer) Describe() string {
	return fmt.Sprintf("SinkUpsertMaterializer(pk=[%s])", keyNames(n.Schema(), n.Keys))
}

func (n *StreamSinkUpsertMaterializer) operatorSpec() (exec.OperatorSpec, error) {
	s, err := spec(exec.KindSinkUpsertMaterializer, n.Describe(), n.Schema(), exec.SinkUpsertMaterializerSpec{Keys: n.Keys, StateTTLMillis: n.StateTTLMillis})
	s.Changelog = true
	return s, err
}

// sinkInput is the physical input of sink l, whose writers run at
// parallelism par: materialized for an upsert sink when its query's
// changelog is not keyed by the sink's primary key, and spread to the
// writers, by the primary key where table.exec.sink.keyed-shuffle or an
// updating query asks for it.
func sinkInput(l *planner.Sink, in PhysicalNode, cfg Config, par int) PhysicalNode {
	in = finalRows(in, l.Input, cfg)
	keys := make([]int, len(l.Table.PrimaryKey))
	for i, k := range l.Table.PrimaryKey {
		keys[i] = l.Table.Schema.Index(k)
	}
	if needsUpsertMaterialize(l, in, cfg) {
		return &StreamSinkUpsertMaterializer{Input: hashExchange(in, keys, par), Keys: keys, StateTTLMillis: cfg.StateTTLMillis}
	}
	if len(keys) == 0 {
		return exchangeTo(in, par)
	}
	_, final := in.(*StreamMaterialize)
	updating := l.Input.Changelog() != planner.InsertOnly && !final
	switch {
	case cfg.SinkKeyedShuffle == SinkModeForce && par > 1,
		in.Parallelism() != par && (updating || cfg.SinkKeyedShuffle != SinkModeNone):
		return hashExchange(in, keys, par)
	}
	return exchangeTo(in, par)
}

// needsUpsertMaterialize decides, as Flink's planner does under
// table.exec.sink.upsert-materialize, whether an upsert sink needs its
// query's rows materialized: only for a retract changelog (the
// materializer must see the -U of every row it keeps), and under AUTO only
// where the changelog is certainly not keyed by the sink's primary key.
// Eddy does not derive unique keys through every operator yet, so AUTO
// materializes only a changelog read from a source without a primary key
// and passed through projections and filters: the case where no key can
// hold. FORCE materializes every retract changelog into an upsert sink.
func needsUpsertMaterialize(l *planner.Sink, in PhysicalNode, cfg Config) bool {
	if !l.Upsert || cfg.Batch || l.Input.Changelog() != planner.Retract {
		return false
	}
	if _, ok := in.(*StreamMaterialize); ok {
		return false
	}
	switch cfg.UpsertMaterialize {
	case SinkModeNone:
		return false
	case SinkModeForce:
		return true
	}
	return keyless(l.Input)
}

// keyless reports a changelog that has no unique key: a keyless source's,
// through projections, filters and watermark assigners.
func keyless(n planner.Node) bool {
	switch x := n.(type) {
	case *planner.Scan:
		return len(x.Table.PrimaryKey) == 0
	case *planner.Calc, *planner.Project, *planner.Filter, *planner.WatermarkAssigner:
		return keyless(n.Children()[0])
	}
	return false
}
