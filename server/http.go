package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
)

// HTTPHandler serves the HTTP API:
//
//	GET    /healthz          200 while the process serves
//	GET    /readyz           200 once the catalog is restored, 503 while closing
//	GET    /v1/jobs          the jobs sessions submitted
//	GET    /v1/jobs/{id}     one job with its plan and per-operator metrics
//	DELETE /v1/jobs/{id}     cancel a job
//	POST   /v1/jobs/{id}/stop stop a job with a savepoint (Flink REST's
//	                         body {"targetDirectory": ..., "drain": bool});
//	                         answers once it is written (see stopJob)
//	POST   /v1/statements    run a SQL script, answer its results as JSON
//	                         (see postStatements)
//	GET    /metrics          Prometheus text exposition
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /v1/jobs", func(w http.ResponseWriter, _ *http.Request) {
		out := []jobJSON{}
		for _, e := range s.jobs.list() {
			out = append(out, describeJob(e, false))
		}
		writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
	})
	mux.HandleFunc("GET /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		e := s.jobs.get(r.PathValue("id"))
		if e == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no job " + r.PathValue("id")})
			return
		}
		writeJSON(w, http.StatusOK, describeJob(e, true))
	})
	mux.HandleFunc("DELETE /v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		e := s.jobs.get(r.PathValue("id"))
		if e == nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no job " + r.PathValue("id")})
			return
		}
		e.job.Cancel()
		writeJSON(w, http.StatusAccepted, describeJob(e, false))
	})
	mux.HandleFunc("POST /v1/jobs/{id}/stop", s.stopJob)
	mux.HandleFunc("POST /v1/statements", s.postStatements)
	mux.HandleFunc("GET /metrics", s.metrics)
	return mux
}

type jobJSON struct {
	ID      string               `json:"id"`
	Name    string               `json:"name"`
	Status  exec.JobStatus       `json:"status"`
	Started time.Time            `json:"started"`
	User    string               `json:"user"`
	Error   string               `json:"error,omitempty"`
	Plan    *planJSON            `json:"plan,omitempty"`
	Metrics []exec.OperatorStats `json:"metrics,omitempty"`
	// Checkpoints are the job's restart and checkpoint counters (Flink's
	// numRestarts and GET /jobs/:jobid/checkpoints counts).
	Checkpoints *exec.CheckpointStats `json:"checkpoints,omitempty"`
}

// planJSON is a job's dataflow, shaped like the plan of Flink's REST API
// (GET /jobs/:jobid): one node per vertex (a chain of operators run by
// each of its subtasks) with the vertices it reads and how rows are
// shipped from them.
type planJSON struct {
	Name  string         `json:"name"`
	Nodes []planNodeJSON `json:"nodes"`
}

type planNodeJSON struct {
	ID          int             `json:"id"`
	Parallelism int             `json:"parallelism"`
	Description string          `json:"description"`
	Operators   []string        `json:"operators"`
	Inputs      []planInputJSON `json:"inputs,omitempty"`
}

type planInputJSON struct {
	Num          int    `json:"num"`
	ID           int    `json:"id"`
	ShipStrategy string `json:"ship_strategy"`
	Keys         []int  `json:"keys,omitempty"`
}

func describePlan(g *exec.JobGraph) *planJSON {
	p := &planJSON{Name: g.Name, Nodes: make([]planNodeJSON, 0, len(g.Vertices))}
	for _, v := range g.Vertices {
		n := planNodeJSON{ID: v.ID, Parallelism: v.Parallelism, Description: v.Name}
		for _, op := range v.Operators {
			n.Operators = append(n.Operators, op.Name)
		}
		for _, e := range g.Edges {
			if e.Target == v.ID {
				n.Inputs = append(n.Inputs, planInputJSON{Num: e.TargetInput, ID: e.Source,
					ShipStrategy: strings.ToUpper(string(e.Partitioning)), Keys: e.Keys})
			}
		}
		p.Nodes = append(p.Nodes, n)
	}
	return p
}

func describeJob(e *jobEntry, metrics bool) jobJSON {
	j := jobJSON{ID: e.job.ID(), Name: e.job.Name(), Status: e.job.Status(), Started: e.started, User: e.user}
	if j.Status == exec.JobFailed {
		if err := e.job.Wait(canceledContext()); err != nil {
			j.Error = err.Error()
		}
	}
	if metrics {
		if g := e.job.Graph(); g != nil {
			j.Plan = describePlan(g)
		}
		j.Metrics = e.job.Metrics()
		if j.Metrics == nil {
			j.Metrics = []exec.OperatorStats{}
		}
		cs := e.job.CheckpointStats()
		j.Checkpoints = &cs
	}
	return j
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// metrics writes the Prometheus text exposition format (version 0.0.4):
// sessions, jobs by status, and per operator of the jobs still running
// the records in and out, the time the operator was backpressured (waited
// for room in a full output channel; Prometheus' rate() of it is Flink's
// backPressuredTimeMsPerSecond, in seconds), the watermark and its lag
// behind the wall clock (Flink's currentOutputWatermark and watermarkLag;
// only for operators that have seen a watermark and not yet the end of
// event time), and the estimated size of the operator's state (Flink's
// state size; 0 for stateless operators); per job its restarts and
// completed checkpoints (Flink's numRestarts and
// numberOfCompletedCheckpoints).
func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	now := time.Now()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP eddy_sessions Open SQL sessions (pgwire connections).\n# TYPE eddy_sessions gauge\neddy_sessions %d\n", s.Sessions())
	byStatus := map[exec.JobStatus]int{}
	jobs := s.jobs.list()
	for _, e := range jobs {
		byStatus[e.job.Status()]++
	}
	b.WriteString("# HELP eddy_jobs Jobs submitted through the server, by status.\n# TYPE eddy_jobs gauge\n")
	statuses := make([]string, 0, len(byStatus))
	for st := range byStatus {
		statuses = append(statuses, string(st))
	}
	sort.Strings(statuses)
	for _, st := range statuses {
		fmt.Fprintf(&b, "eddy_jobs{status=%q} %d\n", st, byStatus[exec.JobStatus(st)])
	}
	var ckpts strings.Builder
	b.WriteString("# HELP eddy_job_restarts_total Times a job was restarted after a failure.\n# TYPE eddy_job_restarts_total counter\n")
	ckpts.WriteString("# HELP eddy_job_checkpoints_completed_total Checkpoints a job completed.\n# TYPE eddy_job_checkpoints_completed_total counter\n")
	for _, e := range jobs {
		cs := e.job.CheckpointStats()
		fmt.Fprintf(&b, "eddy_job_restarts_total{job=%q} %d\n", e.job.ID(), cs.Restarts)
		fmt.Fprintf(&ckpts, "eddy_job_checkpoints_completed_total{job=%q} %d\n", e.job.ID(), cs.Completed)
	}
	b.WriteString(ckpts.String())
	b.WriteString("# HELP eddy_operator_records_in_total Records an operator received.\n# TYPE eddy_operator_records_in_total counter\n")
	var out, bp, st, wm, lag strings.Builder
	out.WriteString("# HELP eddy_operator_records_out_total Records an operator emitted.\n# TYPE eddy_operator_records_out_total counter\n")
	bp.WriteString("# HELP eddy_operator_backpressured_seconds_total Time an operator waited for room in its full output channels.\n# TYPE eddy_operator_backpressured_seconds_total counter\n")
	st.WriteString("# HELP eddy_operator_state_bytes Estimated size of an operator's state, summed over its subtasks.\n# TYPE eddy_operator_state_bytes gauge\n")
	wm.WriteString("# HELP eddy_operator_watermark_milliseconds The last watermark an operator emitted (event time, ms since the epoch).\n# TYPE eddy_operator_watermark_milliseconds gauge\n")
	lag.WriteString("# HELP eddy_operator_watermark_lag_seconds How far an operator's watermark is behind the wall clock.\n# TYPE eddy_operator_watermark_lag_seconds gauge\n")
	for _, e := range jobs {
		if e.job.Status() != exec.JobRunning {
			continue
		}
		for _, m := range e.job.Metrics() {
			labels := fmt.Sprintf("job=%q,vertex=\"%d\",index=\"%d\",operator=%q", e.job.ID(), m.Vertex, m.Index, m.Name)
			fmt.Fprintf(&b, "eddy_operator_records_in_total{%s} %d\n", labels, m.RecordsIn)
			fmt.Fprintf(&out, "eddy_operator_records_out_total{%s} %d\n", labels, m.RecordsOut)
			fmt.Fprintf(&bp, "eddy_operator_backpressured_seconds_total{%s} %g\n", labels, float64(m.BackPressuredTimeMs)/1000)
			fmt.Fprintf(&st, "eddy_operator_state_bytes{%s} %d\n", labels, m.StateBytes)
			if m.Watermark != exec.MinWatermark && m.Watermark != exec.MaxWatermark {
				fmt.Fprintf(&wm, "eddy_operator_watermark_milliseconds{%s} %d\n", labels, m.Watermark)
				fmt.Fprintf(&lag, "eddy_operator_watermark_lag_seconds{%s} %g\n", labels, float64(now.UnixMilli()-int64(m.Watermark))/1000)
			}
		}
	}
	b.WriteString(out.String())
	b.WriteString(bp.String())
	b.WriteString(st.String())
	b.WriteString(wm.String())
	b.WriteString(lag.String())
	_, _ = w.Write([]byte(b.String()))
}

// canceledContext is an already-cancelled context, for reading the error of
// a job known to have ended without waiting.
func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// stopJobRequest is the body of Flink REST's POST /jobs/:jobid/stop.
type stopJobRequest struct {
	TargetDirectory string `json:"targetDirectory"`
	Drain           bool   `json:"drain"`
}

// stopJob stops a job with a savepoint into the request's targetDirectory,
// else the state.savepoints.dir the job was submitted with. Flink answers
// with a trigger id to poll; this waits for the savepoint and answers
// what Flink's poll (GET /jobs/:jobid/savepoints/:triggerid) shows once
// it completed: {"status": {"id": "COMPLETED"}, "operation":
// {"location": path}}, or "failure-cause" with the error's SQLSTATE.
func (s *Server) stopJob(w http.ResponseWriter, r *http.Request) {
	e := s.jobs.get(r.PathValue("id"))
	if e == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no job " + r.PathValue("id")})
		return
	}
	var req stopJobRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed request body: " + err.Error()})
			return
		}
	}
	dir := req.TargetDirectory
	if dir == "" {
		dir = table.SavepointDirFor(nil, e.job)
	}
	// The server's context, not the request's: a client that gives up
	// waiting must not cancel the job halfway through its savepoint.
	path, err := s.stopWithSavepoint(s.ctx, e, dir, req.Drain)
	if err != nil {
		code := http.StatusInternalServerError
		if errs.Is(err, errs.ObjectNotInState) {
			code = http.StatusConflict
		}
		writeJSON(w, code, map[string]any{"status": map[string]string{"id": "COMPLETED"},
			"operation": map[string]string{"failure-cause": err.Error(), "sqlstate": errs.State(err)}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": map[string]string{"id": "COMPLETED"},
		"operation": map[string]string{"location": path}})
}
