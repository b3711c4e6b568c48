package exec

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/expr"
)

// TestJoinInsertOnlyRandom is a differential test of the inner and semi
// joins of insert-only inputs, whose stores copy a batch's non-key columns
// after its rows are processed (addRowKeys): batches repeating keys (so
// that rows find the key entries earlier rows of their batch created),
// string columns with NULLs, a condition reading the stored rows' other
// columns, and snapshot/restores in between. The output must be the
// nested-loop join of all rows.
func TestJoinInsertOnlyRandom(t *testing.T) {
	for _, typ := range []string{"inner", "semi"} {
		t.Run(typ, func(t *testing.T) {
			for seed := range 12 {
				runInsertOnlyJoin(t, typ, uint64(seed))
			}
		})
	}
}

func runInsertOnlyJoin(t *testing.T, typ string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 9))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "s", Type: types.StringType}, {Name: "v", Type: types.BigIntType}}}
	both := types.Schema{Columns: append(append([]types.Column{}, in.Columns...), in.Columns...)}
	cond, err := expr.Resolve("<", []expr.Expr{
		&expr.ColumnRef{Index: 2, Name: "v", T: types.BigIntType}, &expr.ColumnRef{Index: 5, Name: "v", T: types.BigIntType}})
	require.NoError(t, err)
	schema := both
	if typ == "semi" {
		schema = in
	}
	spec := OperatorSpec{Kind: KindJoin, Schema: schema, Spec: mustJSON(t, JoinSpec{
		Type: typ, LeftKeys: []int{0}, RightKeys: []int{0}, Condition: marshal(t, cond)})}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	start := func(state []byte) Operator {
		op, err := newJoin(spec, ctx)
		require.NoError(t, err)
		require.NoError(t, op.Open(ctx))
		if state != nil {
			require.NoError(t, op.Restore(state))
		}
		return op
	}
	op := start(nil)
	defer func() { op.Close() }()

	type row struct {
		k, v int64 // k < 0 is NULL
		s    string
		null bool // s is NULL
	}
	fmtRow := func(r row) string {
		k, s := fmt.Sprint(r.k), r.s
		if r.k < 0 {
			k = "NULL"
		}
		if r.null {
			s = "NULL"
		}
		return k + " " + s + " " + fmt.Sprint(r.v)
	}
	var inputs [2][]row
	out := &insertCollector{rows: map[string]int{}}
	for step := range 80 {
		side := rng.IntN(2)
		bld := array.NewRecordBuilder(mem, in.Arrow())
		for range 1 + rng.IntN(8) {
			r := row{k: rng.Int64N(4), v: rng.Int64N(6), s: strings.Repeat("x", rng.IntN(5)) + fmt.Sprint(step)}
			if rng.IntN(8) == 0 {
				r.k = -1
			}
			r.null = rng.IntN(6) == 0
			if r.k < 0 {
				bld.Field(0).AppendNull()
			} else {
				bld.Field(0).(*array.Int64Builder).Append(r.k)
			}
			if r.null {
				bld.Field(1).AppendNull()
			} else {
				bld.Field(1).(*array.StringBuilder).Append(r.s)
			}
			bld.Field(2).(*array.Int64Builder).Append(r.v)
			inputs[side] = append(inputs[side], r)
		}
		b := bld.NewRecordBatch()
		bld.Release()
		require.NoError(t, op.ProcessBatch(side, b, out))
		b.Release()
		if rng.IntN(5) == 0 {
			state, err := op.Snapshot()
			require.NoError(t, err)
			require.NoError(t, op.Close())
			op = start(state)
		}
	}
	want := map[string]int{}
	for _, l := range inputs[0] {
		found := false
		for _, r := range inputs[1] {
			if l.k >= 0 && l.k == r.k && l.v < r.v {
				found = true
				if typ == "inner" {
					want["["+fmtRow(l)+" "+fmtRow(r)+"]"]++
				}
			}
		}
		if typ == "semi" && found {
			want["["+fmtRow(l)+"]"]++
		}
	}
	require.Equal(t, want, out.rows, "seed %d", seed)
}

// insertCollector counts the rows of an insert-only output, printed.
type insertCollector struct{ rows map[string]int }

func (c *insertCollector) Emit(b arrow.RecordBatch) error {
	for i := range int(b.NumRows()) {
		vals := make([]string, b.NumCols())
		for col := range vals {
			vals[col] = fmtJoinValue(b.Column(col), i)
		}
		c.rows["["+strings.Join(vals, " ")+"]"]++
	}
	return nil
}

func (c *insertCollector) EmitWatermark(Watermark) error { return nil }
