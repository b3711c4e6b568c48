package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/eddysql/eddy/exec/connector"
)

// KindMaterialize turns a changelog into its final rows: it applies every
// +I/+U (add a row) and -U/-D (remove one equal row) and, at end of input,
// emits the rows that remain, insert-only. Batch mode puts it after
// updating operators, whose intermediate results a batch job must not show.
// Its input carries the row kind column; its spec is empty and its output
// schema is the input's columns.
const KindMaterialize = "materialize"

func init() { RegisterOperator(KindMaterialize, newMaterialize) }

// materialize keeps every added row in the batches it arrived in, with an
// alive flag, and finds a retracted row through a hash of its values.
type materialize struct {
	spec    OperatorSpec
	ctx     *OperatorContext
	batches []arrow.RecordBatch
	rows    []rowRef
	alive   []bool
	buckets map[uint64][]int32
	hashes  []uint64
	keys    []int
}

type rowRef struct {
	batch int32
	row   int32
}

func newMaterialize(spec OperatorSpec, _ *OperatorContext) (Operator, error) {
	keys := make([]int, spec.Schema.Len())
	for i := range keys {
		keys[i] = i
	}
	return &materialize{spec: spec, keys: keys, buckets: map[uint64][]int32{}}, nil
}

func (m *materialize) Open(ctx *OperatorContext) error {
	m.ctx = ctx
	return nil
}

func (m *materialize) ProcessBatch(_ int, b arrow.RecordBatch, _ Output) error {
	n := int(b.NumRows())
	if int(b.NumCols()) != len(m.keys)+1 {
		return fmt.Errorf("materialize: input has %d columns, want %d and the row kind", b.NumCols(), len(m.keys))
	}
	kinds, ok := b.Column(len(m.keys)).(*array.Int8)
	if !ok {
		return fmt.Errorf("materialize: the last input column is not the row kind")
	}
	if cap(m.hashes) < n {
		m.hashes = make([]uint64, n)
	}
	hashes := m.hashes[:n]
	if err := hashRows(b, m.keys, hashes); err != nil {
		return err
	}
	bi := int32(len(m.batches))
	kept := false
	for i := 0; i < n; i++ {
		h := hashes[i]
		if connector.RowKind(kinds.Value(i)).IsRetraction() {
			m.retract(b, i, h)
			continue
		}
		m.buckets[h] = append(m.buckets[h], int32(len(m.rows)))
		m.rows = append(m.rows, rowRef{batch: bi, row: int32(i)})
		m.alive = append(m.alive, true)
		kept = true
	}
	if kept {
		b.Retain()
		m.batches = append(m.batches, b)
	}
	return nil
}

// retract removes one alive row equal to row i of b, if there is one; a
// retraction of a row never added is ignored, as Flink's operators do.
func (m *materialize) retract(b arrow.RecordBatch, i int, h uint64) {
	bucket := m.buckets[h]
	for k, ri := range bucket {
		ref := m.rows[ri]
		if !m.alive[ri] || !m.rowEqual(m.batchOf(ref, b), int(ref.row), b, i) {
			continue
		}
		m.alive[ri] = false
		m.buckets[h] = append(bucket[:k], bucket[k+1:]...)
		return
	}
}

// batchOf returns the batch a row lives in: an earlier retained batch, or
// the current batch when the row arrived in it (not retained yet).
func (m *materialize) batchOf(ref rowRef, current arrow.RecordBatch) arrow.RecordBatch {
	if int(ref.batch) < len(m.batches) {
		return m.batches[ref.batch]
	}
	return current
}

func (m *materialize) rowEqual(a arrow.RecordBatch, i int, b arrow.RecordBatch, j int) bool {
	for _, c := range m.keys {
		if !array.SliceEqual(a.Column(c), int64(i), int64(i+1), b.Column(c), int64(j), int64(j+1)) {
			return false
		}
	}
	return true
}

func (m *materialize) ProcessWatermark(_ int, wm Watermark, out Output) error {
	return out.EmitWatermark(wm)
}

// EndInput emits the rows still alive, batch by batch, without the row
// kind column.
func (m *materialize) EndInput(_ int, out Output) error {
	schema := m.spec.ArrowSchema()
	idx := make([][]int32, len(m.batches))
	for ri, ref := range m.rows {
		if m.alive[ri] {
			idx[ref.batch] = append(idx[ref.batch], ref.row)
		}
	}
	for bi, rows := range idx {
		if len(rows) == 0 {
			continue
		}
		b := m.batches[bi]
		data := array.NewRecordBatch(schema, b.Columns()[:len(m.keys)], b.NumRows())
		taken, err := takeRows(context.Background(), m.ctx.Mem, data, rows)
		data.Release()
		if err != nil {
			return err
		}
		err = out.Emit(taken)
		taken.Release()
		if err != nil {
			return err
		}
	}
	m.release()
	return nil
}

func (m *materialize) release() {
	for _, b := range m.batches {
		b.Release()
	}
	m.batches, m.rows, m.alive = nil, nil, nil
	m.buckets = map[uint64][]int32{}
}

// Snapshot writes the alive rows as an Arrow IPC stream (with +I kinds);
// Restore feeds them back as if they had just arrived.
func (m *materialize) Snapshot() ([]byte, error) {
	var buf bytes.Buffer
	schema := BatchSchema(m.spec.Schema, true)
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(m.ctx.Mem))
	alive := make([][]int32, len(m.batches))
	for ri, ref := range m.rows {
		if m.alive[ri] {
			alive[ref.batch] = append(alive[ref.batch], ref.row)
		}
	}
	for bi, rows := range alive {
		if len(rows) == 0 {
			continue
		}
		taken, err := takeRows(context.Background(), m.ctx.Mem, m.batches[bi], rows)
		if err != nil {
			w.Close()
			return nil, err
		}
		err = w.Write(taken)
		taken.Release()
		if err != nil {
			w.Close()
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (m *materialize) Restore(state []byte) error {
	m.release()
	r, err := ipc.NewReader(bytes.NewReader(state), ipc.WithAllocator(m.ctx.Mem))
	if err != nil {
		return fmt.Errorf("materialize restore: %w", err)
	}
	defer r.Release()
	for {
		b, err := r.Read()
		if errors.Is(err, io.EOF) || b == nil {
			return r.Err()
		}
		if err != nil {
			return err
		}
		if err := m.ProcessBatch(0, b, nil); err != nil {
			return err
		}
	}
}

func (m *materialize) Close() error {
	m.release()
	return nil
}
