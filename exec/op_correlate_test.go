package exec

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

var (
	unnestRow   = types.RowType(types.Field{Name: "a", Type: types.BigIntType}, types.Field{Name: "s", Type: types.StringType})
	unnestInput = types.Schema{Columns: []types.Column{
		{Name: "id", Type: types.BigIntType},
		{Name: "arr", Type: types.ArrayType(unnestRow)},
		{Name: "m", Type: types.MapType(types.StringType, types.IntType)},
	}}
)

// unnestBatch builds a changelog batch of unnestInput: row 0 has two
// elements (the second a NULL row), row 1 an empty array, row 2 a NULL
// array, row 3 one element; the maps have 2, 0, 1, 0 entries.
func unnestBatch(mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, BatchSchema(unnestInput, true))
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	arr := b.Field(1).(*array.ListBuilder)
	st := arr.ValueBuilder().(*array.StructBuilder)
	m, entries, keys, items := types.MapBuilders(b.Field(2))
	kinds := b.Field(3).(*array.Int8Builder)
	elem := func(a int64, s string) {
		st.Append(true)
		st.FieldBuilder(0).(*array.Int64Builder).Append(a)
		st.FieldBuilder(1).(*array.StringBuilder).Append(s)
	}
	entry := func(k string, v int32) {
		entries.Append(true)
		keys.(*array.StringBuilder).Append(k)
		items.(*array.Int32Builder).Append(v)
	}
	// Row 0.
	ids.Append(0)
	arr.Append(true)
	elem(1, "x")
	st.AppendNull()
	m.Append(true)
	entry("k1", 10)
	entry("k2", 20)
	kinds.Append(0)
	// Row 1: empty.
	ids.Append(1)
	arr.Append(true)
	m.Append(true)
	kinds.Append(0)
	// Row 2: NULL array.
	ids.Append(2)
	arr.AppendNull()
	m.Append(true)
	entry("k3", 30)
	kinds.Append(3)
	// Row 3.
	ids.Append(3)
	arr.Append(true)
	elem(4, "y")
	m.AppendNull()
	kinds.Append(1)
	return b.NewRecordBatch()
}

func runCorrelate(t *testing.T, coll int, left, ordinality, restore bool) string {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	arg := &types.Column{}
	*arg = unnestInput.Columns[coll]
	var elems []types.Column
	if arg.Type.Kind == types.Map {
		elems = []types.Column{{Name: "k", Type: types.StringType}, {Name: "v", Type: types.IntType}}
	} else {
		elems = []types.Column{{Name: "a", Type: types.BigIntType}, {Name: "s", Type: types.StringType}}
	}
	if ordinality {
		elems = append(elems, types.Column{Name: "ORDINALITY", Type: types.IntType.WithNullable(false)})
	}
	out := types.Schema{Columns: append(append([]types.Column(nil), unnestInput.Columns...), elems...)}
	ref := col(coll)
	ref.T = arg.Type
	spec := OperatorSpec{Kind: KindCorrelate, Schema: out, Changelog: true,
		Spec: mustJSON(t, CorrelateSpec{Collection: marshal(t, ref), Left: left, Ordinality: ordinality})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	op := openOperator(t, spec, ctx)
	defer func() { op.Close() }()
	rec := unnestBatch(mem)
	defer rec.Release()
	var o gaOutput
	// The batch goes in as two slices, so offsets into shared buffers are
	// exercised; with restore, a fresh instance restored from the first
	// one's snapshot takes the second slice.
	first := rec.NewSlice(0, 1)
	require.NoError(t, op.ProcessBatch(0, first, &o))
	first.Release()
	if restore {
		op = reopen(t, op, spec, ctx)
	}
	rest := rec.NewSlice(1, rec.NumRows())
	require.NoError(t, op.ProcessBatch(0, rest, &o))
	rest.Release()
	require.NoError(t, op.ProcessWatermark(0, 42, &o))
	return o.log.String()
}

func TestCorrelateUnnestArrayOfRows(t *testing.T) {
	require.Equal(t, ""+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], 1, x]\n"+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], null, null]\n"+
		"-U[3, [{\"a\":4,\"s\":\"y\"}], null, 4, y]\n"+
		"watermark 42\n", runCorrelate(t, 1, false, false, false))
}

func TestCorrelateLeftUnnest(t *testing.T) {
	require.Equal(t, ""+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], 1, x]\n"+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], null, null]\n"+
		"+I[1, [], [], null, null]\n"+
		"-D[2, null, [{\"key\":\"k3\",\"value\":30}], null, null]\n"+
		"-U[3, [{\"a\":4,\"s\":\"y\"}], null, 4, y]\n"+
		"watermark 42\n", runCorrelate(t, 1, true, false, true))
}

func TestCorrelateUnnestMap(t *testing.T) {
	require.Equal(t, ""+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], k1, 10]\n"+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], k2, 20]\n"+
		"-D[2, null, [{\"key\":\"k3\",\"value\":30}], k3, 30]\n"+
		"watermark 42\n", runCorrelate(t, 2, false, false, true))
}

func TestCorrelateLeftUnnestWithOrdinality(t *testing.T) {
	require.Equal(t, ""+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], k1, 10, 1]\n"+
		"+I[0, [{\"a\":1,\"s\":\"x\"},null], [{\"key\":\"k1\",\"value\":10},{\"key\":\"k2\",\"value\":20}], k2, 20, 2]\n"+
		"+I[1, [], [], null, null, null]\n"+
		"-D[2, null, [{\"key\":\"k3\",\"value\":30}], k3, 30, 1]\n"+
		"-U[3, [{\"a\":4,\"s\":\"y\"}], null, null, null, null]\n"+
		"watermark 42\n", runCorrelate(t, 2, true, true, true))
}
