package kafka

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/kafka/kafkatest"
)

// auctions renders the values of the JSON rows of auctions from..to-1.
func auctions(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf(`{"auction":%d,"price":%d,"channel":"c"}`, i, i))
	}
	sort.Strings(out)
	return out
}

func auctionBatch(t testing.TB, mem memory.Allocator, from, to int) arrow.RecordBatch {
	var js []string
	for i := from; i < to; i++ {
		js = append(js, fmt.Sprintf(`{"auction": %d, "price": %d, "channel": "c"}`, i, i))
	}
	return batch(t, mem, bids.Arrow(), "["+strings.Join(js, ",")+"]")
}

func eosWriter(t *testing.T, tbl connector.TableInfo) connector.TwoPhaseCommitWriter {
	t.Helper()
	return eosWriterAt(t, tbl, 0, 1)
}

// eosWriterAt is eosWriter for subtask sub of par.
func eosWriterAt(t *testing.T, tbl connector.TableInfo, sub, par int) connector.TwoPhaseCommitWriter {
	t.Helper()
	f, _ := connector.Sink("kafka")
	_, err := f.ValidateSink(tbl)
	require.NoError(t, err)
	w, err := f.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Subtask: sub, Parallelism: par, Mem: memory.DefaultAllocator, Checkpointing: true})
	require.NoError(t, err)
	return w.(connector.TwoPhaseCommitWriter)
}

// TestExactlyOnceWriter drives a transactional writer through
// checkpoints, a crash and a restore: rows become visible to read_committed
// readers only when their checkpoint completes, the restored writer
// commits the pre-committed transaction of its state and aborts the one
// the crashed writer left open, and the replayed rows appear once.
func TestExactlyOnceWriter(t *testing.T) {
	_, addr := cluster(t, 2, "out")
	mem := memoryChecked(t)
	tbl := table(addr, bids, "topic", "out", "format", "json", "sink.delivery-guarantee", "exactly-once",
		"sink.transactional-id-prefix", "eos-test", "sink.partitioner", "round-robin")
	write := func(w connector.SinkWriter, from, to int) {
		b := auctionBatch(t, mem, from, to)
		defer b.Release()
		require.NoError(t, w.Write(b))
	}

	w := eosWriter(t, tbl)
	write(w, 0, 10)
	_, err := w.PreCommit(1)
	require.NoError(t, err)
	write(w, 10, 20)
	require.Empty(t, kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()), "nothing committed before checkpoint 1 completes")
	require.NoError(t, w.NotifyCheckpointComplete(1))
	require.Equal(t, auctions(0, 10), kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()))
	state2, err := w.PreCommit(2)
	require.NoError(t, err)
	write(w, 20, 30)
	require.NoError(t, w.(connector.SinkFlusher).Flush())
	// The job fails before checkpoint 2's notification: rows 10..19 are
	// pre-committed, rows 20..29 in the open transaction.
	require.NoError(t, w.Close())
	require.Equal(t, auctions(0, 10), kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()))

	// The restart restores checkpoint 2 and replays rows 20..29; at the
	// end of input they are pre-committed, and committed only through
	// the factory once the subtask is recorded as finished.
	w = eosWriter(t, tbl)
	require.NoError(t, w.Recover(state2))
	write(w, 20, 30)
	final := finishWriter(t, w)
	require.Equal(t, auctions(0, 20), kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()), "the last transaction waits for the subtask to be recorded as finished")
	commitFinished(t, tbl, final)
	require.Equal(t, auctions(0, 30), kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()))
	// Committing a final state again (a restore from the checkpoint that
	// recorded the subtask as finished) is harmless.
	commitFinished(t, tbl, final)
	// read_uncommitted also sees the crashed attempt's aborted rows.
	require.Equal(t, append(auctions(0, 30), auctions(20, 30)...), readSortedDup(t, addr))

	// Recovering a state whose transactions were committed is harmless.
	w = eosWriter(t, tbl)
	require.NoError(t, w.Recover(state2))
	commitFinished(t, tbl, finishWriter(t, w))
	require.Equal(t, auctions(0, 30), kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()))
}

// finishWriter ends a writer's input as the sink operator does: Finish,
// then PreCommit(connector.EndOfInput), whose state it returns, then Close.
func finishWriter(t *testing.T, w connector.TwoPhaseCommitWriter) []byte {
	t.Helper()
	require.NoError(t, w.Finish())
	final, err := w.PreCommit(connector.EndOfInput)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return final
}

// commitFinished commits a final state as the JobManager does.
func commitFinished(t *testing.T, tbl connector.TableInfo, final []byte) {
	t.Helper()
	f, _ := connector.Sink("kafka")
	require.NoError(t, f.(connector.FinishedCommitter).CommitFinished(connector.SinkSpec{Table: tbl}, final))
}

// readSortedDup is kafkatest.ReadValues read_uncommitted, with the aborted rows'
// duplicates listed after the first 30 rows so it compares as a list.
func readSortedDup(t *testing.T, addr string) []string {
	all := kafkatest.ReadValues(t, addr, "out", kgo.ReadUncommitted())
	seen := map[string]bool{}
	var first, dup []string
	for _, v := range all {
		if seen[v] {
			dup = append(dup, v)
			continue
		}
		seen[v] = true
		first = append(first, v)
	}
	return append(first, dup...)
}

// TestExactlyOnceLingeringAbort: a writer started without a state aborts
// the transactions an earlier attempt of the same prefix left open, so a
// read_committed reader is not held back by them.
func TestExactlyOnceLingeringAbort(t *testing.T) {
	_, addr := cluster(t, 1, "out")
	mem := memoryChecked(t)
	tbl := table(addr, bids, "topic", "out", "format", "json", "sink.delivery-guarantee", "exactly-once",
		"sink.transactional-id-prefix", "linger")
	w := eosWriter(t, tbl)
	b := auctionBatch(t, mem, 0, 5)
	require.NoError(t, w.Write(b))
	_, err := w.PreCommit(1)
	require.NoError(t, err)
	require.NoError(t, w.Write(b))
	require.NoError(t, w.(connector.SinkFlusher).Flush())
	require.NoError(t, w.Close())

	w = eosWriter(t, tbl)
	c := auctionBatch(t, mem, 5, 10)
	require.NoError(t, w.Write(c))
	commitFinished(t, tbl, finishWriter(t, w))
	b.Release()
	c.Release()
	require.Equal(t, auctions(5, 10), kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()))
}

// TestExactlyOnceRescaledRecovery: two writers pre-commit a transaction
// at a checkpoint and crash with another one open; restored at
// parallelism 1 (connector.SupportsRescaledRecovery), the one new writer
// recovers both states: it commits both pre-committed transactions and
// aborts both open ones, the removed subtask's included, so that
// read_committed readers see every row once and are not held back.
func TestExactlyOnceRescaledRecovery(t *testing.T) {
	_, addr := cluster(t, 1, "out")
	mem := memoryChecked(t)
	tbl := table(addr, bids, "topic", "out", "format", "json", "sink.delivery-guarantee", "exactly-once",
		"sink.transactional-id-prefix", "rescale")
	f, _ := connector.Sink("kafka")
	require.True(t, f.(connector.SupportsRescaledRecovery).SupportsRescaledRecovery())
	write := func(w connector.SinkWriter, from, to int) {
		b := auctionBatch(t, mem, from, to)
		defer b.Release()
		require.NoError(t, w.Write(b))
	}
	var states [][]byte
	for sub := range 2 {
		w := eosWriterAt(t, tbl, sub, 2)
		write(w, 10*sub, 10*sub+5)
		st, err := w.PreCommit(1)
		require.NoError(t, err)
		states = append(states, st)
		write(w, 100+10*sub, 100+10*sub+5)
		require.NoError(t, w.(connector.SinkFlusher).Flush())
		require.NoError(t, w.Close())
	}
	w := eosWriterAt(t, tbl, 0, 1)
	for _, st := range states {
		require.NoError(t, w.Recover(st))
	}
	write(w, 200, 205)
	commitFinished(t, tbl, finishWriter(t, w))
	want := append(append(auctions(0, 5), auctions(10, 15)...), auctions(200, 205)...)
	sort.Strings(want)
	require.Equal(t, want, kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()))
}

// TestExactlyOnceOptions: exactly-once needs a transactional id prefix
// and checkpointing.
func TestExactlyOnceOptions(t *testing.T) {
	f, _ := connector.Sink("kafka")
	tbl := table("localhost:9092", bids, "topic", "out", "format", "json", "sink.delivery-guarantee", "exactly-once")
	_, err := f.ValidateSink(tbl)
	require.ErrorContains(t, err, "'sink.transactional-id-prefix' is required when 'sink.delivery-guarantee' is 'exactly-once'")

	tbl = table("localhost:9092", bids, "topic", "out", "format", "json", "sink.transactional-id-prefix", "p")
	_, err = f.ValidateSink(tbl)
	require.ErrorContains(t, err, "'sink.transactional-id-prefix' applies only when 'sink.delivery-guarantee' is 'exactly-once'")

	tbl = table("localhost:9092", bids, "topic", "out", "format", "json", "sink.delivery-guarantee", "exactly-once",
		"sink.transactional-id-prefix", "p")
	_, err = f.ValidateSink(tbl)
	require.NoError(t, err)
	_, err = f.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator})
	require.ErrorContains(t, err, "enable checkpointing with 'execution.checkpointing.interval'")

	tbl.Options["properties.acks"] = "1"
	_, err = f.ValidateSink(tbl)
	require.ErrorContains(t, err, "leave 'properties.acks' and 'properties.enable.idempotence' unset")
}

// TestCommitOffsetsOnCheckpoint: a reader with a group id commits the
// offsets of a checkpoint's snapshot when the checkpoint completes, not
// before; without a group id (or with commit.offsets.on.checkpoint
// false) it commits nothing.
func TestCommitOffsetsOnCheckpoint(t *testing.T) {
	_, addr := cluster(t, 1, "in")
	var recs []rec
	for i := range 20 {
		recs = append(recs, rec{val: fmt.Sprintf(`{"auction": %d, "price": %d, "channel": "c"}`, i, i)})
	}
	produce(t, addr, "in", recs...)
	mem := memoryChecked(t)
	committed := func(group string) map[topicPartition]int64 {
		cfg := &config{client: clientConfig{apiTimeout: 10 * time.Second, brokers: []string{addr}, groupID: group,
			opts: []kgo.Opt{kgo.SeedBrokers(addr)}}}
		adm, err := newClient(cfg)
		require.NoError(t, err)
		defer adm.cl.Close()
		got, err := adm.committedOffsets(context.Background(), []topicPartition{{"in", 0}})
		require.NoError(t, err)
		return got
	}
	for _, c := range []struct {
		name   string
		opts   []string
		group  string
		commit bool
	}{
		{"group", []string{"properties.group.id", "g1"}, "g1", true},
		{"no group", nil, "KafkaSource-default_catalog.default_database.t", false},
		{"disabled", []string{"properties.group.id", "g2", "properties.commit.offsets.on.checkpoint", "false"}, "g2", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := append([]string{"topic", "in", "format", "json", "scan.startup.mode", "earliest-offset"}, c.opts...)
			f, _ := connector.Source("kafka")
			r, err := f.CreateReader(connector.ScanSpec{Table: table(addr, bids, opts...)},
				connector.ReaderContext{Parallelism: 1, Mem: mem, BatchSize: 8})
			require.NoError(t, err)
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b, err := r.Next(ctx)
			require.NoError(t, err)
			b.Release()
			_, err = r.(connector.CheckpointSnapshotter).SnapshotCheckpoint(1)
			require.NoError(t, err)
			b, err = r.Next(ctx)
			require.NoError(t, err)
			b.Release()
			_, err = r.(connector.CheckpointSnapshotter).SnapshotCheckpoint(2)
			require.NoError(t, err)
			require.Empty(t, committed(c.group))
			require.NoError(t, r.(connector.CheckpointListener).NotifyCheckpointComplete(1))
			if !c.commit {
				require.Nil(t, r.(*reader).committer, "no commit scheduled")
				require.Empty(t, committed(c.group))
				return
			}
			// Commits run in the background.
			committedIs := func(want int64) func() bool {
				return func() bool { return committed(c.group)[topicPartition{"in", 0}] == want }
			}
			require.Eventually(t, committedIs(8), 5*time.Second, 10*time.Millisecond)
			require.NoError(t, r.(connector.CheckpointListener).NotifyCheckpointComplete(2))
			require.Eventually(t, committedIs(16), 5*time.Second, 10*time.Millisecond)
			// A notification for a checkpoint already covered commits
			// nothing more.
			require.NoError(t, r.(connector.CheckpointListener).NotifyCheckpointComplete(2))
			require.Empty(t, r.(*reader).toCommit)
		})
	}
}

// TestReadCommittedBounded reads a topic written in transactions (one
// committed, one aborted, one still open) to its 'latest-offset' end. At
// read_committed the end is the last stable offset, before the open
// transaction, and only the committed rows come; at read_uncommitted every
// row comes. Both reads end although the topic's last records before their
// end are transaction markers.
func TestReadCommittedBounded(t *testing.T) {
	_, addr := cluster(t, 1, "txn")
	txn := func(id string, from, to int) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID(id), kgo.DefaultProduceTopic("txn"))
		require.NoError(t, err)
		require.NoError(t, cl.BeginTransaction())
		for i := from; i < to; i++ {
			v := fmt.Appendf(nil, `{"auction": %d, "price": %d, "channel": "c"}`, i, i)
			require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Value: v}).FirstErr())
		}
		return cl
	}
	end := func(cl *kgo.Client, commit kgo.TransactionEndTry) {
		require.NoError(t, cl.EndTransaction(context.Background(), commit))
		cl.Close()
	}
	end(txn("committed", 0, 3), kgo.TryCommit)
	end(txn("aborted", 3, 5), kgo.TryAbort)
	open := txn("open", 5, 7)
	defer end(open, kgo.TryAbort)

	opts := []string{"topic", "txn", "format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset"}
	committed := readAll(t, table(addr, bids, append(opts, "properties.isolation.level", "read_committed")...), 0, 1, 100)
	require.Equal(t, []string{"0,0,c", "1,1,c", "2,2,c"}, committed)
	uncommitted := readAll(t, table(addr, bids, append(opts, "properties.isolation.level", "read_uncommitted")...), 0, 1, 100)
	require.Equal(t, []string{"0,0,c", "1,1,c", "2,2,c", "3,3,c", "4,4,c", "5,5,c", "6,6,c"}, uncommitted)
}

// TestAtLeastOncePreCommit: the writer of an at-least-once sink is also
// driven through PreCommit at the barriers of a checkpointing job (the
// writer type implements connector.TwoPhaseCommitWriter for every
// guarantee); it only flushes and keeps no state.
func TestAtLeastOncePreCommit(t *testing.T) {
	_, addr := cluster(t, 1, "out")
	mem := memoryChecked(t)
	tbl := table(addr, bids, "topic", "out", "format", "json")
	f, _ := connector.Sink("kafka")
	w, err := f.CreateWriter(connector.SinkSpec{Table: tbl}, connector.ReaderContext{Parallelism: 1, Mem: memory.DefaultAllocator, Checkpointing: true})
	require.NoError(t, err)
	b := auctionBatch(t, mem, 0, 5)
	defer b.Release()
	require.NoError(t, w.Write(b))
	state, err := w.(connector.TwoPhaseCommitWriter).PreCommit(1)
	require.NoError(t, err)
	require.Nil(t, state)
	require.Equal(t, auctions(0, 5), kafkatest.ReadValues(t, addr, "out", kgo.ReadCommitted()), "flushed at the barrier")
	require.NoError(t, w.Finish())
	state, err = w.(connector.TwoPhaseCommitWriter).PreCommit(connector.EndOfInput)
	require.NoError(t, err)
	require.Nil(t, state, "nothing for the JobManager to commit")
	require.NoError(t, w.Close())
}
