package optimizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/planner"
)

// StreamScan runs a connector's source readers.
type StreamScan struct {
	Logical     *planner.Scan
	parallelism int
}

// StreamCalc evaluates a filter and projections a batch at a time.
type StreamCalc struct {
	Logical *planner.Calc
	Input   PhysicalNode
}

// StreamWatermarkAssigner generates watermarks from a rowtime expression.
type StreamWatermarkAssigner struct {
	Logical *planner.WatermarkAssigner
	Input   PhysicalNode
}

// StreamValues emits constant rows from one subtask.
type StreamValues struct {
	Logical *planner.Values
}

// StreamUnion merges inputs of equal schema; it runs as no operator: its
// inputs feed the consumer's input directly.
type StreamUnion struct {
	In          []PhysicalNode
	Out         types.Schema
	parallelism int
}

// StreamExchange redistributes rows between parallel instances.
type StreamExchange struct {
	Input        PhysicalNode
	Partitioning exec.Partitioning
	Keys         []int
	// Target is the parallelism of the consumer.
	Target int
}

// StreamSink writes into a connector's sink writers.
type StreamSink struct {
	Logical *planner.Sink
	Input   PhysicalNode
	// Constraints, when set, makes the sink enforce its table's NOT NULL
	// and length constraints before writing (Flink's ConstraintEnforcer,
	// chained before the sink writer).
	Constraints *exec.ConstraintEnforcerSpec
	parallelism int
}

// StreamCollect hands results back to the client, from one subtask.
type StreamCollect struct {
	Input PhysicalNode
	// ID names the result stream the client reads.
	ID string
	// Changelog is set when the results are an updating stream.
	Changelog bool
}

var (
	_ operatorNode = (*StreamScan)(nil)
	_ operatorNode = (*StreamCalc)(nil)
	_ operatorNode = (*StreamWatermarkAssigner)(nil)
	_ operatorNode = (*StreamValues)(nil)
	_ operatorNode = (*StreamSink)(nil)
	_ operatorNode = (*StreamCollect)(nil)
	_ PhysicalNode = (*StreamUnion)(nil)
	_ PhysicalNode = (*StreamExchange)(nil)
)

func (n *StreamScan) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamScan) Inputs() []PhysicalNode { return nil }
func (n *StreamScan) Parallelism() int       { return n.parallelism }
func (n *StreamScan) Bounded() bool          { return n.Logical.Bounded() }
func (n *StreamScan) Describe() string       { return n.Logical.Describe() }

func (n *StreamCalc) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamCalc) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamCalc) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamCalc) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamCalc) Describe() string       { return n.Logical.Describe() }

func (n *StreamWatermarkAssigner) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamWatermarkAssigner) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamWatermarkAssigner) Parallelism() int       { return n.Input.Parallelism() }
func (n *StreamWatermarkAssigner) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamWatermarkAssigner) Describe() string       { return n.Logical.Describe() }

func (n *StreamValues) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamValues) Inputs() []PhysicalNode { return nil }
func (n *StreamValues) Parallelism() int       { return 1 }
func (n *StreamValues) Bounded() bool          { return true }
func (n *StreamValues) Describe() string       { return n.Logical.Describe() }

func (n *StreamUnion) Schema() types.Schema   { return n.Out }
func (n *StreamUnion) Inputs() []PhysicalNode { return n.In }
func (n *StreamUnion) Parallelism() int       { return n.parallelism }
func (n *StreamUnion) Describe() string {
	return "Union(all=[true], union=[" + strings.Join(n.Out.Names(), ", ") + "])"
}
func (n *StreamUnion) Bounded() bool {
	for _, in := range n.In {
		if !in.Bounded() {
			return false
		}
	}
	return true
}

func (n *StreamExchange) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamExchange) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamExchange) Parallelism() int       { return n.Target }
func (n *StreamExchange) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamExchange) Describe() string {
	if n.Partitioning == exec.Hash {
		return describeHash(n.Input.Schema(), n.Keys)
	}
	return fmt.Sprintf("Exchange(distribution=[%s])", n.Partitioning)
}

func (n *StreamSink) Schema() types.Schema   { return n.Logical.Schema() }
func (n *StreamSink) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamSink) Parallelism() int       { return n.parallelism }
func (n *StreamSink) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamSink) Describe() string       { return n.Logical.Describe() }

func (n *StreamCollect) Schema() types.Schema   { return n.Input.Schema() }
func (n *StreamCollect) Inputs() []PhysicalNode { return []PhysicalNode{n.Input} }
func (n *StreamCollect) Parallelism() int       { return 1 }
func (n *StreamCollect) Bounded() bool          { return n.Input.Bounded() }
func (n *StreamCollect) Describe() string {
	return "Collect(fields=[" + strings.Join(n.Schema().Names(), ", ") + "])"
}

func spec(kind, name string, schema types.Schema, v any) (exec.OperatorSpec, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	return exec.OperatorSpec{Kind: kind, Name: name, Schema: schema, Spec: raw}, nil
}

func (n *StreamScan) operatorSpec() (exec.OperatorSpec, error) {
	out, err := spec(exec.KindSource, n.Describe(), n.Schema(), n.Logical.Spec())
	out.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return out, err
}

func (n *StreamCalc) operatorSpec() (exec.OperatorSpec, error) {
	var s exec.CalcSpec
	for _, e := range n.Logical.Exprs {
		raw, err := expr.Marshal(e)
		if err != nil {
			return exec.OperatorSpec{}, err
		}
		s.Projections = append(s.Projections, raw)
	}
	if n.Logical.Condition != nil {
		raw, err := expr.Marshal(n.Logical.Condition)
		if err != nil {
			return exec.OperatorSpec{}, err
		}
		s.Condition = raw
	}
	out, err := spec(exec.KindCalc, n.Describe(), n.Schema(), s)
	out.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return out, err
}

func (n *StreamWatermarkAssigner) operatorSpec() (exec.OperatorSpec, error) {
	raw, err := expr.Marshal(n.Logical.Expr)
	if err != nil {
		return exec.OperatorSpec{}, err
	}
	out, err := spec(exec.KindWatermarkAssigner, n.Describe(), n.Schema(),
		exec.WatermarkAssignerSpec{RowtimeIndex: n.Logical.Rowtime, Watermark: raw, IdleTimeoutMillis: n.Logical.IdleTimeoutMillis})
	out.Changelog = n.Logical.Changelog() != planner.InsertOnly
	return out, err
}

func (n *StreamValues) operatorSpec() (exec.OperatorSpec, error) {
	var s exec.ValuesSpec
	for _, row := range n.Logical.Rows {
		var r []json.RawMessage
		for _, l := range row {
			raw, err := expr.Marshal(l)
			if err != nil {
				return exec.OperatorSpec{}, err
			}
			r = append(r, raw)
		}
		s.Rows = append(s.Rows, r)
	}
	return spec(exec.KindValues, n.Describe(), n.Schema(), s)
}

func (n *StreamSink) operatorSpec() (exec.OperatorSpec, error) {
	out, err := spec(exec.KindSink, n.Describe(), n.Schema(), exec.SinkSpec{SinkSpec: n.Logical.Spec(), Enforcer: n.Constraints})
	// A materializer turns even an insert-only query into updates.
	_, materialized := n.Input.(*StreamSinkUpsertMaterializer)
	out.Changelog = n.Logical.Changelog() != planner.InsertOnly || materialized
	return out, err
}

func (n *StreamCollect) operatorSpec() (exec.OperatorSpec, error) {
	out, err := spec(exec.KindCollect, n.Describe(), n.Schema(), exec.CollectSpec{ID: n.ID})
	out.Changelog = n.Changelog
	return out, err
}
