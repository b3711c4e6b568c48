package conformance_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

var (
	rewrite = flag.Bool("rewrite", false, "rewrite expectations.txt with the programs that fail now")
	only    = flag.String("program", "", "run only programs whose key contains this text, and print why they fail")
)

const (
	dataDir          = "testdata/flink"
	expectationsFile = "expectations.txt"
	// unstablePrefix starts the reason of a program whose outcome varies
	// from run to run; such a program may pass without failing the test.
	unstablePrefix = "unstable: "
	// programTimeout bounds one program, both phases; a program that takes
	// longer fails with "timeout" and its jobs are cancelled.
	programTimeout = 20 * time.Second
	// timeStep is how far letTimePass moves processing time at a time:
	// less than the shortest window slide, session gap or interval bound
	// of the programs, so that results come in the order the wall clock
	// would bring them.
	timeStep = 2 * time.Second
	// maxIdleTime bounds the processing time letTimePass lets pass.
	maxIdleTime = 2 * time.Minute
	// drainTimeout bounds how long letTimePass waits for the records in
	// flight to arrive before it moves processing time anyway.
	drainTimeout = time.Second
	// restoreGap is how much later than its savepoint a timed program is
	// restored: Flink's restore tests run from savepoints generated long
	// before, so state with a TTL has expired and processing-time interval
	// joins no longer match the rows from before the restore. It exceeds
	// every TTL the programs declare.
	restoreGap = 30 * 24 * time.Hour
)

// The JSON layout of testdata/flink (its README documents it).
type file struct {
	Group    string    `json:"group"`
	Programs []program `json:"programs"`
}

type program struct {
	ID             string            `json:"id"`
	Config         map[string]string `json:"config"`
	SetupSQL       []string          `json:"setup_sql"`
	Sources        []source          `json:"sources"`
	Sinks          []sink            `json:"sinks"`
	SQL            []string          `json:"sql"`
	StatementSet   bool              `json:"statement_set"`
	ExpectedErrors []*expectedError  `json:"expected_errors"`
	Runners        []string          `json:"runners"`
	JavaField      string            `json:"java_field"`
}

type expectedError struct {
	Exception string `json:"exception"`
	Message   string `json:"message"`
}

type source struct {
	Name            string            `json:"name"`
	Schema          []string          `json:"schema"`
	Options         map[string]string `json:"options"`
	PartitionKeys   []string          `json:"partition_keys"`
	Distribution    string            `json:"distribution"`
	RowsBefore      [][]any           `json:"rows_before_restore"`
	RowsAfter       [][]any           `json:"rows_after_restore"`
	AlreadyConsumed bool              `json:"before_restore_rows_already_consumed"`
}

type sink struct {
	Name                 string            `json:"name"`
	Schema               []string          `json:"schema"`
	Options              map[string]string `json:"options"`
	PartitionKeys        []string          `json:"partition_keys"`
	Distribution         string            `json:"distribution"`
	ExpectedBefore       []string          `json:"expected_before_restore"`
	ExpectedAfter        []string          `json:"expected_after_restore"`
	Compare              string            `json:"compare"`
	ExpectedMaterialized []string          `json:"expected_materialized"`
	DedupFields          []int             `json:"deduplicated_field_indices"`
}

// loaded is a program with its key ("stream/Class.FIELD") and group.
type loaded struct {
	key, group string
	p          program
}

func loadPrograms(t *testing.T) []loaded {
	var out []loaded
	paths, err := filepath.Glob(filepath.Join(dataDir, "*", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no programs under %s: %v", dataDir, err)
	}
	sort.Strings(paths)
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var f file
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		dir := filepath.Base(filepath.Dir(path))
		for _, p := range f.Programs {
			out = append(out, loaded{key: dir + "/" + p.JavaField, group: f.Group, p: p})
		}
	}
	return out
}

// readExpectations reads the known failures: "key  reason" per line, '#'
// comments.
func readExpectations(t *testing.T) map[string]string {
	out := map[string]string{}
	f, err := os.Open(expectationsFile)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, reason, _ := strings.Cut(line, " ")
		out[key] = strings.TrimSpace(reason)
	}
	return out
}

// TestFlinkConformance runs every program of testdata/flink and checks the
// outcome against expectations.txt: a listed program must fail (the list
// only shrinks), an unlisted one must pass.
func TestFlinkConformance(t *testing.T) {
	programs := loadPrograms(t)
	applyUpstreamFixes(t, programs)
	known := readExpectations(t)
	type outcome struct {
		key, group string
		err        error
	}
	var outcomes []outcome
	start := time.Now()
	for _, l := range programs {
		if *only != "" && !strings.Contains(l.key, *only) {
			continue
		}
		outcomes = append(outcomes, outcome{l.key, l.group, runWithTimeout(l.p)})
	}

	passed, failed, skipped := 0, 0, 0
	type groupCount struct{ pass, total int }
	groups := map[string]*groupCount{}
	var rewritten []string
	seen := map[string]bool{}
	for _, o := range outcomes {
		seen[o.key] = true
		g := groups[o.group]
		if g == nil {
			g = &groupCount{}
			groups[o.group] = g
		}
		g.total++
		reason, listed := known[o.key]
		// Programs whose outcome depends on thread scheduling or the wall
		// clock (lookup tables read by a separate source, processing time)
		// are listed as unstable: passing does not fail the test.
		unstable := strings.HasPrefix(reason, unstablePrefix)
		switch {
		case o.err == nil && !listed, o.err == nil && unstable:
			passed++
			g.pass++
		case o.err == nil && listed:
			passed++
			g.pass++
			if !*rewrite {
				t.Errorf("%s passes now: remove it from %s (it was listed: %s)", o.key, expectationsFile, reason)
			}
		case listed:
			skipped++
		default:
			failed++
			if !*rewrite {
				t.Errorf("%s fails: %s", o.key, oneLine(o.err))
			}
		}
		switch {
		case unstable && o.err == nil:
			rewritten = append(rewritten, o.key+"  "+reason)
		case unstable:
			rewritten = append(rewritten, o.key+"  "+unstablePrefix+strings.TrimPrefix(oneLine(o.err), unstablePrefix))
		case o.err != nil:
			rewritten = append(rewritten, o.key+"  "+oneLine(o.err))
		}
		if o.err != nil {
			if *only != "" {
				t.Logf("%s: %v", o.key, o.err)
			}
		}
	}
	if *only == "" {
		for key := range known {
			if !seen[key] {
				t.Errorf("%s is listed in %s but is no program", key, expectationsFile)
			}
		}
	}
	if *rewrite && *only == "" {
		writeExpectations(t, rewritten)
	}
	var names []string
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		t.Logf("%-45s %3d/%3d", g, groups[g].pass, groups[g].total)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
	fmt.Printf("flink conformance: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
}

func writeExpectations(t *testing.T, lines []string) {
	sort.Strings(lines)
	var b strings.Builder
	b.WriteString("# Flink conformance programs that do not pass yet, one per line: the program\n")
	b.WriteString("# (folder/Class.FIELD of testdata/flink) and why. TestFlinkConformance fails when a\n")
	b.WriteString("# listed program passes or an unlisted one fails. Regenerate with\n")
	b.WriteString("#   go test ./table/conformance -rewrite\n")
	b.WriteString("# and read the diff.\n")
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(expectationsFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// oneLine shortens an error to one line for the expectations file.
func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	// A job failure names the whole task chain; the operator and its error
	// are what tell failures apart.
	if i := strings.Index(s, " failed: "); strings.HasPrefix(s, "task ") && i >= 0 {
		s = "job failed: " + operatorName.ReplaceAllString(s[i+len(" failed: "):], "operator $1:")
	}
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}

// operatorName matches the operator part of a task failure, whose quoted
// name repeats the plan.
var operatorName = regexp.MustCompile(`operator (\S+) "[^"]*":`)

// runWithTimeout runs one program in its own goroutine: a panic or a hang
// fails the program, never the suite.
func runWithTimeout(p program) error {
	ctx, cancel := context.WithTimeout(context.Background(), programTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		done <- run(ctx, p)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("timeout after %v", programTimeout)
	}
}

// mode is how a program runs, after Flink's runner kinds.
type mode int

const (
	// restoreMode: the sources emit their before-restore rows and wait; the
	// jobs stop with a savepoint and are restored in a fresh session whose
	// sources emit the after-restore rows and end.
	restoreMode mode = iota
	// streamMode: one streaming run over all rows to the end.
	streamMode
	// batchMode: one batch run over all rows, compared materialized.
	batchMode
)

func programMode(p program) mode {
	stream, restore := false, false
	for _, r := range p.Runners {
		kind, _, _ := strings.Cut(r, ":")
		switch kind {
		case "stream-restore", "stream-restore-unbounded":
			restore, stream = true, true
		case "stream-semantic", "stream-no-restore":
			stream = true
		}
	}
	if len(p.Runners) == 0 {
		restore, stream = true, true
	}
	hasAfter := false
	for _, s := range p.Sources {
		hasAfter = hasAfter || len(s.RowsAfter) > 0
	}
	for _, s := range p.Sinks {
		hasAfter = hasAfter || len(s.ExpectedAfter) > 0
	}
	expectsError := false
	for _, e := range p.ExpectedErrors {
		expectsError = expectsError || e != nil
	}
	switch {
	case restore && hasAfter && !expectsError:
		return restoreMode
	case stream:
		return streamMode
	}
	return batchMode
}

// restoresCompiledPlan reports a program Flink runs only as a restore
// test (streaming or batch): Flink executes the compiled plan it stored
// with the test, planned before Flink 2.3 required ON CONFLICT where a
// query's upsert key differs from its sink's primary key
// (table.exec.sink.require-on-conflict), so such a program plans here
// with that requirement off.
func restoresCompiledPlan(p program) bool {
	if len(p.Runners) == 0 {
		return false
	}
	for _, r := range p.Runners {
		if !strings.HasPrefix(r, "stream-restore") && !strings.HasPrefix(r, "batch-restore") {
			return false
		}
	}
	return true
}

// Session options the programs set, and what Eddy does with them.
var configSupport = map[string]func(v string) error{
	"table.local-time-zone": func(v string) error {
		if v != "UTC" {
			return fmt.Errorf("only UTC")
		}
		return nil
	},
	// State lives in operator memory and is snapshotted as bytes; the
	// backend does not change results.
	"state.backend.type": nil,
	// Local/global group aggregation under mini-batch
	// (optimizer.AggPhaseStrategy); window aggregates stay one phase.
	"table.optimizer.agg-phase-strategy": nil,
	// Plan-shape switches: Eddy plans one way; results are the same.
	"table.optimizer.incremental-agg-enabled":           nil,
	"table.optimizer.multi-join.enabled":                nil,
	"table.optimizer.delta-join.strategy":               nil,
	"table.exec.delta-join.cache-enabled":               nil,
	"table.optimizer.non-deterministic-update.strategy": nil,
	"__table.exec.sort.non-temporal.enabled__":          nil,
	// Split distinct aggregates (Expand, partial and final aggregates:
	// optimizer.DistinctAggSplitBuckets), whose changelog shows a row's
	// projections one after another as Flink's does.
	"table.optimizer.distinct-agg.split.enabled": nil,
	// Mini-batch: the group aggregate folds its input per key in bundles
	// (exec/op_group_agg_minibatch.go). Other operators run row by row,
	// where Flink also folds deduplication and changelog normalization
	// per bundle; the programs here do not tell the difference.
	"table.exec.mini-batch.enabled":       nil,
	"table.exec.mini-batch.allow-latency": nil,
	"table.exec.mini-batch.size":          nil,
	// Retract sources with a primary key are normalized by key.
	"table.exec.source.cdc-events-duplicate": nil,
	// The sink constraint enforcer (exec.ConstraintEnforcerSpec).
	"table.exec.sink.not-null-enforcer":          nil,
	"table.exec.sink.type-length-enforcer":       nil,
	"table.exec.sink.nested-constraint-enforcer": nil,
	// How the sink upsert materializer keeps its state (Flink 2.2's LEGACY
	// list or its newer layouts); results are the same.
	"table.exec.sink.upsert-materialize-strategy.type": nil,
	// Whether an INSERT whose upsert key differs from the sink's primary
	// key must say ON CONFLICT (optimizer.RequireOnConflictKey).
	"table.exec.sink.require-on-conflict": nil,
}

func applyConfig(env *table.Environment, cfg map[string]string) error {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		check, ok := configSupport[k]
		if !ok {
			return fmt.Errorf("unsupported option '%s' = '%s'", k, cfg[k])
		}
		if check != nil {
			if err := check(cfg[k]); err != nil {
				return fmt.Errorf("option '%s' = '%s': %v", k, cfg[k], err)
			}
		}
		if err := env.Set(k, cfg[k]); err != nil {
			return err
		}
	}
	return nil
}

// ddl builds CREATE TABLE for a program's table.
func ddl(name string, schema []string, options map[string]string, partition []string, distribution, dataID string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n  %s\n)", name, strings.Join(schema, ",\n  "))
	if distribution != "" {
		b.WriteString(" " + distribution)
	}
	if len(partition) > 0 {
		fmt.Fprintf(&b, " PARTITIONED BY (%s)", strings.Join(partition, ", "))
	}
	opts := map[string]string{"connector": "values", "data-id": dataID}
	for k, v := range options {
		opts[k] = v
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString(" WITH (")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "'%s' = '%s'", k, strings.ReplaceAll(opts[k], "'", "''"))
	}
	b.WriteString(")")
	return b.String()
}

func rows(in [][]any) ([]values.Row, error) {
	out := make([]values.Row, len(in))
	for i, r := range in {
		if len(r) == 0 {
			return nil, fmt.Errorf("empty row")
		}
		k, _ := r[0].(string)
		switch k {
		case "+I":
			out[i].Kind = connector.Insert
		case "-U":
			out[i].Kind = connector.UpdateBefore
		case "+U":
			out[i].Kind = connector.UpdateAfter
		case "-D":
			out[i].Kind = connector.Delete
		default:
			return nil, fmt.Errorf("row kind %v", r[0])
		}
		out[i].Values = r[1:]
	}
	return out, nil
}

// session is one Environment with the program's tables. Its jobs read
// processing time from clock (nil: the wall clock).
func newSession(ctx context.Context, p program, m mode, clock *procClock, srcIDs, sinkIDs []string) (*table.Environment, error) {
	const slots = 4
	settings := table.Settings{SlotsPerTaskManager: slots, Config: map[string]string{
		table.Parallelism: "1", "table.local-time-zone": "UTC"}}
	if m == batchMode {
		settings.Mode = table.Batch
	}
	if clock != nil {
		settings.Cluster = exec.NewEmbeddedClusterWithClock(1, slots, nil, clock)
	}
	env, err := table.NewEnvironment(settings)
	if err != nil {
		return nil, err
	}
	if err := applyConfig(env, p.Config); err != nil {
		return env, err
	}
	if _, set := p.Config["table.exec.sink.require-on-conflict"]; !set && restoresCompiledPlan(p) {
		if err := env.Set("table.exec.sink.require-on-conflict", "false"); err != nil {
			return env, err
		}
	}
	for i, s := range p.Sources {
		if _, err := env.ExecuteSQL(ctx, ddl(s.Name, s.Schema, s.Options, s.PartitionKeys, s.Distribution, srcIDs[i])); err != nil {
			return env, fmt.Errorf("creating source %s: %w", s.Name, err)
		}
	}
	for i, s := range p.Sinks {
		if _, err := env.ExecuteSQL(ctx, ddl(s.Name, s.Schema, s.Options, s.PartitionKeys, s.Distribution, sinkIDs[i])); err != nil {
			return env, fmt.Errorf("creating sink %s: %w", s.Name, err)
		}
	}
	for _, stmt := range p.SetupSQL {
		if _, err := env.ExecuteSQL(ctx, stmt); err != nil {
			return env, fmt.Errorf("setup %q: %w", stmt, err)
		}
	}
	return env, nil
}

// statements are the program's statements as the runner executes them.
func statements(p program) []string {
	if p.StatementSet {
		return []string{"EXECUTE STATEMENT SET BEGIN\n" + strings.Join(p.SQL, ";\n") + ";\nEND"}
	}
	return p.SQL
}

func run(ctx context.Context, p program) (err error) {
	m := programMode(p)
	srcData := make([]*values.Data, len(p.Sources))
	srcIDs := make([]string, len(p.Sources))
	for i, s := range p.Sources {
		before, err := rows(s.RowsBefore)
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		after, err := rows(s.RowsAfter)
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		srcData[i] = &values.Data{Before: before, After: after, Pause: m == restoreMode}
		srcIDs[i] = values.Register(srcData[i])
		defer values.Unregister(srcIDs[i])
	}
	sinkData := make([]*values.Data, len(p.Sinks))
	sinkIDs := make([]string, len(p.Sinks))
	for i := range p.Sinks {
		sinkData[i] = &values.Data{}
		sinkIDs[i] = values.Register(sinkData[i])
		defer values.Unregister(sinkIDs[i])
	}

	var clock *procClock
	if m == restoreMode {
		clock = newProcClock()
	}
	env, err := newSession(ctx, p, m, clock, srcIDs, sinkIDs)
	if env != nil {
		defer closeJobs(env)
	}
	if err != nil {
		return err
	}
	stmts := statements(p)
	for i, s := range stmts {
		// A statement expected to fail may be a query: the program checks
		// that planning rejects it.
		if !isInsert(s) && !(m != restoreMode && !p.StatementSet && i < len(p.ExpectedErrors) && p.ExpectedErrors[i] != nil) {
			return fmt.Errorf("runner: statement is not an INSERT or statement set: %.60s", s)
		}
	}

	if m != restoreMode {
		for i, stmt := range stmts {
			var want *expectedError
			if i < len(p.ExpectedErrors) && !p.StatementSet {
				want = p.ExpectedErrors[i]
			} else if p.StatementSet && len(p.ExpectedErrors) > 0 {
				want = p.ExpectedErrors[0]
			}
			err := execAndWait(ctx, env, stmt)
			switch {
			case want == nil && err != nil:
				return err
			case want != nil && err == nil:
				return fmt.Errorf("statement %d should fail with %s (%q) but succeeded", i+1, want.Exception, want.Message)
			case want != nil && !strings.Contains(err.Error(), want.Message):
				// Failing is not enough: it must fail for Flink's reason,
				// with Flink's message.
				return fmt.Errorf("statement %d failed with %q, want a message containing %q", i+1, err, want.Message)
			}
		}
		return compareAll(p, m, sinkData)
	}

	// Phase 1: run until every source waits after its before-restore rows
	// (and, for a timed program, until processing time has brought the
	// sinks their before-restore records), then stop every job with a
	// savepoint.
	jobs := make([]*exec.Job, len(stmts))
	for i, stmt := range stmts {
		r, err := env.ExecuteSQL(ctx, stmt)
		if err != nil {
			return err
		}
		jobs[i] = r.Job
	}
	if err := waitPaused(ctx, jobs); err != nil {
		return err
	}
	timed := timedPlan(jobs)
	if timed {
		if err := letTimePass(ctx, clock, jobs, p.Sinks, sinkData, false); err != nil {
			return err
		}
	}
	savepoints := make([]*exec.Savepoint, len(jobs))
	for i, j := range jobs {
		sp, err := j.StopWithSavepoint(ctx)
		if err != nil && !errors.Is(err, exec.ErrNoSavepoint) {
			return fmt.Errorf("stop with savepoint: %w", err)
		}
		savepoints[i] = sp
	}
	var failures []string
	for i, s := range p.Sinks {
		if s.Compare == "materialized" {
			continue
		}
		recs, _ := sinkData[i].Sink()
		if msg := diff(render(recs), s.ExpectedBefore); msg != "" {
			failures = append(failures, fmt.Sprintf("sink %s before restore: %s", s.Name, msg))
		}
	}

	// Phase 2: a fresh session restores the jobs; the sources emit their
	// after-restore rows and end. A timed program is restored restoreGap
	// later in processing time, and its sources stay open while
	// processing time passes, as in Flink, where end of input would drop
	// what processing-time timers have not fired yet; its jobs are
	// cancelled once the sinks have their records.
	if timed {
		clock.jump(restoreGap)
		for _, d := range srcData {
			d.KeepOpen = true
		}
	}
	env2, err := newSession(ctx, p, m, clock, srcIDs, sinkIDs)
	if env2 != nil {
		defer closeJobs(env2)
	}
	if err != nil {
		return err
	}
	var restored []*exec.Job
	for i, stmt := range stmts {
		if savepoints[i] == nil {
			continue // the job had finished before the savepoint
		}
		env2.RestoreNextJob(savepoints[i])
		if !timed {
			if err := execAndWait(ctx, env2, stmt); err != nil {
				return fmt.Errorf("after restore: %w", err)
			}
			continue
		}
		r, err := env2.ExecuteSQL(ctx, stmt)
		if err != nil {
			return fmt.Errorf("after restore: %w", err)
		}
		restored = append(restored, r.Job)
	}
	if timed {
		if err := waitPaused(ctx, restored); err != nil {
			return fmt.Errorf("after restore: %w", err)
		}
		if err := letTimePass(ctx, clock, restored, p.Sinks, sinkData, true); err != nil {
			return fmt.Errorf("after restore: %w", err)
		}
		closeJobs(env2)
	}
	// With the before-restore records equal, the whole run's records equal
	// exactly when the after-restore ones do.
	if len(failures) == 0 {
		if err := compareAll(p, m, sinkData); err != nil {
			failures = append(failures, err.Error())
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

func isInsert(stmt string) bool {
	s := strings.ToUpper(strings.TrimSpace(stmt))
	return strings.HasPrefix(s, "INSERT") || strings.HasPrefix(s, "EXECUTE STATEMENT SET")
}

// execAndWait runs one statement and waits for its job.
func execAndWait(ctx context.Context, env *table.Environment, stmt string) error {
	r, err := env.ExecuteSQL(ctx, stmt)
	if err != nil {
		return err
	}
	if r.Job == nil {
		return nil
	}
	return r.Job.Wait(ctx)
}

// waitPaused waits until every values reader of the jobs waits after its
// before-restore rows (then everything they emitted is in flight or
// processed, and the savepoint barrier drains it) or a job ends.
func waitPaused(ctx context.Context, jobs []*exec.Job) error {
	want := map[*values.Data]int{}
	for _, j := range jobs {
		for _, v := range j.Graph().Vertices {
			op := v.Operators[0]
			if op.Kind != exec.KindSource {
				continue
			}
			var spec connector.ScanSpec
			if err := json.Unmarshal(op.Spec, &spec); err != nil {
				return err
			}
			if spec.Table.Options["connector"] != values.Identifier {
				continue
			}
			d, err := values.Lookup(spec.Table.Options["data-id"])
			if err != nil {
				return err
			}
			want[d]++
		}
	}
	for {
		ready := true
		for d, n := range want {
			if _, paused := d.Readers(); paused < n {
				ready = false
			}
		}
		if ready {
			return nil
		}
		if err := jobFailure(ctx, jobs); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the sources to reach the restore point: %w", ctx.Err())
		case <-time.After(200 * time.Microsecond):
		}
	}
}

// jobFailure returns the error of a job that ended with one.
func jobFailure(ctx context.Context, jobs []*exec.Job) error {
	for _, j := range jobs {
		select {
		case <-j.Done():
			if err := j.Wait(ctx); err != nil {
				return err
			}
		default:
		}
	}
	return nil
}

// timedPlan reports whether the jobs' results depend on processing time:
// an operator works in processing time or expires state after a TTL.
func timedPlan(jobs []*exec.Job) bool {
	for _, j := range jobs {
		for _, v := range j.Graph().Vertices {
			for _, op := range v.Operators {
				var spec any
				if json.Unmarshal(op.Spec, &spec) == nil && timedSpec(spec) {
					return true
				}
			}
		}
	}
	return false
}

// timedSpec looks through an operator spec's JSON for the fields that
// make it depend on processing time (exec's procTime, stateTtlMillis and
// inputStateTtlMillis).
func timedSpec(v any) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			switch k {
			case "procTime":
				if b, _ := x.(bool); b {
					return true
				}
			case "stateTtlMillis", "inputStateTtlMillis":
				if nonZero(x) {
					return true
				}
			}
			if timedSpec(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if timedSpec(x) {
				return true
			}
		}
	}
	return false
}

func nonZero(v any) bool {
	switch v := v.(type) {
	case float64:
		return v != 0
	case []any:
		for _, x := range v {
			if nonZero(x) {
				return true
			}
		}
	}
	return false
}

// procClock is the processing time of a restore program's jobs: the wall
// clock moved by an offset the runner controls, as Flink's operator tests
// drive a manual processing-time service. It starts at a whole minute, so
// that rows emitted together fall into the same windows on every run.
type procClock struct{ offset atomic.Int64 }

func newProcClock() *procClock {
	c := &procClock{}
	c.jump(0)
	return c
}

// NowMillis implements exec.Clock.
func (c *procClock) NowMillis() int64 { return time.Now().UnixMilli() + c.offset.Load() }

// jump moves the clock ahead by at least d, to the next whole minute.
func (c *procClock) jump(d time.Duration) {
	now := c.NowMillis()
	next := (now+d.Milliseconds())/time.Minute.Milliseconds()*time.Minute.Milliseconds() + time.Minute.Milliseconds()
	c.offset.Add(next - now)
}

// letTimePass lets processing time pass while the jobs idle with their
// sources open, as Flink's restore tests wait in real time for the
// records processing time brings: once the records in flight have arrived
// (so that rows emitted together see the same processing time), it moves
// the clock timeStep at a time, leaving the tasks a processing-time tick
// to fire their timers after each step, until every sink holds its expected records (before the
// restore, or all with after; the final rows of a materialized sink) or
// maxIdleTime has passed, when the comparison tells what is missing.
func letTimePass(ctx context.Context, clock *procClock, jobs []*exec.Job, sinks []sink, data []*values.Data, after bool) error {
	for passed := time.Duration(0); passed < maxIdleTime; passed += timeStep {
		for start := time.Now(); !drained(jobs) && time.Since(start) < drainTimeout; {
			time.Sleep(time.Millisecond)
		}
		complete := true
		for i, s := range sinks {
			want := s.ExpectedBefore
			if after {
				want = append(append([]string(nil), want...), s.ExpectedAfter...)
			}
			recs, key := data[i].Sink()
			if s.Compare == "materialized" {
				recs, want = materialize(recs, key), materializeStrings(want)
			}
			if len(recs) < len(want) {
				complete = false
			}
		}
		if complete {
			return nil
		}
		if err := jobFailure(ctx, jobs); err != nil {
			return err
		}
		clock.offset.Add(timeStep.Milliseconds())
		select {
		case <-ctx.Done():
			return fmt.Errorf("letting processing time pass: %w", ctx.Err())
		case <-time.After(exec.ProcessingTimeInterval + 20*time.Millisecond):
		}
	}
	return nil
}

// drained reports whether every record the jobs' vertices sent has been
// taken in by the next vertex: for each vertex with inputs, its first
// operator's input equals the output of the last operators upstream. (A
// vertex feeding several edges counts its output once, so such a job
// never looks drained; letTimePass then moves on after drainTimeout.)
func drained(jobs []*exec.Job) bool {
	for _, j := range jobs {
		g := j.Graph()
		last := map[int]int{}
		for _, v := range g.Vertices {
			last[v.ID] = len(v.Operators) - 1
		}
		in, out := map[int]int64{}, map[int]int64{}
		for _, s := range j.Metrics() {
			if s.Index == 0 {
				in[s.Vertex] = s.RecordsIn
			}
			if s.Index == last[s.Vertex] {
				out[s.Vertex] = s.RecordsOut
			}
		}
		sent := map[int]int64{}
		for _, e := range g.Edges {
			sent[e.Target] += out[e.Source]
		}
		for v, n := range sent {
			if in[v] != n {
				return false
			}
		}
	}
	return true
}

// closeJobs cancels what a program left running.
func closeJobs(env *table.Environment) {
	for _, j := range env.Jobs() {
		j.Cancel()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, j := range env.Jobs() {
		_ = j.Wait(ctx)
	}
}

// compareAll checks every sink's records from position from on against
// the program's expectation for the whole run: changelog sinks as
// multisets of records, materialized sinks (and batch runs) by their final
// rows.
func compareAll(p program, m mode, sinkData []*values.Data) error {
	var failures []string
	for i, s := range p.Sinks {
		recs, key := sinkData[i].Sink()
		want := append(append([]string(nil), s.ExpectedBefore...), s.ExpectedAfter...)
		var msg string
		switch {
		case m == batchMode:
			if s.ExpectedMaterialized != nil {
				want = s.ExpectedMaterialized
			}
			msg = diff(dedup(materialize(recs, key), s.DedupFields), dedupStrings(materializeStrings(want), s.DedupFields))
		case s.Compare == "materialized":
			msg = diff(dedup(materialize(recs, key), s.DedupFields), dedupStrings(materializeStrings(want), s.DedupFields))
		default:
			msg = diff(render(recs), want)
		}
		if msg != "" {
			failures = append(failures, fmt.Sprintf("sink %s: %s", s.Name, msg))
		}
	}
	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	return nil
}

func render(recs []values.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.String()
	}
	return out
}

// materialize applies a changelog as Flink's test sink does: upsert by key
// when the sink has a primary key, else a bag of rows.
func materialize(recs []values.Record, key []int) []values.Record {
	if len(key) > 0 {
		byKey := map[string]int{}
		var out []values.Record
		alive := []bool{}
		for _, r := range recs {
			var k strings.Builder
			for _, c := range key {
				k.WriteString(r.Fields[c])
				k.WriteByte(0)
			}
			idx, ok := byKey[k.String()]
			switch r.Kind {
			case connector.Insert, connector.UpdateAfter:
				row := values.Record{Kind: connector.Insert, Fields: r.Fields}
				if ok && alive[idx] {
					out[idx] = row
				} else {
					byKey[k.String()] = len(out)
					out = append(out, row)
					alive = append(alive, true)
				}
			default:
				if ok {
					alive[idx] = false
					delete(byKey, k.String())
				}
			}
		}
		var res []values.Record
		for i, r := range out {
			if alive[i] {
				res = append(res, r)
			}
		}
		return res
	}
	var out []values.Record
	for _, r := range recs {
		row := values.Record{Kind: connector.Insert, Fields: r.Fields}
		if r.Kind == connector.Insert || r.Kind == connector.UpdateAfter {
			out = append(out, row)
			continue
		}
		s := row.String()
		for i := range out {
			if out[i].String() == s {
				out = append(out[:i], out[i+1:]...)
				break
			}
		}
	}
	return out
}

// materializeStrings materializes an expected changelog given as strings
// (as a bag: the expected lists of materialized sinks are final rows).
func materializeStrings(in []string) []string {
	var out []string
	for _, s := range in {
		kind, rest := s[:2], s[2:]
		switch kind {
		case "+I", "+U":
			out = append(out, "+I"+rest)
		default:
			for i := range out {
				if out[i] == "+I"+rest {
					out = append(out[:i], out[i+1:]...)
					break
				}
			}
		}
	}
	return out
}

// dedup keeps the last row per key of the given field positions.
func dedup(recs []values.Record, fields []int) []string {
	if len(fields) == 0 {
		return render(recs)
	}
	var ss [][]string
	for _, r := range recs {
		ss = append(ss, r.Fields)
	}
	return dedupFields(ss, fields)
}

func dedupStrings(in []string, fields []int) []string {
	if len(fields) == 0 {
		return in
	}
	var ss [][]string
	for _, s := range in {
		ss = append(ss, strings.Split(strings.TrimSuffix(s[3:], "]"), ", "))
	}
	return dedupFields(ss, fields)
}

func dedupFields(rows [][]string, fields []int) []string {
	last := map[string]int{}
	var order []string
	for i, r := range rows {
		var k strings.Builder
		for _, f := range fields {
			if f < len(r) {
				k.WriteString(r[f])
			}
			k.WriteByte(0)
		}
		if _, ok := last[k.String()]; !ok {
			order = append(order, k.String())
		}
		last[k.String()] = i
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, "+I["+strings.Join(rows[last[k]], ", ")+"]")
	}
	return out
}

// diff compares two multisets of rows; "" when equal.
func diff(got, want []string) string {
	count := map[string]int{}
	for _, s := range want {
		count[s]++
	}
	for _, s := range got {
		count[s]--
	}
	var missing, extra []string
	for s, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, s)
		}
		for ; n < 0; n++ {
			extra = append(extra, s)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Sprintf("got %d rows, want %d; missing %v; unexpected %v", len(got), len(want), missing, extra)
}
