package exec

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
)

// TestRankInsertOnlyRandom is a differential test of the Top-N and the
// rowtime deduplication over insert-only input, whose stores copy a
// stored row's columns other than its order keys (Top-N) or time
// (deduplication) only once its batch is emitted (rowStore.putLater):
// batches repeating partitions, so that rows stored earlier in a batch
// are pushed out or replaced by later ones of the same batch, string
// columns with NULLs, NULL partition keys, and snapshot/restores in
// between. The materialized changelog must be the brute-force answer.
func TestRankInsertOnlyRandom(t *testing.T) {
	for _, kind := range []string{"top1", "top3", "dedup-first", "dedup-last"} {
		t.Run(kind, func(t *testing.T) {
			for seed := range 12 {
				runInsertOnlyRank(t, kind, uint64(seed))
			}
		})
	}
}

func runInsertOnlyRank(t *testing.T, kind string, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := types.Schema{Columns: []types.Column{
		{Name: "k", Type: types.BigIntType}, {Name: "s", Type: types.StringType},
		{Name: "v", Type: types.TimestampType(3)}}}
	spec := OperatorSpec{Schema: in, Changelog: true}
	var build func(OperatorSpec, *OperatorContext) (Operator, error)
	topN := 0
	switch kind {
	case "top1", "top3":
		topN = 1
		if kind == "top3" {
			topN = 3
		}
		spec.Kind, build = KindRank, newRank
		spec.Spec = mustJSON(t, RankSpec{PartitionKeys: []int{0}, OrderKeys: []SortKey{{Col: 2, Desc: true}},
			RankType: "row_number", Start: 1, End: int64(topN)})
	default:
		spec.Kind, build = KindDeduplicate, newDeduplicate
		spec.Spec = mustJSON(t, DeduplicateSpec{Keys: []int{0}, TimeCol: 2, KeepLast: kind == "dedup-last"})
	}
	ctx := &OperatorContext{Parallelism: 1, Mem: mem, Metrics: NewOperatorMetrics()}
	start := func(state []byte) Operator {
		op, err := build(spec, ctx)
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
		return "[" + k + " " + s + " " + fmt.Sprint(r.v) + "]"
	}
	var rows []row // in arrival order
	out := &materializer{rows: map[string]int{}}
	for step := range 80 {
		bld := array.NewRecordBuilder(mem, in.Arrow())
		for range 1 + rng.IntN(10) {
			r := row{k: rng.Int64N(3), v: rng.Int64N(8), s: strings.Repeat("y", rng.IntN(6)) + fmt.Sprint(step, len(rows))}
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
			bld.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.v))
			rows = append(rows, r)
		}
		b := bld.NewRecordBatch()
		bld.Release()
		require.NoError(t, op.ProcessBatch(0, b, out))
		b.Release()
		if rng.IntN(5) == 0 {
			state, err := op.Snapshot()
			require.NoError(t, err)
			require.NoError(t, op.Close())
			op = start(state)
		}
	}
	require.NoError(t, out.err, "seed %d", seed)
	// Per partition, the rows in the order they rank: by v (descending
	// for the Top-N and the last row, ascending for the first), ties in
	// arrival order, except that the last row of equal times is the
	// latest.
	parts := map[int64][]row{}
	for _, r := range rows {
		parts[r.k] = append(parts[r.k], r)
	}
	want := map[string]int{}
	for _, p := range parts {
		switch kind {
		case "dedup-first":
			slices.SortStableFunc(p, func(a, b row) int { return cmp.Compare(a.v, b.v) })
		case "dedup-last":
			slices.Reverse(p)
			slices.SortStableFunc(p, func(a, b row) int { return cmp.Compare(b.v, a.v) })
		default:
			slices.SortStableFunc(p, func(a, b row) int { return cmp.Compare(b.v, a.v) })
		}
		for _, r := range p[:min(len(p), max(topN, 1))] {
			want[fmtRow(r)]++
		}
	}
	for k, n := range out.rows {
		if n == 0 {
			delete(out.rows, k)
		}
	}
	require.Equal(t, want, out.rows, "seed %d", seed)
}
