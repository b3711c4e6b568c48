package table

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/planner"
	"github.com/eddysql/eddy/sql"

	// The built-in connectors are part of every environment.
	_ "github.com/eddysql/eddy/table/connector/all"
)

// Mode is the runtime mode of an environment (execution.runtime-mode).
type Mode int

const (
	Streaming Mode = iota
	Batch
)

// Settings configure a new Environment.
type Settings struct {
	Mode Mode
	// JobManagerAddress ("host:port"), when set, runs the jobs on the
	// remote JobManager serving its RPC endpoint there (`eddy server
	// --rpc-addr`), as Flink's remote environment does; the Environment
	// still parses and plans locally over its own catalog. Config's
	// jobmanager.rpc.address (and jobmanager.rpc.port, default 6123) say
	// the same. See remote.go for what cannot run remotely.
	JobManagerAddress string
	// Cluster runs the jobs; nil (and no JobManagerAddress) starts an
	// embedded cluster with TaskManagers × SlotsPerTaskManager slots.
	Cluster *exec.EmbeddedCluster
	// TaskManagers and SlotsPerTaskManager size the embedded cluster
	// (defaults 1 and 16).
	TaskManagers, SlotsPerTaskManager int
	// Mem allocates the Arrow buffers of the embedded cluster, or the
	// result batches received from a remote one (nil: Go).
	Mem memory.Allocator
	// Config holds initial SET options by Flink key.
	Config map[string]string
	// Catalogs are registered in the session's catalog manager, replacing
	// the built-in in-memory catalog of the same name: sessions of one
	// server pass the same catalogs so DDL in one is seen by all, while
	// temporary objects, SET options and the current catalog and database
	// stay per session.
	Catalogs []catalog.Catalog
	// PostgresLiterals types quoted literals compared with numbers as
	// PostgreSQL does (planner.Planner.UnknownLiterals): the PostgreSQL
	// wire protocol's sessions, whose clients send `oid = '16384'`.
	PostgresLiterals bool
}

// Environment is a SQL session, Flink's TableEnvironment: a catalog
// manager, the session's options, and the cluster its jobs run on. It is
// safe for use by one goroutine at a time.
type Environment struct {
	catalog *catalog.Manager
	planner *planner.Planner
	cluster *exec.EmbeddedCluster
	// remote, when set instead of cluster, runs the jobs on a remote
	// JobManager.
	remote *exec.RemoteJobManager
	mem    memory.Allocator

	mu      sync.Mutex
	config  map[string]string
	jobs    []*exec.Job
	queries int
	// restore is the savepoint the next submitted job starts from.
	restore *exec.Savepoint
}

// NewEnvironment creates a session over a fresh in-memory catalog.
func NewEnvironment(s Settings) (*Environment, error) {
	remote, err := dialRemote(s)
	if err != nil {
		return nil, err
	}
	cluster := s.Cluster
	if cluster == nil && remote == nil {
		tms, slots := max(s.TaskManagers, 1), s.SlotsPerTaskManager
		if slots <= 0 {
			slots = 16
		}
		cluster = exec.NewEmbeddedCluster(tms, slots, s.Mem)
	}
	cat := catalog.NewManager()
	for _, c := range s.Catalogs {
		cat.RegisterCatalog(c)
	}
	env := &Environment{
		catalog: cat,
		planner: &planner.Planner{Catalog: cat, UnknownLiterals: s.PostgresLiterals},
		cluster: cluster,
		remote:  remote,
		mem:     s.Mem,
		config:  map[string]string{},
	}
	if env.mem == nil {
		env.mem = memory.NewGoAllocator()
	}
	if s.Mode == Batch {
		env.config[RuntimeMode] = "batch"
	}
	for k, v := range s.Config {
		if err := env.Set(k, v); err != nil {
			env.Close()
			return nil, err
		}
	}
	return env, nil
}

// Close releases the connection to a remote JobManager: the remote jobs
// of queries are cancelled, INSERT jobs keep running there. It does
// nothing for an embedded cluster.
func (e *Environment) Close() error {
	if e.remote == nil {
		return nil
	}
	return e.remote.Close()
}

// Catalog returns the session's catalog manager.
func (e *Environment) Catalog() *catalog.Manager { return e.catalog }

// Set sets a session option, as SQL SET does.
func (e *Environment) Set(key, value string) error {
	if err := validateOption(key, value); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.config[key] = value
	return nil
}

// Reset removes a session option (all options for an empty key).
func (e *Environment) Reset(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if key == "" {
		e.config = map[string]string{}
		return
	}
	delete(e.config, key)
}

// Config returns a copy of the session options.
func (e *Environment) Config() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.config))
	for k, v := range e.config {
		out[k] = v
	}
	return out
}

// RestoreNextJob makes the next job this session submits (an INSERT, a
// statement set or a query) start from sp, a savepoint taken with
// exec.Job.StopWithSavepoint of a job planned from the same statements
// (exec.SubmitOptions.Restore). It applies to that one job.
func (e *Environment) RestoreNextJob(sp *exec.Savepoint) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.restore = sp
}

// submit submits g, restoring it from the savepoint set by RestoreNextJob.
func (e *Environment) submit(ctx context.Context, g *exec.JobGraph) (*exec.Job, error) {
	e.mu.Lock()
	sp := e.restore
	e.restore = nil
	path := e.config[SavepointPath]
	e.mu.Unlock()
	if sp == nil && path != "" {
		var err error
		if sp, err = exec.ReadSavepointFile(strings.TrimPrefix(path, "file://")); err != nil {
			return nil, errs.New(errs.InvalidOption, "%s '%s': %v", SavepointPath, path, strings.TrimPrefix(err.Error(), "exec: "))
		}
	}
	timeout := exec.DefaultSlotRequestTimeout
	if v, ok := e.Config()[exec.SlotRequestTimeoutKey]; ok {
		timeout, _ = connector.ParseDuration(v) // checked by Set
	}
	opts := exec.SubmitOptions{Restore: sp, SlotRequestTimeout: timeout}
	if e.remote != nil {
		return e.submitRemote(ctx, g, opts)
	}
	return e.cluster.JobManager().SubmitWithOptions(ctx, g, opts)
}

// Jobs lists the jobs this session submitted, oldest first.
func (e *Environment) Jobs() []*exec.Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*exec.Job(nil), e.jobs...)
}

// ExecuteSQL parses and runs one statement.
func (e *Environment) ExecuteSQL(ctx context.Context, stmt string) (*TableResult, error) {
	script, err := sql.ParseScript(stmt)
	if err != nil {
		return nil, err
	}
	if len(script.Stmts) != 1 {
		return nil, errs.New(errs.SyntaxError, "ExecuteSQL runs exactly one statement, got %d", len(script.Stmts))
	}
	return e.execute(ctx, script.Source, script.Stmts[0].Stmt)
}

// ExecuteScript runs every statement of a script in order, handing each
// result to fn before the next statement starts; it stops at the first
// error, which carries the statement's position in the script.
func (e *Environment) ExecuteScript(ctx context.Context, text string, fn func(stmt string, r *TableResult) error) error {
	script, err := sql.ParseScript(text)
	if err != nil {
		return err
	}
	for i, st := range script.Stmts {
		r, err := e.execute(ctx, script.Source, st.Stmt)
		if err != nil {
			return err
		}
		if err := fn(script.Text(i), r); err != nil {
			return err
		}
	}
	return nil
}

// Options Eddy understands, by Flink key.
const (
	Parallelism  = "parallelism.default"
	RuntimeMode  = "execution.runtime-mode"
	PipelineName = "pipeline.name"
	DMLSync      = "table.dml-sync"
	StateTTL     = "table.exec.state.ttl"
	// SavepointPath restores every job the session submits from the
	// savepoint or checkpoint there (a checkpoint's chk-<n> directory or
	// its _metadata file), as Flink's SQL client does.
	SavepointPath = "execution.savepoint.path"
	// CDCEventsDuplicate says retract sources may repeat events, which
	// the planner then deduplicates by primary key (ChangelogNormalize).
	CDCEventsDuplicate = "table.exec.source.cdc-events-duplicate"
)

// validateOption checks the values of the options Eddy interprets; other
// keys are kept as given, as Flink's SET does.
func validateOption(key, value string) error {
	switch key {
	case Parallelism:
		var p int
		if _, err := fmt.Sscan(value, &p); err != nil || p < 1 || fmt.Sprint(p) != value {
			return errs.New(errs.InvalidOption, "%s must be a positive integer, not '%s'", key, value)
		}
	case RuntimeMode:
		switch strings.ToLower(value) {
		case "streaming", "batch":
		default:
			return errs.New(errs.InvalidOption, "%s must be 'streaming' or 'batch', not '%s'", key, value)
		}
	case DMLSync, CDCEventsDuplicate, PlanForceRecompile:
		switch strings.ToLower(value) {
		case "true", "false":
		default:
			return errs.New(errs.InvalidOption, "%s must be 'true' or 'false', not '%s'", key, value)
		}
	case StateTTL, exec.SourceIdleTimeoutKey, exec.SlotRequestTimeoutKey:
		if _, err := connector.ParseDuration(value); err != nil {
			return errs.New(errs.InvalidOption, "%s: %v", key, err)
		}
	case exec.MLPredictMaxConcurrentKey, exec.MLPredictTimeoutKey, exec.MLPredictOutputModeKey:
		if _, err := exec.MLPredictOptions(map[string]string{key: value}, nil); err != nil {
			return err
		}
	case exec.BatchSizeKey:
		if _, err := exec.BatchSize(map[string]string{key: value}); err != nil {
			return errs.New(errs.InvalidOption, "%v", err)
		}
	case exec.NotNullEnforcerKey, exec.TypeLengthEnforcerKey, exec.NestedEnforcerKey:
		if _, err := exec.ConstraintEnforcerOptions(map[string]string{key: value}); err != nil {
			return err
		}
	case optimizer.UpsertMaterializeKey:
		if _, err := optimizer.UpsertMaterializeMode(map[string]string{key: value}); err != nil {
			return err
		}
	case optimizer.SinkKeyedShuffleKey:
		if _, err := optimizer.SinkKeyedShuffleMode(map[string]string{key: value}); err != nil {
			return err
		}
	case optimizer.RequireOnConflictKey:
		if _, err := optimizer.RequireOnConflict(map[string]string{key: value}); err != nil {
			return err
		}
	case optimizer.NonDeterministicUpdateKey:
		if _, err := optimizer.TryResolveNonDeterministicUpdates(map[string]string{key: value}); err != nil {
			return err
		}
	default:
		if strings.HasPrefix(key, "execution.checkpointing.") || strings.HasPrefix(key, "restart-strategy.") || strings.HasPrefix(key, "state.checkpoints.") {
			if err := exec.ValidateJobOption(key, value); err != nil {
				return errs.New(errs.InvalidOption, "%v", strings.TrimPrefix(err.Error(), "exec: "))
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
