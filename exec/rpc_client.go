package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"
)

// rpcCallTimeout bounds the short control calls that have no context of
// their own (Job.Cancel, Job.Metrics).
const rpcCallTimeout = 10 * time.Second

// RemoteJobManager is a client of a JobManager's RPC endpoint
// (JobManagerService), Flink's cluster client: it submits JobGraphs to the
// remote cluster and returns Jobs whose methods (Wait, Cancel, Status,
// Results, Metrics, StopWithSavepoint) act on the remote job. The jobs'
// collect results stream into local ResultStreams, so a client reads them
// exactly as it reads a job of the embedded cluster. Its methods are safe
// for concurrent use.
type RemoteJobManager struct {
	addr   string
	conn   *grpc.ClientConn
	client flight.FlightServiceClient
	mem    memory.Allocator
}

// DialJobManager returns a client of the JobManager at addr ("host:port").
// It connects lazily: an unreachable address fails the first Submit. mem
// allocates the result batches received (nil: Go's allocator).
func DialJobManager(addr string, mem memory.Allocator) (*RemoteJobManager, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("exec: JobManager address %q: want host:port (%v)", addr, err)
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(rpcMaxMessageSize), grpc.MaxCallSendMsgSize(rpcMaxMessageSize)))
	if err != nil {
		return nil, fmt.Errorf("exec: JobManager at %s: %v", addr, err)
	}
	if mem == nil {
		mem = memory.NewGoAllocator()
	}
	return &RemoteJobManager{addr: addr, conn: conn, client: flight.NewFlightServiceClient(conn), mem: mem}, nil
}

// Addr is the JobManager's address.
func (r *RemoteJobManager) Addr() string { return r.addr }

// Close closes the connection. Jobs still running lose their client: their
// Wait returns an error, and the JobManager cancels those with collect
// results.
func (r *RemoteJobManager) Close() error { return r.conn.Close() }

// SubmitWithOptions submits g to the remote JobManager, as
// JobManager.SubmitWithOptions does locally, and starts streaming the
// results of its collect operators.
func (r *RemoteJobManager) SubmitWithOptions(ctx context.Context, g *JobGraph, opts SubmitOptions) (*Job, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	var resp rpcSubmitResponse
	req := rpcSubmitRequest{Graph: g, Restore: opts.Restore, SlotRequestTimeout: opts.SlotRequestTimeout}
	if err := r.action(ctx, actionSubmitJob, req, &resp); err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	rj := &remoteJob{rm: r, stop: stop}
	j := &Job{
		id: resp.JobID, name: g.Name, graph: g,
		status:  JobRunning,
		done:    make(chan struct{}),
		results: map[string]*ResultStream{},
		states:  map[subtaskKey]TaskState{},
		final:   map[subtaskKey]*SubtaskState{},
		remote:  rj,
	}
	rj.job = j
	for _, v := range g.Vertices {
		for _, op := range v.Operators {
			if op.Kind == KindCollect {
				var cs CollectSpec
				_ = json.Unmarshal(op.Spec, &cs) // checked by Validate
				// One writer: the Flight stream merging the remote subtasks.
				j.results[cs.ID] = newResultStream(cs.ID, 1)
			}
		}
	}
	for id, s := range j.results {
		rj.pumps.Add(1)
		go rj.pump(bg, id, s)
	}
	go rj.watch(bg)
	return j, nil
}

// action runs one Flight action with a JSON request and decodes its single
// JSON answer into resp (unless nil).
func (r *RemoteJobManager) action(ctx context.Context, typ string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("exec: encoding %s: %w", typ, err)
	}
	stream, err := r.client.DoAction(ctx, &flight.Action{Type: typ, Body: body})
	if err != nil {
		return r.callError(ctx, err)
	}
	res, err := stream.Recv()
	if err != nil {
		return r.callError(ctx, err)
	}
	// Read to the end so the call's resources are released.
	if _, err := stream.Recv(); err != nil && err != io.EOF {
		return r.callError(ctx, err)
	}
	if resp != nil {
		if err := json.Unmarshal(res.Body, resp); err != nil {
			return fmt.Errorf("exec: malformed %s answer from the JobManager at %s: %w", typ, r.addr, err)
		}
	}
	return nil
}

// callError turns the error of a call into what the caller sees: ctx's
// error when ctx ended, a connection error naming the address, or the
// remote error (with the exec package's sentinel errors restored).
func (r *RemoteJobManager) callError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var se interface{ GRPCStatus() *grpcstatus.Status }
	if !errors.As(err, &se) {
		return fmt.Errorf("exec: JobManager at %s: %w", r.addr, err)
	}
	st := se.GRPCStatus()
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("exec: cannot reach the JobManager at %s: %s", r.addr, st.Message())
	case codes.Canceled, codes.DeadlineExceeded:
		return fmt.Errorf("exec: call to the JobManager at %s ended: %s", r.addr, st.Message())
	case codes.Aborted, codes.ResourceExhausted, codes.FailedPrecondition, codes.NotFound:
		return remoteError(st.Message())
	}
	return fmt.Errorf("exec: JobManager at %s: %s: %s", r.addr, st.Code(), st.Message())
}

// remoteJob is the client side of a Job running on a remote JobManager.
type remoteJob struct {
	rm  *RemoteJobManager
	job *Job
	// stop ends the job's wait and result calls.
	stop  context.CancelFunc
	pumps sync.WaitGroup
}

// watch waits for the remote job to end and ends the local Job the same
// way, once the result streams have delivered what they received. A lost
// connection fails the job.
func (rj *remoteJob) watch(ctx context.Context) {
	j := rj.job
	var res rpcJobResult
	if err := rj.rm.action(ctx, actionWaitJob, rpcJobRequest{JobID: j.id}, &res); err != nil {
		res = rpcJobResult{Status: JobFailed, Error: fmt.Sprintf("exec: lost job %s: %v", j.id, err)}
	}
	var jobErr error
	switch res.Status {
	case JobFailed:
		jobErr = remoteError(res.Error)
	case JobCanceled:
		jobErr = ErrJobCanceled
	}
	if jobErr != nil {
		for _, s := range j.results {
			s.abort(jobErr)
		}
	}
	rj.pumps.Wait()
	rj.stop()
	j.mu.Lock()
	j.status = res.Status
	if res.Status == JobFailed {
		j.err = jobErr
	}
	j.finalMetrics = res.Metrics
	j.ckpt.stats = res.Checkpoints
	j.mu.Unlock()
	close(j.done)
}

// pump copies the remote result stream id into s: the Flight stream's
// record batches are written to s as the collect subtasks of a local job
// write theirs, with the same backpressure (a full s stops reading, which
// stops the remote job through gRPC flow control).
func (rj *remoteJob) pump(ctx context.Context, id string, s *ResultStream) {
	defer rj.pumps.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ticket, _ := json.Marshal(rpcTicket{JobID: rj.job.id, Result: id})
	stream, err := rj.rm.client.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		s.abort(rj.rm.callError(ctx, err))
		return
	}
	rd, err := flight.NewRecordReader(stream, ipc.WithAllocator(rj.rm.mem))
	if err != nil {
		s.abort(rj.rm.callError(ctx, err))
		return
	}
	defer rd.Release()
	w := resultWriter{s: s}
	for rd.Next() {
		if err := w.Write(rd.RecordBatch()); err != nil {
			return // the job failed or was cancelled
		}
		if errors.Is(s.abortErr(), ErrResultClosed) {
			// The client closed the stream: stop fetching (the remote
			// stream drops the rest, the job keeps running).
			return
		}
	}
	if err := rd.Err(); err != nil {
		s.abort(rj.rm.callError(ctx, err))
		return
	}
	_ = w.Finish()
}

// cancel asks the JobManager to cancel the job; the wait call then reports
// it CANCELED.
func (rj *remoteJob) cancel() {
	ctx, cancel := context.WithTimeout(context.Background(), rpcCallTimeout)
	defer cancel()
	if err := rj.rm.action(ctx, actionCancelJob, rpcJobRequest{JobID: rj.job.id}, nil); err != nil {
		// The JobManager cannot be told: give the job up locally, which
		// ends its wait call and fails it with the connection error.
		rj.stop()
	}
}

// metrics fetches the running job's metrics; nil if the JobManager cannot
// be reached.
func (rj *remoteJob) metrics() []OperatorStats {
	ctx, cancel := context.WithTimeout(context.Background(), rpcCallTimeout)
	defer cancel()
	var out []OperatorStats
	if err := rj.rm.action(ctx, actionJobMetrics, rpcJobRequest{JobID: rj.job.id}, &out); err != nil {
		return nil
	}
	return out
}

// checkpointStats fetches the job's checkpoint and restart counters: the
// final ones once it ended, zero if the JobManager cannot be reached.
func (rj *remoteJob) checkpointStats() CheckpointStats {
	j := rj.job
	select {
	case <-j.done:
		j.mu.Lock()
		defer j.mu.Unlock()
		return j.ckpt.stats
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), rpcCallTimeout)
	defer cancel()
	var out CheckpointStats
	_ = rj.rm.action(ctx, actionJobCheckpoints, rpcJobRequest{JobID: j.id}, &out)
	return out
}

// status asks the JobManager for the running job's status; ok is false if
// it cannot be reached.
func (rj *remoteJob) status() (JobStatus, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), rpcCallTimeout)
	defer cancel()
	var out JobStatus
	if err := rj.rm.action(ctx, actionJobStatus, rpcJobRequest{JobID: rj.job.id}, &out); err != nil {
		return "", false
	}
	return out, true
}

// stopWithSavepoint is Job.StopWithSavepoint (DrainWithSavepoint with
// drain) on the remote JobManager.
func (rj *remoteJob) stopWithSavepoint(ctx context.Context, drain bool) (*Savepoint, error) {
	j := rj.job
	if err := j.beginStop(); err != nil {
		return nil, err
	}
	var sp Savepoint
	if err := rj.rm.action(ctx, actionStopWithSavepoint, rpcJobRequest{JobID: j.id, Drain: drain}, &sp); err != nil {
		return nil, err
	}
	// The job is FINISHED remotely; wait for its results to be delivered.
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &sp, nil
}
