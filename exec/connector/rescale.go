package connector

// SupportsRescaling is implemented by the source factories whose readers
// keep their position per split and pick the splits of their subtask
// themselves (Kafka: the next offset of each partition; datagen: the row
// positions each reader still owes; filesystem: the files each reader has
// left), so that a job restores them at another parallelism as Flink
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
