package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/internal/errs"
)

// heldBatches are the input batches a blocking operator (sort, batch
// over-aggregate) keeps until the end of its bounded input. Its snapshot
// is them as an Arrow IPC stream; what names the operator in errors.
type heldBatches struct {
	what    string
	schema  *arrow.Schema
	batches []arrow.RecordBatch
}

// hold retains b, which must have the schema's columns.
func (h *heldBatches) hold(b arrow.RecordBatch) error {
	if int(b.NumCols()) != h.schema.NumFields() {
		return errs.Internalf("%s input has %d columns, want %d", h.what, b.NumCols(), h.schema.NumFields())
	}
	b.Retain()
	h.batches = append(h.batches, b)
	return nil
}

// concat builds one batch of every held row, nil when there are none.
func (h *heldBatches) concat(mem memory.Allocator) (arrow.RecordBatch, error) {
	var rows int64
	for _, b := range h.batches {
		rows += b.NumRows()
	}
	if rows == 0 {
		return nil, nil
	}
	all, err := concatBatches(mem, h.schema, h.batches)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.what, err)
	}
	return all, nil
}

func (h *heldBatches) release() {
	for _, b := range h.batches {
		b.Release()
	}
	h.batches = nil
}

func (h *heldBatches) snapshot(mem memory.Allocator) ([]byte, error) {
	if len(h.batches) == 0 {
		return nil, nil
	}
	data, err := writeIPC(mem, h.schema, h.batches)
	if err != nil {
		return nil, fmt.Errorf("%s snapshot: %w", h.what, err)
	}
	return data, nil
}

func (h *heldBatches) restore(mem memory.Allocator, state []byte) error {
	bs, err := readIPC(mem, state)
	if err != nil {
		return fmt.Errorf("%s restore: %w", h.what, err)
	}
	h.batches = append(h.batches, bs...)
	return nil
}
