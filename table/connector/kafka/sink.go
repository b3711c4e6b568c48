package kafka

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/raw"
)

// writer produces the rows of one sink subtask. Records are handed to the
// franz-go producer asynchronously (it batches per partition and blocks
// Write when MaxBufferedRecords are in flight, which is the sink's
// backpressure); the first failed produce fails the next Write or Finish.
//
// With sink.delivery-guarantee 'exactly-once' the writer is a
// connector.TwoPhaseCommitWriter: cl is the producer of the open
// transaction (txnWriter), replaced at every barrier that pre-commits it.
type writer struct {
	cfg     *config
	topic   string
	cl      *kgo.Client
	keyEnc  format.RecordEncoder
	valEnc  format.RecordEncoder
	keyRaw  *raw.Encoder // set when the key format is raw, to tell NULL from empty
	valRaw  *raw.Encoder
	changes changelogEncoder // set for a changelog value format, which writes every row kind
	keyCols []int
	valCols []int
	keySch  *arrow.Schema
	valSch  *arrow.Schema
	meta    metaWriter
	txn     *txnWriter // nil unless exactly-once

	mu      sync.Mutex
	prodErr error
	promise func(*kgo.Record, error)
	closed  bool
}

func newWriter(cfg *config, rc connector.ReaderContext) (*writer, error) {
	w := &writer{cfg: cfg, topic: cfg.topics[0], valCols: cfg.value.cols, valSch: cfg.value.schema.Arrow(), meta: newMetaWriter(cfg)}
	w.promise = func(r *kgo.Record, err error) {
		if err != nil {
			w.mu.Lock()
			if w.prodErr == nil {
				w.prodErr = fmt.Errorf("kafka: producing to topic '%s' partition %d: %w", r.Topic, r.Partition, err)
			}
			w.mu.Unlock()
		}
	}
	var err error
	if cfg.key != nil {
		w.keyCols, w.keySch = cfg.key.cols, cfg.key.schema.Arrow()
		if w.keyEnc, err = newEncoder(cfg, cfg.key, "key"); err != nil {
			return nil, err
		}
		w.keyRaw, _ = w.keyEnc.(*raw.Encoder)
	}
	if w.valEnc, err = newEncoder(cfg, cfg.value, "value"); err != nil {
		return nil, err
	}
	w.valRaw, _ = w.valEnc.(*raw.Encoder)
	w.changes, _ = w.valEnc.(changelogEncoder)

	opts := append([]kgo.Opt{}, cfg.client.opts...)
	opts = append(opts, kgo.DefaultProduceTopic(w.topic))
	switch cfg.partitioner {
	case "fixed":
		// Flink's FlinkFixedPartitioner: subtask i writes to partition
		// i mod the number of partitions.
		sub := rc.Subtask
		opts = append(opts, kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
			return func(_ *kgo.Record, n int) int { return sub % n }
		})))
	case "round-robin":
		opts = append(opts, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	default:
		// Kafka's default: murmur2 of the key (as the Java client), sticky
		// batches for records without a key.
		opts = append(opts, kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	}
	if cfg.guarantee == "none" && !cfg.client.acksSet && !cfg.client.idemSet {
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	}
	opts = append(opts, cfg.client.producer...)
	if cfg.guarantee == exactlyOnce {
		if !rc.Checkpointing {
			return nil, fmt.Errorf("kafka: '%s' = 'exactly-once' commits its transactions on checkpoints: enable checkpointing with 'execution.checkpointing.interval', or use 'at-least-once'", SinkDeliveryGuarantee)
		}
		w.txn = &txnWriter{prefix: cfg.txnPrefix, subtask: rc.Subtask, opts: opts, first: 1}
		return w, nil
	}
	if w.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return w, nil
}

func (w *writer) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.prodErr
}

// project is the batch of some of b's columns.
func project(b arrow.RecordBatch, cols []int, s *arrow.Schema) arrow.RecordBatch {
	arrs := make([]arrow.Array, len(cols))
	for i, c := range cols {
		arrs[i] = b.Column(c)
	}
	return array.NewRecordBatch(s, arrs, b.NumRows())
}

// Write encodes b's rows and hands them to the producer. For upsert-kafka,
// +I/+U rows are keyed records, -D rows tombstones (a key and no value), and
// -U rows are dropped: the +U that follows replaces the key's value. A
// changelog value format writes each row as an event of its kind.
func (w *writer) Write(b arrow.RecordBatch) error {
	if err := w.err(); err != nil {
		return err
	}
	if w.txn != nil {
		if err := w.startTxns(); err != nil {
			return err
		}
	}
	n := int(b.NumRows())
	var kinds *array.Int8
	if f := b.Schema().Fields(); len(f) > w.cfg.physical.Len() && f[len(f)-1].Name == connector.RowKindColumn {
		kinds = b.Column(len(f) - 1).(*array.Int8)
	}
	val := project(b, w.valCols, w.valSch)
	defer val.Release()
	if w.changes != nil {
		w.changes.BindKinds(kinds)
	}
	if err := w.valEnc.Bind(val); err != nil {
		return err
	}
	if w.keyEnc != nil {
		key := project(b, w.keyCols, w.keySch)
		defer key.Release()
		if err := w.keyEnc.Bind(key); err != nil {
			return err
		}
	}
	if err := w.meta.bind(b); err != nil {
		return err
	}
	// One slab holds every key, value and header value of the batch, and one slice every
	// record: the producer keeps them until the records are acknowledged,
	// so they are fresh per batch rather than reused.
	recs := make([]kgo.Record, n)
	slab := make([]byte, 0, 64*n)
	var err error
	ctx := context.Background()
	for i := range n {
		kind := connector.Insert
		if kinds != nil {
			kind = connector.RowKind(kinds.Value(i))
		}
		if kind != connector.Insert && !w.cfg.upsert && w.changes == nil {
			return fmt.Errorf("kafka: the 'kafka' sink only accepts inserts; use 'upsert-kafka' or a changelog format such as 'canal-json' for updates and deletes")
		}
		if kind == connector.UpdateBefore && w.changes == nil {
			continue
		}
		r := &recs[i]
		r.Topic = w.topic
		if slab, err = w.meta.set(r, i, slab); err != nil {
			return err
		}
		if w.keyEnc != nil && (w.keyRaw == nil || !w.keyRaw.IsNull(i)) {
			start := len(slab)
			if slab, err = w.keyEnc.AppendRow(slab, i); err != nil {
				return fmt.Errorf("kafka: encoding a key: %w", err)
			}
			r.Key = slab[start:len(slab):len(slab)]
		}
		if (kind != connector.Delete || w.changes != nil) && (w.valRaw == nil || !w.valRaw.IsNull(i)) {
			start := len(slab)
			if slab, err = w.valEnc.AppendRow(slab, i); err != nil {
				return fmt.Errorf("kafka: encoding a value: %w", err)
			}
			r.Value = slab[start:len(slab):len(slab)]
		}
		w.cl.Produce(ctx, r, w.promise)
		if w.txn != nil {
			w.txn.records++
		}
	}
	return w.err()
}

// Finish flushes the producer and waits for every record's
// acknowledgement; under exactly-once it commits nothing: the transactions
// are pre-committed next (PreCommit(connector.EndOfInput)) and committed
// once the subtask is recorded as finished (Factory.CommitFinished).
func (w *writer) Finish() error {
	if w.txn != nil {
		return w.finishTxns()
	}
	return w.Flush()
}

// Flush implements connector.SinkFlusher: at a checkpoint barrier it
// waits for every record produced so far to be acknowledged, which makes
// the sink at-least-once across a restart from the checkpoint.
func (w *writer) Flush() error {
	if w.cl == nil {
		return w.err()
	}
	if err := w.cl.Flush(context.Background()); err != nil {
		return fmt.Errorf("kafka: flushing: %w", err)
	}
	return w.err()
}

// Close stops the clients, abandoning unflushed records; it is
// idempotent. Transactions stay as they are: pre-committed ones are
// committed by the writer restored from their checkpoint, the open one
// is aborted by it.
func (w *writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.cl != nil {
		w.cl.Close()
	}
	if w.txn != nil {
		w.closeTxns()
	}
	return nil
}
