package expr

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// The VARIANT functions of Flink 2.1. A VARIANT column holds canonical
// JSON text (see types.AppendCanonicalVariant), so parsing canonicalizes
// once and access slices the text without re-encoding: the span of a
// member or element of a canonical value is itself canonical.
//
//	PARSE_JSON(s [, allowDuplicateKeys])      VARIANT; malformed JSON fails
//	TRY_PARSE_JSON(s [, allowDuplicateKeys])  VARIANT; malformed JSON gives NULL
//	v['key'], v[n]                           object field / array element
//	                                         (1-based), see resolveItem
func init() {
	register(&funcDef{name: "PARSE_JSON", mayFail: true, resolve: resolveParseJSON, compile: compileParseJSON})
	register(&funcDef{name: "TRY_PARSE_JSON", resolve: resolveParseJSON, compile: compileParseJSON})
}

// errMalformedJSON is Flink's message for PARSE_JSON of malformed input.
var errMalformedJSON = errors.New("Failed to parse json string")

func resolveParseJSON(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 2); err != nil {
		return nil, err
	}
	out := make([]Expr, len(args))
	for i, want := range []types.DataType{types.StringType, types.BooleanType}[:len(args)] {
		c, err := coerceParam(name, args, args[i], want)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	if len(out) == 2 {
		if _, ok := out[1].(*Literal); !ok {
			return nil, fmt.Errorf("%s: allowDuplicateKeys must be a BOOLEAN literal", name)
		}
	}
	t := strict(types.VariantType, args[:1])
	if name == "TRY_PARSE_JSON" {
		t = t.WithNullable(true)
	}
	return &Call{Func: name, Args: out, T: t}, nil
}

func compileParseJSON(c *compiler, call *Call) (Evaluator, error) {
	try := call.Func == "TRY_PARSE_JSON"
	allowDup := false
	if len(call.Args) == 2 {
		v, _ := call.Args[1].(*Literal).Value.(bool)
		allowDup = v
	}
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		s := strAt(args[0])
		out.start(n, n*8)
		for i := 0; i < n; i++ {
			if args[0].IsNull(i) {
				out.null()
				continue
			}
			var err error
			out.scratch, err = types.AppendCanonicalVariant(out.scratch[:0], []byte(s(i)), allowDup)
			switch {
			case err == nil:
				out.append(out.scratch)
			case try:
				out.null()
			default:
				out.finish().Release() // drop the rows built so far
				return nil, fmt.Errorf("%s: %w: %v", call.Func, errMalformedJSON, err)
			}
		}
		return out.finish(), nil
	})
}

// resolveVariantItem types v[key] (a character key: an object's field) and
// v[n] (an integer: an array's element, from 1). Both give a nullable
// VARIANT: NULL for a missing field or an index out of range.
func resolveVariantItem(name string, args []Expr) (Expr, error) {
	kt := args[1].Type()
	k := args[1]
	switch {
	case kt.IsInteger():
		var err error
		if k, err = implicitCast(k, types.IntType); err != nil {
			return nil, err
		}
	case kt.IsString(), kt.Kind == types.Null:
	default:
		// Calcite's message, one supported form a line.
		return nil, fmt.Errorf("Cannot apply 'ITEM' to arguments of type 'ITEM(<VARIANT>, <%s>)'. Supported form(s): "+
			"<ARRAY>[<INTEGER>]\n<MAP>[<ANY>]\n<ROW>[<CHARACTER>|<INTEGER>]\n<VARIANT>[<CHARACTER>|<INTEGER>]", kt.WithNullable(true))
	}
	return &Call{Func: name, Args: []Expr{args[0], k}, T: types.VariantType.WithNullable(true)}, nil
}

func compileVariantItem(c *compiler, call *Call) (Evaluator, error) {
	byIndex := call.Args[1].Type().IsInteger()
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[1].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		v := args[0].(*array.String)
		out.start(n, n*4)
		for i := 0; i < n; i++ {
			if v.IsNull(i) || args[1].IsNull(i) {
				out.null()
				continue
			}
			var (
				span  string
				found bool
				err   error
			)
			if byIndex {
				span, found, err = variantElement(v.Value(i), int64(args[1].(*array.Int32).Value(i)))
			} else {
				span, found, err = variantField(v.Value(i), args[1].(*array.String).Value(i))
			}
			switch {
			case err != nil:
				out.finish().Release() // drop the rows built so far
				return nil, err
			case found:
				out.appendString(span)
			default:
				out.null()
			}
		}
		return out.finish(), nil
	})
}

// variantField returns the span of field key of the canonical object v,
// and whether it has that field.
func variantField(v string, key string) (string, bool, error) {
	if len(v) == 0 || v[0] != '{' {
		return "", false, errors.New("String key access on variant requires an object variant, but a non-object variant was provided.")
	}
	for i := 1; i < len(v) && v[i] != '}'; {
		kEnd := skipCanonical(v, i)
		k := v[i:kEnd]
		vStart := kEnd + 1 // past ':'
		vEnd := skipCanonical(v, vStart)
		if canonicalKeyEquals(k, key) {
			return v[vStart:vEnd], true, nil
		}
		i = vEnd
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return "", false, nil
}

// variantElement returns the span of element n (from 1) of the canonical
// array v, and whether n is in range.
func variantElement(v string, n int64) (string, bool, error) {
	if len(v) == 0 || v[0] != '[' {
		return "", false, errors.New("Integer index access on variant requires an array variant, but a non-array variant was provided.")
	}
	if n < 1 {
		return "", false, nil
	}
	for i, k := 1, int64(1); i < len(v) && v[i] != ']'; k++ {
		end := skipCanonical(v, i)
		if k == n {
			return v[i:end], true, nil
		}
		i = end
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
	return "", false, nil
}

// skipCanonical returns the end of the canonical JSON value starting at i.
func skipCanonical(v string, i int) int {
	switch v[i] {
	case '"':
		for j := i + 1; j < len(v); j++ {
			switch v[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(v)
	case '{', '[':
		depth := 0
		for j := i; j < len(v); j++ {
			switch v[j] {
			case '"':
				j = skipCanonical(v, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(v)
	}
	j := i
	for j < len(v) && v[j] != ',' && v[j] != '}' && v[j] != ']' {
		j++
	}
	return j
}

// canonicalKeyEquals compares the JSON string literal lit with s.
func canonicalKeyEquals(lit string, s string) bool {
	body := lit[1 : len(lit)-1]
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' {
			var u string
			return json.Unmarshal([]byte(lit), &u) == nil && u == s
		}
	}
	return body == s
}

// variantCastTarget reports the types CAST takes a VARIANT to: the scalar
// it holds, as BOOLEAN, a number or a string (Flink's
// VariantToPrimitiveCastRule; Eddy's JSON variants hold no dates,
// timestamps or bytes).
func variantCastTarget(to types.DataType) bool {
	return to.Kind == types.Boolean || to.IsNumeric() || to.IsString()
}

// fromVariantKernel casts a VARIANT to a scalar type. The variant's scalar
// is first extracted as text (a string unquoted; a JSON null is SQL NULL)
// after checking its kind against the target: BOOLEAN needs true/false,
// numbers a number, strings any scalar. A mismatch, or an object or array,
// fails CAST and gives NULL under TRY_CAST. The text then goes through the
// regular string cast; a fractional number bound for an integer goes via
// DOUBLE, so that it truncates as a numeric cast does.
func fromVariantKernel(mem memory.Allocator, to types.DataType, try bool) (kernel, error) {
	direct, err := castKernel(mem, types.StringType, to, try)
	if err != nil {
		return nil, err
	}
	var viaDouble kernel
	if to.IsInteger() {
		toDouble, err := castKernel(mem, types.StringType, types.DoubleType, try)
		if err != nil {
			return nil, err
		}
		if viaDouble, err = chain(mem, func(a arrow.Array) (arrow.Array, error) {
			return toDouble([]arrow.Array{a}, a.Len())
		}, types.DoubleType, to); err != nil {
			return nil, err
		}
	}
	out := newStrOut(mem)
	return func(args []arrow.Array, n int) (arrow.Array, error) {
		v := args[0].(*array.String)
		out.start(n, n*4)
		fractional := false
		for i := 0; i < n; i++ {
			if v.IsNull(i) {
				out.null()
				continue
			}
			text := v.Value(i)
			ok := true
			switch c := text[0]; {
			case text == "null":
				out.null()
				continue
			case c == '"':
				var s string
				if ok = to.IsString() && json.Unmarshal([]byte(text), &s) == nil; ok {
					text = s
				}
			case c == 't' || c == 'f':
				ok = to.IsString() || to.Kind == types.Boolean
			case c == '{' || c == '[':
				ok = false
			default: // a number
				ok = to.IsString() || to.IsNumeric()
				fractional = fractional || strings.ContainsAny(text, ".eE")
			}
			if !ok {
				if try {
					out.null()
					continue
				}
				out.finish().Release() // drop the rows built so far
				return nil, fmt.Errorf("cannot cast VARIANT %s to %s", text, to)
			}
			out.appendString(text)
		}
		texts := out.finish()
		defer texts.Release()
		if fractional && viaDouble != nil {
			return viaDouble([]arrow.Array{texts}, n)
		}
		return direct([]arrow.Array{texts}, n)
	}, nil
}
