// Package filesystem is Flink's 'filesystem' connector: a bounded source
// that reads the files under a path and a sink that writes part files into
// a directory, both in the csv or json format (package format/csv and
// format/json, whose options it accepts: csv.* with format 'csv', json.*
// with format 'json').
//
//	path                          required: a file or a directory
//	format                        required: csv | json
//	sink.rolling-policy.file-size MemorySize, default 128mb
//	partition.default-name        default __DEFAULT_PARTITION__
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
// Each sink subtask writes part-<uuid>-<subtask>-<n>.<format> files. A part
// file is written under the hidden name .part-...inprogress and renamed
// when it reaches the rolling size or when the input ends (Finish), so a
// reader of the directory never sees a partial file; Close without Finish
// deletes it. The sink is append-only.
//
// # Partitions
//
// A table with PARTITIONED BY (k1, k2, ...) keeps each partition in its
// own Hive-style directory path/k1=v1/k2=v2/, as Flink does: the files
// hold the other columns only, the sink writes each row into the
// directory of its partition values, and the source reads the values back
// from the directories of the files it lists. A sink subtask keeps a part
// file open per partition it writes to, at most 32: opening another
// commits the one written to least recently. Values are written as text, escaped
// as Flink's PartitionPathUtils escapes them (':' becomes %3A), and a NULL
// or blank value as partition.default-name. Partition columns may be
// CHAR, VARCHAR, integers, BOOLEAN or DATE.
//
// Flink's partition commit (sink.partition-commit.*), time extraction
// (partition.time-extractor.*), time-based rolling
// (sink.rolling-policy.rollover-interval, check-interval,
// inactivity-interval) and sink.shuffle-by-partition.enable options are
// accepted so that Flink DDL runs unchanged, and ignored: there is no
// metastore and no success file, and part files become visible when they
// reach the rolling size or the input ends, the same moments for every
// partition.
package filesystem
