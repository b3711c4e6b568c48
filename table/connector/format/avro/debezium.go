package avro

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/twmb/avro"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

// Debezium is the name of Flink's 'debezium-avro-confluent' format:
// Debezium change events in Avro, framed and registered as avro-confluent
// records are.
const Debezium = "debezium-avro-confluent"

// DebeziumSchema is the option of debezium-avro-confluent's explicit
// envelope schema.
const DebeziumSchema = Debezium + ".schema"

// DebeziumOptions are debezium-avro-confluent's option declarations: the
// registry options avro-confluent honours, under the format's prefix, and
// the explicit schema.
var DebeziumOptions = append(registryOptions(Debezium,
	"Subject to register the envelope schema under when writing; by default '<topic>-value'."), connector.Option{
	Key: DebeziumSchema, Type: connector.String,
	Doc: "Avro schema of the envelope, instead of the one derived from the columns: registered and written by a sink, the reader schema of a source. Its shape must be the derived one's (a nullable record of before, after and op); names, namespaces and docs may differ."})

// DebeziumSchemaFor derives the writer schema of the envelope of rows
// with s's columns as Flink's DebeziumAvroSerializationSchema does: the
// nullable ROW<before ROW, after ROW, op STRING> through
// AvroSchemaConverter, which makes it a union of null and a record, and
// names the nested records after their field ('record_before',
// 'record_after').
func DebeziumSchemaFor(s types.Schema) (string, error) {
	before, err := recordSchema(s, RecordName+"_before")
	if err != nil {
		return "", err
	}
	after, err := recordSchema(s, RecordName+"_after")
	if err != nil {
		return "", err
	}
	env := record{"record", RecordName, []field{
		nullable("before", before), nullable("after", after), nullable("op", "string"),
	}}
	b, err := json.Marshal([]any{"null", env})
	return string(b), err
}

// CheckDebeziumSchema reports the first column the format cannot carry
// (the row images are avro's records), or that explicit, the text of the
// schema option when set, does not have the shape of the envelope schema
// derived from s.
func CheckDebeziumSchema(s types.Schema, explicit string) error {
	_, _, err := envelopeSchema(s, explicit)
	return err
}

// envelopeSchema parses the envelope schema of rows with s's columns and
// returns it with its text: explicit when set, which Flink's
// DebeziumAvroFormatFactory accepts only when it converts to the same row
// type as the derived schema, and else the derived one.
func envelopeSchema(s types.Schema, explicit string) (*avro.Schema, string, error) {
	text, err := DebeziumSchemaFor(s)
	if err != nil {
		return nil, "", err
	}
	derived, err := avro.Parse(text)
	if err != nil || explicit == "" {
		return derived, text, err
	}
	sch, err := avro.Parse(explicit)
	if err != nil {
		return nil, "", fmt.Errorf("option '%s': %w", DebeziumSchema, err)
	}
	if !sameShape(sch.Root().ExpandReferences(), derived.Root()) {
		return nil, "", fmt.Errorf("schema provided for '%s' format must be a nullable record type with fields 'before', 'after', 'op' and schema of fields 'before' and 'after' must match the table schema: %s", Debezium, explicit)
	}
	return sch, explicit, nil
}

// sameShape reports whether two schemas describe the same Flink type:
// names, namespaces, docs, aliases, defaults and custom properties aside,
// and with the null branch of a nullable union in either place.
func sameShape(a, b *avro.SchemaNode) bool {
	if a.Type != b.Type || a.LogicalType != b.LogicalType || a.Precision != b.Precision || a.Scale != b.Scale {
		return false
	}
	switch a.Type {
	case "record":
		if len(a.Fields) != len(b.Fields) {
			return false
		}
		for i := range a.Fields {
			if a.Fields[i].Name != b.Fields[i].Name || !sameShape(&a.Fields[i].Type, &b.Fields[i].Type) {
				return false
			}
		}
	case "union":
		// The derived unions are [null, T]; [T, null] is the same type.
		if len(a.Branches) != 2 || len(b.Branches) != 2 {
			return false
		}
		x, y := &a.Branches[0], &a.Branches[1]
		if y.Type == "null" {
			x, y = y, x
		}
		return x.Type == "null" && sameShape(y, &b.Branches[1])
	}
	return true
}

// The event kinds of Debezium's "op".
const (
	opCreate = "c"
	opRead   = "r" // a snapshot read
	opUpdate = "u"
	opDelete = "d"
)

// DebeziumDecoder decodes Confluent-framed Debezium Avro events into the
// rows of a RecordBuilder and their kinds, as Flink's
// DebeziumAvroDeserializationSchema: 'c' and 'r' events are +I of the row
// after, 'u' a -U of the row before and a +U of the row after, 'd' a -D
// of the row before; other envelope fields (source, ts_ms, ...) are
// skipped. Each writer schema is fetched from the registry by id once.
// The envelope is decoded by the writer schema (resolved to the explicit
// reader schema when one is given); its row images are staged by two row
// Decoders over the same builders, so that an update appends both rows or
// neither.
type DebeziumDecoder struct {
	reg           *Registry
	reader        *avro.Schema // the schema option's, nil when not set
	byID          map[uint32]*avro.Schema
	env           map[string]any
	before, after *Decoder
}

// NewDebeziumDecoder decodes into b, whose fields are the columns of s
// listed in proj (all of them when proj is nil). explicit, when not
// empty, is the reader schema of the envelope (the schema option).
func NewDebeziumDecoder(reg *Registry, s types.Schema, proj []int, b *array.RecordBuilder, explicit string) (*DebeziumDecoder, error) {
	sch, _, err := envelopeSchema(s, explicit)
	if err != nil {
		return nil, err
	}
	d := &DebeziumDecoder{reg: reg, byID: map[uint32]*avro.Schema{}, env: map[string]any{},
		before: newRowDecoder(s, proj, b), after: newRowDecoder(s, proj, b)}
	if explicit != "" {
		d.reader = sch
	}
	return d, nil
}

// Decode appends the rows of one event to the builders and their kinds to
// kinds, and returns how many rows it appended: none for an empty message
// (a tombstone), two for an update. A malformed event appends nothing.
func (d *DebeziumDecoder) Decode(data []byte, kinds *array.Int8Builder) (int, error) {
	if len(data) == 0 {
		return 0, nil
	}
	id, payload, err := unframe(data)
	if err != nil {
		return 0, err
	}
	w, ok := d.byID[id]
	if !ok {
		if w, err = d.reg.schemaByID(id); err != nil {
			return 0, err
		}
		if d.reader != nil {
			if w, err = avro.Resolve(w, d.reader); err != nil {
				return 0, fmt.Errorf("schema id %d cannot be read with '%s': %w", id, DebeziumSchema, err)
			}
		}
		d.byID[id] = w
	}
	clear(d.env)
	rest, err := w.Decode(payload, &d.env)
	if err != nil {
		return 0, fmt.Errorf("malformed Debezium Avro event: %w", err)
	}
	if len(rest) != 0 {
		return 0, fmt.Errorf("malformed Debezium Avro event: %d bytes after the record", len(rest))
	}
	op, _ := d.env["op"].(string)
	switch op {
	case opCreate, opRead:
		if err := d.stage(d.after, op, "after"); err != nil {
			return 0, err
		}
		d.after.Commit()
		kinds.Append(int8(connector.Insert))
		return 1, nil
	case opUpdate:
		if err := d.stage(d.before, op, "before"); err != nil {
			return 0, err
		}
		if err := d.stage(d.after, op, "after"); err != nil {
			return 0, err
		}
		d.before.Commit()
		d.after.Commit()
		kinds.Append(int8(connector.UpdateBefore))
		kinds.Append(int8(connector.UpdateAfter))
		return 2, nil
	case opDelete:
		if err := d.stage(d.before, op, "before"); err != nil {
			return 0, err
		}
		d.before.Commit()
		kinds.Append(int8(connector.Delete))
		return 1, nil
	}
	if d.env["op"] == nil {
		return 0, fmt.Errorf("a Debezium Avro event without an \"op\"")
	}
	return 0, fmt.Errorf("unknown \"op\" value %q of a Debezium Avro event", op)
}

// stage stages the row image in the envelope field what into dec.
func (d *DebeziumDecoder) stage(dec *Decoder, op, what string) error {
	row, ok := d.env[what].(map[string]any)
	if !ok {
		if d.env[what] != nil {
			return fmt.Errorf("the \"%s\" field of a Debezium Avro event is not a record", what)
		}
		if what == "before" {
			// Flink's hint: Postgres writes no row before unless asked to.
			return fmt.Errorf("the \"before\" field of a Debezium Avro event of op '%s' is null; with the Debezium Postgres connector, set the table's REPLICA IDENTITY to FULL", op)
		}
		return fmt.Errorf("the \"after\" field of a Debezium Avro event of op '%s' is null", op)
	}
	if err := dec.stageFields(row); err != nil {
		return fmt.Errorf("\"%s\": %w", what, err)
	}
	return nil
}

// DebeziumEncoder writes the rows of an updating stream as Debezium Avro
// events, as Flink's DebeziumAvroSerializationSchema: +I and +U rows as
// 'c' events carrying the row after, -U and -D rows as 'd' events
// carrying the row before (a -U/+U pair is not merged into one 'u'
// event). Events are framed with the id of the envelope schema, which
// NewDebeziumEncoder registers.
type DebeziumEncoder struct {
	schema *avro.Schema
	prefix []byte
	row    *Encoder
	kinds  *array.Int8
	env    map[string]any
}

var _ format.RecordEncoder = (*DebeziumEncoder)(nil)

// NewDebeziumEncoder registers the envelope schema of rows with s's
// columns under subject, explicit (the schema option) when not empty, and
// returns an encoder of such rows.
func NewDebeziumEncoder(reg *Registry, subject string, s types.Schema, explicit string) (*DebeziumEncoder, error) {
	sch, text, err := envelopeSchema(s, explicit)
	if err != nil {
		return nil, err
	}
	prefix, err := reg.register(subject, text)
	if err != nil {
		return nil, err
	}
	return &DebeziumEncoder{schema: sch, prefix: prefix, row: newRowEncoder(s), env: make(map[string]any, 3)}, nil
}

// BindKinds sets the kinds of the rows of the batch bound next; nil (an
// insert-only stream) makes every row an insert.
func (e *DebeziumEncoder) BindKinds(kinds *array.Int8) { e.kinds = kinds }

// Bind prepares the encoder for the rows of b (see format.RecordEncoder).
func (e *DebeziumEncoder) Bind(b arrow.RecordBatch) error { return e.row.Bind(b) }

// AppendRow appends the framed event of row i of the bound batch.
func (e *DebeziumEncoder) AppendRow(dst []byte, i int) ([]byte, error) {
	row := e.row.fields(i)
	e.env["before"], e.env["after"], e.env["op"] = nil, row, opCreate
	if e.kinds != nil {
		if k := connector.RowKind(e.kinds.Value(i)); k == connector.UpdateBefore || k == connector.Delete {
			e.env["before"], e.env["after"], e.env["op"] = row, nil, opDelete
		}
	}
	dst = append(dst, e.prefix...)
	return e.schema.AppendEncode(dst, e.env)
}
