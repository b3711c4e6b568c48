package optimizer

import (
	"fmt"
	"slices"
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

// RequireOnConflictKey is table.exec.sink.require-on-conflict (Flink 2.3,
// default true): an INSERT into an upsert sink whose primary key does not
// contain an upsert key of the query must say, with ON CONFLICT, how rows
// of different upsert keys sharing a primary key are resolved.
const RequireOnConflictKey = "table.exec.sink.require-on-conflict"

// RequireOnConflict reads table.exec.sink.require-on-conflict from session
// options (true when unset).
func RequireOnConflict(opts map[string]string) (bool, error) {
	v, ok := opts[RequireOnConflictKey]
	if !ok || v == "" {
		return true, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errs.New(errs.InvalidOption, "%s must be 'true' or 'false', not '%s'", RequireOnConflictKey, v)
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

// StreamSinkUpsertMaterializer resolves, per sink primary key, the rows
// of the query's different upsert keys that share it (Flink's
// SinkUpsertMaterializer), by the statement's ON CONFLICT strategy:
// DEDUPLICATE (also without the clause) keeps the rows not yet retracted
// so that the latest remaining one shows; NOTHING and ERROR compact the
// changes of each key as the watermark advances and then keep the first
// row, or fail when rows of two upsert keys remain. Its input is
// hash-partitioned by the key.
type StreamSinkUpsertMaterializer struct {
	Input PhysicalNode
	Keys  []int
	// Strategy is the ON CONFLICT action ("" for DEDUPLICATE).
	Strategy string
	// UpsertKey is an upsert key of the input (NOTHING and ERROR tell the
	// rows of one upsert key from those of another by it); nil compares
	// whole rows.
	UpsertKey []int
	// InsertOnlyInput is set when the query's rows carry no row kind.
	InsertOnlyInput bool
	StateTTLMillis  int64
}

var _ operatorNode = (*StreamSinkUpsertMaterializer)(nil)

func (n *StreamSinkUpsertMaterializer) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamSinkUpsertMaterializer) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamSinkUpsertMaterializer) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamSinkUpsertMaterializer) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamSinkUpsertMaterializer) Describe() string {
	d := fmt.Sprintf("SinkUpsertMaterializer(pk=[%s]", keyNames(n.Schema(), n.Keys))
	if n.Strategy != "" && n.Strategy != planner.OnConflictDeduplicate {
		d += ", conflictStrategy=[" + n.Strategy + "]"
		if n.UpsertKey != nil {
			d += fmt.Sprintf(", upsertKey=[%s]", keyNames(n.Schema(), n.UpsertKey))
		}
	}
	return d + ")"
}

func (n *StreamSinkUpsertMaterializer) operatorSpec() (exec.OperatorSpec, error) {
	strategy := n.Strategy
	if strategy == planner.OnConflictDeduplicate {
		strategy = ""
	}
	s, err := spec(exec.KindSinkUpsertMaterializer, n.Describe(), n.Schema(), exec.SinkUpsertMaterializerSpec{
		Keys: n.Keys, StateTTLMillis: n.StateTTLMillis, Conflict: strategy, UpsertKey: n.UpsertKey,
		InsertOnlyInput: n.InsertOnlyInput})
	s.Changelog = true
	return s, err
}

// sinkInput is the physical input of sink l, whose writers run at
// parallelism par: materialized for an upsert sink when its query's
// changelog is not keyed by the sink's primary key, and spread to the
// writers, by the primary key where table.exec.sink.keyed-shuffle or an
// updating query asks for it.
func sinkInput(l *planner.Sink, in PhysicalNode, cfg Config, par int) (PhysicalNode, error) {
	in = finalRows(in, l.Input, cfg)
	keys := make([]int, len(l.Table.PrimaryKey))
	for i, k := range l.Table.PrimaryKey {
		keys[i] = l.Table.Schema.Index(k)
	}
	materialize, err := needsUpsertMaterialize(l, in, keys, cfg)
	if err != nil {
		return nil, err
	}
	if materialize {
		m := &StreamSinkUpsertMaterializer{Input: hashExchange(in, keys, par), Keys: keys, Strategy: l.OnConflict,
			InsertOnlyInput: !changelogOf(in, l.Input), StateTTLMillis: cfg.StateTTLMillis}
		if uk := UpsertKeys(l.Input); len(uk) > 0 && (l.OnConflict == planner.OnConflictNothing || l.OnConflict == planner.OnConflictError) {
			m.UpsertKey = uk[0]
		}
		return m, nil
	}
	if len(keys) == 0 {
		return exchangeTo(in, par), nil
	}
	_, final := in.(*StreamMaterialize)
	updating := l.Input.Changelog() != planner.InsertOnly && !final
	switch {
	case cfg.SinkKeyedShuffle == SinkModeForce && par > 1,
		in.Parallelism() != par && (updating || cfg.SinkKeyedShuffle != SinkModeNone):
		return hashExchange(in, keys, par), nil
	}
	return exchangeTo(in, par), nil
}

// needsUpsertMaterialize decides, as Flink's
// FlinkChangelogModeInferenceProgram does under
// table.exec.sink.upsert-materialize, whether an upsert sink needs its
// query's rows materialized, and enforces
// table.exec.sink.require-on-conflict. Under AUTO it materializes where
// the sink's primary key contains no upsert key of the query (UpsertKeys),
// except for an insert-only query with ON CONFLICT DO DEDUPLICATE, whose
// inserts simply overwrite each other; FORCE materializes before every
// upsert sink, NONE never. Batch runs write final rows and need none.
//
// The materializer needs each retraction in full: an upsert source's
// changelog reaches it normalized (the normalization is elided only before
// a sink keyed like the source, which needs no materializer).
func needsUpsertMaterialize(l *planner.Sink, in PhysicalNode, pk []int, cfg Config) (bool, error) {
	if !l.Upsert || cfg.Batch {
		return false, nil
	}
	if _, ok := in.(*StreamMaterialize); ok {
		return false, nil
	}
	switch cfg.UpsertMaterialize {
	case SinkModeNone:
		return false, nil
	case SinkModeForce:
		return true, nil
	}
	if l.Input.Changelog() == planner.InsertOnly && l.OnConflict == planner.OnConflictDeduplicate {
		return false, nil
	}
	uks := UpsertKeys(l.Input)
	if slices.ContainsFunc(uks, func(k []int) bool { return containsAll(pk, k) }) {
		return false, nil
	}
	if cfg.RequireOnConflict && l.OnConflict == "" {
		upsertKey := "none"
		if len(uks) > 0 {
			upsertKey = "[" + strings.Join(pick(l.Schema().Names(), uks[0]), ", ") + "]"
		}
		return false, errs.New(errs.InvalidPlan, "The query has an upsert key that differs from the primary key of the sink table '%s.%s.%s'. Primary key: [%s], upsert key: %s. "+
			"This can lead to non-deterministic results when multiple records with different upsert keys map to the same primary key. "+
			"Please specify an ON CONFLICT clause to define how conflicts should be handled: "+
			"ON CONFLICT DO DEDUPLICATE (update to the latest record, state intensive, since we need to keep the entire history), "+
			"or ON CONFLICT DO ERROR (fail on conflict), or ON CONFLICT DO NOTHING (keep first record).",
			l.Path.Catalog, l.Path.Database, l.Path.Name, strings.Join(l.Table.PrimaryKey, ", "), upsertKey)
	}
	return true, nil
}
