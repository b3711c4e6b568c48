package print

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/connectortest"
)

func col(name string, t types.DataType) types.Column { return types.Column{Name: name, Type: t} }

var schema = types.Schema{Columns: []types.Column{
	col("b", types.BooleanType), col("ti", types.TinyIntType), col("si", types.SmallIntType), col("i", types.IntType),
	col("bi", types.BigIntType), col("f", types.FloatType), col("d", types.DoubleType), col("dec", types.DecimalType(10, 2)),
	col("s", types.StringType), col("by", types.BytesType), col("dt", types.DateType), col("tm", types.TimeType(0)),
	col("ts", types.TimestampType(3)), col("ltz", types.TimestampLTZType(3)), col("ts9", types.TimestampType(9)),
	col("arr", types.ArrayType(types.IntType)), col("r", types.RowType(types.Field{Name: "a", Type: types.IntType}, types.Field{Name: "b", Type: types.StringType})),
	col("m", types.MapType(types.StringType, types.IntType)),
}}

const rowsJSON = `[
{"b": true, "ti": -1, "si": 300, "i": 42, "bi": -9000000000, "f": 1.5, "d": 1e10, "dec": "12.30", "s": "abc, d",
 "by": "Af8=", "dt": 18262, "tm": 3723000, "ts": 1577836800123, "ltz": 1577836800000, "ts9": 1577836800000001000,
 "arr": [1, null, 3], "r": {"a": 7, "b": "x"}, "m": [{"key": "k", "value": 1}]},
{"b": false, "ti": 0, "si": 0, "i": 0, "bi": 0, "f": 0.001, "d": 0.1, "dec": "-0.05", "s": "",
 "by": "", "dt": -1, "tm": 0, "ts": 1577836800000, "ltz": 1577836800100, "ts9": 1577836801000000000,
 "arr": [], "r": {"a": null, "b": null}, "m": []},
{"b": null, "ti": null, "si": null, "i": null, "bi": null, "f": null, "d": null, "dec": null, "s": null,
 "by": null, "dt": null, "tm": null, "ts": null, "ltz": null, "ts9": null, "arr": null, "r": null, "m": null}
]`

func batch(t *testing.T, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	b, _, err := array.RecordFromJSON(mem, schema.Arrow(), strings.NewReader(rowsJSON))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func run(t *testing.T, opts map[string]string, subtask, parallelism int) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	Stdout, Stderr = &out, &errOut
	defer func() { Stdout, Stderr = nil, nil }()
	m := map[string]string{"connector": "print"}
	for k, v := range opts {
		m[k] = v
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := batch(t, mem)
	defer b.Release()
	connectortest.CheckSink(t, Factory{}, connector.SinkSpec{Table: connector.TableInfo{Name: "t", Schema: schema, Options: m}},
		connector.ReaderContext{Subtask: subtask, Parallelism: parallelism, Mem: mem}, b)
	return out.String(), errOut.String()
}

func TestPrintValues(t *testing.T) {
	got, _ := run(t, nil, 0, 1)
	want := `+I[true, -1, 300, 42, -9000000000, 1.5, 1.0E10, 12.30, abc, d, [1, -1], 2020-01-01, 01:02:03, 2020-01-01T00:00:00.123, 2020-01-01T00:00:00Z, 2020-01-01T00:00:00.000001, [1, null, 3], +I[7, x], {k=1}]
+I[false, 0, 0, 0, 0, 0.001, 0.1, -0.05, , [], 1969-12-31, 00:00, 2020-01-01T00:00, 2020-01-01T00:00:00.100Z, 2020-01-01T00:00:01, [], +I[null, null], {}]
+I[null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null]
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestPrintPrefixes(t *testing.T) {
	for _, tc := range []struct {
		opts       map[string]string
		sub, par   int
		wantPrefix string
		wantStderr bool
	}{
		{nil, 0, 1, "", false},
		{nil, 2, 4, "3> ", false},
		{map[string]string{"print-identifier": "x"}, 0, 1, "x> ", false},
		{map[string]string{"print-identifier": "x"}, 1, 2, "x:2> ", false},
		{map[string]string{"standard-error": "true"}, 0, 1, "", true},
		{map[string]string{"standard-error": "FALSE"}, 0, 1, "", false},
	} {
		out, errOut := run(t, tc.opts, tc.sub, tc.par)
		if tc.wantStderr {
			out, errOut = errOut, out
		}
		if errOut != "" {
			t.Errorf("%v: wrong stream got %q", tc.opts, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("%v: %d lines", tc.opts, len(lines))
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, tc.wantPrefix+"+I[") {
				t.Errorf("%v sub %d/%d: line %q lacks prefix %q", tc.opts, tc.sub, tc.par, l, tc.wantPrefix)
			}
		}
	}
}

func TestPrintOptions(t *testing.T) {
	tbl := func(k, v string) connector.TableInfo {
		return connector.TableInfo{Schema: schema, Options: map[string]string{"connector": "print", k: v}}
	}
	if _, err := (Factory{}).ValidateSink(tbl("standard-error", "maybe")); err == nil || !strings.Contains(err.Error(), "invalid value 'maybe' for option 'standard-error'") {
		t.Errorf("standard-error=maybe: %v", err)
	}
	if _, err := (Factory{}).ValidateSink(tbl("sink.parallelism", "2")); err == nil || !strings.Contains(err.Error(), "unsupported option 'sink.parallelism' for connector 'print'; supported options: connector, print-identifier, standard-error") {
		t.Errorf("unknown option: %v", err)
	}
	p, err := (Factory{}).ValidateSink(tbl("print-identifier", "any text"))
	if err != nil || !p.AcceptsUpdates {
		t.Errorf("print-identifier: %v %v", p, err)
	}
}

// TestPrintRowKinds prints a changelog: the kind comes from the batch's
// trailing row kind column.
func TestPrintRowKinds(t *testing.T) {
	var out bytes.Buffer
	Stdout = &out
	defer func() { Stdout = nil }()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := types.Schema{Columns: []types.Column{col("k", types.StringType), col("n", types.BigIntType)}}
	as := arrow.NewSchema(append(sch.Arrow().Fields(),
		arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8}), nil)
	b, _, err := array.RecordFromJSON(mem, as, strings.NewReader(
		`[{"k": "a", "n": 1, "$rowkind": 0}, {"k": "a", "n": 1, "$rowkind": 1}, {"k": "a", "n": 2, "$rowkind": 2}, {"k": "a", "n": 2, "$rowkind": 3}]`))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	connectortest.CheckSink(t, Factory{}, connector.SinkSpec{Table: connector.TableInfo{Name: "t", Schema: sch,
		Options: map[string]string{"connector": "print"}}}, connector.ReaderContext{Parallelism: 1, Mem: mem}, b)
	if want := "+I[a, 1]\n-U[a, 1]\n+U[a, 2]\n-D[a, 2]\n"; out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
