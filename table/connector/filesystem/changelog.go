package filesystem

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
)

// changelogDecoder reads a file of change events in one of the changelog
// JSON formats (package cdcjson), one event a line, into the reader's
// RecordBuilder and the kinds of its rows. An event makes any number of
// rows (none for one the include filters skip, two for an update, one per
// row image for canal), so its position in the file is the lines it has
// consumed, not the rows it has appended: a snapshot counts lines, and a
// restored reader skips that many lines without decoding them.
type changelogDecoder struct {
	dec     *cdcjson.Decoder
	kinds   *array.Int8Builder
	r       *bufio.Reader
	name    string
	format  string
	ignore  bool
	lines   int64 // lines consumed
	long    []byte
	skipped int64
}

func newChangelogDecoder(f *cdcjson.Format, cfg cdcjson.Config, r io.Reader, name string, s types.Schema, b *array.RecordBuilder, kinds *array.Int8Builder) (*changelogDecoder, error) {
	dec, err := f.NewDecoder(cfg, s, b, nil)
	if err != nil {
		return nil, err
	}
	return &changelogDecoder{dec: dec, kinds: kinds, r: bufio.NewReaderSize(r, 64<<10), name: name, format: f.Name, ignore: cfg.IgnoreParseErrors}, nil
}

// openChangelog starts reading file f, name, in a changelog format, past
// the lines of it read before the snapshot the reader was restored from.
func (r *reader) openChangelog(f *os.File, name string) error {
	var s types.Schema
	if r.fileProj == nil {
		// No projection pushed down: every column.
		s = r.fileSchema
	}
	for _, i := range r.fileProj {
		s.Columns = append(s.Columns, r.fileSchema.Columns[i])
	}
	d, err := newChangelogDecoder(r.cfg.changes, r.cfg.changesCfg, f, name, s, r.rb, r.kinds)
	if err == nil {
		var ok bool
		if ok, err = d.skipLines(r.skip[r.file]); err == nil && !ok {
			err = fmt.Errorf("%s has fewer than the %d lines read before the snapshot", name, r.skip[r.file])
		}
		if err != nil {
			err = fmt.Errorf("filesystem: restoring: %w", err)
		}
	}
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.dec, r.changes, r.rows = f, d, d, d.lines
	return nil
}

// Skipped is the number of malformed events skipped so far.
func (d *changelogDecoder) Skipped() int64 { return d.skipped }

// Decode appends the rows of events until it has at least max rows or
// the file ends, and returns how many; io.EOF (with 0) once the file is
// exhausted. Events are not split, so a batch may exceed max by the rows
// of its last event. A malformed event fails with the file and line
// unless ignore-parse-errors is set; the rows of a canal event before its
// malformed row image stay, as in Flink and the kafka source.
func (d *changelogDecoder) Decode(max int) (int, error) {
	n := 0
	for n < max {
		line, err := d.readLine()
		if err != nil {
			return n, fmt.Errorf("%s:%d: %w", d.name, d.lines, err)
		}
		if line == nil {
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		}
		k, err := d.dec.Decode(line, d.kinds)
		n += k
		if err != nil {
			if !d.ignore {
				return n, fmt.Errorf("%s:%d: cannot decode the event with format '%s': %w", d.name, d.lines, d.format, err)
			}
			d.skipped++
		}
	}
	return n, nil
}

// skipLines consumes the first n lines of the file, those a snapshot
// recorded as read; it reports whether the file has that many.
func (d *changelogDecoder) skipLines(n int64) (bool, error) {
	for d.lines < n {
		line, err := d.readLine()
		if err != nil || line == nil {
			return false, err
		}
	}
	return true, nil
}

// readLine returns the next line, nil at the end of the file; the slice
// is valid until the next call.
func (d *changelogDecoder) readLine() ([]byte, error) {
	line, err := format.ReadLine(d.r, &d.long)
	if line == nil || err != nil {
		return nil, err
	}
	d.lines++
	if t := bytes.TrimSpace(line); len(t) > 0 {
		return t, nil
	}
	// A blank line is empty, not nil (the end of the file), as TrimSpace
	// would make it.
	return line[:0], nil
}

// withKinds appends the kinds of data's rows (releasing data) as the
// trailing row kind column of out.
func withKinds(out *arrow.Schema, data arrow.RecordBatch, kinds *array.Int8Builder) arrow.RecordBatch {
	defer data.Release()
	k := kinds.NewArray()
	defer k.Release()
	cols := append(data.Columns()[:data.NumCols():data.NumCols()], k)
	return array.NewRecordBatch(out, cols, data.NumRows())
}
