// Package connector is the contract between Eddy and the systems it reads
// and writes: a registry of factories, each declaring its options once, and
// the per-subtask readers and writers the runtime drives. Optional
// capabilities (projection pushdown, ...) are separate interfaces that a
// factory implements and the planner discovers by type assertion.
//
// Built-in connectors live under table/connector and register themselves in
// init functions; a program links them by importing them (the eddy binary
// and the table package import all of them).
package connector

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// TableInfo is what a connector is told about the table it serves: the
// physical columns (computed columns are evaluated by the engine, not the
// connector) and the table's WITH options, 'connector' included.
type TableInfo struct {
	Name    string            `json:"name"`
	Schema  types.Schema      `json:"schema"`
	Options map[string]string `json:"options"`
	// PrimaryKey names the table's PRIMARY KEY columns (declared NOT
	// ENFORCED), in key order; nil when it has none. Upsert connectors key
	// their records by it.
	PrimaryKey []string `json:"primaryKey,omitempty"`
	// PartitionKeys are the table's PARTITIONED BY columns, in order; nil
	// when it has none. The filesystem connector writes each partition
	// into its own key=value directory.
	PartitionKeys []string `json:"partitionKeys,omitempty"`
	// Metadata are the table's METADATA columns, in declaration order;
	// only connectors implementing SupportsReadingMetadata get any.
	Metadata []MetadataColumn `json:"metadata,omitempty"`
}

// MetadataColumn is a column whose values are metadata of the connector's
// rows (Flink's metadata columns).
type MetadataColumn struct {
	Name string         `json:"name"`
	Key  string         `json:"key"`
	Type types.DataType `json:"type"`
	// Virtual columns are only read, never written.
	Virtual bool `json:"virtual,omitempty"`
}

// SupportsReadingMetadata is implemented by source factories that produce
// metadata columns. A reader appends the table's metadata columns, in
// TableInfo.Metadata order, after the physical columns of its output (and
// before a changelog's RowKindColumn); ScanSpec.OutputSchema includes them.
// ValidateSource checks their declared types.
type SupportsReadingMetadata interface {
	// ReadableMetadata lists the metadata keys with a doc line each.
	ReadableMetadata() map[string]string
}

// SupportsWritingMetadata is implemented by sink factories that write
// metadata columns (Flink's SupportsWritingMetadata). A writer receives,
// after the physical columns (and before a changelog's RowKindColumn), one
// column per persisted (not VIRTUAL) metadata column of the table, ordered
// as the keys WritableMetadataOf lists them.
type SupportsWritingMetadata interface {
	// WritableMetadataOf lists the metadata keys the sink can write into
	// table t, in the order its writer expects their columns.
	WritableMetadataOf(t TableInfo) ([]string, error)
}

// SupportsTableMetadata is implemented by SupportsReadingMetadata factories
// whose metadata keys depend on the table, like the test connector
// 'values', which declares them in its 'readable-metadata' option. For such
// a table its keys replace ReadableMetadata's.
type SupportsTableMetadata interface {
	ReadableMetadataOf(t TableInfo) (map[string]string, error)
}

// Factory is implemented by every connector.
type Factory interface {
	// Identifier is the value of the 'connector' option, e.g. "datagen".
	Identifier() string
	// Options declares every option the connector accepts; Validate checks
	// tables against it, and DESCRIBE-style docs come from it.
	Options() []Option
}

// SourceFactory creates readers for tables used as sources.
type SourceFactory interface {
	Factory
	// ValidateSource checks a table at planning time (options already
	// validated against Options) and reports the properties of its scan.
	ValidateSource(t TableInfo) (ScanProperties, error)
	// CreateReader creates the reader for one parallel subtask.
	CreateReader(spec ScanSpec, ctx ReaderContext) (SourceReader, error)
}

// ScanProperties are what the planner needs to know about a scan.
type ScanProperties struct {
	// Bounded sources end; unbounded ones run until cancelled.
	Bounded bool
	// Changelog says which row kinds the source produces. Sources other
	// than InsertOnlyChangelog add the trailing RowKindColumn to their
	// batches (after the columns of OutputSchema).
	Changelog ChangelogMode
}

// ChangelogMode is the set of row kinds a source produces.
type ChangelogMode uint8

const (
	// InsertOnlyChangelog sources produce only inserts and no kind column.
	InsertOnlyChangelog ChangelogMode = iota
	// UpsertChangelog sources (upsert-kafka) produce +I/+U and -D rows keyed
	// by the primary key, without -U: an insert or update replaces the
	// previous row of its key and a delete carries only the key's values
	// reliably. Consumers that need retractions normalize by key (Flink's
	// ChangelogNormalize).
	UpsertChangelog
	// RetractChangelog sources (debezium-json) produce all four kinds, each
	// update as a -U of the old row followed by a +U of the new one.
	RetractChangelog
)

// SupportsProjectionPushdown is implemented by source factories whose
// readers can produce only some of the physical columns.
type SupportsProjectionPushdown interface {
	SupportsProjectionPushdown() bool
}

// ScanSpec is the serializable description of a scan, carried in a task
// descriptor to the TaskManager that runs it.
type ScanSpec struct {
	Table TableInfo `json:"table"`
	// Projection lists the physical columns to produce, by index into
	// Table.Schema, in output order; nil means all columns.
	Projection []int `json:"projection,omitempty"`
	// NestedProjection, set instead of Projection for sources that
	// implement SupportsNestedProjectionPushdown, lists the field paths to
	// produce, in output order; each path is one output column (see
	// FieldPath.Resolve), NULL where a ROW on its path is NULL.
	NestedProjection []FieldPath `json:"nestedProjection,omitempty"`
	// Filters are the predicates a SupportsFilterPushDown source accepted:
	// the reader produces only the rows that satisfy all of them.
	Filters []Predicate `json:"filters,omitempty"`
}

// Validate checks the projections and filters against the table.
func (s ScanSpec) Validate() error {
	n := s.Table.Schema.Len()
	for _, p := range s.Projection {
		if p < 0 || p >= n {
			return fmt.Errorf("scan of %s: projected column %d out of range of %d columns", s.Table.Name, p, n)
		}
	}
	for _, p := range s.NestedProjection {
		if _, err := p.Resolve(s.Table.Schema); err != nil {
			return fmt.Errorf("scan of %s: %w", s.Table.Name, err)
		}
	}
	for _, f := range s.Filters {
		if f.Column < 0 || f.Column >= n {
			return fmt.Errorf("scan of %s: filtered column %d out of range of %d columns", s.Table.Name, f.Column, n)
		}
	}
	return nil
}

// OutputSchema is the schema of the batches a reader for spec produces.
// Metadata columns follow the physical ones. An invalid field path (see
// Validate) yields a column of type NULL.
func (s ScanSpec) OutputSchema() types.Schema {
	if s.Projection == nil && s.NestedProjection == nil && len(s.Table.Metadata) == 0 {
		return s.Table.Schema
	}
	var out types.Schema
	for _, p := range s.NestedProjection {
		c, err := p.Resolve(s.Table.Schema)
		if err != nil {
			c = types.Column{Name: fmt.Sprint([]int(p)), Type: types.DataType{Kind: types.Null}}
		}
		out.Columns = append(out.Columns, c)
	}
	if s.Projection == nil && s.NestedProjection == nil {
		out.Columns = append(out.Columns, s.Table.Schema.Columns...)
	}
	for _, p := range s.Projection {
		out.Columns = append(out.Columns, s.Table.Schema.Columns[p])
	}
	for _, m := range s.Table.Metadata {
		out.Columns = append(out.Columns, types.Column{Name: m.Name, Type: m.Type})
	}
	return out
}

// ReaderContext says which subtask a reader or writer serves.
type ReaderContext struct {
	Subtask     int
	Parallelism int
	Mem         memory.Allocator
	// BatchSize is the preferred number of rows per batch.
	BatchSize int
	// Checkpointing is set when the job takes periodic checkpoints
	// (execution.checkpointing.interval): a TwoPhaseCommitWriter commits
	// only on checkpoints (its last transaction once its subtask is
	// recorded as finished).
	Checkpointing bool
	// NowMillis reads processing time in milliseconds from the task's
	// clock (a manual clock in tests); nil means the wall clock.
	NowMillis func() int64
	// SinkID names a sink writer's sink: the same in every attempt of a
	// job (a restart), different for each sink of a job and for every
	// job, a restored one included. A writer may derive the names of what
	// it writes from it, so that a restart that restores no checkpoint
	// can find what its failed attempts left. Empty outside a job.
	SinkID string
}

// SourceReader produces the batches of one parallel subtask of a scan. A
// source splits its work among subtasks by Subtask and Parallelism.
//
// Contract: Next returns a non-empty batch whose schema is the scan's
// OutputSchema, owned by the caller (who releases it), or (nil, io.EOF)
// once a bounded input is exhausted. Next blocks while no data is ready and
// returns ctx.Err() when ctx is cancelled. Snapshot and Restore capture the
// reader's position (offsets, rows emitted) between calls of Next. Close is
// idempotent.
//
// A checkpoint cancels the ctx of a Next that waits for data and calls
// Next again after Snapshot: a Next that returns ctx.Err() must have
// emitted nothing, keep its position, and leave the reader usable.
type SourceReader interface {
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Snapshot() ([]byte, error)
	Restore(state []byte) error
	Close() error
}

// IdleAware is an optional interface of SourceReader (and of the source
// operator that wraps it): a reader that has no split to read — more
// subtasks than files or partitions — reports Idle right after it was
// created. Its subtask is then idle from the start, as a Flink source
// without an assigned split: it does not hold back the watermark of the
// operators downstream. The first batch it returns makes it active again.
type IdleAware interface {
	Idle() bool
}

// SplitRun is a run of consecutive rows of a batch that were read from one
// split, such as one Kafka partition.
type SplitRun struct {
	// Split names the split, unique within the scan (e.g. "orders-3").
	Split string
	Rows  int
}

// SplitAware is an optional interface of SourceReader for sources whose
// subtask reads several splits interleaved (Kafka partitions). It lets the
// engine generate the table's watermark per split and combine the splits'
// watermarks by their minimum, as Flink's per-split watermarks do: one
// split that lags holds back the subtask's watermark, and a split idle for
// the idle timeout is left out until it brings rows again.
//
// Contract: both are called right after Next returned a batch and describe
// that batch and the reader's state then. The slices are the caller's to
// keep: the reader must not modify them afterwards (the batch may still be
// travelling down the chain while the next Next runs).
type SplitAware interface {
	// BatchSplits covers the last batch, in row order, with runs of rows
	// of one split each; the runs' rows sum to the batch's.
	BatchSplits() []SplitRun
	// AssignedSplits lists the splits the reader reads now, so that an
	// assigned split that has brought no row yet also holds back the
	// watermark, and a finished one no longer does.
	AssignedSplits() []string
}

// SplitBacklogReporter is an optional interface of SourceReader for
// sources that know how many records of each split remain to be read:
// Kafka's consumer lag, the records between a partition's next offset and
// its high watermark. The runtime shows the backlog in the job's metrics,
// per split and summed as the source's pendingRecords (Flink's FLIP-33
// metric).
//
// Contract: called right after Next returned a batch, on the goroutine
// that calls Next; it sets into (cleared by the caller) the backlog of
// every split it knows one for, as of that batch.
type SplitBacklogReporter interface {
	SplitBacklog(into map[string]int64)
}

// ErrorCountReporter is an optional interface of SourceReader for sources
// that skip malformed records instead of failing (a format's
// ignore-parse-errors option). The runtime shows the count in the job's
// metrics as numRecordsInErrors (Flink's FLIP-33 metric).
//
// Contract: called right after Next returned, on the goroutine that calls
// Next; it returns the records skipped since the reader was created.
type ErrorCountReporter interface {
	RecordsInErrors() int64
}

// SinkFactory creates writers for tables used as sinks.
type SinkFactory interface {
	Factory
	// ValidateSink checks a table at planning time and reports what the
	// sink accepts.
	ValidateSink(t TableInfo) (SinkProperties, error)
	CreateWriter(spec SinkSpec, ctx ReaderContext) (SinkWriter, error)
}

// SinkProperties are what the planner needs to know about a sink.
type SinkProperties struct {
	// AcceptsUpdates is true for sinks that take -U/+U/-D rows (print,
	// upsert sinks); an append-only sink fed an updating query is a
	// planning error.
	AcceptsUpdates bool
	// SupportsOverwrite is true for sinks that accept INSERT OVERWRITE
	// (Flink's SupportsOverwrite); they receive SinkSpec.Overwrite.
	SupportsOverwrite bool
	// OverwriteInBatchOnly refuses INSERT OVERWRITE in streaming mode, as
	// Flink's filesystem sink does.
	OverwriteInBatchOnly bool
	// RequiresUpdateBefore is true for sinks that need each update as a
	// -U/+U pair (retract mode) rather than an upsert by key: Flink's
	// ON CONFLICT clause applies only to upsert sinks.
	RequiresUpdateBefore bool
	// DropsUpdateBefore is true for sinks that take no -U rows whatever
	// their keys, as Flink's blackhole sink (its changelog mode is the
	// requested one without UPDATE_BEFORE): the planner leaves the -U
	// rows out where every producer can, else sends them anyway.
	DropsUpdateBefore bool
	// DeletesByKey is true for sinks with a primary key that apply a -D by
	// its key columns alone (Flink's 'sink.supports-delete-by-key'), so
	// deletes may carry only the key: the planner then feeds them an
	// upsert source's changelog without normalizing it.
	DeletesByKey bool
}

// SinkSpec is the serializable description of a sink.
type SinkSpec struct {
	Table TableInfo `json:"table"`
	// Overwrite is set for INSERT OVERWRITE: the job's rows replace what
	// the table held.
	Overwrite bool `json:"overwrite,omitempty"`
	// StaticPartition holds the values of INSERT ... PARTITION (k = v) by
	// partition column, as strings: an overwrite replaces that partition
	// even when the query gives no rows.
	StaticPartition map[string]string `json:"staticPartition,omitempty"`
}

// SinkWriter consumes the batches of one parallel subtask of a sink.
//
// Contract: Write borrows b for the call. Finish is called once at the end
// of bounded input and must make everything written durable/visible
// (a TwoPhaseCommitWriter's durable only: see there).
// Close releases resources, is idempotent, and is called after Finish or
// on failure (then without Finish).
type SinkWriter interface {
	Write(b arrow.RecordBatch) error
	Finish() error
	Close() error
}

// SinkFlusher is implemented by sink writers that buffer what Write hands
// them (an asynchronous producer, an in-progress file). The runtime calls
// Flush at every checkpoint and savepoint barrier, before the snapshot, as
// Flink calls SinkWriter.flush: everything written before the barrier
// must then be durable, so that a job restarted from the checkpoint
// loses nothing (rows after it may be written twice: at-least-once).
// Writers whose Write is durable when it returns need not implement it.
type SinkFlusher interface {
	Flush() error
}

// CheckpointListener is an optional interface of SourceReader and
// SinkWriter for connectors that act in their external system once a
// checkpoint completed, Flink's CheckpointListener: a Kafka source commits
// the checkpoint's offsets to its consumer group, a transactional sink
// commits what it wrote before the checkpoint's barrier.
//
// Contract: NotifyCheckpointComplete is called some time after every
// subtask of the job acknowledged checkpoint checkpointID; a notification
// may be skipped when a later checkpoint completed meanwhile (the id tells
// which), and none comes for a checkpoint of an attempt that failed before
// it completed. A writer is called on its task's goroutine, between two
// Writes. A reader may be called while its Next runs on another goroutine
// (never with Snapshot, Restore or Close), so it must synchronize what it
// shares with Next.
type CheckpointListener interface {
	NotifyCheckpointComplete(checkpointID int64) error
}

// ProcessingTimeWriter is an optional interface of SinkWriter for writers
// that act on processing time without input, as a Flink sink writer's
// processing-time timers: the filesystem sink rolls part files open too
// long or inactive too long (its rolling policy's check interval).
//
// Contract: the sink operator calls OnProcessingTime on its task's
// goroutine between two Writes, at least every 100 ms while no input
// arrives, with the current processing time in milliseconds (the clock of
// ReaderContext.NowMillis); never after Finish or Close.
type ProcessingTimeWriter interface {
	OnProcessingTime(nowMillis int64) error
}

// WatermarkWriter is an optional interface of SinkWriter for writers that
// act on event time, as the filesystem sink's partition-time commit
// trigger: the sink operator calls OnWatermark with each watermark its
// input advances to (milliseconds), on its task's goroutine between two
// Writes, never after Finish or Close.
type WatermarkWriter interface {
	OnWatermark(ms int64) error
}

// JobCommitter is implemented by the factory of a sink that commits, for
// the sink as a whole, what its subtasks' transactions made complete:
// Flink runs such a step in a committer of parallelism 1 after the
// writers (the filesystem sink's PartitionCommitter, which commits
// partitions, and its batch FileSystemCommitter, which overwrites).
//
// Contract: the JobManager calls CommitJob with the sink's states of all
// its subtasks (what they snapshotted, or finished with): when checkpoint
// id completes, with that id, before the tasks learn of it; with
// RestoredStates for the states of the checkpoint or savepoint a job is
// restored from, before it runs; and with EndOfInput for the final states
// when every subtask finished and the job ends (not when it stops with a
// savepoint). A nil state is a subtask's without one. CommitJob must be
// idempotent, since the same states may come again, and may run
// concurrently with writers committing their own transactions. An error
// at a checkpoint keeps the tasks from learning that it completed, and the
// next checkpoint tries again; at a restore or at the end it fails the
// job.
type JobCommitter interface {
	CommitJob(spec SinkSpec, checkpoint int64, states [][]byte) error
}

// RestoredStates is the checkpoint of a JobCommitter's CommitJob call for
// the states a job is restored from: everything they hold is committed,
// as a writer's Recover commits it.
const RestoredStates int64 = math.MinInt64

// CheckpointSnapshotter is an optional interface of SourceReader whose
// state is tied to the checkpoint it is taken for (Flink's
// SourceReader.snapshotState(checkpointId)), such as the offsets a Kafka
// reader commits when that checkpoint completes: at a checkpoint's barrier
// the runtime calls SnapshotCheckpoint instead of Snapshot (savepoints
// still call Snapshot).
type CheckpointSnapshotter interface {
	SnapshotCheckpoint(checkpointID int64) ([]byte, error)
}

// TwoPhaseCommitWriter is an optional interface of SinkWriter for sinks
// that write exactly-once through transactions committed on checkpoints
// (Flink's TwoPhaseCommittingSink with a StatefulSinkWriter, such as the
// Kafka sink's 'exactly-once' delivery). Rows written between two barriers
// go into one transaction, invisible to readers until it commits. Its
// factory must implement FinishedCommitter.
//
// Contract: PreCommit is called at every checkpoint or savepoint barrier
// (checkpointID 0 for a savepoint), after SinkFlusher.Flush and before the
// sink's snapshot: it makes the open transaction durable without
// committing it, starts the next one for the rows after the barrier and
// returns the writer's state, everything a restored writer needs to commit
// the transactions pre-committed so far and not committed yet.
// NotifyCheckpointComplete (CheckpointListener) commits the transactions
// pre-committed at checkpoints up to its id. Recover is called at most
// once, after the writer was created and before any Write, with the state
// of the checkpoint (or savepoint) the job restores from: a completed
// checkpoint, so the writer commits the state's transactions, and it
// aborts those a failed attempt left open after it.
//
// At the end of bounded input the runtime calls Finish, which makes every
// row durable and commits nothing, then PreCommit(EndOfInput), which
// pre-commits the last transaction, opens no other and returns the state
// of every transaction still pending: the subtask's final state. The
// writer commits none of them itself (it is closed after the call). As in
// Flink (FLIP-147) they are committed only once the subtask is recorded
// as finished for good: the JobManager hands the final state to the
// factory's FinishedCommitter when a checkpoint that records the subtask
// as finished with that state completes, when a job is restored from such
// a checkpoint, or when the whole job finished. Until then a failure of
// another subtask restores this one from its latest checkpoint, and its
// final transactions are aborted with the others of the failed attempt.
type TwoPhaseCommitWriter interface {
	SinkWriter
	CheckpointListener
	PreCommit(checkpointID int64) ([]byte, error)
	Recover(state []byte) error
}

// EndOfInput is the checkpoint id of TwoPhaseCommitWriter.PreCommit at the
// end of bounded input (Flink's end-of-input committables carry
// Long.MAX_VALUE): later than every checkpoint, so no
// NotifyCheckpointComplete commits what it pre-commits.
const EndOfInput int64 = math.MaxInt64

// SupportsRescaledRecovery is an optional interface of the factory of a
// sink whose TwoPhaseCommitWriters can recover other subtasks' states, as
// Flink redistributes a sink's committables when a job is rescaled: when
// a job restores the sink at another parallelism, the state of old
// subtask j goes to new subtask j mod n, whose writer's Recover is called
// once for each state dealt to it. The writer commits every state's
// transactions and cleans up after each old subtask; it may go on under
// the identity of the old subtask of its own index. A sink without it
// refuses such a restore when its subtasks hold state.
type SupportsRescaledRecovery interface {
	SupportsRescaledRecovery() bool
}

// FinishedCommitter is implemented by the factory of a sink whose writers
// are TwoPhaseCommitWriters: it commits the transactions of a finished
// subtask's final state (what PreCommit(EndOfInput) returned) without the
// writer, which is gone, as Flink's Committer commits end-of-input
// committables. The JobManager calls it from its own goroutines, possibly
// more than once for the same state (again when a job is restored from a
// checkpoint that recorded the subtask as finished) and concurrently for
// different subtasks: committing a transaction that was already committed
// must succeed.
type FinishedCommitter interface {
	CommitFinished(spec SinkSpec, state []byte) error
}

var (
	mu      sync.RWMutex
	sources = map[string]SourceFactory{}
	sinks   = map[string]SinkFactory{}
	all     = map[string]Factory{}
)

// Internal is implemented by a factory that backs the engine's own tables
// (a server's materialized views) rather than tables users declare;
// Identifiers leaves it out.
type Internal interface {
	Internal() bool
}

// Register adds a connector factory; it panics on duplicates because that is
// a programming error at init time. A factory may be a source, a sink, or both.
func Register(f Factory) {
	mu.Lock()
	defer mu.Unlock()
	id := f.Identifier()
	if _, dup := all[id]; dup {
		panic(fmt.Sprintf("connector: %q registered twice", id))
	}
	all[id] = f
	if s, ok := f.(SourceFactory); ok {
		sources[id] = s
	}
	if s, ok := f.(SinkFactory); ok {
		sinks[id] = s
	}
}

// Lookup finds a registered factory by identifier.
func Lookup(id string) (Factory, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := all[id]
	return f, ok
}

// Source finds a registered source factory.
func Source(id string) (SourceFactory, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := sources[id]
	return f, ok
}

// Sink finds a registered sink factory.
func Sink(id string) (SinkFactory, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := sinks[id]
	return f, ok
}

// Identifiers lists the registered connectors, sorted.
func Identifiers() []string {
	mu.RLock()
	defer mu.RUnlock()
	ids := make([]string, 0, len(all))
	for id, f := range all {
		if in, ok := f.(Internal); ok && in.Internal() {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
