package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddysql/eddy/exec/connector"
)

// exactlyOnce is the sink.delivery-guarantee of transactional writes.
const exactlyOnce = "exactly-once"

var (
	_ connector.TwoPhaseCommitWriter     = (*writer)(nil)
	_ connector.FinishedCommitter        = Factory{}
	_ connector.SupportsRescaledRecovery = Factory{}
)

// txnWriter is the transactional side of an exactly-once writer, Flink's
// KafkaWriter and KafkaCommitter in one. Each transaction gets its own
// transactional id, '<prefix>-<subtask>-<n>' with n counting up from 1
// (Flink counts by checkpoint id; a sequence leaves no gaps, which the
// abort of lingering transactions relies on), and its own producer: Kafka
// allows one open transaction per id, and the transaction pre-committed at
// a barrier stays open until its checkpoint completes while the next one
// already takes the rows after the barrier.
type txnWriter struct {
	prefix  string
	subtask int
	// opts are the producer's options without the transactional id.
	opts []kgo.Opt
	// seq numbers the open transaction, whose producer is writer.cl (nil
	// until the first use); records counts what it was given.
	seq     int64
	records int64
	// first is where the first transaction starts: 1, or the restored
	// state's Next.
	first   int64
	pending []pendingTxn
}

// txnState is the writer's state in a checkpoint.
type txnState struct {
	// Subtask is the writer's subtask, whose transactional ids the state
	// numbers; nil in states written before rescaling, which are the
	// restoring writer's own.
	Subtask *int `json:"subtask,omitempty"`
	// Next numbers the transaction opened at the barrier. A failed attempt
	// may have written into it and into later ones: a writer restored
	// from the state aborts them, from Next to the first id never used.
	Next int64 `json:"next"`
	// Pending are the transactions pre-committed and not known to be
	// committed; a restored writer commits them.
	Pending []pendingTxn `json:"pending,omitempty"`
}

// pendingTxn is a pre-committed transaction: what an EndTxn request needs
// to commit it without its producer.
type pendingTxn struct {
	// Checkpoint is the checkpoint whose barrier pre-committed it, 0 for a
	// savepoint (committed when the job is restored from it).
	Checkpoint      int64  `json:"checkpoint"`
	TransactionalID string `json:"transactionalId"`
	ProducerID      int64  `json:"producerId"`
	Epoch           int16  `json:"epoch"`
	// cl is the producer that wrote it, nil in a restored writer.
	cl *kgo.Client
}

func (w *writer) txnID(seq int64) string { return w.txnIDOf(w.txn.subtask, seq) }

// txnIDOf is the transactional id of transaction seq of subtask.
func (w *writer) txnIDOf(subtask int, seq int64) string {
	return fmt.Sprintf("%s-%d-%d", w.txn.prefix, subtask, seq)
}

// beginTxn opens transaction seq on a producer of its own.
func (w *writer) beginTxn(seq int64) error {
	opts := append(append([]kgo.Opt{}, w.txn.opts...),
		kgo.TransactionalID(w.txnID(seq)), kgo.TransactionTimeout(w.cfg.client.txnTimeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if err := cl.BeginTransaction(); err != nil {
		cl.Close()
		return fmt.Errorf("kafka: beginning transaction '%s': %w", w.txnID(seq), err)
	}
	w.cl, w.txn.seq, w.txn.records = cl, seq, 0
	return nil
}

// startTxns aborts what a failed attempt left open and opens the first
// transaction, once, before the writer's first use.
func (w *writer) startTxns() error {
	if w.cl != nil {
		return nil
	}
	if err := w.abortLingering(w.txn.subtask, w.txn.first); err != nil {
		return err
	}
	return w.beginTxn(w.txn.first)
}

// abortLingering fences the transactional ids of subtask from seq on,
// as Flink's TransactionAborter: an InitProducerID request for an id
// aborts the transaction open on it and bumps its epoch. It stops at the
// first id never used before (epoch 0), so every transaction a failed
// attempt opened after the restored checkpoint is aborted rather than left
// to hold back read_committed consumers until transaction.timeout.ms.
func (w *writer) abortLingering(subtask int, seq int64) error {
	adm, err := newClient(w.cfg)
	if err != nil {
		return err
	}
	defer adm.cl.Close()
	for ; ; seq++ {
		id := w.txnIDOf(subtask, seq)
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &id
		req.TransactionTimeoutMillis = int32(w.cfg.client.txnTimeout.Milliseconds())
		req.ProducerID, req.ProducerEpoch = -1, -1
		var resp *kmsg.InitProducerIDResponse
		err := adm.retryTxn(func(ctx context.Context) (int16, error) {
			var err error
			resp, err = request[*kmsg.InitProducerIDResponse](ctx, adm.cl, req)
			if err != nil {
				return 0, err
			}
			return resp.ErrorCode, nil
		})
		if err != nil {
			return fmt.Errorf("kafka: aborting lingering transaction '%s': %w", id, err)
		}
		if resp.ProducerEpoch == 0 {
			return nil
		}
	}
}

// retryTxn runs a transaction coordinator request until it succeeds or
// fails for good, within properties.default.api.timeout.ms: a coordinator
// still completing an abort answers CONCURRENT_TRANSACTIONS for a while.
func (a *admin) retryTxn(do func(ctx context.Context) (int16, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.client.apiTimeout)
	defer cancel()
	for {
		code, err := do(ctx)
		if err != nil {
			return a.reachErr("transaction coordinator request", err)
		}
		err = kerr.ErrorForCode(code)
		if err == nil {
			return nil
		}
		if !kerr.IsRetriable(err) && !errors.Is(err, kerr.ConcurrentTransactions) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (retried for %s)", err, a.cfg.client.apiTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PreCommit implements connector.TwoPhaseCommitWriter: at the barrier of
// checkpoint id it waits for every record of the open transaction to be
// acknowledged, keeps the transaction open as pending and opens the next
// one. An empty transaction is not rotated: it goes on after the barrier.
// At connector.EndOfInput no next transaction opens: the state returned is
// the subtask's final state, which the factory's CommitFinished commits.
// A writer that is not exactly-once only flushes and has no state.
func (w *writer) PreCommit(checkpoint int64) ([]byte, error) {
	if w.txn == nil {
		return nil, w.Flush()
	}
	if err := w.startTxns(); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if w.txn.records > 0 {
		pid, epoch, err := w.cl.ProducerID(context.Background())
		if err != nil {
			return nil, fmt.Errorf("kafka: producer id of transaction '%s': %w", w.txnID(w.txn.seq), err)
		}
		w.txn.pending = append(w.txn.pending, pendingTxn{Checkpoint: checkpoint, TransactionalID: w.txnID(w.txn.seq),
			ProducerID: pid, Epoch: epoch, cl: w.cl})
		w.cl = nil
		if checkpoint == connector.EndOfInput {
			return json.Marshal(txnState{Subtask: &w.txn.subtask, Next: w.txn.seq + 1, Pending: w.txn.pending})
		}
		if err := w.beginTxn(w.txn.seq + 1); err != nil {
			return nil, err
		}
	}
	return json.Marshal(txnState{Subtask: &w.txn.subtask, Next: w.txn.seq, Pending: w.txn.pending})
}

// NotifyCheckpointComplete implements connector.CheckpointListener: it
// commits the transactions pre-committed at checkpoints up to id.
func (w *writer) NotifyCheckpointComplete(id int64) error {
	if w.txn == nil {
		return nil
	}
	keep := w.txn.pending[:0]
	for _, p := range w.txn.pending {
		if p.Checkpoint == 0 || p.Checkpoint > id {
			keep = append(keep, p)
			continue
		}
		if err := w.commit(p); err != nil {
			return err
		}
	}
	w.txn.pending = keep
	return nil
}

// commit commits a pending transaction with its producer.
func (w *writer) commit(p pendingTxn) error {
	defer p.cl.Close()
	if err := p.cl.EndTransaction(context.Background(), kgo.TryCommit); err != nil {
		return fmt.Errorf("kafka: committing transaction '%s': %w", p.TransactionalID, err)
	}
	return nil
}

// commitRecovered commits a transaction of a restored state, Flink's
// resumeTransaction: franz-go cannot take over another producer's
// transaction, so the EndTxn request is sent with the stored producer id
// and epoch. A transaction that is no longer open was committed before
// the failure (the checkpoint had completed), or aborted by the
// coordinator after transaction.timeout.ms, which the restart outlasted;
// as in Flink, neither fails the job, and the latter loses its rows.
func commitRecovered(adm *admin, p pendingTxn) error {
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = p.TransactionalID, p.ProducerID, p.Epoch, true
	err := adm.retryTxn(func(ctx context.Context) (int16, error) {
		resp, err := request[*kmsg.EndTxnResponse](ctx, adm.cl, req)
		if err != nil {
			return 0, err
		}
		return resp.ErrorCode, nil
	})
	switch {
	case err == nil, errors.Is(err, kerr.InvalidTxnState), errors.Is(err, kerr.ProducerFenced),
		errors.Is(err, kerr.InvalidProducerEpoch), errors.Is(err, kerr.InvalidProducerIDMapping):
		return nil
	}
	return fmt.Errorf("kafka: committing recovered transaction '%s': %w", p.TransactionalID, err)
}

// Recover implements connector.TwoPhaseCommitWriter: it commits the
// transactions of the restored checkpoint and makes the first transaction
// start at its Next, aborting those of a failed attempt from there.
// Restored at another parallelism (connector.SupportsRescaledRecovery), a
// writer also gets the states of old subtasks whose index is not its own
// (those past the new parallelism): it commits their transactions and
// aborts, at once, what failed attempts left open on their ids from their
// Next, as Flink's KafkaSink aborts the lingering transactions of the
// subtasks a scale-in removed.
func (w *writer) Recover(b []byte) error {
	if w.txn == nil {
		return nil
	}
	s, err := decodeTxnState(b)
	if err != nil {
		return err
	}
	if err := commitState(w.cfg, s); err != nil {
		return err
	}
	if s.Subtask != nil && *s.Subtask != w.txn.subtask {
		return w.abortLingering(*s.Subtask, s.Next)
	}
	w.txn.first = s.Next
	return nil
}

// SupportsRescaledRecovery implements connector.SupportsRescaledRecovery:
// a state names the subtask whose transactional ids it numbers, so any
// writer can commit its transactions and abort its lingering ones.
func (Factory) SupportsRescaledRecovery() bool { return true }

func decodeTxnState(b []byte) (txnState, error) {
	var s txnState
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("kafka: bad sink state: %w", err)
	}
	if s.Next < 1 {
		return s, fmt.Errorf("kafka: bad sink state: transaction number %d", s.Next)
	}
	return s, nil
}

// commitState commits the pending transactions of a state in order.
func commitState(cfg *config, s txnState) error {
	if len(s.Pending) == 0 {
		return nil
	}
	adm, err := newClient(cfg)
	if err != nil {
		return err
	}
	defer adm.cl.Close()
	for _, p := range s.Pending {
		if err := commitRecovered(adm, p); err != nil {
			return err
		}
	}
	return nil
}

// CommitFinished implements connector.FinishedCommitter: it commits the
// transactions of a sink subtask's final state, what its writer
// pre-committed and did not commit by the end of its input, as Recover
// commits a restored state's (a transaction committed already is left as
// it is).
func (f Factory) CommitFinished(spec connector.SinkSpec, state []byte) error {
	c, err := f.config(spec.Table)
	if err != nil {
		return err
	}
	s, err := decodeTxnState(state)
	if err != nil {
		return err
	}
	return commitState(c, s)
}

// finishTxns makes every row of the open transaction durable at the end of
// bounded input, committing nothing: PreCommit(connector.EndOfInput)
// follows. A writer given no row still aborts what a failed attempt left
// open.
func (w *writer) finishTxns() error {
	if err := w.startTxns(); err != nil {
		return err
	}
	return w.Flush()
}

// closeTxns closes the producers of pending transactions without ending
// them: the restored writer of the next attempt commits them.
func (w *writer) closeTxns() {
	for _, p := range w.txn.pending {
		p.cl.Close()
	}
	w.txn.pending = nil
}
