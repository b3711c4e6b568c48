package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
)

// KindDropUpdateBefore is Flink's DropUpdateBefore
// (StreamPhysicalDropUpdateBefore, DropUpdateBeforeFunction): it removes
// the -U rows of a changelog and passes every other row unchanged. The
// optimizer puts it above a producer of updates that cannot leave its -U
// out itself (a retract source read without a normalization, a
// FROM_CHANGELOG, a lookup join, a LIMIT over updates) where every
// consumer takes +U alone, so that the changelog that flows is the one
// EXPLAIN CHANGELOG_MODE shows ([I,UA,D] rather than [I,UB,UA,D]).
//
// Contract: the input and the output are changelogs (OperatorSpec.Changelog
// is set) of the same schema, the row kind column last; the spec is empty.
// A batch without -U rows is emitted as it came (the same batch, so a
// split-aware watermark assigner after it still sees its source's rows
// one to one); a batch of -U rows only emits nothing; any other batch is
// filtered a batch at a time (expr.FilterBatch over a predicate built from
// the row kind column) into a new batch the operator releases after Emit.
// Watermarks pass unchanged; the runtime passes idleness on. The operator
// keeps no state: Snapshot returns nil.
const KindDropUpdateBefore = "drop-update-before"

func init() { RegisterOperator(KindDropUpdateBefore, newDropUpdateBefore) }

type dropUpdateBefore struct {
	mem memory.Allocator
	// keep is the predicate's bitmap, reused across batches.
	keep *memory.Buffer
}

func newDropUpdateBefore(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	if !spec.Changelog {
		return nil, errs.Internalf("drop-update-before needs a changelog input, the plan gives it an insert-only one")
	}
	return &dropUpdateBefore{}, nil
}

func (d *dropUpdateBefore) Open(ctx *OperatorContext) error {
	d.mem = ctx.Mem
	d.keep = memory.NewResizableBuffer(ctx.Mem)
	return nil
}

func (d *dropUpdateBefore) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	n := int(b.NumRows())
	if n == 0 || b.NumCols() == 0 {
		return nil
	}
	col := b.Column(int(b.NumCols()) - 1)
	kinds, ok := col.(*array.Int8)
	if !ok || kinds.NullN() > 0 {
		return errs.Internalf("drop-update-before: the last column is %s with %d NULLs, not a row kind column", col.DataType(), col.NullN())
	}
	ub := int8(connector.UpdateBefore)
	vals := kinds.Int8Values()
	dropped := 0
	for _, k := range vals {
		if k == ub {
			dropped++
		}
	}
	switch dropped {
	case 0:
		return out.Emit(b)
	case n:
		return nil
	}
	d.keep.ResizeNoShrink(int(bitutil.BytesForBits(int64(n))))
	bits := d.keep.Bytes()
	clear(bits)
	for i, k := range vals {
		if k != ub {
			bitutil.SetBit(bits, i)
		}
	}
	pred := array.NewBoolean(n, d.keep, nil, 0)
	defer pred.Release()
	kept, err := expr.FilterBatch(b, pred, d.mem)
	if err != nil {
		return err
	}
	defer kept.Release()
	return out.Emit(kept)
}

func (d *dropUpdateBefore) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (d *dropUpdateBefore) EndInput(int, Output) error { return nil }

func (d *dropUpdateBefore) Snapshot() ([]byte, error) { return nil, nil }

func (d *dropUpdateBefore) Restore(state []byte) error {
	if len(state) > 0 {
		return errs.Internalf("drop-update-before keeps no state, got %d bytes to restore", len(state))
	}
	return nil
}

func (d *dropUpdateBefore) Close() error {
	if d.keep != nil {
		d.keep.Release()
		d.keep = nil
	}
	return nil
}
