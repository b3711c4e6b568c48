package filesystem

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/scalar"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
	"github.com/eddysql/eddy/table/connector/format/csv"
	"github.com/eddysql/eddy/table/connector/format/json"
	"github.com/eddysql/eddy/table/connector/format/parquet"
)

// Identifier is the value of the 'connector' option.
const Identifier = "filesystem"

// Option keys.
const (
	Path            = "path"
	Format          = "format"
	RollingFileSize = "sink.rolling-policy.file-size"
	// RolloverInterval, InactivityInterval and CheckInterval are Flink's
	// time-based rolling of the sink's part files.
	RolloverInterval   = "sink.rolling-policy.rollover-interval"
	InactivityInterval = "sink.rolling-policy.inactivity-interval"
	CheckInterval      = "sink.rolling-policy.check-interval"
)

// DefaultBatchSize is used when the ReaderContext does not set one.
const DefaultBatchSize = 8192

var options = func() []connector.Option {
	o := []connector.Option{
		{Key: Path, Type: connector.String, Required: true,
			Doc: "A file or a directory. A source reads every regular file under a directory, in name order, skipping names that start with '.' or '_'; a sink writes part files into the directory."},
		{Key: Format, Type: connector.Enum, Enum: append([]string{"csv", "json", "parquet"}, cdcjson.Names()...), Required: true,
			Doc: "Format of the files: csv, json (newline-delimited objects), parquet, or a changelog format, one change event a line: debezium-json, canal-json, maxwell-json or ogg-json (a sink in a changelog format accepts updates and deletes)."},
		{Key: RollingFileSize, Type: connector.MemorySize, Default: "128mb",
			Doc: "A sink starts a new part file once the current one reaches this size."},
		{Key: RolloverInterval, Type: connector.Duration, Default: "30 min",
			Doc: "A sink rolls a part file open for longer than this (checked every sink.rolling-policy.check-interval)."},
		{Key: InactivityInterval, Type: connector.Duration, Default: "30 min",
			Doc: "A sink rolls a part file not written to for this long (checked every sink.rolling-policy.check-interval)."},
		{Key: CheckInterval, Type: connector.Duration, Default: "1 min",
			Doc: "How often a sink checks its part files against the rollover and inactivity intervals."},
		{Key: PartitionDefaultName, Type: connector.String, Default: "__DEFAULT_PARTITION__",
			Doc: "The directory value of a partition column that is NULL or blank."},
	}
	o = append(o, ignoredOptions...)
	o = append(o, commitOptions...)
	o = append(o, csv.Options...)
	o = append(o, parquet.Options...)
	o = append(o, cdcjson.AllOptions()...)
	return append(o, json.Options...)
}()

// Factory is the filesystem source and sink.
type Factory struct{}

var (
	_ connector.SourceFactory              = Factory{}
	_ connector.SinkFactory                = Factory{}
	_ connector.SupportsProjectionPushdown = Factory{}
	_ connector.SupportsRescaling          = Factory{}
	_ connector.RescaledStateChecker       = Factory{}
)

func init() { connector.Register(Factory{}) }

func (Factory) Identifier() string               { return Identifier }
func (Factory) Options() []connector.Option      { return options }
func (Factory) SupportsProjectionPushdown() bool { return true }

// config is the parsed options.
type config struct {
	path    string
	format  string
	csv     csv.Config
	json    json.Config
	parquet parquet.Config
	// changes is the changelog format the source reads, nil for the
	// others; changesCfg its options.
	changes    *cdcjson.Format
	changesCfg cdcjson.Config
	rollSize   int64
	// rollover, inactivity and check are the time-based rolling policy.
	rollover, inactivity, check time.Duration
	parts                       partitioning
	// schema is the table's; commit its partition-commit options.
	schema types.Schema
	commit commitConfig
}

// bulk reports whether the format is a bulk format (parquet), whose part
// file is complete only once closed, so it rolls at every checkpoint
// barrier; a row format's file is complete after every row, and is
// persisted at a barrier instead.
func (c config) bulk() bool { return c.format == "parquet" }

func parseConfig(t connector.TableInfo) (config, error) {
	o, err := connector.Parse(Factory{}, t)
	if err != nil {
		return config{}, err
	}
	c := config{path: o.String(Path), format: o.Enum(Format), rollSize: o.MemorySize(RollingFileSize),
		rollover: o.Duration(RolloverInterval), inactivity: o.Duration(InactivityInterval), check: o.Duration(CheckInterval)}
	if err := checkMetadata(t.Metadata); err != nil {
		return c, err
	}
	// Options of the other format are a mistake worth reporting.
	for k := range t.Options {
		if p, _, ok := strings.Cut(k, "."); ok && (p == "csv" || p == "json" || p == "parquet" || cdcjson.Lookup(p) != nil) && p != c.format {
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
	case "parquet":
		if c.parquet, err = parquet.ParseConfig(o); err != nil {
			return c, err
		}
		err = parquet.CheckSchema(t.Schema)
	default:
		c.changes = cdcjson.Lookup(c.format)
		if c.changesCfg, err = c.changes.ParseConfig(o); err != nil {
			return c, err
		}
		err = cdcjson.CheckSchema(t.Schema)
	}
	if err != nil {
		return c, fmt.Errorf("format '%s': %w", c.format, err)
	}
	if c.rollSize <= 0 {
		return c, fmt.Errorf("option '%s' must be positive", RollingFileSize)
	}
	for _, k := range []string{RolloverInterval, InactivityInterval, CheckInterval} {
		if o.Duration(k) <= 0 {
			return c, fmt.Errorf("option '%s' must be positive", k)
		}
	}
	c.schema = t.Schema
	if c.parts, err = newPartitioning(t, o.String(PartitionDefaultName)); err != nil {
		return c, err
	}
	c.commit, err = parseCommitConfig(o, c.parts)
	return c, err
}

// ValidateSource checks the options; a file source is always bounded. In
// a changelog format it is a retract changelog, as a kafka source of that
// format: the events' inserts, updates (-U/+U pairs) and deletes.
func (Factory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	c, err := parseConfig(t)
	p := connector.ScanProperties{Bounded: true}
	if c.changes != nil {
		p.Changelog = connector.RetractChangelog
	}
	return p, err
}

// ValidateSink checks the options. The sink accepts its format's
// changelog mode, as Flink's FileSystemTableSink: csv, json and parquet
// are append-only; a changelog format takes every row kind, each update
// as a -U/+U pair (written as a delete and an insert event), as the kafka
// sink of that format.
func (Factory) ValidateSink(t connector.TableInfo) (connector.SinkProperties, error) {
	c, err := parseConfig(t)
	if err == nil {
		err = c.checkSink()
	}
	if err != nil {
		return connector.SinkProperties{}, err
	}
	// INSERT OVERWRITE replaces the table, or the partitions it writes,
	// when a batch job ends (CommitJob); Flink refuses it in streaming.
	p := connector.SinkProperties{SupportsOverwrite: true, OverwriteInBatchOnly: true}
	if c.changes != nil {
		p.AcceptsUpdates, p.RequiresUpdateBefore = true, true
	}
	return p, nil
}

// checkSink reports options of a changelog format that apply to reading
// only.
func (c config) checkSink() error {
	if c.changes != nil {
		if err := c.changes.CheckEncoding(c.changesCfg); err != nil {
			return fmt.Errorf("format '%s': %w", c.format, err)
		}
	}
	return nil
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
	mem := rc.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	r := &reader{cfg: c, spec: spec, batchSize: rc.BatchSize, mem: mem, out: spec.OutputSchema().Arrow()}
	// The metadata columns end the output; the decoders fill the others.
	data := arrow.NewSchema(r.out.Fields()[:r.out.NumFields()-len(spec.Table.Metadata)], nil)
	if c.changes != nil {
		// The decoded columns, then the kinds of the rows.
		r.kinds = array.NewInt8Builder(mem)
		r.out = arrow.NewSchema(append(r.out.Fields(), arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8}), nil)
	}
	r.sub, r.par = rc.Subtask, p
	for i := rc.Subtask; i < len(all); i += p {
		r.files = append(r.files, all[i])
	}
	r.skip = make([]int64, len(r.files))
	if r.batchSize <= 0 {
		r.batchSize = DefaultBatchSize
	}
	if !c.parts.partitioned() {
		r.fileSchema, r.fileProj = spec.Table.Schema, spec.Projection
		r.rb = array.NewRecordBuilder(mem, data)
		return r, nil
	}
	// The files hold the data columns; the partition columns come from
	// the directories.
	proj := spec.Projection
	if proj == nil {
		for i := range spec.Table.Schema.Columns {
			proj = append(proj, i)
		}
	}
	var decoded types.Schema
	// Not nil, which would mean every column, when only partition
	// columns are read.
	r.fileProj = make([]int, 0, len(proj))
	for _, tc := range proj {
		if i := slices.Index(c.parts.data, tc); i >= 0 {
			r.outputs = append(r.outputs, len(r.fileProj))
			r.fileProj = append(r.fileProj, i)
			decoded.Columns = append(decoded.Columns, spec.Table.Schema.Columns[tc])
		} else {
			r.outputs = append(r.outputs, -1-tc)
		}
	}
	r.fileSchema = c.parts.dataSchema
	r.rb = array.NewRecordBuilder(mem, decoded.Arrow())
	return r, nil
}

// reader reads its files one after the other; its position is the index of
// the current file and the rows emitted from it (in a changelog format,
// the lines read of it). skip[i] is that position in files[i] at the
// snapshot it was restored from.
type reader struct {
	cfg       config
	spec      connector.ScanSpec
	sub, par  int
	files     []string
	skip      []int64
	batchSize int
	mem       memory.Allocator
	out       *arrow.Schema
	// The decoder reads fileProj of fileSchema's columns into rb. For a
	// partitioned table, fileSchema is the data columns, and outputs maps
	// each output column to a column of rb (>= 0) or to partition column
	// c (-1-c), whose value partValues holds for the current file.
	fileSchema types.Schema
	fileProj   []int
	rb         *array.RecordBuilder
	// kinds holds the row kinds of a changelog format's rows, the last
	// column of out.
	kinds      *array.Int8Builder
	outputs    []int
	partValues map[int]*string
	// metaValues are the values of the table's metadata columns for the
	// current file, repeated in each of its batches.
	metaValues []scalar.Scalar

	file    int // index of the current file in files
	f       *os.File
	dec     decoder
	changes *changelogDecoder // dec, in a changelog format
	pq      *parquet.Reader   // reads the current file instead of dec in format parquet
	rows    int64             // rows read from the current file; lines in a changelog format
	skipped int64             // malformed records skipped in finished files
	// pending holds the snapshots Restore was given until the next Next
	// or Snapshot applies them (resolve): a reader restored at another
	// parallelism needs those of all the old readers. err is the failure
	// to apply them, which every later call returns.
	pending []*snapshot
	err     error
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
	if md := r.spec.Table.Metadata; len(md) > 0 {
		if r.metaValues, err = fileMetadata(md, f, name); err != nil {
			f.Close()
			return err
		}
	}
	if r.cfg.parts.partitioned() {
		rel, err := filepath.Rel(r.cfg.path, name)
		if err != nil {
			f.Close()
			return fmt.Errorf("filesystem: %w", err)
		}
		r.partValues = r.cfg.parts.values(r.spec.Table.Schema, rel)
	}
	if r.cfg.format == "parquet" {
		return r.openParquet(f, name)
	}
	if r.cfg.changes != nil {
		return r.openChangelog(f, name)
	}
	var d decoder
	switch r.cfg.format {
	case "csv":
		d, err = csv.NewDecoder(r.cfg.csv, f, name, r.fileSchema, r.fileProj, r.rb)
	default:
		d, err = json.NewDecoder(r.cfg.json, f, name, r.fileSchema, r.fileProj, r.rb)
	}
	if err != nil {
		f.Close()
		return err
	}
	r.f, r.dec, r.rows = f, d, 0
	// A restored file skips the rows emitted before the snapshot; decoding
	// is deterministic, so the same rows are skipped.
	for left := r.skip[r.file]; left > 0; {
		n, err := r.dec.Decode(int(min(left, int64(r.batchSize))))
		r.discard()
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("filesystem: restoring: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("filesystem: restoring: %s has fewer than the %d rows read before the snapshot", name, r.skip[r.file])
		}
		left -= int64(n)
		r.rows += int64(n)
	}
	return nil
}

func (r *reader) closeFile() {
	if r.f != nil {
		if r.dec != nil {
			r.skipped += r.dec.Skipped()
		}
		if r.pq != nil {
			r.pq.Close()
		}
		r.f.Close()
		r.f, r.dec, r.changes, r.pq = nil, nil, nil, nil
	}
}

func (r *reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.closed {
		return nil, errors.New("filesystem: Next after Close")
	}
	if err := r.resolve(); err != nil {
		return nil, err
	}
	for r.file < len(r.files) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.f == nil {
			if err := r.open(); err != nil {
				return nil, err
			}
		}
		if r.pq != nil {
			b, err := r.pq.Next()
			if errors.Is(err, io.EOF) {
				r.closeFile()
				r.file++
				continue
			}
			if err != nil {
				return nil, err
			}
			r.rows += b.NumRows()
			if !r.cfg.parts.partitioned() && len(r.metaValues) == 0 {
				return b, nil
			}
			return r.complete(b)
		}
		n, err := r.dec.Decode(r.batchSize)
		if err != nil && !errors.Is(err, io.EOF) {
			r.discard()
			return nil, err
		}
		if n > 0 {
			if r.changes != nil {
				r.rows = r.changes.lines
			} else {
				r.rows += int64(n)
			}
			return r.batch(n)
		}
		r.closeFile()
		r.file++
	}
	return nil, io.EOF
}

// batch takes the n decoded rows out of the builders.
func (r *reader) batch(n int) (arrow.RecordBatch, error) {
	b := r.rb.NewRecordBatch()
	if b.NumCols() == 0 {
		// Only partition or metadata columns are read: no column counts
		// the rows.
		b.Release()
		b = array.NewRecordBatch(r.rb.Schema(), nil, int64(n))
	}
	if r.cfg.parts.partitioned() || len(r.metaValues) > 0 {
		return r.complete(b)
	}
	if r.kinds != nil {
		return withKinds(r.out, b, r.kinds), nil
	}
	return b, nil
}

// complete completes the decoded rows, data (which it releases), with the
// current file's partition values, its metadata and the rows' kinds.
func (r *reader) complete(data arrow.RecordBatch) (arrow.RecordBatch, error) {
	defer data.Release()
	n := int(data.NumRows())
	cols := make([]arrow.Array, r.out.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	if r.kinds != nil {
		// Taken first, so that an error below leaves no kinds behind.
		cols[len(cols)-1] = r.kinds.NewArray()
	}
	if !r.cfg.parts.partitioned() {
		for i, c := range data.Columns() {
			cols[i] = c
			c.Retain()
		}
	}
	for i, o := range r.outputs {
		if o >= 0 {
			cols[i] = data.Column(o)
			cols[i].Retain()
			continue
		}
		c := -1 - o
		dt := r.out.Field(i).Type
		sc := scalar.MakeNullScalar(dt)
		if v := r.partValues[c]; v != nil {
			var err error
			if sc, err = scalar.ParseScalar(dt, *v); err != nil {
				return nil, fmt.Errorf("filesystem: %s: partition value '%s' of column '%s': %w",
					r.files[r.file], *v, r.spec.Table.Schema.Columns[c].Name, err)
			}
		}
		a, err := scalar.MakeArrayFromScalar(sc, n, r.mem)
		if err != nil {
			return nil, fmt.Errorf("filesystem: partition column '%s': %w", r.spec.Table.Schema.Columns[c].Name, err)
		}
		cols[i] = a
	}
	// The metadata columns follow the table's (or the projection's).
	first := r.out.NumFields() - len(r.metaValues)
	if r.kinds != nil {
		first--
	}
	for i, v := range r.metaValues {
		a, err := scalar.MakeArrayFromScalar(v, n, r.mem)
		if err != nil {
			return nil, fmt.Errorf("filesystem: metadata column '%s': %w", r.spec.Table.Metadata[i].Name, err)
		}
		cols[first+i] = a
	}
	return array.NewRecordBatch(r.out, cols, int64(n)), nil
}

// discard drops rows half-decoded by a failed Decode.
func (r *reader) discard() {
	b := r.rb.NewRecordBatch()
	b.Release()
	if r.kinds != nil {
		r.kinds.NewArray().Release()
	}
}

func (r *reader) Close() error {
	if !r.closed {
		r.closed = true
		r.closeFile()
		r.rb.Release()
		if r.kinds != nil {
			r.kinds.Release()
		}
	}
	return nil
}

// CreateWriter creates the writer of one subtask. Part files are named
// part-<uuid>-<subtask>-<n>.<format>; while in progress or pending they
// are hidden as .part-<uuid>-<subtask>-<n>.<format>.inprogress, and they
// are renamed when committed (commit.go), so readers never see a partial
// or uncommitted file. A partitioned table's files go into the key=value
// directories of their rows' partition values, without the partition
// columns. The uuid is the same in every attempt of a job (derived from
// the sink's connector.ReaderContext.SinkID, as Flink plans one part
// prefix per sink), so that an attempt that restores no checkpoint can
// delete the hidden files its failed attempts left (cleanLeftovers).
func (Factory) CreateWriter(spec connector.SinkSpec, rc connector.ReaderContext) (connector.SinkWriter, error) {
	c, err := parseConfig(spec.Table)
	if err == nil {
		err = c.checkSink()
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.path, 0o755); err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	w := &writer{cfg: c, subtask: rc.Subtask, uuid: sinkUUID(rc.SinkID), schema: spec.Table.Schema, files: map[string]*partFile{},
		checkpointing: rc.Checkpointing, overwrite: spec.Overwrite, now: rc.NowMillis,
		partitions: map[string]*trackedPartition{}, watermark: math.MinInt64}
	if w.now == nil {
		w.now = func() int64 { return time.Now().UnixMilli() }
	}
	w.lastCheck = w.now()
	fileSchema := spec.Table.Schema
	if c.parts.partitioned() {
		fileSchema = c.parts.dataSchema
		w.dataSchema = fileSchema.Arrow()
	}
	switch c.format {
	case "csv":
		w.newEncoder = lineEncoders(csv.NewEncoder(c.csv, fileSchema))
	case "parquet":
		w.newEncoder = parquetEncoders(c.parquet, fileSchema)
	case "json":
		w.newEncoder = lineEncoders(json.NewEncoder(c.json, fileSchema))
	default:
		w.newEncoder = changelogEncoders(c.changes, c.changesCfg, fileSchema)
	}
	return w, nil
}

// sinkUUID is a version 4 UUID: drawn from sinkID's hash, random without
// one.
func sinkUUID(sinkID string) string {
	var u [16]byte
	if sinkID == "" {
		_, _ = rand.Read(u[:])
	} else {
		sum := sha256.Sum256([]byte(sinkID))
		copy(u[:], sum[:])
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[:4], u[4:6], u[6:8], u[8:10], u[10:])
}

type writer struct {
	cfg     config
	subtask int
	uuid    string
	schema  types.Schema
	// dataSchema is the Arrow schema of a partitioned table's files: the
	// columns other than the partition columns.
	dataSchema *arrow.Schema
	// dataKinds is dataSchema followed by the row kind column, for the
	// batches of an updating stream.
	dataKinds *arrow.Schema
	// newEncoder starts the encoding of a part file written to the writer
	// it is given.
	newEncoder func(io.Writer) (fileEncoder, error)
	// files are the open part files by partition directory ("" for an
	// unpartitioned table); nextPart numbers the part files of the writer.
	files    map[string]*partFile
	nextPart int
	// cleaned is set once the writer deleted its uuid's and subtask's
	// hidden leftovers, before its first part file.
	cleaned bool
	// writes counts Write calls, to find the part file unused the longest.
	writes int64
	// spare holds the buffers of closed part files for reuse.
	spare []*bufio.Writer
	// checkpointing is set when the job takes checkpoints: a rolled part
	// file is then pending, committed once a checkpoint after it
	// completed; without, it is committed at once.
	checkpointing bool
	// overwrite is set for INSERT OVERWRITE: the part files stay pending
	// until the job ends, when the factory's CommitJob replaces what the
	// table held with them.
	overwrite bool
	// pending are the rolled part files not committed yet, in roll order.
	pending []pendingFile
	// partitions are those written to and not seen committed, when the
	// sink commits partitions; watermark is the writer's (ms).
	partitions map[string]*trackedPartition
	watermark  int64
	// now reads processing time (ms); lastCheck is when the time-based
	// rolling policy was last checked.
	now       func() int64
	lastCheck int64
	// finished is set by Finish: the writer takes no more rows.
	finished bool
	closed   bool
}

// maxOpenPartitions bounds the part files a writer keeps open: opening
// another commits the one written to least recently. Partitions by event
// time are written to one after the other, so an unbounded stream does not
// accumulate open files (Flink rolls inactive part files on a timer).
const maxOpenPartitions = 32

// partFile is the part file being written (in progress) in one
// directory. rel is its final name relative to the table's path.
type partFile struct {
	rel, tmp  string
	f         *os.File
	bw        *bufio.Writer
	size      int64
	lastWrite int64
	// opened and written are the processing times (ms) it was created
	// and last written at, for the time-based rolling policy.
	opened, written int64
	// enc encodes the batches written to the file into bw.
	enc fileEncoder
	// persisted is set once a barrier persisted the file in progress: a
	// checkpoint may record it, so a failed attempt leaves it for the
	// restored writer to truncate and resume.
	persisted bool
}

func (w *writer) Write(b arrow.RecordBatch) error {
	if w.closed {
		return errors.New("filesystem: Write after Close")
	}
	if w.finished {
		return errors.New("filesystem: Write after Finish")
	}
	if b.NumRows() == 0 {
		return nil
	}
	w.writes++
	if !w.cfg.parts.partitioned() {
		return w.writeTo("", b)
	}
	cols := make([]arrow.Array, len(w.cfg.parts.data), len(w.cfg.parts.data)+1)
	for i, c := range w.cfg.parts.data {
		cols[i] = b.Column(c)
	}
	ds := w.dataSchema
	if n := int(b.NumCols()); n > w.schema.Len() && b.Schema().Field(n-1).Name == connector.RowKindColumn {
		// An updating stream's rows keep their kinds, which a changelog
		// format's encoder writes.
		cols = append(cols, b.Column(n-1))
		if w.dataKinds == nil {
			w.dataKinds = arrow.NewSchema(append(w.dataSchema.Fields(), b.Schema().Field(n-1)), nil)
		}
		ds = w.dataKinds
	}
	data := array.NewRecordBatch(ds, cols, b.NumRows())
	defer data.Release()
	keys := make([]arrow.Array, len(w.cfg.parts.keys))
	for i, k := range w.cfg.parts.keys {
		keys[i] = b.Column(k)
	}
	// Rows of one partition usually come in runs (partitions by event
	// time): each run is written as one zero-copy slice.
	n := int(b.NumRows())
	for start := 0; start < n; {
		end := start + 1
		for end < n && sameKeys(keys, start, end) {
			end++
		}
		run := data.NewSlice(int64(start), int64(end))
		err := w.writeTo(w.cfg.parts.dir(b, w.schema, start), run)
		run.Release()
		if err != nil {
			return err
		}
		start = end
	}
	return nil
}

// writeTo appends b to the part file of directory dir, opening one if
// needed and rolling it when it reaches the rolling size.
func (w *writer) writeTo(dir string, b arrow.RecordBatch) error {
	p := w.files[dir]
	if p == nil {
		var err error
		if p, err = w.open(dir); err != nil {
			return err
		}
	}
	p.lastWrite, p.written = w.writes, w.now()
	if w.cfg.commits() {
		w.notePartition(dir)
	}
	n, err := p.enc.Write(b)
	p.size += int64(n)
	if err != nil {
		return fmt.Errorf("filesystem: %w", err)
	}
	if p.size >= w.cfg.rollSize {
		return w.roll(dir)
	}
	return nil
}

// open starts a part file in directory dir, rolling the least recently
// written one if maxOpenPartitions are open.
func (w *writer) open(dir string) (*partFile, error) {
	if len(w.files) >= maxOpenPartitions {
		oldest := ""
		for d, p := range w.files {
			if oldest == "" || p.lastWrite < w.files[oldest].lastWrite {
				oldest = d
			}
		}
		if err := w.roll(oldest); err != nil {
			return nil, err
		}
	}
	if err := w.cleanLeftovers(); err != nil {
		return nil, err
	}
	full := filepath.Join(w.cfg.path, dir)
	if err := os.MkdirAll(full, 0o755); err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	name := fmt.Sprintf("part-%s-%d-%d.%s", w.uuid, w.subtask, w.nextPart, w.cfg.format)
	w.nextPart++
	p := &partFile{rel: filepath.Join(dir, name), tmp: filepath.Join(full, hiddenName(name))}
	p.opened = w.now()
	f, err := os.OpenFile(p.tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("filesystem: %w", err)
	}
	if err := w.attach(p, f); err != nil {
		os.Remove(p.tmp)
		return nil, err
	}
	w.files[dir] = p
	return p, nil
}

// resume makes the persisted in-progress file f, truncated to its
// persisted length, the open part file of directory dir again: written
// on from its end, rolled by the rolling policy as if never interrupted.
func (w *writer) resume(dir string, f inProgressFile) error {
	p := &partFile{rel: f.Path, tmp: hiddenPath(w.cfg.path, f.Path), size: f.Length, persisted: true}
	p.opened, p.written = f.Opened, w.now()
	fh, err := os.OpenFile(p.tmp, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("filesystem: resuming in-progress part file: %w", err)
	}
	if err := w.attach(p, fh); err != nil {
		return err
	}
	w.files[dir] = p
	return nil
}

// attach starts the encoding of part file p into f, with a buffer of a
// closed part file if there is one; on error it closes f.
func (w *writer) attach(p *partFile, f *os.File) error {
	p.f = f
	if k := len(w.spare); k > 0 {
		p.bw, w.spare = w.spare[k-1], w.spare[:k-1]
		p.bw.Reset(f)
	} else {
		size := 256 << 10
		if w.cfg.parts.partitioned() {
			// Many partitions may be open at once.
			size = 64 << 10
		}
		p.bw = bufio.NewWriterSize(f, size)
	}
	var err error
	if p.enc, err = w.newEncoder(p.bw); err != nil {
		f.Close()
		w.spare = append(w.spare, p.bw)
		return fmt.Errorf("filesystem: %w", err)
	}
	return nil
}

// closeFile makes the part file p durable and closes it: what it holds
// is then complete, ready to be committed.
func (w *writer) closeFile(p *partFile) error {
	// A bulk format completes its file (Parquet's footer) here.
	n, err := p.enc.Close()
	p.size += int64(n)
	if err == nil {
		err = p.bw.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	w.spare = append(w.spare, p.bw)
	if err != nil {
		return fmt.Errorf("filesystem: %w", err)
	}
	return nil
}

// Finish makes every row durable: the open part files roll, committed at
// once without checkpointing, else pending for PreCommit(EndOfInput) and
// the factory's CommitFinished.
func (w *writer) Finish() error {
	if w.closed {
		return errors.New("filesystem: Finish after Close")
	}
	if err := w.rollAll(); err != nil {
		return err
	}
	w.finished = true
	return nil
}

// Close abandons the part files in progress: without Finish the job
// failed or stopped, and a restarted job writes their rows again. Files
// a barrier persisted stay, as pending files do: they belong to a
// checkpoint or savepoint, whose restored writer truncates and resumes
// them (or deletes them with the failed attempt's other files when the
// checkpoint it restores does not record them).
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var first error
	for dir, p := range w.files {
		delete(w.files, dir)
		p.f.Close()
		if p.persisted {
			continue
		}
		if err := os.Remove(p.tmp); err != nil && first == nil {
			first = err
		}
	}
	return first
}
