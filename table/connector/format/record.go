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
// written. buf is the caller's line buffer, reused across calls.
func EncodeLines(w io.Writer, enc RecordEncoder, b arrow.RecordBatch, buf *[]byte) (int, error) {
	if err := enc.Bind(b); err != nil {
		return 0, err
	}
	total := 0
	for i := 0; i < int(b.NumRows()); i++ {
		line, err := enc.AppendRow((*buf)[:0], i)
		if err != nil {
			return total, err
		}
		*buf = append(line, '\n')
		n, err := w.Write(*buf)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
