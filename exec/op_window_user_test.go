package exec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// testSumSq is a user aggregate for testdata/window/user: the sum of the
// squares of BIGINT values, NULL over no values, with Merge unless
// noMerge and with Retract if retracts (testdata/window/changelog).
// table.AggregateFunction is the real implementation; exec cannot import
// it.
type testSumSq struct{ noMerge, retracts bool }

func init() {
	for name, f := range map[string]agg.UserAggregate{"TEST_SUMSQ": testSumSq{}, "TEST_SUMSQ_NOMERGE": testSumSq{noMerge: true},
		"TEST_SUMSQ_RETRACT": testSumSq{retracts: true}} {
		if err := agg.RegisterUser(name, f); err != nil {
			panic(err)
		}
	}
}

func (testSumSq) ResultType(args []types.DataType) (types.DataType, error) {
	if len(args) != 1 || !args[0].IsInteger() {
		return types.DataType{}, fmt.Errorf("takes one integer")
	}
	return types.BigIntType.WithNullable(true), nil
}
func (f testSumSq) Retracts() bool          { return f.retracts }
func (testSumSq) ParamType() types.DataType { return types.BigIntType }
func (f testSumSq) Merges() bool            { return !f.noMerge }
func (testSumSq) NewAccumulators([]arrow.DataType) (agg.UserAccumulators, error) {
	return nil, errors.New("test aggregate: windows only")
}
func (testSumSq) NewWindowAccumulators() (agg.UserWindowAccumulators, error) {
	return &testSumSqAccs{}, nil
}

// testSumSqAccs keeps per slot the sum of squares and the count.
type testSumSqAccs struct{ sum, n []int64 }

func (a *testSumSqAccs) Grow(n int) {
	for len(a.sum) < n {
		a.sum, a.n = append(a.sum, 0), append(a.n, 0)
	}
}
func (a *testSumSqAccs) Reset(s int32) { a.sum[s], a.n[s] = 0, 0 }
func (a *testSumSqAccs) Accumulate(cols []arrow.Array, slots []int32) {
	c := cols[0].(*array.Int64)
	for i, s := range slots {
		if s >= 0 && c.IsValid(i) {
			a.sum[s] += c.Value(i) * c.Value(i)
			a.n[s]++
		}
	}
}
func (a *testSumSqAccs) Retract(cols []arrow.Array, slots []int32) {
	c := cols[0].(*array.Int64)
	for i, s := range slots {
		if s >= 0 && c.IsValid(i) {
			a.sum[s] -= c.Value(i) * c.Value(i)
			a.n[s]--
		}
	}
}
func (a *testSumSqAccs) Merge(dst, src int32) { a.sum[dst] += a.sum[src]; a.n[dst] += a.n[src] }
func (a *testSumSqAccs) Results(mem memory.Allocator, _ arrow.DataType, slots []int32) arrow.Array {
	b := array.NewInt64Builder(mem)
	defer b.Release()
	for _, s := range slots {
		if a.n[s] == 0 {
			b.AppendNull()
		} else {
			b.Append(a.sum[s])
		}
	}
	return b.NewArray()
}
func (a *testSumSqAccs) AppendState(dst []byte, s int32) []byte {
	return binary.AppendVarint(binary.AppendVarint(dst, a.sum[s]), a.n[s])
}
func (a *testSumSqAccs) ReadState(src []byte, s int32) ([]byte, error) {
	sum, k := binary.Varint(src)
	if k <= 0 {
		return nil, errors.New("truncated")
	}
	n, k2 := binary.Varint(src[k:])
	if k2 <= 0 {
		return nil, errors.New("truncated")
	}
	a.sum[s], a.n[s] = sum, n
	return src[k+k2:], nil
}

// TestUserWindowAggregateNeedsMerge checks that a user aggregate without
// Merge is refused for session windows when the operator is built, and
// admitted for tumbling ones.
func TestUserWindowAggregateNeedsMerge(t *testing.T) {
	ts := types.TimestampType(3)
	schema := types.Schema{Columns: []types.Column{{Name: "k", Type: types.IntType},
		{Name: "window_start", Type: ts}, {Name: "window_end", Type: ts}, {Name: "window_time", Type: ts},
		{Name: "c", Type: types.BigIntType.WithNullable(true)}}}
	call := agg.Call{Func: "TEST_SUMSQ_NOMERGE", Args: []int{2}, Filter: -1, Type: types.BigIntType.WithNullable(true)}
	for _, tc := range []struct {
		window WindowSpec
		err    string
	}{
		{WindowSpec{Kind: WindowSession, Gap: 5}, "aggregate function TEST_SUMSQ_NOMERGE cannot aggregate session windows: it has no Merge"},
		{WindowSpec{Kind: WindowTumble, Size: 10}, ""},
	} {
		spec := OperatorSpec{Kind: KindWindowAggregate, Schema: schema,
			Spec: mustJSON(t, WindowAggregateSpec{Window: tc.window, TimeCol: 1, Keys: []int{0}, Calls: []agg.Call{call}})}
		_, err := newWindowAgg(spec, nil)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Fatalf("%s window: got %v, want %q", tc.window.Kind, err, tc.err)
		}
	}
}

// TestUserWindowAggregateNeedsRetract checks that a user aggregate without
// Retract is refused for a window aggregate over an updating input, naming
// the function, as Flink requires retract() there.
func TestUserWindowAggregateNeedsRetract(t *testing.T) {
	ts := types.TimestampType(3)
	schema := types.Schema{Columns: []types.Column{{Name: "k", Type: types.IntType},
		{Name: "window_start", Type: ts}, {Name: "window_end", Type: ts}, {Name: "window_time", Type: ts},
		{Name: "c", Type: types.BigIntType.WithNullable(true)}}}
	for _, tc := range []struct {
		fn, err string
	}{
		{"TEST_SUMSQ", "aggregate function TEST_SUMSQ cannot retract rows: it has no Retract"},
		{"TEST_SUMSQ_RETRACT", ""},
	} {
		call := agg.Call{Func: tc.fn, Args: []int{2}, Filter: -1, Type: types.BigIntType.WithNullable(true)}
		spec := OperatorSpec{Kind: KindWindowAggregate, Schema: schema,
			Spec: mustJSON(t, WindowAggregateSpec{Window: WindowSpec{Kind: WindowTumble, Size: 10}, TimeCol: 1,
				Keys: []int{0}, Calls: []agg.Call{call}, InputChangelog: true})}
		_, err := newWindowAgg(spec, nil)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Fatalf("%s: got %v, want %q", tc.fn, err, tc.err)
		}
	}
}
