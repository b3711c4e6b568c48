package csv

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
	{Name: "tags", Type: types.ArrayType(types.StringType)},
	{Name: "nums", Type: types.ArrayType(types.IntType)},
	{Name: "r", Type: types.RowType(types.Field{Name: "x", Type: types.IntType}, types.Field{Name: "d", Type: types.DateType}, types.Field{Name: "s", Type: types.StringType})},
}}

// decodeAll decodes in with cfg into one batch.
func decodeAll(t *testing.T, mem memory.Allocator, cfg Config, s types.Schema, in string) (arrow.RecordBatch, error) {
	t.Helper()
	b := array.NewRecordBuilder(mem, s.Arrow())
	defer b.Release()
	d, err := NewDecoder(cfg, strings.NewReader(in), "f.csv", s, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(100); err != nil {
		return nil, err
	}
	return b.NewRecordBatch(), nil
}

// TestNestedRoundTrip: ARRAY and ROW columns read from and written to
// their CSV field, elements separated by the element delimiter; NULL
// elements and fields are the null literal; the field is quoted when its
// text needs it; writing what was read gives the same text, and reading it
// again the same values.
func TestNestedRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []string
		in   string
	}{
		{name: "default", in: "1,a;b;c,1;;3,7;2020-01-02;x\n" +
			"2,,,\n" +
			"3,\"\",\"\",;;\n" +
			"4,\"q,\"\"uote;x\",-5,\"0;;a,b\"\n"},
		{name: "null literal", kv: []string{NullLiteral, "N"}, in: "1,a;N;;c,N;2,N;2020-01-02;\n" +
			"2,N,N,N\n" +
			"3,\"\",\"\",N;N;N\n" +
			"4,\"N\",\"N\",N;N;N\n"},
		{name: "escape and delimiter", kv: []string{EscapeCharacter, `\`, ArrayElementDelimiter, "|"}, in: "1,\"a\\\\|b|c\\\\\\\\d\",1|2,3|2020-01-02|semi;colon\n" +
			"2,\"x\\\\|\",,\"|2020-01-02|a\\\\|\\\\|b\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			cfg := parseOptions(t, tc.kv...)
			rec, err := decodeAll(t, mem, cfg, nestedSchema, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			var out bytes.Buffer
			if _, err := NewEncoder(cfg, nestedSchema).Encode(&out, rec); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.in {
				t.Fatalf("wrote\n%s\nwant\n%s", out.String(), tc.in)
			}
			again, err := decodeAll(t, mem, cfg, nestedSchema, out.String())
			if err != nil {
				t.Fatal(err)
			}
			defer again.Release()
			if !array.RecordEqual(rec, again) {
				t.Fatalf("read back\n%v\nwant\n%v", again, rec)
			}
		})
	}
}

// TestNestedValues checks the values read: empty elements and fields are
// NULL without a null literal, a quoted empty field is the empty ARRAY,
// and an escaped delimiter is part of its element.
func TestNestedValues(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec, err := decodeAll(t, mem, parseOptions(t, EscapeCharacter, `\`), nestedSchema,
		"1,a\\\\;b;;c,1;;3,7;2020-01-02;x\n2,,\"\",;;\n")
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var got []string
	for c := 1; c < 4; c++ {
		for i := range int(rec.NumRows()) {
			got = append(got, rec.Column(c).ValueStr(i))
		}
	}
	want := []string{`["a;b",null,"c"]`, "(null)", "[1,null,3]", "[]",
		`{"d":"2020-01-02","s":"x","x":7}`, `{"d":null,"s":null,"x":null}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("read\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNestedErrors: malformed elements and ROW fields name the CSV field
// and the element; unsupported types are refused with Flink's messages; an
// element holding the delimiter cannot be written without an escape
// character.
func TestNestedErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := parseOptions(t)
	for in, want := range map[string]string{
		"1,a,1;x;3,1;2020-01-02;s\n":     "f.csv:1: field 3: element 2: cannot parse 'x' as INT",
		"1,a,1,1;2020-01-02\n":           "f.csv:1: field 4: expected 3 ROW fields, got 2",
		"1,a,1,1;2020-13-02;s\n":         "f.csv:1: field 4: ROW field 2: cannot parse '2020-13-02' as DATE",
		"1,a,1,1;2020-01-02;s;t\n2,,,\n": "f.csv:1: field 4: expected 3 ROW fields, got 4",
	} {
		rec, err := decodeAll(t, mem, cfg, nestedSchema, in)
		if err == nil {
			rec.Release()
			t.Fatalf("%q: no error", in)
		}
		if err.Error() != want {
			t.Errorf("%q: got %q, want %q", in, err, want)
		}
	}

	// A skipped malformed record leaves no partial row behind.
	rec, err := decodeAll(t, mem, parseOptions(t, IgnoreParseErrors, "true"), nestedSchema,
		"1,a;b,1;x,1;2020-01-02;s\n2,c,2,2;2020-01-02;t\n")
	if err != nil {
		t.Fatal(err)
	}
	if rec.NumRows() != 1 || rec.Column(1).ValueStr(0) != `["c"]` {
		t.Errorf("read %v", rec)
	}
	rec.Release()

	for _, tc := range []struct {
		typ  types.DataType
		want string
	}{
		{types.MapType(types.StringType, types.IntType), "column 'm': unsupported type 'MAP<STRING, INT>' for field 'm'"},
		{types.ArrayType(types.RowType(types.Field{Name: "a", Type: types.IntType})), "column 'm': only simple types are supported in the second level nesting of fields 'm' but was: ROW<`a` INT>"},
		{types.RowType(types.Field{Name: "a", Type: types.ArrayType(types.IntType)}), "column 'm': only simple types are supported in the second level nesting of fields 'm' but was: ARRAY<INT>"},
		{types.MultisetType(types.IntType), "column 'm': unsupported type 'MULTISET<INT>' for field 'm'"},
	} {
		err := CheckSchema(types.Schema{Columns: []types.Column{{Name: "m", Type: tc.typ}}})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %s", tc.typ, err, tc.want)
		}
	}

	b := array.NewRecordBuilder(mem, nestedSchema.Arrow())
	defer b.Release()
	b.Field(0).(*array.Int32Builder).Append(1)
	lb := b.Field(1).(*array.ListBuilder)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).Append("a;b")
	b.Field(2).AppendNull()
	b.Field(3).AppendNull()
	bad := b.NewRecordBatch()
	defer bad.Release()
	var out bytes.Buffer
	_, err = NewEncoder(cfg, nestedSchema).Encode(&out, bad)
	if want := "column 'tags': element 1: value 'a;b' contains the array element delimiter ';'; set 'csv.escape-character' to write it"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
