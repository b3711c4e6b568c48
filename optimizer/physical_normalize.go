package optimizer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
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
	// Condition is the filter of the Calc above, pushed into the
	// normalization (see pushCalcIntoNormalize); nil for none.
	Condition expr.Expr
	// DropUpdateBefore: updates go out as +U alone (updateBeforeDroppers).
	DropUpdateBefore bool
}

var _ operatorNode = (*StreamChangelogNormalize)(nil)

func (n *StreamChangelogNormalize) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamChangelogNormalize) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamChangelogNormalize) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamChangelogNormalize) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamChangelogNormalize) Describe() string {
	s := fmt.Sprintf("ChangelogNormalize(key=[%s]", keyNames(n.Schema(), n.Keys))
	if n.Condition != nil {
		s += ", condition=[" + n.Condition.String() + "]"
	}
	return s + ")"
}

func (n *StreamChangelogNormalize) operatorSpec() (exec.OperatorSpec, error) {
	ns := exec.ChangelogNormalizeSpec{Keys: n.Keys, StateTTLMillis: n.StateTTLMillis, DropUpdateBefore: n.DropUpdateBefore}
	if n.Condition != nil {
		raw, err := expr.Marshal(n.Condition)
		if err != nil {
			return exec.OperatorSpec{}, err
		}
		ns.Condition = raw
	}
	s, err := spec(exec.KindChangelogNormalize, n.Describe(), n.Schema(), ns)
	s.Changelog = true
	return s, err
}

// pushCalcIntoNormalize moves the condition of a Calc directly above a
// ChangelogNormalize into it, as Flink's planner does: evaluated on the
// normalized rows, a filter would pass the -U of a row whose update fails
// it without a matching +U, while inside the normalization the key's row
// is deleted (-D) instead. Like Flink's PushCalcPastChangelogNormalizeRule,
// it moves non-deterministic conditions too (CURRENT_WATERMARK(rowtime)
// IS NULL): the normalization judges each row once, as it arrives, and
// remembers the verdict in its state, so a key's -D/-U/+U stay consistent
// where a later filter could judge a row's retraction differently from
// its insertion. The Calc keeps its projections; when they select the
// input unchanged, it disappears.
func pushCalcIntoNormalize(c *planner.Calc, in PhysicalNode) PhysicalNode {
	norm, ok := in.(*StreamChangelogNormalize)
	if !ok || norm.Condition != nil || c.Condition == nil {
		return &StreamCalc{Logical: c, Input: in}
	}
	pushed := *norm
	pushed.Condition = c.Condition
	if isIdentity(c.Exprs, c.Names, norm.Schema()) {
		return &pushed
	}
	return &StreamCalc{Logical: &planner.Calc{Input: c.Input, Exprs: c.Exprs, Names: c.Names}, Input: &pushed}
}

// assignWatermarks runs a watermark assigner over in. Over a normalized
// source it goes below the normalization, right after the scan, where
// Flink's plan has it when the source takes the watermark
// (SupportsWatermarkPushDown): the normalization then receives the
// watermarks, which a condition pushed into it reads through
// CURRENT_WATERMARK, and a Calc above it meets the normalization directly.
func assignWatermarks(l *planner.WatermarkAssigner, in PhysicalNode) PhysicalNode {
	norm, ok := in.(*StreamChangelogNormalize)
	if !ok || norm.Condition != nil {
		return &StreamWatermarkAssigner{Logical: l, Input: in}
	}
	ex, ok := norm.Input.(*StreamExchange)
	if !ok {
		return &StreamWatermarkAssigner{Logical: l, Input: in}
	}
	below := *ex
	below.Input = &StreamWatermarkAssigner{Logical: l, Input: ex.Input}
	moved := *norm
	moved.Input = &below
	return &moved
}

// isIdentity reports whether exprs select every column of schema, in
// order and under the same names.
func isIdentity(exprs []expr.Expr, names []string, schema types.Schema) bool {
	if len(exprs) != schema.Len() {
		return false
	}
	for i, e := range exprs {
		ref, ok := e.(*expr.ColumnRef)
		if !ok || ref.Index != i || names[i] != schema.Columns[i].Name ||
			!ref.Type().Equal(schema.Columns[i].Type) {
			return false
		}
	}
	return true
}

// physicalizeScan runs a scan, normalizing an upsert source's changelog,
// and a retract source's when table.exec.source.cdc-events-duplicate says
// its events may come more than once (Flink then deduplicates them by
// primary key with the same ChangelogNormalize).
func physicalizeScan(l *planner.Scan, cfg Config) (PhysicalNode, error) {
	scan := &StreamScan{Logical: l, parallelism: cfg.Parallelism}
	if !scanNormalized(l, cfg.CDCEventsDuplicate) {
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
		DropUpdateBefore: cfg.dropUpdateBefore[l],
	}, nil
}

// scanNormalized reports whether physicalizeScan normalizes the scan's
// changelog: an upsert source's, and a retract source's with a primary
// key when cdcEventsDuplicate (table.exec.source.cdc-events-duplicate).
func scanNormalized(l *planner.Scan, cdcEventsDuplicate bool) bool {
	return l.Mode == planner.Upsert || l.Mode == planner.Retract && cdcEventsDuplicate && len(l.Table.PrimaryKey) > 0
}

// elideNormalizeForKeyedDeletes drops the ChangelogNormalize of an upsert
// source whose changelog feeds a sink applying deletes by its primary key
// (connector.SinkProperties.DeletesByKey), as Flink does: such a sink
// upserts +I/+U rows and deletes by key, which is what the source's
// changelog already says, so normalizing it (and its state) adds nothing,
// and deletes reach the sink as the source sent them. Only projections may
// lie between them (Calcs without a condition whose key columns are
// column references), and the sink's key must be the normalization's.
func elideNormalizeForKeyedDeletes(in PhysicalNode, sink *planner.Sink) PhysicalNode {
	f, ok := connector.Sink(sink.Table.Options[connector.ConnectorOption])
	if !ok || len(sink.Table.PrimaryKey) == 0 || sink.Table.Schema.Len() != in.Schema().Len() {
		return in
	}
	props, err := f.ValidateSink(sink.Table)
	if err != nil || !props.DeletesByKey || props.RequiresUpdateBefore {
		return in
	}
	key := make([]int, len(sink.Table.PrimaryKey))
	for i, k := range sink.Table.PrimaryKey {
		if key[i] = sink.Table.Schema.Index(k); key[i] < 0 {
			return in
		}
	}
	if out, ok := elideNormalize(in, key); ok {
		return out
	}
	return in
}

// elideNormalize rebuilds n without the ChangelogNormalize below it if
// the columns key of n are, through projections only, its key.
func elideNormalize(n PhysicalNode, key []int) (PhysicalNode, bool) {
	switch n := n.(type) {
	case *StreamCalc:
		if n.Logical.Condition != nil {
			return nil, false
		}
		below := make([]int, len(key))
		for i, k := range key {
			ref, ok := n.Logical.Exprs[k].(*expr.ColumnRef)
			if !ok {
				return nil, false
			}
			below[i] = ref.Index
		}
		in, ok := elideNormalize(n.Input, below)
		if !ok {
			return nil, false
		}
		return &StreamCalc{Logical: n.Logical, Input: in}, true
	case *StreamChangelogNormalize:
		if n.Condition != nil || len(key) != len(n.Keys) {
			return nil, false
		}
		for _, k := range key {
			if !slices.Contains(n.Keys, k) {
				return nil, false
			}
		}
		return n.Input, true
	}
	return nil, false
}
