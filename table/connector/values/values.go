// Package values is Flink's test connector 'values' as Eddy runs it: a
// bounded source emitting rows a test registered in memory (with row kinds,
// so it can be an updating source), and a sink recording every row it
// receives, rendered as Flink prints rows. The Flink conformance runner
// (table/conformance) drives it; it is not part of the built-in connectors
// of table/connector/all.
//
// A test registers a data set with Register and names it in the table's
// 'data-id' option; source and sink tables of one run may share an id.
//
// # Source
//
// The reader of subtask 0 emits Data.Before one row per batch (so
// per-record watermarks and changelogs look as in Flink, which emits one
// record at a time), then:
//
//   - with Data.Pause, waits (Next blocks until its context ends) — the
//     state in which the runner stops the job with a savepoint. The
//     reader's snapshot is its position; a reader restored from it emits
//     Data.After and ends;
//   - otherwise emits Data.After and ends.
//
// Other subtasks emit nothing. 'changelog-mode' (Flink's syntax: I, UB,
// UA, D) decides whether batches carry connector.RowKindColumn: only +I is
// insert-only, with UB a retract changelog, without it an upsert one.
//
// # Sink
//
// The writer appends every row to Data.Sink as "+I[a, b]", in the form of
// Flink's Row.toString (see Format). Rows of kinds the sink does not accept
// ('sink-changelog-mode-enforced', by default every kind, without -U when
// the table has a primary key, as Flink's values sink) fail the job,
// except -U rows, which an upsert sink never receives in Flink because its
// planner drops them: they are dropped here.
//
// Options that only steer Flink's planner or the test connector's
// mechanics are accepted and ignored; options whose behaviour Eddy does
// not have (metadata columns, partitions, deletes by key, lookups) are
// declared so that the error names them.
package values

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// Identifier is the value of the 'connector' option.
const Identifier = "values"

// Row is one changelog row of a source: its kind and one value per
// physical column, in the form encoding/json decodes with UseNumber
// (json.Number, string, bool, nil, []any, map[string]any; see AppendValue).
type Row struct {
	Kind   connector.RowKind
	Values []any
}

// Data is a registered data set: the rows its source tables emit and the
// rows its sink tables received.
type Data struct {
	Before, After []Row
	// Pause makes readers wait after Before until a savepoint stops them.
	Pause bool

	readers, paused atomic.Int32

	mu      sync.Mutex
	sink    []Record
	sinkKey []int
}

// Record is a row a sink received: its kind and its fields rendered by
// Format.
type Record struct {
	Kind   connector.RowKind
	Fields []string
}

// String renders the record as Flink's Row.toString: "+I[a, b]".
func (r Record) String() string {
	return r.Kind.String() + "[" + strings.Join(r.Fields, ", ") + "]"
}

// Readers is how many readers were created and how many of them wait after
// Before.
func (d *Data) Readers() (created, paused int) {
	return int(d.readers.Load()), int(d.paused.Load())
}

// Sink returns a copy of the rows the sink tables of the data set received,
// in arrival order, and the positions of the sink's primary key columns
// (nil without a primary key).
func (d *Data) Sink() ([]Record, []int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Record(nil), d.sink...), d.sinkKey
}

var (
	registryMu sync.Mutex
	registry   = map[string]*Data{}
	nextID     int
)

// Register stores d and returns the id to put in tables' 'data-id' option.
func Register(d *Data) string {
	registryMu.Lock()
	defer registryMu.Unlock()
	nextID++
	id := fmt.Sprintf("data-%d", nextID)
	registry[id] = d
	return id
}

// Unregister forgets a data set.
func Unregister(id string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	delete(registry, id)
}

// Lookup finds a registered data set.
func Lookup(id string) (*Data, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	d := registry[id]
	if d == nil {
		return nil, fmt.Errorf("values: no data set %q registered", id)
	}
	return d, nil
}

// Factory is the values connector.
type Factory struct{}

var (
	_ connector.SourceFactory = Factory{}
	_ connector.SinkFactory   = Factory{}
)

func init() { connector.Register(Factory{}) }

func (Factory) Identifier() string { return Identifier }

// Options declares Flink's values options. The ones marked unsupported are
// rejected when set (see unsupported).
func (Factory) Options() []connector.Option {
	s := func(key, doc string) connector.Option {
		return connector.Option{Key: key, Type: connector.String, Doc: doc}
	}
	return []connector.Option{
		{Key: "data-id", Type: connector.String, Required: true, Doc: "the registered data set (Register)"},
		s("changelog-mode", "row kinds the source emits: I, UB, UA, D (default I)"),
		s("sink-changelog-mode-enforced", "row kinds the sink accepts"),
		{Key: "sink-insert-only", Type: connector.Bool, Doc: "ignored: the planner decides"},
		{Key: "sink.supports-delete-by-key", Type: connector.Bool, Doc: "ignored: deletes carry the whole row"},
		{Key: "source.produces-delete-by-key", Type: connector.Bool, Doc: "unsupported when true"},
		{Key: "bounded", Type: connector.Bool, Doc: "ignored: the source is always bounded"},
		s("runtime-source", "ignored"),
		s("filterable-fields", "ignored: filters are not pushed into the source"),
		{Key: "enable-projection-push-down", Type: connector.Bool, Doc: "ignored"},
		{Key: "enable-watermark-push-down", Type: connector.Bool, Doc: "ignored"},
		{Key: "enable-vector-search", Type: connector.Bool, Doc: "unsupported when true"},
		{Key: "disable-lookup", Type: connector.Bool, Doc: "ignored"},
		{Key: "async", Type: connector.Bool, Doc: "ignored: lookups are synchronous"},
		{Key: "source.sleep-after-elements", Type: connector.Long, Doc: "ignored"},
		{Key: "source.sleep-time", Type: connector.Duration, Doc: "ignored"},
		s("scan.watermark.emit.strategy", "ignored: watermarks follow every row"),
		s("readable-metadata", "unsupported: metadata columns"),
		s("writable-metadata", "unsupported: metadata columns"),
		s("partition-list", "unsupported: partitioned tables"),
	}
}

// unsupported rejects options whose behaviour Eddy does not have.
func unsupported(t connector.TableInfo) error {
	for _, k := range []string{"readable-metadata", "writable-metadata", "partition-list"} {
		if _, ok := t.Options[k]; ok {
			return fmt.Errorf("option '%s' is not supported", k)
		}
	}
	for _, k := range []string{"source.produces-delete-by-key", "enable-vector-search"} {
		if strings.EqualFold(t.Options[k], "true") {
			return fmt.Errorf("option '%s' = 'true' is not supported", k)
		}
	}
	return nil
}

// kinds parses Flink's changelog mode list ("I,UB,UA,D").
func kinds(mode string) (map[connector.RowKind]bool, error) {
	out := map[connector.RowKind]bool{}
	for _, k := range strings.Split(mode, ",") {
		switch strings.TrimSpace(k) {
		case "I":
			out[connector.Insert] = true
		case "UB":
			out[connector.UpdateBefore] = true
		case "UA":
			out[connector.UpdateAfter] = true
		case "D":
			out[connector.Delete] = true
		case "":
		default:
			return nil, fmt.Errorf("unknown row kind '%s' in changelog mode '%s'", k, mode)
		}
	}
	return out, nil
}

func sourceChangelog(t connector.TableInfo) (connector.ChangelogMode, error) {
	mode, ok := t.Options["changelog-mode"]
	if !ok {
		return connector.InsertOnlyChangelog, nil
	}
	ks, err := kinds(mode)
	if err != nil {
		return 0, err
	}
	switch {
	case len(ks) == 1 && ks[connector.Insert]:
		return connector.InsertOnlyChangelog, nil
	case ks[connector.UpdateBefore]:
		return connector.RetractChangelog, nil
	}
	return connector.UpsertChangelog, nil
}

// ValidateSource checks the options; the source is bounded.
func (f Factory) ValidateSource(t connector.TableInfo) (connector.ScanProperties, error) {
	if err := connector.Validate(f, t); err != nil {
		return connector.ScanProperties{}, err
	}
	if err := unsupported(t); err != nil {
		return connector.ScanProperties{}, err
	}
	mode, err := sourceChangelog(t)
	return connector.ScanProperties{Bounded: true, Changelog: mode}, err
}

// CreateReader creates the reader of one subtask.
func (f Factory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	d, err := Lookup(spec.Table.Options["data-id"])
	if err != nil {
		return nil, err
	}
	mode, err := sourceChangelog(spec.Table)
	if err != nil {
		return nil, err
	}
	if spec.Projection != nil {
		return nil, fmt.Errorf("values: projection push-down is not supported")
	}
	r := &reader{d: d, ctx: ctx, schema: spec.Table.Schema, changelog: mode != connector.InsertOnlyChangelog}
	if ctx.Subtask == 0 {
		r.rows = d.Before
		if !d.Pause {
			r.rows = append(append([]Row(nil), d.Before...), d.After...)
		}
		d.readers.Add(1)
		r.counted = true
	}
	return r, nil
}

type reader struct {
	d         *Data
	ctx       connector.ReaderContext
	schema    types.Schema
	changelog bool
	rows      []Row
	pos       int // rows of rows emitted
	restored  bool
	counted   bool // counted in d.readers
	waiting   bool // counted in d.paused
}

// state is the reader's snapshot.
type state struct {
	// Pos counts the rows emitted; Restored says they were the rows after
	// the restore point.
	Pos      int  `json:"pos"`
	Restored bool `json:"restored,omitempty"`
}

func (r *reader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.pos == len(r.rows) {
		if r.d.Pause && !r.restored && r.ctx.Subtask == 0 {
			if !r.waiting {
				r.waiting = true
				r.d.paused.Add(1)
			}
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	row := r.rows[r.pos]
	b, err := BuildBatch(r.ctx.Mem, r.schema, r.changelog, []Row{row})
	if err != nil {
		return nil, fmt.Errorf("values: row %d: %w", r.pos+1, err)
	}
	r.pos++
	return b, nil
}

func (r *reader) Snapshot() ([]byte, error) {
	return json.Marshal(state{Pos: r.pos, Restored: r.restored})
}

// Restore continues after the restore point: a snapshot taken while
// waiting after Before resumes with After.
func (r *reader) Restore(data []byte) error {
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("values: bad snapshot: %w", err)
	}
	if r.ctx.Subtask != 0 {
		return nil
	}
	if s.Restored {
		r.rows, r.pos = r.d.After, s.Pos
	} else {
		// Rows of Before not emitted yet come first, then After.
		r.rows = append(append([]Row(nil), r.d.Before[min(s.Pos, len(r.d.Before)):]...), r.d.After...)
		r.pos = 0
	}
	if r.pos > len(r.rows) {
		return fmt.Errorf("values: snapshot position %d beyond %d rows", r.pos, len(r.rows))
	}
	r.restored = true
	return nil
}

func (r *reader) Close() error {
	if r.waiting {
		r.waiting = false
		r.d.paused.Add(-1)
	}
	if r.counted {
		r.counted = false
		r.d.readers.Add(-1)
	}
	return nil
}

// ValidateSink checks the options; the sink takes updates unless its
// enforced changelog mode is insert-only.
func (f Factory) ValidateSink(t connector.TableInfo) (connector.SinkProperties, error) {
	if err := connector.Validate(f, t); err != nil {
		return connector.SinkProperties{}, err
	}
	if err := unsupported(t); err != nil {
		return connector.SinkProperties{}, err
	}
	accepts, err := sinkKinds(t)
	if err != nil {
		return connector.SinkProperties{}, err
	}
	return connector.SinkProperties{AcceptsUpdates: len(accepts) > 1}, nil
}

func sinkKinds(t connector.TableInfo) (map[connector.RowKind]bool, error) {
	if mode, ok := t.Options["sink-changelog-mode-enforced"]; ok {
		return kinds(mode)
	}
	all := map[connector.RowKind]bool{connector.Insert: true, connector.UpdateBefore: true,
		connector.UpdateAfter: true, connector.Delete: true}
	if len(t.PrimaryKey) > 0 {
		delete(all, connector.UpdateBefore)
	}
	return all, nil
}

// CreateWriter creates the writer of one subtask.
func (f Factory) CreateWriter(spec connector.SinkSpec, _ connector.ReaderContext) (connector.SinkWriter, error) {
	d, err := Lookup(spec.Table.Options["data-id"])
	if err != nil {
		return nil, err
	}
	accepts, err := sinkKinds(spec.Table)
	if err != nil {
		return nil, err
	}
	var key []int
	for _, k := range spec.Table.PrimaryKey {
		if i := spec.Table.Schema.Index(k); i >= 0 {
			key = append(key, i)
		}
	}
	d.mu.Lock()
	d.sinkKey = key
	d.mu.Unlock()
	return &writer{d: d, schema: spec.Table.Schema, accepts: accepts}, nil
}

type writer struct {
	d       *Data
	schema  types.Schema
	accepts map[connector.RowKind]bool
}

func (w *writer) Write(b arrow.RecordBatch) error {
	n := w.schema.Len()
	var kinds []int8
	if int(b.NumCols()) > n && b.ColumnName(n) == connector.RowKindColumn {
		kinds = b.Column(n).(*array.Int8).Int8Values()
	}
	rows := make([]Record, 0, b.NumRows())
	for i := 0; i < int(b.NumRows()); i++ {
		kind := connector.Insert
		if kinds != nil {
			kind = connector.RowKind(kinds[i])
		}
		if !w.accepts[kind] {
			if kind == connector.UpdateBefore {
				continue
			}
			return fmt.Errorf("values sink: received a %s row, but accepts only %s", kind, kindList(w.accepts))
		}
		r := Record{Kind: kind, Fields: make([]string, n)}
		for c := 0; c < n; c++ {
			var sb strings.Builder
			Format(&sb, w.schema.Columns[c].Type, b.Column(c), i)
			r.Fields[c] = sb.String()
		}
		rows = append(rows, r)
	}
	w.d.mu.Lock()
	w.d.sink = append(w.d.sink, rows...)
	w.d.mu.Unlock()
	return nil
}

func kindList(ks map[connector.RowKind]bool) string {
	var out []string
	for _, k := range []connector.RowKind{connector.Insert, connector.UpdateBefore, connector.UpdateAfter, connector.Delete} {
		if ks[k] {
			out = append(out, k.String())
		}
	}
	return strings.Join(out, ",")
}

func (w *writer) Finish() error { return nil }
func (w *writer) Close() error  { return nil }
