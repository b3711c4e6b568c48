package exec

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
)

// The limit operator (KindLimit, spec LimitSpec in specs.go) is LIMIT
// without ORDER BY: it passes rows Offset..Offset+Limit-1 of its input in
// arrival order (slices of the input batches, no copy) and drops the
// rest. It runs with parallelism 1. Once it has passed its last row it
// ignores its input: the runtime has no signal to stop the operators
// before it early, so they run to the end of their input.
//
// Limit expects an insert-only input. When the planner gives it a
// changelog (OperatorSpec.Changelog), row kinds pass through and only +I
// rows are counted: +I rows inside the range pass, and -U/+U/-D rows pass
// while the range is not exhausted. That is an approximation (a
// retraction of a row that was not passed still passes); Flink plans such
// a LIMIT as a retracting Top-N. In batch mode the planner materializes
// such an input first and declares the limit insert-only: it reads and
// passes final rows.
//
// The input's shape is checked per batch (data columns, plus an int8 row
// kind column for a changelog), so a planner mismatch is an internal
// error, not a crash.
//
// Snapshot: the number of rows counted, as a uvarint.

func init() { RegisterOperator(KindLimit, newLimit) }

type limitOp struct {
	spec      LimitSpec
	ctx       *OperatorContext
	changelog bool
	nData     int
	seen      int64 // rows counted so far
	idx       []int32
}

func newLimit(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	l := &limitOp{ctx: ctx, changelog: spec.Changelog, nData: spec.Schema.Len()}
	if err := json.Unmarshal(spec.Spec, &l.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "limit spec")
	}
	if l.spec.Offset < 0 || l.spec.Limit < -1 {
		return nil, errs.New(errs.InvalidPlan, "limit: invalid offset %d or limit %d", l.spec.Offset, l.spec.Limit)
	}
	return l, nil
}

func (l *limitOp) Open(ctx *OperatorContext) error {
	l.ctx = ctx
	return nil
}

// end is the count after the last row to pass.
func (l *limitOp) end() int64 {
	if l.spec.Limit < 0 {
		return -1
	}
	return l.spec.Offset + l.spec.Limit
}

func (l *limitOp) done() bool { return l.end() >= 0 && l.seen >= l.end() }

func (l *limitOp) ProcessBatch(_ int, b arrow.RecordBatch, out Output) error {
	if l.done() {
		return nil
	}
	n := b.NumRows()
	if !l.changelog {
		if int(b.NumCols()) != l.nData {
			return errs.Internalf("limit: the input has %d columns, want %d", b.NumCols(), l.nData)
		}
		lo := max(l.spec.Offset-l.seen, 0)
		hi := n
		if end := l.end(); end >= 0 {
			hi = min(end-l.seen, n)
		}
		l.seen += n
		if lo >= hi {
			return nil
		}
		part := b
		if lo > 0 || hi < n {
			part = b.NewSlice(lo, hi)
			defer part.Release()
		}
		return out.Emit(part)
	}
	if int(b.NumCols()) != l.nData+1 {
		return errs.Internalf("limit: the changelog input has %d columns, want %d data columns and a row kind", b.NumCols(), l.nData)
	}
	kinds, ok := b.Column(l.nData).(*array.Int8)
	if !ok {
		return errs.Internalf("limit: the changelog input's last column is %s, not the int8 row kind", b.Column(l.nData).DataType())
	}
	l.idx = l.idx[:0]
	for i, k := range kinds.Int8Values() {
		if l.done() {
			break
		}
		if connector.RowKind(k) != connector.Insert {
			l.idx = append(l.idx, int32(i))
			continue
		}
		if l.seen >= l.spec.Offset {
			l.idx = append(l.idx, int32(i))
		}
		l.seen++
	}
	if len(l.idx) == 0 {
		return nil
	}
	part, err := takeRows(context.Background(), l.ctx.Mem, b, l.idx)
	if err != nil {
		return fmt.Errorf("limit: %w", err)
	}
	defer part.Release()
	return out.Emit(part)
}

func (l *limitOp) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

func (l *limitOp) EndInput(int, Output) error { return nil }

func (l *limitOp) Snapshot() ([]byte, error) {
	return binary.AppendUvarint(nil, uint64(l.seen)), nil
}

func (l *limitOp) Restore(state []byte) error {
	if len(state) == 0 {
		return nil
	}
	v, n := binary.Uvarint(state)
	if n <= 0 {
		return errs.Internalf("limit state is corrupt")
	}
	l.seen = int64(v)
	return nil
}

func (l *limitOp) Close() error { return nil }
