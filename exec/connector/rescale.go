package connector

// SupportsRescaling is implemented by the source factories whose readers
// keep their position per split (Kafka: the next offset of each
// partition) and pick the splits of their subtask themselves, so that a
// job restores them at another parallelism as Flink reassigns splits:
// every reader of the rescaled source is restored from the snapshots of
// all the old readers, one SourceReader.Restore call each, in old subtask
// order, before its first Next. It resumes the splits it is assigned at
// their restored positions and leaves the other splits out of its later
// snapshots, so that each split's position is held by one reader. The
// readers of other sources refuse a restore at another parallelism.
type SupportsRescaling interface {
	// SupportsRescaling reports whether the readers restore as above.
	SupportsRescaling() bool
}
