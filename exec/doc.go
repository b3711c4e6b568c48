// Package exec is Eddy's runtime: it runs the JobGraphs the optimizer
// produces as parallel subtasks of vectorized Arrow operators.
//
// # Shape
//
//	JobGraph ──Submit──▶ JobManager ──descriptor bytes──▶ TaskManager slot ──▶ task goroutine
//	                                                                          └─ operator chain
//
// A JobGraph is vertices (chains of OperatorSpecs, each run as Parallelism
// subtasks) joined by edges that say how rows move between the subtasks of
// neighbouring vertices (Forward, Hash, Rebalance, Broadcast, Global).
//
// The JobManager validates the graph, reserves one slot per subtask index
// of its widest vertex (slot sharing, as Flink's default: slot i runs
// subtask i of every vertex, so a job of parallelism P needs P slots; with
// too few free slots Submit waits up to SubmitOptions.SlotRequestTimeout
// for running jobs to free theirs, then fails with ErrNotEnoughSlots), and
// deploys every subtask as a serialized
// TaskDeploymentDescriptor to TaskManager.SubmitTask. The descriptor names
// the subtask's channels (job, edge, producer, consumer) instead of
// carrying them, and the TaskManager opens them through its ShuffleService;
// so an EmbeddedCluster, whose TaskManagers share an in-process
// EmbeddedShuffle, takes the same path remote TaskManagers will.
//
// The TaskManager instantiates the operators of the chain from the
// registry by Kind (RegisterOperator, RegisterSource) and runs the task in
// a goroutine. Tasks report RUNNING and then FINISHED, FAILED or CANCELED to
// the JobManager; the first failure fails the job with that task's error
// (which names the operator) and cancels the job's other tasks, unless the
// job's restart strategy restarts it (see Checkpoints and failover). When
// every task has stopped, the JobManager releases the job's slots and
// channels.
//
// # Inside a task
//
// Operators of one chain call each other directly through Output; there are
// no channels inside a chain. The head of a vertex without inputs is a
// SourceOperator that the task pulls; at io.EOF the task emits
// MaxWatermark and ends the chain's input. Other heads are fed from the
// task's input channels: the task reads whichever channel is ready, tracks
// a watermark per channel and delivers to each input the minimum over its
// channels when it advances, and ends input i when all its channels ended.
// A two-input head that buffers one input until the other's watermark
// catches up (InputSelectingOperator: the window join) makes the task stop
// reading the input that runs ahead, so its state stays bounded when two
// sources progress at different speeds.
//
// Between vertices, bounded channels (ChannelCapacity elements) carry
// batches, watermarks and end-of-input in-band, in order; a full channel
// blocks its producer, which is how backpressure reaches the sources. The
// output side of a task partitions each batch over the edge's channels
// (hashing key columns vectorized for Hash edges) and broadcasts watermarks
// and end-of-input to all of them.
//
// # Idleness
//
// A stream that brings no rows for a while must not hold back event time
// downstream (Flink's WatermarkStatus). The watermark assigner chained
// after a source marks its output idle after its idle timeout
// (table.exec.source.idle-timeout, or the table's
// scan.watermark.idle-timeout) without rows, and at once when the source
// reader has no split (connector.IdleAware); its next row makes it active
// again. The status travels in-band as ElementWatermarkStatus, sent only on
// change. A consuming task leaves idle channels out of an input's minimum;
// a channel that comes back rejoins it only once its watermark caught up,
// so watermarks never go back; an input whose open channels are all idle
// is idle, and a task whose inputs are all idle forwards the idle status.
// Operators chained after a source are woken every ProcessingTimeInterval
// like other tasks' operators: the source's reader then runs in a
// goroutine of its own that hands batches to the task one at a time.
//
// # Savepoints
//
// Job.StopWithSavepoint stops a job at a consistent point (Flink's
// stop-with-savepoint without drain; Job.DrainWithSavepoint drains: each
// source sends MaxWatermark before its barrier, so event-time windows and
// timers fire first): the JobManager asks every source
// task to stop pulling (TaskManagerGateway.TriggerSavepoint); each
// snapshots its reader and sends ElementSavepoint after the last batch it
// emitted. A task that has received the barrier on every input channel
// that has not ended (it stops reading a channel after its barrier:
// aligned, like checkpoint barriers) first lets the operators of its chain
// that buffer input (PreSnapshotOperator: a mini-batch aggregate's bundle)
// emit what they hold, head first, then snapshots each operator of its
// chain, forwards the barrier and finishes without EndInput. The snapshots travel
// to the JobManager on the tasks' FINISHED reports and form a Savepoint:
// per (vertex, subtask, chain position) the operator's bytes, plus the
// JobGraph. JobManager.SubmitWithOptions with SubmitOptions.Restore
// deploys every subtask with its state, restored after Open and before any
// input. A vertex may be restored at another parallelism (Flink's
// rescaling from a savepoint or retained checkpoint): keyed state moves by
// key group, each new subtask restoring the snapshots of the old subtasks
// whose key groups intersect its own, one Restore call each, and keeping
// the keys it owns. pipeline.max-parallelism (MaxParallelismKey, 128 key
// groups) is recorded in the savepoint and must not change. The readers
// of a source that keeps its position per split
// (connector.SupportsRescaling: Kafka, datagen, filesystem, nexmark) each
// restore every old reader's snapshot and keep the splits they own now;
// where some old readers had finished, their splits are done and the new
// readers get a snapshot that owes nothing in their place
// (connector.FinishedReaderSnapshotter: Kafka, datagen, filesystem,
// nexmark; a finished subtask with final sink transactions is refused).
// Other state that is not keyed (other sources' positions, a
// two-phase-commit sink's transactions unless its connector recovers
// other subtasks' (connector.SupportsRescaledRecovery: the filesystem and
// Kafka sinks), a sort, a batch over-aggregate) makes a rescaled restore
// fail at submission with an error naming the operator and vertex; see
// Savepoint.
//
// # Checkpoints and failover
//
// With execution.checkpointing.interval set (CheckpointConfigFrom reads
// Flink's options from JobGraph.Config at submission; an invalid value
// fails Submit) the JobManager triggers checkpoint n+1 every interval,
// at most one at a time: TaskManagerGateway.TriggerCheckpoint asks every
// running source task to snapshot its chain between two batches (a reader
// waiting for data has its Next interrupted, then pulled again) and send
// ElementCheckpointBarrier after the last batch before it. Other tasks
// align the barrier as they align a savepoint's (a channel is not read
// after its barrier until every channel that has not ended delivered it),
// let PreSnapshotOperators flush, flush their sinks' writers
// (connector.SinkFlusher), snapshot, forward the barrier and go on. Each
// task acknowledges with its snapshot (CheckpointResponder); checkpoint n
// completes when every subtask acknowledged it or has finished (a
// finished subtask holds no state but its final state and is restored as
// finished, as in Flink's checkpoints after tasks finished, FLIP-147). The latest
// completed checkpoint (Job.LatestCheckpoint) is kept in memory or, when
// written in the savepoint format to execution.checkpointing.dir (alias
// state.checkpoints.dir) as <dir>/<job id>/chk-<n>/ when set (_metadata,
// the JSON, and _state, the operators' state bytes streamed raw beside
// it: checkpoint_file.go), only there, read back for a restart; then
// the tasks are notified (CheckpointListener). A checkpoint that has
// not completed after execution.checkpointing.timeout is aborted; a task
// that sees the barrier of a later checkpoint abandons the alignment of
// the earlier one.
//
// When a task fails, the job's restart strategy (restart-strategy.type:
// none, fixed-delay, failure-rate, exponential-delay; exponential-delay
// when checkpointing is on and none is set, as in Flink) decides. A
// restart cancels every task of the job (RESTARTING), releases its
// channels and, after the strategy's delay, redeploys the same graph into
// the job's slots, every subtask restored from the latest completed
// checkpoint (from the job's initial state when none completed): sources
// resume from their positions, keyed state from the snapshot. When the
// strategy gives up, the job FAILS with the task's error. Result streams
// stay open across restarts. Collect outputs are exactly-once: a collect
// operator holds its rows until the checkpoint after them completed, keeps
// the held rows in its checkpoint state, and numbers what it delivers so
// that its ResultStream drops what an earlier attempt delivered
// (op_collect.go). Sinks are at-least-once unless their connector
// commits at checkpoints (connector.TwoPhaseCommitWriter: Kafka's
// transactions, the filesystem sink's part files): rows written
// after the checkpoint and before the failure are written again.
//
// A transactional sink commits a subtask's last rows only once the
// subtask is finished for good (FLIP-147): at the end of its input the
// writer pre-commits its last transaction (PreCommit(connector.EndOfInput))
// and the sink's state then is the subtask's final state, which the
// FINISHED report (TaskStateUpdate.Final) carries to the JobManager. A
// checkpoint that completes after the subtask finished records it as
// finished with that state (SubtaskState.Finished with its sinks' states),
// and its completion commits the state through the sink factory's
// connector.FinishedCommitter; a job restored from such a checkpoint (or
// savepoint) keeps the subtask finished (its sinks do not act) and commits
// the state again, which the committer must allow; when the whole job
// finishes (or stops with a savepoint) every final state not committed yet
// is committed before it reports FINISHED, and a commit that fails fails
// the job. If another subtask fails before a checkpoint recorded this one
// as finished, the restart runs this one again from its latest checkpoint
// and its final transactions are aborted with the rest of the failed
// attempt's, so no row is committed twice. A checkpoint that completes
// after the job restarted no longer becomes the latest one. Job.CheckpointStats counts
// restarts and checkpoints. A remote JobManager (JobManagerService) runs
// the same coordinator, the options travelling in the graph's Config.
//
// # Batch ownership
//
// A source's Next returns a batch the task owns; the task releases it after
// the chain has seen it. Operators borrow the batches they are given
// (Operator contract) and release what they emit after Emit returns. A
// channel holds its own reference to each batch in it (a Retain per
// channel, or a new batch from a hash split), which the consuming task
// releases after processing; batches stranded in channels by a failure are
// released when the job's channels are released. Collect operators hand
// retained batches to the client through Job.Results: the client owns and
// releases them.
//
// Batch sizes come from the job option BatchSizeKey (DefaultBatchSize).
// Operators count nothing themselves: the runtime keeps OperatorMetrics
// for every operator of every subtask, summed per operator by Job.Metrics.
package exec
