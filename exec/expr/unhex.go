package expr

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/catalog/types"
)

// UNHEX(s) decodes a string of hexadecimal digits to BYTES; NULL when s is
// NULL or holds a character that is not a hex digit.
func init() {
	register(&funcDef{name: "UNHEX", resolve: fixedSig(types.BytesType, true, types.StringType), compile: compileUnhex})
}

// compileUnhex decodes each row into a reused builder. Of an odd number of
// digits the first is only checked: the result starts with a zero byte, as
// Flink's EncodingUtils.unhex does ('ABC' is x'00BC').
func compileUnhex(c *compiler, call *Call) (Evaluator, error) {
	out := array.NewBinaryBuilder(c.mem, arrow.BinaryTypes.Binary)
	var scratch []byte
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		s := strAt(args[0])
		out.Reserve(n)
		for i := 0; i < n; i++ {
			if !isValid(args[0], i) {
				out.AppendNull()
				continue
			}
			var ok bool
			if scratch, ok = unhex(scratch[:0], s(i)); ok {
				out.Append(scratch)
			} else {
				out.AppendNull()
			}
		}
		return out.NewArray(), nil
	})
}

// unhex appends the bytes the hex digits of s stand for to d.
func unhex(d []byte, s string) ([]byte, bool) {
	if len(s)%2 == 1 {
		if hexDigit(s[0]) < 0 {
			return d, false
		}
		d, s = append(d, 0), s[1:]
	}
	for i := 0; i < len(s); i += 2 {
		hi, lo := hexDigit(s[i]), hexDigit(s[i+1])
		if hi < 0 || lo < 0 {
			return d, false
		}
		d = append(d, byte(hi<<4|lo))
	}
	return d, true
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
