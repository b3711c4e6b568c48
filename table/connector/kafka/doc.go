// Package kafka is Eddy's 'kafka' and 'upsert-kafka' connectors, on
// github.com/twmb/franz-go, with Flink's option names and behaviour.
//
// # Reading
//
// A source lists the partitions of its topics (a ';'-separated 'topic' list
// or a 'topic-pattern'), sorted by topic and partition, and subtask i of p
// reads the partitions Flink's KafkaTopicPartitionAssigner gives it: a
// topic's partitions go round-robin over the subtasks from a start derived
// from the topic name's Java hash. Every subtask computes the assignment
// alone; partitions are consumed directly (franz-go's direct consumer),
// never through group rebalancing, and the reader's snapshot is the next
// offset of each of its partitions. Start offsets come from
// scan.startup.mode; a read ends where scan.bounded.mode says, the stop
// offsets resolved when a partition is first read and kept in the
// snapshot, as a Flink split keeps its stopping offset, so that a restored
// bounded read ends where it would have without the restore. A reader
// that had finished before a rescale is named in the new readers'
// snapshots (FinishedReaderSnapshot), and they take its partitions as
// read. Unbounded reads look for new
// partitions (and topics of a pattern) every
// scan.topic-partition-discovery.interval and read them from the start.
//
// Next polls up to the batch size of records and decodes them straight into
// Arrow builders, key and value each by its format (format.RecordDecoder);
// a record that does not decode fails the read with its topic, partition
// and offset, or is skipped and counted when the format's
// ignore-parse-errors is set. A record without a value makes no row, except
// in upsert-kafka, where it is a -D of its key. Requests made when a reader
// starts are bounded by properties.default.api.timeout.ms, so unreachable
// brokers fail the read with the last connection error rather than hang.
//
// With properties.isolation.level 'read_committed' a source reads only
// committed transactions, and its 'latest-offset' positions (start or
// stop) are the partitions' last stable offsets, as a Kafka consumer's at
// that level. The reader keeps the transaction markers franz-go would drop
// to move its position past them, so a bounded read of a transactional
// topic ends at any isolation level.
//
// With properties.group.id set, a source commits the offsets of each
// checkpoint's snapshot to the group when the checkpoint completes
// (connector.CheckpointSnapshotter and connector.CheckpointListener),
// Flink's commit.offsets.on.checkpoint (a property here, default true),
// off the task's goroutine. As in Flink the committed offsets serve
// monitoring and later 'group-offsets' starts, not the job's recovery,
// which restores its checkpoint's offsets; a failed commit does not fail
// the job.
//
// # Watermarks
//
// The reader is connector.SplitAware: with each batch it reports which
// partition each run of its rows came from, and the partitions it reads.
// The watermark assigner chained after it then generates the table's
// WATERMARK per partition and emits the minimum, as Flink's per-partition
// watermarks: one lagging partition holds back the subtask's watermark,
// and a partition without records for scan.watermark.idle-timeout (or
// table.exec.source.idle-timeout) is left out until it brings records
// again. A subtask assigned no partition is idle from the start
// (connector.IdleAware), so it holds back nothing.
//
// The changelog value formats make a source a changelog
// (connector.RetractChangelog), the kinds carried in the trailing
// connector.RowKindColumn: with 'debezium-json' c and r events are +I rows,
// u a -U and a +U, d a -D; 'canal-json', 'maxwell-json' and 'ogg-json'
// (package cdcjson) turn inserts, updates and deletes into the same kinds,
// a canal event of several rows into several. A sink writes them all
// (connector.SinkProperties.RequiresUpdateBefore; debezium-json without
// schema-include): +I and +U rows as insert events, -U and -D rows as
// delete events, as Flink does. 'debezium-avro-confluent' is Debezium's
// envelope in Avro with the Confluent framing (avro.DebeziumDecoder): its
// writer schemas are fetched from the registry by id, and a sink registers
// Flink's envelope schema under the subject ('<topic>-value' by default).
//
// # Metadata columns
//
// Sources read METADATA columns (connector.SupportsReadingMetadata), after
// the physical columns: 'topic' STRING, 'partition' INT, 'offset' BIGINT,
// 'timestamp' TIMESTAMP_LTZ(3) (or TIMESTAMP(p)), 'timestamp-type' STRING,
// 'headers' MAP<STRING, BYTES> and 'leader-epoch' INT. Sinks write, as
// Flink's, the non-VIRTUAL 'timestamp' (the record's timestamp; NULL lets
// the producer stamp the current time) and 'headers' (a NULL value is a
// header without one) columns (connector.SupportsWritingMetadata); the
// other keys are read-only, and INSERT into a table that persists one is an
// error. The metadata of a changelog value (the originating database and
// table, primary key names, timestamps) is read under 'value.' keys, as
// Flink's: 'value.table' STRING of canal-json, 'value.source.table' of
// debezium-json.
//
// # Projection
//
// A scan that reads some physical columns builds only those
// (connector.SupportsProjectionPushdown): JSON decoders skip the other
// fields, CSV and Avro decoders walk past them without converting them.
// Records are still parsed, so a malformed one is reported as without the
// projection; only a bad value in a column the query does not read goes
// unnoticed (with json.fail-on-missing-field, only the columns read must
// be present).
//
// # Writing
//
// A sink encodes each row's key (key.fields in key.format) and value and
// produces asynchronously; Finish flushes and waits for every
// acknowledgement, and the first failed produce fails the job.
// sink.partitioner is 'default' (murmur2 of the key, as Kafka's Java
// client; sticky without a key), 'fixed' (subtask i writes partition
// i mod n) or 'round-robin'. sink.delivery-guarantee 'none' asks for leader
// acks without idempotence, 'at-least-once' (the default) for all in-sync
// replicas with the idempotent producer, checkpoints waiting for every
// acknowledgement (connector.SinkFlusher), so rows are written at least
// once across a restart from a checkpoint.
//
// # Exactly-once
//
// sink.delivery-guarantee 'exactly-once' (Flink's KafkaSink with
// DeliveryGuarantee.EXACTLY_ONCE) writes each sink subtask's rows in Kafka
// transactions and makes the writer a connector.TwoPhaseCommitWriter. It
// needs sink.transactional-id-prefix, unique among the jobs writing to the
// cluster, and checkpointing (execution.checkpointing.interval): without
// it the job fails when its sink opens. Transaction n of subtask s has the
// transactional id '<prefix>-<s>-<n>' and a producer of its own. At a
// checkpoint's barrier the writer flushes the open transaction and, if it
// holds rows, pre-commits it: the transaction stays open and its id,
// producer id and epoch go into the checkpoint, and transaction n+1 takes
// the rows after the barrier. When the checkpoint completes the writer
// commits the transactions it pre-committed up to it. A job restarted from
// a checkpoint commits that checkpoint's pending transactions with EndTxn
// requests carrying the stored producer id and epoch (Flink's
// resumeTransaction), then aborts the transactions the failed attempt left
// open by initializing their ids from the checkpoint's n up to the first id
// never used, as Flink's TransactionAborter; a job started without a
// checkpoint does so from 1. A job restored at another parallelism deals
// the old subtasks' states to the new ones (connector.SupportsRescaledRecovery:
// old s to new s mod n, each state naming its subtask): a writer commits
// every state's transactions and aborts, from its n, the lingering ones of
// the old subtasks that are not its own, as Flink's KafkaSink does for the
// subtasks a scale-in removes. Consumers reading with isolation.level
// 'read_committed' see every row once; 'read_uncommitted' ones also see
// aborted rows.
//
// In a bounded job, a sink subtask whose input ends flushes and
// pre-commits its last transaction (connector.EndOfInput) and commits
// nothing: the pending transactions are the subtask's final state, which
// the JobManager commits through Factory.CommitFinished (EndTxn with the
// stored producer id and epoch, as for a restored checkpoint) once a
// checkpoint that records the subtask as finished completes, or when the
// whole job finished, as Flink commits end-of-input transactions only
// after a checkpoint following the end of input (FLIP-147). If another
// subtask fails before then, the restart runs this subtask again from its
// latest checkpoint and aborts its final transactions with the others the
// failed attempt left open, so read_committed consumers see every row
// once at any parallelism.
//
// Pre-committed transactions must outlive the time to the next completed
// checkpoint plus a restart: properties.transaction.timeout.ms (default
// 60 s, Kafka's; brokers cap it at transaction.max.timeout.ms, 15 min by
// default) bounds it, after which the coordinator aborts the transaction
// and its rows are lost, as in Flink. Unlike Flink, a job stopped with a
// savepoint leaves the transactions of its last barrier pending: the job
// resumed from the savepoint commits them, within that timeout.
//
// # upsert-kafka
//
// The table's PRIMARY KEY is the record key. The source produces an upsert
// changelog (connector.UpsertChangelog): a record is a +I of its key's new
// row, a tombstone a -D, in the trailing connector.RowKindColumn. The sink
// writes +I and +U rows as keyed records and -D rows as tombstones, and
// drops -U rows.
//
// # Options
//
//	option                                   connectors   default          meaning
//	topic                                    both         -                topic; sources take a ';'-separated list
//	topic-pattern                            kafka        -                regular expression of the topics a source reads
//	properties.bootstrap.servers             both         required         brokers, host:port,...
//	properties.group.id                      both         KafkaSource-<t>  group whose committed offsets group-offsets use
//	properties.*                             both         -                see below; others are errors
//	format / value.format                    both         required         json, csv, raw, avro, avro-confluent (kafka: debezium-json, canal-json, maxwell-json, ogg-json, debezium-avro-confluent)
//	key.format                               both         -                format of the key (required for upsert-kafka)
//	key.fields                               kafka        -                ';'-separated key columns (upsert-kafka: the primary key)
//	key.fields-prefix                        both         -                prefix of key columns absent from the key format's names
//	value.fields-include                     both         ALL              ALL or EXCEPT_KEY
//	scan.startup.mode                        kafka        group-offsets    earliest-offset, latest-offset, group-offsets, timestamp, specific-offsets (upsert-kafka: earliest)
//	scan.startup.timestamp-millis            kafka        -                start of 'timestamp'
//	scan.startup.specific-offsets            kafka        -                'partition:0,offset:42;partition:1,offset:300'
//	scan.bounded.mode                        both         unbounded        unbounded, latest-offset, group-offsets, timestamp, specific-offsets
//	scan.bounded.timestamp-millis            both         -                end of 'timestamp' (exclusive)
//	scan.bounded.specific-offsets            both         -                end offsets (exclusive)
//	scan.topic-partition-discovery.interval  both         5 min            0 disables discovery
//	sink.partitioner                         both         default          default, fixed, round-robin
//	sink.delivery-guarantee                  both         at-least-once    none, at-least-once, exactly-once
//	sink.transactional-id-prefix             both         -                transactional id prefix, required by exactly-once
//	sink.parallelism                         both         -                the sink writers' parallelism (default: the job's)
//
// Format options are 'json.*', 'csv.*', 'raw.charset', 'debezium-json.*', 'canal-json.*',
// 'maxwell-json.*', 'ogg-json.*', 'avro-confluent.url',
// 'avro-confluent.subject' and 'avro-confluent.basic-auth.user-info', and
// the same three under 'debezium-avro-confluent.' with its '.schema'; with
// key.format and value.format they take 'key.' and 'value.' prefixes
// ('value.json.ignore-parse-errors'), with 'format' none.
//
// Kafka client properties mapped to franz-go: client.id,
// security.protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL),
// sasl.mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with the username and
// password of sasl.jaas.config, ssl.truststore.type (PEM only),
// ssl.truststore.location / ssl.truststore.certificates (PEM),
// ssl.endpoint.identification.algorithm (empty skips the hostname check),
// auto.offset.reset, default.api.timeout.ms,
// socket.connection.setup.timeout.ms, fetch.max.wait.ms, fetch.max.bytes,
// max.partition.fetch.bytes, isolation.level, acks, linger.ms, batch.size,
// compression.type, enable.idempotence, retry.backoff.ms (also kgo's
// metadata refresh floor after errors), transaction.timeout.ms
// (exactly-once sinks) and commit.offsets.on.checkpoint (sources with a
// group.id; Flink's source option of that name).
package kafka
