package cdcjson

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format/json"
)

// CheckSchema reports the first column the formats cannot carry: the row
// images are json's.
func CheckSchema(s types.Schema) error { return json.CheckSchema(s) }

// Decoder decodes change events into the rows of a RecordBuilder, their
// kinds and their metadata columns. Two json decoders over the same
// builders stage the row before and the row after a change independently,
// so an update appends both rows or neither; metadata is staged before
// any row of an event is appended, so a bad value appends nothing.
type Decoder struct {
	f             *Format
	cfg           Config
	before, after *json.RecordDecoder
	meta          []*metaColumn
	sc            json.Scanner
	env           [numSlots][]byte
	field, source func(name, value []byte) error
	kinds         *array.Int8Builder
	rows          int
	olds          [][]byte // canal: the elements of "old"
}

// NewDecoder decodes events into b, whose fields are s's columns, and
// into the builders of the metadata columns meta.
func (f *Format) NewDecoder(cfg Config, s types.Schema, b *array.RecordBuilder, meta []MetadataBuilder) (*Decoder, error) {
	d := &Decoder{f: f, cfg: cfg}
	var err error
	if d.before, err = json.NewRecordDecoder(cfg.JSON, s, b); err != nil {
		return nil, err
	}
	if d.after, err = json.NewRecordDecoder(cfg.JSON, s, b); err != nil {
		return nil, err
	}
	for _, m := range meta {
		c, err := newMetaColumn(f, m)
		if err != nil {
			return nil, err
		}
		d.meta = append(d.meta, c)
	}
	d.field = func(name, value []byte) error {
		if s, ok := f.fields[string(name)]; ok {
			d.env[s] = value
		}
		return nil
	}
	d.source = func(name, value []byte) error {
		if s, ok := f.source[string(name)]; ok {
			d.env[s] = value
		}
		return nil
	}
	return d, nil
}

// Decode appends the rows of one event to the builders and their kinds to
// kinds, and returns how many rows it appended: none for an empty message
// or an event the include filters or the format skip (canal's DDL
// events), two per update. A canal event carries several rows; when one
// of them is malformed, the rows before it stay appended and are counted
// in the returned number, as Flink emits them before it fails.
func (d *Decoder) Decode(data []byte, kinds *array.Int8Builder) (int, error) {
	d.kinds, d.rows = kinds, 0
	if len(bytes.TrimSpace(data)) == 0 {
		return 0, nil
	}
	clear(d.env[:])
	if err := d.sc.Object(data, d.field); err != nil {
		return 0, fmt.Errorf("malformed %s event: %w", d.f.tool, err)
	}
	if d.f.unwrap != nil {
		if err := d.f.unwrap(d); err != nil {
			return 0, err
		}
	}
	if ok, err := d.included(); !ok || err != nil {
		return 0, err
	}
	for _, m := range d.meta {
		if err := m.stage(&d.sc, d.env[m.slot]); err != nil {
			return 0, fmt.Errorf("metadata '%s': %w", m.key, err)
		}
	}
	err := d.f.op(d)
	return d.rows, err
}

// included applies the include filters to the event's database and table.
func (d *Decoder) included() (bool, error) {
	for _, f := range []struct {
		re *regexp.Regexp
		s  slot
	}{{d.cfg.Database, slotDatabase}, {d.cfg.Table, slotTable}} {
		if f.re == nil {
			continue
		}
		raw := d.env[f.s]
		if json.IsNull(raw) {
			return false, nil
		}
		name, err := d.sc.String(raw)
		if err != nil {
			return false, fmt.Errorf("malformed %s event: %w", d.f.tool, err)
		}
		if !f.re.Match(name) {
			return false, nil
		}
	}
	return true, nil
}

// opName is the event kind, unescaped. It is a []byte, compared as
// string(op), so that reading it allocates nothing.
func (d *Decoder) opName() ([]byte, error) {
	raw := d.env[slotOp]
	name := d.f.opField
	if json.IsNull(raw) {
		return nil, fmt.Errorf("%s event without \"%s\"", d.f.tool, name)
	}
	v, err := d.sc.String(raw)
	if err != nil {
		return nil, fmt.Errorf("\"%s\": %w", name, err)
	}
	return v, nil
}

// stage stages one row image, named what in errors, into dec.
func (d *Decoder) stage(dec *json.RecordDecoder, op []byte, what string, raw []byte) error {
	if json.IsNull(raw) {
		return fmt.Errorf("%s event of type '%s' has no \"%s\" row", d.f.tool, op, what)
	}
	if err := dec.Stage(raw); err != nil {
		return fmt.Errorf("\"%s\": %w", what, err)
	}
	return nil
}

// emit appends the row staged in dec with its kind and metadata.
func (d *Decoder) emit(dec *json.RecordDecoder, kind connector.RowKind) {
	dec.Commit()
	d.kinds.Append(int8(kind))
	for _, m := range d.meta {
		m.commit()
	}
	d.rows++
}

func (d *Decoder) insert(op []byte, what string, raw []byte) error {
	if err := d.stage(d.after, op, what, raw); err != nil {
		return err
	}
	d.emit(d.after, connector.Insert)
	return nil
}

func (d *Decoder) delete(op []byte, what string, raw []byte) error {
	if err := d.stage(d.before, op, what, raw); err != nil {
		return err
	}
	d.emit(d.before, connector.Delete)
	return nil
}

// update appends the -U of the row before and the +U of the row after.
// With old set (canal, maxwell), the row before is the row after with the
// fields of old, the changed ones, replaced by their old values.
func (d *Decoder) update(op []byte, beforeName string, before, old []byte, afterName string, after []byte) error {
	if err := d.stage(d.before, op, beforeName, before); err != nil {
		return err
	}
	if old != nil {
		if err := d.before.StageOverlay(old); err != nil {
			return fmt.Errorf("\"old\": %w", err)
		}
	}
	if err := d.stage(d.after, op, afterName, after); err != nil {
		return err
	}
	d.emit(d.before, connector.UpdateBefore)
	d.emit(d.after, connector.UpdateAfter)
	return nil
}

// debeziumEnvelope reads the payload of a schema-include envelope and the
// source block into their slots.
func debeziumEnvelope(d *Decoder) error {
	if d.cfg.SchemaInclude {
		p := d.env[slotPayload]
		if json.IsNull(p) {
			return errors.New("malformed Debezium event: no \"payload\" (debezium-json.schema-include is true)")
		}
		if err := d.sc.Object(p, d.field); err != nil {
			return fmt.Errorf("malformed Debezium event payload: %w", err)
		}
	} else if json.IsNull(d.env[slotOp]) && !json.IsNull(d.env[slotPayload]) {
		return errors.New("Debezium event without \"op\" but with a \"payload\": set 'debezium-json.schema-include' to 'true' for events with their schema")
	}
	if src := d.env[slotSource]; !json.IsNull(src) {
		if err := d.sc.Object(src, d.source); err != nil {
			return fmt.Errorf("malformed Debezium event source: %w", err)
		}
	}
	return nil
}

// debeziumRows reads a Debezium event: c (create) and r (snapshot read)
// insert "after", u updates "before" to "after", d deletes "before".
func debeziumRows(d *Decoder) error {
	op, err := d.opName()
	if err != nil {
		return err
	}
	before := d.env[slotBefore]
	if (string(op) == "u" || string(op) == "d") && json.IsNull(before) {
		return fmt.Errorf("Debezium event with op '%s' has no \"before\" row: a PostgreSQL table needs REPLICA IDENTITY FULL", op)
	}
	switch string(op) {
	case "c", "r":
		return d.insert(op, "after", d.env[slotAfter])
	case "u":
		return d.update(op, "before", before, nil, "after", d.env[slotAfter])
	case "d":
		return d.delete(op, "before", before)
	}
	return fmt.Errorf("unknown Debezium operation '%s'", op)
}

// canalRows reads a Canal event: "data" is an array of rows; an UPDATE's
// "old" holds, per row, the old values of the fields that changed.
func canalRows(d *Decoder) error {
	if string(d.env[slotIsDDL]) == "true" {
		// A DDL statement (Canal's isDdl) changes no row.
		return nil
	}
	op, err := d.opName()
	if err != nil {
		return err
	}
	data := d.env[slotData]
	switch string(op) {
	case "INSERT", "DELETE":
		if json.IsNull(data) {
			return fmt.Errorf("Canal event of type '%s' has no \"data\"", op)
		}
		return d.sc.Array(data, func(row []byte) error {
			if string(op) == "INSERT" {
				return d.insert(op, "data", row)
			}
			return d.delete(op, "data", row)
		})
	case "UPDATE":
		if json.IsNull(data) {
			return errors.New("Canal event of type 'UPDATE' has no \"data\"")
		}
		d.olds = d.olds[:0]
		if !json.IsNull(d.env[slotOld]) {
			if err := d.sc.Array(d.env[slotOld], func(o []byte) error {
				d.olds = append(d.olds, o)
				return nil
			}); err != nil {
				return fmt.Errorf("\"old\": %w", err)
			}
		}
		i := 0
		return d.sc.Array(data, func(row []byte) error {
			if i >= len(d.olds) {
				return fmt.Errorf("Canal UPDATE event has %d \"old\" rows, fewer than its \"data\" rows", len(d.olds))
			}
			old := d.olds[i]
			i++
			if json.IsNull(old) {
				old = nil
			}
			return d.update(op, "data", row, old, "data", row)
		})
	case "CREATE":
		// A CREATE TABLE carries no rows.
		return nil
	}
	return fmt.Errorf("unknown Canal event type '%s'", op)
}

// maxwellRows reads a Maxwell event: "data" is the row; an update's "old"
// holds the old values of the fields that changed.
func maxwellRows(d *Decoder) error {
	op, err := d.opName()
	if err != nil {
		return err
	}
	data := d.env[slotData]
	switch string(op) {
	case "insert":
		return d.insert(op, "data", data)
	case "update":
		old := d.env[slotOld]
		if json.IsNull(old) {
			old = nil
		}
		return d.update(op, "data", data, old, "data", data)
	case "delete":
		return d.delete(op, "data", data)
	}
	return fmt.Errorf("unknown Maxwell event type '%s'", op)
}

// oggRows reads a GoldenGate event: "before" and "after" are whole rows.
func oggRows(d *Decoder) error {
	op, err := d.opName()
	if err != nil {
		return err
	}
	switch string(op) {
	case "I":
		return d.insert(op, "after", d.env[slotAfter])
	case "U":
		if json.IsNull(d.env[slotBefore]) {
			return errors.New("Ogg update event has no \"before\" row: GoldenGate must write the before images of updates (GETUPDATEBEFORES)")
		}
		return d.update(op, "before", d.env[slotBefore], nil, "after", d.env[slotAfter])
	case "D":
		return d.delete(op, "before", d.env[slotBefore])
	}
	return fmt.Errorf("unknown Ogg op_type '%s'", op)
}
