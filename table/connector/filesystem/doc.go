// Package filesystem is Flink's 'filesystem' connector: a bounded source
// that reads the files under a path and a sink that writes part files into
// a directory, both in the csv, json or parquet format (packages
// format/csv, format/json and format/parquet, whose options it accepts:
// csv.* with format 'csv', json.* with format 'json', parquet.* with
// format 'parquet').
//
//	path                                    required: a file or a directory
//	format                                  required: csv | json | parquet | debezium-json |
//	                                        canal-json | maxwell-json | ogg-json
//	sink.rolling-policy.file-size           MemorySize, default 128mb
//	sink.rolling-policy.rollover-interval   Duration, default 30 min
//	sink.rolling-policy.inactivity-interval Duration, default 30 min
//	sink.rolling-policy.check-interval      Duration, default 1 min
//	partition.default-name                  default __DEFAULT_PARTITION__
//
// The source lists the regular files below path in name order, skipping
// names that start with '.' or '_' (in-progress and metadata files, as
// Flink does), and subtask i of p reads files i, i+p, i+2p, ... It decodes
// only the projected columns. Its snapshot is its splits, as in Flink's
// FileSource: the files it has left, relative to path, with the rows it
// read of the current one, so a restored reader reads those files and no
// others, and the source rescales (connector.SupportsRescaling): at
// another parallelism the splits all the old readers had left are dealt
// out to the new ones in turn. A malformed record fails the scan with
// "file:line" unless the format's ignore-parse-errors option is set, in
// which case it is skipped and counted.
//
// # Changelog formats
//
// The source also reads files of change events, one a line, in Flink's
// changelog JSON formats (changelog.go): format debezium-json,
// canal-json, maxwell-json or ogg-json, with that format's options
// (package format/cdcjson declares them, for kafka and here alike). Such
// a table is an updating source (connector.RetractChangelog), its
// batches ending in the connector.RowKindColumn: inserts are +I rows,
// updates a -U/+U pair, deletes -D. An event makes any number of rows
// (canal's one per row image, none for one the include filters skip), so
// the position a snapshot records in the current file counts lines, not
// rows, and a restored reader skips the lines without decoding them; an
// event is never split across batches. The formats' own metadata (a
// debezium event's source table, ...) are not offered.
//
// The sink writes these formats too, with the encoders of package cdcjson
// that the kafka sink uses: it accepts the format's changelog mode, as
// Flink's FileSystemTableSink, so an updating query (a GROUP BY) can be
// inserted into it. Each row becomes one event a line, +I and +U rows
// inserts, -U and -D rows deletes (an update is a -U/+U pair:
// connector.SinkProperties.RequiresUpdateBefore), so the source reading
// the files back in the same format materializes the same table. They
// are row formats like json: part files, rolling, the commit on
// checkpoints, partitioning and rescaling are the same. In csv, json and
// parquet the sink stays append-only.
//
// # Metadata columns
//
// In every format the source offers Flink's metadata of the file a row
// was read from (metadata.go), read only (declared VIRTUAL; the sink
// writes none):
//
//	file.path               STRING NOT NULL: the file's full path
//	file.name               STRING NOT NULL: its last path element
//	file.size               BIGINT NOT NULL: its size in bytes
//	file.modification-time  TIMESTAMP_LTZ(3) NOT NULL: its modification time
//
// They follow the projected (and partition) columns, in the table's
// order. Each is one value per file, stat'ed when the file is opened
// (again when a restored reader reopens it), which each batch repeats as
// a whole column.
//
// Each sink subtask writes part-<uuid>-<subtask>-<n>.<format> files, with
// the part file lifecycle of Flink's FileSink (commit.go). A part file is
// in progress while written, under the hidden name .part-...inprogress.
// It rolls (is closed, synced and becomes pending, still hidden) when it
// reaches sink.rolling-policy.file-size, when it has been open for the
// rollover interval or not written to for the inactivity interval (both
// checked every check interval, on processing-time wake-ups of the sink),
// at the end of the input, and, in parquet only, at every checkpoint or
// savepoint barrier. A pending file is committed (finished) by its rename
// to the final name, after which readers see it:
//
//   - Without checkpointing, at once: files become visible as they roll
//     and at the end of the input, as in a batch job. A failure that
//     restarts the job from scratch writes every row again.
//   - With execution.checkpointing.interval, the sink is exactly-once, a
//     connector.TwoPhaseCommitWriter: a pending file is committed once a
//     checkpoint whose barrier came after its roll completed, and a
//     finished subtask's last files once the JobManager recorded it as
//     finished (connector.FinishedCommitter). The sink's state in a
//     checkpoint is its uuid, the files pending then and those in
//     progress with their persisted lengths; a writer restored from it
//     commits the pending ones (a file committed already is fine),
//     truncates those in progress to their lengths and writes on in them,
//     deletes the other hidden files its subtask's failed attempts wrote
//     after the checkpoint (those of its own uuid and subtask only, so
//     that other jobs writing the directory are left alone) and goes on
//     with that uuid. Rows written after the checkpoint were in files that
//     never became visible, or past the persisted lengths, and are written
//     once again. The files of a savepoint are committed, or resumed, by a
//     job restored from it.
//
// In csv, json and the changelog formats, whose files are complete after
// every row, a barrier does not roll the files in progress, as Flink's
// TableRollingPolicy for row formats: it persists them (flushed and
// synced, their lengths in the checkpoint) and they go on growing until
// the rolling policy rolls them, so a part file spans many checkpoints
// (with Flink's defaults, one per 30 minutes per subtask and partition
// however often checkpoints are taken). Such a file is visible once
// rolled and committed. A file in progress that the checkpoint recorded
// and that is gone, or shorter than its persisted length, fails the
// restore, as in Flink. Close without Finish deletes the files in
// progress never persisted; a failed attempt leaves the persisted ones
// and its pending files hidden, as Flink does, for the restored writer.
// Restored at another parallelism, each new writer commits the pending
// files of the old subtasks' states dealt to it
// (connector.SupportsRescaledRecovery), resumes the files in progress of
// the state of its own index, commits, truncated, those of the others,
// and deletes their leftovers.
//
// # Partitions
//
// A table with PARTITIONED BY (k1, k2, ...) keeps each partition in its
// own Hive-style directory path/k1=v1/k2=v2/, as Flink does: the files
// hold the other columns only, the sink writes each row into the
// directory of its partition values, and the source reads the values back
// from the directories of the files it lists. A sink subtask keeps a part
// file open per partition it writes to, at most 32: opening another
// rolls the one written to least recently. Every partition's files follow
// the lifecycle above. Values are written as text, escaped
// as Flink's PartitionPathUtils escapes them (':' becomes %3A), and a NULL
// or blank value as partition.default-name. Partition columns may be
// CHAR, VARCHAR, integers, BOOLEAN or DATE.
//
// Partitions commit as in Flink (partition_commit.go): with
// sink.partition-commit.policy.kind = 'success-file', a partition gets an
// empty _SUCCESS file (sink.partition-commit.success-file.name) once its
// trigger fires and its files of that checkpoint are committed (at a
// checkpoint the writers roll the files in progress of the partitions
// whose trigger fires, as Flink's StreamingFileWriter, and a partition
// with a file still in progress does not commit):
// 'process-time' once the processing time passes the time it was first
// written plus sink.partition-commit.delay, 'partition-time' once the
// least watermark of the sink's subtasks passes the time extracted from
// its values (partition.time-extractor.timestamp-pattern and
// -formatter, in sink.partition-commit.watermark-time-zone) plus the
// delay; and every partition written commits when the job ends (in batch
// mode, at its end). The JobManager commits them for the whole sink
// (connector.JobCommitter) from the subtasks' states of each completed
// checkpoint: each lists the partitions its writer wrote to and has not
// seen committed, and its watermark. The 'metastore' policy is Hive's and
// an error here, as in Flink; 'custom' policies and time extractors need
// Java classes, and are errors too. sink.shuffle-by-partition.enable is
// accepted and ignored.
//
// # INSERT OVERWRITE
//
// In batch mode, as in Flink (streaming refuses it), an overwrite's part
// files stay hidden until the job ends; then CommitJob removes what they
// replace, the whole table when it is not partitioned, else each
// partition the job wrote to and the static partition of INSERT ...
// PARTITION when it names every partition column (emptied even when the
// query gives no rows), and commits them.
//
// # Parquet
//
// Parquet is a bulk format (encode.go): a part file's rows are buffered
// in a row group, written out when the row group reaches
// parquet.block.size, and the file gets its footer when it rolls. A file
// is thus complete only once rolled, which part files are at every
// checkpoint barrier, as under Flink's OnCheckpointRollingPolicy (the
// policy of its bulk formats), and by size, counting the row groups
// written. The source reads only the projected columns of each file, a
// batch at a time, matching columns by name (a column the file lacks
// reads as NULL; see format/parquet for the type mapping), and a
// restored reader seeks to its row instead of decoding the rows before
// it.
package filesystem
