package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/stats"
	grpcstatus "google.golang.org/grpc/status"
)

// This file is the JobManager's RPC endpoint: an Arrow Flight service
// (gRPC) through which a remote client — table.Environment with
// Settings.JobManagerAddress — submits JobGraphs, waits for, cancels and
// stops its jobs, and reads the batches of their collect operators.
//
// The control operations are Flight actions whose bodies are JSON (a
// JobGraph is plain data); results stream with DoGet as Arrow IPC record
// batches, one Flight stream per collect operator, so an unbounded query's
// rows arrive as the job produces them, with gRPC flow control carrying the
// backpressure of a slow client back to the job.
//
// Jobs submitted with a collect operator are attached to their client's
// connection: when it closes (the client closed its RemoteJobManager or
// died) while the job runs, the job is cancelled, since nobody can read its
// result any more. Jobs without collect operators (INSERT) are detached,
// as in Flink: they keep running after the client leaves.

// DefaultRPCAddr is where `eddy server` serves the JobManager RPC endpoint
// by default: Flink's jobmanager.rpc.port 6123 on loopback.
const DefaultRPCAddr = "127.0.0.1:6123"

// The Flight actions of the JobManager service.
const (
	actionSubmitJob         = "eddy.submit-job"
	actionWaitJob           = "eddy.wait-job"
	actionCancelJob         = "eddy.cancel-job"
	actionJobMetrics        = "eddy.job-metrics"
	actionStopWithSavepoint = "eddy.stop-with-savepoint"
	actionJobCheckpoints    = "eddy.job-checkpoints"
	actionJobStatus         = "eddy.job-status"
)

// rpcMaxMessageSize bounds one gRPC message: a JobGraph carries the rows
// of FromSlice/VALUES tables and a savepoint every operator's state, both
// larger than gRPC's 4 MiB default.
const rpcMaxMessageSize = 256 << 20

type rpcSubmitRequest struct {
	Graph              *JobGraph     `json:"graph"`
	Restore            *Savepoint    `json:"restore,omitempty"`
	SlotRequestTimeout time.Duration `json:"slotRequestTimeout,omitempty"`
}

type rpcSubmitResponse struct {
	JobID string `json:"jobId"`
}

type rpcJobRequest struct {
	JobID string `json:"jobId"`
	// Drain asks a stop-with-savepoint to drain (Job.DrainWithSavepoint).
	Drain bool `json:"drain,omitempty"`
}

// rpcJobResult is the answer of the wait action: how the job ended.
type rpcJobResult struct {
	Status  JobStatus       `json:"status"`
	Error   string          `json:"error,omitempty"`
	Metrics []OperatorStats `json:"metrics,omitempty"`
	// Checkpoints are the job's final checkpoint and restart counters.
	Checkpoints CheckpointStats `json:"checkpoints"`
}

// rpcTicket names the result stream a DoGet reads.
type rpcTicket struct {
	JobID  string `json:"jobId"`
	Result string `json:"result"`
}

// JobManagerService serves a JobManager to remote clients over Arrow
// Flight (see RemoteJobManager for the client). Its methods are safe for
// concurrent use.
type JobManagerService struct {
	flight.BaseFlightServer
	jm       *JobManager
	onSubmit func(*Job)
	srv      *grpc.Server
	// stopped is closed by Stop.
	stopped  chan struct{}
	stopOnce sync.Once
	expiring sync.WaitGroup

	mu sync.Mutex
	// jobs are the jobs submitted through the service, kept for
	// rpcJobRetention after they end so that a client's requests racing
	// with the end (a DoGet of a small result, a late wait) still find them.
	jobs map[string]*Job
	// attached are the jobs with collect operators of each open client
	// connection.
	attached map[*rpcConn][]*Job
}

// rpcConn identifies a client connection in the contexts of its calls by
// its pointer; it is not empty, since pointers to distinct zero-size
// values need not differ.
type rpcConn struct{ _ byte }

type rpcConnKey struct{}

// connTracker is the gRPC stats handler that tags each connection's calls
// with its rpcConn and cancels the connection's attached jobs when it
// ends.
type connTracker struct{ s *JobManagerService }

func (c connTracker) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return context.WithValue(ctx, rpcConnKey{}, &rpcConn{})
}

func (c connTracker) HandleConn(ctx context.Context, st stats.ConnStats) {
	conn, _ := ctx.Value(rpcConnKey{}).(*rpcConn)
	if _, end := st.(*stats.ConnEnd); !end || conn == nil {
		return
	}
	c.s.mu.Lock()
	jobs := c.s.attached[conn]
	delete(c.s.attached, conn)
	c.s.mu.Unlock()
	for _, j := range jobs {
		j.Cancel()
	}
}

func (connTracker) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (connTracker) HandleRPC(context.Context, stats.RPCStats)                       {}

// rpcJobRetention is how long an ended job stays known to the service, as
// Flink's jobstore.expiration-time keeps finished jobs (shorter: results
// nobody fetched stay buffered until then).
const rpcJobRetention = 5 * time.Minute

// NewJobManagerService returns the RPC service of jm. onSubmit, when not
// nil, sees every job submitted through it (the server lists them).
func NewJobManagerService(jm *JobManager, onSubmit func(*Job)) *JobManagerService {
	s := &JobManagerService{jm: jm, onSubmit: onSubmit, jobs: map[string]*Job{}, attached: map[*rpcConn][]*Job{},
		stopped: make(chan struct{})}
	// Stop waits for the handlers, so that a DoGet writing a result batch
	// when its stream is cancelled has released it once Stop returns.
	s.srv = grpc.NewServer(grpc.MaxRecvMsgSize(rpcMaxMessageSize), grpc.MaxSendMsgSize(rpcMaxMessageSize),
		grpc.StatsHandler(connTracker{s}), grpc.WaitForHandlers(true))
	flight.RegisterFlightServiceServer(s.srv, s)
	return s
}

// Serve accepts connections on l until Stop; it returns nil after Stop.
func (s *JobManagerService) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Stop closes the listeners and every connection at once; running
// requests fail on the client with an unavailable error, and Stop returns
// once their handlers did. Closing the connections cancels the jobs
// attached to them (those with collect results); the others keep running.
func (s *JobManagerService) Stop() {
	s.stopOnce.Do(func() {
		s.srv.Stop()
		s.mu.Lock()
		close(s.stopped)
		s.mu.Unlock()
	})
	s.expiring.Wait()
}

// expire forgets j rpcJobRetention after it ended, or when the service
// stops, closing its result streams so that batches no client fetched are
// released.
func (s *JobManagerService) expire(j *Job) {
	defer s.expiring.Done()
	select {
	case <-j.Done():
		t := time.NewTimer(rpcJobRetention)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.stopped:
		}
	case <-s.stopped:
	}
	s.mu.Lock()
	delete(s.jobs, j.ID())
	for conn, jobs := range s.attached {
		for i, a := range jobs {
			if a == j {
				s.attached[conn] = append(jobs[:i], jobs[i+1:]...)
				break
			}
		}
	}
	s.mu.Unlock()
	for _, rs := range j.results {
		rs.Close()
	}
}

func (s *JobManagerService) job(id string) (*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return nil, grpcstatus.Errorf(codes.NotFound, "exec: no job %s", id)
	}
	return j, nil
}

// ListActions implements flight.FlightServer.
func (s *JobManagerService) ListActions(_ *flight.Empty, stream flight.FlightService_ListActionsServer) error {
	for _, a := range []*flight.ActionType{
		{Type: actionSubmitJob, Description: "submit a JobGraph (JSON); returns its job id"},
		{Type: actionWaitJob, Description: "wait until a job ends; returns its final status, error and metrics"},
		{Type: actionCancelJob, Description: "cancel a job"},
		{Type: actionJobMetrics, Description: "a running job's per-operator metrics"},
		{Type: actionStopWithSavepoint, Description: "stop a job with a savepoint; returns the savepoint (JSON)"},
		{Type: actionJobCheckpoints, Description: "a job's checkpoint and restart counters"},
		{Type: actionJobStatus, Description: "a job's current status (RUNNING, RESTARTING, ...)"},
	} {
		if err := stream.Send(a); err != nil {
			return err
		}
	}
	return nil
}

// DoAction implements flight.FlightServer: the job control operations.
func (s *JobManagerService) DoAction(a *flight.Action, stream flight.FlightService_DoActionServer) error {
	ctx := stream.Context()
	var out any
	// submitted is the job a submit action started, cancelled if its
	// client cannot learn about it.
	var submitted *Job
	switch a.Type {
	case actionSubmitJob:
		var req rpcSubmitRequest
		if err := json.Unmarshal(a.Body, &req); err != nil {
			return grpcstatus.Errorf(codes.InvalidArgument, "exec: malformed %s request: %v", a.Type, err)
		}
		if req.Graph == nil {
			return grpcstatus.Errorf(codes.InvalidArgument, "exec: %s request without a job graph", a.Type)
		}
		j, err := s.jm.SubmitWithOptions(ctx, req.Graph, SubmitOptions{Restore: req.Restore, SlotRequestTimeout: req.SlotRequestTimeout})
		if err != nil {
			return rpcStatus(err)
		}
		s.mu.Lock()
		select {
		case <-s.stopped:
			s.mu.Unlock()
			j.Cancel()
			return grpcstatus.Error(codes.Unavailable, "exec: the JobManager service is stopping")
		default:
		}
		s.jobs[j.ID()] = j
		if conn, ok := ctx.Value(rpcConnKey{}).(*rpcConn); ok && len(j.results) > 0 {
			s.attached[conn] = append(s.attached[conn], j)
		}
		s.expiring.Add(1)
		s.mu.Unlock()
		go s.expire(j)
		submitted = j
		if s.onSubmit != nil {
			s.onSubmit(j)
		}
		out = rpcSubmitResponse{JobID: j.ID()}
	case actionWaitJob, actionCancelJob, actionJobMetrics, actionStopWithSavepoint, actionJobCheckpoints, actionJobStatus:
		var req rpcJobRequest
		if err := json.Unmarshal(a.Body, &req); err != nil {
			return grpcstatus.Errorf(codes.InvalidArgument, "exec: malformed %s request: %v", a.Type, err)
		}
		j, err := s.job(req.JobID)
		if err != nil {
			return err
		}
		switch a.Type {
		case actionWaitJob:
			res, err := s.wait(ctx, j)
			if err != nil {
				return err
			}
			out = res
		case actionCancelJob:
			j.Cancel()
			out = struct{}{}
		case actionJobMetrics:
			out = j.Metrics()
		case actionJobCheckpoints:
			out = j.CheckpointStats()
		case actionJobStatus:
			out = j.Status()
		case actionStopWithSavepoint:
			sp, err := j.stopWithSavepoint(ctx, req.Drain)
			if err != nil {
				return rpcStatus(err)
			}
			out = sp
		}
	default:
		return grpcstatus.Errorf(codes.Unimplemented, "exec: unknown action %q", a.Type)
	}
	body, err := json.Marshal(out)
	if err == nil {
		err = stream.Send(&flight.Result{Body: body})
	}
	if submitted != nil && (err != nil || ctx.Err() != nil) {
		// The client gave up on the submission (its context ended) and
		// will never control the job: do not leave it running.
		submitted.Cancel()
	}
	if err != nil {
		return grpcstatus.Errorf(codes.Internal, "exec: answering %s: %v", a.Type, err)
	}
	return nil
}

// wait blocks until j ends and reports how.
func (s *JobManagerService) wait(ctx context.Context, j *Job) (rpcJobResult, error) {
	select {
	case <-j.Done():
	case <-ctx.Done():
		return rpcJobResult{}, grpcstatus.FromContextError(ctx.Err()).Err()
	}
	res := rpcJobResult{Status: j.Status(), Metrics: j.Metrics(), Checkpoints: j.CheckpointStats()}
	if err := j.Wait(ctx); err != nil && !errors.Is(err, ErrJobCanceled) {
		res.Error = err.Error()
	}
	return res, nil
}

// DoGet implements flight.FlightServer: it streams the batches of one
// collect operator of a job as an Arrow IPC stream, ending it when every
// subtask finished and failing it with the job's error.
func (s *JobManagerService) DoGet(t *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	var tk rpcTicket
	if err := json.Unmarshal(t.Ticket, &tk); err != nil {
		return grpcstatus.Errorf(codes.InvalidArgument, "exec: malformed ticket: %v", err)
	}
	j, err := s.job(tk.JobID)
	if err != nil {
		return err
	}
	rs, err := j.Results(tk.Result)
	if err != nil {
		return grpcstatus.Error(codes.NotFound, err.Error())
	}
	ctx := stream.Context()
	var w *flight.Writer
	for {
		b, err := rs.Next(ctx)
		if err == io.EOF {
			if w == nil {
				w = flight.NewRecordWriter(stream, ipc.WithSchema(collectSchema(j.Graph(), tk.Result)))
			}
			return w.Close()
		}
		if err != nil {
			if ctx.Err() != nil {
				// The client stopped reading: drop the rest, as a local
				// client closing its ResultStream does.
				rs.Close()
				return grpcstatus.FromContextError(ctx.Err()).Err()
			}
			return rpcStatus(err)
		}
		if w == nil {
			w = flight.NewRecordWriter(stream, ipc.WithSchema(b.Schema()))
		}
		err = w.Write(b)
		b.Release()
		if err != nil {
			rs.Close()
			return err
		}
	}
}

// collectSchema is the schema of the batches of collect operator id of g,
// for the IPC stream of a result without batches.
func collectSchema(g *JobGraph, id string) *arrow.Schema {
	for _, v := range g.Vertices {
		for _, op := range v.Operators {
			if op.Kind != KindCollect {
				continue
			}
			var cs CollectSpec
			if json.Unmarshal(op.Spec, &cs) == nil && cs.ID == id {
				return op.ArrowSchema()
			}
		}
	}
	return arrow.NewSchema(nil, nil)
}

// rpcStatus turns a JobManager or job error into a gRPC status whose
// message is the error's text; the client maps the text of the exec
// package's sentinel errors back to them (remoteError).
func rpcStatus(err error) error {
	code := codes.Aborted
	switch {
	case errors.Is(err, ErrNotEnoughSlots):
		code = codes.ResourceExhausted
	case errors.Is(err, ErrSavepointIncompatible):
		code = codes.FailedPrecondition
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return grpcstatus.FromContextError(err).Err()
	}
	return grpcstatus.Error(code, err.Error())
}

// remoteSentinels are the errors a remote client can test with errors.Is.
var remoteSentinels = []error{ErrNotEnoughSlots, ErrJobCanceled, ErrSavepointIncompatible, ErrNoSavepoint, ErrResultClosed}

// remoteError rebuilds an error reported by a remote JobManager from its
// text, wrapping the sentinel error it starts with.
func remoteError(msg string) error {
	for _, s := range remoteSentinels {
		if rest, ok := strings.CutPrefix(msg, s.Error()); ok {
			if rest == "" {
				return s
			}
			return fmt.Errorf("%w%s", s, rest)
		}
	}
	return errors.New(msg)
}
