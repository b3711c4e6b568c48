package json

import (
	"errors"
	"fmt"
)

// Scanner walks JSON objects and arrays field by field without building
// them, handing out each value's raw bytes: the changelog formats read
// their envelopes with it ({"type": ..., "data": [...]}) and give the
// row images to a RecordDecoder. Values are not validated beyond their
// brackets; whoever reads one parses it.
type Scanner struct {
	str string // unescaped strings, valid until the next call
}

// IsNull reports whether raw, a value handed out by the scanner or a
// missing one, is absent or JSON null.
func IsNull(raw []byte) bool { return len(raw) == 0 || string(raw) == "null" }

// Object calls fn with the name and raw value of each field of the JSON
// object data, in order; both are valid until fn returns. An error from fn
// stops the walk and is returned.
func (s *Scanner) Object(data []byte, fn func(name, value []byte) error) error {
	return walkObject(data, &s.str, func(name []byte, p int) (int, error) {
		end, err := skipValue(data, p)
		if err != nil {
			return 0, err
		}
		return end, fn(name, data[p:end])
	})
}

// walkObject walks the fields of the JSON object data: value is called
// with each field's name (valid until value returns) and the position of
// its value, reads the value and returns the position after it. str is
// the scratch string of unescaped names.
func walkObject(data []byte, str *string, value func(name []byte, p int) (int, error)) error {
	p := skipWS(data, 0)
	if p >= len(data) || data[p] != '{' {
		return errors.New("malformed JSON object: expected '{'")
	}
	p = skipWS(data, p+1)
	if p < len(data) && data[p] == '}' {
		return endOfValue(data, p+1, "object")
	}
	for {
		if p >= len(data) || data[p] != '"' {
			return errors.New("malformed JSON object: expected a field name")
		}
		name, end, err := readString(data, p, str)
		if err != nil {
			return err
		}
		p = skipWS(data, end)
		if p >= len(data) || data[p] != ':' {
			return errors.New("malformed JSON object: expected ':'")
		}
		p = skipWS(data, p+1)
		if p >= len(data) {
			return errors.New("malformed JSON object: unexpected end")
		}
		if p, err = value(name, p); err != nil {
			return err
		}
		p = skipWS(data, p)
		if p < len(data) && data[p] == ',' {
			p = skipWS(data, p+1)
			continue
		}
		if p < len(data) && data[p] == '}' {
			return endOfValue(data, p+1, "object")
		}
		return errors.New("malformed JSON object: expected ',' or '}'")
	}
}

// Array calls fn with the raw value of each element of the JSON array
// data, in order. An error from fn stops the walk and is returned.
func (s *Scanner) Array(data []byte, fn func(elem []byte) error) error {
	p := skipWS(data, 0)
	if p >= len(data) || data[p] != '[' {
		return errors.New("malformed JSON array: expected '['")
	}
	p = skipWS(data, p+1)
	if p < len(data) && data[p] == ']' {
		return endOfValue(data, p+1, "array")
	}
	for {
		if p >= len(data) {
			return errors.New("malformed JSON array: unexpected end")
		}
		end, err := skipValue(data, p)
		if err != nil {
			return err
		}
		if err := fn(data[p:end]); err != nil {
			return err
		}
		p = skipWS(data, end)
		if p < len(data) && data[p] == ',' {
			p = skipWS(data, p+1)
			continue
		}
		if p < len(data) && data[p] == ']' {
			return endOfValue(data, p+1, "array")
		}
		return errors.New("malformed JSON array: expected ',' or ']'")
	}
}

// endOfValue checks that only white space follows position p.
// what ("object", "array") names the value in the error.
func endOfValue(data []byte, p int, what string) error {
	if skipWS(data, p) != len(data) {
		return fmt.Errorf("malformed JSON %s: data after the %s", what, what)
	}
	return nil
}

// String returns the contents of raw, a JSON string, unescaped; they are
// valid until the scanner's next call.
func (s *Scanner) String(raw []byte) ([]byte, error) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, fmt.Errorf("expected a JSON string, got %.32s", raw)
	}
	v, end, err := readString(raw, 0, &s.str)
	if err != nil {
		return nil, err
	}
	if end != len(raw) {
		return nil, errors.New("malformed JSON string")
	}
	return v, nil
}
