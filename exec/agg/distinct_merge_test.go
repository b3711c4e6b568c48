package agg

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestGroupAccumulatorsDistinct checks which DISTINCT calls split into
// local and global phases: those whose function merges without DISTINCT
// and does not depend on the order of its values.
func TestGroupAccumulatorsDistinct(t *testing.T) {
	long := types.BigIntType
	for _, tc := range []struct {
		fn   string
		arg  types.DataType
		want bool
	}{
		{"COUNT", long, true},
		{"SUM", types.DecimalType(10, 2), true},
		{"MAX", types.StringType, true},
		{"STDDEV_POP", types.DoubleType, true},
		{"LISTAGG", types.StringType, false},
		{"FIRST_VALUE", long, false},
	} {
		rt, err := ResultType(tc.fn, []types.DataType{tc.arg})
		require.NoError(t, err)
		call := Call{Func: tc.fn, Args: []int{0}, Distinct: true, Filter: -1, Type: rt}
		for _, retract := range []bool{false, true} {
			fields, ok := GroupAccumulators(call, []types.DataType{tc.arg}, retract)
			require.Equal(t, tc.want, ok, "%s retract=%v", call, retract)
			if ok {
				require.Equal(t, []AccField{
					{"distinct", types.ArrayType(tc.arg.WithNullable(false))},
					{"distinctcount", types.ArrayType(types.BigIntType.WithNullable(false))},
				}, fields)
			}
		}
	}
}

// TestDistinctViewRoundTrip accumulates rows of two groups into the local
// views of COUNT(DISTINCT) and SUM(DISTINCT) FILTER over one argument
// (sharing one view), drains them, and merges them into global states
// that already hold values: a value enters the accumulator only when its
// count leaves 0, and leaves it when its count returns to 0.
func TestDistinctViewRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	input := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.FixedWidthTypes.Boolean}
	count := Call{Func: "COUNT", Args: []int{0}, Distinct: true, Filter: -1, Type: types.BigIntType.WithNullable(false)}
	sum := Call{Func: "SUM", Args: []int{0}, Distinct: true, Filter: 1, Type: types.BigIntType}
	batch := func(vals []int64, pass []bool) arrow.RecordBatch {
		vb, pb := array.NewInt64Builder(mem), array.NewBooleanBuilder(mem)
		defer vb.Release()
		defer pb.Release()
		vb.AppendValues(vals, nil)
		pb.AppendValues(pass, nil)
		v, p := vb.NewArray(), pb.NewArray()
		defer v.Release()
		defer p.Release()
		schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: input[0]}, {Name: "p", Type: input[1]}}, nil)
		return array.NewRecordBatch(schema, []arrow.Array{v, p}, int64(len(vals)))
	}

	// Local: group 0 adds 1, 2, 2 and retracts 3 (which an earlier bundle
	// added); group 1 adds 5 and retracts it again.
	b := batch([]int64{1, 2, 2, 3, 5, 5}, []bool{true, false, true, true, true, true})
	defer b.Release()
	local := make([]*State, 2)
	for i, c := range []Call{count, sum} {
		var err error
		local[i], err = NewLocalState(c, input, true)
		require.NoError(t, err)
	}
	require.NoError(t, ShareDistinct(local, b))
	require.Same(t, local[0].view, local[1].view)
	for _, s := range local {
		s.Grow(2)
	}
	slots := []int32{0, 0, 0, 0, 1, 1}
	retract := []bool{false, false, false, true, false, true}
	for _, s := range local {
		s.Accumulate(b, slots, retract)
	}
	fields, _ := GroupAccumulators(count, []types.DataType{types.BigIntType}, true)
	dts := []arrow.DataType{fields[0].Type.Arrow(), fields[1].Type.Arrow()}
	accs := make([]arrow.Array, 4)
	for i, s := range local {
		require.NoError(t, s.Drain(mem, dts, []int32{0, 1}, accs[2*i:2*i+2]))
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "cv", Type: dts[0]}, {Name: "cc", Type: dts[1]},
		{Name: "sv", Type: dts[0]}, {Name: "sc", Type: dts[1]}}, nil)
	views := array.NewRecordBatch(schema, accs, 2)
	for _, a := range accs {
		a.Release()
	}
	defer views.Release()
	require.Equal(t, "[1:1 2:2 3:-1] []", viewString(views.Column(0), views.Column(1)))
	require.Equal(t, "[1:1 2:1 3:-1] []", viewString(views.Column(2), views.Column(3)), "the filter keeps one 2 out")

	// Global: group 0 holds 3 and 7 for both calls before the merge.
	global := make([]*State, 2)
	for i, c := range []Call{count, sum} {
		gc := c
		gc.Filter, gc.Args = -1, []int{2 * i, 2*i + 1}
		var err error
		global[i], err = NewMergeState(gc, input[:1], true)
		require.NoError(t, err)
		global[i].Grow(2)
	}
	pre := batch([]int64{3, 7}, []bool{true, true})
	defer pre.Release()
	for _, s := range global {
		one, err := NewState(Call{Func: s.call.Func, Args: []int{0}, Distinct: true, Filter: -1, Type: s.call.Type}, input, true)
		require.NoError(t, err)
		one.Grow(2)
		one.Update(pre, []int32{0, 0}, []bool{false, false})
		_, err = s.ReadState(one.AppendState(nil, 0), 0)
		require.NoError(t, err)
	}
	for _, s := range global {
		require.NoError(t, s.MergeGroup(mem, views, []int32{0, 1}))
	}
	// Group 0's set {3, 7} becomes {1, 2, 7}: 3 left, 1 and 2 entered;
	// group 1 stays empty. Results before and after each row.
	for i, want := range []string{"[2 3 0 0]", "[10 10 (null) (null)]"} {
		res := global[i].Build(mem, []int32{0, 0, 1, 1}, []bool{true, false, true, false})
		require.Equal(t, want, res.String())
		res.Release()
	}
}

// viewString prints a view's values with their counts in value order
// (views ship them in hash order), one list per row.
func viewString(vals, cnts arrow.Array) string {
	vl, cl := vals.(*array.List), cnts.(*array.List)
	v, c := vl.ListValues().(*array.Int64).Int64Values(), cl.ListValues().(*array.Int64).Int64Values()
	var rows []string
	for i := range vl.Len() {
		var pairs []string
		idx := make([]int, 0)
		for j := vl.Offsets()[i]; j < vl.Offsets()[i+1]; j++ {
			idx = append(idx, int(j))
		}
		sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
		for _, j := range idx {
			pairs = append(pairs, fmt.Sprintf("%d:%d", v[j], c[j-int(vl.Offsets()[i])+int(cl.Offsets()[i])]))
		}
		rows = append(rows, "["+strings.Join(pairs, " ")+"]")
	}
	return strings.Join(rows, " ")
}
