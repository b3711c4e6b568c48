package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file defines the canonical JSON text that carries a VARIANT value
// (see DataType.Arrow): JSON without insignificant whitespace, object
// members sorted by key (byte-wise) with unique keys, strings re-escaped
// minimally, numbers as written. Two variants are equal exactly when their
// canonical texts are, so GROUP BY, DISTINCT and joins on VARIANT compare
// bytes.

// ErrDuplicateKey is wrapped by AppendCanonicalVariant for an object with
// a repeated key when duplicates are not allowed.
var ErrDuplicateKey = errors.New("duplicate object key")

// AppendCanonicalVariant parses the JSON text src and appends its
// canonical form to dst. With allowDuplicateKeys a repeated object key
// keeps its last value (as Flink's PARSE_JSON(s, TRUE)); otherwise it is an
// error wrapping ErrDuplicateKey.
func AppendCanonicalVariant(dst, src []byte, allowDuplicateKeys bool) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	out, err := canonicalValue(dst, dec, allowDuplicateKeys)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return dst, errors.New("unexpected end of JSON input")
	}
	if err != nil {
		return dst, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return dst, fmt.Errorf("unexpected data after the JSON value")
	}
	return out, nil
}

type member struct {
	key   string
	value []byte
}

func canonicalValue(dst []byte, dec *json.Decoder, allowDup bool) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return dst, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			dst = append(dst, '[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					dst = append(dst, ',')
				}
				if dst, err = canonicalValue(dst, dec, allowDup); err != nil {
					return dst, err
				}
			}
			if _, err := dec.Token(); err != nil {
				return dst, err
			}
			return append(dst, ']'), nil
		case '{':
			var members []member
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return dst, err
				}
				key, _ := kt.(string)
				v, err := canonicalValue(nil, dec, allowDup)
				if err != nil {
					return dst, err
				}
				if i := slices.IndexFunc(members, func(m member) bool { return m.key == key }); i >= 0 {
					if !allowDup {
						return dst, fmt.Errorf("%w '%s'", ErrDuplicateKey, key)
					}
					members[i].value = v
					continue
				}
				members = append(members, member{key: key, value: v})
			}
			if _, err := dec.Token(); err != nil {
				return dst, err
			}
			slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.key, b.key) })
			dst = append(dst, '{')
			for i, m := range members {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = AppendJSONString(dst, m.key)
				dst = append(dst, ':')
				dst = append(dst, m.value...)
			}
			return append(dst, '}'), nil
		}
		return dst, fmt.Errorf("unexpected %q", rune(t))
	case string:
		return AppendJSONString(dst, t), nil
	case json.Number:
		return append(dst, t...), nil
	case bool:
		if t {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case nil:
		return append(dst, "null"...), nil
	}
	return dst, fmt.Errorf("unexpected JSON token %v", tok)
}

// AppendJSONString appends s as a JSON string literal, escaping only what
// JSON requires (quotes, backslashes and control characters). A byte that
// is not part of valid UTF-8 becomes \ufffd, as Jackson writes it, so the
// literal is always valid JSON. It takes strings and byte slices alike, so
// that encoders holding either do not copy.
func AppendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			// At most utf8.UTFMax bytes: converting them to a string does
			// not allocate.
			r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, `\ufffd`...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		i++
	}
	return append(dst, '"')
}
