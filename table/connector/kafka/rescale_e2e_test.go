package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// TestRescaleFromSavepointSQL stops a keyed aggregate over a Kafka topic
// with a savepoint, then restores it through
// execution.savepoint.path with another parallelism.default (Flink's
// rescaling: the aggregate's state moves by key group, the partitions'
// offsets to the subtasks they are assigned now) over a bounded read of
// the topic, which meanwhile got more records for every key: the final
// results count every record exactly once. The source's watermark
// assigner restores the smallest watermark of the old subtasks.
func TestRescaleFromSavepointSQL(t *testing.T) {
	// (At parallelism 1 the collect operator chains into the aggregate's
	// vertex, a graph of another shape, which no savepoint of a job at
	// parallelism 2 or more restores into.)
	for _, p := range [][2]int{{2, 4}, {4, 2}, {3, 2}} {
		oldPar, newPar := p[0], p[1]
		t.Run(fmt.Sprintf("%d-to-%d", oldPar, newPar), func(t *testing.T) {
			addr := fakeCluster(t, 5, "nums")
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
			require.NoError(t, err)
			defer cl.Close()
			type agg struct{ c, s int64 }
			want := map[int64]agg{}
			produce := func(from, to int) {
				var recs []*kgo.Record
				for i := from; i < to; i++ {
					k := int64(i % 11)
					recs = append(recs, &kgo.Record{Topic: "nums", Partition: int32(i % 5), Value: fmt.Appendf(nil, `{"k": %d, "v": %d}`, k, i)})
					want[k] = agg{want[k].c + 1, want[k].s + int64(i)}
				}
				require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
			}
			produce(0, 300)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env, err := table.NewEnvironment(table.Settings{Config: map[string]string{"parallelism.default": fmt.Sprint(oldPar)}})
			require.NoError(t, err)
			create := func(bounded string) {
				for _, stmt := range []string{"DROP TABLE IF EXISTS nums", fmt.Sprintf(`CREATE TABLE nums (k BIGINT, v BIGINT, ts AS TO_TIMESTAMP_LTZ(v, 3), WATERMARK FOR ts AS ts) WITH (
				  'connector' = 'kafka', 'topic' = 'nums', 'properties.bootstrap.servers' = '%s',
				  'scan.startup.mode' = 'earliest-offset', 'format' = 'json'%s)`, addr, bounded)} {
					_, err := env.ExecuteSQL(ctx, stmt)
					require.NoError(t, err, stmt)
				}
			}
			const query = "SELECT k, COUNT(*) AS c, SUM(v) AS s FROM nums GROUP BY k"
			create("")
			r, err := env.ExecuteSQL(ctx, query)
			require.NoError(t, err)
			b, err := r.Next(ctx) // some of the topic is in the aggregate
			require.NoError(t, err)
			b.Release()
			sp, err := r.Job.StopWithSavepoint(ctx)
			require.NoError(t, err)
			kinds := map[string]bool{}
			for _, st := range sp.Subtasks {
				for _, op := range st.Operators {
					if len(op.State) > 0 {
						kinds[op.Kind] = true
					}
				}
			}
			require.Equal(t, map[string]bool{exec.KindSource: true, exec.KindWatermarkAssigner: true, exec.KindGroupAggregate: true}, kinds)
			for {
				b, err := r.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				b.Release()
			}
			data, err := exec.EncodeSavepoint(sp)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), exec.CheckpointMetadataFile)
			require.NoError(t, os.WriteFile(path, data, 0o644))

			produce(300, 500)
			create(", 'scan.bounded.mode' = 'latest-offset'")
			for _, stmt := range []string{
				fmt.Sprintf("SET 'parallelism.default' = '%d'", newPar),
				fmt.Sprintf("SET '%s' = '%s'", table.SavepointPath, path),
			} {
				_, err := env.ExecuteSQL(ctx, stmt)
				require.NoError(t, err, stmt)
			}
			r, err = env.ExecuteSQL(ctx, query)
			require.NoError(t, err)
			got := map[int64]agg{}
			for {
				b, err := r.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				kinds := b.Column(3).(*array.Int8)
				for i := range int(b.NumRows()) {
					if kinds.Value(i) == 0 || kinds.Value(i) == 2 { // +I, +U
						got[b.Column(0).(*array.Int64).Value(i)] = agg{b.Column(1).(*array.Int64).Value(i), b.Column(2).(*array.Int64).Value(i)}
					}
				}
				b.Release()
			}
			require.NoError(t, r.Job.Wait(ctx))
			require.Equal(t, want, got)
		})
	}
}
