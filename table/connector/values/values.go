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
// With Data.KeepOpen a restored reader waits after Data.After as well,
// until its job is cancelled.
//
// Other subtasks emit nothing. 'changelog-mode' (Flink's syntax: I, UB,
// UA, D) decides whether batches carry connector.RowKindColumn: only +I is
// insert-only, with UB a retract changelog, without it an upsert one
// (whose deletes may carry only the key: 'source.produces-delete-by-key').
// Without the option, data with other kinds than +I is a retract
// changelog, as Flink's source emits every row with its kind.
//
// # Sink
//
// The writer appends every row to Data.Sink as "+I[a, b]", in the form of
// Flink's Row.toString (see Format). Rows of kinds the sink does not accept
// ('sink-changelog-mode-enforced', by default every kind, without -U when
// the table has a primary key, as Flink's values sink) fail the job,
// except -U rows, which an upsert sink never receives in Flink because its
// planner drops them: they are dropped here. 'sink.supports-delete-by-key'
// declares that a sink with a primary key applies deletes by key
// (connector.SinkProperties.DeletesByKey).
//
// # Metadata
//
// 'readable-metadata' declares the metadata keys a source offers, as
// Flink's "key:TYPE,key:TYPE" list. As in Flink's test connector, a row
// holds the values of the physical columns followed by one value per
// declared key, in declaration order; a METADATA column reads the value
// of its key.
//
// Options that only steer Flink's planner or the test connector's
// mechanics are accepted and ignored ('partition-list': partitions are
// read whole and filtered like any column).
//
// # Vector search
//
// 'enable-vector-search' = 'true' lets VECTOR_SEARCH search the table
// (connector.SupportsVectorSearch), synchronously or, with 'async', in
// Flink's async mode: Eddy reads the rows and searches them itself, so
// both modes give the same results.
//
// 'writable-metadata' declares the metadata keys the sink writes: a record
// holds the physical values followed by the persisted metadata columns'
// values, in the order of the declared keys.
package values

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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
	// KeepOpen makes restored readers wait after After too, until their
	// job is cancelled, as Flink's values source with 'terminating' =
	// 'false' in its restore tests: without an end of input, results that
	// come by processing time (which end of input would drop) can arrive.
	KeepOpen bool

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
// Before (or, restored with KeepOpen, after After).
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
	_ connector.SourceFactory           = Factory{}
	_ connector.SinkFactory             = Factory{}
	_ connector.SupportsReadingMetadata = Factory{}
	_ connector.SupportsTableMetadata   = Factory{}
	_ connector.SupportsWritingMetadata = Factory{}
	_ connector.SupportsVectorSearch    = Factory{}
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
		{Key: "sink.parallelism", Type: connector.Int, Doc: "the parallelism of the sink's writers (default: the job's)"},
		{Key: "sink-insert-only", Type: connector.Bool, Doc: "'true' makes the sink accept inserts only; unset or 'false', it takes what the query produces"},
		{Key: "sink.supports-delete-by-key", Type: connector.Bool, Doc: "the sink applies deletes by primary key, so they may carry only the key"},
		{Key: "source.produces-delete-by-key", Type: connector.Bool, Doc: "deletes carry only the primary key (an upsert changelog mode)"},
		{Key: "bounded", Type: connector.Bool, Doc: "ignored: the source is always bounded"},
		s("runtime-source", "ignored"),
		s("filterable-fields", "ignored: filters are not pushed into the source"),
		{Key: "enable-projection-push-down", Type: connector.Bool, Doc: "ignored"},
		{Key: "enable-watermark-push-down", Type: connector.Bool, Doc: "ignored"},
		{Key: "enable-vector-search", Type: connector.Bool, Doc: "'true' lets VECTOR_SEARCH search the table"},
		{Key: "disable-lookup", Type: connector.Bool, Doc: "ignored"},
		{Key: "async", Type: connector.Bool, Doc: "ignored: lookups and vector searches run in the operator"},
		{Key: "source.sleep-after-elements", Type: connector.Long, Doc: "ignored"},
		{Key: "source.sleep-time", Type: connector.Duration, Doc: "ignored"},
		s("scan.watermark.emit.strategy", "ignored: watermarks follow every row"),
		s("readable-metadata", "the metadata keys of the source and their types: 'key:TYPE,...'"),
		s("writable-metadata", "the metadata keys the sink writes and their types: 'key:TYPE,...'"),
		s("partition-list", "ignored: partitions are read whole"),
	}
}

// SupportsVectorSearch lets VECTOR_SEARCH search tables declared with
// 'enable-vector-search' = 'true', as Flink's test connector does.
func (Factory) SupportsVectorSearch(t connector.TableInfo) error {
	if !strings.EqualFold(t.Options["enable-vector-search"], "true") {
		return fmt.Errorf("table '%s' does not support vector search: its option 'enable-vector-search' is not 'true'", t.Name)
	}
	return nil
}

// deletesByKey checks 'source.produces-delete-by-key': deletes that carry
// only the key are what an upsert changelog's deletes are (the planner
// normalizes them by key, filling the row from state), so the option needs
// a changelog mode without UB; a retract source's deletes must be full.
func deletesByKey(t connector.TableInfo, mode connector.ChangelogMode) error {
	if strings.EqualFold(t.Options["source.produces-delete-by-key"], "true") && mode == connector.RetractChangelog {
		return fmt.Errorf("option 'source.produces-delete-by-key' = 'true' needs a 'changelog-mode' without UB")
	}
	return nil
}

// hasRetractions reports whether rows of d other than +I exist.
func (d *Data) hasRetractions() bool {
	for _, rows := range [][]Row{d.Before, d.After} {
		for _, r := range rows {
			if r.Kind != connector.Insert {
				return true
			}
		}
	}
	return false
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
		// Flink's values source emits every row with its kind whatever the
		// declared mode, and its operators honour the kinds; a data set
		// with retractions but no declared mode is therefore read as the
		// retract changelog it is, not as inserts of retracted rows.
		if d, err := Lookup(t.Options["data-id"]); err == nil && d.hasRetractions() {
			return connector.RetractChangelog, nil
		}
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
	mode, err := sourceChangelog(t)
	if err == nil {
		err = deletesByKey(t, mode)
	}
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
	meta, err := metadataPositions(spec.Table)
	if err != nil {
		return nil, err
	}
	r := &reader{d: d, ctx: ctx, schema: spec.OutputSchema(), meta: meta, changelog: mode != connector.InsertOnlyChangelog}
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
	d      *Data
	ctx    connector.ReaderContext
	schema types.Schema // physical columns, then metadata columns
	// meta holds, per metadata column, the position of its value in a
	// row (after the physical values); nil without metadata columns.
	meta      []int
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
		if r.d.Pause && (!r.restored || r.d.KeepOpen) && r.ctx.Subtask == 0 {
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
	if r.meta != nil {
		row = r.withMetadata(row)
	}
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
	accepts, err := sinkKinds(t)
	if err != nil {
		return connector.SinkProperties{}, err
	}
	// The values sink records every row written for the program that
	// inspects it; an overwriting job's rows are recorded as an inserting
	// job's are, as Flink's values sink does in streaming mode.
	return connector.SinkProperties{AcceptsUpdates: len(accepts) > 1, SupportsOverwrite: true,
		RequiresUpdateBefore: accepts[connector.UpdateBefore],
		DeletesByKey:         len(t.PrimaryKey) > 0 && strings.EqualFold(t.Options["sink.supports-delete-by-key"], "true")}, nil
}

func sinkKinds(t connector.TableInfo) (map[connector.RowKind]bool, error) {
	if mode, ok := t.Options["sink-changelog-mode-enforced"]; ok {
		return kinds(mode)
	}
	// Flink's values sink defaults to insert-only; Eddy's takes updates
	// unless told otherwise, so only an explicit 'true' restricts it.
	if strings.EqualFold(t.Options["sink-insert-only"], "true") {
		return map[connector.RowKind]bool{connector.Insert: true}, nil
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
	schema, err := writtenSchema(spec.Table)
	if err != nil {
		return nil, err
	}
	return &writer{d: d, schema: schema, accepts: accepts}, nil
}

// writtenSchema is what a values sink writes: the physical columns, then
// the persisted metadata columns in 'writable-metadata' order. A record
// holds their values in that order, as Flink's values sink prints them.
func writtenSchema(t connector.TableInfo) (types.Schema, error) {
	keys, err := Factory{}.WritableMetadataOf(t)
	if err != nil {
		return types.Schema{}, err
	}
	out := types.Schema{Columns: slices.Clone(t.Schema.Columns)}
	for _, k := range keys {
		for _, m := range t.Metadata {
			if !m.Virtual && m.Key == k {
				out.Columns = append(out.Columns, types.Column{Name: m.Name, Type: m.Type})
			}
		}
	}
	return out, nil
}

// WritableMetadataOf lists the keys t declares in 'writable-metadata', in
// declaration order.
func (Factory) WritableMetadataOf(t connector.TableInfo) ([]string, error) {
	keys, _, err := declaredMetadata(t.Options["writable-metadata"])
	return keys, err
}

type writer struct {
	d *Data
	// schema is the columns written (writtenSchema).
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

// ReadableMetadata is empty: the keys a values table offers are the ones
// its 'readable-metadata' option declares (ReadableMetadataOf).
func (Factory) ReadableMetadata() map[string]string { return nil }

// ReadableMetadataOf lists the keys t declares in 'readable-metadata', each
// documented by its declared type.
func (Factory) ReadableMetadataOf(t connector.TableInfo) (map[string]string, error) {
	keys, typs, err := declaredMetadata(t.Options["readable-metadata"])
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for i, k := range keys {
		out[k] = typs[i]
	}
	return out, nil
}

// declaredMetadata parses 'key:TYPE,key:TYPE' (a type may contain commas
// inside parentheses, as DECIMAL(10, 2)).
func declaredMetadata(opt string) (keys, typs []string, err error) {
	if strings.TrimSpace(opt) == "" {
		return nil, nil, nil
	}
	depth, start := 0, 0
	var items []string
	for i, c := range opt {
		switch c {
		case '(', '<':
			depth++
		case ')', '>':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, opt[start:i])
				start = i + 1
			}
		}
	}
	items = append(items, opt[start:])
	for _, it := range items {
		k, t, ok := strings.Cut(it, ":")
		k, t = strings.TrimSpace(k), strings.TrimSpace(t)
		if !ok || k == "" || t == "" {
			return nil, nil, fmt.Errorf("option 'readable-metadata': expected 'key:TYPE', not '%s'", strings.TrimSpace(it))
		}
		keys, typs = append(keys, k), append(typs, t)
	}
	return keys, typs, nil
}

// metadataPositions maps the table's metadata columns to the positions of
// their values in a row: after the physical values, in the order of
// 'readable-metadata'.
func metadataPositions(t connector.TableInfo) ([]int, error) {
	if len(t.Metadata) == 0 {
		return nil, nil
	}
	keys, _, err := declaredMetadata(t.Options["readable-metadata"])
	if err != nil {
		return nil, err
	}
	pos := make([]int, len(t.Metadata))
	for i, m := range t.Metadata {
		j := slices.Index(keys, m.Key)
		if j < 0 {
			return nil, fmt.Errorf("values: metadata key '%s' is not declared in 'readable-metadata'", m.Key)
		}
		pos[i] = t.Schema.Len() + j
	}
	return pos, nil
}

// withMetadata returns row with its values rearranged as the reader's
// schema wants them: the physical values, then one per metadata column.
func (r *reader) withMetadata(row Row) Row {
	phys := r.schema.Len() - len(r.meta)
	if len(row.Values) < phys {
		return row // BuildBatch reports the missing values
	}
	vals := make([]any, 0, r.schema.Len())
	vals = append(vals, row.Values[:phys]...)
	for _, p := range r.meta {
		var v any
		if p < len(row.Values) {
			v = row.Values[p]
		}
		vals = append(vals, v)
	}
	return Row{Kind: row.Kind, Values: vals}
}
