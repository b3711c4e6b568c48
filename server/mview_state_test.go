package server

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
	"github.com/eddysql/eddy/exec/connector"
)

// change is one changelog row of (k STRING, n BIGINT); a nil n is NULL.
type change struct {
	kind connector.RowKind
	k    string
	n    *int64
}

func changeBatch(mem memory.Allocator, schema types.Schema, rows []change) arrow.RecordBatch {
	fields := append(schema.Arrow().Fields(), arrow.Field{Name: connector.RowKindColumn, Type: arrow.PrimitiveTypes.Int8})
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.k)
		if r.n == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(*r.n)
		}
		b.Field(2).(*array.Int8Builder).Append(int8(r.kind))
	}
	return b.NewRecordBatch()
}

// contents renders a snapshot as sorted "k=n" rows.
func contents(st *mvState) []string {
	st.mu.Lock()
	snap := st.snapshotLocked()
	st.mu.Unlock()
	var out []string
	for _, b := range snap {
		ks, ns := b.Column(0).(*array.String), b.Column(1).(*array.Int64)
		for i := 0; i < int(b.NumRows()); i++ {
			n := "NULL"
			if !ns.IsNull(i) {
				n = fmt.Sprint(ns.Value(i))
			}
			out = append(out, ks.Value(i)+"="+n)
		}
		b.Release()
	}
	sort.Strings(out)
	return out
}

// TestMVStateChangelog applies a changelog to a view's state: updates
// replace rows, duplicates are a multiset, NULL differs from the empty
// string, a retraction of an unknown row is ignored, and compaction in
// the middle keeps the contents and releases every removed row's memory.
func TestMVStateChangelog(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := types.Schema{Columns: []types.Column{{Name: "k", Type: types.StringType}, {Name: "n", Type: types.BigIntType}}}
	st := newMVState(schema, mem)
	defer st.close()
	i := func(v int64) *int64 { return &v }
	apply := func(rows ...change) {
		b := changeBatch(mem, schema, rows)
		st.apply(b, true)
		b.Release()
	}
	apply(change{connector.Insert, "a", i(1)}, change{connector.Insert, "b", i(1)}, change{connector.Insert, "b", i(1)},
		change{connector.Insert, "", nil}, change{connector.Insert, "", i(0)})
	require.Equal(t, []string{"=0", "=NULL", "a=1", "b=1", "b=1"}, contents(st))
	apply(change{connector.UpdateBefore, "a", i(1)}, change{connector.UpdateAfter, "a", i(2)},
		change{connector.Delete, "b", i(1)}, change{connector.Delete, "", nil}, change{connector.Delete, "zz", i(9)})
	require.Equal(t, []string{"=0", "a=2", "b=1"}, contents(st))

	// Compaction with rows removed from both batches.
	st.mu.Lock()
	st.compactLocked()
	require.Len(t, st.batches, 1)
	require.Equal(t, 3, st.retained)
	st.mu.Unlock()
	require.Equal(t, []string{"=0", "a=2", "b=1"}, contents(st))
	// The index survives compaction: later retractions find their rows.
	apply(change{connector.UpdateBefore, "a", i(2)}, change{connector.UpdateAfter, "a", i(3)}, change{connector.Delete, "b", i(1)})
	require.Equal(t, []string{"=0", "a=3"}, contents(st))

	// With no slack, removals compact on their own.
	st.compactSlack = 0
	for v := int64(3); v < 10; v++ {
		apply(change{connector.UpdateBefore, "a", i(v)}, change{connector.UpdateAfter, "a", i(v + 1)})
	}
	st.mu.Lock()
	require.LessOrEqual(t, st.retained, 2*st.live)
	st.mu.Unlock()
	require.Equal(t, "=0,a=10", strings.Join(contents(st), ","))
}
