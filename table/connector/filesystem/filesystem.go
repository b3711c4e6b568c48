package filesystem

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format/csv"
	"github.com/eddysql/eddy/table/connector/format/json"
)

// Identifier is the value of the 'connector' option.
const Identifier = "filesystem"

// Option keys.
const (
	Path            = "path"
	Format          = "format"
	RollingFileSize = "sink.rolling-policy.file-size"
)

// DefaultBatchSize is used when the ReaderContext does not set one.
const DefaultBatchSize = 8192

var options = func() []connector.Option {
	o := []connector.Option{
		{Key: Path, Type: connector.String, Required: true,
			Doc: "A file or a directory. A source reads every regular file under a directory, in name order, skipping names that start with '.' or '_'; a sink writes part files into the directory."},
		{Key: Format, Type: connector.Enum, Enum: []string{"csv", "json"}, Required: true,
			Doc: "Format of the files: csv or json (newline-delimited objects)."},
		{Key: RollingFileSize, Type: connector.MemorySize, Default: "128mb",
			Doc: "A sink starts a new part file once the current one reaches this size."},
	}
	o = append(o, csv.Options...)
	return append(o, json.Options...)
}()

// Factory is the filesystem source and sink.
type Factory struct{}

var (
	_ connector.SourceFactory              = Factory{}
	_ connector.SinkFactory                = Factory{}
	_ connector.SupportsProjectionPushdown = Factory{}
)

func init() { connector.Register(Factory{}) }

func (Factory) Identifier() string               { return Identifier }
func (Factory) Options() []connector.Option      { return options }
func (Factory) SupportsProjectionPushdown() bool { return true }

// config is the parsed options.
type config struct {
	path     string
	format   string
	csv      csv.Config
	json     json.Config
	rollSize int64
}

func parseConfig(t connector.TableInfo) (config, error) {
	o, err := connector.Parse(Factory{}, t)
	if err != nil {
		return config{}, err
	}
	c := config{path: o.String(Path), format: o.Enum(Format), rollSize: o.MemorySize(RollingFileSize)}
	// Options of the other format are a mistake worth reporting.
	for k := range t.Options {
		if p, _, ok := strings.Cut(k, "."); ok && (p == "csv" || p == "json") && p != c.format {
			return c, fmt.Errorf("option '%s' does not apply to format '%s'", k, c.format)
		}
	}
	switch c.format {
	case "csv":
		if c.csv, err = csv.ParseConfig(o); err != nil {
			return c, err
		}
		err = csv.CheckSchema(t.Schema)
	case "json":
		if c.json, err = json.ParseConfig(o); err != nil {
			return c, err
		}
		err = json.CheckSchema(t.Schema)
	}
	if err != nil {
		return c, fmt.Errorf("format '%s': %w", c.format, err)
	}
	if c.rollSize <= 0 {
		return c, fmt.Errorf("option '%s' must be positive", RollingFileSize)
	}
	return c, nil
}

// ValidateSource checks the options; a file source is always bounded.
func (Factory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	_, err := parseConfig(t)
	return connector.ScanProperties{Bounded: true}, err
}

// ValidateSink checks the options; the sink is append-only.
func (Factory) ValidateSink(t connector.TableInfo) (connector.SinkProperties, error) {
	_, err := parseConfig(t)
	return connector.SinkProperties{}, err
}

// ListFiles lists the files a source reads under path, in name order:
// path itself if it is a file, else every regular file below it whose name
// (and whose directories' names) do not start with '.' or '_'.
func ListFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == path {
			return nil
		}
		if hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// decoder is what csv and json decoders have in common.
type decoder interface {
	Decode(max int) (int, error)
	Skipped() int64
}

// CreateReader creates the reader of one subtask, which reads files
// Subtask, Subtask+Parallelism, ... of the listing.
func (Factory) CreateReader(spec connector.ScanSpec, rc connector.ReaderContext) (connector.SourceReader, error) {
	c, err := parseConfig(spec.Table)
	if err != nil {
		return nil, err
	}
	all, err := ListFiles(c.path)
	if err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	p := max(rc.Parallelism, 1)
	r := &reader{cfg: c, spec: spec, batchSize: rc.BatchSize}
	for i := rc.Subtask; i < len(all); i += p {
		r.files = append(r.files, all[i])
	}
	if r.batchSize <= 0 {
		r.batchSize = DefaultBatchSize
	}
	mem := rc.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	r.rb = array.NewRecordBuilder(mem, spec.OutputSchema().Arrow())
	return r, nil
}

// reader reads its files one after the other; its position is the index of
// the current file and the rows emitted from it.
type reader struct {
	cfg       config
	spec      connector.ScanSpec
	files     []string
	batchSize int
	rb        *array.RecordBuilder

	file    int // index of the current file in files
	f       *os.File
	dec     decoder
	rows    int64 // rows emitted from the current file
	skipped int64 // malformed records skipped in finished files
	closed  bool
}

// Skipped is the number of malformed records skipped so far (with
// ignore-parse-errors).
func (r *reader) Skipped() int64 {
	if r.dec != nil {
		return r.skipped + r.dec.Skipped()
	}
	return r.skipped
}

func (r *reader) open() error {
	name := r.files[r.file]
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("filesystem: %w", err)
	}
	var d decoder
	switch r.cfg.format {
	case "csv":
		d, err = csv.NewDecoder(r.cfg.csv, f, name, r.spec.Table.Schema, r.spec.Projection, r.rb)
	default:
		d, err = json.NewDecoder(r.cfg.json, f, name, r.spec.Table.Schema, r.spec.Projection, r.rb)
	}
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.dec, r.rows = f, d, 0
	return nil
}

func (r *reader) closeFile() {
	if r.f != nil {
		r.skipped += r.dec.Skipped()
		r.f.Close()
		r.f, r.dec = nil, nil
	}
}

func (r *reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.closed {
		return nil, errors.New("filesystem: Next after Close")
	}
	for r.file < len(r.files) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.dec == nil {
			if err := r.open(); err != nil {
				return nil, err
			}
		}
		n, err := r.dec.Decode(r.batchSize)
		if err != nil && !errors.Is(err, io.EOF) {
			r.discard()
			return nil, err
		}
		if n > 0 {
			r.rows += int64(n)
			return r.rb.NewRecordBatch(), nil
		}
		r.closeFile()
		r.file++
	}
	return nil, io.EOF
}

// discard drops rows half-decoded by a failed Decode.
func (r *reader) discard() {
	b := r.rb.NewRecordBatch()
	b.Release()
}

// Snapshot encodes (file index, rows emitted from it).
func (r *reader) Snapshot() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(r.file))
	return binary.AppendUvarint(b, uint64(r.rows)), nil
}

// Restore reopens the file of the snapshot and skips the rows already
// emitted from it; decoding is deterministic, so the same rows are skipped.
func (r *reader) Restore(state []byte) error {
	file, k := binary.Uvarint(state)
	if k <= 0 {
		return errors.New("filesystem: corrupt snapshot")
	}
	rows, k2 := binary.Uvarint(state[k:])
	if k2 <= 0 || file > uint64(len(r.files)) {
		return errors.New("filesystem: corrupt snapshot")
	}
	r.closeFile()
	r.file, r.skipped = int(file), 0
	if r.file == len(r.files) || rows == 0 {
		return nil
	}
	if err := r.open(); err != nil {
		return err
	}
	for left := int64(rows); left > 0; {
		n, err := r.dec.Decode(int(min(left, int64(r.batchSize))))
		r.discard()
		if err != nil {
			return fmt.Errorf("filesystem: restoring: %w", err)
		}
		left -= int64(n)
	}
	r.rows = int64(rows)
	return nil
}

func (r *reader) Close() error {
	if !r.closed {
		r.closed = true
		r.closeFile()
		r.rb.Release()
	}
	return nil
}

// encoder is what csv and json encoders have in common.
type encoder interface {
	Encode(w io.Writer, b arrow.RecordBatch) (int, error)
}

// CreateWriter creates the writer of one subtask. Part files are named
// part-<uuid>-<subtask>-<n>.<format>; while written they are hidden as
// .part-<uuid>-<subtask>-<n>.<format>.inprogress and renamed when they
// roll or the input ends, so readers never see a partial file.
func (Factory) CreateWriter(spec connector.SinkSpec, rc connector.ReaderContext) (connector.SinkWriter, error) {
	c, err := parseConfig(spec.Table)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.path, 0o755); err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	w := &writer{cfg: c, subtask: rc.Subtask, uuid: newUUID()}
	switch c.format {
	case "csv":
		w.enc = csv.NewEncoder(c.csv, spec.Table.Schema)
	default:
		w.enc = json.NewEncoder(c.json, spec.Table.Schema)
	}
	return w, nil
}

func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[:4], u[4:6], u[6:8], u[8:10], u[10:])
}

type writer struct {
	cfg     config
	subtask int
	uuid    string
	enc     encoder
	part    int
	f       *os.File
	bw      *bufio.Writer
	size    int64
	closed  bool
}

func (w *writer) names() (inProgress, final string) {
	name := fmt.Sprintf("part-%s-%d-%d.%s", w.uuid, w.subtask, w.part, w.cfg.format)
	return filepath.Join(w.cfg.path, "."+name+".inprogress"), filepath.Join(w.cfg.path, name)
}

func (w *writer) Write(b arrow.RecordBatch) error {
	if w.closed {
		return errors.New("filesystem: Write after Close")
	}
	if b.NumRows() == 0 {
		return nil
	}
	if w.f == nil {
		tmp, _ := w.names()
		f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("filesystem: %w", err)
		}
		w.f, w.size = f, 0
		if w.bw == nil {
			w.bw = bufio.NewWriterSize(f, 256<<10)
		} else {
			w.bw.Reset(f)
		}
	}
	n, err := w.enc.Encode(w.bw, b)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("filesystem: %w", err)
	}
	if w.size >= w.cfg.rollSize {
		return w.commit()
	}
	return nil
}

// commit makes the current part file visible under its final name.
func (w *writer) commit() error {
	if w.f == nil {
		return nil
	}
	tmp, final := w.names()
	err := w.bw.Flush()
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err != nil {
		return fmt.Errorf("filesystem: %w", err)
	}
	w.part++
	return nil
}

func (w *writer) Finish() error {
	if w.closed {
		return errors.New("filesystem: Finish after Close")
	}
	return w.commit()
}

// Close abandons an uncommitted part file: without Finish the job failed,
// and a restarted job writes its own files.
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f != nil {
		tmp, _ := w.names()
		w.f.Close()
		w.f = nil
		return os.Remove(tmp)
	}
	return nil
}
