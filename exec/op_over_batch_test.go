package exec

import (
	"cmp"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
)

// TestBatchOver runs the scripts in testdata/batch_over (see
// TestRowOperators for the commands), replayed with small batches and
// with a snapshot and restore after every input.
func TestBatchOver(t *testing.T) {
	replayRowOperatorScripts(t, []string{"batch_over"}, nil)
}

// boParseCall parses a window function call like "LEAD($1, $2)" over
// input columns of types input.
func boParseCall(t *testing.T, s string, input []types.DataType) agg.Call {
	c := agg.Call{Filter: -1, Name: s}
	open, close := strings.Index(s, "("), strings.LastIndex(s, ")")
	require.True(t, open > 0 && close > open, "call %q", s)
	c.Func = s[:open]
	var argTypes []types.DataType
	if args := strings.TrimSpace(s[open+1 : close]); args != "" {
		for _, a := range strings.Split(args, ",") {
			i, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(a), "$"))
			require.NoError(t, err, "call %q", s)
			c.Args = append(c.Args, i)
			argTypes = append(argTypes, input[i])
		}
	}
	switch {
	case agg.IsPartitionFunction(c.Func):
		typ, err := agg.PartitionFunctionType(c.Func, argTypes)
		require.NoError(t, err, "call %q", s)
		c.Type = typ
	case c.Func == "LAG":
		typ, err := agg.ResultType(c.Func, argTypes)
		require.NoError(t, err, "call %q", s)
		c.Type = typ
	default:
		c.Type = types.BigIntType.WithNullable(false)
	}
	return c
}

// TestNtileBuckets checks NTILE's buckets against their definition for
// every partition size and bucket count up to 30: sizes differing by at
// most one, larger first, as many non-empty buckets as rows allow.
func TestNtileBuckets(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for size := 1; size <= 30; size++ {
		for buckets := int64(1); buckets <= 30; buckets++ {
			p := onePartition(size)
			n := array.NewInt64Builder(mem)
			n.Append(buckets)
			arg := n.NewArray()
			n.Release()
			res, err := agg.EvalSorted(context.Background(), mem, "NTILE", []arrow.Array{arg}, p, arrow.PrimitiveTypes.Int64)
			arg.Release()
			require.NoError(t, err)
			vals := res.(*array.Int64).Int64Values()
			counts := map[int64]int{}
			for i, v := range vals {
				require.True(t, i == 0 && v == 1 || i > 0 && (v == vals[i-1] || v == vals[i-1]+1), "size %d, %d buckets: %v", size, buckets, vals)
				counts[v]++
			}
			require.Equal(t, int(min(int64(size), buckets)), len(counts))
			for b := int64(2); b <= int64(len(counts)); b++ {
				d := counts[b-1] - counts[b]
				require.True(t, d == 0 || d == 1, "size %d, %d buckets: %v", size, buckets, vals)
			}
			res.Release()
		}
	}
}

// TestShiftedOffsets checks LEAD and LAG with negative, zero and NULL
// offsets and a per-row default, as PostgreSQL computes them.
func TestShiftedOffsets(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ints := func(vals []int64, valid []bool) arrow.Array {
		b := array.NewInt64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, valid)
		return b.NewArray()
	}
	vals := ints([]int64{10, 20, 30, 40}, []bool{true, false, true, true})
	defer vals.Release()
	defs := ints([]int64{-1, -2, -3, -4}, nil)
	defer defs.Release()
	p := onePartition(4)
	for _, c := range []struct {
		fn     string
		offset arrow.Array
		want   string
	}{
		{"LEAD", ints([]int64{1}, nil), "[(null) 30 40 -4]"},
		{"LEAD", ints([]int64{-1}, nil), "[-1 10 (null) 30]"},
		{"LAG", ints([]int64{-2}, nil), "[30 40 -3 -4]"},
		{"LAG", ints([]int64{0}, nil), "[10 (null) 30 40]"},
		{"LEAD", ints([]int64{0}, []bool{false}), "[(null) (null) (null) (null)]"},
	} {
		res, err := agg.EvalSorted(context.Background(), mem, c.fn, []arrow.Array{vals, c.offset, defs}, p, arrow.PrimitiveTypes.Int64)
		c.offset.Release()
		require.NoError(t, err)
		require.Equal(t, c.want, res.String(), "%s by %v", c.fn, c.offset)
		res.Release()
	}
}

// onePartition is one partition of n rows in input order, each its own
// peer.
func onePartition(n int) *agg.SortedPartitions {
	p := &agg.SortedPartitions{Rows: make([]int32, n), PartStart: make([]int32, n), PartEnd: make([]int32, n),
		PeerStart: make([]int32, n), PeerEnd: make([]int32, n)}
	for i := range n {
		p.Rows[i], p.PartEnd[i], p.PeerStart[i], p.PeerEnd[i] = int32(i), int32(n), int32(i), int32(i+1)
	}
	return p
}

// TestSortByPartitionCollisions sorts rows whose partition hashes all
// collide: the partitions must still come out whole, each in order.
func TestSortByPartitionCollisions(t *testing.T) {
	part := []int32{2, 1, 2, 1, 3, 2}
	order := []int32{5, 4, 1, 4, 0, 3}
	rows := []int32{0, 1, 2, 3, 4, 5}
	hashes := make([]uint64, len(rows))
	byOrder := func(a, b int32) int {
		if c := cmp.Compare(order[a], order[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	sortByPartition(hashes, rows, func(a, b int32) int { return cmp.Compare(part[a], part[b]) }, byOrder)
	require.Equal(t, []int32{1, 3, 2, 5, 0, 4}, rows)
}
