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
)

// HTTPHandler serves the HTTP API:
//
//	GET    /healthz          200 while the process serves
//	GET    /readyz           200 once the catalog is restored, 503 while closing
//	GET    /v1/jobs          the jobs sessions submitted
//	GET    /v1/jobs/{id}     one job with its per-operator metrics
//	DELETE /v1/jobs/{id}     cancel a job
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
	Metrics []exec.OperatorStats `json:"metrics,omitempty"`
}

func describeJob(e *jobEntry, metrics bool) jobJSON {
	j := jobJSON{ID: e.job.ID(), Name: e.job.Name(), Status: e.job.Status(), Started: e.started, User: e.user}
	if j.Status == exec.JobFailed {
		if err := e.job.Wait(canceledContext()); err != nil {
			j.Error = err.Error()
		}
	}
	if metrics {
		j.Metrics = e.job.Metrics()
		if j.Metrics == nil {
			j.Metrics = []exec.OperatorStats{}
		}
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
// sessions, jobs by status, and records in and out per operator of the
// jobs still running.
func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
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
	b.WriteString("# HELP eddy_operator_records_in_total Records an operator received.\n# TYPE eddy_operator_records_in_total counter\n")
	var out strings.Builder
	out.WriteString("# HELP eddy_operator_records_out_total Records an operator emitted.\n# TYPE eddy_operator_records_out_total counter\n")
	for _, e := range jobs {
		if e.job.Status() != exec.JobRunning {
			continue
		}
		for _, m := range e.job.Metrics() {
			labels := fmt.Sprintf("job=%q,vertex=\"%d\",index=\"%d\",operator=%q", e.job.ID(), m.Vertex, m.Index, m.Name)
			fmt.Fprintf(&b, "eddy_operator_records_in_total{%s} %d\n", labels, m.RecordsIn)
			fmt.Fprintf(&out, "eddy_operator_records_out_total{%s} %d\n", labels, m.RecordsOut)
		}
	}
	b.WriteString(out.String())
	_, _ = w.Write([]byte(b.String()))
}

// canceledContext is an already-cancelled context, for reading the error of
// a job known to have ended without waiting.
func canceledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
