package optimizer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/planner"
	"github.com/eddysql/eddy/sql"
	_ "github.com/eddysql/eddy/table/connector/all"
	// The values connector declares any changelog mode, for plans over
	// updating sources.
	_ "github.com/eddysql/eddy/table/connector/values"
	_ "github.com/eddysql/eddy/table/model/openai"
)

// TestOpt is the planner test harness. Commands:
//
//	exec-ddl            CREATE TABLE / CREATE VIEW statements
//	build               the bound logical plan of a query or INSERT
//	opt [expect=R,...] [disable=R,...]
//	                    the optimized logical plan; expect= fails unless the
//	                    named rules fired, disable= skips rules
//	build|opt [types]   also the result's column types, time attributes
//	                    included (as DESCRIBE prints them)
//	physical [parallelism=N] [cdc-events-duplicate]
//	                    the physical plan (cdc-events-duplicate sets
//	                    table.exec.source.cdc-events-duplicate)
//	physical [upsert-materialize=M] [keyed-shuffle=M] [not-null-enforcer=E]
//	         [type-length-enforcer=E] [nested-constraint-enforcer=E]
//	                    set table.exec.sink.upsert-materialize,
//	                    table.exec.sink.keyed-shuffle and the sink
//	                    constraint enforcer's options
//	physical [require-on-conflict]
//	                    set table.exec.sink.require-on-conflict (off by
//	                    default here)
//	physical [mini-batch] [agg-phase=AUTO|ONE_PHASE|TWO_PHASE]
//	                    set table.exec.mini-batch.enabled and
//	                    table.optimizer.agg-phase-strategy
//	upsert-keys         the upsert keys of the optimized query
//	changelog           the optimized logical plan with the changelog mode
//	                    of every node, as EXPLAIN CHANGELOG_MODE infers it
//	physical [distinct-agg-split=N]
//	                    split distinct aggregates over N buckets
//	                    (table.optimizer.distinct-agg.split.*)
//	advice [mini-batch] [agg-phase=...]
//	                    the physical plan with EXPLAIN PLAN_ADVICE's advice
//	jobgraph [parallelism=N] [spec=(kind,...)]
//	                    the vertices and edges of the job graph, with the
//	                    JSON specs of the operators of the given kinds
func TestOpt(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		cat := catalog.NewManager()
		p := &planner.Planner{Catalog: cat}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "exec-ddl":
				return execDDL(p, d.Input)
			case "build", "opt", "changelog", "upsert-keys", "physical", "jobgraph", "advice":
				return plan(t, p, d)
			}
			t.Fatalf("unknown command %s", d.Cmd)
			return ""
		})
	})
}

func execDDL(p *planner.Planner, input string) string {
	script, err := sql.ParseScript(input)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	for _, st := range script.Stmts {
		var err error
		switch s := st.Stmt.(type) {
		case *sql.CreateTable:
			var path catalog.Path
			var tbl *catalog.Table
			if path, tbl, err = p.CreateTable(script.Source, s); err == nil {
				err = p.Catalog.Create(path, tbl, s.Temporary, s.IfNotExists)
			}
		case *sql.CreateView:
			var path catalog.Path
			var v *catalog.View
			if path, v, err = p.CreateView(script.Source, s); err == nil {
				err = p.Catalog.Create(path, v, s.Temporary, s.IfNotExists)
			}
		case *sql.CreateModel:
			var path catalog.Path
			var m *catalog.Model
			if path, m, err = p.CreateModel(script.Source, s); err == nil {
				err = p.Catalog.CreateModel(path, m, s.Temporary, s.IfNotExists)
			}
		default:
			err = fmt.Errorf("exec-ddl accepts CREATE TABLE, CREATE VIEW and CREATE MODEL, not %T", s)
		}
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
	}
	return ""
}

func plan(t *testing.T, p *planner.Planner, d *datadriven.TestData) string {
	stmt, err := sql.ParseStatement(d.Input)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var n planner.Node
	// batch binds as execution.runtime-mode = batch does (batch ORDER BY
	// and LIMIT) as well as physicalizing so.
	p.Batch = d.HasArg("batch")
	switch s := stmt.(type) {
	case *sql.QueryStatement:
		n, err = p.PlanQuery(d.Input, s.Query)
	case *sql.Insert:
		n, err = p.PlanInsert(d.Input, s)
	default:
		t.Fatalf("%s wants a query or INSERT, not %T", d.Cmd, s)
	}
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	withTypes := d.HasArg("types")
	if d.Cmd == "build" {
		return planner.Explain(n, false) + columnTypes(n, withTypes)
	}
	opts := optimizer.Options{Disabled: map[string]bool{}, Fired: new([]string)}
	var expect []string
	parallelism := 1
	cdcDuplicate := false
	var cfg optimizer.Config
	sinkOpts := map[string]string{}
	var specKinds []string
	for _, arg := range d.CmdArgs {
		switch arg.Key {
		case "expect":
			expect = arg.Vals
		case "disable":
			for _, v := range arg.Vals {
				opts.Disabled[v] = true
			}
		case "parallelism":
			d.ScanArgs(t, "parallelism", &parallelism)
		case "cdc-events-duplicate":
			cdcDuplicate = true
		case "upsert-materialize":
			cfg.UpsertMaterialize = arg.Vals[0]
		case "keyed-shuffle":
			cfg.SinkKeyedShuffle = arg.Vals[0]
		case "require-on-conflict":
			cfg.RequireOnConflict = true
		case "not-null-enforcer", "type-length-enforcer", "nested-constraint-enforcer":
			sinkOpts["table.exec.sink."+arg.Key] = arg.Vals[0]
		case "distinct-agg-split":
			d.ScanArgs(t, "distinct-agg-split", &cfg.DistinctAggSplitBuckets)
		case "agg-phase":
			cfg.AggPhaseStrategy = arg.Vals[0]
		case "mini-batch":
			cfg.MiniBatch = true
		case "spec":
			specKinds = arg.Vals
		case "batch":
			cfg.Batch = true
		case "types":
		default:
			t.Fatalf("unknown argument %s", arg.Key)
		}
	}
	opt := optimizer.Optimize(n, opts)
	for _, r := range expect {
		if !contains(*opts.Fired, r) {
			t.Errorf("%s: expected rule %s to fire; fired: %v", d.Pos, r, *opts.Fired)
		}
	}
	if d.Cmd == "opt" {
		return planner.Explain(opt, false) + columnTypes(opt, withTypes)
	}
	if d.Cmd == "upsert-keys" {
		// The upsert keys of the optimized query (below its Sink or
		// Collect), by column name.
		in := opt.Children()[0]
		names := in.Schema().Names()
		var b strings.Builder
		for _, k := range optimizer.UpsertKeys(in) {
			cols := make([]string, len(k))
			for i, c := range k {
				cols[i] = names[c]
			}
			fmt.Fprintf(&b, "[%s]\n", strings.Join(cols, ", "))
		}
		if b.Len() == 0 {
			return "none\n"
		}
		return b.String()
	}
	if d.Cmd == "changelog" {
		// The optimized plan with the changelog modes EXPLAIN
		// CHANGELOG_MODE prints.
		modes := optimizer.ChangelogModes(opt, optimizer.SinkTakesUpdateAfterOnly(cfg))
		return planner.ExplainWith(opt, func(n planner.Node) string { return modes[n].String() })
	}
	cfg.Parallelism, cfg.CollectID, cfg.CDCEventsDuplicate = parallelism, "test", cdcDuplicate
	if cfg.SinkConstraints, err = exec.ConstraintEnforcerOptions(sinkOpts); err != nil {
		return "error: " + err.Error() + "\n"
	}
	phys, err := optimizer.Physicalize(opt, cfg)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	if d.Cmd == "physical" {
		return optimizer.ExplainPhysical(phys)
	}
	if d.Cmd == "advice" {
		// EXPLAIN PLAN_ADVICE's plan and advice; mini-batch stands for
		// all three mini-batch options set.
		session := map[string]string{}
		if cfg.MiniBatch {
			session = map[string]string{"table.exec.mini-batch.enabled": "true",
				"table.exec.mini-batch.allow-latency": "1s", "table.exec.mini-batch.size": "100"}
		}
		a := optimizer.AdvisePlan(cfg, session, phys)
		return a.Explain(phys) + "\n" + a.String()
	}
	g, err := optimizer.ToJobGraph("test", nil, phys)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	var b strings.Builder
	for _, v := range g.Vertices {
		fmt.Fprintf(&b, "vertex %d parallelism=%d\n", v.ID, v.Parallelism)
		for _, op := range v.Operators {
			fmt.Fprintf(&b, "  %s: %s\n", op.Kind, op.Name)
			if contains(specKinds, op.Kind) {
				fmt.Fprintf(&b, "    spec: %s\n", op.Spec)
			}
		}
	}
	for _, e := range g.Edges {
		fmt.Fprintf(&b, "edge %d -> %d.%d %s%v\n", e.Source, e.Target, e.TargetInput, e.Partitioning, e.Keys)
	}
	return b.String()
}

// columnTypes lists the columns of n's result with their types when
// wanted, and is empty otherwise.
func columnTypes(n planner.Node, wanted bool) string {
	if !wanted {
		return ""
	}
	var b strings.Builder
	b.WriteString("columns:\n")
	for _, c := range n.Schema().Columns {
		fmt.Fprintf(&b, "  %s %s\n", c.Name, c.Type)
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
