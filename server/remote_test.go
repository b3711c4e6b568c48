package server

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/table"
)

// These tests connect table.Environments to a server's JobManager RPC
// endpoint (Settings.JobManagerAddress): the client plans, the server's
// cluster runs the jobs and streams the results back.

// rpcServer starts a server with its RPC endpoint on a loopback port and
// returns the server and the endpoint's address.
func rpcServer(t *testing.T) (*Server, string) {
	t.Helper()
	srv, _, _ := testServer(t, Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.ServeRPC(l) }()
	return srv, l.Addr().String()
}

// remoteEnv connects an environment to addr; its result batches come from
// a checked allocator.
func remoteEnv(t *testing.T, addr string, mode table.Mode, config map[string]string) *table.Environment {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	env, err := table.NewEnvironment(table.Settings{Mode: mode, JobManagerAddress: addr, Config: config, Mem: mem})
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, env.Close())
		mem.AssertSize(t, 0)
	})
	return env
}

type remoteOrder struct {
	ID       int64   `eddy:"id"`
	Customer string  `eddy:"customer"`
	Amount   float64 `eddy:"amount"`
}

func TestRemoteCollect(t *testing.T) {
	srv, addr := rpcServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := remoteEnv(t, addr, table.Batch, map[string]string{"parallelism.default": "2"})

	// FromSlice's rows travel in the job graph.
	orders := []remoteOrder{{1, "ann", 12.5}, {2, "bob", 5}, {3, "ann", 30}, {4, "cid", 99.5}, {5, "bob", 41}}
	type total struct {
		Customer string  `eddy:"customer"`
		Total    float64 `eddy:"total"`
	}
	totals, err := table.Collect[total](ctx, env.FromSlice(orders).
		GroupBy(table.Col("customer")).
		Select(table.Col("customer"), table.Col("amount").Sum().As("total")))
	require.NoError(t, err)
	sort.Slice(totals, func(i, j int) bool { return totals[i].Customer < totals[j].Customer })
	require.Equal(t, []total{{"ann", 42.5}, {"bob", 46}, {"cid", 99.5}}, totals)

	// A SQL query over a catalog table of the client's own catalog, at
	// parallelism 2 on the server's cluster.
	_, err = env.ExecuteSQL(ctx, `CREATE TABLE nums (id BIGINT) WITH ('connector' = 'datagen',
  'number-of-rows' = '1000', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000')`)
	require.NoError(t, err)
	r, err := env.ExecuteSQL(ctx, "SELECT id % 3 AS k, COUNT(*) AS n, SUM(id) AS s FROM nums GROUP BY id % 3")
	require.NoError(t, err)
	var rows []string
	for {
		b, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		for i := 0; i < int(b.NumRows()); i++ {
			rows = append(rows, b.Column(0).ValueStr(i)+" "+b.Column(1).ValueStr(i)+" "+b.Column(2).ValueStr(i))
		}
		b.Release()
	}
	sort.Strings(rows)
	require.Equal(t, []string{"0 333 166833", "1 334 167167", "2 333 166500"}, rows)
	require.NoError(t, r.Job.Wait(ctx))
	require.Equal(t, exec.JobFinished, r.Job.Status())
	widest := 0
	for _, v := range r.Job.Graph().Vertices {
		widest = max(widest, v.Parallelism)
	}
	require.Equal(t, 2, widest)
	// The final metrics come back with the job's end.
	var out int64
	for _, m := range r.Job.Metrics() {
		if m.Kind == exec.KindCollect {
			out += m.RecordsIn
		}
	}
	require.Equal(t, int64(3), out)
	// The server lists the remote job with its own.
	require.NotNil(t, srv.jobs.get(r.Job.ID()))
}

func TestRemoteInsert(t *testing.T) {
	_, addr := rpcServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := remoteEnv(t, addr, table.Batch, nil)
	dir := t.TempDir()

	err := env.CreateTable("sink", table.NewTableDescriptor("filesystem").
		Schema(table.Column("id", "BIGINT"), table.Column("customer", "STRING")).
		Option("path", dir).Option("format", "csv"))
	require.NoError(t, err)
	orders := []remoteOrder{{1, "ann", 12.5}, {2, "bob", 5}, {3, "ann", 30}}
	job, err := env.FromSlice(orders).Filter(table.Col("amount").Gt(table.Lit(10))).
		Select(table.Col("id"), table.Col("customer")).ExecuteInsert(ctx, "sink")
	require.NoError(t, err)
	require.NoError(t, job.Wait(ctx))
	require.Equal(t, exec.JobFinished, job.Status())
	require.Equal(t, "1,ann\n3,ann\n", readDir(t, dir))

	// SQL INSERT: the statement returns at once with the running job.
	r, err := env.ExecuteSQL(ctx, "INSERT INTO sink VALUES (7, 'dan')")
	require.NoError(t, err)
	require.NoError(t, r.Job.Wait(ctx))
	require.Contains(t, readDir(t, dir), "7,dan\n")
}

// readDir concatenates the files under dir, sorted by line.
func readDir(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		lines = append(lines, strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")...)
		return nil
	})
	require.NoError(t, err)
	sort.Strings(lines)
	for i, l := range lines {
		if !strings.HasSuffix(l, "\n") {
			lines[i] = l + "\n"
		}
	}
	return strings.Join(lines, "")
}

func TestRemoteUnboundedCancel(t *testing.T) {
	srv, addr := rpcServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := remoteEnv(t, addr, table.Streaming, map[string]string{"parallelism.default": "2"})
	_, err := env.ExecuteSQL(ctx, `CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen',
  'rows-per-second' = '200', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000')`)
	require.NoError(t, err)
	res, err := env.SQLQuery("SELECT id FROM endless WHERE id % 2 = 0").Execute(ctx)
	require.NoError(t, err)
	// Rows arrive while the job runs.
	for i := 0; i < 20; i++ {
		row, err := res.Next(ctx)
		require.NoError(t, err)
		require.Zero(t, row.Values[0].(int64)%2)
	}
	job := res.Job()
	require.Equal(t, exec.JobRunning, job.Status())
	job.Cancel()
	require.ErrorIs(t, job.Wait(ctx), exec.ErrJobCanceled)
	require.Equal(t, exec.JobCanceled, job.Status())
	// The rest of the batch being read, then the cancellation.
	for err == nil {
		_, err = res.Next(ctx)
	}
	require.ErrorIs(t, err, exec.ErrJobCanceled)
	res.Close()
	// The server's job is cancelled too.
	require.ErrorIs(t, srv.jobs.get(job.ID()).job.Wait(ctx), exec.ErrJobCanceled)
}

// A query's job is attached to its client: closing the environment
// cancels it on the server, while an INSERT job keeps running.
func TestRemoteClientLeaves(t *testing.T) {
	srv, addr := rpcServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env, err := table.NewEnvironment(table.Settings{JobManagerAddress: addr})
	require.NoError(t, err)
	_, err = env.ExecuteSQL(ctx, "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100')")
	require.NoError(t, err)
	_, err = env.ExecuteSQL(ctx, "CREATE TABLE bh (id BIGINT) WITH ('connector' = 'blackhole')")
	require.NoError(t, err)
	query, err := env.ExecuteSQL(ctx, "SELECT id FROM endless")
	require.NoError(t, err)
	b, err := query.Next(ctx)
	require.NoError(t, err)
	b.Release()
	insert, err := env.ExecuteSQL(ctx, "INSERT INTO bh SELECT id FROM endless")
	require.NoError(t, err)
	// Another client's query is not affected.
	other := remoteEnv(t, addr, table.Streaming, nil)
	_, err = other.ExecuteSQL(ctx, "CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '100')")
	require.NoError(t, err)
	otherQuery, err := other.ExecuteSQL(ctx, "SELECT id FROM endless")
	require.NoError(t, err)
	defer otherQuery.Close()

	require.NoError(t, env.Close())
	// The client's handles fail: the connection is gone.
	err = query.Job.Wait(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "lost job "+query.Job.ID())
	query.Close()
	require.ErrorIs(t, srv.jobs.get(query.Job.ID()).job.Wait(ctx), exec.ErrJobCanceled)
	detached := srv.jobs.get(insert.Job.ID()).job
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, exec.JobRunning, detached.Status())
	detached.Cancel()
	require.ErrorIs(t, detached.Wait(ctx), exec.ErrJobCanceled)
	b, err = otherQuery.Next(ctx)
	require.NoError(t, err)
	b.Release()
	require.Equal(t, exec.JobRunning, otherQuery.Job.Status())
}

func TestRemoteErrors(t *testing.T) {
	_, addr := rpcServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := l.Addr().String()
		l.Close()
		env := remoteEnv(t, dead, table.Batch, nil)
		start := time.Now()
		_, err = env.FromValues([]any{1}).Execute(ctx)
		require.Error(t, err)
		require.Contains(t, err.Error(), "cannot reach the JobManager at "+dead)
		require.Less(t, time.Since(start), 10*time.Second)
	})
	t.Run("bad address", func(t *testing.T) {
		_, err := table.NewEnvironment(table.Settings{JobManagerAddress: "no-port"})
		require.ErrorContains(t, err, `JobManager address "no-port": want host:port`)
	})
	t.Run("flink keys", func(t *testing.T) {
		host, port, _ := net.SplitHostPort(addr)
		env := remoteEnv(t, "", table.Batch, map[string]string{table.JobManagerRPCAddress: host, table.JobManagerRPCPort: port})
		rows, err := env.FromValues([]any{1}, []any{2}).Execute(ctx)
		require.NoError(t, err)
		all, err := rows.All(ctx)
		require.NoError(t, err)
		require.Len(t, all, 2)
	})

	env := remoteEnv(t, addr, table.Batch, nil)
	t.Run("bad sql", func(t *testing.T) {
		_, err := env.ExecuteSQL(ctx, "SELECT nope FROM\n  (VALUES (1)) AS v(x)")
		require.EqualError(t, err, `line 1, column 8: column 'nope' not found in any table (near "nope")`)
	})
	t.Run("udf", func(t *testing.T) {
		require.NoError(t, env.CreateFunction("remote_plus_one", func(x int64) int64 { return x + 1 }))
		defer env.DropFunction("remote_plus_one")
		_, err := env.ExecuteSQL(ctx, "SELECT remote_plus_one(x) FROM (VALUES (1)) AS v(x)")
		require.ErrorContains(t, err, "function REMOTE_PLUS_ONE is a Go function registered with CreateFunction in this process; it cannot run on the remote JobManager at "+addr)
		// Aggregate functions too.
		require.NoError(t, env.CreateFunction("remote_total", table.AggregateFunction[int64, int64, int64]{
			Accumulate: func(acc *int64, v int64) { *acc += v },
			GetValue:   func(acc *int64) (int64, bool) { return *acc, true },
		}))
		defer env.DropFunction("remote_total")
		_, err = env.ExecuteSQL(ctx, "SELECT remote_total(x), remote_plus_one(x) FROM (VALUES (CAST(1 AS BIGINT))) AS v(x) GROUP BY x")
		require.ErrorContains(t, err, "functions REMOTE_PLUS_ONE, REMOTE_TOTAL are Go functions registered with CreateFunction")
		// And table functions.
		require.NoError(t, env.CreateFunction("remote_words", strings.Fields))
		defer env.DropFunction("remote_words")
		_, err = env.ExecuteSQL(ctx, "SELECT f0 FROM (VALUES ('a b')) AS v(s), LATERAL TABLE(remote_words(s))")
		require.ErrorContains(t, err, "function REMOTE_WORDS is a Go function registered with CreateFunction in this process")
		// The same query without it runs.
		r, err := env.ExecuteSQL(ctx, "SELECT x + 1 FROM (VALUES (1)) AS v(x)")
		require.NoError(t, err)
		r.Close()
	})
	t.Run("job failure", func(t *testing.T) {
		// The sink fails on the server; its error comes back from Wait.
		_, err := env.ExecuteSQL(ctx, "CREATE TABLE badsink (x INT) WITH ('connector' = 'filesystem', 'path' = '/dev/null/x', 'format' = 'csv')")
		require.NoError(t, err)
		r, err := env.ExecuteSQL(ctx, "INSERT INTO badsink VALUES (1)")
		require.NoError(t, err)
		err = r.Job.Wait(ctx)
		require.ErrorContains(t, err, "filesystem: mkdir /dev/null: not a directory")
		require.Equal(t, exec.JobFailed, r.Job.Status())
	})
}

// StopWithSavepoint reaches the remote job; the savepoint restores a new
// remote job.
func TestRemoteSavepoint(t *testing.T) {
	_, addr := rpcServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := remoteEnv(t, addr, table.Streaming, nil)
	_, err := env.ExecuteSQL(ctx, `CREATE TABLE endless (id BIGINT) WITH ('connector' = 'datagen',
  'rows-per-second' = '100', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '1000000')`)
	require.NoError(t, err)
	q, err := env.ExecuteSQL(ctx, "SELECT id FROM endless")
	require.NoError(t, err)
	var last int64
	for last < 5 {
		b, err := q.Next(ctx)
		require.NoError(t, err)
		last = b.Column(0).(interface{ Value(int) int64 }).Value(int(b.NumRows()) - 1)
		b.Release()
	}
	done := make(chan struct{})
	go func() {
		// The result stream ends at the savepoint.
		defer close(done)
		for {
			b, err := q.Next(ctx)
			if err != nil {
				return
			}
			last = b.Column(0).(interface{ Value(int) int64 }).Value(int(b.NumRows()) - 1)
			b.Release()
		}
	}()
	sp, err := q.Job.StopWithSavepoint(ctx)
	require.NoError(t, err)
	<-done
	require.Equal(t, exec.JobFinished, q.Job.Status())
	require.NotEmpty(t, sp.Subtasks)

	env.RestoreNextJob(sp)
	q2, err := env.ExecuteSQL(ctx, "SELECT id FROM endless")
	require.NoError(t, err)
	b, err := q2.Next(ctx)
	require.NoError(t, err)
	// The sequence continues after the rows the first job read.
	require.Equal(t, last+1, b.Column(0).(interface{ Value(int) int64 }).Value(0))
	b.Release()
	q2.Close()
}
