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

// KindExpand emits every input row once per projection, as Flink's
// Expand (its split distinct aggregation's: each projection feeds one
// group of partial aggregate calls). Per batch it first appends the
// bucket columns (ExpandSpec.Buckets) to the input, then evaluates each
// projection over that batch and emits the result as its own batch, in
// projection order. So the rows of one projection reach the operators
// below before those of the next, as in Flink, which emits a row's
// projections one after another: a row's first projection can change a
// downstream aggregate's result before its second one does. On a
// changelog the input's trailing row kind column is appended unchanged to
// every projected batch. Stateless.
const KindExpand = "expand"

// ExpandSpec is the JSON spec of an expand operator. Expressions are
// expr.Marshal'ed and refer to the input columns followed by the bucket
// columns.
type ExpandSpec struct {
	Buckets     []ExpandBucket      `json:"buckets,omitempty"`
	Projections [][]json.RawMessage `json:"projections"`
}

// ExpandBucket is MOD(HASH_CODE(Col), Num): an INT32 in [0, Num) from the
// hash of column Col's value (equal values, NULLs included, share a
// bucket).
type ExpandBucket struct {
	Col int `json:"col"`
	Num int `json:"num"`
}

func init() { RegisterOperator(KindExpand, newExpand) }

type expand struct {
	spec      ExpandSpec
	schema    *arrow.Schema
	changelog bool
	nOut      int
	mem       memory.Allocator
	projs     [][]expr.Evaluator
	// hashes is scratch for the bucket columns, reused across batches.
	hashes []uint64
}

func newExpand(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	e := &expand{schema: spec.ArrowSchema(), changelog: spec.Changelog, nOut: spec.Schema.Len()}
	if err := json.Unmarshal(spec.Spec, &e.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "expand spec")
	}
	if len(e.spec.Projections) == 0 {
		return nil, errs.New(errs.InvalidPlan, "expand spec: no projections")
	}
	for i, p := range e.spec.Projections {
		if len(p) != e.nOut {
			return nil, errs.New(errs.InvalidPlan, "expand spec: projection %d has %d expressions for %d output columns", i, len(p), e.nOut)
		}
	}
	for _, b := range e.spec.Buckets {
		if b.Num <= 0 || b.Col < 0 {
			return nil, errs.New(errs.InvalidPlan, "expand spec: bucket of column %d into %d buckets", b.Col, b.Num)
		}
	}
	return e, nil
}

func (e *expand) Open(ctx *OperatorContext) error {
	e.mem = ctx.Mem
	e.projs = make([][]expr.Evaluator, len(e.spec.Projections))
	for i, p := range e.spec.Projections {
		e.projs[i] = make([]expr.Evaluator, len(p))
		for j, raw := range p {
			ev, err := compileExpr(raw, e.mem)
			if err != nil {
				return fmt.Errorf("expand projection %d column %d: %w", i, j, err)
			}
			e.projs[i][j] = ev
		}
	}
	return nil
}

// withBuckets returns b with the bucket columns appended after its data
// columns (before a changelog's row kind column, which projections do not
// read).
func (e *expand) withBuckets(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(e.spec.Buckets) == 0 {
		b.Retain()
		return b, nil
	}
	nData := int(b.NumCols())
	if e.changelog {
		nData--
	}
	rows := int(b.NumRows())
	e.hashes = resize(e.hashes, rows)
	cols := append([]arrow.Array(nil), b.Columns()[:nData]...)
	fields := append([]arrow.Field(nil), b.Schema().Fields()[:nData]...)
	var built []arrow.Array
	defer func() {
		for _, a := range built {
			a.Release()
		}
	}()
	for k, bk := range e.spec.Buckets {
		if bk.Col >= nData {
			return nil, errs.Internalf("expand: bucket column %d of a %d-column input", bk.Col, nData)
		}
		for i := range e.hashes {
			e.hashes[i] = hashSeed
		}
		if err := hashColumn(b.Column(bk.Col), e.hashes); err != nil {
			return nil, fmt.Errorf("expand bucket %d: %w", k, err)
		}
		bld := array.NewInt32Builder(e.mem)
		bld.Reserve(rows)
		for _, h := range e.hashes {
			bld.UnsafeAppend(int32(h % uint64(bk.Num)))
		}
		a := bld.NewArray()
		bld.Release()
		built = append(built, a)
		cols = append(cols, a)
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("$bucket%d", k), Type: arrow.PrimitiveTypes.Int32})
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(rows)), nil
}

func (e *expand) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if b.NumRows() == 0 {
		return nil
	}
	in, err := e.withBuckets(b)
	if err != nil {
		return err
	}
	defer in.Release()
	cols := make([]arrow.Array, e.schema.NumFields())
	for i, p := range e.projs {
		if err := e.project(i, p, in, b, cols, out); err != nil {
			return err
		}
	}
	return nil
}

// project evaluates projection i over in and emits it, with b's row kind
// column on a changelog.
func (e *expand) project(i int, p []expr.Evaluator, in, b arrow.RecordBatch, cols []arrow.Array, out Output) error {
	defer func() {
		for j, c := range cols {
			if c != nil {
				c.Release()
				cols[j] = nil
			}
		}
	}()
	for j, ev := range p {
		col, err := ev.Eval(in)
		if err != nil {
			return err
		}
		cols[j] = col
		if want := e.schema.Field(j).Type; !arrow.TypeEqual(col.DataType(), want) {
			return errs.Internalf("expand projection %d column %d produced %s, output schema wants %s", i, j, col.DataType(), want)
		}
	}
	if e.changelog {
		kind := b.Column(int(b.NumCols()) - 1)
		kind.Retain()
		cols[e.nOut] = kind
	}
	res := array.NewRecordBatch(e.schema, cols, b.NumRows())
	defer res.Release()
	return out.Emit(res)
}

func (e *expand) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (e *expand) EndInput(int, Output) error { return nil }
func (e *expand) Snapshot() ([]byte, error)  { return nil, nil }
func (e *expand) Restore([]byte) error       { return nil }
func (e *expand) Close() error               { return nil }
