package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/expr"
)

// KindCalc filters and projects: per batch it evaluates Condition, keeps
// the rows where it is TRUE, and evaluates Projections over them into a
// batch of the operator's output schema (OperatorSpec.Schema). On a
// changelog (OperatorSpec.Changelog) the input's trailing row kind column
// is filtered with the rows and appended unchanged to the output.
const KindCalc = "calc"

// CalcSpec is the JSON spec of a calc operator. Expressions are
// expr.Marshal'ed and refer to the columns of the input batch.
type CalcSpec struct {
	Projections []json.RawMessage `json:"projections"`
	// Condition is optional; absent means every row passes.
	Condition json.RawMessage `json:"condition,omitempty"`
}

func init() { RegisterOperator(KindCalc, newCalc) }

type calc struct {
	spec      CalcSpec
	schema    *arrow.Schema
	changelog bool
	mem       memory.Allocator
	cond      expr.Evaluator
	projs     []expr.Evaluator
	cols      []arrow.Array // scratch, reused across batches
	// wm is the latest watermark, which CURRENT_WATERMARK reads.
	wm expr.CurrentWatermark
}

func newCalc(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	c := &calc{schema: spec.ArrowSchema(), changelog: spec.Changelog}
	if err := json.Unmarshal(spec.Spec, &c.spec); err != nil {
		return nil, fmt.Errorf("calc spec: %w", err)
	}
	if len(c.spec.Projections) != spec.Schema.Len() {
		return nil, fmt.Errorf("calc spec: %d projections for %d output columns",
			len(c.spec.Projections), spec.Schema.Len())
	}
	return c, nil
}

func compileExpr(raw json.RawMessage, mem memory.Allocator) (expr.Evaluator, error) {
	e, err := expr.Unmarshal(raw)
	if err != nil {
		return nil, err
	}
	return expr.Compile(e, mem)
}

// compile compiles one of the calc's expressions, reading the calc's
// watermark for CURRENT_WATERMARK.
func (c *calc) compile(raw json.RawMessage) (expr.Evaluator, error) {
	e, err := expr.Unmarshal(raw)
	if err != nil {
		return nil, err
	}
	return expr.CompileWithWatermark(e, c.mem, &c.wm)
}

func (c *calc) Open(ctx *OperatorContext) error {
	c.mem = ctx.Mem
	if len(c.spec.Condition) > 0 {
		ev, err := c.compile(c.spec.Condition)
		if err != nil {
			return fmt.Errorf("calc condition: %w", err)
		}
		c.cond = ev
	}
	c.projs = make([]expr.Evaluator, len(c.spec.Projections))
	for i, raw := range c.spec.Projections {
		ev, err := c.compile(raw)
		if err != nil {
			return fmt.Errorf("calc projection %d: %w", i, err)
		}
		c.projs[i] = ev
	}
	c.cols = make([]arrow.Array, c.schema.NumFields())
	return nil
}

func (c *calc) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	in := b
	if c.cond != nil {
		pred, err := c.cond.Eval(b)
		if err != nil {
			return err
		}
		filtered, err := expr.FilterBatch(b, pred, c.mem)
		pred.Release()
		if err != nil {
			return err
		}
		defer filtered.Release()
		if filtered.NumRows() == 0 {
			return nil
		}
		in = filtered
	}
	defer c.releaseCols()
	for i, p := range c.projs {
		col, err := p.Eval(in)
		if err != nil {
			return err
		}
		c.cols[i] = col
		if want := c.schema.Field(i).Type; !arrow.TypeEqual(col.DataType(), want) {
			return fmt.Errorf("calc projection %d produced %s, output schema wants %s", i, col.DataType(), want)
		}
	}
	if c.changelog {
		kind := in.Column(int(in.NumCols()) - 1)
		kind.Retain()
		c.cols[len(c.projs)] = kind
	}
	res := array.NewRecordBatch(c.schema, c.cols, in.NumRows())
	defer res.Release()
	return out.Emit(res)
}

func (c *calc) releaseCols() {
	for i, col := range c.cols {
		if col != nil {
			col.Release()
			c.cols[i] = nil
		}
	}
}

func (c *calc) ProcessWatermark(_ int, wm Watermark, out Output) error {
	c.wm.Set(int64(wm))
	return out.EmitWatermark(wm)
}

func (c *calc) EndInput(int, Output) error { return nil }
func (c *calc) Snapshot() ([]byte, error)  { return nil, nil }
func (c *calc) Restore([]byte) error       { return nil }
func (c *calc) Close() error               { c.releaseCols(); return nil }
