package expr

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
)

// DECODE(bin, charset) turns bytes into a string and ENCODE(str, charset)
// a string into bytes, with Flink's charsets: 'US-ASCII', 'ISO-8859-1',
// 'UTF-8', 'UTF-16BE', 'UTF-16LE' and 'UTF-16' (big-endian unless a byte
// order mark says otherwise). As Java's String does, malformed input
// decodes to U+FFFD and unencodable characters encode as '?'. An unknown
// charset is an error: at planning time for a literal, else when a row
// names it.
func init() {
	register(&funcDef{name: "DECODE", mayFail: true, resolve: resolveCharsetCall, compile: compileDecode})
	register(&funcDef{name: "ENCODE", mayFail: true, resolve: resolveCharsetCall, compile: compileEncode})
}

// charset is one of the supported charsets, by canonical name.
type charset string

const (
	usASCII   charset = "US-ASCII"
	latin1    charset = "ISO-8859-1"
	utf8Set   charset = "UTF-8"
	utf16BE   charset = "UTF-16BE"
	utf16LE   charset = "UTF-16LE"
	utf16Auto charset = "UTF-16"
)

var charsetAliases = map[string]charset{
	"US-ASCII": usASCII, "ASCII": usASCII, "ISO-8859-1": latin1, "LATIN1": latin1, "ISO8859_1": latin1,
	"UTF-8": utf8Set, "UTF8": utf8Set, "UTF-16BE": utf16BE, "UTF-16LE": utf16LE, "UTF-16": utf16Auto,
}

func lookupCharset(name string) (charset, error) {
	cs, ok := charsetAliases[strings.ToUpper(strings.TrimSpace(name))]
	if !ok {
		return "", fmt.Errorf("unsupported charset '%s'", name)
	}
	return cs, nil
}

// resolveCharsetCall types DECODE(BINARY/BYTES, STRING) -> STRING and
// ENCODE(STRING, STRING) -> BYTES.
func resolveCharsetCall(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 2); err != nil {
		return nil, err
	}
	in, ret := types.BytesType, types.StringType
	if name == "ENCODE" {
		in, ret = types.StringType, types.BytesType
	}
	out := make([]Expr, 2)
	for i, want := range []types.DataType{in, types.StringType} {
		a := args[i]
		switch t := a.Type(); {
		case t.Kind == types.Null:
			c, err := implicitCast(a, want)
			if err != nil {
				return nil, err
			}
			a = c
		case want.IsString() && !t.IsString(), want.IsBinary() && !t.IsBinary():
			return nil, typeError(name, args)
		}
		out[i] = a
	}
	if s, ok := literalString(out[1]); ok {
		if _, err := lookupCharset(s); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return &Call{Func: name, Args: out, T: strict(ret, args)}, nil
}

// charsetsOf returns a per-row charset lookup for a batch's charset
// column, resolving each distinct name once.
func charsetsOf(a arrow.Array) func(i int) (charset, error) {
	names := strAt(a)
	var lastName string
	var last charset
	return func(i int) (charset, error) {
		n := names(i)
		if last != "" && n == lastName {
			return last, nil
		}
		cs, err := lookupCharset(n)
		if err != nil {
			return "", err
		}
		lastName, last = n, cs
		return cs, nil
	}
}

func compileDecode(c *compiler, call *Call) (Evaluator, error) {
	out := newStrOut(c.mem)
	var units []uint16 // scratch for UTF-16
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		cs := charsetsOf(args[1])
		out.start(n, n*8)
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.null()
				continue
			}
			set, err := cs(i)
			if err != nil {
				out.finish().Release() // drop the rows built so far
				return nil, fmt.Errorf("DECODE: %w", err)
			}
			out.scratch, units = decodeBytes(out.scratch[:0], units, binaryAt(args[0], i), set)
			out.append(out.scratch)
		}
		return out.finish(), nil
	})
}

// decodeBytes appends the UTF-8 form of b, read in charset cs, to d.
func decodeBytes(d []byte, units []uint16, b []byte, cs charset) ([]byte, []uint16) {
	switch cs {
	case utf8Set:
		if utf8.Valid(b) {
			return append(d, b...), units
		}
		return append(d, strings.ToValidUTF8(string(b), string(utf8.RuneError))...), units
	case usASCII:
		for _, c := range b {
			if c < utf8.RuneSelf {
				d = append(d, c)
			} else {
				d = utf8.AppendRune(d, utf8.RuneError)
			}
		}
		return d, units
	case latin1:
		for _, c := range b {
			d = utf8.AppendRune(d, rune(c))
		}
		return d, units
	}
	bigEndian := cs != utf16LE
	if cs == utf16Auto && len(b) >= 2 {
		switch {
		case b[0] == 0xFE && b[1] == 0xFF:
			b = b[2:]
		case b[0] == 0xFF && b[1] == 0xFE:
			b, bigEndian = b[2:], false
		}
	}
	units = units[:0]
	for k := 0; k+1 < len(b); k += 2 {
		if bigEndian {
			units = append(units, uint16(b[k])<<8|uint16(b[k+1]))
		} else {
			units = append(units, uint16(b[k+1])<<8|uint16(b[k]))
		}
	}
	for _, r := range utf16.Decode(units) {
		d = utf8.AppendRune(d, r)
	}
	if len(b)%2 == 1 {
		d = utf8.AppendRune(d, utf8.RuneError) // a truncated code unit
	}
	return d, units
}

func compileEncode(c *compiler, call *Call) (Evaluator, error) {
	out := array.NewBinaryBuilder(c.mem, arrow.BinaryTypes.Binary)
	var scratch []byte
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		cs := charsetsOf(args[1])
		s := strAt(args[0])
		out.Reserve(n)
		for i := 0; i < n; i++ {
			if anyNullAt(args, i) {
				out.AppendNull()
				continue
			}
			set, err := cs(i)
			if err != nil {
				out.NewArray().Release() // drop the rows built so far
				return nil, fmt.Errorf("ENCODE: %w", err)
			}
			scratch = encodeString(scratch[:0], s(i), set)
			out.Append(scratch)
		}
		return out.NewArray(), nil
	})
}

// encodeString appends s encoded in charset cs to d.
func encodeString(d []byte, s string, cs charset) []byte {
	switch cs {
	case utf8Set:
		return append(d, s...)
	case usASCII, latin1:
		limit := rune(utf8.RuneSelf)
		if cs == latin1 {
			limit = 0x100
		}
		for _, r := range s {
			if r < limit {
				d = append(d, byte(r))
			} else {
				d = append(d, '?')
			}
		}
		return d
	}
	if cs == utf16Auto {
		d = append(d, 0xFE, 0xFF) // Java writes a big-endian byte order mark
	}
	unit := func(u uint16) {
		if cs == utf16LE {
			d = append(d, byte(u), byte(u>>8))
		} else {
			d = append(d, byte(u>>8), byte(u))
		}
	}
	for _, r := range s {
		if hi, lo := utf16.EncodeRune(r); hi != utf8.RuneError {
			unit(uint16(hi))
			unit(uint16(lo))
		} else {
			unit(uint16(r))
		}
	}
	return d
}
