package avro

import (
	"encoding/binary"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

var debeziumRows = types.Schema{Columns: []types.Column{
	{Name: "id", Type: types.BigIntType}, {Name: "name", Type: types.StringType},
}}

// TestDebeziumEncodeDecode encodes a changelog with DebeziumEncoder and
// decodes it with DebeziumDecoder: +I and +U come back as +I ('c'
// events), -U and -D as -D ('d' events), as in Flink.
func TestDebeziumEncodeDecode(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	r, err := NewRegistry(reg.URL(), "")
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	enc, err := NewDebeziumEncoder(r, "t-value", debeziumRows, "")
	require.NoError(t, err)
	in := array.NewRecordBuilder(mem, debeziumRows.Arrow())
	defer in.Release()
	in.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 1, 1, 2}, nil)
	in.Field(1).(*array.StringBuilder).AppendValues([]string{"a", "a", "b", ""}, []bool{true, true, true, false})
	batch := in.NewRecordBatch()
	defer batch.Release()
	kb := array.NewInt8Builder(mem)
	kb.AppendValues([]int8{int8(connector.Insert), int8(connector.UpdateBefore), int8(connector.UpdateAfter), int8(connector.Delete)}, nil)
	kinds := kb.NewInt8Array()
	kb.Release()
	defer kinds.Release()
	enc.BindKinds(kinds)
	require.NoError(t, enc.Bind(batch))

	out := array.NewRecordBuilder(mem, debeziumRows.Arrow())
	defer out.Release()
	dec, err := NewDebeziumDecoder(r, debeziumRows, nil, out, "")
	require.NoError(t, err)
	ob := array.NewInt8Builder(mem)
	defer ob.Release()
	for i := range int(batch.NumRows()) {
		msg, err := enc.AppendRow(nil, i)
		require.NoError(t, err)
		n, err := dec.Decode(msg, ob)
		require.NoError(t, err)
		require.Equal(t, 1, n)
	}
	n, err := dec.Decode(nil, ob)
	require.NoError(t, err)
	require.Zero(t, n, "a tombstone makes no row")
	got := out.NewRecordBatch()
	defer got.Release()
	gotKinds := ob.NewInt8Array()
	defer gotKinds.Release()
	require.Equal(t, []int64{1, 1, 1, 2}, got.Column(0).(*array.Int64).Int64Values())
	require.Equal(t, `["a" "a" "b" (null)]`, got.Column(1).String())
	require.Equal(t, []int8{int8(connector.Insert), int8(connector.Delete), int8(connector.Insert), int8(connector.Delete)}, gotKinds.Int8Values())
}

// TestDebeziumDecodeErrors: malformed events append nothing and say why.
func TestDebeziumDecodeErrors(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	r, err := NewRegistry(reg.URL(), "")
	require.NoError(t, err)
	row := `{"type":"record","name":"Value","fields":[{"name":"id","type":"long"},{"name":"name","type":["null","string"]}]}`
	noOp := `{"type":"record","name":"Envelope","fields":[{"name":"before","type":["null",` + row + `]},{"name":"after","type":["null","Value"]}]}`
	withOp := `{"type":"record","name":"Envelope","fields":[{"name":"before","type":["null",` + row + `]},{"name":"after","type":["null","Value"]},{"name":"op","type":"string"}]}`
	frame := func(schema string, v map[string]any) []byte {
		id, _, err := reg.RegisterSchema("s", sr.Schema{Schema: schema, Type: sr.TypeAvro})
		require.NoError(t, err)
		b := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[1:], uint32(id))
		b, err = avro.MustParse(schema).AppendEncode(b, v)
		require.NoError(t, err)
		return b
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := array.NewRecordBuilder(mem, debeziumRows.Arrow())
	defer out.Release()
	kinds := array.NewInt8Builder(mem)
	defer kinds.Release()
	dec, err := NewDebeziumDecoder(r, debeziumRows, nil, out, "")
	require.NoError(t, err)
	a := map[string]any{"id": int64(1), "name": "a"}
	for _, tc := range []struct {
		msg []byte
		err string
	}{
		{frame(noOp, map[string]any{"before": nil, "after": a}), `a Debezium Avro event without an "op"`},
		{frame(withOp, map[string]any{"before": nil, "after": nil, "op": "c"}), `the "after" field of a Debezium Avro event of op 'c' is null`},
		{frame(withOp, map[string]any{"before": nil, "after": a, "op": "d"}), `the "before" field of a Debezium Avro event of op 'd' is null`},
		{frame(withOp, map[string]any{"before": a, "after": nil, "op": "u"}), `the "after" field of a Debezium Avro event of op 'u' is null`},
		{[]byte{0, 0, 0, 0}, "not a Confluent Avro record"},
		{[]byte{0, 0, 0, 0, 99}, "schema id 99"},
	} {
		n, err := dec.Decode(tc.msg, kinds)
		require.ErrorContains(t, err, tc.err)
		require.Zero(t, n)
	}
	require.Zero(t, out.Field(0).Len())
	require.Zero(t, kinds.Len())
}

// TestDebeziumDecodeAllocs measures the allocations of decoding an update
// event (two rows), which the generic map decoding of the envelope and its
// row images dominates.
func TestDebeziumDecodeAllocs(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	r, err := NewRegistry(reg.URL(), "")
	require.NoError(t, err)
	text, err := DebeziumSchemaFor(debeziumRows)
	require.NoError(t, err)
	prefix, err := r.register("s", text)
	require.NoError(t, err)
	row := map[string]any{"id": int64(1), "name": "a"}
	msg, err := avro.MustParse(text).AppendEncode(prefix, map[string]any{"before": row, "after": row, "op": "u"})
	require.NoError(t, err)
	out := array.NewRecordBuilder(memory.DefaultAllocator, debeziumRows.Arrow())
	defer out.Release()
	kinds := array.NewInt8Builder(memory.DefaultAllocator)
	defer kinds.Release()
	dec, err := NewDebeziumDecoder(r, debeziumRows, nil, out, "")
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := dec.Decode(msg, kinds); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per update event", allocs)
	require.Less(t, allocs, 20.0)
}

// TestDebeziumExplicitSchema: the schema option replaces the derived
// envelope when it has its shape (here with Debezium's names, a named row
// type referenced by "after", and [T, null] unions), is registered as
// written, and is the reader schema; another shape is rejected with
// Flink's message.
func TestDebeziumExplicitSchema(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	r, err := NewRegistry(reg.URL(), "")
	require.NoError(t, err)
	explicit := `["null",{"type":"record","name":"Envelope","namespace":"shop.public.t","fields":[
	  {"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":["long","null"]},{"name":"name","type":["null","string"]}]}]},
	  {"name":"after","type":["null","Value"]},
	  {"name":"op","type":["null","string"]}]}]`
	require.NoError(t, CheckDebeziumSchema(debeziumRows, explicit))
	for _, bad := range []string{
		`{"type":"record","name":"Envelope","fields":[{"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":["null","long"]},{"name":"name","type":["null","string"]}]}]},{"name":"after","type":["null","Value"]},{"name":"op","type":["null","string"]}]}`,
		`["null",{"type":"record","name":"Envelope","fields":[{"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":["null","int"]},{"name":"name","type":["null","string"]}]}]},{"name":"after","type":["null","Value"]},{"name":"op","type":["null","string"]}]}]`,
	} {
		require.ErrorContains(t, CheckDebeziumSchema(debeziumRows, bad), "schema provided for 'debezium-avro-confluent' format must be a nullable record type")
	}
	require.ErrorContains(t, CheckDebeziumSchema(debeziumRows, "{"), "option 'debezium-avro-confluent.schema'")

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	enc, err := NewDebeziumEncoder(r, "t-value", debeziumRows, explicit)
	require.NoError(t, err)
	got, err := r.cl.SchemaByVersion(t.Context(), "t-value", -1)
	require.NoError(t, err)
	require.Equal(t, explicit, got.Schema.Schema)
	in := array.NewRecordBuilder(mem, debeziumRows.Arrow())
	defer in.Release()
	in.Field(0).(*array.Int64Builder).Append(7)
	in.Field(1).(*array.StringBuilder).Append("x")
	b := in.NewRecordBatch()
	defer b.Release()
	require.NoError(t, enc.Bind(b))
	msg, err := enc.AppendRow(nil, 0)
	require.NoError(t, err)

	out := array.NewRecordBuilder(mem, debeziumRows.Arrow())
	defer out.Release()
	kinds := array.NewInt8Builder(mem)
	defer kinds.Release()
	dec, err := NewDebeziumDecoder(r, debeziumRows, nil, out, explicit)
	require.NoError(t, err)
	n, err := dec.Decode(msg, kinds)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rb := out.NewRecordBatch()
	defer rb.Release()
	require.Equal(t, int64(7), rb.Column(0).(*array.Int64).Value(0))
	require.Equal(t, "x", rb.Column(1).(*array.String).Value(0))
}
