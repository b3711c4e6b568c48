package connector

import (
	"strings"
	"testing"
	"time"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/internal/errs"
)

type fakeFactory struct{ opts []Option }

func (fakeFactory) Identifier() string  { return "fake" }
func (f fakeFactory) Options() []Option { return f.opts }

var fake = fakeFactory{opts: []Option{
	{Key: "path", Type: String, Required: true, Doc: "where"},
	{Key: "n", Type: Int, Default: "7", Doc: "an int"},
	{Key: "big", Type: Long, Doc: "a long"},
	{Key: "flag", Type: Bool, Default: "false", Doc: "a bool"},
	{Key: "rate", Type: Double, Default: "0.5", Doc: "a double"},
	{Key: "wait", Type: Duration, Default: "1 s", Doc: "a duration"},
	{Key: "size", Type: MemorySize, Default: "128mb", Doc: "a size"},
	{Key: "mode", Type: Enum, Enum: []string{"sequence", "random"}, Default: "random", Doc: "an enum"},
	{Key: "fields.#.kind", Type: Enum, Enum: []string{"sequence", "random"}, Default: "random", Doc: "per column"},
	{Key: "fields.#.len", Type: Int, Default: "100", Doc: "per column"},
}}

func table(opts ...string) TableInfo {
	m := map[string]string{"connector": "fake", "path": "/tmp"}
	for i := 0; i+1 < len(opts); i += 2 {
		if opts[i+1] == "<unset>" {
			delete(m, opts[i])
			continue
		}
		m[opts[i]] = opts[i+1]
	}
	return TableInfo{Name: "t", Options: m, Schema: types.Schema{Columns: []types.Column{
		{Name: "id", Type: types.BigIntType}, {Name: "a.b", Type: types.StringType},
	}}}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		opts []string
		want string // substring of the error; "" for success
	}{
		{nil, ""},
		{[]string{"foo", "x"}, "unsupported option 'foo' for connector 'fake'; supported options: big, connector, fields.#.kind, fields.#.len, flag, mode, n, path, rate, size, wait"},
		{[]string{"path", "<unset>"}, "missing required option 'path' for connector 'fake'"},
		{[]string{"n", "abc"}, "invalid value 'abc' for option 'n': expected a value of type Int"},
		{[]string{"n", "3000000000"}, "invalid value '3000000000' for option 'n'"},
		{[]string{"n", " 42 "}, ""},
		{[]string{"big", "3000000000"}, ""},
		{[]string{"big", "1.5"}, "invalid value '1.5' for option 'big'"},
		{[]string{"flag", "TRUE"}, ""},
		{[]string{"flag", "yes"}, "invalid value 'yes' for option 'flag': expected a value of type Boolean"},
		{[]string{"rate", "1e-3"}, ""},
		{[]string{"rate", "x"}, "invalid value 'x' for option 'rate'"},
		{[]string{"wait", "10 s"}, ""},
		{[]string{"wait", "1min"}, ""},
		{[]string{"wait", "500ms"}, ""},
		{[]string{"wait", "ten s"}, "invalid value 'ten s' for option 'wait': expected a value of type Duration"},
		{[]string{"wait", "10 fortnights"}, "invalid value '10 fortnights' for option 'wait'"},
		{[]string{"size", "1 gb"}, ""},
		{[]string{"size", "1 zb"}, "invalid value '1 zb' for option 'size': expected a value of type MemorySize"},
		{[]string{"mode", "SEQUENCE"}, ""},
		{[]string{"mode", "other"}, "invalid value 'other' for option 'mode': expected one of sequence, random"},
		{[]string{"fields.id.kind", "sequence"}, ""},
		{[]string{"fields.a.b.kind", "sequence"}, ""},
		{[]string{"fields.id.kind", "other"}, "invalid value 'other' for option 'fields.id.kind'"},
		{[]string{"fields.nope.kind", "random"}, "option 'fields.nope.kind' of connector 'fake' refers to column 'nope', which table 't' does not have (nor a part of one: <column>.element, .key, .value or .<row field>); columns: id, a.b"},
		{[]string{"fields.id.len", "x"}, "invalid value 'x' for option 'fields.id.len'"},
		{[]string{"fields..kind", "random"}, "unsupported option 'fields..kind'"},
	} {
		err := Validate(fake, table(tc.opts...))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: unexpected error %v", tc.opts, err)
		case tc.want != "" && err == nil:
			t.Errorf("%v: expected error %q", tc.opts, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%v: error %q does not contain %q", tc.opts, err, tc.want)
		case err != nil && !errs.Is(err, errs.InvalidOption):
			t.Errorf("%v: error %v is not InvalidOption", tc.opts, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	o, err := Parse(fake, table("n", "42", "flag", "True", "wait", "2 min", "mode", "SEQUENCE",
		"fields.id.kind", "Sequence", "size", "2k", "big", "-9000000000"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("path", o.String("path"), "/tmp")
	check("n", o.Int("n"), 42)
	check("big", o.Long("big"), int64(-9000000000))
	check("flag", o.Bool("flag"), true)
	check("rate", o.Double("rate"), 0.5)
	check("wait", o.Duration("wait"), 2*time.Minute)
	check("size", o.MemorySize("size"), int64(2048))
	check("mode", o.Enum("mode"), "sequence")
	check("fields.id.kind", o.Enum(ColumnKey("id", "fields.#.kind")), "sequence")
	check("fields.a.b.kind default", o.Enum(ColumnKey("a.b", "fields.#.kind")), "random")
	check("fields.id.len default", o.Int("fields.id.len"), 100)
	v, ok := o.ColumnOption("id", "fields.#.kind")
	check("ColumnOption", v+"/"+map[bool]string{true: "ok"}[ok], "Sequence/ok")
	check("IsSet n", o.IsSet("n"), true)
	check("IsSet rate", o.IsSet("rate"), false)
	_, ok = o.Lookup("big")
	check("Lookup big", ok, true)

	o2, err := Parse(fake, table())
	if err != nil {
		t.Fatal(err)
	}
	_, ok = o2.Lookup("big")
	check("Lookup unset big", ok, false)
	check("Long unset", o2.Long("big"), int64(0))
	check("Duration default", o2.Duration("wait"), time.Second)
	check("MemorySize default", o2.MemorySize("size"), int64(128<<20))
}

func TestAccessorMisusePanics(t *testing.T) {
	o, _ := Parse(fake, table())
	for name, f := range map[string]func(){
		"undeclared": func() { o.String("nope") },
		"wrong type": func() { o.Int("path") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: expected panic", name)
				}
			}()
			f()
		}()
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"10 s": 10 * time.Second, "1min": time.Minute, "500ms": 500 * time.Millisecond,
		"1 h": time.Hour, "2d": 48 * time.Hour, "123": 123 * time.Millisecond,
		"3 SECONDS": 3 * time.Second, "7µs": 7 * time.Microsecond, "9 nanos": 9, "1 m": time.Minute,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "s", "-1 s", "1.5 s", "1 lightyear", "99999999999999999999 d", "10000000 d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", in)
		}
	}
}

func TestParseMemorySize(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, "1b": 1, "2 bytes": 2, "1k": 1024, "1 KB": 1024, "3mb": 3 << 20, "1g": 1 << 30, "1 tb": 1 << 40,
	} {
		got, err := ParseMemorySize(in)
		if err != nil || got != want {
			t.Errorf("ParseMemorySize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "mb", "1 pb", "-1", "99999999999 tb"} {
		if _, err := ParseMemorySize(in); err == nil {
			t.Errorf("ParseMemorySize(%q) succeeded", in)
		}
	}
}

func TestDescribe(t *testing.T) {
	got := Describe(fakeFactory{opts: []Option{
		{Key: "path", Type: String, Required: true, Doc: "where"},
		{Key: "mode", Type: Enum, Enum: []string{"a", "b"}, Default: "a", Doc: "how"},
	}})
	want := "path (String, required): where\nmode (Enum: a|b, default a): how\n"
	if got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

// TestPrefixOptions checks '*' keys: any longer key with the prefix is
// accepted, exact declarations win, and WithPrefix collects the values.
func TestPrefixOptions(t *testing.T) {
	f := fakeFactory{opts: []Option{
		{Key: "properties.bootstrap.servers", Type: String, Required: true, Doc: "d"},
		{Key: "properties.*", Type: String, Doc: "d"},
	}}
	o, err := Parse(f, TableInfo{Options: map[string]string{
		"properties.bootstrap.servers": "h:1", "properties.client.id": "c", "properties.sasl.mechanism": "PLAIN"}})
	if err != nil {
		t.Fatal(err)
	}
	got := o.WithPrefix("properties.")
	if len(got) != 3 || got["client.id"] != "c" || got["bootstrap.servers"] != "h:1" || got["sasl.mechanism"] != "PLAIN" {
		t.Errorf("WithPrefix = %v", got)
	}
	if _, err := Parse(f, TableInfo{Options: map[string]string{"properties.bootstrap.servers": "h", "properties.": "x"}}); err == nil {
		t.Error("the bare prefix was accepted")
	}
	if _, err := Parse(f, TableInfo{Options: map[string]string{"properties.client.id": "c"}}); err == nil {
		t.Error("a prefix option satisfied a required exact one")
	}
}
