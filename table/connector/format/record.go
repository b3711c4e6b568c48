package format

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow"
)

// RecordDecoder decodes message payloads, one record each (a Kafka
// record's key or value), into the Arrow builders it was created over.
// Decoding is two-step like Column's, Stage then Commit, so that a message
// whose key and value are decoded by two decoders appends a row to both or
// to neither.
type RecordDecoder interface {
	// Stage parses one payload (not retained).
	Stage(data []byte) error
	// StageNull stages a row of NULLs: the value columns of a tombstone.
	StageNull()
	// Commit appends the staged row.
	Commit()
}

// RecordEncoder encodes the rows of a batch as message payloads, one per
// row.
type RecordEncoder interface {
	// Bind prepares the encoder for the rows of b, whose columns are the
	// ones the encoder was created for; b is borrowed until the next Bind.
	Bind(b arrow.RecordBatch) error
	// AppendRow appends the payload of row i of the bound batch to dst.
	AppendRow(dst []byte, i int) ([]byte, error)
}

// EncodeLines writes the rows of b, encoded by enc, to w, one line each
// (the line-delimited file formats), and returns the number of bytes
// written. buf is the caller's line buffer, reused across calls: lines
// collect in it and reach w in writes of about linesChunk bytes, so that a
// batch costs a few writes rather than one per row.
func EncodeLines(w io.Writer, enc RecordEncoder, b arrow.RecordBatch, buf *[]byte) (int, error) {
	if err := enc.Bind(b); err != nil {
		return 0, err
	}
	total := 0
	lines := (*buf)[:0]
	defer func() { *buf = lines }()
	for i := 0; i < int(b.NumRows()); i++ {
		var err error
		if lines, err = enc.AppendRow(lines, i); err != nil {
			return total, err
		}
		lines = append(lines, '\n')
		if len(lines) >= linesChunk || i == int(b.NumRows())-1 {
			n, err := w.Write(lines)
			total += n
			if err != nil {
				return total, err
			}
			lines = lines[:0]
		}
	}
	return total, nil
}

// linesChunk is the size of EncodeLines' writes: large enough that a
// write's cost is small per row, small enough to stay in cache.
const linesChunk = 64 << 10
