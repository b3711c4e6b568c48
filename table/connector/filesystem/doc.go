// Package filesystem is Flink's 'filesystem' connector: a bounded source
// that reads the files under a path and a sink that writes part files into
// a directory, both in the csv or json format (package format/csv and
// format/json, whose options it accepts: csv.* with format 'csv', json.*
// with format 'json').
//
//	path                          required: a file or a directory
//	format                        required: csv | json
//	sink.rolling-policy.file-size MemorySize, default 128mb
//
// The source lists the regular files below path in name order, skipping
// names that start with '.' or '_' (in-progress and metadata files, as
// Flink does), and subtask i of p reads files i, i+p, i+2p, ... It decodes
// only the projected columns. Its snapshot is the current file and the rows
// emitted from it. A malformed record fails the scan with "file:line"
// unless the format's ignore-parse-errors option is set, in which case it is
// skipped and counted.
//
// Each sink subtask writes part-<uuid>-<subtask>-<n>.<format> files. A part
// file is written under the hidden name .part-...inprogress and renamed
// when it reaches the rolling size or when the input ends (Finish), so a
// reader of the directory never sees a partial file; Close without Finish
// deletes it. The sink is append-only.
package filesystem
