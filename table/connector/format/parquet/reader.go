package parquet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/eddysql/eddy/catalog/types"
)

// Reader reads the projected columns of one Parquet file as record
// batches of at most a batch size rows, with the table's Arrow types.
type Reader struct {
	name   string
	cols   []types.Column // the projected columns, in output order
	schema *arrow.Schema
	// src[i] is the field of the record reader's batches holding output
	// column i, or -1 when the file lacks the column (read as NULL).
	src   []int
	zones []*zoneShifter // INT96 TIMESTAMP columns to shift to wall clocks
	mem   memory.Allocator
	ctx   context.Context

	rr pqarrow.RecordReader // nil when no projected column is in the file
	// left counts the rows still to emit when there is no record reader.
	left      int64
	batchSize int64
}

// NewReader opens the Parquet file r (named name in errors) to read the
// columns proj of schema s, in that order, after skipping its first skip
// rows, batchSize rows at a time. Skipping starts at the row group that
// holds row skip, without decoding the row groups before it.
func NewReader(cfg Config, r parquet.ReaderAtSeeker, name string, s types.Schema, proj []int, batchSize int, skip int64, mem memory.Allocator) (*Reader, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, fmt.Errorf("parquet: %s: %w", name, err)
	}
	rd := &Reader{name: name, mem: mem, ctx: context.Background(), batchSize: int64(batchSize)}
	ok := false
	defer func() {
		if !ok {
			rd.Close()
		}
	}()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(batchSize), PreAllocBinaryData: true}, mem)
	if err != nil {
		return nil, fmt.Errorf("parquet: %s: %w", name, err)
	}
	fields := make([]arrow.Field, len(proj))
	byName := map[string]int{}
	for i, f := range fr.Manifest.Fields {
		byName[f.Field.Name] = i
	}
	var leaves []int
	for i, c := range proj {
		col := s.Columns[c]
		rd.cols = append(rd.cols, col)
		fields[i] = arrow.Field{Name: col.Name, Type: col.Type.Arrow(), Nullable: col.Type.Nullable()}
		fi, found := byName[col.Name]
		if !found {
			rd.src = append(rd.src, -1)
			continue
		}
		field := fr.Manifest.Fields[fi]
		// Check the type before reading anything, so that a file that
		// does not fit the table fails at once with a clear message.
		if err := fits(field.Field.Type, col.Type); err != nil {
			return nil, fmt.Errorf("parquet: %s: column '%s' of type %s cannot be read as %s: %w",
				name, col.Name, describe(field.Field.Type), col.Type, err)
		}
		rd.src = append(rd.src, i)
		leaves = appendLeaves(leaves, &field)
		if col.Type.Kind == types.Timestamp && !cfg.UTC && field.IsLeaf() &&
			pf.MetaData().Schema.Column(field.ColIndex).PhysicalType() == parquet.Types.Int96 && needsShift(time.Local) {
			if rd.zones == nil {
				rd.zones = make([]*zoneShifter, len(proj))
			}
			rd.zones[i] = newZoneShifter(time.Local)
		}
	}
	rd.schema = arrow.NewSchema(fields, nil)
	total := pf.NumRows()
	if skip > total {
		return nil, fmt.Errorf("parquet: %s has fewer than the %d rows read before the snapshot", name, skip)
	}
	if len(leaves) == 0 || skip == total {
		rd.left = total - skip
		ok = true
		return rd, nil
	}
	// The record reader's fields follow the order of the leaves, which
	// is that of the file; src maps the output columns to them.
	rr, err := fr.GetRecordReader(rd.ctx, leaves, nil)
	if err != nil {
		return nil, fmt.Errorf("parquet: %s: %w", name, err)
	}
	rd.rr = rr
	order := map[string]int{}
	for i, f := range rr.Schema().Fields() {
		order[f.Name] = i
	}
	for i, c := range rd.cols {
		if rd.src[i] >= 0 {
			rd.src[i] = order[c.Name]
		}
	}
	if skip > 0 {
		if err := rr.SeekToRow(skip); err != nil {
			return nil, fmt.Errorf("parquet: %s: %w", name, err)
		}
	}
	ok = true
	return rd, nil
}

// appendLeaves appends the leaf column indices of a field, in file order.
func appendLeaves(dst []int, f *pqarrow.SchemaField) []int {
	if f.IsLeaf() {
		return append(dst, f.ColIndex)
	}
	for i := range f.Children {
		dst = appendLeaves(dst, &f.Children[i])
	}
	return dst
}

// Next returns the next batch, which the caller releases, or io.EOF after
// the last.
func (r *Reader) Next() (arrow.RecordBatch, error) {
	var (
		rec arrow.RecordBatch
		n   int64
	)
	if r.rr == nil {
		if r.left == 0 {
			return nil, io.EOF
		}
		n = min(r.left, r.batchSize)
		r.left -= n
	} else {
		if !r.rr.Next() {
			if err := r.rr.Err(); err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("parquet: %s: %w", r.name, err)
			}
			return nil, io.EOF
		}
		rec = r.rr.RecordBatch()
		n = rec.NumRows()
	}
	cols := make([]arrow.Array, len(r.cols))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range r.cols {
		if r.src[i] < 0 {
			cols[i] = array.MakeArrayOfNull(r.mem, c.Type.Arrow(), int(n))
			continue
		}
		a := rec.Column(r.src[i])
		if r.zones != nil && r.zones[i] != nil {
			if ts, ok := a.(*array.Timestamp); ok {
				a = r.zones[i].shift(ts, false)
				defer a.Release()
			}
		}
		out, err := r.conform(a, c.Type)
		if err != nil {
			return nil, fmt.Errorf("parquet: %s: column '%s': %w", r.name, c.Name, err)
		}
		cols[i] = out
	}
	return array.NewRecordBatch(r.schema, cols, n), nil
}

// Close releases the file's readers; it does not close the file.
func (r *Reader) Close() {
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
}

// fits reports whether a column of Arrow type ft, as pqarrow reads it,
// can be read as t: the same kind of value, in any width or encoding.
func fits(ft arrow.DataType, t types.DataType) error {
	if d, ok := ft.(*arrow.DictionaryType); ok {
		ft = d.ValueType
	}
	mismatch := errors.New("the types do not match")
	id := ft.ID()
	switch t.Kind {
	case types.Boolean:
		if id != arrow.BOOL {
			return mismatch
		}
	case types.TinyInt, types.SmallInt, types.Int, types.BigInt:
		if !arrow.IsInteger(id) {
			return mismatch
		}
	case types.Float, types.Double:
		if !arrow.IsFloating(id) {
			return mismatch
		}
	case types.Decimal:
		if !arrow.IsDecimal(id) {
			return mismatch
		}
	case types.Char, types.Varchar, types.Variant:
		// Older writers (Impala, Hive) store strings as BINARY without the
		// UTF8 annotation; the cast checks that they are UTF-8.
		if id != arrow.STRING && id != arrow.LARGE_STRING && id != arrow.STRING_VIEW &&
			id != arrow.BINARY && id != arrow.LARGE_BINARY {
			return mismatch
		}
	case types.Binary, types.Varbinary:
		if id != arrow.BINARY && id != arrow.LARGE_BINARY && id != arrow.BINARY_VIEW &&
			id != arrow.STRING && id != arrow.LARGE_STRING {
			return mismatch
		}
	case types.Date:
		if id != arrow.DATE32 && id != arrow.DATE64 {
			return mismatch
		}
	case types.Time:
		if id != arrow.TIME32 && id != arrow.TIME64 {
			return mismatch
		}
	case types.Timestamp, types.TimestampLTZ:
		if id != arrow.TIMESTAMP {
			return mismatch
		}
	case types.Array, types.Multiset:
		l, ok := ft.(arrow.ListLikeType)
		if !ok || id == arrow.MAP {
			return mismatch
		}
		return fits(l.Elem(), *t.Elem)
	case types.Map:
		l, ok := ft.(arrow.ListLikeType)
		if !ok {
			return mismatch
		}
		st, ok := l.Elem().(*arrow.StructType)
		if !ok || st.NumFields() != 2 {
			return mismatch
		}
		if err := fits(st.Field(0).Type, *t.Key); err != nil {
			return err
		}
		return fits(st.Field(1).Type, *t.Value)
	case types.Row:
		st, ok := ft.(*arrow.StructType)
		if !ok {
			return mismatch
		}
		for _, f := range t.Fields {
			if i, found := st.FieldIdx(f.Name); found {
				if err := fits(st.Field(i).Type, f.Type); err != nil {
					return fmt.Errorf("field '%s': %w", f.Name, err)
				}
			}
		}
	default:
		return mismatch
	}
	return nil
}

// conform returns a as an array of t's Arrow type. Nested arrays are
// rebuilt around their conformed children, sharing their own buffers;
// other arrays are cast with arrow's cast kernels (safely, so an integer
// that does not fit fails, except that time values are truncated to the
// column's precision, as Flink reads them).
func (r *Reader) conform(a arrow.Array, t types.DataType) (arrow.Array, error) {
	want := t.Arrow()
	if arrow.TypeEqual(a.DataType(), want) {
		a.Retain()
		return a, nil
	}
	switch t.Kind {
	case types.Array, types.Multiset, types.Map, types.Row:
		d, err := r.conformNested(a.Data(), t)
		if err != nil {
			return nil, err
		}
		defer d.Release()
		return array.MakeFromData(d), nil
	}
	opts := compute.SafeCastOptions(want)
	switch t.Kind {
	case types.Time, types.Timestamp, types.TimestampLTZ:
		opts = compute.UnsafeCastOptions(want)
	}
	return compute.CastArray(r.ctx, a, opts)
}

func (r *Reader) conformNested(d arrow.ArrayData, t types.DataType) (arrow.ArrayData, error) {
	want := t.Arrow()
	if arrow.TypeEqual(d.DataType(), want) {
		d.Retain()
		return d, nil
	}
	var children []arrow.ArrayData
	defer func() {
		for _, c := range children {
			c.Release()
		}
	}()
	conformChild := func(c arrow.ArrayData, t types.DataType) error {
		a := array.MakeFromData(c)
		defer a.Release()
		var out arrow.Array
		var err error
		switch t.Kind {
		case types.Array, types.Multiset, types.Map, types.Row:
			var cd arrow.ArrayData
			if cd, err = r.conformNested(c, t); err == nil {
				out = array.MakeFromData(cd)
				cd.Release()
			}
		default:
			out, err = r.conform(a, t)
		}
		if err != nil {
			return err
		}
		cd := out.Data()
		cd.Retain()
		out.Release()
		children = append(children, cd)
		return nil
	}
	switch t.Kind {
	case types.Array, types.Multiset:
		if d.DataType().ID() != arrow.LIST {
			return nil, fmt.Errorf("cannot read %s as %s", describe(d.DataType()), t)
		}
		if err := conformChild(d.Children()[0], *t.Elem); err != nil {
			return nil, err
		}
	case types.Map:
		if id := d.DataType().ID(); id != arrow.LIST && id != arrow.MAP {
			return nil, fmt.Errorf("cannot read %s as %s", describe(d.DataType()), t)
		}
		entries := d.Children()[0]
		if err := conformChild(entries.Children()[0], *t.Key); err != nil {
			return nil, err
		}
		if err := conformChild(entries.Children()[1], *t.Value); err != nil {
			return nil, err
		}
		e := array.NewData(types.MapEntryType(*t.Key, *t.Value), entries.Len(), entries.Buffers(), children, entries.NullN(), entries.Offset())
		defer e.Release()
		return array.NewData(want, d.Len(), d.Buffers(), []arrow.ArrayData{e}, d.NullN(), d.Offset()), nil
	case types.Row:
		st := d.DataType().(*arrow.StructType)
		// The children of a struct span its offset too.
		n := d.Offset() + d.Len()
		for _, f := range t.Fields {
			i, found := st.FieldIdx(f.Name)
			if !found {
				null := array.MakeArrayOfNull(r.mem, f.Type.Arrow(), n)
				cd := null.Data()
				cd.Retain()
				null.Release()
				children = append(children, cd)
				continue
			}
			if err := conformChild(d.Children()[i], f.Type); err != nil {
				return nil, fmt.Errorf("field '%s': %w", f.Name, err)
			}
		}
	}
	return array.NewData(want, d.Len(), d.Buffers(), children, d.NullN(), d.Offset()), nil
}
