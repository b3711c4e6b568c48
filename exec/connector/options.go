package connector

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

// OptionType is the type of a connector option's value. Values are always
// strings in a table's WITH clause; the type says how they parse.
type OptionType uint8

const (
	String     OptionType = iota
	Int                   // 32-bit signed integer
	Long                  // 64-bit signed integer
	Bool                  // true or false, case-insensitive
	Double                // 64-bit float
	Duration              // Flink's duration syntax: "10 s", "1min", "500ms", "1 h"; no unit is milliseconds
	MemorySize            // Flink's memory size syntax: "128mb", "1 gb", "512"; no unit is bytes
	Enum                  // one of Option.Enum, case-insensitive
)

var optionTypeNames = [...]string{
	String: "String", Int: "Int", Long: "Long", Bool: "Boolean", Double: "Double",
	Duration: "Duration", MemorySize: "MemorySize", Enum: "Enum",
}

func (t OptionType) String() string {
	if int(t) < len(optionTypeNames) {
		return optionTypeNames[t]
	}
	return fmt.Sprintf("OptionType(%d)", t)
}

// Option declares one option a connector accepts. It is the single source
// of validation, defaults, typed access and documentation.
//
// Key may contain one '#', standing for the name of a column of the table,
// as in Flink's "fields.#.kind": the table option "fields.id.kind" matches
// it when the table has a column "id".
//
// A Key ending in '*' is a prefix, as in Kafka's "properties.*": it matches
// every key that starts with the text before the '*' and is longer. Such
// options are String options the connector reads with Options.WithPrefix.
type Option struct {
	Key  string
	Type OptionType
	// Default is the value used when the table does not set the option, in
	// the option's string syntax; "" means no default.
	Default  string
	Required bool
	// Enum lists the accepted values of an Enum option.
	Enum []string
	Doc  string
}

// ConnectorOption is the key every table has; it names the factory and is
// accepted for every connector without being declared.
const ConnectorOption = "connector"

// Validate checks every option of t against f's declarations: each must be
// declared (a '#' key must name a column of t), parse as its type, and every
// required option must be present.
func Validate(f Factory, t TableInfo) error {
	_, err := Parse(f, t)
	return err
}

// Options are a table's connector options, validated against a factory's
// declarations, with defaults applied on access.
type Options struct {
	connector string
	decls     []Option
	values    map[string]string
}

// Parse validates t's options against f (see Validate) and returns them for
// typed access.
func Parse(f Factory, t TableInfo) (Options, error) {
	o := Options{connector: f.Identifier(), decls: f.Options(), values: make(map[string]string, len(t.Options))}
	keys := make([]string, 0, len(t.Options))
	for k := range t.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic first error
	present := map[string]bool{}
	for _, k := range keys {
		v := t.Options[k]
		if k == ConnectorOption {
			continue
		}
		d, col, ok := o.match(k)
		if !ok {
			return Options{}, errs.New(errs.InvalidOption,
				"unsupported option '%s' for connector '%s'; supported options: %s",
				k, o.connector, strings.Join(o.supportedKeys(), ", "))
		}
		if col != "" && !columnPath(t.Schema, col) {
			return Options{}, errs.New(errs.InvalidOption,
				"option '%s' of connector '%s' refers to column '%s', which table '%s' does not have (nor a part of one: <column>.element, .key, .value or .<row field>); columns: %s",
				k, o.connector, col, t.Name, strings.Join(t.Schema.Names(), ", "))
		}
		if err := checkValue(d, k, v); err != nil {
			return Options{}, err
		}
		o.values[k] = v
		present[d.Key] = true
	}
	for _, d := range o.decls {
		if d.Required && !present[d.Key] {
			return Options{}, errs.New(errs.InvalidOption,
				"missing required option '%s' for connector '%s'", d.Key, o.connector)
		}
	}
	return o, nil
}

// columnPath reports whether col, what a '#' stands for, is a column of s
// or a part of one named as Flink's datagen names them, to any depth:
// "<column>.element" of an ARRAY or MULTISET, "<column>.key" and
// "<column>.value" of a MAP, "<column>.<field>" of a ROW.
func columnPath(s types.Schema, col string) bool {
	if s.Index(col) >= 0 {
		return true
	}
	name, rest, ok := strings.Cut(col, ".")
	i := s.Index(name)
	if !ok || i < 0 {
		return false
	}
	t := s.Columns[i].Type
	for _, part := range strings.Split(rest, ".") {
		switch {
		case (t.Kind == types.Array || t.Kind == types.Multiset) && part == "element":
			t = *t.Elem
		case t.Kind == types.Map && part == "key":
			t = *t.Key
		case t.Kind == types.Map && part == "value":
			t = *t.Value
		case t.Kind == types.Row:
			found := false
			for _, f := range t.Fields {
				if f.Name == part {
					t, found = f.Type, true
					break
				}
			}
			if !found {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// match finds the declaration of a concrete key, and the column name a '#'
// stands for.
func (o Options) match(key string) (Option, string, bool) {
	for _, d := range o.decls {
		if d.Key == key {
			return d, "", true
		}
	}
	for _, d := range o.decls {
		if pre, ok := strings.CutSuffix(d.Key, "*"); ok {
			if len(key) > len(pre) && strings.HasPrefix(key, pre) {
				return d, "", true
			}
			continue
		}
		pre, post, ok := strings.Cut(d.Key, "#")
		if !ok {
			continue
		}
		if len(key) > len(pre)+len(post) && strings.HasPrefix(key, pre) && strings.HasSuffix(key, post) {
			return d, key[len(pre) : len(key)-len(post)], true
		}
	}
	return Option{}, "", false
}

func (o Options) supportedKeys() []string {
	keys := []string{ConnectorOption}
	for _, d := range o.decls {
		keys = append(keys, d.Key)
	}
	sort.Strings(keys)
	return keys
}

func checkValue(d Option, key, v string) error {
	var err error
	switch d.Type {
	case String:
	case Int:
		_, err = strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	case Long:
		_, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	case Bool:
		_, err = parseBool(v)
	case Double:
		_, err = strconv.ParseFloat(strings.TrimSpace(v), 64)
	case Duration:
		_, err = ParseDuration(v)
	case MemorySize:
		_, err = ParseMemorySize(v)
	case Enum:
		if _, ok := enumValue(d, v); !ok {
			return errs.New(errs.InvalidOption, "invalid value '%s' for option '%s': expected one of %s",
				v, key, strings.Join(d.Enum, ", "))
		}
	}
	if err != nil {
		return errs.New(errs.InvalidOption, "invalid value '%s' for option '%s': expected a value of type %s", v, key, d.Type)
	}
	return nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", v)
}

func enumValue(d Option, v string) (string, bool) {
	for _, e := range d.Enum {
		if strings.EqualFold(e, strings.TrimSpace(v)) {
			return e, true
		}
	}
	return "", false
}

// ColumnKey is the concrete key of a '#' option for a column:
// ColumnKey("id", "fields.#.kind") is "fields.id.kind".
func ColumnKey(col, pattern string) string {
	return strings.Replace(pattern, "#", col, 1)
}

// Lookup returns the value of key, explicit or default, and whether there
// is one. key is a concrete key; a '#' option is looked up by the key with
// the column name substituted.
func (o Options) Lookup(key string) (string, bool) {
	if v, ok := o.values[key]; ok {
		return v, true
	}
	d := o.decl(key)
	return d.Default, d.Default != ""
}

// IsSet reports whether the table set key explicitly.
func (o Options) IsSet(key string) bool {
	_, ok := o.values[key]
	return ok
}

// WithPrefix returns the options the table set whose keys start with
// prefix, keyed by the rest of the key: WithPrefix("properties.") of
// 'properties.client.id' = 'x' is {"client.id": "x"}.
func (o Options) WithPrefix(prefix string) map[string]string {
	m := map[string]string{}
	for k, v := range o.values {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			m[rest] = v
		}
	}
	return m
}

// ColumnOption is the value of the '#' option pattern for column col, e.g.
// o.ColumnOption("id", "fields.#.kind"), with the default applied.
func (o Options) ColumnOption(col, pattern string) (string, bool) {
	return o.Lookup(ColumnKey(col, pattern))
}

// decl finds the declaration of a concrete key. Asking for an undeclared key
// is a bug in the connector, not a user error, hence the panic.
func (o Options) decl(key string) Option {
	d, _, ok := o.match(key)
	if !ok {
		panic(fmt.Sprintf("connector %s: option %q is not declared", o.connector, key))
	}
	return d
}

func (o Options) typed(key string, t OptionType) (string, bool) {
	if d := o.decl(key); d.Type != t {
		panic(fmt.Sprintf("connector %s: option %q is %s, read as %s", o.connector, key, d.Type, t))
	}
	return o.Lookup(key)
}

// The typed accessors return the option's value, its default when unset, or
// the zero value when it has neither; values were checked by Parse.

func (o Options) String(key string) string {
	v, _ := o.typed(key, String)
	return v
}

func (o Options) Enum(key string) string {
	v, ok := o.typed(key, Enum)
	if !ok {
		return ""
	}
	e, _ := enumValue(o.decl(key), v)
	return e
}

func (o Options) Int(key string) int {
	v, ok := o.typed(key, Int)
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	return int(n)
}

func (o Options) Long(key string) int64 {
	v, ok := o.typed(key, Long)
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

func (o Options) Bool(key string) bool {
	v, ok := o.typed(key, Bool)
	if !ok {
		return false
	}
	b, _ := parseBool(v)
	return b
}

func (o Options) Double(key string) float64 {
	v, ok := o.typed(key, Double)
	if !ok {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f
}

func (o Options) Duration(key string) time.Duration {
	v, ok := o.typed(key, Duration)
	if !ok {
		return 0
	}
	d, _ := ParseDuration(v)
	return d
}

func (o Options) MemorySize(key string) int64 {
	v, ok := o.typed(key, MemorySize)
	if !ok {
		return 0
	}
	n, _ := ParseMemorySize(v)
	return n
}

// durationUnits are Flink's TimeUtils labels.
var durationUnits = map[string]time.Duration{
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"min": time.Minute, "m": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"µs": time.Microsecond, "micro": time.Microsecond, "micros": time.Microsecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"ns": time.Nanosecond, "nano": time.Nanosecond, "nanos": time.Nanosecond,
	"nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
}

// ParseDuration parses Flink's duration syntax (TimeUtils.parseDuration): a
// non-negative integer, optional whitespace, and an optional unit label,
// milliseconds when there is none.
func ParseDuration(s string) (time.Duration, error) {
	num, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	mult := time.Millisecond
	if unit != "" {
		m, ok := durationUnits[unit]
		if !ok {
			return 0, fmt.Errorf("time interval unit label '%s' does not match any of the recognized units", unit)
		}
		mult = m
	}
	if num > uint64(math.MaxInt64/int64(mult)) {
		return 0, fmt.Errorf("duration %q overflows", s)
	}
	return time.Duration(num) * mult, nil
}

var memoryUnits = map[string]int64{
	"b": 1, "bytes": 1,
	"k": 1 << 10, "kb": 1 << 10, "kibibytes": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mebibytes": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gibibytes": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tebibytes": 1 << 40,
}

// ParseMemorySize parses Flink's memory size syntax (MemorySize.parse): a
// non-negative integer and an optional unit, bytes when there is none; units
// are powers of 1024.
func ParseMemorySize(s string) (int64, error) {
	num, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	mult := int64(1)
	if unit != "" {
		m, ok := memoryUnits[unit]
		if !ok {
			return 0, fmt.Errorf("memory size unit '%s' does not match any of the recognized units", unit)
		}
		mult = m
	}
	if num > uint64(math.MaxInt64/mult) {
		return 0, fmt.Errorf("memory size %q overflows", s)
	}
	return int64(num) * mult, nil
}

// splitNumber splits "10 s" into 10 and "s" (lower-cased).
func splitNumber(s string) (uint64, string, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, "", fmt.Errorf("%q does not start with a number", s)
	}
	n, err := strconv.ParseUint(t[:i], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("number in %q is out of range", s)
	}
	return n, strings.ToLower(strings.TrimSpace(t[i:])), nil
}

// Describe documents a factory's options, one per line, for DESCRIBE-style
// output and error messages.
func Describe(f Factory) string {
	var b strings.Builder
	for _, d := range f.Options() {
		fmt.Fprintf(&b, "%s (%s", d.Key, d.Type)
		if d.Type == Enum {
			fmt.Fprintf(&b, ": %s", strings.Join(d.Enum, "|"))
		}
		switch {
		case d.Required:
			b.WriteString(", required")
		case d.Default != "":
			fmt.Fprintf(&b, ", default %s", d.Default)
		}
		fmt.Fprintf(&b, "): %s\n", d.Doc)
	}
	return b.String()
}
