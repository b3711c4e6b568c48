package table_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/table"
	"github.com/eddysql/eddy/table/connector/values"
)

// planTestEnv is a session with a values source src (k STRING, v BIGINT)
// over data and values sinks a and b, each (k STRING, n BIGINT); it
// returns the sinks' data sets.
func planTestEnv(t *testing.T, ctx context.Context, data *values.Data, config map[string]string) (*table.Environment, *values.Data, *values.Data) {
	t.Helper()
	srcID := values.Register(data)
	t.Cleanup(func() { values.Unregister(srcID) })
	outA, outB := &values.Data{}, &values.Data{}
	aID, bID := values.Register(outA), values.Register(outB)
	t.Cleanup(func() { values.Unregister(aID); values.Unregister(bID) })
	cfg := map[string]string{"parallelism.default": "1", "table.dml-sync": "true"}
	for k, v := range config {
		cfg[k] = v
	}
	env, err := table.NewEnvironment(table.Settings{Config: cfg})
	require.NoError(t, err)
	for _, s := range []string{
		"CREATE TABLE src (k STRING, v BIGINT) WITH ('connector' = 'values', 'data-id' = '" + srcID + "')",
		"CREATE TABLE a (k STRING, n BIGINT) WITH ('connector' = 'values', 'data-id' = '" + aID + "')",
		"CREATE TABLE b (k STRING, n BIGINT) WITH ('connector' = 'values', 'data-id' = '" + bID + "')",
	} {
		_, err := env.ExecuteSQL(ctx, s)
		require.NoError(t, err, s)
	}
	return env, outA, outB
}

func planRows(vals ...string) []values.Row {
	var rows []values.Row
	for i := 0; i < len(vals); i += 2 {
		rows = append(rows, values.Row{Kind: connector.Insert, Values: []any{vals[i], json.Number(vals[i+1])}})
	}
	return rows
}

func sinkRows(d *values.Data) []string {
	recs, _ := d.Sink()
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.String()
	}
	return out
}

func mustExec(t *testing.T, ctx context.Context, env *table.Environment, stmt string) *table.TableResult {
	t.Helper()
	r, err := env.ExecuteSQL(ctx, stmt)
	require.NoError(t, err, stmt)
	return r
}

// TestCompilePlanExecutePlan compiles an INSERT and a statement set to
// files (a plain path and a file URI) and runs them with EXECUTE PLAN:
// the sinks receive what the statements run directly write, and the
// files keep working after the tables they were compiled against are
// dropped, since EXECUTE PLAN plans no SQL.
func TestCompilePlanExecutePlan(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, outA, outB := planTestEnv(t, ctx, &values.Data{Before: planRows("x", "1", "y", "2", "x", "3")}, nil)
	dir := t.TempDir()
	single := filepath.Join(dir, "single.json")
	set := "file://" + filepath.Join(dir, "plans", "set.json")

	const insert = "INSERT INTO a SELECT k, SUM(v) FROM src GROUP BY k"
	mustExec(t, ctx, env, insert)
	mustExec(t, ctx, env, `EXECUTE STATEMENT SET BEGIN
		INSERT INTO a SELECT k, v * 10 FROM src WHERE v > 1;
		INSERT INTO b SELECT k, COUNT(*) FROM src GROUP BY k;
	END`)
	wantA, wantB := sinkRows(outA), sinkRows(outB)
	require.NotEmpty(t, wantA)
	require.NotEmpty(t, wantB)

	r := mustExec(t, ctx, env, "COMPILE PLAN '"+single+"' FOR "+insert)
	require.Nil(t, r.Job, "COMPILE PLAN runs nothing")
	mustExec(t, ctx, env, `COMPILE PLAN '`+set+`' FOR STATEMENT SET BEGIN
		INSERT INTO a SELECT k, v * 10 FROM src WHERE v > 1;
		INSERT INTO b SELECT k, COUNT(*) FROM src GROUP BY k;
	END`)
	require.Len(t, sinkRows(outA), len(wantA), "COMPILE PLAN must not run the job")

	text, err := os.ReadFile(single)
	require.NoError(t, err)
	require.Contains(t, string(text), `"format": "eddy-compiled-plan"`)
	require.Contains(t, string(text), `"version": 1`)

	for _, s := range []string{"DROP TABLE src", "DROP TABLE a", "DROP TABLE b"} {
		mustExec(t, ctx, env, s)
	}
	r = mustExec(t, ctx, env, "EXECUTE PLAN '"+single+"'")
	require.NotNil(t, r.Job)
	r = mustExec(t, ctx, env, "EXECUTE PLAN '"+set+"'")
	require.NotNil(t, r.Job)
	require.Equal(t, append(wantA, wantA...), sinkRows(outA))
	require.Equal(t, append(wantB, wantB...), sinkRows(outB))
}

// TestCompilePlanExistingFile: COMPILE PLAN fails on an existing file
// unless IF NOT EXISTS (which leaves it alone) or
// table.plan.force-recompile (which overwrites it); COMPILE AND EXECUTE
// PLAN runs an existing file as it is, and compiles a missing one.
func TestCompilePlanExistingFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, outA, _ := planTestEnv(t, ctx, &values.Data{Before: planRows("x", "1", "y", "2")}, nil)
	path := filepath.Join(t.TempDir(), "plan.json")
	const plus1 = "INSERT INTO a SELECT k, v + 1 FROM src"
	const plus100 = "INSERT INTO a SELECT k, v + 100 FROM src"

	mustExec(t, ctx, env, "COMPILE PLAN '"+path+"' FOR "+plus1)
	first, err := os.ReadFile(path)
	require.NoError(t, err)

	stmt := "COMPILE PLAN '" + path + "' FOR " + plus100
	_, err = env.ExecuteSQL(ctx, stmt)
	require.True(t, errs.Is(err, errs.DuplicateObject), "%v", err)
	require.ErrorContains(t, err, "cannot overwrite the plan file")
	require.ErrorContains(t, err, "table.plan.force-recompile")
	require.ErrorContains(t, err, "line 1, column 14", "positioned at the path")

	mustExec(t, ctx, env, "COMPILE PLAN '"+path+"' IF NOT EXISTS FOR "+plus100)
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(first), string(now), "IF NOT EXISTS must leave the file alone")

	// COMPILE AND EXECUTE runs the existing plan, not the new statement.
	mustExec(t, ctx, env, "COMPILE AND EXECUTE PLAN '"+path+"' FOR "+plus100)
	require.Equal(t, []string{"+I[x, 2]", "+I[y, 3]"}, sinkRows(outA))

	mustExec(t, ctx, env, "SET 'table.plan.force-recompile' = 'true'")
	mustExec(t, ctx, env, stmt)
	mustExec(t, ctx, env, "EXECUTE PLAN '"+path+"'")
	require.Equal(t, []string{"+I[x, 2]", "+I[y, 3]", "+I[x, 101]", "+I[y, 102]"}, sinkRows(outA))

	_, err = env.ExecuteSQL(ctx, "SET 'table.plan.force-recompile' = 'maybe'")
	require.True(t, errs.Is(err, errs.InvalidOption), "%v", err)

	// A missing file is compiled, written and run.
	fresh := filepath.Join(t.TempDir(), "fresh.json")
	r := mustExec(t, ctx, env, "COMPILE AND EXECUTE PLAN 'file:"+fresh+"' FOR "+plus1)
	require.NotNil(t, r.Job)
	require.FileExists(t, fresh)
	require.Len(t, sinkRows(outA), 6)
}

// TestExecutePlanErrors: missing, foreign, garbage and future-version
// files and remote URIs fail with clear errors at the path; COMPILE PLAN
// of a query is a syntax error.
func TestExecutePlanErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, _, _ := planTestEnv(t, ctx, &values.Data{Before: planRows("x", "1")}, nil)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	good := filepath.Join(dir, "good.json")
	mustExec(t, ctx, env, "COMPILE PLAN '"+good+"' FOR INSERT INTO a SELECT * FROM src")
	var plan map[string]any
	text, err := os.ReadFile(good)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(text, &plan))
	plan["version"] = 99
	future, err := json.Marshal(plan)
	require.NoError(t, err)
	plan["version"] = 1
	plan["jobGraph"] = map[string]any{"name": "j", "vertices": []any{map[string]any{"id": 0, "name": "v", "parallelism": 1,
		"operators": []any{map[string]any{"kind": "no-such-operator", "name": "x", "schema": map[string]any{}}}}}}
	unknownKind, err := json.Marshal(plan)
	require.NoError(t, err)

	for _, tc := range []struct {
		path string
		code errs.Code
		msg  string
	}{
		{filepath.Join(dir, "missing.json"), errs.UndefinedObject, "does not exist"},
		{write("garbage.json", "{not json"), errs.InvalidPlan, "is not an Eddy compiled plan"},
		{write("flink.json", `{"flinkVersion": "2.0", "nodes": []}`), errs.InvalidPlan, "is not an Eddy compiled plan"},
		{write("future.json", string(future)), errs.InvalidPlan, "has format version 99, but this Eddy reads only version 1"},
		{write("kind.json", string(unknownKind)), errs.InvalidPlan, `unknown operator kind "no-such-operator"`},
		{"hdfs://namenode/plans/p.json", errs.NotSupported, "only local files"},
	} {
		_, err := env.ExecuteSQL(ctx, "EXECUTE PLAN '"+tc.path+"'")
		require.True(t, errs.Is(err, tc.code), "%s: %v", tc.path, err)
		require.ErrorContains(t, err, tc.msg)
		require.ErrorContains(t, err, "line 1, column 14")
	}

	_, err = env.ExecuteSQL(ctx, "COMPILE PLAN '"+filepath.Join(dir, "q.json")+"' FOR SELECT * FROM src")
	require.Equal(t, errs.SyntaxError.SQLState, errs.State(err), "%v", err)
	require.ErrorContains(t, err, "COMPILE PLAN only accepts an INSERT statement or a STATEMENT SET, not a query")
	require.NoFileExists(t, filepath.Join(dir, "q.json"))

	// A plan that fails to bind writes nothing.
	_, err = env.ExecuteSQL(ctx, "COMPILE PLAN '"+filepath.Join(dir, "bad.json")+"' FOR INSERT INTO a SELECT nope FROM src")
	require.True(t, errs.Is(err, errs.UndefinedColumn), "%v", err)
	require.NoFileExists(t, filepath.Join(dir, "bad.json"))
}

// TestExecutePlanSavepoint stops a job run with EXECUTE PLAN with a
// savepoint in the middle of its input and restores the savepoint
// ('execution.savepoint.path') into another EXECUTE PLAN of the same
// file after the source and sink tables were dropped and the session's
// parallelism changed: the aggregate goes on from its restored sums.
func TestExecutePlanSavepoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := &values.Data{Before: planRows("x", "1", "y", "2", "x", "3"), After: planRows("x", "10", "y", "20"), Pause: true}
	env, outA, _ := planTestEnv(t, ctx, src, map[string]string{"table.dml-sync": "false"})
	path := filepath.Join(t.TempDir(), "plan.json")
	mustExec(t, ctx, env, "COMPILE PLAN '"+path+"' FOR INSERT INTO a SELECT k, SUM(v) FROM src GROUP BY k")

	r := mustExec(t, ctx, env, "EXECUTE PLAN '"+path+"'")
	waitPaused(ctx, t, src)
	sp, err := r.Job.StopWithSavepoint(ctx)
	require.NoError(t, err)
	before := sinkRows(outA)
	require.Equal(t, []string{"+I[x, 1]", "+I[y, 2]", "-U[x, 1]", "+U[x, 4]"}, before)
	data, err := exec.EncodeSavepoint(sp)
	require.NoError(t, err)
	spFile := filepath.Join(t.TempDir(), exec.CheckpointMetadataFile)
	require.NoError(t, os.WriteFile(spFile, data, 0o644))

	for _, s := range []string{
		"DROP TABLE src", "DROP TABLE a", "SET 'parallelism.default' = '2'",
		"SET '" + table.SavepointPath + "' = '" + spFile + "'",
	} {
		mustExec(t, ctx, env, s)
	}
	r = mustExec(t, ctx, env, "EXECUTE PLAN '"+path+"'")
	require.NoError(t, r.Job.Wait(ctx))
	require.Equal(t, []string{"-U[x, 4]", "+U[x, 14]", "-U[y, 2]", "+U[y, 22]"}, sinkRows(outA)[len(before):])
}

// TestCompilePlanRuntimeOptions: a job run from a plan keeps the options
// its operators were compiled with and takes its checkpointing options and
// pipeline.name from the executing session.
func TestCompilePlanRuntimeOptions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, _, _ := planTestEnv(t, ctx, &values.Data{Before: planRows("x", "1")}, map[string]string{"table.exec.batch-size": "7"})
	path := filepath.Join(t.TempDir(), "plan.json")
	mustExec(t, ctx, env, "COMPILE PLAN '"+path+"' FOR INSERT INTO a SELECT * FROM src")
	for _, s := range []string{
		"SET 'table.exec.batch-size' = '9'",
		"SET 'execution.checkpointing.interval' = '1h'",
		"SET 'pipeline.name' = 'from-plan'",
	} {
		mustExec(t, ctx, env, s)
	}
	r := mustExec(t, ctx, env, "EXECUTE PLAN '"+path+"'")
	g := r.Job.Graph()
	require.Equal(t, "from-plan", g.Name)
	require.Equal(t, "7", g.Config["table.exec.batch-size"])
	require.Equal(t, "1h", g.Config["execution.checkpointing.interval"])
}
