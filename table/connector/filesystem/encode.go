package filesystem

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table/connector/format/parquet"
)

// fileEncoder turns the batches written to one part file into its bytes,
// as Flink's Encoder (row formats) and BulkWriter (bulk formats) do. Write
// and Close return the bytes they passed to the part file's writer, which
// the rolling policy counts. A row format (csv, json) writes each batch's
// rows at once and has nothing to complete; a bulk format (parquet)
// buffers a row group and writes its footer at Close, when the part file
// rolls, so its files roll on every checkpoint, as Flink's
// OnCheckpointRollingPolicy, and by size once row groups reach the file.
type fileEncoder interface {
	Write(b arrow.RecordBatch) (int, error)
	Close() (int, error)
}

// encoder is what csv and json encoders have in common: they are
// stateless, one shared by a writer's part files.
type encoder interface {
	Encode(w io.Writer, b arrow.RecordBatch) (int, error)
}

// lineEncoder encodes the rows of a part file with a row format's encoder.
type lineEncoder struct {
	enc encoder
	w   io.Writer
}

func (e lineEncoder) Write(b arrow.RecordBatch) (int, error) { return e.enc.Encode(e.w, b) }
func (lineEncoder) Close() (int, error)                      { return 0, nil }

func lineEncoders(enc encoder) func(io.Writer) (fileEncoder, error) {
	return func(w io.Writer) (fileEncoder, error) { return lineEncoder{enc: enc, w: w}, nil }
}

// parquetEncoders starts a Parquet file of schema s per part file.
func parquetEncoders(c parquet.Config, s types.Schema) func(io.Writer) (fileEncoder, error) {
	return func(w io.Writer) (fileEncoder, error) {
		pw, err := parquet.NewWriter(c, w, s, nil)
		if err != nil {
			return nil, err
		}
		return pw, nil
	}
}
