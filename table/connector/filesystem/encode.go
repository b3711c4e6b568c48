package filesystem

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
	"github.com/eddysql/eddy/table/connector/format/parquet"
)

// fileEncoder turns the batches written to one part file into its bytes,
// as Flink's Encoder (row formats) and BulkWriter (bulk formats) do. Write
// and Close return the bytes they passed to the part file's writer, which
// the rolling policy counts. A row format (csv, json) writes each batch's
// rows at once and has nothing to complete, so a checkpoint barrier
// persists its file in progress instead of rolling it; a bulk format (parquet)
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

// changelogLines writes the rows of a part file as change events of a
// changelog format (package cdcjson, as kafka's sink writes them), one a
// line: +I and +U rows as inserts, -U and -D rows as deletes, so a reader
// of the files in the same format gets back the retractions it needs.
// Each Encode binds its batch anew and nothing but the line buffer
// outlives it, so one serves all of a writer's part files, as a row
// format's encoder does.
type changelogLines struct {
	enc *cdcjson.Encoder
	// cols is the number of columns the files hold: a batch with one
	// more, the trailing connector.RowKindColumn, is an updating stream's.
	cols int
	buf  []byte
}

// Encode writes b's rows as events of their kinds; a batch without the
// kind column (an insert-only input) is all inserts.
func (c *changelogLines) Encode(w io.Writer, b arrow.RecordBatch) (int, error) {
	var kinds *array.Int8
	if n := int(b.NumCols()); n > c.cols && b.Schema().Field(n-1).Name == connector.RowKindColumn {
		var ok bool
		if kinds, ok = b.Column(n - 1).(*array.Int8); !ok {
			return 0, fmt.Errorf("the row kind column is %s, not int8", b.Column(n-1).DataType())
		}
	}
	c.enc.BindKinds(kinds)
	return format.EncodeLines(w, c.enc, b, &c.buf)
}

// changelogEncoders writes change events of format f with columns s.
func changelogEncoders(f *cdcjson.Format, cfg cdcjson.Config, s types.Schema) func(io.Writer) (fileEncoder, error) {
	return lineEncoders(&changelogLines{enc: f.NewEncoder(cfg, s), cols: s.Len()})
}
