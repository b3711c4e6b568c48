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
	"github.com/eddysql/eddy/exec/expr"
)

// TestExpand feeds a changelog batch of two rows to a split distinct
// aggregate's Expand (a bucket of column v, one projection for the
// distinct argument and one for the other calls): each projection is
// emitted as its own batch, in order, with the rows' kinds; equal values
// share a bucket, and a NULL value has one too.
func TestExpand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{{Name: "k", Type: types.StringType}, {Name: "v", Type: types.BigIntType}}}
	bucket := types.IntType.WithNullable(false)
	k := &expr.ColumnRef{Index: 0, Name: "k", T: types.StringType}
	v := &expr.ColumnRef{Index: 1, Name: "v", T: types.BigIntType}
	b := &expr.ColumnRef{Index: 2, Name: "$b_0", T: bucket}
	flag := func(on bool) expr.Expr { return expr.NewLiteral(on, types.BooleanType.WithNullable(false)) }
	projs := [][]expr.Expr{
		{k, v, b, flag(true), flag(false)},
		{k, v, expr.NewLiteral(nil, bucket), flag(false), flag(true)},
	}
	s := ExpandSpec{Buckets: []ExpandBucket{{Col: 1, Num: 4}}}
	for _, p := range projs {
		var raws []json.RawMessage
		for _, e := range p {
			raws = append(raws, marshal(t, e))
		}
		s.Projections = append(s.Projections, raws)
	}
	out := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.StringType}, {Name: "v", Type: types.BigIntType}, {Name: "$b_0", Type: bucket.WithNullable(true)},
		{Name: "$g_0", Type: types.BooleanType}, {Name: "$g_1", Type: types.BooleanType},
	}}
	octx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	spec := OperatorSpec{Kind: KindExpand, Schema: out, Changelog: true, Spec: mustJSON(t, s)}
	op, err := newExpand(spec, octx)
	require.NoError(t, err)
	require.NoError(t, op.Open(octx))
	defer op.Close()

	bld := array.NewRecordBuilder(mem, BatchSchema(in, true))
	defer bld.Release()
	bld.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	bld.Field(1).(*array.Int64Builder).AppendValues([]int64{7, 7, 0}, []bool{true, true, false})
	bld.Field(2).(*array.Int8Builder).AppendValues([]int8{int8(connector.Insert), int8(connector.Delete), int8(connector.Insert)}, nil)
	batch := bld.NewRecordBatch()
	defer batch.Release()

	var got []string
	rec := &batchLog{emit: func(rows []string) { got = append(got, rows...) }}
	require.NoError(t, op.ProcessBatch(0, batch, rec))
	require.Equal(t, 2, rec.batches, "one batch per projection")
	// The bucket of 7 and of NULL, as the operator computes them.
	h := make([]uint64, 3)
	for i := range h {
		h[i] = hashSeed
	}
	require.NoError(t, hashColumn(batch.Column(1), h))
	b7, bNull := fmtInt(int64(h[0]%4)), fmtInt(int64(h[2]%4))
	require.Equal(t, []string{
		"[a, 7, " + b7 + ", true, false, 0]",
		"[b, 7, " + b7 + ", true, false, 3]",
		"[c, null, " + bNull + ", true, false, 0]",
		"[a, 7, null, false, true, 0]",
		"[b, 7, null, false, true, 3]",
		"[c, null, null, false, true, 0]",
	}, got)

	_, err = newExpand(OperatorSpec{Kind: KindExpand, Schema: out, Spec: mustJSON(t, ExpandSpec{})}, octx)
	require.ErrorContains(t, err, "no projections")
}

func fmtInt(v int64) string { return expr.NewLiteral(v, types.BigIntType).String() }

// batchLog renders every emitted row as [v, ...] with its row kind column
// as a number, and counts the batches.
type batchLog struct {
	batches int
	emit    func(rows []string)
}

func (o *batchLog) Emit(b arrow.RecordBatch) error {
	o.batches++
	var rows rowsOutput
	if err := rows.Emit(b); err != nil {
		return err
	}
	o.emit(strings.Split(strings.TrimSuffix(rows.log.String(), "\n"), "\n"))
	return nil
}

func (o *batchLog) EmitWatermark(Watermark) error { return nil }
