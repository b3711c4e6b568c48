package exec

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
)

// posSource is a vertex of one test-pos source of rows ids in
// [0, rows) with k = id % mod, at parallelism 2, pausing after pause rows
// per subtask (-1: never).
func posSource(t *testing.T, id, rows, mod, pause int) Vertex {
	src := sourceOp(t, map[string]string{})
	opts := map[string]string{"connector": "test-pos", "rows": strconv.Itoa(rows), "mod": strconv.Itoa(mod), "pause": strconv.Itoa(pause)}
	src.Spec = mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: fmt.Sprintf("pos%d", id), Schema: seqSchema, Options: opts}})
	return Vertex{ID: id, Name: fmt.Sprintf("Source%d", id), Parallelism: 2, Operators: []OperatorSpec{src}}
}

// keyedGraph is two test-pos sources (or one) at parallelism 2 hashed by
// k into a vertex of op at parallelism par, whose results go to collect.
func keyedGraph(t *testing.T, op OperatorSpec, twoInputs bool, pause, par int) *JobGraph {
	g := &JobGraph{
		Name:   "rescale",
		Config: map[string]string{BatchSizeKey: "16"},
		Vertices: []Vertex{posSource(t, 1, 2000, 50, pause), {ID: 2, Name: "Keyed", Parallelism: par, Operators: []OperatorSpec{
			op, {Kind: KindCollect, Name: "Collect", Schema: op.Schema, Changelog: op.Changelog, Spec: mustJSON(t, CollectSpec{ID: "out"})}}}},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
	}
	if twoInputs {
		if pause > 0 {
			pause /= 5
		}
		g.Vertices[0] = posSource(t, 1, 400, 50, pause)
		g.Vertices = append(g.Vertices, posSource(t, 3, 300, 50, pause))
		g.Edges = append(g.Edges, Edge{Source: 3, Target: 2, TargetInput: 1, Partitioning: Hash, Keys: []int{1}})
	}
	return g
}

// applyChangelog applies the result stream "out" of j to rows, a multiset
// of rows printed as text: +I/+U add a row, -U/-D remove one, which must
// be there.
func applyChangelog(t *testing.T, j *Job, changelog bool, rows map[string]int) {
	res, err := j.Results("out")
	require.NoError(t, err)
	for {
		b, err := res.Next(context.Background())
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		cols := int(b.NumCols())
		if changelog {
			cols--
		}
		for i := range int(b.NumRows()) {
			vals := make([]string, cols)
			for c := range cols {
				vals[c] = fmtCell(b.Column(c), i)
			}
			row := strings.Join(vals, ", ")
			kind := connector.Insert
			if changelog {
				kind = connector.RowKind(b.Column(cols).(*array.Int8).Value(i))
			}
			switch kind {
			case connector.Insert, connector.UpdateAfter:
				rows[row]++
			default:
				require.Positive(t, rows[row], "retracted row %s is not in the result", row)
				if rows[row]--; rows[row] == 0 {
					delete(rows, row)
				}
			}
		}
		b.Release()
	}
}

// TestRescaleFromSavepoint stops keyed jobs (a group aggregate, a Top-N,
// a deduplication, a TUMBLE window aggregate and a regular join) with a savepoint while their keyed
// vertex runs at one parallelism and restores them at another (Flink's
// rescaling from a savepoint: state moves by key group): the results of
// both jobs together equal those of an uninterrupted run.
func TestRescaleFromSavepoint(t *testing.T) {
	calls := []agg.Call{
		{Func: "COUNT", Filter: -1, Type: types.BigIntType.WithNullable(false)},
		{Func: "SUM", Args: []int{0}, Filter: -1, Type: types.BigIntType},
	}
	aggOut := types.Schema{Columns: []types.Column{seqSchema.Columns[1],
		{Name: "c", Type: calls[0].Type}, {Name: "s", Type: calls[1].Type}}}
	ts3 := types.TimestampType(3)
	tumbleOut := types.Schema{Columns: []types.Column{seqSchema.Columns[1],
		{Name: "window_start", Type: ts3}, {Name: "window_end", Type: ts3},
		{Name: "window_time", Type: ts3.WithTimeAttr(types.RowtimeAttr)},
		{Name: "c", Type: calls[0].Type}, {Name: "s", Type: calls[1].Type}}}
	joined := types.Schema{Columns: append(append([]types.Column{}, seqSchema.Columns...), seqSchema.Columns...)}
	// DISTINCT state: a tuple's (k, ts) and a value's (ts) counts.
	distinctCalls := []agg.Call{
		{Func: "COUNT", Args: []int{1, 2}, Distinct: true, Filter: -1, Type: types.BigIntType.WithNullable(false)},
		{Func: "COUNT", Args: []int{2}, Distinct: true, Filter: -1, Type: types.BigIntType.WithNullable(false)},
	}
	distinctOut := types.Schema{Columns: []types.Column{seqSchema.Columns[1],
		{Name: "t", Type: distinctCalls[0].Type}, {Name: "d", Type: distinctCalls[1].Type}}}
	cases := []struct {
		name      string
		op        OperatorSpec
		twoInputs bool
	}{
		{"group-aggregate", OperatorSpec{Kind: KindGroupAggregate, Schema: aggOut, Changelog: true,
			Spec: mustJSON(t, GroupAggregateSpec{Keys: []int{1}, Calls: calls})}, false},
		{"group-aggregate-distinct", OperatorSpec{Kind: KindGroupAggregate, Schema: distinctOut, Changelog: true,
			Spec: mustJSON(t, GroupAggregateSpec{Keys: []int{1}, Calls: distinctCalls})}, false},
		{"top-n", OperatorSpec{Kind: KindRank, Schema: seqSchema, Changelog: true,
			Spec: mustJSON(t, RankSpec{PartitionKeys: []int{1}, OrderKeys: []SortKey{{Col: 0, Desc: true}}, RankType: "row_number", Start: 1, End: 2})}, false},
		{"deduplicate", OperatorSpec{Kind: KindDeduplicate, Schema: seqSchema, Changelog: true,
			Spec: mustJSON(t, DeduplicateSpec{Keys: []int{1}, TimeCol: 2, KeepLast: true})}, false},
		{"tumble-aggregate", OperatorSpec{Kind: KindWindowAggregate, Schema: tumbleOut,
			Spec: mustJSON(t, WindowAggregateSpec{Window: WindowSpec{Kind: WindowTumble, Size: 100}, TimeCol: 2, Keys: []int{1}, Calls: calls})}, false},
		{"join", OperatorSpec{Kind: KindJoin, Schema: joined,
			Spec: mustJSON(t, JoinSpec{Type: "inner", LeftKeys: []int{1}, RightKeys: []int{1}})}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c := NewEmbeddedCluster(1, 4, mem)

			want := map[string]int{}
			j, err := c.Submit(ctx, keyedGraph(t, tc.op, tc.twoInputs, -1, 1))
			require.NoError(t, err)
			applyChangelog(t, j, tc.op.Changelog, want)
			require.NoError(t, j.Wait(ctx))
			require.NotEmpty(t, want)

			for _, p := range [][2]int{{2, 1}, {2, 4}, {4, 2}} {
				t.Run(fmt.Sprintf("%d-to-%d", p[0], p[1]), func(t *testing.T) {
					got := map[string]int{}
					j1, err := c.Submit(ctx, keyedGraph(t, tc.op, tc.twoInputs, 300, p[0]))
					require.NoError(t, err)
					collected := make(chan struct{})
					go func() { defer close(collected); applyChangelog(t, j1, tc.op.Changelog, got) }()
					waitSourcesPaused(ctx, t, j1, tc.twoInputs)
					sp, err := j1.StopWithSavepoint(ctx)
					require.NoError(t, err)
					<-collected
					require.NoError(t, j1.Wait(ctx))
					keyed := 0
					for _, st := range sp.Subtasks {
						if st.Vertex == 2 && len(st.Operators) > 0 && len(st.Operators[0].State) > 0 {
							keyed++
						}
					}
					require.Equal(t, p[0], keyed, "every old subtask holds keyed state")
					data, err := EncodeSavepoint(sp)
					require.NoError(t, err)
					sp, err = DecodeSavepoint(data)
					require.NoError(t, err)

					j2, err := c.JobManager().SubmitWithOptions(ctx, keyedGraph(t, tc.op, tc.twoInputs, 300, p[1]), SubmitOptions{Restore: sp})
					require.NoError(t, err)
					applyChangelog(t, j2, tc.op.Changelog, got)
					require.NoError(t, j2.Wait(ctx))
					require.Equal(t, want, got)
				})
			}
		})
	}
}

// TestRescaleRefused: state that is not partitioned by key group (here a
// source's position) cannot be restored at another parallelism, and the
// error names the operator, the vertex and both parallelisms; a
// different pipeline.max-parallelism is refused too.
func TestRescaleRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, aggGraph(t, 100, 3, 10, 2))
	require.NoError(t, err)
	go applyChangelog(t, j, true, map[string]int{})
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)
	require.Equal(t, KeyGroups, sp.MaxParallelism)

	_, err = c.JobManager().SubmitWithOptions(ctx, aggGraph(t, 100, 3, 10, 3), SubmitOptions{Restore: sp})
	require.ErrorIs(t, err, ErrSavepointIncompatible)
	require.ErrorContains(t, err, `operator source "Scan" of vertex 1 "Source" cannot restore at parallelism 3 from a savepoint taken at 2`)

	g := aggGraph(t, 100, 3, 10, 2)
	g.Config[MaxParallelismKey] = "256"
	_, err = c.JobManager().SubmitWithOptions(ctx, g, SubmitOptions{Restore: sp})
	require.ErrorContains(t, err, MaxParallelismKey)
	sp.MaxParallelism = 64
	_, err = c.JobManager().SubmitWithOptions(ctx, aggGraph(t, 100, 3, 10, 2), SubmitOptions{Restore: sp})
	require.ErrorIs(t, err, ErrSavepointIncompatible)
	require.ErrorContains(t, err, "pipeline.max-parallelism 64")
}

// TestRescaledSources checks the old subtasks each new one restores from:
// exactly those whose key groups it owns some of.
func TestRescaledSources(t *testing.T) {
	require.Equal(t, []int{0, 1}, rescaledSources(0, 1, 2))
	require.Equal(t, []int{0}, rescaledSources(1, 4, 2))
	require.Equal(t, []int{1}, rescaledSources(2, 4, 2))
	require.Equal(t, []int{0, 1}, rescaledSources(0, 2, 3))
	require.Equal(t, []int{1, 2}, rescaledSources(1, 2, 3))
	for _, n := range []int{1, 2, 3, 4, 7, 128} {
		owner := make([]int, KeyGroups)
		for i := range n {
			start, end := keyGroupRange(i, n)
			for kg := start; kg < end; kg++ {
				owner[kg]++
				require.Equal(t, i, kg*n/KeyGroups, "key group %d of %d subtasks", kg, n)
			}
		}
		for kg, o := range owner {
			require.Equal(t, 1, o, "key group %d of %d subtasks", kg, n)
		}
	}
}

// TestRescaleFinishedVertex: a source vertex whose subtasks had all
// finished before the savepoint stays finished at another parallelism
// (the keyed aggregate it fed is rescaled too), while a vertex of which
// only some subtasks had finished cannot be rescaled when its source does
// not rescale (TestRescalePartlyFinishedSource has sources that do).
func TestRescaleFinishedVertex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	graph := func(aggPar, donePar int) *JobGraph {
		g := aggGraph(t, 50, 5, 20, 1)
		g.Vertices[1].Parallelism = aggPar
		done := aggGraph(t, 30, 5, -1, donePar).Vertices[0]
		done.ID = 3
		g.Vertices = append(g.Vertices, done)
		g.Edges = append(g.Edges, Edge{Source: 3, Target: 2, Partitioning: Hash, Keys: []int{1}})
		return g
	}
	j, err := c.Submit(ctx, graph(2, 2))
	require.NoError(t, err)
	final := map[int64]aggResult{}
	collected := make(chan struct{})
	go func() { defer close(collected); collectAgg(t, j, final) }()
	for {
		j.mu.Lock()
		done := j.states[subtaskKey{3, 0}] == TaskFinished && j.states[subtaskKey{3, 1}] == TaskFinished
		j.mu.Unlock()
		if done {
			break
		}
		time.Sleep(time.Millisecond)
	}
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)
	<-collected

	j, err = c.JobManager().SubmitWithOptions(ctx, graph(3, 1), SubmitOptions{Restore: sp})
	require.NoError(t, err)
	collectAgg(t, j, final)
	require.NoError(t, j.Wait(ctx))
	want := map[int64]aggResult{}
	for _, n := range []int64{50, 30} {
		for id := range n {
			r := want[id%5]
			want[id%5] = aggResult{r.c + 1, r.s + id}
		}
	}
	require.Equal(t, want, final)

	// One of the two subtasks of vertex 3 had finished.
	partial := *sp
	partial.Subtasks = append([]SubtaskState(nil), sp.Subtasks...)
	for i, st := range partial.Subtasks {
		if st.Vertex == 3 && st.Subtask == 1 {
			partial.Subtasks[i].Finished = false
		}
	}
	_, err = c.JobManager().SubmitWithOptions(ctx, graph(3, 1), SubmitOptions{Restore: &partial})
	require.ErrorIs(t, err, ErrSavepointIncompatible)
	require.ErrorContains(t, err, `vertex 3 "Source" cannot restore at parallelism 1 from a savepoint taken at 2: 1 of its subtasks had finished and its test-pos reader's position is not kept per split`)
}

// waitSourcesPaused waits until the test-pos sources of a keyedGraph job
// paused: every row before the savepoint then reaches the keyed vertex,
// each of whose subtasks gets keys to hold.
func waitSourcesPaused(ctx context.Context, t *testing.T, j *Job, twoInputs bool) {
	want := int64(600)
	if twoInputs {
		want = 240
	}
	for {
		var out int64
		for _, m := range j.Metrics() {
			if m.Kind == KindSource {
				out += m.RecordsOut
			}
		}
		if out == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the sources emitted %d rows, not %d", out, want)
		case <-time.After(time.Millisecond):
		}
	}
}
