package json

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
)

// TestRecordDecoder decodes single objects: fields in any order, unknown
// and nested fields skipped, escapes, numbers as strings, missing fields,
// and malformed input that stages nothing.
func TestRecordDecoder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := types.Schema{Columns: []types.Column{{Name: "id", Type: types.BigIntType}, {Name: "name", Type: types.StringType},
		{Name: "ok", Type: types.BooleanType}, {Name: "ts", Type: types.TimestampType(3)}}}
	b := array.NewRecordBuilder(mem, s.Arrow())
	defer b.Release()
	d, err := NewRecordDecoder(Config{}, s, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, err string }{
		{`{"id": 1, "name": "a", "ok": true, "ts": "2020-01-01 00:00:00.5"}`, ""},
		{` { "ts":"2020-01-01T00:00:01","ok":false , "x": {"y": [1, "}\"", {}]}, "name": "q\"\u00e9\n", "id": "2" } `, ""},
		{`{"id": null, "z": [], "w": -1.5e3, "v": "s"}`, ""},
		{`{}`, ""},
		{`{"id": 1,}`, "expected a field name"},
		{`{"id": 1`, "expected ',' or '}'"},
		{`{"id": x}`, "field 'id': cannot parse 'x' as BIGINT"},
		{`{"id": {"a": 1}}`, "field 'id': cannot read a nested JSON value as BIGINT"},
		{`[1]`, "expected '{'"},
		{`{"id": 1} x`, "data after the object"},
		{`{"name": "abc`, "unterminated string"},
		{`{"a": ,"id": 1}`, "missing value"},
		{`{"a": [1, 2}`, "mismatched '}'"},
		{`{"a": [1, {}`, "unexpected end"},
		{``, "expected '{'"},
	} {
		err := d.Stage([]byte(tc.in))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: got %v, want %s", tc.in, err, tc.err)
		case err == nil:
			d.Commit()
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var got []string
	for i := 0; i < int(rec.NumRows()); i++ {
		var f []string
		for c := 0; c < int(rec.NumCols()); c++ {
			f = append(f, rec.Column(c).ValueStr(i))
		}
		got = append(got, strings.Join(f, "|"))
	}
	want := []string{
		"1|a|true|2020-01-01T00:00:00.5",
		"2|q\"é\n|false|2020-01-01T00:00:01",
		"(null)|(null)|(null)|(null)",
		"(null)|(null)|(null)|(null)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// fail-on-missing-field
	d2, _ := NewRecordDecoder(Config{FailOnMissingField: true}, s, b)
	if err := d2.Stage([]byte(`{"id": 1}`)); err == nil || !strings.Contains(err.Error(), "missing field 'name'") {
		t.Errorf("got %v", err)
	}
}
