package exec

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/connector"
)

var nestedTestType = types.RowType(
	types.Field{Name: "id", Type: types.BigIntType},
	types.Field{Name: "name", Type: types.StringType},
	types.Field{Name: "tags", Type: types.ArrayType(types.IntType)},
	types.Field{Name: "attrs", Type: types.MapType(types.StringType, types.DoubleType)},
	types.Field{Name: "inner", Type: types.RowType(types.Field{Name: "d", Type: types.DecimalType(10, 2)})},
)

// nestedTestArray builds a column of nestedTestType from JSON values.
func nestedTestArray(t *testing.T, mem memory.Allocator, vals ...string) arrow.Array {
	b := array.NewBuilder(mem, nestedTestType.Arrow())
	defer b.Release()
	for _, v := range vals {
		if v == "null" {
			b.AppendNull()
			continue
		}
		require.NoError(t, b.AppendValueFromString(v))
	}
	return b.NewArray()
}

// TestNestedValuesRoundTrip loads nested values into a view, keeps them in
// slots through a snapshot encoding and builds them back: every value
// (NULLs at every level included) survives, and equal values hash equally.
func TestNestedValuesRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	vals := []string{
		`{"id": 1, "name": "a", "tags": [1, 2, null], "attrs": [{"key": "x", "value": 1.5}], "inner": {"d": "12.34"}}`,
		`null`,
		`{"id": null, "name": null, "tags": null, "attrs": null, "inner": null}`,
		`{"id": 2, "name": "", "tags": [], "attrs": [], "inner": {"d": null}}`,
		`{"id": 1, "name": "a", "tags": [1, 2, null], "attrs": [{"key": "x", "value": 1.5}], "inner": {"d": "12.34"}}`,
	}
	in := nestedTestArray(t, mem, vals...)
	defer in.Release()

	var v colView
	require.NoError(t, v.load(in))
	var s slotValues
	s.kind = v.kind
	s.grow(len(vals))
	var w wbuf
	for i := range vals {
		s.setRow(int32(i), &v, i)
		s.encode(&w, int32(i))
	}
	// Restore into fresh slots, then gather and build.
	var restored slotValues
	restored.kind = v.kind
	restored.grow(len(vals))
	r := rbuf{b: w.b}
	for i := range vals {
		restored.decode(&r, int32(i))
	}
	require.NoError(t, r.err)
	var out colView
	restored.gather([]int32{0, 1, 2, 3, 4}, &out)
	got, err := buildArray(mem, in.DataType(), &out, len(vals))
	require.NoError(t, err)
	defer got.Release()
	require.True(t, array.Equal(in, got), "got %v, want %v", got, in)

	hashes := make([]uint64, len(vals))
	require.NoError(t, hashColumn(in, hashes))
	require.Equal(t, hashes[0], hashes[4])
	require.NotEqual(t, hashes[0], hashes[3])
	require.True(t, s.equalSlots(0, 4))
	require.False(t, s.equalSlots(0, 3))
}

// TestJoinNestedColumns joins rows carrying a ROW column through join
// state, with a retraction that must find its stored copy and a snapshot
// and restore in the middle.
func TestJoinNestedColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	left := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "r", Type: nestedTestType}}}
	right := types.Schema{Columns: []types.Column{{Name: "k2", Type: types.BigIntType}}}
	spec := OperatorSpec{
		Kind: KindJoin, Changelog: true,
		Schema: types.Schema{Columns: append(append([]types.Column{}, left.Columns...), right.Columns...)},
		Spec:   json.RawMessage(`{"type": "left", "leftKeys": [0], "rightKeys": [0], "leftChangelog": true}`),
	}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualJoinClock{}}
	op := openOperator(t, spec, ctx)
	var rec joinRecorder

	row := `{"id": 7, "name": "n", "tags": [3], "attrs": [{"key": "k", "value": 2}], "inner": {"d": "1.00"}}`
	lb := array.NewRecordBuilder(mem, BatchSchema(left, true))
	lb.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	require.NoError(t, lb.Field(1).AppendValueFromString(row))
	lb.Field(1).AppendNull()
	lb.Field(2).(*array.Int8Builder).AppendValues([]int8{int8(connector.Insert), int8(connector.Insert)}, nil)
	b := lb.NewRecordBatch()
	require.NoError(t, op.ProcessBatch(0, b, &rec))
	b.Release()

	op = reopen(t, op, spec, ctx)

	rb := array.NewRecordBuilder(mem, BatchSchema(right, false))
	rb.Field(0).(*array.Int64Builder).Append(1)
	b = rb.NewRecordBatch()
	require.NoError(t, op.ProcessBatch(1, b, &rec))
	b.Release()

	// Retract the nested row: the stored copy is found by value.
	lb.Field(0).(*array.Int64Builder).Append(1)
	require.NoError(t, lb.Field(1).AppendValueFromString(row))
	lb.Field(2).(*array.Int8Builder).Append(int8(connector.Delete))
	b = lb.NewRecordBatch()
	require.NoError(t, op.ProcessBatch(0, b, &rec))
	b.Release()
	lb.Release()
	rb.Release()
	require.NoError(t, op.Close())

	r := `{"attrs":[{"key":"k","value":2}],"id":7,"inner":{"d":"1"},"name":"n","tags":[3]}`
	require.Equal(t, strings.Join([]string{
		"+I[1, " + r + ", NULL]",
		"+I[2, NULL, NULL]",
		"-D[1, " + r + ", NULL]",
		"+I[1, " + r + ", 1]",
		"-D[1, " + r + ", 1]",
	}, "\n")+"\n", rec.log.String())
}

// TestChangelogNormalizeNestedColumns keeps rows with nested columns as a
// key's last row: a delete carrying only the key emits the kept nested
// values, also after a snapshot and restore.
func TestChangelogNormalizeNestedColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := types.Schema{Columns: []types.Column{{Name: "k", Type: types.BigIntType}, {Name: "r", Type: nestedTestType}}}
	spec := OperatorSpec{Kind: KindChangelogNormalize, Changelog: true, Schema: schema,
		Spec: json.RawMessage(`{"keys": [0]}`)}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics(), Clock: &manualJoinClock{}}
	op := openOperator(t, spec, ctx)
	var rec joinRecorder
	b := array.NewRecordBuilder(mem, BatchSchema(schema, true))
	defer b.Release()
	feed := func(k int64, row string, kind connector.RowKind) {
		b.Field(0).(*array.Int64Builder).Append(k)
		if row == "null" {
			b.Field(1).AppendNull()
		} else {
			require.NoError(t, b.Field(1).AppendValueFromString(row))
		}
		b.Field(2).(*array.Int8Builder).Append(int8(kind))
		batch := b.NewRecordBatch()
		defer batch.Release()
		require.NoError(t, op.ProcessBatch(0, batch, &rec))
	}
	v1 := `{"id": 1, "name": "a", "tags": [1], "attrs": [], "inner": {"d": "1.50"}}`
	v2 := `{"id": 1, "name": "b", "tags": null, "attrs": [{"key": "x", "value": 1}], "inner": null}`
	feed(1, v1, connector.Insert)
	feed(1, v1, connector.UpdateAfter)
	op = reopen(t, op, spec, ctx)
	feed(1, v2, connector.UpdateAfter)
	feed(1, "null", connector.Delete)
	require.NoError(t, op.Close())

	r1 := `{"attrs":[],"id":1,"inner":{"d":"1.5"},"name":"a","tags":[1]}`
	r2 := `{"attrs":[{"key":"x","value":1}],"id":1,"inner":null,"name":"b","tags":null}`
	require.Equal(t, strings.Join([]string{
		"+I[1, " + r1 + "]",
		"-U[1, " + r1 + "]",
		"+U[1, " + r2 + "]",
		"-D[1, " + r2 + "]",
	}, "\n")+"\n", rec.log.String())
}
