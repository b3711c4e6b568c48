package exec

import (
	"fmt"
	"math/rand"
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

// repeatRows is a table function for the tests: repeat(s, n) gives the
// rows (s, 1) ... (s, n), none when an argument is NULL or n < 1.
var repeatRows = expr.TableFunction{
	Name:    "exec_test_repeat",
	Params:  []types.DataType{types.StringType, types.IntType},
	Columns: []types.Field{{Name: "s", Type: types.StringType}, {Name: "i", Type: types.IntType.WithNullable(false)}},
	Eval: func(args []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
		s, cnt := args[0].(*array.String), args[1].(*array.Int32)
		sb := array.NewStringBuilder(mem)
		defer sb.Release()
		ib := array.NewInt32Builder(mem)
		defer ib.Release()
		var parent []int32
		for r := 0; r < n; r++ {
			if s.IsNull(r) || cnt.IsNull(r) {
				continue
			}
			for i := int32(1); i <= cnt.Value(r); i++ {
				sb.Append(s.Value(r))
				ib.Append(i)
				parent = append(parent, int32(r))
			}
		}
		return []arrow.Array{sb.NewArray(), ib.NewArray()}, parent, nil
	},
}

var udtfInput = types.Schema{Columns: []types.Column{
	{Name: "id", Type: types.BigIntType},
	{Name: "s", Type: types.StringType},
	{Name: "n", Type: types.IntType},
}}

// TestCorrelateTableFunctionRandomBatches feeds a changelog through a
// correlate calling a table function, in batches of random sizes with a
// snapshot and restore in the middle, and compares its output with the
// rows computed one at a time: each input row's rows carry its row kind,
// and a LEFT correlate pads the rows without rows.
func TestCorrelateTableFunctionRandomBatches(t *testing.T) {
	require.NoError(t, expr.RegisterTableFunction(repeatRows))
	defer expr.DropUserFunction(repeatRows.Name)
	args := []expr.Expr{
		&expr.ColumnRef{Index: 1, Name: "s", T: types.StringType},
		&expr.ColumnRef{Index: 2, Name: "n", T: types.IntType},
	}
	call, err := expr.ResolveTableFunction("exec_test_repeat", args)
	require.NoError(t, err)
	rng := rand.New(rand.NewSource(7))
	const rows = 500
	type in struct {
		id   int64
		s    *string
		n    *int32
		kind connector.RowKind
	}
	input := make([]in, rows)
	for i := range input {
		r := in{id: int64(i), kind: connector.RowKind(rng.Intn(4))}
		if rng.Intn(8) > 0 {
			s := fmt.Sprintf("s%d", rng.Intn(50))
			r.s = &s
		}
		if rng.Intn(8) > 0 {
			n := int32(rng.Intn(5) - 1)
			r.n = &n
		}
		input[i] = r
	}
	str := func(s *string) string {
		if s == nil {
			return "null"
		}
		return *s
	}
	num := func(n *int32) string {
		if n == nil {
			return "null"
		}
		return fmt.Sprint(*n)
	}
	for _, left := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", left), func(t *testing.T) {
			var want strings.Builder
			for _, r := range input {
				prefix := fmt.Sprintf("%s[%d, %s, %s, ", r.kind, r.id, str(r.s), num(r.n))
				k := 0
				if r.s != nil && r.n != nil {
					for ; k < int(*r.n); k++ {
						fmt.Fprintf(&want, "%s%s, %d]\n", prefix, *r.s, k+1)
					}
				}
				if k == 0 && left {
					fmt.Fprintf(&want, "%snull, null]\n", prefix)
				}
			}

			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b := array.NewRecordBuilder(mem, BatchSchema(udtfInput, true))
			for _, r := range input {
				b.Field(0).(*array.Int64Builder).Append(r.id)
				if r.s == nil {
					b.Field(1).AppendNull()
				} else {
					b.Field(1).(*array.StringBuilder).Append(*r.s)
				}
				if r.n == nil {
					b.Field(2).AppendNull()
				} else {
					b.Field(2).(*array.Int32Builder).Append(*r.n)
				}
				b.Field(3).(*array.Int8Builder).Append(int8(r.kind))
			}
			rec := b.NewRecordBatch()
			b.Release()
			defer rec.Release()

			elems := []types.Column{{Name: "s0", Type: types.StringType}, {Name: "i", Type: types.IntType.WithNullable(left)}}
			out := types.Schema{Columns: append(append([]types.Column(nil), udtfInput.Columns...), elems...)}
			spec := OperatorSpec{Kind: KindCorrelate, Schema: out, Changelog: true,
				Spec: mustJSON(t, CorrelateSpec{Collection: marshal(t, call), Left: left})}
			ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
			op := openOperator(t, spec, ctx)
			var o gaOutput
			restored := false
			for start := 0; start < rows; {
				end := min(rows, start+1+rng.Intn(40))
				slice := rec.NewSlice(int64(start), int64(end))
				require.NoError(t, op.ProcessBatch(0, slice, &o))
				slice.Release()
				if !restored && start > rows/2 {
					op = reopen(t, op, spec, ctx)
					restored = true
				}
				start = end
			}
			require.NoError(t, op.Close())
			require.Equal(t, want.String(), o.log.String())
		})
	}
}

// TestCorrelateTableFunctionOutputChecked checks that a table function's malformed
// output is an error, not a panic or a wrong result.
func TestCorrelateTableFunctionOutputChecked(t *testing.T) {
	bad := func(name string, parent []int32, cols int) expr.TableFunction {
		return expr.TableFunction{Name: name, Columns: []types.Field{{Name: "x", Type: types.BigIntType}},
			Eval: func(_ []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
				out := make([]arrow.Array, cols)
				for i := range out {
					b := array.NewInt64Builder(mem)
					b.AppendValues(make([]int64, len(parent)), nil)
					out[i] = b.NewArray()
					b.Release()
				}
				return out, parent, nil
			}}
	}
	for _, tc := range []struct {
		fn   expr.TableFunction
		want string
	}{
		{bad("exec_test_unordered", []int32{1, 0}, 1), "non-decreasing"},
		{bad("exec_test_out_of_range", []int32{0, 5}, 1), "non-decreasing input row index below 2"},
		{bad("exec_test_two_cols", []int32{0}, 2), "returned 2 columns, not 1"},
		{expr.TableFunction{Name: "exec_test_null", Columns: []types.Field{{Name: "x", Type: types.BigIntType.WithNullable(false)}},
			Eval: func(_ []arrow.Array, n int, mem memory.Allocator) ([]arrow.Array, []int32, error) {
				b := array.NewInt64Builder(mem)
				defer b.Release()
				b.AppendNull()
				return []arrow.Array{b.NewArray()}, []int32{0}, nil
			}}, "returned NULL in column x, declared NOT NULL"},
	} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		require.NoError(t, expr.RegisterTableFunction(tc.fn))
		call, err := expr.ResolveTableFunction(tc.fn.Name, nil)
		require.NoError(t, err)
		ev, err := compileExpr(marshal(t, call), mem)
		require.NoError(t, err)
		b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, nil))
		b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
		rec := b.NewRecordBatch()
		b.Release()
		_, err = ev.Eval(rec)
		require.ErrorContains(t, err, tc.want)
		rec.Release()
		expr.DropUserFunction(tc.fn.Name)
		mem.AssertSize(t, 0)
	}
}
