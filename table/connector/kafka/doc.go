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
// offsets resolved when the reader starts. Unbounded reads look for new
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
// The 'debezium-json' value format makes a source a changelog
// (connector.RetractChangelog): c and r events are +I rows, u a -U and a +U,
// d a -D, carried in the trailing connector.RowKindColumn.
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
// error.
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
// replicas with the idempotent producer. 'exactly-once' needs transactions
// committed on checkpoints; where it fits is described on the writer.
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
//	format / value.format                    both         required         json, csv, raw, avro, avro-confluent (kafka sources: debezium-json)
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
//	sink.delivery-guarantee                  both         at-least-once    none, at-least-once (exactly-once: not yet)
//	sink.transactional-id-prefix             both         -                for exactly-once (not yet)
//	sink.parallelism                         both         -                the sink writers' parallelism (default: the job's)
//
// Format options are 'json.*', 'csv.*', 'raw.charset', 'debezium-json.*', 'avro-confluent.url',
// 'avro-confluent.subject' and 'avro-confluent.basic-auth.user-info'; with
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
// compression.type, enable.idempotence and retry.backoff.ms (also kgo's
// metadata refresh floor after errors).
package kafka
