package json

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/table/connector/format"
)

// RecordDecoder decodes single JSON objects, such as Kafka message payloads,
// into the fields of a RecordBuilder. It scans the object itself instead of
// unmarshalling it into a map: a flat object of a few fields is decoded
// without allocating, which is what makes a Kafka source fast. Field names
// are matched to columns by a scan that first tries the column after the
// previous one, so objects written in column order match on the first try.
type RecordDecoder struct {
	cfg   Config
	names [][]byte
	cols  []*column
	seen  []bool
	str   string
	scan  Scanner
	// data is the object being staged, hint the column after the last
	// one matched, field is stageField as a value, made once.
	data  []byte
	hint  int
	field func(name []byte, p int) (int, error)
}

var _ format.RecordDecoder = (*RecordDecoder)(nil)

// NewRecordDecoder decodes objects whose fields are the columns of s into
// b, whose fields are s's columns.
func NewRecordDecoder(cfg Config, s types.Schema, b *array.RecordBuilder) (*RecordDecoder, error) {
	d := &RecordDecoder{cfg: cfg, seen: make([]bool, s.Len())}
	for i, c := range s.Columns {
		col, err := newColumn(cfg, c.Type, b.Field(i), &d.scan)
		if err != nil {
			return nil, fmt.Errorf("column '%s': %w", c.Name, err)
		}
		d.cols = append(d.cols, col)
		d.names = append(d.names, []byte(c.Name))
	}
	d.field = d.stageField
	return d, nil
}

// StageNull stages NULL for every column.
func (d *RecordDecoder) StageNull() {
	for _, c := range d.cols {
		c.SetNull()
	}
}

// Commit appends the staged row.
func (d *RecordDecoder) Commit() {
	for _, c := range d.cols {
		c.Commit()
	}
}

// Stage parses one JSON object; a column without a field is NULL.
func (d *RecordDecoder) Stage(data []byte) error { return d.stage(data, false) }

// StageOverlay parses one JSON object over the staged row: columns the
// object has no field for keep their staged values. Changelog formats
// whose update events carry only the changed fields' old values (canal's
// and maxwell's "old") rebuild the row before the update this way.
func (d *RecordDecoder) StageOverlay(data []byte) error { return d.stage(data, true) }

func (d *RecordDecoder) stage(data []byte, overlay bool) error {
	clear(d.seen)
	d.data, d.hint = data, 0
	err := walkObject(data, &d.str, d.field)
	d.data = nil
	if err != nil {
		return err
	}
	for k, ok := range d.seen {
		if !ok && !overlay {
			if d.cfg.FailOnMissingField {
				return fmt.Errorf("missing field '%s'", d.names[k])
			}
			d.cols[k].SetNull()
		}
	}
	return nil
}

// stageField stages the value at d.data[p] of the field name, or skips
// it when no column has the name (walkObject's value).
func (d *RecordDecoder) stageField(name []byte, p int) (int, error) {
	k := d.lookup(name, d.hint)
	if k < 0 {
		return skipValue(d.data, p)
	}
	d.hint = k + 1
	d.seen[k] = true
	return d.stageValue(k, d.data, p)
}

func (d *RecordDecoder) lookup(key []byte, hint int) int {
	if hint < len(d.names) && bytes.Equal(d.names[hint], key) {
		return hint
	}
	for k, n := range d.names {
		if bytes.Equal(n, key) {
			return k
		}
	}
	return -1
}

// stageValue stages the value at data[p] for column k and returns the
// position after it.
func (d *RecordDecoder) stageValue(k int, data []byte, p int) (int, error) {
	c := d.cols[k]
	switch data[p] {
	case '"':
		v, end, err := d.readString(data, p)
		if err != nil {
			return 0, err
		}
		if err := c.StageText(v); err != nil {
			return 0, fmt.Errorf("field '%s': %w", d.names[k], err)
		}
		return end, nil
	case '{', '[':
		end, err := skipValue(data, p)
		if err != nil {
			return 0, err
		}
		if err := c.Stage(data[p:end]); err != nil {
			return 0, fmt.Errorf("field '%s': %w", d.names[k], err)
		}
		return end, nil
	}
	end := p
	for end < len(data) && !isDelim(data[end]) {
		end++
	}
	if err := c.Stage(data[p:end]); err != nil {
		return 0, fmt.Errorf("field '%s': %w", d.names[k], err)
	}
	return end, nil
}

// readString reads the string starting at data[p] (a '"') and returns its
// unescaped contents, valid until the next call, and the position after
// the closing quote. Strings without escapes are returned in place.
func (d *RecordDecoder) readString(data []byte, p int) ([]byte, int, error) {
	return readString(data, p, &d.str)
}

// readString is RecordDecoder.readString with the scratch string of the
// unescaped contents passed in.
func readString(data []byte, p int, str *string) ([]byte, int, error) {
	escaped := false
	for i := p + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped {
				return data[p+1 : i], i + 1, nil
			}
			if err := stdjson.Unmarshal(data[p:i+1], str); err != nil {
				return nil, 0, fmt.Errorf("malformed JSON string: %w", err)
			}
			return []byte(*str), i + 1, nil
		}
	}
	return nil, 0, errors.New("malformed JSON object: unterminated string")
}

// skipValue returns the position after the JSON value at data[p], which
// belongs to no column. It checks brackets match but does not validate
// scalars, which no column reads.
func skipValue(data []byte, p int) (int, error) {
	var open []byte // expected closing brackets
	for i := p; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
			if i >= len(data) {
				return 0, errors.New("malformed JSON object: unterminated string")
			}
			if len(open) == 0 {
				return i + 1, nil
			}
		case '{':
			open = append(open, '}')
		case '[':
			open = append(open, ']')
		case '}', ']':
			if len(open) == 0 {
				if i == p {
					return 0, errors.New("malformed JSON object: unexpected '" + string(c) + "'")
				}
				return i, nil
			}
			if open[len(open)-1] != c {
				return 0, errors.New("malformed JSON object: mismatched '" + string(c) + "'")
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				return i + 1, nil
			}
		case ',', ' ', '\t', '\n', '\r':
			if len(open) == 0 {
				if i == p {
					return 0, errors.New("malformed JSON object: missing value")
				}
				return i, nil
			}
		}
	}
	if len(open) != 0 {
		return 0, errors.New("malformed JSON object: unexpected end")
	}
	return len(data), nil
}

func isDelim(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func skipWS(data []byte, p int) int {
	for p < len(data) && (data[p] == ' ' || data[p] == '\t' || data[p] == '\n' || data[p] == '\r') {
		p++
	}
	return p
}
