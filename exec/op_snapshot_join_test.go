package exec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// rowsOutput prints insert-only batches one row a line.
type rowsOutput struct{ log strings.Builder }

func (o *rowsOutput) Emit(b arrow.RecordBatch) error {
	for i := 0; i < int(b.NumRows()); i++ {
		o.log.WriteString("[")
		for c := 0; c < int(b.NumCols()); c++ {
			if c > 0 {
				o.log.WriteString(", ")
			}
			if b.Column(c).IsNull(i) {
				o.log.WriteString("null")
			} else {
				o.log.WriteString(b.Column(c).ValueStr(i))
			}
		}
		o.log.WriteString("]\n")
	}
	return nil
}

func (o *rowsOutput) EmitWatermark(wm Watermark) error {
	fmt.Fprintf(&o.log, "watermark %s\n", fmtWM(wm))
	return nil
}

var (
	snapProbe = types.Schema{Columns: []types.Column{{Name: "pk", Type: types.StringType}, {Name: "pv", Type: types.BigIntType}}}
	snapBuild = types.Schema{Columns: []types.Column{{Name: "bk", Type: types.StringType}, {Name: "bv", Type: types.BigIntType}}}
)

// snapBatch builds a batch of (key, value) rows; kinds, when given, adds
// the row kind column.
func snapBatch(mem memory.Allocator, s types.Schema, keys []string, vals []int64, kinds []int8) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, BatchSchema(s, kinds != nil))
	defer b.Release()
	for i, k := range keys {
		if k == "" {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(k)
		}
		b.Field(1).(*array.Int64Builder).Append(vals[i])
		if kinds != nil {
			b.Field(2).(*array.Int8Builder).Append(kinds[i])
		}
	}
	return b.NewRecordBatch()
}

// leftSnapshotJoinSpec is a left snapshot join of snapProbe (pk, pv) with
// a changelog build side (bk, bv) on pk = bk AND pv < bv, whose build
// side is loaded at watermark 10.
func leftSnapshotJoinSpec(t *testing.T) OperatorSpec {
	str, big := types.StringType, types.BigIntType
	out := types.Schema{Columns: append(append([]types.Column(nil), snapProbe.Columns...),
		types.Column{Name: "bk", Type: str}, types.Column{Name: "bv", Type: big})}
	eq, err := expr.Resolve("=", []expr.Expr{&expr.ColumnRef{Index: 0, T: str}, &expr.ColumnRef{Index: 2, T: str}})
	require.NoError(t, err)
	lt, err := expr.Resolve("<", []expr.Expr{&expr.ColumnRef{Index: 1, T: big}, &expr.ColumnRef{Index: 3, T: big}})
	require.NoError(t, err)
	cond, err := expr.Resolve("AND", []expr.Expr{eq, lt})
	require.NoError(t, err)
	return OperatorSpec{Kind: KindSnapshotJoin, Schema: out, Spec: mustJSON(t, SnapshotJoinSpec{
		Type: "left", ProbeKeys: []int{0}, BuildKeys: []int{0}, Condition: marshal(t, cond),
		ProbeWidth: 2, BuildChangelog: true, LoadCompletedMillis: 10,
	})}
}

// TestSnapshotJoin runs a left snapshot join on pk = bk AND pv < bv:
// probe rows wait for the build's load (watermark 10), a snapshot is
// taken and restored while they wait, the build changes before and after
// the load, and results are never retracted.
func TestSnapshotJoin(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	spec := leftSnapshotJoinSpec(t)
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	var o rowsOutput
	feed := func(op Operator, input int, s types.Schema, keys []string, vals []int64, kinds []int8) {
		b := snapBatch(mem, s, keys, vals, kinds)
		defer b.Release()
		require.NoError(t, op.ProcessBatch(input, b, &o))
	}
	op := openOperator(t, spec, ctx)
	feed(op, 0, snapProbe, []string{"a", "b", ""}, []int64{1, 2, 3}, nil)
	require.NoError(t, op.ProcessWatermark(0, 7, &o))
	feed(op, 1, snapBuild, []string{"a", "b", "a"}, []int64{10, 20, 11}, []int8{0, 0, 0})
	require.Empty(t, o.log.String(), "probe rows wait for the load")
	// The state size: 3 waiting probe rows (STRING, BIGINT: 16+8 bytes)
	// and 3 build rows (24, with the alive flag, row hash and index
	// entry: 37); it survives the restore.
	const probeRow, buildRow = 24, 24 + 1 + 8 + 4
	require.Equal(t, int64(3*probeRow+3*buildRow), op.(StateSizer).StateBytes())

	op = reopen(t, op, spec, ctx)
	defer op.Close()
	require.Equal(t, int64(3*probeRow+3*buildRow), op.(StateSizer).StateBytes())

	// Before the load completes, a(10) is replaced by a(12).
	feed(op, 1, snapBuild, []string{"a", "a"}, []int64{10, 12}, []int8{1, 2})
	require.NoError(t, op.ProcessWatermark(1, 9, &o))
	require.Empty(t, o.log.String())
	require.NoError(t, op.ProcessWatermark(1, 10, &o))
	// The load frees the waiting probe rows and compacts the build rows
	// (a(10) is gone) into one indexed segment: keys a and b.
	require.Equal(t, int64(3*buildRow+2*(8+24)), op.(StateSizer).StateBytes())
	// After it, b(20) goes away: later probe rows no longer see it, the
	// results already emitted stay.
	feed(op, 1, snapBuild, []string{"b"}, []int64{20}, []int8{3})
	feed(op, 0, snapProbe, []string{"a", "b"}, []int64{11, 4}, nil)
	require.NoError(t, op.ProcessWatermark(0, 12, &o))
	require.NoError(t, op.EndInput(1, &o))
	require.NoError(t, op.EndInput(0, &o))
	require.Equal(t, ""+
		"[a, 1, a, 11]\n"+
		"[a, 1, a, 12]\n"+
		"[b, 2, b, 20]\n"+
		"[null, 3, null, null]\n"+
		"watermark 7\n"+
		"[a, 11, a, 12]\n"+
		"[b, 4, null, null]\n"+
		"watermark 12\n", o.log.String())
}
