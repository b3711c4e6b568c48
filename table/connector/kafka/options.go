package kafka

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format/avro"
	"github.com/eddysql/eddy/table/connector/format/cdcjson"
	"github.com/eddysql/eddy/table/connector/format/csv"
	"github.com/eddysql/eddy/table/connector/format/json"
	"github.com/eddysql/eddy/table/connector/format/raw"
)

// Identifiers of the two connectors.
const (
	Identifier       = "kafka"
	UpsertIdentifier = "upsert-kafka"
)

// Option keys, Flink's.
const (
	Topic                  = "topic"
	TopicPattern           = "topic-pattern"
	Properties             = "properties.*"
	BootstrapServers       = "properties.bootstrap.servers"
	GroupID                = "properties.group.id"
	Format                 = "format"
	KeyFormat              = "key.format"
	KeyFields              = "key.fields"
	KeyFieldsPrefix        = "key.fields-prefix"
	ValueFormat            = "value.format"
	ValueFieldsInclude     = "value.fields-include"
	StartupMode            = "scan.startup.mode"
	StartupTimestamp       = "scan.startup.timestamp-millis"
	StartupOffsets         = "scan.startup.specific-offsets"
	BoundedMode            = "scan.bounded.mode"
	BoundedTimestamp       = "scan.bounded.timestamp-millis"
	BoundedOffsets         = "scan.bounded.specific-offsets"
	PartitionDiscovery     = "scan.topic-partition-discovery.interval"
	SinkPartitioner        = "sink.partitioner"
	SinkDeliveryGuarantee  = "sink.delivery-guarantee"
	SinkTransactionalIDPre = "sink.transactional-id-prefix"
	SinkParallelism        = "sink.parallelism"
)

// Formats lists the formats both connectors accept.
var Formats = []string{"json", "csv", "raw", "avro", "avro-confluent"}

// formatOptions are the declarations of every format's own options.
var formatOptions = func() []connector.Option {
	var o []connector.Option
	o = append(o, json.Options...)
	o = append(o, csv.Options...)
	o = append(o, raw.Options...)
	o = append(o, cdcjson.AllOptions()...)
	o = append(o, avro.DebeziumOptions...)
	return append(o, avro.ConfluentOptions...)
}()

// withPrefix copies option declarations under a key prefix ("key.",
// "value."), the way Flink scopes the options of the key and value formats.
func withPrefix(prefix string, opts []connector.Option) []connector.Option {
	out := make([]connector.Option, len(opts))
	for i, o := range opts {
		o.Key = prefix + o.Key
		o.Doc = strings.TrimSuffix(prefix, ".") + " format: " + o.Doc
		out[i] = o
	}
	return out
}

func commonOptions(upsert bool) []connector.Option {
	o := []connector.Option{
		{Key: Topic, Type: connector.String,
			Doc: "Topic to read from or write to; a source takes a ';'-separated list. A sink writes to exactly one topic."},
		{Key: BootstrapServers, Type: connector.String, Required: true,
			Doc: "Comma-separated host:port list of Kafka brokers."},
		{Key: GroupID, Type: connector.String,
			Doc: "Consumer group whose committed offsets 'group-offsets' modes use, by default 'KafkaSource-<table>'. Partitions are assigned by Eddy, not by the group protocol."},
		{Key: Properties, Type: connector.String,
			Doc: "Kafka client properties that map to franz-go options: client.id, security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.type (PEM), ssl.truststore.location, ssl.truststore.certificates, ssl.endpoint.identification.algorithm, auto.offset.reset, default.api.timeout.ms, socket.connection.setup.timeout.ms, fetch.max.wait.ms, fetch.max.bytes, max.partition.fetch.bytes, isolation.level, acks, linger.ms, batch.size, compression.type, enable.idempotence, retry.backoff.ms, transaction.timeout.ms (exactly-once sinks), commit.offsets.on.checkpoint (sources: commit offsets to the group when a checkpoint completes; default true when group.id is set); any other is an error."},
		{Key: KeyFieldsPrefix, Type: connector.String,
			Doc: "Prefix of the key columns' names that the key format's field names do not have; needs value.fields-include = EXCEPT_KEY."},
		{Key: ValueFieldsInclude, Type: connector.Enum, Enum: []string{"ALL", "EXCEPT_KEY"}, Default: "ALL",
			Doc: "Whether the value format carries every physical column (ALL) or all but the key columns (EXCEPT_KEY)."},
		{Key: BoundedMode, Type: connector.Enum, Enum: []string{"unbounded", "latest-offset", "group-offsets", "timestamp", "specific-offsets"}, Default: "unbounded",
			Doc: "Where a bounded read ends: unbounded never ends; latest-offset at the partitions' end offsets when the read starts; group-offsets at the group's committed offsets; timestamp at scan.bounded.timestamp-millis; specific-offsets at scan.bounded.specific-offsets."},
		{Key: BoundedTimestamp, Type: connector.Long,
			Doc: "End timestamp (epoch milliseconds, exclusive) of scan.bounded.mode 'timestamp'."},
		{Key: BoundedOffsets, Type: connector.String,
			Doc: "End offsets (exclusive) of scan.bounded.mode 'specific-offsets': 'partition:0,offset:42;partition:1,offset:300'."},
		{Key: PartitionDiscovery, Type: connector.Duration, Default: "5 min",
			Doc: "Interval at which an unbounded source looks for new partitions (and, with topic-pattern, topics); 0 disables discovery."},
		{Key: SinkPartitioner, Type: connector.String, Default: "default",
			Doc: "How the sink picks partitions: 'default' (Kafka's: murmur2 of the key, sticky batches without a key), 'fixed' (sink subtask i writes to partition i mod the partition count), 'round-robin'."},
		{Key: SinkDeliveryGuarantee, Type: connector.Enum, Enum: []string{"none", "at-least-once", "exactly-once"}, Default: "at-least-once",
			Doc: "none: leader acks, no idempotence; at-least-once: all in-sync replicas ack (idempotent producer) and checkpoints and Finish wait for every ack; exactly-once: each sink subtask writes in Kafka transactions committed when a checkpoint completes (needs checkpointing and sink.transactional-id-prefix); readers see the rows with 'isolation.level' = 'read_committed'."},
		{Key: SinkTransactionalIDPre, Type: connector.String,
			Doc: "Prefix of the transactional ids of exactly-once delivery, '<prefix>-<subtask>-<n>'; required then, and unique to the job among the jobs writing to the cluster."},
		{Key: SinkParallelism, Type: connector.Int,
			Doc: "Parallelism of the sink; accepted for compatibility, the job's parallelism applies."},
		{Key: KeyFormat, Type: connector.Enum, Enum: Formats, Required: upsert,
			Doc: "Format of record keys."},
		{Key: ValueFormat, Type: connector.Enum, Enum: valueFormats(upsert), Required: upsert,
			Doc: "Format of record values."},
	}
	if !upsert {
		o = append(o,
			connector.Option{Key: TopicPattern, Type: connector.String,
				Doc: "Regular expression of the topics a source reads (instead of 'topic'); matched against the whole topic name."},
			connector.Option{Key: Format, Type: connector.Enum, Enum: valueFormats(false),
				Doc: "Shorthand for value.format; its options have no 'value.' prefix."},
			connector.Option{Key: KeyFields, Type: connector.String,
				Doc: "';'-separated physical columns that make up the record key, in key order; needs key.format."},
			connector.Option{Key: StartupMode, Type: connector.Enum, Enum: []string{"earliest-offset", "latest-offset", "group-offsets", "timestamp", "specific-offsets"}, Default: "group-offsets",
				Doc: "Where a source starts: earliest-offset, latest-offset, group-offsets (the group's committed offsets, else properties.auto.offset.reset), timestamp (scan.startup.timestamp-millis), specific-offsets (scan.startup.specific-offsets; other partitions from the earliest offset)."},
			connector.Option{Key: StartupTimestamp, Type: connector.Long,
				Doc: "Start timestamp (epoch milliseconds) of scan.startup.mode 'timestamp'."},
			connector.Option{Key: StartupOffsets, Type: connector.String,
				Doc: "Start offsets of scan.startup.mode 'specific-offsets': 'partition:0,offset:42;partition:1,offset:300'."},
		)
	}
	o = append(o, formatOptions...)
	o = append(o, withPrefix("key.", formatOptions)...)
	return append(o, withPrefix("value.", formatOptions)...)
}

// valueFormats are the value formats of a connector: 'kafka' also takes
// the changelog formats (debezium-json, canal-json, maxwell-json,
// ogg-json, debezium-avro-confluent), whose messages carry whole rows and
// their change.
func valueFormats(upsert bool) []string {
	if upsert {
		return Formats
	}
	return append(append(append([]string(nil), Formats...), cdcjson.Names()...), avro.Debezium)
}

// isChangelog reports whether a value format reads changelog events.
func isChangelog(format string) bool { return cdcjson.Lookup(format) != nil || format == avro.Debezium }

// Startup and bounded modes.
const (
	modeEarliest  = "earliest-offset"
	modeLatest    = "latest-offset"
	modeGroup     = "group-offsets"
	modeTimestamp = "timestamp"
	modeSpecific  = "specific-offsets"
	modeUnbounded = "unbounded"
)

// part is the key or the value half of a record: its format and columns.
type part struct {
	format string
	// opts are the format's options with the part's prefix removed.
	opts connector.Options
	// cols index the physical schema; schema is theirs, with the field
	// names the format sees (key.fields-prefix removed).
	cols   []int
	schema types.Schema
}

// projected is the schema of the part's columns at positions proj (all of
// them when proj is nil).
func (p *part) projected(proj []int) types.Schema {
	if proj == nil {
		return p.schema
	}
	var s types.Schema
	for _, k := range proj {
		s.Columns = append(s.Columns, p.schema.Columns[k])
	}
	return s
}

// config is a table's parsed options.
type config struct {
	upsert      bool
	topics      []string
	pattern     *regexp.Regexp
	client      clientConfig
	startup     string
	startTS     int64
	startOffs   map[int32]int64
	bounded     string
	boundTS     int64
	boundOffs   map[int32]int64
	discovery   time.Duration
	key, value  *part // key is nil without a key format
	physical    types.Schema
	partitioner string
	guarantee   string
	// txnPrefix is sink.transactional-id-prefix (exactly-once only).
	txnPrefix string
	metadata  []connector.MetadataColumn
}

// factoryOf returns the declaration set for a connector.
type optionSet struct {
	id   string
	opts []connector.Option
}

func (s optionSet) Identifier() string          { return s.id }
func (s optionSet) Options() []connector.Option { return s.opts }

func parseConfig(f connector.Factory, t connector.TableInfo, upsert bool) (*config, error) {
	o, err := connector.Parse(f, t)
	if err != nil {
		return nil, err
	}
	c := &config{upsert: upsert, physical: t.Schema, startup: modeEarliest, bounded: o.Enum(BoundedMode),
		discovery: o.Duration(PartitionDiscovery), partitioner: o.String(SinkPartitioner), guarantee: o.Enum(SinkDeliveryGuarantee)}
	// topics
	hasTopic, hasPattern := o.IsSet(Topic), !upsert && o.IsSet(TopicPattern)
	switch {
	case hasTopic && hasPattern:
		return nil, fmt.Errorf("options '%s' and '%s' cannot both be set", Topic, TopicPattern)
	case !hasTopic && !hasPattern:
		if upsert {
			return nil, fmt.Errorf("missing required option '%s' for connector '%s'", Topic, f.Identifier())
		}
		return nil, fmt.Errorf("either '%s' or '%s' must be set", Topic, TopicPattern)
	case hasTopic:
		for _, s := range strings.Split(o.String(Topic), ";") {
			if s = strings.TrimSpace(s); s != "" {
				c.topics = append(c.topics, s)
			}
		}
		if len(c.topics) == 0 {
			return nil, fmt.Errorf("option '%s' names no topic", Topic)
		}
	default:
		if c.pattern, err = regexp.Compile("^(?:" + o.String(TopicPattern) + ")$"); err != nil {
			return nil, fmt.Errorf("invalid '%s': %v", TopicPattern, err)
		}
	}
	if c.client, err = parseClientConfig(o); err != nil {
		return nil, err
	}
	// startup and bounded modes
	if !upsert {
		c.startup = o.Enum(StartupMode)
		if c.startup == modeTimestamp {
			if !o.IsSet(StartupTimestamp) {
				return nil, fmt.Errorf("'%s' is required when '%s' is 'timestamp'", StartupTimestamp, StartupMode)
			}
			c.startTS = o.Long(StartupTimestamp)
		} else if o.IsSet(StartupTimestamp) {
			return nil, fmt.Errorf("'%s' applies only when '%s' is 'timestamp'", StartupTimestamp, StartupMode)
		}
		if c.startup == modeSpecific {
			if c.startOffs, err = parseSpecificOffsets(StartupOffsets, o.String(StartupOffsets)); err != nil {
				return nil, err
			}
		} else if o.IsSet(StartupOffsets) {
			return nil, fmt.Errorf("'%s' applies only when '%s' is 'specific-offsets'", StartupOffsets, StartupMode)
		}
	}
	if c.bounded == modeTimestamp {
		if !o.IsSet(BoundedTimestamp) {
			return nil, fmt.Errorf("'%s' is required when '%s' is 'timestamp'", BoundedTimestamp, BoundedMode)
		}
		c.boundTS = o.Long(BoundedTimestamp)
	} else if o.IsSet(BoundedTimestamp) {
		return nil, fmt.Errorf("'%s' applies only when '%s' is 'timestamp'", BoundedTimestamp, BoundedMode)
	}
	if c.bounded == modeSpecific {
		if c.boundOffs, err = parseSpecificOffsets(BoundedOffsets, o.String(BoundedOffsets)); err != nil {
			return nil, err
		}
	} else if o.IsSet(BoundedOffsets) {
		return nil, fmt.Errorf("'%s' applies only when '%s' is 'specific-offsets'", BoundedOffsets, BoundedMode)
	}
	if (c.startup == modeSpecific || c.bounded == modeSpecific) && len(c.topics) != 1 {
		return nil, fmt.Errorf("specific offsets need exactly one topic in '%s'", Topic)
	}
	if c.client.groupID == "" {
		// Flink's default group of a table's source.
		c.client.groupID = "KafkaSource-" + t.Name
	}
	// sink
	switch c.partitioner {
	case "default", "fixed", "round-robin":
	default:
		return nil, fmt.Errorf("invalid value '%s' for option '%s': expected default, fixed or round-robin (custom partitioner classes are Java-only)", c.partitioner, SinkPartitioner)
	}
	c.txnPrefix = strings.TrimSpace(o.String(SinkTransactionalIDPre))
	if c.guarantee == exactlyOnce {
		if c.txnPrefix == "" {
			return nil, fmt.Errorf("'%s' is required when '%s' is 'exactly-once'", SinkTransactionalIDPre, SinkDeliveryGuarantee)
		}
		if c.client.acksSet || c.client.idemSet {
			return nil, fmt.Errorf("'%s' = 'exactly-once' uses transactions, which need 'properties.acks' = 'all' and idempotence: leave 'properties.acks' and 'properties.enable.idempotence' unset", SinkDeliveryGuarantee)
		}
	} else if o.IsSet(SinkTransactionalIDPre) {
		return nil, fmt.Errorf("'%s' applies only when '%s' is 'exactly-once'", SinkTransactionalIDPre, SinkDeliveryGuarantee)
	}
	if err := c.parseFormats(f, t, o); err != nil {
		return nil, err
	}
	if err := checkMetadata(t.Metadata, c.value.format); err != nil {
		return nil, err
	}
	c.metadata = t.Metadata
	return c, nil
}

// parseSpecificOffsets parses 'partition:0,offset:42;partition:1,offset:300'.
func parseSpecificOffsets(key, v string) (map[int32]int64, error) {
	bad := fmt.Errorf("invalid value '%s' for option '%s': expected 'partition:0,offset:42;partition:1,offset:300'", v, key)
	m := map[int32]int64{}
	for _, item := range strings.Split(v, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		ps, os, ok := strings.Cut(item, ",")
		if !ok {
			return nil, bad
		}
		p, ok1 := strings.CutPrefix(strings.TrimSpace(ps), "partition:")
		off, ok2 := strings.CutPrefix(strings.TrimSpace(os), "offset:")
		pn, err1 := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		on, err2 := strconv.ParseInt(strings.TrimSpace(off), 10, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil || pn < 0 || on < 0 {
			return nil, bad
		}
		m[int32(pn)] = on
	}
	if len(m) == 0 {
		return nil, bad
	}
	return m, nil
}

// parseFormats splits the physical columns into key and value parts and
// parses each part's format options.
func (c *config) parseFormats(f connector.Factory, t connector.TableInfo, o connector.Options) error {
	valFmt, valPrefix := o.Enum(ValueFormat), "value."
	if !c.upsert && o.IsSet(Format) {
		if o.IsSet(ValueFormat) {
			return fmt.Errorf("options '%s' and '%s' cannot both be set", Format, ValueFormat)
		}
		valFmt, valPrefix = o.Enum(Format), ""
	}
	if valFmt == "" {
		return fmt.Errorf("one of '%s' or '%s' is required", Format, ValueFormat)
	}
	var keyNames []string
	keyFmt := o.Enum(KeyFormat)
	if c.upsert {
		if len(t.PrimaryKey) == 0 {
			return fmt.Errorf("'upsert-kafka' tables require a PRIMARY KEY constraint")
		}
		keyNames = t.PrimaryKey
	} else if o.IsSet(KeyFields) {
		for _, n := range strings.Split(o.String(KeyFields), ";") {
			if n = strings.TrimSpace(n); n != "" {
				keyNames = append(keyNames, n)
			}
		}
		if keyFmt == "" {
			return fmt.Errorf("'%s' needs '%s'", KeyFields, KeyFormat)
		}
	}
	if keyFmt != "" && isChangelog(valFmt) {
		return fmt.Errorf("the '%s' value format carries whole rows; it cannot be combined with '%s'", valFmt, KeyFormat)
	}
	if keyFmt != "" && len(keyNames) == 0 {
		return fmt.Errorf("'%s' needs the key columns in '%s'", KeyFormat, KeyFields)
	}
	prefix := o.String(KeyFieldsPrefix)
	exceptKey := o.Enum(ValueFieldsInclude) == "EXCEPT_KEY"
	if prefix != "" && !exceptKey {
		return fmt.Errorf("'%s' needs '%s' = 'EXCEPT_KEY'", KeyFieldsPrefix, ValueFieldsInclude)
	}
	inKey := map[int]bool{}
	if keyFmt != "" {
		c.key = &part{format: keyFmt}
		for _, n := range keyNames {
			i := t.Schema.Index(n)
			if i < 0 {
				return fmt.Errorf("key column '%s' is not a physical column of table '%s'; columns: %s", n, t.Name, strings.Join(t.Schema.Names(), ", "))
			}
			if !strings.HasPrefix(n, prefix) {
				return fmt.Errorf("key column '%s' does not start with '%s' ('%s')", n, prefix, KeyFieldsPrefix)
			}
			col := t.Schema.Columns[i]
			col.Name = strings.TrimPrefix(n, prefix)
			c.key.cols = append(c.key.cols, i)
			c.key.schema.Columns = append(c.key.schema.Columns, col)
			inKey[i] = true
		}
	}
	c.value = &part{format: valFmt}
	for i, col := range t.Schema.Columns {
		if exceptKey && inKey[i] {
			continue
		}
		c.value.cols = append(c.value.cols, i)
		c.value.schema.Columns = append(c.value.schema.Columns, col)
	}
	// Options of formats not in use, or of a key format the table does not
	// have, are mistakes worth reporting.
	used := map[string]bool{valPrefix + valFmt: true}
	if keyFmt != "" {
		used["key."+keyFmt] = true
	}
	keys := make([]string, 0, len(t.Options))
	for k := range t.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, d := range formatOptions {
			for _, pre := range []string{"", "key.", "value."} {
				if k == pre+d.Key && !used[pre+formatOf(d.Key)] {
					return fmt.Errorf("option '%s' does not apply to this table's formats (%s)", k, describeFormats(keyFmt, valFmt))
				}
			}
		}
	}
	var err error
	if c.key != nil {
		if c.key.opts, err = formatOpts(f, t, "key.", keyFmt); err != nil {
			return err
		}
		if err := checkPart("key", c.key); err != nil {
			return err
		}
	}
	if c.value.opts, err = formatOpts(f, t, valPrefix, valFmt); err != nil {
		return err
	}
	return checkPart("value", c.value)
}

// formatOf is the format an option belongs to: "json.x" → json.
func formatOf(key string) string {
	f, _, _ := strings.Cut(key, ".")
	return f
}

func describeFormats(key, value string) string {
	if key == "" {
		return "value format " + value
	}
	return "key format " + key + ", value format " + value
}

// formatOpts parses the options of one part's format with the part's
// prefix removed, so the format packages read their usual keys.
func formatOpts(f connector.Factory, t connector.TableInfo, prefix, name string) (connector.Options, error) {
	own := optionSet{id: f.Identifier() + " " + name + " format", opts: formatOptions}
	sub := connector.TableInfo{Name: t.Name, Schema: t.Schema, Options: map[string]string{}}
	for k, v := range t.Options {
		if rest, ok := strings.CutPrefix(k, prefix); ok && formatOf(rest) == formatOf(name) {
			sub.Options[rest] = v
		}
	}
	return connector.Parse(own, sub)
}

// checkPart checks that the part's format carries its columns and that its
// options are consistent.
func checkPart(what string, p *part) error {
	var err error
	switch p.format {
	case "json":
		_, err = json.ParseConfig(p.opts)
		if err == nil {
			err = json.CheckSchema(p.schema)
		}
	case "csv":
		_, err = csv.ParseConfig(p.opts)
		if err == nil {
			err = csv.CheckSchema(p.schema)
		}
	case "raw":
		err = raw.CheckSchema(p.schema)
	case "avro":
		err = avro.CheckSchema(p.schema)
	case cdcjson.Debezium.Name, cdcjson.Canal.Name, cdcjson.Maxwell.Name, cdcjson.Ogg.Name:
		_, err = cdcjson.Lookup(p.format).ParseConfig(p.opts)
		if err == nil {
			err = cdcjson.CheckSchema(p.schema)
		}
	case avro.Confluent:
		// The registry client connects lazily: this checks its options.
		if _, err = registry(p); err == nil {
			err = avro.CheckSchema(p.schema)
		}
	case avro.Debezium:
		if _, err = registry(p); err == nil {
			err = avro.CheckDebeziumSchema(p.schema, p.opts.String(avro.DebeziumSchema))
		}
	}
	if err != nil {
		return fmt.Errorf("%s format '%s': %w", what, p.format, err)
	}
	return nil
}

// ignoreParseErrors reports whether a part's format skips malformed records.
func (p *part) ignoreParseErrors() bool {
	switch p.format {
	case "json":
		return p.opts.Bool(json.IgnoreParseErrors)
	case "csv":
		return p.opts.Bool(csv.IgnoreParseErrors)
	}
	if f := cdcjson.Lookup(p.format); f != nil {
		return p.opts.Bool(f.Key(cdcjson.IgnoreParseErrors))
	}
	return false
}
