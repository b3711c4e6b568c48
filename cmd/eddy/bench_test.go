package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddysql/eddy/internal/errs"
	"github.com/eddysql/eddy/internal/nexmarkbaseline"
	"github.com/eddysql/eddy/table"
)

const nexmarkDir = "../../testdata/nexmark"

// runningNexmarkQueries are the Nexmark queries that run today. The list
// only grows: every query on it must keep running, and a query that starts
// running is reported so it can be added.
var runningNexmarkQueries = []string{
	"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q10", "q11", "q12", "q13", "q14", "q15",
	"q16", "q17", "q18", "q19", "q20", "q21", "q22",
	"q0_flat", "q1_flat", "q2_flat", "q14_flat", "q21_flat", "q22_flat",
}

// TestNexmarkQueries runs every query file of testdata/nexmark over a few
// thousand events. The queries on the list must complete, those the
// baseline computes with the baseline's rows (counted from the sink, and
// compared value by value through a checksum when the query runs as a
// SELECT); the others must fail with a clean error, one with a code other
// than internal, never a crash.
func TestNexmarkQueries(t *testing.T) {
	const events = 3000
	o := &nexmarkBench{events: events, parallelism: 1, dir: nexmarkDir}
	cfg, err := o.baselineConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range allNexmarkQueries {
		t.Run(q, func(t *testing.T) {
			m := o.runQuery(context.Background(), q)
			if !slices.Contains(runningNexmarkQueries, q) {
				switch {
				case m.err == nil:
					t.Logf("%s runs now: add it to runningNexmarkQueries", q)
				case errs.State(m.err) == errs.InternalError.SQLState:
					t.Errorf("%s fails with an internal error: %v", q, m.err)
				default:
					t.Logf("%s: %v", q, m.err)
				}
				return
			}
			if m.err != nil {
				t.Fatalf("%s: %v", q, m.err)
			}
			if nexmarkbaseline.Supported(q) {
				want, err := nexmarkbaseline.Run(q, cfg, 1)
				if err != nil {
					t.Fatal(err)
				}
				if m.rows != want.Rows {
					t.Errorf("%s wrote %d rows, the baseline computes %d", q, m.rows, want.Rows)
				}
				got, err := o.collectQuery(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s returns %s, the baseline %s", q, got, want)
				}
			}
		})
	}
}

var insertInto = regexp.MustCompile(`(?m)^INSERT INTO \w+\n`)

// collectQuery runs query file q as a query instead of an INSERT and folds
// its rows as the baseline does.
func (o *nexmarkBench) collectQuery(ctx context.Context, q string) (nexmarkbaseline.Result, error) {
	var res nexmarkbaseline.Result
	text, err := o.script(q, "")
	if err != nil {
		return res, err
	}
	query := insertInto.ReplaceAllString(text, "")
	if query == text {
		return res, fmt.Errorf("%s has no INSERT INTO to run as a query", q)
	}
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{table.Parallelism: "1"}})
	if err != nil {
		return res, err
	}
	err = eachResultBatch(ctx, env, query, func(_ *table.TableResult, b arrow.RecordBatch) error {
		return res.ChecksumBatch(b)
	})
	return res, err
}

// eachResultBatch runs script in env and calls fn with every batch of the
// rows its queries return; b is released after fn.
func eachResultBatch(ctx context.Context, env *table.Environment, script string,
	fn func(r *table.TableResult, b arrow.RecordBatch) error) error {
	return env.ExecuteScript(ctx, script, func(_ string, r *table.TableResult) error {
		defer r.Close()
		if r.Kind != table.SuccessWithContent {
			return nil
		}
		for {
			b, err := r.Next(ctx)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			err = fn(r, b)
			b.Release()
			if err != nil {
				return err
			}
		}
	})
}

func TestBenchCommand(t *testing.T) {
	cmd := nexmarkBenchCommand()
	var out, progress bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&progress)
	// q3 is a copy of a query file broken on purpose: a failing query
	// prints its error in the table instead of numbers.
	dir := t.TempDir()
	for _, q := range []string{"q0", "q2"} {
		data, err := os.ReadFile(filepath.Join(nexmarkDir, q+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, q+".sql"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "q3.sql"), []byte("SELEC 1;"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.SetArgs([]string{"--queries", "q0,q2,q3", "--events", "2000", "--parallelism", "2", "--dir", dir})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	lines := strings.Split(text, "\n")
	row := func(q string) []string {
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && f[0] == q {
				return f
			}
		}
		t.Fatalf("no row for %s in\n%s", q, text)
		return nil
	}
	for _, want := range []string{"2000 events per query, parallelism 2", "events/cpu-s", "engine/baseline cpu", "peak RSS"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, q := range []string{"q0", "q2"} {
		f := row(q)
		// query events wall cpu events/s events/cpu-s peak baseline ratio
		if len(f) != 9 || f[1] != "2000" || !strings.HasSuffix(f[8], "x") {
			t.Errorf("%s row: %q", q, f)
		}
	}
	if f := row("q3"); len(f) < 2 || f[1] != "error:" {
		t.Errorf("q3 row: %q", f)
	}
	if !strings.Contains(progress.String(), "running q3...") {
		t.Errorf("progress: %s", progress.String())
	}

	for _, args := range [][]string{{"--events", "0"}, {"--parallelism", "0"}, {"--queries", "q99", "--events", "10", "--dir", nexmarkDir}} {
		cmd := nexmarkBenchCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.ExecuteContext(context.Background())
		if args[0] == "--queries" {
			if err != nil || !strings.Contains(out.String(), "q99  error: open") {
				t.Errorf("%v: %v\n%s", args, err, out.String())
			}
		} else if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestNexmarkQ10Files runs q10 and reads its partitioned files back: they
// hold q0's rows (the baseline's checksum), each in the dt=/hm= directory
// of its event time.
func TestNexmarkQ10Files(t *testing.T) {
	o := &nexmarkBench{events: 3000, parallelism: 2, dir: nexmarkDir}
	out := t.TempDir()
	text, err := o.script("q10", out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{table.Parallelism: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	err = env.ExecuteScript(ctx, text, func(_ string, r *table.TableResult) error {
		defer r.Close()
		if r.Job != nil {
			return r.Job.Wait(ctx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	read := fmt.Sprintf(`
CREATE TABLE written (
  auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP(3), extra STRING, dt STRING, hm STRING
) PARTITIONED BY (dt, hm) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
SELECT auction, bidder, price, dateTime, extra FROM written;
SELECT dt, hm, dateTime FROM written WHERE dt <> DATE_FORMAT(dateTime, 'yyyy-MM-dd') OR hm <> DATE_FORMAT(dateTime, 'HH:mm');
`, filepath.Join(out, "eddy-nexmark-q10"))
	var results []nexmarkbaseline.Result
	var misplaced int64
	err = env.ExecuteScript(ctx, read, func(_ string, r *table.TableResult) error {
		defer r.Close()
		if r.Kind != table.SuccessWithContent {
			return nil
		}
		var res nexmarkbaseline.Result
		for {
			b, err := r.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if len(results) == 0 {
				err = res.ChecksumBatch(b)
			} else {
				misplaced += b.NumRows()
			}
			b.Release()
			if err != nil {
				return err
			}
		}
		results = append(results, res)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.baselineConfig()
	if err != nil {
		t.Fatal(err)
	}
	want, err := nexmarkbaseline.Run("q0", cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0] != want {
		t.Errorf("q10 wrote %v, q0's baseline computes %s", results, want)
	}
	if misplaced != 0 {
		t.Errorf("%d rows in the wrong partition", misplaced)
	}
}
