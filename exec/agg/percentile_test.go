package agg

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestPercentile checks PERCENTILE's interpolation with one and several
// percentages and a frequency, retraction, and a snapshot restored in the
// middle continuing as the original.
func TestPercentile(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	listT := types.ArrayType(types.DoubleType)
	in := []arrow.DataType{arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float64, listT.Arrow(), arrow.PrimitiveTypes.Int64}
	// batch builds rows (value, 0.5, [0.25, 0.75], frequency); a negative
	// value stands for NULL.
	batch := func(vals []int32, freq []int64) arrow.RecordBatch {
		fields := []arrow.Field{{Name: "v", Type: in[0], Nullable: true}, {Name: "p", Type: in[1]},
			{Name: "ps", Type: in[2]}, {Name: "f", Type: in[3], Nullable: true}}
		b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
		defer b.Release()
		for i, v := range vals {
			if v < 0 {
				b.Field(0).AppendNull()
			} else {
				b.Field(0).(*array.Int32Builder).Append(v)
			}
			b.Field(1).(*array.Float64Builder).Append(0.5)
			lb := b.Field(2).(*array.ListBuilder)
			lb.Append(true)
			lb.ValueBuilder().(*array.Float64Builder).AppendValues([]float64{0.25, 0.75}, nil)
			b.Field(3).(*array.Int64Builder).Append(freq[i])
		}
		return b.NewRecordBatch()
	}
	run := func(st *State, b arrow.RecordBatch, slots []int32, retract []bool) string {
		st.Update(b, slots, retract)
		rows := make([]int32, len(slots))
		for i := range rows {
			rows[i] = int32(i)
		}
		col := st.Build(mem, rows, make([]bool, len(rows)))
		defer col.Release()
		out := make([]string, col.Len())
		for i := range out {
			out[i] = col.ValueStr(i)
		}
		return strings.Join(out, " | ")
	}
	b1 := batch([]int32{10, 20, -1, 30, 40}, []int64{1, 1, 1, 1, 1})
	defer b1.Release()
	b2 := batch([]int32{10, 50, 20}, []int64{1, 2, 0})
	defer b2.Release()
	slots1, slots2 := []int32{0, 0, 0, 0, 1}, []int32{0, 0, 1}
	retract2 := []bool{true, false, false}
	for _, tc := range []struct {
		name        string
		args        []int
		first, then string
	}{
		{"single", []int{0, 1}, `10 | 15 | 15 | 20 | 40`, `25 | 30 | 30`},
		{"multi", []int{0, 2}, `[10,10] | [12.5,17.5] | [12.5,17.5] | [15,25] | [40,40]`, `[22.5,27.5] | [25,40] | [25,35]`},
		{"frequency", []int{0, 1, 3}, `10 | 15 | 15 | 20 | 40`, `25 | 40 | 40`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]types.DataType, len(tc.args))
			for i, a := range tc.args {
				args[i] = []types.DataType{types.IntType, types.DoubleType, listT, types.BigIntType}[a]
			}
			rt, err := ResultType("PERCENTILE", args)
			require.NoError(t, err)
			call := Call{Func: "PERCENTILE", Args: tc.args, Filter: -1, Type: rt}
			st, err := NewState(call, in, true)
			require.NoError(t, err)
			st.Grow(2)
			require.Equal(t, tc.first, run(st, b1, slots1, make([]bool, len(slots1))))

			restored, err := NewState(call, in, true)
			require.NoError(t, err)
			restored.Grow(2)
			for s := int32(0); s < 2; s++ {
				rest, err := restored.ReadState(st.AppendState(nil, s), s)
				require.NoError(t, err)
				require.Empty(t, rest)
			}
			require.Equal(t, tc.then, run(st, b2, slots2, retract2))
			require.Equal(t, tc.then, run(restored, b2, slots2, retract2))
		})
	}
}

// TestPercentileOutOfRange: a percentage outside [0, 1] fails, as in Flink,
// and the group's result stays NULL.
func TestPercentileOutOfRange(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := []arrow.DataType{arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Float64}
	fields := []arrow.Field{{Name: "v", Type: in[0]}, {Name: "p", Type: in[1]}}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	b.Field(0).(*array.Int32Builder).AppendValues([]int32{1, 2}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{1.5, 1.5}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	rt, err := ResultType("PERCENTILE", []types.DataType{types.IntType, types.DoubleType})
	require.NoError(t, err)
	st, err := NewState(Call{Func: "PERCENTILE", Args: []int{0, 1}, Filter: -1, Type: rt}, in, true)
	require.NoError(t, err)
	st.Grow(1)
	st.Update(rec, []int32{0, 0}, []bool{false, false})
	require.EqualError(t, st.Err(), "percentage of PERCENTILE must be between 0.0 and 1.0, got 1.5")
	col := st.Build(mem, []int32{1}, []bool{false})
	defer col.Release()
	require.True(t, col.IsNull(0))
}
