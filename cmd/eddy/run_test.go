package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/eddysql/eddy/table"
)

var (
	jobIDs = regexp.MustCompile(`Job( ID:)? [0-9a-f]+`)
)

// TestScripts runs the end-to-end scripts in testdata/scripts through the
// same path as `eddy run`. Command:
//
//	run [parallelism=(1,4)] [batch-size=(1,7,8192)] [sorted]
//
// runs the script once for every combination of the listed parallelisms and
// batch sizes; every run must print the same output (with the rows of each
// result table sorted when `sorted` is given, since parallel subtasks
// interleave), and the output of the first run is the expectation. Every
// run has its own temporary directory: $TMPDIR in the script names it, and
// it is printed back as $TMPDIR.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "../../testdata/scripts", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "run" {
				t.Fatalf("unknown command %s", d.Cmd)
			}
			pars, sizes := []string{"1"}, []string{"8192"}
			sorted := false
			for _, a := range d.CmdArgs {
				switch a.Key {
				case "parallelism":
					pars = a.Vals
				case "batch-size":
					sizes = a.Vals
				case "sorted":
					sorted = true
				default:
					t.Fatalf("unknown argument %s", a.Key)
				}
			}
			var first, firstConfig string
			for _, p := range pars {
				for _, bs := range sizes {
					config := fmt.Sprintf("parallelism=%s batch-size=%s", p, bs)
					out := runForTest(t, d.Input, map[string]string{"parallelism.default": p, "table.exec.batch-size": bs}, sorted)
					if first == "" && firstConfig == "" {
						first, firstConfig = out, config
					} else if out != first {
						t.Errorf("%s: output with %s differs from %s:\n%s\nvs\n%s", d.Pos, config, firstConfig, out, first)
					}
				}
			}
			return first
		})
	})
}

func runForTest(t *testing.T, script string, config map[string]string, sorted bool) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := table.NewEnvironment(table.Settings{Config: config})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if err := runScript(ctx, &out, env, strings.ReplaceAll(script, "$TMPDIR", dir)); err != nil {
		fmt.Fprintf(&out, "[ERROR] %v\n", err)
	}
	text := jobIDs.ReplaceAllString(strings.ReplaceAll(out.String(), dir, "$TMPDIR"), "<job>")
	if sorted {
		text = sortTableRows(text)
	}
	return text
}

// sortTableRows sorts the data lines of each printed result table.
func sortTableRows(text string) string {
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		// A table is border, header, border, rows..., border.
		if !strings.HasPrefix(lines[i], "+-") || i+2 >= len(lines) || !strings.HasPrefix(lines[i+2], "+-") {
			continue
		}
		start := i + 3
		end := start
		for end < len(lines) && strings.HasPrefix(lines[end], "|") {
			end++
		}
		sort.Strings(lines[start:end])
		i = end
	}
	return strings.Join(lines, "\n")
}
