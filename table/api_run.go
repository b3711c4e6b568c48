package table

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/catalog/types"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/planner"
)

// This file runs plans built by SQL and by the Table API alike: the
// optimize → physicalize → job graph → submit → collect path of a query,
// and the EXPLAIN printer.

// optimizePlan optimizes a bound logical plan (rooted at a Collect or a
// Sink) and physicalizes it with the session's options; a Collect's result
// stream is named collectID.
func (e *Environment) optimizePlan(logical planner.Node, collectID string) (planner.Node, optimizer.PhysicalNode, error) {
	ocfg, err := optimizerConfig(e.Config())
	if err != nil {
		return nil, nil, err
	}
	ocfg.CollectID = collectID
	opt := optimizer.Optimize(logical, optimizer.Options{})
	phys, err := optimizer.Physicalize(opt, ocfg)
	return opt, phys, err
}

// nextQueryID names the result stream of the session's next query.
func (e *Environment) nextQueryID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queries++
	return fmt.Sprintf("query-%d", e.queries)
}

// submitQuery runs the physical plan of a query (rooted at its collect,
// whose stream is id) and returns its streaming result.
func (e *Environment) submitQuery(ctx context.Context, phys optimizer.PhysicalNode, id string) (*TableResult, error) {
	g, err := e.queryJobGraph(phys)
	if err != nil {
		return nil, err
	}
	job, err := e.submit(ctx, g)
	if err != nil {
		return nil, err
	}
	stream, err := job.Results(id)
	if err != nil {
		job.Cancel()
		return nil, err
	}
	e.mu.Lock()
	e.jobs = append(e.jobs, job)
	e.mu.Unlock()
	collect := phys.(*optimizer.StreamCollect)
	return &TableResult{Kind: SuccessWithContent, Schema: phys.Schema(), Job: job, stream: stream,
		Changelog: collect.Changelog, limit: resultLimit(collect)}, nil
}

// queryJobGraph is the job graph of a query's physical plan (rooted at its
// collect), named by pipeline.name.
func (e *Environment) queryJobGraph(phys optimizer.PhysicalNode) (*exec.JobGraph, error) {
	cfg := e.Config()
	name := cfg[PipelineName]
	if name == "" {
		name = "collect"
	}
	return optimizer.ToJobGraph(name, cfg, phys)
}

// resultLimit is the number of rows after which a query's result is
// complete: its LIMIT, when the query ends in one. An unbounded input
// never ends on its own, so the result stops there and cancels the job.
func resultLimit(c *optimizer.StreamCollect) int64 {
	in := c.Input
	if ex, ok := in.(*optimizer.StreamExchange); ok {
		in = ex.Input
	}
	if l, ok := in.(*optimizer.StreamLimit); ok && !c.Changelog && l.Logical.Limit >= 0 {
		return l.Logical.Limit
	}
	return -1
}

// explainDetails are the EXPLAIN details that add to the plans.
type explainDetails struct {
	// changelog (CHANGELOG_MODE) prints each optimized node's changelog
	// mode.
	changelog bool
	// advice (PLAN_ADVICE) prints the physical plan with Flink's plan
	// advice (optimizer.AdvisePlan).
	advice bool
	// json (JSON_EXECUTION_PLAN) appends graph, the job graph the
	// statement would run, as Flink's JSON execution plan.
	json  bool
	graph *exec.JobGraph
}

// explainPlans prints plans like Flink's EXPLAIN: the bound logical plan,
// the optimized logical plan, the physical plan (with advice for
// PLAN_ADVICE) and, for JSON_EXECUTION_PLAN, the job graph as JSON.
func (e *Environment) explainPlans(logical, optimized []planner.Node, physical []optimizer.PhysicalNode, d explainDetails) (string, error) {
	cfg := e.Config()
	ocfg, err := optimizerConfig(cfg)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("== Abstract Syntax Tree ==\n")
	for _, n := range logical {
		b.WriteString(planner.Explain(n, false))
	}
	b.WriteString("\n== Optimized Logical Plan ==\n")
	for _, n := range optimized {
		if !d.changelog {
			b.WriteString(planner.Explain(n, false))
			continue
		}
		modes := optimizer.ChangelogModes(n, optimizer.SinkTakesUpdateAfterOnly(ocfg))
		b.WriteString(planner.ExplainWith(n, func(n planner.Node) string { return modes[n].String() }))
	}
	if d.advice {
		advice := optimizer.AdvisePlan(ocfg, cfg, physical...)
		b.WriteString("\n== Physical Plan With Advice ==\n")
		for _, n := range physical {
			b.WriteString(advice.Explain(n))
		}
		b.WriteString("\n" + advice.String())
	} else {
		b.WriteString("\n== Physical Plan ==\n")
		for _, n := range physical {
			b.WriteString(optimizer.ExplainPhysical(n))
		}
	}
	if d.json {
		if d.graph == nil {
			return "", errs.Internalf("EXPLAIN JSON_EXECUTION_PLAN without a job graph")
		}
		plan, err := d.graph.ExecutionPlanJSON()
		if err != nil {
			return "", errs.Wrap(errs.InternalError, err, "printing the execution plan")
		}
		b.WriteString("\n== Physical Execution Plan ==\n" + plan + "\n")
	}
	return b.String(), nil
}

// Explain prints the table's plans as EXPLAIN SELECT does.
func (t *Table) Explain() (string, error) {
	if err := t.Err(); err != nil {
		return "", err
	}
	logical := &planner.Collect{Input: t.node}
	opt, phys, err := t.env.optimizePlan(logical, "explain")
	if err != nil {
		return "", err
	}
	return t.env.explainPlans([]planner.Node{logical}, []planner.Node{opt}, []optimizer.PhysicalNode{phys}, explainDetails{})
}

// OptimizedPlan prints the optimized logical plan only (the middle section
// of Explain), for comparing plans.
func (t *Table) OptimizedPlan() (string, error) {
	if err := t.Err(); err != nil {
		return "", err
	}
	opt, _, err := t.env.optimizePlan(&planner.Collect{Input: t.node}, "explain")
	if err != nil {
		return "", err
	}
	return planner.Explain(opt, false), nil
}

// Execute runs the table as a query and returns its rows as they arrive:
// the iterator ends for a bounded query and streams for an unbounded one
// until ctx ends or Close.
func (t *Table) Execute(ctx context.Context) (*Result, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	id := t.env.nextQueryID()
	_, phys, err := t.env.optimizePlan(&planner.Collect{Input: t.node}, id)
	if err != nil {
		return nil, err
	}
	tr, err := t.env.submitQuery(ctx, phys, id)
	if err != nil {
		return nil, err
	}
	return &Result{tr: tr}, nil
}

// ExecuteInsert writes the table into the catalog table sink (INSERT INTO
// sink SELECT * FROM t) and returns the running job.
func (t *Table) ExecuteInsert(ctx context.Context, sink string) (*JobClient, error) {
	if err := t.Err(); err != nil {
		return nil, err
	}
	t.env.syncPlannerMode()
	s, err := t.env.planner.PlanSink(splitPath(sink), t.node)
	if err != nil {
		return nil, opError("ExecuteInsert", err)
	}
	_, phys, err := t.env.optimizePlan(s, "")
	if err != nil {
		return nil, err
	}
	cfg := t.env.Config()
	name := cfg[PipelineName]
	if name == "" {
		name = "insert-into_" + strings.ReplaceAll(s.Path.String(), "`", "")
	}
	g, err := optimizer.ToJobGraph(name, cfg, phys)
	if err != nil {
		return nil, err
	}
	job, err := t.env.submit(ctx, g)
	if err != nil {
		return nil, err
	}
	t.env.mu.Lock()
	t.env.jobs = append(t.env.jobs, job)
	t.env.mu.Unlock()
	return &JobClient{job: job}, nil
}

// JobClient is the handle of a running job (Flink's JobClient).
type JobClient struct{ job *exec.Job }

// ID is the job's identifier.
func (j *JobClient) ID() string { return j.job.ID() }

// Status is the job's state: RUNNING, FINISHED, FAILED, CANCELED...
func (j *JobClient) Status() exec.JobStatus { return j.job.Status() }

// Wait blocks until the job ends: nil when it finished, its failure, or
// exec.ErrJobCanceled. An unbounded job ends only by failure or Cancel.
func (j *JobClient) Wait(ctx context.Context) error { return j.job.Wait(ctx) }

// Cancel stops the job without waiting.
func (j *JobClient) Cancel() { j.job.Cancel() }

// Job is the runtime's handle.
func (j *JobClient) Job() *exec.Job { return j.job }

// Row is one changelog row of a Result: its kind (+I, -U, +U, -D) and
// its values as Go values: bool, int8, int16, int32, int64, float32,
// float64, string (CHAR, VARCHAR and DECIMAL as its exact text), []byte,
// time.Time (DATE, TIMESTAMP; UTC), time.Duration (TIME of day, DAY-TIME
// intervals), int32 months (YEAR-MONTH intervals), nil for NULL.
type Row struct {
	Kind   connector.RowKind
	Values []any
}

func (r Row) String() string { return fmt.Sprintf("%s%v", r.Kind, r.Values) }

// Result iterates over the rows of a running query. Read it to io.EOF or
// Close it; Close cancels the query's job.
type Result struct {
	tr    *TableResult
	batch arrow.RecordBatch
	row   int
}

// Schema is the result's columns.
func (r *Result) Schema() types.Schema { return r.tr.Schema }

// Changelog reports whether rows other than inserts may arrive (a
// streaming aggregation's updates).
func (r *Result) Changelog() bool { return r.tr.Changelog }

// Job is the query's job.
func (r *Result) Job() *JobClient { return &JobClient{job: r.tr.Job} }

// NextBatch returns the next Arrow record batch, owned by the caller, or
// io.EOF: zero-copy access for vectorized consumers. A changelog result's
// batches carry connector.RowKindColumn last. Mixing Next and NextBatch
// is allowed: NextBatch then returns the rest of a partly read batch.
func (r *Result) NextBatch(ctx context.Context) (arrow.RecordBatch, error) {
	if r.batch != nil {
		b := r.batch
		r.batch = nil
		if r.row == 0 {
			return b, nil
		}
		rest := b.NewSlice(int64(r.row), b.NumRows())
		b.Release()
		return rest, nil
	}
	for {
		b, err := r.tr.Next(ctx)
		if err != nil {
			return nil, err
		}
		if b.NumRows() > 0 {
			return b, nil
		}
		b.Release()
	}
}

// Next returns the next row or io.EOF.
func (r *Result) Next(ctx context.Context) (Row, error) {
	for r.batch == nil || r.row >= int(r.batch.NumRows()) {
		if r.batch != nil {
			r.batch.Release()
			r.batch = nil
		}
		b, err := r.NextBatch(ctx)
		if err != nil {
			return Row{}, err
		}
		r.batch, r.row = b, 0
	}
	schema := r.tr.Schema
	row := Row{Values: make([]any, schema.Len())}
	for c := range row.Values {
		row.Values[c] = goValue(r.batch.Column(c), r.row, schema.Columns[c].Type)
	}
	if int(r.batch.NumCols()) > schema.Len() {
		row.Kind = connector.RowKind(r.batch.Column(schema.Len()).(interface{ Value(int) int8 }).Value(r.row))
	}
	r.row++
	return row, nil
}

// All reads every remaining row (for bounded queries) and closes r.
func (r *Result) All(ctx context.Context) ([]Row, error) {
	defer r.Close()
	var rows []Row
	for {
		row, err := r.Next(ctx)
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
}

// Close releases what is buffered and cancels the query's job.
func (r *Result) Close() {
	if r.batch != nil {
		r.batch.Release()
		r.batch = nil
	}
	r.tr.Close()
}
