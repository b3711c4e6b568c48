package csv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

// csvOnly is a connector declaring the csv options alone.
type csvOnly struct{}

func (csvOnly) Identifier() string          { return "csv-test" }
func (csvOnly) Options() []connector.Option { return Options }

func parseOptions(t *testing.T, kv ...string) Config {
	t.Helper()
	c, err := ParseConfig(mustOptions(t, kv...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEscapeCharacter: with csv.escape-character the character after an
// escape is literal, in quoted and unquoted fields; values written with
// delimiters, quotes and escapes read back unchanged.
func TestEscapeCharacter(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := types.Schema{Columns: []types.Column{{Name: "a", Type: types.StringType}, {Name: "d", Type: types.DecimalType(10, 9)}}}
	cfg := parseOptions(t, EscapeCharacter, `\`, ScientificDecimal, "false")
	in := "a\\,b,0.1\n\"q\\\"x\",2\nplain,\n\"multi\nline\\\\\",3\n"
	b := array.NewRecordBuilder(mem, s.Arrow())
	defer b.Release()
	d, err := NewDecoder(cfg, strings.NewReader(in), "f.csv", s, nil, b)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.Decode(10); n != 4 || err != nil {
		t.Fatalf("decoded %d records, %v", n, err)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var got []string
	for i := range int(rec.NumRows()) {
		got = append(got, rec.Column(0).ValueStr(i)+"|"+rec.Column(1).ValueStr(i))
	}
	want := []string{"a,b|0.1", "q\"x|2", "plain|(null)", "multi\nline\\|3"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("read %q, want %q", got, want)
	}

	var out bytes.Buffer
	if _, err := NewEncoder(cfg, s).Encode(&out, rec); err != nil {
		t.Fatal(err)
	}
	if want := "\"a,b\",0.100000000\n\"q\\\"x\",2.000000000\nplain,\n\"multi\nline\\\\\",3.000000000\n"; out.String() != want {
		t.Fatalf("wrote %q, want %q", out.String(), want)
	}
	b2 := array.NewRecordBuilder(mem, s.Arrow())
	defer b2.Release()
	d2, err := NewDecoder(cfg, &out, "back.csv", s, nil, b2)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d2.Decode(10); n != 4 || err != nil {
		t.Fatalf("read back %d records, %v", n, err)
	}
	back := b2.NewRecordBatch()
	defer back.Release()
	for i := range int(back.NumRows()) {
		if back.Column(0).ValueStr(i) != rec.Column(0).ValueStr(i) {
			t.Errorf("row %d reads back as %q, not %q", i, back.Column(0).ValueStr(i), rec.Column(0).ValueStr(i))
		}
	}

	if _, err := ParseConfig(mustOptions(t, EscapeCharacter, ",")); err == nil || !strings.Contains(err.Error(), "must differ") {
		t.Errorf("an escape character equal to the delimiter: %v", err)
	}
}

func mustOptions(t *testing.T, kv ...string) connector.Options {
	t.Helper()
	opts := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		opts[kv[i]] = kv[i+1]
	}
	o, err := connector.Parse(csvOnly{}, connector.TableInfo{Name: "t", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestEncodeQuoting: a field is quoted only when it must be, decided per
// value though the encoder scans each column at once: an empty string,
// one with the delimiter, the quote or a line break, one equal to the null
// literal, and (with comments allowed) one starting with '#'. Columns
// without such a value are written as rendered, and AppendRow writes the
// same records as Encode.
func TestEncodeQuoting(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := types.Schema{Columns: []types.Column{
		{Name: "s", Type: types.StringType}, {Name: "n", Type: types.BigIntType}, {Name: "p", Type: types.StringType},
	}}
	b := array.NewRecordBuilder(mem, s.Arrow())
	defer b.Release()
	for i, v := range []string{"plain", "", "a,b", `q"x`, "two\nlines", "cr\r", "#c", "NA", "\x00"} {
		b.Field(0).(*array.StringBuilder).Append(v)
		b.Field(1).(*array.Int64Builder).Append(int64(i - 2))
		b.Field(2).(*array.StringBuilder).Append("p")
	}
	b.Field(0).(*array.StringBuilder).AppendNull()
	b.Field(1).(*array.Int64Builder).AppendNull()
	b.Field(2).(*array.StringBuilder).AppendNull()
	rec := b.NewRecordBatch()
	defer rec.Release()
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{nil, "plain,-2,p\n\"\",-1,p\n\"a,b\",0,p\n\"q\"\"x\",1,p\n\"two\nlines\",2,p\n\"cr\r\",3,p\n#c,4,p\nNA,5,p\n\x00,6,p\n,,\n"},
		{[]string{AllowComments, "true", NullLiteral, "NA"},
			"plain,-2,p\n\"\",-1,p\n\"a,b\",0,p\n\"q\"\"x\",1,p\n\"two\nlines\",2,p\n\"cr\r\",3,p\n\"#c\",4,p\n\"NA\",5,p\n\x00,6,p\nNA,NA,NA\n"},
		{[]string{DisableQuoteCharacter, "true", FieldDelimiter, `\t`},
			"plain\t-2\tp\n\t-1\tp\na,b\t0\tp\nq\"x\t1\tp\ntwo\nlines\t2\tp\ncr\r\t3\tp\n#c\t4\tp\nNA\t5\tp\n\x00\t6\tp\n\t\t\n"},
		{[]string{NullLiteral, "1"}, "plain,-2,p\n\"\",-1,p\n\"a,b\",0,p\n\"q\"\"x\",\"1\",p\n\"two\nlines\",2,p\n\"cr\r\",3,p\n#c,4,p\nNA,5,p\n\x00,6,p\n1,1,1\n"},
	} {
		enc := NewEncoder(parseOptions(t, tc.kv...), s)
		var out bytes.Buffer
		// Twice, so that the second reuses the first's buffers.
		for range 2 {
			out.Reset()
			if _, err := enc.Encode(&out, rec); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("%v: wrote %q, want %q", tc.kv, out.String(), tc.want)
			}
		}
		var rows []byte
		if err := enc.Bind(rec); err != nil {
			t.Fatal(err)
		}
		for i := range int(rec.NumRows()) {
			rows, _ = enc.AppendRow(rows, i)
			rows = append(rows, '\n')
		}
		if string(rows) != tc.want {
			t.Errorf("%v: AppendRow wrote %q, want %q", tc.kv, rows, tc.want)
		}
	}
}
