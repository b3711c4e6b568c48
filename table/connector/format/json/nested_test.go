package json

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

var nestedSchema = types.Schema{Columns: []types.Column{
	{Name: "id", Type: types.IntType},
	{Name: "r", Type: types.RowType(types.Field{Name: "a", Type: types.IntType},
		types.Field{Name: "in", Type: types.RowType(types.Field{Name: "s", Type: types.StringType})})},
	{Name: "tags", Type: types.ArrayType(types.StringType)},
	{Name: "rows", Type: types.ArrayType(types.RowType(types.Field{Name: "x", Type: types.DoubleType}))},
	{Name: "m", Type: types.MapType(types.StringType, types.ArrayType(types.BigIntType))},
	{Name: "ms", Type: types.MultisetType(types.StringType)},
	{Name: "raw", Type: types.StringType},
}}

// nestedInputs are objects with nested values and what each row reads
// as, or the error staging it gives (which appends nothing).
var nestedInputs = []struct{ in, want, err string }{
	{in: `{"id": 1, "r": {"in": {"s": "x\"y"}, "a": 2, "zz": [1]}, "tags": ["p", null, "q"], "rows": [{"x": 1.5}, null, {}],
	       "m": {"k": [1, 2], "e": [], "n": null}, "ms": {"a": 2, "b": 1}, "raw": {"k": [1, {"z": null}]}}`,
		want: `{"id":1,"r":{"a":2,"in":{"s":"x\"y"}},"tags":["p",null,"q"],"rows":[{"x":1.5},null,{"x":null}],"m":{"k":[1,2],"e":[],"n":null},"ms":{"a":2,"b":1},"raw":"{\"k\":[1,{\"z\":null}]}"}`},
	{in: `{"id": 2, "r": null, "tags": [], "m": {}, "ms": {}, "raw": [1, 2]}`,
		want: `{"id":2,"r":null,"tags":[],"rows":null,"m":{},"ms":{},"raw":"[1,2]"}`},
	{in: `{"id": 3, "r": {"a": "x"}}`, err: "field 'r': field 'a': cannot parse 'x' as INT"},
	{in: `{"id": 4, "tags": "p"}`, err: "field 'tags': expected a JSON array for ARRAY<STRING>, got a string"},
	{in: `{"id": 5, "r": [1]}`, err: "field 'r': expected a JSON object"},
	{in: `{"id": 6, "ms": {"a": -1}}`, err: "the count must be a non-negative integer"},
	{in: `{"id": 7, "m": {"k": [1, "x"]}}`, err: "cannot parse 'x' as BIGINT"},
	{in: `{"id": 8, "rows": [{"x": 1}, 2]}`, err: "expected a JSON object"},
}

// TestNestedRecordDecoder reads ROW, ARRAY, MAP and MULTISET fields, and
// objects and arrays into a STRING column, through both decoders; a
// record with a malformed nested value appends nothing, and what is
// appended writes back as Flink writes it.
func TestNestedRecordDecoder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	if err := CheckSchema(nestedSchema); err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(mem, nestedSchema.Arrow())
	defer b.Release()
	d, err := NewRecordDecoder(Config{}, nestedSchema, b)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, tc := range nestedInputs {
		err := d.Stage([]byte(tc.in))
		switch {
		case tc.err == "" && err != nil:
			t.Fatalf("%s: %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Fatalf("%s: got %v, want %s", tc.in, err, tc.err)
		case err == nil:
			d.Commit()
			want = append(want, tc.want)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	if got := encodeAll(t, Config{}, rec); got != strings.Join(want, "\n")+"\n" {
		t.Fatalf("record decoder rows write as\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}

	// The file decoder reads the same lines; the malformed ones fail.
	var lines []string
	for _, tc := range nestedInputs {
		if tc.err == "" {
			lines = append(lines, strings.ReplaceAll(tc.in, "\n", " "))
		}
	}
	fd, err := NewDecoder(Config{}, strings.NewReader(strings.Join(lines, "\n")), "f.json", nestedSchema, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := fd.Decode(10); n != len(lines) || err != nil {
		t.Fatalf("file decoder: %d rows, %v", n, err)
	}
	rec2 := b.NewRecordBatch()
	defer rec2.Release()
	if got := encodeAll(t, Config{}, rec2); got != strings.Join(want, "\n")+"\n" {
		t.Fatalf("file decoder rows write as\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
	bad, err := NewDecoder(Config{}, strings.NewReader(nestedInputs[2].in), "bad.json", nestedSchema, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Decode(10); err == nil || !strings.Contains(err.Error(), "bad.json:1: field 'r': field 'a'") {
		t.Fatalf("file decoder on a malformed nested value: %v", err)
	}
	b.NewRecordBatch().Release()

	// ignore-null-fields leaves NULLs out at every level;
	// fail-on-missing-field applies to nested rows.
	got := encodeAll(t, Config{IgnoreNullFields: true}, rec)
	if first := strings.SplitN(got, "\n", 2)[0]; first != `{"id":1,"r":{"a":2,"in":{"s":"x\"y"}},"tags":["p",null,"q"],"rows":[{"x":1.5},null,{}],"m":{"k":[1,2],"e":[],"n":null},"ms":{"a":2,"b":1},"raw":"{\"k\":[1,{\"z\":null}]}"}` {
		t.Errorf("ignore-null-fields: %s", first)
	}
	strict, err := NewRecordDecoder(Config{FailOnMissingField: true}, nestedSchema, b)
	if err != nil {
		t.Fatal(err)
	}
	in := `{"id": 1, "r": {"a": 1}, "tags": [], "rows": [], "m": {}, "ms": {}, "raw": ""}`
	if err := strict.Stage([]byte(in)); err == nil || !strings.Contains(err.Error(), "field 'r': missing field 'in'") {
		t.Errorf("fail-on-missing-field in a nested row: %v", err)
	}
	b.NewRecordBatch().Release()
}

func encodeAll(t *testing.T, cfg Config, rec arrow.RecordBatch) string {
	t.Helper()
	var out bytes.Buffer
	if _, err := NewEncoder(cfg, nestedSchema).Encode(&out, rec); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestNestedTypeChecks: MAP and MULTISET keys must be strings, as in
// Flink's JSON format.
func TestNestedTypeChecks(t *testing.T) {
	for _, ty := range []types.DataType{
		types.MapType(types.IntType, types.IntType),
		types.MultisetType(types.IntType),
		types.ArrayType(types.MapType(types.DateType, types.IntType)),
	} {
		err := CheckSchema(types.Schema{Columns: []types.Column{{Name: "c", Type: ty}}})
		if err == nil || !strings.Contains(err.Error(), "JSON format doesn't support non-string as key type of map") {
			t.Errorf("%s: %v", ty, err)
		}
	}
}
