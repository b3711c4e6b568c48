package kafka_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/kafka/kafkatest"
)

// TestStopWithSavepointCommits stops a Kafka-to-Kafka exactly-once job
// with STOP JOB ... WITH SAVEPOINT between two checkpoints: as in Flink,
// the savepoint completes like a checkpoint, so a read_committed consumer
// sees every row written before it at once, without the job being
// resumed. Resumed from the savepoint, the job commits the same
// transactions again (harmlessly) and goes on: every row exactly once.
func TestStopWithSavepointCommits(t *testing.T) {
	addr := fakeCluster(t, 2, "sp_in", "sp_out")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	produce := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Topic: "sp_in", Value: fmt.Appendf(nil, `{"id": %d}`, i)})
		}
		require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())
	}
	want := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf(`{"id":%d}`, i))
		}
		sort.Strings(out)
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	session := func(interval string) *table.Environment {
		env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
			"parallelism.default":         "2",
			"table.dml-sync":              "false",
			exec.CheckpointingIntervalKey: interval,
			exec.SavepointsDirKey:         dir,
		}})
		require.NoError(t, err)
		for _, stmt := range []string{
			fmt.Sprintf(`CREATE TABLE src (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'sp_in',
			  'properties.bootstrap.servers' = '%s', 'scan.startup.mode' = 'earliest-offset', 'format' = 'json')`, addr),
			fmt.Sprintf(`CREATE TABLE snk (id BIGINT) WITH ('connector' = 'kafka', 'topic' = 'sp_out',
			  'properties.bootstrap.servers' = '%s', 'format' = 'json', 'sink.partitioner' = 'round-robin',
			  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'sp-job')`, addr),
		} {
			_, err := env.ExecuteSQL(ctx, stmt)
			require.NoError(t, err, stmt)
		}
		return env
	}
	waitFor := func(level kgo.IsolationLevel, n int) []string {
		var got []string
		for ctx.Err() == nil {
			if got = kafkatest.ReadValues(t, addr, "sp_out", level); len(got) >= n {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		sort.Strings(got)
		return got
	}

	// No checkpoint completes within the test: only the savepoint can
	// commit.
	produce(0, 100)
	env := session("1 h")
	r, err := env.ExecuteSQL(ctx, "INSERT INTO snk SELECT id FROM src")
	require.NoError(t, err)
	job := r.Job
	require.Len(t, waitFor(kgo.ReadUncommitted(), 100), 100, "the rows are written in open transactions")
	require.Empty(t, kafkatest.ReadValues(t, addr, "sp_out", kgo.ReadCommitted()))

	r, err = env.ExecuteSQL(ctx, fmt.Sprintf("STOP JOB '%s' WITH SAVEPOINT", job.ID()))
	require.NoError(t, err)
	require.NoError(t, job.Wait(ctx))
	require.Equal(t, want(100), kafkatest.ReadValues(t, addr, "sp_out", kgo.ReadCommitted()),
		"the savepoint committed what the sinks wrote before it")
	b, err := r.Next(ctx)
	require.NoError(t, err)
	path := b.Column(0).ValueStr(0)
	b.Release()
	r.Close()

	produce(100, 150)
	env2 := session("20 ms")
	_, err = env2.ExecuteSQL(ctx, fmt.Sprintf("SET '%s' = '%s'", table.SavepointPath, path))
	require.NoError(t, err)
	r, err = env2.ExecuteSQL(ctx, "INSERT INTO snk SELECT id FROM src")
	require.NoError(t, err)
	require.Equal(t, want(150), waitFor(kgo.ReadCommitted(), 150), "resumed, every row once")
	r.Job.Cancel()
	require.ErrorIs(t, r.Job.Wait(context.Background()), exec.ErrJobCanceled)
}
