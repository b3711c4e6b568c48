package table

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/sql"
)

// This file implements Flink's compiled plans (FLIP-190): COMPILE PLAN
// writes the job of an INSERT or a statement set to a file, EXECUTE PLAN
// submits the job a file describes without binding or optimizing any SQL,
// and COMPILE AND EXECUTE PLAN does both. A job run from a plan file keeps
// its operators, their order and their state layout whatever the planner,
// the optimizer rules or the catalog have become since, so a savepoint of
// that job restores into another run of the same file.
//
// The file is Eddy's own JSON: the exec.JobGraph the optimizer built (the
// same plain data a remote JobManager receives) inside an envelope naming
// the format and its version. It is not Flink's JSON plan format, and a
// file of another format or version is refused.

// PlanForceRecompile is Flink's table.plan.force-recompile: when true,
// COMPILE PLAN overwrites an existing plan file instead of failing. IF NOT
// EXISTS still leaves an existing file alone, and COMPILE AND EXECUTE PLAN
// always runs an existing file, as in Flink.
const PlanForceRecompile = "table.plan.force-recompile"

// The plan file envelope.
const (
	planFormat = "eddy-compiled-plan"
	// planVersion is the version of the plan file format this Eddy writes
	// and the only one it reads. Change it whenever the JSON of JobGraphs,
	// operator specs or state snapshots stops being readable as before.
	planVersion = 1
)

// compiledPlan is the content of a plan file.
type compiledPlan struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// JobGraph is the job as the optimizer built it, with the SET options
	// of the compiling session in its Config.
	JobGraph *exec.JobGraph `json:"jobGraph"`
}

// runtimeOptionPrefixes are the options a job run from a plan takes from
// the executing session rather than from the plan: how the job is
// checkpointed and restarted, not what its operators compute. Flink's
// plans likewise keep only the options their execution nodes depend on.
var runtimeOptionPrefixes = []string{"execution.checkpointing.", "state.checkpoints.", "restart-strategy."}

// pathAt positions errors about a plan file at its string literal.
type pathAt sql.Pos

func (p pathAt) Position() sql.Pos { return sql.Pos(p) }

// compilePlan runs COMPILE [AND EXECUTE] PLAN.
func (e *Environment) compilePlan(ctx context.Context, src string, s *sql.CompilePlan) (*TableResult, error) {
	path, err := planFilePath(s.Path)
	if err != nil {
		return nil, positioned(src, pathAt(s.PathPos), err)
	}
	_, statErr := os.Stat(path)
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return nil, positioned(src, pathAt(s.PathPos), errs.New(errs.InvalidOption, "plan file '%s': %v", s.Path, statErr))
	}
	if exists {
		// Flink's order: an existing file is reused by IF NOT EXISTS and
		// by COMPILE AND EXECUTE before force-recompile is looked at.
		switch {
		case s.Execute:
			return e.executePlanFile(ctx, src, s.Path, s.PathPos)
		case s.IfNotExists:
			return okResult(), nil
		case !strings.EqualFold(e.Config()[PlanForceRecompile], "true"):
			return nil, positioned(src, pathAt(s.PathPos), errs.New(errs.DuplicateObject,
				"cannot overwrite the plan file '%s': remove the file, use COMPILE PLAN ... IF NOT EXISTS, or (while developing the job) SET '%s' = 'true'",
				s.Path, PlanForceRecompile))
		}
	}
	var inserts []*sql.Insert
	switch st := s.Stmt.(type) {
	case *sql.Insert:
		inserts = []*sql.Insert{st}
	case *sql.StatementSet:
		inserts = st.Inserts
	default:
		return nil, errs.New(errs.InternalError, "COMPILE PLAN of %T: the parser accepts only INSERT and statement sets", s.Stmt)
	}
	g, _, _, _, err := e.planInserts(src, inserts)
	if err != nil {
		return nil, err
	}
	if err := writePlanFile(path, g); err != nil {
		return nil, positioned(src, pathAt(s.PathPos), errs.New(errs.InvalidOption, "writing plan file '%s': %v", s.Path, err))
	}
	if s.Execute {
		return e.runInsertJob(ctx, e.planJob(g))
	}
	return okResult(), nil
}

// executePlanFile runs EXECUTE PLAN of the file at uri (written at pos).
func (e *Environment) executePlanFile(ctx context.Context, src, uri string, pos sql.Pos) (*TableResult, error) {
	path, err := planFilePath(uri)
	if err != nil {
		return nil, positioned(src, pathAt(pos), err)
	}
	g, err := readPlanFile(uri, path)
	if err != nil {
		return nil, positioned(src, pathAt(pos), err)
	}
	return e.runInsertJob(ctx, e.planJob(g))
}

// planJob is the job of a compiled plan as this session runs it: the
// plan's operators and options, with the session's checkpointing and
// restart options and, when set, its pipeline.name.
func (e *Environment) planJob(g *exec.JobGraph) *exec.JobGraph {
	out := *g
	out.Config = make(map[string]string, len(g.Config))
	for k, v := range g.Config {
		if !isRuntimeOption(k) {
			out.Config[k] = v
		}
	}
	for k, v := range e.Config() {
		if isRuntimeOption(k) {
			out.Config[k] = v
		}
		if k == PipelineName && v != "" {
			out.Name = v
		}
	}
	return &out
}

func isRuntimeOption(key string) bool {
	for _, p := range runtimeOptionPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// planFilePath turns a plan file location, a plain path or a file URI
// (file:///p or Flink's file:/p), into a local path.
func planFilePath(loc string) (string, error) {
	if loc == "" {
		return "", errs.New(errs.InvalidOption, "the plan file path is empty")
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme == "" || len(u.Scheme) == 1 {
		// Not a URI (or a Windows drive letter): a plain path.
		return loc, nil
	}
	if !strings.EqualFold(u.Scheme, "file") {
		return "", errs.New(errs.NotSupported, "plan file '%s': only local files (plain paths and file:// URIs) are supported, not %s://", loc, u.Scheme)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", errs.New(errs.NotSupported, "plan file '%s': a file URI must name a local file, not one on host %s", loc, u.Host)
	}
	if u.Path == "" {
		return "", errs.New(errs.InvalidOption, "plan file '%s' has no path", loc)
	}
	return u.Path, nil
}

// writePlanFile writes g's plan to path through a temporary file renamed
// into place, so a failed write never leaves a truncated plan behind.
func writePlanFile(path string, g *exec.JobGraph) error {
	data, err := json.MarshalIndent(compiledPlan{Format: planFormat, Version: planVersion, JobGraph: g}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readPlanFile reads and checks the plan file at path (written uri).
func readPlanFile(uri, path string) (*exec.JobGraph, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.New(errs.UndefinedObject, "plan file '%s' does not exist", uri)
	}
	if err != nil {
		return nil, errs.New(errs.InvalidOption, "reading plan file '%s': %v", uri, err)
	}
	// The envelope first, so that a plan of another version is refused for
	// its version rather than for a job graph this Eddy cannot decode.
	var p struct {
		Format   string          `json:"format"`
		Version  int             `json:"version"`
		JobGraph json.RawMessage `json:"jobGraph"`
	}
	if err := json.Unmarshal(data, &p); err != nil || p.Format != planFormat {
		return nil, errs.New(errs.InvalidPlan, "'%s' is not an Eddy compiled plan (a JSON file written by COMPILE PLAN, with \"format\": %q)", uri, planFormat)
	}
	if p.Version != planVersion {
		return nil, errs.New(errs.InvalidPlan, "plan file '%s' has format version %d, but this Eddy reads only version %d: compile the statement again",
			uri, p.Version, planVersion)
	}
	var g *exec.JobGraph
	if len(p.JobGraph) == 0 {
		return nil, errs.New(errs.InvalidPlan, "plan file '%s' has no job graph", uri)
	}
	if err := json.Unmarshal(p.JobGraph, &g); err != nil {
		return nil, errs.New(errs.InvalidPlan, "plan file '%s' has a malformed job graph: %v", uri, err)
	}
	if g == nil {
		return nil, errs.New(errs.InvalidPlan, "plan file '%s' has no job graph", uri)
	}
	if err := g.Validate(); err != nil {
		return nil, errs.New(errs.InvalidPlan, "plan file '%s' describes an invalid job: %s", uri, strings.TrimPrefix(err.Error(), "exec: "))
	}
	return g, nil
}
