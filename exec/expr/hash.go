package expr

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
)

// Hashes and encodings: MD5, SHA1, SHA224, SHA256, SHA384, SHA512 and
// SHA2(s, bits) give lower-case hex digests of the UTF-8 bytes;
// TO_BASE64/FROM_BASE64 and HEX. Each evaluator keeps one hash state and
// resets it per row.
func init() {
	str := types.StringType
	for name, size := range map[string]int{"MD5": 32, "SHA1": 40, "SHA224": 56, "SHA256": 64, "SHA384": 96, "SHA512": 128} {
		register(&funcDef{name: name, resolve: fixedSig(types.VarcharType(size), false, str), compile: compileHash})
	}
	register(&funcDef{name: "SHA2", resolve: fixedSig(types.VarcharType(128), true, str, types.IntType), compile: compileHash})
	register(&funcDef{name: "TO_BASE64", resolve: fixedSig(str, false, str), compile: compileEncoding})
	register(&funcDef{name: "FROM_BASE64", resolve: fixedSig(str, true, str), compile: compileEncoding})
	register(&funcDef{name: "HEX", resolve: resolveHex, compile: compileEncoding})
}

var hashes = map[string]func() hash.Hash{
	"MD5": md5.New, "SHA1": sha1.New, "SHA224": sha256.New224, "SHA256": sha256.New,
	"SHA384": sha512.New384, "SHA512": sha512.New,
}

// sha2Names maps SHA2's bit lengths to the hash; other lengths give NULL.
var sha2Names = map[int64]string{224: "SHA224", 256: "SHA256", 384: "SHA384", 512: "SHA512"}

func compileHash(c *compiler, call *Call) (Evaluator, error) {
	states := map[string]hash.Hash{}
	state := func(name string) hash.Hash {
		h := states[name]
		if h == nil {
			h = hashes[name]()
			states[name] = h
		}
		return h
	}
	var sum, in []byte // scratch: the digest, and the input's bytes
	return newStrEval(c, call, func(args []arrow.Array) rowFn {
		s := strAt(args[0])
		name := func(int) string { return call.Func }
		if call.Func == "SHA2" {
			bits := intAt(args[1])
			name = func(i int) string { return sha2Names[bits(i)] }
		}
		return func(d []byte, i int) ([]byte, bool) {
			n := name(i)
			if n == "" {
				return d, false
			}
			h := state(n)
			h.Reset()
			in = append(in[:0], s(i)...)
			h.Write(in)
			sum = h.Sum(sum[:0])
			return hex.AppendEncode(d, sum), true
		}
	}, false)
}

// resolveHex: HEX(integer) prints the two's-complement 64-bit value, HEX(s)
// the string's UTF-8 bytes, both in upper-case hex.
func resolveHex(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	x := args[0]
	switch t := x.Type(); {
	case t.IsInteger(), t.Kind == types.Null:
		var err error
		if x, err = implicitCast(x, types.BigIntType); err != nil {
			return nil, err
		}
	case t.IsString():
	default:
		return nil, typeError(name, args)
	}
	return &Call{Func: name, Args: []Expr{x}, T: strict(types.StringType, args)}, nil
}

func compileEncoding(c *compiler, call *Call) (Evaluator, error) {
	fn := call.Func
	isInt := call.Args[0].Type().IsInteger()
	var in []byte // scratch: the input's bytes
	return newStrEval(c, call, func(args []arrow.Array) rowFn {
		if isInt {
			v := intAt(args[0])
			return func(d []byte, i int) ([]byte, bool) {
				start := len(d)
				d = strconv.AppendUint(d, uint64(v(i)), 16)
				upperHex(d[start:])
				return d, true
			}
		}
		s := strAt(args[0])
		return func(d []byte, i int) ([]byte, bool) {
			in = append(in[:0], s(i)...)
			switch fn {
			case "TO_BASE64":
				return base64.StdEncoding.AppendEncode(d, in), true
			case "FROM_BASE64":
				out, err := base64.StdEncoding.AppendDecode(d, bytes.TrimSpace(in))
				return out, err == nil // malformed input gives NULL
			}
			start := len(d)
			d = hex.AppendEncode(d, in)
			upperHex(d[start:])
			return d, true
		}
	}, false)
}

func upperHex(b []byte) {
	for k, ch := range b {
		if ch >= 'a' && ch <= 'f' {
			b[k] = ch - 'a' + 'A'
		}
	}
}
