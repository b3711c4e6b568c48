package server

import (
	"context"
	"fmt"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
	"github.com/eddysql/eddy/table"
)

// jobStatement answers the job statements over the server's jobs rather
// than the session's: SHOW JOBS lists the jobs of every session and those
// restarted at startup, and STOP JOB and DESCRIBE JOB reach any of them.
// ok is false for other statements.
func (ss *session) jobStatement(ctx context.Context, st sql.Statement) (r *table.TableResult, ok bool, err error) {
	switch s := st.(type) {
	case *sql.Show:
		if s.What != sql.ShowJobs {
			return nil, false, nil
		}
		var rows [][]*string
		for _, e := range ss.srv.jobs.list() {
			rows = append(rows, strPtrs(e.job.ID(), e.job.Name(), string(e.job.Status()),
				e.started.UTC().Format("2006-01-02T15:04:05.000Z"), fmt.Sprint(sinkRecords(e.job))))
		}
		// Flink's SHOW JOBS columns, then how many records the job's
		// sinks wrote so far, its progress.
		return table.StringRows(ss.srv.cfg.Mem, []string{"job id", "job name", "status", "start time", "records written"}, rows), true, nil
	case *sql.StopJob:
		e := ss.srv.jobs.get(s.ID)
		if e == nil {
			return nil, true, errs.New(errs.UndefinedObject, "job '%s' does not exist", s.ID)
		}
		if s.WithSavepoint {
			path, err := ss.srv.stopWithSavepoint(ctx, e, table.SavepointDirFor(ss.env.Config(), e.job), s.WithDrain)
			if err != nil {
				return nil, true, err
			}
			return table.SavepointResult(ss.srv.cfg.Mem, path), true, nil
		}
		e.job.Cancel()
		return &table.TableResult{Kind: table.Success, Message: "Execute statement succeed."}, true, nil
	case *sql.DescribeJob:
		e := ss.srv.jobs.get(s.ID)
		if e == nil {
			return nil, true, errs.New(errs.UndefinedObject, "job '%s' does not exist", s.ID)
		}
		var rows [][]*string
		for _, m := range e.job.Metrics() {
			rows = append(rows, strPtrs(m.Name, m.Kind, fmt.Sprint(m.Subtasks), fmt.Sprint(m.RecordsIn),
				fmt.Sprint(m.RecordsOut), fmt.Sprint(m.LateRecordsDropped)))
		}
		return table.StringRows(ss.srv.cfg.Mem, []string{"operator", "kind", "parallelism", "records in", "records out", "late records dropped"}, rows), true, nil
	}
	return nil, false, nil
}

// stopWithSavepoint stops the job of e with a savepoint written under dir
// (table.StopJobWithSavepoint) and, with a data directory, records it in
// the durable job list as stopped with that savepoint, so that a restart
// of the server does not run it again.
func (s *Server) stopWithSavepoint(ctx context.Context, e *jobEntry, dir string, drain bool) (string, error) {
	id := e.job.ID()
	if s.jobStore != nil {
		s.jobStore.beginStop(id)
	}
	path, err := table.StopJobWithSavepoint(ctx, e.job, dir, drain)
	if s.jobStore != nil {
		if serr := s.jobStore.stopped(id, path); serr != nil {
			s.log.Error("server: cannot update the running jobs list", "err", serr)
		}
	}
	if err != nil {
		return "", err
	}
	s.log.Info("server: stopped job with a savepoint", "job", id, "name", e.job.Name(), "savepoint", path, "drain", drain)
	return path, nil
}

// sinkRecords is how many records the sinks of j received.
func sinkRecords(j *exec.Job) int64 {
	var n int64
	for _, m := range j.Metrics() {
		if m.Kind == exec.KindSink {
			n += m.RecordsIn
		}
	}
	return n
}

func strPtrs(vals ...string) []*string {
	out := make([]*string, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out
}
