package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

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
	held      heldBatches
}

func newSort(spec OperatorSpec, ctx *OperatorContext) (Operator, error) {
	s := &sortOp{ctx: ctx, schema: spec.ArrowSchema()}
	s.held = heldBatches{what: "sort", schema: s.schema}
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
	return s.held.hold(b)
}

func (s *sortOp) ProcessWatermark(int, Watermark, Output) error {
	// Rows leave only at end of input: holding watermarks back keeps
	// downstream operators from treating the sorted rows as late. The
	// runtime sends MaxWatermark after EndInput.
	return nil
}

func (s *sortOp) EndInput(_ int, out Output) error {
	defer s.held.release()
	all, err := s.held.concat(s.ctx.Mem)
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

func (s *sortOp) Snapshot() ([]byte, error) { return s.held.snapshot(s.ctx.Mem) }

func (s *sortOp) Restore(state []byte) error { return s.held.restore(s.ctx.Mem, state) }

func (s *sortOp) Close() error {
	s.held.release()
	return nil
}
