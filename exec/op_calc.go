package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
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
	// shared computes the calls the condition and projections have in
	// common (expr.SharedCalls) once per batch: the first preFilter of
	// them, which the condition reads, before filtering (they are then
	// filtered with the batch), the rest after. Each is prepended to the
	// batch as it is computed, and the condition and projections are
	// rewritten to read them there (expr.ReplaceShared).
	shared    []expr.Evaluator
	preFilter int
	sharedSch sharedSchemas
	// read marks the columns of the batch being filtered that something
	// after the filter reads; the others are replaced by NULL-typed
	// placeholders rather than filtered (q21 drops its URL column after
	// the condition read it).
	read      []bool
	narrowSch narrowSchema
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
func (c *calc) compile(e expr.Expr) (expr.Evaluator, error) {
	return expr.CompileWithWatermark(e, c.mem, &c.wm)
}

func (c *calc) Open(ctx *OperatorContext) error {
	c.mem = ctx.Mem
	var cond expr.Expr
	if len(c.spec.Condition) > 0 {
		e, err := expr.Unmarshal(c.spec.Condition)
		if err != nil {
			return fmt.Errorf("calc condition: %w", err)
		}
		cond = e
	}
	projs := make([]expr.Expr, len(c.spec.Projections))
	for i, raw := range c.spec.Projections {
		e, err := expr.Unmarshal(raw)
		if err != nil {
			return fmt.Errorf("calc projection %d: %w", i, err)
		}
		projs[i] = e
	}
	shared, preFilter := expr.SharedCalls(cond, projs)
	c.preFilter = preFilter
	c.shared = make([]expr.Evaluator, len(shared))
	for k, e := range shared {
		ev, err := c.compile(expr.ReplaceShared(e, shared, k))
		if err != nil {
			return fmt.Errorf("calc common expression %s: %w", e, err)
		}
		c.shared[k] = ev
	}
	if cond != nil {
		ev, err := c.compile(expr.ReplaceShared(cond, shared, c.preFilter))
		if err != nil {
			return fmt.Errorf("calc condition: %w", err)
		}
		c.cond = ev
	}
	// What runs after the filter, each rewritten for a batch with step
	// shared calls prepended.
	type stepped struct {
		e    expr.Expr
		step int
	}
	var after []stepped
	for k := c.preFilter; k < len(shared); k++ {
		after = append(after, stepped{expr.ReplaceShared(shared[k], shared, k), k})
	}
	c.projs = make([]expr.Evaluator, len(projs))
	for i, e := range projs {
		rewritten := expr.ReplaceShared(e, shared, len(shared))
		after = append(after, stepped{rewritten, len(shared)})
		ev, err := c.compile(rewritten)
		if err != nil {
			return fmt.Errorf("calc projection %d: %w", i, err)
		}
		c.projs[i] = ev
	}
	c.read = nil
	if cond != nil {
		// Column j at step k is column j-(k-preFilter) of the filtered
		// batch, or one of the shared calls prepended after the filter.
		for _, a := range after {
			for _, j := range expr.InputColumns(a.e) {
				if j -= a.step - c.preFilter; j >= 0 {
					for len(c.read) <= j {
						c.read = append(c.read, false)
					}
					c.read[j] = true
				}
			}
		}
	}
	c.cols = make([]arrow.Array, c.schema.NumFields())
	return nil
}

// dropUnread replaces the columns of b nothing after the filter reads by
// NULL-typed placeholders, which filtering costs nothing. The row kind
// column of a changelog is kept. It returns b, retained, when every
// column is read.
func (c *calc) dropUnread(b arrow.RecordBatch) arrow.RecordBatch {
	n := int(b.NumCols())
	kept := func(i int) bool { return i < len(c.read) && c.read[i] || c.changelog && i == n-1 }
	drop := false
	for i := 0; i < n && !drop; i++ {
		drop = !kept(i)
	}
	if !drop {
		b.Retain()
		return b
	}
	cols := make([]arrow.Array, n)
	for i := range cols {
		if kept(i) {
			cols[i] = b.Column(i)
			cols[i].Retain()
		} else {
			cols[i] = array.NewNull(int(b.NumRows()))
		}
	}
	defer func() {
		for _, col := range cols {
			col.Release()
		}
	}()
	return array.NewRecordBatch(c.narrowSch.get(b.Schema(), kept), cols, b.NumRows())
}

// narrowSchema caches the schema of dropUnread's batches for the input
// schema it was built for.
type narrowSchema struct {
	in, out *arrow.Schema
}

func (s *narrowSchema) get(in *arrow.Schema, kept func(int) bool) *arrow.Schema {
	if s.in != in {
		fields := in.Fields()
		for i := range fields {
			if !kept(i) {
				fields[i] = arrow.Field{Name: fields[i].Name, Type: arrow.Null, Nullable: true}
			}
		}
		s.in, s.out = in, arrow.NewSchema(fields, nil)
	}
	return s.out
}

func (c *calc) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	in := b
	in.Retain()
	defer func() { in.Release() }()
	var err error
	if in, err = c.prependShared(in, 0, c.preFilter); err != nil {
		return err
	}
	if c.cond != nil {
		pred, err := c.cond.Eval(in)
		if err != nil {
			return err
		}
		narrow := c.dropUnread(in)
		filtered, err := expr.FilterBatch(narrow, pred, c.mem)
		narrow.Release()
		pred.Release()
		if err != nil {
			return err
		}
		in.Release()
		in = filtered
		if filtered.NumRows() == 0 {
			return nil
		}
	}
	if in, err = c.prependShared(in, c.preFilter, len(c.shared)); err != nil {
		return err
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
		// A plan whose changelog modes disagree must fail the task, not
		// panic in NewRecordBatch over a data column taken as row kinds.
		kind := in.Column(int(in.NumCols()) - 1)
		if kind.DataType().ID() != arrow.INT8 {
			return errs.Internalf("calc: the changelog input's last column is %s, not the int8 row kind", kind.DataType())
		}
		kind.Retain()
		c.cols[len(c.projs)] = kind
	}
	res := array.NewRecordBatch(c.schema, c.cols, in.NumRows())
	defer res.Release()
	return out.Emit(res)
}

// prependShared computes shared calls [from, to) over b, prepending each
// to the batch, and returns the new batch, releasing b. On error b is
// returned unreleased for the caller's deferred release.
func (c *calc) prependShared(b arrow.RecordBatch, from, to int) (arrow.RecordBatch, error) {
	for k := from; k < to; k++ {
		col, err := c.shared[k].Eval(b)
		if err != nil {
			return b, err
		}
		cols := make([]arrow.Array, 0, b.NumCols()+1)
		cols = append(append(cols, col), b.Columns()...)
		next := array.NewRecordBatch(c.sharedSch.get(k, col.DataType(), b.Schema()), cols, b.NumRows())
		col.Release()
		b.Release()
		b = next
	}
	return b, nil
}

// sharedSchemas caches the schemas of the batches with shared calls
// prepended, by step, for the input schema they were built for.
type sharedSchemas struct {
	in  []*arrow.Schema
	out []*arrow.Schema
}

func (s *sharedSchemas) get(k int, t arrow.DataType, in *arrow.Schema) *arrow.Schema {
	for len(s.in) <= k {
		s.in, s.out = append(s.in, nil), append(s.out, nil)
	}
	if s.in[k] != in {
		fields := append([]arrow.Field{{Name: fmt.Sprintf("$shared%d", k), Type: t, Nullable: true}}, in.Fields()...)
		s.in[k], s.out[k] = in, arrow.NewSchema(fields, nil)
	}
	return s.out[k]
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
