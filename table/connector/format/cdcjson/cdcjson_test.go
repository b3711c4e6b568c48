package cdcjson

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table/connector/format"
)

var products = types.Schema{Columns: []types.Column{
	{Name: "id", Type: types.IntType},
	{Name: "name", Type: types.StringType},
	{Name: "weight", Type: types.DecimalType(10, 2)},
}}

// meta is a requested metadata column.
type meta struct {
	key string
	t   types.DataType
}

// decode decodes each message with a decoder of f over products and the
// metadata columns, and renders the rows as Flink's print sink does
// ("+I[1, a, 1.00]", metadata after the physical columns); a message that
// fails adds "error: ..." (and its rows before the error).
func decode(t *testing.T, f *Format, opts map[string]string, cols []meta, msgs ...string) []string {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	o, err := connector.Parse(optionSet{f}, connector.TableInfo{Name: "t", Schema: products, Options: opts})
	require.NoError(t, err)
	cfg, err := f.ParseConfig(o)
	require.NoError(t, err)
	b := array.NewRecordBuilder(mem, products.Arrow())
	defer b.Release()
	kinds := array.NewInt8Builder(mem)
	defer kinds.Release()
	var mb []MetadataBuilder
	for _, c := range cols {
		require.NoError(t, f.CheckMetadata(c.key, c.t))
		mb = append(mb, MetadataBuilder{Key: c.key, Builder: array.NewBuilder(mem, c.t.Arrow())})
	}
	d, err := f.NewDecoder(cfg, products, b, mb)
	require.NoError(t, err)
	var out []string
	for _, m := range msgs {
		_, err := d.Decode([]byte(m), kinds)
		out = append(out, render(t, b, kinds, cols, mb)...)
		if err != nil {
			out = append(out, "error: "+err.Error())
		}
	}
	for _, m := range mb {
		m.Builder.Release()
	}
	return out
}

func render(t *testing.T, b *array.RecordBuilder, kinds *array.Int8Builder, cols []meta, mb []MetadataBuilder) []string {
	rec := b.NewRecordBatch()
	defer rec.Release()
	k := kinds.NewInt8Array()
	defer k.Release()
	arrs := rec.Columns()
	var ts []types.DataType
	for _, c := range products.Columns {
		ts = append(ts, c.Type)
	}
	for i, m := range mb {
		a := m.Builder.NewArray()
		defer a.Release()
		arrs = append(arrs, a)
		ts = append(ts, cols[i].t)
	}
	require.Equal(t, int(rec.NumRows()), k.Len())
	var out []string
	for i := 0; i < k.Len(); i++ {
		var sb strings.Builder
		sb.WriteString(connector.RowKind(k.Value(i)).String() + "[")
		for c, a := range arrs {
			if c > 0 {
				sb.WriteString(", ")
			}
			require.Equal(t, k.Len(), a.Len())
			if a.IsNull(i) {
				sb.WriteString("null")
				continue
			}
			fn, err := format.Bind(a, ts[c], format.Style{Timestamp: format.Java})
			require.NoError(t, err)
			sb.Write(fn(nil, i))
		}
		out = append(out, sb.String()+"]")
	}
	return out
}

type optionSet struct{ f *Format }

func (s optionSet) Identifier() string          { return s.f.Name }
func (s optionSet) Options() []connector.Option { return s.f.Options() }

var (
	str    = types.StringType
	strArr = types.ArrayType(types.StringType)
	intMap = types.MapType(types.StringType, types.IntType)
	ltz3   = types.TimestampLTZType(3)
	ltz6   = types.TimestampLTZType(6)
)

func TestDebezium(t *testing.T) {
	cols := []meta{{"ingestion-timestamp", ltz3}, {"source.timestamp", ltz3}, {"source.database", str}, {"source.schema", str},
		{"source.table", str}, {"source.properties", types.MapType(types.StringType, types.StringType)}, {"schema", str}}
	src := `"source":{"db":"inv","schema":"public","table":"products","ts_ms":1589362330000,"snapshot":false,"lsn":null}`
	got := decode(t, Debezium, nil, cols,
		`{"before":null,"after":{"id":1,"name":"a","weight":1.5},"op":"r","ts_ms":1589362330904,`+src+`}`,
		`{"before":{"id":1,"name":"a","weight":1.5},"after":{"id":1,"name":"b","weight":1.5},"op":"u"}`,
		`{"before":{"id":1,"name":"b","weight":1.5},"after":null,"op":"d"}`,
		`{"before":null,"after":{"id":1},"op":"u"}`,
		`{"schema":{"type":"struct"},"payload":{"op":"c","after":{"id":2}}}`,
		`{"after":{"id":2},"op":"x"}`,
	)
	require.Equal(t, []string{
		"+I[1, a, 1.50, 2020-05-13T09:32:10.904Z, 2020-05-13T09:32:10Z, inv, public, products, {db=inv, schema=public, table=products, ts_ms=1589362330000, snapshot=false, lsn=null}, null]",
		"-U[1, a, 1.50, null, null, null, null, null, null, null]",
		"+U[1, b, 1.50, null, null, null, null, null, null, null]",
		"-D[1, b, 1.50, null, null, null, null, null, null, null]",
		"error: Debezium event with op 'u' has no \"before\" row: a PostgreSQL table needs REPLICA IDENTITY FULL",
		"error: Debezium event without \"op\" but with a \"payload\": set 'debezium-json.schema-include' to 'true' for events with their schema",
		"error: unknown Debezium operation 'x'",
	}, got)
	got = decode(t, Debezium, map[string]string{"debezium-json.schema-include": "true"}, []meta{{"schema", str}},
		`{"schema":{"type":"struct"},"payload":{"op":"c","after":{"id":2},"source":{"table":"t"}}}`,
		`{"before":null,"after":{"id":3},"op":"c"}`,
	)
	require.Equal(t, []string{
		`+I[2, null, null, {"type":"struct"}]`,
		"error: malformed Debezium event: no \"payload\" (debezium-json.schema-include is true)",
	}, got)
}

func TestCanal(t *testing.T) {
	got := decode(t, Canal, nil, nil,
		// one message, two inserted rows; values as strings (Canal's habit)
		`{"data":[{"id":"1","name":"scooter","weight":"5.18"},{"id":2,"name":null,"weight":1}],"database":"inv","table":"products","type":"INSERT"}`,
		// an update of two rows: "old" holds only the changed fields, one of them set to NULL before
		`{"data":[{"id":1,"name":"scooter","weight":"5.15"},{"id":2,"name":"car","weight":"1.00"}],"old":[{"weight":"5.18"},{"name":null}],"type":"UPDATE"}`,
		`{"data":[{"id":1,"name":"scooter","weight":"5.15"}],"type":"DELETE"}`,
		// DDL is skipped
		`{"data":null,"type":"CREATE","isDdl":true,"sql":"CREATE TABLE t (id INT)"}`,
		`{"data":null,"type":"ALTER","isDdl":true,"sql":"ALTER TABLE t ADD c INT"}`,
		``,
	)
	require.Equal(t, []string{
		"+I[1, scooter, 5.18]", "+I[2, null, 1.00]",
		"-U[1, scooter, 5.18]", "+U[1, scooter, 5.15]", "-U[2, null, 1.00]", "+U[2, car, 1.00]",
		"-D[1, scooter, 5.15]",
	}, got)
}

func TestCanalErrors(t *testing.T) {
	msgs := []string{
		`{"data":[{"id":1}],"type":"TRUNCATE"}`,
		`{"data":[{"id":1},{"id":"x"},{"id":3}],"type":"INSERT"}`,
		`{"data":[{"id":1}],"type":"UPDATE"}`,
		`{"data":[{"id":1}],"type":"INSERT"`,
		`{"type":"INSERT"}`,
		`[1]`,
		`{"data":[{"id":4}],"type":"INSERT"}`,
	}
	require.Equal(t, []string{
		"error: unknown Canal event type 'TRUNCATE'",
		// rows before the bad one stay, as in Flink
		"+I[1, null, null]",
		"error: \"data\": field 'id': cannot parse 'x' as INT",
		"error: Canal UPDATE event has 0 \"old\" rows, fewer than its \"data\" rows",
		"error: malformed Canal event: malformed JSON object: expected ',' or '}'",
		"error: Canal event of type 'INSERT' has no \"data\"",
		"error: malformed Canal event: malformed JSON object: expected '{'",
		"+I[4, null, null]",
	}, decode(t, Canal, nil, nil, msgs...))
}

func TestCanalFiltersAndMetadata(t *testing.T) {
	opts := map[string]string{"canal-json.database.include": "inv.*", "canal-json.table.include": "products|items"}
	cols := []meta{{"database", str}, {"table", str}, {"sql-type", intMap}, {"pk-names", strArr},
		{"ingestion-timestamp", ltz3}, {"event-timestamp", ltz3}}
	got := decode(t, Canal, opts, cols,
		`{"data":[{"id":1,"name":"a","weight":1}],"database":"inventory","table":"products","type":"INSERT",
		  "pkNames":["id"],"sqlType":{"id":4,"name":12,"weight":3},"ts":1589373560798,"es":1589373560000}`,
		`{"data":[{"id":2}],"database":"other","table":"products","type":"INSERT"}`,
		`{"data":[{"id":3}],"database":"inv","table":"products_2","type":"INSERT"}`,
		`{"data":[{"id":4},{"id":5}],"old":[{"id":40},{"id":50}],"database":"inv","table":"items","type":"UPDATE","ts":1,"pkNames":null}`,
		`{"data":[{"id":6}],"database":"inv","table":"items","type":"INSERT","ts":"soon"}`,
	)
	require.Equal(t, []string{
		"+I[1, a, 1.00, inventory, products, {id=4, name=12, weight=3}, [id], 2020-05-13T12:39:20.798Z, 2020-05-13T12:39:20Z]",
		"-U[40, null, null, inv, items, null, null, 1970-01-01T00:00:00.001Z, null]",
		"+U[4, null, null, inv, items, null, null, 1970-01-01T00:00:00.001Z, null]",
		"-U[50, null, null, inv, items, null, null, 1970-01-01T00:00:00.001Z, null]",
		"+U[5, null, null, inv, items, null, null, 1970-01-01T00:00:00.001Z, null]",
		"error: metadata 'ingestion-timestamp': \"soon\" is not an epoch timestamp",
	}, got)
}

func TestMaxwell(t *testing.T) {
	cols := []meta{{"database", str}, {"table", str}, {"primary-key-columns", strArr}, {"ingestion-timestamp", ltz3}}
	got := decode(t, Maxwell, nil, cols,
		`{"database":"test","table":"e","type":"insert","ts":1477053217,"primary_key_columns":["id"],"data":{"id":111,"name":"scooter","weight":5.15}}`,
		`{"database":"test","table":"e","type":"update","ts":1477053218,"data":{"id":111,"name":"scooter","weight":5.18},"old":{"weight":5.15,"name":null}}`,
		`{"database":"test","table":"e","type":"delete","ts":1477053219,"data":{"id":111,"name":"scooter","weight":5.18}}`,
		`{"database":"test","table":"e","type":"bootstrap-start","ts":1477053219,"data":{}}`,
		`{"database":"test","table":"e","type":"insert","data":null}`,
	)
	require.Equal(t, []string{
		"+I[111, scooter, 5.15, test, e, [id], 2016-10-21T12:33:37Z]",
		"-U[111, null, 5.15, test, e, null, 2016-10-21T12:33:38Z]",
		"+U[111, scooter, 5.18, test, e, null, 2016-10-21T12:33:38Z]",
		"-D[111, scooter, 5.18, test, e, null, 2016-10-21T12:33:39Z]",
		"error: unknown Maxwell event type 'bootstrap-start'",
		"error: Maxwell event of type 'insert' has no \"data\" row",
	}, got)
	// ignore-parse-errors is the caller's (the connector counts the skipped
	// records); the decoder reports every error.
	require.Len(t, decode(t, Maxwell, map[string]string{"maxwell-json.ignore-parse-errors": "true"}, nil, `{`), 1)
}

func TestOgg(t *testing.T) {
	cols := []meta{{"table", str}, {"primary-keys", strArr}, {"ingestion-timestamp", ltz6}, {"event-timestamp", ltz6}}
	got := decode(t, Ogg, nil, cols,
		`{"table":"INV.PRODUCTS","op_type":"I","op_ts":"2020-05-13 15:40:06.000000","current_ts":"2020-05-13T15:40:07.123456","primary_keys":["id"],"before":null,"after":{"id":111,"name":"scooter","weight":5.18}}`,
		`{"table":"INV.PRODUCTS","op_type":"U","before":{"id":111,"name":"scooter","weight":5.18},"after":{"id":111,"name":"scooter","weight":5.15}}`,
		`{"table":"INV.PRODUCTS","op_type":"D","before":{"id":111,"name":"scooter","weight":5.15},"after":null}`,
		`{"table":"INV.PRODUCTS","op_type":"U","after":{"id":111}}`,
		`{"table":"INV.PRODUCTS","op_type":"T"}`,
		`{"table":"INV.PRODUCTS","after":{"id":1}}`,
	)
	require.Equal(t, []string{
		"+I[111, scooter, 5.18, INV.PRODUCTS, [id], 2020-05-13T15:40:07.123456Z, 2020-05-13T15:40:06Z]",
		"-U[111, scooter, 5.18, INV.PRODUCTS, null, null, null]",
		"+U[111, scooter, 5.15, INV.PRODUCTS, null, null, null]",
		"-D[111, scooter, 5.15, INV.PRODUCTS, null, null, null]",
		"error: Ogg update event has no \"before\" row: GoldenGate must write the before images of updates (GETUPDATEBEFORES)",
		"error: unknown Ogg op_type 'T'",
		"error: Ogg event without \"op_type\"",
	}, got)
}

func TestOptionsAndMetadataChecks(t *testing.T) {
	o, err := connector.Parse(optionSet{Canal}, connector.TableInfo{Name: "t", Schema: products,
		Options: map[string]string{"canal-json.table.include": "("}})
	require.NoError(t, err)
	_, err = Canal.ParseConfig(o)
	require.ErrorContains(t, err, "invalid regular expression in 'canal-json.table.include'")
	_, err = connector.Parse(optionSet{Ogg}, connector.TableInfo{Name: "t", Schema: products,
		Options: map[string]string{"ogg-json.database.include": "x"}})
	require.Error(t, err)
	require.ErrorContains(t, Maxwell.CheckMetadata("pk-names", strArr), "no metadata key 'pk-names'")
	require.ErrorContains(t, Canal.CheckMetadata("ingestion-timestamp", str), "'ingestion-timestamp' of format 'canal-json' is TIMESTAMP_LTZ(3)")
	require.NoError(t, Canal.CheckMetadata("event-timestamp", types.TimestampType(3)))
	require.Equal(t, []string{"debezium-json", "canal-json", "maxwell-json", "ogg-json"}, Names())
	require.Same(t, Ogg, Lookup("ogg-json"))
	require.Nil(t, Lookup("json"))
	require.ErrorContains(t, Debezium.CheckEncoding(Config{SchemaInclude: true}), "'debezium-json.schema-include' applies to reading only")
}

func TestEncode(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b, _, err := array.RecordFromJSON(mem, products.Arrow(), strings.NewReader(
		`[{"id":1,"name":"a","weight":"0.01"},{"id":1,"name":"a","weight":"0.01"},{"id":1,"name":"b","weight":"2.50"},{"id":2,"name":null,"weight":null}]`))
	require.NoError(t, err)
	defer b.Release()
	kb := array.NewInt8Builder(mem)
	kb.AppendValues([]int8{int8(connector.Insert), int8(connector.UpdateBefore), int8(connector.UpdateAfter), int8(connector.Delete)}, nil)
	kinds := kb.NewInt8Array()
	kb.Release()
	defer kinds.Release()
	enc := func(f *Format, k *array.Int8) []string {
		e := f.NewEncoder(Config{}, products)
		e.BindKinds(k)
		require.NoError(t, e.Bind(b))
		var out []string
		for i := 0; i < int(b.NumRows()); i++ {
			v, err := e.AppendRow(nil, i)
			require.NoError(t, err)
			out = append(out, string(v))
		}
		return out
	}
	require.Equal(t, []string{
		`{"data":[{"id":1,"name":"a","weight":0.01}],"type":"INSERT"}`,
		`{"data":[{"id":1,"name":"a","weight":0.01}],"type":"DELETE"}`,
		`{"data":[{"id":1,"name":"b","weight":2.50}],"type":"INSERT"}`,
		`{"data":[{"id":2,"name":null,"weight":null}],"type":"DELETE"}`,
	}, enc(Canal, kinds))
	require.Equal(t, []string{
		`{"data":{"id":1,"name":"a","weight":0.01},"type":"insert"}`,
		`{"data":{"id":1,"name":"a","weight":0.01},"type":"delete"}`,
		`{"data":{"id":1,"name":"b","weight":2.50},"type":"insert"}`,
		`{"data":{"id":2,"name":null,"weight":null},"type":"delete"}`,
	}, enc(Maxwell, kinds))
	require.Equal(t, []string{
		`{"before":null,"after":{"id":1,"name":"a","weight":0.01},"op_type":"I"}`,
		`{"before":{"id":1,"name":"a","weight":0.01},"after":null,"op_type":"D"}`,
		`{"before":null,"after":{"id":1,"name":"b","weight":2.50},"op_type":"I"}`,
		`{"before":{"id":2,"name":null,"weight":null},"after":null,"op_type":"D"}`,
	}, enc(Ogg, kinds))
	require.Equal(t, `{"before":{"id":2,"name":null,"weight":null},"after":null,"op":"d"}`, enc(Debezium, kinds)[3])
	// an insert-only stream has no kinds
	require.Equal(t, `{"data":{"id":2,"name":null,"weight":null},"type":"insert"}`, enc(Maxwell, nil)[3])
}

// TestPlainDecimal writes decimals without an exponent under
// encode.decimal-as-plain-number, as BigDecimal.toPlainString.
func TestPlainDecimal(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := types.Schema{Columns: []types.Column{{Name: "d", Type: types.DecimalType(20, 10)}}}
	b, _, err := array.RecordFromJSON(mem, s.Arrow(), strings.NewReader(`[{"d":"0.0000000100"}]`))
	require.NoError(t, err)
	defer b.Release()
	for plain, want := range map[string]string{"false": `{"data":[{"d":1.00E-8}],"type":"INSERT"}`, "true": `{"data":[{"d":0.0000000100}],"type":"INSERT"}`} {
		o, err := connector.Parse(optionSet{Canal}, connector.TableInfo{Name: "t", Schema: s,
			Options: map[string]string{"canal-json.encode.decimal-as-plain-number": plain}})
		require.NoError(t, err)
		cfg, err := Canal.ParseConfig(o)
		require.NoError(t, err)
		e := Canal.NewEncoder(cfg, s)
		require.NoError(t, e.Bind(b))
		v, err := e.AppendRow(nil, 0)
		require.NoError(t, err)
		require.Equal(t, want, string(v))
	}
}

// TestRoundTrip decodes what the encoder wrote, for each format.
func TestRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in, _, err := array.RecordFromJSON(mem, products.Arrow(), strings.NewReader(`[{"id":7,"name":"x\"y","weight":"-3.25"}]`))
	require.NoError(t, err)
	defer in.Release()
	for _, f := range formats {
		e := f.NewEncoder(Config{}, products)
		require.NoError(t, e.Bind(in))
		v, err := e.AppendRow(nil, 0)
		require.NoError(t, err)
		require.Equal(t, []string{`+I[7, x"y, -3.25]`}, decode(t, f, nil, nil, string(v)), f.Name)
	}
}

// BenchmarkDecode decodes Debezium update events (two rows each) of a
// four-column table.
func BenchmarkDecode(b *testing.B) {
	s := types.Schema{Columns: []types.Column{{Name: "id", Type: types.BigIntType}, {Name: "name", Type: types.StringType},
		{Name: "balance", Type: types.BigIntType}, {Name: "region", Type: types.StringType}}}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, s.Arrow())
	defer rb.Release()
	kinds := array.NewInt8Builder(memory.DefaultAllocator)
	defer kinds.Release()
	d, err := Debezium.NewDecoder(Config{}, s, rb, nil)
	require.NoError(b, err)
	msg := []byte(`{"before":{"id":1001,"name":"alice","balance":10,"region":"eu"},"after":{"id":1001,"name":"alice","balance":15,"region":"eu"},` +
		`"source":{"version":"2.5.0","connector":"postgresql","name":"pg","ts_ms":1700000000000,"db":"bank","schema":"public","table":"accounts"},"op":"u","ts_ms":1700000000123}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := d.Decode(msg, kinds); err != nil {
			b.Fatal(err)
		}
		if i%1024 == 1023 {
			rb.NewRecordBatch().Release()
			kinds.NewArray().Release()
		}
	}
}
