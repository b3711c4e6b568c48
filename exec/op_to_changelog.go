package exec

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// KindToChangelog runs Flink's TO_CHANGELOG process table function: it
// turns a changelog into an insert-only stream whose op column holds each
// row's change operation as an op code. Rows of a kind without a code are
// dropped (op_mapping leaves them out). With produces_full_deletes =>
// false a DELETE row has the NullOnDelete columns NULL, keeping only what
// identifies it. The operator is stateless; watermarks pass through.
const KindToChangelog = "to-changelog"

// ToChangelogSpec is the JSON spec of a TO_CHANGELOG operator.
type ToChangelogSpec struct {
	// Columns lists, per output column, the input column it passes
	// through, or -1 for the op column.
	Columns []int `json:"columns"`
	// Codes are the op codes by row kind (index: connector.RowKind); nil
	// drops the rows of that kind.
	Codes [4]*string `json:"codes"`
	// NullOnDelete are the output columns set to NULL on DELETE rows.
	NullOnDelete []int `json:"nullOnDelete,omitempty"`
	// InputChangelog is set when the input batches carry the row kind
	// column; otherwise every input row is an INSERT.
	InputChangelog bool `json:"inputChangelog,omitempty"`
}

func init() { RegisterOperator(KindToChangelog, newToChangelog) }

type toChangelogOp struct {
	spec   ToChangelogSpec
	schema *arrow.Schema
	mem    memory.Allocator
	// dropsKinds is set when some row kind has no op code.
	dropsKinds bool
	// code holds Codes as bytes, for appending.
	code  [4][]byte
	keep  *array.BooleanBuilder
	codes *array.StringBuilder
	cols  []arrow.Array
}

func newToChangelog(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	t := &toChangelogOp{schema: spec.ArrowSchema()}
	if err := json.Unmarshal(spec.Spec, &t.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "to_changelog spec")
	}
	if spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "to_changelog: the output is insert-only, not a changelog")
	}
	if len(t.spec.Columns) != spec.Schema.Len() {
		return nil, errs.New(errs.InvalidPlan, "to_changelog: %d columns for %d output columns", len(t.spec.Columns), spec.Schema.Len())
	}
	ops := 0
	for i, c := range t.spec.Columns {
		if c < 0 {
			ops++
			if t.schema.Field(i).Type.ID() != arrow.STRING {
				return nil, errs.New(errs.InvalidPlan, "to_changelog: the op column %d is %s, not a string", i, t.schema.Field(i).Type)
			}
		}
	}
	if ops != 1 {
		return nil, errs.New(errs.InvalidPlan, "to_changelog: %d op columns, want 1", ops)
	}
	for _, c := range t.spec.NullOnDelete {
		if c < 0 || c >= len(t.spec.Columns) || t.spec.Columns[c] < 0 {
			return nil, errs.New(errs.InvalidPlan, "to_changelog: column %d to null on delete is no input column", c)
		}
	}
	for k, code := range t.spec.Codes {
		t.dropsKinds = t.dropsKinds || code == nil
		if code != nil {
			t.code[k] = []byte(*code)
		}
	}
	t.mem = ctx.Mem
	return t, nil
}

func (t *toChangelogOp) Open(ctx *OperatorContext) error {
	t.mem = ctx.Mem
	t.keep = array.NewBooleanBuilder(t.mem)
	t.codes = array.NewStringBuilder(t.mem)
	t.cols = make([]arrow.Array, len(t.spec.Columns))
	return nil
}

func (t *toChangelogOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	nIn := int(b.NumCols())
	if t.spec.InputChangelog {
		nIn--
	}
	for _, c := range t.spec.Columns {
		if c >= nIn {
			return fmt.Errorf("to_changelog: input column %d of %d", c, nIn)
		}
	}
	if t.spec.InputChangelog {
		if err := checkKinds(b.Column(nIn)); err != nil {
			return fmt.Errorf("to_changelog: %w", err)
		}
	}
	in := b
	in.Retain()
	defer func() { in.Release() }()
	if t.spec.InputChangelog && t.dropsKinds {
		// Drop the rows whose kind op_mapping leaves out.
		kinds := b.Column(nIn).(*array.Int8).Int8Values()
		t.keep.Reserve(len(kinds))
		for _, k := range kinds {
			t.keep.UnsafeAppend(t.code[k] != nil)
		}
		pred := t.keep.NewBooleanArray()
		filtered, err := expr.FilterBatch(b, pred, t.mem)
		pred.Release()
		if err != nil {
			return fmt.Errorf("to_changelog: %w", err)
		}
		in.Release()
		in = filtered
	} else if !t.spec.InputChangelog && t.spec.Codes[connector.Insert] == nil {
		return nil
	}
	n := int(in.NumRows())
	if n == 0 {
		return nil
	}
	var kinds []int8
	if t.spec.InputChangelog {
		kinds = in.Column(nIn).(*array.Int8).Int8Values()
	}
	defer t.releaseCols()
	for i, c := range t.spec.Columns {
		if c < 0 {
			t.cols[i] = t.opCodes(kinds, n)
			continue
		}
		col := in.Column(c)
		col.Retain()
		t.cols[i] = col
	}
	if len(t.spec.NullOnDelete) > 0 && kinds != nil {
		for _, c := range t.spec.NullOnDelete {
			masked := nullWhere(t.mem, t.cols[c], kinds, int8(connector.Delete))
			t.cols[c].Release()
			t.cols[c] = masked
		}
	}
	res := array.NewRecordBatch(t.schema, t.cols, int64(n))
	defer res.Release()
	return out.Emit(res)
}

// opCodes builds the op column: the code of each row's kind (all INSERT
// when kinds is nil).
func (t *toChangelogOp) opCodes(kinds []int8, n int) arrow.Array {
	if kinds == nil {
		code := t.code[connector.Insert]
		t.codes.Reserve(n)
		t.codes.ReserveData(n * len(code))
		for range n {
			t.codes.UnsafeAppend(code)
		}
		return t.codes.NewArray()
	}
	size := 0
	for _, k := range kinds {
		size += len(t.code[k])
	}
	t.codes.Reserve(n)
	t.codes.ReserveData(size)
	for _, k := range kinds {
		t.codes.UnsafeAppend(t.code[k])
	}
	return t.codes.NewArray()
}

// checkKinds checks that a row kind column holds only Flink's four kinds,
// which the operators index tables with.
func checkKinds(col arrow.Array) error {
	kinds, ok := col.(*array.Int8)
	if !ok {
		return fmt.Errorf("row kind column is %s, not int8", col.DataType())
	}
	for _, k := range kinds.Int8Values() {
		if k < 0 || k > int8(connector.Delete) {
			return fmt.Errorf("invalid row kind %d", k)
		}
	}
	return nil
}

// nullWhere returns col with the rows whose kind is kind set to NULL. Only
// the validity bitmap changes: the values stay, hidden, in the original
// buffers the result shares.
func nullWhere(mem memory.Allocator, col arrow.Array, kinds []int8, kind int8) arrow.Array {
	d := col.Data()
	if d.DataType().ID() == arrow.NULL {
		col.Retain()
		return col
	}
	off, n := d.Offset(), d.Len()
	valid := memory.NewResizableBuffer(mem)
	valid.Resize(int(bitutil.BytesForBits(int64(off + n))))
	vb := valid.Bytes()
	if col.NullN() > 0 {
		bitutil.CopyBitmap(col.NullBitmapBytes(), off, n, vb, off)
	} else {
		bitutil.SetBitsTo(vb, int64(off), int64(n), true)
	}
	for i, k := range kinds {
		if k == kind {
			bitutil.ClearBit(vb, off+i)
		}
	}
	bufs := append([]*memory.Buffer{valid}, d.Buffers()[1:]...)
	var nd *array.Data
	if dict := d.Dictionary(); dict != nil {
		nd = array.NewDataWithDictionary(d.DataType(), n, bufs, array.UnknownNullCount, off, dict.(*array.Data))
	} else {
		nd = array.NewData(d.DataType(), n, bufs, d.Children(), array.UnknownNullCount, off)
	}
	valid.Release()
	defer nd.Release()
	return array.MakeFromData(nd)
}

func (t *toChangelogOp) releaseCols() {
	for i, c := range t.cols {
		if c != nil {
			c.Release()
			t.cols[i] = nil
		}
	}
}

func (t *toChangelogOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (t *toChangelogOp) EndInput(int, Output) error { return nil }
func (t *toChangelogOp) Snapshot() ([]byte, error)  { return nil, nil }
func (t *toChangelogOp) Restore([]byte) error       { return nil }

func (t *toChangelogOp) Close() error {
	t.releaseCols()
	if t.keep != nil {
		t.keep.Release()
		t.keep = nil
	}
	if t.codes != nil {
		t.codes.Release()
		t.codes = nil
	}
	return nil
}
