// Package cdcjson is Flink's JSON changelog formats: 'debezium-json'
// (Debezium), 'canal-json' (Alibaba Canal), 'maxwell-json' (Maxwell's
// daemon) and 'ogg-json' (Oracle GoldenGate). Each message is one change
// event in its tool's envelope; a Decoder turns it into changelog rows:
// inserts become +I, updates a -U of the row before and a +U of the row
// after, deletes -D. The envelopes differ only in field names, nesting
// and in how the row before an update is given, so they share one decoder
// core (envelope scan, row staging, metadata, include filters) and each
// format is a table of field names plus a function reading its event
// kinds.
//
// Row images decode with the json format's RecordDecoder (fields matched
// by name, values spelled as json reads them), a message at a time into
// the caller's Arrow builders; the envelope is walked by json.Scanner,
// without building a map per message.
//
// Encoders write an updating stream as these envelopes, as Flink's
// serialization schemas do: +I and +U rows as inserts, -U and -D rows as
// deletes (Flink cannot merge a -U/+U pair into one update event either).
package cdcjson

import (
	"fmt"
	"regexp"

	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/json"
)

// Format is one changelog JSON format.
type Format struct {
	// Name is the value of the 'format' option, e.g. "canal-json".
	Name string
	// tool names the CDC tool in error messages.
	tool string
	// opField is the envelope field holding the event kind.
	opField string
	// fields maps the envelope's field names to the slots Decoder keeps
	// their raw values in.
	fields map[string]slot
	// source maps the fields of a nested "source" block (Debezium's) to
	// slots; nil when the format has none.
	source map[string]slot
	// unwrap, when set, reads the nested parts of a scanned event
	// (Debezium's payload and source block) into their slots.
	unwrap func(d *Decoder) error
	// op reads the rows of one scanned event.
	op func(d *Decoder) error
	// meta are the format's metadata keys.
	meta []metaKey
	// filters: the format has database.include and table.include.
	filters bool
	// plainDecimal: the format has encode.decimal-as-plain-number.
	plainDecimal bool
	// schemaInclude: the format has schema-include (Debezium's).
	schemaInclude bool
	// insert and delete are the text an encoded row image is wrapped in
	// for +I/+U and for -U/-D rows.
	insert, delete [2]string
	options        []connector.Option
}

// slot is a field of an envelope Decoder keeps.
type slot uint8

const (
	slotOp slot = iota // the event kind: canal's and maxwell's "type", ogg's "op_type"
	slotData
	slotOld
	slotBefore
	slotAfter
	slotDatabase
	slotTable
	slotPKNames
	slotSQLType
	slotIngestTS
	slotEventTS
	slotIsDDL
	slotPayload      // Debezium: the event under schema-include
	slotSchema       // Debezium: the schema under schema-include
	slotSource       // Debezium: the source block
	slotSourceSchema // Debezium: the source's schema (namespace)
	numSlots
)

// The formats.
var (
	Debezium = &Format{
		Name: "debezium-json", tool: "Debezium", opField: "op",
		fields: map[string]slot{"op": slotOp, "before": slotBefore, "after": slotAfter, "ts_ms": slotIngestTS,
			"source": slotSource, "schema": slotSchema, "payload": slotPayload},
		source: map[string]slot{"db": slotDatabase, "schema": slotSourceSchema, "table": slotTable, "ts_ms": slotEventTS},
		unwrap: debeziumEnvelope,
		op:     debeziumRows,
		meta: []metaKey{
			{"schema", slotSchema, metaJSON, "STRING: the JSON schema of the payload, NULL unless debezium-json.schema-include"},
			{"ingestion-timestamp", slotIngestTS, metaMillis, "TIMESTAMP_LTZ(3): when the connector processed the event, Debezium's \"ts_ms\""},
			{"source.timestamp", slotEventTS, metaMillis, "TIMESTAMP_LTZ(3): when the change was made in the database, the source's \"ts_ms\""},
			{"source.database", slotDatabase, metaString, "STRING: the originating database, the source's \"db\""},
			{"source.schema", slotSourceSchema, metaString, "STRING: the originating schema, the source's \"schema\""},
			{"source.table", slotTable, metaString, "STRING: the originating table, the source's \"table\""},
			{"source.properties", slotSource, metaStringMap, "MAP<STRING, STRING>: the source block's fields"},
		},
		plainDecimal: true, schemaInclude: true,
		insert: [2]string{`{"before":null,"after":`, `,"op":"c"}`},
		delete: [2]string{`{"before":`, `,"after":null,"op":"d"}`},
	}
	Canal = &Format{
		Name: "canal-json", tool: "Canal", opField: "type",
		fields: map[string]slot{"type": slotOp, "data": slotData, "old": slotOld, "database": slotDatabase,
			"table": slotTable, "pkNames": slotPKNames, "sqlType": slotSQLType, "ts": slotIngestTS, "es": slotEventTS, "isDdl": slotIsDDL},
		op: canalRows,
		meta: []metaKey{
			{"database", slotDatabase, metaString, "STRING: the originating database, Canal's \"database\""},
			{"table", slotTable, metaString, "STRING: the originating table, Canal's \"table\""},
			{"sql-type", slotSQLType, metaIntMap, "MAP<STRING, INT>: the JDBC type of each column, Canal's \"sqlType\""},
			{"pk-names", slotPKNames, metaStrings, "ARRAY<STRING>: the primary key columns, Canal's \"pkNames\""},
			{"ingestion-timestamp", slotIngestTS, metaMillis, "TIMESTAMP_LTZ(3): when Canal processed the event, its \"ts\""},
			{"event-timestamp", slotEventTS, metaMillis, "TIMESTAMP_LTZ(3): when the change was made in the database, Canal's \"es\""},
		},
		filters: true, plainDecimal: true,
		insert: [2]string{`{"data":[`, `],"type":"INSERT"}`},
		delete: [2]string{`{"data":[`, `],"type":"DELETE"}`},
	}
	Maxwell = &Format{
		Name: "maxwell-json", tool: "Maxwell", opField: "type",
		fields: map[string]slot{"type": slotOp, "data": slotData, "old": slotOld, "database": slotDatabase,
			"table": slotTable, "primary_key_columns": slotPKNames, "ts": slotIngestTS},
		op: maxwellRows,
		meta: []metaKey{
			{"database", slotDatabase, metaString, "STRING: the originating database, Maxwell's \"database\""},
			{"table", slotTable, metaString, "STRING: the originating table, Maxwell's \"table\""},
			{"primary-key-columns", slotPKNames, metaStrings, "ARRAY<STRING>: the primary key columns, Maxwell's \"primary_key_columns\""},
			{"ingestion-timestamp", slotIngestTS, metaSeconds, "TIMESTAMP_LTZ(3): when Maxwell processed the event, its \"ts\" (seconds)"},
		},
		plainDecimal: true,
		insert:       [2]string{`{"data":`, `,"type":"insert"}`},
		delete:       [2]string{`{"data":`, `,"type":"delete"}`},
	}
	Ogg = &Format{
		Name: "ogg-json", tool: "Ogg", opField: "op_type",
		fields: map[string]slot{"op_type": slotOp, "before": slotBefore, "after": slotAfter, "table": slotTable,
			"primary_keys": slotPKNames, "current_ts": slotIngestTS, "op_ts": slotEventTS},
		op: oggRows,
		meta: []metaKey{
			{"table", slotTable, metaString, "STRING: the originating table (schema-qualified), GoldenGate's \"table\""},
			{"primary-keys", slotPKNames, metaStrings, "ARRAY<STRING>: the primary key columns, GoldenGate's \"primary_keys\""},
			{"ingestion-timestamp", slotIngestTS, metaText, "TIMESTAMP_LTZ(6): when GoldenGate processed the event, its \"current_ts\""},
			{"event-timestamp", slotEventTS, metaText, "TIMESTAMP_LTZ(6): when the change was made in the database, GoldenGate's \"op_ts\""},
		},
		insert: [2]string{`{"before":null,"after":`, `,"op_type":"I"}`},
		delete: [2]string{`{"before":`, `,"after":null,"op_type":"D"}`},
	}
	formats = []*Format{Debezium, Canal, Maxwell, Ogg}
)

func init() {
	for _, f := range formats {
		f.options = f.declare()
	}
}

// Lookup returns the format named name, or nil.
func Lookup(name string) *Format {
	for _, f := range formats {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Names lists the formats' names.
func Names() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.Name
	}
	return out
}

// AllOptions are the option declarations of every format.
func AllOptions() []connector.Option {
	var o []connector.Option
	for _, f := range formats {
		o = append(o, f.options...)
	}
	return o
}

// Options are the format's option declarations, keys prefixed by its name.
func (f *Format) Options() []connector.Option { return f.options }

// IgnoreParseErrors is the key suffix, after "<format>.", of the option
// that skips malformed events; the connector does the skipping (and
// counting), the Decoder reports every error.
const IgnoreParseErrors = "ignore-parse-errors"

// Other option key suffixes.
const (
	optTimestampStandard = "timestamp-format.standard"
	optMapNullKeyMode    = "map-null-key.mode"
	optMapNullKeyLiteral = "map-null-key.literal"
	optPlainDecimal      = "encode.decimal-as-plain-number"
	optDatabaseInclude   = "database.include"
	optTableInclude      = "table.include"
	optSchemaInclude     = "schema-include"
)

// Key is the full key of one of the format's options, e.g.
// Canal.Key("ignore-parse-errors").
func (f *Format) Key(suffix string) string { return f.Name + "." + suffix }

func (f *Format) declare() []connector.Option {
	o := []connector.Option{
		{Key: f.Key(IgnoreParseErrors), Type: connector.Bool, Default: "false",
			Doc: "Skip (and count) malformed events instead of failing."},
		{Key: f.Key(optTimestampStandard), Type: connector.Enum, Enum: []string{"SQL", "ISO-8601"}, Default: "SQL",
			Doc: "Spelling of TIMESTAMP values in row images: SQL '2020-12-30 12:13:14.123' or ISO-8601 '2020-12-30T12:13:14.123'."},
		// MAP columns are not carried by the JSON formats, so no null key
		// can arise; the options are accepted so that Flink DDL runs.
		{Key: f.Key(optMapNullKeyMode), Type: connector.Enum, Enum: []string{"FAIL", "DROP", "LITERAL"}, Default: "FAIL",
			Doc: "What writing a MAP with a NULL key does in Flink; accepted for compatibility (MAP columns are not supported)."},
		{Key: f.Key(optMapNullKeyLiteral), Type: connector.String, Default: "null",
			Doc: "The key a NULL MAP key is written as under map-null-key.mode LITERAL; accepted for compatibility."},
	}
	if f.plainDecimal {
		o = append(o, connector.Option{Key: f.Key(optPlainDecimal), Type: connector.Bool, Default: "false",
			Doc: "Write DECIMAL values without an exponent (1E-8 as 0.00000001)."})
	}
	if f.schemaInclude {
		o = append(o, connector.Option{Key: f.Key(optSchemaInclude), Type: connector.Bool, Default: "false",
			Doc: "Events are wrapped in a {\"schema\", \"payload\"} envelope (Kafka Connect's schemas.enable); read only."})
	}
	if f.filters {
		o = append(o,
			connector.Option{Key: f.Key(optDatabaseInclude), Type: connector.String,
				Doc: "Regular expression (matched against the whole name) of the databases whose events are read; others are skipped."},
			connector.Option{Key: f.Key(optTableInclude), Type: connector.String,
				Doc: "Regular expression (matched against the whole name) of the tables whose events are read; others are skipped."})
	}
	return o
}

// Config is a format's parsed options.
type Config struct {
	IgnoreParseErrors bool
	// SchemaInclude: events are the payload of a {"schema", "payload"}
	// envelope (debezium-json.schema-include).
	SchemaInclude bool
	JSON          json.Config
	// Database and Table are the include filters; nil reads every event.
	Database, Table *regexp.Regexp
}

// ParseConfig reads the format's options.
func (f *Format) ParseConfig(o connector.Options) (Config, error) {
	c := Config{IgnoreParseErrors: o.Bool(f.Key(IgnoreParseErrors))}
	if o.Enum(f.Key(optTimestampStandard)) == "ISO-8601" {
		c.JSON.Timestamp = format.ISO8601
	}
	if f.plainDecimal {
		c.JSON.PlainDecimal = o.Bool(f.Key(optPlainDecimal))
	}
	if f.schemaInclude {
		c.SchemaInclude = o.Bool(f.Key(optSchemaInclude))
	}
	if f.filters {
		var err error
		if c.Database, err = include(o, f.Key(optDatabaseInclude)); err != nil {
			return c, err
		}
		if c.Table, err = include(o, f.Key(optTableInclude)); err != nil {
			return c, err
		}
	}
	return c, nil
}

// CheckEncoding reports options an encoder cannot honor: Flink writes no
// schema-include envelope.
func (f *Format) CheckEncoding(c Config) error {
	if c.SchemaInclude {
		return fmt.Errorf("'%s' applies to reading only: the format writes no schema", f.Key(optSchemaInclude))
	}
	return nil
}

// include compiles an include filter, anchored as Java's Pattern.matches.
func include(o connector.Options, key string) (*regexp.Regexp, error) {
	if !o.IsSet(key) {
		return nil, nil
	}
	re, err := regexp.Compile("^(?:" + o.String(key) + ")$")
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression in '%s': %v", key, err)
	}
	return re, nil
}
