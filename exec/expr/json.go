package expr

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// JSON functions. Documents are STRING values scanned in place by a small
// validating scanner: a path query walks the text and yields byte spans of
// the matched values, so no row builds a map[string]any or allocates per
// value. Paths are Flink's subset of SQL/JSON paths (Calcite delegates to
// Jayway JsonPath): an optional 'lax' or 'strict' mode, then $ followed by
// .key, ['key'] / ["key"], .* and [n] (0-based) / [*]. As in Flink, lax
// mode only turns structural errors into empty results; it does not unwrap
// arrays. A path with a wildcard is indefinite and yields a list of
// matches, which JSON_VALUE (scalars only) rejects and JSON_QUERY returns as
// a JSON array. Invalid JSON is an error in strict mode and an empty
// result in lax mode, as in Calcite; the functions map errors to their ON
// ERROR behaviour (NULL by default, FALSE for JSON_EXISTS).
//
// JSON_VALUE and JSON_QUERY take their SQL clauses as arguments (the
// parser lowers them, see sql's jsonFunc): JSON_VALUE(json, path, onEmpty,
// emptyDefault, onError, errorDefault), typed by its defaults (the
// RETURNING type), and JSON_QUERY(json, path, wrapper, onEmpty, onError).
// As in Flink (Calcite's JsonFunctions), a path without a mode is strict.
func init() {
	register(&funcDef{name: "JSON_VALUE", resolve: resolveJSONValue, compile: compileJSONValue})
	register(&funcDef{name: "JSON_QUERY", resolve: resolveJSONQueryFunc, compile: compileJSONQuery})
	register(&funcDef{name: "JSON_EXISTS", mayFail: true, resolve: resolveJSONExists, compile: compileJSONExists})
	register(&funcDef{name: "IS JSON", resolve: resolveIsJSON, compile: compileIsJSON})
	register(&funcDef{name: "JSON_STRING", resolve: resolveJSONString, compile: compileJSONCtor})
	register(&funcDef{name: "JSON", mayFail: true, resolve: fixedSig(types.StringType, true, types.StringType), compile: compileJSONText})
	register(&funcDef{name: "JSON_ARRAY", resolve: resolveJSONCtor, compile: compileJSONCtor})
	register(&funcDef{name: "JSON_OBJECT", resolve: resolveJSONCtor, compile: compileJSONCtor})
	// The constructors with their other ON NULL behavior, which the SQL
	// front end writes for JSON_ARRAY(... NULL ON NULL) and
	// JSON_OBJECT(... ABSENT ON NULL).
	register(&funcDef{name: jsonArrayNullOnNull, resolve: resolveJSONCtor, compile: compileJSONCtor})
	register(&funcDef{name: jsonObjectAbsentOnNull, resolve: resolveJSONCtor, compile: compileJSONCtor})
}

// resolveJSONQuery: F(json STRING, path STRING). JSON_VALUE and
// JSON_QUERY can always yield NULL; JSON_EXISTS is NULL only for NULL
// arguments.
func resolveJSONQuery(ret types.DataType) func(string, []Expr) (Expr, error) {
	sig := fixedSig(ret, ret.IsString(), types.StringType, types.StringType)
	return func(name string, args []Expr) (Expr, error) {
		e, err := sig(name, args)
		if err != nil {
			return nil, err
		}
		if p, ok := literalString(args[1]); ok {
			if _, err := parseJSONPath(p); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
		}
		return e, nil
	}
}

type jsonStepKind byte

const (
	stepKey jsonStepKind = iota
	stepIndex
	// stepWildcard is .* and [*], which Jayway JsonPath treats alike: the
	// members of an object, the elements of an array, nothing of a scalar.
	stepWildcard
)

type jsonStep struct {
	kind  jsonStepKind
	key   string
	index int
}

// jsonPath is a compiled path expression.
type jsonPath struct {
	strict     bool
	indefinite bool // has a wildcard: the result is a list
	steps      []jsonStep
}

// parseJSONPath compiles a path such as 'lax $.a[0].b' or "$['a b'][*]".
func parseJSONPath(p string) (*jsonPath, error) {
	path := &jsonPath{strict: true}
	s := strings.TrimSpace(p)
	if mode, rest, ok := strings.Cut(s, " "); ok {
		switch strings.ToLower(mode) {
		case "strict":
			path.strict, s = true, strings.TrimSpace(rest)
		case "lax":
			path.strict, s = false, strings.TrimSpace(rest)
		}
	}
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("invalid JSON path '%s': it must start with $", p)
	}
	bad := func() (*jsonPath, error) { return nil, fmt.Errorf("invalid JSON path '%s'", p) }
	for i := 1; i < len(s); {
		switch s[i] {
		case '.':
			i++
			switch {
			case i < len(s) && s[i] == '*':
				path.steps = append(path.steps, jsonStep{kind: stepWildcard})
				path.indefinite = true
				i++
			case i < len(s) && s[i] == '[':
				// $.['key'] is accepted as Flink's documentation writes it.
			default:
				j := i
				for j < len(s) && s[j] != '.' && s[j] != '[' {
					j++
				}
				if j == i {
					return bad()
				}
				path.steps = append(path.steps, jsonStep{kind: stepKey, key: s[i:j]})
				i = j
			}
		case '[':
			j := skipWS(s, i+1)
			if j < len(s) && (s[j] == '\'' || s[j] == '"') {
				// A quoted key may contain any character but its quote.
				k := strings.IndexByte(s[j+1:], s[j])
				if k < 0 {
					return bad()
				}
				key := s[j+1 : j+1+k]
				if j = skipWS(s, j+k+2); j >= len(s) || s[j] != ']' {
					return bad()
				}
				path.steps = append(path.steps, jsonStep{kind: stepKey, key: key})
				i = j + 1
				continue
			}
			k := strings.IndexByte(s[i:], ']')
			if k < 0 {
				return bad()
			}
			inner := strings.TrimSpace(s[i+1 : i+k])
			i += k + 1
			if inner == "*" {
				path.steps = append(path.steps, jsonStep{kind: stepWildcard})
				path.indefinite = true
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return bad()
			}
			path.steps = append(path.steps, jsonStep{kind: stepIndex, index: n})
		default:
			return bad()
		}
	}
	return path, nil
}

// jsonSpan is a value's byte range in a document.
type jsonSpan struct{ start, end int }

// jsonMatcher evaluates one path against documents, reusing its scratch
// span lists.
type jsonMatcher struct {
	path     *jsonPath
	cur, nxt []jsonSpan
}

// match returns the spans of doc that path selects, or ok=false when doc
// is not valid JSON or a strict-mode path does not fit its structure. As
// in Jayway JsonPath, only the steps before the first wildcard have to
// fit: after it, a value without the key or index is skipped, in either
// mode.
func (m *jsonMatcher) match(doc string) (spans []jsonSpan, ok bool) {
	start := skipWS(doc, 0)
	end, ok := skipJSON(doc, start)
	if !ok || skipWS(doc, end) != len(doc) {
		return nil, false
	}
	m.cur = append(m.cur[:0], jsonSpan{start, end})
	afterWildcard := false
	for _, st := range m.path.steps {
		m.nxt = m.nxt[:0]
		for _, sp := range m.cur {
			found := false
			switch st.kind {
			case stepKey:
				if doc[sp.start] != '{' {
					break
				}
				eachMember(doc, sp.start, func(key jsonSpan, val jsonSpan) bool {
					if jsonStringEquals(doc[key.start:key.end], st.key) {
						m.nxt = append(m.nxt, val)
						found = true
						return false
					}
					return true
				})
			case stepIndex:
				if doc[sp.start] != '[' {
					break
				}
				k := 0
				eachElement(doc, sp.start, func(val jsonSpan) bool {
					if k == st.index {
						m.nxt = append(m.nxt, val)
						found = true
					}
					k++
					return k <= st.index
				})
			case stepWildcard:
				found = true
				switch doc[sp.start] {
				case '{':
					eachMember(doc, sp.start, func(_ jsonSpan, val jsonSpan) bool {
						m.nxt = append(m.nxt, val)
						return true
					})
				case '[':
					eachElement(doc, sp.start, func(val jsonSpan) bool {
						m.nxt = append(m.nxt, val)
						return true
					})
				}
			}
			if !found && m.path.strict && !afterWildcard {
				return nil, false
			}
		}
		afterWildcard = afterWildcard || st.kind == stepWildcard
		m.cur, m.nxt = m.nxt, m.cur
	}
	return m.cur, true
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipJSON validates the JSON value starting at s[i] and returns the index
// just past it.
func skipJSON(s string, i int) (int, bool) {
	if i >= len(s) {
		return i, false
	}
	switch c := s[i]; {
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == closing {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i >= len(s) || s[i] != '"' {
					return i, false
				}
				if i, ok = skipString(s, i); !ok {
					return i, false
				}
				if i = skipWS(s, i); i >= len(s) || s[i] != ':' {
					return i, false
				}
				i = skipWS(s, i+1)
			}
			if i, ok = skipJSON(s, i); !ok {
				return i, false
			}
			if i = skipWS(s, i); i >= len(s) {
				return i, false
			}
			switch s[i] {
			case ',':
				i = skipWS(s, i+1)
			case closing:
				return i + 1, true
			default:
				return i, false
			}
		}
	case c == '"':
		return skipString(s, i)
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(s, i)
	case strings.HasPrefix(s[i:], "true"):
		return i + 4, true
	case strings.HasPrefix(s[i:], "false"):
		return i + 5, true
	case strings.HasPrefix(s[i:], "null"):
		return i + 4, true
	}
	return i, false
}

func skipString(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i >= len(s) {
				return i, false
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) {
					return i, false
				}
				if _, err := strconv.ParseUint(s[i+1:i+5], 16, 16); err != nil {
					return i, false
				}
				i += 4
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		}
	}
	return i, false
}

func skipNumber(s string, i int) (int, bool) {
	digits := func() bool {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > j
	}
	if s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if !digits() {
		return i, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}

// eachMember calls fn with the key (including quotes) and value spans of
// each member of the valid object at s[i], until fn returns false.
func eachMember(s string, i int, fn func(key, val jsonSpan) bool) {
	i = skipWS(s, i+1)
	for i < len(s) && s[i] == '"' {
		kend, _ := skipString(s, i)
		vstart := skipWS(s, skipWS(s, kend)+1)
		vend, _ := skipJSON(s, vstart)
		if !fn(jsonSpan{i, kend}, jsonSpan{vstart, vend}) {
			return
		}
		i = skipWS(s, vend)
		if i < len(s) && s[i] == ',' {
			i = skipWS(s, i+1)
		}
	}
}

// eachElement calls fn with the span of each element of the valid array at
// s[i], until fn returns false.
func eachElement(s string, i int, fn func(val jsonSpan) bool) {
	i = skipWS(s, i+1)
	for i < len(s) && s[i] != ']' {
		end, _ := skipJSON(s, i)
		if !fn(jsonSpan{i, end}) {
			return
		}
		i = skipWS(s, end)
		if i < len(s) && s[i] == ',' {
			i = skipWS(s, i+1)
		}
	}
}

// jsonStringEquals compares a quoted JSON string with key.
func jsonStringEquals(quoted, key string) bool {
	raw := quoted[1 : len(quoted)-1]
	if !strings.Contains(raw, `\`) {
		return raw == key
	}
	return string(appendUnescaped(nil, quoted)) == key
}

// appendUnescaped appends the text of a valid quoted JSON string.
func appendUnescaped(d []byte, quoted string) []byte {
	raw := quoted[1 : len(quoted)-1]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			d = append(d, c)
			continue
		}
		i++
		switch raw[i] {
		case 'b':
			d = append(d, '\b')
		case 'f':
			d = append(d, '\f')
		case 'n':
			d = append(d, '\n')
		case 'r':
			d = append(d, '\r')
		case 't':
			d = append(d, '\t')
		case 'u':
			r, _ := strconv.ParseUint(raw[i+1:i+5], 16, 16)
			i += 4
			if utf16.IsSurrogate(rune(r)) && i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if r2, err := strconv.ParseUint(raw[i+3:i+7], 16, 16); err == nil {
					if dec := utf16.DecodeRune(rune(r), rune(r2)); dec != utf8.RuneError {
						d = utf8.AppendRune(d, dec)
						i += 6
						continue
					}
				}
			}
			d = utf8.AppendRune(d, rune(r))
		default: // " \ /
			d = append(d, raw[i])
		}
	}
	return d
}

// appendCompact appends a valid JSON value without insignificant
// whitespace, as Jackson serializes it.
func appendCompact(d []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case ' ', '\t', '\n', '\r':
		case '"':
			end, _ := skipString(v, i)
			d = append(d, v[i:end]...)
			i = end - 1
		default:
			d = append(d, c)
		}
	}
	return d
}

// jsonBehaviors are the ON EMPTY and ON ERROR behaviors each function
// accepts.
var jsonBehaviors = map[string][]string{
	"JSON_VALUE": {"NULL", "ERROR", "DEFAULT"},
	"JSON_QUERY": {"NULL", "ERROR", "EMPTY ARRAY", "EMPTY OBJECT"},
}

// literalChoice checks that e is a string literal among choices.
func literalChoice(name, what string, e Expr, choices []string) error {
	if v, ok := literalString(e); ok && slices.Contains(choices, v) {
		return nil
	}
	return fmt.Errorf("%s: the %s must be one of %s, not %s", name, what, strings.Join(choices, ", "), e)
}

// checkJSONBehaviors checks that each ON EMPTY and ON ERROR behavior
// argument is one the function accepts.
func checkJSONBehaviors(name string, behaviors ...Expr) error {
	for _, e := range behaviors {
		if err := literalChoice(name, "ON EMPTY and ON ERROR behavior", e, jsonBehaviors[name]); err != nil {
			return err
		}
	}
	return nil
}

// resolveJSONValue: JSON_VALUE(json, path) is a STRING;
// JSON_VALUE(json, path, onEmpty, emptyDefault, onError, errorDefault) has
// the type of its defaults, the RETURNING type.
func resolveJSONValue(name string, args []Expr) (Expr, error) {
	if len(args) != 6 {
		return resolveJSONQuery(types.StringType)(name, args)
	}
	base, err := resolveJSONQuery(types.StringType)(name, args[:2])
	if err != nil {
		return nil, err
	}
	if err := checkJSONBehaviors(name, args[2], args[4]); err != nil {
		return nil, err
	}
	t := args[3].Type()
	if !castSupported(types.StringType, t) {
		return nil, fmt.Errorf("%s cannot return %s: it returns scalar values", name, t)
	}
	if !args[5].Type().EqualIgnoringNull(t) {
		return nil, fmt.Errorf("%s: the ON EMPTY and ON ERROR defaults must both be %s, not %s", name, t, args[5].Type())
	}
	out := append(append([]Expr(nil), base.(*Call).Args...), args[2:]...)
	return &Call{Func: name, Args: out, T: t.WithNullable(true)}, nil
}

// resolveJSONQueryFunc: JSON_QUERY(json, path[, wrapper, onEmpty,
// onError[, 'ARRAY']]) is a STRING, or an ARRAY<STRING> with the sixth
// argument (the parser's RETURNING ARRAY<STRING>).
func resolveJSONQueryFunc(name string, args []Expr) (Expr, error) {
	if len(args) != 5 && len(args) != 6 {
		return resolveJSONQuery(types.StringType)(name, args)
	}
	base, err := resolveJSONQuery(types.StringType)(name, args[:2])
	if err != nil {
		return nil, err
	}
	if err := literalChoice(name, "wrapper", args[2], []string{"WITHOUT", "CONDITIONAL", "UNCONDITIONAL"}); err != nil {
		return nil, err
	}
	if err := checkJSONBehaviors(name, args[3], args[4]); err != nil {
		return nil, err
	}
	c := base.(*Call)
	c.Args = append(append([]Expr(nil), c.Args...), args[2:]...)
	if len(args) == 6 {
		if err := literalChoice(name, "RETURNING type", args[5], []string{"ARRAY"}); err != nil {
			return nil, err
		}
		for _, b := range args[3:5] {
			if v, _ := literalString(b); v == "EMPTY OBJECT" {
				return nil, fmt.Errorf("%s: EMPTY OBJECT is not an ARRAY<STRING>", name)
			}
		}
		c.T = types.ArrayType(types.StringType).WithNullable(true)
	}
	return c, nil
}

// pathMatcher returns the matcher for a row's path: the compiled literal
// path, or the last path the column held. It is nil for an invalid path.
func pathMatcher(call *Call) (func(p string) *jsonMatcher, error) {
	if p, ok := literalString(call.Args[1]); ok {
		path, err := parseJSONPath(p)
		if err != nil {
			return nil, err
		}
		fixed := &jsonMatcher{path: path}
		return func(string) *jsonMatcher { return fixed }, nil
	}
	// A path column usually holds few distinct paths: keep the last one.
	var lastPath string
	var last *jsonMatcher
	return func(p string) *jsonMatcher {
		if last == nil || p != lastPath {
			path, err := parseJSONPath(p)
			if err != nil {
				return nil
			}
			lastPath, last = p, &jsonMatcher{path: path}
		}
		return last
	}, nil
}

// jsonStatus is what a path query gives a row before the ON EMPTY and ON
// ERROR clauses apply.
type jsonStatus byte

const (
	jsonNull  jsonStatus = iota // a NULL argument: the result is NULL
	jsonFound                   // a value
	jsonEmpty                   // no value: ON EMPTY applies
	jsonError                   // an error: ON ERROR applies
)

// jsonQueryRow evaluates a row's path as Flink's SqlJsonUtils does (after
// Calcite's JsonFunctions, over Jayway JsonPath). Invalid JSON and a path
// that does not fit the document are errors in strict mode and empty in
// lax mode; so is, for JSON_VALUE, an object or array (it wants a scalar;
// a wildcard path gives a list of matches). A definite path whose value is
// JSON null reads as Java null, which strict mode refuses ("requires a non
// empty returned value") and lax mode takes as empty. A wildcard path
// always reads as a list, possibly empty, so it is found even without
// matches: JSON_EXISTS is TRUE and JSON_QUERY gives [].
func jsonQueryRow(m *jsonMatcher, doc string) (spans []jsonSpan, st jsonStatus, reason string) {
	if m == nil {
		return nil, jsonError, "invalid JSON path"
	}
	spans, ok := m.match(doc)
	switch {
	case !ok && m.path.strict:
		return nil, jsonError, "invalid JSON or no value at the path in strict mode"
	case !ok:
		return nil, jsonEmpty, ""
	case m.path.indefinite:
		return spans, jsonFound, ""
	case len(spans) == 0:
		return nil, jsonEmpty, ""
	case doc[spans[0].start:spans[0].end] == "null" && m.path.strict:
		return nil, jsonError, "strict jsonpath mode requires a non empty returned value, but is null"
	case doc[spans[0].start:spans[0].end] == "null":
		return nil, jsonEmpty, ""
	}
	return spans, jsonFound, ""
}

// jsonBehaviorError is the error of an ERROR ON EMPTY or ERROR ON ERROR
// behavior.
func jsonBehaviorError(fn string, st jsonStatus, reason string) error {
	if st == jsonEmpty {
		return fmt.Errorf("empty result of %s is not allowed (ERROR ON EMPTY)", fn)
	}
	return fmt.Errorf("%s: %s (ERROR ON ERROR)", fn, reason)
}

// compileJSONValue extracts the scalar at the path as text, converts the
// batch's texts to the RETURNING type at once (a value that does not
// convert is an error), then applies the ON EMPTY and ON ERROR behaviors,
// gathering DEFAULT values from their argument arrays.
func compileJSONValue(c *compiler, call *Call) (Evaluator, error) {
	matcher, err := pathMatcher(call)
	if err != nil {
		return nil, err
	}
	onEmpty, onError := "NULL", "NULL"
	if len(call.Args) == 6 {
		onEmpty, _ = literalString(call.Args[2])
		onError, _ = literalString(call.Args[4])
	}
	var conv kernel
	if !call.T.IsString() {
		if conv, err = castKernel(c.mem, types.StringType, call.T, true); err != nil {
			return nil, err
		}
	}
	out := newStrOut(c.mem)
	var status []jsonStatus
	var src, rows []int32
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL || args[1].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		doc, path := strAt(args[0]), strAt(args[1])
		status = slices.Grow(status[:0], n)[:n]
		firstErr, reason := -1, ""
		out.start(n, n*8)
		for i := 0; i < n; i++ {
			if anyNullAt(args[:2], i) {
				status[i] = jsonNull
				out.null()
				continue
			}
			m := matcher(path(i))
			d := doc(i)
			spans, st, why := jsonQueryRow(m, d)
			if st == jsonFound {
				var v string
				if !m.path.indefinite {
					v = d[spans[0].start:spans[0].end]
				}
				if m.path.indefinite || v[0] == '{' || v[0] == '[' {
					st, why = jsonEmpty, ""
					if m.path.strict {
						st, why = jsonError, "a strict path must give a scalar value, not an object, an array or a list of matches"
					}
				} else if v[0] == '"' {
					out.scratch = appendUnescaped(out.scratch[:0], v)
					out.append(out.scratch)
				} else { // numbers and booleans as written
					out.appendString(v)
				}
			}
			if status[i] = st; st != jsonFound {
				out.null()
				if st == jsonError && firstErr < 0 {
					firstErr, reason = i, why
				}
			}
		}
		result := out.finish()
		if conv != nil {
			texts := result
			converted, err := conv([]arrow.Array{texts}, n)
			if err != nil {
				texts.Release()
				return nil, err
			}
			for i, st := range status {
				// A value that does not convert is an error.
				if st == jsonFound && !isValid(converted, i) {
					status[i] = jsonError
					if firstErr < 0 || i < firstErr {
						firstErr, reason = i, fmt.Sprintf("'%s' does not convert to %s", strAt(texts)(i), call.T)
					}
				}
			}
			texts.Release()
			result = converted
		}
		needDefaults := false
		for _, st := range status {
			b := onEmpty
			switch st {
			case jsonFound, jsonNull:
				continue
			case jsonError:
				b = onError
			}
			switch b {
			case "ERROR":
				result.Release()
				return nil, jsonBehaviorError(call.Func, st, reason)
			case "DEFAULT":
				needDefaults = true
			}
		}
		if !needDefaults {
			return result, nil
		}
		// Row i comes from the converted values (0), the ON EMPTY default
		// (1) or the ON ERROR default (2), or is NULL (-1).
		src, rows = resize(src, n), resize(rows, n)
		for i, st := range status {
			src[i], rows[i] = -1, int32(i)
			switch {
			case st == jsonFound:
				src[i] = 0
			case st == jsonEmpty && onEmpty == "DEFAULT":
				src[i] = 1
			case st == jsonError && onError == "DEFAULT":
				src[i] = 2
			}
		}
		defer result.Release()
		return gather(c.mem, call.T.Arrow(), n, src, rows, []arrow.Array{result, args[3], args[5]})
	})
}

// compileJSONQuery returns the JSON text at the path: an object or array,
// the list of a wildcard path's matches as an array, or any value wrapped
// in an array WITH [UNCONDITIONAL] ARRAY WRAPPER (WITH CONDITIONAL ARRAY
// WRAPPER wraps all but arrays). A scalar left unwrapped is empty in lax
// mode and an error in strict mode, as in Calcite's jsonQuery. RETURNING
// ARRAY<STRING> (a sixth argument) turns the JSON array into its elements
// instead.
func compileJSONQuery(c *compiler, call *Call) (Evaluator, error) {
	matcher, err := pathMatcher(call)
	if err != nil {
		return nil, err
	}
	wrapper, onEmpty, onError := "WITHOUT", "NULL", "NULL"
	if len(call.Args) >= 5 {
		wrapper, _ = literalString(call.Args[2])
		onEmpty, _ = literalString(call.Args[3])
		onError, _ = literalString(call.Args[4])
	}
	var out jsonQueryOut = &jsonTextOut{newStrOut(c.mem)}
	if len(call.Args) == 6 {
		out = &jsonListOut{elems: newStrOut(c.mem), dt: call.T.Arrow(), mem: c.mem}
	}
	var scratch []byte
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL || args[1].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		doc, path := strAt(args[0]), strAt(args[1])
		out.start(n)
		for i := 0; i < n; i++ {
			if anyNullAt(args[:2], i) {
				out.null()
				continue
			}
			m := matcher(path(i))
			d := doc(i)
			spans, st, why := jsonQueryRow(m, d)
			if st == jsonFound {
				b := scratch[:0]
				isList := m.path.indefinite
				var v string
				if !isList {
					v = d[spans[0].start:spans[0].end]
				}
				wrap := wrapper == "UNCONDITIONAL" || wrapper == "CONDITIONAL" && !isList && v[0] != '['
				if wrap {
					b = append(b, '[')
				}
				if isList {
					b = append(b, '[')
					for k, sp := range spans {
						if k > 0 {
							b = append(b, ',')
						}
						b = appendCompact(b, d[sp.start:sp.end])
					}
					b = append(b, ']')
				} else {
					b = appendCompact(b, v)
				}
				if wrap {
					b = append(b, ']')
				}
				scratch = b
				if !wrap && !isList && v[0] != '{' && v[0] != '[' {
					st, why = jsonEmpty, ""
					if m.path.strict {
						st, why = jsonError, "a strict path must give an object or array, not "+v
					}
				}
			}
			behavior := ""
			switch st {
			case jsonFound:
				if why = out.value(scratch); why == "" {
					continue
				}
				behavior = onError
			case jsonEmpty:
				behavior = onEmpty
			case jsonError:
				behavior = onError
			}
			switch behavior {
			case "NULL":
				out.null()
			case "EMPTY ARRAY":
				out.value([]byte("[]"))
			case "EMPTY OBJECT":
				out.value([]byte("{}"))
			default:
				return nil, jsonBehaviorError(call.Func, st, why)
			}
		}
		return out.finish(), nil
	})
}

// jsonQueryOut collects JSON_QUERY's results for a batch, in its
// RETURNING type.
type jsonQueryOut interface {
	start(n int)
	// value adds a row's compact JSON result, or returns why it cannot
	// be one of the type's values.
	value(text []byte) (reason string)
	null()
	finish() arrow.Array
}

// jsonTextOut returns the JSON text (RETURNING STRING).
type jsonTextOut struct{ *strOut }

func (o *jsonTextOut) start(n int) { o.strOut.start(n, n*8) }

func (o *jsonTextOut) value(text []byte) string {
	o.strOut.append(text)
	return ""
}

// jsonListOut returns a JSON array's elements (RETURNING ARRAY<STRING>):
// strings unquoted, JSON null as NULL, other values as compact JSON text,
// as Flink's JSON_QUERY does.
type jsonListOut struct {
	elems *strOut
	offs  []int32 // each row's end in elems, after a leading 0
	nulls []int
	text  []byte
	dt    arrow.DataType
	mem   memory.Allocator
}

func (o *jsonListOut) start(n int) {
	o.elems.start(n, n*8)
	o.offs = append(o.offs[:0], 0)
	o.nulls = o.nulls[:0]
}

func (o *jsonListOut) value(text []byte) string {
	if text[0] != '[' {
		return "RETURNING ARRAY<STRING> needs a JSON array, not " + string(text)
	}
	s := string(text)
	eachElement(s, 0, func(v jsonSpan) bool {
		switch e := s[v.start:v.end]; {
		case e == "null":
			o.elems.null()
		case e[0] == '"':
			o.text = appendUnescaped(o.text[:0], e)
			o.elems.append(o.text)
		default:
			o.elems.appendString(e)
		}
		return true
	})
	o.offs = append(o.offs, int32(len(o.elems.offs)-1))
	return ""
}

func (o *jsonListOut) null() {
	o.nulls = append(o.nulls, len(o.offs)-1)
	o.offs = append(o.offs, o.offs[len(o.offs)-1])
}

func (o *jsonListOut) finish() arrow.Array {
	n := len(o.offs) - 1
	child := o.elems.finish()
	defer child.Release()
	offs := memory.NewResizableBuffer(o.mem)
	offs.Resize(len(o.offs) * arrow.Int32SizeBytes)
	copy(arrow.Int32Traits.CastFromBytes(offs.Bytes()), o.offs)
	defer offs.Release()
	valid := validityOf(o.mem, n, o.nulls)
	if valid != nil {
		defer valid.Release()
	}
	d := array.NewData(o.dt, n, []*memory.Buffer{valid, offs}, []arrow.ArrayData{child.Data()}, len(o.nulls), 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// resolveJSONExists: JSON_EXISTS(json, path[, onError]), onError 'TRUE',
// 'FALSE' (the default), 'UNKNOWN' or 'ERROR', the parser's lowering of
// JSON_EXISTS(json, path [{TRUE | FALSE | UNKNOWN | ERROR} ON ERROR]).
// UNKNOWN ON ERROR makes the result nullable.
func resolveJSONExists(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 2, 3); err != nil {
		return nil, err
	}
	e, err := resolveJSONQuery(types.BooleanType)(name, args[:2])
	if err != nil {
		return nil, err
	}
	if len(args) == 2 {
		return e, nil
	}
	if err := literalChoice(name, "ON ERROR behavior", args[2], []string{"TRUE", "FALSE", "UNKNOWN", "ERROR"}); err != nil {
		return nil, err
	}
	call := e.(*Call)
	call.Args = append(call.Args, args[2])
	if b, _ := literalString(args[2]); b == "UNKNOWN" {
		call.T = call.T.WithNullable(true)
	}
	return call, nil
}

// compileJSONExists: TRUE when the path selects a value (jsonQueryRow).
// A document that is not JSON, an invalid path from a column and a strict
// path that does not fit the document are errors, which the ON ERROR
// behavior maps as Flink's SqlJsonUtils.jsonExists does: FALSE by default,
// TRUE, NULL (UNKNOWN) or a failed query (ERROR).
func compileJSONExists(c *compiler, call *Call) (Evaluator, error) {
	matcher, err := pathMatcher(call)
	if err != nil {
		return nil, err
	}
	onError := "FALSE"
	if len(call.Args) == 3 {
		onError, _ = literalString(call.Args[2])
	}
	base := &Call{Func: call.Func, Args: call.Args[:2], T: call.T}
	return newCallEval(c, base, func(args []arrow.Array, n int) (arrow.Array, error) {
		if args[0].DataType().ID() == arrow.NULL || args[1].DataType().ID() == arrow.NULL {
			return allNullArray(call.T, n, c.mem)
		}
		doc, path := strAt(args[0]), strAt(args[1])
		valid := outValidity(c.mem, n, args...)
		vb := valid.Bytes()
		var failed error
		out := boolOut(c.mem, n, valid, array.UnknownNullCount, func(bits []byte) {
			clear(bits)
			for i := 0; i < n && failed == nil; i++ {
				if !bitutil.BitIsSet(vb, i) {
					continue
				}
				_, st, why := jsonQueryRow(matcher(path(i)), doc(i))
				if st != jsonError {
					bitutil.SetBitTo(bits, i, st == jsonFound)
					continue
				}
				switch onError {
				case "TRUE":
					bitutil.SetBit(bits, i)
				case "UNKNOWN":
					bitutil.ClearBit(vb, i)
				case "ERROR":
					failed = fmt.Errorf("JSON_EXISTS: %s", jsonExistsError(doc(i), path(i), why))
				}
			}
		})
		if failed != nil {
			out.Release()
			return nil, failed
		}
		return out, nil
	})
}

// jsonExistsError says why JSON_EXISTS failed on a row, for ERROR ON ERROR:
// more precisely than jsonQueryRow's reason where it can.
func jsonExistsError(doc, path, reason string) string {
	if _, err := parseJSONPath(path); err != nil {
		return err.Error()
	}
	start := skipWS(doc, 0)
	if end, ok := skipJSON(doc, start); !ok || skipWS(doc, end) != len(doc) {
		return fmt.Sprintf("invalid JSON document '%s'", doc)
	}
	if strings.HasPrefix(reason, "invalid JSON or no value") {
		return fmt.Sprintf("no results for strict path '%s'", path)
	}
	return reason
}

// resolveIsJSON: 'IS JSON'(s[, kind]) with kind 'VALUE' (default),
// 'SCALAR', 'ARRAY' or 'OBJECT'; NULL IS JSON is FALSE.
func resolveIsJSON(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 2); err != nil {
		return nil, err
	}
	if t := args[0].Type(); !t.IsString() && t.Kind != types.Null {
		return nil, typeError(name, args[:1]) // the kind is syntax, not an operand
	}
	if len(args) == 2 {
		k, ok := literalString(args[1])
		switch strings.ToUpper(k) {
		case "VALUE", "SCALAR", "ARRAY", "OBJECT":
		default:
			ok = false
		}
		if !ok {
			return nil, fmt.Errorf("IS JSON expects VALUE, SCALAR, ARRAY or OBJECT, got %s", args[1])
		}
	}
	return &Call{Func: name, Args: args, T: types.BooleanType.WithNullable(false)}, nil
}

func compileIsJSON(c *compiler, call *Call) (Evaluator, error) {
	kind := "VALUE"
	if len(call.Args) == 2 {
		k, _ := literalString(call.Args[1])
		kind = strings.ToUpper(k)
	}
	return newCallEval(c, &Call{Func: call.Func, Args: call.Args[:1], T: call.T}, func(args []arrow.Array, n int) (arrow.Array, error) {
		doc := strAt(args[0])
		return boolOut(c.mem, n, nil, 0, func(bits []byte) {
			clear(bits)
			for i := 0; i < n; i++ {
				if !isValid(args[0], i) {
					continue
				}
				s := doc(i)
				start := skipWS(s, 0)
				end, ok := skipJSON(s, start)
				if !ok || skipWS(s, end) != len(s) {
					continue
				}
				switch kind {
				case "SCALAR":
					ok = s[start] != '{' && s[start] != '['
				case "ARRAY":
					ok = s[start] == '['
				case "OBJECT":
					ok = s[start] == '{'
				}
				bitutil.SetBitTo(bits, i, ok)
			}
		}), nil
	})
}

// resolveJSONString: JSON_STRING(x) serializes any value; NULL stays NULL.
func resolveJSONString(name string, args []Expr) (Expr, error) {
	if err := arity(name, args, 1, 1); err != nil {
		return nil, err
	}
	return &Call{Func: name, Args: args, T: strict(types.StringType, args)}, nil
}

// Names of JSON_ARRAY with NULL ON NULL and JSON_OBJECT with ABSENT ON
// NULL, the behaviors that are not the default.
const (
	jsonArrayNullOnNull    = "$JSON_ARRAY_NULL_ON_NULL"
	jsonObjectAbsentOnNull = "$JSON_OBJECT_ABSENT_ON_NULL"
)

// isJSONCtor reports the names of the JSON_ARRAY and JSON_OBJECT calls.
func isJSONCtor(name string) bool {
	switch name {
	case "JSON_ARRAY", "JSON_OBJECT", jsonArrayNullOnNull, jsonObjectAbsentOnNull:
		return true
	}
	return false
}

// resolveJSONCtor: JSON_ARRAY(v, ...) (ABSENT ON NULL: NULL values are
// left out) and JSON_OBJECT(k1, v1, ...) (NULL ON NULL; keys are non-NULL
// strings), and their variants with the other ON NULL behavior. All return
// a NOT NULL STRING.
func resolveJSONCtor(name string, args []Expr) (Expr, error) {
	if name == "JSON_OBJECT" || name == jsonObjectAbsentOnNull {
		if len(args)%2 != 0 {
			return nil, fmt.Errorf("function JSON_OBJECT expects key-value pairs, got %d arguments", len(args))
		}
		for i := 0; i < len(args); i += 2 {
			if t := args[i].Type(); !t.IsString() || t.Nullable() {
				return nil, fmt.Errorf("JSON_OBJECT keys must be non-NULL strings, got %s", t)
			}
		}
	}
	return &Call{Func: name, Args: args, T: types.StringType.WithNullable(false)}, nil
}

// compileJSONText: JSON(s) stands only as a value of JSON_OBJECT or
// JSON_ARRAY, which read its argument themselves (compileJSONCtor); the
// SQL front end refuses it elsewhere, and so does this, also keeping
// constant folding from turning it into a plain string.
func compileJSONText(*compiler, *Call) (Evaluator, error) {
	return nil, fmt.Errorf("JSON(...) can only be a value of JSON_OBJECT or JSON_ARRAY")
}

// compileJSONCtor implements JSON_STRING, JSON_ARRAY and JSON_OBJECT. The
// result of a nested JSON_ARRAY/JSON_OBJECT call is inserted as JSON, not
// as a string, as in Flink, and so is the text of a JSON(s) value, checked
// and without insignificant whitespace; an empty or NULL text is a NULL
// value.
func compileJSONCtor(c *compiler, call *Call) (Evaluator, error) {
	fn := call.Func
	raw := make([]bool, len(call.Args))
	text := make([]bool, len(call.Args))
	evalArgs := slices.Clone(call.Args)
	hasText := false
	for i, a := range call.Args {
		ac, ok := a.(*Call)
		switch {
		case ok && isJSONCtor(ac.Func):
			raw[i] = true
		case ok && ac.Func == "JSON" && len(ac.Args) == 1:
			// The constructor evaluates the text itself.
			evalArgs[i], text[i], hasText = ac.Args[0], true, true
		}
	}
	if hasText {
		call = &Call{Func: call.Func, Args: evalArgs, T: call.T}
	}
	out := newStrOut(c.mem)
	return newCallEval(c, call, func(args []arrow.Array, n int) (arrow.Array, error) {
		ws := make([]func([]byte, int) []byte, len(args))
		// isNull reports a NULL value: a NULL row, or an empty JSON text.
		isNull := func(k, i int) bool { return !isValid(args[k], i) }
		var texts []func(int) string
		for k, a := range args {
			if text[k] {
				if texts == nil {
					texts = make([]func(int) string, len(args))
				}
				texts[k] = strAt(a)
			}
		}
		if texts != nil {
			isNull = func(k, i int) bool { return !isValid(args[k], i) || text[k] && texts[k](i) == "" }
			for i := 0; i < n; i++ {
				for k := range args {
					if text[k] && !isNull(k, i) {
						v := texts[k](i)
						if end, ok := skipJSON(v, skipWS(v, 0)); !ok || skipWS(v, end) != len(v) {
							return nil, fmt.Errorf("JSON: invalid JSON text '%s'", v)
						}
					}
				}
			}
		}
		for k, a := range args {
			if text[k] {
				s := texts[k]
				ws[k] = func(d []byte, i int) []byte {
					if isNull(k, i) {
						return append(d, "null"...)
					}
					return appendCompact(d, s(i))
				}
				continue
			}
			if raw[k] {
				s := strAt(a)
				ws[k] = func(d []byte, i int) []byte { return append(d, s(i)...) }
				continue
			}
			w, err := jsonWriter(call.Args[k].Type(), a)
			if err != nil {
				return nil, err
			}
			ws[k] = w
		}
		out.start(n, n*16)
		for i := 0; i < n; i++ {
			d := out.scratch[:0]
			switch fn {
			case "JSON_STRING":
				if !isValid(args[0], i) {
					out.null()
					continue
				}
				d = ws[0](d, i)
			case "JSON_ARRAY", jsonArrayNullOnNull:
				d = append(d, '[')
				first := true
				for k := range args {
					if fn == "JSON_ARRAY" && isNull(k, i) {
						continue
					}
					if !first {
						d = append(d, ',')
					}
					first = false
					d = ws[k](d, i)
				}
				d = append(d, ']')
			default: // JSON_OBJECT
				d = append(d, '{')
				first := true
				for k := 0; k < len(args); k += 2 {
					if fn == jsonObjectAbsentOnNull && isNull(k+1, i) {
						continue
					}
					if !first {
						d = append(d, ',')
					}
					first = false
					d = append(ws[k](d, i), ':')
					d = ws[k+1](d, i)
				}
				d = append(d, '}')
			}
			out.scratch = d
			out.append(d)
		}
		return out.finish(), nil
	})
}

// jsonWriter returns a function appending row i of a as JSON: numbers and
// booleans bare, strings quoted, binary as base64, temporal values as
// their CAST string, ARRAY as an array, MAP and ROW as objects, NULL as
// null.
func jsonWriter(t types.DataType, a arrow.Array) (func([]byte, int) []byte, error) {
	var w func([]byte, int) []byte
	switch v := a.(type) {
	case *array.Null:
		w = func(d []byte, _ int) []byte { return d }
	case *array.String:
		if t.Kind == types.Variant {
			// A VARIANT is its canonical JSON text already.
			w = func(d []byte, i int) []byte { return append(d, v.Value(i)...) }
			break
		}
		w = func(d []byte, i int) []byte { return appendJSONString(d, v.Value(i)) }
	case *array.Binary:
		w = func(d []byte, i int) []byte {
			d = append(d, '"')
			d = base64.StdEncoding.AppendEncode(d, v.Value(i))
			return append(d, '"')
		}
	case *array.Boolean:
		w = func(d []byte, i int) []byte { return strconv.AppendBool(d, v.Value(i)) }
	case *array.List:
		if t.Kind == types.Map {
			mw, err := jsonMapWriter(t, v)
			if err != nil {
				return nil, err
			}
			w = mw
			break
		}
		ew, err := jsonWriter(*t.Elem, v.ListValues())
		if err != nil {
			return nil, err
		}
		w = func(d []byte, i int) []byte {
			start, end := v.ValueOffsets(i)
			d = append(d, '[')
			for j := int(start); j < int(end); j++ {
				if j > int(start) {
					d = append(d, ',')
				}
				d = ew(d, j)
			}
			return append(d, ']')
		}
	case *array.Struct:
		fs := make([]func([]byte, int) []byte, v.NumField())
		for k := range fs {
			f, err := jsonWriter(t.Fields[k].Type, v.Field(k))
			if err != nil {
				return nil, err
			}
			fs[k] = f
		}
		w = func(d []byte, i int) []byte {
			d = append(d, '{')
			for k, f := range fs {
				if k > 0 {
					d = append(d, ',')
				}
				d = append(appendJSONString(d, t.Fields[k].Name), ':')
				d = f(d, i)
			}
			return append(d, '}')
		}
	default:
		f, err := formatter(t, a)
		if err != nil {
			return nil, err
		}
		if t.IsNumeric() {
			w = f
		} else {
			var text []byte
			w = func(d []byte, i int) []byte {
				text = f(text[:0], i)
				return appendJSONString(d, string(text))
			}
		}
	}
	return func(d []byte, i int) []byte {
		if !isValid(a, i) {
			return append(d, "null"...)
		}
		return w(d, i)
	}, nil
}

// jsonMapWriter writes a MAP as an object whose member names are the keys
// as CAST to STRING; a NULL key is the name "null", Flink JSON's default
// map-null-key.literal.
func jsonMapWriter(t types.DataType, v *array.List) (func([]byte, int) []byte, error) {
	_, keys, values := types.MapEntries(v)
	kf, err := formatter(*t.Key, keys)
	if err != nil {
		return nil, err
	}
	vw, err := jsonWriter(*t.Value, values)
	if err != nil {
		return nil, err
	}
	var key []byte
	return func(d []byte, i int) []byte {
		start, end := v.ValueOffsets(i)
		d = append(d, '{')
		for j := int(start); j < int(end); j++ {
			if j > int(start) {
				d = append(d, ',')
			}
			if keys.IsNull(j) {
				key = append(key[:0], "null"...)
			} else {
				key = kf(key[:0], j)
			}
			d = append(appendJSONString(d, string(key)), ':')
			d = vw(d, j)
		}
		return append(d, '}')
	}, nil
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(d []byte, s string) []byte {
	d = append(d, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			d = append(d, '\\', c)
		case c == '\n':
			d = append(d, `\n`...)
		case c == '\r':
			d = append(d, `\r`...)
		case c == '\t':
			d = append(d, `\t`...)
		case c < 0x20:
			d = fmt.Appendf(d, `\u%04x`, c)
		default:
			d = append(d, c)
		}
	}
	return append(d, '"')
}
