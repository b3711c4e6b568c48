package agg

import (
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// JSON_ARRAYAGG and JSON_OBJECTAGG under Flink's internal names, which
// carry the ON NULL behavior: JSON_ARRAYAGG_ABSENT_ON_NULL (the default)
// and JSON_ARRAYAGG_NULL_ON_NULL over one argument, JSON_OBJECTAGG_NULL_ON_NULL
// (the default) and JSON_OBJECTAGG_ABSENT_ON_NULL over a key and a value.
// As in Flink (WrapJsonAggFunctionArgumentsRule), the SQL front end wraps
// each value in JSON_STRING, so the kernel only sees JSON texts (NULL for
// a NULL value) and splices them in as they are.
const (
	jsonArrayAggNull    = "JSON_ARRAYAGG_NULL_ON_NULL"
	jsonArrayAggAbsent  = "JSON_ARRAYAGG_ABSENT_ON_NULL"
	jsonObjectAggNull   = "JSON_OBJECTAGG_NULL_ON_NULL"
	jsonObjectAggAbsent = "JSON_OBJECTAGG_ABSENT_ON_NULL"
)

func init() {
	signatures[jsonArrayAggNull] = signature{1, 1, jsonAggType}
	signatures[jsonArrayAggAbsent] = signature{1, 1, jsonAggType}
	signatures[jsonObjectAggNull] = signature{2, 2, jsonAggType}
	signatures[jsonObjectAggAbsent] = signature{2, 2, jsonAggType}
}

func isJSONAgg(fn string) bool {
	switch fn {
	case jsonArrayAggNull, jsonArrayAggAbsent, jsonObjectAggNull, jsonObjectAggAbsent:
		return true
	}
	return false
}

// jsonAggType: the arguments are the key (JSON_OBJECTAGG) and the value's
// JSON text, strings both; the result is a NOT NULL STRING ('[]' or '{}'
// for a group without values).
func jsonAggType(args []types.DataType) (types.DataType, error) {
	for _, a := range args {
		if !a.IsString() {
			return types.DataType{}, fmt.Errorf("JSON aggregates take string arguments, got %s", a)
		}
	}
	return types.StringType.WithNullable(false), nil
}

// jsonEntries is one group's collected entries in arrival order; ok[i] is
// false for a NULL value, kept only with NULL ON NULL.
type jsonEntries struct {
	keys []string // JSON_OBJECTAGG only
	vals []string
	ok   []bool
}

// jsonAggK keeps each group's entries and their rendering. Accumulating
// extends the rendered text; a retraction removes the first entry equal
// to the row (Flink's ListView/MapView remove) and renders again.
// JSON_OBJECTAGG refuses a key its group already has, as Flink fails with
// "Duplicate key": the group keeps its entry and err reports the row.
type jsonAggK struct {
	object, skipNulls bool
	err               error
	groups            []jsonEntries
	cur               []string
	kv, vv            viewer[string]
	res               results[string]
}

func newJSONAgg(fn string) *jsonAggK {
	return &jsonAggK{
		object:    fn == jsonObjectAggNull || fn == jsonObjectAggAbsent,
		skipNulls: fn == jsonArrayAggAbsent || fn == jsonObjectAggAbsent,
	}
}

func (k *jsonAggK) takeErr() error {
	err := k.err
	k.err = nil
	return err
}

func (k *jsonAggK) empty() string {
	if k.object {
		return "{}"
	}
	return "[]"
}

func (k *jsonAggK) grow(n int) {
	old := len(k.cur)
	k.groups, k.cur = growTo(k.groups, n), growTo(k.cur, n)
	for s := old; s < len(k.cur); s++ {
		k.cur[s] = k.empty()
	}
}

func (k *jsonAggK) reset(s int32) { k.groups[s], k.cur[s] = jsonEntries{}, k.empty() }

func (k *jsonAggK) changed(c []bool) { markChanged[string, strOps](&k.res, c) }
func (k *jsonAggK) build(mem memory.Allocator, dt arrow.DataType, rows []int32, before []bool) arrow.Array {
	return k.res.build(mem, dt, rows, before)
}

// appendEntry appends entry j of e to a rendering under way.
func (k *jsonAggK) appendEntry(b *strings.Builder, e *jsonEntries, j int) {
	if k.object {
		appendJSONString(b, e.keys[j])
		b.WriteByte(':')
	}
	if e.ok[j] {
		b.WriteString(e.vals[j])
	} else {
		b.WriteString("null")
	}
}

func (k *jsonAggK) render(e *jsonEntries) string {
	var b strings.Builder
	b.WriteString(k.empty()[:1])
	for j := range e.vals {
		if j > 0 {
			b.WriteByte(',')
		}
		k.appendEntry(&b, e, j)
	}
	b.WriteString(k.empty()[1:])
	return b.String()
}

func (k *jsonAggK) update(cols []arrow.Array, slots []int32, retract, act []bool) {
	r := &k.res
	r.reset(len(slots))
	valCol := cols[len(cols)-1]
	vals, v := k.vv.view(valCol), validityOf(valCol)
	var keys []string
	var kvalid validity
	if k.object {
		keys, kvalid = k.kv.view(cols[0]), validityOf(cols[0])
	}
	for i, s := range slots {
		if s < 0 {
			continue
		}
		r.before[i], r.bOK[i] = k.cur[s], true
		// A NULL key has no place in an object: Flink's keys are NOT NULL.
		if active(act, i) && (!k.object || kvalid.ok(i)) && (v.ok(i) || !k.skipNulls) {
			e := &k.groups[s]
			key, val, ok := "", "", v.ok(i)
			if k.object {
				key = keys[i]
			}
			if ok {
				val = vals[i]
			}
			at := -1
			for j := range e.vals {
				if e.ok[j] == ok && (!ok || e.vals[j] == val) && (!k.object || e.keys[j] == key) {
					at = j
					break
				}
			}
			switch {
			case retract[i]:
				if at >= 0 {
					if k.object {
						e.keys = slices.Delete(e.keys, at, at+1)
					}
					e.vals, e.ok = slices.Delete(e.vals, at, at+1), slices.Delete(e.ok, at, at+1)
					k.cur[s] = k.render(e)
				}
			case k.object && slices.Contains(e.keys, key):
				if k.err == nil {
					k.err = fmt.Errorf("duplicate key '%s' in JSON_OBJECTAGG", key)
				}
			default:
				if k.object {
					e.keys = append(e.keys, strings.Clone(key))
				}
				e.vals, e.ok = append(e.vals, strings.Clone(val)), append(e.ok, ok)
				var b strings.Builder
				cur := k.cur[s]
				b.WriteString(cur[:len(cur)-1])
				if len(e.vals) > 1 {
					b.WriteByte(',')
				}
				k.appendEntry(&b, e, len(e.vals)-1)
				b.WriteByte(cur[len(cur)-1])
				k.cur[s] = b.String()
			}
		}
		r.after[i], r.aOK[i] = k.cur[s], true
	}
}

func (k *jsonAggK) appendState(dst []byte, s int32) []byte {
	e := k.groups[s]
	if k.object {
		dst = putValues[string, strOps](dst, e.keys)
	}
	dst = putValues[string, strOps](dst, e.vals)
	return putValues[bool, boolOps](dst, e.ok)
}

func (k *jsonAggK) readState(src []byte, s int32) ([]byte, error) {
	var e jsonEntries
	var err error
	if k.object {
		if e.keys, src, err = getValues[string, strOps](src); err != nil {
			return nil, err
		}
	}
	if e.vals, src, err = getValues[string, strOps](src); err != nil {
		return nil, err
	}
	if e.ok, src, err = getValues[bool, boolOps](src); err != nil {
		return nil, err
	}
	if len(e.ok) != len(e.vals) || k.object && len(e.keys) != len(e.vals) {
		return nil, fmt.Errorf("corrupt JSON aggregate state: %d keys, %d values, %d flags", len(e.keys), len(e.vals), len(e.ok))
	}
	k.groups[s], k.cur[s] = e, k.render(&e)
	return src, nil
}

// appendJSONString writes s as a JSON string literal.
func appendJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
