package cdcjson

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/json"
)

// Encoder writes the rows of an updating stream as change events, one per
// row: +I and +U rows as inserts, -U and -D rows as deletes, the row image
// written by the json format's encoder.
type Encoder struct {
	f     *Format
	row   *json.Encoder
	kinds *array.Int8
}

var _ format.RecordEncoder = (*Encoder)(nil)

// NewEncoder writes rows of schema s.
func (f *Format) NewEncoder(cfg Config, s types.Schema) *Encoder {
	return &Encoder{f: f, row: json.NewEncoder(cfg.JSON, s)}
}

// BindKinds sets the kinds of the rows of the batch bound next; nil (an
// insert-only stream) makes every row an insert.
func (e *Encoder) BindKinds(kinds *array.Int8) { e.kinds = kinds }

// Bind prepares the encoder for the rows of b (see format.RecordEncoder).
func (e *Encoder) Bind(b arrow.RecordBatch) error { return e.row.Bind(b) }

// AppendRow appends the event of row i of the bound batch.
func (e *Encoder) AppendRow(dst []byte, i int) ([]byte, error) {
	wrap := &e.f.insert
	if e.kinds != nil {
		if k := connector.RowKind(e.kinds.Value(i)); k == connector.UpdateBefore || k == connector.Delete {
			wrap = &e.f.delete
		}
	}
	dst = append(dst, wrap[0]...)
	dst, err := e.row.AppendRow(dst, i)
	if err != nil {
		return dst, err
	}
	return append(dst, wrap[1]...), nil
}
