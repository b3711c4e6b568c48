package table

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/eddysql/eddy/catalog"
	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/exec/expr"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/planner"
	"github.com/eddysql/eddy/sql"
)

// execute runs one parsed statement whose positions refer to src.
func (e *Environment) execute(ctx context.Context, src string, stmt sql.Statement) (*TableResult, error) {
	switch s := stmt.(type) {
	case *sql.CreateTable:
		if s.Query != nil {
			return e.createTableAs(ctx, src, s)
		}
		path, t, err := e.planner.CreateTable(src, s)
		if err != nil {
			return nil, err
		}
		return okResult(), e.catalog.Create(path, t, s.Temporary, s.IfNotExists)
	case *sql.CreateView:
		path, v, err := e.planner.CreateView(src, s)
		if err != nil {
			return nil, err
		}
		return okResult(), e.catalog.Create(path, v, s.Temporary, s.IfNotExists)
	case *sql.DropTable:
		return e.drop(src, s.Name, s.Temporary, s.IfExists, false)
	case *sql.DropView:
		return e.drop(src, s.Name, s.Temporary, s.IfExists, true)
	case *sql.Insert:
		return e.runInserts(ctx, src, []*sql.Insert{s})
	case *sql.StatementSet:
		return e.runInserts(ctx, src, s.Inserts)
	case *sql.CompilePlan:
		return e.compilePlan(ctx, src, s)
	case *sql.ExecutePlan:
		return e.executePlanFile(ctx, src, s.Path, s.PathPos)
	case *sql.QueryStatement:
		return e.runQuery(ctx, src, s.Query)
	case *sql.Delete, *sql.Update:
		return e.runModification(ctx, src, stmt)
	case *sql.Set:
		if s.Key == "" {
			cfg := e.Config()
			var rows [][]*string
			for _, k := range sortedKeys(cfg) {
				rows = append(rows, strs(k, cfg[k]))
			}
			return stringRows(e.mem, []string{"key", "value"}, rows), nil
		}
		if err := e.Set(s.Key, s.Value); err != nil {
			return nil, err
		}
		return okResult(), nil
	case *sql.Reset:
		e.Reset(s.Key)
		return okResult(), nil
	case *sql.Use:
		if s.Catalog {
			return okResult(), positioned(src, s.Name, e.catalog.UseCatalog(strings.Join(s.Name.Parts, ".")))
		}
		return okResult(), positioned(src, s.Name, e.catalog.UseDatabase(s.Name.Parts))
	case *sql.Show:
		return e.show(src, s)
	case *sql.Describe:
		if s.Catalog {
			return e.describeCatalog(src, s)
		}
		return e.describe(src, s.Name)
	case *sql.StopJob:
		j, err := e.job(src, s, s.ID)
		if err != nil {
			return nil, err
		}
		if s.WithSavepoint {
			path, err := StopJobWithSavepoint(ctx, j, SavepointDirFor(e.Config(), j), s.WithDrain)
			if err != nil {
				return nil, positioned(src, s, err)
			}
			return SavepointResult(e.mem, path), nil
		}
		j.Cancel()
		return okResult(), nil
	case *sql.DescribeJob:
		j, err := e.job(src, s, s.ID)
		if err != nil {
			return nil, err
		}
		var rows [][]*string
		for _, m := range j.Metrics() {
			rows = append(rows, strs(m.Name, m.Kind, fmt.Sprint(m.Subtasks), fmt.Sprint(m.RecordsIn),
				fmt.Sprint(m.RecordsOut), fmt.Sprint(m.LateRecordsDropped)))
		}
		r := stringRows(e.mem, []string{"operator", "kind", "parallelism", "records in", "records out", "late records dropped"}, rows)
		return r, nil
	case *sql.AlterTable, *sql.AlterView, *sql.CreateDatabase, *sql.DropDatabase, *sql.AlterDatabase,
		*sql.CreateCatalog, *sql.DropCatalog, *sql.Truncate, *sql.AlterCatalog:
		return e.executeDDL(src, stmt)
	case *sql.CreateModel, *sql.DropModel, *sql.AlterModel, *sql.ShowModels, *sql.ShowCreateModel, *sql.DescribeModel:
		return e.executeModel(src, stmt)
	case *sql.Explain:
		text, err := e.explain(src, s)
		if err != nil {
			return nil, err
		}
		r := stringRows(e.mem, []string{"result"}, [][]*string{strs(text)})
		r.Plain = true
		return r, nil
	}
	return nil, errs.New(errs.NotSupported, "statement %T is not supported yet", stmt)
}

func (e *Environment) drop(src string, name sql.ObjectName, temporary, ifExists, view bool) (*TableResult, error) {
	path, err := e.catalog.Qualify(name.Parts)
	if err != nil {
		return nil, err
	}
	obj, err := e.catalog.Get(path)
	if err != nil {
		if ifExists && errs.Is(err, errs.UndefinedTable) {
			return okResult(), nil
		}
		return nil, positioned(src, name, err)
	}
	if _, isView := obj.(*catalog.View); isView != view {
		want, got := "DROP TABLE", "a view"
		if view {
			want, got = "DROP VIEW", "a table"
		}
		return nil, positioned(src, name, errs.New(errs.WrongObjectType, "%s cannot drop %s, which is %s", want, path, got))
	}
	return okResult(), e.catalog.Drop(path, temporary, ifExists)
}

// job finds a job this session submitted by its id.
func (e *Environment) job(src string, n sql.Node, id string) (*exec.Job, error) {
	for _, j := range e.Jobs() {
		if j.ID() == id {
			return j, nil
		}
	}
	return nil, positioned(src, n, errs.New(errs.UndefinedObject, "job '%s' does not exist", id))
}

// positioned gives an unpositioned catalog error the position of n.
func positioned(src string, n sql.Node, err error) error {
	return positionedAt(src, n.Position(), err)
}

// plan binds and optimizes the sinks of INSERT statements into one job graph.
func (e *Environment) planInserts(src string, inserts []*sql.Insert) (*exec.JobGraph, []planner.Node, []planner.Node, []optimizer.PhysicalNode, error) {
	return e.planInsertsWith(src, inserts, e.planner.PlanInsert)
}

// planInsertsWith is planInserts binding each INSERT with bind.
func (e *Environment) planInsertsWith(src string, inserts []*sql.Insert, bind func(string, *sql.Insert) (*planner.Sink, error)) (*exec.JobGraph, []planner.Node, []planner.Node, []optimizer.PhysicalNode, error) {
	cfg := e.Config()
	ocfg, err := optimizerConfig(cfg)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var logical, optimized []planner.Node
	var physical []optimizer.PhysicalNode
	var names []string
	for _, ins := range inserts {
		e.planner.Batch = ocfg.Batch
		e.planner.NonTemporalSort = strings.EqualFold(cfg[planner.NonTemporalSortKey], "true")
		sink, err := bind(src, ins)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		logical = append(logical, sink)
		opt := optimizer.Optimize(sink, optimizer.Options{})
		optimized = append(optimized, opt)
		phys, err := optimizer.Physicalize(opt, ocfg)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		physical = append(physical, phys)
		names = append(names, sink.Path.String())
	}
	name := cfg[PipelineName]
	if name == "" {
		name = "insert-into_" + strings.ReplaceAll(strings.Join(names, ","), "`", "")
	}
	g, err := optimizer.ToJobGraph(name, cfg, physical...)
	return g, logical, optimized, physical, err
}

func (e *Environment) runInserts(ctx context.Context, src string, inserts []*sql.Insert) (*TableResult, error) {
	g, _, _, _, err := e.planInserts(src, inserts)
	if err != nil {
		return nil, err
	}
	return e.runInsertJob(ctx, g)
}

// runInsertJob submits the job of INSERT statements, waiting for it when
// table.dml-sync is set.
func (e *Environment) runInsertJob(ctx context.Context, g *exec.JobGraph) (*TableResult, error) {
	job, err := e.submit(ctx, g)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.jobs = append(e.jobs, job)
	sync := strings.EqualFold(e.config[DMLSync], "true")
	e.mu.Unlock()
	if sync {
		if err := job.Wait(ctx); err != nil {
			return nil, err
		}
	}
	return &TableResult{Kind: Success, Job: job, Message: "Job ID: " + job.ID()}, nil
}

func (e *Environment) planQuery(src string, q *sql.Query, collectID string) (planner.Node, planner.Node, optimizer.PhysicalNode, error) {
	e.syncPlannerMode()
	logical, err := e.planner.PlanQuery(src, q)
	if err != nil {
		return nil, nil, nil, err
	}
	opt, phys, err := e.optimizePlan(logical, collectID) // shared with the Table API (api_run.go)
	return logical, opt, phys, err
}

// optimizerConfig reads the session options physical planning needs.
func optimizerConfig(cfg map[string]string) (optimizer.Config, error) {
	par, err := optimizer.ParallelismFromOptions(cfg)
	if err != nil {
		return optimizer.Config{}, err
	}
	oc := optimizer.Config{Parallelism: par, Batch: strings.EqualFold(cfg[RuntimeMode], "batch")}
	if oc.SinkConstraints, err = exec.ConstraintEnforcerOptions(cfg); err != nil {
		return oc, err
	}
	if oc.UpsertMaterialize, err = optimizer.UpsertMaterializeMode(cfg); err != nil {
		return oc, err
	}
	if oc.SinkKeyedShuffle, err = optimizer.SinkKeyedShuffleMode(cfg); err != nil {
		return oc, err
	}
	if oc.RequireOnConflict, err = optimizer.RequireOnConflict(cfg); err != nil {
		return oc, err
	}
	oc.CDCEventsDuplicate = strings.EqualFold(cfg[CDCEventsDuplicate], "true")
	if oc.TryResolveNonDeterministicUpdates, err = optimizer.TryResolveNonDeterministicUpdates(cfg); err != nil {
		return oc, err
	}
	if oc.DistinctAggSplitBuckets, err = optimizer.DistinctAggSplitBuckets(cfg); err != nil {
		return oc, err
	}
	if oc.AggPhaseStrategy, err = optimizer.AggPhaseStrategy(cfg); err != nil {
		return oc, err
	}
	// Invalid mini-batch options fail the operators that read them
	// (exec.MiniBatchOptions), not queries that do not aggregate.
	if size, _, err := exec.MiniBatchOptions(cfg); err == nil {
		oc.MiniBatch = size > 0
	}
	if v, ok := cfg[StateTTL]; ok {
		d, err := connector.ParseDuration(v)
		if err != nil {
			return oc, errs.New(errs.InvalidOption, "%s: %v", StateTTL, err)
		}
		oc.StateTTLMillis = d.Milliseconds()
	}
	return oc, nil
}

func (e *Environment) runQuery(ctx context.Context, src string, q *sql.Query) (*TableResult, error) {
	id := e.nextQueryID()
	_, _, phys, err := e.planQuery(src, q, id)
	if err != nil {
		return nil, err
	}
	return e.submitQuery(ctx, phys, id) // shared with the Table API (api_run.go)
}

// explain prints the plans of a query or INSERT like Flink's EXPLAIN: the
// bound logical plan, the optimized logical plan and the physical plan,
// with the details the statement asks for (explainDetails).
func (e *Environment) explain(src string, s *sql.Explain) (string, error) {
	switch s.Stmt.(type) {
	case *sql.Delete, *sql.Update:
		if len(s.Details) > 0 {
			return "", positionedAt(src, detailPos(s, 0), errs.New(errs.NotSupported,
				"EXPLAIN %s of DELETE or UPDATE is not supported: the statement runs in its connector, without a job", s.Details[0]))
		}
		return e.explainModification(src, s.Stmt)
	}
	var d explainDetails
	for i, detail := range s.Details {
		switch detail {
		case "CHANGELOG_MODE":
			d.changelog = true
		case "PLAN_ADVICE":
			d.advice = true
		case "JSON_EXECUTION_PLAN":
			d.json = true
		case "ESTIMATED_COST":
			// Flink prints the cost of every node from its cost model;
			// there is nothing true to print here.
			return "", positionedAt(src, detailPos(s, i), errs.New(errs.NotSupported,
				"EXPLAIN ESTIMATED_COST is not supported: Eddy's optimizer is rule-based and keeps no cost estimates"))
		default:
			return "", errs.New(errs.NotSupported, "EXPLAIN detail %s is not supported", detail)
		}
	}
	if d.advice && strings.EqualFold(e.Config()[RuntimeMode], "batch") {
		i := slices.Index(s.Details, "PLAN_ADVICE")
		return "", positionedAt(src, detailPos(s, i), errs.New(errs.NotSupported, "EXPLAIN PLAN_ADVICE is not supported under batch mode"))
	}
	var logical, optimized []planner.Node
	var physical []optimizer.PhysicalNode
	var graph *exec.JobGraph
	var err error
	switch st := s.Stmt.(type) {
	case *sql.QueryStatement:
		l, o, p, err := e.planQuery(src, st.Query, "explain")
		if err != nil {
			return "", err
		}
		logical, optimized, physical = []planner.Node{l}, []planner.Node{o}, []optimizer.PhysicalNode{p}
		if d.json {
			if graph, err = e.queryJobGraph(p); err != nil {
				return "", err
			}
		}
	case *sql.Insert:
		graph, logical, optimized, physical, err = e.planInserts(src, []*sql.Insert{st})
	case *sql.StatementSet:
		graph, logical, optimized, physical, err = e.planInserts(src, st.Inserts)
	case *sql.CreateTable:
		graph, logical, optimized, physical, err = e.planCreateTableAs(src, st)
	default:
		return "", errs.New(errs.NotSupported, "EXPLAIN of %T is not supported", s.Stmt)
	}
	if err != nil {
		return "", err
	}
	if d.json {
		d.graph = graph
	}
	return e.explainPlans(logical, optimized, physical, d)
}

// detailPos is the position of detail i of an EXPLAIN, or the
// statement's for an Explain built without positions.
func detailPos(s *sql.Explain, i int) sql.Pos {
	if i < len(s.DetailPos) {
		return s.DetailPos[i]
	}
	return s.Pos
}

// positionedAt gives an unpositioned error the position pos of src.
func positionedAt(src string, pos sql.Pos, err error) error {
	if pe, ok := err.(*errs.Error); ok && pe.Line == 0 {
		pe.Offset = int(pos)
		pe.Line, pe.Col = sql.LineCol(src, pos)
	}
	return err
}

func (e *Environment) show(src string, s *sql.Show) (*TableResult, error) {
	list := func(col string, names []string) *TableResult {
		var rows [][]*string
		for _, n := range names {
			if s.Like == nil || s.Like.Match(n) {
				rows = append(rows, strs(n))
			}
		}
		return stringRows(e.mem, []string{col}, rows)
	}
	cat, db := e.catalog.Current()
	// FROM|IN names the database (the catalog, for SHOW DATABASES) to list.
	if s.What == sql.ShowPartitions {
		return e.showPartitions(src, s)
	}
	if len(s.Name.Parts) > 0 && s.What != sql.ShowColumns && s.What != sql.ShowCreateTable && s.What != sql.ShowCreateView && s.What != sql.ShowCreateCatalog {
		if s.What == sql.ShowDatabases {
			cat = s.Name.Parts[0]
		} else {
			c, d, err := e.databaseOf(s.Name)
			if err == nil && !c.DatabaseExists(d) {
				err = errs.New(errs.UndefinedDatabase, "database %s does not exist in catalog %s", quoteName(d), quoteName(c.Name()))
			}
			if err != nil {
				return nil, positioned(src, s.Name, err)
			}
			cat, db = c.Name(), d
		}
	}
	switch s.What {
	case sql.ShowTables, sql.ShowViews:
		wantView := s.What == sql.ShowViews
		names, err := e.catalog.ListIn(cat, db, func(o catalog.Object) bool {
			_, isView := o.(*catalog.View)
			return isView == wantView
		})
		if err != nil {
			return nil, err
		}
		col := "table name"
		if wantView {
			col = "view name"
		}
		return list(col, names), nil
	case sql.ShowFunctions:
		names := expr.Names()
		if s.User {
			// SHOW USER FUNCTIONS leaves the built-in (core module)
			// functions out.
			var user []string
			for _, n := range names {
				if expr.IsUserFunction(n) {
					user = append(user, n)
				}
			}
			names = user
		}
		return list("function name", names), nil
	case sql.ShowProcedures:
		// No catalog of Eddy's has stored procedures.
		return list("procedure name", nil), nil
	case sql.ShowModules:
		// Eddy's built-in functions are Flink's 'core' module, the only
		// module loaded and used.
		if s.Full {
			return stringRows(e.mem, []string{"module name", "used"}, [][]*string{strs("core", "TRUE")}), nil
		}
		return list("module name", []string{"core"}), nil
	case sql.ShowCatalogs:
		return list("catalog name", e.catalog.Catalogs()), nil
	case sql.ShowCreateCatalog:
		d, err := e.catalogDescriptor(src, s.Name)
		if err != nil {
			return nil, err
		}
		return list("result", []string{showCreateCatalog(s.Name.Parts[0], d)}), nil
	case sql.ShowDatabases:
		c, err := e.catalog.Catalog(cat)
		if err != nil {
			return nil, positioned(src, s.Name, err)
		}
		return list("database name", c.ListDatabases()), nil
	case sql.ShowCurrentCatalog:
		return list("current catalog name", []string{cat}), nil
	case sql.ShowCurrentDatabase:
		return list("current database name", []string{db}), nil
	case sql.ShowColumns:
		return e.describeMatching(src, s.Name, s.Like)
	case sql.ShowCreateTable, sql.ShowCreateView:
		path, err := e.catalog.Qualify(s.Name.Parts)
		if err != nil {
			return nil, err
		}
		obj, err := e.catalog.Get(path)
		if err != nil {
			return nil, positioned(src, s.Name, err)
		}
		return list("result", []string{showCreate(path, obj)}), nil
	case sql.ShowJobs:
		var rows [][]*string
		for _, j := range e.Jobs() {
			rows = append(rows, strs(j.ID(), j.Name(), string(j.Status())))
		}
		return stringRows(e.mem, []string{"job id", "job name", "status"}, rows), nil
	}
	return nil, errs.New(errs.NotSupported, "SHOW %s is not supported yet", s.What)
}

// describe lists a table's or view's columns the way Flink's DESCRIBE does.
func (e *Environment) describe(src string, name sql.ObjectName) (*TableResult, error) {
	return e.describeMatching(src, name, nil)
}

// describeMatching is describe of the columns whose names match like (all
// when nil), for SHOW COLUMNS ... LIKE.
func (e *Environment) describeMatching(src string, name sql.ObjectName, like *sql.ShowLike) (*TableResult, error) {
	path, err := e.catalog.Qualify(name.Parts)
	if err != nil {
		return nil, err
	}
	obj, err := e.catalog.Get(path)
	if err != nil {
		return nil, positioned(src, name, err)
	}
	var rows [][]*string
	t, _ := obj.(*catalog.Table)
	for _, c := range obj.Schema().Columns {
		if like != nil && !like.Match(c.Name) {
			continue
		}
		null := "TRUE"
		if !c.Type.Nullable() {
			null = "FALSE"
		}
		row := []*string{strPtr(c.Name), strPtr(c.Type.WithNullable(true).String()), strPtr(null), nil, nil, nil}
		if t != nil {
			for _, k := range t.PrimaryKey {
				if k == c.Name {
					row[3] = strPtr(fmt.Sprintf("PRI(%s)", strings.Join(t.PrimaryKey, ", ")))
				}
			}
			for _, tc := range t.Columns {
				if tc.Name == c.Name && tc.Kind == catalog.Computed {
					row[4] = strPtr("AS " + tc.Expr)
				}
				if tc.Name == c.Name && tc.Kind == catalog.Metadata {
					extra := "METADATA FROM '" + tc.MetadataKey + "'"
					if tc.Virtual {
						extra += " VIRTUAL"
					}
					row[4] = strPtr(extra)
				}
			}
			if t.Watermark != nil && t.Watermark.Column == c.Name {
				row[5] = strPtr(t.Watermark.Expr)
			}
		}
		rows = append(rows, row)
	}
	return stringRows(e.mem, []string{"name", "type", "null", "key", "extras", "watermark"}, rows), nil
}

func strPtr(s string) *string { return &s }

// showCreate prints the DDL of a catalog object.
func showCreate(path catalog.Path, obj catalog.Object) string {
	var b strings.Builder
	switch o := obj.(type) {
	case *catalog.View:
		fmt.Fprintf(&b, "CREATE VIEW %s AS\n%s\n", path, o.Query)
	case *catalog.Table:
		fmt.Fprintf(&b, "CREATE TABLE %s (\n", path)
		var lines []string
		for _, c := range o.Columns {
			var line string
			if c.Kind == catalog.Computed {
				line = fmt.Sprintf("  `%s` AS %s", c.Name, c.Expr)
			} else if c.Kind == catalog.Metadata {
				line = fmt.Sprintf("  `%s` %s METADATA FROM '%s'", c.Name, c.Type.WithTimeAttr(0), c.MetadataKey)
				if c.Virtual {
					line += " VIRTUAL"
				}
			} else {
				line = fmt.Sprintf("  `%s` %s", c.Name, c.Type.WithTimeAttr(0))
			}
			if c.Comment != "" {
				line += fmt.Sprintf(" COMMENT '%s'", strings.ReplaceAll(c.Comment, "'", "''"))
			}
			lines = append(lines, line)
		}
		if o.Watermark != nil {
			lines = append(lines, fmt.Sprintf("  WATERMARK FOR `%s` AS %s", o.Watermark.Column, o.Watermark.Expr))
		}
		if len(o.PrimaryKey) > 0 {
			lines = append(lines, fmt.Sprintf("  PRIMARY KEY (`%s`) NOT ENFORCED", strings.Join(o.PrimaryKey, "`, `")))
		}
		b.WriteString(strings.Join(lines, ",\n"))
		// Flink's ShowCreateUtil prints each clause after the column
		// list on a line of its own.
		b.WriteString("\n)\n")
		if o.Comment != "" {
			fmt.Fprintf(&b, "COMMENT '%s'\n", strings.ReplaceAll(o.Comment, "'", "''"))
		}
		if d := o.Distribution; d != nil {
			b.WriteString("DISTRIBUTED")
			if len(d.Keys) > 0 {
				fmt.Fprintf(&b, " BY %s(`%s`)", d.Kind, strings.Join(d.Keys, "`, `"))
			}
			if d.Buckets > 0 {
				fmt.Fprintf(&b, " INTO %d BUCKETS", d.Buckets)
			}
			b.WriteString("\n")
		}
		if len(o.PartitionKeys) > 0 {
			fmt.Fprintf(&b, "PARTITIONED BY (`%s`)\n", strings.Join(o.PartitionKeys, "`, `"))
		}
		b.WriteString("WITH (\n")
		var opts []string
		for _, k := range sortedKeys(o.Options) {
			opts = append(opts, fmt.Sprintf("  '%s' = '%s'", k, strings.ReplaceAll(o.Options[k], "'", "''")))
		}
		b.WriteString(strings.Join(opts, ",\n"))
		b.WriteString("\n)\n")
	}
	return b.String()
}
