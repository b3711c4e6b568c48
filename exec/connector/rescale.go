package connector

// SupportsRescaling is implemented by the source factories whose readers
// keep their position per split and pick the splits of their subtask
// themselves (Kafka: the next offset of each partition; datagen: the row
// positions each reader still owes; filesystem: the files each reader has
// left; nexmark: the event numbers each reader still owes), so that a job restores them at another parallelism as Flink
// reassigns splits: every reader of the rescaled source is restored from
// the snapshots of all the old readers, one SourceReader.Restore call
// each, in old subtask order, before its first Next. It resumes the
// splits it is assigned at their restored positions and leaves the other
// splits out of its later snapshots, so that each split's position is
// held by one reader. The readers of other sources refuse a restore at
// another parallelism.
type SupportsRescaling interface {
	// SupportsRescaling reports whether the readers restore as above.
	SupportsRescaling() bool
}

// RescaledStateChecker is an optional interface of a SupportsRescaling
// factory whose older snapshots cannot be redistributed (taken before its
// readers rescaled). Before a job restores the source at another
// parallelism, CheckRescaledState is called with each old reader's
// snapshot; an error refuses the restore at submission, naming the
// operator, its vertex and both parallelisms.
type RescaledStateChecker interface {
	CheckRescaledState(state []byte) error
}

// FinishedReaderSnapshotter is an optional interface of a
// SupportsRescaling factory whose bounded readers can tell that a reader
// had finished. A subtask that had finished before the savepoint leaves
// no snapshot (its splits are done; Flink does not reassign finished
// splits), so when a job restores a source vertex at another parallelism
// while only some of its old subtasks had finished, the runtime hands the
// new readers, in the place of each finished old reader's snapshot, the
// one FinishedReaderSnapshot returns for it: a snapshot that owes
// nothing. A source without it refuses such a restore: its new readers
// would read a finished reader's splits again from the start.
type FinishedReaderSnapshotter interface {
	// FinishedReaderSnapshot is the snapshot of reader subtask of
	// parallelism readers of spec that has finished all its splits.
	FinishedReaderSnapshot(spec ScanSpec, subtask, parallelism int) ([]byte, error)
}
