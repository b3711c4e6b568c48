package kafka_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// TestParseErrorsAndMetadataProjection reads a topic with two malformed
// JSON records among good ones under 'json.ignore-parse-errors': the
// query's projection is pushed into the scan together with the one
// METADATA column it reads, the good rows arrive with their offsets, and
// the job's source metrics count the two skipped records as Flink's
// numRecordsInErrors.
func TestParseErrorsAndMetadataProjection(t *testing.T) {
	addr := fakeCluster(t, 1, "in")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(t, err)
	defer cl.Close()
	var recs []*kgo.Record
	for _, v := range []string{
		`{"id": 1, "name": "a", "note": "x"}`,
		`not json`,
		`{"id": 2, "name": "b", "note": "y"}`,
		`{"id": `,
		`{"id": 3, "name": "c", "note": "z"}`,
	} {
		recs = append(recs, &kgo.Record{Topic: "in", Value: []byte(v)})
	}
	require.NoError(t, cl.ProduceSync(context.Background(), recs...).FirstErr())

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	env, err := table.NewEnvironment(table.Settings{Mem: mem})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := env.ExecuteSQL(ctx, `CREATE TABLE t (
	  id BIGINT, name STRING, note STRING,
	  part INT METADATA FROM 'partition' VIRTUAL, off BIGINT METADATA FROM 'offset' VIRTUAL
	) WITH ('connector' = 'kafka', 'topic' = 'in', 'properties.bootstrap.servers' = '`+addr+`',
	  'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
	  'format' = 'json', 'json.ignore-parse-errors' = 'true')`)
	require.NoError(t, err)
	r.Close()

	query := `SELECT off, name FROM t WHERE id > 1`
	r, err = env.ExecuteSQL(ctx, "EXPLAIN "+query)
	require.NoError(t, err)
	b, err := r.Next(ctx)
	require.NoError(t, err)
	plan := b.Column(0).ValueStr(0)
	b.Release()
	r.Close()
	require.Contains(t, plan, "TableSourceScan(table=[[default_catalog, default_database, t]], project=[id, name, off], fields=[id, name, off])")

	res, err := env.ExecuteSQL(ctx, query)
	require.NoError(t, err)
	defer res.Close()
	var got []string
	for {
		b, err := res.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for i := range int(b.NumRows()) {
			got = append(got, b.Column(0).ValueStr(i)+"|"+b.Column(1).ValueStr(i))
		}
		b.Release()
	}
	require.ElementsMatch(t, []string{"2|b", "4|c"}, got)
	require.NoError(t, res.Job.Wait(ctx))
	var src *exec.OperatorStats
	for _, m := range res.Job.Metrics() {
		if m.Kind == exec.KindSource {
			src = &m
		}
	}
	require.NotNil(t, src)
	require.EqualValues(t, 2, src.RecordsInErrors)
}
