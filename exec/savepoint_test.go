package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec/agg"
	"github.com/eddysql/eddy/exec/connector"
)

// "test-pos" is test-seq with a position: its reader's snapshot is the next
// row id, and with 'pause' set it blocks after that many rows of its range
// until cancelled (the state a job is stopped in). A restored reader never
// pauses. 'every' is the rows per batch (1 keeps the changelog per row).
type posFactory struct{ seqFactory }

func (posFactory) Identifier() string { return "test-pos" }
func (posFactory) Options() []connector.Option {
	return []connector.Option{
		{Key: "rows", Type: connector.Long, Default: "0"},
		{Key: "mod", Type: connector.Long, Default: "10"},
		{Key: "pause", Type: connector.Long, Default: "-1"},
	}
}

func (posFactory) CreateReader(spec connector.ScanSpec, ctx connector.ReaderContext) (connector.SourceReader, error) {
	r, err := seqFactory{}.CreateReader(spec, ctx)
	if err != nil {
		return nil, err
	}
	p := &posReader{seqReader: r.(*seqReader), pauseAt: -1}
	if s := spec.Table.Options["pause"]; s != "" && s != "-1" {
		n, _ := strconv.ParseInt(s, 10, 64)
		p.pauseAt = p.next + n
	}
	return p, nil
}

type posReader struct {
	*seqReader
	pauseAt int64
}

func (r *posReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if r.next == r.pauseAt {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if r.pauseAt > r.next {
		// Stop exactly at the pause position.
		old := r.batch
		r.batch = min(r.batch, r.pauseAt-r.next)
		defer func() { r.batch = old }()
	}
	return r.seqReader.Next(ctx)
}

func (r *posReader) Snapshot() ([]byte, error) { return json.Marshal(r.next) }
func (r *posReader) Restore(state []byte) error {
	r.pauseAt = -1
	return json.Unmarshal(state, &r.next)
}

func init() { connector.Register(posFactory{}) }

// aggGraph is test-pos → hash(k) → COUNT(*), SUM(id) GROUP BY k → collect.
func aggGraph(t *testing.T, rows, mod, pause, par int) *JobGraph {
	calls := []agg.Call{
		{Func: "COUNT", Filter: -1, Type: types.BigIntType.WithNullable(false)},
		{Func: "SUM", Args: []int{0}, Filter: -1, Type: types.BigIntType},
	}
	out := types.Schema{Columns: []types.Column{seqSchema.Columns[1],
		{Name: "c", Type: calls[0].Type}, {Name: "s", Type: calls[1].Type}}}
	src := sourceOp(t, map[string]string{"rows": strconv.Itoa(rows), "mod": strconv.Itoa(mod), "pause": strconv.Itoa(pause)})
	src.Spec = mustJSON(t, connector.ScanSpec{Table: connector.TableInfo{Name: "pos", Schema: seqSchema,
		Options: map[string]string{"connector": "test-pos", "rows": strconv.Itoa(rows), "mod": strconv.Itoa(mod), "pause": strconv.Itoa(pause)}}})
	return &JobGraph{
		Name:   "savepoint-agg",
		Config: map[string]string{BatchSizeKey: "16"},
		Vertices: []Vertex{
			{ID: 1, Name: "Source", Parallelism: par, Operators: []OperatorSpec{src, calcOp(t, nil)}},
			{ID: 2, Name: "Agg", Parallelism: par, Operators: []OperatorSpec{
				{Kind: KindGroupAggregate, Name: "GroupAggregate", Schema: out, Changelog: true,
					Spec: mustJSON(t, GroupAggregateSpec{Keys: []int{1}, Calls: calls})},
				{Kind: KindCollect, Name: "Collect", Schema: out, Changelog: true, Spec: mustJSON(t, CollectSpec{ID: "out"})}}},
		},
		Edges: []Edge{{Source: 1, Target: 2, Partitioning: Hash, Keys: []int{1}}},
	}
}

type aggResult struct{ c, s int64 }

// collectAgg materializes the aggregate's changelog from the result stream
// into final, checking that every -U retracts the key's current row.
func collectAgg(t *testing.T, j *Job, final map[int64]aggResult) {
	ctx := context.Background()
	res, err := j.Results("out")
	require.NoError(t, err)
	for {
		b, err := res.Next(ctx)
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
		kinds := b.Column(3).(*array.Int8).Int8Values()
		for i, k := range b.Column(0).(*array.Int64).Int64Values() {
			r := aggResult{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)}
			switch connector.RowKind(kinds[i]) {
			case connector.Insert, connector.UpdateAfter:
				final[k] = r
			case connector.UpdateBefore:
				require.Equal(t, final[k], r)
			}
		}
		b.Release()
	}
}

// TestStopWithSavepointAndRestore stops a stateful job mid-stream (the
// sources paused after part of their rows), restores it from the encoded
// savepoint into fresh operators on a fresh cluster, and checks that the
// aggregate's final results equal an uninterrupted computation — no row
// lost or counted twice, the aggregate state carried over.
func TestStopWithSavepointAndRestore(t *testing.T) {
	const rows, mod = 2000, 7
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprintf("parallelism=%d", par), func(t *testing.T) {
			before := runtime.NumGoroutine()
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			final := map[int64]aggResult{}

			c1 := NewEmbeddedCluster(1, 4, mem)
			j1, err := c1.Submit(ctx, aggGraph(t, rows, mod, 300, par))
			require.NoError(t, err)
			collected := make(chan struct{})
			go func() { defer close(collected); collectAgg(t, j1, final) }()
			// The savepoint may come before the sources reach their pause
			// point: it is consistent wherever it falls.
			time.Sleep(time.Duration(par) * time.Millisecond)
			sp, err := j1.StopWithSavepoint(ctx)
			require.NoError(t, err)
			<-collected
			require.NoError(t, j1.Wait(ctx))
			require.Equal(t, JobFinished, j1.Status())
			require.Len(t, sp.Subtasks, 2*par)
			for _, st := range sp.Subtasks {
				require.False(t, st.Finished)
				require.Len(t, st.Operators, 2)
				if st.Vertex == 1 {
					require.NotNil(t, st.Operators[0].State, "the source's position")
				}
			}

			data, err := EncodeSavepoint(sp)
			require.NoError(t, err)
			sp2, err := DecodeSavepoint(data)
			require.NoError(t, err)

			c2 := NewEmbeddedCluster(1, 4, mem)
			j2, err := c2.JobManager().SubmitWithOptions(ctx, aggGraph(t, rows, mod, 300, par), SubmitOptions{Restore: sp2})
			require.NoError(t, err)
			collectAgg(t, j2, final)
			require.NoError(t, j2.Wait(ctx))

			want := map[int64]aggResult{}
			for id := range int64(rows) {
				r := want[id%mod]
				want[id%mod] = aggResult{r.c + 1, r.s + id}
			}
			require.Equal(t, want, final)
			checkGoroutines(t, before)
		})
	}
}

// TestSavepointIncompatible refuses to restore into a graph of another
// parallelism or another chain.
func TestSavepointIncompatible(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, aggGraph(t, 100, 3, 10, 2))
	require.NoError(t, err)
	go collectAgg(t, j, map[int64]aggResult{})
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)

	_, err = c.JobManager().SubmitWithOptions(ctx, aggGraph(t, 100, 3, 10, 3), SubmitOptions{Restore: sp})
	require.ErrorIs(t, err, ErrSavepointIncompatible)
	require.ErrorContains(t, err, "parallelism")

	g := aggGraph(t, 100, 3, 10, 2)
	g.Vertices[0].Operators = g.Vertices[0].Operators[:1]
	g.Vertices[1].Operators[0].Kind = KindCalc
	_, err = c.JobManager().SubmitWithOptions(ctx, g, SubmitOptions{Restore: sp})
	require.ErrorIs(t, err, ErrSavepointIncompatible)

	_, err = j.StopWithSavepoint(ctx)
	require.ErrorContains(t, err, "cannot stop job")
}

// TestSavepointOfFinishedSources: a bounded source that is exhausted before
// the savepoint is recorded as finished and emits nothing when restored,
// while the paused one resumes; and a job whose tasks all finished has no
// savepoint.
func TestSavepointOfFinishedSources(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := NewEmbeddedCluster(1, 4, nil)
	j, err := c.Submit(ctx, aggGraph(t, 50, 5, -1, 1))
	require.NoError(t, err)
	final := map[int64]aggResult{}
	collectAgg(t, j, final)
	require.NoError(t, j.Wait(ctx))
	_, err = j.StopWithSavepoint(ctx)
	require.Error(t, err)

	// Two sources unioned into one aggregate: one exhausted, one paused.
	g := aggGraph(t, 50, 5, 20, 1)
	g2 := aggGraph(t, 30, 5, -1, 1)
	src2 := g2.Vertices[0]
	src2.ID = 3
	g.Vertices = append(g.Vertices, src2)
	g.Edges = append(g.Edges, Edge{Source: 3, Target: 2, Partitioning: Hash, Keys: []int{1}})
	j, err = c.Submit(ctx, g)
	require.NoError(t, err)
	final = map[int64]aggResult{}
	collected := make(chan struct{})
	go func() { defer close(collected); collectAgg(t, j, final) }()
	// Wait until the bounded source has finished.
	for {
		j.mu.Lock()
		done := j.states[subtaskKey{3, 0}] == TaskFinished
		j.mu.Unlock()
		if done {
			break
		}
		time.Sleep(time.Millisecond)
	}
	sp, err := j.StopWithSavepoint(ctx)
	require.NoError(t, err)
	<-collected
	require.Len(t, sp.Subtasks, 3)
	require.True(t, sp.Subtasks[2].Finished)
	j, err = c.JobManager().SubmitWithOptions(ctx, g, SubmitOptions{Restore: sp})
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
}
