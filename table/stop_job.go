package table

import (
	"context"
	"errors"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
)

// SavepointDirFor is the directory STOP JOB ... WITH SAVEPOINT writes the
// savepoint of j to: the session's state.savepoints.dir (or Flink 2.x's
// execution.checkpointing.savepoint-dir), else the one j was submitted
// with, which stands for Flink's cluster-wide default; "" when neither is
// set.
func SavepointDirFor(session map[string]string, j *exec.Job) string {
	if d := exec.SavepointDir(session); d != "" {
		return d
	}
	if g := j.Graph(); g != nil {
		return exec.SavepointDir(g.Config)
	}
	return ""
}

// StopJobWithSavepoint stops j with a savepoint, drained with drain
// (Flink's STOP JOB ... WITH SAVEPOINT [WITH DRAIN]), writes it under dir
// (exec.WriteSavepoint) and returns the savepoint's path, which
// execution.savepoint.path resumes from. It returns once the job has
// stopped.
func StopJobWithSavepoint(ctx context.Context, j *exec.Job, dir string, drain bool) (string, error) {
	if dir == "" {
		// Flink's message (SchedulerBase.stopWithSavepoint), naming the
		// ways to give a directory here.
		return "", errs.New(errs.ObjectNotInState,
			"No savepoint directory configured. You can either specify a directory while stopping via the HTTP API's targetDirectory "+
				"or configure a default via key '%s' (SET '%s' = '<dir>').", exec.SavepointsDirKey, exec.SavepointsDirKey)
	}
	switch st := j.Status(); st {
	case exec.JobFinished, exec.JobFailed, exec.JobCanceled:
		return "", errs.New(errs.ObjectNotInState, "Could not stop job '%s' with a savepoint: the job has already reached the terminal state %s.", j.ID(), st)
	}
	stop := j.StopWithSavepoint
	if drain {
		stop = j.DrainWithSavepoint
	}
	sp, err := stop(ctx)
	if err != nil {
		var coded *errs.Error
		switch {
		case errors.As(err, &coded):
			return "", err
		case ctx.Err() != nil:
			return "", errs.Wrap(errs.QueryCanceled, err, "Could not stop job '%s' with a savepoint: %v", j.ID(), ctx.Err())
		}
		return "", errs.Wrap(errs.ObjectNotInState, err, "Could not stop job '%s' with a savepoint: %s", j.ID(), strings.TrimPrefix(err.Error(), "exec: "))
	}
	path, err := exec.WriteSavepoint(dir, j.ID(), sp)
	if err != nil {
		return "", errs.Wrap(errs.ConnectorFailure, err, "Could not write the savepoint of job '%s': %s", j.ID(), strings.TrimPrefix(err.Error(), "exec: "))
	}
	if err := exec.CommitSavepoint(sp); err != nil {
		return "", errs.Wrap(errs.ConnectorFailure, err, "The savepoint of job '%s' is at %s, but committing what its sinks wrote failed (resuming from the savepoint commits it): %s",
			j.ID(), path, strings.TrimPrefix(err.Error(), "exec: "))
	}
	return path, nil
}

// savepointPathColumn is the column of Flink's STOP JOB ... WITH SAVEPOINT
// result.
const savepointPathColumn = "savepoint path"

// SavepointResult is the result of STOP JOB ... WITH SAVEPOINT, as Flink's:
// one row, its column `savepoint path`.
func SavepointResult(mem memory.Allocator, path string) *TableResult {
	return StringRows(mem, []string{savepointPathColumn}, [][]*string{{&path}})
}

// SavepointResultSchema is the schema of SavepointResult, which clients
// describe before the statement runs.
func SavepointResultSchema() types.Schema {
	return types.Schema{Columns: []types.Column{{Name: savepointPathColumn, Type: types.StringType}}}
}
