package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/eddysql/eddy/exec"
	"github.com/eddysql/eddy/exec/connector"
	"github.com/eddysql/eddy/optimizer"
	"github.com/eddysql/eddy/table"
)

// scanPushdownRules are the rules that push projections and filters into
// scans.
var scanPushdownRules = []string{
	optimizer.PushProjectBelowWatermarkAssigner.Name, optimizer.PushProjectIntoScan.Name, optimizer.PushFilterIntoScan.Name,
}

// TestNexmarkPushdownResults runs the Nexmark queries as SELECTs with and
// without the rules that push projections and filters into the nexmark
// scan, and compares their final results: the pushed-down scan generates
// only the fields and kinds of events a query reads, but the same stream.
// The event rate is low, so the events span many windows, and batches are
// small, so that watermarks advance between them. q12's processing-time
// windows depend on the wall clock and are left out.
func TestNexmarkPushdownResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every Nexmark query twice")
	}
	o := &nexmarkBench{events: 4000, parallelism: 1, dir: nexmarkDir}
	for _, q := range runningNexmarkQueries {
		if q == "q12" || strings.HasSuffix(q, "_flat") {
			continue
		}
		t.Run(q, func(t *testing.T) {
			with, err := o.finalRows(q)
			if err != nil {
				t.Fatal(err)
			}
			without, err := withoutRules(scanPushdownRules, func() ([]string, error) { return o.finalRows(q) })
			if err != nil {
				t.Fatal(err)
			}
			if len(with) == 0 {
				t.Errorf("%s returns no rows", q)
			}
			t.Logf("%s: %d rows", q, len(with))
			if !slices.Equal(with, without) {
				t.Errorf("%s returns %d rows with scan pushdown and %d without; first differences:\n%s",
					q, len(with), len(without), firstDifferences(with, without, 5))
			}
		})
	}
}

// withoutRules runs f with the named rules removed from the optimizer's
// phases. Tests of this package do not run in parallel.
func withoutRules[T any](names []string, f func() (T, error)) (T, error) {
	saved := optimizer.Phases
	defer func() { optimizer.Phases = saved }()
	phases := make([][]optimizer.Rule, len(saved))
	for i, rules := range saved {
		for _, r := range rules {
			if !slices.Contains(names, r.Name) {
				phases[i] = append(phases[i], r)
			}
		}
	}
	optimizer.Phases = phases
	return f()
}

// finalRows runs query file q as a query at 200 events per second of event
// time, in batches of 64 rows, and returns its final rows (the changelog
// applied), formatted and sorted. The stream is seeded: q6 orders its ROWS
// frame by expiry time, and where two of a seller's auctions expire in the
// same millisecond their order is the order they arrive in, which varies
// with scheduling. Seed 1's first 4000 events have no such ties.
func (o *nexmarkBench) finalRows(q string) ([]string, error) {
	text, err := o.script(q, "")
	if err != nil {
		return nil, err
	}
	query := insertInto.ReplaceAllString(text, "")
	if query == text {
		return nil, fmt.Errorf("%s has no INSERT INTO to run as a query", q)
	}
	query = strings.ReplaceAll(query, "'first-event.rate' = '100000'", "'first-event.rate' = '200', 'seed' = '1'")
	env, err := table.NewEnvironment(table.Settings{Config: map[string]string{
		table.Parallelism: "1", exec.BatchSizeKey: "64",
	}})
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	ctx := context.Background()
	err = eachResultBatch(ctx, env, query, func(r *table.TableResult, b arrow.RecordBatch) error {
		cols := b.Columns()
		var kinds *array.Int8
		if r.Changelog {
			kinds, _ = cols[len(cols)-1].(*array.Int8)
			cols = cols[:len(cols)-1]
		}
		for i := range int(b.NumRows()) {
			vals := make([]string, len(cols))
			for j, c := range cols {
				vals[j] = c.ValueStr(i)
			}
			row := strings.Join(vals, " | ")
			if kinds != nil && connector.RowKind(kinds.Value(i)).IsRetraction() {
				count[row]--
			} else {
				count[row]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rows []string
	for row, n := range count {
		for range n {
			rows = append(rows, row)
		}
	}
	slices.Sort(rows)
	return rows, nil
}

func firstDifferences(a, b []string, n int) string {
	var out []string
	for _, r := range a {
		if !slices.Contains(b, r) && len(out) < n {
			out = append(out, "  only with:    "+r)
		}
	}
	for _, r := range b {
		if !slices.Contains(a, r) && len(out) < 2*n {
			out = append(out, "  only without: "+r)
		}
	}
	return strings.Join(out, "\n")
}
