package exec

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/expr"
)

// The build side of the two-input joins that load one input into state
// and probe it with the other (KindLookupJoin, KindSnapshotJoin): both
// hold probe batches until the build side is loaded, keep the build rows
// as one indexed batch, and probe it with a hash of the join keys and Take
// over the candidate pairs. What differs between them — how build rows
// are replaced or retracted, when the load is complete — stays in their
// own files.

// rowBytes is the estimated size of one row of a batch of schema s
// (valueBytes of its column types), for StateBytes.
func rowBytes(s *arrow.Schema) int64 {
	var n int64
	for _, f := range s.Fields() {
		n += valueBytes([]arrow.DataType{f.Type})
	}
	return n
}

// parseInnerOrLeft reports whether typ, a build-side join's "inner" or
// "left", is a left join; op names the operator in the error.
func parseInnerOrLeft(op, typ string) (left bool, err error) {
	switch typ {
	case "inner":
		return false, nil
	case "left":
		return true, nil
	default:
		return false, fmt.Errorf("%s: join type %q is not inner or left", op, typ)
	}
}

// compileJoinCondition compiles a join's ON condition; nil when absent
// (equal keys match).
func compileJoinCondition(op string, cond json.RawMessage, mem memory.Allocator) (expr.Evaluator, error) {
	if len(cond) == 0 {
		return nil, nil
	}
	ev, err := compileExpr(cond, mem)
	if err != nil {
		return nil, fmt.Errorf("%s condition: %w", op, err)
	}
	return ev, nil
}

// indexBuildRows indexes the rows of table by the hash of its keys; rows
// with a NULL key are left out, as they never match.
func indexBuildRows(table arrow.RecordBatch, keys []int) (map[uint64][]int32, error) {
	index := map[uint64][]int32{}
	hashes := make([]uint64, int(table.NumRows()))
	if err := hashRows(table, keys, hashes); err != nil {
		return index, err
	}
	for r, h := range hashes {
		if !nullKey(table, keys, r) {
			index[h] = append(index[h], int32(r))
		}
	}
	return index, nil
}

// probeCandidates appends to pi and bj the candidate pairs (probe row of
// b, indexed build row) whose key hashes are equal, in probe row order;
// hashes is scratch space, returned resized. Probe rows with a NULL key
// have no candidates. The caller checks the keys' equality with the join
// condition.
func probeCandidates(b arrow.RecordBatch, keys []int, index map[uint64][]int32, hashes []uint64, pi, bj []int32) ([]uint64, []int32, []int32, error) {
	hashes = resizeHashes(hashes, int(b.NumRows()))
	if err := hashRows(b, keys, hashes); err != nil {
		return hashes, pi, bj, err
	}
	for i, h := range hashes {
		if nullKey(b, keys, i) {
			continue
		}
		for _, r := range index[h] {
			pi = append(pi, int32(i))
			bj = append(bj, r)
		}
	}
	return hashes, pi, bj, nil
}

// probeWaiting probes the waiting probe batches in arrival order (and
// releases them), then emits the probe watermark held back with them
// unless it is MinWatermark (none held).
func probeWaiting(pending []arrow.RecordBatch, heldWM Watermark, probe func(arrow.RecordBatch, Output) error, out Output) error {
	defer releaseBatches(pending)
	for _, b := range pending {
		if err := probe(b, out); err != nil {
			return err
		}
	}
	if heldWM != MinWatermark {
		return out.EmitWatermark(heldWM)
	}
	return nil
}

func releaseBatches(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

func nullKey(b arrow.RecordBatch, keys []int, r int) bool {
	for _, k := range keys {
		if b.Column(k).IsNull(r) {
			return true
		}
	}
	return false
}

func resizeHashes(h []uint64, n int) []uint64 {
	if cap(h) < n {
		return make([]uint64, n)
	}
	return h[:n]
}

// concatBatches appends batches of one schema into one batch.
func concatBatches(mem memory.Allocator, schema *arrow.Schema, bs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(bs) == 1 {
		bs[0].Retain()
		return bs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var n int64
	for _, b := range bs {
		n += b.NumRows()
	}
	parts := make([]arrow.Array, len(bs))
	for c := range cols {
		for i, b := range bs {
			parts[i] = b.Column(c)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("concatenating batches: %w", err)
		}
		cols[c] = col
	}
	return array.NewRecordBatch(schema, cols, n), nil
}

// writeIPC encodes batches of one schema as an Arrow IPC stream, the
// format operators keep batches in their snapshots.
func writeIPC(mem memory.Allocator, schema *arrow.Schema, bs []arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	for _, b := range bs {
		if err := w.Write(b); err != nil {
			return nil, fmt.Errorf("encoding batches: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encoding batches: %w", err)
	}
	return buf.Bytes(), nil
}

// readIPC decodes what writeIPC wrote (nothing for empty data).
func readIPC(mem memory.Allocator, data []byte) ([]arrow.RecordBatch, error) {
	if len(data) == 0 {
		return nil, nil
	}
	r, err := ipc.NewReader(bytes.NewReader(data), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("decoding batches: %w", err)
	}
	defer r.Release()
	var out []arrow.RecordBatch
	for r.Next() {
		b := r.RecordBatch()
		b.Retain()
		out = append(out, b)
	}
	if err := r.Err(); err != nil {
		releaseBatches(out)
		return nil, fmt.Errorf("decoding batches: %w", err)
	}
	return out, nil
}

// writeWaitingAndBuild encodes a build-side join's state as Arrow IPC
// streams: the waiting probe batches (nil when none) and the indexed build
// rows (nil when table is).
func writeWaitingAndBuild(mem memory.Allocator, pending []arrow.RecordBatch, schema *arrow.Schema, table arrow.RecordBatch) (pendingIPC, tableIPC []byte, err error) {
	if len(pending) > 0 {
		if pendingIPC, err = writeIPC(mem, pending[0].Schema(), pending); err != nil {
			return nil, nil, err
		}
	}
	if table != nil {
		if tableIPC, err = writeIPC(mem, schema, []arrow.RecordBatch{table}); err != nil {
			return nil, nil, err
		}
	}
	return pendingIPC, tableIPC, nil
}

// readWaitingAndBuild decodes what writeWaitingAndBuild encoded.
func readWaitingAndBuild(mem memory.Allocator, pendingIPC, tableIPC []byte) (pending, table []arrow.RecordBatch, err error) {
	if pending, err = readIPC(mem, pendingIPC); err != nil {
		return nil, nil, err
	}
	if table, err = readIPC(mem, tableIPC); err != nil {
		releaseBatches(pending)
		return nil, nil, err
	}
	return pending, table, nil
}

func releaseArrays(cs []arrow.Array) {
	for _, c := range cs {
		c.Release()
	}
}
