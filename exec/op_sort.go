package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/internal/errs"
)

// The sort operator (KindSort, spec SortSpec in specs.go) is ORDER BY in
// batch mode: it retains every batch of its bounded, insert-only input,
// and at end of input concatenates them, sorts a row index by the keys
// (stable: rows with equal keys keep their arrival order; NULLs first or
// last as each key says) and emits rows Offset.. up to Limit of them (-1:
// all) in batches of table.exec.batch-size rows. The comparator reads the
// key columns decoded once into typed slices, so a comparison is a typed
// compare per key, never a boxed value. It runs with parallelism 1.
//
// Snapshot: the retained batches as an Arrow IPC stream.

func init() { RegisterOperator(KindSort, newSort) }

type sortOp struct {
	spec      SortSpec
	ctx       *OperatorContext
	schema    *arrow.Schema
	batchSize int
	batches   []arrow.RecordBatch
}

func newSort(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	s := &sortOp{ctx: ctx, schema: spec.ArrowSchema()}
	if err := json.Unmarshal(spec.Spec, &s.spec); err != nil {
		return nil, errs.Wrap(errs.InvalidPlan, err, "sort spec")
	}
	if spec.Changelog {
		return nil, errs.New(errs.InvalidPlan, "sort: the input must be insert-only")
	}
	if s.spec.Offset < 0 || s.spec.Limit < -1 {
		return nil, errs.New(errs.InvalidPlan, "sort: invalid offset %d or limit %d", s.spec.Offset, s.spec.Limit)
	}
	for _, k := range s.spec.Keys {
		if k.Col < 0 || k.Col >= s.schema.NumFields() {
			return nil, errs.New(errs.InvalidPlan, "sort: key column %d out of range", k.Col)
		}
		if _, err := kindOf(s.schema.Field(k.Col).Type); err != nil {
			return nil, errs.New(errs.NotSupported, "ORDER BY a column of type %s is not supported yet", s.schema.Field(k.Col).Type)
		}
	}
	var err error
	if s.batchSize, err = BatchSize(ctx.Config); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sortOp) Open(ctx *OperatorContext) error {
	s.ctx = ctx
	return nil
}

func (s *sortOp) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	if int(b.NumCols()) != s.schema.NumFields() {
		return errs.Internalf("sort input has %d columns, want %d", b.NumCols(), s.schema.NumFields())
	}
	b.Retain()
	s.batches = append(s.batches, b)
	return nil
}

func (s *sortOp) ProcessWatermark(int, Watermark, Output) error {
	// Rows leave only at end of input: holding watermarks back keeps
	// downstream operators from treating the sorted rows as late. The
	// runtime sends MaxWatermark after EndInput.
	return nil
}

func (s *sortOp) EndInput(_ int, out Output) error {
	defer s.releaseBatches()
	all, err := s.concat()
	if err != nil || all == nil {
		return err
	}
	defer all.Release()
	n := int(all.NumRows())
	views := make([]colView, len(s.spec.Keys))
	for j, k := range s.spec.Keys {
		if err := views[j].load(all.Column(k.Col)); err != nil {
			return err
		}
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int {
		for j, k := range s.spec.Keys {
			if c := compareSortKey(k, &views[j], int(a), &views[j], int(b)); c != 0 {
				return c
			}
		}
		return 0
	})
	lo := int(min(s.spec.Offset, int64(n)))
	hi := n
	if s.spec.Limit >= 0 {
		hi = int(min(int64(lo)+s.spec.Limit, int64(n)))
	}
	for from := lo; from < hi; from += s.batchSize {
		part, err := takeRows(context.Background(), s.ctx.Mem, all, idx[from:min(from+s.batchSize, hi)])
		if err != nil {
			return fmt.Errorf("sort: %w", err)
		}
		err = out.Emit(part)
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil // the runtime sends MaxWatermark after EndInput
}

// concat builds one batch of every retained row (nil when there are none).
func (s *sortOp) concat() (arrow.RecordBatch, error) {
	var rows int64
	for _, b := range s.batches {
		rows += b.NumRows()
	}
	if rows == 0 {
		return nil, nil
	}
	if len(s.batches) == 1 {
		s.batches[0].Retain()
		return s.batches[0], nil
	}
	cols := make([]arrow.Array, s.schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(s.batches))
	for c := range cols {
		for i, b := range s.batches {
			parts[i] = b.Column(c)
		}
		a, err := array.Concatenate(parts, s.ctx.Mem)
		if err != nil {
			return nil, fmt.Errorf("sort: %w", err)
		}
		cols[c] = a
	}
	return array.NewRecordBatch(s.schema, cols, rows), nil
}

func (s *sortOp) releaseBatches() {
	for _, b := range s.batches {
		b.Release()
	}
	s.batches = nil
}

func (s *sortOp) Snapshot() ([]byte, error) {
	if len(s.batches) == 0 {
		return nil, nil
	}
	data, err := writeIPC(s.ctx.Mem, s.schema, s.batches)
	if err != nil {
		return nil, fmt.Errorf("sort snapshot: %w", err)
	}
	return data, nil
}

func (s *sortOp) Restore(state []byte) error {
	bs, err := readIPC(s.ctx.Mem, state)
	if err != nil {
		return fmt.Errorf("sort restore: %w", err)
	}
	s.batches = append(s.batches, bs...)
	return nil
}

func (s *sortOp) Close() error {
	s.releaseBatches()
	return nil
}
