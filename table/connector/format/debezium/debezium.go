// Package debezium is Flink's 'debezium-json' format, a changelog source
// format: each message is a Debezium change event whose "op" says what
// happened to a row — c (create) and r (snapshot read) become +I of
// "after", u (update) a -U of "before" and a +U of "after", d (delete) a -D
// of "before". With debezium-json.schema-include the event is the
// "payload" of a {"schema": ..., "payload": ...} envelope. The row images
// decode with the json format's decoder, so values are read as json reads
// them.
package debezium

import (
	stdjson "encoding/json"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
	"github.com/eddysql/eddy/table/connector/format/json"
)

// Option keys.
const (
	SchemaInclude     = "debezium-json.schema-include"
	IgnoreParseErrors = "debezium-json.ignore-parse-errors"
	TimestampStandard = "debezium-json.timestamp-format.standard"
)

// Options are the format's option declarations.
var Options = []connector.Option{
	{Key: SchemaInclude, Type: connector.Bool, Default: "false",
		Doc: "Events are wrapped in a {\"schema\", \"payload\"} envelope (Kafka Connect's schemas.enable)."},
	{Key: IgnoreParseErrors, Type: connector.Bool, Default: "false",
		Doc: "Skip (and count) malformed events instead of failing."},
	{Key: TimestampStandard, Type: connector.Enum, Enum: []string{"SQL", "ISO-8601"}, Default: "SQL",
		Doc: "Spelling of TIMESTAMP values in row images: SQL or ISO-8601."},
}

// Config is the parsed options.
type Config struct {
	SchemaInclude     bool
	IgnoreParseErrors bool
	JSON              json.Config
}

// ParseConfig reads the options.
func ParseConfig(o connector.Options) Config {
	c := Config{SchemaInclude: o.Bool(SchemaInclude), IgnoreParseErrors: o.Bool(IgnoreParseErrors)}
	if o.Enum(TimestampStandard) == "ISO-8601" {
		c.JSON.Timestamp = format.ISO8601
	}
	return c
}

// CheckSchema reports the first column the format cannot carry.
func CheckSchema(s types.Schema) error { return json.CheckSchema(s) }

// Decoder decodes change events into the rows of a RecordBuilder and their
// kinds. Two json decoders over the same builders stage "before" and
// "after" independently, so an update appends both rows or neither.
type Decoder struct {
	cfg           Config
	before, after *json.RecordDecoder
	env           struct {
		Before  stdjson.RawMessage `json:"before"`
		After   stdjson.RawMessage `json:"after"`
		Op      string             `json:"op"`
		Payload stdjson.RawMessage `json:"payload"`
	}
}

// NewDecoder decodes into b, whose fields are s's columns.
func NewDecoder(cfg Config, s types.Schema, b *array.RecordBuilder) (*Decoder, error) {
	d := &Decoder{cfg: cfg}
	var err error
	if d.before, err = json.NewRecordDecoder(cfg.JSON, s, b); err != nil {
		return nil, err
	}
	d.after, err = json.NewRecordDecoder(cfg.JSON, s, b)
	return d, err
}

// Decode appends the rows of one event to the builders and their kinds to
// kinds, and returns how many rows it appended (0, 1 or 2).
func (d *Decoder) Decode(data []byte, kinds *array.Int8Builder) (int, error) {
	d.env.Before, d.env.After, d.env.Op, d.env.Payload = nil, nil, "", nil
	if err := stdjson.Unmarshal(data, &d.env); err != nil {
		return 0, fmt.Errorf("malformed Debezium event: %w", err)
	}
	if d.cfg.SchemaInclude {
		p := d.env.Payload
		if len(p) == 0 || string(p) == "null" {
			return 0, errors.New("malformed Debezium event: no \"payload\" (debezium-json.schema-include is true)")
		}
		d.env.Before, d.env.After, d.env.Op = nil, nil, ""
		if err := stdjson.Unmarshal(p, &d.env); err != nil {
			return 0, fmt.Errorf("malformed Debezium event payload: %w", err)
		}
	}
	image := func(dec *json.RecordDecoder, name string, raw stdjson.RawMessage) error {
		if len(raw) == 0 || string(raw) == "null" {
			return fmt.Errorf("Debezium event with op '%s' has no \"%s\" row", d.env.Op, name)
		}
		if err := dec.Stage(raw); err != nil {
			return fmt.Errorf("\"%s\": %w", name, err)
		}
		return nil
	}
	switch d.env.Op {
	case "c", "r":
		if err := image(d.after, "after", d.env.After); err != nil {
			return 0, err
		}
		d.after.Commit()
		kinds.Append(int8(connector.Insert))
		return 1, nil
	case "u":
		if err := image(d.before, "before", d.env.Before); err != nil {
			return 0, err
		}
		if err := image(d.after, "after", d.env.After); err != nil {
			return 0, err
		}
		d.before.Commit()
		kinds.Append(int8(connector.UpdateBefore))
		d.after.Commit()
		kinds.Append(int8(connector.UpdateAfter))
		return 2, nil
	case "d":
		if err := image(d.before, "before", d.env.Before); err != nil {
			return 0, err
		}
		d.before.Commit()
		kinds.Append(int8(connector.Delete))
		return 1, nil
	}
	return 0, fmt.Errorf("unknown Debezium operation '%s'", d.env.Op)
}
