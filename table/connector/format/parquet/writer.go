package parquet

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/eddysql/eddy/catalog/types"
)

// Writer encodes the record batches of one Parquet file. Parquet is a bulk
// format: rows are buffered in the current row group and reach the
// underlying writer when the row group is full (parquet.block.size) or
// the file is closed, which writes the footer; a file is readable only
// once closed.
type Writer struct {
	schema     types.Schema
	fileSchema *arrow.Schema
	blockSize  int64
	convert    bool // a column holds a MAP, whose Arrow type changes
	// zones shift the TIMESTAMP columns written as INT96 from wall clocks
	// to local instants; nil entries and a nil slice shift nothing.
	zones []*zoneShifter
	fw    *pqarrow.FileWriter
	out   *countingWriter
	// reported is the part of out.n already returned by Write or Close;
	// the file's magic number is written before the first Write.
	reported int64
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// NewWriter starts a Parquet file of schema s on w.
func NewWriter(cfg Config, w io.Writer, s types.Schema, mem memory.Allocator) (*Writer, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	fields := make([]arrow.Field, len(s.Columns))
	pw := &Writer{schema: s, blockSize: cfg.BlockSize, out: &countingWriter{w: w}}
	for i, c := range s.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: fileType(c.Type), Nullable: c.Type.Nullable()}
		pw.convert = pw.convert || hasMap(c.Type)
		if c.Type.Kind == types.Timestamp && !cfg.UTC && !cfg.Int64 && needsShift(time.Local) {
			if pw.zones == nil {
				pw.zones = make([]*zoneShifter, len(s.Columns))
			}
			pw.zones[i] = newZoneShifter(time.Local)
		}
	}
	pw.fileSchema = arrow.NewSchema(fields, nil)
	props, aprops := writerProperties(cfg, mem)
	fw, err := pqarrow.NewFileWriter(pw.fileSchema, pw.out, props, aprops)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	pw.fw = fw
	return pw, nil
}

// Write adds the rows of b, whose columns are the schema's, to the current
// row group, and returns the bytes that reached the underlying writer.
func (w *Writer) Write(b arrow.RecordBatch) (int, error) {
	rec := b
	if w.convert || w.zones != nil {
		var err error
		if rec, err = w.toFile(b); err != nil {
			return 0, err
		}
		defer rec.Release()
	}
	if err := w.fw.WriteBuffered(rec); err != nil {
		return w.written(), fmt.Errorf("parquet: %w", err)
	}
	// pqarrow bounds row groups by rows only; parquet-mr's block size is
	// in bytes, so the row group is closed here once its pages reach it.
	if w.fw.RowGroupTotalCompressedBytes() >= w.blockSize {
		if err := w.fw.NewBufferedRowGroupChecked(); err != nil {
			return w.written(), fmt.Errorf("parquet: %w", err)
		}
	}
	return w.written(), nil
}

// written returns the bytes written since the last call.
func (w *Writer) written() int {
	n := w.out.n - w.reported
	w.reported = w.out.n
	return int(n)
}

// Close writes the last row group and the footer, and returns the bytes
// that reached the underlying writer; it does not close that writer.
func (w *Writer) Close() (int, error) {
	if err := w.fw.Close(); err != nil {
		return w.written(), fmt.Errorf("parquet: %w", err)
	}
	return w.written(), nil
}

// toFile returns b with the columns the file stores differently: MAPs as
// Arrow maps, local TIMESTAMPs as instants.
func (w *Writer) toFile(b arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, b.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range w.schema.Columns {
		a := b.Column(i)
		switch {
		case w.zones != nil && w.zones[i] != nil:
			cols[i] = w.zones[i].shift(a.(*array.Timestamp), true)
		case hasMap(c.Type):
			d, err := mapsToFile(a.Data(), c.Type)
			if err != nil {
				return nil, fmt.Errorf("parquet: column '%s': %w", c.Name, err)
			}
			cols[i] = array.MakeFromData(d)
			d.Release()
		default:
			a.Retain()
			cols[i] = a
		}
	}
	return array.NewRecordBatch(w.fileSchema, cols, b.NumRows()), nil
}

var errNullKey = errors.New("a MAP key is NULL, which Parquet does not allow")

// mapsToFile relabels the data of a column of type t with its file type:
// Eddy's MAP is laid out as Arrow's Map (offsets over a struct of key and
// value), so only the types change and no buffer is copied.
func mapsToFile(d arrow.ArrayData, t types.DataType) (arrow.ArrayData, error) {
	if !hasMap(t) {
		d.Retain()
		return d, nil
	}
	ft := fileType(t)
	var children []arrow.ArrayData
	defer func() {
		for _, c := range children {
			c.Release()
		}
	}()
	switch t.Kind {
	case types.Map:
		entries := d.Children()[0]
		k, err := mapsToFile(entries.Children()[0], *t.Key)
		if err != nil {
			return nil, err
		}
		children = append(children, k)
		if k.NullN() > 0 {
			return nil, errNullKey
		}
		v, err := mapsToFile(entries.Children()[1], *t.Value)
		if err != nil {
			return nil, err
		}
		children = append(children, v)
		st := ft.(*arrow.MapType).Elem()
		e := array.NewData(st, entries.Len(), entries.Buffers(), children, entries.NullN(), entries.Offset())
		defer e.Release()
		return array.NewData(ft, d.Len(), d.Buffers(), []arrow.ArrayData{e}, d.NullN(), d.Offset()), nil
	case types.Array, types.Multiset:
		c, err := mapsToFile(d.Children()[0], *t.Elem)
		if err != nil {
			return nil, err
		}
		children = append(children, c)
	case types.Row:
		for i, f := range t.Fields {
			c, err := mapsToFile(d.Children()[i], f.Type)
			if err != nil {
				return nil, err
			}
			children = append(children, c)
		}
	}
	return array.NewData(ft, d.Len(), d.Buffers(), children, d.NullN(), d.Offset()), nil
}
